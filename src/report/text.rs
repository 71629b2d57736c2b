//! The human report for a terminal: one section per sign-in flow with its steps in
//! time order, its MFA attempts, and its findings explained, each with a block of
//! ids for the support ticket. Colour only when asked (a terminal without
//! `NO_COLOR`); every trace string is redacted and made terminal-safe.

use std::borrow::Cow;
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
        let mut out = String::new();
        self.push_painted(&mut out, Some(code), text);
        out
    }
    /// `text` appended to `out`, in colour `code` when colour is on.
    fn push_painted(&self, out: &mut String, code: Option<&str>, text: &str) {
        match code.filter(|_| self.enabled) {
            Some(code) => {
                let _ = write!(out, "\x1b[{code}m{text}\x1b[0m");
            }
            None => out.push_str(text),
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
    /// upset the alignment), appended to `out`; `cell` is a buffer to reuse.
    fn push_status(&self, out: &mut String, cell: &mut String, status: Option<u16>) {
        let code = match status {
            Some(s) if s >= 400 => Some("31"),
            Some(s) if s >= 300 => Some("36"),
            Some(_) => None,
            None => Some("31"),
        };
        cell.clear();
        match status {
            Some(s) => {
                let _ = write!(cell, "{s:>6}");
            }
            None => cell.push_str("   ---"),
        }
        self.push_painted(out, code, cell);
    }
}

struct Ctx<'a> {
    session: &'a Session,
    r: &'a Redactor,
    p: Palette,
    /// Findings by flow (`None`: outside flows), in report order.
    by_flow: super::FindingsByFlow<'a>,
}

impl<'a> Ctx<'a> {
    /// The findings of a flow (`None`: outside flows), in report order.
    fn findings_of(&self, flow: Option<usize>) -> &[&'a Finding] {
        self.by_flow.of(flow)
    }

    /// A trace string made safe to print; borrowed when nothing changes.
    fn safe<'s>(&self, s: &'s str) -> Cow<'s, str> {
        match self.r.text(s) {
            Cow::Borrowed(text) => terminal_safe(text),
            Cow::Owned(text) => Cow::Owned(terminal_safe(&text).into_owned()),
        }
    }
}

