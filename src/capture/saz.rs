//! Fiddler session archive (`.saz`) reader.
//!
//! Format references (no code taken from any of them):
//! - Telerik, "Fiddler Classic: Session Archive Zip (SAZ) format" and the FiddlerCore
//!   API reference for `Fiddler.SessionFlags` (the `BitFlags` attribute) and
//!   `Fiddler.SessionTimers`.
//! - `shared/corpus/SOURCES.md` §"Fiddler session archive (.saz)" and
//!   `shared/docs/dependencies.md` §3.8.
//! - PKWARE APPNOTE.TXT (the zip container, ZipCrypto), WinZip "AES Encryption
//!   Information: Encryption Specification AE-1 and AE-2" (AES entries); both are
//!   handled by the `zip` crate.
//!
//! A SAZ is a plain zip. For session `N` (any zero padding, sorted numerically):
//! - `raw/N_c.txt`: the request as Fiddler forwarded it: request line (absolute URL
//!   for proxied requests, `CONNECT host:port` for tunnels), headers, blank line,
//!   body;
//! - `raw/N_s.txt`: the response exactly as stored: status line, headers, body. The
//!   body may be still chunked and still gzip/deflate encoded, or already decoded
//!   with the headers left as they were, so the bytes are trusted, not the headers;
//! - `raw/N_m.xml`: `<Session SID BitFlags>` with `<SessionTimers …>` (.NET
//!   round-trip times, 7 fraction digits and an offset) and `<SessionFlags>` name/value
//!   pairs (`x-clientip`, `x-hostip`, `x-processinfo`…); missing in minimal archives
//!   written by other tools;
//! - `raw/N_w.txt`: WebSocket messages (skipped: sign-ins do not use WebSockets).
//!
//! The reader never extracts anything to disk. It still refuses archives whose
//! member names try to leave the archive (`../`, absolute paths): such a file was not
//! written by Fiddler. Each member is read with a size cap, so a zip bomb stops with
//! a clear error instead of filling memory.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Seek};

use super::tally::{Capped, Tally};
use super::{CaptureError, InputSummary, InputWarning, Progress, WarningCode};
use crate::http::content::{self, Outcome, MAX_DECODED};
use crate::http::message::{
    self, parse_head, parse_request_line, parse_status_line, split_head, to_headers, Dechunked,
    RequestLine, StatusLine,
};
use crate::http::{Body, Exchange, Headers, Origin, Request, Response, Timing};

/// Environment variable holding the password of a protected SAZ.
pub const PASSWORD_ENV: &str = "AADTRACE_SAZ_PASSWORD";
/// Largest member (uncompressed) read from the archive.
const MAX_MEMBER: u64 = 256 << 20;
/// Largest total of uncompressed members; past this the archive is a bomb.
const MAX_TOTAL: u64 = 8 << 30;
/// Largest archive read from a stream into memory.
const MAX_STREAM: u64 = 4 << 30;
/// Per-session `malformed_entry` warnings before they are only counted.
const MAX_SESSION_WARNINGS: usize = 20;

// `Fiddler.SessionFlags` values (FiddlerCore API reference). `BitFlags` in `_m.xml`
// is written in hexadecimal: a decrypting CONNECT tunnel whose "200 Connection
// Established" Fiddler generated is `2100` = IsDecryptingTunnel | ResponseGeneratedByFiddler.
const FLAG_IS_HTTPS: u64 = 0x1;
const FLAG_RESPONSE_GENERATED_BY_FIDDLER: u64 = 0x100;
const FLAG_RESPONSE_BODY_DROPPED: u64 = 0x20000;
const FLAG_REQUEST_BODY_DROPPED: u64 = 0x10_0000;

/// Reads a SAZ from a file on disk. The password comes from [`PASSWORD_ENV`].
pub fn read_file(
    file: std::fs::File,
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let password = std::env::var(PASSWORD_ENV).ok();
    let reader = std::io::BufReader::new(file);
    read(
        reader,
        name,
        input_index,
        password.as_deref(),
        progress,
        sink,
    )
}

