//! Finding secrets by shape inside strings, for every output: URLs (userinfo,
//! path parameters, JWT path segments, query and fragment parameters, nested
//! URLs and parameters), free text (server messages, HAR comments, header
//! values, ids from the trace), and multipart form bodies.
//!
//! Every scanner changes values only, never the text around them, and hands each
//! value to a [`Masking`] by what it is. A value that is not itself secret but
//! holds more parameters (`redirect_uri`, `state`, `wctx`), also percent-encoded
//! once more, is decoded and looked inside, up to [`MAX_DEPTH`] levels.

use super::{classify, Masking, SecretKind};
use crate::http::form;

/// Nested values (`redirect_uri` inside `state` inside …) are followed this deep.
pub const MAX_DEPTH: usize = 3;

/// Field names longer than this are not names (minified code, base64 runs).
const MAX_NAME: usize = 40;

fn mask_as(m: &mut dyn Masking, class: Result<SecretKind, ()>, value: &str) -> String {
    match class {
        Ok(kind) => m.secret(kind, value),
        Err(()) => m.user(value),
    }
}

/// A replaced value as it goes back into a URL or form: left as it is when it
/// needs no escaping (`[redacted]`, pseudonyms, JWTs), form-encoded otherwise.
pub fn form_encode(value: &str) -> String {
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~[]*".contains(&b))
    {
        value.to_string()
    } else {
        form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }
}

/// Percent-decoding only (no `+` → space): for text that was encoded as a URL
/// component rather than as a form.
fn percent_decode(raw: &str) -> String {
    form::decode(&raw.replace('+', "%2B")).into_owned()
}

fn has_escape(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(2))
        .any(|i| b[i] == b'%' && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
}

/// A URL (absolute, or a path with a query) with its secrets masked: the
/// password of its userinfo (the user name as a user), secret path parameters
/// (`;jsessionid=`), JWTs and e-mail addresses in the path, secret query and
/// fragment parameters, and secrets nested in other parameters.
pub fn url(m: &mut dyn Masking, url: &str) -> String {
    url_at(m, url, 0)
}

fn url_at(m: &mut dyn Masking, url: &str, depth: usize) -> String {
    let (base, fragment) = match url.find('#') {
        Some(i) => (&url[..i], Some(&url[i + 1..])),
        None => (url, None),
    };
    let (path, query) = match base.find('?') {
        Some(i) => (&base[..i], Some(&base[i + 1..])),
        None => (base, None),
    };
    let mut out = String::with_capacity(url.len());
    let (authority_end, with_userinfo) = authority(m, path);
    out.push_str(&with_userinfo);
    out.push_str(&path_part(m, &path[authority_end..]));
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

/// The `scheme://user:password@host` part of `path` with its userinfo masked
/// (RFC 3986 §3.2.1), and where it ends.
fn authority(m: &mut dyn Masking, path: &str) -> (usize, String) {
    let Some(scheme_end) = path.find("://") else {
        return (0, String::new());
    };
    if !path[..scheme_end]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return (0, String::new());
    }
    let start = scheme_end + 3;
    let end = path[start..].find('/').map_or(path.len(), |e| start + e);
    let auth = &path[start..end];
    let Some(at) = auth.rfind('@') else {
        return (end, path[..end].to_string());
    };
    let userinfo = &auth[..at];
    let masked = match userinfo.split_once(':') {
        Some((user, password)) => {
            let user = if user.is_empty() {
                String::new()
            } else {
                form_encode(&m.user(&form::decode(user)))
            };
            let password = if password.is_empty() {
                String::new()
            } else {
                form_encode(&m.secret(SecretKind::Password, &form::decode(password)))
            };
            format!("{user}:{password}")
        }
        None => form_encode(&m.user(&form::decode(userinfo))),
    };
    (
        end,
        format!("{}{masked}{}", &path[..start], &path[start + at..end]),
    )
}

