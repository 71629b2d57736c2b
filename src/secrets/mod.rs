//! The secret policy: what in a trace is a secret, a user name, or an id that
//! support needs, decided in this one place for every output (the text, JSON and
//! HTML reports, batch NDJSON and Parquet, and `aadtrace redact`).
//!
//! * Names: URL, form, multipart, JSON and markup fields whose values are secrets
//!   ([`param_kind`]), fields that name a person ([`is_personal_param`],
//!   [`is_personal_key`]), headers ([`header_rule`]) and cookies
//!   ([`cookie_is_kept`]). The lists follow what Entra ID, Microsoft-account and
//!   AD FS sign-ins carry; the README's "Secret policy" names them for users.
//! * Shapes: JWTs anywhere, URL userinfo, path parameters (`;jsessionid=`),
//!   `name=value`, `name: value` and `"name":"value"` pairs in free text, nested
//!   and percent-encoded (also twice) values ([`scan`]).
//!
//! What a secret is *replaced with* is not decided here: the reports print a
//! constant, `redact` a stable pseudonym. Both implement [`Masking`] and call the
//! same scanners, so a shape found by one path is found by the other.
//!
//! Kept on purpose (support needs them): correlation, request and session ids,
//! `client-request-id`, AADSTS codes, time stamps, tenant and app ids, `state`
//! and `nonce` themselves (a secret nested inside them is still masked).
//!
//! This module sits low: it knows only [`crate::http::form`].

pub mod scan;

/// What a masked value was: the kinds a redaction receipt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// Passwords (§6.1).
    Password,
    /// One-time codes typed by the user (`otc`, SAS `AdditionalAuthData`).
    Otp,
    /// Authorization codes, device codes, PKCE verifiers.
    Code,
    /// Access, ID and refresh tokens, MSA `t`/`NAP`/`ANON`, PRT assertions,
    /// API keys and SAS signatures (§6.2).
    Token,
    /// Client secrets and client assertions.
    ClientSecret,
    /// Flow tokens, `ctx`, canaries, `PPFT` (§6.3).
    FlowToken,
    /// `wresult`, `SAMLResponse`, SAML assertions.
    Saml,
    /// Cookie values and session ids (§6.5).
    Cookie,
    /// `Authorization` and `Negotiate` credentials (§6.4).
    Authorization,
    /// User names and e-mail addresses (§6.6).
    UserName,
    /// Personal JWT claims (`upn`, `name`, `oid`…) replaced by pseudonyms.
    JwtPersonalClaim,
    /// Client IP addresses in forwarding headers.
    IpAddress,
}

impl SecretKind {
    pub fn name(self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::Otp => "otp",
            SecretKind::Code => "code",
            SecretKind::Token => "token",
            SecretKind::ClientSecret => "client_secret",
            SecretKind::FlowToken => "flow_token",
            SecretKind::Saml => "saml",
            SecretKind::Cookie => "cookie",
            SecretKind::Authorization => "authorization",
            SecretKind::UserName => "user_name",
            SecretKind::JwtPersonalClaim => "jwt_personal_claim",
            SecretKind::IpAddress => "ip_address",
        }
    }

    /// Kinds whose name alone says the value is a credential, so that
    /// `password: hunter2` in free text (no quotes, a colon) is masked too.
    pub fn is_credential(self) -> bool {
        matches!(
            self,
            SecretKind::Password | SecretKind::ClientSecret | SecretKind::Authorization
        )
    }
}

/// What replaces a secret, a user name or a JWT. The reports print a constant;
/// `redact` writes stable pseudonyms and counts them.
pub trait Masking {
    /// The replacement for a secret `value` of `kind`.
    fn secret(&mut self, kind: SecretKind, value: &str) -> String;
    /// The replacement for a user name or e-mail address.
    fn user(&mut self, value: &str) -> String;
    /// The replacement for a JWT found by its shape.
    fn jwt(&mut self, token: &str) -> String;
    /// How many values were replaced so far: a nested value is rewritten only
    /// when looking inside it replaced something.
    fn replaced(&self) -> u64;
}

