//! ETW event records inside Network Monitor captures (per-frame media type `0xFFE0`),
//! and the HTTP that the WinINet capture provider logs in them.
//!
//! # Frame layout (little-endian)
//!
//! Worked out from the AD FS sample captures (`MS-ADFSOD_Example1/2`, NetMon 2.3) and
//! the public `EVENT_HEADER` / `ETW_BUFFER_CONTEXT` definitions of the Windows SDK
//! (`evntcons.h`, `evntrace.h`, documented on learn.microsoft.com):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 80 | `EVENT_HEADER`: u16 size, u16 header type, u16 flags, u16 event property, u32 thread id, u32 process id, i64 timestamp (FILETIME), GUID provider id (16, mixed-endian), `EVENT_DESCRIPTOR` (u16 id, u8 version, u8 channel, u8 level, u8 opcode, u16 task, u64 keyword), u32 kernel time + u32 user time, GUID activity id |
//! | 80 | 4 | `ETW_BUFFER_CONTEXT`: u8 processor, u8 alignment, u16 logger id |
//! | 84 | 2 | extended data item count (0 in every frame seen) |
//! | 86 | 2 | user data length `n` |
//! | 88 | … | one byte (0 in every frame seen), then extended data items if any |
//! | end − n | n | the event's user data |
//!
//! The user data is therefore taken as the last `n` bytes of the frame.
//!
//! # Microsoft-Windows-WinINet-Capture
//!
//! Provider `{A70FF94F-570B-4979-BA5C-E59C9FEAB61B}` logs what WinINet (Internet
//! Explorer, Edge legacy, Office, many Windows clients) sends and receives, before
//! TLS: event 2001 request headers, 2002 request body, 2003 response headers, 2004
//! response body. Their user data (from the same captures) is:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | request id: every event of one request carries it |
//! | 4 | 4 | chunk number within this event kind, from 0 |
//! | 8 | 4 | flags: bit 0 first chunk, bit 1 last chunk (3 = all in one) |
//! | 12 | 4 | payload length |
//! | 16 | … | payload: raw HTTP/1.1 head text, or body bytes |
//!
//! Request ids are unique within a process (the `EVENT_HEADER` process id), so a
//! request is keyed by both. An exchange is complete at the last chunk of its
//! response body (2004 with bit 1); a trailing "last chunk" of a request body that
//! comes after that is ignored. Requests still open at the end of the capture become
//! exchanges without (or with a partial) response.
//!
//! WinINet logs the plaintext whatever the transport, and the events do not name the
//! scheme: a request's URL takes the scheme of its `Origin` or `Referer` header when
//! that names the same host, else `https` (the reason to use this provider is that the
//! wire is encrypted).

use std::borrow::Cow;
use std::collections::HashMap;

use crate::http::{content, message};
use crate::http::{Body, Exchange, Origin, Request, Response, Timing};

/// `{A70FF94F-570B-4979-BA5C-E59C9FEAB61B}` in its in-memory (mixed-endian) form.
pub const WININET_CAPTURE: [u8; 16] = [
    0x4f, 0xf9, 0x0f, 0xa7, 0x0b, 0x57, 0x79, 0x49, 0xba, 0x5c, 0xe5, 0x9c, 0x9f, 0xea, 0xb6, 0x1b,
];

const HEADER_LEN: usize = 88;
/// Cap on the bytes kept per request (heads and bodies together).
const MAX_REQUEST_BYTES: usize = 32 << 20;
/// Cap on requests waiting for their response.
const MAX_OPEN: usize = 4096;

/// One ETW event, borrowed from its frame.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    pub thread_id: u32,
    pub process_id: u32,
    pub provider: [u8; 16],
    pub event_id: u16,
    pub user_data: &'a [u8],
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Parses the event header of a `0xFFE0` frame; `None` when it is too short or its
/// user data length does not fit.
pub fn parse_event(frame: &[u8]) -> Option<EventRecord<'_>> {
    if frame.len() < HEADER_LEN {
        return None;
    }
    let n = u16_at(frame, 86) as usize;
    if n > frame.len() - HEADER_LEN {
        return None;
    }
    let mut provider = [0u8; 16];
    provider.copy_from_slice(&frame[24..40]);
    Some(EventRecord {
        thread_id: u32_at(frame, 8),
        process_id: u32_at(frame, 12),
        provider,
        event_id: u16_at(frame, 40),
        user_data: &frame[frame.len() - n..],
    })
}

#[derive(Debug, Default)]
struct Pending {
    req_head: Vec<u8>,
    req_body: Vec<u8>,
    resp_head: Vec<u8>,
    resp_body: Vec<u8>,
    frame: u64,
    started_us: i64,
    req_last_us: i64,
    resp_first_us: Option<i64>,
    resp_last_us: i64,
    truncated: bool,
}

