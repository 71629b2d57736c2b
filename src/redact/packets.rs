//! Cleartext packet captures (pcap, pcapng, Network Monitor) redacted in place:
//! the copy is the same file, frame for frame, with only the bytes of masked
//! values changed, each to a value of the same length ([`super::fixed`]). Every
//! frame, length, TCP sequence number and time stamp still lines up, so
//! Wireshark, tshark and aadtrace read the copy as they read the original.
//!
//! How:
//! 1. The exchanges are read as for `--to har` and put through the HAR
//!    rewriter, so the masker learns every secret and user name of the file.
//! 2. Each TCP half-connection is rebuilt from its segments, each segment
//!    remembering where its payload lies in the file (`Frame::offset`).
//! 3. Its HTTP/1 messages are walked: request target, header values, and the
//!    body's data (chunk by chunk when chunked). Each message goes through the
//!    same maskers as a HAR's fields, which record the originals they masked;
//!    every spelling of those originals in the message's value bytes is then
//!    overwritten, and the change written back to every frame that carried
//!    those bytes (retransmissions too).
//!
//! What cannot be masked at the same length is blanked (`*`) and named in the
//! receipt: a compressed body with something to mask, a text body that does
//! not decode, HTTP/2 or another protocol after an upgrade, bytes of a
//! connection that cannot be rebuilt (IP fragments, wild sequence numbers).
//! TCP checksums of changed frames are left stale (the receipt says so;
//! Wireshark does not check them by default). Refused, with the reason:
//! exchanges decrypted from TLS (a capture of ciphertext cannot show masked
//! plaintext: `--to har` writes them as a redacted HAR), WinINet ETW events in a
//! NetMon file (`--to har` too), and captures whose HTTP is all encrypted with no
//! key log (there is nothing to read or mask).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::ops::Range;

use super::exchanges;
use super::har::{self, RewriteError};
use super::{fixed, text, Input, Masker, TraceRewriter, Written};
use crate::capture::pcap::{self, Frame};
use crate::capture::{self, netmon, Format, InputSummary, NoProgress};
use crate::http::content;
use crate::http::message::{self, ChunkSpans};
use crate::secrets::SecretKind;
use crate::wire;

/// The in-place rewriter for cleartext packet captures.
pub struct InPlace;

/// What replaces bytes that cannot be masked at the same length.
const BLANK: u8 = b'*';

impl TraceRewriter for InPlace {
    /// Learns from the exchanges as a HAR: the same maskers, on messages
    /// already put together, decoded and decompressed.
    fn learn(&self, input: &Input, masker: &mut Masker) -> Result<(), RewriteError> {
        let (har, summary) = exchanges::to_har(input.raw(), input.keys())?;
        refuse_unmaskable(&summary)?;
        har::learn_bytes(har.as_bytes(), masker)
    }

    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn std::io::Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        // The summary alone (what is decrypted, what came from ETW): reading
        // without building a HAR.
        let (_, summary) = capture::read_bytes(
            input.raw(),
            &capture::ReadCtx::new("input").keys(input.keys()),
            &mut |_| {},
        )
        .map_err(|e| RewriteError::Malformed(e.to_string()))?;
        refuse_unmaskable(&summary)?;
        let original = input.whole()?;
        let mut copy = original.to_vec();
        let mut notes = Notes::default();
        let halves = segments(&original)?;
        // In file order, so that the receipt and a refusal are the same each run.
        let mut halves: Vec<&Half> = halves.values().collect();
        halves.sort_by_key(|h| h.pieces.first().map_or(0, |p| p.frame));
        for half in halves {
            half.redact(&original, &mut copy, masker, &mut notes)
                .map_err(RewriteError::Malformed)?;
        }
        // The maskers counted what they read; the receipt counts what changed,
        // frame by frame.
        masker.reset_counts();
        notes.hits.sort();
        for (frame, field, kind) in &notes.hits {
            masker.set_place(&format!("frame {frame}"), field);
            masker.tally(*kind);
        }
        out.write_all(&copy).map_err(RewriteError::Write)?;
        Ok(Written {
            exchanges: summary.exchanges,
            warnings: notes.into_warnings(),
        })
    }
}

