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
    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        // The capture reader inflates a gzip'd capture as it reads it.
        let (har, _) = to_har(input.raw(), input.keys())?;
        har::rewrite_bytes(&har, out, masker)
    }

    fn output_format(&self, _input: Format) -> Format {
        Format::Har
    }
}

/// The exchanges of `input` (any readable format, TLS decrypted with `keys`) as
/// HAR bytes, and what the reader learned.
pub fn to_har(
    input: &[u8],
    keys: Option<Arc<KeyLog>>,
) -> Result<(Vec<u8>, InputSummary), RewriteError> {
    let mut entries = Vec::new();
    let (format, summary) = capture::read_bytes(
        input,
        &capture::ReadCtx::new("input").keys(keys),
        &mut |ex| entries.push(entry(&ex)),
    )
    .map_err(|e| RewriteError::Malformed(e.to_string()))?;
    let doc = json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "aadtrace", "version": env!("CARGO_PKG_VERSION"),
                        "comment": format!("exchanges of a {format} trace, redacted")},
            "comment": summary.warnings.iter().map(|w| format!("{}: {}", w.code, w.message)).collect::<Vec<_>>().join("; "),
            "entries": entries,
        }
    });
    let har =
        serde_json::to_vec_pretty(&doc).map_err(|e| RewriteError::Malformed(e.to_string()))?;
    Ok((har, summary))
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
