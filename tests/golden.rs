//! Golden reports: the text and JSON report of every sample in `captures/`, pinned
//! with insta. `INSTA_UPDATE=always cargo test` rewrites them after an intended
//! change; review the diff, never edit a snapshot by hand.

use aadtrace::capture::{NoProgress, Source};
use aadtrace::report::redact::Redactor;
use aadtrace::report::{json, text};
use aadtrace::session::{self, SessionOptions};

fn samples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("captures")
        .expect("captures/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".har"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_sample_has_golden_reports() {
    let names = samples();
    assert!(
        names.len() >= 7,
        "captures/ has the seven sample scenarios: {names:?}"
    );
    for name in names {
        let source = Source::File(format!("captures/{name}").into());
        let session = session::run(&[source], &SessionOptions::default(), &NoProgress, &|| {})
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let redactor = Redactor::new(true);
        let stem = name.trim_end_matches(".har");
        insta::assert_snapshot!(
            format!("{stem}.txt"),
            text::render(&session, &redactor, text::Palette { enabled: false })
        );
        insta::assert_snapshot!(format!("{stem}.json"), json::render(&session, &redactor));
    }
}
