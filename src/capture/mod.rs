//! Input files: sniff the format from the bytes and hand every exchange to a sink.
//!
//! Readers never build the whole trace in memory. Each reader calls the sink once per
//! [`Exchange`], in input order, and the caller turns it into owned facts before the
//! next one comes. Problems in the trace (a truncated file, a malformed entry) are
//! [`InputWarning`]s, not errors: a damaged trace still yields everything before the
//! damage. [`CaptureError`] is for failures of the tool to read at all, and always
//! names the file and the place.

pub mod etw;
pub mod har;
pub mod keylog;
pub mod kind;
pub mod netlog;
pub mod netmon;
pub mod pcap;
mod pipeline;
mod relay;
pub mod saz;
pub mod special;
pub mod tally;
pub mod warning;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keylog::KeyLog;

use crate::http::{Exchange, Renumber};
pub use saz::PASSWORD_ENV as SAZ_PASSWORD_ENV;
pub use warning::WarningCode;

/// The formats aadtrace recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Har,
    Pcap,
    Pcapng,
    Netmon,
    Saz,
    Netlog,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Har => "har",
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
            Format::Netmon => "netmon",
            Format::Saz => "saz",
            Format::Netlog => "netlog",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A problem in the trace itself, reported and survived.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputWarning {
    /// What kind of problem; serialised as its stable snake_case name.
    pub code: WarningCode,
    /// What the reader saw, with counts and places.
    pub message: String,
}

impl InputWarning {
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        InputWarning {
            code,
            message: message.into(),
        }
    }
}

/// What a reader learned about one input besides its exchanges.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InputSummary {
    /// Producing program and version when the input names it (`Chromium 131`).
    pub producer: Option<String>,
    pub exchanges: usize,
    pub warnings: Vec<InputWarning>,
    /// TCP connections of a packet capture, in order of their ids (empty for logs).
    pub connections: Vec<ConnectionInfo>,
}

/// One TCP connection of a packet capture, with what its clear bytes showed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionInfo {
    pub id: usize,
    /// `ip:port` of the side that opened the connection (or the guessed client).
    pub client: String,
    pub server: String,
    /// First and last segment times, microseconds since the Unix epoch (UTC).
    pub started_us: i64,
    pub ended_us: i64,
    /// TLS server name from the ClientHello.
    pub sni: Option<String>,
    /// ALPN protocol chosen by the server.
    pub alpn: Option<String>,
    /// Negotiated TLS version, `TLS 1.2` style.
    pub tls_version: Option<String>,
    /// Cipher suite IANA name.
    pub cipher: Option<String>,
    /// True when TLS application data was decrypted (keys from `--keylog` or a
    /// Decryption Secrets Block).
    pub decrypted: bool,
    /// TLS application-data records decrypted (not part of the JSON contract).
    #[serde(skip)]
    pub decrypted_records: u64,
    /// TLS records that failed to decrypt (not part of the JSON contract).
    #[serde(skip)]
    pub decrypt_failures: u64,
    /// Bytes delivered in each direction (decrypted application data when
    /// `decrypted`).
    pub bytes_client: u64,
    pub bytes_server: u64,
    /// Bytes missing from the capture (both directions).
    pub gaps: u64,
    /// A TCP reset was seen.
    pub reset: bool,
    /// Plaintext TLS alerts, e.g. `fatal handshake_failure`.
    pub tls_alerts: Vec<String>,
    /// `origin.index` of the exchanges carried on this connection.
    pub exchanges: Vec<u64>,
}

/// Failures of the tool to read an input. Always names the file and the place.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a trace aadtrace can read ({detail})")]
    UnknownFormat { path: String, detail: String },
    #[error("{path}: {format} input is not supported yet")]
    Unsupported { path: String, format: Format },
    #[error("{path}: {place}: {detail}")]
    Malformed {
        path: String,
        place: String,
        detail: String,
    },
}

/// Progress callbacks from a reader: bytes consumed of the input so far.
pub trait Progress {
    fn advance_to(&self, bytes_read: u64);
    /// Called when one input is done and the next begins.
    fn next_input(&self) {}
}

