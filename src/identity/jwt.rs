//! JSON Web Tokens decoded for display, never verified (RFC 7519, RFC 7515 §7.1
//! compact serialisation, RFC 7516 for the 5-part JWE form).
//!
//! STUB: to be implemented.

use serde_json::{Map, Value};

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

impl Jwt {
    /// A numeric claim (`exp`, `iat`, `nbf`), accepting numbers and numeric strings.
    pub fn numeric_claim(&self, name: &str) -> Option<i64> {
        let _ = name;
        None
    }

    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.as_ref()?.get(name)?.as_str()
    }
}

/// Decodes `token` if it looks like a JWT (`eyJ…` with 3 or 5 dot-separated parts).
pub fn decode(token: &str) -> Option<Jwt> {
    let _ = token;
    None
}

/// Claims that are neither secret nor personal: safe to show in reports.
pub const SAFE_CLAIMS: &[&str] = &[
    "tid",
    "aud",
    "iss",
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
    "iat",
    "nbf",
    "exp",
    "auth_time",
    "idtyp",
    "xms_cc",
    "deviceid",
];
