//! Command line: arguments to validated settings, then the commands. `main.rs`
//! only maps the returned [`ExitCode`] to the process exit status.

pub mod args;
mod explain;
mod progress;

use std::io::{IsTerminal, Write};

use clap::Parser;

use crate::capture::Source;
use crate::findings::{FindingOptions, Severity};
use crate::identity::IdentityOptions;
use crate::report::shown::{terminal_safe, Redactor};
use crate::report::{html, json, text};
use crate::session::{self, SessionOptions};
use args::{AnalyzeArgs, Cli, Command, FailOn, RedactArgs, ReportFormat};

/// Process exit codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done; no finding at or above `--fail-on`.
    Clean = 0,
    /// Findings at or above `--fail-on` exist.
    Findings = 1,
    /// aadtrace itself failed.
    ToolFailed = 2,
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(with_default_command(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::ToolFailed
            } else {
                ExitCode::Clean
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        // Run on a worker of the thread pool, so every parallel step of the
        // analysis (the flows, the findings' two halves, each batch of the
        // report) starts on this thread at once and only wakes one more; from
        // outside the pool, each step waited for a sleeping worker to wake
        // and for this thread to be woken back (3-5 ms of 110 on an
        // identity-dense HAR, issue #15).
        Command::Analyze(a) => rayon::scope(|_| analyze(&a)),
        Command::Explain(e) => explain::run(&e),
        Command::Redact(r) => redact(&r),
        Command::Batch(b) => batch(&b),
        Command::Completions(c) => completions(c.shell),
    }
}

/// `aadtrace trace.har` is `aadtrace analyze trace.har`: a first argument that is
/// no command but names a file (or `-`) gets `analyze` in front of it.
fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let Some(first) = args.get(1) else {
        return args;
    };
    let is_command = Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == first)
        || first == "help";
    // A name with a dot or a slash is a file even when it is missing: `analyze`
    // then says so, which helps more than "unrecognized subcommand".
    let text = first.to_string_lossy();
    let names_a_file = first == "-"
        || std::path::Path::new(first).exists()
        || (!text.starts_with('-') && (text.contains('.') || text.contains('/')));
    if !is_command && names_a_file {
        args.insert(1, "analyze".into());
    }
    args
}

fn completions(shell: clap_complete::Shell) -> ExitCode {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aadtrace", &mut out);
    print(&out, ExitCode::Clean)
}

/// Writes `bytes` to standard output and answers `code`; a reader that stopped
/// early (`| head`) is no failure, any other write error is.
fn print(bytes: &[u8], code: ExitCode) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("aadtrace: cannot write to standard output: {e}");
            ExitCode::ToolFailed
        }
        _ => code,
    }
}

fn batch(args: &args::BatchArgs) -> ExitCode {
    use crate::batch::{OutputFormat, Request};
    let request = Request {
        inputs: args.inputs.clone(),
        manifest: args.manifest.clone(),
        globs: args.glob.clone(),
        keylogs: args.keylog.clone(),
        jobs: args.jobs,
        max_memory: args.max_memory,
        shard: args.shard,
        format: match args.format {
            args::BatchFormat::Ndjson => OutputFormat::Ndjson,
            args::BatchFormat::Parquet => OutputFormat::Parquet,
        },
        output: args.output.clone(),
        quiet: args.quiet,
        list: args.list,
        session: SessionOptions {
            identity: IdentityOptions {
                default_mfa_window_ms: i64::from(args.mfa_window) * 1000,
            },
            findings: FindingOptions {
                slow_ms: f64::from(args.slow_ms),
                skew_seconds: i64::from(args.skew_seconds),
                ..FindingOptions::default()
            },
            detail: false,
        },
        redact: !args.unsafe_show_secrets,
    };
    match crate::batch::command(&request) {
        Ok(summary) => worst_exit(summary.worst, args.fail_on),
        Err(e) => {
            eprintln!("aadtrace: {}", terminal_safe(&e.to_string()));
            ExitCode::ToolFailed
        }
    }
}

