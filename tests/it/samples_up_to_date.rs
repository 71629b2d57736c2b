//! The sample captures in `captures/` must be exactly what the generator
//! (`examples/make_samples`) writes today, so samples cannot drift from the code that
//! defines them: HARs, packet captures, and TLS captures with their key logs (the TLS
//! generator is seeded, so rustls's randoms, keys and signatures repeat exactly). Regenerate with `cargo run --example make_samples`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Every generated sample: HARs and the cleartext captures (everything but docs).
fn sample_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.starts_with('.'))
        .collect()
}

#[test]
fn samples_match_their_generator() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "--example", "make_samples", "--", "--out"])
        .arg(tmp.path())
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "make_samples failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let generated = sample_names(tmp.path());
    let committed = sample_names(&captures_dir());
    assert!(
        generated.iter().any(|n| n.ends_with(".har")),
        "the generator wrote no HAR files"
    );
    for ext in [".pcap", ".pcapng", ".pcapng.gz", ".cap", ".keylog"] {
        assert!(
            generated.iter().any(|n| n.ends_with(ext)),
            "the generator wrote no {ext} capture"
        );
    }
    assert_eq!(
        generated, committed,
        "captures/ and the generator disagree on the file list; run `cargo run --example make_samples`"
    );

    for name in &generated {
        let fresh = fs::read(tmp.path().join(name)).expect("read generated");
        let stored = fs::read(captures_dir().join(name)).expect("read committed");
        assert!(
            fresh == stored,
            "captures/{name} differs from the generator's output; run `cargo run --example make_samples`"
        );
        if !name.ends_with(".har") {
            continue;
        }

        let v: serde_json::Value = serde_json::from_slice(&stored)
            .unwrap_or_else(|e| panic!("captures/{name} is not valid JSON: {e}"));
        assert_eq!(v["log"]["version"], "1.2", "{name}: log.version");
        let entries = v["log"]["entries"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: log.entries is not an array"));
        assert!(!entries.is_empty(), "{name}: log.entries is empty");
        for (i, e) in entries.iter().enumerate() {
            assert!(
                e["request"]["url"].is_string(),
                "{name}: entry {i} has no URL"
            );
            assert!(
                e["response"]["status"].is_u64(),
                "{name}: entry {i} has no status"
            );
        }
    }
}
