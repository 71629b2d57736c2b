//! Recordings of real sign-ins against the real Microsoft services
//! (`../shared/corpus/realworld/`, described in its SOURCES.md): each one's flows
//! and findings are pinned (insta), and every trace the project knows — the
//! samples in `captures/` and every corpus file — is held to the rules of
//! README "How it is built": a failed flow always says why in an `error`
//! finding, and traffic no sign-in depended on never raises a warning or error.
//!
//! The recordings' durations are placeholders (100 ms each): only flows,
//! outcomes, MFA verdicts and findings are judged here.

use crate::support;

use std::path::{Path, PathBuf};

use aadtrace::findings::Severity;
use aadtrace::identity::{flows, Outcome};
use aadtrace::session::Session;

/// A compact, stable picture of what the analysis made of a trace.
fn picture(s: &Session) -> String {
    let mut out = format!(
        "verdict {}\n",
        aadtrace::report::verdict::of_trace(s).line(&aadtrace::report::shown::Redactor::new(true))
    );
    for f in &s.analysis.flows {
        out.push_str(&format!(
            "flow {} {:?} {:?} tenant={:?} client={:?}\n",
            f.id, f.kind, f.outcome, f.tenant, f.client_id
        ));
        for &i in &f.steps {
            let st = &s.analysis.steps[i];
            out.push_str(&format!(
                "  #{i} {} {}{}\n",
                st.label(),
                st.status.map(|x| x.to_string()).unwrap_or_default(),
                if st.background { " (background)" } else { "" }
            ));
        }
        for m in &f.mfa {
            out.push_str(&format!(
                "  mfa {:?} {:?} polls={} last={:?}\n",
                m.method, m.result, m.polls, m.last_result_value
            ));
        }
    }
    out.push_str(&format!("background {:?}\n", s.analysis.background));
    for f in &s.findings {
        out.push_str(&format!(
            "{} {} flow={:?} steps={:?} code={:?} service_code={:?}: {}\n",
            f.severity.name(),
            f.kind,
            f.flow,
            f.exchanges,
            f.code,
            f.service_code,
            f.title
        ));
    }
    out
}

fn realworld(name: &str) -> Option<Session> {
    let dir = support::corpus_dir("realworld")?;
    Some(support::analyse(&dir.join(name)))
}

fn errors_of(s: &Session, flow: usize) -> Vec<&aadtrace::findings::Finding> {
    s.findings
        .iter()
        .filter(|f| f.flow == Some(flow) && f.severity == Severity::Error)
        .collect()
}

#[test]
fn federated_username_password_is_one_flow_that_says_why() {
    let Some(s) = realworld("kubelogin-ropc-adfs-wstrust-badpw.har") else {
        return;
    };
    insta::assert_snapshot!("kubelogin-ropc-adfs-wstrust-badpw", picture(&s));
    assert_eq!(
        s.analysis.flows.len(),
        1,
        "discovery, user realm, mex and WS-Trust are one sign-in"
    );
    let flow = &s.analysis.flows[0];
    assert_eq!(flow.outcome, Outcome::Failed);
    assert_eq!(flow.steps.len(), 4);
    let errors = errors_of(&s, 0);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, "service_error");
    assert_eq!(errors[0].service_code.as_deref(), Some("ID3242"));
    assert!(errors[0].explanation.contains("FailedAuthentication"));
    assert!(errors[0].explanation.contains("ID3242: The security token"));
}

#[test]
fn device_code_with_its_discovery_is_one_flow() {
    let Some(s) = realworld("kubelogin-devicecode-70016.har") else {
        return;
    };
    insta::assert_snapshot!("kubelogin-devicecode-70016", picture(&s));
    assert_eq!(s.analysis.flows.len(), 1);
    assert_eq!(s.analysis.flows[0].outcome, Outcome::Success);
    assert!(s
        .findings
        .iter()
        .any(|f| f.code == Some(70016) && f.severity == Severity::Info));
}

#[test]
fn msa_password_sign_in_is_one_flow() {
    let Some(s) = realworld("xbox-msa-password-ok.har") else {
        return;
    };
    insta::assert_snapshot!("xbox-msa-password-ok", picture(&s));
    assert_eq!(s.analysis.flows.len(), 1);
    assert_eq!(s.analysis.flows[0].outcome, Outcome::Success);
    assert!(s.findings.iter().all(|f| f.severity < Severity::Warning));
}

