//! HAR → HAR: the log is streamed one entry at a time (a HAR can be hundreds of
//! MB, and a gzip'd one is inflated as it is read), each entry parsed as a
//! `serde_json::Value` with its member order kept, rewritten field by field, and
//! written out pretty-printed. Every field is kept; only values change, so
//! Chrome DevTools, Fiddler and aadtrace load the copy as they load the original.
//!
//! Entries pass the streamed HAR reader's guard (`capture::har::guard`), as in
//! `analyze`: one larger than [`crate::limits::har_entry`], raw or once parsed,
//! is left out of the copy, never written unredacted, with a warning on the
//! receipt.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::mask::Masker;
use super::text;
use super::workers::{self, Workers};
use super::{Input, TraceRewriter, Written};
use crate::capture::har::guard::{self, EntryGuard};
use crate::limits;
use crate::secrets::{
    self, cookie_is_kept, header_rule, is_personal_param, param_kind, scan, HeaderRule, SecretKind,
};

/// The HAR rewriter.
pub struct Har;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl TraceRewriter for Har {
    /// Learns without printing: the entries are only masked.
    fn learn(&self, input: &Input, masker: &mut Masker) -> Result<(), RewriteError> {
        rewrite_to(input, None, masker).map(|_| ())
    }

    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError> {
        rewrite(input, out, masker)
    }
}

/// Why a rewrite stopped.
#[derive(Debug)]
pub enum RewriteError {
    /// The input is not a HAR this rewriter can read (with the place).
    Malformed(String),
    /// Writing the output failed.
    Write(std::io::Error),
}

/// Rewrites the HAR `input` (plain or JSONP-wrapped, maybe gzip'd) to `out`. A
/// gzip'd one is streamed as it inflates, unless it is JSONP-wrapped: the
/// wrapper's end is only known once the whole text is.
pub fn rewrite(
    input: &Input,
    out: &mut dyn Write,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    rewrite_to(input, Some(out), masker)
}

/// [`rewrite`] to `out`, or only learning when there is none.
fn rewrite_to(
    input: &Input,
    out: Option<&mut dyn Write>,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    if let Some(bytes) = input.plain() {
        return rewrite_bytes_to(bytes, &input.passes_guard, out, masker);
    }
    let mut reader = BufReader::with_capacity(1 << 16, input.reader());
    let head = reader
        .fill_buf()
        .map_err(|e| RewriteError::Malformed(e.to_string()))?;
    let bom = head.starts_with(UTF8_BOM);
    let json = if bom { &head[UTF8_BOM.len()..] } else { head };
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        drop(reader);
        return rewrite_bytes_to(&input.whole()?, &input.passes_guard, out, masker);
    }
    if bom {
        reader.consume(UTF8_BOM.len());
    }
    rewrite_json(Json::Stream(Box::new(reader)), (b"", b""), out, masker)
}

/// Rewrites the HAR held in `input` (plain or JSONP-wrapped) to `out`.
pub fn rewrite_bytes(
    input: &[u8],
    out: &mut dyn Write,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    rewrite_bytes_to(input, &std::sync::OnceLock::new(), Some(out), masker)
}

/// [`rewrite_bytes`], or only learning without `out`; `passes_guard` keeps
/// whether the entry guard passes `input` unchanged, for the other pass.
pub(crate) fn rewrite_bytes_to(
    input: &[u8],
    passes_guard: &std::sync::OnceLock<bool>,
    out: Option<&mut dyn Write>,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    let (prefix, json, suffix) = match crate::capture::jsonp_body(input) {
        Some(body) => {
            let start = body.as_ptr() as usize - input.as_ptr() as usize;
            (&input[..start], body, &input[start + body.len()..])
        }
        None => {
            let json = input.strip_prefix(UTF8_BOM).unwrap_or(input);
            (&b""[..], json, &b""[..])
        }
    };
    rewrite_json(
        Json::Held(json, passes_guard),
        (prefix, suffix),
        out,
        masker,
    )
}

/// Rewrites a HAR's JSON read from `json` (no BOM, no JSONP wrapper).
pub fn rewrite_reader<'a>(
    json: impl Read + 'a,
    out: &mut dyn Write,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    rewrite_json(Json::Stream(Box::new(json)), (b"", b""), Some(out), masker)
}

/// Learns the HAR held in `input` (the learning pass of [`rewrite_bytes`]):
/// masks it, prints nothing.
pub fn learn_bytes(input: &[u8], masker: &mut Masker) -> Result<(), RewriteError> {
    rewrite_bytes_to(input, &std::sync::OnceLock::new(), None, masker).map(|_| ())
}

