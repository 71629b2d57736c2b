//! Reading a large HAR held in memory on two threads.
//!
//! A HAR is one JSON document, so where an entry starts can only be known by
//! reading from the beginning. The split read guesses instead. The document is
//! cut into chunks of about [`CHUNK_TARGET`] bytes (smaller toward the end, so
//! the threads end close together), each starting at a likely
//! entry start (`},` then `{"startedDateTime"` or another key that only entries
//! begin with). The first thread reads from the beginning of the document; a
//! helper thread reads chunks, each from its guessed start until an entry starts
//! at or after the next chunk's start, mapping every exchange as it goes. When
//! the first thread reaches an entry that starts exactly at the first guess, it
//! reads chunks too until none are left, and after each one takes the chunks
//! read so far, in order, into its own (so a chunk's emptied vector is given
//! back early for the next chunk to fill, not fresh pages for every chunk): a
//! chunk counts only when the chunk before it ended exactly where it starts, so
//! every guess is proven by the chunk before it. At the first chunk that does not
//! fit (a wrong guess, a bail, a malformed entry that needs the first thread's
//! warnings), the first thread reads on alone from where the proven chunks
//! ended: the result is always the one of a sequential read.
//!
//! Chunks are taken by whichever thread is free, so a thread slowed down by the
//! machine does not hold up the other. Each exchange is mapped (identity
//! observation, in `session`) on the thread that read it. A chunk numbers its
//! exchanges from 0; [`Renumber`] shifts them once the first thread knows how
//! many entries came before.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::fast::{self, Resume, Stop};
use super::{finish_slice, without_bom, HarReader, Pos};
use crate::capture::{CaptureError, InputSummary, NoProgress, ReadCtx};
use crate::http::{Exchange, Renumber};

/// Documents smaller than this are read on one thread: a second one would not
/// pay for itself.
const SPLIT_MIN: usize = 32 << 20;

/// About how many bytes one chunk holds: small enough that the two threads end
/// close together, large enough that a chunk's set-up does not count.
const CHUNK_TARGET: usize = 8 << 20;

/// At most this many chunks, whatever the size.
const MAX_CHUNKS: usize = 256;

/// The vectors of values are sized once, from [`entries_guess`]: growing them
/// doubled and copied vectors of `Step`s (~1 KB each), and clearing those fresh
/// pages was ~14 % of a dense HAR's analysis (issue #15). Sizing them for one
/// entry per 2 KB instead reserved about half the file again (97 MB for a
/// 211 MB HAR of 17,667 entries), which the allocator committed and cleared
/// in huge pages: a fifth of the whole command.
///
/// Bytes sampled for the guess, in [`GUESS_WINDOWS`] windows spread over the
/// bytes.
const GUESS_WINDOW: usize = 16 << 10;
const GUESS_WINDOWS: usize = 32;

/// How many entries `bytes` (a HAR or a part of one) holds, from the
/// `"startedDateTime"` keys (which every HAR entry has) in a few windows,
/// with half more for safety (a vector that grows costs more than capacity
/// never touched): a guess for sizing, never a count. A HAR
/// whose entries are larger than the windows gets a small guess and grows.
fn entries_guess(bytes: &[u8]) -> usize {
    let finder = memchr::memmem::Finder::new(b"\"startedDateTime\"");
    let windows = GUESS_WINDOWS.min(bytes.len() / GUESS_WINDOW).max(1);
    let step = bytes.len() / windows;
    let (mut found, mut sampled) = (0usize, 0usize);
    for w in 0..windows {
        let at = w * step;
        let window = &bytes[at..(at + GUESS_WINDOW).min(bytes.len())];
        found += finder.find_iter(window).count();
        sampled += window.len();
    }
    let estimate = found.saturating_mul(bytes.len()) / sampled.max(1);
    // No more than one entry per 256 bytes, whatever the sample says.
    (estimate + estimate / 2 + 16).min(bytes.len() / 256 + 16)
}

/// How far past a cut to look for a likely entry start.
const SEARCH_WINDOW: usize = 4 << 20;

