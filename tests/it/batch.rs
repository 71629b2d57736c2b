//! `aadtrace batch` on a generated archive of a few hundred traces of mixed kinds:
//! HARs (plain, gzip'd, JSONP-wrapped), Fiddler SAZ archives, NetLogs, pcap,
//! pcapng and NetMon captures, TLS-encrypted pcapngs with their key logs beside
//! them, in nested folders and inside a zip, a plain tar and a tar.gz, with
//! truncated traces, garbage and empty files among them. The archive is built once
//! per test run under `CARGO_TARGET_TMPDIR` from the samples in `captures/` and the
//! writers in `tests/it/support/` and the `aadtrace-samples` crate (`samples/`).

use crate::support;
use crate::support::tls_conversations;
use aadtrace_samples::tls_writer;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use flate2::write::GzEncoder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_aadtrace");

/// What the generator made, and what a batch over it must report.
struct Archive {
    root: PathBuf,
    /// Every trace path a batch over `root` must produce, and whether it must fail.
    expected: BTreeMap<String, Expect>,
    /// Traces with a key log beside them: (trace path, key log path).
    keyed: Vec<(String, String)>,
    /// Encrypted captures with their key log beside them: (trace path, key log
    /// path), the loose file first.
    encrypted: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A whole sample: read as this format, with at least one flow.
    Sample(&'static str),
    /// Damaged but readable, or not HAR at all: a result of either kind.
    Either,
    /// Must be an `error` result.
    Error,
}

/// One sample trace to copy into the archive.
struct Kind {
    stem: String,
    /// File extension, without a dot (`har`, `saz`, `pcapng.gz`, …).
    ext: &'static str,
    format: &'static str,
    bytes: Vec<u8>,
}

impl Kind {
    fn new(stem: &str, ext: &'static str, format: &'static str, bytes: Vec<u8>) -> Kind {
        Kind {
            stem: stem.to_string(),
            ext,
            format,
            bytes,
        }
    }
}

/// The seven sample sign-ins as HAR, SAZ and NetLog, and the sample captures.
fn samples() -> Vec<Kind> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let hars = support::samples();
    assert_eq!(hars.len(), 7, "the seven samples in captures/");
    let mut out = Vec::new();
    for har in &hars {
        let stem = support::stem(har);
        out.push(Kind::new(&stem, "har", "har", std::fs::read(har).unwrap()));
    }
    for har in &hars {
        let stem = support::stem(har);
        let exchanges = support::load_har(har);
        let saz = support::saz_writer::write_saz(&exchanges, &Default::default());
        out.push(Kind::new(&stem, "saz", "saz", saz));
        let options = support::netlog_writer::NetLogOptions {
            mode: support::netlog_writer::Mode::Everything,
            dict_headers: false,
            unterminated: false,
        };
        let netlog = support::netlog_writer::write_netlog(&exchanges, options);
        out.push(Kind::new(&stem, "json", "netlog", netlog));
    }
    for (file, ext, format) in [
        ("mfa-timeout-then-success.pcapng", "pcapng", "pcapng"),
        ("msa-handoff-70012.pcap", "pcap", "pcap"),
        ("token-errors-devicecode.cap", "cap", "netmon"),
        ("adfs-federated.pcapng.gz", "pcapng.gz", "pcapng"),
    ] {
        let stem = file.strip_suffix(&format!(".{ext}")).unwrap();
        out.push(Kind::new(
            stem,
            ext,
            format,
            std::fs::read(dir.join(file)).unwrap(),
        ));
    }
    out
}

/// The sample whose HAR the encrypted captures carry.
const TLS_HAR: &str = "mfa-timeout-then-success";

