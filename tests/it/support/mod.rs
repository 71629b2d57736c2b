//! Shared by the SAZ and NetLog tests: the seven sample sign-ins read from
//! `captures/*.har`, owned, and a compact signature of what the analysis made of a
//! trace (flows and findings) so two formats of the same session can be compared.
#![allow(dead_code)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use aadtrace::capture::{read_source, NoProgress, Source};
use aadtrace::http::{Body, Exchange, Header, Headers, Request, Response};
use aadtrace::session::{self, Session, SessionOptions};

pub mod netlog_writer;
pub mod redaction;
pub mod saz_writer;
pub mod tls_conversations;

pub fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "har"))
        .collect();
    out.sort();
    assert!(out.len() >= 7, "the seven sample sign-ins: {out:?}");
    out
}

pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Every exchange of a HAR, owned, bodies decoded to bytes.
pub fn load_har(path: &Path) -> Vec<Exchange<'static>> {
    let mut out = Vec::new();
    read_source(
        &Source::File(path.to_path_buf()),
        0,
        &NoProgress,
        &mut |ex| out.push(owned(&ex)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

fn owned_headers(h: &Headers<'_>) -> Headers<'static> {
    Headers(
        h.0.iter()
            .map(|h| Header::new(h.name.to_string(), h.value.to_string()))
            .collect(),
    )
}

fn owned_body(b: &Body<'_>) -> Body<'static> {
    match b {
        Body::Absent => Body::Absent,
        Body::Omitted { size } => Body::Omitted { size: *size },
        other => Body::Bytes(Cow::Owned(
            other.decode().expect("sample bodies decode").into_owned(),
        )),
    }
}

pub fn owned(ex: &Exchange<'_>) -> Exchange<'static> {
    Exchange {
        request: Request {
            method: Cow::Owned(ex.request.method.to_string()),
            url: Cow::Owned(ex.request.url.to_string()),
            http_version: Cow::Owned(ex.request.http_version.to_string()),
            headers: owned_headers(&ex.request.headers),
            body: owned_body(&ex.request.body),
            body_mime: ex
                .request
                .body_mime
                .as_ref()
                .map(|m| Cow::Owned(m.to_string())),
        },
        response: ex.response.as_ref().map(|r| Response {
            status: r.status,
            reason: Cow::Owned(r.reason.to_string()),
            http_version: Cow::Owned(r.http_version.to_string()),
            headers: owned_headers(&r.headers),
            body: owned_body(&r.body),
            body_mime: r.body_mime.as_ref().map(|m| Cow::Owned(m.to_string())),
        }),
        error: ex.error.as_ref().map(|e| Cow::Owned(e.to_string())),
        timing: ex.timing,
        origin: ex.origin,
        connection: ex.connection,
        server_ip: ex.server_ip.as_ref().map(|s| Cow::Owned(s.to_string())),
    }
}

/// The analysis of one trace file, as `aadtrace analyze` makes it.
pub fn analyse(path: &Path) -> Session {
    analyse_with(path, &SessionOptions::default())
}

/// The analysis as `analyze --format html` makes it: each step keeps its
/// recorded headers and bodies.
pub fn analyse_with_detail(path: &Path) -> Session {
    let options = SessionOptions {
        detail: true,
        ..SessionOptions::default()
    };
    analyse_with(path, &options)
}

fn analyse_with(path: &Path, options: &SessionOptions) -> Session {
    session::run(
        &[Source::File(path.to_path_buf())],
        options,
        &NoProgress,
        &|| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What must agree between two formats of one session.
#[derive(Debug, PartialEq, Eq)]
pub struct Signature {
    pub flows: Vec<String>,
    pub findings: Vec<String>,
    pub warnings: Vec<String>,
}

pub fn signature(s: &Session) -> Signature {
    let flows = s
        .analysis
        .flows
        .iter()
        .map(|f| {
            let mfa: Vec<String> = f
                .mfa
                .iter()
                .map(|m| format!("{:?}/{:?}/{}", m.method, m.result, m.polls))
                .collect();
            format!(
                "{:?} {:?} steps={} tenant={:?} client={:?} user={:?} mfa={mfa:?}",
                f.kind,
                f.outcome,
                f.steps.len(),
                f.tenant,
                f.client_id,
                f.user
            )
        })
        .collect();
    let mut findings: Vec<String> = s
        .findings
        .iter()
        // Evidence findings (about the input, not the traffic) are compared as warnings.
        .filter(|f| f.flow.is_some() || !f.exchanges.is_empty())
        .map(|f| {
            format!(
                "{} {:?} flow={:?} {:?}",
                f.kind, f.code, f.flow, f.exchanges
            )
        })
        .collect();
    findings.sort();
    let mut warnings: Vec<String> = s
        .inputs
        .iter()
        .flat_map(|i| i.summary.warnings.iter().map(|w| w.code.to_string()))
        .collect();
    warnings.sort();
    warnings.dedup();
    Signature {
        flows,
        findings,
        warnings,
    }
}

/// Request headers as HTTP/1.1 would carry them: pseudo-headers dropped, `Host` first.
pub fn h1_request_headers(ex: &Exchange<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let host = aadtrace::http::split_url(&ex.request.url).host.to_string();
    if !ex.request.headers.contains("host") {
        out.push(("Host".to_string(), host));
    }
    for h in &ex.request.headers.0 {
        if !h.name.starts_with(':') {
            out.push((h.name.to_string(), h.value.to_string()));
        }
    }
    out
}

/// Response headers minus pseudo-headers and the framing/coding ones (the body
/// the HAR holds is already decoded); writers add their own.
pub fn plain_response_headers(r: &Response<'_>) -> Vec<(String, String)> {
    r.headers
        .0
        .iter()
        .filter(|h| {
            !h.name.starts_with(':')
                && !["content-length", "content-encoding", "transfer-encoding"]
                    .iter()
                    .any(|n| h.name.eq_ignore_ascii_case(n))
        })
        .map(|h| (h.name.to_string(), h.value.to_string()))
        .collect()
}

pub fn body_bytes(b: &Body<'_>) -> Vec<u8> {
    b.decode().map(|c| c.into_owned()).unwrap_or_default()
}

/// The shared corpus folder `sub`, or `None` (skip) outside CI when it is missing.
pub fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "the corpus is missing at {} (a missing corpus under CI is a failure)",
            dir.display()
        );
    }
    eprintln!("skipping: {} not found", dir.display());
    None
}

/// With `AADTRACE_TEST_OUT=<dir>`, keeps a copy of a generated trace there so it
/// can be looked at with `aadtrace analyze`.
pub fn keep_copy(path: &Path) {
    if let Some(dir) = std::env::var_os("AADTRACE_TEST_OUT") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, dir.join(path.file_name().unwrap())).unwrap();
    }
}
