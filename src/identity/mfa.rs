//! MFA attempts: one per SAS `BeginAuth`, with the `EndAuth` polls after it and the
//! `ProcessAuth` that closes it, judged against the polling window the page announced.
//!
//! ```text
//! BeginAuth ──▶ EndAuth (AuthenticationPending) × n ──▶ EndAuth verdict ──▶ ProcessAuth
//!     │                          │
//!     │ Success:false → failed   └─ polling stops without verdict:
//!                                     ran out the window        → timeout
//!                                     trace ends inside window  → pending
//!                                     stopped early             → abandoned
//! ```
//!
//! Microsoft accounts follow the same shape with their own endpoints: a code or
//! push sent by `GetOneTimeCode.srf` opens the attempt, `GetSessionState.srf`
//! polls it, and the `post.srf` that answers the proof (an `otc`, or `type`
//! 18/19/22) closes it: approved unless the page came back with an error (its
//! code is the verdict). A code typed from an authenticator app has no
//! `GetOneTimeCode.srf`: the proof post is the whole attempt.

use super::observe::{end_us, is_blocking, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaResult {
    Approved,
    Timeout,
    Denied,
    Abandoned,
    Failed,
    Pending,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MfaAttempt {
    pub method: Option<String>,
    /// Step ids: BeginAuth, the polls, ProcessAuth.
    pub steps: Vec<usize>,
    pub polls: usize,
    pub started_us: i64,
    pub ended_us: i64,
    pub waited_ms: f64,
    /// Window announced by the page (`iPollingTimeout`), if any.
    pub window_ms: Option<i64>,
    /// The window the verdict was judged against (announced or the default).
    pub judged_window_ms: i64,
    pub result: MfaResult,
    /// The server's last `ResultValue`.
    pub last_result_value: Option<String>,
    /// Number-matching value shown to the user, if used.
    pub entropy: Option<i64>,
}

/// Builds the MFA attempts of one flow (`g`: step ids in time order).
pub fn attempts(
    g: &[usize],
    steps: &[Step],
    trace_end_us: i64,
    default_window_ms: i64,
) -> Vec<MfaAttempt> {
    let mut out: Vec<MfaAttempt> = Vec::new();
    let mut open: Option<MfaAttempt> = None;
    let mut window: Option<i64> = None;
    for &i in g {
        let s = &steps[i];
        if let Some(t) = s.polling_timeout_ms {
            window = Some(t);
        }
        match s.endpoint {
            Some("sas_begin_auth") => {
                if let Some(a) = open.take() {
                    out.push(a);
                }
                open = Some(begin(i, s, window, default_window_ms));
            }
            Some("msa_one_time_code") => {
                if let Some(a) = open.take() {
                    out.push(a);
                }
                let mut a = begin_without_request(i, s, window, default_window_ms);
                a.method = s.mfa_auth_method.clone();
                open = Some(a);
            }
            Some("msa_post") if s.msa_proof => {
                let mut a = open
                    .take()
                    .unwrap_or_else(|| begin_without_request(i, s, window, default_window_ms));
                proof_posted(&mut a, i, s);
                out.push(a);
            }
            Some("sas_end_auth" | "msa_session_state") => {
                let a = open
                    .get_or_insert_with(|| begin_without_request(i, s, window, default_window_ms));
                polled(a, i, s);
            }
            Some("sas_process_auth") => {
                if let Some(mut a) = open.take() {
                    a.steps.push(i);
                    if a.method.is_none() {
                        a.method = s.mfa_auth_method.clone();
                    }
                    out.push(a);
                }
            }
            _ => {}
        }
    }
    out.extend(open);
    // Once for the flow, not once per attempt: a flow can hold thousands.
    let last_start = g.iter().map(|&i| steps[i].started_us).max();
    for a in &mut out {
        judge(a, last_start, steps, trace_end_us);
    }
    out
}

/// Step `i` posted an MSA proof (a code or an approval): the attempt ends with
/// its verdict.
fn proof_posted(a: &mut MfaAttempt, i: usize, s: &Step) {
    if a.steps.last() != Some(&i) {
        a.steps.push(i);
    }
    a.ended_us = end_us(s);
    if a.method.is_none() {
        a.method = s.mfa_auth_method.clone();
    }
    a.last_result_value = Some(if is_blocking(s) {
        s.service_code
            .clone()
            .unwrap_or_else(|| "ProofRejected".to_string())
    } else {
        "Success".to_string()
    });
}

/// Step `i` polled for the attempt's result (SAS `EndAuth`, MSA session state).
fn polled(a: &mut MfaAttempt, i: usize, s: &Step) {
    if a.steps.last() != Some(&i) {
        a.steps.push(i);
    }
    a.polls += 1;
    a.ended_us = end_us(s);
    if let Some(sas) = &s.sas {
        if sas.result_value.is_some() {
            a.last_result_value = sas.result_value.clone();
        }
        if a.method.is_none() {
            a.method = sas.auth_method.clone();
        }
    }
}

fn begin(i: usize, s: &Step, window: Option<i64>, default_window_ms: i64) -> MfaAttempt {
    let sas = s.sas.clone().unwrap_or_default();
    let mut a = begin_without_request(i, s, window, default_window_ms);
    a.polls = 0;
    a.method = sas.auth_method.clone();
    a.entropy = sas.entropy;
    if sas.success == Some(false) {
        a.last_result_value = sas.result_value.or(Some("BeginAuthFailed".to_string()));
    }
    a
}

fn begin_without_request(
    i: usize,
    s: &Step,
    window: Option<i64>,
    default_window_ms: i64,
) -> MfaAttempt {
    MfaAttempt {
        method: s.sas.as_ref().and_then(|x| x.auth_method.clone()),
        steps: vec![i],
        polls: 0,
        started_us: s.started_us,
        ended_us: end_us(s),
        waited_ms: 0.0,
        window_ms: window,
        judged_window_ms: window.unwrap_or(default_window_ms),
        result: MfaResult::Pending,
        last_result_value: None,
        entropy: None,
    }
}

/// `ResultValue` strings of the SAS `EndAuth` answers that are a final "no" from
/// the user or the server.
fn verdict_of(value: &str) -> Option<MfaResult> {
    let v = value.to_ascii_lowercase();
    Some(match v.as_str() {
        "success" => MfaResult::Approved,
        "authenticationpending" => return None,
        _ if v.contains("noresponse") || v.contains("timedout") || v.contains("timeout") => {
            MfaResult::Timeout
        }
        _ if v.contains("denied") || v.contains("fraud") => MfaResult::Denied,
        _ => MfaResult::Failed,
    })
}

fn is_poll(step: &Step) -> bool {
    matches!(step.endpoint, Some("sas_end_auth" | "msa_session_state"))
}

/// `last_start`: when the flow's latest step started.
fn judge(a: &mut MfaAttempt, last_start: Option<i64>, steps: &[Step], trace_end_us: i64) {
    a.waited_ms = (a.ended_us - a.started_us) as f64 / 1000.0;
    let begin_failed = a.last_result_value.as_deref() == Some("BeginAuthFailed");
    if let Some(v) = a.last_result_value.as_deref().and_then(verdict_of) {
        a.result = v;
        return;
    }
    if begin_failed {
        a.result = MfaResult::Failed;
        return;
    }
    // Polling stopped without a verdict: ran out the window, or stopped early.
    let window_us = a.judged_window_ms * 1000;
    let last_poll_end = a
        .steps
        .iter()
        .filter(|&&i| is_poll(&steps[i]))
        .map(|&i| end_us(&steps[i]))
        .max()
        .unwrap_or(a.ended_us);
    let polled_us = last_poll_end - a.started_us;
    let tolerance_us = 5_000_000;
    // Anything after the last poll (the ProcessAuth included) means the browser moved on.
    let flow_went_on = last_start.is_some_and(|t| t > last_poll_end);
    a.result = if polled_us + tolerance_us >= window_us {
        MfaResult::Timeout
    } else if !flow_went_on && trace_end_us < a.started_us + window_us {
        MfaResult::Pending
    } else {
        MfaResult::Abandoned
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict_of("Success"), Some(MfaResult::Approved));
        assert_eq!(verdict_of("AuthenticationPending"), None);
        assert_eq!(verdict_of("PhoneAppNoResponse"), Some(MfaResult::Timeout));
        assert_eq!(verdict_of("PhoneAppDenied"), Some(MfaResult::Denied));
        assert_eq!(verdict_of("PhoneAppFraudReported"), Some(MfaResult::Denied));
        assert_eq!(verdict_of("OathCodeIncorrect"), Some(MfaResult::Failed));
    }
}
