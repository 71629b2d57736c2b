//! TCP reassembly (RFC 9293): two ordered byte streams per connection.
//!
//! * **Keys.** A connection is the pair of endpoints plus the capture channel
//!   (interface, VLANs). A SYN with a new initial sequence number on a known pair
//!   starts a new connection (port reuse); captures that start mid-connection are
//!   picked up at the first data segment.
//! * **Order.** Sequence numbers are compared with wrapping arithmetic relative to
//!   the next expected byte, so wraparound at 2^32 is invisible. Out-of-order
//!   segments wait in a `BTreeMap` keyed by stream offset.
//! * **Overlaps.** First received wins: bytes already delivered or already waiting
//!   are never replaced; retransmitted and overlapping bytes are counted.
//! * **Gaps.** Missing bytes are never invented: they are reported as
//!   [`StreamHandler::gap`] with their length, so offsets seen above stay exact. A hole
//!   is declared when the peer acknowledged past it while later data waits, when a
//!   connection ends, when it is evicted, or when waiting data exceeds the caps.
//! * **Traceability.** Every delivered chunk carries the frame number and timestamp
//!   of the segment that carried it.
//! * **Bounds.** Waiting data is capped per direction ([`MAX_PENDING_PER_DIR`]) and in
//!   total ([`MAX_PENDING_TOTAL`]); idle connections are closed after [`IDLE_US`]; the
//!   number of live connections is capped ([`MAX_CONNECTIONS`], oldest evicted).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

use crate::wire::TcpSegment;

pub const MAX_PENDING_PER_DIR: usize = 4 << 20;
pub const MAX_PENDING_TOTAL: usize = 256 << 20;
pub const IDLE_US: i64 = 300_000_000;
pub const MAX_CONNECTIONS: usize = 200_000;
/// How long a closed connection's key keeps absorbing stray segments.
const TOMBSTONE_US: i64 = 60_000_000;

pub type ConnId = usize;

/// Direction of a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    ToServer = 0,
    ToClient = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
    /// The direction of an index into a `[to server, to client]` pair.
    pub fn from_index(i: usize) -> Dir {
        if i == 0 {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }
    pub fn other(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// Who and when, fixed at the start of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnMeta {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub channel: u64,
    pub started_us: i64,
    /// True when the capture saw the client's SYN.
    pub syn_seen: bool,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HalfStats {
    /// Bytes delivered.
    pub bytes: u64,
    /// Bytes declared missing.
    pub gap_bytes: u64,
    /// Bytes received again after they were delivered or queued.
    pub retransmitted: u64,
    pub fin: bool,
}

/// What is known at the end of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    pub half: [HalfStats; 2],
    pub reset: bool,
    pub ended_us: i64,
    pub first_frame: u64,
    pub last_frame: u64,
}

/// Receives the reassembled streams.
pub trait StreamHandler {
    fn open(&mut self, meta: &ConnMeta);
    /// In-order bytes of one direction, from the segment in `frame` at `ts_us`.
    fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], frame: u64, ts_us: i64);
    /// `len` bytes of one direction that the capture does not hold.
    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, ts_us: i64);
    /// The direction ended (FIN reached in order, or the connection closed).
    fn end(&mut self, conn: ConnId, dir: Dir, ts_us: i64);
    fn close(&mut self, meta: &ConnMeta, stats: &ConnStats);
}

#[derive(Debug)]
struct Piece {
    /// `None` for bytes known to be on the wire but not captured (snaplen).
    data: Option<Vec<u8>>,
    len: u64,
    frame: u64,
    ts: i64,
}

enum Out<'a> {
    Data(&'a [u8], u64, i64),
    Gap(u64, i64),
    End(i64),
}

#[derive(Debug, Default)]
struct Half {
    init: bool,
    /// Sequence number of stream offset 0.
    base: u32,
    isn: Option<u32>,
    delivered: u64,
    pending: BTreeMap<u64, Piece>,
    pending_bytes: usize,
    fin_off: Option<u64>,
    max_ack_off: u64,
    ended: bool,
    stats: HalfStats,
}

impl Half {
    fn rel(&self, seq: u32) -> i64 {
        let next = self.base.wrapping_add(self.delivered as u32);
        self.delivered as i64 + seq.wrapping_sub(next) as i32 as i64
    }

