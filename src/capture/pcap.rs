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
//! [`read`] drives the whole packet pipeline (wire → stream → tls → http, in
//! `pipeline.rs`) through a `PacketPipeline`, which the Network Monitor reader shares.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::pipeline::PacketPipeline;
use super::{read_full, CaptureError, InputSummary, InputWarning, Progress, ReadCtx, WarningCode};
use crate::http::Exchange;

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
    /// Where `data` starts in the (decompressed) input: lets a writer patch the
    /// frame's bytes in place (`aadtrace redact` of a cleartext capture).
    pub offset: u64,
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
    /// The size the reader's buffer was last grown to (0: never grown).
    grown_to: usize,
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
            // A block bigger than the buffer: grow (pcap-parser#29), bounded. Doubled
            // from the last size, not from the bytes buffered: at the cut of a
            // truncated file those stay fewer than the buffer holds, and asking
            // for the same size again read as a block too large to accept.
            let want = (self.grown_to * 2).max(BUFFER * 2);
            self.grown_to = want;
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
        let at = reader.consumed() as u64;
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
                            // A record header is 16 bytes (pcap(5), "Packet Header").
                            offset: at + 16,
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

/// The state of the current pcapng section and of the file so far.
#[derive(Default)]
struct NgState {
    ifaces: Vec<Iface>,
    big_endian: bool,
    next_global: u32,
    last_ts: i64,
    unknown_iface_warned: bool,
}

/// Where one pcapng reader delivers: the caller's callbacks and the report.
struct NgOut<'r, 'f> {
    name: &'r str,
    on_frame: &'r mut dyn FnMut(&Frame<'_>),
    on_secrets: &'r mut dyn FnMut(&str),
    report: &'f mut FrameReport,
    /// Offset of the block being read in the input.
    block_at: u64,
}

impl NgState {
    fn block(&mut self, block: &Block<'_>, out: &mut NgOut<'_, '_>) {
        match block {
            Block::SectionHeader(shb) => {
                self.ifaces.clear();
                self.big_endian = shb.big_endian();
                if out.report.producer.is_none() {
                    if let Some(Ok(app)) = shb.shb_userappl() {
                        let app = app.trim_end_matches('\0').trim();
                        if !app.is_empty() {
                            out.report.producer = Some(app.to_string());
                        }
                    }
                }
            }
            Block::InterfaceDescription(idb) => {
                self.ifaces.push(Iface {
                    link_type: idb.linktype.0 as u32 & 0xffff,
                    resolution: idb.ts_resolution().unwrap_or(1_000_000),
                    offset_s: idb.ts_offset(),
                    snaplen: idb.snaplen,
                    global: self.next_global,
                });
                self.next_global += 1;
            }
            Block::EnhancedPacket(epb) => {
                let ts = Some((epb.ts_high, epb.ts_low));
                // Offsets of packet data in its block: RFC 9800 §4.3 (EPB, 28
                // bytes of fields first), §4.4 (SPB, 12) and appendix A (the
                // obsolete Packet Block, 28).
                self.emit(epb.if_id, ts, epb.packet_data(), epb.origlen, 28, out);
            }
            Block::SimplePacket(spb) => self.emit(0, None, spb.packet_data(), spb.origlen, 12, out),
            Block::DecryptionSecrets(dsb)
                if dsb.secrets_type == pcap_parser::pcapng::SecretsType::TlsKeyLog =>
            {
                let text = String::from_utf8_lossy(dsb.data).into_owned();
                (out.on_secrets)(&text);
                out.report.secrets.push(text);
            }
            Block::Unknown(u) if u.block_type == 2 => {
                // Obsolete Packet Block (pcapng draft, appendix): u16 interface,
                // u16 drops, u32 ts high, u32 ts low, u32 caplen, u32 len, data.
                if let Some(p) = legacy_packet_block(u.data, self.big_endian) {
                    self.emit(p.0, Some((p.1, p.2)), p.4, p.3, 28, out);
                }
            }
            _ => {}
        }
    }

    /// One packet of interface `iface_id`; `ts` is (high, low) in the interface's
    /// units, `None` for a Simple Packet Block (which takes the last time seen).
    fn emit(
        &mut self,
        iface_id: u32,
        ts: Option<(u32, u32)>,
        data: &[u8],
        orig_len: u32,
        data_in_block: u64,
        out: &mut NgOut<'_, '_>,
    ) {
        let Some(iface) = self.ifaces.get(iface_id as usize).copied() else {
            if !self.unknown_iface_warned {
                self.unknown_iface_warned = true;
                out.report.warnings.push(InputWarning::new(
                    WarningCode::CaptureCorruptBlock,
                    format!("{}: a packet names interface {iface_id}, which its section does not describe; such packets are skipped", out.name),
                ));
            }
            return;
        };
        let ts_us = ts.map_or(self.last_ts, |t| iface.micros(t));
        self.last_ts = ts_us;
        let mut data = data;
        if iface.snaplen > 0 && data.len() > iface.snaplen as usize && ts.is_none() {
            data = &data[..iface.snaplen as usize];
        }
        out.report.frames += 1;
        (out.on_frame)(&Frame {
            number: out.report.frames,
            ts_us,
            link_type: iface.link_type,
            interface: iface.global,
            orig_len,
            data,
            offset: out.block_at + data_in_block,
        });
    }
}

