//! A zero-copy JSON pull scanner (RFC 8259 grammar): the HAR fast path
//! (`capture::har`) reads whole documents with it, and [`super::json_object`]
//! the objects of identity replies and pages.
//!
//! It reads one value at a time from a byte slice, and never allocates unless a
//! string it is asked to decode holds escapes. The slice need not be UTF-8: the
//! scanner checks each string it passes over (the only place JSON allows bytes
//! above 0x7F), so a document it walks to the end was valid UTF-8, and every
//! `&str` it hands out lies inside checked text. Anything it does not accept — a syntax error, a nesting
//! deeper than serde_json allows, an unexpected type — is a [`Bail`]: the caller
//! then reads the document again with the serde-based reader, which reports the
//! problem precisely. The scanner is therefore allowed to be strict, never lax,
//! about structure.
//!
//! String contents are scanned 64 bytes at a time: three bit masks (quotes,
//! backslashes, control characters) and the carry-based computation of escaped
//! positions described by Langdale and Lemire, "Parsing Gigabytes of JSON per
//! Second" (VLDB Journal 28, 2019, §3.1.1), so that escape-dense text such as a
//! JavaScript bundle costs no more than plain text. A fourth mask, the bytes'
//! high bits, tells whether a string is pure ASCII; only the strings that are not
//! are checked as UTF-8 (with simdutf8), while they are still in the cache. This
//! replaced a check of the whole document before the scan, which read a large
//! file from memory twice. Escapes inside a string are
//! only checked when the string is decoded (a skipped string or a body literal
//! that is never decoded is not checked).

use std::borrow::Cow;
#[cfg(target_arch = "x86_64")]
use std::ops::ControlFlow;

/// The scanner gave up; the document is read again by the serde reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

pub type Scan<T> = Result<T, Bail>;

/// serde_json refuses nesting deeper than this; so does the scanner.
const MAX_DEPTH: usize = 128;

/// The members of one kind of object as the last object of that kind wrote
/// them, for [`Scanner::object_memo`]: for each place, the bytes from just
/// past the `{` or `,` before the member to its value (whitespace, the quoted
/// key, `:`, whitespace), and the key. A HAR's entries, requests, responses
/// and timings repeat their keys in the same order and indentation, so most
/// members are known by one comparison (issue #15). Only keys without
/// escapes are kept; the bytes were read by the grammar, so a member written
/// with the same bytes is that member.
#[derive(Debug, Default)]
pub struct KeyMemo<'a> {
    members: Vec<(&'a [u8], &'a str)>,
}

impl<'a> KeyMemo<'a> {
    fn learn(&mut self, place: usize, written: &'a [u8], key: &'a str) {
        let known = self.members.len();
        match self.members.get_mut(place) {
            Some(slot) => *slot = (written, key),
            None if place == known => self.members.push((written, key)),
            // A place after one that could not be kept is not kept either.
            None => {}
        }
    }
}

/// A cursor over a JSON document held in memory.
pub struct Scanner<'a> {
    /// The document. Invariant: every range handed out as `&str` holds only
    /// ASCII structure and string contents that [`Scanner::literal_and_escapes`]
    /// checked as UTF-8.
    bytes: &'a [u8],
    pos: usize,
}

