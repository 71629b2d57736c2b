//! One step's request and response inside its expanded row: query parameters,
//! headers, cookies sent and `Set-Cookie` with its attributes, form fields and
//! JSON bodies, the page facts aadtrace extracted, decoded token claims and
//! timing.
//!
//! Every value goes through the report's [`Redactor`](crate::report::shown::Redactor)
//! (headers by [`Redactor::header`](crate::report::shown::Redactor::header),
//! fields by name) before it is escaped; bodies are cut to [`MAX_BODY_SHOWN`]
//! only after redaction. Each part is a `<details>`, so it works without script.

use std::fmt::Write as _;

use super::{escape, Ctx, MAX_URL};
use crate::findings::human_duration;
use crate::http::{form, split_url};
use crate::identity::detail::{BodyText, Detail};
use crate::identity::Step;
use crate::report::shown::terminal_safe;
use crate::report::time::rfc3339;

/// Longest body shown, after redaction and pretty-printing.
const MAX_BODY_SHOWN: usize = 16 << 10;

/// Writes the parts of `s` that its recorded request and response hold.
pub(super) fn write(c: &Ctx, s: &Step, out: &mut String) {
    query_table(c, s, out);
    if let Some(d) = &s.detail {
        request(c, d, out);
        response(c, s, d, out);
    }
    facts(c, s, out);
    tokens(c, s, out);
    timing(s, out);
}

/// An already redacted trace string, control characters removed, escaped.
fn safe(text: &str) -> String {
    escape(&terminal_safe(text))
}

