//! pcap and pcapng readers: a streamed file becomes [`Frame`]s, then exchanges.
//!
//! Formats (both read with `pcap-parser`'s streaming readers, bounded buffer):
//! * pcap (draft-ietf-opsawg-pcap): both byte orders, micro- and nanosecond magic
//!   numbers, and Kuznetzov's "modified" pcap (24-byte record headers).
//! * pcapng (draft-ietf-opsawg-pcapng): several sections, each with its own byte order
//!   and interface table (link type, `if_tsresol`, `if_tsoffset` per interface);
//!   Enhanced, Simple and obsolete (type 2) Packet Blocks; Decryption Secrets Blocks
//!   (kept as key-log text for the TLS layer); everything else is skipped.
//!
//! Damage is survived: a file cut short yields every frame before the cut plus a
//! `capture_truncated` warning; a pcapng block whose length fields disagree is skipped
//! with a `capture_corrupt_block` warning naming its offset.
//!
//! [`read`] drives the whole packet pipeline (wire → stream → tls → http) through
//! [`PacketPipeline`], which the Network Monitor reader shares.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use std::collections::{BTreeMap, HashMap};

use super::{CaptureError, ConnectionInfo, InputSummary, InputWarning, Progress};
use crate::http::{h1, Exchange};
use crate::stream::{ConnId, ConnMeta, ConnStats, Dir, Reassembler, StreamHandler};
use crate::tls;
use crate::wire::Decoder;

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based frame number, counting every packet record of the file (as tshark).
    pub number: u64,
    /// Capture time, microseconds since the Unix epoch (UTC).
    pub ts_us: i64,
    /// pcap LINKTYPE_* value of the frame's interface.
    pub link_type: u32,
    /// Interface index (pcapng: section-global counter; pcap: 0).
    pub interface: u32,
    /// Length of the packet on the wire (may exceed `data.len()` when cut by snaplen).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// What a frame reader learned besides its frames.
#[derive(Debug, Default, Clone)]
pub struct FrameReport {
    pub frames: u64,
    pub producer: Option<String>,
    pub warnings: Vec<InputWarning>,
    /// Key-log text from pcapng Decryption Secrets Blocks (`TLSK`), in file order.
    pub secrets: Vec<String>,
    /// Bytes of the (decompressed) input consumed.
    pub bytes: u64,
}

/// Largest block or record accepted; anything bigger is treated as corruption.
const MAX_BLOCK: usize = 64 << 20;
const BUFFER: usize = 1 << 20;

