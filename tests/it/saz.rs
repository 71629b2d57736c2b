//! The Fiddler `.saz` reader: the shared corpus archives (pinned per file), the
//! seven sample sign-ins written as SAZ (same flows and findings as their HAR),
//! password-protected archives, zip bombs, path traversal and non-SAZ files.

use crate::support;

use std::io::Write;
use std::path::Path;

use aadtrace::capture::{
    read_source, saz, CaptureError, InputSummary, NoProgress, ReadCtx, Source,
};
use support::saz_writer::{write_saz, Encryption, SazOptions};

fn read_bytes(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<(InputSummary, Vec<String>), CaptureError> {
    let mut urls = Vec::new();
    let summary = saz::read(
        std::io::Cursor::new(bytes),
        &ReadCtx::new("test.saz"),
        password,
        &mut |ex| {
            let _ = ex.request.body.decode();
            urls.push(format!(
                "{} {} {:?}",
                ex.request.method,
                ex.request.url,
                ex.status()
            ));
        },
    )?;
    Ok((summary, urls))
}

fn codes(s: &InputSummary) -> Vec<&str> {
    s.warnings.iter().map(|w| w.code.as_str()).collect()
}

/// (exchanges, warning codes), or the start of the error.
type Expected = Result<(usize, &'static [&'static str]), &'static str>;