/// Refuses what cannot be redacted in place, saying what to do instead.
fn refuse_unmaskable(summary: &InputSummary) -> Result<(), RewriteError> {
    let decrypted: usize = summary
        .connections
        .iter()
        .filter(|c| c.decrypted)
        .map(|c| c.exchanges.len())
        .sum();
    if decrypted > 0 {
        return Err(RewriteError::Malformed(format!(
            "{decrypted} exchanges were decrypted from TLS; a capture keeps their ciphertext, which cannot show masked values. `--to har` writes the decrypted exchanges, redacted, as a HAR"
        )));
    }
    let on_connections: usize = summary.connections.iter().map(|c| c.exchanges.len()).sum();
    if summary.exchanges > on_connections {
        return Err(RewriteError::Malformed(format!(
            "{} exchanges come from WinINet ETW events, which cannot be masked in place. `--to har` writes them, redacted, as a HAR",
            summary.exchanges - on_connections
        )));
    }
    let encrypted = summary
        .connections
        .iter()
        .filter(|c| c.tls_version.is_some() && !c.decrypted)
        .count();
    if summary.exchanges == 0 && encrypted > 0 {
        return Err(RewriteError::Malformed(format!(
            "its HTTP is encrypted ({encrypted} TLS connections) and no key log decrypts it, so there is nothing aadtrace can read or mask. Give the key log (--keylog FILE) and `--to har` to share the sign-in redacted"
        )));
    }
    Ok(())
}

/// One TCP direction: source and destination endpoints and the capture channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HalfKey {
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    channel: u64,
}

/// A segment's payload: its sequence number, and where it lies in the file.
#[derive(Debug, Clone, Copy)]
struct Piece {
    seq: u32,
    at: usize,
    len: usize,
    frame: u64,
}

/// The segments of one TCP direction, in file order.
#[derive(Debug, Default)]
struct Half {
    pieces: Vec<Piece>,
    /// Sequence number of a SYN, when one was seen (data starts one after).
    syn: Option<u32>,
    /// Payload bytes that are not in one frame (IP fragments): not mappable.
    unmapped: u64,
}

/// Byte ranges of a TCP direction and the frame that first carried each:
/// disjoint ranges keyed by their start, so a masked value's frame is one
/// look-up however many segments the direction has.
#[derive(Debug, Default)]
struct FrameMap(BTreeMap<usize, (usize, u64)>);

impl FrameMap {
    /// Gives the parts of `from..to` that no earlier frame covers to `frame`.
    fn paint(&mut self, from: usize, to: usize, frame: u64) {
        let mut cursor = from;
        if let Some((_, &(end, _))) = self.0.range(..=from).next_back() {
            cursor = cursor.max(end);
        }
        let mut gaps = Vec::new();
        for (&start, &(end, _)) in self.0.range(from..to) {
            if cursor >= to {
                break;
            }
            if start > cursor {
                gaps.push((cursor, start));
            }
            cursor = cursor.max(end);
        }
        if cursor < to {
            gaps.push((cursor, to));
        }
        for (a, b) in gaps {
            self.0.insert(a, (b, frame));
        }
    }

    /// The frame that carried byte `at`, or 0 when none did.
    fn frame_at(&self, at: usize) -> u64 {
        self.0
            .range(..=at)
            .next_back()
            .filter(|(_, &(end, _))| at < end)
            .map_or(0, |(_, &(_, frame))| frame)
    }
}

/// What the receipt should say about the copy.
#[derive(Debug, Default)]
struct Notes {
    /// Frames whose bytes changed (their TCP checksums are stale now).
    changed_frames: std::collections::BTreeSet<u64>,
    blanked: Vec<String>,
    /// Values replaced: frame, field and kind.
    hits: Vec<(u64, String, SecretKind)>,
}

impl Notes {
    fn into_warnings(self) -> Vec<String> {
        let mut out = self.blanked;
        if !self.changed_frames.is_empty() {
            out.push(format!(
                "the TCP checksums of the {} frames with masked bytes are left stale (Wireshark does not check them by default)",
                self.changed_frames.len()
            ));
        }
        out
    }
}