/// A URL path: secret path parameters (`/x;jsessionid=…`), JWTs and addresses.
fn path_part(m: &mut dyn Masking, path: &str) -> String {
    let with_params = if path.contains(';') {
        path.split('/')
            .map(|segment| match segment.split_once(';') {
                Some((head, params)) => {
                    let masked: Vec<String> = params
                        .split(';')
                        .map(|p| params_at(m, p, MAX_DEPTH))
                        .collect();
                    format!("{head};{}", masked.join(";"))
                }
                None => segment.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    } else {
        path.to_string()
    };
    let with_jwts = jwts(m, &with_params);
    emails(m, &with_jwts)
}

/// `application/x-www-form-urlencoded` parameters (a query, a fragment, a form
/// body) with secret values masked and user names replaced. Pairs that need no
/// change keep their original encoding.
pub fn params(m: &mut dyn Masking, params: &str) -> String {
    params_at(m, params, 0)
}

fn params_at(m: &mut dyn Masking, params: &str, depth: usize) -> String {
    if !params.contains('=') && !params.contains('@') && !params.contains("%40") {
        return jwts(m, params);
    }
    // `;` separates pairs too (HTML 4 forms; `client_id=X;code=…` must not hide
    // a code inside an id). Each separator is written back as it was.
    let mut out = String::with_capacity(params.len());
    let seps: Vec<char> = params.chars().filter(|c| *c == '&' || *c == ';').collect();
    let pairs: Vec<String> = params
        .split(['&', ';'])
        .map(|pair| {
            let Some((name, raw)) = pair.split_once('=') else {
                return jwts(m, pair);
            };
            if raw.is_empty() {
                return pair.to_string();
            }
            let value = form::decode(raw).into_owned();
            let replaced = match classify(&form::decode(name)) {
                Some(class) => Some(mask_as(m, class, &value)),
                None => {
                    let before = m.replaced();
                    let nested = nested_value(m, &value, depth);
                    (m.replaced() != before).then_some(nested)
                }
            };
            match replaced {
                Some(v) if v != value => format!("{name}={}", form_encode(&v)),
                _ => pair.to_string(),
            }
        })
        .collect();
    for (k, pair) in pairs.iter().enumerate() {
        if k > 0 {
            out.push(seps[k - 1]);
        }
        out.push_str(pair);
    }
    out
}

/// A parameter value that is not itself secret may still hold a URL, more
/// parameters (`wctx=estsredirect=2&estsrequest=…`), an encoding of either
/// (a double-encoded `state`), a JWT or an address.
fn nested_value(m: &mut dyn Masking, value: &str, depth: usize) -> String {
    if depth >= MAX_DEPTH {
        return free_text_at(m, value, depth);
    }
    let v = value.trim_start();
    if v.starts_with("http://") || v.starts_with("https://") || v.starts_with('/') {
        url_at(m, value, depth + 1)
    } else if value.contains('=') && !value.contains(char::is_whitespace) {
        params_at(m, value, depth + 1)
    } else if has_escape(value) {
        let before = m.replaced();
        let inner = nested_value(m, &percent_decode(value), depth + 1);
        if m.replaced() == before {
            value.to_string()
        } else {
            form_urlencoded::byte_serialize(inner.as_bytes()).collect()
        }
    } else {
        free_text_at(m, value, depth)
    }
}

/// Free text (a server message, a HAR comment, a header value, an id copied
/// from a trace, markup): URL userinfo, secret `name=value`, `name: "value"`
/// and `"name":"value"` pairs, percent-encoded words that hide either, JWTs and
/// e-mail addresses.
pub fn free_text(m: &mut dyn Masking, text: &str) -> String {
    free_text_at(m, text, 0)
}

fn free_text_at(m: &mut dyn Masking, text: &str, depth: usize) -> String {
    if !has_free_text_trigger(text) {
        return text.to_string();
    }
    every_free_text_stage(m, text, depth)
}

/// Whether any stage of [`free_text`] could change `text`: each one starts
/// from a `@` (addresses, userinfo), `=` or `:` (pairs, userinfo), `%`
/// (encoded words) or `eyJ` (JWTs), and returns text without its trigger as
/// it is. Most parameter values of a URL have none: checking once spares
/// five copies of each (issue #15).
fn has_free_text_trigger(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b'@' | b'=' | b':' | b'%')) || text.contains("eyJ")
}