/// Reads a pcap or pcapng stream (format picked from its magic) into frames.
pub fn read_frames<R: Read>(
    reader: R,
    name: &str,
    progress: &dyn Progress,
    on_frame: &mut dyn FnMut(&Frame<'_>),
) -> Result<FrameReport, CaptureError> {
    // Read a full head first so the readers' single initial `read` sees the header
    // even when the source returns short reads (gzip, pipes).
    let mut reader = reader;
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut reader, &mut head).map_err(|source| CaptureError::Io {
        path: name.to_string(),
        source,
    })?;
    head.truncate(n);
    let malformed = |detail: String| CaptureError::Malformed {
        path: name.to_string(),
        place: "file header".to_string(),
        detail,
    };
    if n < 4 {
        return Err(malformed(
            "the file is shorter than a capture header".into(),
        ));
    }
    let is_ng = head[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
    let chained = std::io::Cursor::new(head).chain(reader);
    let mut report = FrameReport::default();
    if is_ng {
        let r = PcapNGReader::new(BUFFER, chained)
            .map_err(|e| malformed(format!("not a pcapng section header: {e:?}")))?;
        read_ng(r, name, progress, on_frame, &mut report);
    } else {
        let r = LegacyPcapReader::new(BUFFER, chained)
            .map_err(|e| malformed(format!("not a pcap header: {e:?}")))?;
        read_legacy(r, name, progress, on_frame, &mut report);
    }
    Ok(report)
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// What the loop should do after `next()` failed.
enum Step {
    Continue,
    Stop,
}

/// Shared handling of "need more data" results: refill, grow, or detect truncation.
fn on_incomplete(
    reader: &mut dyn PcapReaderIterator,
    last_refill_pos: &mut Option<(usize, usize)>,
    err_is_small_buffer: bool,
    name: &str,
    report: &mut FrameReport,
) -> Step {
    let key = (reader.consumed(), reader.data().len());
    if reader.reader_exhausted() {
        truncated(reader, name, report);
        return Step::Stop;
    }
    if err_is_small_buffer || *last_refill_pos == Some(key) {
        // A block bigger than the buffer: grow (pcap-parser#29), bounded.
        let want = (reader.data().len() * 2).max(BUFFER * 2);
        if want > MAX_BLOCK * 2 || !reader.grow(want) {
            report.warnings.push(InputWarning::new(
                "capture_corrupt",
                format!(
                    "{name}: a record at offset {} is larger than {} MiB; reading stopped",
                    reader.consumed(),
                    MAX_BLOCK >> 20
                ),
            ));
            return Step::Stop;
        }
    }
    *last_refill_pos = Some(key);
    let failed = reader.refill().err().map(|e| format!("{e:?}"));
    if let Some(e) = failed {
        report.warnings.push(InputWarning::new(
            "capture_truncated",
            format!("{name}: read error at offset {}: {e}", reader.consumed()),
        ));
        return Step::Stop;
    }
    Step::Continue
}

fn truncated(reader: &dyn PcapReaderIterator, name: &str, report: &mut FrameReport) {
    let left = reader.data().len();
    if left > 0 {
        report.warnings.push(InputWarning::new(
            "capture_truncated",
            format!(
                "{name}: the file is cut short: {left} bytes at offset {} do not form a complete record",
                reader.consumed()
            ),
        ));
    }
}

fn read_legacy<R: Read>(
    mut reader: LegacyPcapReader<R>,
    name: &str,
    progress: &dyn Progress,
    on_frame: &mut dyn FnMut(&Frame<'_>),
    report: &mut FrameReport,
) {
    let mut link_type = 1u32;
    let mut nanos = false;
    let mut snaplen = 0u32;
    let mut last_refill = None;
    let mut since_progress = 0usize;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                last_refill = None;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        link_type = h.network.0 as u32;
                        nanos = h.is_nanosecond_precision();
                        snaplen = h.snaplen;
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let caplen = (b.caplen as usize).min(b.data.len());
                        let frac = if nanos {
                            b.ts_usec as i64 / 1000
                        } else {
                            b.ts_usec as i64
                        };
                        report.frames += 1;
                        let frame = Frame {
                            number: report.frames,
                            ts_us: b.ts_sec as i64 * 1_000_000 + frac,
                            link_type,
                            interface: 0,
                            orig_len: b.origlen,
                            data: &b.data[..caplen],
                        };
                        on_frame(&frame);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
                since_progress += offset;
                if since_progress > 4 << 20 {
                    since_progress = 0;
                    progress.advance_to(reader.consumed() as u64);
                }
            }
            Err(e) => {
                let e = NextErr::from(e);
                match e {
                    NextErr::Eof => break,
                    NextErr::Incomplete | NextErr::TooSmall => {
                        let small = matches!(e, NextErr::TooSmall);
                        // A pcap record header announcing an absurd length is corruption: the
                        // format has no block markers to resynchronise on, so stop there.
                        if let Some(len) = record_len_legacy(reader.data(), &reader) {
                            if len > MAX_BLOCK
                                || (snaplen > 0 && len > (snaplen as usize).max(262_144))
                            {
                                report.warnings.push(InputWarning::new(
                            "capture_corrupt",
                            format!(
                                "{name}: the record at offset {} claims {len} bytes (snaplen {snaplen}); reading stopped",
                                reader.consumed()
                            ),
                        ));
                                break;
                            }
                        }
                        if let Step::Stop =
                            on_incomplete(&mut reader, &mut last_refill, small, name, report)
                        {
                            break;
                        }
                    }
                    NextErr::UnexpectedEof => {
                        truncated(&reader, name, report);
                        break;
                    }
                    NextErr::Other(e) => {
                        report.warnings.push(InputWarning::new(
                            "capture_corrupt",
                            format!(
                                "{name}: unreadable record at offset {}: {e}; reading stopped",
                                reader.consumed()
                            ),
                        ));
                        break;
                    }
                }
            }
        }
    }
    report.bytes = reader.consumed() as u64;
    progress.advance_to(report.bytes);
}

/// Captured length of the next legacy record, from its header, if it is buffered.
fn record_len_legacy<R: Read>(data: &[u8], _r: &LegacyPcapReader<R>) -> Option<usize> {
    if data.len() < 16 {
        return None;
    }
    let le = u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize;
    let be = u32::from_be_bytes([data[8], data[9], data[10], data[11]]) as usize;
    // The reader knows the byte order; without access to it, the smaller reading is
    // the plausible one (a real length is < 2^24 in either order only once).
    Some(le.min(be))
}

