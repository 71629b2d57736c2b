//! The HTML report: one self-contained page (no external scripts, fonts or
//! requests) with a waterfall per sign-in flow, MFA polling drawn as a band
//! against its window, findings beside the step they concern, and the
//! support-ticket block of each finding. Each step row expands to its request
//! and response (`html/exchange.rs`), each flow has a sequence diagram
//! (`html/sequence.rs`), and the page ends with every request of the trace in
//! one table (`html/requests.rs`).
//!
//! Readable without JavaScript (`<details>` expand, anchors link findings and
//! steps); with it, a small inline script filters by severity and flow. On a
//! page of more than [`INLINE_STEPS`] steps the steps' requests and responses
//! are kept out of the DOM until a step opens ([`Details`]), and sections are
//! `content-visibility: auto`, so a 200 MB HAR's page opens in about 2 s.
//! The page is written as it is made ([`write_page`]): flows and the rows of
//! "All requests" are rendered a batch at a time on every core, each run into
//! its own `Part`, and only the deferred details wait for the page's end.
//!
//! The verdict comes first, with the step it rests on linked under it, so the
//! failure is in the first screen of every page (the browser test checks it at
//! 900 and 1400 px on every sample and real-world trace).
//!
//! Safety: every string from the trace is redacted ([`Redactor`]), stripped of
//! control characters, and HTML-escaped for text and attributes. No trace string
//! becomes a link, a URL attribute, a style or a script. Data for the script is
//! JSON inside `<script type="application/json">` with `<`, `>` and `&` escaped.
//! A Content-Security-Policy allows only the page's own inline script (by nonce),
//! inline styles, and nothing from the network, so even a mistake here could not
//! run an injected script or fetch anything.

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};

use std::collections::HashMap;

use super::json::summary;
use super::shown::{terminal_safe, Redactor};
use super::time::{rfc3339, time_of_day};
use crate::findings::{human_duration, Finding, Severity};
use crate::identity::{Flow, MfaAttempt, Step};
use crate::session::Session;

mod exchange;
mod lanes;
mod requests;
mod sequence;

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/report.js");
/// Longest URL shown whole: a trace can hold URLs of hundreds of megabytes, which
/// the page would otherwise embed (escaped, so larger still).
const MAX_URL: usize = 8 << 10;

