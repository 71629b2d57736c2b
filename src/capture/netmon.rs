//! Microsoft Network Monitor 2.x capture files (`.cap`), written by hand.
//!
//! Layout (all little-endian; NetMon 3.4 "Capture File Format" help and the corpus
//! notes in `shared/corpus/SOURCES.md`):
//! * header: magic `GMBU`, minor and major version, file media type, capture start
//!   as a SYSTEMTIME (local time, no zone: read as UTC), then offset/length pairs of
//!   the frame table, user data, comments, process info and network info;
//! * frame table: one u32 absolute file offset per frame, in frame order;
//! * frame record: u64 µs since the start, u32 wire length, u32 captured length, the
//!   bytes, then a trailer by minor version (2.1: u16 media type; 2.2: + u32 process
//!   index; 2.3: + u64 UTC FILETIME + u8 time-zone index; 2.3 uses the FILETIME).
//!
//! A file is read through its frame table with one seek per frame, so frames need not
//! be contiguous and memory stays at one frame plus the table. A stream (gzip, stdin)
//! cannot seek: its records are read back to back from the end of the header, which
//! is how NetMon writes them.
//!
//! Per-frame media types: 0/1 Ethernet, 7/8/9 raw IP, `0xE000 | n` pcap LINKTYPE `n`;
//! `0xFFE0` is an ETW event record (see [`super::etw`] for its layout): events of
//! Microsoft-Windows-WinINet-Capture carry the HTTP heads and bodies a WinINet client
//! sent and received, and become exchanges; other events and other metadata types
//! are skipped.
//! NetMon 1.x (`RTSS`) is not read. TLS in the frames is decrypted as in pcap files
//! when a key log is given (NetMon has no block for secrets).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use super::etw::{self, WinInetCapture};
use super::keylog::KeyLog;
use super::pcap::{Frame, FrameReport};
use super::pipeline::PacketPipeline;
use super::tally::Tally;
use super::{read_full, CaptureError, InputSummary, Progress, ReadCtx, WarningCode};
use crate::http::Exchange;

const MAX_FRAME: u32 = 16 << 20;

#[derive(Debug, Clone, Copy, Default)]
struct Header {
    minor: u8,
    media: u16,
    start_us: i64,
    table_off: u32,
    table_len: u32,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

fn parse_header(h: &[u8], name: &str) -> Result<Header, CaptureError> {
    let bad = |detail: &str| CaptureError::Malformed {
        path: name.to_string(),
        place: "NetMon header".to_string(),
        detail: detail.to_string(),
    };
    if h.len() < 40 {
        return Err(bad("the file is shorter than a NetMon header"));
    }
    if &h[..4] == b"RTSS" {
        return Err(bad("Network Monitor 1.x files are not supported"));
    }
    if &h[..4] != b"GMBU" || h[5] != 2 {
        return Err(bad("not a Network Monitor 2.x file"));
    }
    // SYSTEMTIME: year, month, day of week, day, hour, minute, second, millisecond.
    let st: Vec<i64> = (0..8).map(|i| u16_at(h, 8 + 2 * i) as i64).collect();
    let start_us = civil_to_us(st[0], st[1], st[3], st[4], st[5], st[6], st[7]);
    Ok(Header {
        minor: h[4],
        media: u16_at(h, 6),
        start_us,
        table_off: u32_at(h, 24),
        table_len: u32_at(h, 28),
    })
}

/// Days-from-civil (proleptic Gregorian), to µs since the Unix epoch.
fn civil_to_us(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64, ms: i64) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms) * 1000
}

fn trailer_len(minor: u8) -> usize {
    match minor {
        0 => 0,
        1 => 2,
        2 => 6,
        _ => 15,
    }
}

/// Maps a NetMon media type to a pcap LINKTYPE; `None` for non-packet records.
fn link_type(media: u16) -> Option<u32> {
    match media {
        0 | 1 => Some(1),
        7..=9 => Some(101),
        0xE000..=0xEFFF if media < 0xE080 => Some((media & 0x0fff) as u32),
        _ => None,
    }
}

struct State<'p> {
    hdr: Header,
    report: FrameReport,
    pipeline: PacketPipeline,
    etw: u64,
    wininet: WinInetCapture,
    input: usize,
    /// Damage met while reading frames, in file order.
    tally: Tally,
    progress: &'p dyn Progress,
    /// Sees every packet frame, with its offset ([`frames`]).
    tap: Option<&'p mut dyn FnMut(&Frame<'_>)>,
}

