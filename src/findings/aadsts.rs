//! Errors in the server's own words: AADSTS codes, OAuth errors, and the
//! services' other errors (Microsoft-account pages, AD FS and WS-Trust SOAP
//! faults). One finding per code and flow (repeats grouped), with the
//! catalogue's explanation and the context that changes its weight: the error
//! that ended a failed flow is an `error` whatever its catalogue class, and says
//! what came before it (an MFA prompt that timed out); for transient failures,
//! how long ago they were and whether a retry succeeded.

use crate::hashing::HashMap;

use super::{about_step, human_duration, Finding, FindingKind, FlowFacts, Severity};
use crate::identity::endpoints::HostRole;
use crate::identity::observe::ErrorPlace;
use crate::identity::{catalogue, flows, service_codes};
use crate::identity::{Analysis, Flow, MfaResult, Outcome, Step};

pub fn rules(analysis: &Analysis, facts: &FlowFacts, out: &mut Vec<Finding>) {
    // One finding per code and flow, in order of first sight; where each is.
    let mut grouped: Vec<usize> = Vec::new();
    let mut by_code: HashMap<(usize, u32), usize> = HashMap::default();
    for step in &analysis.steps {
        for &code in &step.aadsts {
            let flow = analysis.flow_of_step[step.id];
            if let Some(&at) = flow.and_then(|f| by_code.get(&(f, code))) {
                let f: &mut Finding = &mut out[at];
                f.exchanges.push(step.id);
                continue;
            }
            if let Some(f) = flow {
                by_code.insert((f, code), out.len());
            }
            grouped.push(out.len());
            out.push(code_finding(analysis, facts, step, code));
        }
        // OAuth errors of other providers (a social login on the page) are not ours.
        if step.aadsts.is_empty() && flows::in_scope(step) {
            if let Some(err) = &step.error {
                if matches!(err.place, Some(ErrorPlace::Page | ErrorPlace::SoapFault)) {
                    out.push(service_finding(analysis, facts, step));
                } else if err.error.is_some() {
                    out.push(oauth_finding(analysis, facts, step));
                }
            }
        }
    }
    for at in grouped {
        let n = out[at].exchanges.len();
        if n > 1 {
            out[at].title = format!("{} (×{n})", out[at].title);
            out[at].explanation = format!("{} Seen {n} times in this flow.", out[at].explanation);
        }
    }
}

fn code_finding(analysis: &Analysis, facts: &FlowFacts, step: &Step, code: u32) -> Finding {
    let mut f = about_step(FindingKind::AadstsError, analysis, step);
    f.code = Some(code);
    let entry = catalogue::lookup(code);
    match entry {
        Some(c) => {
            f.title = format!("AADSTS{code}: {}", c.title);
            f.explanation = c.explanation.clone();
            f.next_steps = c.next_steps.clone();
        }
        None => {
            f.title = format!("AADSTS{code}: a code aadtrace's catalogue does not know");
            f.explanation =
                "The service returned an error code that is not in aadtrace's offline catalogue."
                    .into();
            f.next_steps = vec![
                format!("Look it up at https://login.microsoftonline.com/error?code={code} (from a machine where that is allowed)."),
                "Search the tenant's Sign-in logs for the correlation id and time below.".into(),
            ];
        }
    }
    if let Some(msg) = step.error.as_ref().and_then(|e| e.message.as_ref()) {
        f.explanation = format!("{} Server message: \"{}\"", f.explanation, msg.trim());
    }
    if let Some(sub) = step.error.as_ref().and_then(|e| e.suberror.as_ref()) {
        f.explanation = format!("{} Sub-error: {sub}.", f.explanation);
    }
    f.severity = severity_in_context(analysis, facts, step, code, entry);
    if ended_failed_flow(analysis, facts, step) {
        f.severity = Severity::Error;
        if entry.is_some_and(|c| c.interrupt) {
            f.explanation = format!(
                "This code ended the sign-in: it is the last answer the user got. {}",
                what_came_before(analysis, facts, step).unwrap_or_default()
            );
        } else if let Some(before) = what_came_before(analysis, facts, step) {
            f.explanation = format!("{} {before}", f.explanation);
        }
        return f;
    }
    if entry.is_some_and(|c| c.transient) {
        add_transient_context(analysis, facts, step, &mut f);
    } else if f.severity == Severity::Warning && facts.succeeded_after(analysis, step) {
        f.explanation = format!(
            "{} The same sign-in succeeded later in the trace.",
            f.explanation
        );
    }
    f
}

fn severity_in_context(
    analysis: &Analysis,
    facts: &FlowFacts,
    step: &Step,
    code: u32,
    entry: Option<&catalogue::CodeInfo>,
) -> Severity {
    let mfa_approved = facts.mfa_approved(analysis, step);
    match (code, entry) {
        (50074, _) if mfa_approved || facts.succeeded_after(analysis, step) => Severity::Info,
        (50074, _) => Severity::Warning,
        (_, Some(c)) if c.interrupt => Severity::Info,
        _ if facts.succeeded_after(analysis, step) => Severity::Warning,
        _ => Severity::Error,
    }
}