/// First keys that start an entry object in the exporters we know, and no other
/// object of a HAR that follows `},` (headers, cookies and params start with
/// `name`; WebSocket messages with `type`).
const ENTRY_FIRST_KEYS: &[&str] = &[
    "startedDateTime",
    "_initiator",
    "_priority",
    "_resourceType",
    "pageref",
    "cache",
    "connection",
    "request",
    "time",
    "serverIPAddress",
    "_fromCache",
];

/// A stretch of the entries array read by a helper: from `start` (a guessed
/// entry start) until an entry starts at or after `limit` (the next chunk's
/// start), or to the end of the array for the last chunk.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: usize,
    limit: Option<usize>,
}

/// What was read from one chunk.
struct ChunkRead<T> {
    values: Vec<T>,
    stop: Stop,
    entries: u64,
    delivered: usize,
    sensitive_seen: bool,
    missing_body: usize,
    no_offset: usize,
    bad_time: usize,
}

/// The chunks of a split read and what became of them.
struct Chunks<'a, T> {
    doc: &'a [u8],
    chunks: Vec<Chunk>,
    /// The next chunk nobody has taken yet.
    next: AtomicUsize,
    /// One slot per chunk: `None` until read, then `Some(None)` when the chunk
    /// bailed or needs the first thread's warnings.
    read: Vec<Mutex<Option<Option<ChunkRead<T>>>>>,
    /// Emptied vectors of adopted chunks, for the next chunks to fill. Freed
    /// instead, a chunk's vector went back on the first thread to the
    /// allocator of the thread that read it, which often handed the reader
    /// fresh pages rather than that memory:
    /// on a 211 MB identity-dense HAR a new vector per chunk cost about 8 MB
    /// more fresh memory per run (76 → 69 MB, 33 → 31 huge pages), which the
    /// kernel clears at the host's pace (issue #15, benches/README.md).
    spare: Mutex<Vec<Vec<T>>>,
}

impl<'a, T> Chunks<'a, T> {
    fn new(doc: &'a [u8], starts: Vec<usize>) -> Self {
        let chunks: Vec<Chunk> = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| Chunk {
                start,
                limit: starts.get(i + 1).copied(),
            })
            .collect();
        let read = chunks.iter().map(|_| Mutex::new(None)).collect();
        Chunks {
            doc,
            chunks,
            next: AtomicUsize::new(0),
            read,
            spare: Mutex::new(Vec::new()),
        }
    }

    /// Reads chunks until none is left, calling `between` after each.
    fn work(
        &self,
        name: &str,
        input_index: usize,
        base: usize,
        map: &MapFn<'_, T>,
        between: &mut dyn FnMut(),
    ) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&chunk) = self.chunks.get(i) else {
                return;
            };
            let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let read = read_chunk(
                self.doc,
                chunk,
                spare.unwrap_or_default(),
                name,
                input_index,
                base,
                map,
            );
            *self.read[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
            between();
        }
    }

    /// Leaves the chunks nobody has taken yet unread.
    fn cancel(&self) {
        self.next.store(self.chunks.len(), Ordering::Relaxed);
    }

    /// The chunk that starts at `at`.
    fn starting_at(&self, at: usize) -> Option<usize> {
        self.chunks.binary_search_by_key(&at, |c| c.start).ok()
    }

    /// Takes the proven chunks that are read, in order, into `reader` and
    /// `values`, from where `adoption` got to. When `all_read`, every chunk has
    /// been read and the adoption ends: it says where the first thread goes on.
    /// Otherwise it stops at the first chunk still being read, so the first
    /// thread can adopt while chunks are still read: each chunk's vector goes
    /// back to [`Chunks::spare`] as soon as its values are moved, for the next
    /// chunk to fill instead of fresh pages.
    fn adopt_ready(
        &self,
        adoption: &mut Adoption,
        reader: &mut HarReader<'_>,
        values: &mut Vec<T>,
        on_exchange: &dyn Fn(),
        all_read: bool,
    ) where
        T: Renumber,
    {
        while adoption.ended.is_none() {
            let fits =
                self.chunks.get(adoption.next).map(|c| c.start) == Some(adoption.proven_until);
            let Some(slot) = self.read.get(adoption.next).filter(|_| fits) else {
                // Past the last chunk, or at one that does not start where the
                // adopted entries end: the first thread reads on from there.
                return self.end(adoption, Resume::EntryAt(adoption.proven_until));
            };
            let read = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() && !all_read {
                    return;
                }
                slot.take().flatten()
            };
            let Some(read) = read else {
                // The chunk bailed: the first thread reads on from its start.
                return self.end(adoption, Resume::EntryAt(adoption.proven_until));
            };
            for _ in 0..read.values.len() {
                on_exchange();
            }
            let stop = read.stop;
            let emptied = adopt(reader, read, values);
            self.spare
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(emptied);
            adoption.next += 1;
            match stop {
                Stop::ArrayEnd(end) => self.end(adoption, Resume::ArrayEnd(end)),
                Stop::EntryAt(at) => adoption.proven_until = at,
            }
        }
    }

    /// Ends the adoption: chunks nobody has taken yet are of no use any more.
    fn end(&self, adoption: &mut Adoption, resume: Resume) {
        adoption.ended = Some(resume);
        self.cancel();
    }
}