/// A no-op progress sink.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance_to(&self, _bytes_read: u64) {}
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// Name used in messages and in the report.
    pub fn display_name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "<stdin>".to_string(),
        }
    }

    /// Size in bytes when known in advance (a regular file).
    pub fn size_hint(&self) -> Option<u64> {
        match self {
            Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Source::Stdin => None,
        }
    }
}

/// What a reader is told about the input it reads, besides its bytes: the name
/// its messages give, its index among the inputs read together (the
/// `Origin::input` of every exchange), the TLS keys for packet captures, and
/// where progress goes. One value instead of the same four arguments threaded
/// through every reader.
#[derive(Clone)]
pub struct ReadCtx<'a> {
    pub name: &'a str,
    pub input: usize,
    pub keys: Option<Arc<KeyLog>>,
    pub progress: &'a dyn Progress,
    /// Packet captures: parse TLS and HTTP on a second thread while this one
    /// reads frames and reassembles TCP (the output is the same).
    pub http_thread: bool,
    /// How many bytes a compressed input is expected to hold once inflated
    /// (a gzip file's trailer), so a HAR stream held whole is sized once.
    pub inflated_len: Option<u64>,
}

impl<'a> ReadCtx<'a> {
    /// The input named `name`, first of its run, without keys or progress.
    pub fn new(name: &'a str) -> Self {
        ReadCtx {
            name,
            input: 0,
            keys: None,
            progress: &NoProgress,
            http_thread: false,
            inflated_len: None,
        }
    }

    /// The same context, for the input at `input` among those read together.
    pub fn input(self, input: usize) -> Self {
        ReadCtx { input, ..self }
    }

    /// The same context, with TLS keys (`None`: none).
    pub fn keys(self, keys: Option<Arc<KeyLog>>) -> Self {
        ReadCtx { keys, ..self }
    }

    /// The same context, reporting progress to `progress`.
    pub fn progress(self, progress: &'a dyn Progress) -> Self {
        ReadCtx { progress, ..self }
    }

    /// The same context, with a second thread for TLS and HTTP in packet
    /// captures (see [`ReadCtx::http_thread`]).
    pub fn http_thread(self, http_thread: bool) -> Self {
        ReadCtx {
            http_thread,
            ..self
        }
    }
}

/// How inputs are read, beyond the inputs themselves.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// TLS key-log files (NSS `SSLKEYLOGFILE` format) for packet captures.
    pub keylogs: Vec<PathBuf>,
    /// Reads and maps every input on the calling thread: no second thread for
    /// packet captures and HARs. The output is the same either way; the command
    /// sets it from [`ONE_THREAD_ENV`], tests to compare the two.
    pub one_thread: bool,
}

/// Set to `1`, makes `aadtrace` read every input on one thread
/// ([`ReadOptions::one_thread`]): for comparisons and measurements.
pub const ONE_THREAD_ENV: &str = "AADTRACE_ONE_THREAD";

/// True when [`ONE_THREAD_ENV`] is set to `1`.
pub fn one_thread_from_env() -> bool {
    std::env::var_os(ONE_THREAD_ENV).is_some_and(|v| v == "1")
}

