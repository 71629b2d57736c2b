//! The packet pipeline: frames in, exchanges and connection facts out
//! (wire → stream → tls → http). The pcap/pcapng reader (`pcap.rs`) and the
//! Network Monitor reader (`netmon.rs`) feed it their frames.
//!
//! A cleartext HTTP/1.1 connection upgraded to h2c (RFC 7540 §3.2) switches to the
//! HTTP/2 parser with the bytes that followed the `101`; the 101 itself is not an
//! exchange: the upgrade request comes out once, with its real response from
//! stream 1. Prior-knowledge h2c (RFC 9113 §3.3) is recognised by its preface.
//!
//! [`PacketPipeline::with_http_thread`] runs everything above the stream layer
//! (TLS, HTTP, the order exchanges leave in) on a second thread, fed through a
//! [`Relay`](super::relay) that replays the stream layer's calls in order.
//!
//! Damage counted on the way (missing TCP bytes, failed decryption, unknown link
//! types…) becomes warnings in one place, [`PacketPipeline::finish`], through a
//! [`Tally`].

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::keylog::KeyLog;
use super::pcap::{Frame, FrameReport};
use super::relay::{Relay, Replay};
use super::tally::Tally;
use super::{ConnectionInfo, InputSummary, InputWarning, WarningCode};
use crate::http::{h1, h2, Exchange};
use crate::limits::Allowance;
use crate::stream::{ConnId, ConnMeta, ConnStats, Dir, Reassembler, StreamHandler};
use crate::tls;
use crate::wire::Decoder;

/// Frames in, exchanges and connection facts out: wire → stream → tls → http.
///
/// Exchanges reach the sink in order of request start. Completed exchanges wait in
/// a buffer until no open request on any connection started earlier; the buffer is
/// capped ([`MAX_READY`] exchanges, [`MAX_READY_BYTES`] bytes), past which the oldest
/// go out anyway.
pub struct PacketPipeline {
    wire: Decoder,
    reasm: Reassembler,
    http: Http,
}

/// Where the HTTP half of the pipeline runs.
enum Http {
    Here(Box<Apps>),
    /// On a second thread ([`relay`](super::relay)).
    Relayed(Relay<Apps>),
}

pub const MAX_READY: usize = 65_536;
pub const MAX_READY_BYTES: usize = 256 << 20;

/// An HTTP parser over one connection's (clear or decrypted) bytes.
#[derive(Debug)]
enum App {
    H1(Box<h1::Connection>),
    H2(Box<h2::Connection>),
}

impl App {
    fn data(&mut self, dir: Dir, bytes: &[u8], frame: u64, ts: i64) {
        match (self, dir) {
            (App::H1(h), Dir::ToServer) => h.client_data(bytes, frame, ts),
            (App::H1(h), Dir::ToClient) => h.server_data(bytes, frame, ts),
            (App::H2(h), Dir::ToServer) => h.client_data(bytes, frame, ts),
            (App::H2(h), Dir::ToClient) => h.server_data(bytes, frame, ts),
        }
    }
    fn gap(&mut self, dir: Dir, len: u64) {
        match self {
            App::H1(h) => h.gap(dir, len),
            App::H2(h) => h.gap(dir, len),
        }
    }
    fn end(&mut self, dir: Dir) {
        match self {
            App::H1(h) => h.end(dir),
            App::H2(h) => h.end(dir),
        }
    }
    fn close(&mut self, reset: bool) -> u64 {
        match self {
            App::H1(h) => {
                h.close(reset);
                h.responses_without_request
            }
            App::H2(h) => {
                h.close(reset);
                0
            }
        }
    }
    fn not_http(&self) -> bool {
        match self {
            App::H1(h) => h.not_http,
            App::H2(h) => h.not_http,
        }
    }
    fn oldest_open(&self) -> Option<i64> {
        match self {
            App::H1(h) => h.oldest_open(),
            App::H2(h) => h.oldest_open(),
        }
    }
    fn take_done(&mut self) -> Vec<Exchange<'static>> {
        match self {
            App::H1(h) => h.take_done().collect(),
            App::H2(h) => h.take_done(),
        }
    }
}

