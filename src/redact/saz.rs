//! Fiddler archives rewritten in place: a SAZ in, a SAZ out, member by member.
//!
//! `raw/N_c.txt` and `raw/N_s.txt` hold raw HTTP messages; their request line,
//! headers and body go through the same maskers as a HAR's fields. Session
//! metadata (`_m.xml`, whose `ui-comments` flag is free text) is scanned like a
//! HAR `comment`; it, WebSocket frames and other members are swept for every
//! secret the file revealed elsewhere. An encrypted archive is read with the SAZ
//! password and written unencrypted: it is the redacted copy that is meant to
//! travel.
//!
//! The copy shows what was on the wire. Members keep their names, order,
//! compression method and times, the archive its comment; a member with nothing to mask is copied byte
//! for byte (its compressed bytes, unless it was encrypted). A body that needs
//! masking is de-chunked and decoded (`http::message`, `http::content`), masked,
//! and encoded again with the codings that had actually been applied (gzip,
//! deflate as zlib or raw, zstd) and framed as it was (chunked: one chunk, the
//! last chunk and the original trailers, masked), with `Content-Length` set only
//! where the message had one. A body that cannot be encoded again (brotli: no
//! encoder among the dependencies), or did not decode whole (cut, capped,
//! unknown coding), is stored decoded as far as it went with its codings and
//! framing headers removed, and the receipt's `warnings` name the session. A text
//! body that cannot be inspected at all is replaced by a notice rather than
//! shared unread. Places on the receipt are `session N` (Fiddler's number) with
//! the fields `request line`, `request header NAME`, `request body`,
//! `response body`, `response trailer NAME`, `metadata`, `websocket messages`
//! and `member NAME`, or `archive` for other members and the comment.

use std::io::{Cursor, Read, Write};

use super::har::{self, RewriteError};
use super::{text, Input, Masker, TraceRewriter, Written};
use crate::capture::SAZ_PASSWORD_ENV;
use crate::http::content::{self, Outcome};
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
        let mut sessions = 0;
        let mut warnings = Vec::new();
        for index in 0..archive.len() {
            let member = read_member(&mut archive, index, password.as_deref())?;
            let name = member.name.as_str();
            let place = place_of(name);
            masker.set_place(&place, "");
            let redacted = if name.ends_with("_c.txt") {
                sessions += 1;
                message(
                    masker,
                    &member.data,
                    Side::Request,
                    Binary::Keep,
                    &mut warnings,
                )
            } else if name.ends_with("_s.txt") {
                message(
                    masker,
                    &member.data,
                    Side::Response,
                    Binary::Keep,
                    &mut warnings,
                )
            } else if name.ends_with("_m.xml") {
                masker.set_field("metadata");
                metadata(masker, &member.data)
            } else {
                masker.set_field(&member_field(name));
                swept(masker, &member.data)
            };
            write_member(&mut writer, &mut archive, index, &member, redacted)?;
        }
        // Fiddler names itself in the archive comment (the reader's `producer`).
        masker.set_place("archive", "comment");
        let comment = archive.comment().to_vec();
        let comment = metadata(masker, &comment).unwrap_or(comment);
        writer
            .set_raw_comment(comment.into_boxed_slice())
            .map_err(|e| malformed(format!("cannot keep the archive comment ({e})")))?;
        writer
            .finish()
            .map_err(|e| malformed(format!("cannot finish the archive ({e})")))?;
        out.write_all(buffer.get_ref())
            .map_err(RewriteError::Write)?;
        Ok(Written {
            exchanges: sessions,
            warnings,
        })
    }
}

/// One member as read: its name, bytes and how it was stored.
struct Member {
    name: String,
    data: Vec<u8>,
    encrypted: bool,
    method: zip::CompressionMethod,
    modified: Option<zip::DateTime>,
}

fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    password: Option<&str>,
) -> Result<Member, RewriteError> {
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
    let (method, modified) = (file.compression(), file.last_modified());
    let mut data = Vec::new();
    file.by_ref()
        .take(MAX_MEMBER + 1)
        .read_to_end(&mut data)
        .map_err(|e| malformed(format!("{name}: {e}")))?;
    Ok(Member {
        name,
        data,
        encrypted,
        method,
        modified,
    })
}

