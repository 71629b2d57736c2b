//! Same-length replacements, for writers that patch bytes in place: a packet
//! capture's frames must keep every length, so a masked value there takes
//! exactly the bytes its original took.
//!
//! A replacement keeps the original's shape: letters stay letters of the same
//! case, digits stay digits, and punctuation and escapes (`%40`, `\/`, `&amp;`)
//! stay as they are; only the letters and digits are drawn anew, from a keyed
//! hash of the *decoded* original ([`Masker::keyed`]). Every spelling of one
//! value (plain, form-encoded, JSON-escaped) therefore decodes to the same
//! pseudonym, and the same value becomes the same pseudonym everywhere in the
//! file, so the hand-offs between sign-in steps still link. User names are
//! case-insensitive and hashed lower-cased. A JWT keeps its header and safe
//! claims, its personal and secret claims pseudonymised at their length, the
//! claims padded with JSON whitespace to the original length, and its signature
//! replaced.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use super::Masker;
use crate::identity::jwt;
use crate::secrets::{param_kind, SecretKind};

/// The spellings of `original` worth looking for in raw bytes: as it is,
/// form-encoded (`+` for space), percent-encoded (`%20`), JSON-escaped (with
/// and without `\/`) and HTML-escaped.
pub fn spellings(original: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![original.as_bytes().to_vec()];
    let form: String = form_urlencoded::byte_serialize(original.as_bytes()).collect();
    out.push(form.replace('+', "%20").into_bytes());
    out.push(form.into_bytes());
    if let Ok(json) = serde_json::to_string(original) {
        let json = &json[1..json.len() - 1];
        out.push(json.replace('/', "\\/").into_bytes());
        out.push(json.as_bytes().to_vec());
    }
    out.push(
        original
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .into_bytes(),
    );
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

/// The same-length replacement for `spelled`, one spelling of `original`.
pub fn replacement(m: &Masker, kind: SecretKind, original: &str, spelled: &[u8]) -> Vec<u8> {
    if kind == SecretKind::Token && spelled == original.as_bytes() {
        if let Some(token) = same_length_jwt(m, original) {
            return token.into_bytes();
        }
    }
    let key = match kind {
        SecretKind::UserName => original.trim().to_lowercase(),
        _ => original.to_string(),
    };
    let mut draw = Draw::new(m.keyed("same-length", &key));
    redrawn(spelled, &mut draw)
}

/// `spelled` with its letters and digits drawn anew, escapes kept.
fn redrawn(spelled: &[u8], draw: &mut Draw) -> Vec<u8> {
    let mut out = spelled.to_vec();
    let mut i = 0;
    while i < out.len() {
        let kept = escape_len(&out[i..]);
        if kept > 0 {
            i += kept;
            continue;
        }
        out[i] = match out[i] {
            b'a'..=b'z' => b'a' + draw.below(26),
            b'A'..=b'Z' => b'A' + draw.below(26),
            b'0'..=b'9' => b'0' + draw.below(10),
            other => other,
        };
        i += 1;
    }
    out
}

/// The length of an escape at the start of `b` that must stay as it is:
/// `%XX`, `\uXXXX`, `\X` or an HTML entity `&name;`/`&#NN;`.
fn escape_len(b: &[u8]) -> usize {
    match b {
        [b'%', h, l, ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => 3,
        [b'\\', b'u', rest @ ..]
            if rest.len() >= 4 && rest[..4].iter().all(u8::is_ascii_hexdigit) =>
        {
            6
        }
        [b'\\', _, ..] => 2,
        [b'&', rest @ ..] => rest
            .iter()
            .take(8)
            .position(|&c| c == b';')
            .filter(|&n| {
                n > 0
                    && rest[..n]
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'#')
            })
            .map_or(0, |n| n + 2),
        _ => 0,
    }
}

/// A JWT of the same length: header kept, personal and secret claims redrawn at
/// their length, padded with JSON whitespace, signature redrawn. `None` when the
/// token does not decode or its claims would not fit.
fn same_length_jwt(m: &Masker, token: &str) -> Option<String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return None;
    };
    let raw = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut claims: serde_json::Map<String, Value> = serde_json::from_slice(&raw).ok()?;
    for (name, value) in claims.iter_mut() {
        let personal = jwt::PERSONAL_CLAIMS.contains(&name.as_str());
        if !personal && param_kind(name).is_none() {
            continue;
        }
        if let Value::String(text) = value {
            let key = text.to_lowercase();
            let mut draw = Draw::new(m.keyed("same-length", &key));
            let new = redrawn(text.as_bytes(), &mut draw);
            *text = String::from_utf8(new).ok()?;
        }
    }
    let mut json = serde_json::to_vec(&claims).ok()?;
    if json.len() > raw.len() || json.last() != Some(&b'}') {
        return None;
    }
    let pad = raw.len() - json.len();
    let at = json.len() - 1;
    json.splice(at..at, std::iter::repeat_n(b' ', pad));
    let mut draw = Draw::new(m.keyed("same-length", token));
    let signature = String::from_utf8(redrawn(signature.as_bytes(), &mut draw)).ok()?;
    let encoded = URL_SAFE_NO_PAD.encode(&json);
    (encoded.len() == payload.len()).then(|| format!("{header}.{encoded}.{signature}"))
}

/// A small deterministic generator (SplitMix64) seeded by a keyed hash.
struct Draw(u64);

impl Draw {
    fn new(seed: u64) -> Self {
        Draw(seed)
    }

    fn below(&mut self, n: u8) -> u8 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_decode_to_one_pseudonym() {
        let m = Masker::new();
        let user = "Adele.Vance@contoso.example";
        let plain = replacement(&m, SecretKind::UserName, user, user.as_bytes());
        let lower = user.to_lowercase();
        let again = replacement(&m, SecretKind::UserName, &lower, lower.as_bytes());
        assert_eq!(plain.len(), user.len());
        assert_eq!(plain.to_ascii_lowercase(), again.to_ascii_lowercase());
        let form = b"Adele.Vance%40contoso.example";
        let encoded = replacement(&m, SecretKind::UserName, user, form);
        assert_eq!(encoded.len(), form.len());
        let decoded: String = form_urlencoded::parse(&[b"u=", &encoded[..]].concat())
            .next()
            .unwrap()
            .1
            .into_owned();
        assert_eq!(decoded.as_bytes(), &plain[..]);
        assert_ne!(&plain[..], user.as_bytes());
        assert!(spellings("a b/c").contains(&b"a+b%2Fc".to_vec()));
        assert!(spellings("a b/c").contains(&b"a b\\/c".to_vec()));
    }

    #[test]
    fn a_jwt_keeps_its_length_header_and_safe_claims() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            br#"{"tid":"t-1","upn":"adele@contoso.example","name":"Adele Vance","exp":1700000000}"#,
        );
        let token = format!("{header}.{claims}.c2lnbmF0dXJlc2ln");
        let m = Masker::new();
        let out = replacement(&m, SecretKind::Token, &token, token.as_bytes());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.len(), token.len());
        assert!(out.starts_with(&header));
        let decoded = jwt::decode(&out).unwrap();
        assert_eq!(decoded.str_claim("tid"), Some("t-1"));
        assert_eq!(decoded.numeric_claim("exp"), Some(1_700_000_000));
        assert_ne!(decoded.str_claim("upn"), Some("adele@contoso.example"));
        assert!(!out.contains("c2lnbmF0dXJlc2ln"));
    }
}
