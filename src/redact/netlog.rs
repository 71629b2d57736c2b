//! NetLog → NetLog: a Chromium/Edge NetLog (`chrome://net-export`) rewritten as a
//! NetLog with the same members in the same order (`constants`, `events`,
//! `polledData`…), the same events in the same order with the same `time`,
//! `type`, `source` and `phase`, so Chrome's netlog viewer and aadtrace read the
//! copy as they read the original. Only `params` values change:
//!
//! * header lists (`["name: value", …]`, `[[name, value], …]` or `{name: value}`)
//!   go through the HAR header policy ([`har::header_value`]); Chromium's
//!   `[N bytes were stripped]` placeholders (default capture mode) are kept, so
//!   the copy still says what the capture mode left out; `:path` and request
//!   `line`s through [`text::url`];
//! * a cookie event's `value` is masked as a cookie; URL-named params (`url`,
//!   `location`, `…_url`) through [`text::url`]; every other param as a HAR field
//!   of unknown meaning ([`text::json_value`]: secret and personal names, URLs,
//!   JSON, markup, free text);
//! * logged bytes (`bytes` in base64, `hex_encoded_bytes` in old logs) are
//!   decoded, redacted and encoded again the same way. A body or a connection is
//!   logged in many events, and a secret can straddle two of them, so the bytes
//!   of one stream are first put together (a hop's response body, one socket's
//!   bytes in one direction), redacted as a whole, and then shared out again over
//!   the same events in proportion (each `byte_count` follows its new bytes).
//!   Response bodies are redacted by their `Content-Type` like HAR bodies (a
//!   `Content-Encoding`d `URL_REQUEST_JOB_BYTES_READ` is stored decoded); socket
//!   plaintext as HTTP/1.1 messages as the SAZ rewriter redacts them (request
//!   line, header policy, de-chunked and decoded bodies with `Content-Length`
//!   set; a log begun mid-connection from its first start line) or HTTP/2
//!   frames (DATA of each
//!   stream redacted as a body; HPACK header blocks, which cannot be read without
//!   the connection's table, emptied; GOAWAY debug data dropped). Bytes that
//!   cannot be inspected are never shared unread: TLS records and other binary
//!   socket bytes become empty, a binary or undecodable body a notice.
//!
//! Everything else (`constants`' `clientInfo`, `polledData`, unknown members) is
//! scrubbed like an unknown HAR field; then every string but the re-encoded bytes
//! is swept ([`Masker::sweep`]) for secrets learned anywhere in the file.
//!
//! Each pass reads the file twice: once to gather and redact the byte streams
//! (held within the run's budget, as the reader holds them), once to write the
//! events one at a time. A NetLog cut short (a killed browser leaves no closing
//! `]}`; or malformed past the start of `events`) is redacted up to the cut, as
//! the reader reads it, and the copy is closed, with a warning on the receipt.
//! The receipt counts the exchanges the reader finds
//! ([`crate::capture::netlog::HopCounter`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io::{BufRead, BufReader, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::har::{self, map_str, sweep, Left, RewriteError};
use super::saz::{self, Binary, UNINSPECTED};
use super::{text, Input, Masker, TraceRewriter, Written};
use crate::capture::netlog::{is_stripped, param_bytes, HopCounter};
use crate::http::h2::frame::{self, Flags, Kind};
use crate::http::message::{self, Dechunked};
use crate::http::{content, h2};
use crate::secrets::{cookie_is_kept, SecretKind};

/// The NetLog rewriter.
pub struct NetLog;

impl TraceRewriter for NetLog {
    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        let mut gather = Gather::default();
        walk(input, &mut gather, masker)?;
        let over_budget = gather.over_budget.then(|| {
            format!(
                "the logged bytes ({} MiB) are more than the run's memory budget: every logged byte was left out of the copy",
                gather.held >> 20
            )
        });
        let streams = gather.redact(masker);
        let mut writer = Writer {
            out,
            error: None,
            tracker: Tracker::default(),
            streams,
            hops: None,
            members: 0,
            events: 0,
            events_state: EventsState::NotYet,
            warnings: Vec::new(),
        };
        let ending = walk(input, &mut writer, masker)?;
        writer.close(&ending);
        if let Some(e) = writer.error.take() {
            return Err(RewriteError::Write(e));
        }
        let mut warnings = writer.warnings;
        warnings.extend(over_budget);
        if let Ending::Cut(why) = ending {
            warnings.push(format!(
                "{why}; the copy holds the {} events before it and is closed",
                writer.events
            ));
        }
        Ok(Written {
            exchanges: writer.hops.map_or(0, |h| h.hops),
            warnings,
        })
    }
}

/// How the document ended.
enum Ending {
    Whole,
    /// Cut (or malformed) after `events` began: why, with the place.
    Cut(String),
}

// ---------------------------------------------------------------------------
// Which stream an event's bytes belong to.