/// Writes a member of the copy: an unchanged, unencrypted one as its stored
/// (compressed) bytes; otherwise its (redacted) bytes with the same name,
/// compression method (deflate when the writer lacks it) and time.
fn write_member(
    writer: &mut zip::ZipWriter<&mut Cursor<Vec<u8>>>,
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    member: &Member,
    redacted: Option<Vec<u8>>,
) -> Result<(), RewriteError> {
    let name = &member.name;
    let failed = |e: zip::result::ZipError| RewriteError::Malformed(format!("{name}: {e}"));
    if redacted.is_none() && !member.encrypted {
        let raw = archive.by_index_raw(index).map_err(failed)?;
        return writer.raw_copy_file(raw).map_err(failed);
    }
    let method = match member.method {
        m @ (zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated) => m,
        _ => zip::CompressionMethod::Deflated,
    };
    let mut options = zip::write::SimpleFileOptions::default().compression_method(method);
    if let Some(time) = member.modified {
        options = options.last_modified_time(time);
    }
    writer.start_file(name.as_str(), options).map_err(failed)?;
    let bytes = redacted.as_deref().unwrap_or(&member.data);
    writer.write_all(bytes).map_err(RewriteError::Write)
}

/// `session N` for a session's member (`raw/N_c.txt`), `archive` otherwise.
fn place_of(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    match file.split_once('_') {
        Some((n, _)) => match n.parse::<u64>() {
            Ok(number) => format!("session {number}"),
            Err(_) => "archive".to_string(),
        },
        None => "archive".to_string(),
    }
}

/// The field of a member that is not an HTTP message.
fn member_field(name: &str) -> String {
    if name.ends_with("_w.txt") {
        return "websocket messages".to_string();
    }
    let plain = name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if plain {
        format!("member {name}")
    } else {
        "member (name withheld)".to_string()
    }
}

/// A member that is not an HTTP message: every remembered secret swept out.
/// `None` when nothing changed.
fn swept(m: &mut Masker, data: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    m.sweep(text).map(String::into_bytes)
}

/// Free text written by a person or a tool: session metadata (`ui-comments`
/// holds whatever the user typed in Fiddler) and the archive comment, scanned
/// like a HAR `comment`, then swept. `None` when nothing changed.
fn metadata(m: &mut Masker, data: &[u8]) -> Option<Vec<u8>> {
    let xml = std::str::from_utf8(data).ok()?;
    let scanned = text::free_text(m, xml);
    let out = m.sweep(&scanned).unwrap_or(scanned);
    (out != xml).then(|| out.into_bytes())
}

/// Which message of a session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }
}

/// One header line: its name and value, and the line as it was.
struct Line {
    name: String,
    value: String,
    original: String,
}

/// What becomes of a body: the SAZ copy keeps media and the wire form; the
/// NetLog rewriter wants every body decoded and nothing shared unread.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Binary {
    /// Bytes that are not text and not shaped like text are kept, and a body
    /// keeps its codings and framing (a SAZ).
    Keep,
    /// Such bytes are replaced by [`UNINSPECTED`], and every body is stored
    /// decoded with its `Content-Length` (NetLog bytes).
    Replace,
}

/// One raw HTTP message redacted for another rewriter (the NetLog's HTTP/1
/// bytes): always the message's bytes, its body as `binary` says.
pub(super) fn message_with(m: &mut Masker, data: &[u8], request: bool, binary: Binary) -> Vec<u8> {
    let side = if request {
        Side::Request
    } else {
        Side::Response
    };
    message(m, data, side, binary, &mut Vec::new()).unwrap_or_else(|| data.to_vec())
}

/// One raw HTTP message (RFC 9112 §2.1), redacted; `None` when nothing in it
/// changed (the member is then copied as it was).
fn message(
    m: &mut Masker,
    data: &[u8],
    side: Side,
    binary: Binary,
    warnings: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let (first, mut headers, raw_body) = parse(data);
    let (new_first, head_changed) = redact_head(m, &first, &mut headers, side);
    m.set_field(&format!("{} body", side.name()));
    let mut uninspected = false;
    let body = redact_body(m, &headers, raw_body, (side, binary), &mut uninspected);
    let place = m.place();
    let side = side.name();
    if uninspected {
        warnings.push(format!(
            "{place}: the {side} body could not be decoded for inspection; \
             the copy holds a notice instead"
        ));
    }
    let body = match body {
        Body::Same if !head_changed => return None,
        Body::Same => raw_body.to_vec(),
        Body::Framed(bytes) => {
            set_length(&mut headers, bytes.len(), false);
            bytes
        }
        Body::Decoded(bytes, why) => {
            // A notice is no decoded body: the warning above said what it is.
            if !uninspected && !why.is_empty() {
                warnings.push(format!(
                    "{place}: the {side} body {why}; the copy stores it decoded, \
                     without its Content-Encoding and Transfer-Encoding"
                ));
            }
            headers
                .retain(|l| !is_named(l, "transfer-encoding") && !is_named(l, "content-encoding"));
            set_length(&mut headers, bytes.len(), true);
            bytes
        }
    };
    Some(write(&new_first, &headers, &body))
}

