//! HAR 1.1/1.2/1.3 reader.
//!
//! Format reference: W3C Web Performance Working Group, "HTTP Archive (HAR) format",
//! editor's draft (HAR 1.2, Jan Odvarko). A HAR is one JSON object `{"log": {...}}`;
//! `log.entries` is an array with one object per HTTP exchange (spec §"entries").
//!
//! How this reader works:
//! - A document held in memory is first read by the fast pass ([`fast`], over the
//!   zero-copy scanner in [`scan`]); a large one in two halves at once ([`split`]).
//!   When the fast pass bails, the serde passes below read it again and skip the
//!   entries it delivered. A stream (stdin, a pipe, gzip) is held whole and read
//!   the same way when it fits in [`crate::limits::har_held`]; a larger one, or
//!   one whose reading fails, uses the serde passes only, over what was held and
//!   then the rest of the stream.
//! - The top level and `log` are walked with hand-written serde visitors ([`visit`]),
//!   so the entries are never collected: `log.entries` is visited one element at a
//!   time and each entry goes to the sink before the next one is read.
//! - Each entry is first taken as a raw JSON value (`&RawValue` over a memory map,
//!   `Box<RawValue>` over a stream) and only then parsed into lenient borrowed structs.
//!   A malformed entry therefore costs one warning, not the whole file, and strings
//!   borrow from the input when they contain no escapes. The structs are in
//!   [`schema`]; [`convert`] turns one into an [`Exchange`]; [`reader`] holds what a
//!   walk learns and turns its counts into warnings at the end.
//! - Bodies (`content.text`, `postData.text`) are kept as the raw JSON string literal
//!   and only unescaped / base64-decoded when someone asks ([`Body::JsonText`]).
//! - A streamed entry is held whole, so each is capped ([`crate::limits::har_entry`]):
//!   [`guard`] skips a larger one, which becomes a `har_entry_too_large` warning
//!   naming its index and size.
//! - A file that stops in the middle (a crashed exporter, a cut download) yields every
//!   complete entry before the cut and a `capture_truncated` warning.

use std::cell::Cell;
use std::io::{BufRead, Read};

use serde::de::DeserializeSeed;
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::http::json_scan;

use super::{CaptureError, InputSummary, ReadCtx};

mod convert;
mod fast;
pub mod guard;
mod reader;
mod schema;
mod split;
mod visit;

use crate::http::Exchange;
use reader::{Counting, HarReader, Pos, RawEntry};
use schema::{Content, Count, Entry, HarHeader, HarRequest, HarResponse, Literal, Param};
use schema::{PostData, Str, Timings};
pub use split::read_slice_split;
use visit::Top;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Per-entry `malformed_entry` warnings before they are only counted.
const MAX_ENTRY_WARNINGS: usize = 20;
/// Entries needed before a HAR without any cookie or Authorization is called sanitised.
const SANITIZED_MIN_ENTRIES: usize = 5;
/// Report progress at most this often (bytes).
const PROGRESS_STEP: u64 = 1 << 20;

/// Reads a whole HAR held in memory (a memory map), borrowing from it: every
/// exchange handed to `sink` lives as long as `bytes`, so a caller may pass
/// exchanges on to another thread that ends before `bytes` is dropped.
pub fn read_slice<'a>(
    bytes: &'a [u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'a>),
) -> Result<InputSummary, CaptureError> {
    let mut erased = |ex: Exchange<'_>| {
        // SAFETY: this only names a lifetime the visitors already guarantee. Both
        // walks below run `walk::<&'a RawValue>` over `body: &'a [u8]`, so every
        // entry is deserialised with `'de = 'a` (directly, or from a `&'a RawValue`
        // of the same slice), and an `Exchange<'de>` borrows from nothing but the
        // slice (`Str`, `RawValue` and `Cow::Borrowed` all point into it) or owns
        // its data. The reader's sink type is higher-ranked only because the
        // stream path shares it; here the exchange really is `Exchange<'a>`.
        let ex: Exchange<'a> = unsafe { std::mem::transmute::<Exchange<'_>, Exchange<'a>>(ex) };
        sink(ex)
    };
    read_slice_erased(bytes, ctx, &mut erased)
}

fn read_slice_erased(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    read_slice_passes(bytes, ctx, sink, true)
}

