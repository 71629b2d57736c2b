//! JSON Web Tokens decoded for display, never verified (RFC 7519, RFC 7515 §7.1
//! compact serialisation, RFC 7516 for the 5-part JWE form).
//!
//! Only strings that start `eyJ` (a base64url `{"`) and have exactly 3 or 5
//! dot-separated parts are decoded. Claims are untrusted display data.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};
use serde_json::{Map, Value};

use super::messages::value_i64;
use crate::http::json_object::JsonObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtForm {
    /// Three parts: header, claims, signature.
    Signed,
    /// Five parts: only the header is readable.
    Encrypted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub form: JwtForm,
    pub header: Map<String, Value>,
    /// Claims of a signed token; `None` for JWE.
    pub claims: Option<Map<String, Value>>,
}

/// Claims (and header members) that are neither secret nor personal, so they may be
/// shown as decoded.
pub const SAFE_CLAIMS: &[&str] = &[
    "tid",
    "aud",
    "appid",
    "azp",
    "appidacr",
    "azpacr",
    "amr",
    "acr",
    "acrs",
    "ver",
    "scp",
    "roles",
    "wids",
    "iss",
    "iat",
    "nbf",
    "exp",
    "auth_time",
    "idtyp",
    "xms_cc",
    "xms_pdl",
    "xms_pl",
    "xms_tpl",
    "xms_edov",
    "deviceid",
    "ctry",
    "tenant_ctry",
    "tenant_region_scope",
    "in_corp",
    "pwd_exp",
    "app_displayname",
    "typ",
    "alg",
    "kid",
    "x5t",
    "enc",
    "cty",
    "kdf_ver",
    "is_primary",
];

/// Claims that identify a person (or their network location): mask or pseudonymise
/// before showing.
pub const PERSONAL_CLAIMS: &[&str] = &[
    "upn",
    "unique_name",
    "preferred_username",
    "email",
    "verified_primary_email",
    "verified_secondary_email",
    "name",
    "given_name",
    "family_name",
    "oid",
    "sub",
    "puid",
    "altsecid",
    "ipaddr",
    "login_hint",
    "onprem_sid",
    "samaccountname",
    "uid",
    "utid",
];

impl Jwt {
    /// A numeric claim (`exp`, `iat`, `nbf`), accepting numbers and numeric strings.
    pub fn numeric_claim(&self, name: &str) -> Option<i64> {
        value_i64(self.claims.as_ref()?.get(name)?)
    }

    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.as_ref()?.get(name)?.as_str()
    }
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Decodes base64url with or without padding, also accepting the standard
/// alphabet (`+`, `/`).
fn b64_decode(part: &str) -> Option<Vec<u8>> {
    if part.bytes().any(|b| b == b'+' || b == b'/') {
        let mapped: String = part
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        URL_SAFE_LENIENT.decode(mapped).ok()
    } else {
        URL_SAFE_LENIENT.decode(part).ok()
    }
}

fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = b64_decode(part)?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The form of `token` and its base64url header and claims parts, when it looks
/// like a JWT (`eyJ…` with 3 or 5 dot-separated parts).
fn parts(token: &str) -> Option<(JwtForm, &str, &str)> {
    let token = token.trim();
    if !token.starts_with("eyJ") {
        return None;
    }
    let mut parts = token.split('.');
    let (header, claims) = (parts.next()?, parts.next()?);
    let form = match parts.count() {
        1 => JwtForm::Signed,
        3 => JwtForm::Encrypted,
        _ => return None,
    };
    Some((form, header, claims))
}

/// Decodes `token` if it looks like a JWT (`eyJ…` with 3 or 5 dot-separated parts).
pub fn decode(token: &str) -> Option<Jwt> {
    let (form, header, claims) = parts(token)?;
    let header = json_object(header)?;
    let claims = match form {
        JwtForm::Signed => Some(json_object(claims)?),
        JwtForm::Encrypted => None,
    };
    Some(Jwt {
        form,
        header,
        claims,
    })
}