/// What a byte stream holds, which decides how it is redacted.
#[derive(Clone, Debug)]
enum Role {
    /// A hop's response body: its `Content-Type`, and the `Content-Encoding` of
    /// raw (unfiltered) body bytes.
    Body { mime: String, coding: String },
    /// The bytes of one socket in one direction.
    Socket,
    /// Any other logged bytes.
    Other,
}

/// (source id, event type, hop number within the source).
type StreamKey = (u64, u64, u32);

/// Event type names, and per `URL_REQUEST` source its hop number and the last
/// response's content headers: both passes keep it the same way, so both put an
/// event's bytes in the same stream.
#[derive(Default)]
struct Tracker {
    names: HashMap<u64, String>,
    phase_begin: u64,
    hop: HashMap<u64, u32>,
    content: HashMap<u64, (String, String)>,
}

impl Tracker {
    fn constants(&mut self, c: &Value) {
        self.phase_begin = c
            .get("logEventPhase")
            .and_then(|p| p.get("PHASE_BEGIN"))
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if let Some(Value::Object(types)) = c.get("logEventTypes") {
            for (name, n) in types {
                if let Some(n) = n.as_u64() {
                    self.names.insert(n, name.clone());
                }
            }
        }
    }

    fn name(&self, ev: &Value) -> &str {
        ev.get("type")
            .and_then(Value::as_u64)
            .and_then(|t| self.names.get(&t))
            .map_or("", String::as_str)
    }

    /// Notes hops and response headers; returns the stream and role of the
    /// event's bytes, if it logged any.
    fn observe(&mut self, ev: &Value) -> Option<(StreamKey, Role)> {
        let source = ev.get("source")?.get("id")?.as_u64()?;
        let ty = ev.get("type")?.as_u64()?;
        let params = ev.get("params");
        let name = self.name(ev).to_string();
        match name.as_str() {
            "URL_REQUEST_START_JOB"
                if ev.get("phase").and_then(Value::as_u64) == Some(self.phase_begin) =>
            {
                *self.hop.entry(source).or_default() += 1;
                self.content.remove(&source);
            }
            "HTTP_TRANSACTION_READ_RESPONSE_HEADERS" => {
                let headers = params.and_then(|p| p.get("headers"));
                let mime = header_of(headers, "content-type").unwrap_or_default();
                let coding = header_of(headers, "content-encoding").unwrap_or_default();
                self.content.insert(source, (mime, coding));
            }
            _ => {}
        }
        let params = params?;
        if params.get("bytes").is_none() && params.get("hex_encoded_bytes").is_none() {
            return None;
        }
        let hop = self.hop.get(&source).copied().unwrap_or(0);
        let (mime, coding) = self.content.get(&source).cloned().unwrap_or_default();
        let role = match name.as_str() {
            "URL_REQUEST_JOB_FILTERED_BYTES_READ" => Role::Body {
                mime,
                coding: String::new(),
            },
            "URL_REQUEST_JOB_BYTES_READ" => Role::Body { mime, coding },
            n if n.contains("SOCKET_BYTES") => Role::Socket,
            _ => Role::Other,
        };
        Some(((source, ty, hop), role))
    }
}

/// The value of header `name` in a header-list param, either form.
fn header_of(headers: Option<&Value>, name: &str) -> Option<String> {
    let found = |n: &str| n.trim().eq_ignore_ascii_case(name);
    match headers? {
        Value::Array(items) => items.iter().find_map(|item| match item {
            Value::String(line) => line
                .split_once(':')
                .filter(|(n, _)| found(n))
                .map(|(_, v)| v.trim().to_string()),
            Value::Array(pair) => match (pair.first(), pair.get(1)) {
                (Some(Value::String(n)), Some(Value::String(v))) if found(n) => Some(v.clone()),
                _ => None,
            },
            _ => None,
        }),
        Value::Object(map) => map
            .iter()
            .find(|(n, _)| found(n))
            .and_then(|(_, v)| v.as_str().map(str::to_string)),
        _ => None,
    }
}