/// How far the first thread has taken the chunks' values.
struct Adoption {
    /// The next chunk to adopt.
    next: usize,
    /// Where the entries adopted so far end: the next chunk counts only if it
    /// starts exactly here.
    proven_until: usize,
    /// Where the first thread goes on, once adoption is over.
    ended: Option<Resume>,
}

type MapFn<'m, T> = dyn Fn(Exchange<'_>) -> T + Sync + 'm;

/// Reads a HAR held in memory on two threads, mapping each exchange with `map` on
/// the thread that read it; values come back in input order. `None` when the
/// input is too small to split or has no likely entry start past its first
/// chunk: the caller then reads it on one thread. UTF-8 is checked by each
/// thread's scanner, string by string, as it reads.
pub fn read_slice_split<T: Renumber + Send>(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    on_exchange: &dyn Fn(),
    map: &MapFn<'_, T>,
) -> Option<Result<(InputSummary, Vec<T>), CaptureError>> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
    let (skipped, body) = without_bom(bytes);
    if body.len() < SPLIT_MIN {
        return None;
    }
    let starts = chunk_starts(body);
    let first = *starts.first()?;
    let base = bytes.as_ptr() as usize;
    let chunks = Chunks::new(body, starts);
    // Filled in input order: the first thread's own entries, the proven chunks,
    // then what the first thread reads after them.
    let values = RefCell::new(Vec::with_capacity(entries_guess(body)));
    let summary = std::thread::scope(|scope| {
        let helper = scope.spawn(|| chunks.work(name, input_index, base, map, &mut || {}));
        let mut helper = Some(helper);
        let mut sink = |ex: Exchange<'_>| {
            on_exchange();
            let value = map(ex);
            values.borrow_mut().push(value);
        };
        let mut reader =
            HarReader::new(name, input_index, progress, &mut sink, Pos::Slice { base });
        // The first thread hands off at the first chunk start it reaches (the
        // first one, unless that guess was wrong).
        let mut handoff = |reader: &mut HarReader<'_>, at: usize| {
            if at < first || helper.is_none() {
                return None;
            }
            // Chunk `from`'s start is proven by the first thread reaching it.
            let from = chunks.starting_at(at)?;
            let helper = helper.take()?;
            let mut adoption = Adoption {
                next: from,
                proven_until: at,
                ended: None,
            };
            let mut values = values.borrow_mut();
            let mut adopt = |all_read| {
                chunks.adopt_ready(&mut adoption, reader, &mut values, on_exchange, all_read)
            };
            chunks.work(name, input_index, base, map, &mut || adopt(false));
            helper.join().ok()?;
            adopt(true);
            adoption.ended
        };
        let walked = fast::walk_with(&mut reader, body, &mut handoff);
        // Never reached a guess: the helper's chunks are of no use.
        chunks.cancel();
        finish_slice(reader, skipped, body, Some(walked))
    });
    Some(summary.map(|summary| (summary, values.into_inner())))
}
/// Takes a chunk's entries as the next ones of `reader`; gives back the
/// chunk's vector, emptied, for another chunk to fill.
fn adopt<T: Renumber>(
    reader: &mut HarReader<'_>,
    mut read: ChunkRead<T>,
    values: &mut Vec<T>,
) -> Vec<T> {
    let first = reader.index;
    values.extend(read.values.drain(..).map(|mut v| {
        v.renumber(first);
        v
    }));
    reader.index += read.entries;
    reader.delivered += read.delivered;
    reader.sensitive_seen |= read.sensitive_seen;
    reader.missing_body += read.missing_body;
    reader.no_offset += read.no_offset;
    reader.bad_time += read.bad_time;
    read.values
}

