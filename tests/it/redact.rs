//! `aadtrace redact` on every sample: no secret listed in identity-wire.md §6
//! survives (the original values are enumerated here, independently of the
//! rewriter, and searched for in the output), the copy is still a HAR with the
//! same entries, and `analyze` finds the same flows and findings in it.

use crate::support;

use assert_cmd::Command;
use serde_json::Value;
use support::redaction::{analyse, secrets_of, shape};

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

fn redact(input: &str, output: &std::path::Path) -> std::process::Output {
    Command::cargo_bin("aadtrace")
        .unwrap()
        .arg("redact")
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap()
}

#[test]
fn no_listed_secret_survives_and_analysis_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let names = samples();
    assert!(names.len() >= 7);
    for name in names {
        let input = format!("captures/{name}");
        let output = dir.path().join(&name);
        let out = redact(&input, &output);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let receipt = String::from_utf8_lossy(&out.stderr);
        assert!(receipt.contains("masked"), "{name}: {receipt}");

        let original: Value = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
        let text = std::fs::read_to_string(&output).unwrap();
        let redacted: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: the copy is not JSON: {e}"));

        // (1) No secret of the original is in the copy, in any spelling.
        let original_text = std::fs::read_to_string(&input).unwrap();
        let mut secrets = secrets_of(&original);
        // AADSTS numbers are kept on purpose (`error_codes=[…]` looks like a code).
        secrets.retain(|v| !original_text.contains(&format!("AADSTS{v}")));
        assert!(secrets.len() > 5, "{name}: found only {secrets:?}");
        let lower = text.to_lowercase();
        for s in &secrets {
            let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
            assert!(
                !text.contains(s.as_str()) && !text.contains(&encoded),
                "{name}: secret survived: {s}"
            );
        }
        for user in [
            "adele.vance@contoso.example",
            "adele.vance%40contoso.example",
        ] {
            assert!(!lower.contains(user), "{name}: the UPN survived");
        }
        // A display name is known to be one only when a token names it (`name`
        // claim); in traces without tokens it stays in the app's page text.
        if original_text.contains("eyJ") {
            assert!(
                !text.contains("Adele Vance"),
                "{name}: the display name survived"
            );
        }

        // (3) Still a HAR with the same entries, every field kept.
        let (a, b) = (
            original["log"]["entries"].as_array().unwrap(),
            redacted["log"]["entries"].as_array().unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(keys(x), keys(y), "{name}: fields changed");
            assert_eq!(x["startedDateTime"], y["startedDateTime"]);
            assert_eq!(x["response"]["status"], y["response"]["status"]);
        }

        // (2) Same flows and findings.
        assert_eq!(
            shape(&analyse(std::path::Path::new(&input))),
            shape(&analyse(&output)),
            "{name}: analysis changed"
        );
    }
}

/// Every member path of a JSON value (arrays by position).
fn keys(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{at}.{k}");
                    out.push(p.clone());
                    walk(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

#[test]
fn receipt_file_counts_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.har");
    let receipt = dir.path().join("receipt.json");
    let out = Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["redact", "captures/clean-signin.har", "-o"])
        .arg(&output)
        .arg("--receipt")
        .arg(&receipt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
    assert_eq!(r["format"], "har");
    assert_eq!(r["exchanges"], 15);
    for kind in [
        "password",
        "code",
        "token",
        "flow_token",
        "cookie",
        "user_name",
        "jwt_personal_claim",
    ] {
        assert!(
            r["masked"][kind].as_u64().unwrap_or(0) > 0,
            "{kind} not counted: {r}"
        );
    }
    let total: u64 = r["masked"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(r["total"], total);
}

#[test]
fn gzip_and_stdin_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.har.gz");
    let input = std::fs::read("captures/token-errors-devicecode.har").unwrap();
    let out = Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["redact", "-", "-o"])
        .arg(&output)
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bytes = std::fs::read(&output).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a .gz output is compressed");
    let s = analyse(&output);
    assert_eq!(s.analysis.steps.len(), 10);
}