/// An event's logged bytes, as the reader decodes them. Bytes that do not
/// decode count as none (they are never copied).
fn logged_bytes(params: &Value) -> Vec<u8> {
    param_bytes(params).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The first read: byte streams put together and redacted.

#[derive(Default)]
struct Gather {
    tracker: Tracker,
    streams: BTreeMap<StreamKey, Stream>,
    held: u64,
    over_budget: bool,
}

struct Stream {
    role: Role,
    /// Decoded size of each event's bytes, in order.
    sizes: Vec<usize>,
    data: Vec<u8>,
}

impl Gather {
    /// Each stream redacted as a whole and shared out over its events again.
    fn redact(self, m: &mut Masker) -> HashMap<StreamKey, VecDeque<Vec<u8>>> {
        self.streams
            .into_iter()
            .map(|(key, s)| {
                let (source, _, hop) = key;
                let what = match s.role {
                    Role::Body { .. } => "response body bytes",
                    Role::Socket => "socket bytes",
                    Role::Other => "bytes",
                };
                m.set_place(&format!("source {source}"), &format!("{what} (hop {hop})"));
                let redacted = if self.over_budget {
                    Vec::new()
                } else {
                    redact_stream(m, &s.role, s.data)
                };
                (key, share_out(&redacted, &s.sizes))
            })
            .collect()
    }
}

impl Parts for Gather {
    fn member(&mut self, key: &str, value: Value, _m: &mut Masker) {
        if key == "constants" {
            self.tracker.constants(&value);
        }
    }

    fn event(&mut self, ev: Value, _m: &mut Masker) {
        let Some((key, role)) = self.tracker.observe(&ev) else {
            return;
        };
        let bytes = ev.get("params").map(logged_bytes).unwrap_or_default();
        let stream = self.streams.entry(key).or_insert_with(|| Stream {
            role,
            sizes: Vec::new(),
            data: Vec::new(),
        });
        stream.sizes.push(bytes.len());
        self.held += bytes.len() as u64;
        // Past the budget nothing more is held, and every stream is emptied:
        // bytes are never copied unread.
        if self.held > crate::limits::run_budget() {
            self.over_budget = true;
        }
        if !self.over_budget {
            stream.data.extend_from_slice(&bytes);
        }
    }
}

/// `redacted` cut into pieces in proportion to the original `sizes`.
fn share_out(redacted: &[u8], sizes: &[usize]) -> VecDeque<Vec<u8>> {
    let total: u128 = sizes.iter().map(|&s| s as u128).sum();
    let mut out = VecDeque::with_capacity(sizes.len());
    let mut cum: u128 = 0;
    let mut from = 0usize;
    for (i, &size) in sizes.iter().enumerate() {
        cum += size as u128;
        let to = if i + 1 == sizes.len() {
            redacted.len()
        } else {
            (redacted.len() as u128 * cum)
                .checked_div(total)
                .map_or(0, |to| usize::try_from(to).unwrap_or(redacted.len()))
        };
        let to = to.clamp(from, redacted.len());
        out.push_back(redacted[from..to].to_vec());
        from = to;
    }
    out
}

fn redact_stream(m: &mut Masker, role: &Role, data: Vec<u8>) -> Vec<u8> {
    if data.is_empty() {
        return data;
    }
    match role {
        Role::Body { mime, coding } => {
            let data = if coding.trim().is_empty() || coding.eq_ignore_ascii_case("identity") {
                data
            } else {
                content::decode(coding, data, content::MAX_DECODED).0
            };
            body(m, &data, mime)
        }
        Role::Socket => socket(m, &data),
        Role::Other => loose(m, &data),
    }
}

/// A body by its MIME type; one that is not UTF-8 becomes a notice.
fn body(m: &mut Masker, bytes: &[u8], mime: &str) -> Vec<u8> {
    if bytes.is_empty() {
        return Vec::new();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let redacted = har::body(m, text, mime);
            m.sweep(&redacted).unwrap_or(redacted).into_bytes()
        }
        Err(_) => UNINSPECTED.as_bytes().to_vec(),
    }
}

/// Bytes of unknown structure: text is redacted as free text; anything else
/// becomes empty.
fn loose(m: &mut Masker, bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let redacted = text::markup(m, text);
            m.sweep(&redacted).unwrap_or(redacted).into_bytes()
        }
        Err(_) => Vec::new(),
    }
}

/// One socket's bytes in one direction.
fn socket(m: &mut Masker, data: &[u8]) -> Vec<u8> {
    if is_tls(data) {
        // Ciphertext: nothing to inspect without keys, so nothing is shared.
        return Vec::new();
    }
    if data.starts_with(h2::PREFACE) || starts_with_settings(data) {
        return h2_frames(m, data);
    }
    match http1_start(data) {
        // A log that began mid-connection starts inside a message: what comes
        // before the first start line is redacted as loose bytes.
        Some(at) => {
            let mut out = loose(m, &data[..at]);
            out.extend(h1_messages(m, &data[at..]));
            out
        }
        None => loose(m, data),
    }
}

/// A TLS record header (RFC 8446 §5.1): content type 20–23, version 3.x.
fn is_tls(data: &[u8]) -> bool {
    matches!(data, [20..=23, 3, 0..=4, ..])
}

/// A server's first HTTP/2 frame: SETTINGS on stream 0 (RFC 9113 §3.4).
fn starts_with_settings(data: &[u8]) -> bool {
    frame::read_header(data)
        .is_some_and(|h| h.kind == Kind::Settings && h.stream == 0 && h.len % 6 == 0)
}

