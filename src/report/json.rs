//! The JSON report: the `aadtrace/1` contract, documented for users in `docs/json.md`
//! (a test checks that it names every field written here).
//! Field names and meanings never change; new fields may be added. Every string
//! that came from the trace goes through the [`Redactor`] (ids too: an id field
//! can carry more than an id, as `client_id=X;code=…` does).

use std::io::{self, Write};

use serde::Serialize;

use super::shown::Redactor;
use super::time::rfc3339;
use crate::findings::Finding;
use crate::identity::{Flow, MfaAttempt, Step};
use crate::session::{InputReport, Session};

pub const SCHEMA: &str = "aadtrace/1";

#[derive(Serialize)]
pub struct Document<'s> {
    pub schema: &'static str,
    pub tool: Tool,
    /// How the trace ended, in one line (see [`super::verdict`]).
    pub verdict: VerdictOut,
    pub inputs: Vec<Input<'s>>,
    pub exchanges: Vec<Exchange<'s>>,
    pub connections: Vec<Connection<'s>>,
    pub flows: Vec<FlowOut<'s>>,
    /// Exchange ids of background traffic (discovery, metadata, the hidden MSA
    /// frame) that served no sign-in flow of this trace.
    pub background: &'s [usize],
    pub findings: Vec<FindingOut<'s>>,
    pub summary: Summary,
}

/// One TCP connection of a packet capture (contract `connections[]`).
#[derive(Serialize)]
pub struct Connection<'s> {
    pub id: usize,
    pub input: usize,
    pub client: &'s str,
    pub server: &'s str,
    pub started: String,
    pub ended: String,
    pub sni: Option<&'s str>,
    pub alpn: Option<&'s str>,
    pub tls_version: Option<&'s str>,
    pub cipher: Option<&'s str>,
    pub decrypted: bool,
    pub bytes: Bytes,
    pub gaps: u64,
    pub reset: bool,
    pub tls_alerts: &'s [String],
    /// Ids of the exchanges carried on this connection.
    pub exchanges: Vec<usize>,
}

#[derive(Serialize)]
pub struct VerdictOut {
    pub ending: super::verdict::Ending,
    pub line: String,
    /// The flow it is about.
    pub flow: Option<usize>,
    /// The finding that decided it (a failed flow's last error).
    pub finding: Option<usize>,
}

#[derive(Serialize)]
pub struct SignInLog {
    /// KQL for the `SigninLogs` and `AADNonInteractiveUserSignInLogs` tables.
    pub kql: String,
    /// The Microsoft Graph `GET /auditLogs/signIns` URL.
    pub graph: String,
}

#[derive(Serialize)]
pub struct Bytes {
    pub client: u64,
    pub server: u64,
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct Input<'s> {
    pub path: &'s str,
    pub format: &'static str,
    pub producer: Option<Text<'s>>,
    pub exchanges: usize,
    /// Key logs a packet capture was read with.
    pub keylogs: &'s [String],
    pub warnings: Vec<Warning<'s>>,
}

/// A reader warning, its message redacted (it may quote the trace).
#[derive(Serialize)]
pub struct Warning<'s> {
    pub code: &'s str,
    pub message: Text<'s>,
}

/// A string from the trace after [`Redactor::text`].
pub type Text<'s> = std::borrow::Cow<'s, str>;

#[derive(Serialize)]
pub struct Exchange<'s> {
    pub id: usize,
    pub input: usize,
    /// Position inside the input (HAR entry index, frame number).
    pub index: u64,
    pub started: String,
    pub duration_ms: Option<f64>,
    pub wait_ms: Option<f64>,
    pub method: &'s str,
    pub url: String,
    pub host: Text<'s>,
    pub http_version: &'s str,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub endpoint: Option<&'static str>,
    pub page: Option<Text<'s>>,
    pub ests_server: Option<Text<'s>>,
    pub region: Option<Text<'s>>,
    pub client_request_id: Option<Text<'s>>,
    pub request_id: Option<Text<'s>>,
    pub correlation_id: Option<Text<'s>>,
    pub aadsts: &'s [u32],
    pub flow: Option<usize>,
    /// JWTs issued or presented, decoded without verification: non-secret claims only.
    pub tokens: Vec<TokenOut<'s>>,
}

