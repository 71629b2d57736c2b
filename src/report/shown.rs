//! Redaction of every string that came from a trace, before any report prints it
//! (the README's secret policy): secrets masked, user names shortened, identifiers that
//! support needs (correlation/request ids, time stamps, codes, tenant and app ids)
//! kept. `--unsafe-show-secrets` turns it off. Terminal output is also stripped of
//! control characters here, so a trace cannot drive the user's terminal.
//!
//! What is a secret is decided by [`crate::secrets`] (shared with `aadtrace
//! redact`); this module only says what a secret becomes in a report: `[redacted]`,
//! and a user name its first letter and domain.

use std::borrow::Cow;

use crate::secrets::{self, scan, Masking};
pub use crate::secrets::{
    cookie_is_kept, header_rule, is_personal_key, is_personal_param, param_kind, HeaderRule,
    SecretKind,
};

/// What a masked value is replaced with.
pub const MASK: &str = "[redacted]";

/// The reports' masking: every secret and JWT becomes [`MASK`], a user name is
/// shortened ([`mask_user`]).
struct ReportMask(u64);

impl Masking for ReportMask {
    fn secret(&mut self, _kind: SecretKind, value: &str) -> String {
        if value == MASK {
            return value.to_string();
        }
        self.0 += 1;
        MASK.to_string()
    }
    fn user(&mut self, value: &str) -> String {
        if value.contains('…') && !value.contains('=') {
            return value.to_string();
        }
        self.0 += 1;
        // The domain is kept, so what trails it (`…;pwd=…`) is scanned too.
        scan::free_text(&mut ReportMask(0), &mask_user(value))
    }
    fn jwt(&mut self, _token: &str) -> String {
        self.0 += 1;
        MASK.to_string()
    }
    fn replaced(&self) -> u64 {
        self.0
    }
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

    /// A URL with its secrets masked ([`scan::url`]: userinfo, path parameters and
    /// JWTs, query and fragment parameters, nested values) and user names shortened.
    pub fn url<'u>(&self, url: &'u str) -> Cow<'u, str> {
        if !self.enabled {
            return Cow::Borrowed(url);
        }
        Cow::Owned(scan::url(&mut ReportMask(0), url))
    }

    /// URL-encoded parameters with secret values masked, keeping the original
    /// encoding of everything else.
    pub fn params(&self, params: &str) -> String {
        if !self.enabled {
            return params.to_string();
        }
        scan::params(&mut ReportMask(0), params)
    }

    /// A user name shortened to its first letter and domain: `a…@contoso.example`.
    pub fn user(&self, user: &str) -> String {
        if !self.enabled {
            return user.to_string();
        }
        ReportMask(0).user(user)
    }

    /// Free text from a trace (server messages, ids, page names): everything
    /// [`scan::free_text`] finds (secret `name=value` pairs, URL userinfo, JWTs,
    /// encoded secrets) masked and e-mail addresses shortened.
    pub fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        // All ASCII: no byte of another character can be one of them.
        let plain = |b: u8| !matches!(b, b'@' | b'=' | b':' | b'%' | b'"' | b'\'');
        if !self.enabled || (text.bytes().all(plain) && !text.contains("eyJ")) {
            return Cow::Borrowed(text);
        }
        let out = scan::free_text(&mut ReportMask(0), text);
        if out == text {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(out)
        }
    }
}