/// Where the first HTTP/1.x request or status line starts (RFC 9112 §3, §4):
/// `HTTP/1.x` opening a line, or ending `METHOD target ` (capitals, a space, a
/// target without spaces, a space).
fn http1_start(data: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(data, b"HTTP/1.").find_map(|at| {
        let start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |nl| nl + 1);
        if at == start {
            return Some(start);
        }
        let before = data[start..at].strip_suffix(b" ")?;
        let (method, target) = before.split_at(before.iter().position(|&b| b == b' ')?);
        let request = !method.is_empty()
            && method.iter().all(u8::is_ascii_uppercase)
            && target.len() > 1
            && !target[1..].contains(&b' ');
        request.then_some(start)
    })
}

/// HTTP/1.1 messages one after another (RFC 9112 §6.3 framing), each redacted.
fn h1_messages(m: &mut Masker, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let Some((head_len, body_at)) = message::head_end(rest) else {
            out.extend(loose(m, rest));
            break;
        };
        let (line, fields) = message::parse_head(&rest[..head_len]);
        let request = !line.starts_with("HTTP/");
        let after = &rest[body_at..];
        let chunked = message::is_chunked(
            fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
                .map(|(_, v)| v.as_str()),
        );
        let length = if chunked {
            match message::dechunk(after) {
                Dechunked::Complete(_, used) => used,
                Dechunked::Cut(_) | Dechunked::No => after.len(),
            }
        } else if let Some(n) =
            message::field(&fields, "content-length").and_then(message::content_length)
        {
            usize::try_from(n).unwrap_or(usize::MAX).min(after.len())
        } else if request || no_body(&line) {
            0
        } else {
            // A response without framing runs to the end of the connection.
            after.len()
        };
        let end = body_at + length;
        out.extend(h1_message(
            m,
            &rest[..body_at],
            &rest[body_at..end],
            request,
        ));
        rest = &rest[end..];
    }
    out
}

/// 1xx, 204 and 304 responses have no body (RFC 9112 §6.3).
fn no_body(status_line: &str) -> bool {
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    code.starts_with('1') || code == "204" || code == "304"
}

/// One HTTP/1.1 message, redacted as the SAZ rewriter redacts one (request
/// line, header policy, body de-chunked, decoded and stored with its
/// `Content-Length`), except that a binary body is replaced; then its head is
/// swept.
fn h1_message(m: &mut Masker, head: &[u8], body: &[u8], request: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(head.len() + body.len() + 2);
    data.extend_from_slice(head);
    data.extend_from_slice(body);
    let mut out = saz::message_with(m, &data, request, Binary::Replace);
    let head_len = message::head_end(&out).map_or(out.len(), |(_, body_at)| body_at);
    if let Ok(head) = std::str::from_utf8(&out[..head_len]) {
        if let Some(swept) = m.sweep(head) {
            out.splice(..head_len, swept.into_bytes());
        }
    }
    out
}

/// Largest DATA frame written (the default SETTINGS_MAX_FRAME_SIZE, RFC 9113 §6.5.2).
const MAX_FRAME: usize = 16_384;

/// HTTP/2 frames (RFC 9113 §4–6): each stream's DATA put together and redacted
/// as a body, written where its last DATA frame was; header blocks emptied.
fn h2_frames(m: &mut Masker, data: &[u8]) -> Vec<u8> {
    let preface = data.starts_with(h2::PREFACE);
    let mut rest = if preface {
        &data[h2::PREFACE.len()..]
    } else {
        data
    };
    let mut frames = Vec::new();
    while let Some((header, payload, next)) = frame::split(rest) {
        frames.push((header, payload));
        rest = next;
    }
    // What follows the last whole frame was cut off: it is left out.
    let mut bodies: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut last_data: HashMap<u32, usize> = HashMap::new();
    for (i, (h, payload)) in frames.iter().enumerate() {
        if h.kind == Kind::Data && h.stream != 0 {
            let data = frame::unpad(payload, h.flags).unwrap_or(&[]);
            bodies.entry(h.stream).or_default().extend_from_slice(data);
            last_data.insert(h.stream, i);
        }
    }
    let mut out = Vec::with_capacity(data.len());
    if preface {
        out.extend_from_slice(h2::PREFACE);
    }
    for (i, (h, payload)) in frames.iter().enumerate() {
        let end_stream = h.flags.0 & Flags::END_STREAM;
        match h.kind {
            Kind::Data if h.stream != 0 => {
                if last_data.get(&h.stream) != Some(&i) {
                    continue;
                }
                let raw = bodies.remove(&h.stream).unwrap_or_default();
                let redacted = body(m, &raw, "");
                let mut pieces: Vec<&[u8]> = redacted.chunks(MAX_FRAME).collect();
                if pieces.is_empty() {
                    pieces.push(&[]);
                }
                let n = pieces.len();
                for (k, piece) in pieces.into_iter().enumerate() {
                    let flags = if k + 1 == n { end_stream } else { 0 };
                    push_frame(&mut out, 0x0, flags, h.stream, piece);
                }
            }
            Kind::Headers => {
                let flags = end_stream | Flags::END_HEADERS;
                push_frame(&mut out, 0x1, flags, h.stream, &[]);
            }
            Kind::PushPromise => {
                let promised = frame::unpad(payload, h.flags)
                    .and_then(|p| p.get(..4))
                    .unwrap_or(&[0, 0, 0, 0]);
                push_frame(&mut out, 0x5, Flags::END_HEADERS, h.stream, promised);
            }
            // Folded into the emptied HEADERS / PUSH_PROMISE before it.
            Kind::Continuation => {}
            Kind::GoAway => {
                let ids = payload.get(..8).unwrap_or(payload);
                push_frame(&mut out, 0x7, h.flags.0, h.stream, ids);
            }
            Kind::Unknown(ty) => push_frame(&mut out, ty, h.flags.0, h.stream, &[]),
            // Numbers only: SETTINGS, PING, WINDOW_UPDATE, RST_STREAM, PRIORITY.
            _ => push_frame(&mut out, kind_byte(h.kind), h.flags.0, h.stream, payload),
        }
    }
    out
}

