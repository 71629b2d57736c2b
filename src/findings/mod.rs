//! Judgements on the analysis: what went wrong, how badly, and what to do next.
//!
//! Findings never parse: they read [`identity::Analysis`] and the inputs' warnings.
//! One rule family per file; the kinds, their default severity, wording and next
//! steps are data (`data/findings.json`), AADSTS wording comes from the identity
//! catalogue.

mod aadsts;
mod coverage;
mod evidence;
mod facts;
mod http;
mod kind;
mod mfa;
mod timing;
mod transport;

pub use kind::FindingKind;
pub use transport::Connections;

use crate::hashing::HashMap;
use std::sync::OnceLock;

use crate::capture::InputWarning;
use crate::identity::{Analysis, Step};
use facts::FlowFacts;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// An expected step that looks like an error but is not.
    Info,
    /// Degrades the sign-in or the evidence.
    Warning,
    /// Blocks a sign-in.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: usize,
    /// What the finding is about; its snake_case name is the JSON contract.
    pub kind: FindingKind,
    pub severity: Severity,
    /// The AADSTS number for `aadsts_error`.
    pub code: Option<u32>,
    pub flow: Option<usize>,
    /// Step ids (the report's exchange ids) the finding is about.
    pub exchanges: Vec<usize>,
    /// Input the finding is about, for evidence findings.
    pub input: Option<usize>,
    pub time_us: Option<i64>,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    /// User name, unmasked here: reports mask it.
    pub user: Option<String>,
    pub ests_server: Option<String>,
    /// The client's address, where the trace has it (packet captures).
    pub client_ip: Option<String>,
    /// The service's own code when it is not an AADSTS number (`80049C34`,
    /// `ID3242`): see [`crate::identity::service_codes`].
    pub service_code: Option<String>,
    /// The step whose facts the ticket block gives (`#3 POST token`).
    pub step: Option<String>,
    pub title: String,
    pub explanation: String,
    pub next_steps: Vec<String>,
}

/// Thresholds of the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FindingOptions {
    /// A sign-in step slower than this is `slow_response`.
    pub slow_ms: f64,
    /// Server and capture clocks further apart than this are `clock_skew`.
    pub skew_seconds: i64,
    /// This many push prompts within `fatigue_window_s` are `mfa_fatigue`.
    pub fatigue_prompts: usize,
    pub fatigue_window_s: i64,
    /// This many redirects to the same address within `loop_window_s` are a loop.
    pub loop_repeats: usize,
    pub loop_window_s: i64,
    /// This many identical requests within `storm_window_s` are a `retry_storm`.
    pub storm_repeats: usize,
    pub storm_window_s: i64,
}

impl Default for FindingOptions {
    fn default() -> Self {
        FindingOptions {
            slow_ms: 3000.0,
            skew_seconds: 300,
            fatigue_prompts: 3,
            fatigue_window_s: 600,
            loop_repeats: 4,
            loop_window_s: 60,
            storm_repeats: 10,
            storm_window_s: 60,
        }
    }
}

/// The default wording of a finding kind (`data/findings.json`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct KindInfo {
    pub kind: String,
    pub severity: Severity,
    pub title: String,
    pub explanation: String,
    pub next_steps: Vec<String>,
}

/// Every finding kind aadtrace can report, with its default wording.
pub fn kinds() -> &'static [KindInfo] {
    static KINDS: OnceLock<Vec<KindInfo>> = OnceLock::new();
    KINDS.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/findings.json"))
            .expect("data/findings.json is valid (checked by a unit test)")
    })
}

/// The wording of `kind` (a unit test checks every kind has one; the generic
/// input warning is the fallback so that a missing entry never panics).
pub fn kind_info(kind: FindingKind) -> &'static KindInfo {
    let all = kinds();
    all.iter()
        .find(|k| k.kind == kind.as_str())
        .or_else(|| all.iter().find(|k| k.kind == "input_warning"))
        .expect("input_warning is in data/findings.json")
}

/// Runs every rule family and numbers the findings in time order.
pub fn evaluate(
    analysis: &Analysis,
    warnings: &[(usize, InputWarning)],
    connections: &Connections<'_>,
    options: &FindingOptions,
) -> Vec<Finding> {
    // The rules read the analysis only, so they run on two cores, in two
    // halves of about the same cost; joined in rule order, as one core would
    // have pushed them (the sort below is stable).
    let (mut out, timed) = rayon::join(
        || {
            let mut out = Vec::new();
            let facts = FlowFacts::new(analysis);
            evidence::rules(warnings, &mut out);
            transport::rules(connections, &mut out);
            aadsts::rules(analysis, &facts, &mut out);
            http::rules(analysis, &facts, options, &mut out);
            mfa::rules(analysis, options, &mut out);
            out
        },
        || {
            let mut out = Vec::new();
            timing::rules(analysis, options, &mut out);
            coverage::rules(analysis, &mut out);
            out
        },
    );
    out.extend(timed);
    out.sort_by(|a, b| {
        (
            a.time_us.unwrap_or(i64::MIN),
            a.exchanges.first(),
            std::cmp::Reverse(a.severity),
            a.kind.as_str(),
        )
            .cmp(&(
                b.time_us.unwrap_or(i64::MIN),
                b.exchanges.first(),
                std::cmp::Reverse(b.severity),
                b.kind.as_str(),
            ))
    });
    // Connections by input and id, the first of equals kept as a scan would.
    let mut clients: HashMap<(usize, usize), &str> = HashMap::default();
    for (input, c) in connections {
        clients.entry((*input, c.id)).or_insert(&c.client);
    }
    for (i, f) in out.iter_mut().enumerate() {
        f.id = i;
        f.client_ip = client_of(analysis, &clients, f);
    }
    out
}