/// URL, form, multipart, JSON and markup fields whose values are secrets
/// (§6.1–6.3), compared case-insensitively, with what they are.
const SECRET_PARAMS: &[(&str, SecretKind)] = &[
    ("code", SecretKind::Code),
    ("device_code", SecretKind::Code),
    ("code_verifier", SecretKind::Code),
    ("evo_code", SecretKind::Code),
    ("access_token", SecretKind::Token),
    ("id_token", SecretKind::Token),
    ("refresh_token", SecretKind::Token),
    ("token", SecretKind::Token),
    ("session_state", SecretKind::Token),
    ("client_info", SecretKind::Token),
    ("session_key_jwe", SecretKind::Token),
    ("response_jwe", SecretKind::Token),
    ("tgt_ad", SecretKind::Token),
    ("tgt_cloud", SecretKind::Token),
    ("sproofuptoken", SecretKind::Token),
    ("dssotoken", SecretKind::Token),
    ("request", SecretKind::Token),
    ("t", SecretKind::Token),
    ("nap", SecretKind::Token),
    ("anon", SecretKind::Token),
    ("pprid", SecretKind::Token),
    ("x-ms-refreshtokencredential", SecretKind::Token),
    // Azure Storage SAS signatures, API keys.
    ("sig", SecretKind::Token),
    ("api_key", SecretKind::Token),
    ("apikey", SecretKind::Token),
    ("api-key", SecretKind::Token),
    ("subscription-key", SecretKind::Token),
    ("client_secret", SecretKind::ClientSecret),
    ("client_assertion", SecretKind::ClientSecret),
    ("assertion", SecretKind::ClientSecret),
    ("password", SecretKind::Password),
    ("passwd", SecretKind::Password),
    ("pwd", SecretKind::Password),
    ("accesspass", SecretKind::Password),
    ("currentpasswd", SecretKind::Password),
    ("confirmnewpasswd", SecretKind::Password),
    ("oldpassword", SecretKind::Password),
    ("newpassword", SecretKind::Password),
    ("otc", SecretKind::Otp),
    ("additionalauthdata", SecretKind::Otp),
    ("flowtoken", SecretKind::FlowToken),
    ("sft", SecretKind::FlowToken),
    ("ctx", SecretKind::FlowToken),
    ("sctx", SecretKind::FlowToken),
    ("canary", SecretKind::FlowToken),
    ("apicanary", SecretKind::FlowToken),
    ("scanarytoken", SecretKind::FlowToken),
    ("vanguardflowtoken", SecretKind::FlowToken),
    ("ppft", SecretKind::FlowToken),
    ("ppsx", SecretKind::FlowToken),
    ("sso_nonce", SecretKind::FlowToken),
    ("estsrequest", SecretKind::FlowToken),
    ("wresult", SecretKind::Saml),
    ("samlresponse", SecretKind::Saml),
    // Servlet and PHP session ids in path parameters and cookies.
    ("jsessionid", SecretKind::Cookie),
    ("phpsessid", SecretKind::Cookie),
    // Credentials written out in free text (`Authorization: Bearer …`).
    ("authorization", SecretKind::Authorization),
    ("proxy-authorization", SecretKind::Authorization),
];

/// Parameters that name a person (§6.6): shortened in reports, pseudonymised in
/// redacted traces.
const PERSONAL_PARAMS: &[&str] = &[
    "login",
    "loginfmt",
    "username",
    "login_hint",
    "user",
    "upn",
    "email",
];

/// JSON and page keys that name a person besides [`PERSONAL_PARAMS`]:
/// `$Config` pre-fills, GetCredentialType's `Display`, proof displays.
const PERSONAL_KEYS: &[&str] = &[
    "spost_username",
    "sprefillusername",
    "display",
    "displayname",
    "userprincipalname",
];

/// Headers whose whole value is a secret (§6.3, §6.4, and the API-key headers
/// of services a sign-in lands on).
const SECRET_HEADERS: &[(&str, SecretKind)] = &[
    ("x-ms-refreshtokencredential", SecretKind::Token),
    ("x-ms-devicecredential", SecretKind::Token),
    ("x-ms-flowtoken", SecretKind::FlowToken),
    ("x-ms-ctx", SecretKind::FlowToken),
    ("canary", SecretKind::FlowToken),
    ("x-auth-token", SecretKind::Token),
    ("x-api-key", SecretKind::Token),
    ("api-key", SecretKind::Token),
    ("apikey", SecretKind::Token),
    ("ocp-apim-subscription-key", SecretKind::Token),
    ("x-functions-key", SecretKind::Token),
    ("x-csrf-token", SecretKind::FlowToken),
    ("x-xsrf-token", SecretKind::FlowToken),
    ("private-token", SecretKind::Token),
    ("x-amz-security-token", SecretKind::Token),
];

/// Headers that carry client IP addresses (§6.6).
const IP_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-my-x-forwarded-for",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
];

/// Cookies whose values are routing hints or correlation ids, kept; every
/// other cookie value is a secret or a tracking id (§6.5). `uaid` is the
/// Microsoft account service's correlation id: the same value as the `uaid`
/// URL parameter that names the sign-in in a support case (masking the cookie
/// took it out of the URLs of a redacted copy too).
const KEPT_COOKIES: &[&str] = &[
    "x-ms-gateway-slice",
    "uaid",
    "stsservicecookie",
    "ckTst",
    "brcap",
    "wlidperf",
    "usgovtraffic",
];

fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| name.eq_ignore_ascii_case(p))
}