#[derive(Serialize)]
pub struct TokenOut<'s> {
    pub kind: &'s str,
    pub issued_at: Option<String>,
    pub not_before: Option<String>,
    pub expires: Option<String>,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct Mfa<'s> {
    pub method: Option<Text<'s>>,
    pub exchanges: &'s [usize],
    pub polls: usize,
    pub waited_ms: f64,
    pub window_ms: Option<i64>,
    pub judged_window_ms: i64,
    pub result: crate::identity::MfaResult,
    pub last_result_value: Option<Text<'s>>,
    pub started: String,
}

#[derive(Serialize)]
pub struct FlowOut<'s> {
    pub id: usize,
    pub kind: crate::identity::FlowKind,
    pub exchanges: &'s [usize],
    pub started: String,
    pub ended: String,
    pub correlation_ids: Vec<Text<'s>>,
    pub tenant: Option<Text<'s>>,
    pub client_id: Option<Text<'s>>,
    pub user: Option<String>,
    pub outcome: crate::identity::Outcome,
    /// The flow's verdict line.
    pub verdict: String,
    pub mfa: Vec<Mfa<'s>>,
    pub regions: Vec<Text<'s>>,
}

#[derive(Serialize)]
pub struct FindingOut<'s> {
    pub id: usize,
    pub kind: crate::findings::FindingKind,
    pub severity: crate::findings::Severity,
    pub code: Option<u32>,
    pub flow: Option<usize>,
    pub exchanges: &'s [usize],
    pub input: Option<usize>,
    pub time: Option<String>,
    pub correlation_id: Option<Text<'s>>,
    pub request_id: Option<Text<'s>>,
    pub tenant: Option<Text<'s>>,
    pub client_id: Option<Text<'s>>,
    pub user: Option<String>,
    pub ests_server: Option<Text<'s>>,
    pub client_ip: Option<Text<'s>>,
    /// The service's own error code when it is not an AADSTS number.
    pub service_code: Option<Text<'s>>,
    /// For errors with a correlation id: queries for the server's sign-in log.
    pub sign_in_log: Option<SignInLog>,
    pub title: String,
    pub explanation: String,
    pub next_steps: Vec<Text<'s>>,
}

#[derive(Serialize, Default)]
pub struct Summary {
    pub flows: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub incomplete: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// Builds the contract document for a session.
///
/// Exchanges, flows and findings are built on every core (each from its own
/// step, flow or finding; `collect` keeps their order): masking the URLs of
/// an identity-dense HAR's exchanges was most of the JSON report's time
/// (issue #15).
pub fn document<'s>(session: &'s Session, redactor: &Redactor) -> Document<'s> {
    use rayon::prelude::*;
    let by_flow = super::findings_by_flow(&session.findings);
    Document {
        schema: SCHEMA,
        tool: tool(),
        verdict: verdict(session, redactor),
        inputs: session.inputs.iter().map(|i| input(i, redactor)).collect(),
        exchanges: session
            .analysis
            .steps
            .par_iter()
            .map(|s| exchange_of(session, s, redactor))
            .collect(),
        connections: connections(session),
        flows: session
            .analysis
            .flows
            .par_iter()
            .map(|f| flow_of(session, &by_flow, f, redactor))
            .collect(),
        background: &session.analysis.background,
        findings: session
            .findings
            .par_iter()
            .map(|f| finding(f, redactor))
            .collect(),
        summary: summary(session),
    }
}