fn every_free_text_stage(m: &mut dyn Masking, text: &str, depth: usize) -> String {
    let t = userinfo_in_text(m, text);
    let t = pairs(m, &t, depth);
    let t = if depth < MAX_DEPTH && has_escape(&t) {
        encoded_words(m, &t, depth)
    } else {
        t
    };
    let t = jwts(m, &t);
    emails(m, &t)
}

/// `scheme://user:password@host` anywhere in text.
fn userinfo_in_text(m: &mut dyn Masking, text: &str) -> String {
    if !text.contains("://") || !text.contains('@') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(rel) = text[from..].find("://") {
        let sep = from + rel;
        let mut start = sep;
        while start > last
            && (b[start - 1].is_ascii_alphanumeric() || b"+-.".contains(&b[start - 1]))
        {
            start -= 1;
        }
        let end = text[sep + 3..]
            .find(|c: char| c.is_whitespace() || "/?#\"'<>".contains(c))
            .map_or(text.len(), |e| sep + 3 + e);
        from = end.max(sep + 3);
        if start == sep || !text[sep + 3..end].contains('@') {
            continue;
        }
        let (_, masked) = authority(m, &text[start..end]);
        out.push_str(&text[last..start]);
        out.push_str(&masked);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Whitespace-separated words holding percent escapes: decoded and looked
/// inside; a word that hid a secret is written back encoded, the secret masked.
fn encoded_words(m: &mut dyn Masking, text: &str, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let gap = rest
            .find(|c: char| is_encoded_char(c))
            .unwrap_or(rest.len());
        out.push_str(&rest[..gap]);
        rest = &rest[gap..];
        let end = rest
            .find(|c: char| !is_encoded_char(c))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if !has_escape(word) {
            out.push_str(word);
            continue;
        }
        let before = m.replaced();
        let decoded = percent_decode(word);
        let inner = if decoded.contains("://") || decoded.starts_with('/') {
            url_at(m, &decoded, depth + 1)
        } else {
            free_text_at(m, &decoded, depth + 1)
        };
        if m.replaced() == before {
            out.push_str(word);
        } else {
            out.extend(form_urlencoded::byte_serialize(inner.as_bytes()));
        }
    }
    out
}

/// A character of a percent-encoded word: what form encoding leaves as it is,
/// `+` and `%`. A word is a run of these, never more: minified script holds
/// encoded values between quotes and braces with no space around them, and
/// re-encoding more than the run would rewrite the script around it.
fn is_encoded_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "%-._~+*".contains(c)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The quote that opens a value at `at`: `"`, `'`, `\"`, `\'` or `&quot;`.
fn open_quote(text: &str, at: usize) -> Option<&'static str> {
    let rest = &text[at..];
    ["\\\"", "\\'", "&quot;", "\"", "'"]
        .into_iter()
        .find(|q| rest.starts_with(q))
}

/// Position of the quote that closes a string starting at `from`, on the same line.
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
pub fn js_unescape(raw: &str) -> String {
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

/// Bytes that end an unquoted value.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || "&\"'<>#\\;".contains(c)
}

