//! Per-flow facts that rules ask about one step at a time ("did this flow issue
//! a token after this step?", "which step ended it?", "which MFA prompt came
//! before?"), computed once per run. Asked by walking the flow each time, they
//! made the rules quadratic in the size of a flow: a flow of 200,000 failing
//! token requests asked 200,000 times over 200,000 steps.

use crate::identity::{observe, Analysis, Flow, MfaAttempt, MfaResult, Step};

/// The facts of every flow of one analysis, by flow id.
pub struct FlowFacts {
    flows: Vec<Facts>,
}

struct Facts {
    /// The two latest steps that issued a code or token, `(start, step id)`,
    /// latest first: enough to answer "issued after this step, by another step".
    latest_issued: [Option<(i64, usize)>; 2],
    /// The last step carrying an error the user could see.
    last_error: Option<usize>,
    /// An MFA attempt of the flow was approved.
    mfa_approved: bool,
    /// Indices in `Flow::mfa` of the attempts not approved, in order, when the
    /// attempts are in start order (as `identity::mfa` builds them); `None`
    /// otherwise, and the question walks the attempts instead.
    not_approved: Option<Vec<usize>>,
}

impl FlowFacts {
    pub fn new(analysis: &Analysis) -> FlowFacts {
        let flows = analysis
            .flows
            .iter()
            .map(|f| facts_of(f, &analysis.steps))
            .collect();
        FlowFacts { flows }
    }

    fn of(&self, analysis: &Analysis, step: &Step) -> Option<&Facts> {
        let f = analysis.flow_of_step.get(step.id).copied().flatten()?;
        self.flows.get(f)
    }

    /// True when the step's flow issued a code or token after this step (at
    /// the same time or later, by another step).
    pub fn succeeded_after(&self, analysis: &Analysis, step: &Step) -> bool {
        let Some(facts) = self.of(analysis, step) else {
            return false;
        };
        // The latest issuer that is not this step is the first or the second.
        facts
            .latest_issued
            .iter()
            .flatten()
            .find(|(_, id)| *id != step.id)
            .is_some_and(|(start, _)| *start >= step.started_us)
    }

    /// The last step of the step's flow that carries an error the user could
    /// see: an AADSTS code, an error parameter or page, or a failing status.
    pub fn last_error_step(&self, analysis: &Analysis, step: &Step) -> Option<usize> {
        self.of(analysis, step)?.last_error
    }

    /// True when an MFA attempt of the step's flow was approved.
    pub fn mfa_approved(&self, analysis: &Analysis, step: &Step) -> bool {
        self.of(analysis, step).is_some_and(|f| f.mfa_approved)
    }

    /// The latest MFA attempt of `flow` that was not approved, started by the
    /// time `step` did, and was not opened by `step` itself.
    pub fn failed_prompt_before<'a>(&self, flow: &'a Flow, step: &Step) -> Option<&'a MfaAttempt> {
        let is_before = |a: &MfaAttempt| {
            a.result != MfaResult::Approved
                && a.started_us <= step.started_us
                && a.steps.first() != Some(&step.id)
        };
        let Some(indices) = self
            .flows
            .get(flow.id)
            .and_then(|f| f.not_approved.as_ref())
        else {
            return flow.mfa.iter().rev().find(|a| is_before(a));
        };
        // In start order, the attempts started by then are a prefix; at most one
        // of them was opened by `step`.
        let started = indices.partition_point(|&k| flow.mfa[k].started_us <= step.started_us);
        indices[..started]
            .iter()
            .rev()
            .map(|&k| &flow.mfa[k])
            .find(|a| is_before(a))
    }
}

fn facts_of(flow: &Flow, steps: &[Step]) -> Facts {
    let mut latest_issued: [Option<(i64, usize)>; 2] = [None, None];
    for &i in &flow.steps {
        let s = &steps[i];
        if !s.issued {
            continue;
        }
        let here = Some((s.started_us, i));
        if latest_issued[0].is_none_or(|(start, _)| s.started_us > start) {
            latest_issued = [here, latest_issued[0]];
        } else if latest_issued[1].is_none_or(|(start, _)| s.started_us > start) {
            latest_issued[1] = here;
        }
    }
    let last_error = flow.steps.iter().rev().copied().find(|&i| {
        let s = &steps[i];
        !s.aadsts.is_empty() || s.error.is_some() || observe::is_blocking(s)
    });
    let in_start_order = flow
        .mfa
        .windows(2)
        .all(|w| w[0].started_us <= w[1].started_us);
    let not_approved = in_start_order.then(|| {
        (0..flow.mfa.len())
            .filter(|&k| flow.mfa[k].result != MfaResult::Approved)
            .collect()
    });
    Facts {
        latest_issued,
        last_error,
        mfa_approved: flow.mfa.iter().any(|a| a.result == MfaResult::Approved),
        not_approved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::endpoints::HostRole;
    use crate::identity::IdentityOptions;

    /// "Issued after this step" as it was asked before: a walk over the flow.
    fn succeeded_after_by_scan(analysis: &Analysis, step: &Step) -> bool {
        let Some(Some(f)) = analysis.flow_of_step.get(step.id) else {
            return false;
        };
        analysis.flows[*f].steps.iter().any(|&i| {
            let s = &analysis.steps[i];
            s.issued && s.started_us >= step.started_us && i != step.id
        })
    }

    #[test]
    fn issued_after_answers_as_a_walk_over_the_flow() {
        // Two flows (two correlation ids); several steps share a start time,
        // and issuing steps come early, late and at equal times.
        let issuing = [1, 2, 5, 9, 10, 14, 17];
        let steps: Vec<Step> = (0..20)
            .map(|n| Step {
                started_us: (n as i64 / 3) * 1_000_000,
                duration_ms: Some(10.0),
                role: Some(HostRole::Ests),
                endpoint: Some("token"),
                client_request_id: Some(format!("flow-{}", n % 2)),
                issued: issuing.contains(&n),
                url_key: 100 + n as u64,
                ..Step::default()
            })
            .collect();
        let analysis = Analysis::build(steps, &IdentityOptions::default());
        assert_eq!(analysis.flows.len(), 2);
        let facts = FlowFacts::new(&analysis);
        let mut answers = Vec::new();
        for step in &analysis.steps {
            let expected = succeeded_after_by_scan(&analysis, step);
            assert_eq!(
                facts.succeeded_after(&analysis, step),
                expected,
                "step {}",
                step.id
            );
            answers.push(expected);
        }
        // Both answers occur, so the comparison means something.
        assert!(answers.contains(&true) && answers.contains(&false));
    }
}