/// Learns a HAR's JSON read from `json` (the learning pass of
/// [`rewrite_reader`]): masks it, prints nothing.
pub fn learn_reader<'a>(json: impl Read + 'a, masker: &mut Masker) -> Result<(), RewriteError> {
    rewrite_json(Json::Stream(Box::new(json)), (b"", b""), None, masker).map(|_| ())
}

/// Rewrites the JSON of a HAR read from `json`, between the wrapper's `prefix`
/// and `suffix`. Each entry passes the analysing reader's guard first, so one
/// entry larger than [`crate::limits::har_entry`] is never held: it is left
/// out of the copy (never written unredacted) with a warning. Without `out`
/// (the learning pass) nothing is printed.
fn rewrite_json(
    json: Json<'_>,
    wrapper: (&[u8], &[u8]),
    out: Option<&mut dyn Write>,
    masker: &mut Masker,
) -> Result<Written, RewriteError> {
    let cap = limits::har_entry();
    rewrite_json_with(
        json,
        wrapper,
        out,
        masker,
        (Workers::for_this_machine(), cap),
    )
}

/// A HAR's JSON: held in memory (with where to keep whether the entry guard
/// passes it unchanged: the check reads every byte on one thread, and the
/// two passes of `redact` read the same bytes), or read from a stream.
enum Json<'a> {
    Held(&'a [u8], &'a std::sync::OnceLock<bool>),
    Stream(Box<dyn Read + 'a>),
}

/// [`rewrite_json`] with the entries masked by `workers`, each entry guarded
/// by `cap`. A HAR held in memory that the guard would pass unchanged is read
/// by serde as a slice (several times faster than through the guard).
fn rewrite_json_with(
    json: Json<'_>,
    (prefix, suffix): (&[u8], &[u8]),
    out: Option<&mut dyn Write>,
    masker: &mut Masker,
    (workers, cap): (Workers, usize),
) -> Result<Written, RewriteError> {
    let mut sink = Sink {
        out,
        workers,
        borrow_entries: false,
        error: None,
        entries: 0,
        seen: 0,
        skipped: Vec::new(),
        log_seen: false,
    };
    sink.write(prefix);
    let result = match json {
        Json::Held(bytes, verdict)
            if *verdict.get_or_init(|| guard::passes_unchanged(bytes, cap)) =>
        {
            sink.borrow_entries = true;
            read_top(
                &mut serde_json::Deserializer::from_slice(bytes),
                &mut sink,
                masker,
            )
        }
        guarded => {
            let reader: Box<dyn Read> = match guarded {
                Json::Held(bytes, _) => Box::new(bytes),
                Json::Stream(reader) => reader,
            };
            let reader = BufReader::with_capacity(1 << 16, EntryGuard::new(reader, cap));
            read_top(
                &mut serde_json::Deserializer::from_reader(reader),
                &mut sink,
                masker,
            )
        }
    };
    if let Some(e) = sink.error.take() {
        return Err(RewriteError::Write(e));
    }
    if let Err(e) = result {
        return Err(RewriteError::Malformed(e.to_string()));
    }
    if !sink.log_seen {
        return Err(RewriteError::Malformed(
            "this JSON has no \"log\" object, so it is not a HAR".into(),
        ));
    }
    sink.write(b"\n");
    if !suffix.is_empty() {
        sink.write(suffix);
    }
    match sink.error {
        Some(e) => Err(RewriteError::Write(e)),
        None => Ok(Written {
            exchanges: sink.entries,
            warnings: sink.skipped,
        }),
    }
}

/// Reads the whole HAR from `de`, rewriting it into `sink`.
fn read_top<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    sink: &mut Sink<'_>,
    masker: &mut Masker,
) -> serde_json::Result<()> {
    TopSeed { sink, masker }
        .deserialize(&mut *de)
        .and_then(|()| de.end())
}

struct Sink<'w> {
    /// `None` in the learning pass.
    out: Option<&'w mut dyn Write>,
    workers: Workers,
    /// Whether the entries can be borrowed from the input (read as a slice).
    borrow_entries: bool,
    error: Option<std::io::Error>,
    /// Entries written, and entries read (written or left out).
    entries: usize,
    seen: usize,
    /// Why entries were left out.
    skipped: Vec<String>,
    log_seen: bool,
}

