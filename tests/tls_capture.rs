//! Captures made by the project (tests/support/tls_capture.rs): the exchanges of a
//! recorded sign-in (a HAR) travel over real rustls TLS 1.2 and 1.3 connections in
//! memory, framed as Ethernet/IPv4/TCP in pcapng. Decrypting the capture with the
//! key log (as a file, or as a Decryption Secrets Block) must give the same flows
//! (kind, outcome, MFA results) and the same finding kinds and codes as the HAR.

#[path = "support/tls_capture.rs"]
mod tls_capture;

use std::path::Path;

use aadtrace::capture::{NoProgress, ReadOptions, Source};
use aadtrace::session::{self, Session, SessionOptions};
use tls_capture::{make, Tls};

const HAR: &str = "captures/mfa-timeout-then-success.har";

fn summary(s: &Session) -> (Vec<String>, Vec<(String, Option<u32>)>) {
    let flows = s
        .analysis
        .flows
        .iter()
        .map(|f| {
            let mfa: Vec<String> = f.mfa.iter().map(|m| format!("{:?}", m.result)).collect();
            format!("{:?} {:?} {mfa:?}", f.kind, f.outcome)
        })
        .collect();
    let mut findings: Vec<(String, Option<u32>)> = s
        .findings
        .iter()
        .map(|f| (f.kind.clone(), f.code))
        .collect();
    findings.sort();
    (flows, findings)
}

fn check(tls: Tls, h2: bool, dsb: bool) {
    let har_session = session::run(
        &[Source::File(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(HAR),
        )],
        &SessionOptions::default(),
        &NoProgress,
        &|| {},
    )
    .unwrap();
    let har = Path::new(env!("CARGO_MANIFEST_DIR")).join(HAR);
    let made = make(tls, &tls_capture::conversations(&har, h2));
    assert!(!made.keylog.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("signin.pcapng");
    std::fs::write(&cap, made.pcapng(dsb)).unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, &made.keylog).unwrap();
    let read = ReadOptions {
        keylogs: if dsb { vec![] } else { vec![keys] },
    };
    let cap_session = session::run_with(
        &[Source::File(cap)],
        &SessionOptions::default(),
        &read,
        &NoProgress,
        &|| {},
    )
    .unwrap();
    let conns = &cap_session.inputs[0].summary.connections;
    assert!(!conns.is_empty());
    for c in conns {
        assert!(c.decrypted, "connection {} not decrypted: {c:?}", c.id);
        assert_eq!(c.decrypt_failures, 0);
    }
    let warnings = &cap_session.inputs[0].summary.warnings;
    assert!(
        warnings
            .iter()
            .all(|w| !w.code.starts_with("tls_") && !w.code.starts_with("h2_")),
        "{warnings:?}"
    );
    let want = summary(&har_session);
    assert!(
        want.0
            .iter()
            .any(|f| f.contains("Timeout") || f.contains("Success")),
        "the HAR has MFA flows: {want:?}"
    );
    assert!(!want.1.is_empty(), "the HAR has findings");
    assert_eq!(summary(&cap_session), want);
}

#[test]
fn tls13_aes128gcm_h2_keylog_file() {
    check(
        Tls {
            tls13: true,
            suite: rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
            alpn: b"h2",
        },
        true,
        false,
    );
}

#[test]
fn tls13_chacha20_http11_dsb() {
    check(
        Tls {
            tls13: true,
            suite: rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            alpn: b"http/1.1",
        },
        false,
        true,
    );
}

#[test]
fn tls12_ecdsa_aes256gcm_http11_keylog_file() {
    check(
        Tls {
            tls13: false,
            suite: rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            alpn: b"http/1.1",
        },
        false,
        false,
    );
}

#[test]
fn tls12_ecdsa_chacha20_h2_dsb() {
    check(
        Tls {
            tls13: false,
            suite:
                rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            alpn: b"h2",
        },
        true,
        true,
    );
}
