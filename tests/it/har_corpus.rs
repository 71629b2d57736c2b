//! Every HAR of the shared corpus (`../shared/corpus/har`, described in its
//! SOURCES.md) read through `capture::read_source`, with the outcome pinned.
//!
//! Exchange counts were checked by hand against `jq '.log.entries | length'`.

use std::path::{Path, PathBuf};

use aadtrace::capture::har;
use aadtrace::capture::{read_source, InputSummary, NoProgress, ReadCtx, Source};
use aadtrace::http::Body;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/har");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "the HAR corpus is missing at {} (a missing corpus under CI is a failure)",
            dir.display()
        );
    }
    eprintln!("skipping: ../shared/corpus/har not found");
    None
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable corpus folder") {
            let path = entry.expect("readable corpus entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(path: &Path) -> (Result<InputSummary, String>, usize) {
    let mut seen = 0;
    let result = read_source(
        &Source::File(path.to_path_buf()),
        0,
        &NoProgress,
        &mut |ex| {
            seen += 1;
            // Bodies must decode or fail cleanly, never panic.
            let _ = ex.request.body.decode();
            if let Some(r) = &ex.response {
                let _ = r.body.decode();
            }
        },
    );
    (result.map(|(_, s)| s).map_err(|e| e.to_string()), seen)
}

fn outcome(dir: &Path, path: &Path) -> String {
    let rel = relative(dir, path);
    match read(path) {
        (Ok(s), seen) => {
            assert_eq!(s.exchanges, seen, "{rel}: summary count differs from sink");
            for w in &s.warnings {
                eprintln!("  {rel}: {}: {}", w.code, w.message);
            }
            let codes: Vec<&str> = s.warnings.iter().map(|w| w.code.as_str()).collect();
            format!(
                "{rel}: ok, {} exchanges, warnings [{}]",
                s.exchanges,
                codes.join(", ")
            )
        }
        (Err(e), _) => format!(
            "{rel}: rejected: {}",
            e.replace(&*path.to_string_lossy(), "FILE")
        ),
    }
}

