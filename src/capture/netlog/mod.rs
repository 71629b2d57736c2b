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
//!
//! The reader is cut along those seams: `events` walks the JSON and turns each
//! event into state (sockets, HTTP/2 sessions, hops), `params` reads event params,
//! `sent` recovers request bodies from the sent bytes, and `build` turns hops into
//! exchanges; this file holds the state and the end of the read (how the JSON
//! ended, hops in start order, the warnings).

mod build;
mod events;
mod params;
mod sent;

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;

use serde::de::DeserializeSeed;
use serde_json::error::Category;
use serde_json::Value;

use super::tally::Tally;
use super::{CaptureError, InputSummary, Progress, ReadCtx, WarningCode};
use crate::http::Exchange;
use build::Builder;
pub use events::HopCounter;
use events::{Ids, Top};
use params::number;
pub use params::{is_stripped, param_bytes};
use sent::SentBodies;

/// Largest body kept per hop (response) and per socket (sent bytes).
const MAX_BODY: usize = 64 << 20;
const MAX_SOCKET: usize = 256 << 20;

/// Reads a whole NetLog held in memory.
pub fn read_slice(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut state = NetLog::new(progress);
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    state.finish(result, name, input_index, bytes.len() as u64, sink)
}

/// Reads a NetLog from a stream (stdin, gzip) one event at a time.
pub fn read_stream<R: BufRead>(
    mut reader: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
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

    /// Builds the exchanges in start order and the summary.
    fn finish(
        mut self,
        result: Result<(), serde_json::Error>,
        name: &str,
        input: usize,
        total: u64,
        sink: &mut dyn FnMut(Exchange<'_>),
    ) -> Result<InputSummary, CaptureError> {
        let mut tally = Tally::new();
        if let Some(cut) = self.ending(result, name)? {
            tally.push(WarningCode::CaptureTruncated, cut);
        }
        let hops = self.hops_in_order();
        let mut builder = Builder {
            net_errors: &self.net_errors,
            tick_offset_ms: self.tick_offset_ms,
            input,
            bodies: SentBodies::new(&self.sent, &self.session_socket),
            missing_response: 0,
            missing_request: 0,
            capped: 0,
            stripped_seen: false,
        };
        let mut delivered = 0usize;
        for (n, (hop, open)) in hops.into_iter().enumerate() {
            sink(builder.exchange(hop, open, n));
            delivered += 1;
        }
        // Events are all read before requests are built, so progress is only final.
        if total > 0 {
            self.progress.advance_to(total);
        }
        self.warnings(&mut tally, &builder);
        Ok(InputSummary {
            producer: self.producer,
            exchanges: delivered,
            warnings: tally.into_warnings(),
            connections: Vec::new(),
        })
    }

    /// How the JSON ended: `Ok(None)` when whole, `Ok(Some(message))` when it was cut
    /// after the events began (what came before is kept), an error when it is not a
    /// NetLog or stops before its events.
    fn ending(
        &self,
        result: Result<(), serde_json::Error>,
        name: &str,
    ) -> Result<Option<String>, CaptureError> {
        let e = match result {
            Ok(()) if self.constants_seen && self.events_opened => return Ok(None),
            Ok(()) => {
                return Err(CaptureError::Malformed {
                    path: name.to_string(),
                    place: "top level".into(),
                    detail: if self.constants_seen {
                        "this NetLog has no \"events\" list".into()
                    } else {
                        "this JSON has no \"constants\" object before its events, so it is not a NetLog aadtrace can read".into()
                    },
                })
            }
            Err(e) => e,
        };
        if self.events_opened {
            let detail = match e.classify() {
                Category::Eof => format!(
                    "the NetLog stops at line {} column {} without closing (the browser did not finish writing it)",
                    e.line(),
                    e.column()
                ),
                Category::Io => format!("reading stopped: {e}"),
                _ => format!("malformed JSON at line {} column {}", e.line(), e.column()),
            };
            return Ok(Some(format!(
                "{detail}; the {} events before it were read",
                self.events
            )));
        }
        Err(match e.classify() {
            Category::Io => CaptureError::Io {
                path: name.to_string(),
                source: std::io::Error::other(e.to_string()),
            },
            category => CaptureError::Malformed {
                path: name.to_string(),
                place: format!("line {}, column {}", e.line(), e.column()),
                detail: match category {
                    Category::Eof => "the file ends before its \"events\" list".into(),
                    _ => format!("not a readable NetLog: {e}"),
                },
            },
        })
    }

    /// Every hop of every request, sorted by start time, with whether its request
    /// was still open when the log ended. The last hop of a request takes the
    /// request's end and error when it has none of its own.
    fn hops_in_order(&mut self) -> Vec<(Hop, bool)> {
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
        hops
    }

    /// The warnings for what the hops lacked and what the log left out.
    fn warnings(&self, t: &mut Tally, b: &Builder<'_>) {
        let mode = self
            .capture_mode
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let redacting_mode = matches!(
            self.capture_mode.as_deref(),
            Some("Default" | "HeavilyRedacted" | "StripPrivateData")
        );
        t.count(WarningCode::MissingBody, b.missing_response, |n| {
            format!("{n} responses have no body: NetLog capture mode {mode} does not log bytes (choose \"Include raw bytes\" in net-export)")
        })
        .count(WarningCode::MissingBody, b.missing_request, |n| {
            format!("{n} request bodies are missing: a NetLog holds them only as socket bytes, which capture mode {mode} does not log (choose \"Include raw bytes\" in net-export)")
        })
        .when(b.capped > 0 || self.socket_capped, WarningCode::BodyCapped, || {
            format!(
                "{} response bodies were cut at {} MiB{}",
                b.capped,
                MAX_BODY >> 20,
                if self.socket_capped {
                    "; some connections sent more bytes than were kept"
                } else {
                    ""
                }
            )
        })
        .when(b.stripped_seen || redacting_mode, WarningCode::NetlogSanitized, || {
            format!("cookies and credentials were stripped by NetLog capture mode {mode} (choose \"Include cookies and credentials\" in net-export)")
        })
        .count(WarningCode::MalformedEntry, self.bad_events, |n| {
            format!("{n} events without time, type or source were skipped")
        });
    }
}