/// Reads a SAZ from a non-seekable stream: the archive is buffered in memory first
/// (zip keeps its directory at the end).
pub fn read_stream<R: Read>(
    reader: R,
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_STREAM + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CaptureError::Io {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_STREAM {
        return Err(malformed(
            name,
            "archive",
            format!(
                "a SAZ read from a stream may be at most {} GiB; save it to a file first",
                MAX_STREAM >> 30
            ),
        ));
    }
    let password = std::env::var(PASSWORD_ENV).ok();
    read(
        std::io::Cursor::new(bytes),
        name,
        input_index,
        password.as_deref(),
        progress,
        sink,
    )
}

/// Reads a SAZ from anything seekable, with an explicit password.
pub fn read<R: Read + Seek>(
    reader: R,
    name: &str,
    input_index: usize,
    password: Option<&str>,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| {
        malformed(
            name,
            "zip directory",
            format!("not a readable zip archive, so not a SAZ ({e})"),
        )
    })?;
    let producer = producer_from_comment(archive.comment());

    // Index the members: session number → (request, response, metadata).
    let mut sessions: BTreeMap<u64, Members> = BTreeMap::new();
    for i in 0..archive.len() {
        let member = match archive.name_for_index(i) {
            Some(Ok(n)) => n.into_owned(),
            Some(Err(e)) => {
                return Err(malformed(
                    name,
                    &format!("zip entry {i}"),
                    format!("unreadable entry name ({e})"),
                ))
            }
            None => continue,
        };
        if is_unsafe_name(&member) {
            return Err(malformed(
                name,
                &format!("zip entry {member:?}"),
                "the name points outside the archive (path traversal); Fiddler never writes such names, so this file is refused".into(),
            ));
        }
        if let Some((number, part)) = session_member(&member) {
            let m = sessions.entry(number).or_default();
            match part {
                Part::Request => m.request = Some(i),
                Part::Response => m.response = Some(i),
                Part::Meta => m.meta = Some(i),
                Part::WebSocket => {}
            }
        }
    }
    if !sessions.values().any(|m| m.request.is_some()) {
        return Err(malformed(
            name,
            "archive",
            "a zip archive without raw/N_c.txt members, so not a Fiddler session archive".into(),
        ));
    }

    let mut reader = SazReader {
        name,
        password: password.map(str::as_bytes),
        total: 0,
        consumed: 0,
        counters: Counters {
            malformed: Capped::new(MAX_SESSION_WARNINGS),
            response_dropped: 0,
            request_dropped: 0,
            no_meta: 0,
            no_offset: 0,
            chunked_cut: 0,
            undecoded: Vec::new(),
            undecodable: 0,
            truncated: 0,
            capped: 0,
        },
        warnings: Vec::new(),
    };
    let mut delivered = 0usize;
    for (&number, members) in &sessions {
        let Some(req_index) = members.request else {
            reader.session_warning(number, "raw/N_s.txt without raw/N_c.txt");
            continue;
        };
        let request = reader.member(&mut archive, req_index)?;
        let response = match members.response {
            Some(i) => Some(reader.member(&mut archive, i)?),
            None => None,
        };
        let meta = match members.meta {
            Some(i) => {
                let xml = reader.member(&mut archive, i)?;
                Some(parse_meta(&xml))
            }
            None => None,
        };
        match reader.session(number, input_index, &request, response.as_deref(), meta) {
            Ok(Some(exchange)) => {
                delivered += 1;
                sink(exchange);
            }
            Ok(None) => {}
            Err(what) => reader.session_warning(number, &what),
        }
        progress.advance_to(reader.consumed);
    }
    Ok(InputSummary {
        producer,
        exchanges: delivered,
        warnings: reader.finish(),
        connections: Vec::new(),
    })
}

#[derive(Default)]
struct Members {
    request: Option<usize>,
    response: Option<usize>,
    meta: Option<usize>,
}

enum Part {
    Request,
    Response,
    Meta,
    WebSocket,
}

/// `raw/0042_c.txt` → (42, Request). Names are compared without case; `\` is accepted
/// as a separator (archives re-zipped on Windows).
fn session_member(member: &str) -> Option<(u64, Part)> {
    let lower = member.replace('\\', "/").to_ascii_lowercase();
    let file = lower.strip_prefix("raw/")?;
    let (number, rest) = file.split_once('_')?;
    if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = match rest {
        "c.txt" => Part::Request,
        "s.txt" => Part::Response,
        "m.xml" => Part::Meta,
        "w.txt" => Part::WebSocket,
        _ => return None,
    };
    Some((number.parse().ok()?, part))
}

