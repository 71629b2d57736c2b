//! AADSTS codes and OAuth errors: one finding per code and flow (repeats grouped),
//! with the catalogue's explanation, the context that changes its weight, and for
//! transient failures how long ago they were and whether a retry succeeded.

use super::{about_step, flow_succeeded_after, human_duration, Finding, Severity};
use crate::identity::catalogue;
use crate::identity::{Analysis, MfaResult, Step};

pub fn rules(analysis: &Analysis, out: &mut Vec<Finding>) {
    let mut grouped: Vec<(Option<usize>, u32, usize)> = Vec::new();
    for step in &analysis.steps {
        for &code in &step.aadsts {
            let flow = analysis.flow_of_step[step.id];
            if let Some(&(_, _, at)) = grouped
                .iter()
                .find(|(f, c, _)| *f == flow && *c == code && flow.is_some())
            {
                let f: &mut Finding = &mut out[at];
                f.exchanges.push(step.id);
                continue;
            }
            grouped.push((flow, code, out.len()));
            out.push(code_finding(analysis, step, code));
        }
        // OAuth errors of other providers (a social login on the page) are not ours.
        if step.aadsts.is_empty() && crate::identity::flows::in_scope(step) {
            if let Some(err) = &step.error {
                if err.error.is_some() && step.status.is_none_or(|s| s < 500) {
                    out.push(oauth_finding(analysis, step));
                }
            }
        }
    }
    for (_, code, at) in grouped {
        let n = out[at].exchanges.len();
        if n > 1 {
            out[at].title = format!("{} (×{n})", out[at].title);
            out[at].explanation = format!("{} Seen {n} times in this flow.", out[at].explanation);
        }
        let _ = code;
    }
}

fn code_finding(analysis: &Analysis, step: &Step, code: u32) -> Finding {
    let mut f = about_step("aadsts_error", analysis, step);
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
    f.severity = severity_in_context(analysis, step, code, entry);
    if entry.is_some_and(|c| c.transient) {
        add_transient_context(analysis, step, &mut f);
    } else if f.severity == Severity::Warning && flow_succeeded_after(analysis, step) {
        f.explanation = format!(
            "{} The same sign-in succeeded later in the trace.",
            f.explanation
        );
    }
    f
}

fn severity_in_context(
    analysis: &Analysis,
    step: &Step,
    code: u32,
    entry: Option<&catalogue::CodeInfo>,
) -> Severity {
    let flow = analysis.flow_of_step[step.id].map(|f| &analysis.flows[f]);
    let mfa_approved = flow.is_some_and(|f| f.mfa.iter().any(|a| a.result == MfaResult::Approved));
    match (code, entry) {
        (50074, _) if mfa_approved || flow_succeeded_after(analysis, step) => Severity::Info,
        (50074, _) => Severity::Warning,
        (_, Some(c)) if c.interrupt => Severity::Info,
        _ if flow_succeeded_after(analysis, step) => Severity::Warning,
        _ => Severity::Error,
    }
}

fn add_transient_context(analysis: &Analysis, step: &Step, f: &mut Finding) {
    let ago_ms = (analysis.trace_end_us - step.started_us) as f64 / 1000.0;
    let retried = flow_succeeded_after(analysis, step);
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

fn oauth_finding(analysis: &Analysis, step: &Step) -> Finding {
    let mut f = about_step("oauth_error", analysis, step);
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
    if flow_succeeded_after(analysis, step) {
        f.severity = Severity::Warning;
    }
    f
}