impl ReadOptions {
    /// Loads the key logs; `None` when there are none.
    pub fn load_keys(&self) -> Result<Option<Arc<KeyLog>>, CaptureError> {
        if self.keylogs.is_empty() {
            return Ok(None);
        }
        let mut log = KeyLog::new();
        for path in &self.keylogs {
            log.load_file(path).map_err(|source| CaptureError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(Some(Arc::new(log)))
    }
}

/// Reads one input and calls `sink` for each exchange, with `origin.input` set to
/// `input_index`. Returns the format and what the reader learned.
pub fn read_source(
    source: &Source,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    read_source_keyed(source, input_index, None, progress, sink)
}

/// Like [`read_source`], with key logs and other reading options.
pub fn read_source_with(
    source: &Source,
    input_index: usize,
    options: &ReadOptions,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    let keys = options.load_keys()?;
    read_source_keyed(source, input_index, keys, progress, sink)
}

/// Like [`read_source`], with key logs already loaded (`None`: no keys), so that
/// callers reading many inputs load each key log once.
pub fn read_source_keyed(
    source: &Source,
    input_index: usize,
    keys: Option<Arc<KeyLog>>,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    let name = source.display_name();
    let bad = bad_keylog_lines(keys.as_deref());
    let ctx = ReadCtx::new(&name)
        .input(input_index)
        .keys(keys)
        .progress(progress);
    let result = match source {
        Source::File(path) => read_file(path, &ctx, sink),
        Source::Stdin => read_stream(Box::new(std::io::stdin().lock()), &ctx, sink),
    };
    with_keylog_warning(result, bad)
}

/// The warning for key-log lines that could not be read, if any.
fn bad_keylog_lines(keys: Option<&KeyLog>) -> Option<InputWarning> {
    keys.filter(|k| k.bad_lines > 0).map(|k| {
        InputWarning::new(
            WarningCode::KeylogBadLines,
            format!(
                "{} key-log lines could not be read (first at {})",
                k.bad_lines,
                k.bad_examples.join(", ")
            ),
        )
    })
}

/// Puts a key-log warning first, on packet captures only: other formats never use
/// the keys, so the warning would be noise there.
fn with_keylog_warning(
    mut result: Result<(Format, InputSummary), CaptureError>,
    warning: Option<InputWarning>,
) -> Result<(Format, InputSummary), CaptureError> {
    if let (Ok((format, summary)), Some(w)) = (&mut result, warning) {
        if uses_keys(*format) {
            summary.warnings.insert(0, w);
        }
    }
    result
}

/// True for the formats that TLS keys can decrypt: packet captures.
pub fn uses_keys(format: Format) -> bool {
    matches!(format, Format::Pcap | Format::Pcapng | Format::Netmon)
}

/// A file opened and sniffed: what kind of reading it needs.
enum Opened {
    /// Compressed: decompress and stream.
    Gzip(std::fs::File),
    /// A HAR, memory-mapped for zero-copy reading.
    Har(memmap2::Mmap),
    /// Another format, not yet read.
    Other(Format, std::fs::File),
}

fn open_file(path: &Path, name: &str) -> Result<Opened, CaptureError> {
    let io_err = |source| CaptureError::Io {
        path: name.to_string(),
        source,
    };
    if path.is_dir() {
        return Err(CaptureError::UnknownFormat {
            path: name.to_string(),
            detail: "a folder, not a trace: `aadtrace batch FOLDER` analyses every trace in it"
                .to_string(),
        });
    }
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if len == 0 {
        return Err(CaptureError::UnknownFormat {
            path: name.to_string(),
            detail: "the file is empty".to_string(),
        });
    }
    let mut head = [0u8; 512];
    let n = read_full(&mut &file, &mut head).map_err(io_err)?;
    let head = &head[..n];
    std::io::Seek::rewind(&mut file).map_err(io_err)?;
    if is_gzip(head) {
        return Ok(Opened::Gzip(file));
    }
    match sniff(head).ok_or_else(|| unknown_format(name, head))? {
        Format::Har => {
            // SAFETY: the map is read-only; inputs must not change while aadtrace runs
            // (documented in the README): a file truncated under us raises SIGBUS.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
            Ok(Opened::Har(map))
        }
        other => Ok(Opened::Other(other, file)),
    }
}

fn read_file(
    path: &Path,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    let name = ctx.name;
    if special::is_stream(path) {
        // A pipe (process substitution), a device: no size, no map; streamed.
        let reader = special::open(path).map_err(|source| CaptureError::Io {
            path: name.to_string(),
            source,
        })?;
        return read_stream(reader, ctx, sink);
    }
    match open_file(path, name)? {
        Opened::Gzip(file) => {
            let ctx = sized_by_gzip(ctx, &file);
            read_stream(Box::new(file), &ctx, sink)
        }
        Opened::Har(map) => {
            let json = jsonp_body(&map).unwrap_or(&map);
            let summary = har::read_slice(json, ctx, sink)?;
            Ok((Format::Har, summary))
        }
        // Captures are streamed, never mapped: memory stays bounded by the buffers.
        Opened::Other(format @ (Format::Pcap | Format::Pcapng | Format::Netmon), file) => {
            read_capture(format, file, ctx, sink)
        }
        Opened::Other(Format::Saz, file) => {
            let summary = saz::read_file(file, ctx, sink)?;
            Ok((Format::Saz, summary))
        }
        Opened::Other(Format::Netlog, file) => {
            // SAFETY: as for HAR in `open_file`: inputs must not change during a run.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| CaptureError::Io {
                path: name.to_string(),
                source,
            })?;
            let summary = netlog::read_slice(&map, ctx, sink)?;
            Ok((Format::Netlog, summary))
        }
        Opened::Other(format, _file) => Err(CaptureError::Unsupported {
            path: name.to_string(),
            format,
        }),
    }
}

