//! HTTP/2 (RFC 9113) from the two reassembled (and, over TLS, decrypted) byte
//! streams of one connection.
//!
//! * **Preface.** The client's connection preface (§3.4) is skipped when present; a
//!   stream that starts with a frame instead is a capture started mid-connection,
//!   and HPACK then tolerates unknown dynamic-table entries ([`super::hpack`]).
//! * **Frames** (§4.1, §6): DATA, HEADERS and CONTINUATION (header blocks are
//!   reassembled before decoding, §4.3), PUSH_PROMISE, RST_STREAM, SETTINGS, PING,
//!   GOAWAY, PRIORITY, WINDOW_UPDATE; padding (PADDED) and the priority fields of
//!   HEADERS are removed. Unknown frame types are ignored (§5.5).
//! * **Exchanges.** Each stream is one [`Exchange`]: the pseudo-headers `:method`,
//!   `:scheme`, `:authority` and `:path` make the absolute URL (§8.3.1), `:status`
//!   the status (§8.3.2; 1xx interim responses are skipped), DATA frames the bodies,
//!   decoded with the same `Content-Encoding` handling as HTTP/1.1.
//! * **h2c upgrade** (RFC 7540 §3.2, RFC 9113 §3.1). [`Connection::upgraded`]
//!   continues a cleartext HTTP/1.1 connection after a `101` naming `h2c`: the
//!   HTTP/1.1 request becomes stream 1, half-closed (local), answered by HEADERS
//!   and DATA on stream 1; its exchange keeps the HTTP/1.1 request (method, URL
//!   with scheme `http`, headers, body, version) with the HTTP/2 response. The
//!   server's SETTINGS and the client's preface follow as usual.
//! * **Memory.** A decoded header list is capped per block ([`hpack`]) and per
//!   message (headers and trailers, [`crate::limits::HEADER_LIST`]); the lists of
//!   open streams, and the exchanges built with their decoded bodies, are charged
//!   to the trace's [`Allowance`]. A list that does not fit is dropped and counted
//!   as `h2_header_list_too_large`.
//! * **Damage.** Missing bytes break frame boundaries: that direction stops, its open
//!   streams are finished with an error, and the problem is counted in `warnings`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

pub mod frame;

pub use frame::PREFACE;

use self::frame::{Flags, FrameHeader, Kind};
use super::hpack::{self, Field};
use super::{Body, Exchange, Header, Headers, Origin, Request, Response, Timing, GAP_ERROR};
use crate::limits::{Allowance, HEADER_LIST};
use crate::stream::Dir;

/// A kind of damage in an HTTP/2 connection, counted in [`Connection::warnings`]
/// (the capture layer turns each into a reader warning of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    /// A frame that breaks the framing rules: bad padding or lengths, or a
    /// CONTINUATION out of order (§4.1, §6.10).
    FrameError,
    /// A header block HPACK could not decode (RFC 7541).
    HpackError,
    /// A header field naming a dynamic-table entry sent before the capture began.
    HpackUnknownIndex,
    /// More streams open at once than [`MAX_STREAMS`]; the oldest was finished.
    TooManyStreams,
    /// A response on a stream whose request is not in the capture.
    ResponseWithoutRequest,
    /// Missing bytes broke the frames of one direction, read no further.
    BytesMissing,
    /// A decoded header list over the cap (RFC 7541 §4.1 size): its fields
    /// past the cap were not kept.
    HeaderListTooLarge,
}

impl Problem {
    /// Every problem.
    pub const ALL: &'static [Problem] = &[
        Problem::FrameError,
        Problem::HpackError,
        Problem::HpackUnknownIndex,
        Problem::TooManyStreams,
        Problem::ResponseWithoutRequest,
        Problem::BytesMissing,
        Problem::HeaderListTooLarge,
    ];

    /// Plain words for the problem, for the reader's warning message.
    pub fn what(self) -> &'static str {
        match self {
            Problem::FrameError => "HTTP/2 frames broke the framing rules and were skipped, or stopped the reading of their direction",
            Problem::HpackError => "HTTP/2 header blocks could not be decoded (HPACK) and were dropped",
            Problem::HpackUnknownIndex => "HTTP/2 header fields referred to table entries sent before the capture began",
            Problem::TooManyStreams => "HTTP/2 connections had more streams open than aadtrace keeps; the oldest were closed early",
            Problem::ResponseWithoutRequest => "HTTP/2 responses had no request in the capture",
            Problem::BytesMissing => "HTTP/2 connection directions lost their frame boundaries to missing bytes and were read no further",
            Problem::HeaderListTooLarge => "HTTP/2 header lists were larger than aadtrace keeps (256 KiB); the fields past the limit were dropped",
        }
    }
}

