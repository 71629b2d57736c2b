//! HTTP failures that no AADSTS code or OAuth error already explains: 4xx/5xx and
//! requests that got no response. Weighted by where they happened: a sign-in
//! endpoint matters; a Seamless SSO probe fails off the corporate network by
//! design; and traffic no sign-in depended on (telemetry, analytics, CDN, the
//! hidden MSA frame, pages the browser abandoned) is one `info` count at most.

use super::{about_step, Finding, FindingKind, FindingOptions, FlowFacts, Severity};
use crate::hashing::HashMap;

use crate::identity::endpoints::HostRole;
use crate::identity::{flows, Analysis, Step};

pub fn rules(
    analysis: &Analysis,
    facts: &FlowFacts,
    _options: &FindingOptions,
    out: &mut Vec<Finding>,
) {
    let mut unrelated: Vec<&Step> = Vec::new();
    for step in &analysis.steps {
        if step.noise
            || !step.aadsts.is_empty()
            || step.error.as_ref().is_some_and(|e| e.error.is_some())
        {
            continue;
        }
        let failed_status = step.status.filter(|s| *s >= 400);
        let no_response = step.status.is_none() && step.transport_error.is_some();
        if failed_status.is_none() && !no_response {
            continue;
        }
        if !sign_in_depends_on(analysis, step) {
            unrelated.push(step);
            continue;
        }
        let mut f = about_step(FindingKind::HttpError, analysis, step);
        f.severity = weight(analysis, facts, step);
        describe(step, &mut f);
        out.push(f);
    }
    if let Some(f) = unrelated_summary(analysis, &unrelated) {
        out.push(f);
    }
}

/// A request a sign-in needed: an identity endpoint (the hidden MSA frame
/// aside) or the app's own callback. Anything else failing leaves the sign-in
/// as it was.
fn sign_in_depends_on(analysis: &Analysis, step: &Step) -> bool {
    let in_flow = analysis
        .flow_of_step
        .get(step.id)
        .copied()
        .flatten()
        .is_some();
    flows::in_scope(step) && step.endpoint != Some("msa_me") && (in_flow || !step.background)
}

fn weight(analysis: &Analysis, facts: &FlowFacts, step: &Step) -> Severity {
    if step.role == Some(HostRole::SeamlessSso) {
        return Severity::Info;
    }
    if facts.succeeded_after(analysis, step) {
        return Severity::Warning;
    }
    Severity::Error
}

/// One `info` finding that counts the failures of traffic no sign-in depended
/// on, with the hosts most affected.
fn unrelated_summary(analysis: &Analysis, steps: &[&Step]) -> Option<Finding> {
    let first = steps.first()?;
    let mut f = about_step(FindingKind::UnrelatedFailures, analysis, first);
    f.severity = Severity::Info;
    f.flow = None;
    f.exchanges = steps.iter().map(|s| s.id).collect();
    let mut counts: HashMap<&str, usize> = HashMap::default();
    for s in steps {
        *counts.entry(&s.host).or_default() += 1;
    }
    // Count, then name: a total order, so the map's order does not matter.
    let mut hosts: Vec<(&str, usize)> = counts.into_iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = hosts
        .iter()
        .take(5)
        .map(|(h, n)| format!("{h} ({n})"))
        .collect();
    let more = hosts.len().saturating_sub(5);
    f.title = format!(
        "{} request(s) that no sign-in depended on failed or were abandoned",
        steps.len()
    );
    f.explanation = format!(
        "{} Hosts: {}{}.",
        f.explanation,
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    f.correlation_id = None;
    f.request_id = None;
    f.step = None;
    Some(f)
}

fn describe(step: &Step, f: &mut super::Finding) {
    let what = format!("{} {}{}", step.method, step.host, step.path);
    match (step.status, &step.transport_error) {
        (Some(s), _) => {
            f.title = format!("HTTP {s} from {}", step.host);
            f.explanation = format!(
                "{} The request {what} was answered with HTTP {s}.",
                f.explanation
            );
        }
        (None, Some(e)) => {
            f.title = format!("No response from {}", step.host);
            f.explanation = format!("{} The request {what} failed: {e}.", f.explanation);
        }
        (None, None) => {}
    }
    if step.role == Some(HostRole::SeamlessSso) && step.status != Some(401) {
        f.title = format!(
            "{} (Seamless SSO probe, expected off the corporate network)",
            f.title
        );
        f.explanation = format!("{} Seamless SSO answers only on the corporate network, where the browser can reach it with a Kerberos ticket; elsewhere its probe fails or is refused and the sign-in falls back to the password page.", f.explanation);
        f.next_steps = vec!["Nothing to do unless Seamless SSO was expected to work: then check that the device is domain-joined, on the corporate network (or VPN), and that the autologon URL is in the browser's Intranet zone.".into()];
    }
    if step.role == Some(HostRole::SeamlessSso) && step.status == Some(401) {
        f.title = "Seamless SSO probe answered 401 (expected off the domain)".into();
        f.explanation = "The browser asked Seamless SSO for a Kerberos sign-in and was refused with 401 Negotiate. This is normal on a device that is not joined to the domain or not on the corporate network, and the sign-in falls back to the password page.".into();
        f.next_steps = vec!["Nothing to do unless Seamless SSO was expected to work: then check that the device is domain-joined, on the corporate network, and that the autologon URL is in the browser's Intranet zone.".into()];
    }
}
