//! The human report for a terminal: one section per sign-in flow with its steps in
//! time order, its MFA attempts, and its findings explained, each with a block of
//! ids for the support ticket. Colour only when asked (a terminal without
//! `NO_COLOR`); every trace string is redacted and made terminal-safe.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::json::summary;
use super::shown::{terminal_safe, Redactor};
use super::time::{rfc3339, time_of_day};
use crate::findings::{human_duration, Finding, Severity};
use crate::identity::{Flow, MfaResult, Outcome, Step};
use crate::session::Session;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn ending(&self, e: super::verdict::Ending, text: &str) -> String {
        use super::verdict::Ending;
        match e {
            Ending::Failed => self.paint("1;31", text),
            Ending::Succeeded => self.paint("1;32", text),
            Ending::Incomplete | Ending::NoSignIn => self.paint("1;33", text),
        }
    }

    fn severity(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.paint("1;31", "error  "),
            Severity::Warning => self.paint("1;33", "warning"),
            Severity::Info => self.paint("36", "info   "),
        }
    }
    fn outcome(&self, o: Outcome) -> String {
        match o {
            Outcome::Success => self.paint("1;32", "SUCCESS"),
            Outcome::Failed => self.paint("1;31", "FAILED"),
            Outcome::Incomplete => self.paint("1;33", "INCOMPLETE"),
        }
    }
    /// The status right-aligned in six columns, then coloured (so escapes do not
    /// upset the alignment).
    fn status(&self, status: Option<u16>) -> String {
        let shown = format!(
            "{:>6}",
            status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "---".into())
        );
        match status {
            Some(s) if s >= 400 => self.paint("31", &shown),
            Some(s) if s >= 300 => self.paint("36", &shown),
            Some(_) => shown,
            None => self.paint("31", &shown),
        }
    }
}

struct Ctx<'a> {
    session: &'a Session,
    r: &'a Redactor,
    p: Palette,
    /// Findings by flow (`None`: outside flows), in report order.
    by_flow: HashMap<Option<usize>, Vec<&'a Finding>>,
}

impl<'a> Ctx<'a> {
    /// The findings of a flow (`None`: outside flows), in report order.
    fn findings_of(&self, flow: Option<usize>) -> &[&'a Finding] {
        self.by_flow.get(&flow).map_or(&[], Vec::as_slice)
    }

    /// A trace string made safe to print.
    fn safe(&self, s: &str) -> String {
        terminal_safe(&self.r.text(s)).into_owned()
    }
}

/// Renders the whole report.
pub fn render(session: &Session, redactor: &Redactor, palette: Palette) -> String {
    // Writing to memory cannot fail.
    super::collected(|out| write(session, redactor, palette, out)).unwrap_or_default()
}

/// How many flows' sections are rendered at a time before they are written.
const FLOWS_PER_BATCH: usize = 256;

/// Writes the whole report to `out`, streamed: the flows' sections are
/// rendered a batch at a time, on every core (each flow's section depends on
/// nothing but the flow), and written in order. Holding the text of a large
/// trace's report whole, and rendering it on one core, was a fifth of the
/// command on an identity-dense HAR (issue #15).
pub fn write(
    session: &Session,
    redactor: &Redactor,
    palette: Palette,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let c = Ctx {
        session,
        r: redactor,
        p: palette,
        by_flow: super::findings_by_flow(&session.findings),
    };
    let mut part = String::new();
    header(&c, &mut part);
    let verdict = super::verdict::of_trace(session);
    let _ = writeln!(
        part,
        "\n{} {}",
        c.p.bold("Verdict:"),
        c.p.ending(verdict.ending, &terminal_safe(&verdict.line(c.r)))
    );
    out.write_all(part.as_bytes())?;
    for batch in session.analysis.flows.chunks(FLOWS_PER_BATCH) {
        let sections: Vec<String> = batch
            .par_iter()
            .map(|flow| {
                let mut section = String::new();
                flow_section(&c, flow, &mut section);
                section
            })
            .collect();
        for section in &sections {
            out.write_all(section.as_bytes())?;
        }
    }
    part.clear();
    let loose = c.findings_of(None);
    if !loose.is_empty() {
        let _ = writeln!(part, "\n{}", c.p.bold("Findings outside sign-in flows"));
        for f in loose {
            finding_block(&c, f, &mut part);
        }
    }
    footer(&c, &mut part);
    out.write_all(part.as_bytes())?;
    out.flush()
}