/// Escapes text for HTML text content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or
/// `&` (so no `</script>` or `<!--`), no U+2028/2029.
pub fn script_json(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A fresh nonce for the page's script.
fn nonce() -> String {
    let a = std::collections::hash_map::RandomState::new().build_hasher();
    let mut b = std::collections::hash_map::RandomState::new().build_hasher();
    b.write_u8(1);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

struct Ctx<'a> {
    session: &'a Session,
    r: &'a Redactor,
    /// Findings by flow (`None`: outside flows), in report order.
    by_flow: super::FindingsByFlow<'a>,
    /// Findings by the steps they name, each once, in report order.
    by_step: HashMap<usize, Vec<&'a Finding>>,
    /// The one time axis of the page: every waterfall and the host lanes.
    axis: Axis,
    /// Whether step details are kept out of the DOM (see [`Details`]): each
    /// run of the page writes them into its [`Part`], and they go at its end.
    defer: bool,
}

impl<'a> Ctx<'a> {
    fn new(session: &'a Session, r: &'a Redactor, details: Details) -> Self {
        let mut by_step: HashMap<usize, Vec<&Finding>> = HashMap::new();
        for f in &session.findings {
            for &step in &f.exchanges {
                let list = by_step.entry(step).or_default();
                // A finding naming a step twice is listed once.
                if !list.last().is_some_and(|g| std::ptr::eq(*g, f)) {
                    list.push(f);
                }
            }
        }
        Ctx {
            session,
            r,
            by_flow: super::findings_by_flow(&session.findings),
            by_step,
            axis: trace_axis(session),
            defer: details.deferred(session.analysis.steps.len()),
        }
    }

    /// Writes the body of step `id`'s expandable detail, made by `write`:
    /// inline, or kept as inert text that report.js puts in place when the
    /// step is first opened.
    fn detail(
        &self,
        id: usize,
        out: &mut String,
        deferred: &mut String,
        write: impl FnOnce(&mut String),
    ) {
        if !self.defer {
            out.push_str("<div class=\"detail\">");
            write(out);
            out.push_str("</div>");
            return;
        };
        let mut body = String::new();
        write(&mut body);
        if !inert_as_script_text(&body) {
            // Never expected (trace text is escaped), but if it happened the
            // text could end its `<script>` early; inline is always safe.
            let _ = write!(out, "<div class=\"detail\">{body}</div>");
            return;
        }
        let _ = write!(
            out,
            "<div class=\"detail\" data-detail=\"{id}\"><p class=\"muted lazy\">The request and response appear here when the page's script runs.</p></div>"
        );
        let _ = writeln!(
            deferred,
            "<script type=\"text/html\" id=\"detail-{id}\">{body}</script>"
        );
    }

    /// The findings of a flow (`None`: outside flows), in report order.
    fn findings_of(&self, flow: Option<usize>) -> &[&'a Finding] {
        self.by_flow.of(flow)
    }

    /// A trace string, redacted, control characters removed, escaped.
    fn t(&self, s: &str) -> String {
        escape(&terminal_safe(&self.r.text(s)))
    }
    /// A URL as [`Ctx::t`]; one longer than [`MAX_URL`] is cut (before it is
    /// redacted, so a huge one is never copied whole) and says its full length.
    fn url(&self, s: &str) -> String {
        if s.len() <= MAX_URL {
            return escape(&terminal_safe(&self.r.url(s)));
        }
        let shown = escape(&terminal_safe(&self.r.url(url_head(s))));
        format!("{shown}… ({} bytes in all)", s.len())
    }
    fn user(&self, s: &str) -> String {
        escape(&terminal_safe(&self.r.user(s)))
    }
    fn findings_of_step(&self, step: usize) -> &[&'a Finding] {
        self.by_step.get(&step).map_or(&[], Vec::as_slice)
    }
}

/// The first [`MAX_URL`] bytes of a URL (all of a shorter one), cut at a
/// character boundary: what the page redacts and shows of it.
fn url_head(s: &str) -> &str {
    let mut cut = MAX_URL.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// Where each step's request and response (its expandable detail) lives.
///
/// Inline, a closed `<details>` still puts every header row and body in the
/// DOM: the page of a 200 MB HAR held 1.6 million elements and took Chromium
/// some 18 s to open. Deferred, each detail is the text of an inert
/// `<script type="text/html">` (parsed as one text node, never run: the CSP
/// runs only the page's own script) that report.js inserts when its step is
/// first opened; without script the step then shows its summary facts only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Details {
    /// Inline up to [`INLINE_STEPS`] steps, deferred above.
    Auto,
    Inline,
    Deferred,
}

/// Most steps whose details [`Details::Auto`] keeps inline: about a second of
/// opening in Chromium (some 2.5 ms per inline step on the bench HAR).
pub const INLINE_STEPS: usize = 300;

impl Details {
    fn deferred(self, steps: usize) -> bool {
        match self {
            Details::Auto => steps > INLINE_STEPS,
            Details::Inline => false,
            Details::Deferred => true,
        }
    }
}

/// True when `html` can be the text of a `<script>` element unchanged: it
/// holds no `</script` (which would end it) and no `<!--` (which changes how
/// the parser looks for the end). Escaped trace text holds no `<` at all.
fn inert_as_script_text(html: &str) -> bool {
    let lower = |i: usize| html.as_bytes().get(i).map(u8::to_ascii_lowercase);
    !memchr::memchr_iter(b'<', html.as_bytes()).any(|i| {
        html[i..].starts_with("<!--")
            || (lower(i + 1) == Some(b'/')
                && (0..6).all(|k| lower(i + 2 + k) == Some(b"script"[k])))
    })
}

/// How to render a page.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The script's nonce; tests pin it, [`render`] draws a fresh one.
    pub nonce: &'a str,
    pub details: Details,
}

/// Renders the whole page.
pub fn render(session: &Session, redactor: &Redactor) -> String {
    render_page(session, redactor, fresh_page(&nonce()))
}

/// [`render`] with a given script nonce (tests pin it).
pub fn render_with_nonce(session: &Session, redactor: &Redactor, nonce: &str) -> String {
    render_page(session, redactor, fresh_page(nonce))
}

/// Renders the whole page as `page` says, held whole (tests, small traces).
pub fn render_page(session: &Session, redactor: &Redactor, page: Page) -> String {
    // Writing into memory does not fail.
    super::collected(|out| write_page(session, redactor, page, out)).unwrap_or_default()
}

/// Writes the page [`render`] makes to `out`, streamed.
pub fn write(
    session: &Session,
    redactor: &Redactor,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    write_page(session, redactor, fresh_page(&nonce()), out)
}

fn fresh_page(nonce: &str) -> Page<'_> {
    Page {
        nonce,
        details: Details::Auto,
    }
}

/// Steps of "All requests" rendered at a time, on every core (flows:
/// [`super::FLOWS_PER_BATCH`]).
const ROWS_PER_BATCH: usize = 2048;

/// A run of the page rendered on its own (on any core): its HTML, and the
/// step details it kept out of the DOM ([`Details`]), which go at the page's
/// end in the order they were written.
#[derive(Default)]
struct Part {
    html: String,
    deferred: String,
}

impl super::RunBuffer for Part {
    fn clear(&mut self) {
        self.html.clear();
        self.deferred.clear();
    }
    fn bytes(&self) -> &[u8] {
        self.html.as_bytes()
    }
}