#[test]
fn damaged_inputs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let saz = dir.path().join("trace.saz");
    std::fs::write(&saz, b"PK\x03\x04rest-of-a-zip").unwrap();
    let out = redact(saz.to_str().unwrap(), &dir.path().join("out.saz"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trace.saz") && err.contains("not a readable zip"),
        "{err}"
    );
    assert!(!dir.path().join("out.saz").exists());

    let pcap = dir.path().join("trace.pcap");
    std::fs::write(&pcap, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
    let out = redact(pcap.to_str().unwrap(), &dir.path().join("out.har"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a capture cut inside its header cannot be read"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("trace.pcap"));
    assert!(!dir.path().join("out.har").exists());
}

#[test]
fn refuses_to_overwrite_its_input_and_leaves_nothing_on_damage() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.har");
    std::fs::copy("captures/clean-signin.har", &input).unwrap();
    let out = redact(input.to_str().unwrap(), &input);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overwrite the input"));

    let broken = dir.path().join("broken.har");
    let text = std::fs::read_to_string("captures/clean-signin.har").unwrap();
    std::fs::write(&broken, &text[..text.len() / 2]).unwrap();
    let target = dir.path().join("out.har");
    let out = redact(broken.to_str().unwrap(), &target);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists(), "no partial output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.har"), "{err}");
}

/// A capture-like trace (a NetLog with every byte: it cannot be rewritten in
/// place) is redacted into a HAR of its exchanges: no secret of the original
/// survives, and the analysis of the copy is the analysis of the original.
#[test]
fn netlog_is_redacted_into_a_har_of_its_exchanges() {
    use support::netlog_writer::{write_netlog, Mode, NetLogOptions};
    let dir = tempfile::tempdir().unwrap();
    for name in samples() {
        let har_path = std::path::Path::new("captures").join(&name);
        let original: Value = serde_json::from_slice(&std::fs::read(&har_path).unwrap()).unwrap();
        let secrets = secrets_of(&original);
        let exchanges = support::load_har(&har_path);
        let options = NetLogOptions {
            mode: Mode::Everything,
            dict_headers: false,
            unterminated: false,
        };
        let netlog = dir.path().join(format!("{name}.netlog.json"));
        std::fs::write(&netlog, write_netlog(&exchanges, options)).unwrap();
        let out = dir.path().join(format!("{name}.redacted.har"));
        let run = redact(netlog.to_str().unwrap(), &out);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let copy: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert_eq!(
            copy["log"]["entries"].as_array().map(Vec::len),
            Some(exchanges.len()),
            "{name}: every exchange is in the copy"
        );
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(!text.contains(secret.as_str()), "{name}: {secret} survived");
        }
        assert!(
            !text.contains("adele.vance@contoso.example"),
            "{name}: the UPN survived"
        );
        assert_eq!(
            shape(&analyse(&netlog)).0,
            shape(&analyse(&out)).0,
            "{name}: flows changed"
        );
    }
}

/// Every text member of a zip, decompressed and joined.
fn zip_text(bytes: &[u8]) -> (usize, String) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the copy is a zip");
    let mut all = String::new();
    let mut sessions = 0;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        sessions += usize::from(f.name().is_ok_and(|n| n.ends_with("_c.txt")));
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        all.push_str(&String::from_utf8_lossy(&data));
    }
    (sessions, all)
}