fn add_transient_context(analysis: &Analysis, facts: &FlowFacts, step: &Step, f: &mut Finding) {
    let ago_ms = (analysis.trace_end_us - step.started_us) as f64 / 1000.0;
    let retried = facts.succeeded_after(analysis, step);
    let mut text = format!(
        "{} This is a transient service-side failure; it happened {} before the end of the trace.",
        f.explanation,
        human_duration(ago_ms.max(0.0))
    );
    if retried {
        text.push_str(" A later attempt in the same trace succeeded, so the problem cleared.");
        f.severity = Severity::Warning;
    } else {
        text.push_str(" No later attempt in this trace succeeded.");
        f.next_steps
            .insert(0, "Retry the sign-in in a few minutes.".into());
        f.next_steps.push(
            "If it keeps failing for more than 30 minutes, or for many users, check Service health and escalate to Microsoft with the ids below."
                .into(),
        );
    }
    f.explanation = text;
}

/// The flow of `step`, if it failed and `step` is its last failing step: the
/// error the user saw.
fn ended_failed_flow(analysis: &Analysis, facts: &FlowFacts, step: &Step) -> bool {
    let Some(flow) = flow_of(analysis, step) else {
        return false;
    };
    flow.outcome == Outcome::Failed && facts.last_error_step(analysis, step) == Some(step.id)
}

fn flow_of<'a>(analysis: &'a Analysis, step: &Step) -> Option<&'a Flow> {
    analysis.flow_of_step[step.id].map(|f| &analysis.flows[f])
}

/// "It came after the MFA prompt that timed out at 10:04:12 (PhoneAppNotification)."
fn what_came_before(analysis: &Analysis, facts: &FlowFacts, step: &Step) -> Option<String> {
    let flow = flow_of(analysis, step)?;
    let a = facts.failed_prompt_before(flow, step)?;
    let what = match a.result {
        MfaResult::Timeout => "timed out",
        MfaResult::Denied => "was denied",
        MfaResult::Abandoned => "was abandoned",
        MfaResult::Failed => "failed",
        MfaResult::Pending | MfaResult::Approved => return None,
    };
    Some(format!(
        "It came after the MFA prompt that {what} at {} ({}).",
        crate::findings::clock_time(a.ended_us),
        a.method.as_deref().unwrap_or("unknown method")
    ))
}

/// An error a sign-in service wrote in its own page or SOAP fault without an
/// AADSTS code: a Microsoft-account page (`sErrorCode`, `sErrTxt`), an AD FS
/// WS-Trust fault (`FailedAuthentication`, `ID3242: …`).
fn service_finding(analysis: &Analysis, facts: &FlowFacts, step: &Step) -> Finding {
    let mut f = about_step(FindingKind::ServiceError, analysis, step);
    let err = step.error.as_ref().expect("caller checked");
    let code = step.service_code.clone().or_else(|| err.error.clone());
    let entry = step
        .service_code
        .as_deref()
        .and_then(service_codes::lookup)
        .or_else(|| err.error.as_deref().and_then(service_codes::lookup));
    let service = entry
        .map(|e| e.service.as_str())
        .unwrap_or(match step.role {
            Some(HostRole::Msa) => "Microsoft account",
            Some(HostRole::Adfs) => "AD FS",
            Some(HostRole::Ests) => "Entra ID",
            _ => "The sign-in service",
        });
    f.title = match (&code, entry) {
        (Some(c), Some(e)) => format!("{service} error {c}: {}", e.title),
        (Some(c), None) => format!("{service} error {c}"),
        (None, _) => format!("{service} reported an error"),
    };
    if let Some(e) = entry {
        f.explanation = e.explanation.clone();
        f.next_steps = e.next_steps.clone();
    }
    if let Some(msg) = &err.message {
        f.explanation = format!("{} Server message: \"{}\"", f.explanation, msg.trim());
    }
    if err.place == Some(ErrorPlace::SoapFault) {
        let fault: Vec<&str> = [&err.error, &err.suberror]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !fault.is_empty() {
            f.explanation = format!("{} SOAP fault: {}.", f.explanation, fault.join(", "));
        }
    }
    f.service_code = code;
    if !ended_failed_flow(analysis, facts, step) && facts.succeeded_after(analysis, step) {
        f.severity = Severity::Warning;
        f.explanation
            .push_str(" The same sign-in succeeded later in the trace.");
    } else if let Some(before) = what_came_before(analysis, facts, step) {
        f.explanation = format!("{} {before}", f.explanation);
    }
    f
}

fn oauth_finding(analysis: &Analysis, facts: &FlowFacts, step: &Step) -> Finding {
    let mut f = about_step(FindingKind::OauthError, analysis, step);
    let err = step.error.as_ref().expect("caller checked");
    let name = err.error.as_deref().unwrap_or("error");
    f.title = format!("OAuth error `{name}` returned to the application");
    if let Some(msg) = &err.message {
        f.explanation = format!("{} Message: \"{}\"", f.explanation, msg.trim());
    }
    if let Some(sub) = &err.suberror {
        f.explanation = format!("{} Sub-code: {sub}.", f.explanation);
        if name == "access_denied" && sub == "cancel" {
            f.severity = Severity::Warning;
        }
    }
    if ended_failed_flow(analysis, facts, step) {
        f.severity = Severity::Error;
    } else if facts.succeeded_after(analysis, step) {
        f.severity = Severity::Warning;
    }
    f
}
