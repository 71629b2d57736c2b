//! The closing summary of a batch: totals, the AADSTS codes of warnings and errors
//! ranked overall and by tenant (codes of `info` findings, expected interrupts,
//! listed apart), MFA results and wait-time percentiles, and the traces that could not be
//! read, with why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use super::plan::Plan;
use super::{Record, TraceError};
use crate::findings::Severity;
use crate::report::shown::terminal_safe;

/// Lines of each top list.
const TOP: usize = 10;
/// Unreadable traces listed by name; the rest are counted.
const FAILURES_SHOWN: usize = 20;

#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Traces in this run (after `--shard`), and found before it.
    pub planned: usize,
    pub listed: usize,
    pub traces: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub jobs: usize,
    pub exchanges: usize,
    pub flows: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub incomplete: usize,
    /// Findings by severity: info, warning, error.
    pub findings: [usize; 3],
    pub worst: Option<Severity>,
    /// Traces that could not be read, in path order.
    pub failures: Vec<(String, TraceError)>,
    /// AADSTS code → (findings, traces).
    pub codes: BTreeMap<u32, (usize, usize)>,
    /// AADSTS codes of `info` findings (expected interrupts): findings per code.
    pub info_codes: BTreeMap<u32, usize>,
    /// Tenant → code → findings.
    pub by_tenant: BTreeMap<String, BTreeMap<u32, usize>>,
    pub mfa_results: BTreeMap<String, usize>,
    pub mfa_waits_ms: Vec<f64>,
}

impl Summary {
    pub fn new(plan: &Plan) -> Self {
        Summary {
            planned: plan.traces.len(),
            listed: plan.listed,
            ..Summary::default()
        }
    }

    pub fn add(&mut self, r: &Record) {
        self.traces += 1;
        self.bytes += r.size;
        if let Some(e) = &r.error {
            self.failures.push((r.path.clone(), e.clone()));
            return;
        }
        let s = &r.stats;
        self.exchanges += s.exchanges;
        self.flows += s.flows;
        self.succeeded += s.succeeded;
        self.failed += s.failed;
        self.incomplete += s.incomplete;
        for (total, n) in self.findings.iter_mut().zip(s.findings) {
            *total += n;
        }
        self.worst = self.worst.max(s.worst);
        for code in &s.info_codes {
            *self.info_codes.entry(*code).or_default() += 1;
        }
        let mut seen = BTreeSet::new();
        for (code, tenant) in &s.codes {
            let entry = self.codes.entry(*code).or_default();
            entry.0 += 1;
            if seen.insert(*code) {
                entry.1 += 1;
            }
            let tenant = tenant.clone().unwrap_or_else(|| "(no tenant)".to_string());
            *self
                .by_tenant
                .entry(tenant)
                .or_default()
                .entry(*code)
                .or_default() += 1;
        }
        for (result, waited) in &s.mfa {
            *self.mfa_results.entry(result.clone()).or_default() += 1;
            self.mfa_waits_ms.push(*waited);
        }
    }

    /// The `p`-th percentile (0–100) of the MFA waits, nearest rank.
    pub fn mfa_wait_percentile(&self, p: f64) -> Option<f64> {
        let mut waits = self.mfa_waits_ms.clone();
        waits.sort_by(f64::total_cmp);
        percentile(&waits, p)
    }

