//! TLS key logs in the NSS `SSLKEYLOGFILE` format, from files or from pcapng
//! Decryption Secrets Blocks.
//!
//! Each line is `LABEL <client_random hex> <secret hex>` (NSS key log format, as
//! written by NSS, OpenSSL, BoringSSL, rustls, Chromium and Firefox). Labels read:
//! * `CLIENT_RANDOM`: the TLS ≤ 1.2 master secret (48 bytes). Because it is keyed
//!   by the client random, it also covers Extended Master Secret (RFC 7627) and
//!   session resumption.
//! * `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
//!   `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`: TLS 1.3 (RFC 8446 §7.1).
//! * `EXPORTER_SECRET`, `CLIENT_EARLY_TRAFFIC_SECRET`, `EARLY_EXPORTER_SECRET`,
//!   `RSA`: accepted and ignored (not needed to read the records).
//!
//! Comments (`#`), blank lines and CRLF endings are fine; hex may be upper or lower
//! case. A file may start with a UTF-8 byte-order mark, or be UTF-16 with one (as
//! Windows editors save it); a file is read up to [`crate::limits::TEXT_FILE`]
//! bytes, and FIFOs and devices without blocking ([`super::special`]). Anything else is a bad line: counted, never fatal. The first value seen for
//! a (label, client random) wins, like a key log file that is only ever appended.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

pub use crate::tls::Secrets;

/// The text of a key-log file: UTF-8 (a byte-order mark dropped), or UTF-16 in
/// either byte order when it starts with its byte-order mark.
pub fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    let utf16 = |rest: &[u8], be: bool| {
        let units = rest.chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if be {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        });
        Cow::Owned(
            char::decode_utf16(units)
                .map(|c| c.unwrap_or('\u{fffd}'))
                .collect(),
        )
    };
    match bytes {
        [0xef, 0xbb, 0xbf, rest @ ..] => String::from_utf8_lossy(rest),
        [0xff, 0xfe, rest @ ..] => utf16(rest, false),
        [0xfe, 0xff, rest @ ..] => utf16(rest, true),
        _ => String::from_utf8_lossy(bytes),
    }
}

/// Key material keyed by the 32-byte ClientHello random.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], Secrets>,
    /// Lines that could not be read.
    pub bad_lines: usize,
    /// First few bad lines, as `source:line`, for the warning.
    pub bad_examples: Vec<String>,
    /// Lines read with a known label.
    pub lines: usize,
}

impl KeyLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no secret is known.
    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// Number of client randoms with at least one secret.
    pub fn sessions(&self) -> usize {
        self.by_random.len()
    }

    /// Reads a key log file and adds it.
    pub fn load_file(&mut self, path: &Path) -> std::io::Result<()> {
        let bytes =
            super::special::read_file_capped(path, crate::limits::TEXT_FILE, "the key log")?;
        self.add_text(&text_of(&bytes), &path.display().to_string());
        Ok(())
    }

    /// Parses key-log text (a file or a Decryption Secrets Block) and adds it.
    /// `source` names it in bad-line examples.
    pub fn add_text(&mut self, text: &str, source: &str) {
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !self.add_line(line) {
                self.bad_lines += 1;
                if self.bad_examples.len() < 3 {
                    self.bad_examples.push(format!("{source}:{}", n + 1));
                }
            }
        }
    }

    fn add_line(&mut self, line: &str) -> bool {
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let ignored = matches!(
            label,
            "EXPORTER_SECRET"
                | "CLIENT_EARLY_TRAFFIC_SECRET"
                | "EARLY_EXPORTER_SECRET"
                | "RSA"
                | "PMS_CLIENT_RANDOM"
                | "ECH_SECRET"
                | "ECH_CONFIG"
        );
        let (Some(random), Some(secret)) = (hex(random), hex(secret)) else {
            return false;
        };
        if ignored {
            self.lines += 1;
            return true;
        }
        let Ok(random) = <[u8; 32]>::try_from(random.as_slice()) else {
            return false;
        };
        if !matches!(secret.len(), 32 | 48 | 64) {
            return false;
        }
        let s = self.by_random.entry(random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" if secret.len() == 48 => &mut s.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_traffic0,
            "SERVER_TRAFFIC_SECRET_0" => &mut s.server_traffic0,
            _ => {
                if *s == Secrets::default() {
                    self.by_random.remove(&random);
                }
                return false;
            }
        };
        slot.get_or_insert(secret);
        self.lines += 1;
        true
    }

    /// Secrets for a ClientHello random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.by_random.get(client_random)
    }

    /// Adds everything from another key log.
    pub fn merge(&mut self, other: &KeyLog) {
        for (r, s) in &other.by_random {
            let e = self.by_random.entry(*r).or_default();
            for (mine, theirs) in [
                (&mut e.master, &s.master),
                (&mut e.client_handshake, &s.client_handshake),
                (&mut e.server_handshake, &s.server_handshake),
                (&mut e.client_traffic0, &s.client_traffic0),
                (&mut e.server_traffic0, &s.server_traffic0),
            ] {
                if mine.is_none() {
                    mine.clone_from(theirs);
                }
            }
        }
        self.bad_lines += other.bad_lines;
        self.lines += other.lines;
        for e in &other.bad_examples {
            if self.bad_examples.len() < 3 {
                self.bad_examples.push(e.clone());
            }
        }
    }
}