/// Writes the page as `page` says to `out`, streamed: the flows' sections and
/// the rows of "All requests" are rendered a batch at a time on every core
/// and written in order; only the deferred step details are held until the
/// end, where the page keeps them (a 200 MB HAR's page was held whole, twice
/// over while it grew: 2.6 times the HAR in memory, issue #15).
pub fn write_page(
    session: &Session,
    redactor: &Redactor,
    page: Page,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let nonce = page.nonce;
    let c = Ctx::new(session, redactor, page.details);
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let mut text = String::with_capacity(64 * 1024);
    let _ = write!(
        text,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"aadtrace {version}\">\n\
<title>aadtrace report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    header(&c, &mut text);
    text.push_str("<main>\n");
    controls(&mut text);
    lanes::write(&c, &mut text);
    if session.analysis.flows.is_empty() {
        text.push_str("<p class=\"muted\">No sign-in flow was found in this trace.</p>\n");
    }
    out.write_all(text.as_bytes())?;
    let mut deferred: Vec<String> = Vec::new();
    let mut keep = |part: &mut Part| deferred.push(std::mem::take(&mut part.deferred));
    let flows = &session.analysis.flows;
    super::write_in_batches_then(
        &mut out,
        flows,
        super::FLOWS_PER_BATCH,
        |_, flows, _: &mut (), part: &mut Part| {
            for flow in flows {
                flow_section(&c, flow, part);
            }
            Ok(())
        },
        &mut keep,
    )?;
    text.clear();
    let loose = c.findings_of(None);
    if !loose.is_empty() {
        text.push_str("<section class=\"loose\" data-flow=\"none\">\n<h2>Findings outside sign-in flows</h2>\n<div class=\"findings\">\n");
        for f in loose {
            finding_block(&c, f, &mut text);
        }
        text.push_str("</div>\n</section>\n");
    }
    out.write_all(text.as_bytes())?;
    requests::write(&c, &mut out, &mut keep)?;
    text.clear();
    text.push_str("</main>\n");
    footer(&c, &mut text);
    out.write_all(text.as_bytes())?;
    for part in &deferred {
        out.write_all(part.as_bytes())?;
    }
    write!(
        out,
        "<script type=\"application/json\" id=\"aadtrace-data\">{}</script>\n<script nonce=\"{nonce}\">\n{SCRIPT}</script>\n</body>\n</html>\n",
        script_json(&page_data(&c))
    )?;
    out.flush()
}

/// What the script needs: flow labels for the filter.
fn page_data(c: &Ctx) -> serde_json::Value {
    let flows: Vec<serde_json::Value> = c
        .session
        .analysis
        .flows
        .iter()
        .map(|f| {
            serde_json::json!({
                "id": f.id.to_string(),
                "label": format!("Flow {} · {} · {}", f.id + 1, kind_name(f), outcome_name(f)),
            })
        })
        .collect();
    serde_json::json!({ "flows": flows })
}

fn kind_name(f: &Flow) -> String {
    crate::report::snake_name(&f.kind)
}

fn outcome_name(f: &Flow) -> String {
    crate::report::snake_name(&f.outcome)
}

fn header(c: &Ctx, out: &mut String) {
    out.push_str("<header class=\"top\">\n<h1>aadtrace report</h1>\n");
    verdict_banner(c, out);
    out.push_str("<ul class=\"inputs\">\n");
    for input in &c.session.inputs {
        let producer = input
            .summary
            .producer
            .as_deref()
            .map(|p| format!(", {}", c.t(p)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li><code>{}</code> ({}{producer}, {} exchanges)</li>",
            escape(&terminal_safe(&input.path)),
            input.format,
            input.summary.exchanges
        );
    }
    out.push_str("</ul>\n");
    let a = &c.session.analysis;
    if !a.steps.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Trace from {} to {} UTC ({})</p>",
            rfc3339(a.trace_start_us),
            rfc3339(a.trace_end_us),
            escape(&human_duration(
                (a.trace_end_us - a.trace_start_us) as f64 / 1000.0
            ))
        );
    }
    let s = summary(c.session);
    let pill = |class: &str, n: usize, what: &str| {
        let zero = if n == 0 { " zero" } else { "" };
        format!("<span class=\"pill {class}{zero}\">{n} {what}</span>")
    };
    let _ = writeln!(
        out,
        "<div class=\"summary\"><span class=\"pill\">{} sign-in flow(s)</span>{}{}{}{}{}{}</div>",
        s.flows,
        pill("outcome success", s.succeeded, "succeeded"),
        pill("outcome failed", s.failed, "failed"),
        pill("outcome incomplete", s.incomplete, "incomplete"),
        pill("error", s.errors, "error(s)"),
        pill("warning", s.warnings, "warning(s)"),
        pill("info", s.infos, "info"),
    );
    out.push_str("</header>\n");
}

/// The trace's verdict first, with a button that copies the `--ticket` block
/// (kept in the page as text; the script only copies it).
fn verdict_banner(c: &Ctx, out: &mut String) {
    let v = super::verdict::of_trace(c.session);
    let ending = v.ending.name();
    let _ = writeln!(
        out,
        "<p class=\"verdict {ending}\" id=\"verdict\">{}</p>\n\
         <p><button type=\"button\" id=\"copy-ticket\" hidden>Copy for ticket</button> \
         <span class=\"muted\" id=\"copy-done\"></span></p>\n\
         <pre id=\"ticket\" hidden>{}</pre>",
        escape(&terminal_safe(&v.line(c.r))),
        escape(&super::ticket::render(c.session, c.r))
    );
    failing_step(c, &v, out);
}

