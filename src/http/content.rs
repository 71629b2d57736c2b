//! Content codings (RFC 9110 §8.4): the one decoder that every reader and the
//! redactor use, with one cap and one contract.
//!
//! A `Content-Encoding` list names the codings in the order they were applied;
//! they are undone last first. Each stage stops at `limit` bytes of output
//! ([`MAX_DECODED`] unless a memory budget asks for less), the cap against
//! decompression bombs. The bytes decide as well as the header: tools that save
//! traffic (Fiddler, browsers) often store a body decoded but keep its
//! `Content-Encoding`, so gzip without its magic number, or deflate, brotli or
//! zstd that does not decode at all, is taken as already decoded.

use std::io::Read;

/// Most bytes one body decodes to.
pub const MAX_DECODED: usize = 32 << 20;

/// How decoding a body ended. The worst stage wins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Every coding undone, or the bytes were not encoded after all.
    Done,
    /// The compressed data broke off; the body is what decoded before the break.
    Truncated,
    /// The output reached the cap; the body is its first `limit` bytes.
    Capped,
    /// The bytes start like the coding but do not decode; left as they were.
    Failed,
    /// A coding aadtrace does not know (its name); left as it was from there on.
    Unsupported(String),
}

/// Undoes the codings of `encodings` (a `Content-Encoding` value) on `body`, each
/// stage capped at `limit` bytes. Returns the body (the input itself when nothing
/// was decoded) and how it went.
pub fn decode(encodings: &str, body: Vec<u8>, limit: usize) -> (Vec<u8>, Outcome) {
    let mut data = body;
    let mut outcome = Outcome::Done;
    for coding in encodings.rsplit(',') {
        let coding = coding.trim().to_ascii_lowercase();
        let stage = match coding.as_str() {
            "" | "identity" => continue,
            "gzip" | "x-gzip" => gunzip(&data, limit),
            "deflate" => inflate(&data, limit),
            "br" => no_magic(read_capped(
                brotli_decompressor::Decompressor::new(&data[..], 4096),
                limit,
            )),
            "zstd" => match ruzstd::decoding::StreamingDecoder::new(&data[..]) {
                Ok(dec) => no_magic(read_capped(dec, limit)),
                Err(_) => Stage::NotEncoded,
            },
            _ => Stage::Stop(Outcome::Unsupported(coding)),
        };
        match stage {
            Stage::NotEncoded => {}
            Stage::Out(out, how) => {
                data = out;
                outcome = outcome.max(how);
            }
            Stage::Stop(how) => return (data, outcome.max(how)),
        }
    }
    (data, outcome)
}

/// What one stage gave.
enum Stage {
    /// The bytes were not in this coding: go on with them unchanged.
    NotEncoded,
    /// Decoded bytes, and whether the stage was cut.
    Out(Vec<u8>, Outcome),
    /// Stop here, keeping the bytes as they are.
    Stop(Outcome),
}

/// gzip (RFC 1952), several members in a row as one body.
fn gunzip(data: &[u8], limit: usize) -> Stage {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Stage::NotEncoded;
    }
    match read_capped(flate2::read::MultiGzDecoder::new(data), limit) {
        Got::Nothing => Stage::Stop(Outcome::Failed),
        other => other.into_stage(),
    }
}

/// `deflate` is zlib (RFC 1950) by RFC 9110, but some servers send raw deflate
/// (RFC 1951): the zlib header check (RFC 1950 §2.2) tells them apart.
fn inflate(data: &[u8], limit: usize) -> Stage {
    let zlib = data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    if zlib {
        match read_capped(flate2::read::ZlibDecoder::new(data), limit) {
            Got::Nothing => Stage::Stop(Outcome::Failed),
            other => other.into_stage(),
        }
    } else {
        no_magic(read_capped(flate2::read::DeflateDecoder::new(data), limit))
    }
}

/// For codings without a magic number: bytes that do not decode at all were
/// not encoded.
fn no_magic(read: Got) -> Stage {
    match read {
        Got::Nothing => Stage::NotEncoded,
        other => other.into_stage(),
    }
}

/// What reading a decoder gave.
enum Got {
    /// The whole output, within the cap.
    All(Vec<u8>),
    /// The first `limit` bytes; there were more.
    Capped(Vec<u8>),
    /// Output up to an error in the data.
    Broken(Vec<u8>),
    /// An error before any output.
    Nothing,
}

impl Got {
    fn into_stage(self) -> Stage {
        match self {
            Got::All(out) => Stage::Out(out, Outcome::Done),
            Got::Capped(out) => Stage::Out(out, Outcome::Capped),
            Got::Broken(out) => Stage::Out(out, Outcome::Truncated),
            Got::Nothing => Stage::NotEncoded,
        }
    }
}

/// Reads at most `limit` bytes from a decoder.
fn read_capped<R: Read>(r: R, limit: usize) -> Got {
    let mut out = Vec::new();
    let result = r.take(limit as u64 + 1).read_to_end(&mut out);
    // Growth by doubling may have reserved up to twice what is kept.
    let keep = |mut out: Vec<u8>| {
        out.shrink_to_fit();
        out
    };
    match result {
        Ok(_) if out.len() > limit => {
            out.truncate(limit);
            Got::Capped(keep(out))
        }
        Ok(_) => Got::All(keep(out)),
        Err(_) if out.is_empty() => Got::Nothing,
        Err(_) => Got::Broken(keep(out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn codings_undone_last_first() {
        assert_eq!(
            decode("gzip", gzip(b"hello world"), MAX_DECODED),
            (b"hello world".to_vec(), Outcome::Done)
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(b"zlib").unwrap();
        assert_eq!(decode("deflate", z.finish().unwrap(), 100).0, b"zlib");
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        d.write_all(b"raw").unwrap();
        assert_eq!(decode("Deflate", d.finish().unwrap(), 100).0, b"raw");
        // Applied gzip then gzip again: undone twice.
        assert_eq!(decode("gzip, gzip", gzip(&gzip(b"two")), 100).0, b"two");
        assert_eq!(decode("identity", b"same".to_vec(), 100).0, b"same");
    }

    #[test]
    fn bytes_that_are_not_encoded_stay() {
        for coding in ["gzip", "deflate", "br", "zstd"] {
            assert_eq!(
                decode(coding, b"{\"already\":\"decoded\"}".to_vec(), 100),
                (b"{\"already\":\"decoded\"}".to_vec(), Outcome::Done),
                "{coding}"
            );
        }
    }

    #[test]
    fn bombs_cut_breaks_kept_and_unknown_codings_named() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        let (out, how) = decode("gzip", bomb, 1000);
        assert_eq!((out.len(), how), (1000, Outcome::Capped));
        // 100 MiB of zeros compress to ~100 KiB; decoding stops at the cap.
        let bomb = gzip(&vec![0u8; 100 << 20]);
        assert_eq!(decode("gzip", bomb, MAX_DECODED).0.len(), MAX_DECODED);
        let whole = gzip(&b"abcdefgh".repeat(10_000));
        let (out, how) = decode("gzip", whole[..whole.len() / 2].to_vec(), MAX_DECODED);
        assert_eq!(how, Outcome::Truncated);
        assert!(!out.is_empty() && out.starts_with(b"abcdefgh"));
        let broken = [0x1f, 0x8b, 0xff, 0xff, 0xff].to_vec();
        assert_eq!(
            decode("gzip", broken.clone(), 100),
            (broken, Outcome::Failed)
        );
        assert_eq!(
            decode("compress", b"x".to_vec(), 100),
            (b"x".to_vec(), Outcome::Unsupported("compress".into()))
        );
    }
}
