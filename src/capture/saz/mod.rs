//! Fiddler session archive (`.saz`) reader.
//!
//! Format references (no code taken from any of them):
//! - Telerik, "Fiddler Classic: Session Archive Zip (SAZ) format" and the FiddlerCore
//!   API reference for `Fiddler.SessionFlags` (the `BitFlags` attribute) and
//!   `Fiddler.SessionTimers`.
//! - The public SAZ archives of Fiddler, fluxzy and node-saz-parser that the
//!   corpus tests read (`tests/it/saz.rs`).
//! - PKWARE APPNOTE.TXT (the zip container, ZipCrypto), WinZip "AES Encryption
//!   Information: Encryption Specification AE-1 and AE-2" (AES entries); both are
//!   handled by the `zip` crate.
//!
//! A SAZ is a plain zip. For session `N` (any zero padding, sorted numerically):
//! - `raw/N_c.txt`: the request as Fiddler forwarded it: request line (absolute URL
//!   for proxied requests, `CONNECT host:port` for tunnels), headers, blank line,
//!   body;
//! - `raw/N_s.txt`: the response exactly as stored: status line, headers, body. The
//!   body may be still chunked and still gzip/deflate encoded, or already decoded
//!   with the headers left as they were, so the bytes are trusted, not the headers;
//! - `raw/N_m.xml`: `<Session SID BitFlags>` with `<SessionTimers …>` (.NET
//!   round-trip times, 7 fraction digits and an offset) and `<SessionFlags>` name/value
//!   pairs (`x-clientip`, `x-hostip`, `x-processinfo`…); missing in minimal archives
//!   written by other tools;
//! - `raw/N_w.txt`: WebSocket messages (skipped: sign-ins do not use WebSockets).
//!
//! The reader never extracts anything to disk. It still refuses archives whose
//! member names try to leave the archive (`../`, absolute paths): such a file was not
//! written by Fiddler. Each member is read with a size cap, so a zip bomb stops with
//! a clear error instead of filling memory.
//!
//! Cut along its seams: `archive` (members, names, size caps, decryption),
//! `session` (one session to one exchange), `meta` (`_m.xml`); this file reads the
//! sessions in order and turns what was counted into warnings.

mod archive;
mod meta;
mod session;

use std::io::{Read, Seek};

use super::tally::{Capped, Tally};
use super::{CaptureError, InputSummary, InputWarning, ReadCtx, WarningCode};
use crate::http::content::MAX_DECODED;
use crate::http::Exchange;
use archive::Members;
use meta::parse_meta;

/// Environment variable holding the password of a protected SAZ.
pub const PASSWORD_ENV: &str = "AADTRACE_SAZ_PASSWORD";
/// Largest archive read from a stream into memory.
const MAX_STREAM: u64 = 4 << 30;
/// Per-session `malformed_entry` warnings before they are only counted.
const MAX_SESSION_WARNINGS: usize = 20;

/// Reads a SAZ from a file on disk. The password comes from [`PASSWORD_ENV`].
pub fn read_file(
    file: std::fs::File,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let password = std::env::var(PASSWORD_ENV).ok();
    let reader = std::io::BufReader::new(file);
    read(reader, ctx, password.as_deref(), sink)
}

/// Reads a SAZ from a non-seekable stream: the archive is buffered in memory first
/// (zip keeps its directory at the end).
pub fn read_stream<R: Read>(
    reader: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let name = ctx.name;
    let mut bytes = Vec::new();
    reader
        .take(MAX_STREAM + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CaptureError::Io {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_STREAM {
        return Err(malformed(
            name,
            "archive",
            format!(
                "a SAZ read from a stream may be at most {} GiB; save it to a file first",
                MAX_STREAM >> 30
            ),
        ));
    }
    let password = std::env::var(PASSWORD_ENV).ok();
    read(std::io::Cursor::new(bytes), ctx, password.as_deref(), sink)
}

/// Reads a SAZ from anything seekable, with an explicit password.
pub fn read<R: Read + Seek>(
    reader: R,
    ctx: &ReadCtx<'_>,
    password: Option<&str>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| {
        malformed(
            name,
            "zip directory",
            format!("not a readable zip archive, so not a SAZ ({e})"),
        )
    })?;
    let producer = producer_from_comment(archive.comment());
    let sessions = archive::sessions(&mut archive, name)?;
    let mut reader = SazReader {
        name,
        password: password.map(str::as_bytes),
        total: 0,
        consumed: 0,
        counters: Counters::new(),
        warnings: Tally::new(),
    };
    let mut delivered = 0usize;
    for (&number, members) in &sessions {
        let exchange = reader.read_session(&mut archive, number, members, input_index)?;
        if let Some(exchange) = exchange {
            delivered += 1;
            sink(exchange);
        }
        progress.advance_to(reader.consumed);
    }
    Ok(InputSummary {
        producer,
        exchanges: delivered,
        warnings: reader.finish(),
        connections: Vec::new(),
    })
}

/// `Fiddler (v5.0.20253.3311) Session Archive. See …` → `Fiddler 5.0.20253.3311`.
fn producer_from_comment(comment: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(comment);
    let text = text.trim();
    if !text.starts_with("Fiddler") {
        return None;
    }
    let version = text
        .split_once("(v")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(v, _)| v.trim());
    Some(match version {
        Some(v) if !v.is_empty() => format!("Fiddler {v}"),
        _ => "Fiddler".to_string(),
    })
}