/// A message's first line, header lines and body. Lines without a colon are
/// left out, as before aadtrace wrote byte-for-byte copies.
fn parse(data: &[u8]) -> (String, Vec<Line>, &[u8]) {
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
    let first = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| {
            l.split_once(':').map(|(n, v)| Line {
                name: n.to_string(),
                value: v.trim().to_string(),
                original: l.to_string(),
            })
        })
        .collect();
    (first, headers, body)
}

/// The request line and header values, masked; whether any changed. A
/// changed header's line is written anew, the others as they were.
fn redact_head(m: &mut Masker, first: &str, headers: &mut [Line], side: Side) -> (String, bool) {
    m.set_field(&format!("{} line", side.name()));
    let new_first = match side {
        Side::Request => request_line(m, first),
        Side::Response => first.to_string(),
    };
    let mut changed = new_first != first;
    let prefix = format!("{} header ", side.name());
    for line in headers {
        m.set_field(&m.field_name(&prefix, line.name.trim()));
        let value = har::header_value(m, &line.name, &line.value);
        if value != line.value {
            line.original = format!("{}: {value}", line.name);
            line.value = value;
            changed = true;
        }
    }
    (new_first, changed)
}

/// The message's bytes: head lines with CRLF, an empty line, the body.
fn write(first: &str, headers: &[Line], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64 * (headers.len() + 1));
    out.extend_from_slice(first.as_bytes());
    out.extend_from_slice(b"\r\n");
    for line in headers {
        out.extend_from_slice(line.original.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Whether the header line is `name` (case-insensitive).
fn is_named(line: &Line, name: &str) -> bool {
    line.name.trim().eq_ignore_ascii_case(name)
}

/// Sets `Content-Length` to `len` where the message had one (in its place), or
/// adds it when `always`.
fn set_length(headers: &mut Vec<Line>, len: usize, always: bool) {
    let is_length = |l: &Line| is_named(l, "content-length");
    match headers.iter().position(is_length) {
        Some(at) => {
            let name = headers[at].name.clone();
            headers[at] = Line {
                original: format!("{name}: {len}"),
                value: len.to_string(),
                name,
            };
            let mut seen = false;
            headers.retain(|l| !is_length(l) || !std::mem::replace(&mut seen, true));
        }
        None if always => headers.push(Line {
            name: "Content-Length".into(),
            value: len.to_string(),
            original: format!("Content-Length: {len}"),
        }),
        None => {}
    }
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

/// What a body becomes in the copy.
enum Body {
    /// Nothing in it to mask: the stored bytes stay.
    Same,
    /// Masked, with its codings and framing as they were.
    Framed(Vec<u8>),
    /// Masked and stored decoded, and why it could not be encoded again (empty
    /// when [`Binary::Replace`] asked for it decoded).
    Decoded(Vec<u8>, String),
}

/// A content coding that was applied to a body, as far as it can be undone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    /// `deflate` as zlib (RFC 1950), as RFC 9110 §8.4.1.2 has it.
    Zlib,
    /// `deflate` as raw deflate (RFC 1951), as some servers send it.
    RawDeflate,
    Zstd,
    /// Decodes, but aadtrace cannot encode it (brotli).
    NoEncoder,
}

/// A body taken apart: its framing, the codings that were really applied
/// (bytes stored decoded under a `Content-Encoding` count for none), and the
/// content they hid.
struct Opened {
    /// Chunked: the trailer lines, and whether the last chunk was there.
    chunked: Option<(Vec<String>, bool)>,
    /// In the order they were applied.
    codings: Vec<(Coding, String)>,
    content: Vec<u8>,
    /// Why the content is not the whole body, when it is not.
    partial: Option<String>,
}

/// The body masked by its MIME type: the stored bytes when nothing changed, or
/// the masked content encoded and framed again.
/// `uninspected` is set when a text body was replaced by a notice.
fn redact_body(
    m: &mut Masker,
    headers: &[Line],
    raw: &[u8],
    (side, binary): (Side, Binary),
    uninspected: &mut bool,
) -> Body {
    if raw.is_empty() {
        return Body::Same;
    }
    let opened = open(headers, raw);
    let mime = field(headers, "content-type").unwrap_or("").to_string();
    let out = match std::str::from_utf8(&opened.content) {
        Ok(text) => {
            let redacted = har::body(m, text, &mime);
            m.sweep(&redacted).unwrap_or(redacted).into_bytes()
        }
        Err(_)
            if binary == Binary::Replace
                || har::textual(&mime)
                || mime.is_empty() && looks_textual(&opened.content) =>
        {
            *uninspected = true;
            UNINSPECTED.as_bytes().to_vec()
        }
        Err(_) => opened.content.clone(),
    };
    if binary == Binary::Replace {
        return Body::Decoded(out, String::new());
    }
    let trailers = opened
        .chunked
        .as_ref()
        .map(|(lines, _)| mask_trailers(m, lines, side));
    let trailers_changed = trailers.as_ref().is_some_and(|(_, changed)| *changed);
    // A capped body was not inspected past the cap: never copied whole.
    let capped = opened.partial.as_deref() == Some(CAPPED);
    if out == opened.content && !capped && !trailers_changed {
        return Body::Same;
    }
    if let Some(why) = &opened.partial {
        return Body::Decoded(out, why.clone());
    }
    match encode(&opened.codings, &out) {
        Ok(encoded) => Body::Framed(frame(&opened, trailers, encoded)),
        Err(why) => Body::Decoded(out, why),
    }
}

/// Trailer lines with their values masked by the header rules, and whether
/// any changed.
fn mask_trailers(m: &mut Masker, lines: &[String], side: Side) -> (Vec<String>, bool) {
    let mut changed = false;
    let out = lines
        .iter()
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            m.set_field(&m.field_name(&format!("{} trailer ", side.name()), name.trim()));
            let masked = har::header_value(m, name.trim(), value.trim());
            if masked == value.trim() {
                line.clone()
            } else {
                changed = true;
                format!("{name}: {masked}")
            }
        })
        .collect();
    (out, changed)
}

