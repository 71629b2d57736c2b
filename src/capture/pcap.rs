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
//! A cleartext HTTP/1.1 connection upgraded to h2c (RFC 7540 §3.2) switches to the
//! HTTP/2 parser with the bytes that followed the `101`; the 101 itself is not an
//! exchange: the upgrade request comes out once, with its real response from
//! stream 1. Prior-knowledge h2c (RFC 9113 §3.3) is recognised by its preface.
//!
//! [`read`] drives the whole packet pipeline (wire → stream → tls → http) through
//! [`PacketPipeline`], which the Network Monitor reader shares.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use std::sync::Arc;

use super::keylog::KeyLog;
use super::{
    read_full, CaptureError, ConnectionInfo, InputSummary, InputWarning, Progress, WarningCode,
};
use crate::http::{h1, h2, Exchange};
use crate::limits::Allowance;
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
    read_frames_with(reader, name, progress, on_frame, &mut |_| {})
}

/// Like [`read_frames`], and calls `on_secrets` with the key-log text of each
/// Decryption Secrets Block when it is read (before the packets it applies to).
pub fn read_frames_with<R: Read>(
    reader: R,
    name: &str,
    progress: &dyn Progress,
    on_frame: &mut dyn FnMut(&Frame<'_>),
    on_secrets: &mut dyn FnMut(&str),
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
        read_ng(r, name, progress, on_frame, on_secrets, &mut report);
    } else {
        let r = LegacyPcapReader::new(BUFFER, chained)
            .map_err(|e| malformed(format!("not a pcap header: {e:?}")))?;
        read_legacy(r, name, progress, on_frame, &mut report);
    }
    Ok(report)
}

/// What the loop should do after `next()` failed.
enum Step {
    Continue,
    Stop,
    /// The block or record at the reader's position does not parse (detail).
    Unreadable(String),
}

/// The bookkeeping both block loops share: where the last refill happened (a
/// second `Incomplete` there means the block is bigger than the buffer) and how
/// many bytes were read since progress was last told.
#[derive(Default)]
struct Walk {
    last_refill: Option<(usize, usize)>,
    since_progress: usize,
}

impl Walk {
    /// Moves past a block of `len` bytes that was read whole.
    fn consume(
        &mut self,
        reader: &mut dyn PcapReaderIterator,
        len: usize,
        progress: &dyn Progress,
    ) {
        self.last_refill = None;
        reader.consume(len);
        self.since_progress += len;
        if self.since_progress > 4 << 20 {
            self.since_progress = 0;
            progress.advance_to(reader.consumed() as u64);
        }
    }

    /// Handles a failed `next()`. When the next block needs more data, its
    /// header is checked first with `implausible` (given the buffered bytes and
    /// their offset), which names a length no real block has: neither format has
    /// markers to resynchronise on, so reading stops there.
    fn failed(
        &mut self,
        reader: &mut dyn PcapReaderIterator,
        error: NextErr,
        implausible: impl FnOnce(&[u8], usize) -> Option<String>,
        name: &str,
        report: &mut FrameReport,
    ) -> Step {
        match error {
            NextErr::Eof => Step::Stop,
            NextErr::Incomplete | NextErr::TooSmall => {
                if let Some(detail) = implausible(reader.data(), reader.consumed()) {
                    report.warnings.push(InputWarning::new(
                        WarningCode::CaptureCorrupt,
                        format!("{name}: {detail}; reading stopped"),
                    ));
                    return Step::Stop;
                }
                let small = matches!(error, NextErr::TooSmall);
                self.refill(reader, small, name, report)
            }
            NextErr::UnexpectedEof => {
                truncated(reader, name, report);
                Step::Stop
            }
            NextErr::Other(detail) => Step::Unreadable(detail),
        }
    }

