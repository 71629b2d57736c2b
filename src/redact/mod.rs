//! `aadtrace redact`: a copy of a trace that is safe to share, in the same format.
//!
//! Everything the secret policy lists ([`crate::secrets`], the README's "Secret
//! policy") is masked (passwords, OTPs, codes,
//! tokens, client secrets and assertions, flow tokens and canaries, SAML results,
//! cookies, `Authorization`); user names and personal JWT claims become stable
//! pseudonyms; correlation and request ids, time stamps, AADSTS codes, tenant and
//! app ids are kept. Pseudonyms are stable within one file, so `aadtrace analyze`
//! finds the same flows and findings in the copy as in the original.
//!
//! Layout:
//! * [`mask`]: what one value becomes (keyed-hash pseudonyms, JWT rewriting),
//!   counted by kind, and the final sweep for originals left anywhere.
//! * [`text`]: redaction inside strings: URLs, forms, JSON, HTML/JS/XML.
//! * [`har`]: the HAR rewriter, streaming one entry at a time.
//! * [`saz`]: Fiddler archives, rewritten member by member.
//! * [`netlog`]: Chromium NetLogs, rewritten event by event, their logged bytes
//!   redacted per stream.
//! * [`packets`]: cleartext pcap/pcapng/NetMon captures, masked in place with
//!   same-length replacements ([`fixed`]).
//! * [`exchanges`]: any trace written as a HAR of its exchanges (`--to har`;
//!   captures decrypted from TLS) and then redacted as HAR.
//!
//! A format plugs in as a [`TraceRewriter`]; [`rewriter_for`] picks one by the
//! sniffed format and the format asked for (`--to`): the input's own by
//! default. A rewriter names the place and field it is working on with
//! [`Masker::set_place`] (see [`mask`]), which gives the receipt its `places`.
//!
//! The file is read twice: the first pass learns every secret and user name (so
//! the sweep also catches a value in an entry before the one that reveals what
//! it is), the second writes. A gzip'd input is inflated once per pass as it is
//! read ([`Input`]), never held whole, except where a format needs its whole text
//! (a zip, a JSONP wrapper), within the run's budget.

pub mod exchanges;
pub mod fixed;
pub mod har;
pub mod mask;
pub mod netlog;
pub mod packets;
pub mod saz;
pub mod text;
pub mod workers;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::capture::{self, Format, Source};
pub use har::RewriteError;
pub use mask::{Masker, PlaceCount};

/// Rewrites one trace format. Implementations stream: they must not hold the
/// whole trace's parsed form in memory.
pub trait TraceRewriter {
    /// Pass 1: teaches `masker` every secret and user name of `input`, so
    /// that pass 2 masks a value even where it appears before the place that
    /// shows it is a secret. By default a rewrite into nothing.
    fn learn(&self, input: &Input, masker: &mut Masker) -> Result<(), RewriteError> {
        self.rewrite(input, &mut std::io::sink(), masker)
            .map(|_| ())
    }

    /// Pass 2: writes the redacted copy of `input` to `out`, with a `masker`
    /// that has learnt `input` ([`TraceRewriter::learn`]).
    fn rewrite(
        &self,
        input: &Input,
        out: &mut dyn Write,
        masker: &mut Masker,
    ) -> Result<Written, RewriteError>;

    /// The format written, when it differs from the input's (a capture → HAR).
    fn output_format(&self, input: Format) -> Format {
        input
    }
}

/// The rewriter for a sniffed input format, writing `to` (its own format when
/// `None`), if there is one.
pub fn rewriter_for(format: Format, to: Option<Format>) -> Option<&'static dyn TraceRewriter> {
    match (format, to) {
        (Format::Har, None | Some(Format::Har)) => Some(&har::Har),
        (_, Some(Format::Har)) => Some(&exchanges::AsHar),
        (Format::Pcap | Format::Pcapng | Format::Netmon, None) => Some(&packets::InPlace),
        (Format::Netlog, None) => Some(&netlog::NetLog),
        (Format::Saz, None) => Some(&saz::Saz),
        _ => None,
    }
}

/// How `redact` reads and writes, beyond the input and the output.
#[derive(Debug, Clone, Default)]
pub struct RedactOptions {
    /// TLS key logs for packet captures (`--keylog`, and those found beside).
    pub read: capture::ReadOptions,
    /// The format to write (`--to`); the input's own when `None`.
    pub to: Option<Format>,
}

