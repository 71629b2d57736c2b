//! HTTP/1.x over a reassembled TCP connection (RFC 9112), into [`Exchange`]s.
//!
//! Each direction is parsed on its own: heads with `httparse`, then the body framed
//! in the order of RFC 9112 §6.3: no body for HEAD requests and 1xx/204/304
//! responses; a 2xx answer to CONNECT or a 101 turns the connection into a tunnel;
//! `Transfer-Encoding: chunked`; `Content-Length`; otherwise (responses only) until
//! the connection closes. Requests wait in a FIFO until their response comes
//! (pipelining); interim 1xx responses are skipped.
//!
//! **h2c upgrade** (RFC 7540 §3.2; RFC 9113 §3.1 keeps the `h2c` token for
//! cleartext). On a cleartext connection, a request whose `Upgrade` header lists
//! the `h2c` token holds the client direction: nothing after it is parsed as
//! HTTP/1.1 until its response. A `101 Switching Protocols` whose `Upgrade` also
//! names `h2c` then does not make a blind tunnel: the request and the bytes that
//! follow in both directions (with their frame and time) are kept for
//! [`Connection::take_h2c_upgrade`], which the capture layer hands to
//! [`super::h2::Connection::upgraded`]. The 101 itself yields no exchange: the
//! request's real (HTTP/2) response on stream 1 does. Any other answer releases
//! the held bytes; other 101s (WebSocket…) stay tunnels.
//!
//! Gaps from the reassembler are never papered over: a gap inside a body shortens
//! it and marks the exchange; a gap anywhere else makes the parser resynchronise on
//! the next line that starts a message. A capture that starts mid-connection is
//! picked up the same way.
//!
//! Bodies are kept up to [`MAX_BODY`] bytes and content-decoded (gzip, deflate, br,
//! zstd) up to [`MAX_DECODED`] bytes, the cap against decompression bombs.

use std::borrow::Cow;
use std::collections::VecDeque;

use super::content::{self, MAX_DECODED};
use super::message;
use super::{Body, Exchange, Origin, Request, Response, Timing, GAP_ERROR};
use crate::limits::Allowance;
use crate::stream::Dir;

pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_BODY: usize = 16 << 20;

/// Most a body buffer is sized in advance from its Content-Length.
const PRESIZE_BODY: usize = 1 << 20;
/// Bytes scanned for a message start before a connection is judged not HTTP.
const RESYNC_BUDGET: u64 = 256 * 1024;

const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"RPC_IN_DATA ",
    b"RPC_OUT_DATA ",
    b"SEARCH ",
    b"REPORT ",
];

/// True when `b` begins like an HTTP/1 request line (or could, if cut short).
pub fn looks_like_request(b: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        let n = m.len().min(b.len());
        n > 0 && b[..n] == m[..n] && (b.len() >= m.len() || n >= 3)
    })
}

/// True when `b` begins like an HTTP/1 status line.
pub fn looks_like_response(b: &[u8]) -> bool {
    let n = b.len().min(7);
    n >= 5 && b[..n] == b"HTTP/1."[..n]
}

/// Byte buffer of one direction with the frame/time of every byte range.
#[derive(Debug, Default)]
struct DirBuf {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    start: u64,
    /// (stream offset, frame, ts) where each delivered chunk began.
    marks: VecDeque<(u64, u64, i64)>,
    last_ts: i64,
    closed: bool,
}

impl DirBuf {
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    fn push(&mut self, data: &[u8], frame: u64, ts: i64) {
        self.marks.push_back((self.end(), frame, ts));
        self.buf.extend_from_slice(data);
        self.last_ts = ts;
    }

    /// Frame and time of the byte at stream offset `off`.
    fn at(&self, off: u64) -> (u64, i64) {
        let i = self.marks.partition_point(|m| m.0 <= off);
        match i.checked_sub(1).and_then(|i| self.marks.get(i)) {
            Some(m) => (m.1, m.2),
            None => self
                .marks
                .front()
                .map(|m| (m.1, m.2))
                .unwrap_or((0, self.last_ts)),
        }
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.start += n as u64;
        while self.marks.len() > 1 && self.marks[1].0 <= self.start {
            self.marks.pop_front();
        }
    }

    /// Takes everything buffered, split where delivered chunks began.
    fn take_segments(&mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        let end = self.end();
        let mut off = self.start;
        while off < end {
            let (frame, ts) = self.at(off);
            let i = self.marks.partition_point(|m| m.0 <= off);
            let next = self.marks.get(i).map_or(end, |m| m.0.clamp(off + 1, end));
            let a = (off - self.start) as usize;
            let b = (next - self.start) as usize;
            out.push(Segment {
                data: self.buf[a..b].to_vec(),
                frame,
                ts,
            });
            off = next;
        }
        let n = self.buf.len();
        self.consume(n);
        out
    }

    /// Skips `len` missing bytes: everything buffered is dropped with them.
    fn skip_gap(&mut self, len: u64) {
        let n = self.buf.len();
        self.consume(n);
        self.start += len;
    }
}

/// Bytes of one direction delivered together: their first frame and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub data: Vec<u8>,
    pub frame: u64,
    pub ts: i64,
}