impl crate::tls::KeySource for KeyLog {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.get(client_random)
    }
}

/// The names a key log beside a trace called `name` may have, in the order
/// they are tried: `NAME.keys` and `NAME.keylog` for the whole name, the name
/// without `.gz` and the stem (`capture.pcapng.gz`, `capture.pcapng`,
/// `capture`), then a folder-wide `sslkeys.log`. `analyze` and `batch` use the
/// same list.
pub fn candidates(name: &str) -> Vec<String> {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    let mut stems = vec![name.to_string()];
    if base != name {
        stems.push(base.to_string());
    }
    if let Some((stem, _)) = base.rsplit_once('.') {
        if !stem.is_empty() {
            stems.push(stem.to_string());
        }
    }
    let mut out = Vec::new();
    for stem in stems {
        out.push(format!("{stem}.keys"));
        out.push(format!("{stem}.keylog"));
    }
    out.push("sslkeys.log".to_string());
    out
}

/// The first key log that exists beside the file at `path`, if any.
pub fn beside(path: &Path) -> Option<std::path::PathBuf> {
    let name = path.file_name()?.to_str()?;
    let dir = path.parent().unwrap_or(Path::new(""));
    candidates(name)
        .into_iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file() && p != path)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() || s.len() > 256 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_comments_crlf_and_counts_bad_lines() {
        let r = "00".repeat(32);
        let r2 = "AB".repeat(32);
        let text = format!(
            "# comment\r\n\r\nCLIENT_RANDOM {r} {m}\r\nCLIENT_TRAFFIC_SECRET_0 {r2} {s}\nSERVER_TRAFFIC_SECRET_0 {r2} {s2}\nEXPORTER_SECRET {r2} {s}\nCLIENT_EARLY_TRAFFIC_SECRET {r2} {s}\nbogus line\nCLIENT_RANDOM zz {m}\nCLIENT_RANDOM {r} {m2}\nUNKNOWN_LABEL {r} {s}\n",
            m = "11".repeat(48),
            m2 = "22".repeat(48),
            s = "33".repeat(32),
            s2 = "44".repeat(48),
        );
        let mut k = KeyLog::new();
        k.add_text(&text, "t");
        assert_eq!(k.bad_lines, 3);
        assert_eq!(k.bad_examples, vec!["t:8", "t:9", "t:11"]);
        assert_eq!(k.sessions(), 2);
        let s = k.get(&[0; 32]).unwrap();
        assert_eq!(s.master.as_deref(), Some(&[0x11; 48][..]));
        let s = k.get(&[0xab; 32]).unwrap();
        assert_eq!(s.client_traffic0.as_deref(), Some(&[0x33; 32][..]));
        assert_eq!(s.server_traffic0.as_deref(), Some(&[0x44; 48][..]));
        assert!(s.client_handshake.is_none());
    }

    #[test]
    fn byte_order_marks_and_utf16_are_read() {
        let line = format!("CLIENT_RANDOM {} {}\n", "ab".repeat(32), "cd".repeat(48));
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend(line.as_bytes());
        let mut le = vec![0xff, 0xfe];
        le.extend(line.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xfe, 0xff];
        be.extend(line.encode_utf16().flat_map(u16::to_be_bytes));
        for bytes in [bom, le, be] {
            let mut log = KeyLog::new();
            log.add_text(&text_of(&bytes), "t");
            assert_eq!((log.lines, log.bad_lines), (1, 0));
        }
    }
}