impl Pending {
    fn size(&self) -> usize {
        self.req_head.len() + self.req_body.len() + self.resp_head.len() + self.resp_body.len()
    }
}

/// Turns WinINet-Capture events into exchanges.
#[derive(Debug, Default)]
pub struct WinInetCapture {
    open: HashMap<(u32, u32), Pending>,
    /// WinINet-Capture events read.
    pub events: u64,
    /// Events that belong to no known request or were malformed.
    pub stray: u64,
}

impl WinInetCapture {
    pub fn new() -> Self {
        Self::default()
    }

    /// True for the events this type reads.
    pub fn wants(ev: &EventRecord<'_>) -> bool {
        ev.provider == WININET_CAPTURE && (2001..=2004).contains(&ev.event_id)
    }

    /// Feeds one event (from frame `frame` at `ts_us`); returns the exchange it
    /// completed, if any.
    pub fn event(
        &mut self,
        ev: &EventRecord<'_>,
        frame: u64,
        ts_us: i64,
        input: usize,
    ) -> Option<Exchange<'static>> {
        let u = ev.user_data;
        if u.len() < 16 {
            self.stray += 1;
            return None;
        }
        self.events += 1;
        let key = (ev.process_id, u32_at(u, 0));
        let flags = u32_at(u, 8);
        let len = (u32_at(u, 12) as usize).min(u.len() - 16);
        let payload = &u[16..16 + len];
        let first = flags & 1 != 0;
        let last = flags & 2 != 0;
        let mut done = None;
        if ev.event_id == 2001 && first {
            // A new request; an unfinished one with the same id ends here.
            if let Some(old) = self.open.remove(&key) {
                done = Some(build(old, input));
            }
            if self.open.len() >= MAX_OPEN {
                self.stray += 1;
                return done;
            }
            self.open.insert(
                key,
                Pending {
                    frame,
                    started_us: ts_us,
                    req_last_us: ts_us,
                    ..Pending::default()
                },
            );
        }
        let Some(p) = self.open.get_mut(&key) else {
            self.stray += 1;
            return done;
        };
        if p.size() + payload.len() > MAX_REQUEST_BYTES {
            p.truncated = true;
        } else {
            match ev.event_id {
                2001 => p.req_head.extend_from_slice(payload),
                2002 => p.req_body.extend_from_slice(payload),
                2003 => p.resp_head.extend_from_slice(payload),
                _ => p.resp_body.extend_from_slice(payload),
            }
        }
        match ev.event_id {
            2001 | 2002 => p.req_last_us = p.req_last_us.max(ts_us),
            _ => {
                p.resp_first_us.get_or_insert(ts_us);
                p.resp_last_us = ts_us;
            }
        }
        if ev.event_id == 2004 && last {
            if let Some(p) = self.open.remove(&key) {
                return Some(build(p, input));
            }
        }
        done
    }

    /// Requests still open at the end of the capture, oldest first.
    pub fn finish(&mut self, input: usize) -> Vec<Exchange<'static>> {
        let mut left: Vec<Pending> = self.open.drain().map(|(_, p)| p).collect();
        left.sort_by_key(|p| (p.started_us, p.frame));
        left.into_iter().map(|p| build(p, input)).collect()
    }
}

/// The scheme of `Origin` or `Referer` when it names `host`, else `https`.
fn scheme_for(host: &str, headers: &[(String, String)]) -> &'static str {
    for name in ["origin", "referer"] {
        if let Some(v) = message::field(headers, name) {
            let Some((scheme, rest)) = v.split_once("://") else {
                continue;
            };
            let h = rest.split(['/', '?', '#']).next().unwrap_or("");
            if h.eq_ignore_ascii_case(host) {
                if scheme.eq_ignore_ascii_case("http") {
                    return "http";
                }
                if scheme.eq_ignore_ascii_case("https") {
                    return "https";
                }
            }
        }
    }
    "https"
}

fn body_of(bytes: Vec<u8>, headers: &[(String, String)]) -> Body<'static> {
    if bytes.is_empty() {
        return Body::Absent;
    }
    let bytes = match message::field(headers, "content-encoding") {
        Some(e) => content::decode(e, bytes, content::MAX_DECODED).0,
        None => bytes,
    };
    Body::Bytes(Cow::Owned(bytes))
}