/// Every TCP payload of the capture, by direction, with its place in `bytes`.
fn segments(bytes: &[u8]) -> Result<HashMap<HalfKey, Half>, RewriteError> {
    let mut halves: HashMap<HalfKey, Half> = HashMap::new();
    let mut decoder = wire::Decoder::new();
    let mut on_frame = |frame: &Frame<'_>| {
        let base = frame.data.as_ptr() as usize;
        let frame_end = base + frame.data.len();
        let mut on_tcp = |seg: &wire::TcpSegment<'_>| {
            let key = HalfKey {
                src: seg.src,
                sport: seg.sport,
                dst: seg.dst,
                dport: seg.dport,
                channel: seg.channel,
            };
            let half = halves.entry(key).or_default();
            if seg.flags.syn {
                half.syn = Some(seg.seq);
            }
            if seg.payload.is_empty() {
                return;
            }
            let p = seg.payload.as_ptr() as usize;
            if p < base || p + seg.payload.len() > frame_end {
                half.unmapped += seg.payload.len() as u64;
                return;
            }
            half.pieces.push(Piece {
                seq: seg.seq.wrapping_add(seg.flags.syn as u32),
                at: frame.offset as usize + (p - base),
                len: seg.payload.len(),
                frame: frame.number,
            });
        };
        decoder.decode(
            frame.link_type,
            frame.data,
            frame.orig_len,
            frame.ts_us,
            frame.interface,
            &mut on_tcp,
        );
    };
    let format = crate::capture::sniff(&bytes[..bytes.len().min(512)]);
    let read = match format {
        Some(Format::Netmon) => netmon::frames(bytes, "input", &mut on_frame).map(|_| ()),
        _ => pcap::read_frames(bytes, "input", &NoProgress, &mut on_frame).map(|_| ()),
    };
    read.map_err(|e| RewriteError::Malformed(e.to_string()))?;
    let fragmented: u64 = halves.values().map(|h| h.unmapped).sum();
    if fragmented > 0 {
        return Err(RewriteError::Malformed(format!(
            "{fragmented} bytes of TCP payload came in IP fragments, which cannot be patched in place. `--to har` writes the exchanges, redacted, as a HAR"
        )));
    }
    Ok(halves)
}