impl<'p> State<'p> {
    fn new(
        hdr: Header,
        input: usize,
        keys: Option<Arc<KeyLog>>,
        progress: &'p dyn Progress,
    ) -> Self {
        State {
            hdr,
            report: FrameReport::default(),
            pipeline: PacketPipeline::with_keys(input, keys),
            etw: 0,
            wininet: WinInetCapture::new(),
            input,
            tally: Tally::new(),
            progress,
            tap: None,
        }
    }

    /// One frame record at offset `at`: `rec` holds the 16-byte header, data and
    /// trailer.
    fn record(&mut self, rec: &[u8], at: u64, sink: &mut dyn FnMut(Exchange<'static>)) {
        let delta = u64_at(rec, 0) as i64;
        let orig = u32_at(rec, 8);
        let incl = u32_at(rec, 12) as usize;
        let data = &rec[16..16 + incl];
        let tr = &rec[16 + incl..];
        let media = if self.hdr.minor >= 1 && tr.len() >= 2 {
            u16_at(tr, 0)
        } else {
            self.hdr.media
        };
        let ts_us = if self.hdr.minor >= 3 && tr.len() >= 14 {
            let ft = u64_at(tr, 6) as i64;
            ft / 10 - 11_644_473_600_000_000
        } else {
            // A garbage offset must not overflow (found by `fuzz/fuzz_targets/netmon.rs`).
            self.hdr.start_us.saturating_add(delta)
        };
        self.report.frames += 1;
        match link_type(media) {
            Some(lt) => {
                let frame = Frame {
                    number: self.report.frames,
                    ts_us,
                    link_type: lt,
                    interface: 0,
                    orig_len: orig,
                    data,
                    offset: at + 16,
                };
                if let Some(tap) = self.tap.as_mut() {
                    tap(&frame);
                }
                self.pipeline.frame(&frame, sink);
            }
            None if media == 0xFFE0 => {
                self.etw += 1;
                let frame = self.report.frames;
                if let Some(ev) = etw::parse_event(data).filter(WinInetCapture::wants) {
                    if let Some(ex) = self.wininet.event(&ev, frame, ts_us, self.input) {
                        self.pipeline.exchange(ex, sink);
                    }
                }
            }
            // Other metadata records carry no traffic.
            None => {}
        }
    }

    fn finish(mut self, sink: &mut dyn FnMut(Exchange<'static>)) -> InputSummary {
        for ex in self.wininet.finish(self.input) {
            self.pipeline.exchange(ex, sink);
        }
        let mut report = self.report;
        let etw = self.etw;
        self.tally
            .when(etw > 0 && self.wininet.events == 0, WarningCode::NetmonEtwFrames, || {
                format!("{etw} frames are ETW event records, not packets, and none is a WinINet-Capture event, the only kind whose HTTP aadtrace reads")
            });
        report.warnings.extend(self.tally.into_warnings());
        self.progress.advance_to(report.bytes);
        self.pipeline.finish(report, sink)
    }
}

/// Reads a NetMon file through its frame table, decrypting TLS with `keys`
/// (from `--keylog`).
pub fn read<F: Read + Seek>(
    file: F,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, keys, progress) = (ctx.name, ctx.input, ctx.keys.clone(), ctx.progress);
    let mut st = State::new(Header::default(), input_index, keys, progress);
    if ctx.http_thread {
        st.pipeline = st.pipeline.with_http_thread();
    }
    read_table(file, name, st, sink)
}

/// Reads the packet frames of a NetMon file held in memory, calling `on_frame`
/// for each (with its offset in `bytes`); the exchanges are read too and
/// their summary returned, so that a caller learns what the frames carried.
pub fn frames(
    bytes: &[u8],
    name: &str,
    on_frame: &mut dyn FnMut(&Frame<'_>),
) -> Result<InputSummary, CaptureError> {
    let mut st = State::new(Header::default(), 0, None, &super::NoProgress);
    st.tap = Some(on_frame);
    read_table(std::io::Cursor::new(bytes), name, st, &mut |_| {})
}

/// Reads a file through its frame table into `st`, whose header is read here.
fn read_table<F: Read + Seek>(
    mut file: F,
    name: &str,
    mut st: State<'_>,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<InputSummary, CaptureError> {
    let io = |source| io_error(name, source);
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    file.rewind().map_err(io)?;
    let mut h = [0u8; 64];
    let n = read_full(&mut file, &mut h).map_err(io)?;
    let hdr = parse_header(&h[..n], name)?;
    st.hdr = hdr;
    if hdr.table_len % 4 != 0 || hdr.table_off as u64 + hdr.table_len as u64 > len {
        st.tally.push(
            WarningCode::CaptureTruncated,
            format!(
                "{name}: the frame table (offset {}, {} bytes) is not inside the file; frames are read one after another instead",
                hdr.table_off, hdr.table_len
            ),
        );
        // Back to the end of what was read of the header: the sequential reader
        // skips from there to the first record.
        file.seek(SeekFrom::Start(n as u64)).map_err(io)?;
        return read_sequential(st, file, name, n as u64, sink);
    }
    let mut rec = Vec::new();
    for i in 0..(hdr.table_len / 4) as u64 {
        match st.table_frame(&mut file, name, len, i, &mut rec)? {
            Next::Frame(off) => {
                st.record(&rec, off, sink);
                st.report.bytes = off + rec.len() as u64;
                if i % 4096 == 0 {
                    st.progress.advance_to(st.report.bytes);
                }
            }
            Next::Skip => {}
            Next::Stop => break,
        }
    }
    Ok(st.finish(sink))
}

/// What reading one frame through the table gave.
enum Next {
    /// The record at this offset is in the buffer.
    Frame(u64),
    /// A damaged frame was skipped.
    Skip,
    /// The file ends here.
    Stop,
}

impl State<'_> {
    /// Reads frame `i` (from 0) through the frame table into `rec`: its 16-byte
    /// header, data and trailer.
    fn table_frame<F: Read + Seek>(
        &mut self,
        file: &mut F,
        name: &str,
        len: u64,
        i: u64,
        rec: &mut Vec<u8>,
    ) -> Result<Next, CaptureError> {
        let io = |source| io_error(name, source);
        let mut table = [0u8; 4];
        file.seek(SeekFrom::Start(self.hdr.table_off as u64 + i * 4))
            .map_err(io)?;
        if read_full(file, &mut table).map_err(io)? < 4 {
            return Ok(Next::Stop);
        }
        let off = u32::from_le_bytes(table) as u64;
        let cut = |t: &mut Tally| {
            t.push(
                WarningCode::CaptureTruncated,
                format!("{name}: frame {} at offset {off} is cut short", i + 1),
            );
            Next::Stop
        };
        let mut fh = [0u8; 16];
        file.seek(SeekFrom::Start(off)).map_err(io)?;
        if read_full(file, &mut fh).map_err(io)? < 16 {
            return Ok(cut(&mut self.tally));
        }
        let incl = u32_at(&fh, 12);
        if incl > MAX_FRAME || off + 16 + incl as u64 > len {
            self.tally.push(
                WarningCode::CaptureCorruptBlock,
                format!(
                    "{name}: frame {} at offset {off} claims {incl} bytes; skipped",
                    i + 1
                ),
            );
            return Ok(Next::Skip);
        }
        rec.clear();
        rec.extend_from_slice(&fh);
        rec.resize(16 + incl as usize + trailer_len(self.hdr.minor), 0);
        let got = read_full(file, &mut rec[16..]).map_err(io)?;
        rec.truncate(16 + got);
        if got < incl as usize {
            return Ok(cut(&mut self.tally));
        }
        Ok(Next::Frame(off))
    }
}

fn io_error(name: &str, source: std::io::Error) -> CaptureError {
    CaptureError::Io {
        path: name.to_string(),
        source,
    }
}

/// Reads a NetMon stream (gzip, stdin): records back to back after the header,
/// decrypting TLS with `keys`.
pub fn read_stream<R: Read>(
    mut reader: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, keys, progress) = (ctx.name, ctx.input, ctx.keys.clone(), ctx.progress);
    let io = |source| io_error(name, source);
    let mut h = [0u8; 64];
    let n = read_full(&mut reader, &mut h).map_err(io)?;
    let hdr = parse_header(&h[..n], name)?;
    let st = State::new(hdr, input_index, keys, progress);
    read_sequential(st, reader, name, n as u64, sink)
}