fn build(p: Pending, input: usize) -> Exchange<'static> {
    let (line, req_headers) = message::parse_head(&p.req_head);
    let (method, target, version) = match message::parse_request_line(&line) {
        Some(l) => (
            l.method.to_string(),
            l.target.to_string(),
            l.version.to_string(),
        ),
        None => Default::default(),
    };
    let url = if target.starts_with("http://") || target.starts_with("https://") {
        target
    } else {
        let host = message::field(&req_headers, "host")
            .unwrap_or("")
            .trim()
            .to_string();
        format!("{}://{host}{target}", scheme_for(&host, &req_headers))
    };
    let (line, resp_headers) = message::parse_head(&p.resp_head);
    let response = message::parse_status_line(&line).map(|status| {
        let body = body_of(p.resp_body, &resp_headers);
        Response {
            status: status.status,
            reason: Cow::Owned(status.reason),
            http_version: Cow::Owned(status.version),
            headers: message::to_headers(resp_headers),
            body,
            body_mime: None,
        }
    });
    let mut error = None;
    if p.truncated {
        error = Some(Cow::Borrowed("the exchange is larger than aadtrace keeps"));
    } else if response.is_none() {
        error = Some(Cow::Borrowed("no response in the capture"));
    }
    let timing = match (p.resp_first_us, response.is_some()) {
        (Some(first), true) => Timing {
            started_us: p.started_us,
            duration_ms: Some((p.resp_last_us - p.started_us) as f64 / 1000.0),
            wait_ms: Some((first - p.req_last_us).max(0) as f64 / 1000.0),
            phases: None,
        },
        _ => Timing {
            started_us: p.started_us,
            duration_ms: None,
            wait_ms: None,
            phases: None,
        },
    };
    let request = Request {
        method: Cow::Owned(method),
        url: Cow::Owned(url),
        http_version: Cow::Owned(version),
        body: body_of(p.req_body, &req_headers),
        headers: message::to_headers(req_headers),
        body_mime: None,
    };
    Exchange {
        request,
        response,
        error,
        timing,
        origin: Origin {
            input,
            index: p.frame,
        },
        connection: None,
        server_ip: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u16, pid: u32, req: u32, chunk: u32, flags: u32, payload: &[u8]) -> Vec<u8> {
        let mut user = Vec::new();
        user.extend_from_slice(&req.to_le_bytes());
        user.extend_from_slice(&chunk.to_le_bytes());
        user.extend_from_slice(&flags.to_le_bytes());
        user.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        user.extend_from_slice(payload);
        let mut f = vec![0u8; 89];
        f[12..16].copy_from_slice(&pid.to_le_bytes());
        f[24..40].copy_from_slice(&WININET_CAPTURE);
        f[40..42].copy_from_slice(&id.to_le_bytes());
        f[86..88].copy_from_slice(&(user.len() as u16).to_le_bytes());
        f.extend_from_slice(&user);
        f
    }

    #[test]
    fn assembles_an_exchange_from_chunks() {
        let mut w = WinInetCapture::new();
        let frames = [
            event(2001, 7, 5, 0, 3, b"POST /adfs/ls/ HTTP/1.1\r\nHost: sts.example\r\nReferer: http://sts.example/x\r\n\r\n"),
            event(2002, 7, 5, 0, 1, b"a=1&"),
            event(2002, 7, 5, 1, 0, b"b=2"),
            event(2003, 7, 5, 0, 3, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"),
            event(2004, 7, 5, 0, 1, b"<html>"),
            event(2004, 7, 5, 1, 2, b""),
            event(2002, 7, 5, 2, 2, b""),
        ];
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let ev = parse_event(f).expect("event");
            assert!(WinInetCapture::wants(&ev));
            out.extend(w.event(&ev, i as u64 + 1, 1_000 * i as i64, 0));
        }
        assert_eq!(out.len(), 1);
        let ex = &out[0];
        assert_eq!(ex.request.url, "http://sts.example/adfs/ls/");
        assert_eq!(ex.request.body.text().as_deref(), Ok("a=1&b=2"));
        let r = ex.response.as_ref().expect("response");
        assert_eq!(r.status, 200);
        assert_eq!(ex.timing.started_us, 0);
        assert_eq!(ex.timing.wait_ms, Some(1.0));
        assert_eq!(ex.timing.duration_ms, Some(5.0));
        assert_eq!(ex.origin.index, 1);
        assert_eq!(w.stray, 1);
        assert!(w.finish(0).is_empty());
    }

    #[test]
    fn open_requests_end_without_response() {
        let mut w = WinInetCapture::new();
        let f = event(
            2001,
            1,
            9,
            0,
            3,
            b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
        );
        let ev = parse_event(&f).expect("event");
        assert!(w.event(&ev, 1, 10, 0).is_none());
        let left = w.finish(0);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].request.url, "https://a.example/");
        assert!(left[0].response.is_none());
    }

    #[test]
    fn short_frames_are_not_events() {
        assert!(parse_event(&[0u8; 40]).is_none());
        let mut f = vec![0u8; 90];
        f[86] = 200;
        assert!(parse_event(&f).is_none());
    }
}
