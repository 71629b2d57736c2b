//! One session to one [`Exchange`]: the request as Fiddler forwarded it, the
//! response as stored (or Fiddler's own error page, or a tunnel that is no
//! exchange), bodies de-chunked and decoded when the bytes say so, and times from
//! `SessionTimers`. What was worked around is counted on the reader.

use std::borrow::Cow;

use super::meta::{
    Meta, FLAG_IS_HTTPS, FLAG_REQUEST_BODY_DROPPED, FLAG_RESPONSE_BODY_DROPPED,
    FLAG_RESPONSE_GENERATED_BY_FIDDLER,
};
use super::SazReader;
use crate::http::content::{self, Outcome, MAX_DECODED};
use crate::http::message::{
    self, parse_head, parse_request_line, parse_status_line, split_head, to_headers, Dechunked,
    RequestLine, StatusLine,
};
use crate::http::{Body, Exchange, Headers, Origin, Request, Response, Timing};

/// What the stored response turned out to be.
enum Answer {
    Response(Response<'static>),
    /// Fiddler answered itself: the request never got an answer.
    Error(String),
    /// A CONNECT tunnel that was opened: no exchange of its own.
    Tunnel,
}

impl SazReader<'_> {
    /// Builds the exchange of one session, or `None` for a tunnel that is not one.
    pub(super) fn session(
        &mut self,
        number: u64,
        input: usize,
        request: &[u8],
        response: Option<&[u8]>,
        meta: Option<Meta>,
    ) -> Result<Option<Exchange<'static>>, String> {
        let (req_head, req_body) = split_head(request);
        let (line, headers) = parse_head(req_head);
        let RequestLine {
            method,
            target,
            version,
        } = parse_request_line(&line)
            .ok_or_else(|| format!("unreadable request line {:?}", truncate(&line, 80)))?;
        let headers = to_headers(headers);
        let meta = meta.unwrap_or_else(|| {
            self.counters.no_meta += 1;
            Meta::default()
        });
        let is_connect = method.eq_ignore_ascii_case("CONNECT");
        let url = url(target, is_connect, &meta, &headers);
        let req_body = self.request_body(&meta, &headers, req_body);
        let (response, error) = match self.answer(response, &meta, is_connect)? {
            Answer::Tunnel => return Ok(None),
            Answer::Response(r) => (Some(r), None),
            Answer::Error(e) => (None, Some(e)),
        };
        let timing = self.timing(&meta, response.as_ref());
        Ok(Some(Exchange {
            request: Request {
                method: Cow::Owned(method.to_string()),
                url: Cow::Owned(url),
                http_version: Cow::Owned(version.to_string()),
                headers,
                body: req_body,
                body_mime: None,
            },
            response,
            error: error.map(Cow::Owned),
            timing,
            origin: Origin {
                input,
                index: number,
            },
            connection: None,
            server_ip: meta
                .flag("x-hostip")
                .filter(|s| !s.is_empty())
                .map(|s| Cow::Owned(s.to_string())),
        }))
    }

    /// The request body, or `Omitted` when Fiddler dropped it.
    fn request_body(&mut self, meta: &Meta, headers: &Headers<'_>, raw: &[u8]) -> Body<'static> {
        if meta.bit_flags & FLAG_REQUEST_BODY_DROPPED == 0 {
            return self.body(headers, raw);
        }
        self.counters.request_dropped += 1;
        Body::Omitted {
            size: headers
                .get("content-length")
                .and_then(message::content_length)
                .unwrap_or(0),
        }
    }

    /// Reads the stored response; an unreadable status line is an error of the
    /// session.
    fn answer(
        &mut self,
        response: Option<&[u8]>,
        meta: &Meta,
        is_connect: bool,
    ) -> Result<Answer, String> {
        let Some(raw) = response.filter(|r| !r.is_empty()) else {
            return Ok(Answer::Error("no response".into()));
        };
        let (head, body) = split_head(raw);
        let (line, headers) = parse_head(head);
        let Some(StatusLine {
            version,
            status,
            reason,
        }) = parse_status_line(&line)
        else {
            return Err(format!("unreadable status line {:?}", truncate(&line, 80)));
        };
        let headers = to_headers(headers);
        let generated = meta.bit_flags & FLAG_RESPONSE_GENERATED_BY_FIDDLER != 0;
        if generated && status >= 500 && body.starts_with(b"[Fiddler]") {
            // Fiddler's own error page: the request never got an answer.
            let text = String::from_utf8_lossy(body);
            let first = text.lines().next().unwrap_or("");
            let first = first.split("<br").next().unwrap_or(first).trim();
            return Ok(Answer::Error(truncate(first, 300)));
        }
        if is_connect && (200..300).contains(&status) {
            return Ok(Answer::Tunnel);
        }
        let no_body = status == 204 || status == 304 || (100..200).contains(&status);
        let body = if meta.bit_flags & FLAG_RESPONSE_BODY_DROPPED != 0 && !no_body {
            self.counters.response_dropped += 1;
            Body::Omitted {
                size: meta
                    .flag("x-responsebodytransferlength")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            }
        } else {
            self.body(&headers, body)
        };
        Ok(Answer::Response(Response {
            status,
            reason: Cow::Owned(reason),
            http_version: Cow::Owned(version),
            headers,
            body,
            body_mime: None,
        }))
    }

    /// Start, duration and server wait from `SessionTimers`; without them the
    /// start is the response's `Date` (whole seconds) or unknown.
    fn timing(&mut self, meta: &Meta, response: Option<&Response<'_>>) -> Timing {
        let started_us = match meta.begin_request {
            Some(t) => t,
            None => response
                .and_then(|r| r.headers.get("date"))
                .and_then(http_date_us)
                .unwrap_or(0),
        };
        if meta.no_offset {
            self.counters.no_offset += 1;
        }
        let span = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        };
        Timing {
            started_us,
            duration_ms: span(meta.begin_request, meta.done_response),
            wait_ms: span(meta.server_got_request, meta.server_begin_response),
            phases: None,
        }
    }

    /// The body as stored, de-chunked when the bytes are chunked and decoded when
    /// they are still encoded (the bytes decide, not the headers).
    fn body(&mut self, headers: &Headers<'_>, raw: &[u8]) -> Body<'static> {
        if raw.is_empty() {
            return Body::Absent;
        }
        let says_chunked = headers
            .get_all("transfer-encoding")
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let bytes: Vec<u8> = match message::dechunk(raw) {
            Dechunked::Complete(b, _) => b,
            Dechunked::Cut(b) if says_chunked => {
                self.counters.chunked_cut += 1;
                b
            }
            _ => raw.to_vec(),
        };
        let codings: Vec<&str> = headers.get_all("content-encoding").collect();
        let (bytes, outcome) = content::decode(&codings.join(","), bytes, MAX_DECODED);
        match outcome {
            Outcome::Done => {}
            Outcome::Capped => self.counters.capped += 1,
            Outcome::Truncated => self.counters.truncated += 1,
            Outcome::Failed => self.counters.undecodable += 1,
            Outcome::Unsupported(coding) => {
                if !self.counters.undecoded.contains(&coding) {
                    self.counters.undecoded.push(coding);
                }
            }
        }
        Body::Bytes(Cow::Owned(bytes))
    }
}

/// The absolute URL: a CONNECT's authority, an absolute target as it is, or the
/// scheme the session flags say with the `Host` header.
fn url(target: &str, is_connect: bool, meta: &Meta, headers: &Headers<'_>) -> String {
    if is_connect {
        return format!("https://{target}");
    }
    if target.contains("://") {
        return target.to_string();
    }
    let scheme =
        if meta.bit_flags & FLAG_IS_HTTPS != 0 || meta.flag("https-client-version").is_some() {
            "https"
        } else {
            "http"
        };
    let host = headers.get("host").unwrap_or("");
    format!("{scheme}://{host}{target}")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An HTTP `Date` (IMF-fixdate, RFC 9110 §5.6.7) in µs since the epoch.
fn http_date_us(value: &str) -> Option<i64> {
    let ts = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value.trim())
        .ok()?;
    Some(ts.as_microsecond())
}