/// Largest frame payload accepted (the protocol maximum is 2^24 - 1).
const MAX_FRAME: usize = 1 << 24;
/// Largest body kept per message; the rest is counted, not stored.
const MAX_BODY: usize = 64 << 20;
/// Largest header block (HEADERS + CONTINUATION) buffered.
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// Streams open at once; beyond it the oldest is finished.
const MAX_STREAMS: usize = 10_000;

#[derive(Debug, Default)]
struct Msg {
    headers: Vec<Field>,
    body: Vec<u8>,
    ended: bool,
    first_ts: i64,
    last_ts: i64,
    first_frame: u64,
    gap: bool,
    /// HTTP/1.x version of a request sent before an h2c upgrade.
    h1_version: Option<String>,
    /// §4.1 size of `headers`, charged to the budget.
    header_size: usize,
    /// Body capacity sized in advance from Content-Length, taken from the budget.
    reserved: usize,
}

impl Msg {
    /// What the message has taken from the budget.
    fn held(&self) -> usize {
        self.header_size + self.reserved
    }
}

#[derive(Debug, Default)]
struct Stream {
    req: Option<Msg>,
    resp: Option<Msg>,
    reset: Option<(bool, u32)>,
    pushed: bool,
}

/// A header block (§4.3): its stream, the fragments so far, and what the
/// frame that opened it said.
#[derive(Debug)]
struct HeaderBlock {
    stream: u32,
    bytes: Vec<u8>,
    end_stream: bool,
    /// The stream a PUSH_PROMISE reserves.
    promised: Option<u32>,
}

/// Where a frame was in the capture: the packet and time of its first byte.
#[derive(Debug, Clone, Copy)]
struct At {
    frame: u64,
    ts: i64,
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    /// Header block being assembled from HEADERS or PUSH_PROMISE and CONTINUATION.
    block: Option<HeaderBlock>,
    hpack: hpack::Decoder,
    preface_checked: bool,
    broken: bool,
    /// Frame and time of the first byte still buffered.
    frame: u64,
    ts: i64,
}

/// An HTTP/2 connection being parsed.
#[derive(Debug)]
pub struct Connection {
    input: usize,
    conn: usize,
    server: String,
    server_ip: String,
    scheme: &'static str,
    sides: [Side; 2],
    streams: BTreeMap<u32, Stream>,
    done: Vec<Exchange<'static>>,
    /// Never set: HTTP/2 is chosen by ALPN or preface, not guessed.
    pub not_http: bool,
    /// Problems seen, with how often.
    pub warnings: BTreeMap<Problem, u64>,
    /// Shared with the other parsers of the trace (see [`Connection::with_budget`]).
    budget: Allowance,
}

impl Connection {
    /// `scheme` is `https` for decrypted TLS, `http` for prior-knowledge h2c.
    pub fn new(
        input: usize,
        conn: usize,
        server: std::net::SocketAddr,
        scheme: &'static str,
    ) -> Self {
        Connection {
            input,
            conn,
            server: super::authority_of(server, scheme),
            server_ip: server.ip().to_string(),
            scheme,
            sides: Default::default(),
            streams: BTreeMap::new(),
            done: Vec::new(),
            not_http: false,
            warnings: BTreeMap::new(),
            budget: Allowance::default(),
        }
    }

    /// Draws memory from `budget` (shared by the trace's parsers) instead of an
    /// allowance of its own. Whoever takes an exchange gives back its
    /// [`Exchange::held_bytes`].
    pub fn with_budget(mut self, budget: Allowance) -> Self {
        self.budget = budget;
        self
    }

