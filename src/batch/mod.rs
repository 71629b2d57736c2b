//! Batch analysis: many traces, each analysed on its own, in parallel, with one
//! result per trace (`aadtrace batch`).
//!
//! This is orchestration like [`crate::session`], one level up:
//!
//! 1. [`plan`] expands the arguments (files, directories walked with `--glob`, zip
//!    and tar archives, a manifest) into traces sorted by path, drops duplicates,
//!    keeps this worker's `--shard`, and notes the key logs found beside each trace.
//!    A compressed tar is decompressed once, into memory when it fits (see Memory).
//! 2. `schedule` runs them on a rayon pool of `--jobs` threads, largest first,
//!    admitting work against a memory budget (`--max-memory`).
//! 3. Each trace is read and judged exactly as `aadtrace analyze` would judge it
//!    alone, inside `catch_unwind`: a trace that cannot be read, or that trips a bug,
//!    becomes an `error` result and the batch goes on. Packet captures are
//!    decrypted with their key logs ([`keys`]), as `aadtrace analyze --keylog` would.
//! 4. Results are written in path order, whatever order they finish in, so the
//!    output does not depend on `--jobs` (only `elapsed_ms` does).
//! 5. [`summary`] prints the closing summary.
//!
//! # NDJSON (`--format ndjson`, the default)
//!
//! One line per trace, in path order. A line is the `aadtrace/1` contract document
//! (`schema`, `tool`, `inputs`, `exchanges`, `connections`, `flows`, `findings`,
//! `summary`) preceded by four batch fields:
//!
//! | field | meaning |
//! |---|---|
//! | `path` | the trace: its file path as walked, or `ARCHIVE!/MEMBER` |
//! | `size` | bytes (the uncompressed size of an archive member) |
//! | `elapsed_ms` | reading and judging time; the one field that changes between runs |
//! | `keylogs` | key logs found beside the trace (`NAME.keys`, `NAME.keylog`, `sslkeys.log`, also inside an archive) and the `--keylog` files; packet captures are decrypted with all of them, and one that cannot be read is a `keylog_unreadable` input warning |
//!
//! A trace that could not be read has, instead of the analysis, `schema`, `tool` and
//! `error: {"kind", "message"}`. Kinds: `io`, `unknown_format`, `unsupported`,
//! `malformed`, `archive`, `panic`.
//!
//! # Beyond one machine
//!
//! `--shard K/N` keeps the traces whose path hashes (FNV-1a, 64 bits, stable across
//! machines and releases) to `K` modulo `N`. N workers given the same arguments split
//! the inputs with no coordination, each writing its own output:
//!
//! ```sh
//! # Kubernetes indexed Job (JOB_COMPLETION_INDEX = 0 … N-1), Slurm array (0-based), …
//! aadtrace batch --shard "$JOB_COMPLETION_INDEX/$N" /archive \
//!     --format parquet -o "/results/shard-$JOB_COMPLETION_INDEX"
//! duckdb -c "SELECT code, count(*) FROM '/results/*/findings.parquet' GROUP BY code ORDER BY 2 DESC"
//! ```
//!
//! Or hand out explicit lists: `aadtrace batch --list /archive` prints one trace per
//! line (archive members as `ARCHIVE!/MEMBER`), and `--manifest -` reads such a list
//! back. `scripts/spark_batch.py` does that with Spark: the driver lists, each
//! partition pipes its share into `aadtrace batch --manifest - --format parquet`, and
//! Spark SQL reads the tables back.
//!
//! # Memory
//!
//! A compressed tar (`.tar.gz`) is decompressed once, while planning, and held in
//! memory for the run when it fits in half the budget (together with the ones held
//! before it); its members are then read in place, in parallel. A larger one is
//! streamed instead: listed while planning, decompressed again when its members
//! run, read one member at a time. What is held is taken off the budget first.
//!
//! A trace being analysed is counted as 1.2× its size (a HAR is memory-mapped and
//! its steps are small; an archive member is read into memory). An archive member
//! is read whole only up to the budget (at least 256 MiB); a larger one is streamed
//! when it is a HAR and refused otherwise (`member`). A finished result
//! waiting for an earlier one to be written counts as its own size. Work starts only
//! while the total stays under the budget; a trace larger than the budget runs when
//! nothing else does. So the peak is about the budget, or the largest trace plus the
//! results queued behind it.

mod archive;
pub mod glob;
pub mod keys;
mod member;
mod meta;
mod ndjson;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod plan;
mod progress;
mod record;
mod schedule;
mod sink;
pub mod summary;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::capture::CaptureError;
use crate::session::SessionOptions;

