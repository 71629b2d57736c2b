//! The fast pass over a HAR held in memory: the same lenient [`Entry`] model as
//! the serde visitors, filled by the hand-written [`Scanner`].
//!
//! Why a second way to read the same model: serde_json's string scanning was two
//! thirds of the time of reading a browser's HAR, whose bodies are escape-dense
//! JavaScript. The scanner skips them 64 bytes at a time. It only accepts the
//! common shapes (strings where strings are expected, numbers or `null` where
//! numbers are); on anything else it bails, and [`super::read_slice`] reads the
//! document again with serde from the start, skipping the entries the fast pass
//! delivered, so every warning and error is still the serde reader's.
//!
//! One deliberate difference: escapes are checked only in strings that are
//! decoded (names, URLs, headers…), not in skipped fields or body texts. A body
//! with a bad escape (a lone UTF-16 surrogate, as Chrome sometimes writes) makes
//! serde stop the whole document there; the fast pass delivers every entry and
//! only that body fails to decode ([`crate::http::BodyError`]).

use std::borrow::Cow;

use super::{Content, Count, Entry, HarHeader, HarReader, HarRequest, HarResponse, Literal};
use super::{Param, PostData, Str, Timings};
use crate::http::json_scan::{Bail, KeyMemo, Next, Scan, Scanner};

/// Asked before each entry with the entry's offset: `Some` when entries from
/// there on were read elsewhere (by the other threads of a split read).
pub(super) type Handoff<'h> = &'h mut dyn FnMut(&mut HarReader<'_>, usize) -> Option<Resume>;

/// Where the walk goes on after a [`Handoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resume {
    /// Every entry to the end of the array was read: the offset just past its `]`.
    ArrayEnd(usize),
    /// Entries up to this offset were read; the entry that starts there was not.
    EntryAt(usize),
}

/// Where [`entries_from`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The array ended: the offset just past its `]`.
    ArrayEnd(usize),
    /// The first entry that starts at or after the limit starts here.
    EntryAt(usize),
}

/// Reads the whole document, handing each entry to `reader`; `Err` when the
/// scanner bailed (entries before that point were delivered).
#[cfg(test)]
pub(super) fn walk(reader: &mut HarReader<'_>, doc: &[u8]) -> Scan<()> {
    walk_with(reader, doc, &mut |_, _| None)
}

/// [`walk`], offering each entry position to `handoff` first.
pub(super) fn walk_with(reader: &mut HarReader<'_>, doc: &[u8], handoff: Handoff<'_>) -> Scan<()> {
    let mut s = Scanner::new(doc);
    s.object(|s, key| {
        if key == "log" {
            log(reader, s, &mut *handoff)
        } else {
            s.skip()
        }
    })?;
    // Not a HAR: serde reads it again to say precisely why (an invalid escape
    // in a string the scanner skipped is reported before the missing `log`).
    if s.at_end() && reader.log_seen {
        Ok(())
    } else {
        Err(Bail)
    }
}

/// spec §"log": `creator`, `browser` and `entries`; the rest skipped.
fn log(reader: &mut HarReader<'_>, s: &mut Scanner<'_>, handoff: Handoff<'_>) -> Scan<()> {
    reader.log_seen = true;
    s.object(|s, key| match key.as_ref() {
        "entries" => {
            reader.entries_opened = true;
            entries(reader, s, &mut *handoff)
        }
        k @ ("creator" | "browser") => {
            let raw = s.raw()?;
            reader.set_producer(k, raw);
            Ok(())
        }
        _ => s.skip(),
    })
}

/// The [`KeyMemo`]s of the objects of an entry, shared by the entries of one
/// walk.
#[derive(Debug, Default)]
struct Memos<'a> {
    entry: KeyMemo<'a>,
    request: KeyMemo<'a>,
    post_data: KeyMemo<'a>,
    response: KeyMemo<'a>,
    content: KeyMemo<'a>,
    timings: KeyMemo<'a>,
}