    /// The HTTP/2 connection that follows a cleartext HTTP/1.1 request upgraded by
    /// a `101` naming `h2c` (RFC 7540 §3.2): the request is stream 1, half-closed
    /// (local), and its response comes as HEADERS/DATA on stream 1. The bytes that
    /// followed the upgrade in each direction are fed here, in capture order.
    pub fn upgraded(
        input: usize,
        conn: usize,
        server: std::net::SocketAddr,
        up: super::h1::H2cUpgrade,
        budget: Allowance,
    ) -> Self {
        let mut c = Self::new(input, conn, server, "http").with_budget(budget);
        // Absolute form (`http://host/path`): its authority wins over Host.
        let (authority, path) = match up
            .target
            .strip_prefix("http://")
            .or_else(|| up.target.strip_prefix("https://"))
        {
            Some(rest) => match rest.find(['/', '?']) {
                Some(i) if rest.as_bytes()[i] == b'/' => {
                    (rest[..i].to_string(), rest[i..].to_string())
                }
                Some(i) => (rest[..i].to_string(), format!("/{}", &rest[i..])),
                None => (rest.to_string(), "/".to_string()),
            },
            None => (up.authority.clone(), up.target.clone()),
        };
        let mut headers: Vec<Field> = vec![
            (":method".to_string(), up.method),
            (":scheme".to_string(), "http".to_string()),
            (":authority".to_string(), authority),
            (":path".to_string(), path),
        ];
        headers.extend(up.headers);
        c.streams.insert(
            1,
            Stream {
                req: Some(Msg {
                    headers,
                    body: up.body,
                    ended: true,
                    first_ts: up.first_ts,
                    last_ts: up.last_ts,
                    first_frame: up.first_frame,
                    gap: up.body_gap,
                    h1_version: Some(up.version).filter(|v| !v.is_empty()),
                    // An HTTP/1.1 head: bounded by its own cap, not charged.
                    header_size: 0,
                    // The HTTP/1.1 parser gave its reservation back.
                    reserved: 0,
                }),
                ..Stream::default()
            },
        );
        // Both directions in capture order, so a request precedes its response.
        let mut segs: Vec<(bool, super::h1::Segment)> = up
            .client_rest
            .into_iter()
            .map(|s| (true, s))
            .chain(up.server_rest.into_iter().map(|s| (false, s)))
            .collect();
        segs.sort_by_key(|(_, s)| (s.ts, s.frame));
        for (client, s) in segs {
            if client {
                c.client_data(&s.data, s.frame, s.ts);
            } else {
                c.server_data(&s.data, s.frame, s.ts);
            }
        }
        if up.client_gap {
            c.gap(Dir::ToServer, 0);
        }
        if up.server_gap {
            c.gap(Dir::ToClient, 0);
        }
        c
    }

    fn warn(&mut self, code: Problem) {
        *self.warnings.entry(code).or_default() += 1;
    }

    /// Bytes from the client.
    pub fn client_data(&mut self, data: &[u8], frame: u64, ts: i64) {
        self.data(Dir::ToServer, data, frame, ts);
    }

    /// Bytes from the server.
    pub fn server_data(&mut self, data: &[u8], frame: u64, ts: i64) {
        self.data(Dir::ToClient, data, frame, ts);
    }

    /// Frames are read straight from `data` when nothing is buffered, and from the
    /// side's buffer (taken out while frames are handled) otherwise, so a payload is
    /// never copied on its way to a message body.
    fn data(&mut self, dir: Dir, data: &[u8], frame: u64, ts: i64) {
        let side = &mut self.sides[dir.index()];
        if side.broken {
            return;
        }
        let mut buf = std::mem::take(&mut side.buf);
        let buffered = !buf.is_empty();
        if !buffered {
            side.frame = frame;
            side.ts = ts;
        }
        let input: &[u8] = if buffered {
            buf.extend_from_slice(data);
            &buf
        } else {
            data
        };
        let mut pos = 0;
        if dir == Dir::ToServer && !self.sides[dir.index()].preface_checked {
            let n = input.len().min(PREFACE.len());
            if input[..n] != PREFACE[..n] {
                self.sides[dir.index()].preface_checked = true;
                self.sides[dir.index()].hpack.partial = true;
                self.sides[1].hpack.partial = true;
            } else if n == PREFACE.len() {
                self.sides[dir.index()].preface_checked = true;
                pos = PREFACE.len();
            } else {
                self.sides[dir.index()].buf = input.to_vec();
                return;
            }
        }
        let at = At { frame, ts };
        while let Some(header) = frame::read_header(&input[pos..]) {
            if header.len > MAX_FRAME {
                self.break_side(dir, Problem::FrameError);
                return;
            }
            let Some((_, payload, _)) = frame::split(&input[pos..]) else {
                break;
            };
            pos += frame::HEADER_LEN + header.len;
            self.frame(dir, header, payload, at);
            if self.sides[dir.index()].broken {
                return;
            }
        }
        let rest = if buffered {
            buf.drain(..pos);
            buf
        } else {
            input[pos..].to_vec()
        };
        let side = &mut self.sides[dir.index()];
        if !rest.is_empty() && pos > 0 {
            side.frame = frame;
            side.ts = ts;
        }
        side.buf = rest;
    }