/// Renders the whole report.
pub fn render(session: &Session, redactor: &Redactor, palette: Palette) -> String {
    // Writing to memory cannot fail.
    super::collected(|out| write(session, redactor, palette, out)).unwrap_or_default()
}

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
    let flows = &session.analysis.flows;
    super::write_in_batches(
        &mut out,
        flows,
        super::FLOWS_PER_BATCH,
        |_, flows, prose, run| {
            for flow in flows {
                flow_section(&c, prose, flow, run);
            }
            Ok(())
        },
    )?;
    part.clear();
    let loose = c.findings_of(None);
    if !loose.is_empty() {
        let _ = writeln!(part, "\n{}", c.p.bold("Findings outside sign-in flows"));
        let mut prose = Prose::default();
        for f in loose {
            finding_block(&c, &mut prose, f, &mut part);
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

fn flow_section(c: &Ctx, prose: &mut Prose, flow: &Flow, out: &mut String) {
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
    let mut scratch = String::new();
    let lines: Vec<StepLine> = flow
        .steps
        .iter()
        .map(|&i| step_line(c, prose, &a.steps[i], flow.started_us, &mut scratch))
        .collect();
    write_collapsed(c, &lines, out, &mut scratch);
    tokens_block(c, flow, out);
    mfa_block(c, flow, out);
    let mut findings = c.findings_of(Some(flow.id)).to_vec();
    // Errors first, then warnings, then infos; in time order within each.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !findings.is_empty() {
        let _ = writeln!(out, "  {}", c.p.bold("Findings"));
        for f in findings {
            finding_block(c, prose, f, out);
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
/// can be folded into one. Numbers stay numbers until a row is written: the
/// rows of a polling run are folded, and formatting each cell into a `String`
/// of its own was most of the report on an identity-dense trace (issue #15).
struct StepLine {
    id: usize,
    offset_us: i64,
    label: String,
    status: Option<u16>,
    duration_ms: Option<f64>,
    detail: String,
}

fn step_line(
    c: &Ctx,
    prose: &mut Prose,
    s: &Step,
    flow_start: i64,
    scratch: &mut String,
) -> StepLine {
    let mut detail = String::new();
    let mut part = |text: &str| {
        if !detail.is_empty() {
            detail.push_str(" · ");
        }
        detail.push_str(text);
    };
    if let Some(p) = &s.page {
        part(&prose.shown(c, p, Shape::Cell));
    }
    if s.endpoint.is_some()
        && s.role
            .is_some_and(|r| r != crate::identity::endpoints::HostRole::Ests)
    {
        part(&prose.shown(c, &s.host, Shape::Cell));
    }
    if let Some(v) = s.sas.as_ref().and_then(|sas| sas.result_value.as_ref()) {
        part(&prose.shown(c, v, Shape::Cell));
    }
    if !s.aadsts.is_empty() {
        let mut codes = String::new();
        for (n, x) in s.aadsts.iter().enumerate() {
            let _ = write!(codes, "{}AADSTS{x}", if n > 0 { " " } else { "" });
        }
        part(&codes);
    }
    if let Some(e) = s.error.as_ref().and_then(|e| e.error.as_ref()) {
        part(&format!("error={}", c.safe(e)));
    }
    if let Some(e) = &s.transport_error {
        part(&c.safe(e));
    }
    if s.issued {
        part("issued");
    }
    scratch.clear();
    s.write_label(scratch);
    StepLine {
        id: s.id,
        offset_us: s.started_us - flow_start,
        label: first_chars(prose.shown(c, scratch, Shape::Cell), 28),
        status: s.status,
        duration_ms: s.duration_ms,
        detail,
    }
}

/// `+1.234`: an offset in µs as seconds with three decimals, as `{:+.3}` of
/// the seconds would print it, appended to `out`. Whole milliseconds by
/// integers; a tie (…500 µs) is left to the float formatting, whose rounding
/// of the binary value decides it, as are offsets that are negative or too
/// large for an exact f64 quotient.
fn push_offset_seconds(out: &mut String, us: i64) {
    if !(0..1 << 50).contains(&us) || us % 1000 == 500 {
        let _ = write!(out, "+{:.3}", us as f64 / 1e6);
        return;
    }
    let ms = (us + 500) / 1000;
    let _ = write!(out, "+{}.{:03}", ms / 1000, ms % 1000);
}

/// The first `n` characters of `text`.
fn first_chars(text: Cow<'_, str>, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((end, _)) => text[..end].to_string(),
        None => text.into_owned(),
    }
}

/// Writes the rows, folding three or more consecutive alike rows into one.
fn write_collapsed(c: &Ctx, lines: &[StepLine], out: &mut String, scratch: &mut String) {
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
            row(c, out, scratch, first, Some((last.id, run)));
        } else {
            for l in &lines[i..i + run] {
                row(c, out, scratch, l, None);
            }
        }
        i += run;
    }
}

/// One row of the step table; `folded` is the last id and the length of the
/// run a row stands for. Each cell is formatted into `cell` and padded by hand,
/// as `{:>9}` would pad it.
fn row(c: &Ctx, out: &mut String, cell: &mut String, l: &StepLine, folded: Option<(usize, usize)>) {
    out.push_str("  ");
    cell.clear();
    let _ = match folded {
        Some((last, _)) => write!(cell, "{}–{last}", l.id),
        None => write!(cell, "{}", l.id),
    };
    pad_left(out, cell, 9);
    out.push_str("  ");
    cell.clear();
    push_offset_seconds(cell, l.offset_us);
    pad_left(out, cell, 9);
    out.push_str("  ");
    pad_right(out, &l.label, 28);
    out.push(' ');
    c.p.push_status(out, cell, l.status);
    out.push_str("  ");
    cell.clear();
    match l.duration_ms {
        Some(ms) => crate::findings::write_human_duration(cell, ms),
        None => cell.push('-'),
    }
    pad_left(out, cell, 9);
    out.push_str("  ");
    out.push_str(&l.detail);
    if let Some((_, run)) = folded {
        let _ = write!(out, " ×{run}");
    }
    out.push('\n');
}

/// `text` right-aligned in `width` characters, as `{:>width$}` writes it.
fn pad_left(out: &mut String, text: &str, width: usize) {
    for _ in text.chars().count()..width {
        out.push(' ');
    }
    out.push_str(text);
}

/// `text` left-aligned in `width` characters, as `{:<width$}` writes it.
fn pad_right(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    for _ in text.chars().count()..width {
        out.push(' ');
    }
}

fn finding_block(c: &Ctx, prose: &mut Prose, f: &Finding, out: &mut String) {
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
        c.p.bold(&prose.shown(c, &f.title, Shape::Line))
    );
    let _ = writeln!(
        out,
        "            {}",
        prose.shown(c, &f.explanation, Shape::Explanation)
    );
    if f.severity == Severity::Info {
        return;
    }
    for step in &f.next_steps {
        let _ = writeln!(
            out,
            "            → {}",
            prose.shown(c, step, Shape::NextStep)
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
                c.safe(&r.value).into_owned()
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

/// How a finding's text is laid out: one line, or wrapped at a width with an
/// indent for the lines after the first.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Line,
    Explanation,
    NextStep,
    /// A cell of a flow's step table (the step's label, its page, its host,
    /// an MFA result): a handful of values, each on thousands of rows.
    Cell,
}

impl Shape {
    /// The width and the continuation indent of a wrapped shape.
    fn wrapping(self) -> Option<(usize, &'static str)> {
        match self {
            Shape::Line | Shape::Cell => None,
            Shape::Explanation => Some((88, "            ")),
            Shape::NextStep => Some((86, "              ")),
        }
    }
}

/// Findings' titles, explanations and next steps, and the cells of the step
/// tables, as printed (redacted, terminal-safe, wrapped), remembered for the
/// flows a worker renders: the same texts repeat from flow to flow (one failure
/// in hundreds of sign-ins, `GET authorize` on every sign-in), and scanning them
/// for secrets and wrapping them again was a third of the report on an
/// identity-dense trace (issue #15). Both steps depend on the text alone.
#[derive(Default)]
struct Prose {
    shown: [crate::hashing::HashMap<String, String>; 4],
}

impl Prose {
    /// Texts longer than this are rendered each time, not remembered.
    const MAX_TEXT: usize = 4 << 10;
    /// At most this many texts of each shape are remembered.
    const MAX_TEXTS: usize = 512;

    fn shown(&mut self, c: &Ctx, text: &str, shape: Shape) -> Cow<'_, str> {
        let render = |text: &str| match shape.wrapping() {
            None => c.safe(text).into_owned(),
            Some((width, indent)) => wrap(&c.safe(text), width, indent),
        };
        let memo = &mut self.shown[shape as usize];
        if !memo.contains_key(text) {
            if text.len() > Self::MAX_TEXT || memo.len() >= Self::MAX_TEXTS {
                return Cow::Owned(render(text));
            }
            memo.insert(text.to_string(), render(text));
        }
        Cow::Borrowed(&memo[text])
    }
}

/// Wraps `text` at `width` columns, continuing lines with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let capacity = text.len() + text.len() / width * indent.len();
    // ASCII text is split without decoding characters: for it, `char`'s
    // whitespace is ASCII whitespace and the vertical tab.
    if text.is_ascii() && !text.contains('\x0B') {
        wrap_words(text.split_ascii_whitespace(), capacity, width, indent)
    } else {
        wrap_words(text.split_whitespace(), capacity, width, indent)
    }
}