/// spec §"entries": the array, one entry at a time to `reader`.
fn entries<'a>(reader: &mut HarReader<'_>, s: &mut Scanner<'a>, handoff: Handoff<'_>) -> Scan<()> {
    let mut memos = Memos::default();
    let mut more = s.open_array()?;
    while more {
        match handoff(reader, s.pos()) {
            Some(Resume::ArrayEnd(end)) => {
                s.set_pos(end);
                return Ok(());
            }
            Some(Resume::EntryAt(at)) => s.set_pos(at),
            None => {}
        }
        let entry = entry(s, &mut memos)?;
        reader.parsed_entry(entry);
        more = s.array_continues()?;
    }
    Ok(())
}

/// Reads entries from `start`, which is taken to be the first byte of an entry
/// in `log.entries`, until the array ends or an entry starts at or after `limit`.
/// The threads of a split read use it on guessed positions; a wrong guess bails
/// or is found out when the chunks are put together.
pub(super) fn entries_from(
    reader: &mut HarReader<'_>,
    doc: &[u8],
    start: usize,
    limit: Option<usize>,
) -> Scan<Stop> {
    let mut s = Scanner::at(doc, start);
    let mut memos = Memos::default();
    loop {
        let entry = entry(&mut s, &mut memos)?;
        reader.parsed_entry(entry);
        if !s.array_continues()? {
            return Ok(Stop::ArrayEnd(s.pos()));
        }
        if limit.is_some_and(|limit| s.pos() >= limit) {
            return Ok(Stop::EntryAt(s.pos()));
        }
    }
}

/// Sets `slot` once: serde refuses a field that appears twice, so the scanner
/// bails and lets serde say so.
fn once<T>(slot: &mut Option<T>, value: T) -> Scan<()> {
    if slot.is_some() {
        return Err(Bail);
    }
    *slot = Some(value);
    Ok(())
}

/// Like [`once`] for fields that are not optional in the model.
fn once_flag(seen: &mut bool) -> Scan<()> {
    if std::mem::replace(seen, true) {
        return Err(Bail);
    }
    Ok(())
}

/// An optional string field: `null` is `None`.
fn opt_str<'a>(s: &mut Scanner<'a>) -> Scan<Option<Str<'a>>> {
    if s.null()? {
        return Ok(None);
    }
    Ok(Some(Str(s.string()?)))
}

/// A string field that is not optional: `null` is empty.
fn str_or_empty<'a>(s: &mut Scanner<'a>) -> Scan<Str<'a>> {
    Ok(opt_str(s)?.unwrap_or(Str(Cow::Borrowed(""))))
}

/// A number field (`lenient_num`): a number or `null`; strings bail to serde.
fn num(s: &mut Scanner<'_>) -> Scan<Option<f64>> {
    if s.null()? {
        return Ok(None);
    }
    s.number().map(Some)
}

/// An optional object field: `null` is `None`, an object is read by `read`.
fn opt_object<'a, T>(
    s: &mut Scanner<'a>,
    read: impl FnOnce(&mut Scanner<'a>) -> Scan<T>,
) -> Scan<Option<T>> {
    if s.null()? {
        return Ok(None);
    }
    if s.peek()? != Next::Object {
        return Err(Bail);
    }
    read(s).map(Some)
}

/// An optional raw text field (`content.text`, `postData.text`).
fn opt_literal<'a>(s: &mut Scanner<'a>) -> Scan<Option<Literal<'a>>> {
    if s.null()? {
        return Ok(None);
    }
    Ok(Some(Literal(s.raw()?)))
}

/// `cookies`, only counted (see [`Count`]).
fn count(s: &mut Scanner<'_>) -> Scan<Count> {
    match s.peek()? {
        Next::Null => s.null().map(|_| Count(0)),
        Next::Array => {
            let mut n = 0;
            s.array(|s| {
                n += 1;
                s.skip()
            })?;
            Ok(Count(n))
        }
        Next::Object => {
            let mut fields = 0;
            s.object(|s, _| {
                fields += 1;
                s.skip()
            })?;
            Ok(Count(usize::from(fields > 0)))
        }
        _ => Err(Bail),
    }
}

