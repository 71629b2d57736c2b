//! Captures made by the project (samples/src/tls_writer.rs): the exchanges
//! of a recorded sign-in (a HAR) travel over real rustls TLS 1.2 and 1.3 connections
//! in memory, framed as Ethernet/IPv4/TCP. Decrypting the capture with the key log
//! (as a file, or as a Decryption Secrets Block in pcapng) must give the same flows
//! (kind, outcome, MFA results) and the same finding kinds and codes as the HAR,
//! whichever container carries the packets: pcapng, classic pcap or NetMon 2.3.

use crate::support::tls_conversations;
use aadtrace_samples::tls_writer;

use std::path::Path;

use aadtrace::capture::{NoProgress, ReadOptions, Source};
use aadtrace::session::{self, Session, SessionOptions};
use tls_conversations::conversations;
use tls_writer::{make, Tls};

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
        .map(|f| (f.kind.to_string(), f.code))
        .collect();
    findings.sort();
    (flows, findings)
}

/// How the test capture reaches aadtrace.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Container {
    /// pcapng with the key log in a separate file (`--keylog`).
    PcapngKeylog,
    /// pcapng with a Decryption Secrets Block, no key-log file.
    PcapngDsb,
    /// Classic pcap with `--keylog`.
    Pcap,
    /// Network Monitor 2.3 `.cap` with `--keylog`.
    Netmon,
}

fn har_session() -> Session {
    session::run(
        &[Source::File(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(HAR),
        )],
        &SessionOptions::default(),
        &NoProgress,
        &|| {},
    )
    .unwrap()
}

/// Writes the capture of `tls` in `container` and its key log into `dir`.
fn write_capture(
    dir: &Path,
    tls: Tls,
    h2: bool,
    container: Container,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let made = make(
        tls,
        &conversations(&Path::new(env!("CARGO_MANIFEST_DIR")).join(HAR), h2),
        7,
    );
    assert!(!made.keylog.is_empty());
    let (name, bytes) = match container {
        Container::PcapngKeylog => ("signin.pcapng", made.pcapng(false)),
        Container::PcapngDsb => ("signin.pcapng", made.pcapng(true)),
        Container::Pcap => ("signin.pcap", made.pcap()),
        Container::Netmon => ("signin.cap", made.netmon()),
    };
    let cap = dir.join(name);
    std::fs::write(&cap, bytes).unwrap();
    let keys = dir.join("keys.txt");
    std::fs::write(&keys, &made.keylog).unwrap();
    (cap, keys)
}

fn check(tls: Tls, h2: bool, container: Container) {
    let dir = tempfile::tempdir().unwrap();
    let (cap, keys) = write_capture(dir.path(), tls, h2, container);
    let read = ReadOptions {
        keylogs: if container == Container::PcapngDsb {
            vec![]
        } else {
            vec![keys]
        },
        ..Default::default()
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
    let alpn = std::str::from_utf8(tls.alpn).unwrap();
    for c in conns {
        assert!(c.decrypted, "connection {} not decrypted: {c:?}", c.id);
        assert_eq!(c.decrypt_failures, 0);
        // TLS 1.3 carries the choice in EncryptedExtensions, TLS 1.2 in the ServerHello.
        assert_eq!(c.alpn.as_deref(), Some(alpn), "connection {}", c.id);
    }
    let warnings = &cap_session.inputs[0].summary.warnings;
    assert!(
        warnings
            .iter()
            .all(|w| !w.code.as_str().starts_with("tls_") && !w.code.as_str().starts_with("h2_")),
        "{warnings:?}"
    );
    let want = summary(&har_session());
    assert!(
        want.0
            .iter()
            .any(|f| f.contains("Timeout") || f.contains("Success")),
        "the HAR has MFA flows: {want:?}"
    );
    assert!(!want.1.is_empty(), "the HAR has findings");
    assert_eq!(summary(&cap_session), want);
}

const TLS13_AES128: Tls = Tls {
    tls13: true,
    suite: aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    alpn: b"h2",
};

const TLS12_AES256_HTTP11: Tls = Tls {
    tls13: false,
    suite: aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    alpn: b"http/1.1",
};

#[test]
fn tls13_aes128gcm_h2_keylog_file() {
    check(TLS13_AES128, true, Container::PcapngKeylog);
}

#[test]
fn tls13_aes128gcm_h2_pcap_keylog_file() {
    check(TLS13_AES128, true, Container::Pcap);
}

#[test]
fn tls13_aes128gcm_h2_netmon_keylog_file() {
    check(TLS13_AES128, true, Container::Netmon);
}

#[test]
fn tls12_aes256gcm_http11_pcap_keylog_file() {
    check(TLS12_AES256_HTTP11, false, Container::Pcap);
}

#[test]
fn tls12_aes256gcm_http11_netmon_keylog_file() {
    check(TLS12_AES256_HTTP11, false, Container::Netmon);
}

#[test]
fn tls13_chacha20_http11_dsb() {
    check(
        Tls {
            tls13: true,
            suite:
                aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            alpn: b"http/1.1",
        },
        false,
        Container::PcapngDsb,
    );
}

#[test]
fn tls12_ecdsa_aes256gcm_http11_keylog_file() {
    check(TLS12_AES256_HTTP11, false, Container::PcapngKeylog);
}

#[test]
fn tls12_ecdsa_chacha20_h2_dsb() {
    check(
        Tls {
            tls13: false,
            suite:
                aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            alpn: b"h2",
        },
        true,
        Container::PcapngDsb,
    );
}

/// The binary end to end: `aadtrace analyze --keylog K file.pcap --format json`.
#[test]
fn cli_decrypts_a_pcap_with_a_keylog() {
    let dir = tempfile::tempdir().unwrap();
    let (cap, keys) = write_capture(dir.path(), TLS13_AES128, true, Container::Pcap);
    let out = assert_cmd::Command::cargo_bin("aadtrace")
        .unwrap()
        .arg("analyze")
        .arg("--keylog")
        .arg(&keys)
        .arg(&cap)
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conns = doc["connections"].as_array().unwrap();
    assert!(!conns.is_empty());
    for c in conns {
        assert_eq!(c["decrypted"], true, "{c}");
        assert_eq!(c["alpn"], "h2", "{c}");
        assert_eq!(c["tls_version"], "TLS 1.3", "{c}");
    }
    let har = har_session();
    assert_eq!(
        doc["flows"].as_array().unwrap().len(),
        har.analysis.flows.len()
    );
    let mut codes: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["kind"], f["code"]))
        .collect();
    codes.sort();
    let mut want: Vec<String> = har
        .findings
        .iter()
        .map(|f| {
            let code = f.code.map_or("null".to_string(), |c| c.to_string());
            format!("\"{}\" {code}", f.kind)
        })
        .collect();
    want.sort();
    assert_eq!(codes, want);
}
