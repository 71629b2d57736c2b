//! Shared by the redaction tests: every secret value of a HAR, enumerated
//! without the rewriter's help (identity-wire.md §6), and what must not change
//! when a trace is redacted (its flows and findings).
#![allow(dead_code)]

use std::collections::BTreeSet;

use aadtrace::session::Session;
use serde_json::Value;

/// Parameter and member names whose values are secrets.
const SECRET_NAMES: &[&str] = &[
    "code",
    "access_token",
    "id_token",
    "refresh_token",
    "device_code",
    "client_secret",
    "client_assertion",
    "flowToken",
    "sFT",
    "canary",
    "apiCanary",
    "ctx",
    "sCtx",
    "passwd",
    "password",
    "PPFT",
    "t",
    "NAP",
    "ANON",
    "pprid",
    "wresult",
    "SAMLResponse",
    "estsrequest",
    "AdditionalAuthData",
];

/// Session cookies (identity-wire.md §6.5), by name prefix.
const SESSION_COOKIES: &[&str] = &[
    "ESTSAUTH",
    "SignInStateCookie",
    "esctx",
    "buid",
    "fpc",
    "ESTSSC",
    "CCState",
    "MSISAuth",
    "__Host-MSAAUTH",
    "MSPAuth",
    "MSPProf",
    "WLSSC",
    "x-ms-RefreshTokenCredential",
    ".AspNetCore",
];

/// Headers whose values are secrets.
const SECRET_HEADERS: &[&str] = &["canary", "x-ms-flowtoken", "x-ms-ctx", "authorization"];

fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("\\u0026", "&")
        .replace("\\\"", "\"")
        .replace("\\/", "/")
}

fn url_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Values after `name` in any syntax: `name=v`, `"name":"v"`, `name:'v'`,
/// `name="…" … value="v"` (hidden inputs).
fn values_after(text: &str, name: &str, found: &mut BTreeSet<String>) {
    let lower = text.to_ascii_lowercase();
    let lname = name.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(rel) = lower[from..].find(&lname) {
        let at = from + rel;
        from = at + lname.len();
        let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        let after = &text[from..];
        let next_ok = after
            .bytes()
            .next()
            .is_some_and(|c| !(c.is_ascii_alphanumeric() || c == b'_'));
        if !before_ok || !next_ok {
            continue;
        }
        // Hidden input: name="x" … value="v" within the same tag.
        if b.get(at.wrapping_sub(1)) == Some(&b'"') || b.get(at.wrapping_sub(1)) == Some(&b'\'') {
            let tag_end = after.find('>').unwrap_or(after.len());
            let tag = &after[..tag_end];
            if let Some(v) = tag.find("value=") {
                let rest = &tag[v + 6..];
                let q = rest.chars().next().unwrap_or('"');
                let inner = rest.trim_start_matches(q);
                let end = inner.find(q).unwrap_or(inner.len());
                found.insert(inner[..end].to_string());
            }
        }
        if lname.len() <= 2 {
            // `t` is everywhere in scripts: only its hidden-input form counts.
            continue;
        }
        let rest = after.trim_start_matches(['"', '\'']).trim_start();
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let rest = rest.trim_start();
        let value: String = if let Some(q) = rest.strip_prefix(['"', '\'']) {
            let quote = rest.chars().next().unwrap();
            q.chars().take_while(|&c| c != quote).collect()
        } else {
            rest.chars()
                .take_while(|c| !"&\"'<> \t\r\n#,;)}".contains(*c))
                .collect()
        };
        found.insert(url_decode(&value));
    }
}

/// Every secret value in a HAR, found without the rewriter's help.
pub fn secrets_of(har: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut all = Vec::new();
    strings(har, &mut all);
    for s in all {
        let text = unescape(s);
        for name in SECRET_NAMES {
            values_after(&text, name, &mut found);
        }
        // Nested encodings (`wctx=estsredirect%3d2%26estsrequest%3d…`).
        if text.contains("%3d") || text.contains("%3D") {
            let decoded = url_decode(&text);
            for name in SECRET_NAMES {
                values_after(&decoded, name, &mut found);
            }
        }
    }
    for entry in har["log"]["entries"].as_array().unwrap() {
        for side in ["request", "response"] {
            for c in entry[side]["cookies"].as_array().into_iter().flatten() {
                let name = c["name"].as_str().unwrap_or("");
                if SESSION_COOKIES.iter().any(|p| name.starts_with(p)) {
                    found.insert(c["value"].as_str().unwrap_or("").to_string());
                }
            }
            for h in entry[side]["headers"].as_array().into_iter().flatten() {
                let name = h["name"].as_str().unwrap_or("").to_ascii_lowercase();
                let value = h["value"].as_str().unwrap_or("");
                if SECRET_HEADERS.contains(&name.as_str()) {
                    found.insert(value.split(' ').next_back().unwrap_or("").to_string());
                }
                if name == "cookie" || name == "set-cookie" {
                    for part in value.split([';', '\n']) {
                        if let Some((n, v)) = part.trim().split_once('=') {
                            if SESSION_COOKIES.iter().any(|p| n.starts_with(p)) {
                                found.insert(v.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    // JWT signatures: a signature surviving means the token does.
    let sigs: Vec<String> = found
        .iter()
        .filter(|v| v.starts_with("eyJ") && v.matches('.').count() == 2)
        .filter_map(|v| v.rsplit('.').next().map(str::to_string))
        .collect();
    found.extend(sigs);
    found.insert("Sample-Passw0rd!".into());
    found.retain(|v| v.len() >= 6 && !v.starts_with("redacted-") && v != "estsfd");
    found
}

pub use super::analyse;

/// What must not change: flows (kind, outcome, MFA results, step endpoints and
/// statuses) and findings (kind, code, severity, steps).
pub fn shape(s: &Session) -> (Vec<String>, Vec<String>) {
    let flows = s
        .analysis
        .flows
        .iter()
        .map(|f| {
            let steps: Vec<String> = f
                .steps
                .iter()
                .map(|&i| {
                    let st = &s.analysis.steps[i];
                    format!("{:?}:{:?}:{:?}", st.endpoint, st.status, st.aadsts)
                })
                .collect();
            let mfa: Vec<String> = f
                .mfa
                .iter()
                .map(|m| format!("{:?}/{}", m.result, m.polls))
                .collect();
            format!(
                "{:?} {:?} {:?} mfa={mfa:?} steps={steps:?} corr={:?} tenant={:?} app={:?}",
                f.kind, f.outcome, f.steps, f.correlation_ids, f.tenant, f.client_id
            )
        })
        .collect();
    let findings = s
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {:?} {:?} flow={:?} corr={:?} req={:?}",
                f.kind, f.code, f.severity, f.exchanges, f.flow, f.correlation_id, f.request_id
            )
        })
        .collect();
    (flows, findings)
}
