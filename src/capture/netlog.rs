//! Chromium NetLog reader (`chrome://net-export`, `edge://net-export`,
//! `--log-net-log`).
//!
//! Format references (no code taken from any of them): Chromium's
//! `net/docs/net-log.md`, the NetLog design document
//! (chromium.org/developers/design-documents/network-stack/netlog), and the event
//! catalogue `net/log/net_log_event_type_list.h`, which documents the params of
//! each event quoted below.
//!
//! A NetLog file is one JSON object: `constants` first (event type names ↔ numbers,
//! source types, phases, `timeTickOffset`, `logCaptureMode`, `clientInfo`,
//! `netError`), then `events`, one object per event
//! (`{"time": "<ms ticks>", "type": N, "source": {"id", "type"}, "phase": N,
//! "params": {…}}`), then optionally `polledData`. The writer appends events as they
//! happen and often stops without closing the JSON (browser killed, disk full): a
//! file cut anywhere after `events` starts still yields every request seen, with a
//! `capture_truncated` warning.
//!
//! How requests are rebuilt: every event is grouped by `source.id`. A `URL_REQUEST`
//! source is one `net::URLRequest`; each `URL_REQUEST_START_JOB` begins one hop (a
//! redirect starts the next hop in the same source, which HAR lists as separate
//! entries, so each hop becomes one exchange):
//! - `URL_REQUEST_START_JOB` (begin): `method`, `url`;
//! - `HTTP_TRANSACTION_SEND_REQUEST_HEADERS` (`line`, `headers`) for HTTP/1.1,
//!   `HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS` / `…_SPDY_…` / `…_QUIC_…`
//!   (`headers` with pseudo-headers) for HTTP/2 and HTTP/3;
//! - `HTTP_TRANSACTION_SEND_REQUEST_BODY` (`length`);
//! - `HTTP_TRANSACTION_READ_RESPONSE_HEADERS` (`headers`, the first entry being the
//!   status line, or a `:status` pseudo-header);
//! - `URL_REQUEST_JOB_FILTERED_BYTES_READ` (`byte_count`, and `bytes` in base64, or
//!   `hex_encoded_bytes` in old logs, only when the capture mode logs bytes): the
//!   decoded response body;
//! - `net_error` on end events, or `FAILED`: the transport error.
//!
//! Headers come as `["name: value", …]` or, in old logs, `{"name": "value"}`.
//! Request bodies are never logged as such. With socket bytes (mode "Everything")
//! they are recovered from the plaintext sent on the connection
//! (`SSL_SOCKET_BYTES_SENT` / `SOCKET_BYTES_SENT`): HTTP/1.1 messages parsed in order
//! and matched by request line, or HTTP/2 DATA frames (RFC 9113 §4.1, §6.1) of the
//! stream that `HTTP2_SESSION_SEND_HEADERS` (`stream_id`, `source_dependency`) gave
//! the request, on the socket `HTTP2_SESSION_INITIALIZED` names. Otherwise they are
//! reported missing once.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::BufRead;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::Value;

use super::tally::Tally;
use super::{CaptureError, InputSummary, InputWarning, Progress, WarningCode};
use crate::http::h2;
use crate::http::message::{self, to_headers, Dechunked};
use crate::http::{Body, Exchange, Origin, Request, Response, Timing};

/// Largest body kept per hop (response) and per socket (sent bytes).
const MAX_BODY: usize = 64 << 20;
const MAX_SOCKET: usize = 256 << 20;

/// Reads a whole NetLog held in memory.
pub fn read_slice(
    bytes: &[u8],
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut state = NetLog::new(progress);
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    state.finish(result, name, input_index, bytes.len() as u64, sink)
}

/// Reads a NetLog from a stream (stdin, gzip) one event at a time.
pub fn read_stream<R: BufRead>(
    mut reader: R,
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let head = reader.fill_buf().map_err(|source| CaptureError::Io {
        path: name.to_string(),
        source,
    })?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    let mut state = NetLog::new(progress);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    state.finish(result, name, input_index, 0, sink)
}

