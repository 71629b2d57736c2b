//! The HTTP/1.x message grammar (RFC 9112) for messages that are already whole:
//! the text a tool saved (Fiddler's `_c.txt`/`_s.txt`, NetLog's upload bytes,
//! Network Monitor's ETW payloads). Heads, start lines, framing headers and the
//! chunked transfer coding live here once; the live wire parser ([`super::h1`])
//! reads heads with `httparse` as the bytes arrive and shares the framing rules.
//!
//! Saved text is read leniently, as the tools that wrote it do: LF or CRLF line
//! ends, obsolete line folding joined (RFC 9112 §5.2), header bytes read as UTF-8
//! with replacement.

use super::Headers;

/// A request line: `GET https://host/path HTTP/1.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine<'l> {
    pub method: &'l str,
    pub target: &'l str,
    /// Empty when the line has none (HTTP/0.9-like lines some tools write).
    pub version: &'l str,
}

/// A status line: `HTTP/1.1 200 OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub version: String,
    pub status: u16,
    pub reason: String,
}

/// Splits a message at the first empty line. Without one, all of it is head.
pub fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    match head_end(data) {
        Some((head, body)) => (&data[..head], &data[body..]),
        None => (data, &[]),
    }
}

/// Where the head ends (after its last line's line end) and the body starts
/// (after the empty line), if the bytes hold an empty line.
pub fn head_end(data: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(pos) = memchr::memchr(b'\n', &data[i..]) {
        let nl = i + pos;
        if let Some(n) = line_end(&data[nl + 1..]) {
            return Some((nl + 1, nl + 1 + n));
        }
        i = nl + 1;
    }
    None
}

/// The start line and header fields of a head.
pub fn parse_head(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or("").trim().to_string();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((n, v)) => fields.push((n.trim().to_string(), v.trim().to_string())),
            None => fields.push((line.trim().to_string(), String::new())),
        }
    }
    (start, fields)
}

/// Reads a request line; `None` when it is not one.
pub fn parse_request_line(line: &str) -> Option<RequestLine<'_>> {
    let (method, rest) = line.split_once(' ')?;
    let rest = rest.trim();
    let (target, version) = match rest.rsplit_once(' ') {
        Some((t, v)) if v.starts_with("HTTP/") => (t.trim(), v),
        _ => (rest, ""),
    };
    if method.is_empty() || target.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        version,
    })
}

/// Reads a status line; `None` when it is not one.
pub fn parse_status_line(line: &str) -> Option<StatusLine> {
    let (version, rest) = line.split_once(' ')?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let rest = rest.trim_start();
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(StatusLine {
        version: version.to_string(),
        status: code.parse().ok()?,
        reason: reason.trim().to_string(),
    })
}

/// Header fields as [`Headers`], in order.
pub fn to_headers(fields: Vec<(String, String)>) -> Headers<'static> {
    Headers(
        fields
            .into_iter()
            .map(|(n, v)| super::Header::new(n, v))
            .collect(),
    )
}

/// The first value of `name` among header fields.
pub fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether `Transfer-Encoding` ends in `chunked`, which then frames the body
/// (RFC 9112 §6.3 rule 4: only the last coding decides).
pub fn is_chunked<'v>(mut transfer_encodings: impl Iterator<Item = &'v str>) -> bool {
    transfer_encodings.any(|v| {
        v.rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    })
}

/// A `Content-Length` value; a list of equal values (RFC 9110 §8.6) reads as its first.
pub fn content_length(value: &str) -> Option<u64> {
    value.split(',').next()?.trim().parse().ok()
}

/// A body in the chunked transfer coding (RFC 9112 §7.1), decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum Dechunked {
    /// A complete chunked body, and the bytes it took with its trailer section.
    Complete(Vec<u8>, usize),
    /// The bytes start like a chunked body but stop early; the chunks read so far.
    Cut(Vec<u8>),
    /// Not chunked.
    No,
}

/// Decodes the chunked transfer coding when the bytes follow it. Chunk
/// extensions are skipped; the trailer section is read up to its empty line and
/// anything after it is left to the caller.
pub fn dechunk(raw: &[u8]) -> Dechunked {
    let join = |spans: &[std::ops::Range<usize>]| {
        let mut out = Vec::with_capacity(spans.iter().map(|r| r.len()).sum());
        for span in spans {
            out.extend_from_slice(&raw[span.clone()]);
        }
        out
    };
    match chunk_spans(raw) {
        ChunkSpans::Complete(spans, end) => Dechunked::Complete(join(&spans), end),
        ChunkSpans::Cut(spans) => Dechunked::Cut(join(&spans)),
        ChunkSpans::No => Dechunked::No,
    }
}

