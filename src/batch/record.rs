//! One trace, analysed alone: read it (file, zip member, tar member), judge it as
//! `aadtrace analyze` would, and turn the session into the outputs asked for right
//! away, so only small owned results wait to be written.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use super::member::{self, Member};
use super::meta::Meta;
use super::plan::{ArchiveKind, Plan, Trace, TraceSource, ZipOf};
use super::schedule::Loaded;
use super::{Config, ErrorKind, OutputFormat, TraceError};
use crate::capture::{self, Format, InputSummary, NoProgress, Source};
use crate::findings::Severity;
use crate::http::Exchange;
use crate::identity;
use crate::report::snake_name as snake;
use crate::session::{self, InputReport, Session};

/// The result for one trace.
pub struct Record {
    pub path: String,
    pub size: u64,
    pub elapsed_ms: f64,
    pub keylogs: Vec<String>,
    pub format: Option<&'static str>,
    pub error: Option<TraceError>,
    /// The NDJSON line, without its newline (`--format ndjson`).
    pub line: Option<String>,
    /// The Parquet rows (`--format parquet`).
    #[cfg(feature = "parquet")]
    pub rows: Option<super::parquet::Rows>,
    pub stats: Stats,
}

/// What the closing summary needs from a trace.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub exchanges: usize,
    pub flows: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub incomplete: usize,
    pub findings: [usize; 3],
    pub worst: Option<Severity>,
    /// One per warning or error finding with an AADSTS code: the code and the tenant.
    pub codes: Vec<(u32, Option<String>)>,
    /// One per `info` finding with an AADSTS code (expected interrupts).
    pub info_codes: Vec<u32>,
    /// One per MFA attempt: the result and how long it waited.
    pub mfa: Vec<(String, f64)>,
}

impl Record {
    /// Memory the record holds while it waits to be written (approximate).
    pub fn held_bytes(&self) -> u64 {
        let mut n = 256 + self.path.len() + self.keylogs.iter().map(String::len).sum::<usize>();
        n += self.line.as_ref().map_or(0, String::len);
        #[cfg(feature = "parquet")]
        {
            n += self
                .rows
                .as_ref()
                .map_or(0, super::parquet::Rows::held_bytes);
        }
        n +=
            (self.stats.codes.len() + self.stats.info_codes.len()) * 48 + self.stats.mfa.len() * 32;
        n as u64
    }
}

thread_local! {
    /// The message and place of the last panic on this thread (set by the hook
    /// [`quiet_panics`] installs), read back by `catch_unwind`'s caller.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Analyses trace `index` of `plan`; never panics.
pub fn analyse(plan: &Plan, index: usize, loaded: Loaded, config: &Config) -> Record {
    let trace = &plan.traces[index];
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        read_and_judge(plan, trace, loaded, config)
    }))
    .unwrap_or_else(|payload| Err(panic_error(&trace.path, payload)));
    let elapsed_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let keylogs: Vec<String> = trace
        .keylogs
        .iter()
        .map(|&id| plan.keys.shown(id).to_string())
        .collect();
    let meta = Meta {
        path: &trace.path,
        size: trace.size,
        elapsed_ms,
        keylogs: &keylogs,
    };
    let built = catch_unwind(AssertUnwindSafe(|| build(&meta, result.as_ref(), config)));
    built.unwrap_or_else(|payload| {
        let error = panic_error(&trace.path, payload);
        build(&meta, Err(&error), config)
    })
}

fn panic_error(path: &str, payload: Box<dyn std::any::Any + Send>) -> TraceError {
    let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
    let message = recorded.unwrap_or_else(|| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string())
    });
    TraceError::new(
        ErrorKind::Panic,
        format!("{path}: aadtrace failed on this trace (a bug; please report it): {message}"),
    )
}

/// Keeps panics on batch workers off the terminal (they become `panic` results)
/// while the returned guard lives; other threads keep the previous hook.
type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

pub fn quiet_panics() -> PanicHookGuard {
    let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
    let fallback = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        let worker = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("aadtrace-batch-"));
        if worker {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            fallback(info);
        }
    }));
    PanicHookGuard { previous }
}

pub struct PanicHookGuard {
    previous: Arc<Hook>,
}

