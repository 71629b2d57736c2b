//! Command-line arguments as clap parses them (the "low" stage); [`super`] turns
//! them into validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `0.1.0 (abc1234def56)`: the version and the commit the binary was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AADTRACE_GIT_HASH"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "aadtrace",
    version = VERSION,
    about = "Explains Microsoft sign-ins (Entra ID, Microsoft accounts) found in network traces",
    long_about = "aadtrace reads a network trace of sign-ins to login.microsoftonline.com and \
login.live.com, rebuilds every sign-in, and says what went wrong, when, and what to do next, with \
the ids a support ticket needs.",
    after_help = concat!(
        "Traces: HAR (.har, .har.gz), Fiddler .saz, Chromium/Edge NetLog .json, .pcap, .pcapng, \
Network Monitor .cap; see `aadtrace analyze --help`.\n\n",
        "Examples:\n",
        "  aadtrace trace.har                       the same as `aadtrace analyze trace.har`\n",
        "  aadtrace analyze capture.pcapng --keylog capture.keylog\n",
        "  aadtrace analyze --format html -o report.html trace.har\n",
        "  aadtrace explain \"AADSTS50126: Error validating credentials\"\n",
        "  aadtrace redact trace.har -o safe.har\n",
        "  aadtrace batch archive/ --format parquet -o results/\n\n",
        "Exit codes: 0 no finding at or above --fail-on; 1 such findings exist; 2 aadtrace itself \
failed (unreadable file, bad arguments)."
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse one or more traces as one session of evidence.
    Analyze(AnalyzeArgs),
    /// Explain AADSTS codes offline (e.g. 50074 AADSTS70012).
    Explain(ExplainArgs),
    /// Write a copy of a trace that is safe to share, in the same format: secrets
    /// masked, user names pseudonymised, ids support needs kept.
    Redact(RedactArgs),
    /// Analyse many traces in parallel, each on its own: one result per trace.
    Batch(BatchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  aadtrace completions bash > ~/.local/share/bash-completion/completions/aadtrace\n  aadtrace completions zsh > ~/.zfunc/_aadtrace"
)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// When the text report uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Never,
}