impl Sink<'_> {
    fn write(&mut self, bytes: &[u8]) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        if self.error.is_none() {
            if let Err(e) = out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn printing(&self) -> bool {
        self.out.is_some()
    }

    /// Writes `value` pretty-printed, its continuation lines indented by `indent`.
    fn value(&mut self, value: &Value, indent: &str) {
        if self.printing() {
            self.write(&pretty(value, indent));
        }
    }

    fn key(&mut self, key: &str, first: bool, indent: &str) {
        self.write(if first { b"\n" } else { b",\n" });
        self.write(indent.as_bytes());
        let k = serde_json::to_string(key).unwrap_or_default();
        self.write(k.as_bytes());
        self.write(b": ");
    }

    /// Copies a JSON object member by member, its keys indented by `indent`,
    /// ending with `close`; `member` reads and writes each value.
    fn object<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        indent: &str,
        close: &[u8],
        mut member: impl FnMut(&mut Self, &str, &mut A) -> Result<(), A::Error>,
    ) -> Result<(), A::Error> {
        self.write(b"{");
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            self.key(&key, first, indent);
            first = false;
            member(self, &key, map)?;
            self.check()?;
        }
        self.write(close);
        Ok(())
    }

    fn check<E: de::Error>(&self) -> Result<(), E> {
        match &self.error {
            Some(_) => Err(E::custom("cannot write the output")),
            None => Ok(()),
        }
    }
}

/// `value` pretty-printed, its continuation lines indented by `indent`.
fn pretty(value: &Value, indent: &str) -> Vec<u8> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    let mut out = Vec::with_capacity(text.len() + lines * indent.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
            out.extend_from_slice(indent.as_bytes());
        }
        out.extend_from_slice(line.as_bytes());
    }
    out
}

struct TopSeed<'a, 'w> {
    sink: &'a mut Sink<'w>,
    masker: &'a mut Masker,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let TopSeed { sink, masker } = self;
        sink.object(&mut map, "  ", b"\n}", |sink, key, map| {
            if key == "log" {
                sink.log_seen = true;
                return map.next_value_seed(LogSeed {
                    sink,
                    masker: &mut *masker,
                });
            }
            let mut v = member_value(map, key)?;
            masker.set_place("file", &masker.field_name("", key));
            scrub(masker, &mut v);
            sink.value(&v, "  ");
            Ok(())
        })
    }
}

struct LogSeed<'a, 'w> {
    sink: &'a mut Sink<'w>,
    masker: &'a mut Masker,
}

impl<'de> DeserializeSeed<'de> for LogSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LogSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the \"log\" object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let LogSeed { sink, masker } = self;
        sink.object(&mut map, "    ", b"\n  }", |sink, key, map| {
            match key {
                "entries" => {
                    return map.next_value_seed(EntriesSeed {
                        sink,
                        masker: &mut *masker,
                    })
                }
                "creator" | "browser" | "version" => {
                    let v = member_value(map, key)?;
                    sink.value(&v, "    ");
                }
                _ => {
                    let mut v = member_value(map, key)?;
                    masker.set_place("log", &masker.field_name("log.", key));
                    scrub(masker, &mut v);
                    sweep(masker, &mut v);
                    sink.value(&v, "    ");
                }
            }
            Ok(())
        })
    }
}

struct EntriesSeed<'a, 'w> {
    sink: &'a mut Sink<'w>,
    masker: &'a mut Masker,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the \"entries\" array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let EntriesSeed { sink, masker } = self;
        sink.write(b"[");
        let (workers, print) = (sink.workers, sink.printing());
        let mut first = true;
        let mut index = sink.seen;
        let borrow = sink.borrow_entries;
        let next = || -> Result<_, A::Error> {
            let raw = match borrow {
                true => seq.next_element::<&'de RawValue>()?.map(Raw::Borrowed),
                false => seq.next_element::<Box<RawValue>>()?.map(Raw::Owned),
            };
            Ok(raw.map(|raw| {
                index += 1;
                let size = raw.get().len();
                ((index - 1, raw), size)
            }))
        };
        let done = |outcome: Outcome| -> Result<(), A::Error> {
            sink.seen += 1;
            match outcome {
                Outcome::LeftOut(why) => sink.skipped.push(why),
                Outcome::Unparsed(e) => return Err(de::Error::custom(e)),
                Outcome::Rewritten(text) => {
                    sink.write(if first { b"\n      " } else { b",\n      " });
                    first = false;
                    sink.write(&text);
                    sink.entries += 1;
                    sink.check()?;
                }
            }
            Ok(())
        };
        let work = |m: &mut Masker, (index, raw): (usize, Raw<'de>)| {
            rewrite_raw_entry(m, index, raw.get(), print)
        };
        workers::run(masker, workers, next, work, done)?;
        sink.write(if first { b"]" } else { b"\n    ]" });
        Ok(())
    }
}