    fn frame(&mut self, dir: Dir, h: FrameHeader, p: &[u8], at: At) {
        // A header block in progress admits only its CONTINUATION frames (§6.10).
        if self.sides[dir.index()].block.is_some() && h.kind != Kind::Continuation {
            self.warn(Problem::FrameError);
            self.sides[dir.index()].block = None;
        }
        match h.kind {
            Kind::Data => self.data_frame(dir, h, p, at.ts),
            Kind::Headers => {
                let Some(mut frag) = frame::unpad(p, h.flags) else {
                    self.warn(Problem::FrameError);
                    return;
                };
                if h.flags.has(Flags::PRIORITY) {
                    // PRIORITY fields: exclusive bit + dependency (4), weight (1).
                    if frag.len() < 5 {
                        self.warn(Problem::FrameError);
                        return;
                    }
                    frag = &frag[5..];
                }
                let block = HeaderBlock {
                    stream: h.stream,
                    bytes: frag.to_vec(),
                    end_stream: h.flags.has(Flags::END_STREAM),
                    promised: None,
                };
                self.header_fragment(dir, block, h.flags.has(Flags::END_HEADERS), at);
            }
            Kind::RstStream if p.len() >= 4 => {
                let code = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                if let Some(s) = self.streams.get_mut(&h.stream) {
                    s.reset = Some((dir == Dir::ToServer, code));
                    self.finish_stream(h.stream);
                }
            }
            Kind::PushPromise => {
                let Some(frag) = frame::unpad(p, h.flags).filter(|f| f.len() >= 4) else {
                    self.warn(Problem::FrameError);
                    return;
                };
                let promised =
                    u32::from_be_bytes([frag[0], frag[1], frag[2], frag[3]]) & 0x7fff_ffff;
                let block = HeaderBlock {
                    stream: h.stream,
                    bytes: frag[4..].to_vec(),
                    end_stream: false,
                    promised: Some(promised),
                };
                self.header_fragment(dir, block, h.flags.has(Flags::END_HEADERS), at);
            }
            Kind::Continuation => self.continuation(dir, h, p, at),
            // PRIORITY, SETTINGS, PING, GOAWAY, WINDOW_UPDATE and unknown types carry
            // nothing an exchange needs.
            _ => {}
        }
    }

    fn data_frame(&mut self, dir: Dir, h: FrameHeader, p: &[u8], ts: i64) {
        let Some(data) = frame::unpad(p, h.flags) else {
            self.warn(Problem::FrameError);
            return;
        };
        let Some(msg) = msg_of(&mut self.streams, dir, h.stream) else {
            return;
        };
        if msg.body.capacity() == 0 {
            if let Some(length) =
                header(&msg.headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok())
            {
                msg.reserved = super::h1::presize(&mut msg.body, length, &self.budget);
            }
        }
        let room = MAX_BODY.saturating_sub(msg.body.len());
        msg.body.extend_from_slice(&data[..data.len().min(room)]);
        msg.last_ts = ts;
        if h.flags.has(Flags::END_STREAM) {
            msg.ended = true;
            self.ended(dir, h.stream);
        }
    }

    fn continuation(&mut self, dir: Dir, h: FrameHeader, p: &[u8], at: At) {
        let Some(block) = self.sides[dir.index()].block.as_mut() else {
            self.warn(Problem::FrameError);
            return;
        };
        if block.stream != h.stream || block.bytes.len() + p.len() > MAX_HEADER_BLOCK {
            self.sides[dir.index()].block = None;
            self.warn(Problem::FrameError);
            return;
        }
        block.bytes.extend_from_slice(p);
        if h.flags.has(Flags::END_HEADERS) {
            if let Some(block) = self.sides[dir.index()].block.take() {
                self.header_block(dir, block, at);
            }
        }
    }

    fn header_fragment(&mut self, dir: Dir, block: HeaderBlock, end_headers: bool, at: At) {
        if end_headers {
            self.header_block(dir, block, at);
        } else {
            self.sides[dir.index()].block = Some(block);
        }
    }

    fn header_block(&mut self, dir: Dir, block: HeaderBlock, At { frame, ts }: At) {
        let HeaderBlock {
            stream: id,
            bytes,
            end_stream,
            promised,
        } = block;
        let side = &mut self.sides[dir.index()];
        let before = side.hpack.unknown_indices;
        let cut_before = side.hpack.lists_cut;
        let fields = match side.hpack.decode(&bytes) {
            Ok(f) => f,
            Err(_) => {
                // The dynamic table may now differ from the peer's: later blocks
                // can show placeholders, and are still decoded.
                side.hpack.partial = true;
                self.warn(Problem::HpackError);
                return;
            }
        };
        let unknown = side.hpack.unknown_indices - before;
        let cut = side.hpack.lists_cut - cut_before;
        for _ in 0..unknown {
            self.warn(Problem::HpackUnknownIndex);
        }
        if cut > 0 {
            self.warn(Problem::HeaderListTooLarge);
        }
        let Some((fields, size)) = self.admit_fields(dir, id, promised, fields) else {
            return;
        };
        if let Some(pid) = promised {
            self.promise(pid, fields, size, frame, ts);
            return;
        }
        let client = dir == Dir::ToServer;
        let s = self.stream(id);
        let slot = if client { &mut s.req } else { &mut s.resp };
        match slot {
            None => {
                if !client && is_interim(&fields) {
                    self.budget.give(size);
                    return;
                }
                *slot = Some(Msg {
                    headers: fields,
                    header_size: size,
                    ended: end_stream,
                    first_ts: ts,
                    last_ts: ts,
                    first_frame: frame,
                    ..Msg::default()
                });
            }
            Some(m) => {
                // Trailers (§8.1): kept with the headers.
                m.headers.extend(fields);
                m.header_size += size;
                m.last_ts = ts;
                m.ended |= end_stream;
            }
        }
        if end_stream {
            self.ended(dir, id);
        }
    }

