//! Fiddler archives rewritten in place: a SAZ in, a SAZ out, member by member.
//!
//! `raw/N_c.txt` and `raw/N_s.txt` hold raw HTTP messages; their request line,
//! headers and body go through the same maskers as a HAR's fields. A chunked or
//! compressed body is stored decoded (with `Content-Length` set and the codings
//! removed) so that what it says can be inspected; a text body that cannot be
//! inspected is replaced by a notice rather than shared unread. Session metadata
//! (`_m.xml`, whose `ui-comments` flag is free text) is scanned like a HAR
//! `comment`; it, WebSocket frames and other members are swept for every secret
//! the file revealed elsewhere. An encrypted archive is read with the SAZ password
//! and written unencrypted: it is the redacted copy that is meant to travel.

use std::io::{Cursor, Read, Write};

use super::har::{self, RewriteError};
use super::{text, Input, Masker, TraceRewriter, Written};
use crate::capture::SAZ_PASSWORD_ENV;
use crate::http::content;
use crate::http::message::{self, Dechunked};

/// The SAZ rewriter.
pub struct Saz;

/// Members larger than this are refused (as the reader refuses them).
const MAX_MEMBER: u64 = 256 << 20;

/// What replaces a text body that could not be decoded for inspection.
pub(super) const UNINSPECTED: &str =
    "[body removed by aadtrace redact: it could not be decoded for inspection]";

impl TraceRewriter for Saz {
    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        let malformed = |what: String| RewriteError::Malformed(what);
        let input = input.whole()?;
        let mut archive = zip::ZipArchive::new(Cursor::new(&input[..]))
            .map_err(|e| malformed(format!("not a readable zip ({e})")))?;
        let password = std::env::var(SAZ_PASSWORD_ENV).ok();
        let mut buffer = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut sessions = 0;
        for index in 0..archive.len() {
            let (name, data) = read_member(&mut archive, index, password.as_deref())?;
            let redacted = if name.ends_with("_c.txt") {
                sessions += 1;
                message(masker, &data, true)
            } else if name.ends_with("_s.txt") {
                message(masker, &data, false)
            } else if name.ends_with("_m.xml") {
                metadata(masker, data)
            } else {
                swept(masker, data)
            };
            writer
                .start_file(name.as_str(), options)
                .map_err(|e| malformed(format!("{name}: {e}")))?;
            writer.write_all(&redacted).map_err(RewriteError::Write)?;
        }
        writer
            .finish()
            .map_err(|e| malformed(format!("cannot finish the archive ({e})")))?;
        out.write_all(buffer.get_ref())
            .map_err(RewriteError::Write)?;
        Ok(Written {
            exchanges: sessions,
            warnings: Vec::new(),
        })
    }
}

fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    password: Option<&str>,
) -> Result<(String, Vec<u8>), RewriteError> {
    let malformed = |what: String| RewriteError::Malformed(what);
    let encrypted = archive
        .by_index_raw(index)
        .map(|f| f.encrypted())
        .map_err(|e| malformed(format!("zip entry {index}: {e}")))?;
    let mut file = match (encrypted, password) {
        (true, Some(p)) => archive.by_index_decrypt(index, p.as_bytes()),
        (true, None) => {
            return Err(malformed(format!(
                "this SAZ is password-protected: set {} (or --password)",
                SAZ_PASSWORD_ENV
            )))
        }
        (false, _) => archive.by_index(index),
    }
    .map_err(|e| malformed(format!("zip entry {index}: {e}")))?;
    let name = file
        .name()
        .map(|n| n.into_owned())
        .unwrap_or_else(|_| format!("member-{index}"));
    if file.size() > MAX_MEMBER {
        return Err(malformed(format!(
            "{name}: {} bytes is more than a SAZ member may hold",
            file.size()
        )));
    }
    let mut data = Vec::new();
    file.by_ref()
        .take(MAX_MEMBER + 1)
        .read_to_end(&mut data)
        .map_err(|e| malformed(format!("{name}: {e}")))?;
    Ok((name, data))
}