#[test]
fn corpus_archives_load() {
    let Some(dir) = support::corpus_dir("saz") else {
        return;
    };
    // file → (exchanges, warning codes) or the start of the error.
    let expected: &[(&str, Expected)] = &[
        // 6 sessions; /brotli stays br-encoded (no brotli decoder yet).
        ("SAZ/httpbin-test.saz", Ok((6, &[]))),
        ("SAZ/images.saz", Ok((3, &[]))),
        // 5 sessions, 2 of them CONNECT tunnels.
        ("fluxzy/minimal.saz", Ok((3, &[]))),
        // 71 sessions, 25 of them successful CONNECT tunnels.
        ("fluxzy/testarchive.saz", Ok((46, &[]))),
        (
            "node-saz-parser/multipleSessions.saz",
            Ok((4, &["timestamp_invalid"])),
        ),
        (
            "node-saz-parser/simple.saz",
            Ok((1, &["timestamp_invalid"])),
        ),
        (
            "node-saz-parser/notASazFile.saz",
            Err("not a trace aadtrace can read"),
        ),
    ];
    for (rel, want) in expected {
        let path = dir.join(rel);
        let mut seen = 0;
        let got = read_source(&Source::File(path.clone()), 0, &NoProgress, &mut |ex| {
            seen += 1;
            let _ = ex.response.as_ref().map(|r| r.body.decode());
        });
        match (got, want) {
            (Ok((format, s)), Ok((n, warnings))) => {
                assert_eq!(format.name(), "saz", "{rel}");
                assert_eq!((s.exchanges, seen), (*n, *n), "{rel}");
                assert_eq!(codes(&s), *warnings, "{rel}: {:?}", s.warnings);
            }
            (Err(e), Err(start)) => {
                let text = e.to_string();
                assert!(text.contains(start), "{rel}: {text}");
            }
            (got, want) => panic!("{rel}: got {got:?}, want {want:?}"),
        }
    }
    // Every file in the folder is pinned above.
    let mut all = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push(
                    p.strip_prefix(&dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    all.sort();
    let mut pinned: Vec<String> = expected.iter().map(|(r, _)| r.to_string()).collect();
    pinned.sort();
    assert_eq!(all, pinned);
}

#[test]
fn real_fiddler_details() {
    let Some(dir) = support::corpus_dir("saz") else {
        return;
    };
    let mut exchanges = Vec::new();
    let (_, s) = read_source(
        &Source::File(dir.join("SAZ/httpbin-test.saz")),
        0,
        &NoProgress,
        &mut |ex| exchanges.push(support::owned(&ex)),
    )
    .unwrap();
    assert_eq!(s.producer.as_deref(), Some("Fiddler 5.0.20253.3311"));
    let first = &exchanges[0];
    assert_eq!(first.request.url, "https://httpbin.org/get");
    // ClientBeginRequest="2025-08-30T11:33:40.0256586-07:00"
    assert_eq!(first.timing.started_us, 1_756_578_820_025_658);
    assert_eq!(first.server_ip.as_deref(), Some("44.195.242.49"));
    assert!(first.timing.duration_ms.unwrap() > 1000.0);
    // /stream/5 is stored chunked, /gzip and /deflate still encoded: all come out as JSON.
    for ex in &exchanges {
        let url = &ex.request.url;
        let body = ex.response.as_ref().unwrap().body.text().unwrap();
        if url.ends_with("/brotli") {
            continue;
        }
        assert!(body.trim_start().starts_with('{'), "{url}: {body:.60}");
    }
    let post = exchanges
        .iter()
        .find(|e| e.request.method == "POST")
        .unwrap();
    assert!(!post.request.body.is_absent());

    // Fiddler's own 502 for a failed HTTPS handshake is a transport error.
    let mut first = None;
    read_source(
        &Source::File(dir.join("fluxzy/testarchive.saz")),
        0,
        &NoProgress,
        &mut |ex| {
            if first.is_none() {
                first = Some(support::owned(&ex));
            }
        },
    )
    .unwrap();
    let first = first.unwrap();
    assert_eq!(first.status(), None);
    assert!(first
        .error
        .as_deref()
        .unwrap()
        .starts_with("[Fiddler] The connection to"));
}

/// Flows and findings agree exactly. The one difference: `har_sanitized` is a
/// warning about how a HAR was exported (cookies stripped by DevTools), which a SAZ
/// made from that HAR inherits silently: Fiddler never strips them.
#[test]
fn samples_as_saz_match_their_har() {
    let tmp = tempfile::tempdir().unwrap();
    for har in support::samples() {
        let exchanges = support::load_har(&har);
        let saz = write_saz(&exchanges, &SazOptions::default());
        let path = tmp.path().join(format!("{}.saz", support::stem(&har)));
        std::fs::write(&path, &saz).unwrap();
        support::keep_copy(&path);
        let from_har = support::signature(&support::analyse(&har));
        let from_saz = support::signature(&support::analyse(&path));
        assert_eq!(from_har.flows, from_saz.flows, "{}", har.display());
        assert_eq!(from_har.findings, from_saz.findings, "{}", har.display());
        let har_warnings: Vec<&String> = from_har
            .warnings
            .iter()
            .filter(|w| *w != "har_sanitized")
            .collect();
        let saz_warnings: Vec<&String> = from_saz.warnings.iter().collect();
        assert_eq!(har_warnings, saz_warnings, "{}", har.display());
    }
}

fn one_sample() -> Vec<aadtrace::http::Exchange<'static>> {
    let har = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/clean-signin.har");
    support::load_har(&har)
}

#[test]
fn password_protected_archives() {
    let exchanges = one_sample();
    for enc in [Encryption::Aes256, Encryption::ZipCrypto] {
        let saz = write_saz(
            &exchanges,
            &SazOptions {
                password: Some(("s3cret".into(), enc)),
                ..Default::default()
            },
        );
        let err = read_bytes(&saz, None).unwrap_err().to_string();
        assert!(
            err.contains(
                "this SAZ is password-protected: set AADTRACE_SAZ_PASSWORD (or --password)"
            ),
            "{enc:?}: {err}"
        );
        let (s, _) = read_bytes(&saz, Some("s3cret")).unwrap();
        assert_eq!(s.exchanges, exchanges.len(), "{enc:?}");
        let err = read_bytes(&saz, Some("wrong")).unwrap_err().to_string();
        assert!(err.contains("password"), "{enc:?}: {err}");
    }
}

#[test]
fn archives_without_metadata_still_load() {
    let exchanges = one_sample();
    let saz = write_saz(
        &exchanges,
        &SazOptions {
            without_meta: true,
            ..Default::default()
        },
    );
    let (s, _) = read_bytes(&saz, None).unwrap();
    assert_eq!(s.exchanges, exchanges.len());
    assert_eq!(codes(&s), ["timestamp_invalid"]);
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in files {
        zip.start_file(*name, o).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn hostile_archives_get_clear_errors() {
    let req: &[u8] = b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n";
    let err = read_bytes(
        &zip_of(&[("raw/1_c.txt", req), ("../../evil.txt", b"x")]),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("path traversal"), "{err}");

    // 300 MiB of zeros compress to ~300 KiB.
    let zeros = vec![0u8; 300 << 20];
    let bomb = zip_of(&[("raw/1_c.txt", req), ("raw/1_s.txt", &zeros)]);
    drop(zeros);
    assert!(bomb.len() < 2 << 20);
    let err = read_bytes(&bomb, None).unwrap_err().to_string();
    assert!(err.contains("zip bomb"), "{err}");

    let err = read_bytes(&zip_of(&[("hello.txt", b"hi")]), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a Fiddler session archive"), "{err}");

    let err = read_bytes(b"PK\x03\x04 but not really a zip", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a readable zip archive"), "{err}");
}

#[test]
fn stored_bodies_are_trusted_over_headers() {
    let req: &[u8] = b"POST https://login.microsoftonline.com/common/login HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Length: 3\r\n\r\na=1";
    // Chunked bytes without the header, and gzip bytes with a stale header.
    let resp_chunked: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"ok\":true}").unwrap();
    let mut resp_gzip =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 99\r\n\r\n".to_vec();
    resp_gzip.extend(gz.finish().unwrap());
    // Header says gzip, Fiddler already decoded the bytes.
    let resp_decoded: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nplain";
    let saz = zip_of(&[
        ("raw/1_c.txt", req),
        ("raw/1_s.txt", resp_chunked),
        ("raw/2_c.txt", req),
        ("raw/2_s.txt", &resp_gzip),
        ("raw/10_c.txt", req),
        ("raw/10_s.txt", resp_decoded),
    ]);
    let mut bodies = Vec::new();
    saz::read(
        std::io::Cursor::new(&saz),
        &ReadCtx::new("t"),
        None,
        &mut |ex| {
            bodies.push((
                ex.origin.index,
                String::from_utf8(ex.response.unwrap().body.decode().unwrap().into_owned())
                    .unwrap(),
                String::from_utf8(ex.request.body.decode().unwrap().into_owned()).unwrap(),
            ))
        },
    )
    .unwrap();
    assert_eq!(
        bodies,
        [
            (1, "hello".to_string(), "a=1".to_string()),
            (2, "{\"ok\":true}".to_string(), "a=1".to_string()),
            (10, "plain".to_string(), "a=1".to_string()),
        ]
    );
}

#[test]
fn brotli_and_deflate_bodies_are_decoded() {
    let Some(dir) = support::corpus_dir("saz") else {
        return;
    };
    let path = dir.join("SAZ/httpbin-test.saz");
    let mut bodies = Vec::new();
    read_source(&Source::File(path), 0, &NoProgress, &mut |ex| {
        let body = ex
            .response
            .as_ref()
            .map(|r| r.body.text().unwrap().into_owned())
            .unwrap_or_default();
        bodies.push((ex.request.url.to_string(), body));
    })
    .unwrap();
    for (suffix, marker) in [
        ("/brotli", "\"brotli\": true"),
        ("/deflate", "\"deflated\": true"),
        ("/gzip", "\"gzipped\": true"),
    ] {
        let (_, body) = bodies
            .iter()
            .find(|(u, _)| u.ends_with(suffix))
            .expect(suffix);
        assert!(body.contains(marker), "{suffix}: {body}");
    }
}

/// Malformed sessions get a warning each up to 20, then one count for the rest;
/// the counted warnings follow in their fixed order.
#[test]
fn malformed_sessions_are_capped_and_counts_follow_in_order() {
    let good_req: &[u8] = b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n";
    let good_resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let names: Vec<(String, Vec<u8>)> = (1..=23u32)
        .map(|n| (format!("raw/{n}_c.txt"), b"garbage\r\n\r\n".to_vec()))
        .chain([
            ("raw/30_c.txt".to_string(), good_req.to_vec()),
            ("raw/30_s.txt".to_string(), good_resp.to_vec()),
            (
                "raw/31_c.txt".to_string(),
                b"GET http://x/b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ),
            (
                "raw/31_s.txt".to_string(),
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_vec(),
            ),
        ])
        .collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let (s, urls) = read_bytes(&zip_of(&files), None).unwrap();
    assert_eq!(s.exchanges, 2, "{urls:?}");
    let malformed: Vec<&str> = s
        .warnings
        .iter()
        .filter(|w| w.code == "malformed_entry")
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(malformed.len(), 21, "{malformed:?}");
    assert!(malformed[0].starts_with("session 1: unreadable request line"));
    assert!(malformed[19].starts_with("session 20: "));
    assert_eq!(malformed[20], "3 more malformed sessions were skipped");
    assert_eq!(
        codes(&s)[21..],
        ["timestamp_invalid", "capture_truncated"],
        "{:?}",
        s.warnings
    );
    assert!(s.warnings[21]
        .message
        .starts_with("2 sessions have no raw/N_m.xml"));
    assert!(s.warnings[22].message.starts_with("1 chunked bodies stop"));
}