pub use plan::{Plan, Shard};
pub use record::Record;
pub use summary::Summary;

/// Why a trace has no analysis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceError {
    pub kind: ErrorKind,
    pub message: String,
}

/// The closed set of error kinds; the serde names are the JSON contract (NDJSON
/// `error.kind`, Parquet `error_kind`, the summary's `[kind]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Io,
    UnknownFormat,
    Unsupported,
    Malformed,
    Archive,
    Panic,
}

impl ErrorKind {
    /// The contract name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::UnknownFormat => "unknown_format",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Archive => "archive",
            ErrorKind::Panic => "panic",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TraceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TraceError {
            kind,
            message: message.into(),
        }
    }

    /// An error reading an archive or one of its members.
    pub fn archive(message: impl Into<String>) -> Self {
        TraceError::new(ErrorKind::Archive, message)
    }

    pub fn io(path: &str, e: &std::io::Error) -> Self {
        TraceError::new(ErrorKind::Io, format!("{path}: cannot read: {e}"))
    }

    /// The error as outputs show it: the message can quote a path or part of the
    /// trace (`x?code=…`, a reader's detail), so it passes the one secret policy
    /// like every other string from a trace.
    pub fn redacted(&self, redactor: &crate::report::shown::Redactor) -> Self {
        TraceError::new(self.kind, redactor.text(&self.message))
    }

    pub fn from_capture(e: &CaptureError) -> Self {
        let kind = match e {
            CaptureError::Io { .. } => ErrorKind::Io,
            CaptureError::UnknownFormat { .. } => ErrorKind::UnknownFormat,
            CaptureError::Unsupported { .. } => ErrorKind::Unsupported,
            CaptureError::Malformed { .. } => ErrorKind::Malformed,
        };
        TraceError::new(kind, e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Ndjson,
    Parquet,
}

/// A batch run as the command line asks for it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Files, directories and archives.
    pub inputs: Vec<String>,
    /// A file with one path per line (`-` for standard input).
    pub manifest: Option<String>,
    pub globs: Vec<String>,
    pub keylogs: Vec<PathBuf>,
    /// Threads; `None` for every core.
    pub jobs: Option<usize>,
    /// Bytes; `None` for half the machine's memory.
    pub max_memory: Option<u64>,
    pub shard: Option<Shard>,
    pub format: OutputFormat,
    /// NDJSON: a file (default standard output). Parquet: a directory (required).
    pub output: Option<PathBuf>,
    /// No progress bar and no summary.
    pub quiet: bool,
    /// Print the planned trace paths and stop.
    pub list: bool,
    pub session: SessionOptions,
    pub redact: bool,
}

/// Settings every worker reads.
pub(crate) struct Config {
    pub session: SessionOptions,
    pub redactor: crate::report::shown::Redactor,
    pub format: OutputFormat,
    /// The largest archive member read whole ([`member::whole_limit`]).
    pub members: u64,
}

