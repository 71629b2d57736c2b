//! Any trace written as a HAR of its exchanges (`redact --to har`; the only way
//! for captures whose HTTP was decrypted from TLS), which the HAR rewriter then
//! redacts. The copy keeps every request and response aadtrace read, with
//! headers, bodies (text, or base64 for binary) and timings.

use std::io::Write;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::har::{self, RewriteError};
use super::{Input, Masker, TraceRewriter, Written};
use std::sync::Arc;

use crate::capture::keylog::KeyLog;
use crate::capture::{self, Format, InputSummary};
use crate::http::{Body, Exchange, Headers};

/// The `--to har` rewriter: exchanges → HAR → redacted HAR.
pub struct AsHar;

impl TraceRewriter for AsHar {
    /// Learns without printing the HAR's entries.
    fn learn(&self, input: &Input, masker: &mut Masker) -> Result<(), RewriteError> {
        let har = har_of(input)?;
        har::rewrite_bytes_to(har.as_bytes(), &har.passes_guard, None, masker).map(|_| ())
    }

    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        let har = har_of(input)?;
        har::rewrite_bytes_to(har.as_bytes(), &har.passes_guard, Some(out), masker)
    }

    fn output_format(&self, _input: Format) -> Format {
        Format::Har
    }
}

/// The HAR of `input`'s exchanges, made once for both passes and kept on the
/// input: reading a large capture again (decrypting it, putting its messages
/// together) took as long as a pass of masking. The capture reader inflates a
/// gzip'd capture as it reads it.
fn har_of(input: &Input) -> Result<&HarText, RewriteError> {
    if let Some(har) = input.har_text.get() {
        return Ok(har);
    }
    let (har, _) = to_har(input.raw(), input.keys())?;
    Ok(input.har_text.get_or_init(|| har))
}

/// The exchanges of a trace as the text of a HAR, in one buffer written once:
/// the entries are written as they are read (one entry's JSON value at a time,
/// never the whole document's) after room kept for the log's head, which names
/// the reader's warnings and is written into that room once they are known.
/// The text is exactly `serde_json::to_vec_pretty` of the document, and one
/// slice, so the redactor reads it as it reads a HAR file.
pub struct HarText {
    buffer: Vec<u8>,
    /// Where the text starts in `buffer` (the head's room is not all used).
    start: usize,
    /// Whether the entry guard passes the text unchanged, once a pass asked.
    passes_guard: std::sync::OnceLock<bool>,
}

impl HarText {
    fn new(buffer: Vec<u8>, start: usize) -> Self {
        HarText {
            buffer,
            start,
            passes_guard: std::sync::OnceLock::new(),
        }
    }

    /// The whole text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// The whole text in a buffer of its own (tests, small traces).
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

/// The exchanges of `input` (any readable format, TLS decrypted with `keys`) as
/// HAR text, and what the reader learned.
pub fn to_har(
    input: &[u8],
    keys: Option<Arc<KeyLog>>,
) -> Result<(HarText, InputSummary), RewriteError> {
    let mut entries = EntryWriter::sized_for(input);
    let (format, summary) = capture::read_bytes(
        input,
        &capture::ReadCtx::new("input").keys(keys),
        &mut |ex| entries.push(&entry(&ex)),
    )
    .map_err(|e| RewriteError::Malformed(e.to_string()))?;
    let doc = json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "aadtrace", "version": env!("CARGO_PKG_VERSION"),
                        "comment": format!("exchanges of a {format} trace, redacted")},
            "comment": summary.warnings.iter().map(|w| format!("{}: {}", w.code, w.message)).collect::<Vec<_>>().join("; "),
            "entries": [],
        }
    });
    let empty =
        serde_json::to_vec_pretty(&doc).map_err(|e| RewriteError::Malformed(e.to_string()))?;
    Ok((entries.around(empty), summary))
}

/// Where a HAR's entries sit in the pretty-printed document: the elements of
/// `log.entries`, three levels deep.
const ENTRY_INDENT: &[u8] = b"      ";
const EMPTY_ENTRIES: &[u8] = b"\"entries\": []";