/// Secret and personal `name=value`, `name: "value"`, `"name":"value"`,
/// `name:'value'` pairs in any text: query-like runs (`?code=…`, `&amp;ctx=…`,
/// `\u0026flowToken=…`, `;jsessionid=…`), JSON and JavaScript literals, server
/// messages that echo a request. An unquoted value after `:` counts only for
/// credentials (`password: …`), so `code: 50126` stays. A parameter that is not
/// secret but holds encoded parameters (`wctx=a%3d1%26estsrequest%3d…`) is
/// decoded and looked inside.
pub fn pairs(m: &mut dyn Masking, text: &str, depth: usize) -> String {
    if !text.contains('=') && !text.contains(':') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = Splice::new(text);
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) {
            i += 1;
            continue;
        }
        let (start, end) = name_at(text, i);
        i = end;
        let name = &text[start..end];
        if name.is_empty() || name.len() > MAX_NAME || !name_boundary(b, start) {
            continue;
        }
        let Some((sep, quoted_key, after)) = separator(text, end) else {
            continue;
        };
        let class = classify(name);
        let Some(class) = class else {
            if sep == b'=' && !quoted_key {
                i = nested_pair(m, text, after, depth, &mut out).unwrap_or(i);
            }
            continue;
        };
        let j = skip_blanks(b, after);
        let found = match open_quote(text, j) {
            Some(q) => quoted_value(text, j, q),
            None => unquoted_value(text, j, class, sep),
        };
        let Some((vs, ve, value)) = found else {
            continue;
        };
        i = ve.max(i);
        if value.is_empty() || value.starts_with('<') {
            continue;
        }
        let masked = mask_as(m, class, &value);
        if masked != value {
            out.replace(vs, ve, &masked);
        }
    }
    out.finish()
}

/// A text with some spans replaced, built as it is scanned.
struct Splice<'t> {
    text: &'t str,
    out: String,
    last: usize,
}

impl<'t> Splice<'t> {
    fn new(text: &'t str) -> Self {
        Splice {
            text,
            out: String::new(),
            last: 0,
        }
    }

    /// Replaces `start..end`, which lies after every earlier replacement.
    fn replace(&mut self, start: usize, end: usize, with: &str) {
        self.out.push_str(&self.text[self.last..start]);
        self.out.push_str(with);
        self.last = end;
    }

    fn finish(mut self) -> String {
        if self.last == 0 {
            return self.text.to_string();
        }
        self.out.push_str(&self.text[self.last..]);
        self.out
    }
}

/// The identifier starting at `i`, without a leading `\u0026` escape (a
/// separator in JavaScript strings, not part of the name).
fn name_at(text: &str, i: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let mut end = i;
    while end < b.len() && is_ident(b[end]) {
        end += 1;
    }
    let start = if text[i..end].starts_with("u0026") && i > 0 && b[i - 1] == b'\\' {
        i + 5
    } else {
        i
    };
    (start, end)
}

/// A name starts a pair unless it is a member (`obj.t=`, `$t=`) of code.
fn name_boundary(b: &[u8], start: usize) -> bool {
    start == 0 || !matches!(b[start - 1], b'.' | b'$')
}

fn skip_blanks(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
        j += 1;
    }
    j
}

/// After a name: an optional closing quote of the key, blanks, then `:` or
/// `=`. Returns the separator, whether the key was quoted, and where the value
/// may start.
fn separator(text: &str, end: usize) -> Option<(u8, bool, usize)> {
    let b = text.as_bytes();
    let key_quote = open_quote(text, end);
    let j = skip_blanks(b, end + key_quote.map_or(0, str::len));
    let sep = *b.get(j).filter(|c| **c == b':' || **c == b'=')?;
    Some((sep, key_quote.is_some(), j + 1))
}

/// A quoted value opened by `quote` at `j`: its span and its unescaped text.
fn quoted_value(text: &str, j: usize, quote: &str) -> Option<(usize, usize, String)> {
    let vs = j + quote.len();
    let ve = closing_quote(text.as_bytes(), vs, quote.as_bytes())?;
    let raw = &text[vs..ve];
    let value = if quote == "&quot;" {
        raw.replace("&amp;", "&")
    } else {
        js_unescape(raw)
    };
    Some((vs, ve, value))
}