/// True for names that would leave the archive if extracted: absolute paths, drive
/// letters, `..` components, NUL bytes.
fn is_unsafe_name(member: &str) -> bool {
    let n = member.replace('\\', "/");
    n.starts_with('/')
        || n.contains('\0')
        || n.as_bytes().get(1) == Some(&b':')
        || n.split('/').any(|c| c == "..")
}

/// `Fiddler (v5.0.20253.3311) Session Archive. See …` → `Fiddler 5.0.20253.3311`.
fn producer_from_comment(comment: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(comment);
    let text = text.trim();
    if !text.starts_with("Fiddler") {
        return None;
    }
    let version = text
        .split_once("(v")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(v, _)| v.trim());
    Some(match version {
        Some(v) if !v.is_empty() => format!("Fiddler {v}"),
        _ => "Fiddler".to_string(),
    })
}

fn malformed(name: &str, place: &str, detail: String) -> CaptureError {
    CaptureError::Malformed {
        path: name.to_string(),
        place: place.to_string(),
        detail,
    }
}

/// What went wrong how often, reported once at the end.
struct Counters {
    /// Malformed sessions: the first [`MAX_SESSION_WARNINGS`] each get a warning.
    malformed: Capped,
    response_dropped: usize,
    request_dropped: usize,
    no_meta: usize,
    no_offset: usize,
    chunked_cut: usize,
    undecoded: Vec<String>,
    undecodable: usize,
    truncated: usize,
    capped: usize,
}

struct SazReader<'n> {
    name: &'n str,
    password: Option<&'n [u8]>,
    /// Uncompressed bytes read so far (bomb guard).
    total: u64,
    /// Compressed bytes read so far (progress).
    consumed: u64,
    counters: Counters,
    warnings: Vec<InputWarning>,
}