/// What a rewrite wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Exchanges (entries, sessions) written.
    pub exchanges: usize,
    /// What was left out of the copy, and why (an entry too large to hold).
    pub warnings: Vec<String>,
}

/// Failures of `redact`. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: a {format} trace cannot be redacted to {to}; --to har writes any trace as a HAR"
    )]
    NotAvailable {
        path: String,
        format: Format,
        to: Format,
    },
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
    #[error("{path}: {detail}; nothing was written")]
    Malformed { path: String, detail: String },
    #[error("{path}: the output would overwrite the input; choose another -o")]
    SameFile { path: String },
}

/// What a redaction did: written to standard error, or as JSON to `--receipt`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Receipt {
    pub schema: &'static str,
    pub input: String,
    pub output: String,
    pub format: Format,
    pub output_format: Format,
    /// Entries (exchanges) written.
    pub exchanges: usize,
    /// Replacements by kind (`password`, `token`, `code`, `flow_token`, `cookie`,
    /// `authorization`, `user_name`, `jwt_personal_claim`, …).
    pub masked: BTreeMap<&'static str, u64>,
    pub total: u64,
    /// Where values were masked: per place (`entry 12`, `session 7`), field and
    /// kind, a count; never a value. At most [`mask::MAX_PLACES`] rows.
    pub places: Vec<PlaceCount>,
    /// Rows past the cap, not listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub places_omitted: Option<Omitted>,
    /// What was left out of the copy, and why.
    pub warnings: Vec<String>,
    pub note: &'static str,
}

/// Places the receipt does not list (past its cap).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Omitted {
    /// Rows of (place, field, kind) not listed.
    pub places: usize,
    /// The values they counted.
    pub values: u64,
}

/// Places the text receipt shows before it refers to `--receipt`.
const PLACES_SHOWN: usize = 5;

const NOTE: &str = "pseudonyms are keyed hashes with a key drawn for this run: stable within this file, unrelated across files";

impl Receipt {
    /// The receipt as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("receipt serialises");
        s.push('\n');
        s
    }

    /// The receipt as lines for standard error.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "aadtrace: redacted {} ({}, {} exchanges) to {} ({}): {} value(s) masked\n",
            self.input, self.format, self.exchanges, self.output, self.output_format, self.total
        );
        for (kind, n) in &self.masked {
            s.push_str(&format!("  {kind:<20} {n}\n"));
        }
        s.push_str(&self.places_text());
        for warning in &self.warnings {
            s.push_str(&format!("  warning: {warning}\n"));
        }
        s.push_str(&format!("  note: {NOTE}\n"));
        s
    }

    /// The first few places, then how many more the JSON receipt lists.
    /// Rows without a place (a rewriter that names none) are left to the JSON.
    fn places_text(&self) -> String {
        let named: Vec<&PlaceCount> = self
            .places
            .iter()
            .filter(|p| !(p.place.is_empty() && p.field.is_empty()))
            .collect();
        if named.is_empty() {
            return String::new();
        }
        let mut s = String::from("  where:\n");
        for p in named.iter().take(PLACES_SHOWN) {
            let place = match p.field.as_str() {
                "" => p.place.clone(),
                field => format!("{}, {field}", p.place),
            };
            s.push_str(&format!("    {place}: {} {}\n", p.count, p.kind));
        }
        let omitted = self.places_omitted.as_ref().map_or(0, |o| o.places);
        let more = named.len().saturating_sub(PLACES_SHOWN) + omitted;
        if more > 0 {
            let lists = if omitted == 0 {
                "them all".to_string()
            } else {
                format!("the first {}", mask::MAX_PLACES)
            };
            s.push_str(&format!(
                "    … {more} more; --receipt FILE lists {lists}\n"
            ));
        }
        s
    }
}

/// Where the redacted copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Stdout,
}

impl Target {
    pub fn from_arg(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            Target::Stdout
        } else {
            Target::File(arg.to_path_buf())
        }
    }

    fn display_name(&self) -> String {
        match self {
            Target::File(p) => p.display().to_string(),
            Target::Stdout => "<stdout>".to_string(),
        }
    }
}

