//! The HTML report: golden structure for two samples, self-containment, and a
//! headless-Chromium run on a trace crafted with script-injection payloads in its
//! URLs, headers and bodies (nothing may run; the report's own script must).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aadtrace::report::html;
use aadtrace::report::shown::Redactor;
use aadtrace::session::Session;
use serde_json::{json, Value};

fn run(path: &Path) -> Session {
    crate::support::analyse_with_detail(path)
}

/// The page with its style sheet and script bodies elided (they are pinned by
/// their own files), so the snapshot shows the structure.
fn structure(page: &str) -> String {
    let mut out = page.to_string();
    for (open, close) in [
        ("<style>\n", "</style>"),
        ("<script nonce=\"NONCE\">\n", "</script>"),
    ] {
        if let Some(a) = out.find(open) {
            let from = a + open.len();
            if let Some(b) = out[from..].find(close) {
                out.replace_range(from..from + b, "…\n");
            }
        }
    }
    out
}

#[test]
fn golden_structure() {
    for name in ["mfa-timeout-then-success", "msa-handoff-70012"] {
        let session = run(Path::new(&format!("captures/{name}.har")));
        let page = html::render_with_nonce(&session, &Redactor::new(true), "NONCE");
        insta::assert_snapshot!(format!("{name}.html"), structure(&page));
    }
}

/// Every step link of every sample's page lands on a row that is drawn.
#[test]
fn step_links_land_on_drawn_rows() {
    for entry in std::fs::read_dir("captures").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "har") {
            continue;
        }
        let page = html::render(&run(&path), &Redactor::new(true));
        for link in page.split("href=\"#step-").skip(1) {
            let id = link.split('"').next().unwrap();
            assert!(
                page.contains(&format!("id=\"step-{id}\"")),
                "{}: a link to step {id} lands nowhere",
                path.display()
            );
        }
    }
}

#[test]
fn self_contained_and_redacted() {
    for entry in std::fs::read_dir("captures").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "har") {
            continue;
        }
        let session = run(&path);
        let page = html::render(&session, &Redactor::new(true));
        for banned in [
            "src=\"http",
            "href=\"http",
            "<link",
            "@import",
            "url(http",
            "<iframe",
            "<img",
            "Sample-Passw0rd!",
            "adele.vance@",
        ] {
            assert!(!page.contains(banned), "{}: {banned}", path.display());
        }
        assert_eq!(page.matches("<script").count(), 2, "{}", path.display());
        assert!(page.contains("Content-Security-Policy"));
        for f in &session.findings {
            assert!(page.contains(&format!("id=\"finding-{}\"", f.id)));
        }
        for fl in &session.analysis.flows {
            assert!(page.contains(&format!("Sign-in flow {}", fl.id + 1)));
        }
    }
}

const XSS_SCRIPT: &str = "<script>document.title='pwned'</script>";
const XSS_IMG: &str = "\"><img src=x onerror=\"document.title='pwned'\">";
const XSS_JS_URL: &str = "javascript:document.title='pwned'";