impl SazReader<'_> {
    /// Reads one member whole, decrypting when needed, within the size caps.
    fn member<R: Read + Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        index: usize,
    ) -> Result<Vec<u8>, CaptureError> {
        let name = self.name;
        let (member, encrypted) = {
            let raw = archive.by_index_raw(index).map_err(|e| {
                malformed(
                    name,
                    &format!("zip entry {index}"),
                    format!("unreadable ({e})"),
                )
            })?;
            (
                raw.name().map(|n| n.into_owned()).unwrap_or_default(),
                raw.encrypted(),
            )
        };
        let place = format!("zip entry {member:?}");
        let file = if encrypted {
            let Some(password) = self.password else {
                return Err(malformed(
                    name,
                    &place,
                    format!("this SAZ is password-protected: set {PASSWORD_ENV} (or --password)"),
                ));
            };
            archive
                .by_index_decrypt(index, password)
                .map_err(|e| match e {
                    zip::result::ZipError::InvalidPassword => malformed(
                        name,
                        &place,
                        format!("the password in {PASSWORD_ENV} does not open this SAZ"),
                    ),
                    e => malformed(name, &place, format!("cannot decrypt ({e})")),
                })?
        } else {
            archive
                .by_index(index)
                .map_err(|e| malformed(name, &place, format!("cannot read ({e})")))?
        };
        let declared = file.size();
        self.consumed = self.consumed.saturating_add(file.compressed_size());
        if declared > MAX_MEMBER {
            return Err(bomb(name, &place, declared));
        }
        let mut out = Vec::with_capacity(declared.min(1 << 20) as usize);
        file.take(MAX_MEMBER + 1)
            .read_to_end(&mut out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                    if encrypted {
                        malformed(
                            name,
                            &place,
                            format!(
                                "cannot decrypt or inflate ({e}); is the password in {PASSWORD_ENV} right?"
                            ),
                        )
                    } else {
                        malformed(name, &place, format!("damaged member ({e})"))
                    }
                }
                _ => malformed(name, &place, format!("damaged member ({e})")),
            })?;
        if out.len() as u64 > MAX_MEMBER {
            return Err(bomb(name, &place, out.len() as u64));
        }
        self.total = self.total.saturating_add(out.len() as u64);
        if self.total > MAX_TOTAL {
            return Err(malformed(
                name,
                &place,
                format!(
                    "the members expand to more than {} GiB in total: refusing a possible zip bomb",
                    MAX_TOTAL >> 30
                ),
            ));
        }
        Ok(out)
    }

    fn session_warning(&mut self, number: u64, what: &str) {
        if self.counters.malformed.admit() {
            self.warnings.push(InputWarning::new(
                WarningCode::MalformedEntry,
                format!("session {number}: {what}"),
            ));
        }
    }

    /// Builds the exchange of one session, or `None` for a tunnel that is not one.
    fn session(
        &mut self,
        number: u64,
        input: usize,
        request: &[u8],
        response: Option<&[u8]>,
        meta: Option<Meta>,
    ) -> Result<Option<Exchange<'static>>, String> {
        let (req_head, req_body) = split_head(request);
        let (line, headers) = parse_head(req_head);
        let RequestLine {
            method,
            target,
            version,
        } = parse_request_line(&line)
            .ok_or_else(|| format!("unreadable request line {:?}", truncate(&line, 80)))?;
        let headers = to_headers(headers);
        let meta = meta.unwrap_or_else(|| {
            self.counters.no_meta += 1;
            Meta::default()
        });
        let is_connect = method.eq_ignore_ascii_case("CONNECT");
        let url = if is_connect {
            format!("https://{target}")
        } else if target.contains("://") {
            target.to_string()
        } else {
            let scheme = if meta.bit_flags & FLAG_IS_HTTPS != 0
                || meta.flag("https-client-version").is_some()
            {
                "https"
            } else {
                "http"
            };
            let host = headers.get("host").unwrap_or("");
            format!("{scheme}://{host}{target}")
        };
        let req_body = if meta.bit_flags & FLAG_REQUEST_BODY_DROPPED != 0 {
            self.counters.request_dropped += 1;
            Body::Omitted {
                size: headers
                    .get("content-length")
                    .and_then(message::content_length)
                    .unwrap_or(0),
            }
        } else {
            self.body(&headers, req_body)
        };

        let mut error: Option<String> = None;
        let mut resp = None;
        match response.filter(|r| !r.is_empty()) {
            None => error = Some("no response".into()),
            Some(raw) => {
                let (head, body) = split_head(raw);
                let (line, headers) = parse_head(head);
                let Some(StatusLine {
                    version,
                    status,
                    reason,
                }) = parse_status_line(&line)
                else {
                    return Err(format!("unreadable status line {:?}", truncate(&line, 80)));
                };
                let headers = to_headers(headers);
                let generated = meta.bit_flags & FLAG_RESPONSE_GENERATED_BY_FIDDLER != 0;
                if generated && status >= 500 && body.starts_with(b"[Fiddler]") {
                    // Fiddler's own error page: the request never got an answer.
                    let text = String::from_utf8_lossy(body);
                    let first = text.lines().next().unwrap_or("");
                    let first = first.split("<br").next().unwrap_or(first).trim();
                    error = Some(truncate(first, 300));
                } else {
                    if is_connect && (200..300).contains(&status) {
                        return Ok(None);
                    }
                    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
                    let body = if meta.bit_flags & FLAG_RESPONSE_BODY_DROPPED != 0 && !no_body {
                        self.counters.response_dropped += 1;
                        Body::Omitted {
                            size: meta
                                .flag("x-responsebodytransferlength")
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0),
                        }
                    } else {
                        self.body(&headers, body)
                    };
                    resp = Some(Response {
                        status,
                        reason: Cow::Owned(reason),
                        http_version: Cow::Owned(version),
                        headers,
                        body,
                        body_mime: None,
                    });
                }
            }
        }

        let started_us = match meta.begin_request {
            Some(t) => t,
            None => resp
                .as_ref()
                .and_then(|r| r.headers.get("date"))
                .and_then(http_date_us)
                .unwrap_or(0),
        };
        if meta.no_offset {
            self.counters.no_offset += 1;
        }
        let duration_ms = match (meta.begin_request, meta.done_response) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        };
        let wait_ms = match (meta.server_got_request, meta.server_begin_response) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        };
        Ok(Some(Exchange {
            request: Request {
                method: Cow::Owned(method.to_string()),
                url: Cow::Owned(url),
                http_version: Cow::Owned(version.to_string()),
                headers,
                body: req_body,
                body_mime: None,
            },
            response: resp,
            error: error.map(Cow::Owned),
            timing: Timing {
                started_us,
                duration_ms,
                wait_ms,
            },
            origin: Origin {
                input,
                index: number,
            },
            connection: None,
            server_ip: meta
                .flag("x-hostip")
                .filter(|s| !s.is_empty())
                .map(|s| Cow::Owned(s.to_string())),
        }))
    }

    /// The body as stored, de-chunked when the bytes are chunked and decoded when
    /// they are still encoded (the bytes decide, not the headers).
    fn body(&mut self, headers: &Headers<'_>, raw: &[u8]) -> Body<'static> {
        if raw.is_empty() {
            return Body::Absent;
        }
        let says_chunked = headers
            .get_all("transfer-encoding")
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let bytes: Vec<u8> = match message::dechunk(raw) {
            Dechunked::Complete(b, _) => b,
            Dechunked::Cut(b) if says_chunked => {
                self.counters.chunked_cut += 1;
                b
            }
            _ => raw.to_vec(),
        };
        let codings: Vec<&str> = headers.get_all("content-encoding").collect();
        let (bytes, outcome) = content::decode(&codings.join(","), bytes, MAX_DECODED);
        match outcome {
            Outcome::Done => {}
            Outcome::Capped => self.counters.capped += 1,
            Outcome::Truncated => self.counters.truncated += 1,
            Outcome::Failed => self.counters.undecodable += 1,
            Outcome::Unsupported(coding) => {
                if !self.counters.undecoded.contains(&coding) {
                    self.counters.undecoded.push(coding);
                }
            }
        }
        Body::Bytes(Cow::Owned(bytes))
    }

    fn finish(self) -> Vec<InputWarning> {
        let c = &self.counters;
        let mut t = Tally::from_warnings(self.warnings);
        t.count(WarningCode::MalformedEntry, c.malformed.over(), |n| {
            format!("{n} more malformed sessions were skipped")
        })
        .when(
            c.response_dropped > 0 || c.request_dropped > 0,
            WarningCode::MissingBody,
            || format!(
                "Fiddler dropped {} response bodies and {} request bodies (streamed or log-drop-*-body)",
                c.response_dropped, c.request_dropped
            ),
        )
        .count(WarningCode::TimestampInvalid, c.no_meta, |n| {
            format!("{n} sessions have no raw/N_m.xml: their times come from the response Date header (whole seconds) or are unknown")
        })
        .count(WarningCode::TimestampNoOffset, c.no_offset, |n| {
            format!("{n} sessions have SessionTimers without a time zone; read as UTC")
        })
        .count(WarningCode::CaptureTruncated, c.chunked_cut, |n| {
            format!("{n} chunked bodies stop before their last chunk; the part stored was read")
        })
        .when(!c.undecoded.is_empty(), WarningCode::BodyUndecoded, || {
            format!(
                "bodies with Content-Encoding {} cannot be decoded yet and were left as stored",
                c.undecoded.join(", ")
            )
        })
        .count(WarningCode::BodyUndecoded, c.undecodable, |n| {
            format!("{n} bodies are marked gzip/deflate but do not inflate; left as stored")
        })
        .count(WarningCode::BodyUndecoded, c.truncated, |n| {
            format!("{n} compressed bodies stop in the middle; what inflated before the break was kept")
        })
        .count(WarningCode::BodyCapped, c.capped, |n| {
            format!(
                "{n} bodies inflate to more than {} MiB; only the first {} MiB were kept",
                MAX_DECODED >> 20,
                MAX_DECODED >> 20
            )
        });
        t.into_warnings()
    }
}