    fn init_at(&mut self, seq: u32) {
        self.init = true;
        self.base = seq;
        self.delivered = 0;
    }

    /// Handles one segment's payload (captured `data`, then `missing` bytes).
    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        missing: u64,
        fin: bool,
        frame: u64,
        ts: i64,
        total: &mut usize,
        emit: &mut dyn FnMut(Out<'_>),
    ) {
        let len = data.len() as u64 + missing;
        if !self.init {
            if len == 0 && !fin {
                return;
            }
            self.init_at(seq);
        }
        let start = self.rel(seq);
        if fin {
            let f = start + len as i64;
            if f >= 0 && self.fin_off.is_none() {
                self.fin_off = Some(f as u64);
                self.stats.fin = true;
            }
        }
        // After the end of the direction (its FIN reached), bytes are ignored.
        if len > 0 && !self.ended {
            self.place(start, data, len, frame, ts, total, emit);
        }
        self.drain(total, emit);
        if self.pending_bytes > MAX_PENDING_PER_DIR || *total > MAX_PENDING_TOTAL {
            let target = self.pending_end();
            self.flush_until(target, ts, total, emit);
        }
        self.check_end(ts, emit);
    }

    /// Places `len` bytes starting at stream offset `start` (relative, may be
    /// negative for bytes before the stream's start): what is new and in order is
    /// delivered, the rest queued (captured bytes, then the uncaptured tail).
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        start: i64,
        data: &[u8],
        len: u64,
        frame: u64,
        ts: i64,
        total: &mut usize,
        emit: &mut dyn FnMut(Out<'_>),
    ) {
        let end = start + len as i64;
        let delivered = self.delivered as i64;
        if end <= delivered {
            self.stats.retransmitted += len;
            return;
        }
        let mut s = start;
        if s < delivered {
            self.stats.retransmitted += (delivered - s) as u64;
            s = delivered;
        }
        let s = s as u64;
        let skip = (s as i64 - start) as usize;
        // `skip` may pass the captured bytes of a segment cut by snaplen
        // (found by `fuzz/fuzz_targets/tcp_reassembly.rs`).
        let captured = &data[skip.min(data.len())..];
        // Deliver directly what is in order and not claimed by a queued piece.
        let mut at = s;
        if s == self.delivered {
            let limit = self
                .pending
                .keys()
                .next()
                .copied()
                .unwrap_or(u64::MAX)
                .min(end as u64);
            let n = (limit - s).min(captured.len() as u64) as usize;
            if n > 0 {
                emit(Out::Data(&captured[..n], frame, ts));
                self.delivered += n as u64;
                self.stats.bytes += n as u64;
                at += n as u64;
            }
        }
        let used = (at - s) as usize;
        let rest_captured = &captured[used.min(captured.len())..];
        let rest_end = end as u64;
        if at < rest_end {
            let cap_len = rest_captured.len() as u64;
            if cap_len > 0 {
                self.insert(at, Some(rest_captured), cap_len, frame, ts, total);
            }
            if at + cap_len < rest_end {
                self.insert(
                    at + cap_len,
                    None,
                    rest_end - at - cap_len,
                    frame,
                    ts,
                    total,
                );
            }
        }
    }

    fn insert(
        &mut self,
        s: u64,
        data: Option<&[u8]>,
        len: u64,
        frame: u64,
        ts: i64,
        total: &mut usize,
    ) {
        let e = s + len;
        let mut cur = s;
        if let Some((&ps, p)) = self.pending.range(..s).next_back() {
            cur = cur.max((ps + p.len).min(e));
        }
        let mut cuts = Vec::new();
        for (&ps, p) in self.pending.range(s..e) {
            if ps > cur {
                cuts.push((cur, ps));
            }
            cur = cur.max((ps + p.len).min(e));
        }
        if cur < e {
            cuts.push((cur, e));
        }
        let kept: u64 = cuts.iter().map(|(a, b)| b - a).sum();
        self.stats.retransmitted += len - kept;
        for (a, b) in cuts {
            let piece_data = data.map(|d| d[(a - s) as usize..(b - s) as usize].to_vec());
            let stored = piece_data.as_ref().map_or(0, |d| d.len());
            self.pending_bytes += stored;
            *total += stored;
            self.pending.insert(
                a,
                Piece {
                    data: piece_data,
                    len: b - a,
                    frame,
                    ts,
                },
            );
        }
    }

