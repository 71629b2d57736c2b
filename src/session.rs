//! One analysis run: read every input, turn each exchange into a step as it
//! streams by, group the steps into flows, and judge them.
//!
//! This is orchestration, not a layer: it calls capture, identity and findings in
//! order and keeps what the reports need. Exchanges are never all held at once;
//! only their owned [`Step`](crate::identity::Step) facts are.

use crate::capture::{
    self, CaptureError, Format, InputSummary, InputWarning, Progress, ReadOptions, Source,
};
use crate::findings::{self, Finding, FindingOptions};
use crate::identity::{self, Analysis, IdentityOptions};
use std::time::{Duration, Instant};

/// What was read from one input.
#[derive(Debug, Clone)]
pub struct InputReport {
    pub path: String,
    pub format: Format,
    pub summary: InputSummary,
    /// Key logs a packet capture was read with (`--keylog`, or found beside it).
    pub keylogs: Vec<String>,
}

/// Everything one run found.
#[derive(Debug, Clone)]
pub struct Session {
    pub inputs: Vec<InputReport>,
    pub analysis: Analysis,
    pub findings: Vec<Finding>,
    /// How long each phase took (wall clock), for measurements; never reported.
    pub phases: PhaseTimes,
}

/// Wall-clock time of each phase of a run. The command prints them with the
/// report's own time when `AADTRACE_PHASE_TIMES=1`: which phases run on one
/// core and which on all is what decides a large trace's time, and instruction
/// counts do not show it (issue #15).
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseTimes {
    /// Reading every input and observing each exchange as it streams by.
    pub read: Duration,
    /// Ordering the steps and grouping them into flows ([`Analysis::build`]).
    pub flows: Duration,
    /// Judging the flows ([`findings::evaluate`]).
    pub findings: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOptions {
    pub identity: IdentityOptions,
    pub findings: FindingOptions,
    /// Keep each step's recorded headers and bodies ([`identity::observe_detailed`]),
    /// for the HTML page.
    pub detail: bool,
}

/// Observes every exchange of `sources` and judges the result. `on_exchange` is
/// called once per exchange (for progress counters).
pub fn run(
    sources: &[Source],
    options: &SessionOptions,
    progress: &dyn Progress,
    on_exchange: &dyn Fn(),
) -> Result<Session, CaptureError> {
    run_with(
        sources,
        options,
        &ReadOptions::default(),
        progress,
        on_exchange,
    )
}

/// Like [`run`], with reading options (TLS key logs for packet captures).
pub fn run_with(
    sources: &[Source],
    options: &SessionOptions,
    read: &ReadOptions,
    progress: &dyn Progress,
    on_exchange: &dyn Fn(),
) -> Result<Session, CaptureError> {
    let started = Instant::now();
    let mut steps = Vec::new();
    let mut inputs = Vec::new();
    // Step ids are assigned when the analysis orders the steps by time.
    let observe = |ex: crate::http::Exchange<'_>| {
        if options.detail {
            identity::observe_detailed(0, &ex)
        } else {
            identity::observe(0, &ex)
        }
    };
    for (index, source) in sources.iter().enumerate() {
        let (format, summary, observed) =
            capture::read_source_mapped_with(source, index, read, progress, on_exchange, &observe)?;
        if steps.is_empty() {
            // Moving the first input's steps saves copying them all.
            steps = observed;
        } else {
            steps.extend(observed);
        }
        progress.next_input();
        let keylogs = if capture::uses_keys(format) {
            read.keylogs
                .iter()
                .map(|k| k.display().to_string())
                .collect()
        } else {
            Vec::new()
        };
        inputs.push(InputReport {
            path: source.display_name(),
            format,
            summary,
            keylogs,
        });
    }
    let read = started.elapsed();
    let mut session = judge(inputs, steps, options);
    session.phases.read = read;
    Ok(session)
}

/// Builds flows and findings from observed steps.
pub fn judge(
    inputs: Vec<InputReport>,
    steps: Vec<identity::Step>,
    options: &SessionOptions,
) -> Session {
    let started = Instant::now();
    let analysis = Analysis::build(steps, &options.identity);
    let flows = started.elapsed();
    let warnings: Vec<(usize, InputWarning)> = inputs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.summary.warnings.iter().map(move |w| (i, w.clone())))
        .collect();
    let connections: Vec<(usize, &crate::capture::ConnectionInfo)> = inputs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.summary.connections.iter().map(move |c| (i, c)))
        .collect();
    let findings = findings::evaluate(&analysis, &warnings, &connections, &options.findings);
    Session {
        inputs,
        analysis,
        findings,
        phases: PhaseTimes {
            read: Duration::ZERO,
            flows,
            findings: started.elapsed() - flows,
        },
    }
}