/// An encrypted pcapng of the `TLS_HAR` sign-in and its key log: TLS 1.3 with
/// HTTP/2, or TLS 1.2 with HTTP/1.1.
fn encrypted(tls13: bool) -> (Vec<u8>, String) {
    use aadtrace_samples::rustls::crypto::ring::cipher_suite as suites;
    let tls = if tls13 {
        tls_writer::Tls {
            tls13: true,
            suite: suites::TLS13_AES_128_GCM_SHA256,
            alpn: b"h2",
        }
    } else {
        tls_writer::Tls {
            tls13: false,
            suite: suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            alpn: b"http/1.1",
        }
    };
    let har = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(format!("{TLS_HAR}.har"));
    let made = tls_writer::make(tls, &tls_conversations::conversations(&har, tls13), 7);
    (made.pcapng(false), made.keylog)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Deterministic garbage that no reader recognises.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push((x >> 33) as u8);
    }
    // Never a magic number or JSON.
    out[0] = b'#';
    out
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// One member of a generated archive: (name, bytes, expectation).
type Member = (String, Vec<u8>, Expect);

/// A varied mix of traces, as archive members or files.
fn mix(prefix: &str, count: usize, samples: &[Kind], salt: usize) -> Vec<Member> {
    let mut out = Vec::new();
    for i in 0..count {
        let kind = &samples[(i * 3 + salt) % samples.len()];
        let (stem, ext, data) = (&kind.stem, kind.ext, &kind.bytes);
        let dir = ["", "x/", "x/y/"][i % 3];
        // The default globs take `.gz` of every format but SAZ (itself a zip).
        let can_gzip = !ext.ends_with("gz") && ext != "saz";
        let item = match i % 10 {
            0 if can_gzip => (
                format!("{prefix}{dir}{i:03}-{stem}.{ext}.gz"),
                gzip(data),
                Expect::Sample(kind.format),
            ),
            1 => (
                format!("{prefix}{dir}{i:03}-{stem}-cut.{ext}"),
                data[..data.len() * 3 / 5].to_vec(),
                Expect::Either,
            ),
            2 if i % 20 == 2 => (
                format!("{prefix}{dir}{i:03}-junk.har"),
                garbage(i as u64, 3000),
                Expect::Error,
            ),
            3 if i % 30 == 3 => (
                format!("{prefix}{dir}{i:03}-empty.har"),
                Vec::new(),
                Expect::Error,
            ),
            _ => (
                format!("{prefix}{dir}{i:03}-{stem}.{ext}"),
                data.clone(),
                Expect::Sample(kind.format),
            ),
        };
        out.push(item);
    }
    out
}

fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-archive");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let samples = samples();
        let mut expected = BTreeMap::new();
        let shown = |p: &Path| p.display().to_string();

        // Loose files in nested folders.
        for (name, data, expect) in mix("files/", 150, &samples, 0) {
            let path = root.join(&name);
            write(&path, &data);
            expected.insert(shown(&path), expect);
        }
        // JSONP-wrapped (HAR Viewer's .harp) and a UTF-8 BOM.
        let hars = samples.iter().filter(|k| k.ext == "har");
        for (
            i,
            Kind {
                stem, bytes: data, ..
            },
        ) in hars.enumerate()
        {
            let path = root.join(format!("harp/{i:02}-{stem}.harp"));
            let mut wrapped = b"onInputData(".to_vec();
            wrapped.extend_from_slice(data);
            wrapped.extend_from_slice(b");\n");
            write(&path, &wrapped);
            expected.insert(shown(&path), Expect::Sample("har"));
            let path = root.join(format!("harp/{i:02}-{stem}-bom.har"));
            let mut bom = b"\xEF\xBB\xBF".to_vec();
            bom.extend_from_slice(data);
            write(&path, &bom);
            expected.insert(shown(&path), Expect::Sample("har"));
        }
        // Not traces, or not HAR: a JSON object that is no HAR, a truncated gzip.
        let odd = root.join("files/odd-not-a-har.json");
        write(&odd, br#"{"hello": "world"}"#);
        expected.insert(shown(&odd), Expect::Either);
        let cut_gz = root.join("files/odd-cut.har.gz");
        let gz = gzip(&samples[0].bytes);
        write(&cut_gz, &gz[..gz.len() / 2]);
        expected.insert(shown(&cut_gz), Expect::Either);
        // Ignored by the default globs, and key logs.
        write(&root.join("files/notes.txt"), b"not a trace");
        write(&root.join("files/.hidden.har"), &samples[0].bytes);
        let mut keyed = Vec::new();
        let top_level = |prefix: &str, path: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".har"))
        };
        let files = format!("{}/files/", root.display());
        let beside = expected
            .iter()
            .find(|(p, e)| matches!(e, Expect::Sample(_)) && top_level(&files, p))
            .map(|(p, _)| p.clone())
            .unwrap();
        let keys = format!("{}.keys", beside.strip_suffix(".har").unwrap());
        write(Path::new(&keys), b"CLIENT_RANDOM 00 00\n");
        keyed.push((beside, keys));
        let in_x = format!("{}/files/x/", root.display());
        let beside = expected
            .keys()
            .find(|p| top_level(&in_x, p))
            .cloned()
            .unwrap();
        let keys = format!("{in_x}sslkeys.log");
        write(Path::new(&keys), b"CLIENT_RANDOM 00 00\n");
        keyed.push((beside, keys));

        // Encrypted captures of the same sign-in, with their key logs beside them
        // (TLS 1.3 and HTTP/2 loose and in the tar.gz, TLS 1.2 and HTTP/1.1 in the
        // zip), and one without keys.
        let (tls13, keys13) = encrypted(true);
        let (tls12, keys12) = encrypted(false);
        let mut encrypted_traces = Vec::new();
        let loose = root.join("files/tls/signin-h2.pcapng");
        let loose_keys = root.join("files/tls/signin-h2.keylog");
        write(&loose, &tls13);
        write(&loose_keys, keys13.as_bytes());
        expected.insert(shown(&loose), Expect::Sample("pcapng"));
        encrypted_traces.push((shown(&loose), shown(&loose_keys)));
        let no_keys = root.join("files/tls/no-keys.pcapng");
        write(&no_keys, &tls12);
        expected.insert(shown(&no_keys), Expect::Either);

        // A zip: deflated and stored members, a key log beside one.
        let zip_path = root.join("archives/bundle.zip");
        std::fs::create_dir_all(zip_path.parent().unwrap()).unwrap();
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let members = mix("in-zip/", 60, &samples, 3);
        let zip_keyed = members
            .iter()
            .find(|(n, _, e)| matches!(e, Expect::Sample(_)) && top_level("in-zip/", n))
            .map(|(n, _, _)| n.clone())
            .unwrap();
        let zip_keylog = format!("{}.keylog", zip_keyed.strip_suffix(".har").unwrap());
        let shown_zip = shown(&zip_path);
        keyed.push((
            format!("{shown_zip}!/{zip_keyed}"),
            format!("{shown_zip}!/{zip_keylog}"),
        ));
        for (i, (name, data, expect)) in members.into_iter().enumerate() {
            let method = if i % 4 == 0 {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            zip.start_file(&name, options).unwrap();
            zip.write_all(&data).unwrap();
            expected.insert(format!("{}!/{name}", shown(&zip_path)), expect);
        }
        let options = zip::write::SimpleFileOptions::default();
        for (name, data) in [
            ("in-zip/tls/signin-12.pcapng", &tls12[..]),
            ("in-zip/tls/signin-12.keylog", keys12.as_bytes()),
        ] {
            zip.start_file(name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        let in_zip = format!("{shown_zip}!/in-zip/tls/signin-12.pcapng");
        expected.insert(in_zip.clone(), Expect::Sample("pcapng"));
        encrypted_traces.push((in_zip, format!("{shown_zip}!/in-zip/tls/signin-12.keylog")));
        zip.start_file("in-zip/README.txt", options).unwrap();
        zip.write_all(b"not a trace").unwrap();
        zip.start_file(&zip_keylog, options).unwrap();
        zip.write_all(b"CLIENT_RANDOM 00 00\n").unwrap();
        zip.finish().unwrap();

        // A tar.gz (streamed) and a plain tar (read in place).
        for (file, gzipped, salt) in [("bundle.tar.gz", true, 5), ("plain.tar", false, 1)] {
            let path = root.join("archives").join(file);
            let mut tar = tar::Builder::new(Vec::new());
            let count = if gzipped { 60 } else { 30 };
            let mut members = mix("in-tar/", count, &samples, salt);
            if gzipped {
                let pcapng = "in-tar/tls/signin-h2.pcapng";
                let keylog = "in-tar/tls/signin-h2.keys";
                members.push((pcapng.into(), tls13.clone(), Expect::Sample("pcapng")));
                // Not a trace: listed for its bytes, never as a result.
                members.push((keylog.into(), keys13.clone().into_bytes(), Expect::Either));
                encrypted_traces.push((
                    format!("{}!/{pcapng}", shown(&path)),
                    format!("{}!/{keylog}", shown(&path)),
                ));
            }
            for (name, data, expect) in members {
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                tar.append_data(&mut header, &name, &data[..]).unwrap();
                if !name.ends_with(".keys") {
                    expected.insert(format!("{}!/{name}", shown(&path)), expect);
                }
            }
            let bytes = tar.into_inner().unwrap();
            write(&path, &if gzipped { gzip(&bytes) } else { bytes });
        }
        // A broken archive: one error result for the archive itself.
        let broken = root.join("archives/broken.tar.gz");
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(samples[1].bytes.len() as u64);
        header.set_cksum();
        tar.append_data(&mut header, "first.har", &samples[1].bytes[..])
            .unwrap();
        let bytes = gzip(&tar.into_inner().unwrap());
        write(&broken, &bytes[..bytes.len() * 3 / 4]);
        expected.insert(format!("{}!/", shown(&broken)), Expect::Either);

        keyed.extend(encrypted_traces.iter().cloned());
        Archive {
            root,
            expected,
            keyed,
            encrypted: encrypted_traces,
        }
    })
}

