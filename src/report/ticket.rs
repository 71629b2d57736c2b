//! `aadtrace analyze --ticket`: a Markdown block to paste into a support case.
//! It holds the verdict, the facts of the step that decided it (UTC time,
//! correlation and request ids, tenant, app, user, server), what was tried, what
//! it means and what to do next, and the queries that find the server's own
//! record of it: KQL for the Sign-in logs tables (Log Analytics, Sentinel) and
//! the Microsoft Graph `auditLogs/signIns` request, both filtered by the
//! correlation id and a window around the failure. Strings from the trace are
//! redacted like every other output.

use std::fmt::Write as _;

use super::shown::Redactor;
use super::time::rfc3339;
use super::verdict::{self, Verdict};
use crate::findings::{human_duration, Finding, Severity};
use crate::identity::Flow;
use crate::session::Session;

/// Minutes either side of the failure that the queries search.
const WINDOW_MINUTES: i64 = 10;
/// Steps shown in "what was tried" before the rest is counted.
const MAX_TRIED: usize = 14;

/// The ticket for a session.
pub fn render(session: &Session, r: &Redactor) -> String {
    let v = verdict::of_trace(session);
    let mut out = format!("## Sign-in trace: {}\n\n", v.line(r));
    facts(session, &v, r, &mut out);
    if let Some(flow) = v.flow {
        let _ = writeln!(out, "**What was tried:** {}\n", tried(session, flow, r));
    }
    if let Some(f) = v.finding.or_else(|| no_sign_in(session)) {
        let _ = writeln!(out, "**What it means:** {}\n", r.text(&f.explanation));
        out.push_str("**Next steps:**\n");
        for step in &f.next_steps {
            let _ = writeln!(out, "- {}", r.text(step));
        }
        out.push('\n');
    }
    others(session, &v, r, &mut out);
    if let Some((correlation, at)) = searchable(&v) {
        queries(&r.text(correlation), at, &mut out);
    }
    out.push_str("_Written by aadtrace; secrets are masked and user names shortened._\n");
    out
}

/// The `no_sign_in` finding of a trace without flows.
fn no_sign_in(session: &Session) -> Option<&Finding> {
    session
        .findings
        .iter()
        .find(|f| f.kind == crate::findings::FindingKind::NoSignIn)
}

/// The facts table: from the deciding finding, else from the flow.
fn facts(session: &Session, v: &Verdict<'_>, r: &Redactor, out: &mut String) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    for input in &session.inputs {
        rows.push((
            "Trace",
            format!(
                "`{}` ({}, {} exchanges)",
                input.path.replace('`', "'"),
                input.format,
                input.summary.exchanges
            ),
        ));
    }
    if let Some(f) = v.finding {
        for row in super::ticket_rows(f) {
            let value = if row.is_user {
                r.user(&row.value)
            } else {
                r.text(&row.value).into_owned()
            };
            rows.push((row.label, value));
        }
    } else if let Some(flow) = v.flow {
        rows.push(("Started (UTC)", rfc3339(flow.started_us)));
        let ids = [
            ("Correlation ID", flow.correlation_ids.first()),
            ("Tenant", flow.tenant.as_ref()),
            ("App ID", flow.client_id.as_ref()),
        ];
        for (label, value) in ids {
            if let Some(value) = value {
                rows.push((label, r.text(value).into_owned()));
            }
        }
        if let Some(u) = &flow.user {
            rows.push(("User", r.user(u)));
        }
    }
    if let Some(flow) = v.flow.filter(|f| !f.regions.is_empty()) {
        rows.push(("Region", r.text(&flow.regions.join(", ")).into_owned()));
    }
    out.push_str("| | |\n|---|---|\n");
    for (label, value) in rows {
        let _ = writeln!(out, "| {label} | {} |", cell(&value));
    }
    out.push('\n');
}

