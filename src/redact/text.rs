//! Redaction inside the strings of a trace: URLs and form bodies (parameter by
//! parameter), JSON bodies (key by key), and HTML, JavaScript and XML bodies
//! (`$Config`/`ServerData` members, hidden `<input>` fields, URL parameters in
//! attributes and scripts, SOAP elements, JWTs and e-mail addresses anywhere).
//!
//! Every rewrite changes values only, never the shape around them, and computes
//! a pseudonym from the *decoded* value, so a flow token sent as a URL parameter,
//! a JSON member and an HTML attribute gets the same pseudonym in all three.

use serde_json::Value;

use super::mask::Masker;
use crate::identity::jwt;
use crate::report::redact::{is_personal_key, is_personal_param, param_kind, SecretKind};

/// Nested parameters (`wctx`, `redirect_uri`) are followed this deep.
const MAX_DEPTH: usize = 3;

/// A URL (absolute, or a path with a query) with its secret parameters masked, its
/// user names pseudonymised and e-mail addresses in the path replaced.
pub fn url(m: &mut Masker, url: &str) -> String {
    url_at(m, url, 0)
}

fn url_at(m: &mut Masker, url: &str, depth: usize) -> String {
    let (base, fragment) = match url.find('#') {
        Some(i) => (&url[..i], Some(&url[i + 1..])),
        None => (url, None),
    };
    let (path, query) = match base.find('?') {
        Some(i) => (&base[..i], Some(&base[i + 1..])),
        None => (base, None),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(&emails(m, path));
    if let Some(q) = query {
        out.push('?');
        out.push_str(&params_at(m, q, depth));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&params_at(m, f, depth));
    }
    out
}

/// `application/x-www-form-urlencoded` parameters with secret values masked. Pairs
/// that need no change keep their original encoding.
pub fn params(m: &mut Masker, params: &str) -> String {
    params_at(m, params, 0)
}

fn params_at(m: &mut Masker, params: &str, depth: usize) -> String {
    if !params.contains('=') && !params.contains('@') && !params.contains("%40") {
        return params.to_string();
    }
    let pairs: Vec<String> = params
        .split('&')
        .map(|pair| {
            let Some((name, raw)) = pair.split_once('=') else {
                return pair.to_string();
            };
            if raw.is_empty() {
                return pair.to_string();
            }
            let name_decoded = decode_form(name);
            let value = decode_form(raw);
            let replaced = if let Some(kind) = param_kind(&name_decoded) {
                Some(m.secret(kind, &value))
            } else if is_personal_param(&name_decoded) {
                Some(m.user(&value))
            } else {
                let before = m.total();
                let nested = nested_value(m, &value, depth);
                (m.total() != before).then_some(nested)
            };
            match replaced {
                Some(v) if v != value => {
                    let enc: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    format!("{name}={enc}")
                }
                _ => pair.to_string(),
            }
        })
        .collect();
    pairs.join("&")
}

/// A parameter value that is not itself secret may still hold a URL, more
/// parameters (`wctx=estsredirect=2&estsrequest=…`), a JWT or an address.
fn nested_value(m: &mut Masker, value: &str, depth: usize) -> String {
    if depth >= MAX_DEPTH {
        return free_text(m, value);
    }
    let v = value.trim_start();
    if v.starts_with("http://") || v.starts_with("https://") || v.starts_with('/') {
        url_at(m, value, depth + 1)
    } else if value.contains('=') && !value.contains(' ') {
        params_at(m, value, depth + 1)
    } else {
        free_text(m, value)
    }
}

fn decode_form(s: &str) -> String {
    crate::http::form::decode(s).into_owned()
}

/// Free text: JWTs and e-mail addresses replaced.
pub fn free_text(m: &mut Masker, text: &str) -> String {
    let t = jwts(m, text);
    emails(m, &t)
}