    /// PUSH_PROMISE: the promised request, answered on `pid` (§8.4).
    fn promise(&mut self, pid: u32, fields: Vec<Field>, size: usize, frame: u64, ts: i64) {
        let s = self.stream(pid);
        s.pushed = true;
        if let Some(old) = s.req.take() {
            let n = old.held();
            self.budget.give(n);
        }
        let s = self.stream(pid);
        s.req = Some(Msg {
            headers: fields,
            header_size: size,
            ended: true,
            first_ts: ts,
            last_ts: ts,
            first_frame: frame,
            ..Msg::default()
        });
    }

    /// Charges a decoded list to the budget, within the per-message cap (headers
    /// and trailers together); a list that does not fit is dropped and counted.
    fn admit_fields(
        &mut self,
        dir: Dir,
        id: u32,
        promised: Option<u32>,
        fields: Vec<Field>,
    ) -> Option<(Vec<Field>, usize)> {
        let size: usize = fields.iter().map(hpack::field_size).sum();
        let held = match promised {
            Some(_) => 0,
            None => self.msg_mut(dir, id).map_or(0, |m| m.header_size),
        };
        if held + size > HEADER_LIST {
            self.warn(Problem::HeaderListTooLarge);
            return None;
        }
        if !self.budget.take(size) {
            self.budget.cut("HTTP/2 header lists dropped");
            return None;
        }
        Some((fields, size))
    }

    fn stream(&mut self, id: u32) -> &mut Stream {
        if !self.streams.contains_key(&id) && self.streams.len() >= MAX_STREAMS {
            if let Some(&oldest) = self.streams.keys().next() {
                self.warn(Problem::TooManyStreams);
                self.finish_stream(oldest);
            }
        }
        self.streams.entry(id).or_default()
    }

    fn msg_mut(&mut self, dir: Dir, id: u32) -> Option<&mut Msg> {
        msg_of(&mut self.streams, dir, id)
    }

    fn ended(&mut self, dir: Dir, id: u32) {
        if dir == Dir::ToClient {
            self.finish_stream(id);
        }
    }