#[derive(Debug, Args)]
#[command(
    after_help = concat!(
        "Traces: HAR (.har, .har.gz, from a browser, Fiddler, Charles, mitmproxy or Playwright), ",
        "Fiddler archives (.saz), Chromium/Edge NetLog (.json), packet captures (.pcap, .pcapng, ",
        "Network Monitor .cap; also gzip'd) with TLS decrypted by a key log (--keylog) or a pcapng ",
        "Decryption Secrets Block. The format is read from the bytes, never from the name.\n\n",
        "Examples:\n",
        "  aadtrace analyze trace.har\n",
        "  aadtrace analyze capture.pcapng --keylog capture.keylog\n",
        "  aadtrace analyze --format json trace.har | jq '.findings[] | select(.severity==\"error\")'\n",
        "  aadtrace analyze --format html -o report.html trace.har netlog.json\n",
        "  aadtrace analyze --password secret session.saz\n",
        "  aadtrace analyze --fail-on warning trace.har && echo clean"
    )
)]
pub struct AnalyzeArgs {
    /// Trace files (`-` for standard input), read as one session of evidence.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour in the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print a block to paste into a support case instead of the report (Markdown):
    /// the verdict, the ids and time of the failing step, what was tried, next
    /// steps, and KQL and Graph queries for the server's sign-in log.
    #[arg(long, conflicts_with = "format")]
    pub ticket: bool,
    /// No progress bar on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Print secrets (tokens, codes, passwords, cookies) and full user names instead of redacting them.
    #[arg(long)]
    pub unsafe_show_secrets: bool,
    /// NSS key log for TLS decryption of packet captures (repeatable).
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// Password of an encrypted Fiddler archive (`.saz`); also read from
    /// AADTRACE_SAZ_PASSWORD.
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// MFA polling window in seconds, used when the sign-in page announced none.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub mfa_window: u32,
    /// A sign-in step slower than this many milliseconds is reported as slow.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub slow_ms: u32,
    /// Clock differences above this many seconds are reported as clock skew.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub skew_seconds: u32,
    /// Memory budget, e.g. 2G or 512M (default 2G): what can grow past the size of
    /// the trace (decoded bodies, header lists, HAR entries) is capped by a share of it.
    #[arg(long, value_name = "SIZE", value_parser = crate::batch::parse_size)]
    pub max_memory: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// What to explain: a code (`50074`, `AADSTS50074`), a pasted error message, an
    /// error URL, or a whole error page (`-` reads it from standard input). Every
    /// AADSTS code found in it is explained.
    #[arg(value_name = "CODE|TEXT", required_unless_present_any = ["list", "search"])]
    pub codes: Vec<String>,
    /// List every code of the offline catalogue.
    #[arg(long, conflicts_with_all = ["codes", "search"])]
    pub list: bool,
    /// Find codes whose title, explanation or next steps hold all these words.
    #[arg(long, value_name = "WORDS", conflicts_with = "codes")]
    pub search: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = concat!(
        "Formats: the copy is written in the input's own format: HAR → HAR, Fiddler SAZ → SAZ, ",
        "a cleartext pcap/pcapng/Network Monitor capture → the same capture with each masked value ",
        "overwritten in place at its length (frames, lengths and TCP sequence numbers unchanged; ",
        "TCP checksums left stale). A capture whose HTTP was decrypted from TLS is written only as a ",
        "HAR of its exchanges (--to har); one whose HTTP is encrypted with no key log is refused. ",
        "NetLog → NetLog. `--to har` writes any trace as a HAR. Key logs beside a capture are found as for `analyze`.\n\n",
        "Examples:\n",
        "  aadtrace redact trace.har -o trace.redacted.har\n",
        "  aadtrace redact session.saz -o shared.saz --receipt receipt.json\n",
        "  aadtrace redact capture.pcapng -o shared.pcapng\n",
        "  aadtrace redact capture.pcapng --keylog capture.keylog --to har -o shared.har"
    )
)]
pub struct RedactArgs {
    /// The trace to redact (`-` for standard input): HAR (also .har.gz), Fiddler
    /// .saz, pcap/pcapng/Network Monitor .cap (also gzip'd), Chromium NetLog;
    /// written in its own format.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Where to write the redacted copy (`-` for standard output; a name ending in
    /// `.gz` is compressed).
    #[arg(short, long, value_name = "OUT", required = true)]
    pub output: PathBuf,
    /// Write the receipt (what was masked, by kind) as JSON to FILE instead of
    /// printing it to standard error.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// Write this format instead of the input's own (`har`: the exchanges as a
    /// HAR; needed for TLS captures decrypted with a key log).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: Option<RedactTo>,
    /// NSS key log for TLS decryption of packet captures (repeatable).
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// Password of an encrypted Fiddler archive (`.saz`); also read from
    /// AADTRACE_SAZ_PASSWORD. The copy is written unencrypted.
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// What `redact --to` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedactTo {
    Har,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchFormat {
    /// One JSON line per trace: the aadtrace/1 document plus path, size, elapsed_ms.
    Ndjson,
    /// Tables traces, flows and findings in -o DIR (cargo feature `parquet`).
    Parquet,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Results come out in path order whatever --jobs is. A trace that cannot be \
read gets an `error` result; the batch goes on. Exit codes: 0 done; 1 a finding at or above \
--fail-on; 2 aadtrace itself failed (bad arguments, unreadable manifest, unwritable output)."
)]
pub struct BatchArgs {
    /// Trace files, directories (walked recursively), .zip and .tar/.tar.gz archives.
    #[arg(value_name = "DIR|FILE")]
    pub inputs: Vec<String>,
    /// A file with one path per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<String>,
    /// Which files of a directory or archive are traces (repeatable; default: *.har,
    /// *.har.gz, *.saz, *.pcap, *.pcapng, *.cap, *.json and archives).
    #[arg(long, value_name = "PATTERN")]
    pub glob: Vec<String>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = BatchFormat::Ndjson)]
    pub format: BatchFormat,
    /// NDJSON: write to FILE instead of standard output. Parquet: the directory.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Threads (default: every core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Memory budget for traces in flight, e.g. 2G or 512M (default: half the machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = crate::batch::parse_size)]
    pub max_memory: Option<u64>,
    /// Take only shard K of N (0 <= K < N), a stable share by path hash.
    #[arg(long, value_name = "K/N", value_parser = crate::batch::Shard::parse)]
    pub shard: Option<crate::batch::Shard>,
    /// Print the traces that would be analysed, one per line, and stop.
    #[arg(long)]
    pub list: bool,
    /// No progress bar and no closing summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit 1 when any trace has a finding at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    pub fail_on: FailOn,
    /// Print secrets (tokens, codes, passwords, cookies) and full user names instead of redacting them.
    #[arg(long)]
    pub unsafe_show_secrets: bool,
    /// NSS key log for every trace (repeatable); key logs beside a trace are found on their own.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// MFA polling window in seconds, used when the sign-in page announced none.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub mfa_window: u32,
    /// A sign-in step slower than this many milliseconds is reported as slow.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub slow_ms: u32,
    /// Clock differences above this many seconds are reported as clock skew.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub skew_seconds: u32,
}