/// Under the verdict, the step it rests on, linked to its row: a failure's
/// step (the last one its deciding finding names), or where an incomplete
/// sign-in stops.
fn failing_step(c: &Ctx, v: &super::verdict::Verdict, out: &mut String) {
    use super::verdict::Ending;
    let (what, id) = match (v.ending, v.finding, v.flow) {
        (Ending::Failed, Some(f), _) => ("Failing step", f.exchanges.last().copied()),
        (Ending::Incomplete, _, Some(flow)) => ("Last step", flow.steps.last().copied()),
        _ => return,
    };
    let Some(s) = id.and_then(|i| c.session.analysis.steps.get(i)) else {
        return;
    };
    let status = s
        .status
        .filter(|&st| st > 0)
        .map_or_else(|| "no response".to_string(), |st| st.to_string());
    let flow = v
        .flow
        .map(|f| format!(" · <a href=\"#flow-{}\">flow {}</a>", f.id, f.id + 1))
        .unwrap_or_default();
    let label = s.label();
    let host = if label.contains(&s.host) {
        String::new()
    } else {
        format!(" · <span class=\"muted host\">{}</span>", c.t(&s.host))
    };
    let _ = writeln!(
        out,
        "<p class=\"failing\" id=\"failing-step\">{what}: <a href=\"#{anchor}\">#{id} {label}</a>{host} · {status} · {time} UTC{flow}</p>",
        anchor = step_anchor(c, s.id),
        id = s.id,
        label = c.t(&label),
        time = time_of_day(s.started_us),
    );
}

/// The id of the element that shows step `id`: its row (or poll) in a flow,
/// else its row in "all requests".
fn step_anchor(c: &Ctx, id: usize) -> String {
    let in_flow = c.session.analysis.flow_of_step.get(id).copied().flatten();
    match in_flow {
        Some(_) => format!("step-{id}"),
        None => format!("req-{id}"),
    }
}

fn controls(out: &mut String) {
    out.push_str(
        "<div id=\"controls\" hidden>\n<strong>Show</strong>\n\
<label><input type=\"checkbox\" data-sev=\"error\" checked> errors</label>\n\
<label><input type=\"checkbox\" data-sev=\"warning\" checked> warnings</label>\n\
<label><input type=\"checkbox\" data-sev=\"info\" checked> info</label>\n\
<label>flow <select id=\"flow-filter\"><option value=\"all\">all flows</option></select></label>\n\
<button type=\"button\" id=\"expand\" aria-pressed=\"false\">Expand all</button>\n</div>\n",
    );
}

/// A time axis: where it starts and how long it runs (µs).
pub(crate) struct Axis {
    start: i64,
    span: f64,
}

impl Axis {
    fn pct(&self, us: i64) -> f64 {
        (((us - self.start) as f64 / self.span) * 100.0).clamp(0.0, 100.0)
    }
    /// `left:…%;width:…%` for an interval (at least a sliver wide).
    fn style(&self, from: i64, to: i64) -> String {
        let left = self.pct(from);
        let width = (self.pct(to.max(from)) - left).max(0.25).min(100.0 - left);
        format!("left:{left:.2}%;width:{width:.2}%")
    }
    /// The distance between two ticks, in percent of the width.
    fn tick_pct(&self) -> f64 {
        tick_step(self.span) / self.span * 100.0
    }
    /// The tick labels, on round values from the start to the end.
    fn ticks(&self) -> String {
        let step_us = tick_step(self.span);
        (0..)
            .map(|k| k as f64 * step_us)
            .take_while(|&t| t <= self.span + 1.0)
            .map(|t| {
                format!(
                    "<span style=\"left:{:.2}%\">{}</span>",
                    t / self.span * 100.0,
                    if t == 0.0 {
                        "0".to_string()
                    } else {
                        escape(&human_duration(t / 1000.0))
                    }
                )
            })
            .collect()
    }
}

/// A round tick interval (1, 2 or 5 times a power of ten, in µs) that puts
/// three to seven ticks on a span of `span_us`.
fn tick_step(span_us: f64) -> f64 {
    let rough = (span_us / 6.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&step| span_us / step <= 6.0)
        .unwrap_or(10.0 * power)
}

/// The height a section of `rows` rows is taken to have until it is first
/// drawn. Sections are `content-visibility: auto` (style.css), so the browser
/// lays out only those on screen: the page of a 200 MB HAR opened in 1.7 s
/// instead of 6.5 s. The estimate keeps the scroll bar roughly right.
fn intrinsic_size(rows: usize) -> String {
    format!("contain-intrinsic-size:auto {}px", 320 + 26 * rows)
}

fn step_end(s: &Step) -> i64 {
    s.started_us + s.duration_ms.map_or(0, |d| (d * 1000.0) as i64)
}