    /// The summary as text for the terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let _ = write!(
            out,
            "aadtrace batch: {} traces, {} in {:.1} s ({}/s, {:.0} traces/s",
            self.traces,
            bytes(self.bytes),
            secs,
            bytes((self.bytes as f64 / secs) as u64),
            self.traces as f64 / secs,
        );
        if self.jobs > 0 {
            let _ = write!(out, ", {} jobs", self.jobs);
        }
        let _ = writeln!(out, "); {} could not be read", self.failures.len());
        if self.listed != self.planned {
            let _ = writeln!(
                out,
                "  this shard: {} of the {} traces found",
                self.planned, self.listed
            );
        }
        let [infos, warnings, errors] = self.findings;
        let _ = writeln!(
            out,
            "  {} exchanges; {} sign-in flows: {} succeeded, {} failed, {} incomplete; findings: {} errors, {} warnings, {} infos",
            self.exchanges, self.flows, self.succeeded, self.failed, self.incomplete, errors, warnings, infos
        );
        self.render_codes(&mut out);
        self.render_mfa(&mut out);
        self.render_failures(&mut out);
        out
    }

    /// The most frequent AADSTS codes, overall and by tenant.
    fn render_codes(&self, out: &mut String) {
        if !self.codes.is_empty() {
            let _ = writeln!(out, "\nTop AADSTS codes (findings, traces):");
            let mut codes: Vec<_> = self.codes.iter().collect();
            codes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
            for (code, (findings, traces)) in codes.into_iter().take(TOP) {
                let title = crate::identity::catalogue::lookup(*code)
                    .map(|c| c.title.as_str())
                    .unwrap_or("(not in the catalogue)");
                let _ = writeln!(
                    out,
                    "  AADSTS{code:<8} {findings:>6} {traces:>6}  {}",
                    terminal_safe(title)
                );
            }
            let _ = writeln!(out, "\nTop AADSTS codes by tenant:");
            let mut tenants: Vec<(&String, usize)> = self
                .by_tenant
                .iter()
                .map(|(t, codes)| (t, codes.values().sum()))
                .collect();
            tenants.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            for (tenant, total) in tenants.iter().take(TOP) {
                let mut codes: Vec<_> = self.by_tenant[*tenant].iter().collect();
                codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let listed: Vec<String> = codes
                    .iter()
                    .take(5)
                    .map(|(c, n)| format!("{c} ×{n}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "  {:<40} {total:>6}  {}",
                    terminal_safe(tenant),
                    listed.join(", ")
                );
            }
            if tenants.len() > TOP {
                let _ = writeln!(out, "  … and {} more tenants", tenants.len() - TOP);
            }
        }
        self.render_info_codes(out);
    }

    /// Codes that were only expected interrupts (`info`), apart from the ranking.
    fn render_info_codes(&self, out: &mut String) {
        if self.info_codes.is_empty() {
            return;
        }
        let mut codes: Vec<_> = self.info_codes.iter().collect();
        codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let listed: Vec<String> = codes
            .iter()
            .take(TOP)
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        let _ = writeln!(
            out,
            "\nExpected on the way (info, not failures): {}",
            listed.join(", ")
        );
    }

    /// MFA attempts: results and waiting-time percentiles.
    fn render_mfa(&self, out: &mut String) {
        if !self.mfa_waits_ms.is_empty() {
            let attempts = self.mfa_waits_ms.len();
            let results: Vec<String> = self
                .mfa_results
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            let p = |q| {
                self.mfa_wait_percentile(q)
                    .map_or("-".to_string(), |ms| format!("{:.1} s", ms / 1000.0))
            };
            let _ = writeln!(
                out,
                "\nMFA: {attempts} attempts: {}; waited p50 {}, p90 {}, p99 {}, max {}",
                results.join(", "),
                p(50.0),
                p(90.0),
                p(99.0),
                p(100.0)
            );
        }
    }

    /// The traces that could not be read (the first few).
    fn render_failures(&self, out: &mut String) {
        if !self.failures.is_empty() {
            let _ = writeln!(out, "\nCould not read {} traces:", self.failures.len());
            for (_, e) in self.failures.iter().take(FAILURES_SHOWN) {
                let _ = writeln!(out, "  [{}] {}", e.kind, terminal_safe(&e.message));
            }
            if self.failures.len() > FAILURES_SHOWN {
                let _ = writeln!(
                    out,
                    "  … and {} more (each has an `error` result)",
                    self.failures.len() - FAILURES_SHOWN
                );
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Bytes in binary units.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 90.0), Some(90.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