fn bomb(name: &str, place: &str, size: u64) -> CaptureError {
    malformed(
        name,
        place,
        format!(
            "the member expands to {} bytes, more than the {} MiB a session may have: refusing a possible zip bomb",
            size,
            MAX_MEMBER >> 20
        ),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An HTTP `Date` (IMF-fixdate, RFC 9110 §5.6.7) in µs since the epoch.
fn http_date_us(value: &str) -> Option<i64> {
    let ts = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value.trim())
        .ok()?;
    Some(ts.as_microsecond())
}

// ---------------------------------------------------------------------------
// `_m.xml`

/// What `raw/N_m.xml` says about a session.
#[derive(Debug, Default)]
struct Meta {
    bit_flags: u64,
    begin_request: Option<i64>,
    server_got_request: Option<i64>,
    server_begin_response: Option<i64>,
    done_response: Option<i64>,
    no_offset: bool,
    flags: Vec<(String, String)>,
}

impl Meta {
    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads `<Session BitFlags>`, `<SessionTimers>` and `<SessionFlag N V>`; anything
/// unreadable is left at its default.
fn parse_meta(xml: &[u8]) -> Meta {
    use quick_xml::events::Event;
    let text = String::from_utf8_lossy(xml);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = quick_xml::Reader::from_str(text);
    let mut meta = Meta::default();
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let (Event::Start(e) | Event::Empty(e)) = event else {
            continue;
        };
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .filter_map(|a| {
                let key: &str = a.key.as_ref();
                let key = key.to_string();
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()?
                    .into_owned();
                Some((key, value))
            })
            .collect();
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let qname = e.name();
        let element: &str = qname.as_ref();
        match element {
            "Session" => {
                if let Some(v) = get("BitFlags") {
                    meta.bit_flags = u64::from_str_radix(v.trim(), 16).unwrap_or(0);
                }
            }
            "SessionTimers" => {
                let mut time = |k: &str| {
                    let (us, offset) = dotnet_time(get(k)?)?;
                    if !offset {
                        meta.no_offset = true;
                    }
                    Some(us)
                };
                let begin = time("ClientBeginRequest");
                let got = time("ServerGotRequest");
                let first_byte = time("ServerBeginResponse");
                let done = time("ClientDoneResponse");
                meta.begin_request = begin;
                meta.server_got_request = got;
                meta.server_begin_response = first_byte;
                meta.done_response = done;
            }
            "SessionFlag" => {
                if let (Some(n), Some(v)) = (get("N"), get("V")) {
                    meta.flags.push((n.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    meta
}

/// A .NET round-trip time (`2025-08-30T11:33:40.0256586-07:00`: up to 7 fraction
/// digits, offset `Z`/`±hh:mm` or none) → (µs since the epoch, had an offset).
/// `0001-01-01T00:00:00` (`DateTime.MinValue`) means "never happened": `None`.
fn dotnet_time(value: &str) -> Option<(i64, bool)> {
    let v = value.trim();
    if v.is_empty() || v.starts_with("0001-01-01") {
        return None;
    }
    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        return Some((ts.as_microsecond(), true));
    }
    let dt: jiff::civil::DateTime = v.parse().ok()?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some((ts.as_microsecond(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert!(matches!(
            session_member("raw/01_c.txt"),
            Some((1, Part::Request))
        ));
        assert!(matches!(
            session_member("raw/0071_S.TXT"),
            Some((71, Part::Response))
        ));
        assert!(matches!(
            session_member("raw\\3_m.xml"),
            Some((3, Part::Meta))
        ));
        assert!(session_member("raw/_c.txt").is_none());
        assert!(session_member("_index.htm").is_none());
        assert!(is_unsafe_name("../evil.txt"));
        assert!(is_unsafe_name("raw/../../x"));
        assert!(is_unsafe_name("/etc/passwd"));
        assert!(is_unsafe_name("C:\\x"));
        assert!(!is_unsafe_name("raw/1_c.txt"));
    }

    #[test]
    fn dotnet_times() {
        let (us, off) = dotnet_time("2025-08-30T11:33:40.0256586-07:00").unwrap();
        assert!(off);
        assert_eq!(us, 1_756_578_820_025_658);
        assert_eq!(dotnet_time("0001-01-01T00:00:00"), None);
        let (_, off) = dotnet_time("2025-08-30T11:33:40.1").unwrap();
        assert!(!off);
    }

    #[test]
    fn producer() {
        assert_eq!(
            producer_from_comment(
                b"Fiddler (v5.0.20253.3311) Session Archive. See https://api.getfiddler.com/r/?fiddler"
            ),
            Some("Fiddler 5.0.20253.3311".into())
        );
        assert_eq!(producer_from_comment(b""), None);
    }
}