fn redact(args: &RedactArgs) -> ExitCode {
    if let Err(code) = refuse_input_as_output(&args.output, std::slice::from_ref(&args.file)) {
        return code;
    }
    if let Some(password) = &args.password {
        // Set before any thread starts; the SAZ reader looks it up when it needs it.
        std::env::set_var(crate::capture::SAZ_PASSWORD_ENV, password);
    }
    let source = Source::from_arg(&args.file);
    let target = crate::redact::Target::from_arg(&args.output);
    let options = crate::redact::RedactOptions {
        read: crate::capture::ReadOptions {
            keylogs: keylogs_beside(&args.keylog, std::slice::from_ref(&args.file)),
            ..Default::default()
        },
        to: args
            .to
            .map(|args::RedactTo::Har| crate::capture::Format::Har),
    };
    let receipt = match crate::redact::redact(&source, &target, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aadtrace: {}", terminal_safe(&e.to_string()));
            return ExitCode::ToolFailed;
        }
    };
    match &args.receipt {
        Some(path) => {
            if let Err(e) = std::fs::write(path, receipt.to_json()) {
                eprintln!(
                    "aadtrace: cannot write the receipt to {}: {e}",
                    path.display()
                );
                return ExitCode::ToolFailed;
            }
        }
        None => eprint!("{}", receipt.to_text()),
    }
    ExitCode::Clean
}

/// Set to `1`, makes `analyze` print to stderr how long each phase took
/// ([`crate::session::PhaseTimes`] and the report): for measurements.
pub const PHASE_TIMES_ENV: &str = "AADTRACE_PHASE_TIMES";

/// The line [`PHASE_TIMES_ENV`] asks for.
fn phase_times(p: &crate::session::PhaseTimes, report: std::time::Duration) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    format!(
        "aadtrace: phases (wall): read {:.1} ms, flows {:.1} ms, findings {:.1} ms, report {:.1} ms",
        ms(p.read),
        ms(p.flows),
        ms(p.findings),
        ms(report)
    )
}

fn analyze(args: &AnalyzeArgs) -> ExitCode {
    if let Some(password) = &args.password {
        // Set before any thread starts; the SAZ reader looks it up when it needs it.
        std::env::set_var(crate::capture::SAZ_PASSWORD_ENV, password);
    }
    crate::limits::set_run_budget(args.max_memory.unwrap_or(crate::limits::DEFAULT_RUN), 1);
    let sources: Vec<Source> = args.files.iter().map(|f| Source::from_arg(f)).collect();
    if let Some(out) = &args.output {
        if let Err(code) = refuse_input_as_output(out, &args.files) {
            return code;
        }
    }
    let options = session_options(args);
    let total = sources.iter().map(Source::size_hint).sum::<Option<u64>>();
    let bar = progress::Bar::new(total, !args.quiet && std::io::stderr().is_terminal());
    let read = crate::capture::ReadOptions {
        keylogs: keylogs_for(args),
        one_thread: crate::capture::one_thread_from_env(),
    };
    let result = session::run_with(&sources, &options, &read, &bar, &|| bar.exchange());
    bar.finish();
    let session = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aadtrace: {}", terminal_safe(&e.to_string()));
            return ExitCode::ToolFailed;
        }
    };
    let redactor = Redactor::new(!args.unsafe_show_secrets);
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    // JSON, text and the HTML page are streamed: a large trace's report is
    // never held whole. The ticket (a few findings) is built whole.
    let report_started = std::time::Instant::now();
    let written = match args.format {
        _ if args.ticket => write_report(args, &crate::report::ticket::render(&session, &redactor)),
        ReportFormat::Json => write_report_with(args, |out| json::write(&session, &redactor, out)),
        ReportFormat::Text => {
            let palette = text::Palette {
                enabled: colour(args, to_terminal),
            };
            write_report_with(args, |out| text::write(&session, &redactor, palette, out))
        }
        ReportFormat::Html => write_report_with(args, |out| html::write(&session, &redactor, out)),
    };
    if let Err(code) = written {
        return code;
    }
    if std::env::var_os(PHASE_TIMES_ENV).is_some_and(|v| v == "1") {
        eprintln!("{}", phase_times(&session.phases, report_started.elapsed()));
    }
    let code = exit_for(&session.findings, args.fail_on);
    // The process ends right after this: freeing every step, flow and string
    // one by one would only delay the exit (milliseconds on a large trace).
    std::mem::forget(session);
    code
}