/// An HTTP/1.1 request upgraded to HTTP/2 by a `101` naming `h2c` (RFC 7540 §3.2),
/// with the bytes that followed the upgrade in each direction.
#[derive(Debug, Clone, Default)]
pub struct H2cUpgrade {
    pub method: String,
    /// Request target as sent (origin or absolute form).
    pub target: String,
    /// `Host` header, or the server's address when the request had none.
    pub authority: String,
    /// `HTTP/1.1`.
    pub version: String,
    pub headers: Vec<(String, String)>,
    /// Request body, as on the wire (not content-decoded).
    pub body: Vec<u8>,
    /// Bytes of the request body were missing from the capture.
    pub body_gap: bool,
    pub first_frame: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Client bytes after the request (connection preface, frames), in order.
    pub client_rest: Vec<Segment>,
    /// Server bytes after the 101 (SETTINGS, the response on stream 1…), in order.
    pub server_rest: Vec<Segment>,
    /// Bytes went missing after `client_rest` / `server_rest` (a gap, or too many
    /// bytes buffered before the upgrade was taken).
    pub client_gap: bool,
    pub server_gap: bool,
}

impl H2cUpgrade {
    fn push(&mut self, dir: Dir, data: &[u8], frame: u64, ts: i64) {
        let buffered: usize = self
            .client_rest
            .iter()
            .chain(&self.server_rest)
            .map(|s| s.data.len())
            .sum();
        let (rest, gap) = if dir == Dir::ToServer {
            (&mut self.client_rest, &mut self.client_gap)
        } else {
            (&mut self.server_rest, &mut self.server_gap)
        };
        if *gap {
            return;
        }
        if buffered + data.len() > MAX_BODY {
            *gap = true;
            return;
        }
        rest.push(Segment {
            data: data.to_vec(),
            frame,
            ts,
        });
    }
}

/// True when a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for the start of a message (start of capture, after damage).
    Resync,
    Head,
    Body(Framing, ChunkState),
    Tunnel,
}

#[derive(Debug, Default)]
struct Msg {
    method: String,
    target: String,
    status: u16,
    reason: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    body_truncated: bool,
    body_gap: bool,
    first_frame: u64,
    first_ts: i64,
    last_ts: i64,
    /// A request asking to upgrade to h2c (its client direction is held).
    h2c: bool,
    /// Body capacity sized in advance from Content-Length, taken from the budget.
    reserved: usize,
}

impl Msg {
    /// True when an `Upgrade` header of the message lists the `h2c` token.
    fn upgrade_h2c(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("upgrade") && has_token(v, "h2c"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn append_body(&mut self, b: &[u8]) {
        let room = MAX_BODY.saturating_sub(self.body.len());
        if b.len() > room {
            self.body_truncated = true;
        }
        self.body.extend_from_slice(&b[..b.len().min(room)]);
    }
}

#[derive(Debug)]
struct Side {
    buf: DirBuf,
    state: State,
    msg: Option<Msg>,
    resync_spent: u64,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            buf: DirBuf::default(),
            state: State::Resync,
            msg: None,
            resync_spent: 0,
        }
    }
}

/// An HTTP/1 connection being parsed.
#[derive(Debug)]
pub struct Connection {
    input: usize,
    conn: usize,
    server: String,
    server_ip: String,
    /// `http`, or `https` for bytes decrypted from TLS.
    scheme: &'static str,
    req: Side,
    resp: Side,
    waiting: VecDeque<Msg>,
    /// Exchanges complete and not yet taken.
    done: Vec<Exchange<'static>>,
    /// Set once the bytes are judged not to be HTTP at all.
    pub not_http: bool,
    pub responses_without_request: u64,
    /// A request asking for h2c waits for its answer: client bytes after it are
    /// not parsed as HTTP/1.1 yet (RFC 7540 §3.2).
    h2c_held: bool,
    /// The held request was answered without an upgrade: parse the client again.
    h2c_resume: bool,
    /// The connection switched to HTTP/2; not yet taken.
    upgrade: Option<H2cUpgrade>,
    /// The upgrade was taken: this parser sees nothing more.
    upgraded: bool,
    /// Shared with the other parsers of the trace: body capacity sized in advance
    /// and the exchanges built (with their decoded bodies) are charged to it.
    budget: Allowance,
}

impl Connection {
    /// `server` is `ip:port` (used when a request has no Host header).
    pub fn new(input: usize, conn: usize, server: std::net::SocketAddr) -> Self {
        Self::with_scheme(input, conn, server, "http")
    }

    /// A connection whose bytes were decrypted from TLS: URLs are `https://`.
    pub fn new_tls(input: usize, conn: usize, server: std::net::SocketAddr) -> Self {
        Self::with_scheme(input, conn, server, "https")
    }