    fn finish_stream(&mut self, id: u32) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        match s.req {
            Some(req) => {
                let why = s.reset.map(|(by_client, code)| {
                    format!(
                        "stream reset by the {} ({})",
                        if by_client { "client" } else { "server" },
                        error_name(code)
                    )
                });
                let ex = self.build(req, s.resp, why);
                self.done.push(ex);
            }
            None => {
                if let Some(r) = s.resp {
                    self.budget.give(r.held());
                    self.warn(Problem::ResponseWithoutRequest);
                }
            }
        }
    }

    fn break_side(&mut self, dir: Dir, code: Problem) {
        self.warn(code);
        let side = &mut self.sides[dir.index()];
        side.broken = true;
        side.buf.clear();
        side.block = None;
        for s in self.streams.values_mut() {
            let m = if dir == Dir::ToServer {
                &mut s.req
            } else {
                &mut s.resp
            };
            if let Some(m) = m {
                if !m.ended {
                    m.gap = true;
                }
            }
        }
    }

    /// `len` bytes of one direction are missing: its frame boundaries are lost.
    pub fn gap(&mut self, dir: Dir, _len: u64) {
        if !self.sides[dir.index()].broken {
            self.break_side(dir, Problem::BytesMissing);
        }
    }

    /// The direction ended.
    pub fn end(&mut self, _dir: Dir) {}

    /// Connection closed: streams without a complete response become exchanges
    /// with an error.
    pub fn close(&mut self, reset: bool) {
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            if let Some(s) = self.streams.remove(&id) {
                let Some(req) = s.req else {
                    if let Some(r) = s.resp {
                        self.budget.give(r.held());
                        self.warn(Problem::ResponseWithoutRequest);
                    }
                    continue;
                };
                let why = match (&s.resp, reset) {
                    (Some(r), _) if r.ended => None,
                    (_, true) => Some("connection reset before the response ended".to_string()),
                    (Some(_), false) => Some("the response did not end in the capture".to_string()),
                    (None, false) => Some("no response in the capture".to_string()),
                };
                let ex = self.build(req, s.resp, why);
                self.done.push(ex);
            }
        }
    }

    /// Start time of the oldest request not yet answered, if any.
    pub fn oldest_open(&self) -> Option<i64> {
        self.streams
            .values()
            .filter_map(|s| s.req.as_ref().map(|r| r.first_ts))
            .min()
    }

    /// Takes the exchanges completed so far.
    pub fn take_done(&mut self) -> Vec<Exchange<'static>> {
        std::mem::take(&mut self.done)
    }

    fn build(&self, mut req: Msg, resp: Option<Msg>, error: Option<String>) -> Exchange<'static> {
        // The lists' and bodies' charge is replaced by the exchange's, once built.
        self.budget
            .give(req.held() + resp.as_ref().map_or(0, Msg::held));
        let pseudo = pseudo_map(&req.headers);
        let method = pseudo.get(":method").copied().unwrap_or("GET").to_string();
        let scheme = pseudo.get(":scheme").copied().unwrap_or(self.scheme);
        let authority = pseudo
            .get(":authority")
            .copied()
            .or_else(|| header(&req.headers, "host"))
            .filter(|a| !a.is_empty())
            .unwrap_or(&self.server);
        let path = pseudo.get(":path").copied().unwrap_or("");
        let url = if method.eq_ignore_ascii_case("CONNECT") {
            format!("{scheme}://{authority}")
        } else if path.starts_with('/') || path.is_empty() {
            format!("{scheme}://{authority}{path}")
        } else {
            // OPTIONS * or an absolute form.
            format!("{scheme}://{authority}/{path}")
        };
        let mut error = error.map(Cow::Owned);
        if req.gap || resp.as_ref().is_some_and(|r| r.gap) {
            error.get_or_insert(Cow::Borrowed(GAP_ERROR));
        }
        let timing = Timing::from_wire(
            req.first_ts,
            req.last_ts,
            resp.as_ref().map(|r| (r.first_ts, r.last_ts)),
        );
        let request = Request {
            method: Cow::Owned(method),
            url: Cow::Owned(url),
            http_version: match req.h1_version.take() {
                Some(v) => Cow::Owned(v),
                None => Cow::Borrowed("HTTP/2"),
            },
            body: body_of(&mut req, &self.budget),
            headers: regular_headers(&req.headers),
            body_mime: None,
        };
        let response = resp.map(|mut r| Response {
            status: pseudo_map(&r.headers)
                .get(":status")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
            reason: Cow::Borrowed(""),
            http_version: Cow::Borrowed("HTTP/2"),
            body: body_of(&mut r, &self.budget),
            headers: regular_headers(&r.headers),
            body_mime: None,
        });
        let ex = Exchange {
            request,
            response,
            error,
            timing,
            origin: Origin {
                input: self.input,
                index: req.first_frame,
            },
            connection: Some(self.conn),
            server_ip: Some(Cow::Owned(self.server_ip.clone())),
        };
        self.budget.charge(ex.held_bytes());
        ex
    }
}

impl Drop for Connection {
    /// The header lists and body reservations of streams never built go back
    /// to the budget.
    fn drop(&mut self) {
        let held: usize = self
            .streams
            .values()
            .flat_map(|s| [s.req.as_ref(), s.resp.as_ref()])
            .flatten()
            .map(Msg::held)
            .sum();
        self.budget.give(held);
    }
}

fn is_interim(fields: &[Field]) -> bool {
    fields
        .iter()
        .find(|(n, _)| n == ":status")
        .is_some_and(|(_, v)| v.starts_with('1') && v.len() == 3)
}

fn pseudo_map(fields: &[Field]) -> HashMap<&str, &str> {
    fields
        .iter()
        .filter(|(n, _)| n.starts_with(':'))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn header<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn regular_headers(fields: &[Field]) -> Headers<'static> {
    Headers(
        fields
            .iter()
            .filter(|(n, _)| !n.starts_with(':') || n.starts_with(":unknown-index-"))
            .map(|(n, v)| Header::new(n.clone(), v.clone()))
            .collect(),
    )
}