impl Half {
    /// Rebuilds this direction's bytes, masks its HTTP in them, and writes what
    /// changed into `copy` at every place those bytes were captured.
    fn redact(
        &self,
        original: &[u8],
        copy: &mut [u8],
        m: &mut Masker,
        notes: &mut Notes,
    ) -> Result<(), String> {
        if self.pieces.is_empty() {
            return Ok(());
        }
        let Some((start, stream)) = self.rebuild(original) else {
            for piece in &self.pieces {
                copy[piece.at..piece.at + piece.len].fill(BLANK);
                notes.changed_frames.insert(piece.frame);
            }
            notes.blanked.push(format!(
                "a TCP direction whose sequence numbers jump was blanked ({} segments)",
                self.pieces.len()
            ));
            return Ok(());
        };
        let mut edits = Edits::default();
        walk_messages(&stream, m, &mut edits)?;
        if !edits.hits.is_empty() {
            let frames = self.frame_map(start);
            for (at, field, kind) in edits.hits.drain(..) {
                notes.hits.push((frames.frame_at(at), field, kind));
            }
        }
        if edits.blanked > 0 {
            notes.blanked.push(format!(
                "{} bytes that cannot be masked at their length were blanked ({})",
                edits.blanked,
                edits.why.join(", ")
            ));
        }
        let mut masked = stream.clone();
        for (at, bytes) in &edits.writes {
            masked[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        for piece in &self.pieces {
            let rel = piece.seq.wrapping_sub(start) as usize;
            let (from, to) = (rel, rel + piece.len);
            if masked[from..to] != stream[from..to] {
                copy[piece.at..piece.at + piece.len].copy_from_slice(&masked[from..to]);
                notes.changed_frames.insert(piece.frame);
            }
        }
        Ok(())
    }

    /// Which frame carried each byte of the direction's bytes (whose first
    /// sequence number is `start`): the first frame in file order that holds
    /// it, as a retransmission comes after the segment it repeats.
    fn frame_map(&self, start: u32) -> FrameMap {
        let mut map = FrameMap::default();
        for p in &self.pieces {
            let rel = p.seq.wrapping_sub(start) as usize;
            map.paint(rel, rel + p.len, p.frame);
        }
        map
    }

    /// The direction's bytes from its first sequence number, and that number.
    /// `None` when the numbers jump so far that the bytes cannot be laid out.
    fn rebuild(&self, original: &[u8]) -> Option<(u32, Vec<u8>)> {
        let first = self.pieces[0].seq;
        let earliest = self
            .pieces
            .iter()
            .map(|p| p.seq.wrapping_sub(first) as i32)
            .min()
            .unwrap_or(0);
        let start = match self.syn {
            Some(syn) if (syn.wrapping_add(1).wrapping_sub(first) as i32) <= earliest => {
                syn.wrapping_add(1)
            }
            _ => first.wrapping_add(earliest as u32),
        };
        let total: usize = self.pieces.iter().map(|p| p.len).sum();
        let end = self
            .pieces
            .iter()
            .map(|p| p.seq.wrapping_sub(start) as usize + p.len)
            .max()
            .unwrap_or(0);
        if end > 2 * total + (1 << 20) {
            return None;
        }
        let mut stream = vec![0u8; end];
        for p in &self.pieces {
            let rel = p.seq.wrapping_sub(start) as usize;
            stream[rel..rel + p.len].copy_from_slice(&original[p.at..p.at + p.len]);
        }
        Some((start, stream))
    }
}

/// Ranges of a direction's bytes read as one text (a header value, a body's
/// chunks), and the field the receipt names for it.
struct View {
    ranges: Vec<Range<usize>>,
    field: String,
}

impl View {
    fn new(ranges: Vec<Range<usize>>, field: String) -> Self {
        View { ranges, field }
    }
}

/// Same-length writes into one direction's bytes.
#[derive(Debug, Default)]
struct Edits {
    writes: Vec<(usize, Vec<u8>)>,
    blanked: usize,
    why: Vec<&'static str>,
    /// Each value replaced: where it starts, its field and kind.
    hits: Vec<(usize, String, SecretKind)>,
}

impl Edits {
    fn hit(&mut self, at: usize, field: &str, kind: SecretKind) {
        self.hits.push((at, field.to_string(), kind));
    }

    fn blank(&mut self, range: Range<usize>, why: &'static str) {
        if range.is_empty() {
            return;
        }
        self.blanked += range.len();
        if !self.why.contains(&why) {
            self.why.push(why);
        }
        self.writes.push((range.start, vec![BLANK; range.len()]));
    }
}

/// Walks the HTTP/1 messages of one direction and masks them. Bytes that are
/// not HTTP get the sweep for known secrets; what follows a protocol switch
/// (WebSocket) is blanked. HTTP/2 is refused: its header blocks are
/// HPACK-compressed (RFC 7541), so their values have no spelling to find.
fn walk_messages(stream: &[u8], m: &mut Masker, edits: &mut Edits) -> Result<(), String> {
    if stream.first() == Some(&0x16) {
        // TLS records: ciphertext without keys, nothing readable to mask.
        return Ok(());
    }
    let mut pos = 0;
    while pos < stream.len() {
        let rest = &stream[pos..];
        if rest.starts_with(b"PRI * HTTP/2.0") {
            return Err("it holds HTTP/2 in clear text, whose compressed headers cannot be masked in place. `--to har` writes the exchanges, redacted, as a HAR".to_string());
        }
        let Some(msg) = Message::parse(rest) else {
            sweep_region(stream, pos..stream.len(), m, edits);
            return Ok(());
        };
        msg.mask(stream, pos, m, edits);
        if msg.switches_protocol {
            let after = pos + msg.end;
            edits.blank(after..stream.len(), "a protocol after an HTTP upgrade");
            return Ok(());
        }
        if msg.end == 0 {
            return Ok(());
        }
        pos += msg.end;
    }
    Ok(())
}

/// Masks the known secrets found in bytes that are not read as HTTP.
fn sweep_region(stream: &[u8], range: Range<usize>, m: &mut Masker, edits: &mut Edits) {
    m.start_journal();
    m.sweep(&String::from_utf8_lossy(&stream[range.clone()]));
    let journal = m.take_journal();
    let view = View::new(vec![range], "payload".to_string());
    replace_spellings(stream, &[view], &journal, m, edits);
}

/// One HTTP/1 message laid out in a direction's bytes (offsets from its start).
#[derive(Debug)]
struct Message {
    request: bool,
    /// The request target (requests only).
    target: Option<Range<usize>>,
    /// Header fields: name, and the range of the value.
    fields: Vec<(String, Range<usize>)>,
    /// The body's data (one range, or one per chunk).
    body: Vec<Range<usize>>,
    /// Where the message ends.
    end: usize,
    switches_protocol: bool,
}

/// Header fields whose values frame the message: never changed.
const FRAMING: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "connection",
];

impl Message {
    fn parse(rest: &[u8]) -> Option<Message> {
        let request = !rest.starts_with(b"HTTP/");
        if request && !starts_like_request(rest) {
            return None;
        }
        let (head_len, body_start) = message::head_end(rest)?;
        let mut lines = lines(&rest[..head_len]);
        let first = lines.next()?;
        let start_line = String::from_utf8_lossy(&rest[first.clone()]).into_owned();
        let mut msg = Message {
            request,
            target: None,
            fields: Vec::new(),
            body: Vec::new(),
            end: body_start,
            switches_protocol: false,
        };
        if request {
            let line = &rest[first.clone()];
            let sp1 = line.iter().position(|&b| b == b' ')?;
            let len = line[sp1 + 1..]
                .iter()
                .position(|&b| b == b' ')
                .unwrap_or(line.len() - sp1 - 1);
            msg.target = Some(first.start + sp1 + 1..first.start + sp1 + 1 + len);
        }
        for line in lines {
            let text = &rest[line.clone()];
            let Some(colon) = text.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = String::from_utf8_lossy(&text[..colon])
                .trim()
                .to_ascii_lowercase();
            let value = trimmed(text, colon + 1);
            msg.fields
                .push((name, line.start + value.start..line.start + value.end));
        }
        let status = (!request)
            .then(|| message::parse_status_line(&start_line).map(|s| s.status))
            .flatten();
        msg.frame_body(rest, body_start, status);
        Some(msg)
    }