/// Event and source type numbers this reader needs, looked up by name in
/// `constants` (numbers change between Chromium versions).
#[derive(Default)]
struct Ids {
    request_alive: Option<u64>,
    start_job: Option<u64>,
    send_h1: Option<u64>,
    send_h2: Vec<u64>,
    send_h3: Option<u64>,
    send_body: Option<u64>,
    read_headers: Option<u64>,
    filtered_bytes: Option<u64>,
    redirected: Option<u64>,
    failed: Option<u64>,
    socket_sent: Vec<u64>,
    h2_send_headers: Vec<u64>,
    h2_initialized: Vec<u64>,
    src_url_request: Option<u64>,
    phase_begin: u64,
    phase_end: u64,
}

impl Ids {
    fn from_constants(c: &Value) -> Ids {
        let types = c.get("logEventTypes");
        let ty = |name: &str| types.and_then(|t| t.get(name)).and_then(Value::as_u64);
        let tys = |names: &[&str]| names.iter().filter_map(|n| ty(n)).collect::<Vec<_>>();
        let src = |name: &str| {
            c.get("logSourceType")
                .and_then(|t| t.get(name))
                .and_then(Value::as_u64)
        };
        let phase = |name: &str, default: u64| {
            c.get("logEventPhase")
                .and_then(|t| t.get(name))
                .and_then(Value::as_u64)
                .unwrap_or(default)
        };
        Ids {
            request_alive: ty("REQUEST_ALIVE"),
            start_job: ty("URL_REQUEST_START_JOB"),
            send_h1: ty("HTTP_TRANSACTION_SEND_REQUEST_HEADERS"),
            send_h2: tys(&[
                "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS",
                "HTTP_TRANSACTION_SPDY_SEND_REQUEST_HEADERS",
            ]),
            send_h3: ty("HTTP_TRANSACTION_QUIC_SEND_REQUEST_HEADERS"),
            send_body: ty("HTTP_TRANSACTION_SEND_REQUEST_BODY"),
            read_headers: ty("HTTP_TRANSACTION_READ_RESPONSE_HEADERS"),
            filtered_bytes: ty("URL_REQUEST_JOB_FILTERED_BYTES_READ"),
            redirected: ty("URL_REQUEST_REDIRECTED"),
            failed: ty("FAILED"),
            socket_sent: tys(&["SSL_SOCKET_BYTES_SENT", "SOCKET_BYTES_SENT"]),
            h2_send_headers: tys(&["HTTP2_SESSION_SEND_HEADERS", "SPDY_SESSION_SEND_HEADERS"]),
            h2_initialized: tys(&["HTTP2_SESSION_INITIALIZED", "SPDY_SESSION_INITIALIZED"]),
            src_url_request: src("URL_REQUEST"),
            phase_begin: phase("PHASE_BEGIN", 1),
            phase_end: phase("PHASE_END", 2),
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Version {
    #[default]
    Unknown,
    H1,
    H2,
    H3,
}

/// One request/response of a `URL_REQUEST` (one redirect hop).
#[derive(Default)]
struct Hop {
    method: String,
    url: String,
    start_ms: f64,
    end_ms: Option<f64>,
    version: Version,
    request_line: Option<String>,
    request_headers: Vec<(String, String)>,
    sent_ms: Option<f64>,
    body_length: Option<u64>,
    status: Option<u16>,
    reason: String,
    response_version: String,
    response_headers: Vec<(String, String)>,
    headers_ms: Option<f64>,
    body: Vec<u8>,
    body_count: u64,
    bytes_logged: bool,
    body_capped: bool,
    net_error: Option<i64>,
    /// (HTTP/2 session source, stream id) the request went out on.
    h2_stream: Option<(u64, u64)>,
}

#[derive(Default)]
struct UrlRequest {
    hops: Vec<Hop>,
    ended: bool,
    end_ms: Option<f64>,
    net_error: Option<i64>,
    /// HTTP/2 streams announced for this request, in order.
    h2_streams: VecDeque<(u64, u64)>,
}

struct NetLog<'p> {
    progress: &'p dyn Progress,
    constants_seen: bool,
    events_opened: bool,
    ids: Ids,
    tick_offset_ms: f64,
    capture_mode: Option<String>,
    producer: Option<String>,
    net_errors: HashMap<i64, String>,
    requests: HashMap<u64, UrlRequest>,
    /// Order in which URL_REQUEST sources first appeared.
    order: Vec<u64>,
    /// Plaintext sent per socket source.
    sent: HashMap<u64, Vec<u8>>,
    /// HTTP/2 session source → its socket source.
    session_socket: HashMap<u64, u64>,
    events: u64,
    bad_events: usize,
    stripped_seen: bool,
    socket_capped: bool,
}

impl<'p> NetLog<'p> {
    fn new(progress: &'p dyn Progress) -> Self {
        NetLog {
            progress,
            constants_seen: false,
            events_opened: false,
            ids: Ids::default(),
            tick_offset_ms: 0.0,
            capture_mode: None,
            producer: None,
            net_errors: HashMap::new(),
            requests: HashMap::new(),
            order: Vec::new(),
            sent: HashMap::new(),
            session_socket: HashMap::new(),
            events: 0,
            bad_events: 0,
            stripped_seen: false,
            socket_capped: false,
        }
    }

    fn constants(&mut self, c: Value) {
        self.constants_seen = true;
        self.ids = Ids::from_constants(&c);
        self.tick_offset_ms = c.get("timeTickOffset").and_then(number).unwrap_or(0.0);
        self.capture_mode = c
            .get("logCaptureMode")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(info) = c.get("clientInfo") {
            let name = info.get("name").and_then(Value::as_str).unwrap_or("");
            let version = info.get("version").and_then(Value::as_str).unwrap_or("");
            let text = format!("{name} {version}").trim().to_string();
            if !text.is_empty() {
                self.producer = Some(text);
            }
        }
        if let Some(Value::Object(errors)) = c.get("netError") {
            for (name, code) in errors {
                if let Some(code) = code.as_i64() {
                    self.net_errors.insert(code, name.clone());
                }
            }
        }
    }

    fn event(&mut self, ev: RawEvent) {
        self.events += 1;
        let Some(time) = ev.time.as_ref().and_then(number) else {
            self.bad_events += 1;
            return;
        };
        let (Some(kind), Some(source)) = (ev.kind, ev.source) else {
            self.bad_events += 1;
            return;
        };
        let ids = &self.ids;
        let params = ev.params.unwrap_or(Value::Null);
        let phase = ev.phase.unwrap_or(0);

        // Connection-level events: sockets and HTTP/2 sessions.
        if ids.socket_sent.contains(&kind) {
            if let Some(bytes) = param_bytes(&params) {
                let buf = self.sent.entry(source.id).or_default();
                if buf.len() + bytes.len() <= MAX_SOCKET {
                    buf.extend_from_slice(&bytes);
                } else {
                    self.socket_capped = true;
                }
            }
            return;
        }
        if ids.h2_initialized.contains(&kind) {
            if let Some(socket) = dependency(&params) {
                self.session_socket.insert(source.id, socket);
            }
            return;
        }
        if ids.h2_send_headers.contains(&kind) {
            let stream = params.get("stream_id").and_then(Value::as_u64);
            if let (Some(req), Some(stream)) = (dependency(&params), stream) {
                self.requests
                    .entry(req)
                    .or_default()
                    .h2_streams
                    .push_back((source.id, stream));
            }
            return;
        }
        if Some(source.kind) != ids.src_url_request {
            return;
        }

        let ids = &self.ids;
        let req = self.requests.entry(source.id).or_default();
        if req.hops.is_empty() && !req.ended && Some(kind) == ids.start_job {
            // First appearance (the map may already hold HTTP/2 streams the session
            // logged first): remember the order sources started in.
            self.order.push(source.id);
        }
        let net_error = params.get("net_error").and_then(Value::as_i64);

        if Some(kind) == ids.start_job && phase == ids.phase_begin {
            if let Some(prev) = req.hops.last_mut() {
                prev.end_ms.get_or_insert(time);
            }
            req.hops.push(Hop {
                method: str_param(&params, "method").unwrap_or("GET").to_string(),
                url: str_param(&params, "url").unwrap_or("").to_string(),
                start_ms: time,
                ..Hop::default()
            });
            return;
        }
        if Some(kind) == ids.request_alive && phase == ids.phase_end {
            req.ended = true;
            req.end_ms = Some(time);
            if net_error.is_some() {
                req.net_error = net_error;
            }
            return;
        }
        let Some(hop) = req.hops.last_mut() else {
            return;
        };
        if let Some(e) = net_error {
            hop.net_error = Some(e);
        }
        if Some(kind) == ids.failed {
            return;
        }
        if Some(kind) == ids.send_h1 {
            hop.version = Version::H1;
            hop.request_line = str_param(&params, "line").map(|l| l.trim().to_string());
            hop.request_headers = header_list(params.get("headers"));
            hop.sent_ms = Some(time);
        } else if ids.send_h2.contains(&kind) || Some(kind) == ids.send_h3 {
            hop.version = if Some(kind) == ids.send_h3 {
                Version::H3
            } else {
                Version::H2
            };
            hop.request_headers = header_list(params.get("headers"));
            hop.sent_ms = Some(time);
        } else if Some(kind) == ids.send_body {
            hop.body_length = params.get("length").and_then(Value::as_u64);
        } else if Some(kind) == ids.read_headers {
            let mut headers = header_list(params.get("headers"));
            // HTTP/1.x-style status line first (also what Chromium logs for HTTP/2),
            // or a `:status` pseudo-header.
            if let Some((line, _)) = headers.first() {
                if line.starts_with("HTTP/") {
                    let line = headers.remove(0).0;
                    let mut parts = line.splitn(3, ' ');
                    hop.response_version = parts.next().unwrap_or("").to_string();
                    hop.status = parts.next().and_then(|s| s.parse().ok());
                    hop.reason = parts.next().unwrap_or("").trim().to_string();
                }
            }
            if hop.status.is_none() {
                hop.status = headers
                    .iter()
                    .find(|(n, _)| n == ":status")
                    .and_then(|(_, v)| v.trim().parse().ok());
            }
            hop.response_headers = headers;
            hop.headers_ms = Some(time);
        } else if Some(kind) == ids.filtered_bytes {
            hop.body_count += params
                .get("byte_count")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if let Some(bytes) = param_bytes(&params) {
                hop.bytes_logged = true;
                if hop.body.len() + bytes.len() <= MAX_BODY {
                    hop.body.extend_from_slice(&bytes);
                } else {
                    hop.body_capped = true;
                }
            }
        } else if Some(kind) == ids.redirected {
            // The next START_JOB opens the next hop.
        }
    }

    /// Builds the exchanges in start order and the summary.
    fn finish(
        mut self,
        result: Result<(), serde_json::Error>,
        name: &str,
        input: usize,
        total: u64,
        sink: &mut dyn FnMut(Exchange<'_>),
    ) -> Result<InputSummary, CaptureError> {
        let mut warnings = Vec::new();
        match result {
            Ok(()) => {
                if !self.constants_seen || !self.events_opened {
                    return Err(CaptureError::Malformed {
                        path: name.to_string(),
                        place: "top level".into(),
                        detail: if self.constants_seen {
                            "this NetLog has no \"events\" list".into()
                        } else {
                            "this JSON has no \"constants\" object before its events, so it is not a NetLog aadtrace can read".into()
                        },
                    });
                }
            }
            Err(e) if self.events_opened => {
                let detail = match e.classify() {
                    Category::Eof => format!(
                        "the NetLog stops at line {} column {} without closing (the browser did not finish writing it)",
                        e.line(),
                        e.column()
                    ),
                    Category::Io => format!("reading stopped: {e}"),
                    _ => format!(
                        "malformed JSON at line {} column {}",
                        e.line(),
                        e.column()
                    ),
                };
                warnings.push(InputWarning::new(
                    WarningCode::CaptureTruncated,
                    format!("{detail}; the {} events before it were read", self.events),
                ));
            }
            Err(e) if e.classify() == Category::Io => {
                return Err(CaptureError::Io {
                    path: name.to_string(),
                    source: std::io::Error::other(e.to_string()),
                })
            }
            Err(e) => {
                return Err(CaptureError::Malformed {
                    path: name.to_string(),
                    place: format!("line {}, column {}", e.line(), e.column()),
                    detail: match e.classify() {
                        Category::Eof => "the file ends before its \"events\" list".into(),
                        _ => format!("not a readable NetLog: {e}"),
                    },
                })
            }
        }

        // Request bodies from the bytes sent on each connection.
        let mut h1_bodies: HashMap<String, VecDeque<Vec<u8>>> = HashMap::new();
        let mut h2_bodies: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
        let h2_sockets: HashMap<u64, u64> =
            self.session_socket.iter().map(|(s, k)| (*k, *s)).collect();
        for (socket, bytes) in &self.sent {
            if let Some(session) = h2_sockets.get(socket) {
                for (stream, data) in h2_data_frames(bytes) {
                    h2_bodies.insert((*session, stream), data);
                }
            } else {
                for (line, body) in h1_requests(bytes) {
                    h1_bodies.entry(line).or_default().push_back(body);
                }
            }
        }

        let mut hops: Vec<(Hop, bool)> = Vec::new();
        for id in &self.order {
            let Some(mut req) = self.requests.remove(id) else {
                continue;
            };
            // The session logs a stream's HEADERS frame after the transaction logged
            // the request: streams go to the HTTP/2 hops in order.
            for hop in req.hops.iter_mut().filter(|h| h.version == Version::H2) {
                hop.h2_stream = req.h2_streams.pop_front();
            }
            let count = req.hops.len();
            for (i, mut hop) in req.hops.into_iter().enumerate() {
                let last = i + 1 == count;
                if last {
                    if hop.end_ms.is_none() {
                        hop.end_ms = req.end_ms;
                    }
                    if hop.net_error.is_none() {
                        hop.net_error = req.net_error;
                    }
                }
                hops.push((hop, last && !req.ended));
            }
        }
        hops.sort_by(|a, b| a.0.start_ms.total_cmp(&b.0.start_ms));

        let mut missing_response = 0usize;
        let mut missing_request = 0usize;
        let mut capped = 0usize;
        let mut delivered = 0usize;
        for (n, (mut hop, open)) in hops.into_iter().enumerate() {
            let stripped = hop
                .request_headers
                .iter()
                .chain(hop.response_headers.iter())
                .any(|(_, v)| is_stripped(v));
            self.stripped_seen |= stripped;
            // Request body.
            let needs_body = hop.body_length.is_some_and(|l| l > 0)
                || matches!(hop.method.as_str(), "POST" | "PUT" | "PATCH");
            let request_body = if needs_body {
                let recovered = match hop.version {
                    Version::H1 => hop
                        .request_line
                        .as_ref()
                        .and_then(|l| h1_bodies.get_mut(l))
                        .and_then(VecDeque::pop_front),
                    Version::H2 => hop.h2_stream.and_then(|k| h2_bodies.remove(&k)),
                    _ => None,
                };
                match recovered {
                    Some(b) if !b.is_empty() => Body::Bytes(b.into()),
                    Some(_) => Body::Absent,
                    None if hop.body_length.is_some_and(|l| l > 0) => {
                        missing_request += 1;
                        Body::Omitted {
                            size: hop.body_length.unwrap_or(0),
                        }
                    }
                    None => Body::Absent,
                }
            } else {
                Body::Absent
            };
            let response = hop.status.map(|status| {
                let body = if hop.bytes_logged {
                    if hop.body_capped {
                        capped += 1;
                    }
                    Body::Bytes(std::mem::take(&mut hop.body).into())
                } else if hop.body_count > 0 {
                    let no_body_expected =
                        status == 204 || status == 304 || (300..400).contains(&status);
                    if !no_body_expected {
                        missing_response += 1;
                    }
                    Body::Omitted {
                        size: hop.body_count,
                    }
                } else {
                    Body::Absent
                };
                Response {
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
                }
            });
            let error = match hop.net_error.filter(|e| *e != 0 && *e != -3) {
                Some(code) => Some(match self.net_errors.get(&code) {
                    Some(name) => format!("net::{name}"),
                    None => format!("net error {code}"),
                }),
                None if response.is_none() && open => {
                    Some("no response before the NetLog ended".to_string())
                }
                None if response.is_none() => Some("no response".to_string()),
                None => None,
            };
            let version = match hop.version {
                Version::H1 => hop
                    .request_line
                    .as_deref()
                    .and_then(|l| l.rsplit(' ').next())
                    .unwrap_or("HTTP/1.1")
                    .to_string(),
                Version::H2 => "HTTP/2".to_string(),
                Version::H3 => "HTTP/3".to_string(),
                Version::Unknown => String::new(),
            };
            let wall = |ms: f64| ((ms + self.tick_offset_ms) * 1000.0).round() as i64;
            let exchange = Exchange {
                request: Request {
                    method: hop.method.into(),
                    url: hop.url.into(),
                    http_version: version.into(),
                    headers: to_headers(hop.request_headers),
                    body: request_body,
                    body_mime: None,
                },
                response,
                error: error.map(Into::into),
                timing: Timing {
                    started_us: wall(hop.start_ms),
                    duration_ms: hop
                        .end_ms
                        .filter(|e| *e >= hop.start_ms)
                        .map(|e| e - hop.start_ms),
                    wait_ms: match (hop.sent_ms, hop.headers_ms) {
                        (Some(a), Some(b)) if b >= a => Some(b - a),
                        _ => None,
                    },
                },
                origin: Origin {
                    input,
                    index: n as u64,
                },
                connection: None,
                server_ip: None,
            };
            delivered += 1;
            sink(exchange);
        }
        // Events are all read before requests are built, so progress is only final.
        if total > 0 {
            self.progress.advance_to(total);
        }

        let mode = self
            .capture_mode
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let redacting_mode = matches!(
            self.capture_mode.as_deref(),
            Some("Default" | "HeavilyRedacted" | "StripPrivateData")
        );
        let mut t = Tally::from_warnings(warnings);
        t.count(WarningCode::MissingBody, missing_response, |n| {
            format!("{n} responses have no body: NetLog capture mode {mode} does not log bytes (choose \"Include raw bytes\" in net-export)")
        })
        .count(WarningCode::MissingBody, missing_request, |n| {
            format!("{n} request bodies are missing: a NetLog holds them only as socket bytes, which capture mode {mode} does not log (choose \"Include raw bytes\" in net-export)")
        })
        .when(capped > 0 || self.socket_capped, WarningCode::BodyCapped, || {
            format!(
                "{capped} response bodies were cut at {} MiB{}",
                MAX_BODY >> 20,
                if self.socket_capped {
                    "; some connections sent more bytes than were kept"
                } else {
                    ""
                }
            )
        })
        .when(self.stripped_seen || redacting_mode, WarningCode::NetlogSanitized, || {
            format!("cookies and credentials were stripped by NetLog capture mode {mode} (choose \"Include cookies and credentials\" in net-export)")
        })
        .count(WarningCode::MalformedEntry, self.bad_events, |n| {
            format!("{n} events without time, type or source were skipped")
        });
        let warnings = t.into_warnings();
        Ok(InputSummary {
            producer: self.producer,
            exchanges: delivered,
            warnings,
            connections: Vec::new(),
        })
    }
}

/// `[N bytes were stripped]`, Chromium's placeholder for a cookie or credential.
fn is_stripped(value: &str) -> bool {
    value.starts_with('[') && value.ends_with(" bytes were stripped]")
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn str_param<'v>(params: &'v Value, key: &str) -> Option<&'v str> {
    params.get(key).and_then(Value::as_str)
}

/// `source_dependency.id` of an event's params.
fn dependency(params: &Value) -> Option<u64> {
    params.get("source_dependency")?.get("id")?.as_u64()
}

/// `bytes` (base64) or `hex_encoded_bytes` (old logs).
fn param_bytes(params: &Value) -> Option<Vec<u8>> {
    if let Some(b64) = str_param(params, "bytes") {
        return base64::engine::general_purpose::STANDARD.decode(b64).ok();
    }
    let hex = str_param(params, "hex_encoded_bytes")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Header params as (name, value): `["name: value", …]` or `{"name": "value"}`.
/// A first entry without `: ` (a status line) is kept as a name with no value.
fn header_list(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|line| {
                // Pseudo-headers start with ':' (":status: 200").
                let search_from = usize::from(line.starts_with(':'));
                match line[search_from..].find(':') {
                    Some(i) if !line.starts_with("HTTP/") => {
                        let i = i + search_from;
                        (
                            line[..i].trim().to_string(),
                            line[i + 1..].trim().to_string(),
                        )
                    }
                    _ => (line.trim().to_string(), String::new()),
                }
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// HTTP/1.1 requests in the bytes a client sent on one connection (RFC 9112 §6):
/// (request line, body), framed by Content-Length or chunked.
fn h1_requests(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((head_len, body_at)) = message::head_end(rest) {
        let (line, fields) = message::parse_head(&rest[..head_len]);
        rest = &rest[body_at..];
        let chunked = message::is_chunked(
            fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
                .map(|(_, v)| v.as_str()),
        );
        let body = if chunked {
            match message::dechunk(rest) {
                Dechunked::Complete(body, used) => {
                    rest = &rest[used..];
                    body
                }
                Dechunked::Cut(body) => {
                    rest = &[];
                    body
                }
                Dechunked::No => Vec::new(),
            }
        } else {
            let length = message::field(&fields, "content-length")
                .and_then(message::content_length)
                .unwrap_or(0);
            let n = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let body = rest[..n].to_vec();
            rest = &rest[n..];
            body
        };
        if !line.contains(" HTTP/") {
            break;
        }
        out.push((line, body));
    }
    out
}

/// DATA frame payloads per stream in the bytes a client sent on an HTTP/2
/// connection (RFC 9113 §3.4 preface, §6.1 DATA and padding).
fn h2_data_frames(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut rest = bytes.strip_prefix(h2::PREFACE).unwrap_or(bytes);
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    while let Some((header, payload, next)) = h2::frame::split(rest) {
        rest = next;
        if header.kind != h2::frame::Kind::Data || header.stream == 0 {
            continue;
        }
        let Some(data) = h2::frame::unpad(payload, header.flags) else {
            continue;
        };
        let stream = u64::from(header.stream);
        match out.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, buf)) => buf.extend_from_slice(data),
            None => out.push((stream, data.to_vec())),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Streaming walk: `{"constants": {...}, "events": [ {...}, ... ], ...}`.

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    time: Option<Value>,
    #[serde(rename = "type", default)]
    kind: Option<u64>,
    #[serde(default)]
    source: Option<SourceRef>,
    #[serde(default)]
    phase: Option<u64>,
    #[serde(default)]
    params: Option<Value>,
}

#[derive(Deserialize)]
struct SourceRef {
    id: u64,
    #[serde(rename = "type", default)]
    kind: u64,
}

struct Top<'r, 'p>(&'r mut NetLog<'p>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NetLog object {\"constants\": ..., \"events\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "constants" => {
                    let c: Value = map.next_value()?;
                    self.0.constants(c);
                }
                "events" if self.0.constants_seen => {
                    self.0.events_opened = true;
                    map.next_value_seed(Events(&mut *self.0))?;
                }
                "events" => {
                    return Err(de::Error::custom(
                        "\"events\" come before \"constants\"; event types cannot be named",
                    ))
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Events<'r, 'p>(&'r mut NetLog<'p>);

impl<'de> DeserializeSeed<'de> for Events<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Events<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of NetLog events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            match serde_json::from_value::<RawEvent>(v) {
                Ok(ev) => self.0.event(ev),
                Err(_) => self.0.bad_events += 1,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let list =
            serde_json::json!(["HTTP/1.1 302 Found", "location: https://x/", ":status: 200"]);
        assert_eq!(
            header_list(Some(&list)),
            vec![
                ("HTTP/1.1 302 Found".to_string(), String::new()),
                ("location".to_string(), "https://x/".to_string()),
                (":status".to_string(), "200".to_string()),
            ]
        );
        let map = serde_json::json!({"Host": "x", "Content-Length": "3"});
        assert_eq!(header_list(Some(&map)).len(), 2);
    }

    #[test]
    fn h1_and_h2_request_bodies() {
        let sent = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let got = h1_requests(sent);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("POST /a HTTP/1.1".to_string(), b"abc".to_vec()));
        assert_eq!(got[2].1, b"hi");

        let mut h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        h2.extend([0, 0, 2, 1, 4, 0, 0, 0, 1, 0x82, 0x84]); // HEADERS
        h2.extend([0, 0, 3, 0, 0, 0, 0, 0, 1, b'a', b'=', b'1']);
        h2.extend([0, 0, 4, 0, 0x9, 0, 0, 0, 1, 1, b'&', b'b', 0]); // padded, END_STREAM
        assert_eq!(h2_data_frames(&h2), vec![(1, b"a=1&b".to_vec())]);
    }
}