fn kind_byte(kind: Kind) -> u8 {
    match kind {
        Kind::Data => 0x0,
        Kind::Headers => 0x1,
        Kind::Priority => 0x2,
        Kind::RstStream => 0x3,
        Kind::Settings => 0x4,
        Kind::PushPromise => 0x5,
        Kind::Ping => 0x6,
        Kind::GoAway => 0x7,
        Kind::WindowUpdate => 0x8,
        Kind::Continuation => 0x9,
        Kind::Unknown(ty) => ty,
    }
}

/// A frame: 24-bit length, type, flags, stream (RFC 9113 §4.1).
fn push_frame(out: &mut Vec<u8>, ty: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(ty);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

// ---------------------------------------------------------------------------
// The second read: events written one at a time.

struct Writer<'w> {
    out: &'w mut dyn Write,
    error: Option<std::io::Error>,
    tracker: Tracker,
    streams: HashMap<StreamKey, VecDeque<Vec<u8>>>,
    hops: Option<HopCounter>,
    members: usize,
    events: usize,
    events_state: EventsState,
    warnings: Vec<String>,
}

impl Writer<'_> {
    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn key(&mut self, key: &str) {
        let sep: &[u8] = if self.members == 0 { b"{" } else { b",\n" };
        self.members += 1;
        self.write(sep);
        let k = serde_json::to_string(key).unwrap_or_default();
        self.write(k.as_bytes());
        self.write(b": ");
    }

    fn json(&mut self, value: &Value) {
        let text = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        self.write(&text);
    }

    /// Closes what the input left open.
    fn close(&mut self, ending: &Ending) {
        if matches!(ending, Ending::Cut(_)) && self.events_state == EventsState::Open {
            self.events_end();
        }
        self.write(b"\n}\n");
    }
}