/// `ctx` with the inflated length `file`'s gzip trailer gives.
fn sized_by_gzip<'a>(ctx: &ReadCtx<'a>, file: &std::fs::File) -> ReadCtx<'a> {
    ReadCtx {
        inflated_len: gzip_inflated_len(file),
        ..ctx.clone()
    }
}

/// The length a gzip file gives its inflated data: the trailer's `ISIZE`, the
/// last member's length modulo 2^32 (RFC 1952 §2.3.1), so a hint and never a
/// count. Leaves the file at its start.
fn gzip_inflated_len(file: &std::fs::File) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    let mut isize = [0u8; 4];
    let read = f
        .seek(SeekFrom::End(-4))
        .and_then(|_| f.read_exact(&mut isize));
    f.rewind().ok()?;
    read.ok()?;
    Some(u32::from_le_bytes(isize) as u64)
}

/// Reads a packet capture file (pcap, pcapng, NetMon); its exchanges are owned,
/// so they can be sent to another thread.
fn read_capture(
    format: Format,
    file: std::fs::File,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'static>),
) -> Result<(Format, InputSummary), CaptureError> {
    let summary = match format {
        Format::Netmon => netmon::read(file, ctx, sink)?,
        _ => pcap::read(std::io::BufReader::with_capacity(1 << 16, file), ctx, sink)?,
    };
    Ok((format, summary))
}

/// Reads one input held in memory (an archive member): sniffs the format and
/// reads it as for a file, decrypting TLS in packet captures with the context's
/// keys; a HAR is read in place, every other format streamed.
pub fn read_bytes(
    bytes: &[u8],
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    if bytes.is_empty() {
        return Err(CaptureError::UnknownFormat {
            path: ctx.name.to_string(),
            detail: "the input is empty".to_string(),
        });
    }
    let head = &bytes[..bytes.len().min(512)];
    if !is_gzip(head) && sniff(head) == Some(Format::Har) {
        let json = jsonp_body(bytes).unwrap_or(bytes);
        let summary = har::read_slice(json, ctx, sink)?;
        return Ok((Format::Har, summary));
    }
    let bad = bad_keylog_lines(ctx.keys.as_deref());
    let result = read_stream(Box::new(bytes), ctx, sink);
    with_keylog_warning(result, bad)
}

/// Exchanges in flight between the reading and the mapping thread.
const PIPELINE_DEPTH: usize = 256;

/// Bytes of exchanges (URLs, headers, bodies: [`Exchange::held_bytes`]) in flight
/// between the reading and the mapping thread. Past this the reader waits, so a
/// capture of multi-megabyte form posts holds a few of them, not 256.
const PIPELINE_BYTES: usize = 16 << 20;

