//! Conformance of TLS decryption against tshark: for every capture-and-key pair
//! that `corpus/SOURCES.md` lists ("goes with"), the number of decrypted
//! application-data records and the HTTP requests (method, authority, path) and
//! response statuses that aadtrace extracts equal what
//! `tshark -o tls.keylog_file:KEYS -Y "http || http2"` shows.
//!
//! Needs `tshark` and `../shared/corpus`. Without them the test prints why and
//! passes, except under `CI=true`, where a missing tshark or corpus fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use aadtrace::capture::{read_source_with, NoProgress, ReadOptions, Source};

/// Pairs where aadtrace deliberately differs from tshark, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "pcap/snet/ssl3_0.pcap",
        "SSL 3.0 uses its own MAC and PRF (not HMAC/TLS PRF); aadtrace decrypts TLS 1.0 and later only",
    ),
    (
        "pcap/wireshark-notes/tls/works/dump.pcapng",
        "RC4 suites (prohibited by RFC 7465): tshark decrypts them, aadtrace reports tls_cipher_unsupported",
    ),
    (
        "pcap/wireshark-notes/tls/all/dump.pcapng",
        "cipher-suite sweep: RC4, RC2, IDEA, DES, 3DES, Camellia and SEED suites are not decrypted by aadtrace (tls_cipher_unsupported); only the AES suites are",
    ),
];

/// Pairs whose key material is not a key log, skipped with the reason.
const NOT_KEYLOGS: &[(&str, &str)] = &[(
    ".key",
    "an RSA private key (static RSA key exchange); aadtrace reads key logs only",
)];

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let p = if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared/corpus")
    };
    p.join("SOURCES.md").exists().then_some(p)
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// (capture, key log or None for keys inside the capture) from SOURCES.md.
fn pairs(root: &Path) -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(root.join("SOURCES.md")).expect("SOURCES.md");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("- **") {
            current = rest.split("**").next().map(str::to_string);
            continue;
        }
        let Some(with) = t.strip_prefix("- goes with: ") else {
            continue;
        };
        let Some(cap) = current.as_deref() else {
            continue;
        };
        if !cap.starts_with("pcap/") {
            continue;
        }
        if with.starts_with("(keys embedded in DSB)") {
            out.push((cap.to_string(), None));
        } else if with.starts_with("keys/") {
            out.push((cap.to_string(), Some(with.trim().to_string())));
        }
    }
    out
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    records: u64,
    requests: Vec<(String, String, String)>,
    statuses: Vec<u16>,
}

fn tshark(cap: &Path, keys: Option<&Path>) -> Seen {
    let mut seen = Seen::default();
    let base = |filter: &str, fields: &[&str]| {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(cap);
        if let Some(k) = keys {
            cmd.arg("-o")
                .arg(format!("tls.keylog_file:{}", k.display()));
        }
        cmd.args(["-Y", filter, "-T", "fields", "-E", "occurrence=a"])
            .args(["-E", "aggregator=\u{1}", "-E", "separator=\u{2}"]);
        for f in fields {
            cmd.arg("-e").arg(f);
        }
        let out = cmd.output().expect("run tshark");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for line in base("tls", &["tls.record.content_type"]).lines() {
        seen.records += line.split('\u{1}').filter(|t| t.trim() == "23").count() as u64;
    }
    let fields = [
        "http.request.method",
        "http.host",
        "http.request.uri",
        "http.response.code",
        "http2.headers.method",
        "http2.headers.authority",
        "http2.headers.path",
        "http2.headers.status",
    ];
    for line in base("http || http2", &fields).lines() {
        let cols: Vec<Vec<&str>> = line
            .split('\u{2}')
            .map(|c| c.split('\u{1}').filter(|s| !s.is_empty()).collect())
            .collect();
        let col = |i: usize| cols.get(i).cloned().unwrap_or_default();
        for (m, h, p) in [(0, 1, 2), (4, 5, 6)] {
            for (k, method) in col(m).iter().enumerate() {
                seen.requests.push((
                    method.to_string(),
                    col(h).get(k).unwrap_or(&"").to_string(),
                    col(p).get(k).unwrap_or(&"").to_string(),
                ));
            }
        }
        for s in [col(3), col(7)] {
            for v in s {
                if let Ok(code) = v.trim().parse::<u16>() {
                    if code >= 200 {
                        seen.statuses.push(code);
                    }
                }
            }
        }
    }
    seen.requests.sort();
    seen.statuses.sort();
    seen
}

fn aadtrace(cap: &Path, keys: Option<&Path>) -> Seen {
    let options = ReadOptions {
        keylogs: keys.map(Path::to_path_buf).into_iter().collect(),
        ..Default::default()
    };
    let mut seen = Seen::default();
    let (_, summary) = read_source_with(
        &Source::File(cap.to_path_buf()),
        0,
        &options,
        &NoProgress,
        &mut |ex| {
            let url = ex.request.url.to_string();
            let after = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let (authority, path) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            seen.requests.push((
                ex.request.method.to_string(),
                authority.to_string(),
                path.to_string(),
            ));
            if let Some(s) = ex.status() {
                seen.statuses.push(s);
            }
        },
    )
    .expect("read capture");
    seen.records = summary
        .connections
        .iter()
        .map(|c| c.decrypted_records)
        .sum();
    seen.requests.sort();
    seen.statuses.sort();
    seen
}

#[test]
fn decryption_matches_tshark() {
    let Some(root) = corpus() else {
        assert!(!ci(), "the corpus is required under CI=true");
        eprintln!("skipped: ../shared/corpus is not available");
        return;
    };
    if !have_tshark() {
        assert!(!ci(), "tshark is required under CI=true");
        eprintln!("skipped: tshark is not installed");
        return;
    }
    let mut failures = String::new();
    let mut compared = 0;
    for (cap, keys) in pairs(&root) {
        if let Some((_, why)) = keys
            .as_deref()
            .and_then(|k| NOT_KEYLOGS.iter().find(|(ext, _)| k.ends_with(ext)))
        {
            eprintln!("{cap}: skipped: {why}");
            continue;
        }
        let cap_path = root.join(&cap);
        let key_path = keys.as_ref().map(|k| root.join(k));
        let theirs = tshark(&cap_path, key_path.as_deref());
        let ours = aadtrace(&cap_path, key_path.as_deref());
        compared += 1;
        let same = theirs == ours;
        eprintln!(
            "{cap}: records {}/{} (tshark/aadtrace), requests {}/{}, statuses {}/{}{}",
            theirs.records,
            ours.records,
            theirs.requests.len(),
            ours.requests.len(),
            theirs.statuses.len(),
            ours.statuses.len(),
            if same { ", same" } else { "" }
        );
        if same {
            continue;
        }
        if let Some((_, why)) = DIFFERENCES.iter().find(|(c, _)| *c == cap) {
            eprintln!("  deliberate difference: {why}");
            continue;
        }
        failures += &format!("{cap}:\n  tshark   {theirs:?}\n  aadtrace {ours:?}\n");
    }
    assert!(compared > 0, "no capture-and-key pairs found in SOURCES.md");
    assert!(failures.is_empty(), "differences from tshark:\n{failures}");
}