    fn with_scheme(
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
            req: Side::default(),
            resp: Side::default(),
            waiting: VecDeque::new(),
            done: Vec::new(),
            not_http: false,
            responses_without_request: 0,
            h2c_held: false,
            h2c_resume: false,
            upgrade: None,
            upgraded: false,
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

    /// The budget this parser draws from.
    pub fn budget(&self) -> &Allowance {
        &self.budget
    }

    /// The request upgraded to h2c and the bytes after it, once a `101` naming
    /// `h2c` answered it (RFC 7540 §3.2). Taken once; the caller continues the
    /// connection with [`super::h2::Connection::upgraded`]. Bytes fed before it is
    /// taken are added to the upgrade's leftovers (bounded by [`MAX_BODY`]).
    pub fn take_h2c_upgrade(&mut self) -> Option<H2cUpgrade> {
        let up = self.upgrade.take();
        if up.is_some() {
            self.upgraded = true;
        }
        up
    }

    /// Bytes from the client.
    pub fn client_data(&mut self, data: &[u8], frame: u64, ts: i64) {
        if let Some(up) = self.upgrade.as_mut() {
            up.push(Dir::ToServer, data, frame, ts);
            return;
        }
        if self.not_http || self.upgraded || self.req.state == State::Tunnel {
            return;
        }
        self.req.buf.push(data, frame, ts);
        self.parse_requests();
    }

    /// Bytes from the server.
    pub fn server_data(&mut self, data: &[u8], frame: u64, ts: i64) {
        if let Some(up) = self.upgrade.as_mut() {
            up.push(Dir::ToClient, data, frame, ts);
            return;
        }
        if self.not_http || self.upgraded || self.resp.state == State::Tunnel {
            return;
        }
        self.resp.buf.push(data, frame, ts);
        self.parse_responses();
    }

    pub fn gap(&mut self, dir: Dir, len: u64) {
        if let Some(up) = self.upgrade.as_mut() {
            if dir == Dir::ToServer {
                up.client_gap = true;
            } else {
                up.server_gap = true;
            }
            return;
        }
        let side = if dir == Dir::ToServer {
            &mut self.req
        } else {
            &mut self.resp
        };
        match side.state {
            State::Body(Framing::Length(n), c) if len < n => {
                // Finish what is buffered first: it precedes the gap.
                if dir == Dir::ToServer {
                    self.parse_requests();
                } else {
                    self.parse_responses();
                }
                let side = if dir == Dir::ToServer {
                    &mut self.req
                } else {
                    &mut self.resp
                };
                if let State::Body(Framing::Length(n), _) = side.state {
                    if side.buf.buf.is_empty() && len < n {
                        side.buf.skip_gap(len);
                        side.state = State::Body(Framing::Length(n - len), c);
                        if let Some(m) = side.msg.as_mut() {
                            m.body_gap = true;
                        }
                        return;
                    }
                }
                self.damage(dir, len);
            }
            State::Body(Framing::UntilClose, _) => {
                side.buf.skip_gap(len);
                if let Some(m) = side.msg.as_mut() {
                    m.body_gap = true;
                }
            }
            State::Tunnel => side.buf.skip_gap(len),
            _ => self.damage(dir, len),
        }
    }

    fn damage(&mut self, dir: Dir, len: u64) {
        let side = if dir == Dir::ToServer {
            &mut self.req
        } else {
            &mut self.resp
        };
        side.buf.skip_gap(len);
        if let Some(mut m) = side.msg.take() {
            m.body_gap = true;
            if dir == Dir::ToServer {
                // The head is known: keep the request, its body is incomplete.
                self.waiting.push_back(m);
            } else {
                self.finish_response(m);
            }
        }
        let side = if dir == Dir::ToServer {
            &mut self.req
        } else {
            &mut self.resp
        };
        side.state = State::Resync;
    }

    /// The direction ended (FIN or close).
    pub fn end(&mut self, dir: Dir) {
        if dir == Dir::ToServer {
            self.req.buf.closed = true;
            self.parse_requests();
        } else {
            self.resp.buf.closed = true;
            self.parse_responses();
            if let State::Body(Framing::UntilClose, _) = self.resp.state {
                if let Some(m) = self.resp.msg.take() {
                    self.finish_response(m);
                }
                self.resp.state = State::Head;
            }
        }
    }

    /// Connection closed: requests without response become exchanges with an error.
    pub fn close(&mut self, reset: bool) {
        self.end(Dir::ToServer);
        self.end(Dir::ToClient);
        if let Some(m) = self.resp.msg.take() {
            self.finish_response(m);
        }
        if let Some(m) = self.req.msg.take() {
            self.waiting.push_back(m);
        }
        while let Some(req) = self.waiting.pop_front() {
            let why = if reset {
                "connection reset before a response"
            } else {
                "no response in the capture"
            };
            let ex = self.build(req, None, Some(why));
            self.done.push(ex);
        }
    }

    /// Start time of the oldest request not yet answered, if any.
    pub fn oldest_open(&self) -> Option<i64> {
        let mut t = self.waiting.front().map(|m| m.first_ts);
        if let Some(m) = &self.req.msg {
            t = Some(t.map_or(m.first_ts, |x| x.min(m.first_ts)));
        }
        if !self.req.buf.buf.is_empty() {
            let (_, ts) = self.req.buf.at(self.req.buf.start);
            t = Some(t.map_or(ts, |x| x.min(ts)));
        }
        t
    }

    /// Takes the exchanges completed so far.
    pub fn take_done(&mut self) -> std::vec::Drain<'_, Exchange<'static>> {
        self.done.drain(..)
    }

    fn parse_requests(&mut self) {
        loop {
            let progressed = match self.req.state {
                // Bytes after an h2c upgrade request wait for its answer.
                State::Head if self.h2c_held => false,
                State::Resync => resync(&mut self.req, true, &mut self.not_http),
                State::Head => self.request_head(),
                State::Body(f, c) => {
                    let done = body(&mut self.req, f, c, &self.budget);
                    if done {
                        if let Some(m) = self.req.msg.take() {
                            self.waiting.push_back(m);
                        }
                        self.req.state = State::Head;
                    }
                    done
                }
                State::Tunnel => {
                    let n = self.req.buf.buf.len();
                    self.req.buf.consume(n);
                    false
                }
            };
            if !progressed || self.not_http {
                break;
            }
        }
        if !self.waiting.is_empty() {
            self.parse_responses();
        }
    }

    fn request_head(&mut self) -> bool {
        let mut m = match read_head(&mut self.req, parse_request) {
            Head::Complete(m) => m,
            Head::Partial => return false,
            Head::Resync => return true,
        };
        if self.scheme == "http" && !m.method.eq_ignore_ascii_case("CONNECT") && m.upgrade_h2c() {
            // RFC 7540 §3.2: the client may switch to HTTP/2 once the
            // server answers 101; hold what follows until then.
            m.h2c = true;
            self.h2c_held = true;
        }
        let framing = request_framing(&m);
        if framing == Framing::None {
            self.waiting.push_back(m);
            self.req.state = State::Head;
        } else {
            self.req.msg = Some(m);
            self.req.state = State::Body(framing, ChunkState::Size);
        }
        true
    }

    fn parse_responses(&mut self) {
        loop {
            let progressed = match self.resp.state {
                State::Resync => resync(&mut self.resp, false, &mut self.not_http),
                State::Head => self.response_head(),
                State::Body(f, c) => {
                    let done = body(&mut self.resp, f, c, &self.budget);
                    if done {
                        if let Some(m) = self.resp.msg.take() {
                            self.finish_response(m);
                        }
                        if self.resp.state != State::Tunnel {
                            self.resp.state = State::Head;
                        }
                    }
                    done
                }
                State::Tunnel => {
                    let n = self.resp.buf.buf.len();
                    self.resp.buf.consume(n);
                    false
                }
            };
            if !progressed || self.not_http {
                break;
            }
        }
        if self.h2c_resume {
            self.h2c_resume = false;
            self.parse_requests();
        }
    }

    fn response_head(&mut self) -> bool {
        let m = match read_head(&mut self.resp, parse_response) {
            Head::Complete(m) => m,
            Head::Partial => return false,
            Head::Resync => return true,
        };
        let status = m.status;
        if (100..200).contains(&status) && status != 101 {
            // Interim response: the final one is still to come.
            return true;
        }
        let req_method = self.waiting.front().map(|r| r.method.to_ascii_uppercase());
        let is_head = req_method.as_deref() == Some("HEAD");
        let is_connect = req_method.as_deref() == Some("CONNECT");
        if status == 101
            && self.h2c_held
            && self.waiting.front().is_some_and(|r| r.h2c)
            && m.upgrade_h2c()
        {
            self.start_h2c();
            return true;
        }
        let tunnel = status == 101 || (is_connect && (200..300).contains(&status));
        let framing = if is_head || tunnel {
            Framing::None
        } else {
            response_framing(&m)
        };
        if framing == Framing::None {
            self.finish_response(m);
            if tunnel {
                self.resp.state = State::Tunnel;
                self.req.state = State::Tunnel;
                let n = self.req.buf.buf.len();
                self.req.buf.consume(n);
            } else {
                self.resp.state = State::Head;
            }
        } else {
            self.resp.msg = Some(m);
            self.resp.state = State::Body(framing, ChunkState::Size);
        }
        true
    }

    /// A 101 naming h2c answered the held request: keep it and every byte after
    /// it for the HTTP/2 parser (RFC 7540 §3.2); this parser stops.
    fn start_h2c(&mut self) {
        let Some(mut req) = self.waiting.pop_front() else {
            return;
        };
        self.h2c_held = false;
        // The body leaves for the HTTP/2 parser: its presized capacity is released.
        self.budget.give(std::mem::take(&mut req.reserved));
        let authority = req
            .header("host")
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or(&self.server)
            .to_string();
        let up = H2cUpgrade {
            method: std::mem::take(&mut req.method),
            target: std::mem::take(&mut req.target),
            authority,
            version: std::mem::take(&mut req.version),
            headers: std::mem::take(&mut req.headers),
            body: std::mem::take(&mut req.body),
            body_gap: req.body_gap || req.body_truncated,
            first_frame: req.first_frame,
            first_ts: req.first_ts,
            last_ts: req.last_ts,
            client_rest: self.req.buf.take_segments(),
            server_rest: self.resp.buf.take_segments(),
            client_gap: false,
            server_gap: false,
        };
        // Parsing stopped at the held request, so nothing should follow it in the
        // queue; anything that does can no longer be answered in HTTP/1.1.
        while let Some(r) = self.waiting.pop_front() {
            let ex = self.build(r, None, Some("no response in the capture"));
            self.done.push(ex);
        }
        self.req.state = State::Tunnel;
        self.resp.state = State::Tunnel;
        self.upgrade = Some(up);
    }

    fn finish_response(&mut self, resp: Msg) {
        match self.waiting.pop_front() {
            Some(req) => {
                if req.h2c {
                    // Answered without an upgrade: the held bytes are HTTP/1.1.
                    self.h2c_held = false;
                    self.h2c_resume = true;
                }
                let ex = self.build(req, Some(resp), None);
                self.done.push(ex);
            }
            None => {
                self.budget.give(resp.reserved);
                self.responses_without_request += 1;
            }
        }
    }

    fn build(&self, mut req: Msg, resp: Option<Msg>, error: Option<&str>) -> Exchange<'static> {
        let host = req.header("host").map(str::trim).filter(|h| !h.is_empty());
        let url = if req.target.starts_with("http://") || req.target.starts_with("https://") {
            req.target.clone()
        } else if req.method.eq_ignore_ascii_case("CONNECT") {
            format!("http://{}", req.target)
        } else {
            format!(
                "{}://{}{}",
                self.scheme,
                host.unwrap_or(&self.server),
                req.target
            )
        };
        let mut error = error.map(|e| Cow::Owned(e.to_string()));
        if req.body_gap || resp.as_ref().is_some_and(|r| r.body_gap) {
            error.get_or_insert(Cow::Borrowed(GAP_ERROR));
        }
        let timing = Timing::from_wire(
            req.first_ts,
            req.last_ts,
            resp.as_ref().map(|r| (r.first_ts, r.last_ts)),
        );
        let origin = Origin {
            input: self.input,
            index: req.first_frame,
        };
        let request = Request {
            method: Cow::Owned(req.method.clone()),
            url: Cow::Owned(url),
            http_version: Cow::Owned(req.version.clone()),
            body: body_of(&mut req, &self.budget),
            headers: message::to_headers(req.headers),
            body_mime: None,
        };
        let response = resp.map(|mut r| Response {
            status: r.status,
            reason: Cow::Owned(r.reason.clone()),
            http_version: Cow::Owned(r.version.clone()),
            body: body_of(&mut r, &self.budget),
            headers: message::to_headers(r.headers),
            body_mime: None,
        });
        let ex = Exchange {
            request,
            response,
            error,
            timing,
            origin,
            connection: Some(self.conn),
            server_ip: Some(Cow::Owned(self.server_ip.clone())),
        };
        self.budget.charge(ex.held_bytes());
        ex
    }
}

