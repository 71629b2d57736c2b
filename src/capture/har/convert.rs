//! Turning one parsed HAR entry into an [`Exchange`] (spec §"entries",
//! §"request", §"response", §"content", §"postData", §"timings"), counting on the
//! way what the reader warns about at the end (bodies the exporter left out,
//! times without a zone or unreadable, whether any cookie was kept).

use std::borrow::Cow;

use super::reader::HarReader;
use super::schema::{Content, Entry, HarHeader, HarRequest, HarResponse, Literal, Param, Str};
use crate::http::{Body, Exchange, Header, Headers, Origin, Phases, Request, Response, Timing};

impl HarReader<'_> {
    /// Turns a parsed entry into an [`Exchange`], or says why it cannot.
    pub(super) fn convert<'a>(
        &mut self,
        index: u64,
        entry: Entry<'a>,
    ) -> Result<Exchange<'a>, String> {
        let req = entry.request.ok_or("\"request\" is missing")?;
        let (request, mut sensitive) = request(req)?;
        let mut error = entry
            .error
            .or(entry.failure_text)
            .map(|s| s.0)
            .filter(|s| !s.is_empty());
        let response = match entry.response {
            Some(resp) => Some(self.response(resp, &mut error, &mut sensitive)?),
            None => None,
        };
        if error.is_none() && response.as_ref().is_none_or(|r| r.status == 0) {
            error = Some(Cow::Borrowed("no response"));
        }
        self.sensitive_seen |= sensitive;
        let timing = Timing {
            started_us: self.started_us(entry.started.as_ref()),
            duration_ms: entry.time.filter(|t| *t >= 0.0 && t.is_finite()),
            wait_ms: entry
                .timings
                .as_ref()
                .and_then(|t| t.wait)
                .filter(|t| *t >= 0.0 && t.is_finite()),
            phases: entry
                .timings
                .as_ref()
                .and_then(|t| Phases::from_har(t.values())),
        };
        Ok(Exchange {
            request,
            response,
            error,
            timing,
            origin: Origin {
                input: self.input,
                index,
            },
            connection: None,
            server_ip: entry.server_ip.map(|s| s.0).filter(|s| !s.is_empty()),
        })
    }

    /// The response; its own error text when the entry had none, and whether it
    /// carried cookies or credentials (added to `sensitive`).
    fn response<'a>(
        &mut self,
        resp: HarResponse<'a>,
        error: &mut Option<Cow<'a, str>>,
        sensitive: &mut bool,
    ) -> Result<Response<'a>, String> {
        let status = match resp.status {
            Some(s) if (0.0..=999.0).contains(&s) => s as u16,
            // Some exporters write -1 for "no response".
            Some(s) if s < 0.0 => 0,
            Some(s) => return Err(format!("response.status {s} is not an HTTP status")),
            None => 0,
        };
        let headers = to_headers(resp.headers);
        *sensitive |= resp.cookies.0 > 0
            || headers.contains("set-cookie")
            || headers.contains("authorization");
        let (body, body_mime) = match resp.content {
            Some(c) => self.response_body(c, status)?,
            None => (Body::Absent, None),
        };
        if error.is_none() {
            *error = resp
                .error
                .or(resp.failure_text)
                .map(|s| s.0)
                .filter(|s| !s.is_empty());
        }
        Ok(Response {
            status,
            reason: resp.status_text.map(|s| s.0).unwrap_or_default(),
            http_version: normalise_version(resp.http_version),
            headers,
            body,
            body_mime,
        })
    }

    /// `content`: the text as its JSON literal, or only a size when the exporter
    /// left the body out (counted unless the status has no body anyway).
    fn response_body<'a>(
        &mut self,
        c: Content<'a>,
        status: u16,
    ) -> Result<(Body<'a>, Option<Cow<'a, str>>), String> {
        let size = c.size.filter(|s| *s > 0.0).map(|s| s as u64);
        let body = match text_body(c.text, "response.content.text")? {
            Some(literal) => Body::JsonText {
                literal,
                base64: c
                    .encoding
                    .is_some_and(|e| e.0.eq_ignore_ascii_case("base64")),
            },
            None => match size {
                Some(size) => {
                    let no_body_expected =
                        status == 204 || status == 304 || (300..400).contains(&status);
                    if !no_body_expected {
                        self.missing_body += 1;
                    }
                    Body::Omitted { size }
                }
                None => Body::Absent,
            },
        };
        Ok((body, non_empty(c.mime_type)))
    }

    /// `startedDateTime` in µs; 0 (and counted) when unreadable, counted when it
    /// has no zone.
    fn started_us(&mut self, started: Option<&Str<'_>>) -> i64 {
        match started.map(|s| parse_time(&s.0)) {
            Some(Some((us, had_offset))) => {
                if !had_offset {
                    self.no_offset += 1;
                }
                us
            }
            _ => {
                self.bad_time += 1;
                0
            }
        }
    }
}