/// Whether the text report is coloured: as asked, or on a terminal without
/// `NO_COLOR`.
fn colour(args: &AnalyzeArgs, to_terminal: bool) -> bool {
    match args.color {
        args::ColorChoice::Always => true,
        args::ColorChoice::Never => false,
        args::ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// `--keylog` files, then the key logs found beside the traces by the names
/// `batch` looks for (`capture.keylog` beside `capture.pcapng`…), each once.
fn keylogs_for(args: &AnalyzeArgs) -> Vec<std::path::PathBuf> {
    keylogs_beside(&args.keylog, &args.files)
}

/// `given` key logs, then those found beside `files`, each once.
fn keylogs_beside(given: &[std::path::PathBuf], files: &[String]) -> Vec<std::path::PathBuf> {
    let mut out = given.to_vec();
    let found = files
        .iter()
        .filter(|f| f.as_str() != "-")
        .filter_map(|f| crate::capture::keylog::beside(std::path::Path::new(f)));
    for k in found {
        if !out.iter().any(|o| same_file(o, &k)) {
            out.push(k);
        }
    }
    out
}

/// `-o` must never overwrite an input: not by the same name, nor through a link
/// or another name of the same file (same device and inode).
fn refuse_input_as_output(output: &std::path::Path, inputs: &[String]) -> Result<(), ExitCode> {
    let clash = inputs
        .iter()
        .filter(|i| i.as_str() != "-")
        .find(|i| same_file(output, std::path::Path::new(i)));
    match clash {
        Some(input) => {
            // The wording of `redact`'s own check (`RedactError::SameFile`).
            eprintln!(
                "aadtrace: {}: the output would overwrite the input {}; choose another -o",
                terminal_safe(&output.display().to_string()),
                terminal_safe(input)
            );
            Err(ExitCode::ToolFailed)
        }
        None => Ok(()),
    }
}

/// True when both paths name one existing file (links followed).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
    }
}

fn session_options(args: &AnalyzeArgs) -> SessionOptions {
    SessionOptions {
        identity: IdentityOptions {
            default_mfa_window_ms: i64::from(args.mfa_window) * 1000,
        },
        findings: FindingOptions {
            slow_ms: f64::from(args.slow_ms),
            skew_seconds: i64::from(args.skew_seconds),
            ..FindingOptions::default()
        },
        // Only the HTML page shows each request's headers and bodies.
        detail: matches!(args.format, ReportFormat::Html) && !args.ticket,
    }
}

fn write_report(args: &AnalyzeArgs, report: &str) -> Result<(), ExitCode> {
    write_report_with(args, |out| out.write_all(report.as_bytes()))
}

/// Writes the report with `write` to `--output` or standard output.
fn write_report_with(
    args: &AnalyzeArgs,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ExitCode> {
    let result = match &args.output {
        Some(path) => std::fs::File::create(path)
            .and_then(|mut file| write(&mut file))
            .map_err(|e| (path.display().to_string(), e)),
        None => {
            let mut out = std::io::stdout().lock();
            write(&mut out)
                .and_then(|_| out.flush())
                .map_err(|e| ("standard output".to_string(), e))
        }
    };
    match result {
        Ok(()) => Ok(()),
        // A reader that stopped early (`| head`) is not a failure worth a message.
        Err((_, e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err((place, e)) => {
            eprintln!("aadtrace: cannot write the report to {place}: {e}");
            Err(ExitCode::ToolFailed)
        }
    }
}

fn exit_for(findings: &[crate::findings::Finding], fail_on: FailOn) -> ExitCode {
    worst_exit(crate::findings::worst(findings), fail_on)
}

fn worst_exit(worst: Option<Severity>, fail_on: FailOn) -> ExitCode {
    let threshold = match fail_on {
        FailOn::Info => Severity::Info,
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
        FailOn::Never => return ExitCode::Clean,
    };
    if worst.is_some_and(|w| w >= threshold) {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    }
}
