//! MFA verdicts (timeout, denial, abandonment, failure) and MFA fatigue.

use super::{
    about_step, human_duration, kind_info, Finding, FindingKind, FindingOptions, Severity,
};
use crate::identity::{Analysis, Flow, MfaAttempt, MfaResult, Outcome};

pub fn rules(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    for flow in &analysis.flows {
        for attempt in &flow.mfa {
            if let Some(f) = verdict_finding(analysis, flow, attempt) {
                out.push(f);
            }
        }
    }
    fatigue(analysis, options, out);
}

fn kind_of(result: MfaResult) -> Option<FindingKind> {
    Some(match result {
        MfaResult::Timeout => FindingKind::MfaTimeout,
        MfaResult::Denied => FindingKind::MfaDenied,
        MfaResult::Abandoned => FindingKind::MfaAbandoned,
        MfaResult::Failed => FindingKind::MfaFailed,
        MfaResult::Pending => FindingKind::MfaPending,
        MfaResult::Approved => return None,
    })
}

fn verdict_finding(analysis: &Analysis, flow: &Flow, a: &MfaAttempt) -> Option<Finding> {
    let kind = kind_of(a.result)?;
    // The ticket block gives one step's facts: the step that started the attempt.
    let first = *a.steps.first()?;
    let mut f = about_step(kind, analysis, &analysis.steps[first]);
    f.exchanges = a.steps.clone();
    let method = a.method.as_deref().unwrap_or("unknown method");
    let window = match a.window_ms {
        Some(w) => format!("the {} window the page announced", human_duration(w as f64)),
        None => format!(
            "the default {} window (the page announced none)",
            human_duration(a.judged_window_ms as f64)
        ),
    };
    f.title = format!("{} ({method})", kind_info(kind).title);
    f.explanation = format!(
        "{} {} poll(s) over {}, judged against {}.{}",
        f.explanation,
        a.polls,
        human_duration(a.waited_ms),
        window,
        a.last_result_value
            .as_deref()
            .map(|v| format!(" The server's last answer was `{v}`."))
            .unwrap_or_default()
    );
    let later_success = flow.outcome == Outcome::Success && a.result != MfaResult::Pending;
    if later_success && f.severity == Severity::Error {
        f.severity = Severity::Warning;
        f.explanation
            .push_str(" The sign-in succeeded later in the same flow.");
    }
    Some(f)
}

fn is_push(a: &MfaAttempt) -> bool {
    a.method
        .as_deref()
        .is_none_or(|m| m.starts_with("PhoneApp") || m.contains("Voice"))
}

fn fatigue(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    let mut prompts: Vec<(&MfaAttempt, &Flow)> = analysis
        .flows
        .iter()
        .flat_map(|f| f.mfa.iter().filter(|a| is_push(a)).map(move |a| (a, f)))
        .collect();
    prompts.sort_by_key(|(a, _)| a.started_us);
    let window_us = options.fatigue_window_s * 1_000_000;
    let mut start = 0;
    while start < prompts.len() {
        let end = prompts[start..]
            .iter()
            .take_while(|(a, _)| a.started_us - prompts[start].0.started_us <= window_us)
            .count()
            + start;
        if end - start >= options.fatigue_prompts {
            let cluster = &prompts[start..end];
            let first = cluster[0].0;
            let mut f = about_step(
                FindingKind::MfaFatigue,
                analysis,
                &analysis.steps[first.steps[0]],
            );
            f.exchanges = cluster.iter().map(|(a, _)| a.steps[0]).collect();
            let span = (cluster[cluster.len() - 1].0.started_us - first.started_us) as f64 / 1000.0;
            f.explanation = format!(
                "{} {} push prompts in {}.",
                f.explanation,
                cluster.len(),
                human_duration(span)
            );
            out.push(f);
            start = end;
        } else {
            start += 1;
        }
    }
}