/// The message `dir` sends on stream `id`, if it has begun.
fn msg_of(streams: &mut BTreeMap<u32, Stream>, dir: Dir, id: u32) -> Option<&mut Msg> {
    let s = streams.get_mut(&id)?;
    if dir == Dir::ToServer {
        s.req.as_mut()
    } else {
        s.resp.as_mut()
    }
}

/// The message's body, moved out (the message is being turned into an exchange),
/// decoded within what `budget` has room for.
fn body_of(m: &mut Msg, budget: &Allowance) -> Body<'static> {
    if m.body.is_empty() {
        return Body::Absent;
    }
    let body = std::mem::take(&mut m.body);
    let body = match header(&m.headers, "content-encoding") {
        Some(enc) => super::h1::decode_within(enc, body, budget),
        None => body,
    };
    Body::Bytes(Cow::Owned(body))
}

/// Error code names (RFC 9113 §7).
fn error_name(code: u32) -> String {
    let n = match code {
        0 => "NO_ERROR",
        1 => "PROTOCOL_ERROR",
        2 => "INTERNAL_ERROR",
        3 => "FLOW_CONTROL_ERROR",
        4 => "SETTINGS_TIMEOUT",
        5 => "STREAM_CLOSED",
        6 => "FRAME_SIZE_ERROR",
        7 => "REFUSED_STREAM",
        8 => "CANCEL",
        9 => "COMPRESSION_ERROR",
        10 => "CONNECT_ERROR",
        11 => "ENHANCE_YOUR_CALM",
        12 => "INADEQUATE_SECURITY",
        13 => "HTTP_1_1_REQUIRED",
        other => return format!("error 0x{other:x}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.push(ty);
        f.push(flags);
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// A literal field without indexing, new name (RFC 7541 §6.2.2).
    fn lit(name: &str, value: &str) -> Vec<u8> {
        let mut b = vec![0x00, name.len() as u8];
        b.extend_from_slice(name.as_bytes());
        b.push(value.len() as u8);
        b.extend_from_slice(value.as_bytes());
        b
    }

    fn server() -> std::net::SocketAddr {
        "10.0.0.2:443".parse().unwrap()
    }

    #[test]
    fn request_and_response_with_continuation_padding_and_body() {
        let mut c = Connection::new(0, 7, server(), "https");
        let mut client = PREFACE.to_vec();
        client.extend(frame(4, 0, 0, &[]));
        // HEADERS: POST (static 3), https (7), :authority literal, :path literal,
        // split over CONTINUATION, padded, with priority.
        let mut block = vec![0x83, 0x87];
        block.extend(lit(":authority", "login.microsoftonline.com"));
        block.extend(lit(":path", "/common/oauth2/v2.0/token"));
        let (a, b) = block.split_at(10);
        let mut first = vec![2u8]; // pad length
        first.extend_from_slice(&[0x80, 0, 0, 0, 16]); // priority
        first.extend_from_slice(a);
        first.extend_from_slice(&[0, 0]);
        client.extend(frame(1, 0x8 | 0x20, 1, &first));
        client.extend(frame(9, 0x4, 1, b));
        client.extend(frame(0, 0x1, 1, b"grant_type=x"));
        for chunk in client.chunks(5) {
            c.client_data(chunk, 3, 1_000);
        }
        let mut server = frame(4, 0, 0, &[]);
        server.extend(frame(1, 0x4, 1, &[0x88]));
        server.extend(frame(0, 0x1, 1, b"{}"));
        c.server_data(&server, 5, 2_000);
        let ex = c.take_done();
        assert_eq!(ex.len(), 1);
        let ex = &ex[0];
        assert_eq!(ex.request.method, "POST");
        assert_eq!(
            ex.request.url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(ex.status(), Some(200));
        assert_eq!(ex.origin.index, 3);
        assert!(matches!(&ex.request.body, Body::Bytes(b) if &b[..] == b"grant_type=x"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    /// A client that sent GET on stream 1 and 3, and a server that answered both
    /// with a Content-Length of 100,000 and sent the first 10 bytes of each body.
    fn two_bodies_begun(budget: &Allowance) -> Connection {
        let mut c = Connection::new(0, 7, server(), "https").with_budget(budget.clone());
        let mut client = PREFACE.to_vec();
        for id in [1, 3] {
            let mut block = vec![0x82, 0x87]; // GET, https
            block.extend(lit(":authority", "login.live.com"));
            block.extend(lit(":path", "/"));
            client.extend(frame(1, 0x4 | 0x1, id, &block));
        }
        c.client_data(&client, 1, 1_000);
        let mut server = Vec::new();
        for id in [1, 3] {
            let mut block = vec![0x88]; // :status 200
            block.extend(lit("content-length", "100000"));
            server.extend(frame(1, 0x4, id, &block));
            server.extend(frame(0, 0, id, b"0123456789"));
        }
        c.server_data(&server, 2, 2_000);
        c
    }

    #[test]
    fn a_body_with_content_length_is_sized_once_and_its_reservation_returned() {
        let budget = Allowance::new(1 << 30);
        let mut c = two_bodies_begun(&budget);
        let headers_and_bodies = budget.used();
        assert!(headers_and_bodies >= 200_000, "{headers_and_bodies}");
        // Stream 1 ends: its exchange holds its bytes, its reservation is back.
        c.server_data(&frame(0, 0x1, 1, b"!"), 3, 3_000);
        let done = c.take_done();
        assert_eq!(done.len(), 1);
        assert!(matches!(&done[0].response.as_ref().unwrap().body,
            Body::Bytes(Cow::Owned(b)) if b.len() == 11 && b.capacity() == 100_000));
        assert!(budget.used() < headers_and_bodies - 90_000);
        // Stream 3 is never finished: dropping the parser gives back the rest.
        drop(c);
        assert_eq!(budget.used(), done[0].held_bytes());
    }

    #[test]
    fn a_lying_content_length_reserves_no_more_than_the_cap_and_the_budget() {
        let budget = Allowance::new(150_000);
        let c = two_bodies_begun(&budget);
        // Two messages asked for 100,000 each; the budget had room for 150,000.
        assert!(budget.used() <= 150_000 + 1_000, "{}", budget.used());
        drop(c);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn h2c_upgrade_answers_stream_1_then_new_streams() {
        let up = super::super::h1::H2cUpgrade {
            method: "POST".into(),
            target: "/token".into(),
            authority: "h.example".into(),
            version: "HTTP/1.1".into(),
            headers: vec![
                ("Host".into(), "h.example".into()),
                ("Upgrade".into(), "h2c".into()),
            ],
            body: b"a=1".to_vec(),
            first_frame: 4,
            first_ts: 1_000,
            last_ts: 1_000,
            // The server's SETTINGS and the 101's trailing bytes, cut mid-frame.
            server_rest: vec![super::super::h1::Segment {
                data: frame(4, 0, 0, &[])[..5].to_vec(),
                frame: 6,
                ts: 2_000,
            }],
            ..Default::default()
        };
        let mut c =
            Connection::upgraded(0, 3, "10.0.0.2:80".parse().unwrap(), up, Default::default());
        assert!(c.take_done().is_empty());
        c.server_data(&frame(4, 0, 0, &[])[5..], 7, 2_100);
        let mut server = frame(1, 0x4, 1, &[0x88]);
        server.extend(frame(0, 0x1, 1, b"ok"));
        c.server_data(&server, 8, 3_000);
        let mut client = PREFACE.to_vec();
        client.extend(frame(4, 0, 0, &[]));
        let mut block = vec![0x82, 0x86];
        block.extend(lit(":authority", "h.example"));
        block.extend(lit(":path", "/two"));
        client.extend(frame(1, 0x5, 3, &block));
        c.client_data(&client, 9, 4_000);
        c.server_data(&frame(1, 0x5, 3, &[0x89]), 10, 5_000);
        let ex = c.take_done();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].request.method, "POST");
        assert_eq!(ex[0].request.url, "http://h.example/token");
        assert_eq!(ex[0].request.http_version, "HTTP/1.1");
        assert!(matches!(&ex[0].request.body, Body::Bytes(b) if &b[..] == b"a=1"));
        assert_eq!(ex[0].status(), Some(200));
        assert_eq!(ex[0].origin.index, 4);
        assert_eq!(ex[0].timing.started_us, 1_000);
        assert!(
            matches!(&ex[0].response.as_ref().unwrap().body, Body::Bytes(b) if &b[..] == b"ok")
        );
        assert_eq!(ex[1].request.url, "http://h.example/two");
        assert_eq!(ex[1].request.http_version, "HTTP/2");
        assert_eq!(ex[1].status(), Some(204));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn mid_connection_start_and_reset() {
        let mut c = Connection::new(0, 1, server(), "https");
        // No preface; an unknown dynamic index (62) then a literal path.
        let mut block = vec![0x82, 0x80 | 62];
        block.extend(lit(":path", "/x"));
        c.client_data(&frame(1, 0x5, 3, &block), 1, 1);
        c.server_data(&frame(3, 0, 3, &8u32.to_be_bytes()), 2, 2);
        let ex = c.take_done();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].request.url, "https://10.0.0.2/x");
        assert!(ex[0].error.as_deref().unwrap().contains("CANCEL"));
        assert_eq!(c.warnings.get(&Problem::HpackUnknownIndex), Some(&1));
    }
}