fn header(c: &Ctx, out: &mut String) {
    let _ = writeln!(
        out,
        "{}",
        c.p.bold(&format!("aadtrace {}", env!("CARGO_PKG_VERSION")))
    );
    for input in &c.session.inputs {
        let producer = input
            .summary
            .producer
            .as_deref()
            .map(|p| format!(", {}", c.safe(p)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} ({}{producer}, {} exchanges)",
            terminal_safe(&input.path),
            input.format,
            input.summary.exchanges
        );
        for keylog in &input.keylogs {
            let _ = writeln!(out, "    TLS keys from {}", terminal_safe(keylog));
        }
    }
    let a = &c.session.analysis;
    if !a.steps.is_empty() {
        let _ = writeln!(
            out,
            "  trace from {} to {} UTC ({})",
            rfc3339(a.trace_start_us),
            rfc3339(a.trace_end_us),
            human_duration((a.trace_end_us - a.trace_start_us) as f64 / 1000.0)
        );
    }
}

fn flow_section(c: &Ctx, flow: &Flow, out: &mut String) {
    let a = &c.session.analysis;
    let title = format!(
        "Sign-in flow {} · {} · ",
        flow.id + 1,
        crate::report::snake_name(&flow.kind)
    );
    let _ = writeln!(
        out,
        "\n{}{}  {} → {} ({})",
        c.p.bold(&title),
        c.p.outcome(flow.outcome),
        rfc3339(flow.started_us),
        time_of_day(flow.ended_us),
        human_duration((flow.ended_us - flow.started_us) as f64 / 1000.0)
    );
    let who = who_of(c, flow);
    let verdict = super::verdict::of_flow_among(c.session, flow, c.findings_of(Some(flow.id)));
    let _ = writeln!(
        out,
        "  {}",
        c.p.ending(verdict.ending, &terminal_safe(&verdict.line(c.r)))
    );
    if !who.is_empty() {
        let _ = writeln!(out, "  {}", who.join("  "));
    }
    if let Some(corr) = flow.correlation_ids.first() {
        let more = if flow.correlation_ids.len() > 1 {
            format!(" (+{} more)", flow.correlation_ids.len() - 1)
        } else {
            String::new()
        };
        let _ = writeln!(out, "  correlation {}{more}", c.safe(corr));
    }
    let _ = writeln!(
        out,
        "  {}",
        c.p.dim(&format!(
            "{:>9}  {:>9}  {:<28} {:>6}  {:>9}  {}",
            "#", "+time", "step", "status", "elapsed", "page / detail"
        ))
    );
    let lines: Vec<StepLine> = flow
        .steps
        .iter()
        .map(|&i| step_line(c, &a.steps[i], flow.started_us))
        .collect();
    write_collapsed(&lines, out);
    tokens_block(c, flow, out);
    mfa_block(c, flow, out);
    let mut findings = c.findings_of(Some(flow.id)).to_vec();
    // Errors first, then warnings, then infos; in time order within each.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !findings.is_empty() {
        let _ = writeln!(out, "  {}", c.p.bold("Findings"));
        for f in findings {
            finding_block(c, f, out);
        }
    }
}

/// Tenant, app, user and regions of a flow, as far as they are known.
fn who_of(c: &Ctx, flow: &Flow) -> Vec<String> {
    let mut who = Vec::new();
    if let Some(t) = &flow.tenant {
        who.push(format!("tenant {}", c.safe(t)));
    }
    if let Some(app) = &flow.client_id {
        who.push(format!("app {}", c.safe(app)));
    }
    if let Some(u) = &flow.user {
        who.push(format!("user {}", terminal_safe(&c.r.user(u))));
    }
    if !flow.regions.is_empty() {
        who.push(format!("region {}", c.safe(&flow.regions.join(", "))));
    }
    who
}