    fn field<'s>(&self, rest: &'s [u8], name: &str) -> Option<std::borrow::Cow<'s, str>> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| String::from_utf8_lossy(&rest[r.clone()]))
    }

    /// Finds where the body lies (RFC 9112 §6.3) and where the message ends.
    fn frame_body(&mut self, rest: &[u8], body_start: usize, status: Option<u16>) {
        let after = &rest[body_start..];
        if matches!(status, Some(101)) {
            self.switches_protocol = true;
            return;
        }
        if matches!(status, Some(100..=199 | 204 | 304)) || after.starts_with(b"HTTP/1.") {
            return;
        }
        let chunked = self
            .field(rest, "transfer-encoding")
            .is_some_and(|te| message::is_chunked(te.split(',')));
        if chunked {
            let (spans, end) = match message::chunk_spans(after) {
                ChunkSpans::Complete(spans, end) => (spans, end),
                ChunkSpans::Cut(spans) => (spans, after.len()),
                ChunkSpans::No => (std::iter::once(0..after.len()).collect(), after.len()),
            };
            self.body = spans
                .into_iter()
                .map(|r| body_start + r.start..body_start + r.end)
                .collect();
            self.end = body_start + end;
            return;
        }
        let length = self
            .field(rest, "content-length")
            .and_then(|v| message::content_length(&v));
        let len = match length {
            Some(n) => (n as usize).min(after.len()),
            None if self.request => 0,
            None => after.len(),
        };
        self.body = std::iter::once(body_start..body_start + len).collect();
        self.end = body_start + len;
    }

    /// Masks this message, which starts at `at` in `stream`.
    fn mask(&self, stream: &[u8], at: usize, m: &mut Masker, edits: &mut Edits) {
        let rest = &stream[at..];
        let shift = |r: &Range<usize>| at + r.start..at + r.end;
        m.start_journal();
        if let Some(target) = &self.target {
            text::url(m, &String::from_utf8_lossy(&rest[target.clone()]));
        }
        let side = if self.request { "request" } else { "response" };
        let mut views: Vec<View> = self
            .target
            .iter()
            .map(|r| View::new(vec![shift(r)], "request target".to_string()))
            .collect();
        for (name, range) in &self.fields {
            if FRAMING.contains(&name.as_str()) {
                continue;
            }
            har::header_value(m, name, &String::from_utf8_lossy(&rest[range.clone()]));
            let field = m.field_name(&format!("{side} header "), name);
            views.push(View::new(vec![shift(range)], field));
        }
        let head = self
            .body
            .first()
            .map_or(rest.len().min(self.end), |b| b.start);
        m.sweep(&String::from_utf8_lossy(&rest[..head]));
        let mut verdict = self.mask_body(rest, m);
        let journal = m.take_journal();
        let body: Vec<Range<usize>> = self.body.iter().map(shift).collect();
        if journal.iter().any(|(o, _)| o.contains('\u{FFFD}')) {
            // An original read through invalid UTF-8 has no spelling to find:
            // every value of the message goes.
            for view in views.drain(..) {
                view.ranges
                    .into_iter()
                    .for_each(|r| edits.blank(r, "values in invalid UTF-8"));
            }
            verdict = BodyVerdict::Blank("values in invalid UTF-8");
        }
        match verdict {
            BodyVerdict::Patch => views.push(View::new(body, format!("{side} body"))),
            BodyVerdict::Blank(why) => {
                for range in body {
                    edits.blank(range, why);
                }
            }
            BodyVerdict::Keep => {}
        }
        replace_spellings(stream, &views, &journal, m, edits);
    }

    /// Puts the body through the maskers (which record what they mask) and says
    /// how its bytes can be changed.
    fn mask_body(&self, rest: &[u8], m: &mut Masker) -> BodyVerdict {
        let data: Vec<u8> = self
            .body
            .iter()
            .flat_map(|r| rest[r.clone()].iter().copied())
            .collect();
        if data.is_empty() {
            return BodyVerdict::Keep;
        }
        let mime = self
            .field(rest, "content-type")
            .unwrap_or_default()
            .into_owned();
        let codings = self.field(rest, "content-encoding").map(|c| c.into_owned());
        let before = m.total();
        let decoded = match &codings {
            Some(codings) => content::decode(codings, data, content::MAX_DECODED).0,
            None => data,
        };
        let (text, exact) = body_text(&decoded);
        let redacted = har::body(m, &text, &mime);
        m.sweep(&redacted);
        let masked = m.total() > before;
        match codings {
            Some(_) if masked => BodyVerdict::Blank("a compressed body with values to mask"),
            Some(_) => BodyVerdict::Keep,
            None if masked && !exact => BodyVerdict::Blank("a UTF-16 body with values to mask"),
            None => BodyVerdict::Patch,
        }
    }
}

