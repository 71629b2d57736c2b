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

use super::scan::{Bail, Next, Scan, Scanner};
use super::{Content, Count, Entry, HarHeader, HarReader, HarRequest, HarResponse, Literal};
use super::{Param, PostData, Str, Timings};

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

/// spec §"entries": the array, one entry at a time to `reader`.
fn entries(reader: &mut HarReader<'_>, s: &mut Scanner<'_>, handoff: Handoff<'_>) -> Scan<()> {
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
        let entry = entry(s)?;
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
    loop {
        let entry = entry(&mut s)?;
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

/// An optional array of objects.
fn opt_list<'a, T>(
    s: &mut Scanner<'a>,
    capacity: usize,
    mut read: impl FnMut(&mut Scanner<'a>) -> Scan<T>,
) -> Scan<Option<Vec<T>>> {
    if s.null()? {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(capacity);
    s.array(|s| {
        out.push(read(s)?);
        Ok(())
    })?;
    Ok(Some(out))
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
fn entry<'a>(s: &mut Scanner<'a>) -> Scan<Entry<'a>> {
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
    s.object(|s, key| match key.as_ref() {
        "startedDateTime" => once(&mut started, opt_str(s)?),
        "time" => once(&mut time, num(s)?),
        "request" => once(&mut request, opt_object(s, har_request)?),
        "response" => once(&mut response, opt_object(s, har_response)?),
        "timings" => once(&mut timings, opt_object(s, har_timings)?),
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
fn har_request<'a>(s: &mut Scanner<'a>) -> Scan<HarRequest<'a>> {
    let mut method = None;
    let mut url = None;
    let mut http_version = None;
    let mut headers = None;
    let mut cookies = None;
    let mut post_data = None;
    s.object(|s, key| match key.as_ref() {
        "method" => once(&mut method, opt_str(s)?),
        "url" => once(&mut url, opt_str(s)?),
        "httpVersion" => once(&mut http_version, opt_str(s)?),
        "headers" => once(&mut headers, opt_list(s, HEADERS_GUESS, header)?),
        "cookies" => once(&mut cookies, count(s)?),
        "postData" => once(&mut post_data, opt_object(s, har_post_data)?),
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
fn har_post_data<'a>(s: &mut Scanner<'a>) -> Scan<PostData<'a>> {
    let mut mime_type = None;
    let mut text = None;
    let mut params = None;
    s.object(|s, key| match key.as_ref() {
        "mimeType" => once(&mut mime_type, opt_str(s)?),
        "text" => once(&mut text, opt_literal(s)?),
        "params" => once(&mut params, opt_list(s, 0, param)?),
        _ => s.skip(),
    })?;
    Ok(PostData {
        mime_type: mime_type.flatten(),
        text: text.flatten(),
        params: params.flatten(),
    })
}

/// spec §"params".
fn param<'a>(s: &mut Scanner<'a>) -> Scan<Param<'a>> {
    let (name, value) = name_value(s)?;
    Ok(Param { name, value })
}

/// Room for this many headers is made before a list is read: a browser sends
/// and receives about 18 per exchange, and a list that grew from nothing was
/// reallocated three or four times (about 1 % of an identity-dense HAR's
/// instructions, issue #15). The vector becomes the exchange's own
/// ([`super::convert`] maps it in place), so the room is not copied again.
const HEADERS_GUESS: usize = 24;

/// spec §"headers".
fn header<'a>(s: &mut Scanner<'a>) -> Scan<HarHeader<'a>> {
    let (name, value) = name_value(s)?;
    Ok(HarHeader { name, value })
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
fn har_response<'a>(s: &mut Scanner<'a>) -> Scan<HarResponse<'a>> {
    let mut status = None;
    let mut status_text = None;
    let mut http_version = None;
    let mut headers = None;
    let mut cookies = None;
    let mut content = None;
    let mut error = None;
    let mut failure_text = None;
    s.object(|s, key| match key.as_ref() {
        "status" => once(&mut status, num(s)?),
        "statusText" => once(&mut status_text, opt_str(s)?),
        "httpVersion" => once(&mut http_version, opt_str(s)?),
        "headers" => once(&mut headers, opt_list(s, HEADERS_GUESS, header)?),
        "cookies" => once(&mut cookies, count(s)?),
        "content" => once(&mut content, opt_object(s, har_content)?),
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
fn har_content<'a>(s: &mut Scanner<'a>) -> Scan<Content<'a>> {
    let mut size = None;
    let mut mime_type = None;
    let mut text = None;
    let mut encoding = None;
    s.object(|s, key| match key.as_ref() {
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
fn har_timings(s: &mut Scanner<'_>) -> Scan<Timings> {
    let [mut blocked, mut dns, mut connect, mut ssl, mut send, mut wait, mut receive] = [None; 7];
    s.object(|s, key| match key.as_ref() {
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
