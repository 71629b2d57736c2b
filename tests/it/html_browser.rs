//! The HTML report driven in headless Chromium through Playwright
//! (`tests/browser/report.test.js`, `playwright-core` driving the system
//! browser): expand a step and read its masked Cookie header, filter the
//! "all requests" table by host and search it for a correlation id, count the
//! sequence diagram's arrows and find the failing one, follow a step link,
//! count the host lanes, point at and click a lane's bar,
//! and take screenshots at 900 and 1400 px (into the target directory's
//! `test-artefacts/browser/`, never committed).
//!
//! What the page must show is computed here from the analysis, not read off
//! the page. Without node, Chromium or `npm ci` in `tests/browser/` the test
//! prints why and passes; under `CI=true` it fails instead (`.ci/run`
//! installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use aadtrace::capture::{NoProgress, Source};
use aadtrace::report::html;
use aadtrace::report::shown::{cookie_is_kept, Redactor};
use aadtrace::session::{self, Session, SessionOptions};
use serde_json::{json, Value};

fn run(path: &Path) -> Session {
    session::run(
        &[Source::File(path.to_path_buf())],
        &SessionOptions {
            detail: true,
            ..SessionOptions::default()
        },
        &NoProgress,
        &|| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Skips (printing why) outside CI, fails under CI.
fn missing(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}; .ci/run installs it");
    }
    eprintln!("skipped: {what}");
}

fn found(bin: &str) -> Option<PathBuf> {
    let ok = Command::new(bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .ok();
        out.map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .unwrap_or_else(|| PathBuf::from(bin))
    })
}

fn artefacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artefacts").join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Rows of a flow's waterfall, counted from the analysis: each step, with
/// an MFA attempt's polls as one.
fn hops(session: &Session, flow: &aadtrace::identity::Flow) -> usize {
    let steps = &session.analysis.steps;
    let polls: std::collections::HashSet<usize> = flow
        .mfa
        .iter()
        .flat_map(|m| m.steps.iter().copied())
        .filter(|&i| steps[i].endpoint == Some("sas_end_auth"))
        .collect();
    let attempts = flow
        .mfa
        .iter()
        .filter(|m| m.steps.iter().any(|i| polls.contains(i)))
        .count();
    flow.steps.iter().filter(|i| !polls.contains(i)).count() + attempts
}

/// A flow step drawn as a row whose request sends a secret cookie, and that
/// cookie's value.
fn cookie_step(session: &Session) -> (usize, String) {
    let steps = &session.analysis.steps;
    for flow in &session.analysis.flows {
        for &i in &flow.steps {
            let s = &steps[i];
            if s.endpoint == Some("sas_end_auth") {
                continue;
            }
            let Some(d) = &s.detail else { continue };
            for (name, value) in &d.request_headers {
                if !name.eq_ignore_ascii_case("cookie") {
                    continue;
                }
                for part in value.split(';') {
                    if let Some((n, v)) = part.trim().split_once('=') {
                        let id_like = v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
                        if !cookie_is_kept(n) && v.len() >= 12 && !id_like {
                            return (s.id, v.to_string());
                        }
                    }
                }
            }
        }
    }
    panic!("no step sends a secret cookie");
}

/// The plan for one sample: the page and what it must show.
fn plan(name: &str, failed: &[&str], dir: &Path) -> Value {
    let session = run(Path::new(&format!("captures/{name}.har")));
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, html::render(&session, &Redactor::new(true))).unwrap();
    let steps = &session.analysis.steps;
    let host = "login.microsoftonline.com";
    let correlation = session.analysis.flows[0].correlation_ids[0].clone();
    let (step, secret) = cookie_step(&session);
    let flows: Vec<Value> = session
        .analysis
        .flows
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "hops": hops(&session, f),
                "failed": if f.id == 0 { failed.to_vec() } else { vec![] },
            })
        })
        .collect();
    // A bar of a step outside flows (its row in "all requests") and one of a
    // flow's first step (its row in the flow's waterfall).
    let outside = (0..steps.len()).find(|&i| session.analysis.flow_of_step[i].is_none());
    let lane_bars: Vec<usize> = outside
        .into_iter()
        .chain(session.analysis.flows[0].steps.first().copied())
        .collect();
    let hosts: std::collections::HashSet<&str> = steps.iter().map(|s| s.host.as_str()).collect();
    json!({
        "name": name,
        "file": file,
        "requests": steps.len(),
        "hosts": hosts.len(),
        "lane_bars": lane_bars,
        "host": host,
        "host_rows": steps.iter().filter(|s| s.host == host).count(),
        "correlation_id": correlation,
        "correlation_rows": steps.iter().filter(|s| s.correlation_id.as_deref() == Some(correlation.as_str())).count(),
        "cookie_step": step,
        "cookie_secret": secret,
        "flows": flows,
    })
}

#[test]
fn the_report_works_in_chromium() {
    let Some(chromium) = found("chromium").or_else(|| found("chromium-browser")) else {
        return missing("no chromium on PATH (apt-get install chromium)");
    };
    let Some(node) = found("node") else {
        return missing("no node on PATH (apt-get install nodejs npm)");
    };
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !suite.join("node_modules/playwright-core").is_dir() {
        return missing("playwright-core is not installed (run `npm ci` in tests/browser)");
    }
    let dir = artefacts_dir();
    let pages = vec![
        // The first MFA attempt timed out: its folded polls are the failed hop.
        plan("mfa-timeout-then-success", &["mfa-0-12"], &dir),
        plan("adfs-federated", &[], &dir),
        // AADSTS70012 came back on the MSA hand-off's redirect.
        plan("msa-handoff-70012", &["step-11", "step-12"], &dir),
    ];
    let plan = json!({ "chromium": chromium, "shots": dir, "pages": pages });
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let out = Command::new(node)
        .arg(suite.join("report.test.js"))
        .arg(&plan_file)
        .current_dir(&suite)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "the browser test failed: {stderr}");
    for p in [
        "mfa-timeout-then-success",
        "adfs-federated",
        "msa-handoff-70012",
    ] {
        assert!(stdout.contains(&format!("ok {p}")), "{p} was not checked");
        for w in [900, 1400] {
            let shot = std::fs::read(dir.join(format!("{p}-{w}.png"))).unwrap();
            assert!(shot.starts_with(b"\x89PNG"));
        }
    }
}
