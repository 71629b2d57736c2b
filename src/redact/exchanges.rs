//! Any trace written as a HAR of its exchanges (`redact --to har`; the only way
//! for captures whose HTTP was decrypted from TLS), which the HAR rewriter then
//! redacts. The copy keeps every request and response aadtrace read, with
//! headers, bodies (text, or base64 for binary) and timings.

use std::io::{Read, Write};

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
        let (har, _) = to_har(input.raw(), input.keys())?;
        har::learn_reader(har.reader(), masker)
    }

    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        // The capture reader inflates a gzip'd capture as it reads it.
        let (har, _) = to_har(input.raw(), input.keys())?;
        har::rewrite_reader(har.reader(), out, masker)
    }

    fn output_format(&self, _input: Format) -> Format {
        Format::Har
    }
}

/// The exchanges of a trace as the text of a HAR, in three parts so that no
/// part is copied into another: the entries are written as they are read (one
/// entry's JSON value at a time, never the whole document's), and the log's
/// head, which names the reader's warnings, is made once they are known.
/// Together the parts are exactly `serde_json::to_vec_pretty` of the document.
pub struct HarText {
    head: Vec<u8>,
    entries: Vec<u8>,
    tail: Vec<u8>,
}

impl HarText {
    /// The whole text, read part after part.
    pub fn reader(&self) -> impl Read + '_ {
        (&self.head[..])
            .chain(&self.entries[..])
            .chain(&self.tail[..])
    }

    /// The whole text in one buffer (tests, small traces).
    pub fn to_vec(&self) -> Vec<u8> {
        [&self.head[..], &self.entries, &self.tail].concat()
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
#[derive(Default)]
struct EntryWriter {
    text: Vec<u8>,
    count: usize,
}

impl EntryWriter {
    /// Sized once for the HAR text of a trace of `input`'s size, about as large
    /// as a cleartext capture: doubling a vector of hundreds of megabytes held
    /// the old and the new buffer at once, a third of `redact`'s peak memory
    /// on a 450 MB capture.
    fn sized_for(input: &[u8]) -> Self {
        EntryWriter {
            text: Vec::with_capacity(input.len() + input.len() / 8),
            count: 0,
        }
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
            return HarText {
                head: empty,
                entries: Vec::new(),
                tail: Vec::new(),
            };
        };
        let open = at + EMPTY_ENTRIES.len() - 1;
        let mut tail = b"\n    ".to_vec();
        tail.extend_from_slice(&empty[open..]);
        let mut head = empty;
        head.truncate(open);
        HarText {
            head,
            entries: self.text,
            tail,
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
            let mut read = Vec::new();
            text.reader().read_to_end(&mut read).unwrap();
            assert_eq!(read, whole, "{n} entries, read");
        }
    }
}
