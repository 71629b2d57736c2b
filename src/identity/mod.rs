//! Microsoft sign-in knowledge: which endpoint an exchange is, what its page and
//! messages say, which sign-in flow it belongs to, and how its MFA went.
//!
//! [`observe`] turns each exchange into an owned [`Step`] as it streams by;
//! [`Analysis::build`] then groups the steps into [`Flow`]s with their MFA attempts.

pub mod catalogue;
pub mod config;
pub mod detail;
pub mod endpoints;
pub mod flows;
pub mod jwt;
pub mod links;
pub mod messages;
pub mod mfa;
pub mod observe;
pub mod service_codes;

pub use flows::{Flow, FlowKind, Outcome};
pub use mfa::{MfaAttempt, MfaResult};
pub use observe::{observe, observe_detailed, Step};

/// Tunable thresholds of the identity analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdentityOptions {
    /// MFA polling window used when the page did not announce one.
    pub default_mfa_window_ms: i64,
}

impl Default for IdentityOptions {
    fn default() -> Self {
        IdentityOptions {
            // Sign-in pages stop polling a push after about two minutes when the
            // page does not announce its own window (`iPollingTimeout`).
            default_mfa_window_ms: 120_000,
        }
    }
}

/// Every step of the trace and the sign-in flows found among them.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// All exchanges, in time order; `steps[i].id == i`.
    pub steps: Vec<Step>,
    pub flows: Vec<Flow>,
    /// Background steps (discovery, metadata, the hidden MSA frame) that
    /// served no sign-in of this trace.
    pub background: Vec<usize>,
    /// Flow id of each step, `None` outside flows.
    pub flow_of_step: Vec<Option<usize>>,
    pub trace_start_us: i64,
    pub trace_end_us: i64,
}

impl Analysis {
    /// Orders `steps` by time (renumbering them) and groups them into flows.
    pub fn build(mut steps: Vec<Step>, options: &IdentityOptions) -> Analysis {
        steps.sort_by_key(|s| (s.started_us, s.input, s.origin_index));
        for (i, s) in steps.iter_mut().enumerate() {
            s.id = i;
        }
        let trace_start_us = steps.first().map(|s| s.started_us).unwrap_or(0);
        let trace_end_us = steps.iter().map(observe::end_us).max().unwrap_or(0);
        let flows::Grouping { flows, background } =
            flows::group(&steps, trace_end_us, options.default_mfa_window_ms);
        let mut flow_of_step = vec![None; steps.len()];
        for f in &flows {
            for &s in &f.steps {
                flow_of_step[s] = Some(f.id);
            }
        }
        Analysis {
            steps,
            flows,
            background,
            flow_of_step,
            trace_start_us,
            trace_end_us,
        }
    }
}