/// An entry's text: borrowed from a HAR held in memory, copied from a stream.
enum Raw<'de> {
    Borrowed(&'de RawValue),
    Owned(Box<RawValue>),
}

impl Raw<'_> {
    fn get(&self) -> &str {
        match self {
            Raw::Borrowed(raw) => raw.get(),
            Raw::Owned(raw) => raw.get(),
        }
    }
}

/// What became of one raw entry.
enum Outcome {
    /// Rewritten, and printed when the pass prints.
    Rewritten(Vec<u8>),
    /// Left out of the copy, and why.
    LeftOut(String),
    Unparsed(serde_json::Error),
}

/// Parses, masks and (when `print`) prints the entry `index` of the log.
fn rewrite_raw_entry(m: &mut Masker, index: usize, raw: &str, print: bool) -> Outcome {
    let mut entry = match parse_entry(raw, index) {
        Ok(entry) => entry,
        Err(Left::TooLarge(why)) => return Outcome::LeftOut(why),
        Err(Left::Unparsed(e)) => return Outcome::Unparsed(e),
    };
    // Counted from 0, like the entries the receipt's warnings name.
    m.set_place(&format!("entry {index}"), "");
    rewrite_entry(m, &mut entry);
    Outcome::Rewritten(if print {
        pretty(&entry, "      ")
    } else {
        Vec::new()
    })
}

/// What a parsed value costs at most, per `,`, `:`, `[` or `{` of its text:
/// the `Value` and, in an object, its key and index slot. Text of many tiny
/// values (`[0,0,0,…]`) takes some 30 times its size once parsed.
const PARSED_VALUE: usize = 64;

/// Why a value is not parsed.
pub(super) enum Left {
    /// Too large to hold parsed: how large.
    TooLarge(String),
    Unparsed(serde_json::Error),
}

/// Parses one raw entry, unless the guard skipped it (its placeholder) or it
/// would take more than the cap once parsed.
fn parse_entry(raw: &str, index: usize) -> Result<Value, Left> {
    match guard::skipped_size(raw) {
        Some(size) => Err(Left::TooLarge(format!("is {size} bytes"))),
        None => parse_capped(raw),
    }
    .map_err(|left| match left {
        Left::TooLarge(what) => Left::TooLarge(format!(
            "entry {index} {what}, more than the {} MiB an entry may hold; it was left out of the copy",
            limits::har_entry() >> 20
        )),
        other => other,
    })
}

/// Parses a raw value when its parsed form stays within the entry cap.
pub(super) fn parse_capped(raw: &str) -> Result<Value, Left> {
    // Bodies count too: the JSON in them is parsed as well, to be redacted.
    let values = value_marks(raw.as_bytes());
    let parsed = raw
        .len()
        .saturating_add(values.saturating_mul(PARSED_VALUE));
    if parsed > limits::har_entry() {
        let mib = parsed >> 20;
        return Err(Left::TooLarge(format!(
            "would take about {mib} MiB once parsed"
        )));
    }
    serde_json::from_str(raw).map_err(Left::Unparsed)
}

/// How many `,` `:` `[` `{` bytes `raw` holds (about one per value), counted
/// in blocks of 255 with a byte-wide sum, which the compiler turns into vector
/// compares: a tenth of `redact`'s time on a large HAR was this count, a byte
/// at a time.
fn value_marks(raw: &[u8]) -> usize {
    raw.chunks(255)
        .map(|block| {
            let marks = block.iter().fold(0u8, |n, &b| {
                n + u8::from((b == b',') | (b == b':') | (b == b'[') | (b == b'{'))
            });
            usize::from(marks)
        })
        .sum()
}

/// The value of member `key` of the top level or of `log`, parsed within the
/// entry cap: one too large stops the rewrite (nothing is written).
fn member_value<'de, A: MapAccess<'de>>(map: &mut A, key: &str) -> Result<Value, A::Error> {
    let raw: Box<RawValue> = map.next_value()?;
    parse_capped(raw.get()).map_err(|left| match left {
        Left::TooLarge(what) => <A::Error as de::Error>::custom(format!(
            "`{key}` {what}, more than the {} MiB a member may hold",
            limits::har_entry() >> 20
        )),
        Left::Unparsed(e) => <A::Error as de::Error>::custom(e),
    })
}

/// Rewrites one entry in place. The caller names the entry's place; this
/// names each field (`request.url`, `response.headers.Set-Cookie`, …).
pub fn rewrite_entry(m: &mut Masker, entry: &mut Value) {
    if let Value::Object(map) = entry {
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "request" => request(m, value),
                "response" => response(m, value),
                _ => {
                    m.set_field(&m.field_name("", key));
                    scrub(m, value)
                }
            }
        }
        sweep_entry(m, map);
    } else {
        m.set_field("entry");
        scrub(m, entry);
        sweep(m, entry);
    }
}