/// The entries array's elements as `to_vec_pretty` writes them inside the
/// document: each on a new line, indented to its depth, comma-separated.
/// Room kept before the entries for the log's head (its version, creator and
/// a comment of the reader's warnings): a head that does not fit (thousands of
/// warnings) costs one copy of the text.
const HEAD_ROOM: usize = 64 << 10;

/// The entries array's elements as `to_vec_pretty` writes them inside the
/// document, after [`HEAD_ROOM`]: each on a new line, indented to its depth,
/// comma-separated.
struct EntryWriter {
    text: Vec<u8>,
    count: usize,
}

impl Default for EntryWriter {
    fn default() -> Self {
        EntryWriter::with_capacity(0)
    }
}

impl EntryWriter {
    fn with_capacity(entries: usize) -> Self {
        let mut text = Vec::with_capacity(HEAD_ROOM + entries + 64);
        text.resize(HEAD_ROOM, 0);
        EntryWriter { text, count: 0 }
    }

    /// Sized once for the HAR text of a trace of `input`'s size, about as large
    /// as a cleartext capture: doubling a vector of hundreds of megabytes held
    /// the old and the new buffer at once, a third of `redact`'s peak memory
    /// on a 450 MB capture.
    fn sized_for(input: &[u8]) -> Self {
        EntryWriter::with_capacity(input.len() + input.len() / 8)
    }

    fn push(&mut self, entry: &Value) {
        self.text
            .extend_from_slice(if self.count == 0 { b"\n" } else { b",\n" });
        self.text.extend_from_slice(ENTRY_INDENT);
        // Strings are escaped, so every newline of the value starts a line.
        let _ = serde_json::to_writer_pretty(Indented(&mut self.text), entry);
        self.count += 1;
    }

    /// The whole document: `empty`, the document with no entries (its
    /// `"entries": []` the last member of the log), around these entries.
    fn around(self, empty: Vec<u8>) -> HarText {
        let at = memchr::memmem::rfind(&empty, EMPTY_ENTRIES).filter(|_| self.count > 0);
        let Some(at) = at else {
            return HarText::new(empty, 0);
        };
        let open = at + EMPTY_ENTRIES.len() - 1;
        let (head, close) = empty.split_at(open);
        let mut buffer = self.text;
        buffer.extend_from_slice(b"\n    ");
        buffer.extend_from_slice(close);
        match HEAD_ROOM.checked_sub(head.len()) {
            Some(start) => {
                buffer[start..HEAD_ROOM].copy_from_slice(head);
                HarText::new(buffer, start)
            }
            None => HarText::new([head, &buffer[HEAD_ROOM..]].concat(), 0),
        }
    }
}