impl Parts for Writer<'_> {
    fn member(&mut self, key: &str, mut value: Value, m: &mut Masker) {
        if key == "constants" {
            self.tracker.constants(&value);
            self.hops = Some(HopCounter::new(&value));
            constants(m, &mut value);
        } else {
            text::json_value(m, &mut value, None);
            sweep(m, &mut value);
        }
        self.key(key);
        self.json(&value);
    }

    fn events_start(&mut self) {
        self.events_state = EventsState::Open;
        self.key("events");
        self.write(b"[");
    }

    fn event(&mut self, mut ev: Value, m: &mut Masker) {
        if let Some(hops) = &mut self.hops {
            hops.event(&ev);
        }
        let stream = self.tracker.observe(&ev);
        let name = self.tracker.name(&ev).to_string();
        m.set_place(&format!("event {}", self.events), "");
        if let Value::Object(map) = &mut ev {
            for (key, value) in map.iter_mut() {
                m.set_field(key);
                match key.as_str() {
                    "params" => {
                        let bytes = stream.as_ref().map(|(key, _)| {
                            self.streams
                                .get_mut(key)
                                .and_then(VecDeque::pop_front)
                                .unwrap_or_default()
                        });
                        params(m, &name, value, bytes);
                    }
                    "time" | "type" | "phase" | "source" => plain(m, value),
                    _ => {
                        text::json_value(m, value, Some(key));
                        sweep(m, value);
                    }
                }
            }
        } else {
            text::json_value(m, &mut ev, None);
            sweep(m, &mut ev);
        }
        self.write(if self.events == 0 { b"\n" } else { b",\n" });
        self.events += 1;
        self.json(&ev);
    }

    fn events_end(&mut self) {
        self.events_state = EventsState::Closed;
        self.write(if self.events == 0 { b"]" } else { b"\n]" });
    }

    fn skipped(&mut self, why: String) {
        self.warnings.push(why);
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Members of `constants` that are tables of numbers or the log's own settings,
/// which the reader and the viewer need as they are.
const PLAIN_CONSTANTS: &[&str] = &[
    "logEventTypes",
    "logSourceType",
    "logEventPhase",
    "logFormatVersion",
    "logCaptureMode",
    "timeTickOffset",
    "netError",
    "loadFlag",
    "loadState",
    "addressFamily",
    "certStatusFlag",
    "certVerifierFlags",
    "certPathBuilderDigestPolicy",
    "certVerifyFlags",
    "dnsQueryType",
    "secureDnsMode",
    "quicError",
    "quicRstStreamError",
    "netInfoSources",
];

fn constants(m: &mut Masker, c: &mut Value) {
    let Value::Object(map) = c else {
        return plain(m, c);
    };
    for (key, value) in map.iter_mut() {
        if PLAIN_CONSTANTS.contains(&key.as_str()) {
            plain(m, value);
        } else {
            text::json_value(m, value, Some(key));
            sweep(m, value);
        }
    }
}

/// A value made of numbers and names (times, ids, types): kept when a string is
/// only digits, signs and dots; otherwise swept.
fn plain(m: &mut Masker, value: &mut Value) {
    match value {
        Value::String(s) => {
            let numeric = s.bytes().all(|b| b.is_ascii_digit() || b"-+.".contains(&b));
            if !numeric {
                if let Some(new) = m.sweep(s) {
                    *s = new;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| plain(m, v)),
        Value::Object(map) => map.values_mut().for_each(|v| plain(m, v)),
        _ => {}
    }
}

/// An event's params; `bytes` is this event's share of its redacted stream.
fn params(m: &mut Masker, event: &str, value: &mut Value, bytes: Option<Vec<u8>>) {
    let Value::Object(map) = value else {
        text::json_value(m, value, None);
        return sweep(m, value);
    };
    // Bytes no stream claimed (an event without a source id) are none.
    let logs_bytes = map.contains_key("bytes") || map.contains_key("hex_encoded_bytes");
    let bytes = if logs_bytes {
        Some(bytes.unwrap_or_default())
    } else {
        bytes
    };
    let cookie = event
        .contains("COOKIE")
        .then(|| map.get("name").and_then(Value::as_str).map(str::to_string))
        .flatten();
    for (key, v) in map.iter_mut() {
        m.set_field(&format!("params.{key}"));
        match key.as_str() {
            "bytes" | "hex_encoded_bytes" => {
                let hex = key == "hex_encoded_bytes";
                *v = Value::String(encode(bytes.as_deref().unwrap_or_default(), hex));
                continue;
            }
            "headers" => header_list(m, v),
            "line" => map_str(v, |s| saz::request_line(m, s)),
            "value" if cookie.is_some() => {
                let name = cookie.as_deref().unwrap_or("");
                if !cookie_is_kept(name) {
                    map_str(v, |s| {
                        if is_stripped(s) {
                            s.to_string()
                        } else {
                            m.secret(SecretKind::Cookie, s)
                        }
                    });
                }
            }
            k if is_url_param(k) && v.is_string() => map_str(v, |s| text::url(m, s)),
            k => text::json_value(m, v, Some(k)),
        }
        sweep(m, v);
    }
    if let Some(bytes) = &bytes {
        if map.get("byte_count").is_some_and(Value::is_number) {
            map.insert("byte_count".into(), Value::from(bytes.len()));
        }
    }
}

fn is_url_param(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("url") || k == "location" || k == "referrer" || k == "initiator"
}

fn encode(bytes: &[u8], hex: bool) -> String {
    if hex {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    } else {
        STANDARD.encode(bytes)
    }
}

/// A header-list param in any of its forms.
fn header_list(m: &mut Masker, list: &mut Value) {
    match list {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(line) => {
                        let new = header_line(m, line);
                        *line = new;
                    }
                    Value::Array(pair) if pair.len() == 2 => {
                        let name = pair[0].as_str().unwrap_or("").to_string();
                        map_str(&mut pair[1], |s| header_value(m, &name, s));
                    }
                    other => text::json_value(m, other, None),
                }
            }
        }
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                map_str(v, |s| header_value(m, name, s));
            }
        }
        other => text::json_value(m, other, None),
    }
}

/// `name: value` (pseudo-headers start with `:`), or a status line.
fn header_line(m: &mut Masker, line: &str) -> String {
    if line.starts_with("HTTP/") {
        return text::free_text(m, line);
    }
    let from = usize::from(line.starts_with(':'));
    match line[from..].find(':') {
        Some(i) => {
            let i = i + from;
            let (name, rest) = (&line[..i], &line[i + 1..]);
            let lead = &rest[..rest.len() - rest.trim_start().len()];
            format!("{name}:{lead}{}", header_value(m, name.trim(), rest.trim()))
        }
        None => text::free_text(m, line),
    }
}

/// One header value by the HAR header policy; Chromium's placeholder for a
/// stripped value stays, and `:path` is a URL.
fn header_value(m: &mut Masker, name: &str, value: &str) -> String {
    if is_stripped(value) {
        return value.to_string();
    }
    if name.eq_ignore_ascii_case(":path") {
        return text::url(m, value);
    }
    har::header_value(m, name, value)
}