impl Iface {
    /// A (high, low) timestamp in microseconds since the epoch, saturated.
    fn micros(&self, (hi, lo): (u32, u32)) -> i64 {
        let raw = ((hi as u64) << 32) | lo as u64;
        let us = (raw as i128 * 1_000_000) / self.resolution.max(1) as i128;
        let v = us + self.offset_s as i128 * 1_000_000;
        v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

fn read_ng<R: Read>(
    mut reader: PcapNGReader<R>,
    name: &str,
    progress: &dyn Progress,
    on_frame: &mut dyn FnMut(&Frame<'_>),
    on_secrets: &mut dyn FnMut(&str),
    report: &mut FrameReport,
) {
    let mut state = NgState::default();
    let mut walk = Walk::default();
    let mut out = NgOut {
        name,
        on_frame,
        on_secrets,
        report,
        block_at: 0,
    };
    loop {
        // Every pcapng block is at least 12 bytes (type, length, length). pcap-parser
        // 0.17 subtracts 12 from the length of a Process Information Block before
        // checking it (an overflow; found by `fuzz/fuzz_targets/pcap.rs`), so a
        // shorter length is refused here first.
        if let Some(len) = block_len_ng(reader.data(), state.big_endian).filter(|&l| l < 12) {
            out.report.warnings.push(InputWarning::new(
                WarningCode::CaptureCorrupt,
                format!(
                    "{name}: the block at offset {} claims {len} bytes; reading stopped",
                    reader.consumed()
                ),
            ));
            break;
        }
        out.block_at = reader.consumed() as u64;
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::NG(block) = block {
                    state.block(&block, &mut out);
                }
                walk.consume(&mut reader, offset, progress);
            }
            Err(e) => {
                let error = NextErr::from(e);
                let be = state.big_endian;
                let implausible = |data: &[u8], at: usize| {
                    let len = block_len_ng(data, be)?;
                    let wrong = !(12..=MAX_BLOCK).contains(&len) || len % 4 != 0;
                    wrong.then(|| format!("the block at offset {at} claims {len} bytes"))
                };
                let go_on = match walk.failed(&mut reader, error, implausible, name, out.report) {
                    Step::Continue => true,
                    Step::Stop => false,
                    Step::Unreadable(detail) => {
                        skip_block(&mut reader, &mut walk, be, &detail, progress, &mut out)
                    }
                };
                if !go_on {
                    break;
                }
            }
        }
    }
    out.report.bytes = reader.consumed() as u64;
    progress.advance_to(out.report.bytes);
}

/// A block that does not parse: skips it by its length when the length is
/// plausible and buffered (true), else warns that reading stops (false).
fn skip_block<R: Read>(
    reader: &mut PcapNGReader<R>,
    walk: &mut Walk,
    big_endian: bool,
    detail: &str,
    progress: &dyn Progress,
    out: &mut NgOut<'_, '_>,
) -> bool {
    let (name, at) = (out.name, reader.consumed());
    match block_len_ng(reader.data(), big_endian) {
        Some(len)
            if (12..=MAX_BLOCK).contains(&len) && len % 4 == 0 && len <= reader.data().len() =>
        {
            out.report.warnings.push(InputWarning::new(
                WarningCode::CaptureCorruptBlock,
                format!("{name}: skipped a malformed block of {len} bytes at offset {at}"),
            ));
            walk.consume(reader, len, progress);
            true
        }
        _ => {
            out.report.warnings.push(InputWarning::new(
                WarningCode::CaptureCorrupt,
                format!("{name}: unreadable block at offset {at} ({detail}); reading stopped"),
            ));
            false
        }
    }
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
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, keys, progress) = (ctx.name, ctx.input, ctx.keys.clone(), ctx.progress);
    let mut pipeline = PacketPipeline::with_keys(input_index, keys);
    if ctx.http_thread {
        pipeline = pipeline.with_http_thread();
    }
    let pipeline = std::cell::RefCell::new(pipeline);
    let report = read_frames_with(
        reader,
        name,
        progress,
        &mut |frame| pipeline.borrow_mut().frame(frame, sink),
        &mut |text| pipeline.borrow_mut().add_secrets(text, name),
    )?;
    Ok(pipeline.into_inner().finish(report, sink))
}
