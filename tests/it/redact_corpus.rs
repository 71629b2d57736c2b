//! `aadtrace redact` over every HAR of the shared corpus (browsers, Fiddler,
//! mitmproxy, Playwright and HAR tools as they really write them): each one that
//! aadtrace reads is redacted into a HAR that a plain JSON reader loads with the
//! same entries, and in which aadtrace finds the same flows and findings; one
//! it cannot read is refused with an error that names it, and nothing is
//! written. (Captures: `redact_packets.rs`.)

use std::path::{Path, PathBuf};

use aadtrace::capture::Source;
use aadtrace::redact::{self, RedactOptions, Target};
use serde_json::Value;

use crate::support;
use crate::support::redaction::{analyse, shape};

fn corpus_hars(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            let name = p.to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".har") || name.ends_with(".har.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A HAR document loaded by serde_json alone (the reference reader), without
/// the `callback( … )` wrapper of a JSONP HAR (HAR Viewer's `.harp`).
fn json(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes)
        .ok()?
        .trim_start_matches('\u{feff}')
        .trim();
    let text = match (text.find('('), text.strip_suffix(')')) {
        (Some(open), Some(inner)) if !text.starts_with('{') => &inner[open + 1..],
        _ => text,
    };
    serde_json::from_str(text).ok()
}

fn entries(bytes: &[u8]) -> Option<usize> {
    json(bytes)?["log"]["entries"].as_array().map(Vec::len)
}

#[test]
fn every_corpus_har_round_trips_or_is_refused() {
    let Some(root) = support::corpus_dir("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut written, mut refused) = (0, 0);
    for (i, input) in corpus_hars(&root).into_iter().enumerate() {
        let name = input.strip_prefix(&root).unwrap().display().to_string();
        let output = dir.path().join(format!("{i}.har"));
        let result = redact::redact(
            &Source::File(input.clone()),
            &Target::File(output.clone()),
            &RedactOptions::default(),
        );
        let readable = aadtrace::session::run(
            &[Source::File(input.clone())],
            &aadtrace::session::SessionOptions::default(),
            &aadtrace::capture::NoProgress,
            &|| {},
        )
        .is_ok();
        match result {
            Ok(receipt) => {
                written += 1;
                let copy = std::fs::read(&output).unwrap();
                let plain = std::fs::read(&input).unwrap();
                assert!(json(&copy).is_some(), "{name}: the copy is not JSON");
                if !name.ends_with(".gz") && json(&plain).is_some() {
                    assert_eq!(entries(&copy), entries(&plain), "{name}: entries changed");
                }
                if readable {
                    assert_eq!(shape(&analyse(&input)), shape(&analyse(&output)), "{name}");
                }
                assert_eq!(receipt.output_format, receipt.format, "{name}");
            }
            Err(e) => {
                refused += 1;
                assert!(
                    !readable,
                    "{name}: aadtrace reads it, but redact refused: {e}"
                );
                let file = input.file_name().unwrap().to_string_lossy();
                assert!(
                    e.to_string().contains(&*file),
                    "{name}: the error names no file: {e}"
                );
                assert!(!output.exists(), "{name}: written although refused");
            }
        }
    }
    eprintln!("{written} corpus HARs redacted, {refused} refused");
    assert!(written >= 30, "{written} written, {refused} refused");
}

/// Every SAZ of the corpus: a copy that a plain zip reader opens with the same
/// members in the same order, in which aadtrace finds the same flows and
/// findings; or, for a file aadtrace cannot read, a refusal naming it.
#[test]
fn every_corpus_saz_round_trips_or_is_refused() {
    let Some(root) = support::corpus_dir("saz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sazes: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "saz") {
                sazes.push(p);
            }
        }
    }
    sazes.sort();
    let mut written = 0;
    for (i, input) in sazes.iter().enumerate() {
        let name = input.strip_prefix(&root).unwrap().display().to_string();
        let output = dir.path().join(format!("{i}.saz"));
        let result = redact::redact(
            &Source::File(input.clone()),
            &Target::File(output.clone()),
            &RedactOptions::default(),
        );
        match result {
            Ok(_) => {
                written += 1;
                assert_eq!(members(input), members(&output), "{name}: members changed");
                assert_eq!(shape(&analyse(input)), shape(&analyse(&output)), "{name}");
            }
            Err(e) => {
                let file = input.file_name().unwrap().to_string_lossy();
                assert!(e.to_string().contains(&*file), "{name}: {e}");
                assert!(!output.exists(), "{name}: written although refused");
            }
        }
    }
    assert!(
        written >= 5,
        "{written} of {} corpus SAZ files redacted",
        sazes.len()
    );
}

/// The member names of a zip archive, read by the `zip` crate (the reference).
fn members(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    (0..archive.len())
        .map(|i| archive.by_index_raw(i).unwrap().name().unwrap().to_string())
        .collect()
}