#[test]
fn msa_push_is_polled_inside_its_sign_in_and_approved() {
    let Some(s) = realworld("xbox-msa-push-approve.har") else {
        return;
    };
    insta::assert_snapshot!("xbox-msa-push-approve", picture(&s));
    let sign_in = &s.analysis.flows[0];
    assert_eq!(sign_in.outcome, Outcome::Success);
    let poll = s
        .analysis
        .steps
        .iter()
        .find(|st| st.endpoint == Some("msa_session_state"))
        .expect("the push poll");
    assert_eq!(
        s.analysis.flow_of_step[poll.id],
        Some(0),
        "the poll joins the sign-in"
    );
    assert_eq!(sign_in.mfa.len(), 1);
    assert_eq!(
        sign_in.mfa[0].result,
        aadtrace::identity::MfaResult::Approved
    );
    assert_eq!(sign_in.mfa[0].polls, 1);
    // The refresh-token grant after it is a token conversation, not a second sign-in.
    for f in &s.analysis.flows[1..] {
        assert_eq!(f.kind, aadtrace::identity::FlowKind::Token);
    }
}

#[test]
fn msa_wrong_code_is_explained_as_a_microsoft_account_error() {
    let Some(s) = realworld("xbox-msa-totp-wrong-code.har") else {
        return;
    };
    insta::assert_snapshot!("xbox-msa-totp-wrong-code", picture(&s));
    assert_eq!(
        s.analysis.flows.len(),
        1,
        "the credential look-up joins the sign-in"
    );
    assert_eq!(s.analysis.flows[0].outcome, Outcome::Failed);
    let msa = s
        .findings
        .iter()
        .find(|f| f.service_code.as_deref() == Some("80049C34"))
        .expect("a finding for the page's error code");
    assert_eq!(msa.kind, "service_error");
    assert_eq!(msa.severity, Severity::Error);
    assert!(!msa.title.contains("OAuth"), "{}", msa.title);
    assert!(s.findings.iter().all(|f| f.kind != "oauth_error"));
    assert_eq!(
        s.analysis.flows[0].mfa[0].result,
        aadtrace::identity::MfaResult::Failed
    );
}