/// The client address of the connection that carried a finding's first step.
fn client_of(
    analysis: &Analysis,
    clients: &HashMap<(usize, usize), &str>,
    f: &Finding,
) -> Option<String> {
    let step = analysis.steps.get(*f.exchanges.first()?)?;
    let conn = step.connection?;
    clients.get(&(step.input, conn)).map(|c| c.to_string())
}

/// The highest severity among `findings`, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// A finding of `kind` about one step, with the step's ids and the kind's wording.
fn about_step(kind: FindingKind, analysis: &Analysis, step: &Step) -> Finding {
    let info = kind_info(kind);
    let flow = analysis.flow_of_step.get(step.id).copied().flatten();
    let flow_ref = flow.and_then(|f| analysis.flows.get(f));
    Finding {
        id: 0,
        kind,
        severity: info.severity,
        code: None,
        flow,
        exchanges: vec![step.id],
        input: Some(step.input),
        time_us: Some(step.started_us),
        correlation_id: step
            .correlation_id
            .clone()
            .or_else(|| step.client_request_id.clone())
            .or_else(|| flow_ref.and_then(|f| f.correlation_ids.first().cloned())),
        request_id: step.request_id.clone(),
        tenant: flow_ref
            .and_then(|f| f.tenant.clone())
            .filter(|t| !is_generic_tenant(t))
            .or_else(|| step.tenant.clone())
            .or_else(|| flow_ref.and_then(|f| f.tenant.clone())),
        client_id: step
            .client_id
            .clone()
            .or_else(|| flow_ref.and_then(|f| f.client_id.clone())),
        user: step
            .user
            .clone()
            .or_else(|| flow_ref.and_then(|f| f.user.clone())),
        ests_server: step.ests_server.clone(),
        client_ip: None,
        service_code: None,
        step: Some(format!("#{} {}", step.id, step.label())),
        title: info.title.clone(),
        explanation: info.explanation.clone(),
        next_steps: info.next_steps.clone(),
    }
}

/// A finding of `kind` about nothing in particular (the trace as a whole).
pub(crate) fn kind_only(kind: FindingKind) -> Finding {
    let info = kind_info(kind);
    Finding {
        id: 0,
        kind,
        severity: info.severity,
        code: None,
        flow: None,
        exchanges: Vec::new(),
        input: None,
        time_us: None,
        correlation_id: None,
        request_id: None,
        tenant: None,
        client_id: None,
        user: None,
        ests_server: None,
        client_ip: None,
        service_code: None,
        step: None,
        title: info.title.clone(),
        explanation: info.explanation.clone(),
        next_steps: info.next_steps.clone(),
    }
}

/// `common`, `organizations` and `consumers` name no tenant in particular.
fn is_generic_tenant(t: &str) -> bool {
    ["common", "organizations", "consumers"]
        .iter()
        .any(|g| t.eq_ignore_ascii_case(g))
}

/// `10:04:12 UTC`: a time of day inside a finding's own words.
pub fn clock_time(us: i64) -> String {
    match jiff::Timestamp::from_microsecond(us) {
        Ok(ts) => format!("{} UTC", ts.strftime("%H:%M:%S")),
        Err(_) => "an unknown time".to_string(),
    }
}

/// "3.2 s", "1 min 12 s", "2 h 5 min": durations for people.
pub fn human_duration(ms: f64) -> String {
    let mut out = String::new();
    write_human_duration(&mut out, ms);
    out
}

/// [`human_duration`], appended to `out` (a report's rows reuse one buffer).
pub fn write_human_duration(out: &mut String, ms: f64) {
    use std::fmt::Write as _;
    let s = ms / 1000.0;
    let _ = if s < 1.0 {
        write!(out, "{ms:.0} ms")
    } else if s < 60.0 {
        write!(out, "{s:.1} s")
    } else if s < 3600.0 {
        write!(out, "{} min {} s", (s / 60.0) as i64, (s % 60.0) as i64)
    } else {
        write!(
            out,
            "{} h {} min",
            (s / 3600.0) as i64,
            ((s % 3600.0) / 60.0) as i64
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(43.0), "43 ms");
        assert_eq!(human_duration(24_179.0), "24.2 s");
        assert_eq!(human_duration(72_000.0), "1 min 12 s");
        assert_eq!(clock_time(1_795_335_074_490_000), "08:11:14 UTC");
    }
}
