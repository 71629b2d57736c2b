//! Reports: the terminal text report, the JSON contract and the HTML page. Every string that came
//! from a trace goes through [`shown::Redactor`] (and, on a terminal,
//! [`shown::terminal_safe`]) before it is printed.

pub mod html;
pub mod json;
pub mod shown;
pub mod text;
pub mod ticket;
pub mod time;
pub mod verdict;

use std::collections::HashMap;

use crate::findings::Finding;

/// A streamed report collected as text, for callers that hold it whole (tests,
/// benches). The writers write only `str`s, so the bytes are UTF-8.
pub fn collected(
    write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut out = Vec::new();
    write(&mut out)?;
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The snake_case name serde gives a unit enum value (`FlowKind::DeviceCode` →
/// `device_code`), for reports that print what the JSON calls it.
pub fn snake_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Findings by the flow they are about (`None`: about no flow), in order.
pub(crate) type FindingsByFlow<'f> = HashMap<Option<usize>, Vec<&'f Finding>>;

/// The findings of each flow, in report order, looked up once per report
/// rather than filtered out of every finding once per flow.
pub(crate) fn findings_by_flow(findings: &[Finding]) -> FindingsByFlow<'_> {
    let mut by_flow = FindingsByFlow::new();
    for f in findings {
        by_flow.entry(f.flow).or_default().push(f);
    }
    by_flow
}

fn row<'f>(label: &'static str, value: std::borrow::Cow<'f, str>, is_user: bool) -> TicketRow<'f> {
    TicketRow {
        label,
        value,
        is_user,
    }
}

/// One row of a finding's "for the support ticket" block.
pub struct TicketRow<'f> {
    pub label: &'static str,
    pub value: std::borrow::Cow<'f, str>,
    /// A user name: every report masks it unless secrets are shown.
    pub is_user: bool,
}

/// The support-ticket rows of a finding, in the order support asks for them:
/// the code, the UTC time, the ids to search the Sign-in logs with, where.
pub fn ticket_rows(f: &Finding) -> Vec<TicketRow<'_>> {
    let mut rows = Vec::new();
    if let Some(code) = f.code {
        rows.push(row("Error code", format!("AADSTS{code}").into(), false));
    } else if let Some(code) = &f.service_code {
        rows.push(row("Error code", code.as_str().into(), false));
    }
    if let Some(step) = &f.step {
        rows.push(row("Step", step.as_str().into(), false));
    }
    if let Some(t) = f.time_us {
        rows.push(row("Timestamp (UTC)", time::rfc3339(t).into(), false));
    }
    for (label, value) in [
        ("Correlation ID", &f.correlation_id),
        ("Request ID", &f.request_id),
        ("Tenant", &f.tenant),
        ("App ID", &f.client_id),
        ("Server", &f.ests_server),
        ("Client", &f.client_ip),
    ] {
        if let Some(v) = value {
            rows.push(row(label, v.as_str().into(), false));
        }
    }
    if let Some(u) = &f.user {
        rows.push(row("User", u.as_str().into(), true));
    }
    rows
}