/// Reads a JWT's claims without building a tree of them (issue #15: every
/// token of an identity-dense trace is read this way, for a few claims):
/// `read` gets the form and, for a signed token, the claims object, whose
/// members are decoded only when asked for. `None` when `token` is not a JWT
/// whose header and claims are JSON objects.
///
/// Unlike [`decode`], a member that cannot be decoded (a lone surrogate in a
/// string) is absent on its own instead of taking the whole token with it, as
/// in every other identity reply ([`JsonObject`]).
pub fn read_claims<T>(
    token: &str,
    read: impl FnOnce(JwtForm, Option<&JsonObject<'_>>) -> T,
) -> Option<T> {
    let (form, header, claims) = parts(token)?;
    let text = |part| String::from_utf8(b64_decode(part)?).ok();
    JsonObject::parse(&text(header)?)?;
    match form {
        JwtForm::Signed => Some(read(form, Some(&JsonObject::parse(&text(claims)?)?))),
        JwtForm::Encrypted => Some(read(form, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

    fn enc(engine: &GeneralPurpose, v: &str) -> String {
        engine.encode(v.as_bytes())
    }

    const HEADER: &str = r#"{"typ":"JWT","alg":"RS256","kid":"abc"}"#;

    /// A signed token of `claims` under [`HEADER`], unpadded, with `signature`.
    fn signed(claims: &str, signature: &str) -> String {
        let part = |text| enc(&URL_SAFE_NO_PAD, text);
        format!("{}.{}.{signature}", part(HEADER), part(claims))
    }
    const CLAIMS: &str = r#"{"aud":"00000003-0000-0000-c000-000000000000","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","iat":1700000000,"nbf":"1700000000","exp":1700003599,"amr":["pwd","mfa"],"upn":"alice@contoso.com","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","ver":"1.0"}"#;

    #[test]
    fn decodes_signed_unpadded() {
        let t = signed(CLAIMS, "c2lnbmF0dXJl");
        let jwt = decode(&t).unwrap();
        assert_eq!(jwt.form, JwtForm::Signed);
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(
            jwt.str_claim("tid"),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(jwt.numeric_claim("exp"), Some(1_700_003_599));
        assert_eq!(jwt.numeric_claim("nbf"), Some(1_700_000_000));
        assert_eq!(jwt.numeric_claim("upn"), None);
        assert_eq!(jwt.numeric_claim("missing"), None);
    }

    #[test]
    fn decodes_padded_and_standard_alphabet() {
        // A claim value chosen so the standard encoding contains '+' or '/'.
        let claims = r#"{"x":"???>>>~~~","exp":"12"}"#;
        let std = enc(&STANDARD, claims);
        assert!(std.contains('+') || std.contains('/') || std.contains('='));
        let t = format!("{}.{}.", enc(&URL_SAFE, HEADER), std);
        let jwt = decode(&t).unwrap();
        assert_eq!(jwt.numeric_claim("exp"), Some(12));
        assert_eq!(jwt.str_claim("x"), Some("???>>>~~~"));
    }

    #[test]
    fn decodes_jwe_header_only() {
        let h = enc(&URL_SAFE_NO_PAD, r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
        let t = format!("{h}.a2V5.aXY.Y2lwaGVy.dGFn");
        let jwt = decode(&t).unwrap();
        assert_eq!(jwt.form, JwtForm::Encrypted);
        assert_eq!(jwt.header["enc"], "A256GCM");
        assert!(jwt.claims.is_none());
        assert_eq!(jwt.numeric_claim("exp"), None);
    }

    #[test]
    fn rejects_junk() {
        for s in [
            "",
            "eyJ",
            "eyJ.eyJ.",
            "abc.def.ghi",
            "0.AXkA…",
            "AQABAAEAAAD--DLA3VO7QrddgJg7Wevr",
            "eyJhbGciOiJub25lIn0.eyJ.x.y",
            "eyJhbGciOiJub25lIn0",
            "eyJ!!!.eyJ!!!.x",
            "eyJhbGciOiJub25lIn0.bm90IGpzb24.sig",
            // header is valid JSON but not an object
            "eyJ9.eyJ9.x",
        ] {
            assert!(decode(s).is_none(), "{s:?}");
        }
    }

    /// Claims' names with their values as JSON text.
    type Members = Vec<(String, String)>;

    /// What [`read_claims`] sees of `token`: the form, and the claims' names
    /// with their raw values.
    fn read(token: &str) -> Option<(JwtForm, Option<Members>)> {
        read_claims(token, |form, claims| {
            let members = claims.map(|c| {
                c.iter()
                    .map(|(name, raw)| (name.to_string(), raw.get().to_string()))
                    .collect()
            });
            (form, members)
        })
    }

    #[test]
    fn read_claims_sees_what_decode_sees() {
        let signed = signed(CLAIMS, "c2lnbmF0dXJl");
        let standard = format!(
            "{}.{}.",
            enc(&URL_SAFE, HEADER),
            enc(&STANDARD, r#"{"x":"???>>>~~~","exp":"12"}"#)
        );
        let jwe = format!(
            "{}.a2V5.aXY.Y2lwaGVy.dGFn",
            enc(&URL_SAFE_NO_PAD, r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)
        );
        for token in [signed.as_str(), &standard, &jwe] {
            let jwt = decode(token).unwrap();
            let (form, members) = read(token).unwrap();
            assert_eq!(form, jwt.form);
            let expected = jwt.claims.map(|c| {
                c.iter()
                    .map(|(name, value)| (name.clone(), value.to_string()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(members, expected, "{token}");
        }
        for junk in [
            "",
            "eyJ.eyJ.",
            "eyJhbGciOiJub25lIn0.bm90IGpzb24.sig",
            "eyJ9.eyJ9.x",
        ] {
            assert!(read(junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn an_undecodable_claim_is_absent_on_its_own() {
        let claims = r#"{"tid":"t-1","bad":"\ud800","exp":1700000000}"#;
        let token = signed(claims, "sig");
        assert!(decode(&token).is_none(), "serde refuses the lone surrogate");
        let tid = read_claims(&token, |_, c| {
            c.and_then(|c| c.str("tid")).map(|t| t.into_owned())
        });
        assert_eq!(tid, Some(Some("t-1".to_string())));
        let bad = read_claims(&token, |_, c| c.and_then(|c| c.str("bad")).is_none());
        assert_eq!(bad, Some(true));
    }

    #[test]
    fn claim_lists_disjoint() {
        for c in SAFE_CLAIMS {
            assert!(!PERSONAL_CLAIMS.contains(c), "{c}");
        }
    }
}
