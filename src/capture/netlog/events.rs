//! NetLog events: the streaming walk over `{"constants": …, "events": […]}`, the
//! event and source type numbers looked up by name, and what each event adds to
//! its socket, HTTP/2 session or `URL_REQUEST` hop.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::params::{dependency, header_list, number, param_bytes, str_param};
use super::{Hop, NetLog, Version, MAX_BODY, MAX_SOCKET};

/// Event and source type numbers this reader needs, looked up by name in
/// `constants` (numbers change between Chromium versions).
#[derive(Default)]
pub(super) struct Ids {
    request_alive: Option<u64>,
    start_job: Option<u64>,
    send_h1: Option<u64>,
    send_h2: Vec<u64>,
    send_h3: Option<u64>,
    send_body: Option<u64>,
    read_headers: Option<u64>,
    filtered_bytes: Option<u64>,
    failed: Option<u64>,
    socket_sent: Vec<u64>,
    h2_send_headers: Vec<u64>,
    h2_initialized: Vec<u64>,
    src_url_request: Option<u64>,
    phase_begin: u64,
    phase_end: u64,
}

impl Ids {
    pub(super) fn from_constants(c: &Value) -> Ids {
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

/// Counts the exchanges the reader makes of a NetLog, one event at a time, for
/// writers that pass events on without reading them (`redact`): one per
/// `URL_REQUEST_START_JOB` begin of a `URL_REQUEST` source whose time, type and
/// source read as the reader (`NetLog::event`) reads them.
pub struct HopCounter {
    ids: Ids,
    /// Exchanges so far.
    pub hops: usize,
}

impl HopCounter {
    pub fn new(constants: &Value) -> Self {
        HopCounter {
            ids: Ids::from_constants(constants),
            hops: 0,
        }
    }

    pub fn event(&mut self, ev: &Value) {
        let ids = &self.ids;
        let source = ev.get("source");
        // Absent phase and source type read as 0, as in `RawEvent`.
        let or_zero = |v: Option<&Value>| v.map_or(Some(0), Value::as_u64);
        let starts = ev.get("time").and_then(number).is_some()
            && ids.start_job.is_some()
            && ev.get("type").and_then(Value::as_u64) == ids.start_job
            && or_zero(ev.get("phase")) == Some(ids.phase_begin)
            && source
                .and_then(|s| s.get("id"))
                .and_then(Value::as_u64)
                .is_some()
            && ids.src_url_request.is_some()
            && or_zero(source.and_then(|s| s.get("type"))) == ids.src_url_request;
        self.hops += usize::from(starts);
    }
}

impl NetLog<'_> {
    /// One event: bad ones are counted, connection events fill the sockets and
    /// HTTP/2 sessions, and events of `URL_REQUEST` sources build hops.
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
        let params = ev.params.unwrap_or(Value::Null);
        if self.connection_event(kind, source.id, &params) {
            return;
        }
        if Some(source.kind) == self.ids.src_url_request {
            let at = Stamp {
                kind,
                phase: ev.phase.unwrap_or(0),
                time,
            };
            self.request_event(at, source.id, &params);
        }
    }

    /// Socket and HTTP/2 session events; true when `kind` is one of them.
    fn connection_event(&mut self, kind: u64, source: u64, params: &Value) -> bool {
        let ids = &self.ids;
        if ids.socket_sent.contains(&kind) {
            if let Some(bytes) = param_bytes(params) {
                let buf = self.sent.entry(source).or_default();
                if buf.len() + bytes.len() <= MAX_SOCKET {
                    buf.extend_from_slice(&bytes);
                } else {
                    self.socket_capped = true;
                }
            }
        } else if ids.h2_initialized.contains(&kind) {
            if let Some(socket) = dependency(params) {
                self.session_socket.insert(source, socket);
            }
        } else if ids.h2_send_headers.contains(&kind) {
            let stream = params.get("stream_id").and_then(Value::as_u64);
            if let (Some(req), Some(stream)) = (dependency(params), stream) {
                self.requests
                    .entry(req)
                    .or_default()
                    .h2_streams
                    .push_back((source, stream));
            }
        } else {
            return false;
        }
        true
    }