fn flow_section(c: &Ctx, flow: &Flow, part: &mut Part) {
    let out = &mut part.html;
    let outcome = outcome_name(flow);
    let _ = writeln!(
        out,
        "<section class=\"flow\" id=\"flow-{id}\" data-flow=\"{id}\" data-outcome=\"{outcome}\" style=\"{size}\">\n<header><h2>Sign-in flow {n} · {kind}</h2><span class=\"pill outcome {outcome}\">{upper}</span><span class=\"muted\">{start} → {end} UTC ({dur})</span></header>",
        id = flow.id,
        size = intrinsic_size(flow.steps.len()),
        n = flow.id + 1,
        kind = escape(&kind_name(flow)),
        upper = outcome.to_uppercase(),
        start = rfc3339(flow.started_us),
        end = time_of_day(flow.ended_us),
        dur = escape(&human_duration(
            (flow.ended_us - flow.started_us) as f64 / 1000.0
        )),
    );
    meta(c, flow, out);
    let axis = &c.axis;
    timeline_head(axis, out);
    let hops = hops(c, flow);
    for hop in &hops {
        match hop {
            Hop::Step(step) => step_row(c, step, flow.started_us, axis, part),
            Hop::Mfa { attempt, .. } => mfa_band(c, flow, attempt, axis, &mut part.html),
        }
    }
    let out = &mut part.html;
    out.push_str("</div>\n");
    sequence::write(c, flow, &hops, out);

    let findings = c.findings_of(Some(flow.id));
    if !findings.is_empty() {
        out.push_str("<h3>Findings</h3>\n<div class=\"findings\">\n");
        for f in findings {
            finding_block(c, f, out);
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

/// The page's one time axis, shared by every flow's waterfall and the host
/// lanes: from the trace's first exchange to its end, so bars of different
/// flows compare by position. MFA windows open at the trace's end stop there.
fn trace_axis(session: &Session) -> Axis {
    let a = &session.analysis;
    let start = a
        .steps
        .first()
        .map_or(a.trace_start_us, |s| s.started_us.min(a.trace_start_us));
    Axis {
        start,
        span: ((a.trace_end_us - start) as f64).max(1000.0),
    }
}

/// The waterfall's opening and its axis row, ticks on round values.
fn timeline_head(axis: &Axis, out: &mut String) {
    let _ = writeln!(
        out,
        "<h3>Timeline</h3>\n<div class=\"waterfall\" style=\"--tick:{:.3}%\">",
        axis.tick_pct()
    );
    let _ = writeln!(
        out,
        "<div class=\"axis\"><span class=\"num\">#</span><span class=\"t\">+time</span><span>step</span><span>status</span><span class=\"dur\">duration</span><span class=\"scale\">{}</span><span class=\"marks\">findings</span></div>",
        axis.ticks()
    );
}

/// One row of a flow's waterfall and one arrow of its sequence diagram: a
/// step, or an MFA attempt's polls folded into one.
pub(crate) enum Hop<'a> {
    Step(&'a Step),
    Mfa {
        attempt: &'a MfaAttempt,
        polls: Vec<&'a Step>,
    },
}

/// The hops of `flow` in order: each SAS poll run is folded into its attempt,
/// drawn where its first poll falls.
fn hops<'a>(c: &Ctx<'a>, flow: &'a Flow) -> Vec<Hop<'a>> {
    let steps = &c.session.analysis.steps;
    // Each SAS poll's first attempt, looked up rather than searched per step.
    let mut attempt_of_poll: HashMap<usize, &MfaAttempt> = HashMap::new();
    for m in &flow.mfa {
        for &i in &m.steps {
            if steps[i].endpoint == Some("sas_end_auth") {
                attempt_of_poll.entry(i).or_insert(m);
            }
        }
    }
    let mut polls_done = std::collections::HashSet::new();
    let mut hops = Vec::new();
    for &i in &flow.steps {
        let step = &steps[i];
        match attempt_of_poll.get(&step.id) {
            Some(&attempt) => {
                if polls_done.insert(attempt.started_us) {
                    let polls = attempt
                        .steps
                        .iter()
                        .map(|&i| &steps[i])
                        .filter(|s| s.endpoint == Some("sas_end_auth"))
                        .collect();
                    hops.push(Hop::Mfa { attempt, polls });
                }
            }
            None => hops.push(Hop::Step(step)),
        }
    }
    hops
}

fn meta(c: &Ctx, flow: &Flow, out: &mut String) {
    let mut rows: Vec<(&str, String)> = vec![(
        "Verdict",
        escape(&terminal_safe(
            &super::verdict::of_flow_among(c.session, flow, c.findings_of(Some(flow.id))).line(c.r),
        )),
    )];
    if let Some(t) = &flow.tenant {
        rows.push(("Tenant", c.t(t)));
    }
    if let Some(a) = &flow.client_id {
        rows.push(("App ID", c.t(a)));
    }
    if let Some(u) = &flow.user {
        rows.push(("User", c.user(u)));
    }
    if !flow.regions.is_empty() {
        rows.push(("Region", c.t(&flow.regions.join(", "))));
    }
    if !flow.correlation_ids.is_empty() {
        let ids: Vec<String> = flow
            .correlation_ids
            .iter()
            .map(|id| format!("<code>{}</code>", c.t(id)))
            .collect();
        rows.push(("Correlation", ids.join(" ")));
    }
    if rows.is_empty() {
        return;
    }
    out.push_str("<dl class=\"meta\">");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{k}</dt><dd>{v}</dd>");
    }
    out.push_str("</dl>\n");
}

/// A status badge coloured by what the findings about the step say, not by
/// the raw status: a 401 or 400 that only `info` findings judge (a Seamless SSO
/// probe, `authorization_pending` while a device code waits) is blue, not red.
fn badge_class(status: Option<u16>, findings: &[&Finding]) -> String {
    let failed = !matches!(status, Some(s) if (200..400).contains(&s));
    let expected = !findings.is_empty() && findings.iter().all(|f| f.severity == Severity::Info);
    if failed && expected {
        "s-info".to_string()
    } else {
        status_class(status)
    }
}

fn status_class(status: Option<u16>) -> String {
    match status {
        Some(s) if s > 0 => format!("s{}", s / 100),
        _ => "s0".to_string(),
    }
}

fn marks(c: &Ctx, findings: &[&Finding]) -> String {
    let mut out = String::from("<span class=\"marks\">");
    for f in findings {
        let sev = f.severity.name();
        let label = match f.code {
            Some(code) => format!("AADSTS{code}"),
            None => f.kind.as_str().replace('_', " "),
        };
        let _ = write!(
            out,
            "<a class=\"mark {sev}\" data-severity=\"{sev}\" href=\"#finding-{}\" title=\"{}\">{}</a>",
            f.id,
            c.t(&f.title),
            escape(&label)
        );
    }
    out.push_str("</span>");
    out
}

fn step_row(c: &Ctx, s: &Step, flow_start: i64, axis: &Axis, part: &mut Part) {
    let out = &mut part.html;
    let label = s.label();
    let status = s
        .status
        .filter(|&st| st > 0)
        .map(|st| st.to_string())
        .unwrap_or_else(|| "—".into());
    let findings = c.findings_of_step(s.id);
    let cls = badge_class(s.status, findings);
    let _ = write!(
        out,
        "<details class=\"row\" id=\"step-{id}\"><summary><span class=\"num\">{id}</span><span class=\"t\">+{t:.3}s</span><span class=\"step\" title=\"{label} · {host}\">{label}{page}{on_host}</span><span class=\"status {cls}\">{status}</span><span class=\"dur\">{dur}</span><span class=\"track\"><span class=\"bar {cls}\" style=\"{style}\"></span></span>{marks}</summary>",
        id = s.id,
        t = (s.started_us - flow_start) as f64 / 1e6,
        label = c.t(&label),
        host = c.t(&s.host),
        // Rows name their host when the label names an endpoint: two AD FS
        // servers' `GET adfs` rows must be told apart.
        on_host = if label.contains(&s.host) {
            String::new()
        } else {
            format!(" <span class=\"muted host\">{}</span>", c.t(&s.host))
        },
        page = s
            .page
            .as_deref()
            .map(|p| format!(" <span class=\"muted\">· {}</span>", c.t(p)))
            .unwrap_or_default(),
        dur = s
            .duration_ms
            .map(|d| escape(&human_duration(d)))
            .unwrap_or_else(|| "—".into()),
        style = axis.style(s.started_us, step_end(s)),
        marks = marks(c, findings),
    );
    c.detail(s.id, out, &mut part.deferred, |out| step_detail(c, s, out));
    part.html.push_str("</details>\n");
}

/// The facts of one step, under its row.
fn step_detail(c: &Ctx, s: &Step, out: &mut String) {
    out.push_str("<dl>");
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{k}</dt><dd>{v}</dd>");
    };
    row("Started", rfc3339(s.started_us));
    row("URL", format!("<code>{}</code>", c.url(&s.url)));
    if let Some(st) = s.status {
        row("HTTP", format!("{} {}", c.t(&s.http_version), st));
    }
    if let Some(w) = s.wait_ms {
        row("Server wait", escape(&human_duration(w)));
    }
    if let Some(p) = &s.page {
        row("Page", c.t(p));
    }
    if !s.aadsts.is_empty() {
        let codes: Vec<String> = s.aadsts.iter().map(|x| format!("AADSTS{x}")).collect();
        row("AADSTS", codes.join(" "));
    }
    if let Some(e) = &s.error {
        let text = [
            e.error.as_deref(),
            e.suberror.as_deref(),
            e.message.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        row("Error", c.t(&text));
    }
    if let Some(e) = &s.transport_error {
        row("Transport", c.t(e));
    }
    for (k, v) in [
        ("client-request-id", &s.client_request_id),
        ("Request ID", &s.request_id),
        ("Correlation ID", &s.correlation_id),
        ("Server", &s.ests_server),
    ] {
        if let Some(v) = v {
            row(k, format!("<code>{}</code>", c.t(v)));
        }
    }
    if let Some(sas) = &s.sas {
        if let Some(v) = &sas.result_value {
            row("MFA result", c.t(v));
        }
    }
    if s.issued {
        row("Issued", "a code or token".into());
    }
    out.push_str("</dl>");
    exchange::write(c, s, out);
}

fn mfa_band(c: &Ctx, flow: &Flow, m: &MfaAttempt, axis: &Axis, out: &mut String) {
    let steps = &c.session.analysis.steps;
    let polls: Vec<&Step> = m
        .steps
        .iter()
        .map(|&i| &steps[i])
        .filter(|s| s.endpoint == Some("sas_end_auth"))
        .collect();
    let first = polls.first().map_or(m.started_us, |s| s.started_us);
    let last = polls.last().map_or(m.ended_us, |s| step_end(s));
    let window_end = m.started_us + m.judged_window_ms * 1000;
    let result = crate::report::snake_name(&m.result);
    let window = match m.window_ms {
        Some(w) => format!("{} window announced", human_duration(w as f64)),
        None => format!(
            "{} default window",
            human_duration(m.judged_window_ms as f64)
        ),
    };
    let ids: Vec<usize> = polls.iter().map(|s| s.id).collect();
    let findings = findings_of_steps(c, &ids);
    let range = match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    let verdict_class = if m.result == crate::identity::MfaResult::Approved {
        "s2"
    } else {
        "s4"
    };
    let _ = write!(
        out,
        "<details class=\"band\" id=\"mfa-{fid}-{first_id}\"><summary><span class=\"num\">{range}</span><span class=\"t\">+{t:.3}s</span><span class=\"step\">MFA {method}: {n} poll(s)</span><span class=\"status {verdict_class}\">{result}</span><span class=\"dur\">{waited}</span><span class=\"track\" title=\"{window}\"><span class=\"bar window\" style=\"{wstyle}\"></span><span class=\"bar polls\" style=\"{pstyle}\"></span></span>{marks}</summary>",
        fid = flow.id,
        first_id = ids.first().copied().unwrap_or(0),
        t = (first - flow.started_us) as f64 / 1e6,
        method = c.t(m.method.as_deref().unwrap_or("unknown method")),
        n = m.polls,
        result = escape(&result),
        waited = escape(&human_duration(m.waited_ms)),
        window = escape(&window),
        wstyle = axis.style(m.started_us, window_end),
        pstyle = axis.style(first, last),
        marks = marks(c, &findings),
    );
    let _ = write!(
        out,
        "<div class=\"detail\"><dl><dt>Started</dt><dd>{}</dd><dt>Waited</dt><dd>{} ({})</dd><dt>Verdict</dt><dd>{}{}</dd></dl><ol class=\"polls-list\">",
        rfc3339(m.started_us),
        escape(&human_duration(m.waited_ms)),
        escape(&window),
        escape(&result),
        m.last_result_value
            .as_deref()
            .map(|v| format!(" (server said {})", c.t(v)))
            .unwrap_or_default()
    );
    poll_list(c, &polls, out);
    out.push_str("</ol></div></details>\n");
}

/// The findings of some steps, each once, in step order.
fn findings_of_steps<'a>(c: &Ctx<'a>, ids: &[usize]) -> Vec<&'a Finding> {
    let mut findings: Vec<&Finding> = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for id in ids {
        for &f in c.findings_of_step(*id) {
            if listed.insert(f.id) {
                findings.push(f);
            }
        }
    }
    findings
}