/// Writes into a buffer, indenting every line after the first by [`ENTRY_INDENT`].
struct Indented<'a>(&'a mut Vec<u8>);

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            self.0.extend_from_slice(&rest[..=nl]);
            self.0.extend_from_slice(ENTRY_INDENT);
            rest = &rest[nl + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn entry(ex: &Exchange<'_>) -> Value {
    let started = jiff::Timestamp::from_microsecond(ex.timing.started_us)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default();
    let mut e = Map::new();
    e.insert("startedDateTime".into(), json!(started));
    e.insert("time".into(), json!(ex.timing.duration_ms.unwrap_or(-1.0)));
    e.insert("request".into(), request(ex));
    e.insert("response".into(), response(ex));
    e.insert("cache".into(), json!({}));
    e.insert(
        "timings".into(),
        json!({"send": 0, "wait": ex.timing.wait_ms.unwrap_or(-1.0), "receive": 0}),
    );
    if let Some(ip) = &ex.server_ip {
        e.insert("serverIPAddress".into(), json!(ip));
    }
    if let Some(err) = &ex.error {
        e.insert("_error".into(), json!(err));
    }
    e.insert(
        "_origin".into(),
        json!({"index": ex.origin.index, "connection": ex.connection}),
    );
    Value::Object(e)
}

fn headers(h: &Headers<'_>) -> Value {
    Value::Array(
        h.0.iter()
            .map(|h| json!({"name": h.name, "value": h.value}))
            .collect(),
    )
}

/// (text, is base64) of a body.
fn body_text(body: &Body<'_>) -> Option<(String, bool)> {
    let bytes = body.decode().ok()?;
    if bytes.is_empty() {
        return None;
    }
    Some(match std::str::from_utf8(&bytes) {
        Ok(t) => (t.to_string(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            true,
        ),
    })
}

fn request(ex: &Exchange<'_>) -> Value {
    let r = &ex.request;
    let mut v = json!({
        "method": r.method, "url": r.url, "httpVersion": r.http_version,
        "headers": headers(&r.headers), "queryString": [], "cookies": [],
        "headersSize": -1, "bodySize": -1,
    });
    if let Some((text, _)) = body_text(&r.body) {
        let mime = r
            .body_mime
            .as_deref()
            .or_else(|| r.headers.get("content-type"))
            .unwrap_or("");
        v["postData"] = json!({"mimeType": mime, "text": text});
    }
    v
}

fn response(ex: &Exchange<'_>) -> Value {
    let Some(r) = &ex.response else {
        return json!({"status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
                      "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": -1});
    };
    let mime = r
        .body_mime
        .as_deref()
        .or_else(|| r.headers.get("content-type"))
        .unwrap_or("");
    let mut content = json!({"size": 0, "mimeType": mime});
    if let Some((text, base64)) = body_text(&r.body) {
        content["size"] = json!(text.len());
        content["text"] = json!(text);
        if base64 {
            content["encoding"] = json!("base64");
        }
    }
    json!({
        "status": r.status, "statusText": r.reason, "httpVersion": r.http_version,
        "headers": headers(&r.headers), "cookies": [], "content": content,
        "redirectURL": r.headers.get("location").unwrap_or(""), "headersSize": -1, "bodySize": -1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document as `to_har` builds it, around `entries`.
    fn doc(entries: Vec<Value>) -> Value {
        json!({"log": {"version": "1.2", "creator": {"name": "aadtrace"},
                       "comment": "a \"entries\": [] look-alike\nin a string", "entries": entries}})
    }

    #[test]
    fn a_head_larger_than_its_room_still_makes_the_document() {
        let entries = vec![json!({"time": 1}), json!({"time": 2})];
        let mut big = doc(Vec::new());
        big["log"]["comment"] = json!("w".repeat(HEAD_ROOM));
        let mut writer = EntryWriter::default();
        entries.iter().for_each(|e| writer.push(e));
        let text = writer.around(serde_json::to_vec_pretty(&big).unwrap());
        big["log"]["entries"] = json!(entries);
        assert_eq!(text.as_bytes(), serde_json::to_vec_pretty(&big).unwrap());
    }

    #[test]
    fn the_parts_are_the_pretty_printed_document() {
        let entries = [
            json!({"request": {"url": "https://x/?a=1", "headers": [], "postData": {"text": "line\none\r\n{\"k\": [1, 2]}"}},
                   "cache": {}, "time": 12.5, "_origin": {"index": 0, "connection": null}}),
            json!({"response": {"content": {"size": 0, "mimeType": ""}, "headers": [{"name": "a", "value": "b"}]}}),
            json!({}),
        ];
        for n in 0..=entries.len() {
            let mut writer = EntryWriter::default();
            for e in &entries[..n] {
                writer.push(e);
            }
            let text = writer.around(serde_json::to_vec_pretty(&doc(Vec::new())).unwrap());
            let whole = serde_json::to_vec_pretty(&doc(entries[..n].to_vec())).unwrap();
            assert_eq!(
                String::from_utf8(text.to_vec()).unwrap(),
                String::from_utf8(whole.clone()).unwrap(),
                "{n} entries"
            );
        }
    }
}