const CAPPED: &str =
    "decodes to more than aadtrace inspects (32 MiB); only its first part was kept";

/// De-chunks and decodes a body, coding by coding, noting what was applied.
fn open(headers: &[Line], raw: &[u8]) -> Opened {
    let (bytes, chunked) = match message::dechunk(raw) {
        Dechunked::Complete(b, used) => (b, Some((trailers(&raw[..used]), true))),
        Dechunked::Cut(b) => (b, Some((Vec::new(), false))),
        Dechunked::No => (raw.to_vec(), None),
    };
    let mut opened = Opened {
        chunked,
        codings: Vec::new(),
        content: bytes,
        partial: None,
    };
    let Some(codings) = field(headers, "content-encoding") else {
        return opened;
    };
    // Undone last first (RFC 9110 §8.4); one at a time, to learn which were applied.
    for name in codings.rsplit(',') {
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name == "identity" {
            continue;
        }
        let before = std::mem::take(&mut opened.content);
        let coding = match name.as_str() {
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" if is_zlib(&before) => Coding::Zlib,
            "deflate" => Coding::RawDeflate,
            "zstd" => Coding::Zstd,
            _ => Coding::NoEncoder,
        };
        let (after, outcome) = content::decode(&name, before.clone(), content::MAX_DECODED);
        let applied = after != before;
        opened.content = after;
        if applied {
            opened.codings.insert(0, (coding, name.clone()));
        }
        let why = match outcome {
            Outcome::Done => continue,
            Outcome::Capped => CAPPED.to_string(),
            Outcome::Truncated => format!("breaks off in its {name} data; what decoded was kept"),
            Outcome::Failed => format!("does not decode as {name}"),
            Outcome::Unsupported(c) => format!("has a content coding aadtrace cannot decode ({c})"),
        };
        opened.partial = Some(why);
        break;
    }
    opened
}

/// The zlib header check (RFC 1950 §2.2), as `http::content` tells zlib from raw deflate.
fn is_zlib(data: &[u8]) -> bool {
    data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
}

/// Trailer sections longer than this are not looked for (they are left out).
const MAX_TRAILERS: usize = 64 << 10;

/// The trailer lines of a complete chunked body (RFC 9112 §7.1.2): the field
/// lines after the last chunk, found from the end (field lines hold a colon,
/// the last-chunk line `0[;ext]` none), within its last [`MAX_TRAILERS`] bytes.
fn trailers(chunked: &[u8]) -> Vec<String> {
    let tail = &chunked[chunked.len().saturating_sub(MAX_TRAILERS)..];
    let text = String::from_utf8_lossy(tail);
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let mut out = Vec::new();
    while let Some(line) = lines.pop() {
        let size = line.split(';').next().unwrap_or("").trim();
        if !size.is_empty() && size.bytes().all(|b| b == b'0') {
            out.reverse();
            return out;
        }
        if !line.contains(':') {
            break;
        }
        out.push(line.to_string());
    }
    Vec::new()
}

