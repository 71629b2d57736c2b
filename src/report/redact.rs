//! Redaction of every string that came from a trace, before any report prints it
//! (identity-wire.md §6): secrets masked, user names shortened, identifiers that
//! support needs (correlation/request ids, time stamps, codes, tenant and app ids)
//! kept. `--unsafe-show-secrets` turns it off. Terminal output is also stripped of
//! control characters here, so a trace cannot drive the user's terminal.

use std::borrow::Cow;

/// What a masked value is replaced with.
pub const MASK: &str = "[redacted]";

/// URL and form parameters whose values are secrets (§6.1–6.3), compared
/// case-insensitively.
const SECRET_PARAMS: &[&str] = &[
    "code",
    "access_token",
    "id_token",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "passwd",
    "accesspass",
    "otc",
    "flowtoken",
    "sft",
    "ctx",
    "canary",
    "apicanary",
    "device_code",
    "code_verifier",
    "wresult",
    "samlresponse",
    "t",
    "nap",
    "anon",
    "pprid",
    "ppft",
    "ppsx",
    "request",
    "session_state",
    "client_info",
    "dssotoken",
    "sso_nonce",
    "evo_code",
    "x-ms-refreshtokencredential",
];

/// Parameters that name a person (§6.6): shortened, not removed.
const PERSONAL_PARAMS: &[&str] = &[
    "login",
    "loginfmt",
    "username",
    "login_hint",
    "user",
    "upn",
    "email",
];

fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| name.eq_ignore_ascii_case(p))
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
                let decoded_name: String = form_urlencoded::parse(name.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                if value.is_empty() {
                    pair.to_string()
                } else if is_one_of(&decoded_name, SECRET_PARAMS) {
                    format!("{name}={MASK}")
                } else if is_one_of(&decoded_name, PERSONAL_PARAMS) {
                    let v: String = form_urlencoded::parse(format!("x={value}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
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