fn run(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("batch").args(args).env_remove("CI");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("aadtrace runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The lines with `elapsed_ms`, the one field that varies, removed.
fn without_timing(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let mut l = l.clone();
            l.as_object_mut().unwrap().remove("elapsed_ms");
            l.to_string()
        })
        .collect()
}

fn batch_ndjson(jobs: &str, extra: &[&str]) -> Vec<Value> {
    let a = archive();
    let root = a.root.display().to_string();
    let mut args = vec!["--quiet", "--jobs", jobs];
    args.extend_from_slice(extra);
    args.push(&root);
    lines(&run(&args, None))
}

#[test]
fn one_line_per_trace_in_path_order_with_errors_per_trace() {
    let a = archive();
    assert!(
        a.expected.len() >= 300,
        "a few hundred traces: {}",
        a.expected.len()
    );
    let lines = batch_ndjson("2", &[]);
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    let expected: Vec<&str> = a.expected.keys().map(String::as_str).collect();
    // The broken tar.gz also yields its first member (before the damage) when that
    // member is whole; allow exactly that one extra.
    let extra: Vec<&&str> = paths
        .iter()
        .filter(|p| !a.expected.contains_key(**p))
        .collect();
    assert!(
        extra.iter().all(|p| p.contains("broken.tar.gz!/")),
        "unexpected traces: {extra:?}"
    );
    let missing: Vec<&&str> = expected.iter().filter(|p| !paths.contains(p)).collect();
    assert!(missing.is_empty(), "traces without a result: {missing:?}");
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "one line per trace, in path order");

    let mut errors = 0;
    for line in &lines {
        let path = line["path"].as_str().unwrap();
        assert_eq!(line["schema"], "aadtrace/1", "{path}");
        assert!(
            line["size"].is_u64() && line["elapsed_ms"].is_f64(),
            "{path}"
        );
        let is_error = line.get("error").is_some_and(|e| !e.is_null());
        match a.expected.get(path).copied().unwrap_or(Expect::Either) {
            Expect::Sample(format) => {
                assert!(!is_error, "{path} must be read: {}", line["error"]);
                assert!(
                    !line["flows"].as_array().unwrap().is_empty(),
                    "{path}: flows"
                );
                assert_eq!(line["inputs"][0]["format"], format, "{path}");
            }
            Expect::Error => {
                assert!(is_error, "{path} must be an error");
                let kind = line["error"]["kind"].as_str().unwrap();
                assert!(kind == "unknown_format", "{path}: {kind}");
                assert!(
                    line["error"]["message"].as_str().unwrap().contains(path),
                    "the message names the trace"
                );
                assert!(line.get("flows").is_none(), "no analysis beside an error");
            }
            Expect::Either => {}
        }
        errors += usize::from(is_error);
    }
    let must_fail = a.expected.values().filter(|e| **e == Expect::Error).count();
    assert!(
        errors >= must_fail,
        "{errors} errors, at least {must_fail} expected"
    );

    // Every format, as many times as the generator wrote it whole.
    let mut want: BTreeMap<&str, usize> = BTreeMap::new();
    for e in a.expected.values() {
        if let Expect::Sample(format) = e {
            *want.entry(format).or_default() += 1;
        }
    }
    let mut got: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, line) in paths.iter().zip(&lines) {
        if let Some(Expect::Sample(_)) = a.expected.get(*path) {
            *got.entry(line["inputs"][0]["format"].as_str().unwrap())
                .or_default() += 1;
        }
    }
    assert_eq!(got, want, "whole traces by format");
    for format in ["har", "saz", "netlog", "pcap", "pcapng", "netmon"] {
        assert!(
            want.get(format).is_some_and(|&n| n >= 5),
            "{format}: {want:?}"
        );
    }
    eprintln!("whole traces by format: {want:?}");

    // Key logs beside a trace, in a folder and in an archive.
    let by_path: BTreeMap<&str, &Value> = paths.iter().copied().zip(lines.iter()).collect();
    for (trace, keylog) in &a.keyed {
        assert_eq!(
            by_path[trace.as_str()]["keylogs"],
            serde_json::json!([keylog]),
            "{trace}"
        );
    }
    assert!(!paths
        .iter()
        .any(|p| p.ends_with(".keys") || p.ends_with(".keylog")));
    assert!(!paths
        .iter()
        .any(|p| p.ends_with(".txt") || p.contains(".hidden")));
}