/// Applies `codings` (in the order they were first applied) to `content`, and
/// checks that the result decodes back to it.
fn encode(codings: &[(Coding, String)], content: &[u8]) -> Result<Vec<u8>, String> {
    let mut data = content.to_vec();
    for (coding, name) in codings {
        data = encode_one(*coding, &data).ok_or_else(|| {
            format!("is in the {name} content coding, which aadtrace cannot encode again")
        })?;
    }
    let names: Vec<&str> = codings.iter().map(|(_, n)| n.as_str()).collect();
    let (back, outcome) = content::decode(&names.join(", "), data.clone(), content::MAX_DECODED);
    if outcome != Outcome::Done || back != content {
        return Err(format!(
            "did not encode back to {} faithfully",
            names.join(", ")
        ));
    }
    Ok(data)
}

fn encode_one(coding: Coding, data: &[u8]) -> Option<Vec<u8>> {
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    let level = flate2::Compression::default();
    let written = match coding {
        Coding::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        Coding::Zlib => {
            let mut e = ZlibEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        Coding::RawDeflate => {
            let mut e = DeflateEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        Coding::Zstd => Ok(ruzstd::encoding::compress_to_vec(
            data,
            ruzstd::encoding::CompressionLevel::Fastest,
        )),
        Coding::NoEncoder => return None,
    };
    written.ok()
}

/// The encoded body framed as the original was: chunked as one chunk, then
/// the last chunk and the (masked) trailers when the original had them.
fn frame(opened: &Opened, trailers: Option<(Vec<String>, bool)>, encoded: Vec<u8>) -> Vec<u8> {
    let Some((_, complete)) = &opened.chunked else {
        return encoded;
    };
    let mut out = Vec::with_capacity(encoded.len() + 32);
    if !encoded.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", encoded.len()).as_bytes());
        out.extend_from_slice(&encoded);
        out.extend_from_slice(b"\r\n");
    }
    if *complete {
        out.extend_from_slice(b"0\r\n");
        for line in trailers.map(|(lines, _)| lines).unwrap_or_default() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The value of the header `name` (case-insensitive).
fn field<'l>(headers: &'l [Line], name: &str) -> Option<&'l str> {
    headers
        .iter()
        .find(|l| is_named(l, name))
        .map(|l| l.value.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_the_field_lines_after_the_last_chunk() {
        let body = b"5\r\nhello\r\n0;ext=1\r\nServer-Timing: a\r\nX-Trace: b\r\n\r\n";
        assert_eq!(trailers(body), ["Server-Timing: a", "X-Trace: b"]);
        assert!(trailers(b"5\r\nhello\r\n0\r\n\r\n").is_empty());
        // No last chunk in reach: no trailers, never data lines taken for them.
        assert!(trailers(b"a: b\r\nc: d\r\n\r\n").is_empty());
    }

    #[test]
    fn every_coding_encodes_back() {
        let mut noise = Vec::new();
        let mut x: u32 = 1;
        for _ in 0..300_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            noise.push((x >> 16) as u8);
        }
        for data in [&b""[..], b"a", b"{\"access_token\":\"redacted\"}", &noise] {
            for (coding, name) in [
                (Coding::Gzip, "gzip"),
                (Coding::Zlib, "deflate"),
                (Coding::RawDeflate, "deflate"),
                (Coding::Zstd, "zstd"),
            ] {
                let codings = [(coding, name.to_string())];
                let encoded = encode(&codings, data).unwrap_or_else(|e| panic!("{name}: {e}"));
                if !data.is_empty() {
                    assert_ne!(encoded, data, "{name}");
                }
            }
        }
        let gzip_twice = [(Coding::Gzip, "gzip".into()), (Coding::Gzip, "gzip".into())];
        assert!(encode(&gzip_twice, b"twice").is_ok());
        let br = [(Coding::NoEncoder, "br".to_string())];
        assert!(encode(&br, b"x").unwrap_err().contains("br"));
    }

    #[test]
    fn places_are_fiddlers_session_numbers() {
        assert_eq!(place_of("raw/07_c.txt"), "session 7");
        assert_eq!(place_of("raw/120_s.txt"), "session 120");
        assert_eq!(place_of("_index.htm"), "archive");
        assert_eq!(member_field("raw/3_w.txt"), "websocket messages");
        assert_eq!(member_field("raw/a b.txt"), "member (name withheld)");
    }
}