/// The kind of the next value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl<'a> Scanner<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Scanner { bytes, pos: 0 }
    }

    /// A scanner whose cursor starts at byte `pos`.
    pub fn at(bytes: &'a [u8], pos: usize) -> Self {
        Scanner {
            bytes,
            pos: pos.min(bytes.len()),
        }
    }

    /// Byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the cursor to `pos`, which the caller knows ends a value.
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.bytes.len());
    }

    fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `bytes[start..end]` as text.
    ///
    /// Callers pass only ranges made of what the scanner has checked: string
    /// contents that passed the UTF-8 check, and JSON structure, numbers and
    /// literals, which the grammar checks are ASCII.
    fn checked_str(&self, start: usize, end: usize) -> &'a str {
        let range = &self.bytes[start..end];
        debug_assert!(std::str::from_utf8(range).is_ok());
        // SAFETY: see above: every byte of the range was checked to be ASCII or
        // part of a string that simdutf8 accepted, and strings start and end at
        // ASCII quotes, so the range does not cut a character.
        unsafe { std::str::from_utf8_unchecked(range) }
    }

    /// Skips JSON whitespace (space, tab, line feed, carriage return).
    pub fn skip_ws(&mut self) {
        let b = self.bytes();
        // Most calls find a token already (callers skip before each one, so many
        // skips follow another): every JSON whitespace byte is at most a space.
        if b.get(self.pos).is_none_or(|&c| c > b' ') {
            return;
        }
        // The one space after a `:` of an indented export.
        if b[self.pos] == b' ' && b.get(self.pos + 1).is_some_and(|&c| c > b' ') {
            self.pos += 1;
            return;
        }
        self.pos = whitespace_end(b, self.pos);
    }

    /// True when only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.bytes.len()
    }

    /// The kind of the next value, without consuming it. This and the other
    /// small steps (`eat`, `null`, `array_continues`) are inlined into their
    /// callers: 1.7 % fewer instructions on an identity-dense HAR (issue #15).
    #[inline(always)]
    pub fn peek(&mut self) -> Scan<Next> {
        self.skip_ws();
        Ok(match self.bytes().get(self.pos).ok_or(Bail)? {
            b'{' => Next::Object,
            b'[' => Next::Array,
            b'"' => Next::String,
            b'-' | b'0'..=b'9' => Next::Number,
            b't' | b'f' => Next::Bool,
            b'n' => Next::Null,
            _ => return Err(Bail),
        })
    }

    /// Consumes `byte` after any whitespace.
    #[inline(always)]
    pub fn eat(&mut self, byte: u8) -> Scan<()> {
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    fn eat_word(&mut self, word: &str) -> Scan<()> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Consumes `null` if it is next.
    #[inline(always)]
    pub fn null(&mut self) -> Scan<bool> {
        if self.peek()? == Next::Null {
            self.eat_word("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Consumes the key `quoted` (with its quotes, written without escapes), its
    /// `:` and the value after it, which must be a string or `null` (`None`);
    /// bails on anything else, with the position unspecified. The key is an
    /// array so that the comparison is a few loads, not a call to `memcmp`
    /// (2.5 % of an identity-dense HAR's analysis, issue #15). An indented
    /// export puts exactly `: ` between a key and a string, so that spacing is
    /// tried first: one comparison instead of a whitespace skip and a `null`
    /// test, for the name and the value of every header.
    pub fn key_then_opt_string<const N: usize>(
        &mut self,
        quoted: &[u8; N],
    ) -> Scan<Option<Cow<'a, str>>> {
        self.skip_ws();
        let b = self.bytes();
        if b[self.pos..].first_chunk::<N>() != Some(quoted) {
            return Err(Bail);
        }
        self.pos += N;
        if b.get(self.pos..self.pos + 3) == Some(b": \"") {
            self.pos += 2;
            return self.string().map(Some);
        }
        self.eat(b':')?;
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// Consumes `expected` when the input goes on with exactly these bytes.
    #[inline(always)]
    pub fn eat_bytes(&mut self, expected: &[u8]) -> bool {
        let at = self.pos;
        match self.bytes.get(at..at + expected.len()) {
            Some(have) if same_bytes(have, expected) => {
                self.pos += expected.len();
                true
            }
            _ => false,
        }
    }

    /// True when the byte at the cursor (no whitespace skipped) is `byte`.
    #[inline(always)]
    pub fn next_is(&self, byte: u8) -> bool {
        self.bytes.get(self.pos) == Some(&byte)
    }

    /// The input from `start` to the cursor.
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.bytes[start.min(self.pos)..self.pos]
    }

    /// Where `text`, borrowed from the input, starts in it; `None` for text
    /// that lies elsewhere (a decoded copy, a constant).
    pub fn offset_of(&self, text: &str) -> Option<usize> {
        let base = self.bytes.as_ptr() as usize;
        let at = (text.as_ptr() as usize).checked_sub(base)?;
        (at + text.len() <= self.bytes.len()).then_some(at)
    }

    /// Walks an object: `field` is called with each key (decoded) and must consume
    /// the value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Scan<()>,
    ) -> Scan<()> {
        self.eat(b'{')?;
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            if !self.member_continues()? {
                return Ok(());
            }
        }
    }

    /// After a member's value: consumes `,` (true: another member follows)
    /// or `}`.
    #[inline(always)]
    fn member_continues(&mut self) -> Scan<bool> {
        self.separator_or(b'}')
    }

    /// After a member or an element: consumes `,` (true: another follows) or
    /// `close`, whitespace before it skipped.
    #[inline(always)]
    fn separator_or(&mut self, close: u8) -> Scan<bool> {
        self.skip_ws();
        let more = match self.bytes().get(self.pos) {
            Some(b',') => true,
            Some(&c) if c == close => false,
            _ => return Err(Bail),
        };
        self.pos += 1;
        Ok(more)
    }

    /// [`Self::object`], with each member's key first looked for in `memo`: a
    /// member written with the same bytes as the member at its place in the
    /// last object of its kind (whitespace, quoted key, `:`) has that key,
    /// which is then neither looked for nor read. Members that do not match
    /// are read as `object` reads them, and taught to `memo`.
    pub fn object_memo(
        &mut self,
        memo: &mut KeyMemo<'a>,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Scan<()>,
    ) -> Scan<()> {
        self.eat(b'{')?;
        let mut place = 0;
        loop {
            // Just past the `{` or the `,` before the member.
            let start = self.pos;
            let key = match memo.members.get(place) {
                Some(&(written, key)) if self.eat_bytes(written) => Cow::Borrowed(key),
                _ => {
                    self.skip_ws();
                    if place == 0 && self.next_is(b'}') {
                        self.pos += 1;
                        return Ok(());
                    }
                    let key = self.string()?;
                    self.eat(b':')?;
                    // Every value's reader skips whitespace first: skipping it
                    // here too lets the memo hold it.
                    self.skip_ws();
                    if let Cow::Borrowed(plain) = key {
                        memo.learn(place, self.since(start), plain);
                    }
                    key
                }
            };
            field(self, key)?;
            if !self.member_continues()? {
                return Ok(());
            }
            place += 1;
        }
    }

    /// Walks an array: `element` is called for each element and must consume it.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self) -> Scan<()>) -> Scan<()> {
        let mut more = self.open_array()?;
        while more {
            element(self)?;
            more = self.array_continues()?;
        }
        Ok(())
    }

    /// Consumes `[`; false when the array is empty (its `]` consumed too).
    pub fn open_array(&mut self) -> Scan<bool> {
        self.eat(b'[')?;
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an element: consumes `,` (true: another element follows) or `]`.
    #[inline(always)]
    pub fn array_continues(&mut self) -> Scan<bool> {
        let more = self.separator_or(b']')?;
        if more {
            self.skip_ws();
        }
        Ok(more)
    }

    /// The next value, which must be a string, as its literal (quotes included,
    /// escapes left in place), borrowed from the input.
    pub fn string_literal(&mut self) -> Scan<&'a str> {
        self.literal_and_escapes().map(|(literal, _)| literal)
    }

    /// The literal of the next string, and whether it holds any backslash.
    /// Inlined into its few callers for the short plain strings most of a HAR's
    /// strings are (names, header values): the call itself, saving and restoring
    /// registers, was a third of the function's count on an identity-dense HAR
    /// (issue #15). Longer strings go to [`Self::long_literal`].
    #[inline(always)]
    fn literal_and_escapes(&mut self) -> Scan<(&'a str, bool)> {
        self.skip_ws();
        let start = self.pos;
        if self.bytes().get(start) != Some(&b'"') {
            return Err(Bail);
        }
        match short_string_end(self.bytes(), start + 1) {
            Some(at) => {
                self.pos = at + 1;
                Ok((self.checked_str(start, at + 1), false))
            }
            None => self.long_literal(start),
        }
    }

    /// [`Self::literal_and_escapes`] of a string that is not short and plain:
    /// its end found 64 bytes at a time, its contents checked as UTF-8 when a
    /// byte above 0x7F came before it.
    #[inline(never)]
    fn long_literal(&mut self, start: usize) -> Scan<(&'a str, bool)> {
        let end = string_end(self.bytes(), start + 1)?;
        if end.non_ascii && simdutf8::basic::from_utf8(&self.bytes[start + 1..end.at]).is_err() {
            return Err(Bail);
        }
        self.pos = end.at + 1;
        Ok((self.checked_str(start, end.at + 1), end.escapes))
    }

    /// The next value, which must be a string, decoded; borrowed when it has no
    /// escapes. Inlined as [`Self::literal_and_escapes`] is (1.9 % fewer
    /// instructions on an identity-dense HAR); decoding escapes stays a call.
    #[inline(always)]
    pub fn string(&mut self) -> Scan<Cow<'a, str>> {
        let (literal, escapes) = self.literal_and_escapes()?;
        let inner = &literal[1..literal.len() - 1];
        if !escapes {
            return Ok(Cow::Borrowed(inner));
        }
        unescape(inner).map(Cow::Owned)
    }

    /// The next value, which must be a number.
    pub fn number(&mut self) -> Scan<f64> {
        self.skip_ws();
        let start = self.pos;
        let (end, exact) = decimal_number(self.bytes(), start)?;
        self.pos = end;
        if let Some(value) = exact {
            return Ok(value);
        }
        // serde_json refuses numbers out of the f64 range; so does the scanner.
        let value = self
            .checked_str(start, end)
            .parse::<f64>()
            .map_err(|_| Bail)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(Bail)
        }
    }

    /// Consumes the next value, which must be a number, without converting it:
    /// only a number with an exponent or hundreds of digits can leave the f64
    /// range that serde_json (and [`Self::number`]) insist on.
    fn skip_number(&mut self) -> Scan<()> {
        let start = self.pos;
        let end = number_end(self.bytes(), start)?;
        let text = &self.bytes()[start..end];
        if text.len() > FINITE_WITHOUT_EXPONENT || text.iter().any(|&c| c | 0x20 == b'e') {
            return self.number().map(drop);
        }
        self.pos = end;
        Ok(())
    }

    /// The next value, which must be `true` or `false`.
    pub fn boolean(&mut self) -> Scan<bool> {
        self.skip_ws();
        if self.eat_word("true").is_ok() {
            return Ok(true);
        }
        self.eat_word("false").map(|()| false)
    }

    /// Consumes the next value whatever it is, checking its structure.
    pub fn skip(&mut self) -> Scan<()> {
        self.skip_nested(0)
    }

    /// Consumes the next value and returns its JSON text.
    pub fn raw(&mut self) -> Scan<&'a str> {
        self.skip_ws();
        let start = self.pos;
        self.skip()?;
        Ok(self.checked_str(start, self.pos))
    }

    fn skip_nested(&mut self, depth: usize) -> Scan<()> {
        if depth >= MAX_DEPTH {
            return Err(Bail);
        }
        match self.peek()? {
            Next::Object => self.skip_object(depth),
            Next::Array => self.array(|s| s.skip_nested(depth + 1)),
            Next::String => self.string_literal().map(drop),
            Next::Number => self.skip_number(),
            Next::Bool => self.boolean().map(drop),
            Next::Null => self.eat_word("null"),
        }
    }

    /// Consumes an object that is only checked, not read (cookies, `cache`,
    /// `_initiator`: a tenth of an identity-dense HAR's instructions, issue #15).
    /// Checks what [`Self::object`] with [`Self::skip`] checks (an escaped key
    /// is decoded, so a bad escape bails; values to [`Self::skip_nested`] one
    /// level down), without a key string and a call per member: a string
    /// value, most of them, is checked in place. Its frame (`{`, `,`, `}`)
    /// repeats `object`'s on purpose: both written through shared
    /// `open_object` / `object_continues` steps counted 0.5 % more
    /// instructions on the identity-dense HAR.
    fn skip_object(&mut self, depth: usize) -> Scan<()> {
        self.eat(b'{')?;
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        // One level down is where `skip_nested` would refuse even a string.
        let strings_in_place = depth + 1 < MAX_DEPTH;
        loop {
            let (key, escapes) = self.literal_and_escapes()?;
            if escapes {
                unescape(&key[1..key.len() - 1])?;
            }
            self.eat(b':')?;
            self.skip_ws();
            if strings_in_place && self.bytes().get(self.pos) == Some(&b'"') {
                self.literal_and_escapes()?;
            } else {
                self.skip_nested(depth + 1)?;
            }
            self.skip_ws();
            match self.bytes().get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Bail),
            }
        }
    }
}