/// Reads one chunk into `values` (empty), mapping its exchanges. `None` when
/// the guess was wrong or an entry needs the first thread's warnings.
fn read_chunk<T>(
    doc: &[u8],
    chunk: Chunk,
    mut values: Vec<T>,
    name: &str,
    input_index: usize,
    base: usize,
    map: &MapFn<'_, T>,
) -> Option<ChunkRead<T>> {
    let end = chunk.limit.unwrap_or(doc.len()).max(chunk.start);
    let end = end.min(chunk.start + 2 * CHUNK_TARGET);
    debug_assert!(values.is_empty(), "a chunk's values start empty");
    values.reserve(entries_guess(&doc[chunk.start..end]));
    let mut sink = |ex: Exchange<'_>| values.push(map(ex));
    let mut reader = HarReader::new(
        name,
        input_index,
        &NoProgress,
        &mut sink,
        Pos::Slice { base },
    );
    let stop = fast::entries_from(&mut reader, doc, chunk.start, chunk.limit).ok()?;
    if reader.malformed > 0 {
        return None;
    }
    let read = ChunkRead {
        values: Vec::new(),
        stop,
        entries: reader.index,
        delivered: reader.delivered,
        sensitive_seen: reader.sensitive_seen,
        missing_body: reader.missing_body,
        no_offset: reader.no_offset,
        bad_time: reader.bad_time,
    };
    drop(reader);
    Some(ChunkRead { values, ..read })
}

/// Guessed entry starts, one about every [`CHUNK_TARGET`] bytes and closer
/// together toward the end ([`cuts`]), increasing; the first thread reads
/// everything before the first.
fn chunk_starts(doc: &[u8]) -> Vec<usize> {
    let mut starts: Vec<usize> = Vec::new();
    for cut in cuts(doc.len()) {
        let from = cut.max(starts.last().map_or(0, |&s| s + 1));
        if let Some(start) = likely_entry_start(doc, from) {
            starts.push(start);
        }
    }
    starts
}

/// The smallest chunk of the tapered tail.
const TAIL_CHUNK: usize = 1 << 20;

/// Where `len` bytes are cut into chunks: every `len / count` bytes (about
/// [`CHUNK_TARGET`]), except the last two chunks' worth, which is cut in
/// halves of what is left down to [`TAIL_CHUNK`]. The thread that ends first
/// waits for the other's last chunk: with full-size last chunks the first
/// thread waited up to 6.3 ms (more than 4.6 ms in a quarter of 20 runs) on a
/// 211 MB identity-dense HAR, with the tapered tail at most 1.1 ms (issue #15).
fn cuts(len: usize) -> Vec<usize> {
    let count = (len / CHUNK_TARGET).clamp(2, MAX_CHUNKS);
    let step = len / count;
    let uniform = (count - 2).max(1);
    let mut cuts: Vec<usize> = (1..=uniform).map(|k| k * step).collect();
    let mut at = uniform * step;
    while len - at >= 2 * TAIL_CHUNK {
        at += ((len - at) / 2).max(TAIL_CHUNK);
        cuts.push(at);
    }
    cuts
}

/// The offset of a `{` at or after `from` that likely starts an entry: it follows
/// `},` and its first key is one only entries start with.
fn likely_entry_start(b: &[u8], from: usize) -> Option<usize> {
    let window = &b[from..b.len().min(from.saturating_add(SEARCH_WINDOW))];
    memchr::memmem::find_iter(window, b"},")
        .map(|at| from + at + 2)
        .find_map(|after_comma| {
            let open = after_comma + skip_ws(&b[after_comma..]);
            (b.get(open) == Some(&b'{') && starts_like_entry(&b[open + 1..])).then_some(open)
        })
}

fn skip_ws(b: &[u8]) -> usize {
    b.iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(b.len())
}