/// The MFA attempts of a flow, one line each.
fn mfa_block(c: &Ctx, flow: &Flow, out: &mut String) {
    if !flow.mfa.is_empty() {
        let _ = writeln!(out, "  {}", c.p.bold("MFA"));
        for (n, m) in flow.mfa.iter().enumerate() {
            let window = match m.window_ms {
                Some(w) => format!("{} window announced", human_duration(w as f64)),
                None => format!(
                    "{} default window",
                    human_duration(m.judged_window_ms as f64)
                ),
            };
            let result = crate::report::snake_name(&m.result);
            let result = if m.result == MfaResult::Approved {
                c.p.paint("32", &result)
            } else {
                c.p.paint("33", &result)
            };
            let _ = writeln!(
                out,
                "    {}. {} at {}: {} poll(s), waited {} ({window}) → {result}{}",
                n + 1,
                c.safe(m.method.as_deref().unwrap_or("unknown method")),
                time_of_day(m.started_us),
                m.polls,
                human_duration(m.waited_ms),
                m.last_result_value
                    .as_deref()
                    .map(|v| format!(" [{}]", c.safe(v)))
                    .unwrap_or_default()
            );
        }
    }
}

/// The JWTs of a flow with their non-secret claims.
fn tokens_block(c: &Ctx, flow: &Flow, out: &mut String) {
    let steps = &c.session.analysis.steps;
    let tokens: Vec<(usize, &crate::identity::observe::TokenFacts)> = flow
        .steps
        .iter()
        .flat_map(|&i| steps[i].tokens.iter().map(move |t| (i, t)))
        .collect();
    if tokens.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {}", c.p.bold("Tokens (decoded, not verified)"));
    for (i, t) in tokens {
        let claims: Vec<String> = t
            .claims
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "iat" | "nbf" | "exp"))
            .map(|(k, v)| format!("{k}={}", c.safe(v)))
            .collect();
        let life = match (t.iat, t.exp) {
            (Some(iat), Some(exp)) => format!(
                " valid {} (iat {})",
                human_duration(((exp - iat) * 1000) as f64),
                rfc3339(iat * 1_000_000)
            ),
            _ => String::new(),
        };
        let _ = writeln!(out, "    step {i} {}{life}", t.kind);
        let _ = writeln!(out, "      {}", wrap(&claims.join("  "), 86, "      "));
    }
}

/// One row of a flow's step table, split so that runs of alike rows (MFA polling)
/// can be folded into one.
struct StepLine {
    id: usize,
    time: String,
    label: String,
    status: String,
    elapsed: String,
    detail: String,
}

fn step_line(c: &Ctx, s: &Step, flow_start: i64) -> StepLine {
    let label = s.label();
    let mut detail = Vec::new();
    if let Some(p) = &s.page {
        detail.push(c.safe(p));
    }
    if s.endpoint.is_some()
        && s.role
            .is_some_and(|r| r != crate::identity::endpoints::HostRole::Ests)
    {
        detail.push(c.safe(&s.host));
    }
    if let Some(v) = s.sas.as_ref().and_then(|sas| sas.result_value.as_ref()) {
        detail.push(c.safe(v));
    }
    if !s.aadsts.is_empty() {
        let codes: Vec<String> = s.aadsts.iter().map(|x| format!("AADSTS{x}")).collect();
        detail.push(codes.join(" "));
    }
    if let Some(e) = s.error.as_ref().and_then(|e| e.error.as_ref()) {
        detail.push(format!("error={}", c.safe(e)));
    }
    if let Some(e) = &s.transport_error {
        detail.push(c.safe(e));
    }
    if s.issued {
        detail.push("issued".into());
    }
    StepLine {
        id: s.id,
        time: format!("+{:.3}", (s.started_us - flow_start) as f64 / 1e6),
        label: c.safe(&label).chars().take(28).collect(),
        status: c.p.status(s.status),
        elapsed: s
            .duration_ms
            .map(human_duration)
            .unwrap_or_else(|| "-".into()),
        detail: detail.join(" · "),
    }
}