fn tool() -> Tool {
    Tool {
        name: "aadtrace",
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn exchange_of<'s>(session: &'s Session, s: &'s Step, r: &Redactor) -> Exchange<'s> {
    exchange(s, session.analysis.flow_of_step[s.id], r)
}

fn flow_of<'s>(
    session: &'s Session,
    by_flow: &super::FindingsByFlow<'s>,
    f: &'s Flow,
    r: &Redactor,
) -> FlowOut<'s> {
    flow(session, f, by_flow.of(Some(f.id)), r)
}

/// The document as pretty JSON text, ending with a newline.
pub fn render(session: &Session, redactor: &Redactor) -> String {
    super::collected(|out| write(session, redactor, out)).expect("a report serialises into memory")
}

/// The document as pretty JSON text, ending with a newline, streamed to `out`
/// through a buffer: the text of a large trace's report is never held whole
/// (issue #15). The same bytes as [`render`], and as serde_json's pretty
/// printer gives for [`document`] (two spaces a level; a test compares them):
/// the members are those of [`Document`], in its order, but its long lists
/// (exchanges, flows, findings…) are never built whole. Their elements are
/// made, serialised and indented a batch at a time on every core, and written
/// in order: serialising them one after another on one core was a third of
/// the JSON report of an identity-dense trace, and building, then dropping,
/// a document of 17,000 exchanges another tenth (issue #15).
pub fn write(session: &Session, redactor: &Redactor, out: &mut dyn Write) -> io::Result<()> {
    let out = &mut io::BufWriter::with_capacity(64 << 10, out);
    let analysis = &session.analysis;
    let by_flow = super::findings_by_flow(&session.findings);
    out.write_all(b"{")?;
    member(out, "schema", &SCHEMA, true)?;
    member(out, "tool", &tool(), false)?;
    member(out, "verdict", &verdict(session, redactor), false)?;
    list(out, "inputs", &session.inputs, |i| input(i, redactor))?;
    list(out, "exchanges", &analysis.steps, |s| {
        exchange_of(session, s, redactor)
    })?;
    list(out, "connections", &connections(session), |c| c)?;
    list(out, "flows", &analysis.flows, |f| {
        flow_of(session, &by_flow, f, redactor)
    })?;
    member(out, "background", &analysis.background, false)?;
    list(out, "findings", &session.findings, |f| finding(f, redactor))?;
    member(out, "summary", &summary(session), false)?;
    out.write_all(b"\n}\n")?;
    out.flush()
}

/// `"name": ` on a new line of the top object.
fn member_name(out: &mut impl Write, name: &str, first: bool) -> io::Result<()> {
    out.write_all(if first { b"\n  \"" } else { b",\n  \"" })?;
    out.write_all(name.as_bytes())?;
    out.write_all(b"\": ")
}

/// A member of the top object, its value pretty-printed a level deep.
fn member<T: Serialize>(
    out: &mut impl Write,
    name: &str,
    value: &T,
    first: bool,
) -> io::Result<()> {
    member_name(out, name, first)?;
    pretty(out, value, b"  ")
}

/// Elements made and rendered at a time: enough to keep every core busy, few
/// enough that the text in memory stays small.
const ELEMENTS_PER_BATCH: usize = 1024;

/// A list member of the top object: `[]`, or one element a line, two levels
/// deep, each element made from an item by `make` on a worker and written
/// there ([`super::write_in_batches`]).
fn list<'s, S: Sync, T: Serialize>(
    out: &mut impl Write,
    name: &str,
    items: &'s [S],
    make: impl Fn(&'s S) -> T + Sync,
) -> io::Result<()> {
    member_name(out, name, false)?;
    if items.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    super::write_in_batches(
        out,
        items,
        ELEMENTS_PER_BATCH,
        |first, run, (), buffer: &mut Vec<u8>| {
            for (i, item) in run.iter().enumerate() {
                let sep: &[u8] = if first + i == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                };
                buffer.extend_from_slice(sep);
                pretty(buffer, &make(item), b"    ")?;
            }
            Ok(())
        },
    )?;
    out.write_all(b"\n  ]")
}