/// Digits a number without an exponent can have and still be below f64's
/// largest value (about 1.8e308), with room for a sign and a point.
const FINITE_WITHOUT_EXPONENT: usize = 300;

/// Decimal places whose power of ten is an exact f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The end of the number at `start` (RFC 8259 §6: `-? int frac? exp?`) and,
/// for a number without an exponent whose digits fit in 15
/// decimal places (so they are an exact f64) and with at most 22 after the
/// point (so the power of ten is exact too), its value: one IEEE division then
/// rounds exactly as `str::parse` does (Clinger's fast path). HAR times and
/// sizes are all of this kind; the value is `None` for anything else, which
/// the full parse reads. One pass over the digits, for both (a HAR has a dozen
/// numbers per entry, issue #15).
fn decimal_number(b: &[u8], start: usize) -> Scan<(usize, Option<f64>)> {
    number::<true>(b, start)
}

/// [`decimal_number`]; with `VALUE` false the digits are only walked (a number
/// that is skipped) and the value is `None`.
#[inline(always)]
fn number<const VALUE: bool>(b: &[u8], start: usize) -> Scan<(usize, Option<f64>)> {
    let mut i = start;
    let negative = b.get(i) == Some(&b'-');
    i += usize::from(negative);
    let mut mantissa: u64 = 0;
    let mut significant = 0usize;
    let mut exact = VALUE;
    let mut digits = |i: &mut usize| {
        let from = *i;
        while let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
            if exact {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                significant += usize::from(mantissa != 0);
                exact = significant <= 15;
            }
            *i += 1;
        }
        *i - from
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return Err(Bail),
    }
    let mut places = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        places = digits(&mut i);
        if places == 0 {
            return Err(Bail);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        return if i == from { Err(Bail) } else { Ok((i, None)) };
    }
    let value = match POW10.get(places) {
        // Exact: mantissa < 10^15 < 2^53.
        Some(scale) if exact => Some(mantissa as f64 / scale),
        _ => None,
    };
    Ok((i, value.map(|v| if negative { -v } else { v })))
}