    /// "Need more data": refill, grow, or detect truncation.
    fn refill(
        &mut self,
        reader: &mut dyn PcapReaderIterator,
        err_is_small_buffer: bool,
        name: &str,
        report: &mut FrameReport,
    ) -> Step {
        let key = (reader.consumed(), reader.data().len());
        if reader.reader_exhausted() {
            truncated(reader, name, report);
            return Step::Stop;
        }
        if err_is_small_buffer || self.last_refill == Some(key) {
            // A block bigger than the buffer: grow (pcap-parser#29), bounded.
            let want = (reader.data().len() * 2).max(BUFFER * 2);
            if want > MAX_BLOCK * 2 || !reader.grow(want) {
                report.warnings.push(InputWarning::new(
                    WarningCode::CaptureCorrupt,
                    format!(
                        "{name}: a record at offset {} is larger than {} MiB; reading stopped",
                        reader.consumed(),
                        MAX_BLOCK >> 20
                    ),
                ));
                return Step::Stop;
            }
        }
        self.last_refill = Some(key);
        let failed = reader.refill().err().map(|e| format!("{e:?}"));
        if let Some(e) = failed {
            report.warnings.push(InputWarning::new(
                WarningCode::CaptureTruncated,
                format!("{name}: read error at offset {}: {e}", reader.consumed()),
            ));
            return Step::Stop;
        }
        Step::Continue
    }
}