impl Drop for Connection {
    /// Body capacity reserved for messages never built goes back to the budget.
    fn drop(&mut self) {
        let held = [self.req.msg.as_ref(), self.resp.msg.as_ref()];
        let reserved: usize = held
            .into_iter()
            .flatten()
            .chain(&self.waiting)
            .map(|m| m.reserved)
            .sum();
        self.budget.give(reserved);
    }
}

/// The message's body, moved out of it (decoded when it has a content coding,
/// within what `budget` has room for).
fn body_of(m: &mut Msg, budget: &Allowance) -> Body<'static> {
    // The exchange is charged as a whole once built.
    budget.give(std::mem::take(&mut m.reserved));
    if m.body.is_empty() {
        return Body::Absent;
    }
    let mut body = std::mem::take(&mut m.body);
    // A message cut short keeps the capacity its Content-Length announced; give
    // the unused part back, since the exchange may be kept for the whole run.
    if body.capacity() - body.len() > 4096 {
        body.shrink_to_fit();
    }
    let body = match m.header("content-encoding") {
        Some(enc) => decode_within(enc, body, budget),
        None => body,
    };
    Body::Bytes(Cow::Owned(body))
}

fn is_chunked(m: &Msg) -> bool {
    message::is_chunked(
        m.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .map(|(_, v)| v.as_str()),
    )
}