fn malformed(name: &str, place: &str, detail: String) -> CaptureError {
    CaptureError::Malformed {
        path: name.to_string(),
        place: place.to_string(),
        detail,
    }
}

/// What went wrong how often, reported once at the end.
struct Counters {
    /// Malformed sessions: the first [`MAX_SESSION_WARNINGS`] each get a warning.
    malformed: Capped,
    response_dropped: usize,
    request_dropped: usize,
    no_meta: usize,
    no_offset: usize,
    chunked_cut: usize,
    undecoded: Vec<String>,
    undecodable: usize,
    truncated: usize,
    capped: usize,
}

impl Counters {
    fn new() -> Self {
        Counters {
            malformed: Capped::new(MAX_SESSION_WARNINGS),
            response_dropped: 0,
            request_dropped: 0,
            no_meta: 0,
            no_offset: 0,
            chunked_cut: 0,
            undecoded: Vec::new(),
            undecodable: 0,
            truncated: 0,
            capped: 0,
        }
    }
}

struct SazReader<'n> {
    name: &'n str,
    password: Option<&'n [u8]>,
    /// Uncompressed bytes read so far (bomb guard).
    total: u64,
    /// Compressed bytes read so far (progress).
    consumed: u64,
    counters: Counters,
    /// Warnings of single sessions, in session order; the counts follow at the end.
    warnings: Tally,
}

impl SazReader<'_> {
    /// Reads the members of one session and builds its exchange; a session that
    /// cannot be read is a warning, an archive that cannot be read an error.
    fn read_session<R: Read + Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        number: u64,
        members: &Members,
        input: usize,
    ) -> Result<Option<Exchange<'static>>, CaptureError> {
        let Some(req_index) = members.request else {
            self.session_warning(number, "raw/N_s.txt without raw/N_c.txt");
            return Ok(None);
        };
        let request = self.member(archive, req_index)?;
        let response = match members.response {
            Some(i) => Some(self.member(archive, i)?),
            None => None,
        };
        let meta = match members.meta {
            Some(i) => Some(parse_meta(&self.member(archive, i)?)),
            None => None,
        };
        match self.session(number, input, &request, response.as_deref(), meta) {
            Ok(exchange) => Ok(exchange),
            Err(what) => {
                self.session_warning(number, &what);
                Ok(None)
            }
        }
    }

    fn session_warning(&mut self, number: u64, what: &str) {
        if self.counters.malformed.admit() {
            self.warnings.push(
                WarningCode::MalformedEntry,
                format!("session {number}: {what}"),
            );
        }
    }

    fn finish(self) -> Vec<InputWarning> {
        let c = &self.counters;
        let mut t = self.warnings;
        t.count(WarningCode::MalformedEntry, c.malformed.over(), |n| {
            format!("{n} more malformed sessions were skipped")
        })
        .when(
            c.response_dropped > 0 || c.request_dropped > 0,
            WarningCode::MissingBody,
            || format!(
                "Fiddler dropped {} response bodies and {} request bodies (streamed or log-drop-*-body)",
                c.response_dropped, c.request_dropped
            ),
        )
        .count(WarningCode::TimestampInvalid, c.no_meta, |n| {
            format!("{n} sessions have no raw/N_m.xml: their times come from the response Date header (whole seconds) or are unknown")
        })
        .count(WarningCode::TimestampNoOffset, c.no_offset, |n| {
            format!("{n} sessions have SessionTimers without a time zone; read as UTC")
        })
        .count(WarningCode::CaptureTruncated, c.chunked_cut, |n| {
            format!("{n} chunked bodies stop before their last chunk; the part stored was read")
        })
        .when(!c.undecoded.is_empty(), WarningCode::BodyUndecoded, || {
            format!(
                "bodies with Content-Encoding {} cannot be decoded yet and were left as stored",
                c.undecoded.join(", ")
            )
        })
        .count(WarningCode::BodyUndecoded, c.undecodable, |n| {
            format!("{n} bodies are marked gzip/deflate but do not inflate; left as stored")
        })
        .count(WarningCode::BodyUndecoded, c.truncated, |n| {
            format!("{n} compressed bodies stop in the middle; what inflated before the break was kept")
        })
        .count(WarningCode::BodyCapped, c.capped, |n| {
            format!(
                "{n} bodies inflate to more than {} MiB; only the first {} MiB were kept",
                MAX_DECODED >> 20,
                MAX_DECODED >> 20
            )
        });
        t.into_warnings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer() {
        assert_eq!(
            producer_from_comment(
                b"Fiddler (v5.0.20253.3311) Session Archive. See https://api.getfiddler.com/r/?fiddler"
            ),
            Some("Fiddler 5.0.20253.3311".into())
        );
        assert_eq!(producer_from_comment(b""), None);
    }
}