/// An unquoted value at `j`: after `=` always, after `:` only for credentials
/// whose value is not a plain word (`old password: Entra admin centre` is
/// prose; `password: Hunter2` is not). `Authorization: Bearer xyz` takes the
/// scheme and the credential.
fn unquoted_value(
    text: &str,
    j: usize,
    class: Result<SecretKind, ()>,
    sep: u8,
) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    if sep == b':' && !class.is_ok_and(SecretKind::is_credential) {
        return None;
    }
    let value_end = |from: usize| {
        text[from..]
            .find(ends_value)
            .map_or(text.len(), |e| from + e)
    };
    let mut ve = value_end(j);
    if class == Ok(SecretKind::Authorization) && ve < b.len() && b[ve] == b' ' {
        let scheme = text[j..ve].to_ascii_lowercase();
        if ["basic", "bearer", "negotiate", "ntlm", "digest", "pkeyauth"].contains(&scheme.as_str())
        {
            ve = value_end(ve + 1);
        }
    }
    let raw = &text[j..ve];
    if sep == b':' && is_word(raw) {
        return None;
    }
    Some((j, ve, form::decode(raw).into_owned()))
}

/// A pair whose name is not secret may still hold still-encoded parameters
/// (`wctx=a%3d1%26estsrequest%3d…`): decoded and looked inside. Returns where
/// scanning goes on when the value was replaced; otherwise the value is scanned
/// on like any text (`href=x?code=…`).
fn nested_pair(
    m: &mut dyn Masking,
    text: &str,
    j: usize,
    depth: usize,
    out: &mut Splice<'_>,
) -> Option<usize> {
    let ve = text[j..].find(ends_value).map_or(text.len(), |e| j + e);
    let raw = &text[j..ve];
    if depth >= MAX_DEPTH || !has_escape(raw) {
        return None;
    }
    let before = m.replaced();
    let nested = nested_value(m, &form::decode(raw), depth + 1);
    if m.replaced() == before {
        return None;
    }
    out.replace(j, ve, &form_encode(&nested));
    Some(ve)
}

/// A capitalised or lower-case word of letters only.
fn is_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(char::is_alphabetic)
        && chars.all(|c| c.is_alphabetic() && c.is_lowercase())
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// JWT-shaped substrings (RFC 7519 §3: a base64url JSON header, `eyJ…`, then
/// two more dot-separated base64url parts; a JWE, RFC 7516 §7.1, has five), as
/// byte spans. Shape only: a token that does not decode is still a secret.
pub fn find_jwts(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rel) = memchr::memmem::find(&b[from..], b"eyJ") {
        let start = from + rel;
        from = start + 3;
        if start > 0 && is_b64url(b[start - 1]) {
            continue;
        }
        let run = |at: usize| b[at..].iter().take_while(|c| is_b64url(**c)).count();
        let mut end = start + run(start);
        // `eyJ` is `{"` in base64: the start of a JSON header.
        let header_ok = end - start >= 4;
        let mut dots = 0;
        while dots < 4 && b.get(end) == Some(&b'.') {
            let next = end + 1 + run(end + 1);
            // A sentence's full stop is no JWT part.
            if next == end + 1 && dots >= 2 {
                break;
            }
            end = next;
            dots += 1;
        }
        if header_ok && dots >= 2 {
            found.push((start, end));
            from = end;
        }
    }
    found
}

/// Every JWT-shaped substring replaced.
pub fn jwts(m: &mut dyn Masking, text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_string();
    }
    let found = find_jwts(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in found {
        out.push_str(&text[last..start]);
        out.push_str(&m.jwt(&text[start..end]));
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Whether `local@domain` is shaped like an address (RFC 5322 §3.4.1 dot-atoms,
/// RFC 1035 labels): no leading, trailing or doubled dot in either part, a
/// letter or digit in the local part, a domain of two labels or more that start
/// and end with a letter or digit, and an alphabetic top-level label that is no
/// file ending. Tracking strings such as `%.@.null` and `logo@2x.png` are not.
fn is_address(local: &str, domain: &str) -> bool {
    let dot_atom =
        |s: &str| !s.is_empty() && !s.starts_with('.') && !s.ends_with('.') && !s.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        let b = l.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()
    };
    dot_atom(local)
        && local.bytes().any(|b| b.is_ascii_alphanumeric())
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|t| {
            t.len() >= 2
                && t.bytes().all(|b| b.is_ascii_alphabetic())
                && !FILE_EXTENSIONS.iter().any(|e| t.eq_ignore_ascii_case(e))
        })
}

/// File name endings that follow an `@` in asset names (`logo@2x.png`) and are
/// no top-level domains.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "css", "woff", "woff2", "map",
];