/// A TLS connection: its observer and, once data is decrypted, the HTTP parser.
#[derive(Debug)]
struct TlsConn {
    obs: tls::Observer,
    app: Option<App>,
}

#[derive(Debug)]
enum Proto {
    Unknown,
    Tls(Box<TlsConn>),
    Http(App),
    Other,
}

impl Proto {
    fn app(&mut self) -> Option<&mut App> {
        match self {
            Proto::Http(a) => Some(a),
            Proto::Tls(t) => t.app.as_mut(),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct ConnApp {
    meta: ConnMeta,
    proto: Proto,
    exchanges: Vec<u64>,
    tls: Option<tls::TlsInfo>,
    tls_stats: Option<tls::DecryptStats>,
}

struct Apps {
    input: usize,
    conns: HashMap<ConnId, ConnApp, BuildHasherDefault<IdHasher>>,
    closed: Vec<ConnectionInfo>,
    ready: BTreeMap<(i64, u64), Exchange<'static>>,
    ready_bytes: usize,
    seq: u64,
    emitted: usize,
    frames_since_flush: u32,
    responses_without_request: u64,
    /// Frame-time high-water mark: no request can start before it any more.
    now: i64,
    /// Key material (`--keylog` files and Decryption Secrets Blocks).
    keys: Option<Arc<KeyLog>>,
    /// Key-log problems (bad lines in DSBs).
    keylog_warnings: Vec<InputWarning>,
    tls: TlsTotals,
    /// What the HTTP parsers hold beyond the input's own bytes (decoded bodies,
    /// header lists, presized buffers) and the exchanges waiting in `ready`.
    budget: Allowance,
}

/// Hashes connection ids. They are integers the reassembler hands out, never bytes
/// of the input, so they need no flooding-resistant hash; SipHash cost about 5 % of
/// decrypted-capture time in lookups made for every segment.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Decryption counters over all connections of the input.
#[derive(Debug, Default)]
struct TlsTotals {
    failed_records: u64,
    failed_conns: u64,
    no_keys: u64,
    lost_to_gaps: u64,
    malformed_hellos: u64,
    malformed_hello_conns: u64,
    unsupported: BTreeMap<String, u64>,
    h2_warnings: BTreeMap<crate::http::h2::Problem, u64>,
}

impl PacketPipeline {
    /// A pipeline that decrypts TLS with `keys` (more may come from DSBs).
    pub fn with_keys(input_index: usize, keys: Option<Arc<KeyLog>>) -> Self {
        PacketPipeline {
            wire: Decoder::new(),
            reasm: Reassembler::new(),
            http: Http::Here(Box::new(Apps {
                input: input_index,
                conns: HashMap::default(),
                closed: Vec::new(),
                ready: BTreeMap::new(),
                ready_bytes: 0,
                seq: 0,
                emitted: 0,
                frames_since_flush: 0,
                responses_without_request: 0,
                now: i64::MIN,
                keys,
                keylog_warnings: Vec::new(),
                tls: TlsTotals::default(),
                budget: Allowance::default(),
            })),
        }
    }

    /// The same pipeline, parsing HTTP on a second thread (reading, IP and TCP
    /// stay on this one). The output is the same; when no thread can be started
    /// everything stays on this one.
    pub fn with_http_thread(mut self) -> Self {
        self.http = match self.http {
            Http::Here(apps) => match Relay::start(*apps) {
                Ok(relay) => Http::Relayed(relay),
                Err(apps) => Http::Here(Box::new(apps)),
            },
            relayed => relayed,
        };
        self
    }

    /// Adds key-log text (a Decryption Secrets Block) for connections seen from now on.
    pub fn add_secrets(&mut self, text: &str, name: &str) {
        match &mut self.http {
            Http::Here(apps) => apps.add_secrets(text, name),
            Http::Relayed(relay) => relay.add_secrets(text, name),
        }
    }

    /// Feeds one frame; completed exchanges may reach `sink`.
    pub fn frame(&mut self, frame: &Frame<'_>, sink: &mut dyn FnMut(Exchange<'static>)) {
        let PacketPipeline { wire, reasm, http } = self;
        let mut decode = |handler: &mut dyn StreamHandler| {
            wire.decode(
                frame.link_type,
                frame.data,
                frame.orig_len,
                frame.ts_us,
                frame.interface,
                &mut |seg| reasm.segment(seg, frame.number, frame.ts_us, handler),
            )
        };
        match http {
            Http::Here(apps) => {
                apps.frame_begins(frame.ts_us);
                decode(&mut **apps);
                apps.frame_ends(sink);
            }
            Http::Relayed(relay) => {
                relay.frame_begins(frame.ts_us);
                decode(relay);
                relay.frame_ends(sink);
            }
        }
    }

    /// Feeds an exchange that a non-packet record (an ETW event) carried whole.
    pub fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'static>)) {
        match &mut self.http {
            Http::Here(apps) => apps.exchange(ex, sink),
            Http::Relayed(relay) => relay.exchange(ex, sink),
        }
    }

    /// Flushes every connection and returns the summary of the input.
    pub fn finish(
        self,
        report: FrameReport,
        sink: &mut dyn FnMut(Exchange<'static>),
    ) -> InputSummary {
        let PacketPipeline {
            wire,
            mut reasm,
            http,
        } = self;
        let mut apps = match http {
            Http::Here(mut apps) => {
                reasm.finish(&mut *apps);
                *apps
            }
            Http::Relayed(mut relay) => {
                reasm.finish(&mut relay);
                relay.finish(sink)
            }
        };
        apps.flush(true, sink);
        let mut tally = Tally::from_warnings(report.warnings);
        tally.extend(std::mem::take(&mut apps.keylog_warnings));
        damage(&wire, &apps, &mut tally);
        let mut connections = std::mem::take(&mut apps.closed);
        connections.sort_by_key(|c| c.id);
        InputSummary {
            producer: report.producer,
            exchanges: apps.emitted,
            warnings: tally.into_warnings(),
            connections,
        }
    }
}

/// What the layers below HTTP worked around, as warnings (in a fixed order).
fn damage(w: &Decoder, apps: &Apps, tally: &mut Tally) {
    tally.when(
        !w.unknown_link_types.is_empty(),
        WarningCode::UnknownLinkType,
        || {
            format!(
                "{} frames have link types aadtrace does not decode ({:?})",
                w.stats.unknown_link, w.unknown_link_types
            )
        },
    );
    tally.count(WarningCode::IpFragmentsDropped, w.defrag.dropped, |n| {
        format!("{n} IP datagrams could not be reassembled from their fragments")
    });
    let gaps: u64 = apps.closed.iter().map(|c| c.gaps).sum();
    tally.count(WarningCode::TcpBytesMissing, gaps, |gaps| {
        let n = apps.closed.iter().filter(|c| c.gaps > 0).count();
        format!("{gaps} bytes of TCP data are missing from the capture on {n} connections")
    });
    tally.count(
        WarningCode::HttpResponseWithoutRequest,
        apps.responses_without_request,
        |n| format!("{n} HTTP responses have no request in the capture"),
    );
    apps.tls.warnings(apps.keys.is_some(), tally);
    let cuts = apps.budget.cuts();
    tally.when(!cuts.is_empty(), WarningCode::MemoryBudgetExceeded, || {
        format!(
            "decoded data of this capture reached its memory cap ({} MiB): {}",
            apps.budget.limit() >> 20,
            cuts.join(", ")
        )
    });
}

impl TlsTotals {
    fn add(&mut self, s: &tls::DecryptStats, tls_seen: bool, have_keys: bool) {
        if s.failed > 0 {
            self.failed_records += s.failed;
            self.failed_conns += 1;
        }
        self.lost_to_gaps += s.lost_to_gaps;
        if s.malformed_hellos > 0 {
            self.malformed_hellos += s.malformed_hellos;
            self.malformed_hello_conns += 1;
        }
        if let Some(u) = &s.unsupported {
            *self.unsupported.entry(u.clone()).or_default() += 1;
        } else if have_keys && tls_seen && !s.keys_found && s.opaque > 0 {
            self.no_keys += 1;
        }
    }

    fn warnings(&self, have_keys: bool, tally: &mut Tally) {
        tally.count(WarningCode::TlsDecryptFailed, self.failed_records, |n| {
            format!(
                "{n} TLS records on {} connections failed to decrypt (wrong keys or damaged data); their bytes are treated as missing",
                self.failed_conns
            )
        });
        tally.when(
            !self.unsupported.is_empty(),
            WarningCode::TlsCipherUnsupported,
            || {
                let list: Vec<String> = self
                    .unsupported
                    .iter()
                    .map(|(k, n)| format!("{k} ({n})"))
                    .collect();
                format!(
                    "keys are known but aadtrace cannot decrypt these cipher suites: {}",
                    list.join(", ")
                )
            },
        );
        tally.count(
            WarningCode::TlsKeysMissing,
            if have_keys { self.no_keys } else { 0 },
            |n| format!("{n} TLS connections have no secrets in the key log"),
        );
        tally.count(WarningCode::TlsRecordsLost, self.lost_to_gaps, |n| {
            format!(
                "{n} bytes of decryptable TLS could not be read because the capture misses bytes before them"
            )
        });
        tally.count(
            WarningCode::TlsHandshakeMalformed,
            self.malformed_hellos,
            |n| {
                format!(
                    "{n} TLS hello messages on {} connections do not parse; their server name, ALPN, version or cipher may be missing",
                    self.malformed_hello_conns
                )
            },
        );
        for (&problem, n) in &self.h2_warnings {
            tally.push(problem.into(), format!("{} ({n} times)", problem.what()));
        }
    }
}

impl Replay for Apps {
    fn frame_begins(&mut self, ts_us: i64) {
        self.now = self.now.max(ts_us);
    }

    fn frame_ends(&mut self, sink: &mut dyn FnMut(Exchange<'static>)) {
        self.frames_since_flush += 1;
        if self.frames_since_flush >= 4096 || self.ready.len() > 1024 || self.over_budget() {
            self.frames_since_flush = 0;
            self.flush(false, sink);
        }
    }

    fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'static>)) {
        // Given back when it leaves, like the exchanges the parsers build.
        self.budget.charge(ex.held_bytes());
        self.push_ready(ex);
        self.flush(false, sink);
    }

    fn add_secrets(&mut self, text: &str, name: &str) {
        let mut log = KeyLog::new();
        log.add_text(text, &format!("{name} (decryption secrets block)"));
        if log.bad_lines > 0 {
            self.keylog_warnings.push(InputWarning::new(
                WarningCode::KeylogBadLines,
                format!(
                    "{} lines of a decryption secrets block are not key-log lines (first at {})",
                    log.bad_lines,
                    log.bad_examples.join(", ")
                ),
            ));
        }
        let keys = self.keys.get_or_insert_with(Default::default);
        Arc::make_mut(keys).merge(&log);
    }
}

impl Apps {
    fn push_ready(&mut self, ex: Exchange<'static>) {
        self.ready_bytes += ex.held_bytes() + 512;
        self.seq += 1;
        self.ready.insert((ex.timing.started_us, self.seq), ex);
    }

    /// True when exchanges waiting in `ready` hold more than their share: half the
    /// budget (the parsers keep the other half), at most [`MAX_READY_BYTES`].
    fn over_budget(&self) -> bool {
        self.ready_bytes > MAX_READY_BYTES.min(self.budget.limit() / 2)
    }

    /// Sends exchanges that no open request can precede any more.
    fn flush(&mut self, all: bool, sink: &mut dyn FnMut(Exchange<'static>)) {
        if self.ready.is_empty() {
            return;
        }
        let mut bound = if all { i64::MAX } else { self.now };
        if !all {
            for c in self.conns.values_mut() {
                if let Some(t) = c.proto.app().and_then(|a| a.oldest_open()) {
                    bound = bound.min(t);
                }
            }
        }
        loop {
            let over = self.ready.len() > MAX_READY || self.over_budget();
            let Some(entry) = self.ready.first_entry() else {
                break;
            };
            if entry.key().0 > bound && !over {
                break;
            }
            let ex = entry.remove();
            let size = ex.held_bytes();
            self.ready_bytes = self.ready_bytes.saturating_sub(size + 512);
            // The parser charged the exchange when it built it; it leaves now.
            self.budget.give(size);
            self.emitted += 1;
            sink(ex);
        }
    }

    fn collect(&mut self, id: ConnId) {
        let input = self.input;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let server = c.meta.server;
        let budget = &self.budget;
        let Some(app) = c.proto.app() else { return };
        let mut done = app.take_done();
        // An HTTP/1.1 connection upgraded to h2c (RFC 7540 §3.2) continues as
        // HTTP/2, starting with the bytes that followed the 101.
        if let App::H1(h) = app {
            if let Some(up) = h.take_h2c_upgrade() {
                let mut h2 = h2::Connection::upgraded(input, id, server, up, budget.clone());
                done.extend(h2.take_done());
                *app = App::H2(Box::new(h2));
            }
        }
        for ex in &done {
            c.exchanges.push(ex.origin.index);
        }
        for ex in done {
            self.push_ready(ex);
        }
    }

    /// Hands decrypted bytes to the connection's HTTP parser, choosing HTTP/2 by
    /// ALPN or by the connection preface and HTTP/1.x otherwise.
    fn route_plain(&mut self, conn: ConnId, frame: u64, ts_us: i64) {
        let input = self.input;
        let budget = &self.budget;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Proto::Tls(t) = &mut c.proto else { return };
        for p in t.obs.take_plain() {
            match p {
                tls::Plain::Data { dir, data } => {
                    let app = t.app.get_or_insert_with(|| {
                        let h2 = t.obs.info.alpn.as_deref() == Some("h2")
                            || (dir == Dir::ToServer && data.starts_with(h2::PREFACE));
                        if h2 {
                            App::H2(Box::new(
                                h2::Connection::new(input, conn, c.meta.server, "https")
                                    .with_budget(budget.clone()),
                            ))
                        } else {
                            App::H1(Box::new(
                                h1::Connection::new_tls(input, conn, c.meta.server)
                                    .with_budget(budget.clone()),
                            ))
                        }
                    });
                    app.data(dir, &data, frame, ts_us);
                }
                tls::Plain::Gap { dir, len } => {
                    if let Some(app) = t.app.as_mut() {
                        app.gap(dir, len);
                    }
                }
            }
        }
        self.collect(conn);
    }
}

impl StreamHandler for Apps {
    fn open(&mut self, meta: &ConnMeta) {
        self.conns.insert(
            meta.id,
            ConnApp {
                meta: *meta,
                proto: Proto::Unknown,
                exchanges: Vec::new(),
                tls: None,
                tls_stats: None,
            },
        );
    }

    fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], frame: u64, ts_us: i64) {
        let input = self.input;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let to_server = dir == Dir::ToServer;
        if let Proto::Unknown = c.proto {
            c.proto = if tls::looks_like_tls(bytes) {
                let keys = self.keys.clone().map(|k| k as Arc<dyn tls::KeySource>);
                Proto::Tls(Box::new(TlsConn {
                    obs: tls::Observer::with_keys(keys),
                    app: None,
                }))
            } else if to_server
                && bytes.starts_with(&h2::PREFACE[..bytes.len().min(h2::PREFACE.len())])
                && bytes.len() >= 4
            {
                // HTTP/2 with prior knowledge (RFC 9113 §3.3), cleartext.
                Proto::Http(App::H2(Box::new(
                    h2::Connection::new(input, conn, c.meta.server, "http")
                        .with_budget(self.budget.clone()),
                )))
            } else if (to_server && h1::looks_like_request(bytes))
                || (!to_server && h1::looks_like_response(bytes))
                || bytes.len() >= 8
            {
                // HTTP, or bytes the HTTP parser resynchronises on (mid-stream
                // start); it gives up on data that never looks like HTTP.
                Proto::Http(App::H1(Box::new(
                    h1::Connection::new(input, conn, c.meta.server)
                        .with_budget(self.budget.clone()),
                )))
            } else {
                Proto::Unknown
            };
            if let Proto::Unknown = c.proto {
                return;
            }
        }
        match &mut c.proto {
            Proto::Tls(t) => {
                t.obs.data(dir, bytes);
                let finished = t.obs.done() && t.app.is_none();
                self.route_plain(conn, frame, ts_us);
                if finished {
                    let Some(c) = self.conns.get_mut(&conn) else {
                        return;
                    };
                    if let Proto::Tls(t) = &mut c.proto {
                        c.tls = Some(std::mem::take(&mut t.obs.info));
                        c.tls_stats = Some(std::mem::take(&mut t.obs.stats));
                        c.proto = Proto::Other;
                    }
                }
            }
            Proto::Http(h) => {
                h.data(dir, bytes, frame, ts_us);
                if h.not_http() {
                    c.proto = Proto::Other;
                } else {
                    self.collect(conn);
                }
            }
            Proto::Unknown | Proto::Other => {}
        }
    }

    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, ts_us: i64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match &mut c.proto {
            Proto::Http(h) => {
                h.gap(dir, len);
                self.collect(conn);
            }
            Proto::Tls(t) => {
                t.obs.gap(dir, len);
                self.route_plain(conn, 0, ts_us);
            }
            _ => {}
        }
    }

