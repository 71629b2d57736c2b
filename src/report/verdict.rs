//! The verdict: one line that says how a trace, or one flow, ended, with the
//! facts a support ticket starts from. Every report opens with it (text, JSON,
//! HTML, `--ticket`), so they all say the same thing.
//!
//! - A failed flow's verdict is its last `error` finding, the answer the user
//!   saw: `FAILED  AADSTS50126: … · 2025-05-08T16:04:46.123Z · correlation … ·
//!   request …`.
//! - A flow that succeeded says what it got past: `SUCCEEDED after an MFA
//!   timeout`, `SUCCEEDED after 2 warnings`.
//! - An incomplete flow names its last step: the trace ends there.
//! - The trace's verdict is its last failed sign-in, unless a later sign-in
//!   succeeded (`SUCCEEDED after 1 failed sign-in`); with no flow at all it is
//!   `NO SIGN-IN IN THIS TRACE`.

use crate::findings::{Finding, FindingKind, Severity};
use crate::hashing::HashMap;
use crate::identity::{Flow, Outcome};
use crate::session::Session;

use super::shown::Redactor;
use super::time::rfc3339;

/// How a trace or a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Failed,
    Succeeded,
    Incomplete,
    NoSignIn,
}

impl Ending {
    /// The JSON name (`failed`, `no_sign_in`…).
    pub fn name(self) -> &'static str {
        match self {
            Ending::Failed => "failed",
            Ending::Succeeded => "succeeded",
            Ending::Incomplete => "incomplete",
            Ending::NoSignIn => "no_sign_in",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Ending::Failed => "FAILED",
            Ending::Succeeded => "SUCCEEDED",
            Ending::Incomplete => "INCOMPLETE",
            Ending::NoSignIn => "NO SIGN-IN IN THIS TRACE",
        }
    }
}

/// A verdict and what it rests on.
#[derive(Debug, Clone)]
pub struct Verdict<'s> {
    pub ending: Ending,
    /// The flow it is about.
    pub flow: Option<&'s Flow>,
    /// The finding that decided it (a failed flow's last error).
    pub finding: Option<&'s Finding>,
    /// What a success got past, or where an incomplete flow stops.
    pub note: Option<String>,
}

impl Verdict<'_> {
    /// The one-line verdict, strings from the trace redacted by `r`.
    pub fn line(&self, r: &Redactor) -> String {
        let mut parts = vec![self.ending.label().to_string()];
        if let Some(f) = self.finding {
            parts[0] = format!("{}  {}", parts[0], r.text(&f.title));
            if let Some(t) = f.time_us {
                parts.push(rfc3339(t));
            }
            if let Some(c) = &f.correlation_id {
                parts.push(format!("correlation {}", r.text(c)));
            }
            if let Some(q) = &f.request_id {
                parts.push(format!("request {}", r.text(q)));
            }
            if let Some(note) = &self.note {
                parts.push(note.clone());
            }
        } else if let Some(note) = &self.note {
            parts[0] = format!("{} {note}", parts[0]);
        }
        parts.join(" · ")
    }
}

/// The verdict of one flow.
pub fn of_flow<'s>(session: &'s Session, flow: &'s Flow) -> Verdict<'s> {
    let findings: Vec<&Finding> = session
        .findings
        .iter()
        .filter(|f| f.flow == Some(flow.id))
        .collect();
    of_flow_among(session, flow, &findings)
}

/// [`of_flow`] given the flow's findings in report order: a report that judges
/// every flow looks them up once ([`super::findings_by_flow`]) instead of
/// filtering every finding once per flow.
pub fn of_flow_among<'s>(
    session: &'s Session,
    flow: &'s Flow,
    findings: &[&'s Finding],
) -> Verdict<'s> {
    let findings = || findings.iter().copied();
    match flow.outcome {
        Outcome::Failed => Verdict {
            ending: Ending::Failed,
            flow: Some(flow),
            finding: findings()
                .filter(|f| f.severity == Severity::Error)
                .max_by_key(|f| (f.time_us, f.id)),
            note: None,
        },
        Outcome::Success => Verdict {
            ending: Ending::Succeeded,
            flow: Some(flow),
            finding: None,
            note: got_past(&findings().collect::<Vec<_>>()),
        },
        Outcome::Incomplete => Verdict {
            ending: Ending::Incomplete,
            flow: Some(flow),
            finding: None,
            note: flow.steps.last().map(|&i| {
                let step = &session.analysis.steps[i];
                format!(
                    "the trace ends after #{} {} at {}",
                    step.id,
                    step.label(),
                    rfc3339(step.started_us)
                )
            }),
        },
    }
}