#[test]
fn output_does_not_depend_on_jobs_or_the_memory_budget() {
    let one = batch_ndjson("1", &[]);
    let two = batch_ndjson("2", &[]);
    assert_eq!(
        without_timing(&one),
        without_timing(&two),
        "--jobs 1 and --jobs 2 agree"
    );
    // A budget smaller than most traces: they run one at a time, same results.
    let tight = batch_ndjson("2", &["--max-memory", "300K"]);
    assert_eq!(
        without_timing(&one),
        without_timing(&tight),
        "a tight --max-memory agrees"
    );
}

#[test]
fn shards_split_the_inputs_without_overlap() {
    let a = archive();
    let root = a.root.display().to_string();
    let list = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--list"];
        args.extend_from_slice(extra);
        args.push(&root);
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let all = list(&[]);
    assert!(all.len() >= 300);
    let mut union = BTreeSet::new();
    let mut sizes = Vec::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let part = list(&["--shard", &shard]);
        sizes.push(part.len());
        for p in part {
            assert!(union.insert(p.clone()), "{p} in two shards");
        }
    }
    assert_eq!(
        union.into_iter().collect::<Vec<_>>(),
        all,
        "the shards cover every trace"
    );
    assert!(
        sizes.iter().all(|&n| n > all.len() / 6),
        "shards are balanced: {sizes:?}"
    );
    let bad = run(&["--shard", "3/3", &root], None);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn manifest_from_standard_input() {
    let a = archive();
    let files: Vec<String> = a
        .expected
        .keys()
        .filter(|p| !p.contains('!'))
        .take(12)
        .cloned()
        .collect();
    let mut manifest = String::from("# traces to look at\n\n");
    for f in &files {
        manifest.push_str(f);
        manifest.push('\n');
    }
    manifest.push_str("/nonexistent/trace.har\n");
    let out = run(&["--quiet", "--manifest", "-"], Some(&manifest));
    let lines = lines(&out);
    assert_eq!(lines.len(), files.len() + 1);
    let missing = lines
        .iter()
        .find(|l| l["path"] == "/nonexistent/trace.har")
        .unwrap();
    assert_eq!(missing["error"]["kind"], "io");
}