/// A Fiddler archive is redacted into a Fiddler archive: same sessions, no
/// secret of the original in any member, the same analysis.
#[test]
fn saz_is_redacted_in_place() {
    use support::saz_writer::{write_saz, Encryption, SazOptions};
    let dir = tempfile::tempdir().unwrap();
    for name in samples() {
        let har_path = std::path::Path::new("captures").join(&name);
        let original: Value = serde_json::from_slice(&std::fs::read(&har_path).unwrap()).unwrap();
        let secrets = secrets_of(&original);
        let exchanges = support::load_har(&har_path);
        let saz = dir.path().join(format!("{name}.saz"));
        std::fs::write(&saz, write_saz(&exchanges, &SazOptions::default())).unwrap();
        let out = dir.path().join(format!("{name}.redacted.saz"));
        let run = redact(saz.to_str().unwrap(), &out);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (sessions, text) = zip_text(&std::fs::read(&out).unwrap());
        let (sessions_in, _) = zip_text(&std::fs::read(&saz).unwrap());
        assert_eq!(
            sessions, sessions_in,
            "{name}: every session is in the copy"
        );
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(!text.contains(secret.as_str()), "{name}: {secret} survived");
        }
        assert!(
            !text.contains("adele.vance@contoso.example"),
            "{name}: the UPN survived"
        );
        assert!(
            !text.contains("Sample-Passw0rd!"),
            "{name}: the password survived"
        );
        assert_eq!(
            shape(&analyse(&saz)).0,
            shape(&analyse(&out)).0,
            "{name}: flows changed"
        );
    }
    // An encrypted archive opens with the password and is written unencrypted.
    let har_path = std::path::Path::new("captures").join("clean-signin.har");
    let exchanges = support::load_har(&har_path);
    let options = SazOptions {
        password: Some(("s3cret".into(), Encryption::Aes256)),
        without_meta: false,
    };
    let saz = dir.path().join("locked.saz");
    std::fs::write(&saz, write_saz(&exchanges, &options)).unwrap();
    let out = dir.path().join("locked.redacted.saz");
    let run = Command::cargo_bin("aadtrace")
        .unwrap()
        .env("AADTRACE_SAZ_PASSWORD", "s3cret")
        .args(["redact", saz.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Every session is there (successful CONNECT tunnels included, which
    // analysis skips), and the copy opens without a password.
    assert!(zip_text(&std::fs::read(&out).unwrap()).0 >= exchanges.len());
}

/// A gzip'd HAR is redacted as it inflates, a gzip'd JSONP-wrapped one from its
/// whole text: both copies read as the plain copy does, the wrapper kept, and
/// no secret of the original survives in either.
#[test]
fn gzip_inputs_redact_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sample = "captures/mfa-timeout-then-success.har";
    let original = std::fs::read(sample).unwrap();
    let secrets = secrets_of(&serde_json::from_slice(&original).unwrap());
    assert!(!secrets.is_empty());
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, bytes).unwrap();
        gz.finish().unwrap()
    };
    let bom = [b"\xEF\xBB\xBF".as_slice(), &original].concat();
    let jsonp = [b"onInputData(".as_slice(), &original, b");\n"].concat();
    let plain_copy = dir.path().join("plain.har");
    assert_eq!(redact(sample, &plain_copy).status.code(), Some(0));
    let want = shape(&analyse(&plain_copy));
    for (name, bytes) in [
        ("a.har.gz", &original),
        ("bom.har.gz", &bom),
        ("p.harp.gz", &jsonp),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, gzip(bytes)).unwrap();
        let copy = dir.path().join(format!("{name}.copy"));
        let out = redact(input.to_str().unwrap(), &copy);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let text = std::fs::read_to_string(&copy).unwrap();
        assert_eq!(
            text.starts_with("onInputData("),
            name.ends_with("harp.gz"),
            "{name}"
        );
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name}: {secret} survived");
        }
        assert_eq!(shape(&analyse(&copy)), want, "{name}");
    }
}

/// Outside the entries, a member that would take more than the entry cap once
/// parsed (6 MB of `[0,0,…]` in `pages`) stops the rewrite with a message that
/// names it, and nothing is written.
#[test]
fn a_member_too_large_to_parse_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pages.har");
    let pages = format!("[0{}]", ",0".repeat(3 << 20));
    let har = format!(r#"{{"log":{{"version":"1.2","pages":{pages},"entries":[]}}}}"#);
    std::fs::write(&input, har).unwrap();
    let copy = dir.path().join("copy.har");
    let out = redact(input.to_str().unwrap(), &copy);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`pages` would take about") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!copy.exists());
}
