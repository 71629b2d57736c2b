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
    let b = inner.as_bytes();
    // Escapes only shorten the text: what is written never outruns what is read.
    let mut out = Vec::with_capacity(b.len());
    let mut at = copy_plain(b, 0, &mut out);
    while at < b.len() {
        let esc = *b.get(at + 1)?;
        if !esc.is_ascii() {
            return None;
        }
        // Both bytes are ASCII, so `at + 2` is a character boundary.
        at += 2;
        let byte = match esc {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, used) = unicode_escape(&inner[at..])?;
                at += used;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                at = copy_plain(b, at, &mut out);
                continue;
            }
            _ => return None,
        };
        out.push(byte);
        at = copy_plain(b, at, &mut out);
    }
    // SAFETY: `out` holds the runs of `inner` between escapes, each cut at a
    // backslash (ASCII, so at character boundaries) and so valid UTF-8, and
    // the UTF-8 of each escape's character.
    Some(unsafe { String::from_utf8_unchecked(out) })
}

/// Copies `b[from..]` to `out` up to the next backslash; returns where it is
/// (or `b.len()`). HTML pages held as JSON text have an escape every few dozen
/// bytes (`\"`, `\n`, `\u003c`): a run is copied 16 bytes at a time, each block
/// stored whole and then counted up to its first backslash, instead of a
/// search and a `memcpy` call per run (a third of the decoding, issue #15).
#[inline(always)]
fn copy_plain(b: &[u8], from: usize, out: &mut Vec<u8>) -> usize {
    #[cfg(target_arch = "x86_64")]
    let from = copy_plain_blocks(b, from, out);
    if b.get(from) == Some(&b'\\') {
        return from;
    }
    let rest = &b[from..];
    let run = memchr::memchr(b'\\', rest).unwrap_or(rest.len());
    out.extend_from_slice(&rest[..run]);
    from + run
}

/// [`copy_plain`] by whole 16-byte blocks while the input and `out`'s spare
/// capacity both hold one; returns where it stopped (at a backslash, or where
/// fewer than 16 bytes are left).
#[cfg(target_arch = "x86_64")]
fn copy_plain_blocks(b: &[u8], mut from: usize, out: &mut Vec<u8>) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_storeu_si128,
    };
    while from + 16 <= b.len() && out.capacity() - out.len() >= 16 {
        // SAFETY: SSE2 is part of x86_64; the load reads `b[from..from + 16]`
        // and the store writes 16 bytes of `out`'s spare capacity, both checked
        // above; only the bytes before the first backslash are counted in.
        unsafe {
            let block = _mm_loadu_si128(b.as_ptr().add(from).cast::<__m128i>());
            let len = out.len();
            _mm_storeu_si128(out.as_mut_ptr().add(len).cast::<__m128i>(), block);
            let hits = _mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8(b'\\' as i8)));
            let run = if hits == 0 {
                16
            } else {
                hits.trailing_zeros() as usize
            };
            out.set_len(len + run);
            from += run;
            if hits != 0 {
                return from;
            }
        }
    }
    from
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

    /// Runs and escapes at every offset against a 16-byte block, with
    /// characters of every UTF-8 length, decode as serde_json decodes them.
    #[test]
    fn decodes_as_serde_json_at_every_offset() {
        let pieces = [
            "a",
            "é",
            "€",
            "😀",
            "plain text",
            r#"\""#,
            r"\\",
            r"\/",
            r"\b",
            r"\f",
            r"\n",
            r"\r",
            r"\t",
            r"\u003c",
            r"\u00e9",
            r"\ud83d\ude00",
            r"\x",
            r"\ud800",
            r"\u12",
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut decoded, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut inner = String::new();
            let len = next() % 12;
            for _ in 0..len {
                let x = next();
                let piece = pieces[(x % pieces.len() as u64) as usize];
                // Mostly valid pieces, so most inputs decode.
                let bad = piece.starts_with(r"\x") || piece == r"\ud800" || piece == r"\u12";
                if bad && x % 7 != 0 {
                    continue;
                }
                inner.push_str(piece);
                for _ in 0..(x >> 40) % 20 {
                    inner.push('a');
                }
            }
            if next() % 97 == 0 {
                inner.push('\\');
            }
            let serde = serde_json::from_str::<String>(&format!("\"{inner}\"")).ok();
            assert_eq!(unescape(&inner), serde, "{inner:?}");
            if serde.is_some() {
                decoded += 1;
            } else {
                refused += 1;
            }
        }
        // Both outcomes are exercised.
        assert!(decoded > 10_000 && refused > 1_000, "{decoded} {refused}");
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