/// True when `rest` (just after a `{`) begins with `"key":` for an entry key.
fn starts_like_entry(rest: &[u8]) -> bool {
    let rest = &rest[skip_ws(rest)..];
    let Some(rest) = rest.strip_prefix(b"\"") else {
        return false;
    };
    ENTRY_FIRST_KEYS.iter().any(|key| {
        rest.strip_prefix(key.as_bytes())
            .and_then(|r| r.strip_prefix(b"\""))
            .is_some_and(|r| r[skip_ws(r)..].starts_with(b":"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Renumber for (u64, String) {
        fn renumber(&mut self, offset: u64) {
            self.0 += offset;
        }
    }

    fn entry(i: usize, pad: usize) -> String {
        // Headers objects follow `},` too, and a body holds `},{` in a string.
        format!(
            r#"{{"startedDateTime":"2024-01-01T00:00:{:02}Z","request":{{"method":"GET","url":"https://a.example/{i}","headers":[{{"name":"a","value":"b"}},{{"name":"c","value":"d"}}]}},"response":{{"status":200,"content":{{"text":"x}},{{\"time\":1 {}"}}}}}}"#,
            i % 60,
            "y".repeat(pad)
        )
    }

    fn doc(n: usize, pad: usize) -> String {
        let entries: Vec<String> = (0..n).map(|i| entry(i, pad)).collect();
        format!(
            "{{\"log\":{{\"version\":\"1.2\",\"entries\":[\n{}\n],\"comment\":\"after\"}}}}",
            entries.join(",\n")
        )
    }

    /// The guess sizes vectors close to the real count: above it (so they
    /// do not grow) but not by much (so they do not reserve half the file).
    #[test]
    fn entries_guess_is_close_above_the_count() {
        for (n, pad) in [(20_000, 200), (3_000, 4_000), (2_000, 8_000)] {
            let text = doc(n, pad);
            let guess = entries_guess(text.as_bytes());
            assert!(guess >= n, "{n} entries of {pad}: guessed {guess}");
            assert!(
                guess <= n + n / 2 + 16,
                "{n} entries of {pad}: guessed {guess}"
            );
        }
        // Entries larger than the windows: a guess that may be low (the
        // vector then grows), never far above (a few hits, extrapolated).
        for (n, pad) in [(400, 60_000), (20, 400_000)] {
            let guess = entries_guess(doc(n, pad).as_bytes());
            assert!(guess <= 4 * n + 16, "{n} entries of {pad}: guessed {guess}");
        }
        assert_eq!(entries_guess(b""), 16);
    }

    fn sequential(text: &str) -> (InputSummary, Vec<(u64, String)>) {
        let mut out = Vec::new();
        let summary = super::super::read_slice(text.as_bytes(), &ReadCtx::new("t"), &mut |ex| {
            out.push((ex.origin.index, ex.request.url.to_string()))
        })
        .unwrap();
        (summary, out)
    }

    /// Checks that a split read of `text` gives what a sequential one gives;
    /// returns the number of exchanges.
    fn split_equals_sequential(text: &str) -> usize {
        let map = |ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string());
        let (summary, values) = read_slice_split(text.as_bytes(), &ReadCtx::new("t"), &|| {}, &map)
            .unwrap()
            .unwrap();
        let (want_summary, want) = sequential(text);
        assert_eq!(summary, want_summary);
        assert_eq!(values, want);
        values.len()
    }

    #[test]
    fn a_split_read_equals_a_sequential_one() {
        let text = doc(40_000, 800);
        assert!(text.len() > SPLIT_MIN);
        let split = likely_entry_start(text.as_bytes(), text.len() / 2).unwrap();
        assert!(text[split..].starts_with("{\"startedDateTime\""));
        assert_eq!(split_equals_sequential(&text), 40_000);
    }

    #[test]
    fn a_wrong_guess_is_found_out() {
        // The guessed start sits inside a body string that looks like an entry.
        let text = doc(1000, 10);
        let fake = text.find("x},").unwrap() + 1;
        let chunk = Chunk {
            start: fake + 2,
            limit: None,
        };
        let read = read_chunk(
            text.as_bytes(),
            chunk,
            Vec::new(),
            "t",
            0,
            0,
            &|ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string()),
        );
        assert!(read.is_none());
    }

    #[test]
    fn chunks_that_do_not_fit_leave_the_rest_to_the_first_thread() {
        let text = doc(40_000, 1600);
        let map = |ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string());
        let mut starts = chunk_starts(text.as_bytes());
        assert!(starts.len() > 3, "{}", starts.len());
        // A guess inside an entry (its headers array): the chunk before it
        // overshoots, and everything from there is read by the first thread.
        let inside = text[starts[2]..].find(r#"{"name":"c""#).unwrap() + starts[2];
        starts.insert(3, inside);
        let chunks = Chunks::new(text.as_bytes(), starts.clone());
        let mut values = Vec::new();
        let mut sink = |_: Exchange<'_>| {};
        let mut reader = HarReader::new("t", 0, &NoProgress, &mut sink, Pos::Slice { base: 0 });
        let mut adoption = Adoption {
            next: 0,
            proven_until: starts[0],
            ended: None,
        };
        // Adopted between chunks, as the first thread does.
        let mut adopted_before_the_end = 0;
        chunks.work("t", 0, 0, &map, &mut || {
            chunks.adopt_ready(&mut adoption, &mut reader, &mut values, &|| {}, false);
            adopted_before_the_end = adoption.next;
        });
        assert!(adopted_before_the_end >= 2, "{adopted_before_the_end}");
        chunks.adopt_ready(&mut adoption, &mut reader, &mut values, &|| {}, true);
        // Chunks 0 and 1 fit; chunk 2 ran past the bad guess, where the first
        // thread takes over.
        let Some(Resume::EntryAt(at)) = adoption.ended else {
            panic!("{:?}", adoption.ended)
        };
        assert_eq!(adoption.next, 3);
        assert!(at > inside && at < starts[4], "{at} {starts:?}");
        assert!(text[at..].starts_with(r#"{"startedDateTime""#));
        let (_, want) = sequential(&text);
        let first = want.iter().position(|(_, u)| *u == values[0].1).unwrap();
        assert_eq!(
            values.iter().map(|v| &v.1).collect::<Vec<_>>(),
            want[first..first + values.len()]
                .iter()
                .map(|v| &v.1)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_split_read_with_a_bad_guess_equals_a_sequential_one() {
        // Bodies holding `},{"time":` unescaped cannot exist, but a custom array
        // of objects that start with an entry key can: its objects are guesses.
        let entries: Vec<String> = (0..30_000)
            .map(|i| {
                let custom = r#","_custom":[{"a":1},{"time":2,"request":3}]"#;
                format!(
                    r#"{{"startedDateTime":"2024-01-01T00:00:00Z","request":{{"method":"GET","url":"https://a.example/{i}","headers":[]}},"response":{{"status":200,"content":{{"text":"{}"}}}}{custom}}}"#,
                    "z".repeat(1200)
                )
            })
            .collect();
        let text = format!("{{\"log\":{{\"entries\":[{}]}}}}", entries.join(",\n"));
        let bad_guesses = chunk_starts(text.as_bytes())
            .into_iter()
            .filter(|&s| text[s..].starts_with(r#"{"time""#))
            .count();
        assert!(bad_guesses > 0);
        assert_eq!(split_equals_sequential(&text), 30_000);
    }

    /// Chunks are about the target size and shrink toward the end, so the
    /// thread that finishes first waits for a small chunk at most.
    #[test]
    fn cuts_taper_toward_the_end() {
        for len in [SPLIT_MIN, 211 << 20, 2 << 30] {
            let cuts = cuts(len);
            let sizes: Vec<usize> = cuts
                .windows(2)
                .map(|w| w[1] - w[0])
                .chain([len - cuts[cuts.len() - 1]])
                .collect();
            assert!(sizes.iter().all(|&s| s > 0), "{len}: {sizes:?}");
            // Up to the remainder of a division by the chunk count (< 256 bytes)
            // more or less than the uniform step, which is the first cut.
            let step = cuts[0];
            assert!(sizes.iter().all(|&s| s <= step + 256), "{len}: {sizes:?}");
            assert!(
                sizes.windows(2).all(|w| w[1] <= w[0] + 256),
                "{len}: {sizes:?}"
            );
            assert!(sizes[sizes.len() - 1] < 2 * TAIL_CHUNK, "{len}: {sizes:?}");
        }
    }

    #[test]
    fn small_inputs_are_not_split() {
        let text = doc(10, 10);
        let map = |ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string());
        assert!(read_slice_split(text.as_bytes(), &ReadCtx::new("t"), &|| {}, &map).is_none());
    }
}