/// spec §"entries".
fn entry<'a>(s: &mut Scanner<'a>, memos: &mut Memos<'a>) -> Scan<Entry<'a>> {
    if s.peek()? != Next::Object {
        return Err(Bail);
    }
    let mut started = None;
    let mut time = None;
    let mut request = None;
    let mut response = None;
    let mut timings = None;
    let mut server_ip = None;
    let mut error = None;
    let mut failure_text = None;
    let Memos {
        entry,
        request: req,
        post_data,
        response: resp,
        content,
        timings: tim,
    } = memos;
    s.object_memo(entry, |s, key| match key.as_ref() {
        "startedDateTime" => once(&mut started, opt_str(s)?),
        "time" => once(&mut time, num(s)?),
        "request" => once(
            &mut request,
            opt_object(s, |s| har_request(s, req, post_data))?,
        ),
        "response" => once(
            &mut response,
            opt_object(s, |s| har_response(s, resp, content))?,
        ),
        "timings" => once(&mut timings, opt_object(s, |s| har_timings(s, tim))?),
        "serverIPAddress" => once(&mut server_ip, opt_str(s)?),
        "_error" => once(&mut error, opt_str(s)?),
        "_failureText" => once(&mut failure_text, opt_str(s)?),
        _ => s.skip(),
    })?;
    Ok(Entry {
        started: started.flatten(),
        time: time.flatten(),
        request: request.flatten(),
        response: response.flatten(),
        timings: timings.flatten(),
        server_ip: server_ip.flatten(),
        error: error.flatten(),
        failure_text: failure_text.flatten(),
    })
}

/// spec §"request".
fn har_request<'a>(
    s: &mut Scanner<'a>,
    memo: &mut KeyMemo<'a>,
    post_data_memo: &mut KeyMemo<'a>,
) -> Scan<HarRequest<'a>> {
    let mut method = None;
    let mut url = None;
    let mut http_version = None;
    let mut headers = None;
    let mut cookies = None;
    let mut post_data = None;
    s.object_memo(memo, |s, key| match key.as_ref() {
        "method" => once(&mut method, opt_str(s)?),
        "url" => once(&mut url, opt_str(s)?),
        "httpVersion" => once(&mut http_version, opt_str(s)?),
        "headers" => once(&mut headers, pair_list(s, HEADERS_GUESS, header)?),
        "cookies" => once(&mut cookies, count(s)?),
        "postData" => once(
            &mut post_data,
            opt_object(s, |s| har_post_data(s, post_data_memo))?,
        ),
        _ => s.skip(),
    })?;
    Ok(HarRequest {
        method: method.flatten(),
        url: url.flatten(),
        http_version: http_version.flatten(),
        headers: headers.flatten(),
        cookies: cookies.unwrap_or_default(),
        post_data: post_data.flatten(),
    })
}

/// spec §"postData".
fn har_post_data<'a>(s: &mut Scanner<'a>, memo: &mut KeyMemo<'a>) -> Scan<PostData<'a>> {
    let mut mime_type = None;
    let mut text = None;
    let mut params = None;
    s.object_memo(memo, |s, key| match key.as_ref() {
        "mimeType" => once(&mut mime_type, opt_str(s)?),
        "text" => once(&mut text, opt_literal(s)?),
        "params" => once(&mut params, pair_list(s, 0, param)?),
        _ => s.skip(),
    })?;
    Ok(PostData {
        mime_type: mime_type.flatten(),
        text: text.flatten(),
        params: params.flatten(),
    })
}

/// spec §"params".
fn param<'a>((name, value): (Str<'a>, Str<'a>)) -> Param<'a> {
    Param { name, value }
}