/// A member that is not an HTTP message: every remembered secret swept out.
fn swept(m: &mut Masker, data: Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(&data) {
        Ok(text) => m.sweep(text).map(String::into_bytes).unwrap_or(data),
        Err(_) => data,
    }
}

/// Session metadata: its flags are free text (`ui-comments` holds whatever the
/// user typed in Fiddler), so they are scanned like a HAR `comment`, then swept.
fn metadata(m: &mut Masker, data: Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(&data) {
        Ok(xml) => {
            let scanned = text::free_text(m, xml);
            m.sweep(&scanned).unwrap_or(scanned).into_bytes()
        }
        Err(_) => data,
    }
}

/// What becomes of a body that is not UTF-8 text and not shaped like text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Binary {
    /// Kept as it is (media in a SAZ).
    Keep,
    /// Replaced by [`UNINSPECTED`]: never shared unread (NetLog bytes).
    Replace,
}

/// One raw HTTP message (RFC 9112 §2.1), redacted.
fn message(m: &mut Masker, data: &[u8], request: bool) -> Vec<u8> {
    message_with(m, data, request, Binary::Keep)
}

/// One raw HTTP message, redacted, with `binary` bodies kept or replaced.
pub(super) fn message_with(m: &mut Masker, data: &[u8], request: bool, binary: Binary) -> Vec<u8> {
    let (head_end, sep_len) = match memchr::memmem::find(data, b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => match memchr::memmem::find(data, b"\n\n") {
            Some(i) => (i, 2),
            None => (data.len(), 0),
        },
    };
    let head = String::from_utf8_lossy(&data[..head_end]);
    let body = &data[(head_end + sep_len).min(data.len())..];
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let mut headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        })
        .collect();
    let first = if request {
        request_line(m, first)
    } else {
        first.to_string()
    };
    let body = redact_body(m, &mut headers, body, binary);
    let mut out = String::with_capacity(data.len());
    out.push_str(&first);
    out.push_str("\r\n");
    for (name, value) in &headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&har::header_value(m, name, value));
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// `METHOD URL VERSION` with the URL redacted.
pub(super) fn request_line(m: &mut Masker, line: &str) -> String {
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(url), rest) => {
            let url = text::url(m, url);
            match rest {
                Some(version) => format!("{method} {url} {version}"),
                None => format!("{method} {url}"),
            }
        }
        _ => text::free_text(m, line),
    }
}

/// The body, decoded where needed and redacted by its MIME type; the headers
/// follow what is stored.
fn redact_body(
    m: &mut Masker,
    headers: &mut Vec<(String, String)>,
    raw: &[u8],
    binary: Binary,
) -> Vec<u8> {
    if raw.is_empty() {
        return Vec::new();
    }
    let bytes = match message::dechunk(raw) {
        Dechunked::Complete(b, _) | Dechunked::Cut(b) => {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("transfer-encoding"));
            b
        }
        Dechunked::No => raw.to_vec(),
    };
    // A body that does not decode is masked as it is, like any binary body.
    let (bytes, _) = match message::field(headers, "content-encoding") {
        Some(codings) => content::decode(codings, bytes, content::MAX_DECODED),
        None => (bytes, content::Outcome::Done),
    };
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-encoding"));
    let mime = message::field(headers, "content-type")
        .unwrap_or("")
        .to_string();
    let out = match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let redacted = har::body(m, text, &mime);
            m.sweep(&redacted).unwrap_or(redacted).into_bytes()
        }
        Err(_)
            if binary == Binary::Replace
                || har::textual(&mime)
                || mime.is_empty() && looks_textual(&bytes) =>
        {
            UNINSPECTED.as_bytes().to_vec()
        }
        Err(_) => bytes,
    };
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
    headers.push(("Content-Length".to_string(), out.len().to_string()));
    out
}

/// Mostly printable bytes: text in an unknown or broken encoding.
fn looks_textual(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(512)];
    let printable = sample
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    printable * 10 >= sample.len() * 9
}