/// Writes the rows, folding three or more consecutive alike rows into one.
fn write_collapsed(lines: &[StepLine], out: &mut String) {
    let alike = |a: &StepLine, b: &StepLine| {
        a.label == b.label && a.status == b.status && a.detail == b.detail
    };
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..]
            .iter()
            .take_while(|l| alike(l, &lines[i]))
            .count();
        if run >= 3 {
            let (first, last) = (&lines[i], &lines[i + run - 1]);
            let ids = format!("{}–{}", first.id, last.id);
            let detail = format!("{} ×{run}", first.detail);
            row(out, &ids, first, &detail);
        } else {
            for l in &lines[i..i + run] {
                row(out, &l.id.to_string(), l, &l.detail);
            }
        }
        i += run;
    }
}

fn row(out: &mut String, ids: &str, l: &StepLine, detail: &str) {
    let _ = writeln!(
        out,
        "  {:>9}  {:>9}  {:<28} {}  {:>9}  {}",
        ids, l.time, l.label, l.status, l.elapsed, detail
    );
}

fn finding_block(c: &Ctx, f: &Finding, out: &mut String) {
    let when = f
        .time_us
        .map(|t| format!(" at {}", time_of_day(t)))
        .unwrap_or_default();
    let steps = if f.exchanges.is_empty() {
        String::new()
    } else if f.exchanges.len() <= 6 {
        format!(
            " (step {})",
            f.exchanges
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            " (steps {}…{})",
            f.exchanges[0],
            f.exchanges[f.exchanges.len() - 1]
        )
    };
    let _ = writeln!(
        out,
        "    {} {}{when}{steps}",
        c.p.severity(f.severity),
        c.p.bold(&c.safe(&f.title))
    );
    let _ = writeln!(
        out,
        "            {}",
        wrap(&c.safe(&f.explanation), 88, "            ")
    );
    if f.severity == Severity::Info {
        return;
    }
    for step in &f.next_steps {
        let _ = writeln!(
            out,
            "            → {}",
            wrap(&c.safe(step), 86, "              ")
        );
    }
    ticket_block(c, f, out);
}

fn ticket_block(c: &Ctx, f: &Finding, out: &mut String) {
    let rows: Vec<(&str, String)> = super::ticket_rows(f)
        .into_iter()
        .filter(|r| r.label != "Error code")
        .map(|r| {
            let shown = if r.is_user {
                terminal_safe(&c.r.user(&r.value)).into_owned()
            } else {
                c.safe(&r.value)
            };
            (r.label, shown)
        })
        .collect();
    if f.code.is_some() || rows.len() > 1 {
        let _ = writeln!(out, "            {}", c.p.dim("for the support ticket:"));
        for (name, value) in rows {
            let _ = writeln!(out, "              {:<16} {value}", format!("{name}:"));
        }
    }
    server_record(c, f, out);
}

/// The tenant admin's next step, ready to paste: the server's record of an
/// error in the Sign-in logs (KQL) and through Microsoft Graph.
fn server_record(c: &Ctx, f: &Finding, out: &mut String) {
    let Some((kql, graph)) = super::ticket::server_record(f, c.r) else {
        return;
    };
    let _ = writeln!(
        out,
        "            {}",
        c.p.dim("the server's record (Sign-in logs in Log Analytics or Sentinel, KQL):")
    );
    for line in kql.lines() {
        let _ = writeln!(out, "              {}", terminal_safe(line));
    }
    let _ = writeln!(
        out,
        "            {}",
        c.p.dim("or through Microsoft Graph:")
    );
    let _ = writeln!(out, "              GET {}", terminal_safe(&graph));
}

/// Wraps `text` at `width` columns, continuing lines with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            out.push_str(indent);
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

fn footer(c: &Ctx, out: &mut String) {
    let s = summary(c.session);
    let _ = writeln!(
        out,
        "\n{} {} sign-in flow(s): {} succeeded, {} failed, {} incomplete · findings: {} error(s), {} warning(s), {} info",
        c.p.bold("Summary:"),
        s.flows,
        s.succeeded,
        s.failed,
        s.incomplete,
        s.errors,
        s.warnings,
        s.infos
    );
    if c.r.enabled {
        let _ = writeln!(
            out,
            "{}",
            c.p.dim("Secrets and user names are redacted; --unsafe-show-secrets shows them.")
        );
    }
}