/// E-mail addresses (also `%40`-encoded) replaced as user names.
pub fn emails(m: &mut dyn Masking, text: &str) -> String {
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
        // A sentence's or path's dot before the address is not part of it.
        while start < i && bytes[start] == b'.' {
            start += 1;
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
        // A password already replaced before a URL's `@host` is no address.
        if !is_address(local, domain)
            || local.starts_with("redacted-")
            || domain.eq_ignore_ascii_case("pseudonym.invalid")
        {
            i += at_len;
            continue;
        }
        let address = format!("{local}@{domain}");
        let replaced = m.user(&address);
        out.push_str(&text[last..start]);
        if encoded {
            out.push_str(&replaced.replace('@', "%40"));
        } else {
            out.push_str(&replaced);
        }
        last = end;
        i = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The boundary of a `multipart/form-data` content type (RFC 7578 §4.1).
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    if !lower.trim_start().starts_with("multipart/") {
        return None;
    }
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// The boundary of a body that looks like `multipart/form-data` when no content
/// type says so (a SAZ request without its header): its first line is
/// `--BOUNDARY` and a part is `form-data`.
pub fn sniff_multipart_boundary(body: &str) -> Option<String> {
    let first = body.lines().next()?.strip_prefix("--")?.trim_end();
    let head = body.as_bytes()[..body.len().min(4096)].to_ascii_lowercase();
    let plausible = !first.is_empty()
        && first.len() <= 70
        && !first.contains(char::is_whitespace)
        && memchr::memmem::find(&head, b"content-disposition: form-data").is_some();
    plausible.then(|| first.to_string())
}

/// A `multipart/form-data` body (RFC 7578) with the content of each part whose
/// field name is secret masked, the content of personal fields replaced as a
/// user name, and every other part scanned as free text. Part headers are kept.
pub fn multipart(m: &mut dyn Masking, body: &str, boundary: &str) -> String {
    let delimiter = format!("--{boundary}");
    let mut pieces = body.split(delimiter.as_str());
    let mut out = String::with_capacity(body.len());
    out.push_str(pieces.next().unwrap_or(""));
    for piece in pieces {
        out.push_str(&delimiter);
        if piece.starts_with("--") {
            // The closing delimiter and the epilogue.
            out.push_str(piece);
            continue;
        }
        out.push_str(&part(m, piece));
    }
    out
}

fn part(m: &mut dyn Masking, piece: &str) -> String {
    let (head_end, sep) = match piece.find("\r\n\r\n") {
        Some(i) => (i, 4),
        None => match piece.find("\n\n") {
            Some(i) => (i, 2),
            None => return free_text(m, piece),
        },
    };
    let head = &piece[..head_end];
    let rest = &piece[head_end + sep..];
    // The content ends before the line break that precedes the next delimiter.
    let content_len = rest
        .strip_suffix("\r\n")
        .or_else(|| rest.strip_suffix('\n'))
        .map_or(rest.len(), str::len);
    let (content, tail) = rest.split_at(content_len);
    let name = head
        .lines()
        .filter(|l| {
            l.trim_start()
                .to_ascii_lowercase()
                .starts_with("content-disposition")
        })
        .find_map(disposition_name);
    let masked = match name.as_deref().and_then(classify) {
        Some(class) if !content.is_empty() => mask_as(m, class, content),
        _ => free_text(m, content),
    };
    format!(
        "{}{}{masked}{tail}",
        free_text(m, head),
        &piece[head_end..head_end + sep]
    )
}

/// The `name` parameter of a `Content-Disposition: form-data; name="…"` line.
fn disposition_name(line: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    /// Masks with visible markers, counting.
    struct Marks(u64);

    impl Masking for Marks {
        fn secret(&mut self, kind: SecretKind, _: &str) -> String {
            self.0 += 1;
            format!("<{}>", kind.name())
        }
        fn user(&mut self, _: &str) -> String {
            self.0 += 1;
            "<user>".into()
        }
        fn jwt(&mut self, _: &str) -> String {
            self.0 += 1;
            "<jwt>".into()
        }
        fn replaced(&self) -> u64 {
            self.0
        }
    }

    /// Addresses are masked; tracking strings and format patterns that hold an
    /// `@` are not taken for them.
    #[test]
    fn only_address_shaped_text_is_an_email() {
        let mut m = Marks(0);
        let text = "to adele.vance@contoso.example and b%40fabrikam.co.uk; not %.@.null, a@b, x@.com, .a@b.com, @@x.io, __utmz=1.2.@3.4, v1@2x.png";
        let out = emails(&mut m, text);
        assert_eq!(
            out,
            "to <user> and <user>; not %.@.null, a@b, x@.com, .<user>, @@x.io, __utmz=1.2.@3.4, v1@2x.png"
        );
    }

    /// An encoded value inside minified script is masked without re-encoding
    /// the script around it (the Microsoft account page's `ServerData` has no
    /// spaces, so the whole page once was one "word").
    #[test]
    fn encoded_words_stop_at_script_punctuation() {
        let mut m = Marks(0);
        let page = "q:'https://h/a?lc=1033',x:{DisplayName:'My App'},correlationId:'c81',u:'https%3A%2F%2Fh%2Fcb%3Fcode%3DSECRETCODE123'";
        let out = encoded_words(&mut m, page, 0);
        assert!(!out.contains("SECRETCODE123"), "{out}");
        assert!(
            out.starts_with(
                "q:'https://h/a?lc=1033',x:{DisplayName:'My App'},correlationId:'c81',u:'"
            ),
            "{out}"
        );
        assert!(out.ends_with('\''), "{out}");
    }

    /// Text without a trigger comes out of every stage as it went in, with no
    /// replacement counted: the shortcut of `free_text_at` changes nothing.
    #[test]
    fn text_without_triggers_passes_every_stage_unchanged() {
        let alphabet: Vec<char> =
            "abcdefghijkeyJEYJ0123456789 -_.,;/?&#+!$'\"()[]{}<>*~\t\nüé€\u{202E}"
                .chars()
                .collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if has_free_text_trigger(&text) {
                continue;
            }
            for depth in [0, MAX_DEPTH] {
                let mut m = Marks(0);
                assert_eq!(every_free_text_stage(&mut m, &text, depth), text);
                assert_eq!(m.0, 0, "{text:?}");
            }
        }
    }

    fn jwt_like() -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(br#"{"aud":"x"}"#);
        format!("{h}.{c}.c2lnbmF0dXJl")
    }

    #[test]
    fn jwt_spans_by_shape() {
        let j = jwt_like();
        let jwe = format!("{}.a.b.c.d", &j[..j.find('.').unwrap()]);
        let text = format!("Bearer {j}. noteyJabc {jwe} eyJonly.one x{j}");
        let spans: Vec<&str> = find_jwts(&text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        // The sentence's full stop is left out; a JWE keeps its five parts; a
        // token inside a longer base64url run, or with two parts, is none.
        assert_eq!(spans, vec![j.as_str(), jwe.as_str()]);
        assert!(find_jwts("").is_empty());
        assert!(find_jwts("eyJ").is_empty());
        assert_eq!(find_jwts("é eyJa.eyJb.é"), vec![(3, 13)]);
    }

    #[test]
    fn urls() {
        let m = &mut Marks(0);
        let j = jwt_like();
        let out = url(
            m,
            &format!("https://bob:pa55@host.example/a/{j}/b;jsessionid=ABC123?sig=S1&sv=2024&client-request-id=7f#access_token=T"),
        );
        assert_eq!(
            out,
            "https://%3Cuser%3E:%3Cpassword%3E@host.example/a/<jwt>/b;jsessionid=%3Ccookie%3E?sig=%3Ctoken%3E&sv=2024&client-request-id=7f#access_token=%3Ctoken%3E"
        );
        // A double-encoded `state` is decoded twice and looked inside.
        let state = url(
            m,
            "https://app.example/cb?state=x%253Dy%2526code%253DC2&a=1",
        );
        assert!(!state.contains("C2"), "{state}");
        let once = form::decode(state.split("state=").nth(1).unwrap()).into_owned();
        let twice = form::decode(&once).into_owned();
        assert!(twice.starts_with("x=y&code="), "{twice}");
        assert!(state.ends_with("&a=1"), "{state}");
        let nested = url(
            m,
            "https://login.example/authorize?redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3DC3&client_id=X;code=C4",
        );
        assert!(!nested.contains("C3") && !nested.contains("C4"), "{nested}");
        assert!(nested.contains("client_id=X;"), "{nested}");
    }

    #[test]
    fn free_text_pairs_and_shapes() {
        let m = &mut Marks(0);
        let text = format!(
            "AADSTS50126: bad password=hunter2 and \"client_secret\":\"cs1\", code_verifier='v1' \
             Authorization: Bearer abc.def; see https://u:p@h.example/x; code: 50126; {} \
             redirect%3Fcode%3DX9 by adele@contoso.example. Trace ID: 9f1c",
            jwt_like()
        );
        let out = free_text(m, &text);
        for leaked in [
            "hunter2",
            "cs1",
            "'v1'",
            "abc.def",
            ":p@",
            "X9",
            "adele",
            "c2lnbmF0dXJl",
        ] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        for kept in ["AADSTS50126", "code: 50126", "Trace ID: 9f1c"] {
            assert!(out.contains(kept), "{kept} lost in {out}");
        }
        assert_eq!(
            free_text(m, "client_id=X;code=S"),
            "client_id=X;code=<code>"
        );
        assert_eq!(
            free_text(m, "retrying an old password: Entra admin centre"),
            "retrying an old password: Entra admin centre"
        );
        assert_eq!(free_text(m, "password: Hunter2"), "password: <password>");
        assert_eq!(free_text(m, "nothing here."), "nothing here.");
    }

    /// No input makes a scanner panic (byte offsets always on character
    /// boundaries, recursion bounded): pseudo-random text from pieces that
    /// start every shape, with multi-byte characters between them.
    #[test]
    fn any_text_is_scanned_without_panic() {
        let alphabet = [
            "a",
            "=",
            "&",
            ";",
            ":",
            "\"",
            "'",
            "\\",
            "%",
            "3D",
            "25",
            "%3d",
            "é",
            "€",
            " ",
            "eyJ",
            ".",
            "@",
            "://",
            "/",
            "?",
            "#",
            "code",
            "password",
            "\\u0026",
            "&quot;",
            "--b",
            "\r\n",
            "Content-Disposition: form-data; name=\"pwd\"",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..4000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let mut input = String::new();
            for k in 0..len {
                let pick = (state.rotate_left(k as u32 * 7) % alphabet.len() as u64) as usize;
                input.push_str(alphabet[pick]);
            }
            let m = &mut Marks(0);
            let _ = url(m, &input);
            let _ = free_text(m, &input);
            let _ = params(m, &input);
            let _ = multipart(m, &input, "b");
            let _ = sniff_multipart_boundary(&input);
        }
    }

    #[test]
    fn multipart_parts_by_name() {
        let m = &mut Marks(0);
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nadele@contoso.example\r\n--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nP@ss word\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nclient_secret=cs2\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ".into())
        );
        let out = multipart(m, body, "XyZ");
        assert_eq!(
            out,
            "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n<user>\r\n--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n<password>\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nclient_secret=<client_secret>\r\n--XyZ--\r\n"
        );
    }
}