/// [`read_slice`] without the fast pass: the serde passes only. For differential
/// tests and fuzzing, which check that both read the same exchanges.
#[doc(hidden)]
pub fn read_slice_serde_only(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    read_slice_passes(bytes, ctx, sink, false)
}

fn read_slice_passes(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
    try_fast: bool,
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
    let (skipped, body) = without_bom(bytes);
    let mut reader = HarReader::new(
        name,
        input_index,
        progress,
        sink,
        Pos::Slice {
            base: bytes.as_ptr() as usize,
        },
    );
    // Fastest pass: the hand-written scanner. When it bails (on anything from a
    // shape it does not know to a string that is not UTF-8), the serde passes
    // read the document again and skip the entries it delivered.
    let walked = try_fast.then(|| fast::walk_with(&mut reader, body, &mut |_, _| None));
    finish_slice(reader, skipped, body, walked)
}

/// `(bytes skipped, document)`: a UTF-8 byte-order mark is not part of the JSON.
fn without_bom(bytes: &[u8]) -> (usize, &[u8]) {
    match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (UTF8_BOM.len(), rest),
        None => (0, bytes),
    }
}

/// Ends a slice read: done when the fast pass (`walked`) got through, otherwise
/// the serde passes read the document, skipping the entries already delivered.
fn finish_slice(
    mut reader: HarReader<'_>,
    skipped: usize,
    body: &[u8],
    walked: Option<Result<(), json_scan::Bail>>,
) -> Result<InputSummary, CaptureError> {
    let total = (skipped + body.len()) as u64;
    match walked {
        Some(Ok(())) => return reader.finish(Ok(()), total),
        Some(Err(json_scan::Bail)) => {
            reader.skip_until = reader.index;
            reader.index = 0;
            // The serde pass finds these again; what the fast pass saw before it
            // bailed must not colour serde's message (`{"log": "…` is no log).
            reader.log_seen = false;
            reader.entries_opened = false;
        }
        None => {}
    }
    // Fast serde pass: entries straight into the borrowed structs, bodies scanned once.
    reader.direct = true;
    let mut result = walk::<&RawValue>(&mut reader, body);
    if let Err(e) = &result {
        if reader.in_entry && e.classify() == Category::Data {
            // An entry did not fit the model. Serde cannot resume inside the
            // document, so read it again entry by entry (raw first, then parsed):
            // entries before the bad one were already delivered and are skipped.
            reader.skip_until = reader.skip_until.max(reader.index);
            reader.index = 0;
            reader.direct = false;
            reader.in_entry = false;
            result = walk::<&RawValue>(&mut reader, body);
        }
    }
    reader.finish(result, total)
}

/// One walk over a slice holding a HAR.
fn walk<'de, R: RawEntry<'de>>(
    reader: &mut HarReader<'_>,
    body: &'de [u8],
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Top::<R>::new(reader).deserialize(&mut de)?;
    de.end()
}

/// Reads a HAR from a stream (stdin, gzip) one entry at a time.
pub fn read_stream<R: BufRead>(
    mut reader: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let held = hold_stream(&mut reader, ctx);
    read_held(held, reader, ctx, sink)
}

/// Holds a HAR stream whole when it fits in [`crate::limits::har_held`]: serde
/// reads a stream byte by byte, several times slower than the slice reader
/// reads memory, so a stream that fits is read as a slice (here, or on two
/// threads as a mapped file is). The buffer is sized from
/// [`ReadCtx::inflated_len`] when known.
pub fn hold_stream(reader: &mut impl Read, ctx: &ReadCtx<'_>) -> Held {
    let expected = ctx.inflated_len.map_or(0, |n| n.saturating_add(1));
    hold(reader, crate::limits::har_held(), expected)
}

/// Reads a HAR stream of which [`hold_stream`] got `held`, `rest` being what
/// is left of it: a whole one as a slice, the others with the serde stream
/// reader.
pub fn read_held<R: BufRead>(
    held: Held,
    rest: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    match held {
        Held::Whole(bytes) => read_slice_erased(&bytes, ctx, sink),
        // Too large: streamed, from the start of what was held.
        Held::Larger(part) => {
            read_stream_serde_only(std::io::Cursor::new(part).chain(rest), ctx, sink)
        }
        // Streamed too, so a cut stream gives what it gave before (every entry
        // before the cut, and the same warning).
        Held::Failed(part, e) => read_stream_serde_only(
            std::io::Cursor::new(part).chain(Failing(Some(e))),
            ctx,
            sink,
        ),
    }
}