/// The kind of secret a URL, form, multipart or JSON field named `name` holds,
/// if any. Beyond the list, any name containing `passwd` or `password` is a
/// password, and one containing `secret` a client secret.
pub fn param_kind(name: &str) -> Option<SecretKind> {
    if let Some((_, kind)) = SECRET_PARAMS
        .iter()
        .find(|(p, _)| name.eq_ignore_ascii_case(p))
    {
        return Some(*kind);
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains("passwd") || lower.contains("password") {
        Some(SecretKind::Password)
    } else if lower.contains("secret") {
        Some(SecretKind::ClientSecret)
    } else {
        None
    }
}

/// True for URL and form parameters that name a person.
pub fn is_personal_param(name: &str) -> bool {
    is_one_of(name, PERSONAL_PARAMS)
}

/// True for JSON keys (and `$Config` members) that name a person.
pub fn is_personal_key(name: &str) -> bool {
    is_personal_param(name) || is_one_of(name, PERSONAL_KEYS)
}

/// What a field name is: `Some(Ok(kind))` for a secret, `Some(Err(()))` for a
/// user name, `None` for anything else.
pub fn classify(name: &str) -> Option<Result<SecretKind, ()>> {
    if let Some(kind) = param_kind(name) {
        Some(Ok(kind))
    } else if is_personal_key(name) {
        Some(Err(()))
    } else {
        None
    }
}

/// A `Scheme credential` header value (`Authorization`, a Negotiate or NTLM
/// challenge) with the scheme kept and the credential masked by `m`. A bare
/// short scheme (`Negotiate`) carries nothing and is kept; any other bare value
/// is a secret.
pub fn credential(m: &mut impl Masking, value: &str, kind: SecretKind) -> String {
    match value.trim().split_once(' ') {
        Some((scheme, cred)) if !cred.trim().is_empty() => {
            format!("{scheme} {}", m.secret(kind, cred.trim()))
        }
        Some(_) => value.to_string(),
        None => {
            let v = value.trim();
            if v.len() < 16 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
                value.to_string()
            } else {
                m.secret(kind, v)
            }
        }
    }
}

/// What a header's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRule {
    /// `Authorization`, `Proxy-Authorization`: keep the scheme, mask the credential.
    Authorization,
    /// `Cookie`: mask the values of secret cookies.
    Cookie,
    /// `Set-Cookie`: mask the value, keep the attributes.
    SetCookie,
    /// The whole value is a secret of this kind.
    Secret(SecretKind),
    /// `X-AnchorMailbox`: a user name or object id behind a prefix.
    AnchorMailbox,
    /// Client IP addresses.
    IpAddress,
    /// A URL (`Referer`, `Location`, `:path`…): its secrets are masked.
    Url,
    /// `WWW-Authenticate`: a Negotiate/NTLM blob is masked, parameters kept.
    Challenge,
    /// Anything else: free text ([`scan::free_text`]).
    Text,
}

/// How a header named `name` is redacted. Besides the lists, a header whose
/// name says token, secret, password, credential or API key is a secret.
pub fn header_rule(name: &str) -> HeaderRule {
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        "authorization" | "proxy-authorization" => HeaderRule::Authorization,
        "cookie" => HeaderRule::Cookie,
        "set-cookie" => HeaderRule::SetCookie,
        "x-anchormailbox" => HeaderRule::AnchorMailbox,
        "referer" | "location" | "content-location" | ":path" => HeaderRule::Url,
        "www-authenticate" | "proxy-authenticate" => HeaderRule::Challenge,
        _ => {
            if let Some((_, kind)) = SECRET_HEADERS.iter().find(|(h, _)| *h == n) {
                HeaderRule::Secret(*kind)
            } else if is_one_of(&n, IP_HEADERS) {
                HeaderRule::IpAddress
            } else if [
                "token",
                "secret",
                "passw",
                "credential",
                "apikey",
                "api-key",
            ]
            .iter()
            .any(|w| n.contains(w))
            {
                HeaderRule::Secret(SecretKind::Token)
            } else {
                HeaderRule::Text
            }
        }
    }
}

/// True for cookies whose values are kept (routing hints); all others are masked.
pub fn cookie_is_kept(name: &str) -> bool {
    is_one_of(name.trim(), KEPT_COOKIES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_headers() {
        assert_eq!(param_kind("Password"), Some(SecretKind::Password));
        assert_eq!(param_kind("user_password_2"), Some(SecretKind::Password));
        assert_eq!(
            param_kind("my_client_secret"),
            Some(SecretKind::ClientSecret)
        );
        assert_eq!(param_kind("sig"), Some(SecretKind::Token));
        assert_eq!(param_kind("JSESSIONID"), Some(SecretKind::Cookie));
        for kept in [
            "state",
            "nonce",
            "client_id",
            "client-request-id",
            "SessionId",
        ] {
            assert_eq!(classify(kept), None, "{kept}");
        }
        assert_eq!(classify("login_hint"), Some(Err(())));
        assert_eq!(
            header_rule("X-Auth-Token"),
            HeaderRule::Secret(SecretKind::Token)
        );
        assert_eq!(
            header_rule("X-API-Key"),
            HeaderRule::Secret(SecretKind::Token)
        );
        assert_eq!(
            header_rule("X-Vendor-Session-Token"),
            HeaderRule::Secret(SecretKind::Token)
        );
        assert_eq!(
            header_rule("Proxy-Authorization"),
            HeaderRule::Authorization
        );
        assert_eq!(header_rule("client-request-id"), HeaderRule::Text);
        assert_eq!(header_rule("x-ms-request-id"), HeaderRule::Text);
    }
}
