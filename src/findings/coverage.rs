//! What the trace cannot show: no sign-in at all, a sign-in whose first page
//! was not captured, and a failure whose evidence (the response body) was not
//! saved. Each says what to capture next time, so the next trace answers.

use super::{about_step, Finding, FindingKind};
use crate::identity::{observe, Analysis, Flow, FlowKind, Outcome};

pub fn rules(analysis: &Analysis, out: &mut Vec<Finding>) {
    if analysis.flows.is_empty() {
        out.push(no_sign_in(analysis));
    }
    for flow in &analysis.flows {
        if let Some(f) = start_missing(analysis, flow) {
            out.push(f);
        }
        if flow.outcome == Outcome::Failed {
            if let Some(f) = failure_body_missing(analysis, flow) {
                out.push(f);
            }
        }
    }
}

fn no_sign_in(analysis: &Analysis) -> Finding {
    let info = super::kind_info(FindingKind::NoSignIn);
    let mut f = match analysis.steps.first() {
        Some(first) => about_step(FindingKind::NoSignIn, analysis, first),
        None => super::kind_only(FindingKind::NoSignIn),
    };
    f.exchanges.clear();
    f.step = None;
    f.correlation_id = None;
    f.request_id = None;
    f.ests_server = None;
    f.explanation = format!(
        "{} The trace holds {} request(s){}.",
        info.explanation,
        analysis.steps.len(),
        if analysis.background.is_empty() {
            String::new()
        } else {
            format!(
                ", {} of them background calls to sign-in services",
                analysis.background.len()
            )
        }
    );
    f
}

/// Endpoints an interactive sign-in starts with: its first page, or a client's
/// first call.
fn is_start(endpoint: Option<&str>) -> bool {
    matches!(
        endpoint,
        Some(
            "authorize"
                | "msa_authorize"
                | "adfs"
                | "saml2"
                | "wsfed"
                | "login_srf"
                | "devicecode"
                | "token"
                | "msa_token"
                | "adfs_wstrust"
                | "seamless_sso"
                | "logout"
        )
    )
}

/// A browser sign-in whose first sign-in step is one from its middle (a
/// password post, an MFA poll): the recording started after the sign-in did.
fn start_missing(analysis: &Analysis, flow: &Flow) -> Option<Finding> {
    if !matches!(flow.kind, FlowKind::Entra | FlowKind::Msa | FlowKind::Adfs) {
        return None;
    }
    let first = flow
        .steps
        .iter()
        .map(|&i| &analysis.steps[i])
        .find(|s| !s.background)?;
    if is_start(first.endpoint) || first.endpoint.is_none() {
        return None;
    }
    let mut f = about_step(FindingKind::SignInStartMissing, analysis, first);
    f.explanation = format!(
        "{} Its first step in the trace is {} at step {}.",
        f.explanation,
        first.label(),
        first.id
    );
    Some(f)
}

/// A failed flow whose failing step kept no response body: its status is all
/// the trace shows, and the server's own message is lost.
fn failure_body_missing(analysis: &Analysis, flow: &Flow) -> Option<Finding> {
    let step = flow
        .steps
        .iter()
        .rev()
        .map(|&i| &analysis.steps[i])
        .find(|s| observe::is_blocking(s))?;
    if !step.body_omitted || !step.aadsts.is_empty() || step.error.is_some() {
        return None;
    }
    let mut f = about_step(FindingKind::ErrorBodyMissing, analysis, step);
    f.explanation = format!(
        "{} Step {} ({}{}) has no body in the trace.",
        f.explanation,
        step.id,
        step.label(),
        step.status
            .map(|s| format!(", HTTP {s}"))
            .unwrap_or_default()
    );
    Some(f)
}