/// One line per corpus file, sorted by path. Counts verified with jq.
const EXPECTED: &str = "\
fluxzy/sandbox.smartizy.com.har: ok, 3 exchanges, warnings []
fluxzy/with-payload.har: ok, 1 exchanges, warnings []
har-to-k6/entry.har: ok, 1 exchanges, warnings [timestamp_invalid]
har-to-k6/full.har: ok, 8 exchanges, warnings [timestamp_invalid]
har-to-k6/page.har: rejected: FILE: top level: \"log.entries\" is missing, so this HAR holds no requests
har-to-k6/pseudo-headers.har: ok, 1 exchanges, warnings [timestamp_invalid]
haralyzer/cnn-chrome.har: ok, 292 exchanges, warnings [missing_body]
haralyzer/cnn.har: ok, 145 exchanges, warnings [missing_body]
haralyzer/missing_page.har: ok, 0 exchanges, warnings [malformed_entry]
haralyzer/missing_pageref.har: ok, 0 exchanges, warnings [malformed_entry, malformed_entry]
haralyzer/single_entry.har: rejected: FILE: top level: this JSON has no \"log\" object, so it is not a HAR
harviewer/1.har: ok, 1 exchanges, warnings []
harviewer/data-url.har: ok, 1 exchanges, warnings []
harviewer/from-cache.har: ok, 1 exchanges, warnings []
harviewer/issue-23/ff47.har: ok, 3 exchanges, warnings [missing_body]
harviewer/issue-49/chrome51.har: ok, 4 exchanges, warnings [missing_body]
harviewer/issue-56/missing-content-type.har: ok, 1 exchanges, warnings []
harviewer/issue-61/chrome51.har: ok, 27 exchanges, warnings [missing_body]
harviewer/issue-61/ie11.fiddler.har: ok, 11 exchanges, warnings []
harviewer/issue-61/ie11.har: ok, 25 exchanges, warnings [missing_body]
harviewer/issue-62/svg.base64.har: ok, 1 exchanges, warnings []
harviewer/multiple-pages.har: ok, 9 exchanges, warnings [har_sanitized]
harviewer/no-headers.har: ok, 1 exchanges, warnings []
harviewer/noPages.har: ok, 87 exchanges, warnings [missing_body]
harviewer/not-json.har: rejected: FILE: line 8, column 5: not valid JSON: expected `,` or `}`
harviewer/not-valid.har: rejected: FILE: top level: \"log.entries\" is missing, so this HAR holds no requests
harviewer/two-megs.har: ok, 160 exchanges, warnings [missing_body]
harviewer/www-cnn-com.har: ok, 22 exchanges, warnings []
mitmproxy/brokenfile.har: rejected: FILE: line 2, column 0: invalid type: sequence, expected the HAR \"log\" object
mitmproxy/charles.har: ok, 1 exchanges, warnings []
mitmproxy/chrome.har: ok, 3 exchanges, warnings []
mitmproxy/corrupted_gzip_body.har: ok, 1 exchanges, warnings []
mitmproxy/error_log.har: ok, 2 exchanges, warnings []
mitmproxy/event_stream.har: ok, 2 exchanges, warnings []
mitmproxy/firefox.har: ok, 14 exchanges, warnings [har_sanitized]
mitmproxy/head-content-length.har: ok, 1 exchanges, warnings []
mitmproxy/incomplete_log.har: ok, 4 exchanges, warnings []
mitmproxy/insomnia.har: ok, 1 exchanges, warnings []
mitmproxy/postdata.har: ok, 1 exchanges, warnings []
mitmproxy/safari.har: ok, 19 exchanges, warnings [har_sanitized]
mitmproxy/successful_log.har: ok, 2 exchanges, warnings []
mitmproxy/websocket.har: ok, 3 exchanges, warnings []
mitmproxy/with-bom.har: ok, 1 exchanges, warnings []
node-har-validator/invalid.json: rejected: FILE: top level: this JSON has no \"log\" object, so it is not a HAR
node-har-validator/valid.json: ok, 1 exchanges, warnings []
playwright/har-fulfill.har: ok, 5 exchanges, warnings [har_sanitized]
playwright/har-redirect.har: ok, 3 exchanges, warnings []
playwright/har-sha1-main-response.txt: rejected: FILE: not a trace aadtrace can read (first bytes 48 65 6c 6c 6f 2c 20 77 are not HAR, pcap, pcapng, Network Monitor, SAZ or NetLog)
playwright/har-sha1.har: ok, 1 exchanges, warnings [missing_body]
";

#[test]
fn corpus_outcomes_are_pinned() {
    let Some(dir) = corpus_dir() else { return };
    let actual: Vec<String> = files(&dir).iter().map(|p| outcome(&dir, p)).collect();
    let actual = actual.join("\n");
    println!("{actual}");
    assert_eq!(actual.trim(), EXPECTED.trim());
}

