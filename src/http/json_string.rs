//! JSON string literals (RFC 8259 §7): decoding the escapes of a string that was
//! kept in its literal form (HAR bodies, [`super::Body::JsonText`]) or that the HAR
//! scanner reads. One implementation, so both agree on what a bad escape is.

use std::borrow::Cow;

/// The text of a literal with its quotes (`"…"`); `None` when it is not one or an
/// escape is bad. Borrowed when there is no escape.
pub fn decode_literal(literal: &str) -> Option<Cow<'_, str>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Some(Cow::Borrowed(inner));
    }
    unescape(inner).map(Cow::Owned)
}

/// Decodes the inside of a string literal, checking every escape. A lone UTF-16
/// surrogate is refused, as serde_json refuses it.
pub fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = next_backslash(rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let esc = *rest.as_bytes().get(at + 1)?;
        if !esc.is_ascii() {
            return None;
        }
        // Both bytes are ASCII, so `at + 2` is a character boundary.
        rest = &rest[at + 2..];
        let c = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (c, used) = unicode_escape(rest)?;
                rest = &rest[used..];
                c
            }
            _ => return None,
        };
        out.push(c);
    }
    out.push_str(rest);
    Some(out)
}

/// The first backslash in `b`. HTML pages held as JSON text have an escape
/// every few dozen bytes (`\"`, `\n`, `\u003c`): the next few words are
/// tested in place (SWAR: `(v - 0x01…) & !v & 0x80…` marks the zero bytes of
/// `v`, and its lowest mark is exact) before memchr's SIMD search is called.
fn next_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    let mut at = 0;
    while at < 32 {
        let Some(word) = b.get(at..at + 8) else { break };
        let v = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ BACKSLASHES;
        let zero = v.wrapping_sub(ONES) & !v & HIGH;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr(b'\\', &b[at..]).map(|i| at + i)
}

/// The character of a `\uXXXX` escape (the text after `\u`), joining a UTF-16
/// surrogate pair; returns the bytes used.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let hex = |s: &str| -> Option<u32> {
        let digits = s.get(..4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    let first = hex(rest)?;
    if !(0xD800..0xDC00).contains(&first) {
        return char::from_u32(first).map(|c| (c, 4));
    }
    let low = rest.get(4..).and_then(|r| r.strip_prefix("\\u"))?;
    let second = hex(low)?;
    if !(0xDC00..0xE000).contains(&second) {
        return None;
    }
    let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
    char::from_u32(code).map(|c| (c, 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_backslash_is_memchr() {
        let text: Vec<u8> = (0..200u32)
            .map(|i| {
                if i % 29 == 7 || i % 53 == 0 {
                    b'\\'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .chain([0xdc, 0x5c, 0x80])
            .collect();
        for from in 0..text.len() {
            for end in from..text.len().min(from + 70) {
                let b = &text[from..end];
                assert_eq!(next_backslash(b), memchr::memchr(b'\\', b), "{from}..{end}");
            }
        }
    }

    #[test]
    fn agrees_with_serde_json() {
        for literal in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\ud83d\ude00 \u0041""#,
            r#""bad \x""#,
            r#""lone \ud800""#,
            r#""short \u12""#,
            r#""end\""#,
            "\"\\\u{e9}\"",
        ] {
            let ours = decode_literal(literal).map(|c| c.into_owned());
            let serde = serde_json::from_str::<String>(literal).ok();
            assert_eq!(ours, serde, "{literal}");
        }
        assert_eq!(decode_literal("no quotes"), None);
    }
}