/// What reading a message head from one side's buffer gave.
enum Head {
    /// A whole head, with the frame and times of its first and last bytes.
    Complete(Msg),
    /// The head is not all there yet.
    Partial,
    /// No head here: the side was set to look for the next message start.
    Resync,
}

/// Reads one message head with `parse` (a request or a response line and its
/// headers), retrying with more header slots when 64 are too few (up to 1024).
/// A head that httparse rejects, or that grows past `MAX_HEAD`, sends the side
/// to resync one byte further on.
fn read_head(
    side: &mut Side,
    parse: impl for<'b> Fn(&mut [httparse::Header<'b>], &'b [u8]) -> ParsedHead,
) -> Head {
    if side.buf.buf.is_empty() {
        return Head::Partial;
    }
    let mut n_headers = 64;
    loop {
        let mut headers = vec![httparse::EMPTY_HEADER; n_headers];
        match parse(&mut headers, &side.buf.buf) {
            Ok(httparse::Status::Complete((len, mut m))) => {
                (m.first_frame, m.first_ts) = side.buf.at(side.buf.start);
                (_, m.last_ts) = side.buf.at(side.buf.start + len as u64 - 1);
                side.buf.consume(len);
                return Head::Complete(m);
            }
            Ok(httparse::Status::Partial) if side.buf.buf.len() <= MAX_HEAD => {
                return Head::Partial;
            }
            Err(httparse::Error::TooManyHeaders) if n_headers < 1024 => n_headers *= 4,
            Ok(httparse::Status::Partial) | Err(_) => break,
        }
    }
    side.state = State::Resync;
    side.buf.consume(1);
    Head::Resync
}

/// A head httparse read: its length and the message it starts.
type ParsedHead = httparse::Result<(usize, Msg)>;

fn parse_request<'b>(headers: &mut [httparse::Header<'b>], buf: &'b [u8]) -> ParsedHead {
    let mut req = httparse::Request::new(headers);
    let httparse::Status::Complete(len) = req.parse(buf)? else {
        return Ok(httparse::Status::Partial);
    };
    let m = Msg {
        method: req.method.unwrap_or("").to_string(),
        target: req.path.unwrap_or("").to_string(),
        version: format!("HTTP/1.{}", req.version.unwrap_or(1)),
        headers: owned_headers(req.headers),
        ..Msg::default()
    };
    Ok(httparse::Status::Complete((len, m)))
}

fn parse_response<'b>(headers: &mut [httparse::Header<'b>], buf: &'b [u8]) -> ParsedHead {
    let mut resp = httparse::Response::new(headers);
    let httparse::Status::Complete(len) = resp.parse(buf)? else {
        return Ok(httparse::Status::Partial);
    };
    let m = Msg {
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or("").to_string(),
        version: format!("HTTP/1.{}", resp.version.unwrap_or(1)),
        headers: owned_headers(resp.headers),
        ..Msg::default()
    };
    Ok(httparse::Status::Complete((len, m)))
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// How a request's body is delimited: with neither header there is none
/// (RFC 9112 §6.3, rule 7).
fn request_framing(m: &Msg) -> Framing {
    if is_chunked(m) {
        return Framing::Chunked;
    }
    match content_length(m) {
        Some(n) if n > 0 => Framing::Length(n),
        _ => Framing::None,
    }
}

/// How a response's body is delimited (RFC 9112 §6.3): none for 1xx, 204 and
/// 304; with neither header it runs until the connection closes. HEAD and
/// tunnels are the caller's, who knows the request.
fn response_framing(m: &Msg) -> Framing {
    if (100..200).contains(&m.status) || m.status == 204 || m.status == 304 {
        return Framing::None;
    }
    if is_chunked(m) {
        return Framing::Chunked;
    }
    match content_length(m) {
        Some(0) => Framing::None,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    }
}

