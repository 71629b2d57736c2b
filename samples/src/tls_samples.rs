//! Writes scenarios as decryptable HTTPS captures: each exchange crosses its own real
//! rustls TLS connection (`tls_writer.rs`), over HTTP/2 (one stream) or HTTP/1.1
//! (the same request and response bytes as the cleartext captures, see
//! `capture_writer.rs`), on TCP port 443 of the scenario's server address.
//!
//! HTTP/2 mapping (RFC 7540 §8.1.2): the pseudo-headers come first (`:method`,
//! `:scheme`, `:authority` from the URL's host, `:path` with the query), then the
//! scenario's headers in lower case, without the connection-specific ones HTTP/2
//! forbids (§8.1.2.2) and without `host` and `content-length` (the frames delimit the
//! body). Headers are HPACK literals, never indexed, no Huffman.

use std::io;

use crate::capture_writer::{parse_ipv4, request_bytes, response_bytes, target};
use crate::model::{SampleExchange, Scenario};
use crate::tls_writer::{self, Conversation, Tls};

/// One TLS sample: which scenario, how it is protected, and where the keys go.
pub struct TlsSample {
    pub stem: &'static str,
    /// Appended to the stem: `mfa-timeout-then-success-tls13-h2.pcapng`.
    pub suffix: &'static str,
    pub tls: Tls,
    /// HTTP/2 (else HTTP/1.1).
    pub h2: bool,
    /// Key log inside the pcapng as a Decryption Secrets Block (else a `.keylog`
    /// file beside it).
    pub dsb: bool,
    pub seed: u64,
}

pub fn samples() -> [TlsSample; 2] {
    [
        TlsSample {
            stem: "mfa-timeout-then-success",
            suffix: "tls13-h2",
            tls: Tls {
                tls13: true,
                suite: rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
                alpn: b"h2",
            },
            h2: true,
            dsb: false,
            seed: 1,
        },
        TlsSample {
            stem: "mfa-abandoned-500121",
            suffix: "tls12-h1-dsb",
            tls: Tls {
                tls13: false,
                suite: rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                alpn: b"http/1.1",
            },
            h2: false,
            dsb: true,
            seed: 2,
        },
    ]
}

/// The files of one sample: (file name, bytes); the capture, then any key log.
pub fn files(s: &Scenario, sample: &TlsSample) -> io::Result<Vec<(String, Vec<u8>)>> {
    let conversations = s
        .exchanges
        .iter()
        .map(|e| conversation(e, sample.h2))
        .collect::<io::Result<Vec<_>>>()?;
    let made = tls_writer::make(sample.tls, &conversations, sample.seed);
    let name = format!("{}-{}", sample.stem, sample.suffix);
    let mut out = vec![(format!("{name}.pcapng"), made.pcapng(sample.dsb))];
    if !sample.dsb {
        out.push((format!("{name}.keylog"), made.keylog.into_bytes()));
    }
    Ok(out)
}

fn conversation(e: &SampleExchange, h2: bool) -> io::Result<Conversation> {
    let (request, response) = if h2 {
        h2_bytes(e)
    } else {
        let (mut head, body) = response_bytes(e);
        head.extend_from_slice(&body);
        (request_bytes(e), head)
    };
    Ok(Conversation {
        host: e.host().to_ascii_lowercase(),
        server_ip: parse_ipv4(&e.server_ip)?,
        started_us: e.started_us,
        wait_us: (e.wait_ms * 1000.0).round() as i64,
        duration_us: (e.duration_ms * 1000.0).round() as i64,
        request,
        response,
    })
}

/// Headers HTTP/2 does not carry as fields.
fn dropped(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "host"
            | "content-length"
    )
}

fn fields(pseudo: Vec<(String, String)>, headers: &[(String, String)]) -> Vec<(String, String)> {
    let rest = headers
        .iter()
        .filter(|(n, _)| !dropped(n))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()));
    pseudo.into_iter().chain(rest).collect()
}

fn h2_bytes(e: &SampleExchange) -> (Vec<u8>, Vec<u8>) {
    let pseudo = vec![
        (":method".to_string(), e.method.clone()),
        (":scheme".to_string(), "https".to_string()),
        (":authority".to_string(), e.host().to_string()),
        (":path".to_string(), target(&e.url)),
    ];
    let body =
        |b: &Option<(String, Vec<u8>)>| b.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
    let request = tls_writer::h2_message(
        true,
        &fields(pseudo, &e.request_headers),
        &body(&e.request_body),
    );
    let status = vec![(":status".to_string(), e.status.to_string())];
    let response = tls_writer::h2_message(
        false,
        &fields(status, &e.response_headers),
        &body(&e.response_body),
    );
    (request, response)
}
