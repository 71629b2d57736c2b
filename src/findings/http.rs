//! HTTP failures that no AADSTS code or OAuth error already explains: 4xx/5xx and
//! requests that got no response. Weighted by where they happened: a sign-in
//! endpoint matters, an unrelated 404 does not block anyone.

use super::{about_step, flow_succeeded_after, Finding, FindingOptions, Severity};
use crate::identity::endpoints::HostRole;
use crate::identity::{flows, Analysis, Step};

pub fn rules(analysis: &Analysis, _options: &FindingOptions, out: &mut Vec<Finding>) {
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
        let mut f = about_step("http_error", analysis, step);
        f.severity = weight(analysis, step);
        describe(step, &mut f);
        out.push(f);
    }
}

fn weight(analysis: &Analysis, step: &Step) -> Severity {
    let identity = flows::in_scope(step);
    let status = step.status.unwrap_or(0);
    if step.role == Some(HostRole::SeamlessSso) && status == 401 {
        return Severity::Info;
    }
    if identity && flow_succeeded_after(analysis, step) {
        return Severity::Warning;
    }
    match (identity, status) {
        (true, _) => Severity::Error,
        (false, 0) => Severity::Warning,
        (false, s) if s >= 500 => Severity::Warning,
        _ => Severity::Info,
    }
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
    if step.role == Some(HostRole::SeamlessSso) && step.status == Some(401) {
        f.title = "Seamless SSO probe answered 401 (expected off the domain)".into();
        f.explanation = "The browser asked Seamless SSO for a Kerberos sign-in and was refused with 401 Negotiate. This is normal on a device that is not joined to the domain or not on the corporate network, and the sign-in falls back to the password page.".into();
        f.next_steps = vec!["Nothing to do unless Seamless SSO was expected to work: then check that the device is domain-joined, on the corporate network, and that the autologon URL is in the browser's Intranet zone.".into()];
    }
}
