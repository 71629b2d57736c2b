//! HTTP/2 over cleartext reached by the HTTP/1.1 Upgrade mechanism (RFC 7540 §3.2,
//! "h2c"): a pcap written with the project's packet writer must give the upgraded
//! request with its real HTTP/2 response on stream 1 (the 101 is no exchange), and
//! the request the client sends on stream 3 after its preface.

use aadtrace_samples::packet_writer;

use aadtrace::capture::{read_source, NoProgress, Source};
use aadtrace::http::Body;
use packet_writer::{Endpoint, Packet, PcapWriter, TcpConn};

fn h2_frame(out: &mut Vec<u8>, ty: u8, flags: u8, id: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(ty);
    out.push(flags);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
}

/// HPACK literal without indexing, new name (RFC 7541 §6.2.2).
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        b.extend([0x00, n.len() as u8]);
        b.extend_from_slice(n.as_bytes());
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fn capture() -> Vec<u8> {
    let client = Endpoint {
        mac: [2, 0, 0, 0, 0, 1],
        ip: [10, 0, 0, 1],
        port: 50_000,
        ttl: 64,
    };
    let server = Endpoint {
        mac: [2, 0, 0, 0, 0, 2],
        ip: [10, 0, 0, 2],
        port: 80,
        ttl: 57,
    };
    let mut tcp = TcpConn::new(client, server, (1_000, 9_000));
    let mut out: Vec<Packet> = Vec::new();
    let t0 = 1_700_000_000_000_000i64;
    tcp.handshake(t0, 1_000, &mut out);

    let req = b"POST /common/oauth2/token HTTP/1.1\r\nHost: login.example\r\n\
Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\
Content-Length: 12\r\n\r\ngrant_type=x";
    tcp.send(true, req, t0 + 2_000, t0 + 2_000, &mut out);

    // 101, then the server's SETTINGS and the response on stream 1 (§3.2).
    let mut s1 =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
    h2_frame(&mut s1, 4, 0, 0, &[]);
    h2_frame(
        &mut s1,
        1,
        0x4,
        1,
        &block(&[(":status", "200"), ("content-type", "application/json")]),
    );
    h2_frame(&mut s1, 0, 0x1, 1, b"{\"token\":1}");
    tcp.send(false, &s1, t0 + 3_000, t0 + 3_000, &mut out);

    // The client's preface, SETTINGS, SETTINGS ack and a new request on stream 3.
    let mut c2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    h2_frame(&mut c2, 4, 0, 0, &[]);
    h2_frame(&mut c2, 4, 0x1, 0, &[]);
    h2_frame(
        &mut c2,
        1,
        0x5,
        3,
        &block(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "login.example"),
            (":path", "/common/discovery"),
        ]),
    );
    tcp.send(true, &c2, t0 + 4_000, t0 + 4_000, &mut out);

    let mut s2 = Vec::new();
    h2_frame(&mut s2, 4, 0x1, 0, &[]);
    h2_frame(&mut s2, 1, 0x4, 3, &block(&[(":status", "404")]));
    h2_frame(&mut s2, 0, 0x1, 3, b"missing");
    tcp.send(false, &s2, t0 + 5_000, t0 + 5_000, &mut out);
    tcp.close(t0 + 6_000, 1_000, &mut out);

    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for p in &out {
        w.packet(p.ts_us, &p.data).unwrap();
    }
    w.finish().unwrap()
}

fn bytes(b: &Body<'_>) -> Vec<u8> {
    match b {
        Body::Bytes(b) => b.to_vec(),
        _ => Vec::new(),
    }
}

#[test]
fn h2c_upgrade_gives_both_exchanges() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h2c.pcap");
    std::fs::write(&p, capture()).unwrap();
    let mut got = Vec::new();
    read_source(&Source::File(p), 0, &NoProgress, &mut |ex| {
        got.push((
            ex.request.method.to_string(),
            ex.request.url.to_string(),
            ex.request.http_version.to_string(),
            bytes(&ex.request.body),
            ex.status(),
            ex.response.as_ref().map(|r| bytes(&r.body)),
            ex.error.as_ref().map(|e| e.to_string()),
        ))
    })
    .unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    let (method, url, version, body, status, resp, error) = &got[0];
    assert_eq!(method, "POST");
    assert_eq!(url, "http://login.example/common/oauth2/token");
    assert_eq!(version, "HTTP/1.1");
    assert_eq!(body, b"grant_type=x");
    assert_eq!(*status, Some(200));
    assert_eq!(resp.as_deref(), Some(&b"{\"token\":1}"[..]));
    assert_eq!(*error, None);
    let (method, url, version, _, status, resp, error) = &got[1];
    assert_eq!(method, "GET");
    assert_eq!(url, "http://login.example/common/discovery");
    assert_eq!(version, "HTTP/2");
    assert_eq!(*status, Some(404));
    assert_eq!(resp.as_deref(), Some(&b"missing"[..]));
    assert_eq!(*error, None);
}