/// Writes `value` as serde_json's pretty printer does, every line after its
/// first starting with `base` (how deep the value sits in the document).
fn pretty<T: Serialize>(out: &mut impl Write, value: &T, base: &[u8]) -> io::Result<()> {
    let layout = Pretty {
        base,
        depth: 0,
        has_value: false,
    };
    value.serialize(&mut serde_json::Serializer::with_formatter(out, layout))?;
    Ok(())
}

/// serde_json's pretty layout (a line per array element and object member,
/// two spaces a level), shifted right by `base`, so a nested value is written
/// in place instead of rendered, then re-indented line by line.
struct Pretty<'b> {
    base: &'b [u8],
    depth: usize,
    /// The array or object being written has an element already.
    has_value: bool,
}

impl Pretty<'_> {
    fn new_line<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        w.write_all(self.base)?;
        (0..self.depth).try_for_each(|_| w.write_all(b"  "))
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(w)?;
        }
        w.write_all(bracket)
    }

    fn element<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.new_line(w)
    }
}

impl serde_json::ser::Formatter for Pretty<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Connections of every input, numbered across inputs in order, with their
/// exchanges' ids (the capture names them by position in the input).
fn connections(session: &Session) -> Vec<Connection<'_>> {
    if session
        .inputs
        .iter()
        .all(|i| i.summary.connections.is_empty())
    {
        // A HAR has none: no need to index its exchanges.
        return Vec::new();
    }
    let by_origin: std::collections::HashMap<(usize, u64), usize> = session
        .analysis
        .steps
        .iter()
        .map(|s| ((s.input, s.origin_index), s.id))
        .collect();
    let mut out = Vec::new();
    for (input, r) in session.inputs.iter().enumerate() {
        for c in &r.summary.connections {
            out.push(Connection {
                id: out.len(),
                input,
                client: &c.client,
                server: &c.server,
                started: rfc3339(c.started_us),
                ended: rfc3339(c.ended_us),
                sni: c.sni.as_deref(),
                alpn: c.alpn.as_deref(),
                tls_version: c.tls_version.as_deref(),
                cipher: c.cipher.as_deref(),
                decrypted: c.decrypted,
                bytes: Bytes {
                    client: c.bytes_client,
                    server: c.bytes_server,
                },
                gaps: c.gaps,
                reset: c.reset,
                tls_alerts: &c.tls_alerts,
                exchanges: c
                    .exchanges
                    .iter()
                    .filter_map(|o| by_origin.get(&(input, *o)).copied())
                    .collect(),
            });
        }
    }
    out
}

fn input<'s>(i: &'s InputReport, r: &Redactor) -> Input<'s> {
    Input {
        path: &i.path,
        format: i.format.name(),
        producer: i.summary.producer.as_deref().map(|p| r.text(p)),
        exchanges: i.summary.exchanges,
        keylogs: &i.keylogs,
        warnings: i
            .summary
            .warnings
            .iter()
            .map(|w| Warning {
                code: w.code.as_str(),
                message: r.text(&w.message),
            })
            .collect(),
    }
}

fn exchange<'s>(s: &'s Step, flow: Option<usize>, r: &Redactor) -> Exchange<'s> {
    Exchange {
        id: s.id,
        input: s.input,
        index: s.origin_index,
        started: rfc3339(s.started_us),
        duration_ms: s.duration_ms.map(round3),
        wait_ms: s.wait_ms.map(round3),
        method: &s.method,
        url: r.url(&s.url).into_owned(),
        host: r.text(&s.host),
        http_version: &s.http_version,
        status: s.status,
        error: s.transport_error.as_deref().map(|e| r.text(e).into_owned()),
        endpoint: s.endpoint,
        page: opt(r, &s.page),
        ests_server: opt(r, &s.ests_server),
        region: opt(r, &s.region),
        client_request_id: opt(r, &s.client_request_id),
        request_id: opt(r, &s.request_id),
        correlation_id: opt(r, &s.correlation_id),
        aadsts: &s.aadsts,
        flow,
        tokens: s.tokens.iter().map(|t| token(t, r)).collect(),
    }
}

