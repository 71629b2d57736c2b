//! The Chromium NetLog reader, on NetLogs generated from the seven sample
//! sign-ins (there are no NetLogs in the shared corpus): in the three capture
//! modes the analysis must find the same flows and findings as on the HAR, up to
//! what the mode does not record, which is listed here and reported as warnings.

use crate::support;

use aadtrace::capture::{netlog, read_source, InputSummary, NoProgress, ReadCtx, Source};
use support::netlog_writer::{write_netlog, Mode, NetLogOptions};

fn opts(mode: Mode) -> NetLogOptions {
    NetLogOptions {
        mode,
        dict_headers: false,
        unterminated: false,
    }
}

fn read(bytes: &[u8]) -> (InputSummary, Vec<aadtrace::http::Exchange<'static>>) {
    let mut out = Vec::new();
    let s = netlog::read_slice(bytes, &ReadCtx::new("t.json"), &mut |ex| {
        out.push(support::owned(&ex))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (s, out)
}

fn codes(s: &InputSummary) -> Vec<&str> {
    s.warnings.iter().map(|w| w.code.as_str()).collect()
}

/// What each mode may change in the signature compared with the HAR, per sample.
fn expected_warnings(
    mode: Mode,
    har: &[String],
    request_bodies: bool,
    response_bodies: bool,
) -> Vec<String> {
    let mut w: Vec<String> = har
        .iter()
        .filter(|w| *w != "har_sanitized")
        .cloned()
        .collect();
    match mode {
        Mode::Strip => {
            if request_bodies || response_bodies {
                w.push("missing_body".into());
            }
            w.push("netlog_sanitized".into());
        }
        Mode::Bytes => {
            if request_bodies {
                w.push("missing_body".into());
            }
        }
        Mode::Everything => {}
    }
    w.sort();
    w.dedup();
    w
}

/// "Kind Outcome … mfa=[…]" of each flow, without step counts and identities.
fn kinds(flows: &[String]) -> Vec<String> {
    flows
        .iter()
        .map(|f| {
            let mut words = f.split(' ');
            let kind = words.next().unwrap_or("");
            let outcome = words.next().unwrap_or("");
            let mfa = f.split(" mfa=").nth(1).unwrap_or("");
            format!("{kind} {outcome} mfa={mfa}")
        })
        .collect()
}

#[test]
fn samples_as_netlog_match_their_har() {
    let tmp = tempfile::tempdir().unwrap();
    for har in support::samples() {
        let exchanges = support::load_har(&har);
        let from_har = support::signature(&support::analyse(&har));
        let posts = exchanges
            .iter()
            .any(|e| !support::body_bytes(&e.request.body).is_empty());
        let responses = exchanges.iter().any(|e| {
            e.response.as_ref().is_some_and(|r| {
                !support::body_bytes(&r.body).is_empty() && !(300..400).contains(&r.status)
            })
        });
        for mode in [Mode::Everything, Mode::Bytes, Mode::Strip] {
            let bytes = write_netlog(&exchanges, opts(mode));
            let path = tmp
                .path()
                .join(format!("{}-{mode:?}.json", support::stem(&har)));
            std::fs::write(&path, &bytes).unwrap();
            support::keep_copy(&path);
            let session = support::analyse(&path);
            assert_eq!(
                session.inputs[0].summary.exchanges,
                exchanges.len(),
                "{path:?}"
            );
            let from_netlog = support::signature(&session);
            let label = format!("{} {mode:?}", support::stem(&har));
            assert_eq!(
                from_netlog.warnings,
                expected_warnings(mode, &from_har.warnings, posts, responses),
                "{label}"
            );
            match mode {
                // Everything logged: nothing may differ.
                Mode::Everything => {
                    assert_eq!(from_har.flows, from_netlog.flows, "{label}");
                    assert_eq!(from_har.findings, from_netlog.findings, "{label}");
                }
                // Response bodies but no request bodies: every finding is the same,
                // and every flow of the HAR is found with the same kind, outcome and
                // MFA results. Back-channel POSTs (the code redemption at /token,
                // the ADFS and MSA form posts) cannot be joined to their flow without
                // the body that names the client and the code, so they stand as
                // extra flows of their own and the joined flow has fewer steps.
                Mode::Bytes => {
                    assert_eq!(from_har.findings, from_netlog.findings, "{label}");
                    let mut extra = kinds(&from_netlog.flows);
                    for f in kinds(&from_har.flows) {
                        let at = extra.iter().position(|x| *x == f);
                        assert!(
                            at.is_some(),
                            "{label}: {f} missing from {:?}",
                            from_netlog.flows
                        );
                        extra.remove(at.unwrap());
                    }
                }
                // Default mode: no bodies and no cookies. What is left is the
                // request/response skeleton: AADSTS codes in error pages, users,
                // MFA methods and outcomes that need bodies are lost. Only the
                // redirect loop (headers alone) must still be found.
                Mode::Strip => {
                    if support::stem(&har) == "redirect-loop" {
                        assert_eq!(from_har.findings, from_netlog.findings, "{label}");
                    }
                }
            }
        }
    }
}

#[test]
fn request_bodies_come_back_from_socket_bytes() {
    let har = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/clean-signin.har");
    let exchanges = support::load_har(&har);
    let (s, got) = read(&write_netlog(&exchanges, opts(Mode::Everything)));
    assert_eq!(s.producer.as_deref(), Some("Microsoft Edge 142.0.3595.53"));
    assert!(codes(&s).is_empty(), "{:?}", s.warnings);
    assert_eq!(got.len(), exchanges.len());
    let mut sorted = exchanges.clone();
    sorted.sort_by_key(|e| e.timing.started_us);
    for (a, b) in sorted.iter().zip(&got) {
        assert_eq!(a.request.url, b.request.url);
        assert_eq!(a.request.method, b.request.method);
        assert_eq!(a.status(), b.status(), "{}", a.request.url);
        assert_eq!(
            support::body_bytes(&a.request.body),
            support::body_bytes(&b.request.body),
            "{}",
            a.request.url
        );
        if let (Some(ra), Some(rb)) = (&a.response, &b.response) {
            if !(300..400).contains(&ra.status) {
                assert_eq!(support::body_bytes(&ra.body), support::body_bytes(&rb.body));
            }
        }
        // Millisecond ticks.
        assert!((a.timing.started_us - b.timing.started_us).abs() < 1000);
    }
}

#[test]
fn old_dict_headers_and_streams_read_alike() {
    let har =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/mfa-abandoned-500121.har");
    let exchanges = support::load_har(&har);
    let bytes = write_netlog(
        &exchanges,
        NetLogOptions {
            dict_headers: true,
            ..opts(Mode::Everything)
        },
    );
    let (a, got_a) = read(&bytes);
    let mut got_b = Vec::new();
    let b = netlog::read_stream(&bytes[..], &ReadCtx::new("t"), &mut |ex| {
        got_b.push(support::owned(&ex))
    })
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(got_a, got_b);
    assert_eq!(a.exchanges, exchanges.len());
    assert!(got_a.iter().any(|e| e
        .response
        .as_ref()
        .is_some_and(|r| r.headers.get("content-type").is_some())));
}

#[test]
fn truncated_netlogs_load() {
    let har = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/mfa-timeout-then-success.har");
    let exchanges = support::load_har(&har);
    // Unterminated after the last event (browser killed).
    let bytes = write_netlog(
        &exchanges,
        NetLogOptions {
            unterminated: true,
            ..opts(Mode::Everything)
        },
    );
    let (s, got) = read(&bytes);
    assert_eq!(codes(&s), ["capture_truncated"]);
    assert_eq!(got.len(), exchanges.len());

    // Cut in the middle of an event: everything before is kept, requests still
    // open are reported without a response.
    let full = write_netlog(&exchanges, opts(Mode::Everything));
    let cut = &full[..full.len() * 2 / 3];
    let (s, got) = read(cut);
    assert_eq!(codes(&s)[0], "capture_truncated");
    assert!(!got.is_empty() && got.len() <= exchanges.len());

    // Through the file reader too.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cut.json");
    std::fs::write(&path, cut).unwrap();
    let (format, s) = read_source(&Source::File(path), 0, &NoProgress, &mut |_| {}).unwrap();
    assert_eq!(format.name(), "netlog");
    assert!(s.exchanges > 0);
}

#[test]
fn not_netlogs_get_clear_errors() {
    let err = netlog::read_slice(b"{\"constants\": {", &ReadCtx::new("x.json"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.json"), "{err}");
    let err = netlog::read_slice(b"{\"events\": []}", &ReadCtx::new("x.json"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("constants"), "{err}");
    let err = netlog::read_slice(b"{\"constants\": {}}", &ReadCtx::new("x.json"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("no \"events\""), "{err}");
}