/// Every JWT-shaped substring rewritten (header and safe claims kept).
pub fn jwts(m: &mut Masker, text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_string();
    }
    let found = jwt::find_jwts(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for t in found {
        let start = t.as_ptr() as usize - text.as_ptr() as usize;
        if jwt::decode(t).is_none() {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str(&m.jwt(t));
        last = start + t.len();
    }
    out.push_str(&text[last..]);
    out
}

/// E-mail addresses (also `%40`-encoded) replaced by user pseudonyms.
pub fn emails(m: &mut Masker, text: &str) -> String {
    if !text.contains('@') && !text.contains("%40") {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (at_len, encoded) = if bytes[i] == b'@' {
            (1, false)
        } else if bytes[i..].starts_with(b"%40") {
            (3, true)
        } else {
            i += 1;
            continue;
        };
        let local_ok = |b: u8| b.is_ascii_alphanumeric() || b"._+-".contains(&b);
        let domain_ok = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
        let mut start = i;
        while start > last && local_ok(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = i + at_len;
        while end < bytes.len() && domain_ok(bytes[end]) {
            end += 1;
        }
        while end > i + at_len && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let local = &text[start..i];
        let domain = &text[i + at_len..end];
        let tld_ok = domain
            .rsplit('.')
            .next()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()));
        if local.is_empty()
            || !domain.contains('.')
            || !tld_ok
            || domain.eq_ignore_ascii_case("pseudonym.invalid")
        {
            i += at_len;
            continue;
        }
        let address = format!("{local}@{domain}");
        let pseudonym = m.user(&address);
        out.push_str(&text[last..start]);
        if encoded {
            out.push_str(&pseudonym.replace('@', "%40"));
        } else {
            out.push_str(&pseudonym);
        }
        last = end;
        i = end;
    }
    out.push_str(&text[last..]);
    out
}

/// A JSON document with secret members masked and every string value redacted.
/// `None` when `text` is not JSON.
pub fn json(m: &mut Masker, text: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let before = m.total();
    json_value(m, &mut value, None);
    if m.total() == before {
        return Some(text.to_string());
    }
    serde_json::to_string(&value).ok()
}

/// Redacts a JSON value in place; `key` is the member name it sits under.
pub fn json_value(m: &mut Masker, value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                json_value(m, v, Some(k));
            }
        }
        Value::Array(items) => {
            for v in items {
                json_value(m, v, key);
            }
        }
        Value::String(s) => {
            let kind = key.and_then(param_kind);
            let replaced = if let Some(kind) = kind {
                m.secret(kind, s)
            } else if key.is_some_and(is_personal_key) {
                m.user(s)
            } else {
                string_value(m, s)
            };
            if replaced != *s {
                *s = replaced;
            }
        }
        _ => {}
    }
}

/// A string found in a structured place (a JSON member, an unknown HAR field):
/// a URL, markup, or free text.
pub fn string_value(m: &mut Masker, s: &str) -> String {
    let t = s.trim_start();
    if (t.starts_with("http://") || t.starts_with("https://")) && !t.contains(char::is_whitespace) {
        url(m, s)
    } else if t.starts_with('{') || t.starts_with('[') {
        json(m, s).unwrap_or_else(|| markup(m, s))
    } else if s.contains('<') || s.contains('=') || s.contains(':') {
        markup(m, s)
    } else {
        free_text(m, s)
    }
}

/// HTML, JavaScript, XML or any text: every pass that does not need a parser.
pub fn markup(m: &mut Masker, text: &str) -> String {
    let t = hidden_inputs(m, text);
    let t = key_values(m, &t);
    let t = url_params(m, &t);
    let t = xml_elements(m, &t);
    free_text(m, &t)
}

/// The kind of a name found in markup, `Err(())` for a user name, `None` for
/// anything else.
fn classify(name: &str) -> Option<Result<SecretKind, ()>> {
    if let Some(kind) = param_kind(name) {
        Some(Ok(kind))
    } else if is_personal_key(name) {
        Some(Err(()))
    } else {
        None
    }
}

fn mask_as(m: &mut Masker, class: Result<SecretKind, ()>, value: &str) -> String {
    match class {
        Ok(kind) => m.secret(kind, value),
        Err(()) => m.user(value),
    }
}