/// A body as text for the maskers, and whether that text's spellings are the
/// body's own bytes (UTF-8, or ASCII around invalid bytes) rather than a
/// transcoding (UTF-16, as Microsoft's SOAP services send).
fn body_text(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, bool) {
    let sample = &bytes[..bytes.len().min(512)];
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    let utf16 = sample.starts_with(&[0xFF, 0xFE])
        || sample.starts_with(&[0xFE, 0xFF])
        || nuls * 4 > sample.len();
    if utf16 {
        let big = sample.starts_with(&[0xFE, 0xFF]) || sample.first() == Some(&0);
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|p| {
                if big {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        return (String::from_utf16_lossy(&units).into(), false);
    }
    (String::from_utf8_lossy(bytes), true)
}

/// How a body's bytes can be changed.
enum BodyVerdict {
    /// Its bytes are what the maskers read: patch the spellings found.
    Patch,
    /// Nothing to mask, and its bytes are coded: keep them.
    Keep,
    /// Something to mask in bytes that cannot be patched at their length.
    Blank(&'static str),
}

/// True when `b` starts with a method token and a space (RFC 9112 §3).
fn starts_like_request(b: &[u8]) -> bool {
    let n = b
        .iter()
        .take(24)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    n > 0 && b.get(n) == Some(&b' ')
}

/// The line ranges of a head (without their line ends).
fn lines(head: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= head.len() {
            return None;
        }
        let nl = memchr::memchr(b'\n', &head[pos..]).map_or(head.len(), |n| pos + n);
        let mut end = nl;
        if end > pos && head[end - 1] == b'\r' {
            end -= 1;
        }
        let line = pos..end;
        pos = nl + 1;
        Some(line)
    })
}

/// The range of `line[from..]` without surrounding spaces and tabs.
fn trimmed(line: &[u8], from: usize) -> Range<usize> {
    let mut start = from;
    let mut end = line.len();
    while start < end && (line[start] == b' ' || line[start] == b'\t') {
        start += 1;
    }
    while end > start && (line[end - 1] == b' ' || line[end - 1] == b'\t') {
        end -= 1;
    }
    start..end
}

/// Overwrites, in each view (ranges of `stream` read as one text), every
/// spelling of every original in `journal` with its same-length replacement.
fn replace_spellings(
    stream: &[u8],
    views: &[View],
    journal: &[(String, SecretKind)],
    m: &mut Masker,
    edits: &mut Edits,
) {
    let mut originals: Vec<&(String, SecretKind)> = journal
        .iter()
        .filter(|(o, _)| !o.trim().is_empty())
        .collect();
    originals.sort();
    originals.dedup();
    for view in views {
        let text: Vec<u8> = view
            .ranges
            .iter()
            .flat_map(|r| stream[r.clone()].iter().copied())
            .collect();
        let lower = text.to_ascii_lowercase();
        for (original, kind) in &originals {
            for spelled in fixed::spellings(original) {
                let (hay, needle) = if *kind == SecretKind::UserName {
                    (&lower, spelled.to_ascii_lowercase())
                } else {
                    (&text, spelled)
                };
                for found in memchr::memmem::find_iter(hay, &needle) {
                    let end = found + needle.len();
                    if !bounded(&text, found, end) {
                        continue;
                    }
                    let new = fixed::replacement(m, *kind, original, &text[found..end]);
                    let at = stream_offset(&view.ranges, found);
                    edits.hit(at, &view.field, *kind);
                    write_view(&view.ranges, found, &new, edits);
                }
            }
        }
    }
}

/// True when `text[start..end]` is not part of a longer word. An escape just
/// before it (`%3d`, `\u0026`) ends the word before, though it ends in a letter
/// or digit.
fn bounded(text: &[u8], start: usize, end: usize) -> bool {
    let escaped = |n: usize, lead: &[u8]| {
        start >= n
            && text[start - n..].starts_with(lead)
            && text[start - n + lead.len()..start]
                .iter()
                .all(u8::is_ascii_hexdigit)
    };
    let before_ok = match start.checked_sub(1).map(|i| text[i]) {
        Some(b) if b.is_ascii_alphanumeric() => escaped(3, b"%") || escaped(6, b"\\u"),
        _ => true,
    };
    let after_ok = !text.get(end).is_some_and(|b| b.is_ascii_alphanumeric());
    before_ok && after_ok
}

/// Where offset `at` of a view lies in the direction's bytes.
fn stream_offset(view: &[Range<usize>], at: usize) -> usize {
    let mut offset = 0;
    for range in view {
        if at < offset + range.len() {
            return range.start + (at - offset);
        }
        offset += range.len();
    }
    view.last().map_or(0, |r| r.end)
}

/// Writes `bytes` at offset `at` of a view, split over the view's ranges.
fn write_view(view: &[Range<usize>], at: usize, bytes: &[u8], edits: &mut Edits) {
    let mut offset = 0;
    let mut written = 0;
    for range in view {
        let (lo, hi) = (offset, offset + range.len());
        offset = hi;
        let from = at + written;
        if written == bytes.len() || from >= hi {
            continue;
        }
        let n = (hi - from).min(bytes.len() - written);
        let start = range.start + (from - lo);
        edits
            .writes
            .push((start, bytes[written..written + n].to_vec()));
        written += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first piece in file order that holds `at`: what [`FrameMap`] must
    /// answer, found the slow way.
    fn first_holding(pieces: &[(usize, usize, u64)], at: usize) -> u64 {
        pieces
            .iter()
            .find(|&&(from, len, _)| (from..from + len).contains(&at))
            .map_or(0, |&(_, _, frame)| frame)
    }

    #[test]
    fn frame_map_names_the_first_frame_that_carried_each_byte() {
        // Segments in order, retransmissions (whole and partial), segments
        // out of order, overlaps and a gap; a small xorshift for the rest.
        let mut pieces = vec![
            (0, 100, 1),
            (100, 100, 2),
            (50, 100, 3),
            (300, 50, 4),
            (250, 100, 5),
            (200, 0, 6),
            (0, 400, 7),
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for frame in 8..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            pieces.push(((x % 5_000) as usize, (x >> 20) as usize % 300, frame));
        }
        let mut map = FrameMap::default();
        for &(from, len, frame) in &pieces {
            map.paint(from, from + len, frame);
        }
        for at in 0..5_400 {
            assert_eq!(map.frame_at(at), first_holding(&pieces, at), "byte {at}");
        }
    }
}