fn content_length(m: &Msg) -> Option<u64> {
    m.header("content-length").and_then(message::content_length)
}

/// Scans for the next message start; returns true when one was found.
fn resync(side: &mut Side, request: bool, not_http: &mut bool) -> bool {
    let buf = &side.buf.buf;
    let mut i = 0;
    let found = loop {
        if i >= buf.len() {
            break None;
        }
        let at_line_start = i == 0 || buf[i - 1] == b'\n';
        if at_line_start {
            let rest = &buf[i..];
            let ok = if request {
                looks_like_request(rest)
            } else {
                looks_like_response(rest)
            };
            if ok {
                break Some(i);
            }
        }
        match memchr::memchr(b'\n', &buf[i..]) {
            Some(p) => i += p + 1,
            None => break None,
        }
    };
    match found {
        Some(i) => {
            side.resync_spent += i as u64;
            side.buf.consume(i);
            // A candidate that is still too short to judge: wait for more.
            let rest = &side.buf.buf;
            let complete = if request {
                METHODS.iter().any(|m| rest.starts_with(m))
            } else {
                rest.len() >= 7
            };
            if !complete && !side.buf.closed {
                return false;
            }
            if !complete {
                side.buf.consume(1);
                return true;
            }
            side.state = State::Head;
            true
        }
        None => {
            // Keep the last partial line: it may be the start of a message.
            let keep_from = buf
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|p| p + 1)
                .unwrap_or(0);
            let keep_from = if buf.len() - keep_from > 64 {
                buf.len()
            } else {
                keep_from
            };
            side.resync_spent += keep_from as u64;
            side.buf.consume(keep_from);
            if side.resync_spent > RESYNC_BUDGET {
                *not_http = true;
            }
            false
        }
    }
}

/// Reads body bytes; returns true when the message is complete.
fn body(side: &mut Side, framing: Framing, chunk: ChunkState, budget: &Allowance) -> bool {
    let Side {
        buf, state, msg, ..
    } = side;
    let Some(msg) = msg.as_mut() else {
        *state = State::Head;
        return true;
    };
    match framing {
        Framing::None => true,
        Framing::Length(n) => length_body(buf, state, msg, n, chunk, budget),
        Framing::UntilClose => {
            let take = buf.buf.len();
            if take > 0 {
                msg.append_body(&buf.buf[..take]);
                msg.last_ts = buf.last_ts;
                buf.consume(take);
            }
            buf.closed
        }
        Framing::Chunked => chunked_body(buf, state, msg, chunk),
    }
}

/// Sizes an empty `body` for the `length` its message announced (Content-Length):
/// one allocation instead of repeated growth and copies. Capped so a lying
/// length cannot reserve much, and taken from the budget so many open messages
/// cannot either (past it, the body grows with its data). Returns the bytes
/// taken from the budget, which the caller gives back when the body is done.
pub(super) fn presize(body: &mut Vec<u8>, length: u64, budget: &Allowance) -> usize {
    let want = usize::try_from(length)
        .unwrap_or(usize::MAX)
        .min(PRESIZE_BODY);
    let reserved = budget.take_up_to(want);
    body.reserve_exact(reserved);
    reserved
}

/// A body of `n` more bytes (Content-Length); true when all of it is read.
fn length_body(
    buf: &mut DirBuf,
    state: &mut State,
    msg: &mut Msg,
    n: u64,
    chunk: ChunkState,
    budget: &Allowance,
) -> bool {
    if msg.body.capacity() == 0 {
        msg.reserved = presize(&mut msg.body, n, budget);
    }
    let left = take_body(buf, msg, n);
    if left == 0 {
        true
    } else {
        *state = State::Body(Framing::Length(left), chunk);
        false
    }
}

/// Moves up to `n` buffered bytes into the body; returns how many are still due.
fn take_body(buf: &mut DirBuf, msg: &mut Msg, n: u64) -> u64 {
    let take = (buf.buf.len() as u64).min(n) as usize;
    if take > 0 {
        msg.append_body(&buf.buf[..take]);
        let (_, ts) = buf.at(buf.start + take as u64 - 1);
        msg.last_ts = ts;
        buf.consume(take);
    }
    n - take as u64
}

/// A chunked body (RFC 9112 §7.1), from where `chunk` says; true when the
/// message is complete (or given up on: the state says how to go on).
fn chunked_body(buf: &mut DirBuf, state: &mut State, msg: &mut Msg, mut chunk: ChunkState) -> bool {
    let framing = Framing::Chunked;
    loop {
        match chunk {
            ChunkState::Size => match httparse::parse_chunk_size(&buf.buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.consume(used);
                    chunk = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                Ok(httparse::Status::Partial) => {
                    if buf.buf.len() > 4096 {
                        *state = State::Resync;
                        return true;
                    }
                    *state = State::Body(framing, chunk);
                    return false;
                }
                Err(_) => {
                    // Not a chunk size: finish the message with what it has.
                    msg.body_gap = true;
                    *state = State::Resync;
                    return true;
                }
            },
            ChunkState::Data(n) => {
                let left = take_body(buf, msg, n);
                if left > 0 {
                    *state = State::Body(framing, ChunkState::Data(left));
                    return false;
                }
                chunk = ChunkState::DataEnd;
            }
            ChunkState::DataEnd => {
                let b = &buf.buf;
                if b.starts_with(b"\r\n") {
                    buf.consume(2);
                } else if b.starts_with(b"\n") {
                    buf.consume(1);
                } else if b.len() < 2 {
                    *state = State::Body(framing, chunk);
                    return false;
                }
                chunk = ChunkState::Size;
            }
            ChunkState::Trailers => {
                if let Some(done) = trailers(buf, msg) {
                    if !done {
                        *state = State::Body(framing, chunk);
                    }
                    return done;
                }
            }
        }
    }
}