/// A value made safe for a Markdown table cell.
fn cell(value: &str) -> String {
    value.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// The flow's steps as a path: labels and statuses, polls folded, MFA attempts
/// with their results.
fn tried(session: &Session, flow: &Flow, r: &Redactor) -> String {
    let steps = &session.analysis.steps;
    let mut hops: Vec<(String, usize)> = Vec::new();
    for &i in &flow.steps {
        let s = &steps[i];
        let status = match (s.status, s.aadsts.first()) {
            (_, Some(code)) => format!(" (AADSTS{code})"),
            (Some(st), None) if st >= 400 => format!(" ({st})"),
            (None, None) => " (no response)".to_string(),
            _ => String::new(),
        };
        let hop = format!("{}{status}", r.text(&s.label()));
        match hops.last_mut() {
            Some((last, n)) if *last == hop => *n += 1,
            _ => hops.push((hop, 1)),
        }
    }
    let mut parts: Vec<String> = hops
        .iter()
        .map(|(hop, n)| {
            if *n > 1 {
                format!("{hop} ×{n}")
            } else {
                hop.clone()
            }
        })
        .collect();
    if parts.len() > MAX_TRIED {
        let more = parts.len() - MAX_TRIED;
        parts.truncate(MAX_TRIED);
        parts.push(format!("… {more} more"));
    }
    let mut text = parts.join(" → ");
    for m in &flow.mfa {
        let result = super::snake_name(&m.result);
        let _ = write!(
            text,
            "; MFA {}: {result} after {} ({} poll{})",
            r.text(m.method.as_deref().unwrap_or("unknown method")),
            human_duration(m.waited_ms),
            m.polls,
            if m.polls == 1 { "" } else { "s" }
        );
    }
    text
}

/// Other errors of the trace, one line each.
fn others(session: &Session, v: &Verdict<'_>, r: &Redactor, out: &mut String) {
    let decided = v.finding.map(|f| f.id);
    let rest: Vec<&Finding> = session
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && Some(f.id) != decided)
        .collect();
    if rest.is_empty() {
        return;
    }
    out.push_str("**Other errors in this trace:**\n");
    for f in rest {
        let when = f.time_us.map(rfc3339).unwrap_or_default();
        let corr = f
            .correlation_id
            .as_deref()
            .map(|c| format!(" · correlation {}", r.text(c)))
            .unwrap_or_default();
        let _ = writeln!(out, "- {} · {when}{corr}", r.text(&f.title));
    }
    out.push('\n');
}

/// The correlation id and time the server's logs can be searched by.
fn searchable<'v>(v: &'v Verdict<'_>) -> Option<(&'v str, i64)> {
    if let Some(f) = v.finding {
        return Some((f.correlation_id.as_deref()?, f.time_us?));
    }
    let flow = v.flow?;
    Some((flow.correlation_ids.first()?.as_str(), flow.started_us))
}

/// KQL and Graph queries for the server's record of the sign-in.
fn queries(correlation: &str, at_us: i64, out: &mut String) {
    let _ = writeln!(
        out,
        "**Server-side record** (Sign-in logs, {WINDOW_MINUTES} minutes either side):\n\n\
         ```kusto\n{}\n```\n\n```http\nGET {}\n```\n",
        kql(correlation, at_us),
        graph(correlation, at_us)
    );
}

/// The server's record of an error finding: the [`kql`] and [`graph`]
/// queries for its correlation id (redacted by `r`) around its time. Only
/// errors with both have one; every report shows it the same way.
pub fn server_record(f: &Finding, r: &Redactor) -> Option<(String, String)> {
    if f.severity != Severity::Error {
        return None;
    }
    let correlation = r.text(f.correlation_id.as_deref()?);
    let at = f.time_us?;
    Some((kql(&correlation, at), graph(&correlation, at)))
}

/// A KQL query of the Sign-in logs tables (Log Analytics, Sentinel) for
/// `correlation` within the window around `at_us`.
pub fn kql(correlation: &str, at_us: i64) -> String {
    let (from, to) = window(at_us);
    format!(
        "union SigninLogs, AADNonInteractiveUserSignInLogs\n\
         | where TimeGenerated between (datetime({from}) .. datetime({to}))\n\
         | where CorrelationId == \"{}\"\n\
         | project TimeGenerated, UserPrincipalName, AppDisplayName, ResultType, ResultDescription, ConditionalAccessStatus, AuthenticationRequirement, Status",
        query_id(correlation)
    )
}

/// The Microsoft Graph request (`GET /auditLogs/signIns`) for `correlation`
/// within the window around `at_us`.
pub fn graph(correlation: &str, at_us: i64) -> String {
    let (from, to) = window(at_us);
    format!(
        "https://graph.microsoft.com/v1.0/auditLogs/signIns?$filter=correlationId eq '{}' and createdDateTime ge {from} and createdDateTime le {to}",
        query_id(correlation)
    )
}

/// Ids are GUID-like; anything else is dropped rather than pasted into a query.
fn query_id(correlation: &str) -> String {
    correlation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn window(at_us: i64) -> (String, String) {
    let window = WINDOW_MINUTES * 60 * 1_000_000;
    (seconds(at_us - window), seconds(at_us + window))
}

/// RFC 3339 to the second (what KQL `datetime()` and OData filters take).
fn seconds(us: i64) -> String {
    let full = rfc3339(us);
    match full.split_once('.') {
        Some((whole, _)) => format!("{whole}Z"),
        None => full,
    }
}