/// Room for this many headers is made before a list is read: a browser sends
/// and receives about 18 per exchange, and a list that grew from nothing was
/// reallocated three or four times (about 1 % of an identity-dense HAR's
/// instructions, issue #15). A browser's requests to the sign-in pages carry
/// up to 27 (cookies, client hints), so room for 24 still grew two lists in
/// five there (0.3 %). The vector becomes the exchange's own
/// ([`super::convert`] maps it in place), so the room is not copied again.
const HEADERS_GUESS: usize = 28;

/// spec §"headers".
fn header<'a>((name, value): (Str<'a>, Str<'a>)) -> HarHeader<'a> {
    HarHeader { name, value }
}

/// The bytes around the two strings of one `{"name": …, "value": …}` object
/// of a list, as an element read in full wrote them. An element written with
/// exactly the same bytes around its strings has the same structure, so only
/// its strings are read: no whitespace skipped, no keys compared, no `:`,
/// `,` or `}` looked for one by one. An indented export writes every element
/// of a list alike, and headers and parameters are most of the objects of an
/// identity-dense HAR (issue #15).
#[derive(Debug, Clone, Copy)]
struct PairLayout<'a> {
    /// From `{` to the name's opening quote.
    open: &'a [u8],
    /// From after the name's closing quote to the value's opening quote.
    mid: &'a [u8],
    /// From after the value's closing quote to just past `}`.
    close: &'a [u8],
}

/// An optional array of `{"name": …, "value": …}` objects (headers, form
/// parameters), each made into a `T`: what reading each element with
/// [`name_value`] reads. An element (or a separator) that does not match the
/// layout learned from the one before is read in full.
fn pair_list<'a, T>(
    s: &mut Scanner<'a>,
    capacity: usize,
    make: impl Fn((Str<'a>, Str<'a>)) -> T,
) -> Scan<Option<Vec<T>>> {
    if s.null()? {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(capacity);
    let mut more = s.open_array()?;
    let mut layout: Option<PairLayout<'a>> = None;
    // From just past an element's `}` to the next element's first byte.
    let mut separator: Option<&'a [u8]> = None;
    while more {
        let known = match layout {
            Some(l) => pair_as(s, l)?,
            None => None,
        };
        let pair = match known {
            Some(pair) => pair,
            None => {
                let (pair, learned) = pair_learning(s)?;
                layout = learned.or(layout);
                pair
            }
        };
        out.push(make(pair));
        if separator.is_some_and(|sep| s.eat_bytes(sep)) {
            continue;
        }
        let end = s.pos();
        more = s.array_continues()?;
        if more {
            separator = Some(s.since(end));
        }
    }
    Ok(Some(out))
}

/// The element at the cursor when it is written as `layout` says, its two
/// strings read; `None` (the cursor where it was) when it is not. A string
/// that does not read bails, as it would in [`name_value`].
#[inline(always)]
fn pair_as<'a>(s: &mut Scanner<'a>, layout: PairLayout<'a>) -> Scan<Option<(Str<'a>, Str<'a>)>> {
    let start = s.pos();
    if !(s.eat_bytes(layout.open) && s.next_is(b'"')) {
        s.set_pos(start);
        return Ok(None);
    }
    let name = s.string()?;
    if !(s.eat_bytes(layout.mid) && s.next_is(b'"')) {
        s.set_pos(start);
        return Ok(None);
    }
    let value = s.string()?;
    if !s.eat_bytes(layout.close) {
        s.set_pos(start);
        return Ok(None);
    }
    Ok(Some((Str(name), Str(value))))
}

/// [`name_value`], and the element's layout when both strings were borrowed
/// from the input (no escapes, no `null`) with the name first.
fn pair_learning<'a>(s: &mut Scanner<'a>) -> Scan<((Str<'a>, Str<'a>), Option<PairLayout<'a>>)> {
    s.skip_ws();
    let start = s.pos();
    let (name, value) = name_value(s)?;
    let end = s.pos();
    let layout = match (&name.0, &value.0) {
        (Cow::Borrowed(n), Cow::Borrowed(v)) => layout_of(s, start, n, v, end),
        _ => None,
    };
    Ok(((name, value), layout))
}