/// Redacts `source` into `target`. A target ending in `.gz` is gzip-compressed.
/// The output appears only when the whole rewrite succeeded.
pub fn redact(
    source: &Source,
    target: &Target,
    options: &RedactOptions,
) -> Result<Receipt, RedactError> {
    let name = source.display_name();
    if let (Source::File(input), Target::File(output)) = (source, target) {
        if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
            if a == b {
                return Err(RedactError::SameFile { path: name });
            }
        }
    }
    let mut input = load(source, &name)?;
    input.keys = options.read.load_keys()?;
    let format = sniffed(&input, &name)?;
    let rewriter = rewriter_for(format, options.to).ok_or(RedactError::NotAvailable {
        path: name.clone(),
        format,
        to: options.to.unwrap_or(format),
    })?;
    let mut masker = Masker::new();
    // Pass 1: learn every secret and user name of the file.
    let malformed = |e: RewriteError, path: &str| match e {
        RewriteError::Malformed(detail) => RedactError::Malformed {
            path: path.to_string(),
            detail,
        },
        RewriteError::Write(source) => RedactError::Write {
            path: path.to_string(),
            source,
        },
    };
    rewriter
        .learn(&input, &mut masker)
        .map_err(|e| malformed(e, &name))?;
    masker.reset_counts();
    // Pass 2: write.
    let out_name = target.display_name();
    let written = write_target(target, |out| rewriter.rewrite(&input, out, &mut masker)).map_err(
        |e| match e {
            RewriteError::Write(source) => RedactError::Write {
                path: out_name.clone(),
                source,
            },
            other => malformed(other, &name),
        },
    )?;
    Ok(Receipt::new(
        name,
        out_name,
        (format, rewriter.output_format(format)),
        written,
        &masker,
    ))
}

/// The input's format, from its first bytes.
fn sniffed(input: &Input, name: &str) -> Result<Format, RedactError> {
    let head = input.head().map_err(|e| RedactError::Read {
        path: name.to_string(),
        source: e,
    })?;
    let format = capture::sniff(&head).ok_or_else(|| capture::CaptureError::UnknownFormat {
        path: name.to_string(),
        detail: format!(
            "first bytes {} are not a trace aadtrace can redact",
            head.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    })?;
    Ok(format)
}

impl Receipt {
    /// What the writing pass did, from its masker.
    fn new(
        input: String,
        output: String,
        (format, output_format): (Format, Format),
        written: Written,
        masker: &Masker,
    ) -> Receipt {
        let masked: BTreeMap<&'static str, u64> = masker
            .counts()
            .iter()
            .map(|(k, v)| (k.name(), *v))
            .collect();
        Receipt {
            schema: "aadtrace-redact/1",
            input,
            output,
            format,
            output_format,
            exchanges: written.exchanges,
            total: masked.values().sum(),
            masked,
            places: masker.places().to_vec(),
            places_omitted: match masker.places_omitted() {
                (0, _) => None,
                (places, values) => Some(Omitted { places, values }),
            },
            warnings: written.warnings,
            note: NOTE,
        }
    }
}

/// An input's bytes: a file is memory-mapped (like `analyze`, it must not change
/// while aadtrace reads it); standard input is read into memory, up to the run's
/// budget.
enum Loaded {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Loaded {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Loaded::Map(m) => m,
            Loaded::Owned(v) => v,
        }
    }
}

/// The input of a redaction, read once per pass. A gzip'd input stays
/// compressed and is inflated as it is read, so a HAR of any size streams.
pub struct Input {
    raw: Loaded,
    gzip: bool,
    /// TLS keys for a packet capture.
    keys: Option<std::sync::Arc<capture::keylog::KeyLog>>,
    /// Whether the HAR entry guard passes the input unchanged: found in the
    /// learning pass, needed again in the writing pass.
    pub(crate) passes_guard: std::sync::OnceLock<bool>,
    /// The HAR of a capture's exchanges (`--to har`), made in the learning
    /// pass and read again in the writing pass.
    pub(crate) har_text: std::sync::OnceLock<exchanges::HarText>,
}