/// Reads one corpus file and keeps what `f` extracts from each exchange.
fn collect<T>(
    rel: &str,
    f: impl Fn(&aadtrace::http::Exchange<'_>) -> T,
) -> Option<(InputSummary, Vec<T>)> {
    let dir = corpus_dir()?;
    let mut out = Vec::new();
    let (_, summary) = read_source(&Source::File(dir.join(rel)), 0, &NoProgress, &mut |ex| {
        out.push(f(&ex))
    })
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    Some((summary, out))
}

#[test]
fn facts_about_specific_files() {
    let url = |ex: &aadtrace::http::Exchange<'_>| ex.request.url.to_string();
    let Some((s, _)) = collect("mitmproxy/with-bom.har", url) else {
        return;
    };
    assert_eq!(s.exchanges, 1);

    let (s, urls) = collect("mitmproxy/chrome.har", url).unwrap();
    assert_eq!(s.producer.as_deref(), Some("WebInspector 537.36"));
    assert_eq!(urls.len(), 3);

    // jq '.log.entries|length' → 292
    let (s, _) = collect("haralyzer/cnn-chrome.har", url).unwrap();
    assert_eq!(s.producer.as_deref(), Some("Chrome HAR Capturer 0.10.3"));
    assert_eq!(s.exchanges, 292);

    let (s, _) = collect("haralyzer/cnn.har", url).unwrap();
    assert_eq!(s.producer.as_deref(), Some("Firebug 1.12"));
    assert_eq!(s.exchanges, 145);

    // Failed connection: status 0 plus mitmproxy's `_error`.
    let (_, errors) = collect("mitmproxy/error_log.har", |ex| {
        (ex.status(), ex.error.as_ref().map(|e| e.to_string()))
    })
    .unwrap();
    assert_eq!(errors[0].0, None);
    assert!(errors[0]
        .1
        .as_deref()
        .unwrap()
        .contains("Connect call failed"));
    assert_eq!(errors[1], (Some(405), None));

    // Responses never received: status 0 and `_error: null`.
    let (_, errors) = collect("mitmproxy/incomplete_log.har", |ex| {
        (ex.status(), ex.error.as_ref().map(|e| e.to_string()))
    })
    .unwrap();
    assert_eq!(errors, vec![(None, Some("no response".to_string())); 4]);

    // The body is a base64 gzip stream; the reader keeps the wire bytes.
    let (_, bodies) = collect("mitmproxy/corrupted_gzip_body.har", |ex| {
        let r = ex.response.as_ref().unwrap();
        (
            matches!(r.body, Body::JsonText { base64: true, .. }),
            r.body.decode().unwrap().into_owned(),
        )
    })
    .unwrap();
    assert!(bodies[0].0);
    assert!(bodies[0].1.starts_with(&[0x1f, 0x8b]));

    let (_, svg) = collect("harviewer/issue-62/svg.base64.har", |ex| {
        ex.response
            .as_ref()
            .unwrap()
            .body
            .text()
            .unwrap()
            .into_owned()
    })
    .unwrap();
    assert!(svg[0].contains("<svg"), "{}", svg[0]);

    // Pseudo-headers are kept as headers; an absolute URL is kept as written.
    let (_, seen) = collect("har-to-k6/pseudo-headers.har", |ex| {
        (
            url(ex),
            ex.request.headers.get(":scheme").map(str::to_string),
        )
    })
    .unwrap();
    assert_eq!(
        seen,
        [(
            "http://test.loadimpact.com/path".to_string(),
            Some("https".to_string())
        )]
    );

    let (_, versions) = collect("fluxzy/with-payload.har", |ex| {
        (
            ex.request.http_version.to_string(),
            ex.request.body.text().unwrap().len(),
        )
    })
    .unwrap();
    assert_eq!(versions[0].0, "HTTP/2");
    assert!(versions[0].1 > 0);
}

/// The streaming reader (stdin, .har.gz) agrees with the memory-map reader.
#[test]
fn stream_reader_agrees_on_every_file() {
    let Some(dir) = corpus_dir() else { return };
    for path in files(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        let mut a = Vec::new();
        let ra = har::read_slice(&bytes, &ReadCtx::new("x"), &mut |ex| {
            a.push((
                ex.request.url.to_string(),
                ex.status(),
                ex.response
                    .map(|r| r.body)
                    .map(|b| b.decode().map(|d| d.len()).ok()),
            ))
        });
        let mut b = Vec::new();
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let rb = har::read_stream(file, &ReadCtx::new("x"), &mut |ex| {
            b.push((
                ex.request.url.to_string(),
                ex.status(),
                ex.response
                    .map(|r| r.body)
                    .map(|b| b.decode().map(|d| d.len()).ok()),
            ))
        });
        let rel = relative(&dir, &path);
        assert_eq!(a, b, "{rel}");
        match (ra, rb) {
            (Ok(x), Ok(y)) => assert_eq!(x, y, "{rel}"),
            (Err(_), Err(_)) => {}
            (x, y) => panic!("{rel}: {x:?} / {y:?}"),
        }
    }
}

/// The fast pass (hand-written scanner) reads every file exactly as the serde
/// passes do: the same exchanges, field for field, and the same summary.
#[test]
fn fast_pass_agrees_with_serde_on_every_file() {
    let Some(dir) = corpus_dir() else { return };
    for path in files(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        let mut fast = Vec::new();
        let rf = har::read_slice(&bytes, &ReadCtx::new("x"), &mut |ex| {
            fast.push(format!("{ex:?}"))
        });
        let mut serde = Vec::new();
        let rs = har::read_slice_serde_only(&bytes, &ReadCtx::new("x"), &mut |ex| {
            serde.push(format!("{ex:?}"))
        });
        let rel = relative(&dir, &path);
        assert_eq!(fast, serde, "{rel}");
        assert_eq!(format!("{rf:?}"), format!("{rs:?}"), "{rel}");
    }
}
