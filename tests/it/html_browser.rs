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

use aadtrace::report::shown::{cookie_is_kept, terminal_safe, Redactor};
use aadtrace::report::verdict::{self, Ending};
use aadtrace::report::{html, ticket};
use aadtrace::session::Session;
use serde_json::{json, Value};

fn run(path: &Path) -> Session {
    crate::support::analyse_with_detail(path)
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

/// The plan for one sample: the page and what it must show. `details` says
/// where the steps' details are (a deferred page fills them when opened).
fn plan(name: &str, failed: &[&str], details: html::Details, dir: &Path) -> Value {
    let session = run(Path::new(&format!("captures/{name}.har")));
    let page = html::render_page(
        &session,
        &Redactor::new(true),
        html::Page {
            nonce: "b7c1e2",
            details,
        },
    );
    let name = match details {
        html::Details::Deferred => format!("{name}-deferred"),
        _ => name.to_string(),
    };
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, page).unwrap();
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
    let inline = html::Details::Inline;
    let pages = vec![
        // The first MFA attempt timed out: its folded polls are the failed hop.
        plan("mfa-timeout-then-success", &["mfa-0-12"], inline, &dir),
        plan("adfs-federated", &[], inline, &dir),
        // AADSTS70012 came back on the MSA hand-off's redirect.
        plan("msa-handoff-70012", &["step-11", "step-12"], inline, &dir),
        // Details kept out of the DOM until a step opens, as on a large trace.
        plan(
            "mfa-timeout-then-success",
            &["mfa-0-12"],
            html::Details::Deferred,
            &dir,
        ),
    ];
    let mut tour: Vec<Value> = traces_to_tour()
        .iter()
        .map(|path| tour_plan(path, &dir))
        .collect();
    tour.sort_by_key(|p| p["name"].as_str().map(str::to_string));
    let plan = json!({
        "chromium": chromium,
        "shots": dir,
        "pages": &pages,
        "tour": &tour,
        "hostile": hostile_page(&dir),
    });
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
    assert!(
        stdout.contains("ok hostile\n"),
        "the hostile page was not checked"
    );
    let names = pages
        .iter()
        .chain(&tour)
        .map(|p| p["name"].as_str().unwrap());
    for p in names {
        assert!(stdout.contains(&format!("ok {p}\n")), "{p} was not checked");
        for w in [900, 1400] {
            let shot = std::fs::read(dir.join(format!("{p}-{w}.png"))).unwrap();
            assert!(shot.starts_with(b"\x89PNG"));
        }
    }
}

/// Every sample in `captures/` (any format) and every trace of the real-world
/// corpus (`../shared/corpus/realworld/`, skipped with a reason when it is
/// missing outside CI).
fn traces_to_tour() -> Vec<PathBuf> {
    let mut traces: Vec<PathBuf> = Vec::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let realworld = crate::support::corpus_dir("realworld");
    for dir in std::iter::once(samples).chain(realworld) {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            // Key logs and READMEs go with a capture; the real-world
            // recordings' cassettes are the same sign-ins as their HARs.
            let trace = [".har", ".pcap", ".pcapng", ".pcapng.gz", ".cap"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if trace {
                traces.push(path);
            }
        }
    }
    traces.sort();
    traces
}

/// The plan for touring one trace's page: its verdict, the step the verdict
/// rests on (where its link must land) and the `--ticket` text.
fn tour_plan(path: &Path, dir: &Path) -> Value {
    let session = run(path);
    let r = Redactor::new(true);
    let name = format!(
        "tour-{}",
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-")
    );
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, html::render(&session, &r)).unwrap();
    let v = verdict::of_trace(&session);
    let step = match (v.ending, v.finding, v.flow) {
        (Ending::Failed, Some(f), _) => f.exchanges.last().copied(),
        (Ending::Incomplete, _, Some(flow)) => flow.steps.last().copied(),
        _ => None,
    };
    let failing = step.map(|id| match session.analysis.flow_of_step[id] {
        Some(_) => format!("step-{id}"),
        None => format!("req-{id}"),
    });
    json!({
        "name": name,
        "file": file,
        "verdict": terminal_safe(&v.line(&r)),
        "failing": failing,
        "ticket": ticket::render(&session, &r),
    })
}

/// The sample with script, markup and `javascript:` payloads in its URLs,
/// headers and bodies (`html::crafted_har`), its details deferred: the
/// browser test opens every step, which puts them in the DOM.
fn hostile_page(dir: &Path) -> Value {
    let har = crate::html::crafted_har(dir);
    let session = run(&har);
    let file = dir.join("hostile.html");
    let page = html::render_page(
        &session,
        &Redactor::new(true),
        html::Page {
            nonce: "b7c1e2",
            details: html::Details::Deferred,
        },
    );
    std::fs::write(&file, page).unwrap();
    json!({ "file": file, "details": session.analysis.steps.iter().filter(|s| s.detail.is_some()).count() })
}