/// The clean sign-in with injection payloads in URLs, headers and bodies, and an
/// error redirect whose description carries them.
pub(crate) fn crafted_har(dir: &Path) -> PathBuf {
    let mut har: Value =
        serde_json::from_slice(&std::fs::read("captures/clean-signin.har").unwrap()).unwrap();
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let entries = har["log"]["entries"].as_array_mut().unwrap();
    for e in entries.iter_mut() {
        let url = e["request"]["url"].as_str().unwrap().to_string();
        if url.contains("/authorize?") {
            e["request"]["url"] = json!(format!(
                "{url}&login_hint={}&x={}&next={}",
                enc(&format!("a@{XSS_IMG}.example")),
                enc(XSS_SCRIPT),
                enc(XSS_JS_URL)
            ));
        }
        if let Some(headers) = e["response"]["headers"].as_array_mut() {
            for h in headers {
                if h["name"] == "x-ms-ests-server" {
                    h["value"] = json!(format!("2.1.19320.5 - {XSS_IMG} ProdSlices"));
                }
            }
        }
        if let Some(text) = e["response"]["content"]["text"].as_str() {
            if text.contains("$Config") {
                let t = text.replace(
                    "\"pgid\":\"ConvergedSignIn\"",
                    &format!(
                        "\"pgid\":\"ConvergedSignIn{}\"",
                        XSS_IMG.replace('"', "\\\"")
                    ),
                );
                e["response"]["content"]["text"] = json!(t);
            }
        }
    }
    // The app's last page becomes an error redirect with a hostile description.
    let last = entries.last_mut().unwrap();
    let desc = format!("AADSTS50105: {XSS_SCRIPT} {XSS_IMG}\r\nTrace ID: 1\r\nCorrelation ID: 2");
    last["request"]["url"] = json!(format!(
        "https://app.contoso.example/signin-oidc?error=access_denied&error_description={}&state={}",
        enc(&desc),
        enc(XSS_JS_URL)
    ));
    let path = dir.join("xss.har");
    std::fs::write(&path, serde_json::to_vec_pretty(&har).unwrap()).unwrap();
    path
}

fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let ok = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(name.to_string());
        }
    }
    None
}

/// Runs the browser with `args`, killing it after 90 s.
fn browser(bin: &str, profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

fn artefacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn nothing_from_the_trace_runs_in_a_browser() {
    let Some(bin) = chromium() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromium is missing; .ci/run installs it");
        }
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let har = crafted_har(dir.path());
    let session = run(&har);
    assert!(
        session.findings.iter().any(|f| f.code == Some(50105)),
        "the crafted error is found"
    );
    // Also written through the CLI, as a user would.
    let report = dir.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_aadtrace"))
        .args(["analyze", "--format", "html", "--fail-on", "never", "-o"])
        .arg(&report)
        .arg(&har)
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(!page.contains(XSS_SCRIPT) && !page.contains("<img"));
    let url = format!("file://{}", report.display());

    let dom = browser(
        &bin,
        &dir.path().join("profile-dom"),
        &["--dump-dom".to_string(), url.clone()],
    );
    assert!(dom.contains("<html"), "no DOM dumped: {dom}");
    // The report's own script ran (CSP nonce accepted) …
    assert!(
        dom.contains("data-js=\"ready\""),
        "the page script did not run"
    );
    // … and nothing from the trace did.
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    assert_eq!(title, "aadtrace report");
    assert!(!dom.contains("pwned</title>"));
    assert!(!dom.contains("<img"), "an injected element exists");
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "an injected script exists"
    );
    assert!(!dom.contains("href=\"javascript:"));
    // Flows and findings are on the page.
    for f in &session.analysis.flows {
        assert!(dom.contains(&format!("Sign-in flow {}", f.id + 1)));
    }
    for f in &session.findings {
        assert!(dom.contains(&format!("id=\"finding-{}\"", f.id)));
        assert!(dom.contains(&format!("data-kind=\"{}\"", f.kind)));
    }
    assert!(dom.contains("AADSTS50105"));
    assert!(dom.contains("For the support ticket"));
    // The verdict opens the page, and the script offers the ticket for copying.
    assert!(
        dom.contains("<p class=\"verdict failed\" id=\"verdict\">FAILED"),
        "{dom}"
    );
    assert!(
        dom.contains("<button type=\"button\" id=\"copy-ticket\">Copy for ticket</button>"),
        "the copy button is not shown"
    );
    assert!(dom.contains("<pre id=\"ticket\" hidden=\"\">## Sign-in trace: FAILED"));
    // The payloads are on the page as text.
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;")
            || dom.contains("&lt;img src=x")
    );

    let shot = artefacts_dir().join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    browser(
        &bin,
        &dir.path().join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
            "--hide-scrollbars".to_string(),
            url,
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    eprintln!("screenshot: {}", shot.display());
}
