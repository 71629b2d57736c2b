//! `aadtrace redact` of packet captures (issue #13): a cleartext capture is
//! masked in place, so the copy is the same capture (same frames, lengths and
//! HTTP requests for tshark; same flows and findings for aadtrace) with no
//! secret of the original left in its bytes. Captures whose HTTP is inside TLS
//! are written as a HAR only when asked (`--to har`), and refused otherwise with
//! what to do.
//!
//! The secrets are enumerated without the rewriter's help, from a HAR of the
//! original's exchanges ([`support::redaction::secrets_of`]). tshark is the
//! reference reader: without it the tshark half prints why and is skipped,
//! except under `CI=true`.

use crate::support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use aadtrace::redact::exchanges;
use assert_cmd::Command;
use serde_json::Value;
use support::redaction::{analyse, secrets_of, shape};

/// The samples whose HTTP travels in clear.
const CLEARTEXT: &[&str] = &[
    "adfs-federated.pcapng.gz",
    "mfa-timeout-then-success.pcapng",
    "msa-handoff-70012.pcap",
    "token-errors-devicecode.cap",
];

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// A file's bytes, inflated when gzip'd.
fn plain(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

fn redact(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("aadtrace")
        .unwrap()
        .arg("redact")
        .args(args)
        .output()
        .unwrap()
}

/// tshark's view of a capture: each frame's length, and each HTTP request's
/// method and host. `None` when tshark is not installed.
fn tshark_view(path: &Path) -> Option<String> {
    let out = Process::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.len",
            "-e",
            "http.request.method",
        ])
        .args(["-e", "http.host"])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tshark cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tshark_missing() {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tshark is required under CI (apt-get install tshark)"
    );
    eprintln!("skipping the tshark comparison: tshark is not installed");
}