/// Per-interface facts of the current pcapng section.
#[derive(Debug, Clone, Copy)]
struct Iface {
    link_type: u32,
    /// Timestamp units per second.
    resolution: u64,
    offset_s: i64,
    snaplen: u32,
    global: u32,
}

fn read_ng<R: Read>(
    mut reader: PcapNGReader<R>,
    name: &str,
    progress: &dyn Progress,
    on_frame: &mut dyn FnMut(&Frame<'_>),
    report: &mut FrameReport,
) {
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut big_endian = false;
    let mut next_global = 0u32;
    let mut last_ts = 0i64;
    let mut last_refill = None;
    let mut since_progress = 0usize;
    let mut unknown_iface_warned = false;
    loop {
        // Every pcapng block is at least 12 bytes (type, length, length). pcap-parser
        // 0.17 subtracts 12 from the length of a Process Information Block before
        // checking it (an overflow; found by `fuzz/fuzz_targets/pcap.rs`), so a
        // shorter length is refused here first.
        if let Some(len) = block_len_ng(reader.data(), big_endian).filter(|&l| l < 12) {
            report.warnings.push(InputWarning::new(
                "capture_corrupt",
                format!(
                    "{name}: the block at offset {} claims {len} bytes; reading stopped",
                    reader.consumed()
                ),
            ));
            break;
        }
        match reader.next() {
            Ok((offset, block)) => {
                last_refill = None;
                if let PcapBlockOwned::NG(block) = block {
                    let mut emit = |iface_id: u32,
                                    ts: Option<(u32, u32)>,
                                    data: &[u8],
                                    orig_len: u32| {
                        let Some(iface) = ifaces.get(iface_id as usize).copied() else {
                            if !unknown_iface_warned {
                                unknown_iface_warned = true;
                                report.warnings.push(InputWarning::new(
                                    "capture_corrupt_block",
                                    format!("{name}: a packet names interface {iface_id}, which its section does not describe; such packets are skipped"),
                                ));
                            }
                            return;
                        };
                        let ts_us = match ts {
                            Some((hi, lo)) => {
                                let raw = ((hi as u64) << 32) | lo as u64;
                                let us =
                                    (raw as i128 * 1_000_000) / iface.resolution.max(1) as i128;
                                let v = us + iface.offset_s as i128 * 1_000_000;
                                v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
                            }
                            None => last_ts,
                        };
                        last_ts = ts_us;
                        let mut data = data;
                        if iface.snaplen > 0 && data.len() > iface.snaplen as usize && ts.is_none()
                        {
                            data = &data[..iface.snaplen as usize];
                        }
                        report.frames += 1;
                        on_frame(&Frame {
                            number: report.frames,
                            ts_us,
                            link_type: iface.link_type,
                            interface: iface.global,
                            orig_len,
                            data,
                        });
                    };
                    match &block {
                        Block::SectionHeader(shb) => {
                            ifaces.clear();
                            big_endian = shb.big_endian();
                            if report.producer.is_none() {
                                if let Some(Ok(app)) = shb.shb_userappl() {
                                    let app = app.trim_end_matches('\0').trim();
                                    if !app.is_empty() {
                                        report.producer = Some(app.to_string());
                                    }
                                }
                            }
                        }
                        Block::InterfaceDescription(idb) => {
                            ifaces.push(Iface {
                                link_type: idb.linktype.0 as u32 & 0xffff,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_s: idb.ts_offset(),
                                snaplen: idb.snaplen,
                                global: next_global,
                            });
                            next_global += 1;
                        }
                        Block::EnhancedPacket(epb) => {
                            emit(
                                epb.if_id,
                                Some((epb.ts_high, epb.ts_low)),
                                epb.packet_data(),
                                epb.origlen,
                            );
                        }
                        Block::SimplePacket(spb) => {
                            emit(0, None, spb.packet_data(), spb.origlen);
                        }
                        Block::DecryptionSecrets(dsb)
                            if dsb.secrets_type == pcap_parser::pcapng::SecretsType::TlsKeyLog =>
                        {
                            report
                                .secrets
                                .push(String::from_utf8_lossy(dsb.data).into_owned());
                        }
                        Block::Unknown(u) if u.block_type == 2 => {
                            // Obsolete Packet Block (pcapng draft, appendix): u16 interface,
                            // u16 drops, u32 ts high, u32 ts low, u32 caplen, u32 len, data.
                            if let Some(p) = legacy_packet_block(u.data, big_endian) {
                                emit(p.0, Some((p.1, p.2)), p.4, p.3);
                            }
                        }
                        _ => {}
                    }
                }
                reader.consume(offset);
                since_progress += offset;
                if since_progress > 4 << 20 {
                    since_progress = 0;
                    progress.advance_to(reader.consumed() as u64);
                }
            }
            Err(e) => {
                let e = NextErr::from(e);
                match e {
                    NextErr::Eof => break,
                    NextErr::Incomplete | NextErr::TooSmall => {
                        let small = matches!(e, NextErr::TooSmall);
                        if let Some(len) = block_len_ng(reader.data(), big_endian) {
                            if !(12..=MAX_BLOCK).contains(&len) || len % 4 != 0 {
                                report.warnings.push(InputWarning::new(
                            "capture_corrupt",
                            format!(
                                "{name}: the block at offset {} claims {len} bytes; reading stopped",
                                reader.consumed()
                            ),
                        ));
                                break;
                            }
                        }
                        if let Step::Stop =
                            on_incomplete(&mut reader, &mut last_refill, small, name, report)
                        {
                            break;
                        }
                    }
                    NextErr::UnexpectedEof => {
                        truncated(&reader, name, report);
                        break;
                    }
                    NextErr::Other(detail) => {
                        // A block that does not parse: skip it by its length when the length is
                        // plausible and buffered, else stop.
                        let at = reader.consumed();
                        match block_len_ng(reader.data(), big_endian) {
                            Some(len)
                                if (12..=MAX_BLOCK).contains(&len)
                                    && len % 4 == 0
                                    && len <= reader.data().len() =>
                            {
                                report.warnings.push(InputWarning::new(
                            "capture_corrupt_block",
                            format!("{name}: skipped a malformed block of {len} bytes at offset {at}"),
                        ));
                                reader.consume(len);
                            }
                            _ => {
                                report.warnings.push(InputWarning::new(
                            "capture_corrupt",
                            format!("{name}: unreadable block at offset {at} ({}); reading stopped", detail.chars().take(80).collect::<String>()),
                        ));
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
    report.bytes = reader.consumed() as u64;
    progress.advance_to(report.bytes);
}

/// `pcap-parser` errors without the borrow of the reader's buffer.
enum NextErr {
    Eof,
    Incomplete,
    TooSmall,
    UnexpectedEof,
    Other(String),
}

impl From<PcapError<&[u8]>> for NextErr {
    fn from(e: PcapError<&[u8]>) -> Self {
        match e {
            PcapError::Eof => NextErr::Eof,
            PcapError::Incomplete(_) => NextErr::Incomplete,
            PcapError::BufferTooSmall => NextErr::TooSmall,
            PcapError::UnexpectedEof => NextErr::UnexpectedEof,
            other => NextErr::Other(format!("{other:?}").chars().take(80).collect()),
        }
    }
}

fn block_len_ng(data: &[u8], big_endian: bool) -> Option<usize> {
    let b: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    // A Section Header Block carries its own byte order.
    let be = if data.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        data.get(8..12)
            .map(|m| m == [0x1a, 0x2b, 0x3c, 0x4d])
            .unwrap_or(big_endian)
    } else {
        big_endian
    };
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    } as usize)
}

type LegacyPb<'a> = (u32, u32, u32, u32, &'a [u8]);

fn legacy_packet_block(body: &[u8], be: bool) -> Option<LegacyPb<'_>> {
    let u16_at = |o: usize| -> Option<u16> {
        let b: [u8; 2] = body.get(o..o + 2)?.try_into().ok()?;
        Some(if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = body.get(o..o + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let iface = u16_at(0)? as u32;
    let hi = u32_at(4)?;
    let lo = u32_at(8)?;
    let caplen = u32_at(12)? as usize;
    let len = u32_at(16)?;
    let data = body.get(20..)?;
    Some((iface, hi, lo, len, &data[..caplen.min(data.len())]))
}

/// Reads a pcap/pcapng stream and emits exchanges through the packet pipeline.
pub fn read<R: Read>(
    reader: R,
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let mut pipeline = PacketPipeline::new(input_index);
    let report = read_frames(reader, name, progress, &mut |frame| {
        pipeline.frame(frame, sink);
    })?;
    Ok(pipeline.finish(report, sink))
}

/// Frames in, exchanges and connection facts out: wire → stream → tls → http.
///
/// Exchanges reach the sink in order of request start. Completed exchanges wait in
/// a buffer until no open request on any connection started earlier; the buffer is
/// capped ([`MAX_READY`] exchanges, [`MAX_READY_BYTES`] bytes), past which the oldest
/// go out anyway.
pub struct PacketPipeline {
    wire: Decoder,
    reasm: Reassembler,
    apps: Apps,
}

pub const MAX_READY: usize = 65_536;
pub const MAX_READY_BYTES: usize = 256 << 20;

#[derive(Debug)]
enum Proto {
    Unknown,
    Tls(Box<tls::Observer>),
    Http(Box<h1::Connection>),
    Other,
}

#[derive(Debug)]
struct ConnApp {
    meta: ConnMeta,
    proto: Proto,
    exchanges: Vec<u64>,
    tls: Option<tls::TlsInfo>,
}

struct Apps {
    input: usize,
    conns: HashMap<ConnId, ConnApp>,
    closed: Vec<ConnectionInfo>,
    ready: BTreeMap<(i64, u64), Exchange<'static>>,
    ready_bytes: usize,
    seq: u64,
    emitted: usize,
    frames_since_flush: u32,
    responses_without_request: u64,
    /// Frame-time high-water mark: no request can start before it any more.
    now: i64,
}

impl PacketPipeline {
    pub fn new(input_index: usize) -> Self {
        PacketPipeline {
            wire: Decoder::new(),
            reasm: Reassembler::new(),
            apps: Apps {
                input: input_index,
                conns: HashMap::new(),
                closed: Vec::new(),
                ready: BTreeMap::new(),
                ready_bytes: 0,
                seq: 0,
                emitted: 0,
                frames_since_flush: 0,
                responses_without_request: 0,
                now: i64::MIN,
            },
        }
    }

    /// Feeds one frame; completed exchanges may reach `sink`.
    pub fn frame(&mut self, frame: &Frame<'_>, sink: &mut dyn FnMut(Exchange<'_>)) {
        let PacketPipeline { wire, reasm, apps } = self;
        apps.now = apps.now.max(frame.ts_us);
        wire.decode(
            frame.link_type,
            frame.data,
            frame.orig_len,
            frame.ts_us,
            frame.interface,
            &mut |seg| reasm.segment(seg, frame.number, frame.ts_us, apps),
        );
        apps.frames_since_flush += 1;
        if apps.frames_since_flush >= 4096 || apps.ready.len() > 1024 {
            apps.frames_since_flush = 0;
            apps.flush(false, sink);
        }
    }

    /// Feeds an exchange that a non-packet record (an ETW event) carried whole.
    pub fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'_>)) {
        self.apps.push_ready(ex);
        self.apps.flush(false, sink);
    }

    /// Flushes every connection and returns the summary of the input.
    pub fn finish(
        mut self,
        report: FrameReport,
        sink: &mut dyn FnMut(Exchange<'_>),
    ) -> InputSummary {
        self.reasm.finish(&mut self.apps);
        self.apps.flush(true, sink);
        let mut warnings = report.warnings;
        let w = &self.wire;
        if !w.unknown_link_types.is_empty() {
            warnings.push(InputWarning::new(
                "unknown_link_type",
                format!(
                    "{} frames have link types aadtrace does not decode ({:?})",
                    w.stats.unknown_link, w.unknown_link_types
                ),
            ));
        }
        if w.defrag.dropped > 0 {
            warnings.push(InputWarning::new(
                "ip_fragments_dropped",
                format!(
                    "{} IP datagrams could not be reassembled from their fragments",
                    w.defrag.dropped
                ),
            ));
        }
        let gaps: u64 = self.apps.closed.iter().map(|c| c.gaps).sum();
        if gaps > 0 {
            let n = self.apps.closed.iter().filter(|c| c.gaps > 0).count();
            warnings.push(InputWarning::new(
                "tcp_bytes_missing",
                format!("{gaps} bytes of TCP data are missing from the capture on {n} connections"),
            ));
        }
        if self.apps.responses_without_request > 0 {
            warnings.push(InputWarning::new(
                "http_response_without_request",
                format!(
                    "{} HTTP responses have no request in the capture",
                    self.apps.responses_without_request
                ),
            ));
        }
        let mut connections = std::mem::take(&mut self.apps.closed);
        connections.sort_by_key(|c| c.id);
        InputSummary {
            producer: report.producer,
            exchanges: self.apps.emitted,
            warnings,
            connections,
        }
    }
}

impl Apps {
    fn push_ready(&mut self, ex: Exchange<'static>) {
        let size =
            body_len(&ex.request.body) + ex.response.as_ref().map_or(0, |r| body_len(&r.body));
        self.ready_bytes += size + 512;
        self.seq += 1;
        self.ready.insert((ex.timing.started_us, self.seq), ex);
    }

    /// Sends exchanges that no open request can precede any more.
    fn flush(&mut self, all: bool, sink: &mut dyn FnMut(Exchange<'_>)) {
        if self.ready.is_empty() {
            return;
        }
        let mut bound = if all { i64::MAX } else { self.now };
        if !all {
            for c in self.conns.values() {
                if let Proto::Http(h) = &c.proto {
                    if let Some(t) = h.oldest_open() {
                        bound = bound.min(t);
                    }
                }
            }
        }
        loop {
            let over = self.ready.len() > MAX_READY || self.ready_bytes > MAX_READY_BYTES;
            let Some(entry) = self.ready.first_entry() else {
                break;
            };
            if entry.key().0 > bound && !over {
                break;
            }
            let ex = entry.remove();
            let size =
                body_len(&ex.request.body) + ex.response.as_ref().map_or(0, |r| body_len(&r.body));
            self.ready_bytes = self.ready_bytes.saturating_sub(size + 512);
            self.emitted += 1;
            sink(ex);
        }
    }

    fn collect(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let Proto::Http(h) = &mut c.proto else { return };
        let done: Vec<_> = h.take_done().collect();
        for ex in &done {
            c.exchanges.push(ex.origin.index);
        }
        for ex in done {
            self.push_ready(ex);
        }
    }
}

fn body_len(b: &crate::http::Body<'_>) -> usize {
    match b {
        crate::http::Body::Bytes(b) => b.len(),
        _ => 0,
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
                Proto::Tls(Box::default())
            } else if (to_server && h1::looks_like_request(bytes))
                || (!to_server && h1::looks_like_response(bytes))
                || bytes.len() >= 8
            {
                // HTTP, or bytes the HTTP parser resynchronises on (mid-stream
                // start); it gives up on data that never looks like HTTP.
                Proto::Http(Box::new(h1::Connection::new(input, conn, c.meta.server)))
            } else {
                Proto::Unknown
            };
            if let Proto::Unknown = c.proto {
                return;
            }
        }
        match &mut c.proto {
            Proto::Tls(o) => {
                o.data(to_server, bytes);
                if o.done() {
                    c.tls = Some(std::mem::take(&mut o.info));
                    c.proto = Proto::Other;
                }
            }
            Proto::Http(h) => {
                if to_server {
                    h.client_data(bytes, frame, ts_us);
                } else {
                    h.server_data(bytes, frame, ts_us);
                }
                if h.not_http {
                    c.proto = Proto::Other;
                } else {
                    self.collect(conn);
                }
            }
            Proto::Unknown | Proto::Other => {}
        }
    }

    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, _ts_us: i64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Proto::Http(h) = &mut c.proto {
            h.gap(dir == Dir::ToServer, len);
            self.collect(conn);
        }
    }

    fn end(&mut self, conn: ConnId, dir: Dir, _ts_us: i64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Proto::Http(h) = &mut c.proto {
            h.end(dir == Dir::ToServer);
            self.collect(conn);
        }
    }

    fn close(&mut self, meta: &ConnMeta, stats: &ConnStats) {
        if let Some(c) = self.conns.get_mut(&meta.id) {
            if let Proto::Http(h) = &mut c.proto {
                h.close(stats.reset);
                self.responses_without_request += h.responses_without_request;
            }
        }
        self.collect(meta.id);
        let Some(c) = self.conns.remove(&meta.id) else {
            return;
        };
        let tls = match c.proto {
            Proto::Tls(o) => Some(o.info),
            _ => c.tls,
        };
        let tls =
            tls.filter(|t| t.client_hello_seen || t.server_hello_seen || !t.alerts.is_empty());
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
            decrypted: false,
            bytes_client: cs.bytes,
            bytes_server: sc.bytes,
            gaps: cs.gap_bytes + sc.gap_bytes,
            reset: stats.reset,
            tls_alerts: tls.map(|t| t.alerts).unwrap_or_default(),
            exchanges: c.exchanges,
        });
    }
}
