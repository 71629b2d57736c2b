//! The binary as a user drives it: commands, exit codes, errors that name the file.

use assert_cmd::Command;

fn aadtrace() -> Command {
    let mut cmd = Command::cargo_bin("aadtrace").expect("binary builds");
    cmd.env_remove("NO_COLOR");
    cmd
}

fn sample(name: &str) -> String {
    format!("{}/captures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn explain_known_codes_offline() {
    let out = aadtrace()
        .args(["explain", "50074", "AADSTS70012"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("AADSTS50074:"), "{text}");
    assert!(text.contains("AADSTS70012:"), "{text}");
    assert!(text.contains("Next steps"), "{text}");
}

#[test]
fn explain_json_and_unknown_code() {
    let out = aadtrace()
        .args(["explain", "--format", "json", "50126", "99999999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an unknown code exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["code"], 50126);
    assert_eq!(v[0]["known"], true);
    assert_eq!(v[1]["known"], false);
}

#[test]
fn explain_knows_codes_added_from_microsofts_reference() {
    let out = aadtrace()
        .args(["explain", "AADSTS50142", "700213", "AADSTS500200"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "every code is known");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("AADSTS50142: password change required by Conditional Access"),
        "{text}"
    );
    assert!(
        text.contains("AADSTS700213: no federated credential"),
        "{text}"
    );
    assert!(
        text.contains("not on Microsoft's error-code reference"),
        "{text}"
    );
}

#[test]
fn explain_rejects_text_without_codes() {
    let out = aadtrace().args(["explain", "hello"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`hello` holds no AADSTS code"), "{err}");
    assert!(err.contains("nothing to explain"), "{err}");
}

#[test]
fn explain_takes_what_people_paste() {
    // A message line, a code next to a word that is not one, an error URL.
    let out = aadtrace()
        .args([
            "explain",
            "AADSTS50074: Strong Authentication is required.",
            "hello",
            "https://app.example/cb?error=invalid_grant&error_description=AADSTS70008%3a+The+provided+authorization+code+or+refresh+token+has+expired",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one argument held no code");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("AADSTS50074:") && text.contains("AADSTS70008:"),
        "{text}"
    );
    assert!(text.contains("Microsoft: https://login.microsoftonline.com/error?code=50074"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`hello` holds no AADSTS code"));
    // A whole error page on standard input.
    let page = "<html><body><div id=\"errorText\">Sorry, but we're having trouble signing you in.</div>\n<div>AADSTS53003: Access has been blocked by Conditional Access policies.</div></body></html>";
    let out = aadtrace()
        .args(["explain", "-"])
        .write_stdin(page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("AADSTS53003:"));
}

#[test]
fn explain_lists_and_searches_the_catalogue() {
    let out = aadtrace().args(["explain", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(list.lines().count() > 100, "{list}");
    assert!(list.lines().any(|l| l.starts_with("AADSTS50126")));
    let out = aadtrace()
        .args([
            "explain",
            "--search",
            "conditional access",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array().unwrap().iter().any(|c| c["code"] == 53003),
        "{v}"
    );
    let out = aadtrace()
        .args(["explain", "--search", "zebra unicorn"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Only the formats the help lists exist.
    let out = aadtrace()
        .args(["explain", "--format", "html", "50074"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: text, json"));
}

#[test]
fn missing_file_is_a_tool_failure_naming_the_file() {
    let out = aadtrace()
        .args(["analyze", "/nonexistent/trace.har"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/trace.har"), "{err}");
}

#[test]
fn not_a_trace_is_rejected_with_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello, this is not a trace").unwrap();
    let out = aadtrace().arg("analyze").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not a trace"),
        "{err}"
    );
}

#[test]
fn bad_arguments_exit_2() {
    let out = aadtrace()
        .args(["analyze", "--format", "yaml", "x.har"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn failing_sign_in_exits_1_and_fail_on_never_exits_0() {
    let out = aadtrace()
        .args(["analyze", &sample("mfa-abandoned-500121.har")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aadtrace()
        .args([
            "analyze",
            "--fail-on",
            "never",
            &sample("mfa-abandoned-500121.har"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn clean_sign_in_exits_0_unless_info_counts() {
    let out = aadtrace()
        .args(["analyze", &sample("clean-signin.har")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = aadtrace()
        .args(["analyze", "--fail-on", "info", &sample("clean-signin.har")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the clean sign-in has info findings (50058, Seamless SSO probe)"
    );
}

#[test]
fn piped_text_has_no_colour_and_redacts_by_default() {
    let out = aadtrace()
        .args(["analyze", &sample("clean-signin.har")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no ANSI escapes when piped");
    assert!(!text.contains("adele.vance@"), "user names are masked");
    assert!(text.contains("a…@contoso.example"), "{text}");
}

#[test]
fn unsafe_show_secrets_shows_the_user() {
    let out = aadtrace()
        .args([
            "analyze",
            "--unsafe-show-secrets",
            &sample("clean-signin.har"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("adele.vance@contoso.example"), "{text}");
}

#[test]
fn json_report_follows_the_contract() {
    let out = aadtrace()
        .args([
            "analyze",
            "--format",
            "json",
            &sample("mfa-timeout-then-success.har"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "aadtrace/1");
    assert_eq!(v["tool"]["name"], "aadtrace");
    assert_eq!(v["inputs"][0]["format"], "har");
    for key in ["exchanges", "connections", "flows", "findings"] {
        assert!(v[key].is_array(), "{key} is an array");
    }
    let ex = &v["exchanges"][0];
    for key in [
        "id",
        "input",
        "started",
        "duration_ms",
        "method",
        "url",
        "host",
        "http_version",
        "status",
        "endpoint",
        "page",
        "ests_server",
        "client_request_id",
        "request_id",
        "correlation_id",
        "aadsts",
    ] {
        assert!(ex.get(key).is_some(), "exchanges[].{key} present");
    }
    let flow = &v["flows"][0];
    for key in [
        "id",
        "kind",
        "exchanges",
        "started",
        "ended",
        "correlation_ids",
        "tenant",
        "client_id",
        "user",
        "outcome",
        "mfa",
    ] {
        assert!(flow.get(key).is_some(), "flows[].{key} present");
    }
    let f = &v["findings"][0];
    for key in [
        "id",
        "kind",
        "severity",
        "code",
        "flow",
        "exchanges",
        "time",
        "correlation_id",
        "request_id",
        "title",
        "explanation",
        "next_steps",
    ] {
        assert!(f.get(key).is_some(), "findings[].{key} present");
    }
    let started = ex["started"].as_str().unwrap();
    assert!(
        started.ends_with('Z') && started.len() == 24,
        "RFC 3339 UTC with ms: {started}"
    );
}

#[test]
fn standard_input_and_gzip_are_read() {
    let bytes = std::fs::read(sample("clean-signin.har")).unwrap();
    let out = aadtrace()
        .args(["analyze", "--format", "json", "-"])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("clean.har.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = aadtrace()
        .args(["analyze", "--format", "json"])
        .arg(&gz)
        .output()
        .unwrap();
    let from_gz: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin["flows"], from_gz["flows"]);
    assert_eq!(from_stdin["findings"], from_gz["findings"]);
}

/// The JSON report is streamed to its destination: the same bytes to a file and to
/// standard output, ending with a newline; a file that cannot be made is named.
#[test]
fn streamed_json_report_is_the_same_to_a_file_and_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("report.json");
    let run = |extra: &[&std::ffi::OsStr]| {
        aadtrace()
            .args(["analyze", "--format", "json", "--fail-on", "never"])
            .args(extra)
            .arg(sample("mfa-timeout-then-success.pcapng"))
            .output()
            .unwrap()
    };
    let to_stdout = run(&[]);
    assert!(to_stdout.status.success());
    assert!(to_stdout.stdout.ends_with(b"}\n"));
    let to_file = run(&["-o".as_ref(), out_path.as_os_str()]);
    assert!(to_file.status.success() && to_file.stdout.is_empty());
    assert_eq!(std::fs::read(&out_path).unwrap(), to_stdout.stdout);

    let bad = dir.path().join("no-such-dir").join("report.json");
    let failed = run(&["-o".as_ref(), bad.as_os_str()]);
    assert_eq!(failed.status.code(), Some(2), "{failed:?}");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("no-such-dir"), "{stderr}");
}

#[test]
fn report_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("report.json");
    let out = aadtrace()
        .args(["analyze", "--format", "json", "-o"])
        .arg(&out_path)
        .arg(sample("clean-signin.har"))
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(v["schema"], "aadtrace/1");
}

#[test]
fn a_file_without_a_command_is_analysed() {
    let out = aadtrace()
        .args([&sample("clean-signin.har"), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "aadtrace/1");
    // A missing file is named as one, not taken for an unknown command.
    let out = aadtrace().arg("no-such-trace.har").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-trace.har") && !err.contains("subcommand"),
        "{err}"
    );
}

#[test]
fn version_help_completions_colour_and_quiet() {
    let out = aadtrace().arg("--version").output().unwrap();
    let version = String::from_utf8(out.stdout).unwrap();
    // `aadtrace 0.1.0 (abc1234def56)`, or `(unknown)` outside a git checkout.
    assert!(
        version.starts_with(&format!("aadtrace {} (", env!("CARGO_PKG_VERSION")))
            && version.trim_end().ends_with(')'),
        "{version}"
    );
    let out = aadtrace().args(["analyze", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        ".saz",
        "NetLog",
        ".pcapng",
        ".cap",
        "--keylog",
        "Examples:",
        "--color",
        "--quiet",
    ] {
        assert!(help.contains(word), "analyze --help lacks {word}: {help}");
    }
    let out = aadtrace().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("_aadtrace()") && script.contains("analyze"),
        "{script}"
    );
    // Colour on request, never when told not to; standard output is no terminal here.
    let run = |color: &str| {
        let out = aadtrace()
            .args([
                "analyze",
                "-q",
                "--color",
                color,
                &sample("clean-signin.har"),
            ])
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "-q: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("always").contains("\u{1b}["));
    assert!(!run("never").contains('\u{1b}'));
    assert!(!run("auto").contains('\u{1b}'));
}

#[test]
fn ticket_is_a_paste_ready_block_with_server_log_queries() {
    let out = aadtrace()
        .args(["analyze", "--ticket", &sample("mfa-abandoned-500121.har")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the trace has an error finding");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("## Sign-in trace: FAILED  AADSTS500121"),
        "{md}"
    );
    for needle in [
        "| Correlation ID | 11c1d80b-91ae-464b-b289-8924654b414e |",
        "| Timestamp (UTC) | 2026-11-22T08:41:26.236Z |",
        "| User | a…@contoso.example |",
        "union SigninLogs, AADNonInteractiveUserSignInLogs",
        "auditLogs/signIns?$filter=correlationId eq '11c1d80b-91ae-464b-b289-8924654b414e'",
    ] {
        assert!(md.contains(needle), "{needle} missing from {md}");
    }
    // The full user name never appears without --unsafe-show-secrets.
    assert!(!md.contains("adele"), "{md}");
    // A trace without a sign-in says so.
    let out = aadtrace()
        .args(["analyze", "--ticket", "-"])
        .write_stdin(
            r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[]}}"#,
        )
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("## Sign-in trace: NO SIGN-IN IN THIS TRACE"),
        "{md}"
    );
}

#[test]
fn key_logs_beside_a_capture_are_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("signin.pcapng");
    std::fs::copy(sample("mfa-timeout-then-success-tls13-h2.pcapng"), &capture).unwrap();
    let run = || {
        let out = aadtrace()
            .args(["analyze", "--format", "json"])
            .arg(&capture)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    // Without keys: nothing decrypted.
    assert_eq!(run()["summary"]["flows"], 0);
    let keylog = dir.path().join("signin.keylog");
    std::fs::copy(sample("mfa-timeout-then-success-tls13-h2.keylog"), &keylog).unwrap();
    let v = run();
    assert_eq!(
        v["summary"]["flows"], 1,
        "decrypted with the key log beside it"
    );
    assert_eq!(v["inputs"][0]["keylogs"][0], keylog.display().to_string());
    let out = aadtrace().arg("analyze").arg(&capture).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("TLS keys from {}", keylog.display())),
        "{text}"
    );
}

#[test]
fn files_that_are_not_traces_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("trace.har");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let cases = [
        (png.display().to_string(), "a PNG image"),
        (
            sample("mfa-timeout-then-success-tls13-h2.keylog"),
            "a TLS key log",
        ),
        (sample(""), "`aadtrace batch FOLDER`"),
    ];
    for (path, want) in cases {
        let out = aadtrace().args(["analyze", &path]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{path}: {err}");
    }
}

/// `AADTRACE_PHASE_TIMES=1` adds one line to stderr naming every phase with a
/// time, and changes nothing else: same report, same exit code.
#[test]
fn phase_times_go_to_stderr_and_leave_the_report_alone() {
    let run = |times: bool| {
        let mut cmd = aadtrace();
        cmd.args([
            "analyze",
            "--format",
            "json",
            &sample("mfa-timeout-then-success.har"),
        ]);
        if times {
            cmd.env("AADTRACE_PHASE_TIMES", "1");
        } else {
            cmd.env_remove("AADTRACE_PHASE_TIMES");
        }
        cmd.output().unwrap()
    };
    let (plain, timed) = (run(false), run(true));
    assert_eq!(plain.stdout, timed.stdout);
    assert_eq!(plain.status.code(), timed.status.code());
    assert!(
        plain.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let line = String::from_utf8(timed.stderr).unwrap();
    let rest = line
        .trim_end()
        .strip_prefix("aadtrace: phases (wall): ")
        .unwrap_or_else(|| panic!("{line}"));
    let phases: Vec<(&str, f64)> = rest
        .split(", ")
        .map(|p| {
            let (name, time) = p.split_once(' ').unwrap();
            let ms = time.strip_suffix(" ms").unwrap().parse().unwrap();
            (name, ms)
        })
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
    assert_eq!(names, ["read", "flows", "findings", "report"]);
    assert!(phases.iter().all(|p| p.1 >= 0.0), "{line}");
    assert!(phases[0].1 > 0.0, "reading a HAR takes some time: {line}");
}