/// Reads one trailer line: `Some(true)` at the empty line that ends them (RFC
/// 9112 §7.1.2) or at the end of the stream, `Some(false)` when more bytes are
/// needed, `None` after a field line (read on).
fn trailers(buf: &mut DirBuf, msg: &mut Msg) -> Option<bool> {
    let b = &buf.buf;
    match memchr::memchr(b'\n', b) {
        Some(p) => {
            let empty = p == 0 || (p == 1 && b[0] == b'\r');
            let (_, ts) = buf.at(buf.start + p as u64);
            msg.last_ts = ts;
            buf.consume(p + 1);
            empty.then_some(true)
        }
        None => Some(buf.closed),
    }
}

/// Decodes a parser's body within the memory it may still take: at most
/// [`MAX_DECODED`] bytes and no more than `budget` has room for. A body the budget
/// cuts short keeps what decoded (its wire form when nothing could), and the cut is
/// recorded on the budget. A body that cannot be decoded stays in its wire form.
pub(super) fn decode_within(encodings: &str, body: Vec<u8>, budget: &Allowance) -> Vec<u8> {
    let limit = budget.available().min(MAX_DECODED);
    if limit == 0 {
        budget.cut("decoded bodies cut short");
        return body;
    }
    let (out, how) = content::decode(encodings, body, limit);
    if how == content::Outcome::Capped && limit < MAX_DECODED {
        budget.cut("decoded bodies cut short");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::new(0, 7, "10.0.0.2:80".parse().unwrap())
    }

    fn feed(c: &mut Connection, dir: Dir, data: &[u8], step: usize, frame: &mut u64) {
        for part in data.chunks(step.max(1)) {
            *frame += 1;
            if dir == Dir::ToServer {
                c.client_data(part, *frame, *frame as i64 * 1000);
            } else {
                c.server_data(part, *frame, *frame as i64 * 1000);
            }
        }
    }

    #[test]
    fn pipelined_chunked_and_lengths_in_any_segmentation() {
        let reqs = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzHEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
        let resps = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\nHTTP/1.1 302 Found\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        for step in [1, 2, 3, 7, 1000] {
            let mut c = conn();
            let mut f = 0;
            feed(&mut c, Dir::ToServer, reqs, step, &mut f);
            feed(&mut c, Dir::ToClient, resps, step, &mut f);
            c.close(false);
            let ex: Vec<_> = c.take_done().collect();
            assert_eq!(ex.len(), 3, "step {step}");
            assert_eq!(ex[0].request.url, "http://h/a");
            assert_eq!(ex[0].status(), Some(200));
            assert_eq!(
                ex[0].response.as_ref().unwrap().body,
                Body::Bytes(Cow::Borrowed(b"abcde"))
            );
            assert_eq!(ex[1].request.method, "POST");
            assert_eq!(ex[1].request.body, Body::Bytes(Cow::Borrowed(b"xyz")));
            assert_eq!(ex[1].status(), Some(302));
            assert_eq!(ex[2].request.method, "HEAD");
            assert_eq!(ex[2].status(), Some(200));
            assert_eq!(ex[0].origin.index, 1);
            assert_eq!(ex[0].connection, Some(7));
        }
    }

    #[test]
    fn close_delimited_and_midstream_and_missing_response() {
        let mut c = conn();
        let mut f = 0;
        feed(
            &mut c,
            Dir::ToServer,
            b"ody of something\r\nGET /x HTTP/1.0\r\n\r\nGET /y HTTP/1.0\r\n\r\n",
            5,
            &mut f,
        );
        feed(
            &mut c,
            Dir::ToClient,
            b"HTTP/1.0 200 OK\r\n\r\nhello",
            4,
            &mut f,
        );
        c.end(Dir::ToClient);
        c.close(true);
        let ex: Vec<_> = c.take_done().collect();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].request.url, "http://10.0.0.2/x");
        assert_eq!(
            ex[0].response.as_ref().unwrap().body,
            Body::Bytes(Cow::Borrowed(b"hello"))
        );
        assert!(ex[1].response.is_none());
        assert!(ex[1].error.as_deref().unwrap().contains("reset"));
    }

    #[test]
    fn connect_tunnel_and_gaps() {
        let mut c = conn();
        let mut f = 0;
        feed(&mut c, Dir::ToServer, b"CONNECT login.microsoftonline.com:443 HTTP/1.1\r\nHost: login.microsoftonline.com:443\r\n\r\n\x16\x03\x01", 100, &mut f);
        feed(
            &mut c,
            Dir::ToClient,
            b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03garbage",
            100,
            &mut f,
        );
        feed(
            &mut c,
            Dir::ToServer,
            b"GET / HTTP/1.1\r\n\r\n",
            100,
            &mut f,
        );
        c.close(false);
        let ex: Vec<_> = c.take_done().collect();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].request.url, "http://login.microsoftonline.com:443");

        let mut c = conn();
        feed(
            &mut c,
            Dir::ToServer,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            100,
            &mut f,
        );
        feed(
            &mut c,
            Dir::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            100,
            &mut f,
        );
        c.gap(Dir::ToClient, 5);
        feed(&mut c, Dir::ToClient, b"cde", 100, &mut f);
        feed(
            &mut c,
            Dir::ToServer,
            b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
            100,
            &mut f,
        );
        c.gap(Dir::ToClient, 3);
        feed(
            &mut c,
            Dir::ToClient,
            b"xx\r\nHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n",
            100,
            &mut f,
        );
        c.close(false);
        let ex: Vec<_> = c.take_done().collect();
        assert_eq!(ex.len(), 2);
        assert_eq!(
            ex[0].response.as_ref().unwrap().body,
            Body::Bytes(Cow::Borrowed(b"abcde"))
        );
        assert!(ex[0].error.is_some());
        assert_eq!(ex[1].status(), Some(404));
    }

    #[test]
    fn h2c_upgrade_keeps_the_bytes_after_the_101() {
        let req = b"GET /up?x=1 HTTP/1.1\r\nHost: h.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: websocket, H2C\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
        for step in [1, 5, 1000] {
            let mut c = conn();
            let mut f = 0;
            feed(&mut c, Dir::ToServer, req, step, &mut f);
            // The preface arrives before the 101 is seen: it must be held, not parsed.
            feed(
                &mut c,
                Dir::ToServer,
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                step,
                &mut f,
            );
            assert!(c.take_h2c_upgrade().is_none());
            feed(
                &mut c,
                Dir::ToClient,
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\0\0\0\x04\0\0\0\0\0",
                step,
                &mut f,
            );
            feed(&mut c, Dir::ToServer, b"after", step, &mut f);
            let up = c.take_h2c_upgrade().expect("upgrade");
            assert!(c.take_h2c_upgrade().is_none());
            assert_eq!(up.method, "GET");
            assert_eq!(up.target, "/up?x=1");
            assert_eq!(up.authority, "h.example");
            assert_eq!(up.version, "HTTP/1.1");
            assert_eq!(up.first_frame, 1);
            let cat = |v: &[Segment]| v.iter().flat_map(|s| s.data.clone()).collect::<Vec<u8>>();
            assert_eq!(
                cat(&up.client_rest),
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nafter"
            );
            assert_eq!(cat(&up.server_rest), b"\0\0\0\x04\0\0\0\0\0");
            assert!(up.client_rest.windows(2).all(|w| w[0].frame < w[1].frame));
            // The 101 is no exchange of its own; fed bytes are ignored from now on.
            feed(
                &mut c,
                Dir::ToClient,
                b"HTTP/1.1 200 OK\r\n\r\n",
                step,
                &mut f,
            );
            c.close(false);
            assert_eq!(c.take_done().count(), 0);
        }
    }

    #[test]
    fn h2c_declined_and_other_101s_stay_http1() {
        // The server ignores the upgrade: the held request after it is parsed.
        let mut c = conn();
        let mut f = 0;
        feed(
            &mut c,
            Dir::ToServer,
            b"GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            7,
            &mut f,
        );
        feed(
            &mut c,
            Dir::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 204 No\r\n\r\n",
            7,
            &mut f,
        );
        assert!(c.take_h2c_upgrade().is_none());
        let ex: Vec<_> = c.take_done().collect();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].request.url, "http://h/b");
        assert_eq!(ex[1].status(), Some(204));

        // A WebSocket 101 is a tunnel, as before; so is an h2c 101 over TLS.
        for tls in [false, true] {
            let mut c = if tls {
                Connection::new_tls(0, 7, "10.0.0.2:443".parse().unwrap())
            } else {
                conn()
            };
            let (up, answer) = if tls {
                ("h2c", "h2c")
            } else {
                ("websocket", "websocket")
            };
            let req = format!("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: {up}\r\n\r\n");
            feed(&mut c, Dir::ToServer, req.as_bytes(), 100, &mut f);
            let resp = format!("HTTP/1.1 101 Switching\r\nUpgrade: {answer}\r\n\r\n\x01\x05hello");
            feed(&mut c, Dir::ToClient, resp.as_bytes(), 100, &mut f);
            feed(
                &mut c,
                Dir::ToServer,
                b"GET /x HTTP/1.1\r\n\r\n",
                100,
                &mut f,
            );
            c.close(false);
            assert!(c.take_h2c_upgrade().is_none());
            let ex: Vec<_> = c.take_done().collect();
            assert_eq!(ex.len(), 1);
            assert_eq!(ex[0].status(), Some(101));
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 1;
        for round in 0..300 {
            let mut c = conn();
            let mut f = 0;
            let mut data = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..(round % 50) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                data.push((x >> 56) as u8);
            }
            feed(
                &mut c,
                Dir::from_index(round % 2),
                &data,
                1 + round % 5,
                &mut f,
            );
            feed(&mut c, Dir::from_index((round + 1) % 2), &data, 3, &mut f);
            c.gap(Dir::from_index(usize::from(round % 3 != 0)), 17);
            c.close(round % 4 == 0);
            let _ = c.take_done().count();
        }
        // The same garbage after an h2c upgrade, through the HTTP/2 parser.
        for round in 0..200 {
            let mut c = conn();
            let mut f = 0;
            let mut junk = Vec::new();
            for _ in 0..(round % 60) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                junk.push((x >> 56) as u8);
            }
            let mut req = b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n".to_vec();
            req.extend(&junk);
            let mut resp = b"HTTP/1.1 101 S\r\nUpgrade: h2c\r\n\r\n".to_vec();
            resp.extend(junk.iter().rev());
            feed(&mut c, Dir::ToServer, &req, 1 + round % 4, &mut f);
            feed(&mut c, Dir::ToClient, &resp, 1 + round % 3, &mut f);
            if round % 5 == 0 {
                c.gap(Dir::from_index(round % 2), 3);
            }
            let up = c.take_h2c_upgrade().expect("upgrade");
            let mut h = super::super::h2::Connection::upgraded(
                0,
                1,
                "10.0.0.2:80".parse().unwrap(),
                up,
                Default::default(),
            );
            h.client_data(&junk, f + 1, 0);
            h.close(round % 2 == 0);
            assert!(!h.take_done().is_empty());
        }
    }
}