/// `a == b` for slices of the same length. The few to few dozen bytes of
/// [`Scanner::eat_bytes`] are compared as two overlapping words (8 to 16
/// bytes) or two overlapping 16-byte blocks (16 to 32), not by a call to
/// `memcmp`.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    let block = |s: &[u8], at: usize| u128::from_le_bytes(s[at..at + 16].try_into().unwrap());
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=32 => block(a, 0) == block(b, 0) && block(a, n - 16) == block(b, n - 16),
        _ => a == b,
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first byte at or after `pos` that is not JSON whitespace (RFC 8259 §2).
/// Browsers export HARs indented: a quarter of a Chrome export's bytes are
/// line breaks and runs of ten and more spaces, skipped here 16 bytes at a time
/// (SSE2 is part of every x86_64 CPU).
#[cfg(target_arch = "x86_64")]
fn whitespace_end(b: &[u8], mut pos: usize) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    while let Some(chunk) = b.get(pos..pos + 16) {
        // SAFETY: SSE2 is always there on x86_64, and the load reads the 16
        // bytes `chunk` holds.
        let spaces = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr() as *const __m128i);
            let is = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let ws = _mm_or_si128(
                _mm_or_si128(is(b' '), is(b'\n')),
                _mm_or_si128(is(b'\r'), is(b'\t')),
            );
            _mm_movemask_epi8(ws) as u32
        };
        if spaces != 0xFFFF {
            return pos + (!spaces).trailing_zeros() as usize;
        }
        pos += 16;
    }
    whitespace_end_bytewise(b, pos)
}

#[cfg(not(target_arch = "x86_64"))]
fn whitespace_end(b: &[u8], pos: usize) -> usize {
    whitespace_end_bytewise(b, pos)
}

fn whitespace_end_bytewise(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// End of a JSON number starting at `start` (RFC 8259 §6: `-? int frac? exp?`).
fn number_end(b: &[u8], start: usize) -> Scan<usize> {
    number::<false>(b, start).map(|(end, _)| end)
}

/// Decodes the inside of a string literal, checking every escape.
pub fn unescape(inner: &str) -> Scan<String> {
    crate::http::json_string::unescape(inner).ok_or(Bail)
}

/// Where a string ends, and what its contents hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StringEnd {
    /// Index of the closing quote.
    at: usize,
    /// A backslash came before it.
    escapes: bool,
    /// A byte above 0x7F came before it (the contents need a UTF-8 check).
    non_ascii: bool,
}

/// Where [`short_string_end`] looks, 16 bytes at a time from the string's
/// start: 48 bytes hold most header names and values, which then skip the
/// 64-byte blocks of [`string_end`] (and its call through the AVX2 check).
const SHORT_STRING_CHUNKS: [usize; 3] = [0, 16, 32];

/// The closing quote of a short plain string (object keys, header names and
/// values): a quote within the first [`SHORT_STRING_CHUNKS`] at `from`, each
/// in the input, with no backslash, control character or non-ASCII byte
/// before it. `None` sends the string to [`string_end`], which handles every
/// string; this only spares the short ones its 64-byte blocks.
///
/// Each 8-byte word is tested at once (SWAR): a byte of `w ^ pattern` is zero
/// where `w` holds that byte, and `(v - 0x01…) & !v & 0x80…` marks zero bytes.
/// A borrow can mark bytes above a true one, never below it, so the lowest mark
/// is exact, and only the lowest is used.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn short_string_end(b: &[u8], from: usize) -> Option<usize> {
    short_string_end_swar(b, from)
}

/// [`short_string_end`] with SSE2 (part of every x86_64 CPU): each 16 bytes in
/// one register, and one signed comparison for both the control bytes and the
/// bytes of 0x80 and above (negative as `i8`).
#[cfg(target_arch = "x86_64")]
#[inline]
fn short_string_end(b: &[u8], from: usize) -> Option<usize> {
    for at in SHORT_STRING_CHUNKS.map(|c| from + c) {
        if let ControlFlow::Break(end) = short_string_end_16(b, at) {
            return end;
        }
    }
    None
}

/// One 16-byte step of [`short_string_end`]: its answer when the chunk holds a
/// stop byte (or is past the input), `Continue` to the next chunk when it holds none.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn short_string_end_16(b: &[u8], from: usize) -> ControlFlow<Option<usize>> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let Some(chunk) = b.get(from..from + 16) else {
        return ControlFlow::Break(None);
    };
    // SAFETY: SSE2 is always there on x86_64, and the load reads the 16 bytes
    // `chunk` holds.
    let (quote, stops) = unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr() as *const __m128i);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let low_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        let stops = _mm_or_si128(_mm_or_si128(quote, backslash), low_or_high);
        (
            _mm_movemask_epi8(quote) as u32,
            _mm_movemask_epi8(stops) as u32,
        )
    };
    if stops == 0 {
        return ControlFlow::Continue(());
    }
    let first = stops.trailing_zeros();
    ControlFlow::Break((quote & (1 << first) != 0).then(|| from + first as usize))
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
fn short_string_end_swar(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    // 16 bytes at a time, as the SSE2 version: the same answer where the input ends.
    for chunk_at in SHORT_STRING_CHUNKS.map(|c| from + c) {
        let chunk = b.get(chunk_at..chunk_at + 16)?;
        for (i, word) in chunk.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let quote = zero_bytes(word ^ (ONES * u64::from(b'"')));
            let backslash = zero_bytes(word ^ (ONES * u64::from(b'\\')));
            // Bytes below 0x20: the same test against 0x20 instead of 0x01.
            let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
            let stops = quote | backslash | control | (word & HIGH);
            if stops != 0 {
                let first = stops.trailing_zeros();
                // No stop lies below the first, so its marks are all true ones.
                let at = chunk_at + i * 8 + (first / 8) as usize;
                return (quote & (1u64 << first) != 0).then_some(at);
            }
        }
    }
    None
}

