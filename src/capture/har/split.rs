//! Reading a large HAR held in memory on two threads.
//!
//! A HAR is one JSON document, so where an entry starts can only be known by
//! reading from the beginning. The split read guesses instead: a second thread
//! starts at a likely entry start near the middle (`},` then `{"startedDateTime"`
//! or another key that only entries begin with) and reads the entries from there
//! to the end of `log.entries`, mapping each as it goes. The first thread reads
//! from the beginning; when it reaches an entry that starts exactly at the guessed
//! offset, the guess is proven right and it takes the second thread's results and
//! jumps past the array. If it passes the offset without an entry starting there,
//! or the second thread bailed or met a malformed entry, the second thread's work
//! is dropped and the first thread reads on alone: the result is always the one
//! of a sequential read.
//!
//! Each exchange is mapped (identity observation, in `session`) on the thread that
//! read it, so both halves of the work run in parallel. The second thread numbers
//! its exchanges from 0; [`Renumber`] shifts them once the first thread knows how
//! many entries came before.

use std::cell::RefCell;

use super::fast;
use super::{finish_slice, without_bom, HarReader, Pos};
use crate::capture::{CaptureError, InputSummary, NoProgress, Progress};
use crate::http::Exchange;

/// Documents smaller than this are read on one thread: a second one would not
/// pay for itself.
const SPLIT_MIN: usize = 32 << 20;

/// How far past the middle to look for a likely entry start.
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

/// A value made from one exchange that carries the exchange's index in its input
/// ([`crate::http::Origin::index`]).
pub trait Renumber {
    /// Adds `offset` to that index.
    fn renumber(&mut self, offset: u64);
}

/// What the second thread read.
struct Tail<T> {
    values: Vec<T>,
    /// Offset just past the `]` of `log.entries`.
    end: usize,
    entries: u64,
    delivered: usize,
    sensitive_seen: bool,
    missing_body: usize,
    no_offset: usize,
    bad_time: usize,
}

/// Reads a HAR held in memory on two threads, mapping each exchange with `map` on
/// the thread that read it; values come back in input order. `None` when the
/// input is too small to split or has no likely entry start near its middle: the
/// caller then reads it on one thread. UTF-8 is checked by each thread's scanner,
/// string by string, as it reads.
pub fn read_slice_split<T: Renumber + Send>(
    bytes: &[u8],
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Option<Result<(InputSummary, Vec<T>), CaptureError>> {
    let (skipped, body) = without_bom(bytes);
    if body.len() < SPLIT_MIN {
        return None;
    }
    let split = likely_entry_start(body, body.len() / 2)?;
    let base = bytes.as_ptr() as usize;
    let values = RefCell::new(Vec::new());
    let summary = std::thread::scope(|scope| {
        let second = scope.spawn(|| read_tail(body, split, name, input_index, base, map));
        let mut second = Some(second);
        let mut sink = |ex: Exchange<'_>| {
            on_exchange();
            let value = map(ex);
            values.borrow_mut().push(value);
        };
        let mut reader =
            HarReader::new(name, input_index, progress, &mut sink, Pos::Slice { base });
        let mut handoff = |reader: &mut HarReader<'_>, at: usize| {
            if at != split {
                return None;
            }
            let tail = second.take()?.join().ok().flatten()?;
            for _ in 0..tail.values.len() {
                on_exchange();
            }
            let end = tail.end;
            adopt(reader, tail, &mut values.borrow_mut());
            Some(end)
        };
        let walked = fast::walk_with(&mut reader, body, &mut handoff);
        finish_slice(reader, skipped, body, Some(walked))
    });
    Some(summary.map(|summary| (summary, values.into_inner())))
}

/// Takes the second thread's entries as the next ones of `reader`.
fn adopt<T: Renumber>(reader: &mut HarReader<'_>, tail: Tail<T>, values: &mut Vec<T>) {
    let first = reader.index;
    values.extend(tail.values.into_iter().map(|mut v| {
        v.renumber(first);
        v
    }));
    reader.index += tail.entries;
    reader.delivered += tail.delivered;
    reader.sensitive_seen |= tail.sensitive_seen;
    reader.missing_body += tail.missing_body;
    reader.no_offset += tail.no_offset;
    reader.bad_time += tail.bad_time;
}

/// The second thread: entries from `start` to the end of the array, mapped.
/// `None` when the guess was wrong or an entry needs the first thread's warnings.
fn read_tail<T>(
    doc: &[u8],
    start: usize,
    name: &str,
    input_index: usize,
    base: usize,
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Option<Tail<T>> {
    let mut values = Vec::new();
    let mut sink = |ex: Exchange<'_>| values.push(map(ex));
    let mut reader = HarReader::new(
        name,
        input_index,
        &NoProgress,
        &mut sink,
        Pos::Slice { base },
    );
    let end = fast::entries_from(&mut reader, doc, start).ok()?;
    if reader.malformed > 0 {
        return None;
    }
    let tail = Tail {
        values: Vec::new(),
        end,
        entries: reader.index,
        delivered: reader.delivered,
        sensitive_seen: reader.sensitive_seen,
        missing_body: reader.missing_body,
        no_offset: reader.no_offset,
        bad_time: reader.bad_time,
    };
    drop(reader);
    Some(Tail { values, ..tail })
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

    fn sequential(text: &str) -> (InputSummary, Vec<(u64, String)>) {
        let mut out = Vec::new();
        let summary = super::super::read_slice(text.as_bytes(), "t", 0, &NoProgress, &mut |ex| {
            out.push((ex.origin.index, ex.request.url.to_string()))
        })
        .unwrap();
        (summary, out)
    }

    #[test]
    fn a_split_read_equals_a_sequential_one() {
        let text = doc(40_000, 800);
        assert!(text.len() > SPLIT_MIN);
        let split = likely_entry_start(text.as_bytes(), text.len() / 2).unwrap();
        assert!(text[split..].starts_with("{\"startedDateTime\""));
        let map = |ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string());
        let (summary, values) =
            read_slice_split(text.as_bytes(), "t", 0, &NoProgress, &|| {}, &map)
                .unwrap()
                .unwrap();
        let (want_summary, want) = sequential(&text);
        assert_eq!(summary, want_summary);
        assert_eq!(values.len(), 40_000);
        assert_eq!(values, want);
    }

    #[test]
    fn a_wrong_guess_is_found_out() {
        // The guessed start sits inside a body string that looks like an entry.
        let text = doc(1000, 10);
        let fake = text.find("x},").unwrap() + 1;
        let tail = read_tail(text.as_bytes(), fake + 2, "t", 0, 0, &|ex: Exchange<'_>| {
            (ex.origin.index, ex.request.url.to_string())
        });
        assert!(tail.is_none());
    }

    #[test]
    fn small_inputs_are_not_split() {
        let text = doc(10, 10);
        let map = |ex: Exchange<'_>| (ex.origin.index, ex.request.url.to_string());
        assert!(read_slice_split(text.as_bytes(), "t", 0, &NoProgress, &|| {}, &map).is_none());
    }
}