/// The sweep of an entry, field by field: `request.*` and `response.*` by
/// their members, anything else by its name.
fn sweep_entry(m: &mut Masker, entry: &mut Map<String, Value>) {
    for (key, value) in entry.iter_mut() {
        match (key.as_str(), value) {
            (side @ ("request" | "response"), Value::Object(members)) => {
                let prefix = format!("{side}.");
                for (member, v) in members.iter_mut() {
                    m.set_field(&m.field_name(&prefix, member));
                    sweep(m, v);
                }
            }
            (_, value) => {
                m.set_field(&m.field_name("", key));
                sweep(m, value);
            }
        }
    }
}

/// Any value whose meaning the rewriter does not know (`_initiator`, `comment`,
/// `pages`…): secret members by name, URLs, markup and free text by content.
fn scrub(m: &mut Masker, value: &mut Value) {
    text::json_value(m, value, None);
}

/// The final safety net: every string of the value, swept for originals the
/// structural passes replaced elsewhere in the file.
pub(super) fn sweep(m: &mut Masker, value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(new) = m.sweep(s) {
                *s = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| sweep(m, v)),
        Value::Object(map) => map.values_mut().for_each(|v| sweep(m, v)),
        _ => {}
    }
}

fn request(m: &mut Masker, value: &mut Value) {
    let Value::Object(req) = value else {
        return scrub(m, value);
    };
    for (key, v) in req.iter_mut() {
        m.set_field(&m.field_name("request.", key));
        match key.as_str() {
            "url" => map_str(v, |s| text::url(m, s)),
            "headers" => headers(m, v, "request.headers."),
            "cookies" => cookies(m, v),
            "queryString" => name_values(m, v),
            "postData" => post_data(m, v),
            "method" | "httpVersion" | "headersSize" | "bodySize" => {}
            _ => scrub(m, v),
        }
    }
}

fn response(m: &mut Masker, value: &mut Value) {
    let Value::Object(resp) = value else {
        return scrub(m, value);
    };
    for (key, v) in resp.iter_mut() {
        m.set_field(&m.field_name("response.", key));
        match key.as_str() {
            "headers" => headers(m, v, "response.headers."),
            "cookies" => cookies(m, v),
            "redirectURL" => map_str(v, |s| text::url(m, s)),
            "content" => content(m, v),
            "status" | "statusText" | "httpVersion" | "headersSize" | "bodySize" => {}
            _ => scrub(m, v),
        }
    }
}

pub(super) fn map_str(v: &mut Value, f: impl FnOnce(&str) -> String) {
    if let Value::String(s) = v {
        let new = f(s);
        if new != *s {
            *s = new;
        }
    }
}

fn field<'v>(map: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
    map.get(name).and_then(Value::as_str)
}

/// A `headers` list; each header's values count under `prefix` and its name.
fn headers(m: &mut Masker, list: &mut Value, prefix: &str) {
    let Value::Array(items) = list else {
        return scrub(m, list);
    };
    for item in items {
        let Value::Object(h) = item else {
            scrub(m, item);
            continue;
        };
        let name = field(h, "name").unwrap_or("").to_string();
        m.set_field(&m.field_name(prefix, &name));
        if let Some(v) = h.get_mut("value") {
            map_str(v, |s| header_value(m, &name, s));
        }
    }
}

/// One header value, redacted by the header's rule.
pub fn header_value(m: &mut Masker, name: &str, value: &str) -> String {
    match header_rule(name) {
        HeaderRule::Authorization => secrets::credential(m, value, SecretKind::Authorization),
        HeaderRule::Cookie => cookie_header(m, value),
        HeaderRule::SetCookie => value
            .split('\n')
            .map(|line| set_cookie(m, line))
            .collect::<Vec<_>>()
            .join("\n"),
        HeaderRule::Secret(kind) => m.secret(kind, value),
        HeaderRule::AnchorMailbox => match value.split_once(':') {
            Some((prefix, rest)) if prefix.bytes().all(|b| b.is_ascii_alphabetic()) => {
                format!("{prefix}:{}", m.user(rest))
            }
            _ => m.user(value),
        },
        HeaderRule::IpAddress => value
            .split(',')
            .map(|ip| {
                let lead = &ip[..ip.len() - ip.trim_start().len()];
                format!("{lead}{}", m.ip(ip.trim()))
            })
            .collect::<Vec<_>>()
            .join(","),
        HeaderRule::Url => text::url(m, value),
        HeaderRule::Challenge => {
            let scheme = value.split_whitespace().next().unwrap_or("");
            if ["negotiate", "ntlm", "kerberos"].contains(&scheme.to_ascii_lowercase().as_str()) {
                secrets::credential(m, value, SecretKind::Authorization)
            } else {
                text::free_text(m, value)
            }
        }
        HeaderRule::Text => text::free_text(m, value),
    }
}

