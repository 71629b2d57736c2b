//! The request and response of a step as they were recorded (headers, and
//! form or JSON bodies), kept so a report can show every request one click
//! away. Values are kept as recorded, secrets included: redacting them is the
//! reports' job, like every other string of a [`Step`](super::Step).
//!
//! Bounded: a header value or body larger than the caps below is not kept
//! (only its size is); HTML, scripts and binary bodies are never kept, nor the
//! response bodies of hosts that are not identity services (an app's API can
//! answer thousands of large JSON documents), so what a trace adds per
//! exchange stays small next to what the exchange itself was. Bodies are cut by the report only
//! after redaction, so a secret is never split into a part the scanners miss.

use crate::http::{Body, Exchange, Headers, Phases};

/// Largest header value kept.
const MAX_HEADER: usize = 8 << 10;
/// Most headers kept per message.
const MAX_HEADERS: usize = 100;
/// Largest form or JSON body kept.
const MAX_BODY: usize = 64 << 10;

/// A recorded body: its media type and text, or why it is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyText {
    /// A form or JSON body (`mime` as recorded, possibly empty).
    Kept { mime: String, text: String },
    /// A body of this many bytes that is not kept (too large, HTML, binary).
    NotKept { bytes: u64, mime: String },
}

/// The recorded request and response of one exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<BodyText>,
    /// The response's reason phrase (`Found`), empty when not recorded.
    pub reason: String,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<BodyText>,
    /// The finer timing phases (HAR `timings`), when the trace has them.
    pub phases: Option<Phases>,
}

/// What a report may show of `ex`; `identity_host` says whether its response
/// body may be kept.
pub fn of(ex: &Exchange<'_>, identity_host: bool) -> Detail {
    let req = &ex.request;
    let mut d = Detail {
        request_headers: headers(&req.headers),
        request_body: body(&req.body, req.body_mime.as_deref(), &req.headers),
        phases: ex.timing.phases,
        ..Detail::default()
    };
    if let Some(resp) = &ex.response {
        d.reason = resp.reason.chars().take(200).collect();
        d.response_headers = headers(&resp.headers);
        d.response_body = if identity_host {
            body(&resp.body, resp.body_mime.as_deref(), &resp.headers)
        } else {
            let bytes = recorded_len(&resp.body);
            (bytes > 0).then(|| BodyText::NotKept {
                bytes,
                mime: mime_of(resp.body_mime.as_deref(), &resp.headers),
            })
        };
    }
    d
}

fn headers(h: &Headers<'_>) -> Vec<(String, String)> {
    h.0.iter()
        .take(MAX_HEADERS)
        .map(|h| {
            let value = if h.value.len() <= MAX_HEADER {
                h.value.to_string()
            } else {
                format!("({} bytes, not kept)", h.value.len())
            };
            (h.name.to_string(), value)
        })
        .collect()
}

/// Bytes the body holds as recorded (a HAR string literal counts escaped).
fn recorded_len(b: &Body<'_>) -> u64 {
    match b {
        Body::Absent => 0,
        Body::Omitted { size } => *size,
        Body::Bytes(b) => b.len() as u64,
        Body::JsonText { literal, .. } => literal.len() as u64,
    }
}

fn body(b: &Body<'_>, mime: Option<&str>, h: &Headers<'_>) -> Option<BodyText> {
    let len = recorded_len(b);
    if len == 0 {
        return None;
    }
    let mime = mime_of(mime, h);
    let not_kept = || BodyText::NotKept {
        bytes: len,
        mime: mime.clone(),
    };
    if b.is_omitted() || len > MAX_BODY as u64 {
        return Some(not_kept());
    }
    let Ok(text) = b.text() else {
        return Some(not_kept());
    };
    let lower = mime.to_ascii_lowercase();
    let start = text.trim_start();
    let shown = lower.contains("json")
        || lower.contains("x-www-form-urlencoded")
        || ((lower.is_empty() || lower.starts_with("text/plain"))
            && (start.starts_with('{') || start.starts_with('[') || looks_like_form(start)));
    if !shown {
        return Some(not_kept());
    }
    Some(BodyText::Kept {
        mime: mime.clone(),
        text: text.into_owned(),
    })
}

/// The media type as recorded (the container's, else `Content-Type`), short.
fn mime_of(mime: Option<&str>, h: &Headers<'_>) -> String {
    mime.or_else(|| h.get("content-type"))
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// `a=b&c=d` without spaces or markup.
fn looks_like_form(text: &str) -> bool {
    text.contains('=') && !text.contains(char::is_whitespace) && !text.contains('<')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Header, Request, Response};
    use std::borrow::Cow;

    #[test]
    fn keeps_forms_and_json_not_html() {
        let ex = Exchange {
            request: Request {
                method: "POST".into(),
                url: "https://login.example/x".into(),
                headers: Headers(vec![Header::new(
                    "Content-Type",
                    "application/x-www-form-urlencoded",
                )]),
                body: Body::Bytes(Cow::Borrowed(b"login=a&passwd=b")),
                ..Request::default()
            },
            response: Some(Response {
                status: 200,
                headers: Headers(vec![Header::new("Content-Type", "text/html")]),
                body: Body::Bytes(Cow::Borrowed(b"<html></html>")),
                ..Response::default()
            }),
            ..Exchange::default()
        };
        let d = of(&ex, true);
        assert!(
            matches!(&d.request_body, Some(BodyText::Kept { text, .. }) if text == "login=a&passwd=b")
        );
        assert!(matches!(
            d.response_body,
            Some(BodyText::NotKept { bytes: 13, .. })
        ));
        assert_eq!(d.request_headers.len(), 1);
    }
}