/// Where the data of a chunked body lies in its raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkSpans {
    /// A complete chunked body: its data ranges, and the bytes it took with its
    /// trailer section.
    Complete(Vec<std::ops::Range<usize>>, usize),
    /// The bytes start like a chunked body but stop early: the ranges so far.
    Cut(Vec<std::ops::Range<usize>>),
    /// Not chunked.
    No,
}

/// The data ranges of a body in the chunked transfer coding (RFC 9112 §7.1), so
/// that a writer can change chunk data in place; [`dechunk`] joins them.
pub fn chunk_spans(raw: &[u8]) -> ChunkSpans {
    let mut spans = Vec::new();
    let mut pos = 0usize;
    loop {
        let Some((size, next)) = chunk_size(raw, pos) else {
            return cut_or_no(spans);
        };
        pos = next;
        if size == 0 {
            return ChunkSpans::Complete(spans, pos + trailer_len(&raw[pos..]));
        }
        let end = pos.saturating_add(size);
        if end > raw.len() {
            spans.push(pos..raw.len());
            return ChunkSpans::Cut(spans);
        }
        spans.push(pos..end);
        pos = end;
        match line_end(&raw[pos..]) {
            Some(n) => pos += n,
            None if pos == raw.len() => return ChunkSpans::Cut(spans),
            None => return ChunkSpans::No,
        }
    }
}

/// `chunk-size [ chunk-ext ] CRLF` at `pos`: the size and where its data starts.
fn chunk_size(raw: &[u8], pos: usize) -> Option<(usize, usize)> {
    let nl = memchr::memchr(b'\n', &raw[pos..])?;
    let line = &raw[pos..pos + nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let size_part = line.split(|&b| b == b';').next().unwrap_or(b"");
    let size_text = std::str::from_utf8(size_part).ok()?.trim();
    if size_text.is_empty()
        || size_text.len() > 15
        || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let size = usize::from_str_radix(size_text, 16).ok()?;
    Some((size, pos + nl + 1))
}

/// The length of a CRLF or LF at the start of `b`.
fn line_end(b: &[u8]) -> Option<usize> {
    if b.starts_with(b"\r\n") {
        Some(2)
    } else if b.starts_with(b"\n") {
        Some(1)
    } else {
        None
    }
}

/// The length of a trailer section (RFC 9112 §7.1.2): field lines up to an empty
/// line; all that is there when the empty line never comes.
fn trailer_len(b: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &b[pos..]) {
        let line = &b[pos..pos + nl];
        pos += nl + 1;
        if line.is_empty() || line == b"\r" {
            return pos;
        }
    }
    b.len()
}

fn cut_or_no(spans: Vec<std::ops::Range<usize>>) -> ChunkSpans {
    if spans.is_empty() {
        ChunkSpans::No
    } else {
        ChunkSpans::Cut(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies() {
        let raw = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        assert_eq!(
            dechunk(raw),
            Dechunked::Complete(b"hello world".to_vec(), raw.len() - 4)
        );
        assert_eq!(
            dechunk(b"3\nabc\n0\n\n"),
            Dechunked::Complete(b"abc".to_vec(), 9)
        );
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n wo"),
            Dechunked::Cut(b"hello wo".to_vec())
        );
        assert_eq!(dechunk(b"{\"a\":1}"), Dechunked::No);
        // `abc` is a hex size (2748) whose data runs past the end.
        assert_eq!(
            dechunk(b"abc\r\nnot chunked"),
            Dechunked::Cut(b"not chunked".to_vec())
        );
        assert_eq!(dechunk(b"5\r\nhelloXX"), Dechunked::No);
    }

    #[test]
    fn heads_and_start_lines() {
        let (head, body) = split_head(b"POST /t HTTP/1.1\nHost: h\n  folded\nX:\n\nbody");
        assert_eq!(body, b"body");
        let (start, fields) = parse_head(head);
        assert_eq!(start, "POST /t HTTP/1.1");
        assert_eq!(
            fields,
            [
                ("Host".into(), "h folded".into()),
                ("X".into(), String::new())
            ]
        );
        let line = parse_request_line(&start).unwrap();
        assert_eq!(
            (line.method, line.target, line.version),
            ("POST", "/t", "HTTP/1.1")
        );
        assert_eq!(parse_request_line("CONNECT host:443").unwrap().version, "");
        assert!(parse_request_line("GET").is_none());
        let status = parse_status_line("HTTP/1.1 302 Found it").unwrap();
        assert_eq!((status.status, status.reason.as_str()), (302, "Found it"));
        assert!(parse_status_line("HTTP/1.1 20 OK").is_none());
        assert!(parse_status_line("ICY 200 OK").is_none());
    }

    #[test]
    fn framing_headers() {
        assert!(is_chunked(["gzip, chunked"].into_iter()));
        assert!(!is_chunked(["chunked, gzip"].into_iter()));
        assert_eq!(content_length(" 12, 12"), Some(12));
        assert_eq!(content_length("x"), None);
    }
}