/// Reads one input like [`read_source`], turns every exchange into an owned value
/// with `map`, and returns the values in input order. A memory-mapped HAR is read
/// on two threads: a large one in chunks taken by both ([`har::read_slice_split`]),
/// a smaller one parsed on this thread while `map` runs on a second one (a
/// two-stage pipeline, so reading and mapping overlap). A packet capture file
/// (pcap, pcapng, NetMon) is read, reassembled and decrypted on this thread while
/// `map` runs on a second one, the same two-stage pipeline. Other inputs, and
/// every input with [`ReadOptions::one_thread`], are read and mapped on this thread.
/// `on_exchange` runs on this thread once per exchange (progress counters).
pub fn read_source_mapped<T: Renumber + Send>(
    source: &Source,
    input_index: usize,
    progress: &dyn Progress,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Result<(Format, InputSummary, Vec<T>), CaptureError> {
    read_source_mapped_with(
        source,
        input_index,
        &ReadOptions::default(),
        progress,
        on_exchange,
        map,
    )
}

/// Like [`read_source_mapped`], with key logs and other reading options.
pub fn read_source_mapped_with<T: Renumber + Send>(
    source: &Source,
    input_index: usize,
    options: &ReadOptions,
    progress: &dyn Progress,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Result<(Format, InputSummary, Vec<T>), CaptureError> {
    // A FIFO or a device cannot be mapped: it is streamed below.
    if let Source::File(path) = source {
        if !options.one_thread && !special::is_stream(path) {
            let name = source.display_name();
            match open_file(path, &name)? {
                Opened::Har(file_map) => {
                    let json = jsonp_body(&file_map).unwrap_or(&file_map);
                    let (summary, out) = pipeline(
                        json,
                        &ReadCtx::new(&name).input(input_index).progress(progress),
                        on_exchange,
                        map,
                    )?;
                    unmap_in_background(file_map);
                    return Ok((Format::Har, summary, out));
                }
                Opened::Other(format @ (Format::Pcap | Format::Pcapng | Format::Netmon), file) => {
                    let keys = options.load_keys()?;
                    let bad = bad_keylog_lines(keys.as_deref());
                    let ctx = ReadCtx::new(&name)
                        .input(input_index)
                        .keys(keys)
                        .progress(progress)
                        .http_thread(true);
                    let (read, out) = two_stage(&name, on_exchange, map, |sink| {
                        read_capture(format, file, &ctx, sink)
                    })?;
                    let (format, summary) = with_keylog_warning(Ok(read), bad)?;
                    return Ok((format, summary, out));
                }
                Opened::Gzip(file) => {
                    let ctx = ReadCtx::new(&name).input(input_index).progress(progress);
                    if let Some(read) = gzip_har_mapped(file, ctx, on_exchange, map)? {
                        return Ok(read);
                    }
                }
                // Read again from the start below.
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let (format, summary) = read_source_with(source, input_index, options, progress, &mut |ex| {
        on_exchange();
        out.push(map(ex));
    })?;
    Ok((format, summary, out))
}

/// A gzip'd HAR read as a mapped one is ([`pipeline`]: two threads) when it
/// inflates to what [`har::hold_stream`] holds; past that, streamed as before,
/// mapped on this thread. `None` for any other gzip'd input, which the caller
/// reads again from its start.
fn gzip_har_mapped<T: Renumber + Send>(
    file: std::fs::File,
    ctx: ReadCtx<'_>,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Result<Option<(Format, InputSummary, Vec<T>)>, CaptureError> {
    let ctx = sized_by_gzip(&ctx, &file);
    let decoder = flate2::bufread::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut inflated = std::io::BufReader::with_capacity(1 << 16, decoder);
    // What is no HAR, or cannot be read at all, is left to the stream reader
    // (and its messages).
    let Ok(head) = std::io::BufRead::fill_buf(&mut inflated) else {
        return Ok(None);
    };
    if is_gzip(head) || sniff(head) != Some(Format::Har) || jsonp_head(head) {
        return Ok(None);
    }
    let (summary, out) = match har::hold_stream(&mut inflated, &ctx) {
        har::Held::Whole(bytes) => pipeline(&bytes, &ctx, on_exchange, map)?,
        unheld => {
            let mut out = Vec::new();
            let summary = har::read_held(unheld, inflated, &ctx, &mut |ex| {
                on_exchange();
                out.push(map(ex));
            })?;
            (summary, out)
        }
    };
    Ok(Some((Format::Har, summary, out)))
}

/// Maps larger than this are unmapped on a thread of their own.
const BACKGROUND_UNMAP_MIN: usize = 32 << 20;

/// Unmaps a large memory map on a detached thread. Tearing down the page tables
/// of a few hundred megabytes takes milliseconds that the analysis after the read
/// (flows, findings, the report) does not need to wait for: nothing made from
/// the map borrows it once reading is done. The pages are dropped in chunks with
/// `MADV_DONTNEED` first because `munmap` holds the address space's lock for
/// writing while it works, which would stall every allocation of the analysis
/// thread that needs a fresh page; `madvise` takes it for reading.
fn unmap_in_background(map: memmap2::Mmap) {
    if map.len() < BACKGROUND_UNMAP_MIN {
        return;
    }
    // If the thread cannot start, the map is dropped here instead.
    let _ = std::thread::Builder::new()
        .name("unmap".into())
        .spawn(move || {
            const CHUNK: usize = 4 << 20;
            for at in (0..map.len()).step_by(CHUNK) {
                let len = (map.len() - at).min(CHUNK);
                // SAFETY: nothing borrows the map any more and it was never written.
                let _ = unsafe {
                    map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, at, len)
                };
            }
            drop(map)
        });
}

fn pipeline<T: Renumber + Send>(
    json: &[u8],
    ctx: &ReadCtx<'_>,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
) -> Result<(InputSummary, Vec<T>), CaptureError> {
    // A large HAR is read in chunks by two threads, each mapped where it is read.
    if let Some(result) = har::read_slice_split(json, ctx, on_exchange, map) {
        return result;
    }
    let (summary, out) = two_stage(ctx.name, on_exchange, map, |sink| {
        har::read_slice(json, ctx, sink)
    })?;
    Ok((summary, out))
}

/// Runs `read` on this thread and `map` on a second one, the exchanges passed
/// through a bounded channel ([`PIPELINE_DEPTH`] exchanges, [`PIPELINE_BYTES`]
/// bytes), so the values come out in the order `read` emitted them. A panic of
/// the mapping thread becomes an error naming the input (and stops the reader at
/// its next exchange); an error of `read` is returned once the mapping thread
/// has finished.
fn two_stage<'a, T: Send, R>(
    name: &str,
    on_exchange: &dyn Fn(),
    map: &(dyn Fn(Exchange<'_>) -> T + Sync),
    read: impl FnOnce(&mut dyn FnMut(Exchange<'a>)) -> Result<R, CaptureError>,
) -> Result<(R, Vec<T>), CaptureError> {
    let in_flight = InFlight::default();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Exchange<'a>, usize)>(PIPELINE_DEPTH);
        let in_flight = &in_flight;
        let worker = std::thread::Builder::new()
            .name("analysis".into())
            .spawn_scoped(scope, move || {
                // Wakes the reader if this thread panics, so it cannot wait forever.
                let _closed = in_flight.close_on_drop();
                let mut out = Vec::new();
                for (ex, bytes) in rx {
                    out.push(map(ex));
                    in_flight.give(bytes);
                }
                out
            })
            .map_err(|e| analysis_failed(name, &e.to_string()))?;
        let result = read(&mut |ex| {
            on_exchange();
            let bytes = ex.held_bytes();
            // A closed pipeline means the mapping thread failed: join() reports it.
            if in_flight.take(bytes) {
                let _ = tx.send((ex, bytes));
            }
        });
        // Closing the channel lets the worker finish.
        drop(tx);
        let out = worker
            .join()
            .map_err(|panic| analysis_failed(name, panic_message(&*panic)))?;
        Ok((result?, out))
    })
}

fn analysis_failed(name: &str, why: &str) -> CaptureError {
    CaptureError::Malformed {
        path: name.to_string(),
        place: "analysis".to_string(),
        detail: format!("the analysis thread failed: {why}"),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "a panic"
    }
}

/// The bytes in flight in a [`two_stage`] pipeline, and whether its mapping
/// thread has stopped.
#[derive(Default)]
struct InFlight {
    state: std::sync::Mutex<(usize, bool)>,
    changed: std::sync::Condvar,
}

impl InFlight {
    /// Waits until `bytes` more fit under [`PIPELINE_BYTES`] (one exchange larger
    /// than that goes alone); false when the mapping thread has stopped.
    fn take(&self, bytes: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !state.1 && state.0 > 0 && state.0 + bytes > PIPELINE_BYTES {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.0 += bytes;
        !state.1
    }

    fn give(&self, bytes: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 = state.0.saturating_sub(bytes);
        self.changed.notify_all();
    }

    fn close_on_drop(&self) -> impl Drop + '_ {
        struct Close<'a>(&'a InFlight);
        impl Drop for Close<'_> {
            fn drop(&mut self) {
                let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
                state.1 = true;
                self.0.changed.notify_all();
            }
        }
        Close(self)
    }
}

/// Reads any input from a reader (bytes held in memory, an archive member): the
/// format is sniffed from its head and the input streamed, as for standard input.
pub fn read_reader(
    reader: Box<dyn Read + '_>,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    read_stream(reader, ctx, sink)
}

/// Reads a non-seekable input (stdin, gzip): sniffs its head, then streams it.
fn read_stream(
    reader: Box<dyn Read + '_>,
    ctx: &ReadCtx<'_>,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<(Format, InputSummary), CaptureError> {
    let name = ctx.name;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let head = fill_head(&mut reader, name)?;
    if is_gzip(&head) {
        let inner = flate2::bufread::MultiGzDecoder::new(reader);
        return read_stream(Box::new(inner), ctx, sink);
    }
    let format = sniff(&head).ok_or_else(|| unknown_format(name, &head))?;
    match format {
        Format::Har if jsonp_head(&head) => Err(CaptureError::Malformed {
            path: name.to_string(),
            place: "start".to_string(),
            detail: "a JSONP-wrapped HAR (`name({...})`) can be read from a file, not from a stream; save it to a file first".to_string(),
        }),
        Format::Har => {
            let summary = har::read_stream(reader, ctx, sink)?;
            Ok((Format::Har, summary))
        }
        Format::Pcap | Format::Pcapng => {
            let summary = pcap::read(reader, ctx, sink)?;
            Ok((format, summary))
        }
        Format::Netmon => {
            let summary =
                netmon::read_stream(reader, ctx, sink)?;
            Ok((format, summary))
        }
        Format::Saz => {
            let summary = saz::read_stream(reader, ctx, sink)?;
            Ok((Format::Saz, summary))
        }
        Format::Netlog => {
            let summary = netlog::read_stream(reader, ctx, sink)?;
            Ok((Format::Netlog, summary))
        }
    }
}

/// Looks at the buffered head of a stream without consuming it.
fn fill_head<R: std::io::BufRead>(reader: &mut R, name: &str) -> Result<Vec<u8>, CaptureError> {
    let buf = reader.fill_buf().map_err(|source| CaptureError::Io {
        path: name.to_string(),
        source,
    })?;
    if buf.is_empty() {
        return Err(CaptureError::UnknownFormat {
            path: name.to_string(),
            detail: "the input is empty".to_string(),
        });
    }
    Ok(buf[..buf.len().min(512)].to_vec())
}

/// Reads until `buf` is full or the input ends (a pipe or a gzip stream returns
/// short reads); returns how many bytes were read.
pub fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Recognises a format from the first bytes of an (uncompressed) input.
pub fn sniff(head: &[u8]) -> Option<Format> {
    const PCAP_MAGICS: [[u8; 4]; 4] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
    ];
    if head.len() >= 4 {
        let magic = [head[0], head[1], head[2], head[3]];
        if PCAP_MAGICS.contains(&magic)
            || magic == [0xa1, 0xb2, 0xcd, 0x34]
            || magic == [0x34, 0xcd, 0xb2, 0xa1]
        {
            return Some(Format::Pcap);
        }
        if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
            return Some(Format::Pcapng);
        }
        if &magic == b"GMBU" || &magic == b"RTSS" {
            return Some(Format::Netmon);
        }
        if &magic == b"PK\x03\x04" {
            return Some(Format::Saz);
        }
    }
    sniff_json(head)
}

/// The JSON object inside a JSONP wrapper (`onInputData({…});`, the `.harp` form
/// HAR Viewer reads), or `None` when `bytes` is not wrapped.
pub fn jsonp_body(bytes: &[u8]) -> Option<&[u8]> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &text[start..];
    let ident_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
        .count();
    if ident_len == 0 || rest[0].is_ascii_digit() {
        return None;
    }
    let after = &rest[ident_len..];
    let paren = after.iter().position(|b| !b.is_ascii_whitespace())?;
    if after[paren] != b'(' {
        return None;
    }
    let body = &after[paren + 1..];
    let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[open] != b'{' {
        return None;
    }
    let close = body.iter().rposition(|&b| b == b'}')?;
    (close > open).then(|| &body[open..=close])
}