// ---------------------------------------------------------------------------
// The streaming walk: `{"constants": {...}, "events": [{...}, ...], ...}`.

/// What a read does with the document's parts.
trait Parts {
    /// A top-level member other than `events`, parsed.
    fn member(&mut self, key: &str, value: Value, m: &mut Masker);
    fn events_start(&mut self) {}
    fn event(&mut self, ev: Value, m: &mut Masker);
    fn events_end(&mut self) {}
    /// An event left out, and why.
    fn skipped(&mut self, _why: String) {}
    /// Writing failed: stop reading.
    fn failed(&self) -> bool {
        false
    }
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum EventsState {
    #[default]
    NotYet,
    Open,
    Closed,
}

struct Walk<'a> {
    parts: &'a mut dyn Parts,
    masker: &'a mut Masker,
    constants: bool,
    events: EventsState,
    index: usize,
}

fn walk(input: &Input, parts: &mut dyn Parts, masker: &mut Masker) -> Result<Ending, RewriteError> {
    let mut reader = BufReader::with_capacity(1 << 16, input.reader());
    let head = reader
        .fill_buf()
        .map_err(|e| RewriteError::Malformed(e.to_string()))?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    let mut state = Walk {
        parts,
        masker,
        constants: false,
        events: EventsState::NotYet,
        index: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = (&mut state).deserialize(&mut de).and_then(|()| de.end());
    if state.parts.failed() {
        // The writer keeps the error; the caller reports it.
        return Ok(Ending::Whole);
    }
    match result {
        Ok(()) if state.constants && state.events != EventsState::NotYet => Ok(Ending::Whole),
        Ok(()) => Err(RewriteError::Malformed(if state.constants {
            "this NetLog has no \"events\" list".into()
        } else {
            "this JSON has no \"constants\" object before its events, so it is not a NetLog".into()
        })),
        Err(e) if state.events != EventsState::NotYet => {
            let what = if e.is_eof() {
                "the NetLog stops without closing (the browser did not finish writing it)"
                    .to_string()
            } else {
                // serde's message without its own place, which follows.
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                format!("malformed JSON ({message})")
            };
            Ok(Ending::Cut(format!(
                "{what} at line {} column {}",
                e.line(),
                e.column()
            )))
        }
        Err(e) => Err(RewriteError::Malformed(format!(
            "not a readable NetLog: {e}"
        ))),
    }
}

impl<'de> DeserializeSeed<'de> for &mut Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NetLog object {\"constants\": ..., \"events\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "events" if !self.constants => {
                    return Err(de::Error::custom(
                        "\"events\" come before \"constants\"; event types cannot be named",
                    ))
                }
                "events" => {
                    self.events = EventsState::Open;
                    self.parts.events_start();
                    map.next_value_seed(Events(&mut *self))?;
                    self.parts.events_end();
                    self.events = EventsState::Closed;
                }
                _ => {
                    let raw: Box<RawValue> = map.next_value()?;
                    let value = match har::parse_capped(raw.get()) {
                        Ok(v) => v,
                        Err(Left::TooLarge(what)) => {
                            return Err(de::Error::custom(format!(
                                "`{key}` {what}, more than the {} MiB a member may hold",
                                crate::limits::har_entry() >> 20
                            )))
                        }
                        Err(Left::Unparsed(e)) => return Err(de::Error::custom(e)),
                    };
                    self.constants |= key == "constants";
                    self.parts.member(&key, value, self.masker);
                }
            }
            if self.parts.failed() {
                return Err(de::Error::custom("cannot write the output"));
            }
        }
        Ok(())
    }
}