impl Redactor {
    /// A header value, redacted by the header's rule ([`header_rule`], the same
    /// policy `aadtrace redact` applies): credentials and secret cookies
    /// masked with their scheme, names and attributes kept; URLs and free text
    /// scanned.
    pub fn header(&self, name: &str, value: &str) -> String {
        if !self.enabled {
            return value.to_string();
        }
        let mut m = ReportMask(0);
        match header_rule(name) {
            HeaderRule::Authorization => {
                secrets::credential(&mut m, value, SecretKind::Authorization)
            }
            HeaderRule::Cookie => value
                .split(';')
                .map(|part| self.cookie_pair(part))
                .collect::<Vec<_>>()
                .join(";"),
            HeaderRule::SetCookie => value
                .split('\n')
                .map(|line| match line.find(';') {
                    Some(i) => format!("{}{}", self.cookie_pair(&line[..i]), self.text(&line[i..])),
                    None => self.cookie_pair(line),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            HeaderRule::Secret(_) => MASK.to_string(),
            HeaderRule::AnchorMailbox => match value.split_once(':') {
                Some((prefix, rest)) if prefix.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    format!("{prefix}:{}", m.user(rest))
                }
                _ => m.user(value),
            },
            HeaderRule::Url => self.url(value).into_owned(),
            HeaderRule::Challenge => {
                let scheme = value.split_whitespace().next().unwrap_or("");
                if ["negotiate", "ntlm", "kerberos"].contains(&scheme.to_ascii_lowercase().as_str())
                {
                    secrets::credential(&mut m, value, SecretKind::Authorization)
                } else {
                    self.text(value).into_owned()
                }
            }
            HeaderRule::IpAddress | HeaderRule::Text => self.text(value).into_owned(),
        }
    }

    /// One `name=value` cookie: the value masked unless the cookie is a kept
    /// routing hint ([`cookie_is_kept`]).
    fn cookie_pair(&self, part: &str) -> String {
        let trimmed = part.trim_start();
        let lead = &part[..part.len() - trimmed.len()];
        match trimmed.split_once('=') {
            Some((name, _)) if !cookie_is_kept(name) => format!("{lead}{name}={MASK}"),
            Some(_) => part.to_string(),
            // A cookie without `=` is a value alone.
            None if trimmed.is_empty() => part.to_string(),
            None => format!("{lead}{MASK}"),
        }
    }

    /// The value of a form, query or JSON field named `name`: masked when the
    /// name says secret ([`param_kind`]), shortened when it names a person,
    /// scanned as free text otherwise.
    pub fn field(&self, name: &str, value: &str) -> String {
        if !self.enabled {
            return value.to_string();
        }
        if param_kind(name).is_some() {
            MASK.to_string()
        } else if is_personal_key(name) {
            self.user(value)
        } else {
            self.text(value).into_owned()
        }
    }

    /// A JSON value with every string redacted as [`Redactor::field`] of the
    /// key it sits under (array items under their array's key).
    pub fn json(&self, value: &serde_json::Value) -> serde_json::Value {
        self.json_under("", value, 0)
    }

    fn json_under(&self, key: &str, value: &serde_json::Value, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match value {
            // Past a sane depth a value is shown as masked rather than walked.
            _ if depth > 64 && self.enabled => Value::String(MASK.into()),
            Value::String(s) => Value::String(self.field(key, s)),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.json_under(key, v, depth + 1))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            // A secret number (a one-time code) is masked too.
                            Value::Number(_) if self.enabled && param_kind(k).is_some() => {
                                Value::String(MASK.into())
                            }
                            v => self.json_under(k, v, depth + 1),
                        };
                        (self.text(k).into_owned(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
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
/// Line breaks and tabs (a server message's `\r\n Trace ID: …`) become one
/// space each: a line of the report stays one line, and reads as text.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    // Printable ASCII, the common case, is checked a byte at a time (which
    // vectorises) before any character is decoded.
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) || !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' | '\t' => out.push(' '),
            c if is_control(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
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

    /// Found by the `secrets` fuzz target: a value the pair scanner writes back
    /// percent-encoded can spell the fuzz marker by chance (`?z9Secret` becomes
    /// `%3Fz9Secret`); the password after it is still masked.
    #[test]
    fn a_password_after_a_value_that_encodes_to_the_marker_is_masked() {
        let r = Redactor::new(true);
        let text = "ey==1c=%=@R?z9Secret:/:%A:%Adc=%=";
        let alone = r.text(text);
        let planted = r.text(&format!("{text} password=Fz9Secret")).into_owned();
        assert!(planted.ends_with(" password=[redacted]"), "{planted}");
        assert_eq!(
            planted.matches("Fz9Secret").count(),
            alone.matches("Fz9Secret").count(),
            "{alone} / {planted}"
        );
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
            r.user("adele@contoso.example;pwd=Secret1"),
            "a…@contoso.example;pwd=[redacted]"
        );
        let r = Redactor::new(true);
        assert_eq!(
            r.text("The user (adele@contoso.example) has token eyJa.eyJb.sig."),
            "The user (a…@contoso.example) has token [redacted]."
        );
    }

    #[test]
    fn headers_fields_and_json() {
        let r = Redactor::new(true);
        assert_eq!(
            r.header("Authorization", "Bearer eyJa.eyJb.c"),
            "Bearer [redacted]"
        );
        assert_eq!(
            r.header("Cookie", "ESTSAUTH=s3cret; x-ms-gateway-slice=estsfd"),
            "ESTSAUTH=[redacted]; x-ms-gateway-slice=estsfd"
        );
        assert_eq!(
            r.header(
                "Set-Cookie",
                "ESTSAUTH=s3cret; path=/; secure; HttpOnly; SameSite=None"
            ),
            "ESTSAUTH=[redacted]; path=/; secure; HttpOnly; SameSite=None"
        );
        assert_eq!(r.field("passwd", "Sample-Passw0rd!"), MASK);
        assert_eq!(
            r.field("login", "adele@contoso.example"),
            "a…@contoso.example"
        );
        let j = serde_json::json!({"password": "x", "otc": 123456, "list": [{"refresh_token": "rt"}], "ok": "y"});
        let out = r.json(&j).to_string();
        assert!(
            !out.contains("\"x\"") && !out.contains("123456") && !out.contains("\"rt\""),
            "{out}"
        );
        assert!(out.contains("\"ok\":\"y\""), "{out}");
        let off = Redactor::new(false);
        assert_eq!(off.header("Cookie", "ESTSAUTH=s3cret"), "ESTSAUTH=s3cret");
        assert_eq!(off.json(&j), j);
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(terminal_safe("ok"), "ok");
        assert_eq!(
            terminal_safe("a\x1b[31mred\x07"),
            "a\u{FFFD}[31mred\u{FFFD}"
        );
        assert_eq!(terminal_safe("x\u{202E}y"), "x\u{FFFD}y");
        assert_eq!(
            terminal_safe("again.\r\nTrace ID: 1\nx\ty\rz"),
            "again. Trace ID: 1 x y z"
        );
    }
}