/// The layout of the element from `start` to `end` whose strings' contents
/// are `name` and `value`, borrowed from the input.
fn layout_of<'a>(
    s: &Scanner<'a>,
    start: usize,
    name: &str,
    value: &str,
    end: usize,
) -> Option<PairLayout<'a>> {
    let name_at = s.offset_of(name)?.checked_sub(1)?;
    let name_end = name_at + name.len() + 2;
    let value_at = s.offset_of(value)?.checked_sub(1)?;
    let value_end = value_at + value.len() + 2;
    if !(start <= name_at && name_end <= value_at && value_end <= end) {
        return None;
    }
    let whole = s.since(start);
    let part = |from: usize, to: usize| whole.get(from - start..to - start);
    Some(PairLayout {
        open: part(start, name_at)?,
        mid: part(name_end, value_at)?,
        close: part(value_end, end)?,
    })
}

/// An object with `name` and `value` strings (headers, params).
fn name_value<'a>(s: &mut Scanner<'a>) -> Scan<(Str<'a>, Str<'a>)> {
    let start = s.pos();
    if let Ok(pair) = name_value_in_order(s) {
        return Ok(pair);
    }
    s.set_pos(start);
    name_value_any_order(s)
}

/// [`name_value`] member by member: keys in any order, others skipped.
fn name_value_any_order<'a>(s: &mut Scanner<'a>) -> Scan<(Str<'a>, Str<'a>)> {
    if s.peek()? != Next::Object {
        return Err(Bail);
    }
    let (mut name, mut value) = (Str::default(), Str::default());
    let (mut seen_name, mut seen_value) = (false, false);
    s.object(|s, key| match key.as_ref() {
        "name" => {
            once_flag(&mut seen_name)?;
            name = str_or_empty(s)?;
            Ok(())
        }
        "value" => {
            once_flag(&mut seen_value)?;
            value = str_or_empty(s)?;
            Ok(())
        }
        _ => s.skip(),
    })?;
    Ok((name, value))
}

/// `{"name": …, "value": …}` with just these keys in this order, as every HAR
/// writer seen puts them: read without decoding the keys or walking the object
/// member by member (headers are most of the objects of an identity-dense HAR).
/// Anything else bails, and [`name_value`] reads the object in full.
fn name_value_in_order<'a>(s: &mut Scanner<'a>) -> Scan<(Str<'a>, Str<'a>)> {
    let or_empty = |v: Option<Cow<'a, str>>| Str(v.unwrap_or(Cow::Borrowed("")));
    s.eat(b'{')?;
    let name = or_empty(s.key_then_opt_string(b"\"name\"")?);
    s.eat(b',')?;
    let value = or_empty(s.key_then_opt_string(b"\"value\"")?);
    s.eat(b'}')?;
    Ok((name, value))
}

/// spec §"response".
fn har_response<'a>(
    s: &mut Scanner<'a>,
    memo: &mut KeyMemo<'a>,
    content_memo: &mut KeyMemo<'a>,
) -> Scan<HarResponse<'a>> {
    let mut status = None;
    let mut status_text = None;
    let mut http_version = None;
    let mut headers = None;
    let mut cookies = None;
    let mut content = None;
    let mut error = None;
    let mut failure_text = None;
    s.object_memo(memo, |s, key| match key.as_ref() {
        "status" => once(&mut status, num(s)?),
        "statusText" => once(&mut status_text, opt_str(s)?),
        "httpVersion" => once(&mut http_version, opt_str(s)?),
        "headers" => once(&mut headers, pair_list(s, HEADERS_GUESS, header)?),
        "cookies" => once(&mut cookies, count(s)?),
        "content" => once(
            &mut content,
            opt_object(s, |s| har_content(s, content_memo))?,
        ),
        "_error" => once(&mut error, opt_str(s)?),
        "_failureText" => once(&mut failure_text, opt_str(s)?),
        _ => s.skip(),
    })?;
    Ok(HarResponse {
        status: status.flatten(),
        status_text: status_text.flatten(),
        http_version: http_version.flatten(),
        headers: headers.flatten(),
        cookies: cookies.unwrap_or_default(),
        content: content.flatten(),
        error: error.flatten(),
        failure_text: failure_text.flatten(),
    })
}