fn truncated(reader: &dyn PcapReaderIterator, name: &str, report: &mut FrameReport) {
    let left = reader.data().len();
    if left > 0 {
        report.warnings.push(InputWarning::new(
            WarningCode::CaptureTruncated,
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
    let mut walk = Walk::default();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
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
                walk.consume(&mut reader, offset, progress);
            }
            Err(e) => {
                let error = NextErr::from(e);
                // A pcap record header announcing an absurd length is corruption.
                let implausible = |data: &[u8], at: usize| {
                    let len = record_len_legacy(data)?;
                    let too_long =
                        len > MAX_BLOCK || (snaplen > 0 && len > (snaplen as usize).max(262_144));
                    too_long.then(|| {
                        format!("the record at offset {at} claims {len} bytes (snaplen {snaplen})")
                    })
                };
                match walk.failed(&mut reader, error, implausible, name, report) {
                    Step::Continue => {}
                    Step::Stop => break,
                    Step::Unreadable(e) => {
                        report.warnings.push(InputWarning::new(
                            WarningCode::CaptureCorrupt,
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
fn record_len_legacy(data: &[u8]) -> Option<usize> {
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
    on_secrets: &mut dyn FnMut(&str),
    report: &mut FrameReport,
) {
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut big_endian = false;
    let mut next_global = 0u32;
    let mut last_ts = 0i64;
    let mut walk = Walk::default();
    let mut unknown_iface_warned = false;
    loop {
        // Every pcapng block is at least 12 bytes (type, length, length). pcap-parser
        // 0.17 subtracts 12 from the length of a Process Information Block before
        // checking it (an overflow; found by `fuzz/fuzz_targets/pcap.rs`), so a
        // shorter length is refused here first.
        if let Some(len) = block_len_ng(reader.data(), big_endian).filter(|&l| l < 12) {
            report.warnings.push(InputWarning::new(
                WarningCode::CaptureCorrupt,
                format!(
                    "{name}: the block at offset {} claims {len} bytes; reading stopped",
                    reader.consumed()
                ),
            ));
            break;
        }
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::NG(block) = block {
                    let mut emit = |iface_id: u32,
                                    ts: Option<(u32, u32)>,
                                    data: &[u8],
                                    orig_len: u32| {
                        let Some(iface) = ifaces.get(iface_id as usize).copied() else {
                            if !unknown_iface_warned {
                                unknown_iface_warned = true;
                                report.warnings.push(InputWarning::new(
                                    WarningCode::CaptureCorruptBlock,
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
                            let text = String::from_utf8_lossy(dsb.data).into_owned();
                            on_secrets(&text);
                            report.secrets.push(text);
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
                walk.consume(&mut reader, offset, progress);
            }
            Err(e) => {
                let error = NextErr::from(e);
                let implausible = |data: &[u8], at: usize| {
                    let len = block_len_ng(data, big_endian)?;
                    let wrong = !(12..=MAX_BLOCK).contains(&len) || len % 4 != 0;
                    wrong.then(|| format!("the block at offset {at} claims {len} bytes"))
                };
                match walk.failed(&mut reader, error, implausible, name, report) {
                    Step::Continue => {}
                    Step::Stop => break,
                    Step::Unreadable(detail) => {
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
                                    WarningCode::CaptureCorruptBlock,
                                    format!("{name}: skipped a malformed block of {len} bytes at offset {at}"),
                                ));
                                walk.consume(&mut reader, len, progress);
                            }
                            _ => {
                                report.warnings.push(InputWarning::new(
                                    WarningCode::CaptureCorrupt,
                                    format!("{name}: unreadable block at offset {at} ({detail}); reading stopped"),
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

/// Reads a pcap/pcapng stream and emits exchanges through the packet pipeline,
/// decrypting TLS with `keys` (from `--keylog`) and with the key log of any
/// Decryption Secrets Block in the file.
pub fn read<R: Read>(
    reader: R,
    name: &str,
    input_index: usize,
    keys: Option<Arc<KeyLog>>,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let pipeline = std::cell::RefCell::new(PacketPipeline::with_keys(input_index, keys));
    let report = read_frames_with(
        reader,
        name,
        progress,
        &mut |frame| pipeline.borrow_mut().frame(frame, sink),
        &mut |text| pipeline.borrow_mut().add_secrets(text, name),
    )?;
    Ok(pipeline.into_inner().finish(report, sink))
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

/// An HTTP parser over one connection's (clear or decrypted) bytes.
#[derive(Debug)]
enum App {
    H1(Box<h1::Connection>),
    H2(Box<h2::Connection>),
}

impl App {
    fn data(&mut self, to_server: bool, bytes: &[u8], frame: u64, ts: i64) {
        match (self, to_server) {
            (App::H1(h), true) => h.client_data(bytes, frame, ts),
            (App::H1(h), false) => h.server_data(bytes, frame, ts),
            (App::H2(h), true) => h.client_data(bytes, frame, ts),
            (App::H2(h), false) => h.server_data(bytes, frame, ts),
        }
    }
    fn gap(&mut self, to_server: bool, len: u64) {
        match self {
            App::H1(h) => h.gap(to_server, len),
            App::H2(h) => h.gap(to_server, len),
        }
    }
    fn end(&mut self, to_server: bool) {
        match self {
            App::H1(h) => h.end(to_server),
            App::H2(h) => h.end(to_server),
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
    unsupported: BTreeMap<String, u64>,
    h2_warnings: BTreeMap<crate::http::h2::Problem, u64>,
}

impl PacketPipeline {
    pub fn new(input_index: usize) -> Self {
        Self::with_keys(input_index, None)
    }

    /// A pipeline that decrypts TLS with `keys` (more may come from DSBs).
    pub fn with_keys(input_index: usize, keys: Option<Arc<KeyLog>>) -> Self {
        PacketPipeline {
            wire: Decoder::new(),
            reasm: Reassembler::new(),
            apps: Apps {
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
            },
        }
    }

    /// Adds key-log text (a Decryption Secrets Block) for connections seen from now on.
    pub fn add_secrets(&mut self, text: &str, name: &str) {
        let mut log = KeyLog::new();
        log.add_text(text, &format!("{name} (decryption secrets block)"));
        if log.bad_lines > 0 {
            self.apps.keylog_warnings.push(InputWarning::new(
                WarningCode::KeylogBadLines,
                format!(
                    "{} lines of a decryption secrets block are not key-log lines (first at {})",
                    log.bad_lines,
                    log.bad_examples.join(", ")
                ),
            ));
        }
        let keys = self.apps.keys.get_or_insert_with(Default::default);
        Arc::make_mut(keys).merge(&log);
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
        if apps.frames_since_flush >= 4096 || apps.ready.len() > 1024 || apps.over_budget() {
            apps.frames_since_flush = 0;
            apps.flush(false, sink);
        }
    }

    /// Feeds an exchange that a non-packet record (an ETW event) carried whole.
    pub fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'_>)) {
        // Given back when it leaves, like the exchanges the parsers build.
        self.apps.budget.charge(ex.held_bytes());
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
        warnings.append(&mut self.apps.keylog_warnings);
        let w = &self.wire;
        if !w.unknown_link_types.is_empty() {
            warnings.push(InputWarning::new(
                WarningCode::UnknownLinkType,
                format!(
                    "{} frames have link types aadtrace does not decode ({:?})",
                    w.stats.unknown_link, w.unknown_link_types
                ),
            ));
        }
        if w.defrag.dropped > 0 {
            warnings.push(InputWarning::new(
                WarningCode::IpFragmentsDropped,
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
                WarningCode::TcpBytesMissing,
                format!("{gaps} bytes of TCP data are missing from the capture on {n} connections"),
            ));
        }
        if self.apps.responses_without_request > 0 {
            warnings.push(InputWarning::new(
                WarningCode::HttpResponseWithoutRequest,
                format!(
                    "{} HTTP responses have no request in the capture",
                    self.apps.responses_without_request
                ),
            ));
        }
        warnings.extend(self.apps.tls.warnings(self.apps.keys.is_some()));
        let cuts = self.apps.budget.cuts();
        if !cuts.is_empty() {
            warnings.push(InputWarning::new(
                WarningCode::MemoryBudgetExceeded,
                format!(
                    "decoded data of this capture reached its memory cap ({} MiB): {}",
                    self.apps.budget.limit() >> 20,
                    cuts.join(", ")
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

impl TlsTotals {
    fn add(&mut self, s: &tls::DecryptStats, tls_seen: bool, have_keys: bool) {
        if s.failed > 0 {
            self.failed_records += s.failed;
            self.failed_conns += 1;
        }
        self.lost_to_gaps += s.lost_to_gaps;
        if let Some(u) = &s.unsupported {
            *self.unsupported.entry(u.clone()).or_default() += 1;
        } else if have_keys && tls_seen && !s.keys_found && s.opaque > 0 {
            self.no_keys += 1;
        }
    }

    fn warnings(&self, have_keys: bool) -> Vec<InputWarning> {
        let mut w = Vec::new();
        if self.failed_records > 0 {
            w.push(InputWarning::new(
                WarningCode::TlsDecryptFailed,
                format!(
                    "{} TLS records on {} connections failed to decrypt (wrong keys or damaged data); their bytes are treated as missing",
                    self.failed_records, self.failed_conns
                ),
            ));
        }
        if !self.unsupported.is_empty() {
            let list: Vec<String> = self
                .unsupported
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect();
            w.push(InputWarning::new(
                WarningCode::TlsCipherUnsupported,
                format!(
                    "keys are known but aadtrace cannot decrypt these cipher suites: {}",
                    list.join(", ")
                ),
            ));
        }
        if have_keys && self.no_keys > 0 {
            w.push(InputWarning::new(
                WarningCode::TlsKeysMissing,
                format!(
                    "{} TLS connections have no secrets in the key log",
                    self.no_keys
                ),
            ));
        }
        if self.lost_to_gaps > 0 {
            w.push(InputWarning::new(
                WarningCode::TlsRecordsLost,
                format!(
                    "{} bytes of decryptable TLS could not be read because the capture misses bytes before them",
                    self.lost_to_gaps
                ),
            ));
        }
        for (&problem, n) in &self.h2_warnings {
            w.push(InputWarning::new(
                problem.into(),
                format!("{} ({n} times)", problem.what()),
            ));
        }
        w
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
    fn flush(&mut self, all: bool, sink: &mut dyn FnMut(Exchange<'_>)) {
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
                tls::Plain::Data { from_client, data } => {
                    let app = t.app.get_or_insert_with(|| {
                        let h2 = t.obs.info.alpn.as_deref() == Some("h2")
                            || (from_client && data.starts_with(h2::PREFACE));
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
                    app.data(from_client, &data, frame, ts_us);
                }
                tls::Plain::Gap { from_client, len } => {
                    if let Some(app) = t.app.as_mut() {
                        app.gap(from_client, len);
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
                t.obs.data(to_server, bytes);
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
                h.data(to_server, bytes, frame, ts_us);
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
        let to_server = dir == Dir::ToServer;
        match &mut c.proto {
            Proto::Http(h) => {
                h.gap(to_server, len);
                self.collect(conn);
            }
            Proto::Tls(t) => {
                t.obs.gap(to_server, len);
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
            app.end(dir == Dir::ToServer);
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