/// The request, and whether it carried cookies or credentials.
fn request(req: HarRequest<'_>) -> Result<(Request<'_>, bool), String> {
    let method = req.method.ok_or("\"request.method\" is missing")?.0;
    let url = req.url.ok_or("\"request.url\" is missing")?.0;
    let headers = to_headers(req.headers);
    let url = absolute_url(url, &headers);
    let sensitive =
        req.cookies.0 > 0 || headers.contains("cookie") || headers.contains("authorization");
    let (body, body_mime) = match req.post_data {
        Some(pd) => (post_body(pd.text, pd.params)?, non_empty(pd.mime_type)),
        None => (Body::Absent, None),
    };
    let request = Request {
        method,
        url,
        http_version: normalise_version(req.http_version),
        headers,
        body,
        body_mime,
    };
    Ok((request, sensitive))
}

fn to_headers(list: Option<Vec<HarHeader<'_>>>) -> Headers<'_> {
    Headers(
        list.unwrap_or_default()
            .into_iter()
            .map(|h| Header {
                name: h.name.0,
                value: h.value.0,
            })
            .collect(),
    )
}

fn non_empty(s: Option<Str<'_>>) -> Option<Cow<'_, str>> {
    s.map(|s| s.0).filter(|s| !s.trim().is_empty())
}

/// A body text field kept as its JSON literal; `None` for absent, `null` or `""`.
fn text_body<'a>(text: Option<Literal<'a>>, field: &str) -> Result<Option<Cow<'a, str>>, String> {
    let Some(Literal(literal)) = text else {
        return Ok(None);
    };
    if literal == "null" || literal == "\"\"" {
        return Ok(None);
    }
    if !literal.starts_with('"') {
        return Err(format!("\"{field}\" is not a string"));
    }
    Ok(Some(Cow::Borrowed(literal)))
}

/// Request body from `postData`: `text` when present, otherwise `params` re-encoded
/// as `application/x-www-form-urlencoded`.
fn post_body<'a>(
    text: Option<Literal<'a>>,
    params: Option<Vec<Param<'a>>>,
) -> Result<Body<'a>, String> {
    if let Some(literal) = text_body(text, "request.postData.text")? {
        return Ok(Body::JsonText {
            literal,
            base64: false,
        });
    }
    match params {
        Some(params) if !params.is_empty() => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for p in &params {
                form.append_pair(&p.name.0, &p.value.0);
            }
            Ok(Body::Bytes(Cow::Owned(form.finish().into_bytes())))
        }
        _ => Ok(Body::Absent),
    }
}

/// `h2`, `http/2.0` → `HTTP/2`; `h3` → `HTTP/3`; others as written.
fn normalise_version(v: Option<Str<'_>>) -> Cow<'_, str> {
    let v = v.map(|s| s.0).unwrap_or_default();
    let t = v.trim();
    if t.eq_ignore_ascii_case("h2")
        || t.eq_ignore_ascii_case("http/2.0")
        || t.eq_ignore_ascii_case("http/2")
    {
        Cow::Borrowed("HTTP/2")
    } else if t.eq_ignore_ascii_case("h3")
        || t.eq_ignore_ascii_case("http/3.0")
        || t.eq_ignore_ascii_case("http/3")
    {
        Cow::Borrowed("HTTP/3")
    } else {
        v
    }
}

/// Rebuilds an absolute URL from HTTP/2 pseudo-headers when `request.url` has no
/// scheme (some exporters write only the path).
fn absolute_url<'a>(url: Cow<'a, str>, headers: &Headers<'_>) -> Cow<'a, str> {
    if url.contains("://") {
        return url;
    }
    let Some(authority) = headers.get(":authority").or_else(|| headers.get("host")) else {
        return url;
    };
    let scheme = headers.get(":scheme").unwrap_or("https");
    let path: &str = if url.is_empty() {
        headers.get(":path").unwrap_or("/")
    } else {
        &url
    };
    let slash = if path.starts_with('/') { "" } else { "/" };
    Cow::Owned(format!("{scheme}://{authority}{slash}{path}"))
}

/// `startedDateTime` (ISO 8601) → (µs since the epoch, had an offset).
pub(super) fn parse_time(s: &str) -> Option<(i64, bool)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some((ts.as_microsecond(), true));
    }
    let dt = s.parse::<jiff::civil::DateTime>().ok()?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some((ts.as_microsecond(), false))
}
