//! Hops to exchanges: each `URL_REQUEST` hop becomes one [`Exchange`], with its
//! request body recovered from the sent bytes, its response body when bytes were
//! logged, its transport error by name, and its times on the wall clock. What
//! could not be filled in is counted for the warnings.

use std::collections::HashMap;

use super::params::is_stripped;
use super::sent::SentBodies;
use super::{Hop, Version};
use crate::http::message::to_headers;
use crate::http::{Body, Exchange, Origin, Request, Response, Timing};

/// Turns hops into exchanges and counts what they lack.
pub(super) struct Builder<'a> {
    pub(super) net_errors: &'a HashMap<i64, String>,
    pub(super) tick_offset_ms: f64,
    pub(super) input: usize,
    pub(super) bodies: SentBodies,
    /// Responses whose body the capture mode did not log.
    pub(super) missing_response: usize,
    /// Request bodies not found in the sent bytes.
    pub(super) missing_request: usize,
    /// Response bodies cut at `MAX_BODY`.
    pub(super) capped: usize,
    /// A header value was Chromium's "[N bytes were stripped]" placeholder.
    pub(super) stripped_seen: bool,
}

impl Builder<'_> {
    /// The exchange of hop number `n` (in start order); `open` when its request
    /// never ended in the log.
    pub(super) fn exchange(&mut self, mut hop: Hop, open: bool, n: usize) -> Exchange<'static> {
        self.stripped_seen |= hop
            .request_headers
            .iter()
            .chain(hop.response_headers.iter())
            .any(|(_, v)| is_stripped(v));
        let request_body = self.request_body(&hop);
        let response = self.response(&mut hop);
        let error = self.error(&hop, open, response.is_some());
        let wall = |ms: f64| ((ms + self.tick_offset_ms) * 1000.0).round() as i64;
        let timing = Timing {
            started_us: wall(hop.start_ms),
            duration_ms: hop
                .end_ms
                .filter(|e| *e >= hop.start_ms)
                .map(|e| e - hop.start_ms),
            wait_ms: match (hop.sent_ms, hop.headers_ms) {
                (Some(a), Some(b)) if b >= a => Some(b - a),
                _ => None,
            },
            phases: None,
        };
        Exchange {
            request: Request {
                http_version: request_version(&hop).into(),
                method: hop.method.into(),
                url: hop.url.into(),
                headers: to_headers(hop.request_headers),
                body: request_body,
                body_mime: None,
            },
            response,
            error: error.map(Into::into),
            timing,
            origin: Origin {
                input: self.input,
                index: n as u64,
            },
            connection: None,
            server_ip: None,
        }
    }

    /// A POST/PUT/PATCH or a hop that logged a body length: the body from the sent
    /// bytes, or `Omitted` with its length (counted) when they do not hold it.
    fn request_body(&mut self, hop: &Hop) -> Body<'static> {
        let length = hop.body_length.filter(|l| *l > 0);
        let needs_body =
            length.is_some() || matches!(hop.method.as_str(), "POST" | "PUT" | "PATCH");
        if !needs_body {
            return Body::Absent;
        }
        let recovered = match hop.version {
            Version::H1 => hop
                .request_line
                .as_deref()
                .and_then(|l| self.bodies.take_h1(l)),
            Version::H2 => hop.h2_stream.and_then(|k| self.bodies.take_h2(k)),
            _ => None,
        };
        match (recovered, length) {
            (Some(b), _) if !b.is_empty() => Body::Bytes(b.into()),
            (Some(_), _) | (None, None) => Body::Absent,
            (None, Some(size)) => {
                self.missing_request += 1;
                Body::Omitted { size }
            }
        }
    }

    /// The response when the hop logged its headers; the body is taken from the hop.
    fn response(&mut self, hop: &mut Hop) -> Option<Response<'static>> {
        let status = hop.status?;
        let body = if hop.bytes_logged {
            if hop.body_capped {
                self.capped += 1;
            }
            Body::Bytes(std::mem::take(&mut hop.body).into())
        } else if hop.body_count > 0 {
            let no_body_expected = status == 204 || status == 304 || (300..400).contains(&status);
            if !no_body_expected {
                self.missing_response += 1;
            }
            Body::Omitted {
                size: hop.body_count,
            }
        } else {
            Body::Absent
        };
        Some(Response {
            status,
            reason: hop.reason.clone().into(),
            http_version: match hop.version {
                Version::H2 => "HTTP/2".into(),
                Version::H3 => "HTTP/3".into(),
                _ => hop.response_version.clone().into(),
            },
            headers: to_headers(std::mem::take(&mut hop.response_headers)),
            body,
            body_mime: None,
        })
    }

    /// The hop's `net_error` by name (0 is OK, -3 is `ERR_IO_PENDING`), or why
    /// there is no response.
    fn error(&self, hop: &Hop, open: bool, has_response: bool) -> Option<String> {
        match hop.net_error.filter(|e| *e != 0 && *e != -3) {
            Some(code) => Some(match self.net_errors.get(&code) {
                Some(name) => format!("net::{name}"),
                None => format!("net error {code}"),
            }),
            None if !has_response && open => {
                Some("no response before the NetLog ended".to_string())
            }
            None if !has_response => Some("no response".to_string()),
            None => None,
        }
    }
}

/// The request's HTTP version: from the HTTP/1.1 request line, or the protocol of
/// the headers event.
fn request_version(hop: &Hop) -> String {
    match hop.version {
        Version::H1 => hop
            .request_line
            .as_deref()
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or("HTTP/1.1")
            .to_string(),
        Version::H2 => "HTTP/2".to_string(),
        Version::H3 => "HTTP/3".to_string(),
        Version::Unknown => String::new(),
    }
}
