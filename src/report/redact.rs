//! Redaction of every string that came from a trace, before any report prints it
//! (identity-wire.md §6): secrets masked, user names shortened, identifiers that
//! support needs (correlation/request ids, time stamps, codes, tenant and app ids)
//! kept. `--unsafe-show-secrets` turns it off. Terminal output is also stripped of
//! control characters here, so a trace cannot drive the user's terminal.

use std::borrow::Cow;

use crate::http::form;

/// What a masked value is replaced with.
pub const MASK: &str = "[redacted]";

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
    /// Access, ID and refresh tokens, MSA `t`/`NAP`/`ANON`, PRT assertions (§6.2).
    Token,
    /// Client secrets and client assertions.
    ClientSecret,
    /// Flow tokens, `ctx`, canaries, `PPFT` (§6.3).
    FlowToken,
    /// `wresult`, `SAMLResponse`, SAML assertions.
    Saml,
    /// Cookie values (§6.5).
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
}

/// URL, form and JSON parameters whose values are secrets (§6.1–6.3), compared
/// case-insensitively, with what they are.
const SECRET_PARAMS: &[(&str, SecretKind)] = &[
    ("code", SecretKind::Code),
    ("device_code", SecretKind::Code),
    ("code_verifier", SecretKind::Code),
    ("evo_code", SecretKind::Code),
    ("access_token", SecretKind::Token),
    ("id_token", SecretKind::Token),
    ("refresh_token", SecretKind::Token),
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
    ("client_secret", SecretKind::ClientSecret),
    ("client_assertion", SecretKind::ClientSecret),
    ("assertion", SecretKind::ClientSecret),
    ("password", SecretKind::Password),
    ("passwd", SecretKind::Password),
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

/// Headers whose whole value is a flow secret (§6.3, §6.4).
const SECRET_HEADERS: &[(&str, SecretKind)] = &[
    ("x-ms-refreshtokencredential", SecretKind::Token),
    ("x-ms-devicecredential", SecretKind::Token),
    ("x-ms-flowtoken", SecretKind::FlowToken),
    ("x-ms-ctx", SecretKind::FlowToken),
    ("canary", SecretKind::FlowToken),
];

/// Headers that carry client IP addresses (§6.6).
const IP_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-my-x-forwarded-for",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
];

/// Cookies whose values are routing hints, kept; every other cookie value is a
/// secret or a tracking id (§6.5).
const KEPT_COOKIES: &[&str] = &[
    "x-ms-gateway-slice",
    "stsservicecookie",
    "ckTst",
    "brcap",
    "wlidperf",
    "usgovtraffic",
];

fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| name.eq_ignore_ascii_case(p))
}

/// The kind of secret a URL, form or JSON parameter named `name` holds, if any.
/// Any name containing `passwd` or `password` is a password.
pub fn param_kind(name: &str) -> Option<SecretKind> {
    if let Some((_, kind)) = SECRET_PARAMS
        .iter()
        .find(|(p, _)| name.eq_ignore_ascii_case(p))
    {
        return Some(*kind);
    }
    let lower = name.to_ascii_lowercase();
    (lower.contains("passwd") || lower.contains("password")).then_some(SecretKind::Password)
}

/// True for URL and form parameters that name a person.
pub fn is_personal_param(name: &str) -> bool {
    is_one_of(name, PERSONAL_PARAMS)
}

/// True for JSON keys (and `$Config` members) that name a person.
pub fn is_personal_key(name: &str) -> bool {
    is_personal_param(name) || is_one_of(name, PERSONAL_KEYS)
}

/// What a header's value is, for rewriting a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRule {
    /// `Authorization`: keep the scheme, mask the credential.
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
    /// A URL (`Referer`, `Location`, `:path`…): its secret parameters are masked.
    Url,
    /// `WWW-Authenticate`: a Negotiate/NTLM blob is masked, parameters kept.
    Challenge,
    /// Anything else: free text (user names and JWTs inside are handled).
    Text,
}

/// How a header named `name` is redacted.
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

/// Redacts report strings, or passes them through when disabled.
#[derive(Debug, Clone, Copy)]
pub struct Redactor {
    pub enabled: bool,
}

impl Redactor {
    pub fn new(enabled: bool) -> Self {
        Redactor { enabled }
    }