fn cookie_header(m: &mut Masker, value: &str) -> String {
    value
        .split(';')
        .map(|part| {
            let trimmed = part.trim_start();
            let lead = &part[..part.len() - trimmed.len()];
            match trimmed.split_once('=') {
                Some((name, v)) if !cookie_is_kept(name) => {
                    format!("{lead}{name}={}", m.secret(SecretKind::Cookie, v))
                }
                _ => part.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn set_cookie(m: &mut Masker, line: &str) -> String {
    let (pair, attributes) = match line.find(';') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    match pair.split_once('=') {
        Some((name, v)) if !cookie_is_kept(name) => {
            format!("{name}={}{attributes}", m.secret(SecretKind::Cookie, v))
        }
        _ => line.to_string(),
    }
}

fn cookies(m: &mut Masker, list: &mut Value) {
    let items: &mut Vec<Value> = match list {
        Value::Array(items) => items,
        // IE 11 wrote a single cookie object.
        Value::Object(_) => {
            cookie(m, list);
            return;
        }
        _ => return scrub(m, list),
    };
    for item in items {
        cookie(m, item);
    }
}

fn cookie(m: &mut Masker, item: &mut Value) {
    let Value::Object(c) = item else {
        return scrub(m, item);
    };
    let name = field(c, "name").unwrap_or("").to_string();
    if cookie_is_kept(&name) {
        return;
    }
    if let Some(v) = c.get_mut("value") {
        map_str(v, |s| m.secret(SecretKind::Cookie, s));
    }
}

/// `queryString` and `postData.params`: `{name, value}` pairs.
fn name_values(m: &mut Masker, list: &mut Value) {
    let Value::Array(items) = list else {
        return scrub(m, list);
    };
    for item in items {
        let Value::Object(p) = item else {
            scrub(m, item);
            continue;
        };
        let name = field(p, "name").unwrap_or("").to_string();
        if let Some(v) = p.get_mut("value") {
            map_str(v, |s| param_value(m, &name, s));
        }
    }
}

fn param_value(m: &mut Masker, name: &str, value: &str) -> String {
    let decoded = if value.contains('%') {
        crate::http::form::decode(value).into_owned()
    } else {
        value.to_string()
    };
    if let Some(kind) = param_kind(name) {
        m.secret(kind, &decoded)
    } else if is_personal_param(name) {
        m.user(&decoded)
    } else {
        // As a form pair, so that what the value nests is looked inside: a URL
        // (`redirect_uri`), parameters, also still encoded (`wctx=a%3d1%26b%3d2`,
        // a double-encoded `state`), `;`-joined pairs (`X;code=…`), free text.
        let out = text::params(m, &format!("x={value}"));
        out.strip_prefix("x=").unwrap_or(&out).to_string()
    }
}

fn post_data(m: &mut Masker, value: &mut Value) {
    let Value::Object(pd) = value else {
        return scrub(m, value);
    };
    let mime = field(pd, "mimeType").unwrap_or("").to_string();
    for (key, v) in pd.iter_mut() {
        match key.as_str() {
            "text" => map_str(v, |s| body(m, s, &mime)),
            "params" => name_values(m, v),
            "mimeType" => {}
            _ => scrub(m, v),
        }
    }
}

fn content(m: &mut Masker, value: &mut Value) {
    let Value::Object(c) = value else {
        return scrub(m, value);
    };
    let mime = field(c, "mimeType").unwrap_or("").to_string();
    let base64 = field(c, "encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    if let Some(v) = c.get_mut("text") {
        if base64 {
            map_str(v, |s| base64_body(m, s, &mime));
        } else {
            map_str(v, |s| body(m, s, &mime));
        }
    }
    for (key, v) in c.iter_mut() {
        if !matches!(
            key.as_str(),
            "text" | "mimeType" | "encoding" | "size" | "compression"
        ) {
            scrub(m, v);
        }
    }
}

fn base64_body(m: &mut Masker, encoded: &str, mime: &str) -> String {
    if !textual(mime) {
        return encoded.to_string();
    }
    let Ok(bytes) = STANDARD.decode(encoded.trim()) else {
        return encoded.to_string();
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return encoded.to_string();
    };
    let out = body(m, &text, mime);
    if out == text {
        encoded.to_string()
    } else {
        STANDARD.encode(out)
    }
}

/// Media, fonts, scripts and style sheets carry no sign-in secrets (the sweep
/// still looks at them).
pub fn textual(mime: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    !(mime.starts_with("image/")
        || mime.starts_with("font/")
        || mime.starts_with("audio/")
        || mime.starts_with("video/")
        || mime.contains("javascript")
        || mime.contains("ecmascript")
        || mime.contains("css")
        || mime.contains("woff")
        || mime.contains("octet-stream")
        || mime.contains("wasm"))
}

/// A request or response body, by its MIME type and its first byte.
pub fn body(m: &mut Masker, text: &str, mime: &str) -> String {
    if text.is_empty() || !textual(mime) {
        return text.to_string();
    }
    let lower = mime.to_ascii_lowercase();
    let boundary = scan::multipart_boundary(mime).or_else(|| scan::sniff_multipart_boundary(text));
    if let Some(boundary) = boundary {
        return scan::multipart(m, text, &boundary);
    }
    let t = text.trim_start();
    if lower.contains("json") || t.starts_with('{') || t.starts_with('[') {
        if let Some(out) = text::json(m, text) {
            return out;
        }
    }
    let form_like = !t.starts_with('<') && !t.contains(char::is_whitespace) && t.contains('=');
    if lower.contains("x-www-form-urlencoded") || form_like {
        return text::params(m, text);
    }
    text::markup(m, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::mask::PlaceCount;

    /// What a redaction shows: the copy, the entries written, the warnings,
    /// the counts, the places and the places left out.
    type Shown = (
        Vec<u8>,
        usize,
        Vec<String>,
        Vec<(&'static str, u64)>,
        Vec<PlaceCount>,
        (usize, u64),
    );

    /// Both passes of `redact` on `har`, the entries masked by `workers`, with
    /// a copy of `key` (so every run draws the same pseudonyms).
    fn redacted_with(har: &[u8], key: &Masker, workers: Workers) -> Shown {
        redacted(har, true, key, (workers, limits::har_entry()))
    }

    /// Both passes of `redact` on `har` (`held` in memory, or as a stream).
    fn redacted(har: &[u8], held: bool, key: &Masker, how: (Workers, usize)) -> Shown {
        let verdict = std::sync::OnceLock::new();
        let json = || match held {
            true => Json::Held(har, &verdict),
            false => Json::Stream(Box::new(har)),
        };
        let mut m = key.clone();
        rewrite_json_with(json(), (b"", b""), None, &mut m, how).unwrap();
        m.reset_counts();
        let mut out = Vec::new();
        let written = rewrite_json_with(json(), (b"", b""), Some(&mut out), &mut m, how).unwrap();
        let counts = m.counts().iter().map(|(k, n)| (k.name(), *n)).collect();
        let places = m.places().to_vec();
        (
            out,
            written.exchanges,
            written.warnings,
            counts,
            places,
            m.places_omitted(),
        )
    }

    #[test]
    fn the_first_error_is_reported_on_any_number_of_workers() {
        let text = String::from_utf8(many_places_har(8)).unwrap();
        // Entry 1 holds a number serde cannot hold, and the file is cut in entry 6.
        let text = text.replacen("\"time\":1,", "\"time\":1e999,", 2);
        let text = text.replacen("\"time\":1e999,", "\"time\":1,", 1);
        let cut = text.match_indices("startedDateTime").nth(6).unwrap().0;
        let har = &text.as_bytes()[..cut];
        let error = |threads| {
            let workers = Workers {
                threads,
                batch_bytes: 1 << 20,
                alone_past: usize::MAX,
            };
            let verdict = std::sync::OnceLock::new();
            let mut m = Masker::new();
            let json = Json::Held(har, &verdict);
            match rewrite_json_with(json, (b"", b""), None, &mut m, (workers, 1 << 20)) {
                Err(RewriteError::Malformed(e)) => e,
                other => panic!("{other:?}"),
            }
        };
        let one = error(1);
        assert!(one.contains("number out of range"), "{one}");
        assert_eq!(error(2), one);
    }

    #[test]
    fn a_held_har_is_read_as_its_stream_is() {
        let key = Masker::new();
        let text = String::from_utf8(many_places_har(12)).unwrap();
        // Entry 5 holds some 6,000 bytes more than the others.
        let at = text.match_indices("\"text\":\"").nth(5).unwrap().0 + 8;
        let har = format!("{}{}{}", &text[..at], "x".repeat(6_000), &text[at..]);
        let workers = Workers {
            threads: 2,
            batch_bytes: 2_000,
            alone_past: usize::MAX,
        };
        for cap in [4_096, 1 << 20] {
            let held = redacted(har.as_bytes(), true, &key, (workers, cap));
            let streamed = redacted(har.as_bytes(), false, &key, (workers, cap));
            assert!(held == streamed, "cap {cap}");
            let left_out = held.2.iter().any(|w| w.starts_with("entry 5 is "));
            assert_eq!(
                (held.1, left_out),
                if cap < 6_000 { (11, true) } else { (12, false) }
            );
        }
    }

    /// `n` entries, each with a cookie and a code, whose response shows the
    /// next entry's cookie and code (learnt only later, maybe by another
    /// worker), and
    /// an ID token whose display name the sweep looks for everywhere.
    fn many_places_har(n: usize) -> Vec<u8> {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let entries: Vec<String> = (0..n)
            .map(|i| {
                let claims = format!(r#"{{"name":"Adele Vance {}","oid":"x"}}"#, i % 300);
                let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims));
                format!(
                    r#"{{"startedDateTime":"2026-01-01T00:00:00.000Z","time":1,"request":{{"method":"GET","url":"https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=x&code=code-value-{i}-abcdefgh","httpVersion":"HTTP/1.1","headers":[{{"name":"Cookie","value":"ESTSAUTH=cookie-value-{i}-abcdefgh"}}],"cookies":[],"queryString":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{{"size":10,"mimeType":"application/json","text":"{{\"id_token\":\"{token}\",\"note\":\"Adele Vance {} then cookie-value-{}-abcdefgh code-value-{}-abcdefgh\"}}"}},"redirectURL":"","headersSize":-1,"bodySize":0}},"cache":{{}},"timings":{{"send":0,"wait":1,"receive":0}}}}"#,
                    (i + 7) % 300,
                    i + 1,
                    i + 1
                )
            })
            .collect();
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"test","version":"1"}},"entries":[{}]}}}}"#,
            entries.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn entries_masked_on_several_threads_come_out_as_on_one() {
        let key = Masker::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "har"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        assert!(
            inputs.len() >= 5,
            "the sample HARs are in {}",
            dir.display()
        );
        // Past MAX_PLACES rows, so the cap applies to merged rows too.
        inputs.push(("many places".into(), many_places_har(4_000)));
        let one = Workers {
            threads: 1,
            batch_bytes: usize::MAX,
            alone_past: usize::MAX,
        };
        let last = inputs.len() - 1;
        for (i, (name, har)) in inputs.iter().enumerate() {
            let alone = redacted_with(har, &key, one);
            assert!(alone.1 > 0 && !alone.3.is_empty(), "{name}: nothing masked");
            // Workers, bytes a batch, bytes past which an entry is masked alone.
            let configs: &[(usize, usize, usize)] = if i == last {
                &[(3, 256 << 10, usize::MAX)]
            } else {
                let all = usize::MAX;
                &[
                    (2, 1, all),
                    (3, 1, all),
                    (2, 64 << 10, all),
                    (4, 1 << 20, all),
                    (2, 16 << 10, 8 << 10),
                    (3, 1, 8 << 10),
                ]
            };
            for &(threads, batch_bytes, alone_past) in configs {
                let workers = Workers {
                    threads,
                    batch_bytes,
                    alone_past,
                };
                assert!(
                    redacted_with(har, &key, workers) == alone,
                    "{name}: {threads} threads, batches of {batch_bytes} bytes, alone past {alone_past}"
                );
            }
        }
        let (.., places, omitted) = redacted_with(&inputs[last].1, &key, one);
        assert_eq!(places.len(), crate::redact::mask::MAX_PLACES);
        assert!(omitted.0 > 1_000, "{omitted:?}");
    }

    #[test]
    fn value_marks_counts_what_a_byte_filter_counts() {
        let mut x: u32 = 0x2545_F491;
        let mut text = Vec::new();
        // Runs of one mark longer than a block, and every byte value.
        text.extend(std::iter::repeat_n(b',', 600));
        text.extend(0..=255u8);
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            text.push(b",:[{a\"}]"[(x % 8) as usize]);
        }
        for end in [0, 1, 254, 255, 256, 600, 857, text.len()] {
            let naive = text[..end]
                .iter()
                .filter(|b| matches!(b, b',' | b':' | b'[' | b'{'))
                .count();
            assert_eq!(value_marks(&text[..end]), naive, "{end}");
        }
    }
}