/// Every trace the project knows: the samples, and every corpus file that reads.
fn every_trace() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("captures"))
        .expect("captures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.extension().is_some_and(|x| x == "md" || x == "keylog"))
        .collect();
    for sub in ["realworld", "har", "saz", "netmon", "pcap"] {
        let Some(dir) = support::corpus_dir(sub) else {
            continue;
        };
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().filter_map(|e| e.ok()) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.extension().is_some_and(|x| x == "yaml" || x == "md") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_failed_flow_says_why_and_noise_stays_quiet() {
    let mut problems = Vec::new();
    for path in every_trace() {
        let Ok(s) = aadtrace::session::run(
            &[aadtrace::capture::Source::File(path.clone())],
            &Default::default(),
            &aadtrace::capture::NoProgress,
            &|| {},
        ) else {
            continue;
        };
        for f in &s.analysis.flows {
            if f.outcome == Outcome::Failed && errors_of(&s, f.id).is_empty() {
                problems.push(format!(
                    "{}: failed flow {} has no error finding",
                    path.display(),
                    f.id
                ));
            }
        }
        for f in s
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
        {
            let about_noise = !f.exchanges.is_empty()
                && f.exchanges.iter().all(|&i| {
                    let st = &s.analysis.steps[i];
                    !flows::in_scope(st) && s.analysis.flow_of_step[i].is_none()
                });
            if about_noise && f.kind == "http_error" {
                problems.push(format!(
                    "{}: {} about traffic no sign-in depended on: {}",
                    path.display(),
                    f.severity.name(),
                    f.title
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A browser sign-in shaped like the real ones the corpus lacks: the sample
/// push-MFA sign-in cut where the push times out, ending on the error page
/// with AADSTS50074, with what a real Entra page adds around it — the hidden
/// MSA frame (`Me.htm`), a Seamless SSO probe that fails off the corporate
/// network, a favicon 404 on the identity host, and telemetry the browser
/// abandoned.
fn real_shaped_timeout_trace(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("captures/mfa-timeout-then-success.har")).unwrap();
    let mut har: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = har["log"]["entries"].as_array_mut().unwrap();
    // Keep the sign-in up to the poll that answered PhoneAppNoResponse.
    let last_poll = entries
        .iter()
        .position(|e| {
            e["response"]["content"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("PhoneAppNoResponse"))
        })
        .expect("the sample times out");
    entries.truncate(last_poll + 1);
    let started = |e: &serde_json::Value| e["startedDateTime"].as_str().unwrap().to_string();
    let first_page = started(&entries[1]);
    let after_timeout = started(&entries[last_poll]);
    let page_url = entries[1]["request"]["url"].as_str().unwrap().to_string();
    let entry = |when: &str,
                 method: &str,
                 url: &str,
                 status: u16,
                 error: Option<&str>,
                 body: &str| {
        let mut e = serde_json::json!({
            "startedDateTime": when,
            "time": 20.0,
            "request": {"method": method, "url": url, "httpVersion": "HTTP/2",
                "headers": [{"name": "Referer", "value": page_url}],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/2",
                "headers": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                "cookies": [], "content": {"size": body.len(), "mimeType": "text/html", "text": body},
                "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 20, "receive": 0}
        });
        if let Some(err) = error {
            e["response"]["_error"] = serde_json::json!(err);
        }
        e
    };
    let error_page = r#"<html><head><script type="text/javascript">//<![CDATA[
$Config={"pgid":"ConvergedError","correlationId":"809253fb-e5ec-446a-9c62-31ffd37b3c29","sessionId":"5d2b0f0e-1c4e-4f6e-9d0a-3b8f5a1c2e77","strServiceExceptionMessage":"AADSTS50074: Strong Authentication is required.","sErrorCode":"50074"};
//]]></script></head><body></body></html>"#;
    let extra = [
        entry(&first_page, "GET", "https://login.live.com/Me.htm?v=3", 200, None, "<html></html>"),
        entry(&first_page, "GET", "https://login.microsoftonline.com/favicon.ico", 404, None, ""),
        entry(&first_page, "GET", "https://autologon.microsoftazuread-sso.com/contoso.example/winauth/ssoprobe?client-request-id=809253fb-e5ec-446a-9c62-31ffd37b3c29", 0, Some("net::ERR_FAILED"), ""),
        entry(&first_page, "POST", "https://browser.events.data.microsoft.com/OneCollector/1.0/", 0, Some("net::ERR_ABORTED"), ""),
        entry(&after_timeout, "POST", "https://browser.events.data.microsoft.com/OneCollector/1.0/", 0, Some("net::ERR_CONNECTION_CLOSED"), ""),
        entry(&after_timeout, "POST", "https://login.microsoftonline.com/common/SAS/ProcessAuth", 200, None, error_page),
    ];
    entries.extend(extra);
    let path = dir.join("real-shaped-timeout.har");
    std::fs::write(&path, serde_json::to_vec(&har).unwrap()).unwrap();
    path
}

#[test]
fn a_real_shaped_browser_sign_in_is_one_flow_and_its_noise_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let s = support::analyse(&real_shaped_timeout_trace(dir.path()));
    assert_eq!(s.analysis.flows.len(), 1, "{}", picture(&s));
    let flow = &s.analysis.flows[0];
    assert_eq!(flow.outcome, Outcome::Failed);
    // The 50074 on the error page is the error the user saw, after the timeout.
    let f50074 = s
        .findings
        .iter()
        .find(|f| f.code == Some(50074))
        .expect("50074");
    assert_eq!(f50074.severity, Severity::Error, "{}", picture(&s));
    assert!(
        f50074.explanation.contains("timed out"),
        "{}",
        f50074.explanation
    );
    assert!(
        !f50074.explanation.contains("not a failure"),
        "{}",
        f50074.explanation
    );
    // Seamless SSO off the corporate network, the favicon, the hidden MSA frame
    // and the telemetry: nothing above info.
    for f in &s.findings {
        let steps: Vec<&aadtrace::identity::Step> =
            f.exchanges.iter().map(|&i| &s.analysis.steps[i]).collect();
        let about_noise = steps.iter().all(|st| {
            st.host.ends_with("events.data.microsoft.com")
                || st.host.starts_with("autologon.")
                || st.path == "/favicon.ico"
                || st.endpoint == Some("msa_me")
        });
        if !steps.is_empty() && about_noise {
            assert_eq!(f.severity, Severity::Info, "{}: {}", f.kind, f.title);
        }
        assert!(!f.title.contains("favicon"), "{}", f.title);
        assert!(f.tenant.as_deref() != Some("favicon.ico"));
    }
    let telemetry = s
        .findings
        .iter()
        .filter(|f| f.kind == "unrelated_failures")
        .collect::<Vec<_>>();
    assert_eq!(telemetry.len(), 1, "one info count for the telemetry");
    assert!(
        telemetry[0].title.starts_with("2 request"),
        "{}",
        telemetry[0].title
    );
}

#[test]
fn a_trace_without_a_sign_in_says_how_to_capture_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-sign-in.har");
    std::fs::write(
        &path,
        r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[{"startedDateTime":"2026-11-22T08:00:00.000Z","time":5,"request":{"method":"GET","url":"https://www.contoso.example/","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"text/html"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":5,"receive":0}}]}}"#,
    )
    .unwrap();
    let s = support::analyse(&path);
    let f = s
        .findings
        .iter()
        .find(|f| f.kind == "no_sign_in")
        .expect("a no_sign_in finding");
    assert!(f.next_steps.iter().any(|n| n.contains("Preserve log")));
}