impl Input {
    /// An input held in memory, not compressed (tests and fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input {
            raw: Loaded::Owned(bytes),
            gzip: false,
            keys: None,
            passes_guard: std::sync::OnceLock::new(),
            har_text: std::sync::OnceLock::new(),
        }
    }

    /// The input's bytes as they are stored (gzip'd or not).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The TLS keys given for the input, if any.
    pub fn keys(&self) -> Option<std::sync::Arc<capture::keylog::KeyLog>> {
        self.keys.clone()
    }

    /// The bytes, when they are not compressed.
    pub fn plain(&self) -> Option<&[u8]> {
        (!self.gzip).then_some(&self.raw[..])
    }

    /// The decompressed bytes, from the start.
    pub fn reader(&self) -> Box<dyn Read + '_> {
        if self.gzip {
            Box::new(flate2::read::MultiGzDecoder::new(&self.raw[..]))
        } else {
            Box::new(&self.raw[..])
        }
    }

    /// The first decompressed bytes (for sniffing).
    fn head(&self) -> std::io::Result<Vec<u8>> {
        let mut head = Vec::new();
        self.reader().take(512).read_to_end(&mut head)?;
        Ok(head)
    }

    /// The whole decompressed input, for rewriters that need it at once (a
    /// zip): up to the run's budget.
    pub fn whole(&self) -> Result<std::borrow::Cow<'_, [u8]>, RewriteError> {
        if let Some(bytes) = self.plain() {
            return Ok(std::borrow::Cow::Borrowed(bytes));
        }
        let what = "the decompressed input";
        capture::special::read_capped(self.reader(), crate::limits::run_budget(), what)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| RewriteError::Malformed(e.to_string()))
    }
}

/// The input, not yet decompressed.
fn load(source: &Source, name: &str) -> Result<Input, RedactError> {
    let read_err = |e| RedactError::Read {
        path: name.to_string(),
        source: e,
    };
    let raw = match source {
        Source::File(p) => {
            let file = std::fs::File::open(p).map_err(read_err)?;
            if file.metadata().map_err(read_err)?.len() == 0 {
                Loaded::Owned(Vec::new())
            } else {
                // SAFETY: read-only map; inputs must not change while aadtrace runs
                // (README), as for `analyze`.
                Loaded::Map(unsafe { memmap2::Mmap::map(&file) }.map_err(read_err)?)
            }
        }
        Source::Stdin => {
            let cap = crate::limits::run_budget();
            let stdin = std::io::stdin().lock();
            let data = capture::special::read_capped(stdin, cap, "standard input");
            Loaded::Owned(data.map_err(read_err)?)
        }
    };
    if raw.is_empty() {
        return Err(capture::CaptureError::UnknownFormat {
            path: name.to_string(),
            detail: "the input is empty".into(),
        }
        .into());
    }
    let gzip = raw.starts_with(&[0x1f, 0x8b]);
    Ok(Input {
        raw,
        gzip,
        keys: None,
        passes_guard: std::sync::OnceLock::new(),
        har_text: std::sync::OnceLock::new(),
    })
}

/// Runs `write` against the target: a temporary file renamed into place on
/// success (removed on failure), or standard output.
fn write_target(
    target: &Target,
    write: impl FnOnce(&mut dyn Write) -> Result<Written, RewriteError>,
) -> Result<Written, RewriteError> {
    match target {
        Target::Stdout => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = write(&mut out)?;
            out.flush().map_err(RewriteError::Write)?;
            Ok(n)
        }
        Target::File(path) => {
            let mut tmp_name = path.as_os_str().to_owned();
            tmp_name.push(".aadtrace-partial");
            let tmp = PathBuf::from(tmp_name);
            let result = (|| {
                let file = std::fs::File::create(&tmp).map_err(RewriteError::Write)?;
                let gz = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
                let n = if gz {
                    let mut enc = flate2::write::GzEncoder::new(
                        std::io::BufWriter::new(file),
                        flate2::Compression::default(),
                    );
                    let n = write(&mut enc)?;
                    enc.finish()
                        .and_then(|mut w| w.flush())
                        .map_err(RewriteError::Write)?;
                    n
                } else {
                    let mut out = std::io::BufWriter::new(file);
                    let n = write(&mut out)?;
                    out.flush().map_err(RewriteError::Write)?;
                    n
                };
                std::fs::rename(&tmp, path).map_err(RewriteError::Write)?;
                Ok(n)
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        }
    }
}
