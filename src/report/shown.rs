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

pub use crate::secrets::{
    cookie_is_kept, header_rule, is_personal_key, is_personal_param, param_kind, HeaderRule,
    SecretKind,
};
use crate::secrets::{scan, Masking};

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
        let plain = |c: char| !matches!(c, '@' | '=' | ':' | '%' | '"' | '\'');
        if !self.enabled || (text.chars().all(plain) && !text.contains("eyJ")) {
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
    fn control_characters_are_neutralised() {
        assert_eq!(terminal_safe("ok"), "ok");
        assert_eq!(
            terminal_safe("a\x1b[31mred\x07"),
            "a\u{FFFD}[31mred\u{FFFD}"
        );
        assert_eq!(terminal_safe("x\u{202E}y"), "x\u{FFFD}y");
    }
}