/// [`safe`] for a pretty-printed body: its line breaks and tabs are kept.
fn safe_block(text: &str) -> String {
    text.split('\n')
        .map(|line| safe(&line.replace('\t', "  ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn part(out: &mut String, class: &str, title: &str, body: &str) {
    let _ = write!(
        out,
        "<details class=\"part {class}\"><summary>{title}</summary>{body}</details>"
    );
}

/// A two-column table of already escaped cells.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table class=\"kv\"><thead><tr>");
    for h in head {
        let _ = write!(t, "<th>{h}</th>");
    }
    t.push_str("</tr></thead><tbody>");
    for r in rows {
        t.push_str("<tr>");
        for cell in r {
            let _ = write!(t, "<td>{cell}</td>");
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// `name=value` pairs (a query, a fragment or a form), redacted as a whole
/// first (nested values), then field by field, then decoded for reading.
fn pair_rows(c: &Ctx, raw: &str) -> Vec<Vec<String>> {
    let redacted = c.r.params(raw);
    form::pairs(&redacted)
        .filter(|p| !p.name.is_empty())
        .map(|p| {
            let name = p.name.as_ref();
            let value = c.r.field(name, &p.value());
            vec![
                format!("<code>{}</code>", c.t(name)),
                format!("<code>{}</code>", safe(&cap(value))),
            ]
        })
        .collect()
}

fn query_table(c: &Ctx, s: &Step, out: &mut String) {
    if s.url.len() > MAX_URL {
        // Not split into a table: the URL row says how long it is.
        return;
    }
    let parts = split_url(&s.url);
    for (what, raw) in [
        ("Query parameters", parts.query),
        ("Fragment", parts.fragment),
    ] {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            continue;
        };
        let rows = pair_rows(c, raw);
        if !rows.is_empty() {
            let title = format!("{what} ({})", rows.len());
            part(out, "query", &title, &table(&["name", "value"], &rows));
        }
    }
}

fn header_rows(c: &Ctx, headers: &[(String, String)]) -> Vec<Vec<String>> {
    headers
        .iter()
        .map(|(n, v)| {
            vec![
                format!("<code>{}</code>", safe(n)),
                format!("<code>{}</code>", safe(&c.r.header(n, v))),
            ]
        })
        .collect()
}

fn request(c: &Ctx, d: &Detail, out: &mut String) {
    if !d.request_headers.is_empty() {
        let title = format!("Request headers ({})", d.request_headers.len());
        let rows = header_rows(c, &d.request_headers);
        part(
            out,
            "req-headers",
            &title,
            &table(&["name", "value"], &rows),
        );
    }
    let cookies: Vec<Vec<String>> = d
        .request_headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| {
            c.r.header("cookie", v)
                .split(';')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (name, value) = p.trim().split_once('=').unwrap_or(("", p.trim()));
            vec![
                format!("<code>{}</code>", safe(name)),
                format!("<code>{}</code>", safe(value)),
            ]
        })
        .collect();
    if !cookies.is_empty() {
        let title = format!("Cookies sent ({})", cookies.len());
        part(out, "cookies", &title, &table(&["name", "value"], &cookies));
    }
    if let Some(b) = &d.request_body {
        body(c, "Request body", b, out);
    }
}

fn response(c: &Ctx, s: &Step, d: &Detail, out: &mut String) {
    if !d.response_headers.is_empty() {
        let title = format!(
            "Response headers ({}){}",
            d.response_headers.len(),
            match (s.status, d.reason.is_empty()) {
                (Some(st), false) => format!(" · {st} {}", c.t(&d.reason)),
                _ => String::new(),
            }
        );
        let rows = header_rows(c, &d.response_headers);
        part(
            out,
            "resp-headers",
            &title,
            &table(&["name", "value"], &rows),
        );
    }
    let set: Vec<Vec<String>> = d
        .response_headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .flat_map(|(_, v)| {
            v.split('\n')
                .map(|l| c.r.header("set-cookie", l))
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.trim().is_empty())
        .map(|l| set_cookie_row(&l))
        .collect();
    if !set.is_empty() {
        let title = format!("Set-Cookie ({})", set.len());
        let head = [
            "name",
            "value",
            "Domain",
            "Path",
            "SameSite",
            "Secure",
            "HttpOnly",
            "Expires / Max-Age",
        ];
        part(out, "set-cookies", &title, &table(&head, &set));
    }
    if let Some(b) = &d.response_body {
        body(c, "Response body", b, out);
    }
}

/// A redacted `Set-Cookie` line split into its cookie and attributes
/// (RFC 6265 §4.1.1); attribute names compared case-insensitively.
fn set_cookie_row(line: &str) -> Vec<String> {
    let mut parts = line.split(';');
    let pair = parts.next().unwrap_or("");
    let (name, value) = pair.trim().split_once('=').unwrap_or(("", pair.trim()));
    let attrs: Vec<(String, String)> = parts
        .map(|a| {
            let (k, v) = a.trim().split_once('=').unwrap_or((a.trim(), ""));
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let flag = |k: &str| if get(k).is_some() { "yes" } else { "no" };
    let expiry = get("max-age")
        .map(|v| format!("Max-Age={v}"))
        .or_else(|| get("expires").map(str::to_string))
        .unwrap_or_else(|| "session".into());
    vec![
        format!("<code>{}</code>", safe(name)),
        format!("<code>{}</code>", safe(value)),
        safe(get("domain").unwrap_or("(host only)")),
        safe(get("path").unwrap_or("—")),
        safe(get("samesite").unwrap_or("(not set)")),
        flag("secure").to_string(),
        flag("httponly").to_string(),
        safe(&expiry),
    ]
}

/// `text` cut to [`MAX_BODY_SHOWN`] bytes, saying how long it was.
fn cap(text: String) -> String {
    if text.len() <= MAX_BODY_SHOWN {
        return text;
    }
    let mut cut = MAX_BODY_SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

fn body(c: &Ctx, what: &str, b: &BodyText, out: &mut String) {
    let (mime, text) = match b {
        BodyText::NotKept { bytes, mime } => {
            let body =
                    format!(
                "<p class=\"muted\">{bytes} bytes{}; only form and JSON bodies up to 64 KB (responses: of identity services) are kept.</p>",
                if mime.is_empty() { String::new() } else { format!(" of {}", c.t(mime)) }
            );
            part(out, "body", &format!("{what} (not shown)"), &body);
            return;
        }
        BodyText::Kept { mime, text } => (mime, text),
    };
    let trimmed = text.trim_start();
    let json = (trimmed.starts_with('{') || trimmed.starts_with('['))
        .then(|| serde_json::from_str::<serde_json::Value>(trimmed).ok())
        .flatten();
    let html = if let Some(v) = json {
        let pretty = serde_json::to_string_pretty(&c.r.json(&v)).unwrap_or_default();
        format!("<pre class=\"body\">{}</pre>", safe_block(&cap(pretty)))
    } else if trimmed.contains('=') && !trimmed.starts_with('{') {
        table(&["field", "value"], &pair_rows(c, trimmed))
    } else {
        format!(
            "<pre class=\"body\">{}</pre>",
            safe_block(&cap(c.r.text(text).into_owned()))
        )
    };
    let title = format!(
        "{what} ({} bytes{})",
        text.len(),
        if mime.is_empty() {
            String::new()
        } else {
            format!(", {}", c.t(mime))
        }
    );
    part(out, "body", &title, &html);
}

/// What aadtrace read from the step's page (`$Config` / `ServerData`) and
/// messages.
fn facts(c: &Ctx, s: &Step, out: &mut String) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut add = |k: &str, v: String| rows.push(vec![k.to_string(), v]);
    if let Some(p) = &s.page {
        add("page (pgid)", c.t(p));
    }
    if let Some(e) = s.endpoint {
        add("endpoint", escape(e));
    }
    if let Some(r) = &s.region {
        add("region", c.t(r));
    }
    if let Some(t) = &s.tenant {
        add("tenant", c.t(t));
    }
    if let Some(a) = &s.client_id {
        add("app id", c.t(a));
    }
    if let Some(u) = &s.user {
        add("user", c.user(u));
    }
    if let Some(ms) = s.polling_timeout_ms {
        add("MFA polling window", escape(&human_duration(ms as f64)));
    }
    if !s.user_proofs.is_empty() {
        add("MFA methods offered", c.t(&s.user_proofs.join(", ")));
    }
    if let Some(m) = &s.mfa_auth_method {
        add("MFA method", c.t(m));
    }
    if let Some(g) = &s.grant_type {
        add("grant_type", c.t(g));
    }
    if let Some(code) = &s.service_code {
        add("service code", c.t(code));
    }
    if let Some(l) = &s.location {
        add("Location", format!("<code>{}</code>", c.url(l)));
    }
    if rows.is_empty() {
        return;
    }
    let title = format!("Facts aadtrace extracted ({})", rows.len());
    part(out, "facts", &title, &table(&["fact", "value"], &rows));
}

fn tokens(c: &Ctx, s: &Step, out: &mut String) {
    for t in &s.tokens {
        let mut rows: Vec<Vec<String>> = Vec::new();
        rows.push(vec![
            "signed".into(),
            if t.signed { "yes" } else { "no" }.into(),
        ]);
        for (k, v) in [("iat", t.iat), ("nbf", t.nbf), ("exp", t.exp)] {
            if let Some(secs) = v {
                rows.push(vec![
                    k.into(),
                    format!("{} UTC", rfc3339(secs.saturating_mul(1_000_000))),
                ]);
            }
        }
        for (k, v) in &t.claims {
            rows.push(vec![
                format!("<code>{}</code>", c.t(k)),
                format!("<code>{}</code>", c.t(v)),
            ]);
        }
        if let Some(u) = &t.user {
            rows.push(vec!["user".into(), c.user(u)]);
        }
        let title = format!("Token claims: {}", c.t(&t.kind));
        part(out, "token", &title, &table(&["claim", "value"], &rows));
    }
}

/// A phase's time: tenths of a millisecond below a second (DNS, connect and
/// send phases are often under one), else as every other duration.
fn phase_time(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        human_duration(ms)
    }
}

/// The phases the trace recorded: HAR's blocked, DNS, connect, TLS, send,
/// wait and receive where the entry has them; else the wait for the first byte
/// and the total.
fn timing(s: &Step, out: &mut String) {
    let mut rows: Vec<Vec<String>> = vec![vec![
        "started".into(),
        format!("{} UTC", rfc3339(s.started_us)),
    ]];
    let phases = s.detail.as_ref().and_then(|d| d.phases);
    if let Some(p) = phases {
        for (name, ms) in p.recorded() {
            let name = match name {
                // HAR 1.2 §"timings": ssl is included in connect.
                "ssl" => "ssl (TLS, part of connect)",
                "wait" => "wait (time to first byte)",
                other => other,
            };
            rows.push(vec![name.into(), escape(&phase_time(f64::from(ms)))]);
        }
    } else if let Some(w) = s.wait_ms {
        rows.push(vec![
            "wait (time to first byte)".into(),
            escape(&human_duration(w)),
        ]);
    }
    if let (None, Some(total), Some(w)) = (phases, s.duration_ms, s.wait_ms) {
        rows.push(vec![
            "send, connect and receive".into(),
            escape(&human_duration((total - w).max(0.0))),
        ]);
    }
    if let Some(total) = s.duration_ms {
        rows.push(vec!["total".into(), escape(&human_duration(total))]);
    }
    part(out, "timing", "Timing", &table(&["phase", "time"], &rows));
}