struct Events<'a, 'b>(&'a mut Walk<'b>);

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
        let walk = self.0;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let index = walk.index;
            walk.index += 1;
            match har::parse_capped(raw.get()) {
                Ok(ev) => {
                    drop(raw);
                    walk.parts.event(ev, walk.masker);
                }
                Err(Left::TooLarge(what)) => walk.parts.skipped(format!(
                    "event {index} {what}, more than the {} MiB an event may hold; it was left out of the copy",
                    crate::limits::har_entry() >> 20
                )),
                Err(Left::Unparsed(e)) => walk.parts.skipped(format!(
                    "event {index} could not be parsed ({e}); it was left out of the copy"
                )),
            }
            if walk.parts.failed() {
                return Err(de::Error::custom("cannot write the output"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_out_keeps_every_byte_in_order() {
        let pieces = share_out(b"abcdefghij", &[3, 0, 7]);
        assert_eq!(pieces.iter().map(Vec::len).sum::<usize>(), 10);
        assert_eq!(
            pieces.iter().flatten().copied().collect::<Vec<u8>>(),
            b"abcdefghij"
        );
        assert_eq!(pieces[1], b"");
        assert_eq!(
            share_out(b"", &[4, 4]),
            VecDeque::from(vec![vec![], vec![]])
        );
    }

    #[test]
    fn h2_frames_keep_structure_and_drop_header_blocks() {
        let mut sent = h2::PREFACE.to_vec();
        push_frame(&mut sent, 0x4, 0, 0, &[]);
        push_frame(&mut sent, 0x1, 0x4, 1, b"\x82\x84secret-cookie");
        push_frame(&mut sent, 0x0, 0, 1, b"password=Sample-Pa");
        push_frame(&mut sent, 0x0, 0x1, 1, b"ssw0rd!&x=1");
        let mut m = Masker::new();
        let out = h2_frames(&mut m, &sent);
        assert!(out.starts_with(h2::PREFACE));
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("secret-cookie"), "{text}");
        assert!(!text.contains("Sample-Passw0rd!"), "{text}");
        assert!(text.contains("x=1"), "{text}");
        // SETTINGS, HEADERS, one DATA with END_STREAM.
        let mut rest = &out[h2::PREFACE.len()..];
        let mut kinds = Vec::new();
        while let Some((h, _, next)) = frame::split(rest) {
            kinds.push((h.kind, h.flags.0));
            rest = next;
        }
        assert!(rest.is_empty());
        assert_eq!(
            kinds,
            vec![(Kind::Settings, 0), (Kind::Headers, 0x4), (Kind::Data, 0x1)]
        );
    }

    #[test]
    fn http1_messages_are_redacted_one_by_one() {
        let sent = b"POST /token?code=abcdefgh123 HTTP/1.1\r\nCookie: ESTSAUTH=verysecretcookie\r\nTransfer-Encoding: chunked\r\n\r\n9\r\npassword=\r\n5\r\nhunt2\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut m = Masker::new();
        let out = String::from_utf8(socket(&mut m, sent)).unwrap();
        assert!(!out.contains("abcdefgh123"), "{out}");
        assert!(!out.contains("verysecretcookie"), "{out}");
        assert!(!out.contains("hunt2"), "{out}");
        assert!(
            out.contains("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"),
            "{out}"
        );
        assert!(
            !out.to_ascii_lowercase().contains("transfer-encoding"),
            "{out}"
        );
    }

    #[test]
    fn http1_responses_are_decoded_and_redacted() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"access_token":"GzippedTokenValue42","token_type":"Bearer"}"#)
            .unwrap();
        let body = gz.finish().unwrap();
        let mut received = format!(
            "HTTP/1.1 200 OK\r\nSet-Cookie: ESTSAUTH=SetCookieSecret9; path=/\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        received.extend(body);
        received.extend(b"HTTP/1.1 204 No Content\r\n\r\n");
        let mut m = Masker::new();
        let out = String::from_utf8(socket(&mut m, &received)).unwrap();
        assert!(!out.contains("GzippedTokenValue42"), "{out}");
        assert!(!out.contains("SetCookieSecret9"), "{out}");
        assert!(out.contains("\"token_type\":\"Bearer\""), "{out}");
        assert!(
            !out.to_ascii_lowercase().contains("content-encoding"),
            "{out}"
        );
        assert!(out.ends_with("HTTP/1.1 204 No Content\r\n\r\n"), "{out}");
    }

    #[test]
    fn a_connection_logged_from_its_middle_is_read_from_its_first_start_line() {
        let sent = b"d=1&password=TailOfBody77\r\nGET /a?code=MidCode1234 HTTP/1.1\r\nCookie: x=CookieMid5678\r\n\r\n";
        assert_eq!(http1_start(sent), Some(27));
        assert_eq!(http1_start(b"no start line HTTP/1.1 here"), None);
        let mut m = Masker::new();
        let out = String::from_utf8(socket(&mut m, sent)).unwrap();
        for secret in ["TailOfBody77", "MidCode1234", "CookieMid5678"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("GET /a?code="), "{out}");
    }

    #[test]
    fn tls_and_binary_socket_bytes_are_not_shared() {
        let mut m = Masker::new();
        assert!(socket(&mut m, &[0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]).is_empty());
        assert!(socket(&mut m, &[0xff, 0xfe, 0x00, 0x80]).is_empty());
        assert_eq!(
            body(&mut m, &[0xff, 0xd8, 0xff], "image/jpeg"),
            UNINSPECTED.as_bytes()
        );
    }

    #[test]
    fn header_lines_keep_placeholders_and_mask_values() {
        let mut m = Masker::new();
        assert_eq!(
            header_line(&mut m, "cookie: [42 bytes were stripped]"),
            "cookie: [42 bytes were stripped]"
        );
        let auth = header_line(&mut m, "Authorization: Bearer abcdefghijklmnopqrstuvwxyz");
        assert!(auth.starts_with("Authorization: Bearer "), "{auth}");
        assert!(!auth.contains("abcdefghijklmnop"), "{auth}");
        let path = header_line(&mut m, ":path: /common/oauth2/token?code=zyxwvutsrq987");
        assert!(!path.contains("zyxwvutsrq987"), "{path}");
    }
}