/// The end of a string whose contents start at `from`. Control characters
/// (U+0000–U+001F) inside a string bail, as in serde_json.
fn string_end(b: &[u8], from: usize) -> Scan<StringEnd> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { string_end_avx2(b, from) };
    }
    string_end_with(b, from, masks)
}

/// [`string_end`] with the masks computed 32 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn string_end_avx2(b: &[u8], from: usize) -> Scan<StringEnd> {
    // SAFETY: this function only runs on CPUs with AVX2.
    string_end_with(b, from, |chunk| unsafe { masks_avx2(chunk) })
}

#[inline(always)]
fn string_end_with(b: &[u8], from: usize, masks: impl Fn(&[u8; 64]) -> Masks) -> Scan<StringEnd> {
    let mut at = from;
    // 1 when the first byte of the block is escaped by a backslash before it.
    let mut carry = 0u64;
    let mut escapes = false;
    let mut non_ascii = false;
    while at < b.len() {
        let block = Block::load(&b[at..], &masks);
        // Most blocks hold no backslash, and none is escaped from the block before.
        let escaped = if block.backslash | carry == 0 {
            0
        } else {
            escaped_positions(block.backslash, &mut carry)
        };
        let quotes = block.quote & !escaped & block.valid;
        let stops = quotes | (block.control & block.valid);
        if stops != 0 {
            let first = stops.trailing_zeros();
            if quotes & (1 << first) == 0 {
                return Err(Bail);
            }
            let before = (1u64 << first) - 1;
            return Ok(StringEnd {
                at: at + first as usize,
                escapes: escapes || block.backslash & before != 0,
                non_ascii: non_ascii || block.high & before != 0,
            });
        }
        escapes |= block.backslash != 0;
        non_ascii |= block.high != 0;
        at += 64;
    }
    Err(Bail)
}

/// Bit `i` set when byte `i` of the block is escaped (follows an odd run of
/// backslashes). `carry` is 1 on entry when byte 0 is escaped by the previous
/// block, and is set for the next block.
///
/// Runs of backslashes are found by adding each run's start bit to the mask: the
/// carry ripples to the first bit after the run. A run escapes the byte after it
/// when its length is odd, i.e. when it starts and ends on bits of different
/// parity (Langdale & Lemire 2019, §3.1.1).
fn escaped_positions(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    const ODD: u64 = !EVEN;
    let escaped_first = *carry;
    // An escaped backslash does not start an escape.
    let bs = backslash & !escaped_first;
    let starts = bs & !(bs << 1);
    let even_ends = bs.wrapping_add(starts & EVEN) & !bs;
    let (odd_sum, overflow) = bs.overflowing_add(starts & ODD);
    let odd_ends = odd_sum & !bs;
    *carry = u64::from(overflow);
    (even_ends & ODD) | (odd_ends & EVEN) | escaped_first
}

/// The bytes of a 64-byte block that are quotes, backslashes, below 0x20, and
/// above 0x7F: one bit per byte.
#[derive(Debug, Clone, Copy, Default)]
struct Masks {
    quote: u64,
    backslash: u64,
    control: u64,
    high: u64,
}

/// The masks of one block; `valid` marks bytes inside the input.
struct Block {
    quote: u64,
    backslash: u64,
    control: u64,
    high: u64,
    valid: u64,
}

impl Block {
    #[inline(always)]
    fn load(rest: &[u8], masks: &impl Fn(&[u8; 64]) -> Masks) -> Block {
        let (m, valid) = if rest.len() >= 64 {
            let chunk: &[u8; 64] = rest[..64].try_into().expect("64 bytes");
            (masks(chunk), u64::MAX)
        } else {
            // The tail: pad with spaces, which are none of the four.
            let mut chunk = [b' '; 64];
            chunk[..rest.len()].copy_from_slice(rest);
            (masks(&chunk), (1u64 << rest.len()) - 1)
        };
        Block {
            quote: m.quote,
            backslash: m.backslash,
            control: m.control,
            high: m.high,
            valid,
        }
    }
}

/// The [`Masks`] of 64 bytes with SSE2.
#[cfg(target_arch = "x86_64")]
fn masks(chunk: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
    // available; every load reads 16 bytes inside `chunk`.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let below_space = _mm_set1_epi8(0x1f);
        let mut out = Masks::default();
        for lane in 0..4 {
            let v = _mm_loadu_si128(chunk.as_ptr().add(lane * 16) as *const __m128i);
            let bits = |m| u64::from(_mm_movemask_epi8(m) as u16) << (lane * 16);
            out.quote |= bits(_mm_cmpeq_epi8(v, quote));
            out.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            // max(v, 0x1f) == 0x1f exactly when v <= 0x1f (unsigned).
            out.control |= bits(_mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space));
            // movemask takes each byte's top bit: set above 0x7F.
            out.high |= bits(v);
        }
        out
    }
}

