//! Golden reports: the text and JSON report and the `--ticket` block of every sample in `captures/` (HARs and
//! packet captures alike, TLS ones decrypted with their key log or DSB), pinned with insta. `INSTA_UPDATE=always cargo test`
//! rewrites them after an intended change; review the diff, never edit a snapshot by
//! hand.

use aadtrace::capture::{NoProgress, ReadOptions, Source};
use aadtrace::report::shown::Redactor;
use aadtrace::report::{json, text, ticket};
use aadtrace::session::{self, Session, SessionOptions};

fn samples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("captures")
        .expect("captures/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".keylog") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Analyses a sample, with the key log that sits beside a TLS capture
/// (`x-tls13-h2.pcapng` + `x-tls13-h2.keylog`), as `--keylog` would pass it.
fn run(name: &str) -> Session {
    let source = Source::File(format!("captures/{name}").into());
    let stem = name.split('.').next().unwrap_or(name);
    let keylog = std::path::PathBuf::from(format!("captures/{stem}.keylog"));
    let read = ReadOptions {
        keylogs: if keylog.exists() {
            vec![keylog]
        } else {
            vec![]
        },
        ..Default::default()
    };
    session::run_with(
        &[source],
        &SessionOptions::default(),
        &read,
        &NoProgress,
        &|| {},
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The HAR a capture was made from: `x.pcap` and `x-tls13-h2.pcapng` → `x.har`.
fn har_of(name: &str) -> String {
    let stem = name.split('.').next().unwrap_or(name);
    format!("{}.har", stem.split("-tls").next().unwrap_or(stem))
}

/// Snapshot name: the stem for a HAR (`clean-signin`), the whole file name for a
/// capture (`msa-handoff-70012.pcap`), so a capture and its HAR never collide.
fn snapshot_stem(name: &str) -> &str {
    name.strip_suffix(".har").unwrap_or(name)
}

#[test]
fn every_sample_has_golden_reports() {
    let names = samples();
    let hars = names.iter().filter(|n| n.ends_with(".har")).count();
    assert!(
        hars >= 7,
        "captures/ has the seven HAR scenarios: {names:?}"
    );
    assert!(
        names.len() >= hars + 4,
        "captures/ has the four packet captures: {names:?}"
    );
    for name in names {
        let session = run(&name);
        let redactor = Redactor::new(true);
        let stem = snapshot_stem(&name);
        insta::assert_snapshot!(
            format!("{stem}.txt"),
            text::render(&session, &redactor, text::Palette { enabled: false })
        );
        insta::assert_snapshot!(format!("{stem}.json"), json::render(&session, &redactor));
        insta::assert_snapshot!(
            format!("{stem}.ticket.md"),
            ticket::render(&session, &redactor)
        );
    }
}

/// What must not depend on the recording format: per flow its kind, outcome and MFA
/// verdicts; the kinds and AADSTS codes of the findings.
fn verdicts(s: &Session) -> (Vec<String>, Vec<String>) {
    let flows = s
        .analysis
        .flows
        .iter()
        .map(|f| {
            let mfa: Vec<String> = f.mfa.iter().map(|m| format!("{:?}", m.result)).collect();
            format!("{:?} {:?} mfa={mfa:?}", f.kind, f.outcome)
        })
        .collect();
    let mut findings: Vec<String> = s
        .findings
        .iter()
        .map(|f| format!("{} {:?}", f.kind, f.code))
        .collect();
    findings.sort();
    (flows, findings)
}

/// Each packet capture of a scenario tells the same story as the HAR of that scenario.
#[test]
fn captures_match_their_har() {
    let names = samples();
    let captures: Vec<&String> = names.iter().filter(|n| !n.ends_with(".har")).collect();
    assert!(captures.len() >= 4, "{names:?}");
    for name in captures {
        let har = har_of(name);
        assert!(names.contains(&har), "{name} has no {har}");
        let from_capture = run(name);
        let from_har = run(&har);
        assert_eq!(
            from_capture.inputs[0].summary.exchanges, from_har.inputs[0].summary.exchanges,
            "{name}: exchange count"
        );
        let (flows_c, findings_c) = verdicts(&from_capture);
        let (flows_h, findings_h) = verdicts(&from_har);
        assert!(!flows_h.is_empty(), "{har}: no flow");
        assert_eq!(flows_c, flows_h, "{name} vs {har}: flows");
        assert_eq!(findings_c, findings_h, "{name} vs {har}: findings");
    }
}