#[test]
fn closing_summary_names_failures_and_codes() {
    let a = archive();
    let root = a.root.display().to_string();
    let out = run(&["--jobs", "2", "-o", "/dev/null", &root], None);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("aadtrace batch:") && err.contains("traces"),
        "{err}"
    );
    assert!(err.contains("Top AADSTS codes"), "{err}");
    // 50058 (the first page of a fresh sign-in) is expected: listed apart, not ranked.
    assert!(err.contains("AADSTS500121"), "{err}");
    assert!(err.contains("not failures): 50058 ×"), "{err}");
    assert!(err.contains("by tenant"), "{err}");
    assert!(err.contains("MFA:") && err.contains("p90"), "{err}");
    assert!(
        err.contains("Could not read") && err.contains("junk.har"),
        "{err}"
    );
    // Not a terminal: no progress bar drawing codes.
    assert!(!err.contains('\r'), "no progress bar off a terminal");
    let quiet = run(&["--quiet", "-o", "/dev/null", &root], None);
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

#[test]
fn fail_on_and_bad_arguments() {
    let sample = format!(
        "{}/captures/mfa-abandoned-500121.har",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run(&["--quiet", "--fail-on", "error", &sample], None);
    assert_eq!(out.status.code(), Some(1), "a 500121 error finding");
    let out = run(&["--quiet", &sample], None);
    assert_eq!(out.status.code(), Some(0), "default: never");
    assert_eq!(
        run(&["--max-memory", "lots", &sample], None).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["--quiet"], None).status.code(),
        Some(2),
        "nothing to analyse"
    );
    let out = run(&["--format", "parquet", &sample], None);
    assert_eq!(out.status.code(), Some(2), "parquet needs -o DIR");
}