/// [`masks`] with AVX2: two 32-byte lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn masks_avx2(chunk: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_max_epu8, _mm256_movemask_epi8,
        _mm256_set1_epi8,
    };
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let below_space = _mm256_set1_epi8(0x1f);
    let mut out = Masks::default();
    for lane in 0..2 {
        // SAFETY: the load reads 32 bytes inside `chunk`.
        let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().add(lane * 32) as *const __m256i) };
        let bits = |m| u64::from(_mm256_movemask_epi8(m) as u32) << (lane * 32);
        out.quote |= bits(_mm256_cmpeq_epi8(v, quote));
        out.backslash |= bits(_mm256_cmpeq_epi8(v, backslash));
        out.control |= bits(_mm256_cmpeq_epi8(
            _mm256_max_epu8(v, below_space),
            below_space,
        ));
        out.high |= bits(v);
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(chunk: &[u8; 64]) -> Masks {
    let mut out = Masks::default();
    for (i, &c) in chunk.iter().enumerate() {
        out.quote |= u64::from(c == b'"') << i;
        out.backslash |= u64::from(c == b'\\') << i;
        out.control |= u64::from(c < 0x20) << i;
        out.high |= u64::from(c > 0x7f) << i;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What skipping checked before objects were skipped in place: each member
    /// through `object` (its key decoded) and `skip_nested` one level down.
    fn skip_by_members(s: &mut Scanner<'_>, depth: usize) -> Scan<()> {
        if depth >= MAX_DEPTH {
            return Err(Bail);
        }
        match s.peek()? {
            Next::Object => s.object(|s, _| skip_by_members(s, depth + 1)),
            Next::Array => s.array(|s| skip_by_members(s, depth + 1)),
            _ => s.skip_nested(depth),
        }
    }

    #[test]
    fn objects_skipped_in_place_are_checked_as_member_by_member() {
        let deep =
            |n: usize, inner: &str| format!("{}{inner}{}", "{\"k\":".repeat(n), "}".repeat(n));
        let mut cases: Vec<String> = [
            r#"{}"#,
            r#"{ }"#,
            r#"{"name": "a", "value": "b", "httpOnly": true, "expires": null, "size": 1.5e3}"#,
            "{\n  \"a\": \"x\",\n  \"b\": [1, \"y\", {\"c\": false}]\n}",
            r#"{"k\u0061y": "v"}"#,
            r#"{"k\xy": "v"}"#,
            r#"{"k": "v\x"}"#,
            r#"{"k": "v",}"#,
            r#"{"k" "v"}"#,
            r#"{"k": }"#,
            r#"{"k": "v""#,
            r#"{"k": "v" "j": 1}"#,
            r#"{k: "v"}"#,
            r#"{"k": tru}"#,
            r#"{"a": {"b": {"c": "d"}}, "e": "f"}"#,
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        for n in [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
            cases.push(deep(n, "\"s\""));
            cases.push(deep(n, "1"));
            cases.push(deep(n, "{}"));
        }
        for case in &cases {
            let text = format!("{case} ,");
            let mut ours = Scanner::new(text.as_bytes());
            let mut theirs = Scanner::new(text.as_bytes());
            let (a, b) = (ours.skip(), skip_by_members(&mut theirs, 0));
            assert_eq!(a, b, "{case}");
            if a.is_ok() {
                assert_eq!(ours.pos(), theirs.pos(), "{case}");
            }
        }
    }

    /// Byte-at-a-time reference for [`string_end`].
    fn reference_end(b: &[u8], from: usize) -> Scan<StringEnd> {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    return Ok(StringEnd {
                        at: i,
                        escapes: b[from..i].contains(&b'\\'),
                        non_ascii: b[from..i].iter().any(|c| *c > 0x7f),
                    })
                }
                // An escaped control character is still refused.
                b'\\' if b.get(i + 1).is_some_and(|c| *c < 0x20) => return Err(Bail),
                b'\\' => i += 2,
                c if c < 0x20 => return Err(Bail),
                _ => i += 1,
            }
        }
        Err(Bail)
    }

    #[test]
    fn a_short_string_end_is_the_reference_end_or_none() {
        // Every byte value at every place of the first 16 bytes looked at and
        // around quotes in each of the three chunks, with other stops and with
        // a run of the same byte; the SWAR and SSE2 versions agree everywhere.
        for len in (0..20usize).chain(28..36).chain(44..52) {
            for c in 0..=255u8 {
                for place in (0..18).chain(len.saturating_sub(3)..len + 2) {
                    let mut s = vec![b'a'; 56];
                    s[len.min(55)] = b'"';
                    s[place] = c;
                    let fill = place.min(len);
                    for byte in s.iter_mut().take(place).skip(fill.saturating_sub(2)) {
                        *byte = c;
                    }
                    assert_eq!(short_string_end(&s, 0), short_string_end_swar(&s, 0));
                    let Some(at) = short_string_end(&s, 0) else {
                        continue;
                    };
                    let want = reference_end(&s, 0).expect("a short end is an end");
                    assert_eq!((at, false, false), (want.at, want.escapes, want.non_ascii));
                }
            }
        }
        // Plain short strings take the short path.
        assert_eq!(short_string_end(b"name\": \"value\"   ", 0), Some(4));
        assert_eq!(short_string_end(b"startedDateTime\":  ", 0), Some(15));
        assert_eq!(short_string_end(b"0123456789abcdefg\" ", 0), None);
        assert_eq!(short_string_end(b"ab\\\"cd\"        ", 0), None);
        // A header value of 40 bytes too, unless the input ends in its chunk.
        let value = format!("{}\"", "v".repeat(40));
        assert_eq!(
            short_string_end(format!("{value}       ").as_bytes(), 0),
            Some(40)
        );
        assert_eq!(short_string_end(value.as_bytes(), 0), None);
        assert_eq!(
            short_string_end(format!("{}\"", "v".repeat(48)).as_bytes(), 0),
            None
        );
    }

    #[test]
    fn string_end_matches_the_reference_on_escape_runs() {
        // Every position and run length around block boundaries.
        for len in 0..200 {
            for run in 0..6 {
                for quote_at in [len, len + run] {
                    let mut s = vec![b'a'; len + run + 3];
                    for c in s.iter_mut().skip(len).take(run) {
                        *c = b'\\';
                    }
                    s[quote_at] = b'"';
                    s.push(b'"');
                    assert_eq!(
                        string_end(&s, 0),
                        reference_end(&s, 0),
                        "len {len} run {run} quote {quote_at}"
                    );
                }
            }
        }
    }

    #[test]
    fn string_end_matches_the_reference_on_pseudo_random_text() {
        let alphabet = b"ab\\\"\\\\x\n\xc3\xa9\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let len = (state % 300) as usize;
            let mut s = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            for from in [0, 1, 63.min(s.len())] {
                assert_eq!(string_end(&s, from), reference_end(&s, from), "{s:?}");
                assert_eq!(
                    string_end_with(&s, from, masks),
                    reference_end(&s, from),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn skips_whitespace_of_any_run_length_and_kind() {
        for run in 0..40 {
            for kinds in [&b" "[..], b"\n ", b" \t", b"\r\n  ", b"\t\t\n"] {
                let ws: Vec<u8> = kinds.iter().copied().cycle().take(run).collect();
                for tail in [&b""[..], b"\"", b"x  ", b"}"] {
                    let input = [&ws[..], tail].concat();
                    for from in [0, run / 2] {
                        let mut s = Scanner::new(&input);
                        s.pos = from;
                        s.skip_ws();
                        assert_eq!(s.pos(), run, "{input:?} from {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn walks_values() {
        let doc = r#" {"a": [1, -2.5e3, true, null, "x\"y"], "b": {"c": "\u00e9\ud83d\ude00"}} "#;
        let mut s = Scanner::new(doc.as_bytes());
        let mut seen = Vec::new();
        s.object(|s, key| {
            if key == "b" {
                s.object(|s, k| {
                    seen.push(format!("{k}={}", s.string()?));
                    Ok(())
                })
            } else {
                seen.push(format!("{key}={}", s.raw()?));
                Ok(())
            }
        })
        .unwrap();
        assert!(s.at_end());
        assert_eq!(seen, [r#"a=[1, -2.5e3, true, null, "x\"y"]"#, "c=é😀"]);
    }

    #[test]
    fn refuses_what_json_refuses() {
        for bad in [
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "1e",
            "\"a\nb\"",
            "\"abc",
            "tru",
            "[",
            "{,}",
        ] {
            let mut s = Scanner::new(bad.as_bytes());
            let whole = s.skip().is_ok() && s.at_end();
            assert!(!whole, "{bad}");
        }
        assert_eq!(unescape(r"\x"), Err(Bail));
        assert_eq!(unescape("\\\u{feff}"), Err(Bail));
        assert_eq!(unescape(r"\ud800"), Err(Bail));
        assert_eq!(unescape(r"\u12"), Err(Bail));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(Scanner::new(deep.as_bytes()).skip(), Err(Bail));
        assert_eq!(Scanner::new(b"1e400").number(), Err(Bail));
    }

    #[test]
    fn exact_decimals_equal_the_full_parse() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.000",
            "1",
            "12.25",
            "0.1",
            "0.3",
            "123.456",
            "-17.5",
            "999999999999999",
            "99999999999999.9",
            "0.0000000000000000000001",
            "1234567.890123",
            "5e-324",
            "1e308",
            "1e400",
            "9999999999999999",
            "0.00000000000000000000001",
            "123456789012345678",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // HAR-like times: milliseconds with up to six decimals, pseudo-random.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let places = (x % 8) as usize;
            let whole = (x >> 8) % 10_000_000;
            let frac = (x >> 40) % 10u64.pow(places as u32);
            texts.push(if places == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{frac:0places$}")
            });
        }
        for text in &texts {
            let full = text.parse::<f64>().unwrap();
            let (end, fast) = decimal_number(text.as_bytes(), 0).unwrap();
            assert_eq!(end, number_end(text.as_bytes(), 0).unwrap(), "{text}");
            if let Some(fast) = fast {
                assert_eq!(fast.to_bits(), full.to_bits(), "{text}");
            }
            let scanned = Scanner::new(text.as_bytes()).number();
            if full.is_finite() {
                assert_eq!(scanned.map(f64::to_bits), Ok(full.to_bits()), "{text}");
            } else {
                assert_eq!(scanned, Err(Bail), "{text}");
            }
        }
        assert_eq!(decimal_number(b"1e5", 0), Ok((3, None)));
        assert_eq!(decimal_number(b"1234567890123456", 0), Ok((16, None)));
        assert_eq!(
            decimal_number(b"0.00000000000000000000001", 0),
            Ok((25, None))
        );
        assert_eq!(decimal_number(b"12.5,", 0), Ok((4, Some(12.5))));
        for bad in ["-", "1.", "1.e5", "1e", "1e+", ".5", "x"] {
            assert_eq!(decimal_number(bad.as_bytes(), 0), Err(Bail), "{bad}");
            assert_eq!(number_end(bad.as_bytes(), 0), Err(Bail), "{bad}");
        }
    }

    #[test]
    fn skipped_numbers_are_checked_like_read_ones() {
        let long = "9".repeat(400);
        for (text, ok) in [
            ("[1, -0.5, 3e2]", true),
            ("[1e400]", false),
            (&format!("[{long}]")[..], false),
            (&format!("[0.{long}]")[..], true),
        ] {
            assert_eq!(Scanner::new(text.as_bytes()).skip().is_ok(), ok, "{text}");
        }
    }

    /// An object's members (key and raw value) and where it ends, read by
    /// `object_memo` with `memo` or else by `object`; `None` when it bails.
    fn read_object<'a>(
        s: &mut Scanner<'a>,
        memo: Option<&mut KeyMemo<'a>>,
    ) -> Option<(Vec<(String, String)>, usize)> {
        let mut seen = Vec::new();
        let mut field = |s: &mut Scanner<'a>, key: Cow<'a, str>| {
            seen.push((key.into_owned(), s.raw()?.to_string()));
            Ok(())
        };
        let result = match memo {
            Some(memo) => s.object_memo(memo, &mut field),
            None => s.object(&mut field),
        };
        result.ok().map(|()| (seen, s.pos()))
    }

    /// Objects read one after another with one memo give what `object` gives
    /// for each (the same keys and values, the same end, a bail in both),
    /// whatever mix of layouts, escaped keys, same-length keys and broken
    /// members they have.
    #[test]
    fn object_memo_reads_what_object_reads() {
        const MEMBERS: [&str; 12] = [
            "\n  \"a\": 1",
            "\n  \"b\": \"x\"",
            "\n  \"c\": {\"d\": [1, 2]}",
            "\"a\":1",
            " \"a\" : 2",
            "\n  \"A\": 1",
            "\n  \"B\": \"y\"",
            "\n  \"\\u0061\": 3",
            "\n  \"a\": ",
            "\n  \"b\" \"x\"",
            "\n  \"é\": null",
            "\n  \"a\": true",
        ];
        let mut next = crate::test_rng::picker(0x9e37_79b9_7f4a_7c15);
        let mut hits = 0;
        for _ in 0..800 {
            let objects: Vec<String> = (0..4)
                .map(|_| {
                    if next(10) == 0 {
                        return ["{}", "{ }", "{,}", "{\n  \"a\": 1,\n}"][next(4)].to_string();
                    }
                    let len = 1 + next(4);
                    let members: Vec<&str> = (0..len)
                        // Mostly the first three, in order, as a HAR writes them.
                        .map(|i| {
                            if next(3) > 0 {
                                MEMBERS[i % 3]
                            } else {
                                MEMBERS[next(12)]
                            }
                        })
                        .collect();
                    format!("{{{}\n}}", members.join(","))
                })
                .collect();
            let texts: Vec<String> = objects.iter().map(|o| format!("{o} ")).collect();
            let mut memo = KeyMemo::default();
            for text in &texts {
                let plain = read_object(&mut Scanner::new(text.as_bytes()), None);
                let memoised = read_object(&mut Scanner::new(text.as_bytes()), Some(&mut memo));
                assert_eq!(memoised, plain, "{text}");
                hits += usize::from(plain.is_some());
            }
        }
        assert!(hits > 1000, "{hits}");
    }

    /// `same_bytes` is `==` for every length it has a shortcut for (and
    /// around them), with the one differing byte at every place.
    #[test]
    fn same_bytes_is_equality() {
        let a: Vec<u8> = (0..70u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..a.len() {
            let x = &a[..n];
            assert!(same_bytes(x, x), "{n}");
            assert!(!same_bytes(x, &a[..n.saturating_sub(1)]) || n == 0, "{n}");
            for at in 0..n {
                let mut y = x.to_vec();
                y[at] ^= 0x20;
                assert!(!same_bytes(x, &y), "{n} {at}");
            }
        }
    }

    /// `eat_bytes` consumes exactly the bytes given, and nothing when the
    /// input differs or ends first; `offset_of` finds borrowed text only.
    #[test]
    fn eats_exact_bytes_and_finds_borrowed_text() {
        let text = b"{\n  \"name\": \"a\"}";
        let mut s = Scanner::new(text);
        assert!(!s.eat_bytes(b"{\n \"name\""));
        assert_eq!(s.pos(), 0);
        assert!(s.eat_bytes(b"{\n  \"name\": "));
        assert!(s.next_is(b'"'));
        assert_eq!(s.since(0), b"{\n  \"name\": ");
        let name = s.string().unwrap();
        assert_eq!(s.offset_of(&name), Some(13));
        assert_eq!(s.offset_of("a"), None);
        assert!(!s.eat_bytes(b"}}"));
        assert!(s.eat_bytes(b"}"));
        assert!(!s.eat_bytes(b"}"));
    }

    #[test]
    fn whitespace_ends_where_the_bytewise_reference_does() {
        let bytes: Vec<u8> = (0..300u32)
            .map(|i| match i % 37 {
                0 => b'\n',
                1..=19 => b' ',
                20 => b'\t',
                21 => b'\r',
                22 => 0x0b,
                23 => 0xa0,
                24 => 0x80 | b' ',
                _ => b"{\"a\":1}"[(i % 7) as usize],
            })
            .collect();
        for from in 0..bytes.len() {
            for end in from..bytes.len().min(from + 40) {
                let b = &bytes[..end];
                assert_eq!(
                    whitespace_end(b, from),
                    whitespace_end_bytewise(b, from),
                    "{from}..{end}"
                );
            }
        }
        let spaces = vec![b' '; 100];
        assert_eq!(whitespace_end(&spaces, 3), 100);
    }

    #[test]
    fn numbers() {
        for (text, want) in [
            ("0", 0.0),
            ("-0.5", -0.5),
            ("12.25e2", 1225.0),
            ("3E-1", 0.3),
        ] {
            assert_eq!(Scanner::new(text.as_bytes()).number(), Ok(want));
        }
    }

    #[test]
    fn checks_strings_as_utf8() {
        // Long enough that the non-ASCII byte sits in a later 64-byte block.
        let pad = "a".repeat(100);
        let good = format!("[\"{pad}é\", \"x\"]");
        let mut s = Scanner::new(good.as_bytes());
        assert_eq!(s.raw(), Ok(good.as_str()));
        let mut long_bad = format!("[\"{pad}?\"]").into_bytes();
        let question = long_bad.iter().position(|&c| c == b'?').unwrap();
        long_bad[question] = 0xff;
        for bad in [
            long_bad,
            b"[\"\xc3\"]".to_vec(),
            // A character cut by the closing quote.
            b"[\"\xe2\x82\"]".to_vec(),
        ] {
            let mut s = Scanner::new(&bad);
            assert_eq!(s.skip(), Err(Bail), "{bad:?}");
        }
        // Outside strings, a byte above 0x7F is not JSON at all.
        assert_eq!(Scanner::new(b"[1,\xc3\xa9]").skip(), Err(Bail));
    }
}
