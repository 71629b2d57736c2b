//! The exchanges of a recorded sign-in (a HAR) as conversations for the TLS
//! capture writer (`samples/src/tls_writer.rs`), shared by the tests that
//! need an encrypted capture of a known sign-in. A test that uses it declares the
//! `packet_writer` and `tls_writer` modules at its root.

use std::path::Path;

use aadtrace::capture::{har, ReadCtx};

use aadtrace_samples::tls_writer::{h2_message, Conversation};

/// Hop-by-hop and framing headers the re-encoding replaces.
fn skip(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "content-length"
            | "transfer-encoding"
            | "content-encoding"
            | "connection"
            | "host"
            | "keep-alive"
            | "upgrade"
    ) || name.starts_with(':')
}

/// The exchanges of the HAR at `har` as conversations over HTTP/2 (`h2`) or
/// HTTP/1.1: one TLS connection each, one server address per host.
pub fn conversations(har: &Path, h2: bool) -> Vec<Conversation> {
    let bytes = std::fs::read(har).unwrap();
    let mut out = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    har::read_slice(&bytes, &ReadCtx::new("har"), &mut |ex| {
        let url = ex.request.url.to_string();
        let Some(rest) = url.strip_prefix("https://") else {
            return;
        };
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let Some(resp) = &ex.response else { return };
        let req_body = ex
            .request
            .body
            .decode()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let resp_body = resp.body.decode().map(|b| b.to_vec()).unwrap_or_default();
        let req_headers: Vec<(String, String)> = ex
            .request
            .headers
            .0
            .iter()
            .filter(|h| !skip(&h.name))
            .map(|h| (h.name.to_ascii_lowercase(), h.value.to_string()))
            .collect();
        let resp_headers: Vec<(String, String)> = resp
            .headers
            .0
            .iter()
            .filter(|h| !skip(&h.name))
            .map(|h| (h.name.to_ascii_lowercase(), h.value.to_string()))
            .collect();
        let (request, response) = if h2 {
            let mut rf = vec![
                (":method".to_string(), ex.request.method.to_string()),
                (":scheme".to_string(), "https".to_string()),
                (":authority".to_string(), host.to_string()),
                (":path".to_string(), path.to_string()),
            ];
            rf.extend(req_headers);
            let mut sf = vec![(":status".to_string(), resp.status.to_string())];
            sf.extend(resp_headers);
            (
                h2_message(true, &rf, &req_body),
                h2_message(false, &sf, &resp_body),
            )
        } else {
            let mut r = format!("{} {path} HTTP/1.1\r\nhost: {host}\r\n", ex.request.method);
            for (n, v) in &req_headers {
                r += &format!("{n}: {v}\r\n");
            }
            r += &format!("content-length: {}\r\n\r\n", req_body.len());
            let mut r = r.into_bytes();
            r.extend_from_slice(&req_body);
            let mut s = format!("HTTP/1.1 {} {}\r\n", resp.status, resp.reason);
            for (n, v) in &resp_headers {
                s += &format!("{n}: {v}\r\n");
            }
            s += &format!("content-length: {}\r\n\r\n", resp_body.len());
            let mut s = s.into_bytes();
            s.extend_from_slice(&resp_body);
            (r, s)
        };
        let host_ix = hosts.iter().position(|h| h == host).unwrap_or_else(|| {
            hosts.push(host.to_string());
            hosts.len() - 1
        });
        let wait_us = (ex.timing.wait_ms.unwrap_or(1.0).max(0.001) * 1000.0) as i64;
        out.push(Conversation {
            host: host.to_string(),
            server_ip: [20, 190, 151, 10 + host_ix as u8],
            started_us: ex.timing.started_us,
            wait_us,
            duration_us: (ex.timing.duration_ms.unwrap_or(0.0) * 1000.0) as i64,
            request,
            response,
        });
    })
    .unwrap();
    assert!(out.len() > 3, "the HAR has exchanges");
    out
}
