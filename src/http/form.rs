//! URL-encoded parameters (`application/x-www-form-urlencoded`: query strings,
//! fragments, form bodies), read lazily.
//!
//! The parsing is the one of the WHATWG URL Standard, §5.1
//! "application/x-www-form-urlencoded parsing": split on `&`, drop empty
//! sequences, split each at its first `=`, replace `+` by a space, percent-decode,
//! and decode the bytes as UTF-8 with replacement characters. Unlike
//! `form_urlencoded::parse`, a value is decoded only when asked for: the analysis
//! looks at a handful of parameters by name and passes over long ones (`state`,
//! `nonce`, telemetry payloads) that would otherwise be decoded for nothing.

use std::borrow::Cow;

/// One `name=value` pair; the name decoded, the value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair<'a> {
    pub name: Cow<'a, str>,
    raw_value: &'a str,
}

impl<'a> Pair<'a> {
    /// The value, decoded.
    pub fn value(&self) -> Cow<'a, str> {
        decode(self.raw_value)
    }

    /// True when the value is empty (before decoding, which never empties it).
    pub fn value_is_empty(&self) -> bool {
        self.raw_value.is_empty()
    }
}

/// The pairs of `input`, in order. Split with memchr's SIMD search: a form body can
/// be megabytes of long values.
pub fn pairs(input: &str) -> impl Iterator<Item = Pair<'_>> {
    let mut rest = input;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (sequence, after) = match memchr::memchr(b'&', rest.as_bytes()) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        };
        rest = after;
        if sequence.is_empty() {
            continue;
        }
        let (name, raw_value) = match memchr::memchr(b'=', sequence.as_bytes()) {
            Some(at) => (&sequence[..at], &sequence[at + 1..]),
            None => (sequence, ""),
        };
        return Some(Pair {
            name: decode(name),
            raw_value,
        });
    })
}

/// One name or value decoded; borrowed when it holds neither `+` nor `%`.
pub fn decode(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr2(b'+', b'%', bytes) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                // A `%` not followed by two hex digits stays as it is.
                _ => out.push(b'%'),
            },
            _ => {
                // Values such as flow tokens are long: plain runs are copied
                // whole, not byte by byte.
                let run = memchr::memchr2(b'+', b'%', &bytes[i..]).unwrap_or(bytes.len() - i);
                out.extend_from_slice(&bytes[i..i + run]);
                i += run;
                continue;
            }
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    match digit? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        d @ b'a'..=b'f' => Some(d - b'a' + 10),
        d @ b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs as `form_urlencoded::parse` gives them, the reference.
    fn reference(input: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(input.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    fn ours(input: &str) -> Vec<(String, String)> {
        pairs(input)
            .map(|p| (p.name.to_string(), p.value().into_owned()))
            .collect()
    }

    #[test]
    fn agrees_with_form_urlencoded() {
        for input in [
            "",
            "a=1&b=2",
            "&&a=&=b&c",
            "login_hint=adele%40contoso.example&scope=openid+profile",
            "x=%zz&y=%4&z=%41%42%e2%82%ac",
            "bad=%ff%fe&half=%e2%82",
            "a=b=c&%61=%62",
            "é=ü&sp%20ace=1+2",
        ] {
            assert_eq!(ours(input), reference(input), "{input:?}");
        }
    }

    #[test]
    fn agrees_with_form_urlencoded_on_pseudo_random_input() {
        let alphabet = [
            "a", "=", "&", "+", "%", "4", "1", "f", "F", "é", "%e2", "%82",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let mut input = String::new();
            for k in 0..len {
                let pick = (state.rotate_left(k as u32 * 5) % alphabet.len() as u64) as usize;
                input.push_str(alphabet[pick]);
            }
            assert_eq!(ours(&input), reference(&input), "{input:?}");
        }
    }

    #[test]
    fn values_are_borrowed_when_plain() {
        let pair = pairs("state=abc123").next().unwrap();
        assert!(matches!(pair.value(), Cow::Borrowed("abc123")));
        assert!(!pair.value_is_empty());
    }
}
