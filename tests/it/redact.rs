//! `aadtrace redact` on every sample: no secret listed in identity-wire.md §6
//! survives (the original values are enumerated here, independently of the
//! rewriter, and searched for in the output), the copy is still a HAR with the
//! same entries, and `analyze` finds the same flows and findings in it.

use crate::support;

use aadtrace::capture::ReadCtx;
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

/// Every logged byte of a NetLog, decoded: each event's `bytes` on its own
/// and each (source, type) stream put together (a secret can straddle two
/// events), as lossy text.
fn netlog_bytes(doc: &Value) -> String {
    use base64::Engine as _;
    let mut streams: std::collections::BTreeMap<(u64, u64), Vec<u8>> = Default::default();
    let mut out = String::new();
    for ev in doc["events"].as_array().into_iter().flatten() {
        let Some(b64) = ev["params"]["bytes"].as_str() else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("bytes are base64");
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
        let key = (
            ev["source"]["id"].as_u64().unwrap_or(0),
            ev["type"].as_u64().unwrap_or(0),
        );
        streams.entry(key).or_default().extend(bytes);
    }
    for bytes in streams.values() {
        out.push_str(&String::from_utf8_lossy(bytes));
        out.push('\n');
    }
    out
}

/// The exchanges the NetLog reader finds in `bytes`.
fn netlog_exchanges(bytes: &[u8]) -> usize {
    let mut n = 0;
    aadtrace::capture::netlog::read_slice(bytes, &ReadCtx::new("t.json"), &mut |_| n += 1)
        .unwrap_or_else(|e| panic!("{e}"));
    n
}