/// One list item per poll: its time and the server's answer.
fn poll_list(c: &Ctx, polls: &[&Step], out: &mut String) {
    for s in polls {
        let value = s
            .sas
            .as_ref()
            .and_then(|x| x.result_value.as_deref())
            .map(|v| c.t(v))
            .unwrap_or_else(|| "—".into());
        let _ = write!(
            out,
            "<li id=\"step-{}\">{} {value}</li>",
            s.id,
            time_of_day(s.started_us)
        );
    }
}

fn finding_block(c: &Ctx, f: &Finding, out: &mut String) {
    let sev = f.severity.name();
    let when = f
        .time_us
        .map(|t| format!(" at {} UTC", time_of_day(t)))
        .unwrap_or_default();
    let steps = if f.exchanges.is_empty() {
        String::new()
    } else {
        let links: Vec<String> = f
            .exchanges
            .iter()
            .take(8)
            .map(|&x| {
                // Only steps of a flow have a row to land on.
                if c.session
                    .analysis
                    .flow_of_step
                    .get(x)
                    .copied()
                    .flatten()
                    .is_some()
                {
                    format!("<a href=\"#step-{x}\">{x}</a>")
                } else {
                    format!("<span title=\"not part of a sign-in flow\">{x}</span>")
                }
            })
            .collect();
        let more = if f.exchanges.len() > 8 {
            format!(" … (+{})", f.exchanges.len() - 8)
        } else {
            String::new()
        };
        format!(" · step {}{more}", links.join(", "))
    };
    let _ = write!(
        out,
        "<article class=\"finding {sev}\" id=\"finding-{id}\" data-severity=\"{sev}\" data-kind=\"{kind}\"><h4><span class=\"sev\">{sev}</span>{title}</h4><p class=\"muted\">{kind}{when}{steps}</p><p>{explanation}</p>",
        id = f.id,
        kind = escape(f.kind.as_str()),
        title = c.t(&f.title),
        explanation = c.t(&f.explanation),
    );
    if f.severity != Severity::Info && !f.next_steps.is_empty() {
        out.push_str("<ol class=\"next\">");
        for s in &f.next_steps {
            let _ = write!(out, "<li>{}</li>", c.t(s));
        }
        out.push_str("</ol>");
    }
    if f.severity != Severity::Info {
        ticket_block(c, f, out);
    }
    out.push_str("</article>\n");
}