    /// A URL with secret query and fragment parameters masked and user names shortened.
    pub fn url<'u>(&self, url: &'u str) -> Cow<'u, str> {
        if !self.enabled {
            return Cow::Borrowed(url);
        }
        let (base, fragment) = match url.find('#') {
            Some(i) => (&url[..i], Some(&url[i + 1..])),
            None => (url, None),
        };
        let (path, query) = match base.find('?') {
            Some(i) => (&base[..i], Some(&base[i + 1..])),
            None => (base, None),
        };
        let mut out = String::with_capacity(url.len());
        out.push_str(path);
        if let Some(q) = query {
            out.push('?');
            out.push_str(&self.params(q));
        }
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(&self.params(f));
        }
        Cow::Owned(out)
    }

    /// URL-encoded parameters with secret values masked, keeping the original
    /// encoding of everything else.
    pub fn params(&self, params: &str) -> String {
        if !self.enabled {
            return params.to_string();
        }
        params
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded_name = form::decode(name);
                if value.is_empty() {
                    pair.to_string()
                } else if param_kind(&decoded_name).is_some() {
                    format!("{name}={MASK}")
                } else if is_personal_param(&decoded_name) {
                    let v = form::decode(value);
                    let masked: String =
                        form_urlencoded::byte_serialize(self.user(&v).as_bytes()).collect();
                    format!("{name}={masked}")
                } else {
                    pair.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A user name shortened to its first letter and domain: `a…@contoso.example`.
    pub fn user(&self, user: &str) -> String {
        if !self.enabled {
            return user.to_string();
        }
        mask_user(user)
    }

    /// Free text from a trace (server messages): e-mail addresses shortened and
    /// JWT-shaped strings masked.
    pub fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !self.enabled || (!text.contains('@') && !text.contains("eyJ")) {
            return Cow::Borrowed(text);
        }
        let words: Vec<String> = text
            .split(' ')
            .map(|w| {
                if w.contains("eyJ") && w.matches('.').count() >= 2 {
                    MASK.to_string()
                } else if looks_like_email(w) {
                    let trimmed = w.trim_matches(|c: char| !c.is_alphanumeric());
                    w.replace(trimmed, &mask_user(trimmed))
                } else {
                    w.to_string()
                }
            })
            .collect();
        Cow::Owned(words.join(" "))
    }
}

fn looks_like_email(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    match w.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.'),
        None => false,
    }
}

/// `adele.vance@contoso.example` → `a…@contoso.example`; `adele` → `a…`.
pub fn mask_user(user: &str) -> String {
    let user = user.trim();
    let (local, domain) = match user.split_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (user, None),
    };
    let first: String = local.chars().take(1).collect();
    match domain {
        Some(d) => format!("{first}…@{d}"),
        None if first.is_empty() => String::new(),
        None => format!("{first}…"),
    }
}

/// Replaces control characters (C0, DEL, C1, and so ESC sequences) with `�`, so
/// trace text printed on a terminal cannot move the cursor or change colours.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_control(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

fn is_control(c: char) -> bool {
    (c.is_control() && c != ' ')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_ids_and_mask_secrets() {
        let r = Redactor::new(true);
        let url = "https://app.example/cb?code=0.AXsecret&state=abc&client-request-id=f778#id_token=eyJa.eyJb.c&login_hint=adele%40contoso.example";
        let out = r.url(url);
        assert!(!out.contains("0.AXsecret"), "{out}");
        assert!(!out.contains("eyJa"), "{out}");
        assert!(out.contains("state=abc"));
        assert!(out.contains("client-request-id=f778"));
        assert!(
            out.contains("login_hint=a%E2%80%A6%40contoso.example"),
            "{out}"
        );
        assert_eq!(Redactor::new(false).url(url), url);
    }

    #[test]
    fn users_and_text() {
        assert_eq!(
            mask_user("adele.vance@contoso.example"),
            "a…@contoso.example"
        );
        assert_eq!(mask_user("adele"), "a…");
        let r = Redactor::new(true);
        assert_eq!(
            r.text("The user (adele@contoso.example) has token eyJa.eyJb.sig."),
            "The user (a…@contoso.example) has token [redacted]"
        );
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(terminal_safe("ok"), "ok");
        assert_eq!(
            terminal_safe("a\x1b[31mred\x07"),
            "a\u{FFFD}[31mred\u{FFFD}"
        );
        assert_eq!(terminal_safe("x\u{202E}y"), "x\u{FFFD}y");
    }
}