/// Lays `words` out at `width` columns, one space apart, continuing lines
/// with `indent`.
fn wrap_words<'w>(
    words: impl Iterator<Item = &'w str>,
    capacity: usize,
    width: usize,
    indent: &str,
) -> String {
    let mut out = String::with_capacity(capacity);
    let mut line_len = 0;
    for word in words {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_print_as_the_float_formatting_does() {
        let float = |us: i64| format!("+{:.3}", us as f64 / 1e6);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut samples: Vec<i64> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 10_000_000_000) as i64
            })
            .collect();
        samples.extend([
            0,
            1,
            499,
            500,
            501,
            999,
            1000,
            1500,
            2500,
            999_999_500,
            -1,
            -1500,
        ]);
        samples.extend([(1 << 50) - 1, 1 << 50, i64::MAX, i64::MIN]);
        for us in samples {
            let mut ours = String::new();
            push_offset_seconds(&mut ours, us);
            assert_eq!(ours, float(us), "{us} µs");
        }
    }

    #[test]
    fn first_chars_counts_characters_not_bytes() {
        assert_eq!(first_chars(Cow::Borrowed("POST café/ü"), 7), "POST ca");
        assert_eq!(first_chars(Cow::Borrowed("üüüü"), 2), "üü");
        assert_eq!(first_chars(Cow::Borrowed("short"), 28), "short");
    }

    #[test]
    fn wrapping_ascii_splits_where_unicode_whitespace_does() {
        let reference =
            |text: &str, width: usize| wrap_words(text.split_whitespace(), 0, width, "  ");
        for text in [
            "The request could not use an existing session:\teither a silent request",
            "  leading and\r\ntrailing \x0C form feed \x0B vertical tab  ",
            "non-ASCII\u{00A0}no-break space and\u{2003}em space ünïcödé words",
            "",
            "one",
        ] {
            for width in [1, 5, 20, 88] {
                assert_eq!(
                    wrap(text, width, "  "),
                    reference(text, width),
                    "{text:?} at {width}"
                );
            }
        }
    }

    /// Flows are rendered in batches whose runs' strings are reused: a last,
    /// shorter batch must not write what an earlier batch left in the runs it
    /// does not fill.
    #[test]
    fn every_flow_is_written_once_and_in_order_across_batches() {
        let n = 2 * crate::report::FLOWS_PER_BATCH + 37;
        let session = super::super::test_support::separate_sign_ins(n);
        let text = render(&session, &Redactor::new(true), Palette { enabled: false });
        let headings: Vec<usize> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Sign-in flow "))
            .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(headings, (1..=n).collect::<Vec<_>>());
    }
}