fn read_sequential<R: Read>(
    mut st: State<'_>,
    mut reader: R,
    name: &str,
    mut pos: u64,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<InputSummary, CaptureError> {
    let io = |source| io_error(name, source);
    // 2.x headers written by NetMon 3 are 72 bytes; skip to the first record.
    let first = 72u64;
    if pos < first {
        let mut skip = vec![0u8; (first - pos) as usize];
        pos += read_full(&mut reader, &mut skip).map_err(io)? as u64;
    }
    let tlen = trailer_len(st.hdr.minor);
    let mut rec = Vec::new();
    loop {
        if st.hdr.table_off > 0 && pos >= st.hdr.table_off as u64 {
            break;
        }
        let mut fh = [0u8; 16];
        let got = read_full(&mut reader, &mut fh).map_err(io)?;
        if got == 0 {
            break;
        }
        if got < 16 {
            st.tally.push(
                WarningCode::CaptureTruncated,
                format!("{name}: the record at offset {pos} is cut short"),
            );
            break;
        }
        let incl = u32_at(&fh, 12);
        if incl > MAX_FRAME {
            st.tally.push(
                WarningCode::CaptureCorrupt,
                format!("{name}: the record at offset {pos} claims {incl} bytes; reading stopped"),
            );
            break;
        }
        rec.clear();
        rec.extend_from_slice(&fh);
        rec.resize(16 + incl as usize + tlen, 0);
        let got = read_full(&mut reader, &mut rec[16..]).map_err(io)?;
        if got < incl as usize + tlen {
            st.tally.push(
                WarningCode::CaptureTruncated,
                format!("{name}: the record at offset {pos} is cut short"),
            );
            break;
        }
        st.record(&rec, pos, sink);
        pos += rec.len() as u64;
        st.report.bytes = pos;
    }
    Ok(st.finish(sink))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time() {
        assert_eq!(civil_to_us(1970, 1, 1, 0, 0, 0, 0), 0);
        assert_eq!(civil_to_us(2000, 3, 1, 0, 0, 1, 5), 951_868_801_005_000);
    }

    #[test]
    fn garbage_headers_are_errors_not_panics() {
        assert!(parse_header(b"GMBU", "x").is_err());
        assert!(parse_header(&[0u8; 80], "x").is_err());
        let mut h = [0u8; 72];
        h[..4].copy_from_slice(b"GMBU");
        h[4] = 3;
        h[5] = 2;
        assert!(parse_header(&h, "x").is_ok());
        let mut sink = |_e: Exchange<'_>| {};
        for n in 0..h.len() {
            let _ = read_stream(&h[..n], &ReadCtx::new("x"), &mut sink);
        }
    }

    /// A NetMon 2.0 file (no trailers) whose frames carry an unknown media type, so
    /// they are counted and skipped; `table` holds the frame offsets.
    fn file(frames: &[&[u8]], extra_table: &[u32], table_off: Option<u32>) -> Vec<u8> {
        let mut f = vec![0u8; 72];
        f[..4].copy_from_slice(b"GMBU");
        f[5] = 2;
        f[6..8].copy_from_slice(&0x1234u16.to_le_bytes());
        let mut table = Vec::new();
        for data in frames {
            table.push(f.len() as u32);
            f.extend(0u64.to_le_bytes());
            f.extend((data.len() as u32).to_le_bytes());
            f.extend((data.len() as u32).to_le_bytes());
            f.extend_from_slice(data);
        }
        table.extend_from_slice(extra_table);
        let off = table_off.unwrap_or(f.len() as u32);
        f[24..28].copy_from_slice(&off.to_le_bytes());
        f[28..32].copy_from_slice(&((table.len() * 4) as u32).to_le_bytes());
        for o in table {
            f.extend(o.to_le_bytes());
        }
        f
    }

    fn warnings(bytes: &[u8]) -> Vec<(WarningCode, String)> {
        let mut sink = |_e: Exchange<'_>| {};
        let cursor = std::io::Cursor::new(bytes.to_vec());
        let summary = read(cursor, &ReadCtx::new("t.cap"), &mut sink)
            .expect("a damaged frame is a warning, not an error");
        summary
            .warnings
            .into_iter()
            .map(|w| (w.code, w.message))
            .collect()
    }

    #[test]
    fn damaged_frames_in_the_table_are_skipped_or_stop_the_read() {
        assert_eq!(warnings(&file(&[b"abcd", b"efgh"], &[], None)), []);
        // A table entry whose frame claims more bytes than the file has is skipped,
        // and the frames after it are still read.
        let mut f = file(&[b"abcd", b"efgh"], &[], None);
        f[72 + 20 + 12..72 + 20 + 16].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            warnings(&f),
            [(
                WarningCode::CaptureCorruptBlock,
                "t.cap: frame 2 at offset 92 claims 1000 bytes; skipped".to_string()
            )]
        );
        // An entry pointing at the last bytes of the file: its header is cut short.
        let f = file(&[b"abcd"], &[100], None);
        assert_eq!(
            warnings(&f),
            [(
                WarningCode::CaptureTruncated,
                "t.cap: frame 2 at offset 100 is cut short".to_string()
            )]
        );
        // A table outside the file: frames are read one after another, from the
        // first record on (72 bytes in), so whole frames give no other warning.
        let mut f = file(&[b"abcd", b"efghij"], &[], Some(1 << 20));
        f.truncate(f.len() - 8);
        let got = warnings(&f);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, WarningCode::CaptureTruncated);
        assert!(got[0].1.contains("is not inside the file"), "{got:?}");
    }
}