/// HAR is `{"log": …}`; a NetLog is `{"constants": …` or `{"events": …`.
fn sniff_json(head: &[u8]) -> Option<Format> {
    if head.len() >= 2 && jsonp_head(head) {
        return Some(Format::Har);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    if text[start] != b'{' {
        return None;
    }
    let window = String::from_utf8_lossy(&text[start..]);
    let first_key = window[1..]
        .trim_start()
        .strip_prefix('"')
        .and_then(|s| s.split('"').next())
        .unwrap_or("");
    match first_key {
        "constants" | "events" | "polledData" => Some(Format::Netlog),
        // A HAR's only member is `log`; anything else that is a JSON object is tried
        // as HAR too, so its reader can say precisely what is missing.
        _ => Some(Format::Har),
    }
}

/// True when a head starts like `identifier ( {` (a JSONP-wrapped HAR).
fn jsonp_head(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let t: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(64)
        .collect();
    let ident = t
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
        .count();
    ident > 0
        && !t[0].is_ascii_digit()
        && t.get(ident) == Some(&b'(')
        && t.get(ident + 1) == Some(&b'{')
}

fn unknown_format(name: &str, head: &[u8]) -> CaptureError {
    let shown: String = head
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let detail = match kind::describe(head) {
        Some(what) => format!("this is {what}; first bytes {shown}"),
        None => {
            format!("first bytes {shown} are not HAR, pcap, pcapng, Network Monitor, SAZ or NetLog")
        }
    };
    CaptureError::UnknownFormat {
        path: name.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipeline's byte cap: a reader waits while the bytes in flight would
    /// pass it, goes on when the mapping thread gives bytes back, and stops
    /// waiting (told to drop the exchange) when the mapping thread is gone.
    #[test]
    fn pipeline_bytes_in_flight_are_capped() {
        use std::sync::mpsc::channel;
        use std::time::Duration;
        let in_flight = &InFlight::default();
        // One exchange larger than the cap goes alone.
        assert!(in_flight.take(PIPELINE_BYTES + 1));
        std::thread::scope(|s| {
            let (done, waited) = channel();
            s.spawn(move || done.send(in_flight.take(1)).unwrap());
            assert!(waited.recv_timeout(Duration::from_millis(100)).is_err());
            in_flight.give(PIPELINE_BYTES + 1);
            assert_eq!(waited.recv_timeout(Duration::from_secs(10)), Ok(true));
        });
        assert!(in_flight.take(PIPELINE_BYTES - 1));
        std::thread::scope(|s| {
            let (done, waited) = channel();
            s.spawn(move || done.send(in_flight.take(10)).unwrap());
            assert!(waited.recv_timeout(Duration::from_millis(100)).is_err());
            drop(in_flight.close_on_drop());
            assert_eq!(waited.recv_timeout(Duration::from_secs(10)), Ok(false));
        });
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 0, 0]), Some(Format::Pcap));
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), Some(Format::Pcapng));
        assert_eq!(sniff(b"GMBU\x00\x02"), Some(Format::Netmon));
        assert_eq!(sniff(b"PK\x03\x04"), Some(Format::Saz));
        assert_eq!(sniff(b"\xEF\xBB\xBF  {\"log\":{}}"), Some(Format::Har));
        assert_eq!(sniff(b"{\"constants\": {"), Some(Format::Netlog));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b"onInputData({\"log\":"), Some(Format::Har));
    }

    #[test]
    fn unwraps_jsonp() {
        assert_eq!(
            jsonp_body(b"onInputData({\"log\":{}});\n"),
            Some(&b"{\"log\":{}}"[..])
        );
        assert_eq!(jsonp_body(b"{\"log\":{}}"), None);
        assert_eq!(jsonp_body(b"f(1)"), None);
    }
}