impl Drop for PanicHookGuard {
    fn drop(&mut self) {
        let previous = Arc::clone(&self.previous);
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

fn read_and_judge(
    plan: &Plan,
    trace: &Trace,
    loaded: Loaded,
    config: &Config,
) -> Result<Session, TraceError> {
    let name = trace.path.as_str();
    if let TraceSource::Unreadable(e) = &trace.source {
        return Err(e.clone());
    }
    let (keys, key_warnings) = plan.keys.for_trace(&trace.keylogs);
    let mut steps = Vec::new();
    let mut sink = |ex: Exchange<'_>| steps.push(identity::observe(steps.len(), &ex));
    let from_bytes = |bytes: &[u8], sink: &mut dyn FnMut(Exchange<'_>)| {
        capture::read_bytes(bytes, &capture::ReadCtx::new(name).keys(keys.clone()), sink)
            .map_err(|e| TraceError::from_capture(&e))
    };
    let (format, mut summary) = match (&trace.source, loaded) {
        (TraceSource::Unreadable(e), _) => return Err(e.clone()),
        (_, Loaded::Bytes(bytes)) => from_bytes(&bytes?, &mut sink)?,
        (TraceSource::File(path), Loaded::Lazy) => {
            let source = Source::File(path.clone());
            capture::read_source_keyed(&source, 0, keys.clone(), &NoProgress, &mut sink)
                .map_err(|e| TraceError::from_capture(&e))?
        }
        (TraceSource::Zip { archive, index }, Loaded::Lazy) => {
            let ArchiveKind::Zip(zip) = &plan.archives[*archive].kind else {
                unreachable!("zip member of a zip archive")
            };
            zip_member(zip, *index, trace, config.members, &from_bytes, &mut sink)?
        }
        (TraceSource::TarSlice { archive, offset }, Loaded::Lazy) => {
            let ArchiveKind::Tar(map) = &plan.archives[*archive].kind else {
                unreachable!("tar member of a tar archive")
            };
            let bytes = map.as_ref();
            let start = usize::try_from(*offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = start
                .saturating_add(usize::try_from(trace.size).unwrap_or(usize::MAX))
                .min(bytes.len());
            from_bytes(&bytes[start..end], &mut sink)?
        }
        (TraceSource::TarStream { .. }, Loaded::Lazy) => {
            unreachable!("compressed tar members come with their bytes")
        }
    };
    // As the capture layer does for bad key-log lines: only packet captures use keys.
    if capture::uses_keys(format) {
        summary.warnings.splice(0..0, key_warnings);
    }
    let keylogs = if capture::uses_keys(format) {
        trace
            .keylogs
            .iter()
            .map(|&id| plan.keys.shown(id).to_string())
            .collect()
    } else {
        Vec::new()
    };
    let inputs = vec![InputReport {
        path: name.to_string(),
        format,
        summary,
        keylogs,
    }];
    Ok(session::judge(inputs, steps, &config.session))
}

/// Reads one trace held in memory, sending each exchange to the sink.
type FromBytes<'k> =
    dyn Fn(&[u8], &mut dyn FnMut(Exchange<'_>)) -> Result<(Format, InputSummary), TraceError> + 'k;

/// Zip member `index`: read whole when it fits in `limit`, else streamed when it
/// is a HAR, else refused ([`member`]).
fn zip_member(
    zip: &ZipOf,
    index: usize,
    trace: &Trace,
    limit: u64,
    from_bytes: &FromBytes<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), TraceError> {
    let name = trace.path.as_str();
    let archive_error = |e: &dyn std::fmt::Display| {
        TraceError::archive(format!("{name}: cannot read the member: {e}"))
    };
    let mut zip = zip.clone();
    let member = zip.by_index(index).map_err(|e| archive_error(&e))?;
    let compressed = member.compressed_size();
    let opened =
        member::open(member, trace.size, compressed, limit).map_err(|e| archive_error(&e))?;
    // Bound to a name: the stream borrows `zip`, and must end before it does.
    let read = match opened {
        Member::Whole(data) => from_bytes(&data, sink),
        Member::Stream(stream) if member::streams_within_budget(&stream) => {
            capture::read_reader(Box::new(stream), &capture::ReadCtx::new(name), sink)
                .map_err(|e| TraceError::from_capture(&e))
        }
        Member::Stream(_) => {
            let why = member::refused(trace.size, limit);
            Err(TraceError::archive(format!("{name}: {why}")))
        }
    };
    read
}

/// The record of one trace. An error leaves here redacted: every output of it
/// (NDJSON, Parquet, the closing summary) shows this one.
fn build(meta: &Meta<'_>, result: Result<&Session, &TraceError>, config: &Config) -> Record {
    let error = result.err().map(|e| e.redacted(&config.redactor));
    let result = match &error {
        Some(e) => Err(e),
        None => result,
    };
    let (format, stats) = match result {
        Ok(session) => (
            session.inputs.first().map(|i| i.format.name()),
            stats(session),
        ),
        Err(_) => (None, Stats::default()),
    };
    let line = (config.format == OutputFormat::Ndjson)
        .then(|| super::ndjson::line(meta, result, &config.redactor));
    #[cfg(feature = "parquet")]
    let rows = (config.format == OutputFormat::Parquet)
        .then(|| super::parquet::Rows::new(meta, result, &config.redactor));
    Record {
        path: meta.path.to_string(),
        size: meta.size,
        elapsed_ms: meta.elapsed_ms,
        keylogs: meta.keylogs.to_vec(),
        format,
        error,
        line,
        #[cfg(feature = "parquet")]
        rows,
        stats,
    }
}

fn stats(session: &Session) -> Stats {
    let summary = crate::report::json::summary(session);
    let flows = &session.analysis.flows;
    let flow_tenant =
        |f: Option<usize>| f.and_then(|f| flows.get(f)).and_then(|f| f.tenant.clone());
    Stats {
        exchanges: session.analysis.steps.len(),
        flows: summary.flows,
        succeeded: summary.succeeded,
        failed: summary.failed,
        incomplete: summary.incomplete,
        findings: [summary.infos, summary.warnings, summary.errors],
        worst: crate::findings::worst(&session.findings),
        info_codes: session
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .filter_map(|f| f.code)
            .collect(),
        codes: session
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .filter_map(|f| {
                f.code
                    .map(|c| (c, f.tenant.clone().or_else(|| flow_tenant(f.flow))))
            })
            .collect(),
        mfa: flows
            .iter()
            .flat_map(|f| f.mfa.iter())
            .map(|a| (snake(&a.result), a.waited_ms))
            .collect(),
    }
}