/// An optional trace string, redacted.
fn opt<'s>(r: &Redactor, value: &'s Option<String>) -> Option<Text<'s>> {
    value.as_deref().map(|v| r.text(v))
}

/// Trace strings, redacted.
fn all<'s>(r: &Redactor, values: &'s [String]) -> Vec<Text<'s>> {
    values.iter().map(|v| r.text(v)).collect()
}

fn token<'s>(t: &'s crate::identity::observe::TokenFacts, r: &Redactor) -> TokenOut<'s> {
    let at = |secs: Option<i64>| secs.map(|s| rfc3339(s.saturating_mul(1_000_000)));
    TokenOut {
        kind: &t.kind,
        issued_at: at(t.iat),
        not_before: at(t.nbf),
        expires: at(t.exp),
        claims: t
            .claims
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    redacted_claim(
                        serde_json::from_str(v)
                            .unwrap_or_else(|_| serde_json::Value::String(v.clone())),
                        r,
                    ),
                )
            })
            .collect(),
    }
}

/// A claim the identity layer judged safe, its strings still redacted as text.
fn redacted_claim(value: serde_json::Value, r: &Redactor) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(r.text(&s).into_owned()),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redacted_claim(v, r)).collect())
        }
        other => other,
    }
}

fn mfa<'s>(a: &'s MfaAttempt, r: &Redactor) -> Mfa<'s> {
    Mfa {
        method: opt(r, &a.method),
        exchanges: &a.steps,
        polls: a.polls,
        waited_ms: round3(a.waited_ms),
        window_ms: a.window_ms,
        judged_window_ms: a.judged_window_ms,
        result: a.result,
        last_result_value: opt(r, &a.last_result_value),
        started: rfc3339(a.started_us),
    }
}

fn verdict(session: &Session, r: &Redactor) -> VerdictOut {
    let v = super::verdict::of_trace(session);
    VerdictOut {
        ending: v.ending,
        line: v.line(r),
        flow: v.flow.map(|f| f.id),
        finding: v.finding.map(|f| f.id),
    }
}

fn flow<'s>(
    session: &'s Session,
    f: &'s Flow,
    findings: &[&'s Finding],
    r: &Redactor,
) -> FlowOut<'s> {
    FlowOut {
        id: f.id,
        kind: f.kind,
        exchanges: &f.steps,
        started: rfc3339(f.started_us),
        ended: rfc3339(f.ended_us),
        correlation_ids: all(r, &f.correlation_ids),
        tenant: opt(r, &f.tenant),
        client_id: opt(r, &f.client_id),
        user: f.user.as_deref().map(|u| r.user(u)),
        outcome: f.outcome,
        verdict: super::verdict::of_flow_among(session, f, findings).line(r),
        mfa: f.mfa.iter().map(|a| mfa(a, r)).collect(),
        regions: all(r, &f.regions),
    }
}

/// Queries for the server's record of an error, by its correlation id.
fn sign_in_log(f: &Finding, r: &Redactor) -> Option<SignInLog> {
    let (kql, graph) = super::ticket::server_record(f, r)?;
    Some(SignInLog { kql, graph })
}

fn finding<'s>(f: &'s Finding, r: &Redactor) -> FindingOut<'s> {
    FindingOut {
        id: f.id,
        kind: f.kind,
        severity: f.severity,
        code: f.code,
        flow: f.flow,
        exchanges: &f.exchanges,
        input: f.input,
        time: f.time_us.map(rfc3339),
        correlation_id: opt(r, &f.correlation_id),
        request_id: opt(r, &f.request_id),
        tenant: opt(r, &f.tenant),
        client_id: opt(r, &f.client_id),
        user: f.user.as_deref().map(|u| r.user(u)),
        ests_server: opt(r, &f.ests_server),
        client_ip: opt(r, &f.client_ip),
        service_code: opt(r, &f.service_code),
        sign_in_log: sign_in_log(f, r),
        title: r.text(&f.title).into_owned(),
        explanation: r.text(&f.explanation).into_owned(),
        next_steps: all(r, &f.next_steps),
    }
}