/// `<input … name="code" … value="…">`: the value of secret and personal fields,
/// also inside a JavaScript string (`\"` quotes, as in `sFTTag`).
fn hidden_inputs(m: &mut Masker, html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if !lower.contains("<input") {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(lower.as_bytes(), b"<input") {
        if at < last {
            continue;
        }
        let end = lower[at..].find('>').map_or(html.len(), |e| at + e);
        let tag_lower = &lower[at..end];
        let Some((_, name)) = attr_span(tag_lower, html, at, "name") else {
            continue;
        };
        let Some(class) = classify(&name) else {
            continue;
        };
        let Some(((vs, ve), raw)) = attr_span(tag_lower, html, at, "value") else {
            continue;
        };
        let decoded = decode_entities(&raw);
        let masked = mask_as(m, class, &decoded);
        if masked == decoded {
            continue;
        }
        out.push_str(&html[last..vs]);
        out.push_str(&masked);
        last = ve;
    }
    out.push_str(&html[last..]);
    out
}

/// The absolute byte span and text of attribute `name`'s value inside the tag
/// starting at `offset` (`tag_lower` is the lower-cased tag).
fn attr_span(
    tag_lower: &str,
    html: &str,
    offset: usize,
    name: &str,
) -> Option<((usize, usize), String)> {
    let b = tag_lower.as_bytes();
    let mut from = 0;
    while let Some(rel) = tag_lower[from..].find(name) {
        let at = from + rel;
        from = at + name.len();
        let before_ok = at > 0 && (b[at - 1].is_ascii_whitespace() || b[at - 1] == b'"');
        let mut j = from;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if !before_ok || b.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let (open_len, close): (usize, &str) = if tag_lower[j..].starts_with("\\\"") {
            (2, "\\\"")
        } else if tag_lower[j..].starts_with("\\'") {
            (2, "\\'")
        } else if b.get(j) == Some(&b'"') {
            (1, "\"")
        } else if b.get(j) == Some(&b'\'') {
            (1, "'")
        } else {
            let e = tag_lower[j..]
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .map_or(tag_lower.len(), |e| j + e);
            return Some((
                (offset + j, offset + e),
                html[offset + j..offset + e].to_string(),
            ));
        };
        let vs = j + open_len;
        let ve = tag_lower[vs..]
            .find(close)
            .map_or(tag_lower.len(), |e| vs + e);
        return Some((
            (offset + vs, offset + ve),
            html[offset + vs..offset + ve].to_string(),
        ));
    }
    None
}

fn decode_entities(s: &str) -> String {
    crate::identity::observe::decode_html_entities(s)
}

/// `"sFT":"…"`, `sFT:'…'`, `canary = "…"`: a secret or personal name followed by a
/// quoted value, in JSON, JavaScript literals and scripts.
fn key_values(m: &mut Masker, text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    while i < b.len() {
        if !ident(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && ident(b[i]) {
            i += 1;
        }
        let name = &text[start..i];
        if name.len() > 40 {
            continue;
        }
        let Some(class) = classify(name) else {
            continue;
        };
        // Optional closing quote of the key, then `:` or `=`.
        let mut j = i;
        if text[j..].starts_with("\\\"") || text[j..].starts_with("\\'") {
            j += 2;
        } else if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
            j += 1;
        }
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j >= b.len() || (b[j] != b':' && b[j] != b'=') {
            continue;
        }
        j += 1;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let (open_len, quote): (usize, &[u8]) = if text[j..].starts_with("\\\"") {
            (2, b"\\\"")
        } else if text[j..].starts_with("\\'") {
            (2, b"\\'")
        } else if j < b.len() && b[j] == b'"' {
            (1, b"\"")
        } else if j < b.len() && b[j] == b'\'' {
            (1, b"'")
        } else {
            continue;
        };
        let vs = j + open_len;
        let Some(ve) = closing_quote(b, vs, quote) else {
            continue;
        };
        let raw = &text[vs..ve];
        let decoded = js_unescape(raw);
        if decoded.is_empty() || decoded.starts_with('<') {
            i = ve;
            continue;
        }
        let masked = mask_as(m, class, &decoded);
        if masked != decoded {
            out.push_str(&text[last..vs]);
            out.push_str(&masked);
            last = ve;
        }
        i = ve;
    }
    if last == 0 {
        return text.to_string();
    }
    out.push_str(&text[last..]);
    out
}

/// Position of the quote that closes a string starting at `from`.
fn closing_quote(b: &[u8], from: usize, quote: &[u8]) -> Option<usize> {
    let mut k = from;
    while k < b.len() {
        if quote.len() == 1 && b[k] == b'\\' {
            k += 2;
            continue;
        }
        if b[k..].starts_with(quote) {
            return Some(k);
        }
        if b[k] == b'\n' {
            return None;
        }
        k += 1;
    }
    None
}

/// Undoes JavaScript string escapes (`\uXXXX`, `\/`, `\"`, `\'`, `\\`).
fn js_unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `?code=…`, `&amp;ctx=…`, `\u0026flowToken=…`: URL parameters inside markup.
fn url_params(m: &mut Masker, text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    while i < b.len() {
        let after_sep = match b[i] {
            b'?' | b'&' | b'#' | b';' => i + 1,
            b'\\' if text[i..].starts_with("\\u0026") => i + 6,
            _ => {
                i += 1;
                continue;
            }
        };
        let mut j = after_sep;
        while j < b.len() && ident(b[j]) {
            j += 1;
        }
        if j == after_sep || j >= b.len() || b[j] != b'=' {
            i = after_sep.max(i + 1);
            continue;
        }
        let name = &text[after_sep..j];
        let class = classify(name);
        let vs = j + 1;
        let ve = text[vs..]
            .find(|c: char| "&\"'<> \t\r\n#\\".contains(c))
            .map_or(text.len(), |e| vs + e);
        let raw = &text[vs..ve];
        let Some(class) = class else {
            // Nested, still-encoded parameters (`wctx=a%3d1%26estsrequest%3d…`).
            if raw.contains("%3d") || raw.contains("%3D") {
                let value = decode_form(raw);
                let before = m.total();
                let nested = params_at(m, &value, 1);
                if m.total() != before {
                    out.push_str(&text[last..vs]);
                    out.extend(form_urlencoded::byte_serialize(nested.as_bytes()));
                    last = ve;
                }
            }
            i = ve.max(i + 1);
            continue;
        };
        let value = decode_form(raw);
        if !value.is_empty() {
            let masked = mask_as(m, class, &value);
            if masked != value {
                out.push_str(&text[last..vs]);
                out.extend(form_urlencoded::byte_serialize(masked.as_bytes()));
                last = ve;
            }
        }
        i = ve.max(i + 1);
    }
    if last == 0 {
        return text.to_string();
    }
    out.push_str(&text[last..]);
    out
}

/// SOAP and SAML elements whose content is a secret (§6.1): `wsse:Password`,
/// `BinarySecurityToken`, `DesktopSsoToken`, SAML `Assertion`; `Username` is a
/// user name.
fn xml_elements(m: &mut Masker, text: &str) -> String {
    const ELEMENTS: &[(&str, Option<SecretKind>)] = &[
        ("Password", Some(SecretKind::Password)),
        ("BinarySecurityToken", Some(SecretKind::Token)),
        ("DesktopSsoToken", Some(SecretKind::Token)),
        ("Assertion", Some(SecretKind::Saml)),
        ("Username", None),
    ];
    if !text.contains("</") {
        return text.to_string();
    }
    let mut current = text.to_string();
    for (local, kind) in ELEMENTS {
        if !current.contains(local) {
            continue;
        }
        let mut out = String::with_capacity(current.len());
        let mut last = 0;
        let b = current.as_bytes();
        let mut from = 0;
        while let Some(rel) = current[from..].find(local) {
            let at = from + rel;
            from = at + local.len();
            // `<Local` or `<prefix:Local`, followed by `>`, `/` or a space.
            let lt = current[..at].rfind('<');
            let Some(lt) = lt else { continue };
            let qname = &current[lt + 1..at + local.len()];
            let prefix_ok = qname.len() == local.len()
                || (qname.ends_with(&format!(":{local}"))
                    && qname[..qname.len() - local.len() - 1]
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
            let next = b.get(at + local.len()).copied();
            if !prefix_ok || !matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')) {
                continue;
            }
            let Some(gt) = current[at..].find('>').map(|e| at + e) else {
                continue;
            };
            if current[..gt].ends_with('/') {
                continue;
            }
            let close = format!("</{qname}>");
            let Some(ce) = current[gt + 1..].find(&close).map(|e| gt + 1 + e) else {
                continue;
            };
            let content = &current[gt + 1..ce];
            if content.trim().is_empty() || content.starts_with("redacted-") {
                from = ce;
                continue;
            }
            let masked = match kind {
                Some(k) => m.secret(*k, content),
                None => m.user(content),
            };
            out.push_str(&current[last..gt + 1]);
            out.push_str(&masked);
            last = ce;
            from = ce;
        }
        if last > 0 {
            out.push_str(&current[last..]);
            current = out;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_mask_by_decoded_value() {
        let mut m = Masker::new();
        let a = url(
            &mut m,
            "https://login.example/x?ctx=rQQIAR%2BAA&client-request-id=abc&login_hint=adele%40contoso.example",
        );
        assert!(a.contains("client-request-id=abc"), "{a}");
        assert!(!a.contains("rQQIAR"), "{a}");
        assert!(!a.contains("adele"), "{a}");
        let page = r#"<script>$Config={"sCtx":"rQQIAR+AA","urlPost":"/common/reprocess?ctx=rQQIAR%2bAA\u0026x=1"};</script>"#;
        let p = markup(&mut m, page);
        let pseudo = m.secret(SecretKind::FlowToken, "rQQIAR+AA");
        assert_eq!(p.matches(&pseudo).count(), 2, "{p}");
        assert!(a.contains(&pseudo), "{a}");
    }

    #[test]
    fn nested_wctx_is_followed() {
        let mut m = Masker::new();
        let a = url(
            &mut m,
            "https://sts.example/adfs/ls/?wa=wsignin1.0&wctx=estsredirect%3d2%26estsrequest%3drQQIARAAhd8A",
        );
        assert!(!a.contains("rQQIARAAhd8A"), "{a}");
        assert!(a.contains("wa=wsignin1.0"), "{a}");
        let form = markup(
            &mut m,
            r#"<input type="hidden" name="wctx" value="estsredirect=2&amp;estsrequest=rQQIARAAhd8A" />"#,
        );
        assert!(!form.contains("rQQIARAAhd8A"), "{form}");
    }

    #[test]
    fn hidden_inputs_and_js_literals() {
        let mut m = Masker::new();
        let html = r#"var ServerData = {urlPost:'https://login.live.com/ppsecure/post.srf?contextid=AB',sFTTag:'<input type="hidden" name="PPFT" id="i0327" value="DfPmsa*!Flow$"/>',sUnauthSessionID:'9b1d'};
<form><input type="hidden" name="code" value="0.AXsecretcode"><INPUT TYPE='hidden' NAME='state' VALUE='abc'></form>
<p>Password: <input name="passwd" type="password" value="Sample-Passw0rd!"></p>"#;
        let out = markup(&mut m, html);
        for secret in ["DfPmsa*!Flow$", "0.AXsecretcode", "Sample-Passw0rd!"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("VALUE='abc'"));
        assert!(out.contains("contextid=AB"));
    }

    #[test]
    fn json_members_and_emails() {
        let mut m = Masker::new();
        let out = json(
            &mut m,
            r#"{"Username":"adele@contoso.example","FlowToken":"AQABAAEAAAD","apiCanary":"c1234567","IfExistsResult":0,"Credentials":{"FederationRedirectUrl":"https://sts.example/adfs/ls/?username=adele%40contoso.example"}}"#,
        )
        .unwrap();
        assert!(!out.contains("adele"), "{out}");
        assert!(!out.contains("AQABAAEAAAD"), "{out}");
        assert!(out.contains("\"IfExistsResult\":0"));
        let text = free_text(&mut m, "user Adele@Contoso.example failed");
        assert_eq!(text.matches("@pseudonym.invalid").count(), 1, "{text}");
    }

    #[test]
    fn soap_elements() {
        let mut m = Masker::new();
        let xml = "<s:Envelope><wsse:UsernameToken><wsse:Username>adele@contoso.example</wsse:Username><wsse:Password>Sample-Passw0rd!</wsse:Password></wsse:UsernameToken></s:Envelope>";
        let out = markup(&mut m, xml);
        assert!(!out.contains("Sample-Passw0rd!"), "{out}");
        assert!(!out.contains("adele@"), "{out}");
        assert!(out.contains("<wsse:Password>redacted-password</wsse:Password>"));
    }
}