/// What a successful flow got past: its MFA trouble, else how many warnings.
fn got_past(findings: &[&Finding]) -> Option<String> {
    let mfa = findings.iter().find_map(|f| match f.kind {
        FindingKind::MfaTimeout => Some("after an MFA timeout"),
        FindingKind::MfaDenied => Some("after a denied MFA prompt"),
        FindingKind::MfaAbandoned => Some("after an abandoned MFA prompt"),
        FindingKind::MfaFailed => Some("after a failed MFA attempt"),
        _ => None,
    });
    if let Some(m) = mfa {
        return Some(m.to_string());
    }
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    match warnings {
        0 => None,
        1 => Some("after 1 warning".into()),
        n => Some(format!("after {n} warnings")),
    }
}

/// The verdict of the whole trace: its last failed sign-in that no later
/// sign-in of the same application made good; else its last success (saying
/// how many failures came before it); else where it stops.
pub fn of_trace(session: &Session) -> Verdict<'_> {
    let flows = &session.analysis.flows;
    if flows.is_empty() {
        return Verdict {
            ending: Ending::NoSignIn,
            flow: None,
            finding: None,
            note: None,
        };
    }
    let latest = |outcome: Outcome| {
        flows
            .iter()
            .filter(move |f| f.outcome == outcome)
            .max_by_key(|f| (f.ended_us, f.id))
    };
    let (resolved, unresolved) = failures_by_recovery(flows);
    if let Some(last) = unresolved.iter().max_by_key(|f| (f.ended_us, f.id)) {
        let mut v = of_flow(session, last);
        if unresolved.len() > 1 {
            let more = unresolved.len() - 1;
            v.note = Some(format!(
                "and {more} more failed sign-in{}",
                if more == 1 { "" } else { "s" }
            ));
        }
        return v;
    }
    match latest(Outcome::Success) {
        Some(success) if !resolved.is_empty() => {
            let n = resolved.len();
            Verdict {
                ending: Ending::Succeeded,
                flow: Some(success),
                finding: None,
                note: Some(format!(
                    "after {n} failed sign-in{}",
                    if n == 1 { "" } else { "s" }
                )),
            }
        }
        Some(success) => of_flow(session, success),
        None => latest(Outcome::Incomplete)
            .map_or_else(|| of_flow(session, &flows[0]), |f| of_flow(session, f)),
    }
}

/// The failed flows, split into those made good by a sign-in of the same app
/// that started no earlier and succeeded, and the others. The latest such
/// start per app is found in one pass: a scan of every flow for each failed
/// one was a millisecond of the text report of a trace with a thousand flows,
/// on one core (issue #15).
fn failures_by_recovery(flows: &[Flow]) -> (Vec<&Flow>, Vec<&Flow>) {
    let mut latest_success: HashMap<Option<&str>, i64> = HashMap::default();
    for f in flows.iter().filter(|f| f.outcome == Outcome::Success) {
        let latest = latest_success
            .entry(f.client_id.as_deref())
            .or_insert(i64::MIN);
        *latest = (*latest).max(f.started_us);
    }
    flows
        .iter()
        .filter(|f| f.outcome == Outcome::Failed)
        .partition(|failed| {
            latest_success
                .get(&failed.client_id.as_deref())
                .is_some_and(|&latest| latest >= failed.started_us)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::FlowKind;

    /// Split in one pass, the failures are the ones a scan of every flow for
    /// each failed one finds made good, over random traces with apps shared,
    /// absent and started at the same time.
    #[test]
    fn failures_made_good_are_the_ones_a_scan_finds() {
        let mut below = crate::test_rng::picker(0x7e57);
        for _ in 0..300 {
            let flows: Vec<Flow> = (0..below(12))
                .map(|id| Flow {
                    id,
                    kind: FlowKind::Entra,
                    steps: Vec::new(),
                    started_us: below(5) as i64,
                    ended_us: 0,
                    correlation_ids: Vec::new(),
                    tenant: None,
                    client_id: ["a", "b"].get(below(3)).map(|c| c.to_string()),
                    user: None,
                    outcome: [Outcome::Success, Outcome::Failed, Outcome::Incomplete][below(3)],
                    mfa: Vec::new(),
                    regions: Vec::new(),
                })
                .collect();
            let made_good = |failed: &Flow| {
                flows.iter().any(|f| {
                    f.outcome == Outcome::Success
                        && f.started_us >= failed.started_us
                        && f.client_id == failed.client_id
                })
            };
            let by_scan: (Vec<&Flow>, Vec<&Flow>) = flows
                .iter()
                .filter(|f| f.outcome == Outcome::Failed)
                .partition(|f| made_good(f));
            assert_eq!(failures_by_recovery(&flows), by_scan, "{flows:?}");
        }
    }
}