#[test]
fn cleartext_captures_are_masked_in_place() {
    let dir = tempfile::tempdir().unwrap();
    for name in CLEARTEXT {
        let input = sample(name);
        let output = dir.path().join(name);
        let receipt_path = dir.path().join(format!("{name}.receipt.json"));
        let out = redact(&[
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--receipt",
            receipt_path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let receipt: Value =
            serde_json::from_slice(&std::fs::read(&receipt_path).unwrap()).unwrap();
        let warnings = receipt["warnings"].to_string();
        assert!(warnings.contains("stale"), "{name}: {warnings}");
        // Every value masked is named by its frame and field.
        let places = receipt["places"].as_array().unwrap();
        let listed: u64 = places.iter().map(|p| p["count"].as_u64().unwrap()).sum();
        assert_eq!(Some(listed), receipt["total"].as_u64(), "{name}");
        assert!(places
            .iter()
            .all(|p| p["place"].as_str().unwrap().starts_with("frame ")));
        assert!(
            places
                .iter()
                .any(|p| p["field"] == "request body" && p["kind"] == "password"),
            "{name}: {places:?}"
        );

        let (original, copy) = (plain(&input), plain(&output));
        assert_eq!(
            original.len(),
            copy.len(),
            "{name}: the copy's length changed"
        );
        assert_ne!(original, copy, "{name}: nothing was masked");

        // No secret of the original survives in the copy's bytes.
        let (har, _) = exchanges::to_har(&original, None).unwrap();
        let har: Value = serde_json::from_slice(&har.to_vec()).unwrap();
        let mut secrets = secrets_of(&har);
        // AADSTS numbers are kept on purpose (`error_codes=[…]` looks like a code).
        let original_text = String::from_utf8_lossy(&original);
        secrets.retain(|v| !original_text.contains(&format!("AADSTS{v}")));
        assert!(secrets.len() > 5, "{name}: found only {secrets:?}");
        let text = String::from_utf8_lossy(&copy);
        for s in &secrets {
            let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
            assert!(
                !text.contains(s.as_str()) && !text.contains(&encoded),
                "{name}: secret survived: {s}"
            );
        }
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("adele.vance@contoso.example")
                && !lower.contains("adele.vance%40contoso.example"),
            "{name}: the UPN survived"
        );

        // aadtrace finds the same flows and findings.
        assert_eq!(
            shape(&analyse(&input)),
            shape(&analyse(&output)),
            "{name}: analysis changed"
        );
        // tshark reads the same frames and the same requests.
        match (tshark_view(&input), tshark_view(&output)) {
            (Some(a), Some(b)) => assert_eq!(a, b, "{name}: tshark sees another capture"),
            _ => tshark_missing(),
        }
    }
}

#[test]
fn decrypted_tls_is_written_only_as_a_har_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("mfa-abandoned-500121-tls12-h1-dsb.pcapng");
    let output = dir.path().join("copy.pcapng");
    let out = redact(&[input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("decrypted from TLS") && stderr.contains("--to har"),
        "{stderr}"
    );
    assert!(!output.exists(), "nothing is written when refused");

    let har = dir.path().join("copy.har");
    let out = redact(&[
        input.to_str().unwrap(),
        "--to",
        "har",
        "-o",
        har.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    assert!(!doc["log"]["entries"].as_array().unwrap().is_empty());
    assert_eq!(shape(&analyse(&input)), shape(&analyse(&har)));
}

#[test]
fn encrypted_captures_are_refused_unless_a_key_log_decrypts_them() {
    let dir = tempfile::tempdir().unwrap();
    // Alone in a folder: the key log beside the sample is not found.
    let alone = dir.path().join("capture.pcapng");
    std::fs::copy(sample("mfa-timeout-then-success-tls13-h2.pcapng"), &alone).unwrap();
    let output = dir.path().join("copy.pcapng");
    let out = redact(&[alone.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("encrypted") && stderr.contains("--keylog"),
        "{stderr}"
    );

    let keylog = sample("mfa-timeout-then-success-tls13-h2.keylog");
    let har = dir.path().join("copy.har");
    let out = redact(&[
        alone.to_str().unwrap(),
        "--keylog",
        keylog.to_str().unwrap(),
        "--to",
        "har",
        "-o",
        har.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&har).unwrap();
    assert!(!text.contains("Sample-Passw0rd!"));
    assert!(text.contains("login.microsoftonline.com"));
}

#[test]
fn a_capture_cannot_be_redacted_into_a_foreign_format() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("copy");
    let har = sample("clean-signin.har");
    // `--to har` of a HAR is the HAR rewrite itself.
    let out = redact(&[
        har.to_str().unwrap(),
        "--to",
        "har",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = redact(&[
        har.to_str().unwrap(),
        "--to",
        "pcap",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown --to");
}

/// Every capture of the corpus: redacted in place, tshark reads the copy as the
/// original (frames, lengths, HTTP requests) and aadtrace finds the same flows
/// and findings; or refused with one of the stated reasons.
#[test]
fn every_corpus_capture_round_trips_or_is_refused_with_a_reason() {
    let Some(root) = support::corpus_dir("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut written, mut refused) = (0, 0);
    for (i, input) in corpus_captures(&root).into_iter().enumerate() {
        let name = input.strip_prefix(&root).unwrap().display().to_string();
        let file = input.file_name().unwrap().to_string_lossy();
        let output = dir.path().join(format!("{i}-{file}"));
        let result = aadtrace::redact::redact(
            &aadtrace::capture::Source::File(input.clone()),
            &aadtrace::redact::Target::File(output.clone()),
            &aadtrace::redact::RedactOptions::default(),
        );
        match result {
            Ok(_) => {
                written += 1;
                assert_eq!(plain(&input).len(), plain(&output).len(), "{name}");
                match (tshark_view(&input), tshark_view(&output)) {
                    (Some(a), Some(b)) => assert_eq!(a, b, "{name}: tshark sees another capture"),
                    _ => tshark_missing(),
                }
                assert_eq!(shape(&analyse(&input)), shape(&analyse(&output)), "{name}");
            }
            Err(e) => {
                refused += 1;
                let why = e.to_string();
                let stated = [
                    "is encrypted",
                    "decrypted from TLS",
                    "IP fragments",
                    "WinINet ETW",
                    "HTTP/2 in clear text",
                ];
                assert!(stated.iter().any(|s| why.contains(s)), "{name}: {why}");
                assert!(!output.exists(), "{name}: written although refused");
            }
        }
    }
    eprintln!("{written} corpus captures redacted in place, {refused} refused with a reason");
    assert!(
        written >= 60 && refused >= 30,
        "{written} written, {refused} refused"
    );
}

/// The packet captures of the corpus (pcap, pcapng, Network Monitor).
fn corpus_captures(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![
        root.join("pcap"),
        root.join("netmon"),
        root.join("realworld"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let n = p.to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
                .iter()
                .any(|x| n.ends_with(x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