    fn end(&mut self, conn: ConnId, dir: Dir, _ts_us: i64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(app) = c.proto.app() {
            app.end(dir);
            self.collect(conn);
        }
    }

    fn close(&mut self, meta: &ConnMeta, stats: &ConnStats) {
        if let Some(c) = self.conns.get_mut(&meta.id) {
            if let Some(app) = c.proto.app() {
                self.responses_without_request += app.close(stats.reset);
            }
        }
        self.collect(meta.id);
        let Some(c) = self.conns.remove(&meta.id) else {
            return;
        };
        let (tls, dstats) = match c.proto {
            Proto::Tls(t) => {
                if let Some(App::H2(h)) = &t.app {
                    for (code, n) in &h.warnings {
                        *self.tls.h2_warnings.entry(*code).or_default() += n;
                    }
                }
                (Some(t.obs.info), Some(t.obs.stats))
            }
            Proto::Http(App::H2(h)) => {
                for (code, n) in &h.warnings {
                    *self.tls.h2_warnings.entry(*code).or_default() += n;
                }
                (c.tls, c.tls_stats)
            }
            _ => (c.tls, c.tls_stats),
        };
        let dstats = dstats.unwrap_or_default();
        let tls =
            tls.filter(|t| t.client_hello_seen || t.server_hello_seen || !t.alerts.is_empty());
        self.tls.add(&dstats, tls.is_some(), self.keys.is_some());
        let decrypted = dstats.app_records > 0;
        let [cs, sc] = stats.half;
        self.closed.push(ConnectionInfo {
            id: meta.id,
            client: meta.client.to_string(),
            server: meta.server.to_string(),
            started_us: meta.started_us,
            ended_us: stats.ended_us.max(meta.started_us),
            sni: tls.as_ref().and_then(|t| t.sni.clone()),
            alpn: tls.as_ref().and_then(|t| t.alpn.clone()),
            tls_version: tls.as_ref().and_then(|t| t.version.clone()),
            cipher: tls.as_ref().and_then(|t| t.cipher.clone()),
            decrypted,
            decrypted_records: dstats.app_records,
            decrypt_failures: dstats.failed,
            bytes_client: if decrypted {
                dstats.app_bytes[0]
            } else {
                cs.bytes
            },
            bytes_server: if decrypted {
                dstats.app_bytes[1]
            } else {
                sc.bytes
            },
            gaps: cs.gap_bytes + sc.gap_bytes,
            reset: stats.reset,
            tls_alerts: tls.map(|t| t.alerts).unwrap_or_default(),
            exchanges: c.exchanges,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_hellos_become_one_warning() {
        let mut totals = TlsTotals::default();
        let bad = tls::DecryptStats {
            malformed_hellos: 2,
            ..Default::default()
        };
        totals.add(&bad, true, false);
        totals.add(&bad, true, false);
        totals.add(&tls::DecryptStats::default(), true, false);
        let mut tally = Tally::new();
        totals.warnings(false, &mut tally);
        let got: Vec<(WarningCode, String)> = tally
            .into_warnings()
            .into_iter()
            .map(|w| (w.code, w.message))
            .collect();
        assert_eq!(
            got,
            [(
                WarningCode::TlsHandshakeMalformed,
                "4 TLS hello messages on 2 connections do not parse; their server name, ALPN, version or cipher may be missing".to_string()
            )]
        );
    }
}
