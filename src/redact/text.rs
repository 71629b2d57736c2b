//! Redaction inside the strings of a trace: URLs, forms and free text through the
//! shared scanners of [`crate::secrets::scan`]; JSON bodies (key by key) and
//! HTML, JavaScript and XML bodies (hidden `<input>` fields, SOAP elements, then
//! everything free text holds) here.
//!
//! Every rewrite changes values only, never the shape around them, and computes
//! a pseudonym from the *decoded* value, so a flow token sent as a URL parameter,
//! a JSON member and an HTML attribute gets the same pseudonym in all three.

use serde_json::Value;

use super::mask::Masker;
use crate::http::html;
use crate::secrets::{classify, is_personal_key, param_kind, scan, SecretKind};

/// A URL (absolute, or a path with a query) with its secrets masked and its
/// user names pseudonymised ([`scan::url`]).
pub fn url(m: &mut Masker, url: &str) -> String {
    scan::url(m, url)
}

/// `application/x-www-form-urlencoded` parameters with secret values masked. Pairs
/// that need no change keep their original encoding.
pub fn params(m: &mut Masker, params: &str) -> String {
    scan::params(m, params)
}

/// Free text: everything [`scan::free_text`] finds.
pub fn free_text(m: &mut Masker, text: &str) -> String {
    scan::free_text(m, text)
}

/// Every JWT-shaped substring rewritten (header and safe claims kept).
pub fn jwts(m: &mut Masker, text: &str) -> String {
    scan::jwts(m, text)
}

/// E-mail addresses (also `%40`-encoded) replaced by user pseudonyms.
pub fn emails(m: &mut Masker, text: &str) -> String {
    scan::emails(m, text)
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
    let t = xml_elements(m, &t);
    free_text(m, &t)
}

fn mask_as(m: &mut Masker, class: Result<SecretKind, ()>, value: &str) -> String {
    match class {
        Ok(kind) => m.secret(kind, value),
        Err(()) => m.user(value),
    }
}

/// `<input … name="code" … value="…">`: the value of secret and personal fields,
/// also inside a JavaScript string (`\"` quotes, as in `sFTTag`). The tags are
/// read by the same scanner as the analysis reads them ([`html`]); a value whose
/// quote never closes is masked to the end of its tag.
fn hidden_inputs(m: &mut Masker, page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut last = 0;
    for tag in html::start_tags(page, "input") {
        let Some(class) = tag.value("name").and_then(classify) else {
            continue;
        };
        let Some(value) = tag.attribute("value") else {
            continue;
        };
        let decoded = html::decode_entities(value.value);
        let masked = mask_as(m, class, &decoded);
        if masked == decoded {
            continue;
        }
        out.push_str(&page[last..value.span.0]);
        out.push_str(&masked);
        last = value.span.1;
    }
    out.push_str(&page[last..]);
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

    /// Pages read the way the analysis reads them: a `>` inside a quoted value
    /// does not end the tag, so no part of a token after it survives.
    #[test]
    fn hostile_pages_leave_no_part_of_a_token() {
        let mut m = Masker::new();
        let pages = [
            // The AD FS "Working…" page: only `<` is escaped in the wresult.
            r#"<form method="POST" name="hiddenform" action="https://app.contoso.com/"><input type="hidden" name="wa" value="wsignin1.0" /><input type="hidden" name="wresult" value="&lt;t:RequestSecurityTokenResponse xmlns:t=&quot;http://x&quot;>&lt;t:Lifetime>TOKENPARTONE&lt;/t:Lifetime>&lt;saml:Assertion>TOKENPARTTWO&lt;/saml:Assertion>TOKENPARTTHREE&lt;/t:RequestSecurityTokenResponse>" /><noscript><input type="submit"></noscript></form>"#,
            // A SAML response whose (base64) value is preceded by a `>` in another attribute.
            r#"<form action="https://app/acs"><input title="a>b" type="hidden" name="SAMLResponse" value="PHNhbWxwOlJlc3BvbnNlPlRPS0VOUEFSVEZPVVI+" /></form>"#,
            // A flow token in a JavaScript string, with escaped quotes and a `>`.
            r#"var ServerData={"sFTTag":"<input type=\"hidden\" name=\"PPFT\" value=\"TOKENPART>FIVE\"/>"};"#,
            // A value whose quote never closes: masked to the end of its tag.
            r#"<input type="hidden" name="code" value="TOKENPARTSIX><p>after</p>"#,
        ];
        for page in pages {
            let out = markup(&mut m, page);
            for part in ["TOKENPART", "PHNhbWxwOlJlc3BvbnNl", "FIVE"] {
                assert!(!out.contains(part), "{part} survives in {out}");
            }
        }
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