/// What [`hold`] got of a stream.
pub enum Held {
    /// All of it.
    Whole(Vec<u8>),
    /// Its first bytes: the rest would pass the cap, or memory ran out.
    Larger(Vec<u8>),
    /// What came before a read failed.
    Failed(Vec<u8>, std::io::Error),
}

/// Reads `reader` whole while it holds at most `cap` bytes. The buffer grows
/// in steps (the first `expected` bytes, then doubling) and never past
/// `cap + 1`, so a stream over the cap costs the cap, not twice it.
fn hold(reader: &mut impl Read, cap: usize, expected: u64) -> Held {
    let limit = cap.saturating_add(1);
    let first = usize::try_from(expected)
        .unwrap_or(limit)
        .clamp(1 << 20, limit);
    let mut held = Vec::new();
    let mut room = first;
    loop {
        if held.try_reserve_exact(room).is_err() {
            return Held::Larger(held);
        }
        // The capacity holds `room` more bytes: read_to_end fills it without
        // growing and stops at the end of the stream or of `room`.
        match reader.take(room as u64).read_to_end(&mut held) {
            Err(e) => return Held::Failed(held, e),
            Ok(n) if n < room => return Held::Whole(held),
            Ok(_) if held.len() >= limit => return Held::Larger(held),
            Ok(_) => room = held.len().min(limit - held.len()),
        }
    }
}

/// A reader that fails with its error, then with a plain one if read again.
struct Failing(Option<std::io::Error>);

impl Failing {
    fn error(&mut self) -> std::io::Error {
        self.0
            .take()
            .unwrap_or_else(|| std::io::Error::other("the stream failed"))
    }
}

impl std::io::Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(self.error())
    }
}

impl BufRead for Failing {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Err(self.error())
    }
    fn consume(&mut self, _: usize) {}
}

/// Reads a HAR stream with the serde passes only, entry by entry: what
/// [`read_stream`] does past [`crate::limits::har_held`] (public for the fuzz
/// target, which checks it against the slice readers).
#[doc(hidden)]
pub fn read_stream_serde_only<R: BufRead>(
    mut reader: R,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let (name, input_index, progress) = (ctx.name, ctx.input, ctx.progress);
    let io_err = |source| CaptureError::Io {
        path: name.to_string(),
        source,
    };
    let consumed = Cell::new(0u64);
    // Skip a UTF-8 BOM (some Windows tools write one; JSON parsers reject it).
    let head = reader.fill_buf().map_err(io_err)?;
    if head.starts_with(UTF8_BOM) {
        reader.consume(UTF8_BOM.len());
        consumed.set(UTF8_BOM.len() as u64);
    }
    // serde_json reads a stream byte by byte; std's `Bytes<BufReader<_>>` has a fast
    // path for that, so the counter sits below a BufReader (it counts bytes buffered,
    // which is exact at the end of the input and close enough for progress).
    let counting = std::io::BufReader::with_capacity(
        1 << 16,
        guard::EntryGuard::new(
            Counting {
                inner: reader,
                count: &consumed,
            },
            crate::limits::har_entry(),
        ),
    );
    let mut har = HarReader::new(
        name,
        input_index,
        progress,
        sink,
        Pos::Stream { count: &consumed },
    );
    let mut de = serde_json::Deserializer::from_reader(counting);
    let result = Top::<Box<RawValue>>::new(&mut har).deserialize(&mut de);
    let result = result.and_then(|()| de.end());
    let total = consumed.get();
    har.finish(result, total)
}

#[cfg(test)]
mod tests {
    use super::convert::parse_time;
    use super::*;
    use crate::capture::ReadCtx;
    use crate::http::Body;
    use std::borrow::Cow;

    /// A reader that gives `n` bytes of `x` and then fails.
    struct FailsAfter(usize);