    /// An event of one `URL_REQUEST` source: a new hop, the end of the request, or
    /// something of its current hop.
    fn request_event(&mut self, at: Stamp, source: u64, params: &Value) {
        let ids = &self.ids;
        let req = self.requests.entry(source).or_default();
        if req.hops.is_empty() && !req.ended && Some(at.kind) == ids.start_job {
            // First appearance (the map may already hold HTTP/2 streams the session
            // logged first): remember the order sources started in.
            self.order.push(source);
        }
        let net_error = params.get("net_error").and_then(Value::as_i64);

        if Some(at.kind) == ids.start_job && at.phase == ids.phase_begin {
            if let Some(prev) = req.hops.last_mut() {
                prev.end_ms.get_or_insert(at.time);
            }
            req.hops.push(Hop {
                method: str_param(params, "method").unwrap_or("GET").to_string(),
                url: str_param(params, "url").unwrap_or("").to_string(),
                start_ms: at.time,
                ..Hop::default()
            });
            return;
        }
        if Some(at.kind) == ids.request_alive && at.phase == ids.phase_end {
            req.ended = true;
            req.end_ms = Some(at.time);
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
        hop_event(ids, hop, at, params);
    }
}

/// An event's type, phase and time (ms ticks).
#[derive(Clone, Copy)]
struct Stamp {
    kind: u64,
    phase: u64,
    time: f64,
}

/// What one event of a hop adds to it: request headers and body length, response
/// headers, or response body bytes. `FAILED` and `URL_REQUEST_REDIRECTED` add
/// nothing here (the error came with `net_error`; the next START_JOB opens the
/// next hop).
fn hop_event(ids: &Ids, hop: &mut Hop, at: Stamp, params: &Value) {
    let kind = at.kind;
    if Some(kind) == ids.failed {
        return;
    }
    if Some(kind) == ids.send_h1 {
        hop.version = Version::H1;
        hop.request_line = str_param(params, "line").map(|l| l.trim().to_string());
        hop.request_headers = header_list(params.get("headers"));
        hop.sent_ms = Some(at.time);
    } else if ids.send_h2.contains(&kind) || Some(kind) == ids.send_h3 {
        hop.version = if Some(kind) == ids.send_h3 {
            Version::H3
        } else {
            Version::H2
        };
        hop.request_headers = header_list(params.get("headers"));
        hop.sent_ms = Some(at.time);
    } else if Some(kind) == ids.send_body {
        hop.body_length = params.get("length").and_then(Value::as_u64);
    } else if Some(kind) == ids.read_headers {
        response_headers(hop, params);
        hop.headers_ms = Some(at.time);
    } else if Some(kind) == ids.filtered_bytes {
        body_bytes(hop, params);
    }
}

/// `HTTP_TRANSACTION_READ_RESPONSE_HEADERS`: an HTTP/1.x-style status line first
/// (also what Chromium logs for HTTP/2), or a `:status` pseudo-header.
fn response_headers(hop: &mut Hop, params: &Value) {
    let mut headers = header_list(params.get("headers"));
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
}

/// `URL_REQUEST_JOB_FILTERED_BYTES_READ`: the count always, the bytes when the
/// capture mode logged them (kept up to [`MAX_BODY`]).
fn body_bytes(hop: &mut Hop, params: &Value) {
    hop.body_count += params
        .get("byte_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if let Some(bytes) = param_bytes(params) {
        hop.bytes_logged = true;
        if hop.body.len() + bytes.len() <= MAX_BODY {
            hop.body.extend_from_slice(&bytes);
        } else {
            hop.body_capped = true;
        }
    }
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

pub(super) struct Top<'r, 'p>(pub(super) &'r mut NetLog<'p>);

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