/// Counts of flows by outcome and findings by severity.
pub fn summary(session: &Session) -> Summary {
    use crate::findings::Severity;
    use crate::identity::Outcome;
    let flows = &session.analysis.flows;
    let count = |o: Outcome| flows.iter().filter(|f| f.outcome == o).count();
    let sev = |s: Severity| session.findings.iter().filter(|f| f.severity == s).count();
    Summary {
        flows: flows.len(),
        succeeded: count(Outcome::Success),
        failed: count(Outcome::Failed),
        incomplete: count(Outcome::Incomplete),
        errors: sev(Severity::Error),
        warnings: sev(Severity::Warning),
        infos: sev(Severity::Info),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{NoProgress, Source};
    use crate::session::SessionOptions;

    fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    // Decoded token claims are the token's own names, not the contract's.
                    if k != "claims" {
                        keys(x, out);
                    }
                    out.insert(k.clone());
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|x| keys(x, out)),
            _ => {}
        }
    }

    /// The streamed writer prints what serde_json prints for the document, on
    /// samples with flows, MFA, tokens, connections, warnings and none at all.
    #[test]
    fn written_document_is_serde_jsons_pretty_text() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/");
        let mut samples: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.extension().is_some_and(|e| e == "keylog" || e == "md"))
            .collect();
        samples.sort();
        let mut compared = 0;
        for path in samples {
            let source = Source::File(path.clone());
            let Ok(session) =
                crate::session::run(&[source], &SessionOptions::default(), &NoProgress, &|| {})
            else {
                continue;
            };
            for redactor in [Redactor::new(true), Redactor::new(false)] {
                let expected =
                    serde_json::to_string_pretty(&document(&session, &redactor)).unwrap() + "\n";
                assert_eq!(render(&session, &redactor), expected, "{}", path.display());
            }
            compared += 1;
        }
        assert!(compared >= 7, "only {compared} samples read");
    }

    /// Lists longer than a batch are written in runs and batches (the last one
    /// short) with the bytes serde_json gives for the whole document.
    #[test]
    fn long_lists_are_serde_jsons_pretty_text_across_batches() {
        let session = super::super::test_support::separate_sign_ins(2 * ELEMENTS_PER_BATCH + 37);
        for redactor in [Redactor::new(true), Redactor::new(false)] {
            let expected =
                serde_json::to_string_pretty(&document(&session, &redactor)).unwrap() + "\n";
            assert_eq!(render(&session, &redactor), expected);
        }
    }

    /// `docs/json.md` documents every field the report writes: each field name of
    /// the documents made from the samples (flows, MFA, tokens, connections and
    /// reader warnings among them) appears there as `name`.
    #[test]
    fn docs_name_every_field() {
        let docs = include_str!("../../docs/json.md");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/");
        let mut names = std::collections::BTreeSet::new();
        for sample in [
            "clean-signin.har",
            "mfa-timeout-then-success.har",
            "mfa-abandoned-500121-tls12-h1-dsb.pcapng",
            "token-errors-devicecode.cap",
        ] {
            let source = Source::File(format!("{dir}{sample}").into());
            let session =
                crate::session::run(&[source], &SessionOptions::default(), &NoProgress, &|| {})
                    .unwrap();
            let doc = serde_json::to_value(document(&session, &Redactor::new(true))).unwrap();
            keys(&doc, &mut names);
        }
        assert!(names.contains("tls_version") && names.contains("judged_window_ms"));
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !docs.contains(&format!("`{n}`")))
            .collect();
        assert!(missing.is_empty(), "docs/json.md does not name {missing:?}");
    }
}