    fn drain(&mut self, total: &mut usize, emit: &mut dyn FnMut(Out<'_>)) {
        if self.ended {
            // Nothing follows the end of a direction: bytes past the FIN are dropped
            // (found by `fuzz/fuzz_targets/tcp_reassembly.rs`).
            *total = total.saturating_sub(self.pending_bytes);
            self.pending_bytes = 0;
            self.pending.clear();
            return;
        }
        while let Some(entry) = self.pending.first_entry() {
            let s = *entry.key();
            if s > self.delivered {
                break;
            }
            let p = entry.remove();
            let stored = p.data.as_ref().map_or(0, |d| d.len());
            self.pending_bytes -= stored;
            *total = total.saturating_sub(stored);
            let e = s + p.len;
            if e <= self.delivered {
                continue;
            }
            let skip = self.delivered - s;
            match &p.data {
                Some(d) => {
                    emit(Out::Data(&d[skip as usize..], p.frame, p.ts));
                    self.stats.bytes += p.len - skip;
                }
                None => {
                    emit(Out::Gap(p.len - skip, p.ts));
                    self.stats.gap_bytes += p.len - skip;
                }
            }
            self.delivered = e;
        }
    }

    fn pending_end(&self) -> u64 {
        self.pending
            .last_key_value()
            .map(|(s, p)| s + p.len)
            .unwrap_or(self.delivered)
    }

    /// Declares holes up to `target` and delivers everything queued before it.
    fn flush_until(
        &mut self,
        target: u64,
        ts: i64,
        total: &mut usize,
        emit: &mut dyn FnMut(Out<'_>),
    ) {
        loop {
            self.drain(total, emit);
            if self.ended || self.delivered >= target {
                break;
            }
            let next = self
                .pending
                .keys()
                .next()
                .copied()
                .unwrap_or(target)
                .min(target);
            let g = next - self.delivered;
            if g > 0 {
                emit(Out::Gap(g, ts));
                self.stats.gap_bytes += g;
                self.delivered = next;
            }
        }
    }

    /// The peer acknowledged up to `ack`: holes before queued data below it will
    /// never be filled, so they become gaps now.
    fn acked(&mut self, ack: u32, ts: i64, total: &mut usize, emit: &mut dyn FnMut(Out<'_>)) {
        let a = self.rel(ack);
        if a > self.max_ack_off as i64 {
            self.max_ack_off = a as u64;
        }
        if !self.pending.is_empty() && a > self.delivered as i64 {
            let target = (a as u64).min(self.pending_end());
            self.flush_until(target, ts, total, emit);
            self.check_end(ts, emit);
        }
    }

    fn check_end(&mut self, ts: i64, emit: &mut dyn FnMut(Out<'_>)) {
        if !self.ended {
            if let Some(f) = self.fin_off {
                if self.delivered >= f {
                    self.ended = true;
                    emit(Out::End(ts));
                }
            }
        }
    }

    /// End of the connection: every hole up to the last known byte becomes a gap.
    fn finish(&mut self, ts: i64, total: &mut usize, emit: &mut dyn FnMut(Out<'_>)) {
        if self.init {
            // An ACK of the FIN covers one sequence number past the data.
            let acked = match self.fin_off {
                Some(f) => self.max_ack_off.min(f),
                None => self.max_ack_off,
            };
            let mut target = self.pending_end().max(acked);
            if let Some(f) = self.fin_off {
                target = target.max(f);
            }
            self.flush_until(target, ts, total, emit);
        }
        if !self.ended {
            self.ended = true;
            emit(Out::End(ts));
        }
    }
}

#[derive(Debug)]
struct Conn {
    meta: ConnMeta,
    halves: [Half; 2],
    stats: ConnStats,
    last_ts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    a: SocketAddr,
    b: SocketAddr,
    channel: u64,
}

impl Key {
    fn new(x: SocketAddr, y: SocketAddr, channel: u64) -> Key {
        if x <= y {
            Key {
                a: x,
                b: y,
                channel,
            }
        } else {
            Key {
                a: y,
                b: x,
                channel,
            }
        }
    }
}

/// Counters over the whole capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub connections: u64,
    pub segments: u64,
    pub evicted_idle: u64,
    pub evicted_for_cap: u64,
}

/// The reassembler: feed it segments, it calls the handler.
#[derive(Debug, Default)]
pub struct Reassembler {
    conns: HashMap<Key, Conn>,
    tombstones: HashMap<Key, i64>,
    next_id: ConnId,
    pending_total: usize,
    now: i64,
    pub stats: ReassemblyStats,
}

/// Ports that name a service, to tell client from server when no SYN was seen.
fn is_service_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1080 | 3128
                | 3268
                | 3269
                | 5985
                | 5986
                | 8000
                | 8008
                | 8080
                | 8081
                | 8443
                | 8888
                | 9090
        )
}

/// Client, server, and whether the client's SYN was seen, for the first segment
/// of a connection: by the SYN when there is one, else by the ports.
fn roles(seg: &TcpSegment<'_>) -> (SocketAddr, SocketAddr, bool) {
    let src = SocketAddr::new(seg.src, seg.sport);
    let dst = SocketAddr::new(seg.dst, seg.dport);
    if seg.flags.syn {
        return if seg.flags.ack {
            (dst, src, false)
        } else {
            (src, dst, true)
        };
    }
    let (sp, dp) = (seg.sport, seg.dport);
    let src_is_server = match (is_service_port(sp), is_service_port(dp)) {
        (true, false) => true,
        (false, true) => false,
        _ => sp < dp,
    };
    if src_is_server {
        (dst, src, false)
    } else {
        (src, dst, false)
    }
}

/// Hands one output of a direction to the handler.
fn deliver(h: &mut dyn StreamHandler, id: ConnId, dir: Dir, o: Out<'_>) {
    match o {
        Out::Data(b, f, t) => h.data(id, dir, b, f, t),
        Out::Gap(n, t) => h.gap(id, dir, n, t),
        Out::End(t) => h.end(id, dir, t),
    }
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of out-of-order data currently held.
    pub fn pending_bytes(&self) -> usize {
        self.pending_total
    }

    pub fn live_connections(&self) -> usize {
        self.conns.len()
    }

    pub fn segment(
        &mut self,
        seg: &TcpSegment<'_>,
        frame: u64,
        ts_us: i64,
        h: &mut dyn StreamHandler,
    ) {
        self.stats.segments += 1;
        self.now = self.now.max(ts_us);
        if self.stats.segments.is_multiple_of(8192) {
            self.evict_idle(self.now - IDLE_US, h);
        }
        let src = SocketAddr::new(seg.src, seg.sport);
        let key = Key::new(src, SocketAddr::new(seg.dst, seg.dport), seg.channel);
        if !self.admit(key, seg, frame, ts_us, h) {
            return;
        }
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        conn.last_ts = ts_us;
        conn.stats.last_frame = frame;
        conn.stats.ended_us = conn.stats.ended_us.max(ts_us);
        let dir = if src == conn.meta.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let id = conn.meta.id;
        let [to_server, to_client] = &mut conn.halves;
        let (half, other) = match dir {
            Dir::ToServer => (to_server, to_client),
            Dir::ToClient => (to_client, to_server),
        };
        if seg.flags.syn {
            if half.isn != Some(seg.seq) && half.delivered == 0 && half.pending.is_empty() {
                half.isn = Some(seg.seq);
                half.init_at(seg.seq.wrapping_add(1));
            }
            if dir == Dir::ToServer && !seg.flags.ack {
                conn.meta.syn_seen = true;
            }
        }
        // A SYN occupies one sequence number before the data.
        let seq = seg.seq.wrapping_add(seg.flags.syn as u32);
        let total = &mut self.pending_total;
        let (missing, fin) = (seg.missing as u64, seg.flags.fin);
        let mut emit = |o: Out<'_>| deliver(h, id, dir, o);
        half.segment(
            seq,
            seg.payload,
            missing,
            fin,
            frame,
            ts_us,
            total,
            &mut emit,
        );
        if seg.flags.ack && other.init {
            let mut emit_o = |o: Out<'_>| deliver(h, id, dir.other(), o);
            other.acked(seg.ack, ts_us, total, &mut emit_o);
        }
        let ended = conn.halves[0].ended && conn.halves[1].ended;
        if seg.flags.rst {
            conn.stats.reset = true;
        }
        if seg.flags.rst || ended {
            self.close_key(key, ts_us, h);
            self.tombstones.insert(key, ts_us);
        }
    }

    /// Handles what a segment means for the set of connections: a SYN with a new
    /// ISN on a known pair closes the old connection (port reuse), and a segment
    /// of an unknown pair opens one. False when the segment is to be ignored.
    fn admit(
        &mut self,
        key: Key,
        seg: &TcpSegment<'_>,
        frame: u64,
        ts_us: i64,
        h: &mut dyn StreamHandler,
    ) -> bool {
        let src = SocketAddr::new(seg.src, seg.sport);
        if seg.flags.syn && !seg.flags.ack {
            if let Some(c) = self.conns.get(&key) {
                let client_half = &c.halves[Dir::ToServer.index()];
                let same = c.meta.client == src && client_half.isn == Some(seg.seq);
                if !same {
                    self.close_key(key, ts_us, h);
                }
            }
            self.tombstones.remove(&key);
        }
        if self.conns.contains_key(&key) {
            return true;
        }
        let has_data = !seg.payload.is_empty() || seg.missing > 0;
        if !seg.flags.syn && !has_data {
            return false; // a stray ACK/FIN/RST opens nothing
        }
        if let Some(&t) = self.tombstones.get(&key) {
            if ts_us - t < TOMBSTONE_US && !seg.flags.syn {
                return false;
            }
            self.tombstones.remove(&key);
        }
        if self.conns.len() >= MAX_CONNECTIONS {
            if let Some(oldest) = self
                .conns
                .iter()
                .min_by_key(|(_, c)| c.last_ts)
                .map(|(k, _)| *k)
            {
                self.stats.evicted_for_cap += 1;
                self.close_key(oldest, ts_us, h);
            }
        }
        self.open(key, seg, frame, ts_us, h);
        true
    }

    fn open(
        &mut self,
        key: Key,
        seg: &TcpSegment<'_>,
        frame: u64,
        ts_us: i64,
        h: &mut dyn StreamHandler,
    ) {
        let (client, server, syn_seen) = roles(seg);
        let meta = ConnMeta {
            id: self.next_id,
            client,
            server,
            channel: seg.channel,
            started_us: ts_us,
            syn_seen,
        };
        self.next_id += 1;
        self.stats.connections += 1;
        h.open(&meta);
        self.conns.insert(
            key,
            Conn {
                meta,
                halves: [Half::default(), Half::default()],
                stats: ConnStats {
                    first_frame: frame,
                    ..ConnStats::default()
                },
                last_ts: ts_us,
            },
        );
    }

    fn close_key(&mut self, key: Key, ts_us: i64, h: &mut dyn StreamHandler) {
        let Some(mut conn) = self.conns.remove(&key) else {
            return;
        };
        let id = conn.meta.id;
        for dir in [Dir::ToServer, Dir::ToClient] {
            let mut emit = |o: Out<'_>| deliver(h, id, dir, o);
            let half = &mut conn.halves[dir.index()];
            half.finish(
                conn.last_ts.max(ts_us.min(conn.last_ts)),
                &mut self.pending_total,
                &mut emit,
            );
            conn.stats.half[dir.index()] = half.stats;
        }
        h.close(&conn.meta, &conn.stats);
    }

    fn evict_idle(&mut self, before: i64, h: &mut dyn StreamHandler) {
        let idle: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_ts < before)
            .map(|(k, _)| *k)
            .collect();
        for k in idle {
            self.stats.evicted_idle += 1;
            self.close_key(k, before, h);
        }
        self.tombstones.retain(|_, t| *t >= before);
    }

    /// Closes every connection (end of capture), in order of their ids.
    pub fn finish(&mut self, h: &mut dyn StreamHandler) {
        let mut keys: Vec<(ConnId, Key)> =
            self.conns.iter().map(|(k, c)| (c.meta.id, *k)).collect();
        keys.sort_by_key(|k| k.0);
        let now = self.now;
        for (_, k) in keys {
            self.close_key(k, now, h);
        }
        self.tombstones.clear();
    }
}

/// Client/server sockets of an address pair, for tests and tools.
pub fn socket(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

#[cfg(test)]
mod tests;