/// Runs a batch: plans, analyses, writes results and prints the summary. `Err` is
/// a failure of the tool itself (unreadable manifest, unwritable output); a trace
/// that cannot be read is a result, not an error.
pub fn command(request: &Request) -> Result<Summary, String> {
    let started = Instant::now();
    // A path given on the command line that does not exist is a mistake to
    // stop at; a missing file named by a manifest is one error result among many.
    if let Some(missing) = request.inputs.iter().find(|i| !Path::new(i).exists()) {
        return Err(format!(
            "{}: no such file or folder",
            crate::report::shown::terminal_safe(missing)
        ));
    }
    let mut inputs = request.inputs.clone();
    if let Some(manifest) = &request.manifest {
        inputs.extend(read_manifest(manifest)?);
    }
    if inputs.is_empty() {
        return Err("nothing to analyse: give files, directories or --manifest".to_string());
    }
    let budget = request.max_memory.unwrap_or_else(default_memory_budget);
    let jobs = request
        .jobs
        .filter(|&j| j > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Each trace in flight gets its share for what can outgrow its input.
    crate::limits::set_run_budget(budget, jobs);
    let plan = plan::plan(
        &inputs,
        &plan::PlanOptions {
            globs: &request.globs,
            keylogs: &request.keylogs,
            shard: request.shard,
            // Listing needs no compressed tar in memory: each is only walked.
            memory: if request.list { 0 } else { budget },
        },
    );
    if plan.traces.is_empty() && !request.quiet {
        eprintln!(
            "aadtrace batch: no traces found (looked for {}; --glob changes what is taken)",
            if request.globs.is_empty() {
                "*.har, *.har.gz, *.saz, *.pcap, *.pcapng, *.cap, *.json and archives".to_string()
            } else {
                request.globs.join(", ")
            }
        );
    }
    if request.list {
        list(&plan);
        return Ok(Summary::default());
    }
    let (mut summary, reader_gone) = run(request, &plan, budget, jobs)?;
    if reader_gone {
        return Ok(summary);
    }
    summary.elapsed = started.elapsed();
    summary.jobs = jobs;
    if !request.quiet {
        let text = summary.render();
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
    Ok(summary)
}

/// `--list`: the traces the plan found, one a line.
fn list(plan: &Plan) {
    let mut out = std::io::stdout().lock();
    // Member names come from archives: control characters must not reach
    // a terminal (a name with a line break could not be listed anyway).
    for t in &plan.traces {
        let path = crate::report::shown::terminal_safe(&t.path);
        if writeln!(out, "{path}").is_err() {
            break;
        }
    }
}

/// Analyses every trace of the plan and writes the results; `true` beside the
/// summary when the reader of the output went away (stop quietly, no summary).
fn run(
    request: &Request,
    plan: &Plan,
    budget: u64,
    jobs: usize,
) -> Result<(Summary, bool), String> {
    // Decompressed archives stay in memory all run: the traces get the rest.
    let traces_budget = budget.saturating_sub(plan.held);
    let config = Config {
        session: request.session,
        redactor: crate::report::shown::Redactor::new(request.redact),
        format: request.format,
        members: member::whole_limit(traces_budget),
    };
    let mut sink = sink::open_sink(request)?;
    let interactive = !request.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = progress::Bar::new(plan, interactive);
    let mut summary = Summary::new(plan);
    let mut write_error = None;
    let mut reader_gone = false;
    let _quiet = record::quiet_panics();
    let result = schedule::execute(
        plan,
        jobs,
        traces_budget,
        &|index, loaded| record::analyse(plan, index, loaded, &config),
        &mut |r: &Record| bar.done(r),
        &mut |r: Record| {
            if reader_gone || write_error.is_some() {
                return false;
            }
            summary.add(&r);
            match sink.write(r) {
                Ok(true) => true,
                Ok(false) => {
                    reader_gone = true;
                    false
                }
                Err(e) => {
                    write_error = Some(e);
                    false
                }
            }
        },
    );
    drop(_quiet);
    bar.finish();
    result.map_err(|e| format!("cannot run the batch: {e}"))?;
    if let Some(e) = write_error {
        return Err(e);
    }
    if !reader_gone {
        sink.finish()?;
    }
    Ok((summary, reader_gone))
}

/// Reads the manifest whole, up to [`crate::limits::TEXT_FILE`] bytes (an endless
/// standard input stops there with an error), a FIFO without blocking.
fn read_manifest(manifest: &str) -> Result<Vec<String>, String> {
    use crate::capture::special;
    let cap = crate::limits::TEXT_FILE;
    let bytes = if manifest == "-" {
        special::read_capped(std::io::stdin().lock(), cap, "the manifest")
    } else {
        special::read_file_capped(Path::new(manifest), cap, "the manifest")
    }
    .map_err(|e| format!("{manifest}: cannot read the manifest: {e}"))?;
    let mut paths = Vec::new();
    for line in String::from_utf8_lossy(&bytes).lines() {
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        paths.push(line.to_string());
    }
    Ok(paths)
}

/// Half the machine's memory (`/proc/meminfo`), or 4 GiB when unknown.
fn default_memory_budget() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        });
    total_kib.map_or(4 << 30, |kib| kib * 1024 / 2)
}

/// Parses a byte size: `512M`, `4G`, `1.5GiB`, `1000000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (for example 512M or 4G)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "`{other}` in `{text}` is not a size unit (K, M, G, T)"
            ))
        }
    };
    let bytes = value * scale as f64;
    if bytes.is_nan() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is not a usable size"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn error_kinds_keep_their_contract_names() {
        let kinds = [
            (ErrorKind::Io, "io"),
            (ErrorKind::UnknownFormat, "unknown_format"),
            (ErrorKind::Unsupported, "unsupported"),
            (ErrorKind::Malformed, "malformed"),
            (ErrorKind::Archive, "archive"),
            (ErrorKind::Panic, "panic"),
        ];
        for (kind, name) in kinds {
            let json = serde_json::to_value(TraceError::new(kind, "m")).unwrap();
            assert_eq!(json["kind"], name);
            assert_eq!(kind.to_string(), name);
        }
    }
}