/// spec §"content".
fn har_content<'a>(s: &mut Scanner<'a>, memo: &mut KeyMemo<'a>) -> Scan<Content<'a>> {
    let mut size = None;
    let mut mime_type = None;
    let mut text = None;
    let mut encoding = None;
    s.object_memo(memo, |s, key| match key.as_ref() {
        "size" => once(&mut size, num(s)?),
        "mimeType" => once(&mut mime_type, opt_str(s)?),
        "text" => once(&mut text, opt_literal(s)?),
        "encoding" => once(&mut encoding, opt_str(s)?),
        _ => s.skip(),
    })?;
    Ok(Content {
        size: size.flatten(),
        mime_type: mime_type.flatten(),
        text: text.flatten(),
        encoding: encoding.flatten(),
    })
}

/// spec §"timings": every phase.
fn har_timings<'a>(s: &mut Scanner<'a>, memo: &mut KeyMemo<'a>) -> Scan<Timings> {
    let [mut blocked, mut dns, mut connect, mut ssl, mut send, mut wait, mut receive] = [None; 7];
    s.object_memo(memo, |s, key| match key.as_ref() {
        "blocked" => once(&mut blocked, num(s)?),
        "dns" => once(&mut dns, num(s)?),
        "connect" => once(&mut connect, num(s)?),
        "ssl" => once(&mut ssl, num(s)?),
        "send" => once(&mut send, num(s)?),
        "wait" => once(&mut wait, num(s)?),
        "receive" => once(&mut receive, num(s)?),
        _ => s.skip(),
    })?;
    Ok(Timings {
        blocked: blocked.flatten(),
        dns: dns.flatten(),
        connect: connect.flatten(),
        ssl: ssl.flatten(),
        send: send.flatten(),
        wait: wait.flatten(),
        receive: receive.flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::Pos;
    use super::*;
    use crate::capture::{NoProgress, ReadCtx};
    use crate::http::Exchange;

    /// A list read element by element with [`name_value`], as the lists were
    /// read before [`pair_list`]: the reference it must agree with.
    fn pairs_one_by_one<'a>(s: &mut Scanner<'a>) -> Scan<Option<Vec<(Str<'a>, Str<'a>)>>> {
        if s.null()? {
            return Ok(None);
        }
        let mut out = Vec::new();
        s.array(|s| {
            out.push(name_value(s)?);
            Ok(())
        })?;
        Ok(Some(out))
    }

    /// A list's pairs as owned strings (`None`: the list was `null`).
    type OwnedPairs = Option<Vec<(String, String)>>;

    /// Element texts from which the lists below are made: indented and
    /// compact, escapes, `null`s, other keys and orders, bad escapes, and
    /// elements that are not pairs at all.
    const ELEMENTS: [&str; 22] = [
        "{\n      \"name\": \"Host\",\n      \"value\": \"login.live.com\"\n    }",
        "{\n      \"name\": \"sec-ch-ua\",\n      \"value\": \"\\\"Chromium\\\";v=\\\"131\\\"\"\n    }",
        "{\n      \"name\": \"accept\",\n      \"value\": \"*/*\"\n    }",
        "{\n      \"name\": \"\",\n      \"value\": \"\"\n    }",
        "{\n      \"name\": null,\n      \"value\": \"x\"\n    }",
        "{\n      \"name\": \"n\",\n      \"value\": null\n    }",
        "{\n        \"name\": \"deeper\",\n        \"value\": \"v\"\n    }",
        "{\"name\":\"a\",\"value\":\"b\"}",
        "{\"name\":\"c\",\"value\":\"d\"}",
        "{\"value\":\"v1\",\"name\":\"n1\"}",
        "{\"name\":\"a\",\"comment\":\"c\",\"value\":\"b\"}",
        "{\"name\":\"x\",\"comment\":\"c\",\"value\":\"y\"}",
        "{\n      \"name\": \"bad\\q\",\n      \"value\": \"b\"\n    }",
        "{\n      \"name\": \"é\",\n      \"value\": \"ü\"\n    }",
        "null",
        "{\n      \"name\": \"a\",\n      \"value\": \"b\",\n      \"name\": \"c\"\n    }",
        // Bytes of the same length as an alike element's, but another key or
        // no closing brace: only a byte-for-byte comparison tells them apart.
        "{\n      \"nAme\": \"q\",\n      \"value\": \"r\"\n    }",
        "{\n      \"name\": \"q\",\n      \"valuE\": \"r\"\n    }",
        "{\n      \"name\": \"q\",\n      \"value\": \"r\"\n    ]",
        "{\"Name\":\"a\",\"value\":\"b\"}",
        "{\"name\":\"a\",\"Value\":\"b\"}",
        "{\"name\":\"a\",\"value\":\"b\"]",
    ];

    /// Separators between the elements of the lists below.
    const SEPARATORS: [&str; 4] = [",\n    ", ",", " , ", ",\n      "];

    /// `pair_list` reads every list as the element-by-element walk does (the
    /// same pairs, or a bail in both) and ends at the same place, whatever
    /// mix of layouts, separators and odd elements it holds.
    #[test]
    fn pair_lists_agree_with_the_walk() {
        let mut next = crate::test_rng::picker(0x2545_f491_4f6c_dd1d);
        let mut lists: Vec<String> = vec!["null".into(), "[]".into(), "[ ]".into()];
        for _ in 0..3000 {
            let len = 1 + next(6);
            let mut text = String::from(["[\n    ", "["][next(2)]);
            for i in 0..len {
                if i > 0 {
                    text.push_str(SEPARATORS[next(SEPARATORS.len())]);
                }
                // Mostly the first three (alike, as an export writes them).
                let pick = if next(3) > 0 {
                    next(3)
                } else {
                    next(ELEMENTS.len())
                };
                text.push_str(ELEMENTS[pick]);
            }
            text.push_str(["\n  ]", "]"][next(2)]);
            lists.push(text);
        }
        let mut fast_reads = 0;
        for list in &lists {
            let text = format!("{list} ,");
            let read = |f: &dyn Fn(&mut Scanner<'_>) -> Scan<OwnedPairs>| {
                let mut s = Scanner::new(text.as_bytes());
                f(&mut s).map(|v| (v, s.pos())).ok()
            };
            let owned = |v: Option<Vec<(Str<'_>, Str<'_>)>>| {
                v.map(|v| {
                    v.into_iter()
                        .map(|(n, v)| (n.0.into_owned(), v.0.into_owned()))
                        .collect()
                })
            };
            let walked = read(&|s| pairs_one_by_one(s).map(owned));
            let paired = read(&|s| pair_list(s, 0, |p| p).map(owned));
            assert_eq!(paired, walked, "{list}");
            fast_reads += usize::from(walked.is_some());
        }
        // Most lists read (the odd elements are a minority), so the
        // comparison is not only of bails.
        assert!(
            fast_reads > lists.len() / 3,
            "{fast_reads} of {}",
            lists.len()
        );
    }

    /// The in-order shortcut reads what the member-by-member walk reads, ends
    /// where it ends, and bails on every shape it does not take.
    #[test]
    fn name_value_shortcut_agrees_with_the_walk() {
        let cases = [
            (r#"{"name":"Host","value":"login.live.com"}"#, true),
            ("{\n  \"name\" : \"a\" ,\n  \"value\":\t\"b\"\n}", true),
            (r#"{"name":null,"value":"x"}"#, true),
            (r#"{"name":"a\u0041","value":"caf\u00e9 \"q\""}"#, true),
            (r#"{"name":"é","value":""}"#, true),
            (r#"{"value":"b","name":"a"}"#, false),
            (r#"{"name":"a","value":"b","comment":"c"}"#, false),
            (r#"{"name":"a"}"#, false),
            (r#"{"n\u0061me":"a","value":"b"}"#, false),
            (r#"{"name":"a","value":"b","name":"c"}"#, false),
            (r#"{"names":"a","value":"b"}"#, false),
            (r#"{"name":1,"value":"b"}"#, false),
            (r#"{}"#, false),
            (r#"["name","value"]"#, false),
            (r#"{"name":"a","value":"b""#, false),
            // An indented export's `": "`, which `key_then_opt_string` takes in one step.
            ("{\n  \"name\": \"Host\",\n  \"value\": \"x\"\n}", true),
            (r#"{"name": null, "value": "x"}"#, true),
            (r#"{"name": "a\u0041", "value": "caf\u00e9 \"q\""}"#, true),
            (r#"{"name":  "a", "value":"b"}"#, true),
            (r#"{"name": "é", "value": ""}"#, true),
            (r#"{"name": 1, "value": "b"}"#, false),
            (r#"{"name": "a", "value": "b", "comment": "c"}"#, false),
            (r#"{"name": "a\x", "value": "b"}"#, false),
            (r#"{"name": "a", "value": "b"#, false),
            (r#"{"name": "#, false),
        ];
        for (text, in_order) in cases {
            let text = format!("{text} ,");
            let read = |f: for<'a> fn(&mut Scanner<'a>) -> Scan<(Str<'a>, Str<'a>)>| {
                let mut s = Scanner::new(text.as_bytes());
                f(&mut s)
                    .map(|(n, v)| (n.0.into_owned(), v.0.into_owned(), s.pos()))
                    .ok()
            };
            let walked = read(name_value_any_order);
            assert_eq!(read(name_value_in_order).is_some(), in_order, "{text}");
            if in_order {
                assert_eq!(read(name_value_in_order), walked, "{text}");
            }
            assert_eq!(read(name_value), walked, "{text}");
        }
    }

    /// Reads `text` with the fast pass alone; `None` when it bailed.
    fn fast_only(text: &str) -> Option<Vec<String>> {
        let mut seen = Vec::new();
        let mut sink = |ex: Exchange<'_>| seen.push(format!("{ex:?}"));
        let mut reader = HarReader::new("t", 0, &NoProgress, &mut sink, Pos::Slice { base: 0 });
        let ok = walk(&mut reader, text.as_bytes()).is_ok();
        drop(reader);
        ok.then_some(seen)
    }

    /// Reads `text` with the serde passes alone.
    fn serde_only(text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let mut sink = |ex: Exchange<'_>| seen.push(format!("{ex:?}"));
        super::super::read_slice_serde_only(text.as_bytes(), &ReadCtx::new("t"), &mut sink)
            .unwrap();
        seen
    }

    #[test]
    fn the_sample_hars_take_the_fast_pass_and_read_as_serde_reads_them() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "har") {
                let text = std::fs::read_to_string(&path).unwrap();
                let fast = fast_only(&text).unwrap_or_else(|| panic!("{path:?} bailed"));
                assert_eq!(fast, serde_only(&text), "{path:?}");
                checked += 1;
            }
        }
        assert!(checked >= 7);
    }

    #[test]
    fn unusual_shapes_bail() {
        for doc in [
            r#"{"log":{"entries":[{"time":"12"}]}}"#,
            r#"{"log":{"entries":[{"time":1,"time":2}]}}"#,
            r#"{"log":{"entries":[{"request":{"headers":[{"name":1,"value":"x"}]}}]}}"#,
            r#"{"log":{"entries":[3]}}"#,
            r#"{"log":{"entries":[]}} x"#,
            // Not a HAR (no `log`): serde says why, here the invalid escape that
            // the scanner skipped (found by the fuzzer).
            "{\"{\":\"EKK\\Y\"\t}\t",
        ] {
            assert!(fast_only(doc).is_none(), "{doc}");
        }
    }
}