/// A NetLog is redacted into a NetLog: the same constants and events (time,
/// type, source, phase) in the same order, the same flows and findings, and no
/// secret of the original anywhere in the copy, inside its base64 bytes
/// included; in each capture mode, with old-style header maps and when Chrome
/// was killed before closing the file.
#[test]
fn netlog_is_redacted_into_a_netlog() {
    use support::netlog_writer::{write_netlog, Mode, NetLogOptions};
    let dir = tempfile::tempdir().unwrap();
    let variants = [
        (Mode::Everything, false, false),
        (Mode::Bytes, false, false),
        (Mode::Strip, false, false),
        (Mode::Everything, true, false),
        (Mode::Everything, false, true),
    ];
    for name in samples() {
        let har_path = std::path::Path::new("captures").join(&name);
        let original: Value = serde_json::from_slice(&std::fs::read(&har_path).unwrap()).unwrap();
        let mut secrets = secrets_of(&original);
        secrets.retain(|s| s.len() >= 8);
        let exchanges = support::load_har(&har_path);
        for (mode, dict_headers, unterminated) in variants {
            let label = format!("{name} {mode:?} dict={dict_headers} cut={unterminated}");
            let options = NetLogOptions {
                mode,
                dict_headers,
                unterminated,
            };
            let bytes = write_netlog(&exchanges, options);
            let whole = write_netlog(
                &exchanges,
                NetLogOptions {
                    unterminated: false,
                    ..options
                },
            );
            let input: Value = serde_json::from_slice(&whole).unwrap();
            let netlog = dir.path().join(format!("{name}.netlog.json"));
            std::fs::write(&netlog, &bytes).unwrap();
            let out = dir.path().join(format!("{name}.redacted.json"));
            let receipt = dir.path().join("receipt.json");
            let run = Command::cargo_bin("aadtrace")
                .unwrap()
                .arg("redact")
                .arg(&netlog)
                .arg("-o")
                .arg(&out)
                .arg("--receipt")
                .arg(&receipt)
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{label}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            let r: Value = serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
            assert_eq!(r["format"], "netlog", "{label}");
            assert_eq!(r["output_format"], "netlog", "{label}");
            // Each masked value is named by its event (or logged byte stream).
            let places = r["places"].as_array().unwrap();
            let listed: u64 = places.iter().map(|p| p["count"].as_u64().unwrap()).sum();
            assert_eq!(Some(listed), r["total"].as_u64(), "{label}");
            assert!(
                places.iter().all(|p| {
                    let place = p["place"].as_str().unwrap();
                    place.starts_with("event ") || place.starts_with("source ")
                }),
                "{label}: {places:?}"
            );
            assert_eq!(r["exchanges"], netlog_exchanges(&bytes), "{label}");
            assert_eq!(
                r["warnings"].as_array().unwrap().len(),
                usize::from(unterminated),
                "{label}: {r}"
            );

            let text = std::fs::read_to_string(&out).unwrap();
            let copy: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{label}: the copy is not JSON: {e}"));
            assert_eq!(copy["constants"], input["constants"], "{label}");
            let (a, b) = (
                input["events"].as_array().unwrap(),
                copy["events"].as_array().expect("events"),
            );
            assert_eq!(a.len(), b.len(), "{label}: every event is in the copy");
            for (x, y) in a.iter().zip(b) {
                for k in ["time", "type", "source", "phase"] {
                    assert_eq!(x[k], y[k], "{label}: {k} changed");
                }
                let keys = |v: &Value| {
                    v["params"]
                        .as_object()
                        .map(|p| p.keys().cloned().collect::<Vec<_>>())
                };
                assert_eq!(keys(x), keys(y), "{label}: params changed shape");
            }

            // No secret survives, in the JSON or in the bytes it carries.
            let haystack = format!("{text}\n{}", netlog_bytes(&copy));
            for s in &secrets {
                let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
                assert!(
                    !haystack.contains(s.as_str()) && !haystack.contains(&encoded),
                    "{label}: secret survived: {s}"
                );
            }
            for s in ["Sample-Passw0rd!", "adele.vance@contoso.example"] {
                assert!(!haystack.contains(s), "{label}: {s} survived");
            }
            // The test sees inside the bytes: the original's carry the password.
            let original_text = std::fs::read_to_string(&har_path).unwrap();
            if mode == Mode::Everything && original_text.contains("Sample-Passw0rd") {
                assert!(netlog_bytes(&input).contains("Sample-Passw0rd"), "{label}");
            }

            // The same analysis; a cut original's copy is closed, so it is no
            // longer truncated (the receipt says so instead).
            let mut want = shape(&analyse(&netlog));
            if unterminated {
                let before = want.1.len();
                want.1.retain(|f| !f.starts_with("capture_truncated "));
                assert_eq!(want.1.len() + 1, before, "{label}: the original is cut");
            }
            assert_eq!(want, shape(&analyse(&out)), "{label}: analysis changed");
        }
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
            shape(&analyse(&saz)),
            shape(&analyse(&out)),
            "{name}: flows or findings changed"
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

/// Events as Chrome writes them that the sample writer does not make: a cookie
/// event with its value, a `[name, value]` header list, old `hex_encoded_bytes`,
/// TLS records on a raw socket, a request URL in a cache key, and secrets in
/// `polledData` and `clientInfo`. Each is redacted in place, the rest kept.
#[test]
fn netlog_events_of_every_kind_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let hex: String =
        b"POST /token HTTP/1.1\r\nContent-Length: 29\r\n\r\nrefresh_token=RtSecretValue99"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let netlog = serde_json::json!({
        "constants": {
            "clientInfo": {"name": "Google Chrome", "command_line": "chrome.exe https://app.example/start?client_secret=CmdLineSecret77"},
            "logCaptureMode": "Everything",
            "logEventPhase": {"PHASE_BEGIN": 1, "PHASE_END": 2, "PHASE_NONE": 0},
            "logEventTypes": {"URL_REQUEST_START_JOB": 2, "COOKIE_STORE_COOKIE_ADDED": 3,
                "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS": 4, "SOCKET_BYTES_SENT": 5,
                "HTTP_CACHE_GET_BACKEND": 6, "SSL_SOCKET_BYTES_SENT": 7},
            "logSourceType": {"URL_REQUEST": 1, "SOCKET": 2, "COOKIE_STORE": 3},
            "timeTickOffset": "1700000000000",
        },
        "events": [
            {"time": "10", "type": 2, "phase": 1, "source": {"id": 1, "type": 1},
             "params": {"method": "GET", "url": "https://login.microsoftonline.com/common/oauth2/authorize?code=UrlCodeSecret55&client_id=abc"}},
            {"time": "11", "type": 3, "phase": 0, "source": {"id": 9, "type": 3},
             "params": {"name": "ESTSAUTH", "value": "CookieValueSecret66", "domain": ".login.microsoftonline.com"}},
            {"time": "12", "type": 4, "phase": 0, "source": {"id": 1, "type": 1},
             "params": {"headers": [[":path", "/x?access_token=PairTokenSecret44"], ["authorization", "Bearer PairBearerSecret33"]]}},
            {"time": "13", "type": 5, "phase": 0, "source": {"id": 4, "type": 2},
             "params": {"byte_count": 6, "bytes": "FgMBAAH/"}},
            {"time": "14", "type": 7, "phase": 0, "source": {"id": 4, "type": 2},
             "params": {"byte_count": 72, "hex_encoded_bytes": hex}},
            {"time": "15", "type": 6, "phase": 0, "source": {"id": 1, "type": 1},
             "params": {"key": "1/0/https://app.example/cb?code=CacheKeySecret22"}},
            {"time": "16", "type": 7, "phase": 0,
             "params": {"byte_count": 21, "bytes": "U291cmNlbGVzc1NlY3JldDAw"}},
        ],
        "polledData": {"urlRequests": [{"url": "https://app.example/cb#id_token=PolledTokenSecret11"}]},
    });
    let input = dir.path().join("kinds.json");
    std::fs::write(&input, serde_json::to_vec(&netlog).unwrap()).unwrap();
    let out = dir.path().join("copy.json");
    let run = redact(input.to_str().unwrap(), &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let copy: Value = serde_json::from_str(&text).unwrap();
    let haystack = format!("{text}\n{}", netlog_bytes(&copy));
    for secret in [
        "CmdLineSecret77",
        "UrlCodeSecret55",
        "CookieValueSecret66",
        "PairTokenSecret44",
        "PairBearerSecret33",
        "RtSecretValue99",
        "CacheKeySecret22",
        "PolledTokenSecret11",
    ] {
        assert!(!haystack.contains(secret), "{secret} survived: {text}");
    }
    let events = copy["events"].as_array().unwrap();
    assert_eq!(events.len(), 7);
    // Bytes of an event without a source belong to no stream: none are kept.
    assert_eq!(events[6]["params"]["bytes"], "");
    assert_eq!(events[6]["params"]["byte_count"], 0);
    assert_eq!(
        copy["constants"]["logEventTypes"],
        netlog["constants"]["logEventTypes"]
    );
    assert_eq!(events[1]["params"]["name"], "ESTSAUTH");
    assert_eq!(
        events[2]["params"]["headers"][1][1]
            .as_str()
            .map(|v| v.starts_with("Bearer ")),
        Some(true)
    );
    // TLS records are not shared; the old hex form stays hex, now redacted.
    assert_eq!(events[3]["params"]["bytes"], "");
    assert_eq!(events[3]["params"]["byte_count"], 0);
    let hex = events[4]["params"]["hex_encoded_bytes"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let sent = String::from_utf8(bytes).unwrap();
    assert!(sent.starts_with("POST /token HTTP/1.1\r\n"), "{sent}");
    assert!(
        sent.contains("refresh_token=") && !sent.contains("RtSecretValue99"),
        "{sent}"
    );
    assert_eq!(events[4]["params"]["byte_count"], sent.len());
}

/// Hostile NetLogs: a huge string, deep nesting, and a file cut anywhere give
/// a redacted copy or an error that names the file, never a panic; nothing is
/// written on an error.
#[test]
fn hostile_netlogs_are_redacted_or_refused() {
    use support::netlog_writer::{write_netlog, Mode, NetLogOptions};
    let dir = tempfile::tempdir().unwrap();
    let exchanges = support::load_har(std::path::Path::new("captures/clean-signin.har"));
    let options = NetLogOptions {
        mode: Mode::Everything,
        dict_headers: false,
        unterminated: false,
    };
    let whole = String::from_utf8(write_netlog(&exchanges, options)).unwrap();
    let events_at = whole.find("\"events\"").unwrap();
    let check = |name: &str, bytes: &[u8]| -> (Option<i32>, String, Option<Value>) {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = dir.path().join(format!("{name}.copy"));
        let run = redact(input.to_str().unwrap(), &out);
        let err = String::from_utf8_lossy(&run.stderr).into_owned();
        match run.status.code() {
            Some(0) => {
                let copy = serde_json::from_slice(&std::fs::read(&out).unwrap())
                    .unwrap_or_else(|e| panic!("{name}: the copy is not JSON: {e}"));
                (Some(0), err, Some(copy))
            }
            Some(2) => {
                assert!(
                    err.contains(name),
                    "{name}: the error names the file: {err}"
                );
                assert!(!out.exists(), "{name}: nothing is written on an error");
                (Some(2), err, None)
            }
            other => panic!("{name}: exit {other:?}: {err}"),
        }
    };

    // Cut anywhere: before the events it is refused, after it the copy is closed.
    for (i, cut) in (40..whole.len()).step_by(whole.len() / 23).enumerate() {
        let (code, err, copy) = check(&format!("cut{i}.json"), &whole.as_bytes()[..cut]);
        if cut > events_at + 12 {
            assert_eq!(code, Some(0), "cut at {cut}: {err}");
            let copy = copy.unwrap();
            assert!(copy["constants"].is_object() && copy["events"].is_array());
            assert!(err.contains("without closing"), "cut at {cut}: {err}");
        } else {
            assert_eq!(code, Some(2), "cut at {cut}: {err}");
        }
    }

    // A huge string is redacted like any other.
    let huge = format!("{} password=Hunter2Secret!", "a".repeat(4 << 20));
    let doc = whole.replacen(
        "\"events\": [\n",
        &format!("\"events\": [\n{{\"time\":\"1\",\"type\":1,\"phase\":0,\"source\":{{\"id\":999,\"type\":1}},\"params\":{{\"text\":\"{huge}\"}}}},\n"),
        1,
    );
    let (code, err, copy) = check("huge.json", doc.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    let copy = copy.unwrap();
    assert!(!copy.to_string().contains("Hunter2Secret!"));
    let events: Value = serde_json::from_str(&whole).unwrap();
    assert_eq!(
        copy["events"].as_array().unwrap().len(),
        events["events"].as_array().unwrap().len() + 1
    );

    // Deep nesting: the event is left out (named on the receipt) or refused.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let doc = whole.replacen(
        "\"events\": [\n",
        &format!("\"events\": [\n{{\"time\":\"1\",\"type\":1,\"phase\":0,\"source\":{{\"id\":999,\"type\":1}},\"params\":{{\"deep\":{deep}}}}},\n"),
        1,
    );
    let (code, err, _) = check("deep.json", doc.as_bytes());
    if code == Some(0) {
        assert!(err.contains("event 0"), "{err}");
    }

    // JSON that only looks like a NetLog.
    for (i, doc) in [
        r#"{"constants": 5, "events": {}}"#,
        r#"{"constants": {}, "events": [1, "x", null, {"type": "y"}]}"#,
        r#"{"constants": {"logEventTypes": []}}"#,
    ]
    .iter()
    .enumerate()
    {
        check(&format!("odd{i}.json"), doc.as_bytes());
    }
}

/// A gzip'd NetLog on standard input is redacted as it inflates, into the
/// same copy as the plain file gives (pseudonyms aside).
#[test]
fn gzip_netlog_on_stdin_round_trips() {
    use support::netlog_writer::{write_netlog, Mode, NetLogOptions};
    let dir = tempfile::tempdir().unwrap();
    let exchanges = support::load_har(std::path::Path::new(
        "captures/mfa-timeout-then-success.har",
    ));
    let options = NetLogOptions {
        mode: Mode::Everything,
        dict_headers: false,
        unterminated: false,
    };
    let netlog = write_netlog(&exchanges, options);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &netlog).unwrap();
    let output = dir.path().join("copy.json.gz");
    let out = Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["redact", "-", "-o"])
        .arg(&output)
        .write_stdin(gz.finish().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, &netlog).unwrap();
    assert_eq!(shape(&analyse(&plain)), shape(&analyse(&output)));
}

/// Runs `redact` with `--receipt`; the receipt as JSON and standard error.
fn redact_with_receipt(input: &str, output: &std::path::Path) -> (Value, String) {
    let receipt = output.with_extension("receipt.json");
    let out = Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["redact", input, "-o"])
        .arg(output)
        .arg("--receipt")
        .arg(&receipt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{input}: {out:?}");
    let text = std::fs::read_to_string(&receipt).unwrap();
    (
        serde_json::from_str(&text).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sums of the receipt's places by kind, to compare with `masked`.
fn place_totals(receipt: &Value) -> std::collections::BTreeMap<String, u64> {
    let mut sums = std::collections::BTreeMap::new();
    for p in receipt["places"].as_array().unwrap() {
        *sums
            .entry(p["kind"].as_str().unwrap().to_string())
            .or_insert(0) += p["count"].as_u64().unwrap();
    }
    sums
}

/// Every sample's receipt says where each value was masked (its places add
/// up to the totals by kind) and holds none of the values it masked; the
/// password of clean-signin.har is found in the entry that posts it.
#[test]
fn receipts_list_places_never_values() {
    let dir = tempfile::tempdir().unwrap();
    for name in samples() {
        let input = format!("captures/{name}");
        let (receipt, stderr) = redact_with_receipt(&input, &dir.path().join(&name));
        let masked: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(receipt["masked"].clone()).unwrap();
        assert_eq!(place_totals(&receipt), masked, "{name}: places ≠ totals");
        assert!(receipt.get("places_omitted").is_none(), "{name}");
        for p in receipt["places"].as_array().unwrap() {
            let place = p["place"].as_str().unwrap();
            assert!(place.starts_with("entry ") || place == "log", "{name}: {p}");
            assert!(!p["field"].as_str().unwrap().is_empty(), "{name}: {p}");
        }
        let json = receipt.to_string();
        let original: Value = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
        let mut secrets = secrets_of(&original);
        secrets.insert("adele.vance@contoso.example".into());
        for s in &secrets {
            assert!(!json.contains(s.as_str()), "{name}: the receipt holds {s}");
        }
        // Without --receipt the places are summarised on standard error.
        assert!(stderr.is_empty(), "{name}: {stderr}");
    }

    let input = "captures/clean-signin.har";
    let har: Value = serde_json::from_slice(&std::fs::read(input).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    let posted = entries
        .iter()
        .position(|e| {
            e["request"]["postData"]
                .to_string()
                .contains("Sample-Passw0rd")
        })
        .expect("the sample posts its password");
    let (receipt, _) = redact_with_receipt(input, &dir.path().join("again.har"));
    let rows = receipt["places"].as_array().unwrap();
    let want = format!("entry {posted}");
    assert!(
        rows.iter().any(|p| p["place"] == want.as_str()
            && p["field"] == "request.postData"
            && p["kind"] == "password"),
        "no password at {want} request.postData: {receipt}"
    );
    assert!(
        rows.iter()
            .any(|p| p["field"] == "request.headers.cookie" && p["kind"] == "cookie"),
        "{receipt}"
    );
    // docs/json.md names every field of the receipt and of a place.
    let docs = std::fs::read_to_string("docs/json.md").unwrap();
    let fields = receipt
        .as_object()
        .unwrap()
        .keys()
        .chain(rows[0].as_object().unwrap().keys());
    for field in fields.chain(["places_omitted".to_string()].iter()) {
        assert!(
            docs.contains(&format!("`{field}`")),
            "docs/json.md does not name {field}"
        );
    }
    let out = redact(input, &dir.path().join("text.har"));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("  where:\n    entry "), "{text}");
    assert!(
        text.contains("more; --receipt FILE lists them all"),
        "{text}"
    );
}

/// A capture written as a HAR (`--to har`) gets the HAR places.
#[test]
fn capture_receipts_name_har_places() {
    let dir = tempfile::tempdir().unwrap();
    let receipt_path = dir.path().join("receipt.json");
    let out = Command::cargo_bin("aadtrace")
        .unwrap()
        .args([
            "redact",
            "captures/msa-handoff-70012.pcap",
            "--to",
            "har",
            "-o",
        ])
        .arg(dir.path().join("copy.har"))
        .arg("--receipt")
        .arg(&receipt_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let receipt: Value = serde_json::from_slice(&std::fs::read(&receipt_path).unwrap()).unwrap();
    assert_eq!(receipt["output_format"], "har");
    let rows = receipt["places"].as_array().unwrap();
    assert!(!rows.is_empty(), "{receipt}");
    assert!(
        rows.iter()
            .all(|p| p["place"].as_str().unwrap().starts_with("entry ") || p["place"] == "log"),
        "{receipt}"
    );
    let masked: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(receipt["masked"].clone()).unwrap();
    assert_eq!(place_totals(&receipt), masked);
}

mod saz_wire {
    //! Fiddler archives built here, member by member, to check what the copy
    //! keeps of the wire.
    use std::io::{Read, Write};

    pub const TOKEN: &str =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJlX29mX3RoZV90b2tlbg";
    pub const REFRESH: &str = "0.AAAA-refresh-token-value-1234567890";
    pub const COOKIE: &str = "ESTSAUTH=esctx-cookie-value-1234567890";
    pub const CODE: &str = "0.AQ-authorization-code-value-987654321";
    pub const COMMENT: &str = "Fiddler (v5.0.20253.3311) Session Archive.";

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// `data` in two chunks, then the last chunk and a trailer.
    pub fn chunked(data: &[u8]) -> Vec<u8> {
        let half = data.len() / 2;
        let mut out = Vec::new();
        for part in [&data[..half], &data[half..]] {
            out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\nServer-Timing: total;dur=12\r\n\r\n");
        out
    }

    fn response(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut m = format!("HTTP/1.1 200 OK\r\n{headers}\r\n").into_bytes();
        m.extend_from_slice(body);
        m
    }

    fn meta(n: usize) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><Session SID="{n}" BitFlags="0"><SessionTimers ClientConnected="2024-05-01T10:00:0{n}.0000000+00:00" ClientBeginRequest="2024-05-01T10:00:0{n}.1000000+00:00" ServerBeginResponse="2024-05-01T10:00:0{n}.2000000+00:00" ClientDoneResponse="2024-05-01T10:00:0{n}.3000000+00:00" /><SessionFlags><SessionFlag N="x-clientip" V="127.0.0.1" /></SessionFlags></Session>"#
        )
        .into_bytes()
    }

    /// Sessions: 1 has nothing to mask; 2 a gzip'd chunked JSON token
    /// response (with a trailer) to a request with a session cookie; 3 a
    /// zlib `deflate` body with `Content-Length`; 4 zstd; 5 a coding aadtrace
    /// does not know. Members alternate between stored and deflated.
    pub fn archive() -> Vec<u8> {
        let json = format!(
            r#"{{"token_type":"Bearer","access_token":"{TOKEN}","refresh_token":"{REFRESH}","expires_in":3599}}"#
        );
        let host = "login.microsoftonline.com";
        let token_req = format!(
            "POST https://{host}/common/oauth2/v2.0/token HTTP/1.1\r\nHost: {host}\r\nCookie: {COOKIE}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n"
        );
        let zlib_body = zlib(format!("code={CODE}&state=abc").as_bytes());
        let zstd_body = ruzstd::encoding::compress_to_vec(
            json.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let sessions: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (
                format!("GET https://{host}/common/discovery/instance HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
                response("Content-Type: text/plain\r\nContent-Length: 5\r\n", b"hello"),
            ),
            (
                token_req.clone().into_bytes(),
                response(
                    "Content-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nTrailer: Server-Timing\r\n",
                    &chunked(&gzip(json.as_bytes())),
                ),
            ),
            (
                format!("GET https://{host}/common/reprocess HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
                response(
                    &format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n", zlib_body.len()),
                    &zlib_body,
                ),
            ),
            (
                token_req.clone().into_bytes(),
                response(
                    &format!("Content-Type: application/json\r\nContent-Encoding: zstd\r\nContent-Length: {}\r\n", zstd_body.len()),
                    &zstd_body,
                ),
            ),
            (
                token_req.into_bytes(),
                response(
                    &format!("Content-Type: application/json\r\nContent-Encoding: x-unknown\r\nContent-Length: {}\r\n", json.len()),
                    json.as_bytes(),
                ),
            ),
        ];
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.set_comment(COMMENT).unwrap();
        let mut k = 0;
        for (n, (c, s)) in sessions.iter().enumerate() {
            let n = n + 1;
            for (suffix, data) in [
                ("c.txt", c.clone()),
                ("m.xml", meta(n)),
                ("s.txt", s.clone()),
            ] {
                k += 1;
                let method = if k % 2 == 0 {
                    zip::CompressionMethod::Stored
                } else {
                    zip::CompressionMethod::Deflated
                };
                let options = zip::write::SimpleFileOptions::default().compression_method(method);
                zip.start_file(format!("raw/{n}_{suffix}"), options)
                    .unwrap();
                zip.write_all(&data).unwrap();
            }
        }
        zip.finish().unwrap().into_inner()
    }

    /// Each member: name, compression method and bytes.
    pub fn members(bytes: &[u8]) -> Vec<(String, zip::CompressionMethod, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (f.name().unwrap().to_string(), f.compression(), data)
            })
            .collect()
    }

    /// A raw message's head (as text) and body.
    pub fn split(message: &[u8]) -> (String, Vec<u8>) {
        let at = message
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        (
            String::from_utf8(message[..at].to_vec()).unwrap(),
            message[at + 4..].to_vec(),
        )
    }
}

/// SAZ to SAZ: members with nothing to mask are copied byte for byte; a masked
/// body keeps its content coding and chunked framing (and trailers), with
/// `Content-Length` adjusted where there was one; a coding aadtrace cannot
/// encode again is stored decoded, with a warning naming the session; names,
/// order and compression methods are kept; the receipt names the places.
#[test]
fn saz_bodies_keep_their_codings_and_untouched_members_their_bytes() {
    use aadtrace::http::content;
    use aadtrace::http::message::{dechunk, Dechunked};
    use saz_wire::*;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("built.saz");
    std::fs::write(&input, archive()).unwrap();
    let output = dir.path().join("copy.saz");
    let (receipt, _) = redact_with_receipt(input.to_str().unwrap(), &output);
    let before = members(&std::fs::read(&input).unwrap());
    let after = members(&std::fs::read(&output).unwrap());

    // Names, order and compression methods.
    let layout = |m: &[(String, zip::CompressionMethod, Vec<u8>)]| {
        m.iter()
            .map(|(n, c, _)| (n.clone(), *c))
            .collect::<Vec<_>>()
    };
    assert_eq!(layout(&before), layout(&after));
    let copy = std::fs::read(&output).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(&copy[..])).unwrap();
    assert_eq!(archive.comment(), COMMENT.as_bytes());
    let member = |m: &[(String, zip::CompressionMethod, Vec<u8>)], name: &str| {
        m.iter().find(|(n, _, _)| n == name).unwrap().2.clone()
    };
    // Nothing to mask: byte for byte (session 1, and every metadata member).
    for (name, _, bytes) in &before {
        if name.starts_with("raw/1_") || name.ends_with("_m.xml") {
            assert_eq!(&member(&after, name), bytes, "{name} changed");
        }
    }
    // No secret in any member.
    for (name, _, bytes) in &after {
        let text = String::from_utf8_lossy(bytes);
        for secret in [TOKEN, REFRESH, "esctx-cookie-value", CODE] {
            assert!(!text.contains(secret), "{name}: {secret} survived");
        }
    }

    // Session 2: still chunked and gzip'd, with its trailer; decodes; masked.
    let (head, body) = split(&member(&after, "raw/2_s.txt"));
    assert!(head.contains("Content-Encoding: gzip"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    assert!(!head.contains("Content-Length"), "{head}");
    let Dechunked::Complete(gz, used) = dechunk(&body) else {
        panic!("the copy's body is not chunked: {body:?}");
    };
    assert_eq!(used, body.len());
    assert!(body.ends_with(b"0\r\nServer-Timing: total;dur=12\r\n\r\n"));
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip'd");
    let (json, how) = content::decode("gzip", gz, content::MAX_DECODED);
    assert_eq!(how, content::Outcome::Done);
    let json: Value = serde_json::from_slice(&json).expect("the body decodes to JSON");
    assert!(json["access_token"]
        .as_str()
        .unwrap()
        .ends_with(".redacted"));
    assert!(json["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("redacted-"));
    assert_eq!(json["expires_in"], 3599);

    // Session 3: zlib again, Content-Length that of the new body.
    let (head, body) = split(&member(&after, "raw/3_s.txt"));
    assert!(
        head.contains(&format!("Content-Length: {}\r\n", body.len()))
            || head.ends_with(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    assert!(head.contains("Content-Encoding: deflate"), "{head}");
    assert_eq!(body[0] & 0x0f, 8, "a zlib header");
    let (form, _) = content::decode("deflate", body, content::MAX_DECODED);
    let form = String::from_utf8(form).unwrap();
    assert!(
        form.starts_with("code=redacted-code-") && form.ends_with("&state=abc"),
        "{form}"
    );

    // Session 4: zstd again.
    let (head, body) = split(&member(&after, "raw/4_s.txt"));
    assert!(head.contains("Content-Encoding: zstd"), "{head}");
    assert_eq!(&body[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    let (json, how) = content::decode("zstd", body, content::MAX_DECODED);
    assert_eq!(how, content::Outcome::Done);
    assert!(String::from_utf8(json).unwrap().contains("redacted-"));

    // Session 5: an unknown coding is stored decoded, named in a warning.
    let (head, body) = split(&member(&after, "raw/5_s.txt"));
    assert!(!head.contains("Content-Encoding"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    let warnings = receipt["warnings"].to_string();
    assert!(
        warnings.contains(
            "session 5: the response body has a content coding aadtrace cannot decode (x-unknown)"
        ),
        "{warnings}"
    );
    assert_eq!(
        receipt["warnings"].as_array().unwrap().len(),
        1,
        "{warnings}"
    );

    // The receipt's places.
    let rows = receipt["places"].as_array().unwrap();
    let has = |place: &str, field: &str, kind: &str| {
        rows.iter()
            .any(|p| p["place"] == place && p["field"] == field && p["kind"] == kind)
    };
    assert!(
        has("session 2", "request header Cookie", "cookie"),
        "{receipt}"
    );
    assert!(has("session 2", "response body", "token"), "{receipt}");
    assert!(has("session 3", "response body", "code"), "{receipt}");
    assert!(has("session 4", "response body", "token"), "{receipt}");
    assert!(!rows.iter().any(|p| p["place"] == "session 1"), "{receipt}");
    let masked: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(receipt["masked"].clone()).unwrap();
    assert_eq!(place_totals(&receipt), masked);
    let json = receipt.to_string();
    for secret in [TOKEN, REFRESH, "esctx-cookie-value", CODE] {
        assert!(!json.contains(secret), "the receipt holds {secret}");
    }

    // The copy reads as the original does, except that session 5's body,
    // stored decoded now, is no longer one aadtrace cannot decode.
    let (a, b) = (shape(&analyse(&input)), shape(&analyse(&output)));
    assert_eq!(a.0, b.0, "flows changed");
    assert_eq!(a.0.len(), 4);
    let (undecoded, rest): (Vec<_>, Vec<_>) =
        a.1.into_iter()
            .partition(|f| f.starts_with("body_undecoded"));
    assert_eq!(undecoded.len(), 1);
    assert_eq!(rest, b.1, "findings changed");
}

/// Real Fiddler archives: the copy has the same flows and findings; every
/// member that differs from the original belongs to a session the receipt
/// names (nothing is rewritten for nothing), and the receipt holds none of
/// the values masked.
#[test]
fn corpus_saz_copies_change_only_where_they_mask() {
    let Some(dir) = support::corpus_dir("saz") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "fluxzy/testarchive.saz",
        "fluxzy/minimal.saz",
        "SAZ/httpbin-test.saz",
    ] {
        let input = dir.join(name);
        let output = tmp.path().join(name.replace('/', "-"));
        let (receipt, _) = redact_with_receipt(input.to_str().unwrap(), &output);
        let before = saz_wire::members(&std::fs::read(&input).unwrap());
        let after = saz_wire::members(&std::fs::read(&output).unwrap());
        assert_eq!(before.len(), after.len(), "{name}");
        let named: std::collections::BTreeSet<String> = receipt["places"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["place"].as_str().unwrap().to_string())
            .chain(
                receipt["warnings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|w| w.as_str()?.split(':').next().map(str::to_string)),
            )
            .collect();
        let mut same = 0;
        for ((n, method, a), (m, method2, b)) in before.iter().zip(&after) {
            assert_eq!((n, method), (m, method2), "{name}");
            if a == b {
                same += 1;
                continue;
            }
            // A session's member, or another (`_index.htm`) under `archive`.
            let place = n
                .strip_prefix("raw/")
                .and_then(|f| f.split('_').next()?.parse::<u64>().ok())
                .map_or("archive".to_string(), |number| format!("session {number}"));
            assert!(
                named.contains(&place),
                "{name}: {n} changed, but the receipt names no place in it"
            );
        }
        assert!(same > 0, "{name}: no member kept");
        assert_eq!(
            shape(&analyse(&input)),
            shape(&analyse(&output)),
            "{name}: analysis changed"
        );
    }
}
