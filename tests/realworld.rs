//! Recordings of real sign-ins against the real Microsoft services
//! (`../shared/corpus/realworld/`, described in its SOURCES.md): each one's flows
//! and findings are pinned (insta), and every trace the project knows — the
//! samples in `captures/` and every corpus file — is held to the rules of
//! README "How it is built": a failed flow always says why in an `error`
//! finding, and traffic no sign-in depended on never raises a warning or error.
//!
//! The recordings' durations are placeholders (100 ms each): only flows,
//! outcomes, MFA verdicts and findings are judged here.

mod support;

use std::path::{Path, PathBuf};

use aadtrace::findings::Severity;
use aadtrace::identity::{flows, Outcome};
use aadtrace::session::Session;

/// A compact, stable picture of what the analysis made of a trace.
fn picture(s: &Session) -> String {
    let mut out = String::new();
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
