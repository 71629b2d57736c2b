//! Packet captures read on several threads (reading and TCP reassembly on one;
//! TLS decryption and HTTP parsing on a second, `capture::relay`; identity
//! observation on a third) give the same report as on one thread
//! (`ReadOptions::one_thread`, `AADTRACE_ONE_THREAD=1`): every sample capture and
//! every uncompressed corpus capture, compared as JSON reports. Gzip'd HARs too,
//! which are inflated and then read on two threads as a mapped HAR is.

use std::path::{Path, PathBuf};

use aadtrace::capture::{self, NoProgress, ReadOptions, Source};
use aadtrace::report::json;
use aadtrace::report::shown::Redactor;
use aadtrace::session::{self, SessionOptions};

fn is_capture(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("pcap" | "pcapng" | "cap")
    )
}

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures_under(&p, out);
        } else if is_capture(&p) {
            out.push(p);
        }
    }
}

/// The JSON report of one capture, with the key log beside it if any; `Err` is
/// the error's text (a capture that fails must fail the same way on both paths).
fn report(path: &Path, one_thread: bool) -> Result<String, String> {
    let keylog = path.with_extension("keylog");
    let read = ReadOptions {
        keylogs: if keylog.exists() {
            vec![keylog]
        } else {
            vec![]
        },
        one_thread,
    };
    let session = session::run_with(
        &[Source::File(path.to_path_buf())],
        &SessionOptions::default(),
        &read,
        &NoProgress,
        &|| {},
    )
    .map_err(|e| e.to_string())?;
    Ok(json::render(&session, &Redactor::new(true)))
}

fn assert_same(paths: &[PathBuf]) {
    for path in paths {
        let one = report(path, true);
        let two = report(path, false);
        assert!(
            one == two,
            "{}: the report on two threads differs from one thread",
            path.display()
        );
    }
}

#[test]
fn sample_captures_report_the_same_on_two_threads() {
    let mut paths = Vec::new();
    captures_under(Path::new("captures"), &mut paths);
    assert!(paths.len() >= 4, "captures/ has packet captures: {paths:?}");
    paths.sort();
    assert_same(&paths);
    // Not vacuous: the samples hold sign-ins.
    let steps = report(&paths[0], false).unwrap();
    assert!(steps.contains("\"flows\""), "{steps}");
}

#[test]
fn corpus_captures_report_the_same_on_two_threads() {
    // Skips with a reason outside CI, fails under CI.
    let (Some(pcap), Some(netmon)) = (
        crate::support::corpus_dir("pcap"),
        crate::support::corpus_dir("netmon"),
    ) else {
        return;
    };
    let mut paths = Vec::new();
    captures_under(&pcap, &mut paths);
    captures_under(&netmon, &mut paths);
    paths.sort();
    assert!(paths.len() >= 50, "corpus captures: {}", paths.len());
    assert_same(&paths);
}

/// A panic while observing exchanges on the second thread is an error naming the
/// input, not lost and not a hang; on one thread the same panic unwinds (which is
/// what shows the capture was read on two threads).
#[test]
fn a_panic_of_the_analysis_thread_is_reported() {
    let source = Source::File("captures/msa-handoff-70012.pcap".into());
    let panicking =
        |_ex: aadtrace::http::Exchange<'_>| -> aadtrace::identity::Step { panic!("observer bug") };
    let two = capture::read_source_mapped_with(
        &source,
        0,
        &ReadOptions::default(),
        &NoProgress,
        &|| {},
        &panicking,
    );
    let err = two.expect_err("the panic is reported").to_string();
    assert!(err.contains("msa-handoff-70012.pcap"), "{err}");
    assert!(err.contains("observer bug"), "{err}");

    let one = std::panic::catch_unwind(|| {
        let read = ReadOptions {
            one_thread: true,
            ..Default::default()
        };
        capture::read_source_mapped_with(&source, 0, &read, &NoProgress, &|| {}, &panicking)
    });
    assert!(one.is_err(), "one thread: the panic unwinds");
}

/// A gzip'd HAR is inflated, held and read on two threads as a mapped one is
/// (`capture::gzip_har_mapped`): every sample HAR gzip'd, and each cut at 60 % of
/// its gzip bytes (the stream reader's warning and entries), reports the same as
/// on one thread.
#[test]
fn gzipped_hars_report_the_same_on_two_threads() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut hars: Vec<PathBuf> = std::fs::read_dir("captures")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "har"))
        .collect();
    hars.sort();
    assert!(hars.len() >= 5, "captures/ has HARs: {hars:?}");
    for har in &hars {
        let name = har.file_name().unwrap().to_str().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(har).unwrap()).unwrap();
        let gz = gz.finish().unwrap();
        let whole = dir.path().join(format!("{name}.gz"));
        std::fs::write(&whole, &gz).unwrap();
        let cut = dir.path().join(format!("cut-{name}.gz"));
        std::fs::write(&cut, &gz[..gz.len() * 6 / 10]).unwrap();
        paths.extend([whole, cut]);
    }
    assert_same(&paths);
    // Not vacuous: the whole ones hold sign-ins, the cut ones say they were cut.
    let whole: serde_json::Value =
        serde_json::from_str(&report(&paths[0], false).unwrap()).unwrap();
    assert!(!whole["flows"].as_array().unwrap().is_empty(), "{whole}");
    let cut = report(&paths[1], false).unwrap();
    assert!(cut.contains("capture_truncated"), "{cut}");
}