    impl std::io::Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("cut"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_stream_is_held_whole_up_to_the_cap_and_never_past_it() {
        let cap = 3 << 20;
        for (len, hint) in [
            (0, 0),
            (10, 0),
            (cap, 0),
            (cap, cap as u64 + 1),
            (cap - 7, 5),
        ] {
            let bytes = vec![b'y'; len];
            match hold(&mut &bytes[..], cap, hint) {
                Held::Whole(held) => assert_eq!(held, bytes, "{len}"),
                _ => panic!("{len} bytes are held"),
            }
        }
        let bytes = vec![b'y'; 2 * cap];
        let mut rest = &bytes[..];
        let Held::Larger(part) = hold(&mut rest, cap, 0) else {
            panic!("past the cap");
        };
        assert_eq!(part.len(), cap + 1);
        assert!(part.capacity() <= cap + 1, "{}", part.capacity());
        assert_eq!(part.len() + rest.len(), bytes.len());
        let Held::Failed(part, e) = hold(&mut FailsAfter(cap / 2), cap, 0) else {
            panic!("a failing read");
        };
        assert_eq!((part.len(), e.to_string()), (cap / 2, "cut".to_string()));
    }

    #[test]
    fn the_fast_pass_leaves_errors_to_serde() {
        // Inputs the har fuzz target found where the fast pass, before it bailed,
        // changed the message of the serde pass after it.
        for input in [&b"{\"log\": \":["[..], b"{\"{\":\"EKK\\Y\"\t}\t"] {
            let with_fast = read_slice(input, &ReadCtx::new("t"), &mut |_| {});
            let serde = read_slice_serde_only(input, &ReadCtx::new("t"), &mut |_| {});
            assert!(serde.is_err());
            assert_eq!(format!("{with_fast:?}"), format!("{serde:?}"));
        }
    }

    /// What a test looks at in one exchange, owned.
    #[derive(Debug, Clone, PartialEq)]
    struct Seen {
        index: u64,
        method: String,
        url: String,
        req_version: String,
        status: Option<u16>,
        resp_version: String,
        req_body: String,
        resp_body: String,
        resp_body_is: &'static str,
        resp_mime: Option<String>,
        error: Option<String>,
        started_us: i64,
        duration_ms: Option<f64>,
        wait_ms: Option<f64>,
        phases: Option<Vec<(&'static str, f32)>>,
        server_ip: Option<String>,
    }

    fn kind(b: &Body<'_>) -> &'static str {
        match b {
            Body::Absent => "absent",
            Body::Omitted { .. } => "omitted",
            Body::Bytes(_) => "bytes",
            Body::JsonText { .. } => "json_text",
        }
    }

    fn seen(ex: &Exchange<'_>) -> Seen {
        let resp = ex.response.as_ref();
        Seen {
            index: ex.origin.index,
            method: ex.request.method.to_string(),
            url: ex.request.url.to_string(),
            req_version: ex.request.http_version.to_string(),
            status: ex.status(),
            resp_version: resp.map(|r| r.http_version.to_string()).unwrap_or_default(),
            req_body: ex.request.body.text().unwrap().into_owned(),
            resp_body: resp
                .map(|r| r.body.text().unwrap().into_owned())
                .unwrap_or_default(),
            resp_body_is: resp.map(|r| kind(&r.body)).unwrap_or("none"),
            resp_mime: resp.and_then(|r| r.body_mime.as_ref().map(|m| m.to_string())),
            error: ex.error.as_ref().map(|e| e.to_string()),
            started_us: ex.timing.started_us,
            duration_ms: ex.timing.duration_ms,
            wait_ms: ex.timing.wait_ms,
            phases: ex.timing.phases.map(|p| p.recorded().collect()),
            server_ip: ex.server_ip.as_ref().map(|s| s.to_string()),
        }
    }

    fn slice(bytes: &[u8]) -> (Result<InputSummary, CaptureError>, Vec<Seen>) {
        let mut out = Vec::new();
        let r = read_slice(bytes, &ReadCtx::new("t.har").input(3), &mut |ex| {
            out.push(seen(&ex))
        });
        (r, out)
    }

    fn stream(bytes: &[u8]) -> (Result<InputSummary, CaptureError>, Vec<Seen>) {
        let mut out = Vec::new();
        let r = read_stream(bytes, &ReadCtx::new("t.har").input(3), &mut |ex| {
            out.push(seen(&ex))
        });
        (r, out)
    }

    /// Reads with both readers, checks they agree, returns the result.
    fn both(bytes: &[u8]) -> (InputSummary, Vec<Seen>) {
        let (a, ea) = slice(bytes);
        let (b, eb) = stream(bytes);
        assert_eq!(ea, eb, "slice and stream readers disagree");
        let a = a.unwrap();
        assert_eq!(a, b.unwrap());
        assert_eq!(a.exchanges, ea.len());
        (a, ea)
    }

    fn codes(s: &InputSummary) -> Vec<&str> {
        s.warnings.iter().map(|w| w.code.as_str()).collect()
    }

    const CHROME: &str = r#"{"log": {"version": "1.2",
      "creator": {"name": "WebInspector", "version": "537.36"},
      "pages": [],
      "entries": [
        {"startedDateTime": "2024-01-02T03:04:05.123Z", "time": 12.5,
         "_initiator": {"type": "other"}, "_priority": "High",
         "request": {"method": "GET", "url": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?x=1",
           "httpVersion": "http/2.0",
           "headers": [{"name": ":authority", "value": "login.microsoftonline.com"},
                       {"name": "Cookie", "value": "ESTSAUTH=abc"}],
           "queryString": [{"name": "x", "value": "1"}], "cookies": [], "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "statusText": "", "httpVersion": "http/2.0",
           "headers": [{"name": "content-type", "value": "text/html"}], "cookies": [],
           "content": {"size": 5, "mimeType": "text/html", "text": "aGVsbG8=", "encoding": "base64"},
           "redirectURL": "", "headersSize": -1, "bodySize": -1, "_transferSize": 100},
         "cache": {}, "timings": {"blocked": 1, "dns": -1, "send": 0.1, "wait": 7.25, "receive": 1},
         "serverIPAddress": "20.190.1.1", "connection": "123"},
        {"startedDateTime": "2024-01-02T03:04:06Z", "time": 3,
         "request": {"method": "POST", "url": "https://login.microsoftonline.com/token",
           "httpVersion": "h3", "headers": [], "cookies": [],
           "postData": {"mimeType": "application/x-www-form-urlencoded", "text": "grant_type=code&code=a\"b"}},
         "response": {"status": 400, "statusText": "Bad Request", "httpVersion": "h3", "headers": [],
           "cookies": [], "content": {"size": 20, "mimeType": "application/json", "text": "{\"error\":\"invalid_grant\"}"}},
         "timings": {"wait": -1}}
      ]}}"#;

    #[test]
    fn chrome_like_with_base64_body() {
        let (s, ex) = both(CHROME.as_bytes());
        assert_eq!(s.producer.as_deref(), Some("WebInspector 537.36"));
        assert_eq!(s.exchanges, 2);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(ex[0].method, "GET");
        assert_eq!(ex[0].req_version, "HTTP/2");
        assert_eq!(ex[0].status, Some(200));
        assert_eq!(ex[0].resp_body, "hello");
        assert_eq!(ex[0].resp_body_is, "json_text");
        assert_eq!(ex[0].resp_mime.as_deref(), Some("text/html"));
        assert_eq!(ex[0].started_us, 1_704_164_645_123_000);
        assert_eq!(ex[0].duration_ms, Some(12.5));
        assert_eq!(ex[0].wait_ms, Some(7.25));
        // Every recorded phase, in HAR order; `dns: -1` is not one.
        assert_eq!(
            ex[0].phases,
            Some(vec![
                ("blocked", 1.0),
                ("send", 0.1),
                ("wait", 7.25),
                ("receive", 1.0)
            ])
        );
        assert_eq!(ex[0].server_ip.as_deref(), Some("20.190.1.1"));
        assert_eq!(ex[0].index, 0);
        assert_eq!(ex[1].index, 1);
        assert_eq!(ex[1].req_version, "HTTP/3");
        assert_eq!(ex[1].req_body, "grant_type=code&code=a\"b");
        assert_eq!(ex[1].resp_body, "{\"error\":\"invalid_grant\"}");
        assert_eq!(ex[1].status, Some(400));
        assert_eq!(ex[1].wait_ms, None);
        assert_eq!(ex[1].phases, None, "only -1: no phase recorded");
        assert_eq!(ex[1].error, None);
    }

    #[test]
    fn slice_reader_borrows_from_the_input() {
        let mut borrowed = (false, false, false);
        read_slice(CHROME.as_bytes(), &ReadCtx::new("t"), &mut |ex| {
            if ex.origin.index == 0 {
                borrowed.0 = matches!(ex.request.url, Cow::Borrowed(_));
                let r = ex.response.as_ref().unwrap();
                borrowed.1 = matches!(
                    r.body,
                    Body::JsonText {
                        literal: Cow::Borrowed(_),
                        base64: true
                    }
                );
                borrowed.2 = matches!(r.body_mime, Some(Cow::Borrowed(_)));
            }
        })
        .unwrap();
        assert_eq!(borrowed, (true, true, true));
    }

    #[test]
    fn firefox_like_missing_fields() {
        let har = r#"{"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "120.0"},
          "browser": {"name": "Firefox", "version": "120.0"},
          "entries": [
            {"startedDateTime": "2024-01-02T04:04:05.123+0100",
             "request": {"method": "GET", "url": "http://example.com/"},
             "response": {"status": 0, "content": {"mimeType": ""}}},
            {"startedDateTime": "2024-01-02T03:04:05.1234567",
             "time": -1,
             "request": {"method": "GET", "url": "http://example.com/a", "headers": null},
             "response": {"status": "302", "content": {"size": 10}, "headers": [{"name": "Location", "value": null}]}},
            {"request": {"method": "GET", "url": "http://example.com/b"},
             "response": {"status": 200, "content": {"size": 10, "text": null}}}
          ]}}"#;
        let (s, ex) = both(har.as_bytes());
        assert_eq!(s.producer.as_deref(), Some("Firefox 120.0"));
        assert_eq!(
            codes(&s),
            ["timestamp_no_offset", "timestamp_invalid", "missing_body"]
        );
        assert!(s.warnings[2].message.starts_with("1 responses"));
        assert_eq!(ex.len(), 3);
        assert_eq!(ex[0].status, None);
        assert_eq!(ex[0].error.as_deref(), Some("no response"));
        assert_eq!(ex[0].resp_mime, None);
        assert_eq!(ex[0].started_us, 1_704_164_645_123_000);
        assert_eq!(ex[1].started_us, 1_704_164_645_123_456);
        assert_eq!(ex[1].duration_ms, None);
        assert_eq!(ex[1].status, Some(302));
        assert_eq!(ex[1].resp_body_is, "omitted");
        assert_eq!(ex[2].resp_body_is, "omitted");
        assert_eq!(ex[2].started_us, 0);
    }

    #[test]
    fn bom_is_skipped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(CHROME.as_bytes());
        let (s, ex) = both(&bytes);
        assert_eq!(s.exchanges, 2);
        assert_eq!(ex[0].resp_body, "hello");
    }

    fn entry(i: usize) -> String {
        format!(
            r#"{{"startedDateTime": "2024-01-02T03:04:05Z",
               "request": {{"method": "GET", "url": "https://example.com/{i}", "headers": []}},
               "response": {{"status": 200, "headers": [], "content": {{"size": 2, "text": "ok"}}}}}}"#
        )
    }

    fn har_of(entries: &[String]) -> String {
        format!(
            r#"{{"log": {{"creator": {{"name": "t", "version": "1"}}, "entries": [{}]}}}}"#,
            entries.join(",\n")
        )
    }

    #[test]
    fn truncated_in_third_entry_keeps_the_first_two() {
        let full = har_of(&[entry(0), entry(1), entry(2)]);
        let cut_at = full.find("example.com/2").unwrap();
        let cut = &full.as_bytes()[..cut_at];
        let (s, ex) = both(cut);
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].url, "https://example.com/1");
        assert_eq!(codes(&s), ["capture_truncated"]);
        let msg = &s.warnings[0].message;
        assert!(
            msg.contains(&format!("ends early at byte {cut_at}")),
            "{msg}"
        );
        assert!(msg.contains("the 2 complete entries"), "{msg}");
        assert!(msg.contains("(line 8, column 60)"), "{msg}");
    }

    #[test]
    fn garbage_in_the_middle_keeps_what_was_read() {
        let broken = har_of(&[entry(0), "@@@".into(), entry(1)]);
        let (s, ex) = both(broken.as_bytes());
        assert_eq!(ex.len(), 1);
        assert_eq!(codes(&s), ["capture_truncated"]);
        assert!(
            s.warnings[0]
                .message
                .starts_with("malformed JSON at line 4 column"),
            "{}",
            s.warnings[0].message
        );
    }

    #[test]
    fn malformed_entry_is_skipped_with_its_index() {
        let bad_method =
            r#"{"request": {"url": "https://example.com/x"}, "response": {"status": 200}}"#;
        let bad_type = r#"{"request": {"method": "GET", "url": "https://e/", "headers": 5}}"#;
        let not_object = "17";
        let har = har_of(&[
            entry(0),
            bad_method.into(),
            entry(2),
            bad_type.into(),
            not_object.into(),
        ]);
        let (s, ex) = both(har.as_bytes());
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].index, 2);
        assert_eq!(codes(&s), ["malformed_entry"; 3]);
        assert_eq!(
            s.warnings[0].message,
            "entry 1: \"request.method\" is missing"
        );
        assert!(s.warnings[1].message.starts_with("entry 3: invalid type"));
        assert!(s.warnings[2].message.starts_with("entry 4: invalid type"));
    }

    #[test]
    fn many_malformed_entries_are_summarised() {
        let mut entries: Vec<String> = (0..30).map(|_| "[]".to_string()).collect();
        entries.push(entry(30));
        let (s, ex) = both(har_of(&entries).as_bytes());
        assert_eq!(ex.len(), 1);
        assert_eq!(s.warnings.len(), MAX_ENTRY_WARNINGS + 1);
        assert_eq!(
            s.warnings.last().unwrap().message,
            "10 more malformed entries were skipped"
        );
    }

    #[test]
    fn websocket_messages_are_skipped() {
        let har = r#"{"log": {"entries": [
          {"startedDateTime": "2024-01-02T03:04:05Z", "_resourceType": "websocket",
           "request": {"method": "GET", "url": "wss://example.com/ws"},
           "response": {"status": 101, "content": {"size": 0, "text": ""}},
           "_webSocketMessages": [
             {"type": "send", "time": 1.5, "opcode": 1, "data": "{\"a\": [1, {\"b\": null}]}"},
             {"type": "receive", "time": 1.6, "opcode": 2, "data": "AAEC"}]}]}}"#;
        let (s, ex) = both(har.as_bytes());
        assert!(s.warnings.is_empty());
        assert_eq!(ex[0].status, Some(101));
        assert_eq!(ex[0].resp_body_is, "absent");
    }

    #[test]
    fn status_zero_with_error_text() {
        let har = r#"{"log": {"entries": [
          {"startedDateTime": "2024-01-02T03:04:05Z",
           "request": {"method": "GET", "url": "https://example.com/"},
           "response": {"status": 0, "statusText": "", "content": {"size": 0},
                        "_error": "net::ERR_CONNECTION_RESET"}},
          {"startedDateTime": "2024-01-02T03:04:05Z",
           "request": {"method": "GET", "url": "https://example.com/"},
           "response": {"status": 0, "_error": null}},
          {"startedDateTime": "2024-01-02T03:04:05Z", "_failureText": "aborted",
           "request": {"method": "GET", "url": "https://example.com/"}}]}}"#;
        let (_, ex) = both(har.as_bytes());
        assert_eq!(ex[0].status, None);
        assert_eq!(ex[0].resp_body_is, "absent");
        assert_eq!(ex[0].error.as_deref(), Some("net::ERR_CONNECTION_RESET"));
        assert_eq!(ex[1].error.as_deref(), Some("no response"));
        assert_eq!(ex[2].error.as_deref(), Some("aborted"));
        assert_eq!(ex[2].resp_body_is, "none");
    }

    #[test]
    fn post_data_params_become_a_form_body() {
        let har = r#"{"log": {"entries": [
          {"startedDateTime": "2024-01-02T03:04:05Z",
           "request": {"method": "POST", "url": "https://login.microsoftonline.com/login.srf",
             "postData": {"mimeType": "application/x-www-form-urlencoded",
               "params": [{"name": "login", "value": "a b@c.com"}, {"name": "SAMLResponse", "value": "PHg+=="}]}},
           "response": {"status": 200}}]}}"#;
        let mut bodies = Vec::new();
        read_slice(har.as_bytes(), &ReadCtx::new("t"), &mut |ex| {
            bodies.push((
                kind(&ex.request.body),
                ex.request.body.text().unwrap().into_owned(),
                ex.request.body_mime.as_deref().map(str::to_string),
            ));
        })
        .unwrap();
        assert_eq!(
            bodies,
            [(
                "bytes",
                "login=a+b%40c.com&SAMLResponse=PHg%2B%3D%3D".to_string(),
                Some("application/x-www-form-urlencoded".to_string())
            )]
        );
    }

    #[test]
    fn pseudo_headers_rebuild_a_relative_url() {
        let har = r#"{"log": {"entries": [
          {"request": {"method": "GET", "url": "/common/login?x=1",
             "headers": [{"name": ":authority", "value": "login.microsoftonline.com"},
                         {"name": ":scheme", "value": "https"},
                         {"name": ":path", "value": "/common/login?x=1"}]}}]}}"#;
        let (_, ex) = both(har.as_bytes());
        assert_eq!(
            ex[0].url,
            "https://login.microsoftonline.com/common/login?x=1"
        );
    }

    #[test]
    fn ie11_single_cookie_object_counts_as_a_cookie() {
        let mut entries: Vec<String> = (0..5).map(entry).collect();
        entries[0] = entries[0].replace(
            r#""headers": []}"#,
            r#""headers": [], "cookies": {"name": "a", "value": "b"}}"#,
        );
        let (s, ex) = both(har_of(&entries).as_bytes());
        assert_eq!(ex.len(), 5);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn sanitized_export_is_detected() {
        let entries: Vec<String> = (0..5).map(entry).collect();
        let (s, _) = both(har_of(&entries).as_bytes());
        assert_eq!(codes(&s), ["har_sanitized"]);
        let mut entries: Vec<String> = (0..5).map(entry).collect();
        entries[3] = entries[3].replace(
            r#""headers": []}"#,
            r#""headers": [], "cookies": [{"name": "a", "value": "b"}]}"#,
        );
        let (s, _) = both(har_of(&entries).as_bytes());
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    fn rejected(bytes: &[u8]) -> String {
        let (a, _) = slice(bytes);
        let (b, _) = stream(bytes);
        let a = a.unwrap_err().to_string();
        let b = b.unwrap_err().to_string();
        // serde_json's reader-based parser may count the column one further.
        let detail = |m: &str| m.splitn(3, ": ").nth(2).unwrap_or_default().to_string();
        assert_eq!(detail(&a), detail(&b), "{a} / {b}");
        a
    }

    #[test]
    fn not_a_har_is_rejected_precisely() {
        assert_eq!(
            rejected(br#"{"creator": {"log": {"entries": []}}}"#),
            "t.har: top level: this JSON has no \"log\" object, so it is not a HAR"
        );
        assert_eq!(
            rejected(br#"{"log": {"version": "1.2", "pages": []}}"#),
            "t.har: top level: \"log.entries\" is missing, so this HAR holds no requests"
        );
        assert_eq!(
            rejected(b"{\"log\":\n[\n    2,1,3\n]\n\"request:\"}"),
            "t.har: line 2, column 0: invalid type: sequence, expected the HAR \"log\" object"
        );
        assert_eq!(
            rejected(b"{\n \"log\": {\"creator\": {}\n xxx }}"),
            "t.har: line 3, column 2: not valid JSON: expected `,` or `}`"
        );
        assert_eq!(
            rejected(b"{\"log\": {\"creator\": {\"name\": \"a"),
            "t.har: line 1, column 31: the file ends before \"log.entries\" starts"
        );
        assert_eq!(
            rejected(b"hello"),
            "t.har: line 1, column 1: not valid JSON: expected value"
        );
        assert_eq!(
            rejected(b""),
            "t.har: line 1, column 0: the file ends before the \"log\" object"
        );
    }

    #[test]
    fn empty_entries_and_trailing_whitespace() {
        let (s, ex) = both(b"\n{\"log\": {\"entries\": []}}\n\n");
        assert_eq!(s.exchanges, 0);
        assert!(ex.is_empty());
        assert!(s.warnings.is_empty());
        assert_eq!(s.producer, None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some((1_000_000, true)));
        assert_eq!(
            parse_time("1970-01-01T02:00:01.5+0200"),
            Some((1_500_000, true))
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:00.0000011-00:00"),
            Some((1, true))
        );
        assert_eq!(parse_time("1970-01-01T00:00:02"), Some((2_000_000, false)));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
    }
}