/// Python with a package importable, or why not. `.ci/run` names in `skip_var` why
/// a package (or what it needs) could not be installed; that reason is printed and
/// the test skips. Otherwise, under CI a missing package fails the test.
#[cfg(feature = "parquet")]
fn python_with(module: &str, skip_var: &str) -> Option<()> {
    if let Some(reason) = std::env::var(skip_var).ok().filter(|r| !r.is_empty()) {
        eprintln!("SKIP: {module}: {reason}");
        return None;
    }
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(());
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("python3 cannot import {module} under CI (.ci/run installs it with pip)");
    }
    eprintln!("SKIP: python3 cannot import {module}; `pip install {module}` to run this test");
    None
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_tables_read_back_by_duckdb() {
    let a = archive();
    let root = a.root.display().to_string();
    let ndjson = batch_ndjson("2", &[]);
    let traces = ndjson.len();
    let errors = ndjson.iter().filter(|l| l.get("error").is_some()).count();
    let flows: usize = ndjson
        .iter()
        .map(|l| l.get("flows").and_then(Value::as_array).map_or(0, Vec::len))
        .sum();
    let findings: usize = ndjson
        .iter()
        .map(|l| {
            l.get("findings")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    let mfa: usize = ndjson
        .iter()
        .flat_map(|l| {
            l.get("flows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .map(|f| f["mfa"].as_array().map_or(0, Vec::len))
        .sum();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-parquet");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out_arg = out_dir.display().to_string();
    let out = run(
        &[
            "--quiet", "--jobs", "2", "--format", "parquet", "-o", &out_arg, &root,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in ["traces", "flows", "findings"] {
        assert!(
            out_dir.join(format!("{table}.parquet")).is_file(),
            "{table}.parquet"
        );
    }
    assert!(!out_dir.join("traces.parquet.partial").exists());
    if python_with("duckdb", "AADTRACE_SKIP_DUCKDB").is_none() {
        return;
    }
    let script = r#"
import duckdb, json, sys
d = sys.argv[1]
c = duckdb.connect()
q = lambda s: c.sql(s.replace("DIR", d)).fetchall()
out = {
  "traces": q("select count(*) from 'DIR/traces.parquet'")[0][0],
  "errors": q("select count(*) from 'DIR/traces.parquet' where error_kind is not null")[0][0],
  "versions": q("select distinct schema_version from 'DIR/traces.parquet'")[0][0],
  "flows": q("select count(*) from 'DIR/flows.parquet'")[0][0],
  "findings": q("select count(*) from 'DIR/findings.parquet'")[0][0],
  "mfa": q("select count(*) from (select unnest(mfa) from 'DIR/flows.parquet')")[0][0],
  "joined": q("select count(distinct t.path) from 'DIR/traces.parquet' t join 'DIR/findings.parquet' f using (path)")[0][0],
  "top": q("select code from 'DIR/findings.parquet' where code is not null group by code order by count(*) desc, code limit 1")[0][0],
  "ordered": q("select count(*) from (select path, lag(path) over () as prev from 'DIR/traces.parquet') where prev >= path")[0][0],
}
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &out_arg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["traces"], traces);
    assert_eq!(got["errors"], errors);
    assert_eq!(got["versions"], 1);
    assert_eq!(got["flows"], flows);
    assert_eq!(got["findings"], findings);
    assert_eq!(got["mfa"], mfa);
    assert_eq!(
        got["top"], 50058,
        "the first-page interrupt is the commonest code"
    );
    assert_eq!(got["ordered"], 0, "rows in path order");
    assert!(got["joined"].as_u64().unwrap() > 0);
}

#[cfg(feature = "parquet")]
#[test]
fn spark_job_in_local_mode() {
    if python_with("pyspark", "AADTRACE_SKIP_SPARK").is_none() {
        return;
    }
    let a = archive();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-spark");
    let _ = std::fs::remove_dir_all(&out_dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/spark_batch.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--binary", BIN, "--inputs"])
        .arg(&a.root)
        .arg("--out")
        .arg(&out_dir)
        .args(["--partitions", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The script prints `key=value` counts.
    let counts: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let listed = run(&["--list", &a.root.display().to_string()], None);
    let expected = String::from_utf8(listed.stdout).unwrap().lines().count();
    assert_eq!(
        counts.get("traces").copied(),
        Some(expected.to_string().as_str()),
        "{stdout}"
    );
    assert_eq!(counts.get("partitions").copied(), Some("3"), "{stdout}");
    assert!(counts.get("errors").is_some_and(|n| *n != "0"), "{stdout}");
    assert_eq!(counts.get("top_code").copied(), Some("50058"), "{stdout}");
}

/// What must agree between the HAR of a sign-in and its decrypted capture: each
/// flow's kind, outcome and MFA results, and the findings' kinds and codes.
fn signature(line: &Value) -> (Vec<String>, Vec<String>) {
    let flows = line["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mfa: Vec<&Value> = f["mfa"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| &m["result"])
                .collect();
            format!("{} {} {mfa:?}", f["kind"], f["outcome"])
        })
        .collect();
    let mut findings: Vec<String> = line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["kind"], f["code"]))
        .collect();
    findings.sort();
    (flows, findings)
}

#[test]
fn encrypted_captures_are_decrypted_with_the_key_log_beside_them() {
    let a = archive();
    let lines = batch_ndjson("2", &[]);
    let by_path: BTreeMap<&str, &Value> = lines
        .iter()
        .map(|l| (l["path"].as_str().unwrap(), l))
        .collect();
    let har = by_path
        .iter()
        .find(|(p, _)| p.ends_with(&format!("-{TLS_HAR}.har")) && !p.contains('!'))
        .map(|(_, l)| *l)
        .expect("the HAR of the encrypted sign-in is in the archive");
    let want = signature(har);
    assert!(!want.0.is_empty() && !want.1.is_empty(), "{want:?}");
    assert_eq!(a.encrypted.len(), 3, "loose, in the zip, in the tar.gz");
    for (trace, keylog) in &a.encrypted {
        let line = by_path[trace.as_str()];
        assert_eq!(line["keylogs"], serde_json::json!([keylog]), "{trace}");
        assert_eq!(signature(line), want, "{trace} analyses like the HAR");
    }
    let no_keys = by_path
        .iter()
        .find(|(p, _)| p.ends_with("no-keys.pcapng"))
        .map(|(_, l)| *l)
        .unwrap();
    assert!(
        no_keys["flows"].as_array().unwrap().is_empty(),
        "no keys, no flows"
    );

    // The same document as `aadtrace analyze --keylog` gives, batch fields aside.
    let (trace, keylog) = &a.encrypted[0];
    let out = Command::new(BIN)
        .args([
            "analyze",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--keylog",
        ])
        .args([keylog, trace])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let analyzed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut batched = by_path[trace.as_str()].clone();
    for field in ["path", "size", "elapsed_ms", "keylogs"] {
        batched.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(batched, analyzed, "batch and analyze agree on {trace}");
}

#[test]
fn an_unreadable_key_log_is_a_warning_on_captures() {
    let a = archive();
    let dir = a.root.join("files/tls").display().to_string();
    let har = a.root.join("harp").display().to_string();
    let netmon = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/token-errors-devicecode.cap")
        .display()
        .to_string();
    let out = run(
        &[
            "--quiet",
            "--keylog",
            "/nonexistent/sslkeys.log",
            &dir,
            &har,
            &netmon,
        ],
        None,
    );
    let lines = lines(&out);
    let codes = |l: &Value| -> Vec<String> {
        l["inputs"][0]["warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .map(|w| w["code"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (trace, _) = &a.encrypted[0];
    let capture = lines.iter().find(|l| l["path"] == trace.as_str()).unwrap();
    assert!(
        codes(capture).contains(&"keylog_unreadable".to_string()),
        "{capture}"
    );
    assert!(
        !capture["flows"].as_array().unwrap().is_empty(),
        "decrypted with the key log beside it"
    );
    // NetMon captures are decrypted with keys too, so they get the warning.
    let cap = lines.iter().find(|l| l["path"] == netmon.as_str()).unwrap();
    assert!(
        codes(cap).contains(&"keylog_unreadable".to_string()),
        "{cap}"
    );
    let hars: Vec<&Value> = lines
        .iter()
        .filter(|l| l["inputs"][0]["format"] == "har")
        .collect();
    assert!(!hars.is_empty(), "the run has HARs to check");
    for line in hars {
        assert!(
            !codes(line).iter().any(|c| c.starts_with("keylog")),
            "{}",
            line["path"]
        );
    }
}

/// A path on the command line that does not exist stops the run (exit 2, named);
/// a folder without traces says so.
#[test]
fn missing_paths_fail_and_empty_folders_say_so() {
    let out = assert_cmd::Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["batch", "/no/such/folder"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/no/such/folder: no such file or folder"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not a trace").unwrap();
    let out = assert_cmd::Command::cargo_bin("aadtrace")
        .unwrap()
        .arg("batch")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no traces found"), "{err}");
}

/// The closing summary ranks the codes of failures; expected interrupts (50058 on
/// the first page, 70016 while a device code waits) are listed apart.
#[test]
fn summary_ranks_failures_and_lists_expected_codes_apart() {
    let out = assert_cmd::Command::cargo_bin("aadtrace")
        .unwrap()
        .args(["batch", concat!(env!("CARGO_MANIFEST_DIR"), "/captures")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let ranked = err
        .split("Top AADSTS codes (findings, traces):")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .unwrap_or_else(|| panic!("no ranking: {err}"));
    assert!(ranked.contains("AADSTS500121"), "{ranked}");
    assert!(!ranked.contains("AADSTS50058"), "{ranked}");
    assert!(
        err.contains("Expected on the way (info, not failures): 50058 ×"),
        "{err}"
    );
}