fn ticket_block(c: &Ctx, f: &Finding, out: &mut String) {
    let rows: Vec<(&str, String)> = super::ticket_rows(f)
        .into_iter()
        .map(|r| {
            (
                r.label,
                if r.is_user {
                    c.user(&r.value)
                } else {
                    c.t(&r.value)
                },
            )
        })
        .collect();
    if rows.len() < 2 {
        return;
    }
    out.push_str("<div class=\"ticket\"><h5>For the support ticket</h5><dl>");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{k}</dt><dd>{v}</dd>");
    }
    out.push_str("</dl>");
    if let Some((kql, graph)) = super::ticket::server_record(f, c.r) {
        let _ = write!(
            out,
            "<details class=\"part server-record\"><summary>The server's record: Sign-in logs (KQL) and Microsoft Graph</summary><pre class=\"body\">{}</pre><pre class=\"body\">GET {}</pre></details>",
            escape(&kql),
            escape(&graph)
        );
    }
    out.push_str("</div>");
}

fn footer(c: &Ctx, out: &mut String) {
    let _ = writeln!(
        out,
        "<footer>Generated by aadtrace {}. {}</footer>",
        env!("CARGO_PKG_VERSION"),
        if c.r.enabled {
            "Secrets are masked and user names shortened; <code>--unsafe-show-secrets</code> shows them."
        } else {
            "<strong>Secrets are shown (--unsafe-show-secrets): do not share this file.</strong>"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids that follow `prefix` in `page`, in page order.
    fn ids_after(page: &str, prefix: &str) -> Vec<usize> {
        page.match_indices(prefix)
            .map(|(at, _)| {
                let rest = &page[at + prefix.len()..];
                let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
                rest[..end].parse().unwrap()
            })
            .collect()
    }

    /// Flows and request rows are rendered in batches on every core, each run
    /// keeping its deferred details: every section, row and detail is written
    /// once, in order, across batch boundaries, and the details at the page's
    /// end follow the order of the steps that open them.
    #[test]
    fn a_streamed_page_keeps_every_part_once_and_in_order_across_batches() {
        let n = 2 * ROWS_PER_BATCH + 37;
        let mut steps = crate::report::test_support::separate_sign_ins(n)
            .analysis
            .steps;
        // Every third step is noise: no flow, its detail in "All requests".
        for s in steps.iter_mut().step_by(3) {
            s.noise = true;
        }
        let session = crate::session::judge(Vec::new(), steps, &Default::default());
        let flows = session.analysis.flows.len();
        assert!(flows > 2 * crate::report::FLOWS_PER_BATCH, "{flows} flows");
        let page = render_with_nonce(&session, &Redactor::new(true), "N");
        assert_eq!(
            ids_after(&page, "<h2>Sign-in flow "),
            (1..=flows).collect::<Vec<_>>()
        );
        assert_eq!(
            ids_after(&page, "<tr id=\"req-"),
            (0..n).collect::<Vec<_>>()
        );
        let opened = ids_after(&page, "data-detail=\"");
        assert_eq!(opened.len(), n, "every step has its detail once");
        let in_flows: Vec<usize> = (0..n).filter(|i| i % 3 != 0).collect();
        let outside: Vec<usize> = (0..n).step_by(3).collect();
        assert_eq!(opened, [in_flows, outside].concat());
        assert_eq!(ids_after(&page, "id=\"detail-"), opened);
    }

    #[test]
    fn ticks_fall_on_round_values() {
        // 96.6 s: every 20 s; 6 ms: every 1 ms; 71 s: every 20 s.
        assert_eq!(tick_step(96_600_000.0), 20_000_000.0);
        assert_eq!(tick_step(6_000.0), 1_000.0);
        assert_eq!(tick_step(71_000_000.0), 20_000_000.0);
        for span in [1_000.0, 37_000.0, 999_999.0, 3_600_000_000.0] {
            let n = span / tick_step(span);
            assert!((2.0..=6.0).contains(&n), "{span}: {n} ticks");
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#""><img src=x onerror='a'>&"#),
            "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
        );
        let v = serde_json::json!({"label": "</script><script>alert(1)</script>&\u{2028}"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
