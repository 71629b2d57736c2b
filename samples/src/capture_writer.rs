//! Writes a scenario as a cleartext packet capture: HTTP/1.1 over TCP over IPv4 over
//! Ethernet, in pcap, pcapng (optionally gzip'd) or Network Monitor 2.3 form.
//!
//! Mapping from the format-neutral model:
//! * Every exchange becomes an HTTP/1.1 request and response on port 80. The request
//!   line carries the URL's path and query (origin form, RFC 9112 §3.2.1) and the
//!   request has a `Host` header (added first when the scenario's headers lack one,
//!   as they do for HTTP/2); a reader therefore sees `http://host/path`. Headers and
//!   bodies are otherwise the scenario's bytes: `Location` headers and page contents
//!   still name `https://` URLs. Bodies are framed by `Content-Length`.
//! * Connections: the client keeps one TCP connection per host and reuses it
//!   (keep-alive) while it is idle; a request that starts while every connection to
//!   its host is still busy opens another one, as browsers do. Each connection starts
//!   with a three-way handshake just before its first request and ends with FINs
//!   1 ms after its last response.
//! * Times: request segments at the exchange's start, the first response segment at
//!   start + `wait_ms`, the last at start + `duration_ms` (so a reader measures the
//!   same wait and duration as the HAR), and the client's ACK with the last segment.
//!   A response that fits one segment is sent as two (head, then body) so that both
//!   times show; one without a body ends at start + `wait_ms`.
//! * Addresses: the client is 192.0.2.45 (TEST-NET-1), ports from 49 700 up; servers
//!   are the scenario's `server_ip` values (IPv4 only).

use std::io::{self, Write};

use crate::model::{SampleExchange, Scenario};
use crate::packet_writer::{
    write_netmon, Endpoint, Packet, PcapWriter, PcapngWriter, TcpConn, MSS,
};

/// File format of a sample capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    Pcap,
    Pcapng,
    PcapngGz,
    Netmon,
}

impl CaptureKind {
    pub fn extension(self) -> &'static str {
        match self {
            CaptureKind::Pcap => "pcap",
            CaptureKind::Pcapng => "pcapng",
            CaptureKind::PcapngGz => "pcapng.gz",
            CaptureKind::Netmon => "cap",
        }
    }
}

/// Which scenarios are also written as captures, and in which format.
pub const CAPTURES: &[(&str, CaptureKind)] = &[
    ("mfa-timeout-then-success", CaptureKind::Pcapng),
    ("msa-handoff-70012", CaptureKind::Pcap),
    ("token-errors-devicecode", CaptureKind::Netmon),
    ("adfs-federated", CaptureKind::PcapngGz),
];

const CLIENT_IP: [u8; 4] = [192, 0, 2, 45];
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x2d];
const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
/// Round-trip time of the handshake and the close, µs.
const RTT_US: i64 = 18_000;

struct Conn {
    host: String,
    tcp: TcpConn,
    busy_until: i64,
}

/// The frames of a scenario, in capture order.
pub fn packets(s: &Scenario) -> io::Result<Vec<Packet>> {
    packets_from(s, 0).map(|(frames, _)| frames)
}

/// The frames of a scenario whose connections are numbered from `first_conn` (client
/// ports and initial sequence numbers follow the number, so scenarios written one
/// after another into one capture do not reuse a connection), and how many
/// connections it opened.
pub fn packets_from(s: &Scenario, first_conn: u32) -> io::Result<(Vec<Packet>, u32)> {
    let mut conns: Vec<Conn> = Vec::new();
    let mut out: Vec<Packet> = Vec::new();
    for e in &s.exchanges {
        let start = e.started_us;
        let first = start + (e.wait_ms * 1000.0).round() as i64;
        let last = (start + (e.duration_ms * 1000.0).round() as i64).max(first);
        let host = e.host().to_ascii_lowercase();
        let idle = conns
            .iter()
            .position(|c| c.host == host && c.busy_until <= start);
        let i = match idle {
            Some(i) => i,
            None => {
                let ip = parse_ipv4(&e.server_ip)?;
                let n = first_conn + conns.len() as u32;
                let client = Endpoint {
                    mac: CLIENT_MAC,
                    ip: CLIENT_IP,
                    // Ports 49 700 and up, wrapping within 1 024..65 535.
                    port: (1_024 + (48_676 + n) % 64_512) as u16,
                    ttl: 128,
                };
                let server = Endpoint {
                    mac: GATEWAY_MAC,
                    ip,
                    port: 80,
                    ttl: 116,
                };
                let isn = (
                    0x3c6e_f372u32.wrapping_mul(n + 1) ^ 0x9e37_79b9,
                    0x1b87_3593u32.wrapping_mul(n + 7) ^ 0x85eb_ca6b,
                );
                let mut tcp = TcpConn::new(client, server, isn);
                tcp.handshake(start - RTT_US - 500, RTT_US, &mut out);
                conns.push(Conn {
                    host,
                    tcp,
                    busy_until: start,
                });
                conns.len() - 1
            }
        };
        let c = &mut conns[i];
        c.tcp.send(true, &request_bytes(e), start, start, &mut out);
        let (head, body) = response_bytes(e);
        if head.len() + body.len() > MSS || body.is_empty() {
            let mut all = head;
            all.extend_from_slice(&body);
            c.tcp.send(false, &all, first, last, &mut out);
        } else {
            // Head and a short body in segments of their own, so the last byte
            // still arrives at the exchange's end.
            c.tcp.send(false, &head, first, first, &mut out);
            c.tcp.send(false, &body, last, last, &mut out);
        }
        c.tcp.ack(true, last, &mut out);
        c.busy_until = last;
    }
    for c in &mut conns {
        c.tcp.close(c.busy_until + 1000, RTT_US, &mut out);
    }
    // Stable: frames of one connection keep their order when times are equal.
    out.sort_by_key(|p| p.ts_us);
    let opened = conns.len() as u32;
    Ok((out, opened))
}

pub fn parse_ipv4(s: &str) -> io::Result<[u8; 4]> {
    let ip: std::net::Ipv4Addr = s.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("server address {s:?} is not IPv4; the capture writer only frames IPv4"),
        )
    })?;
    Ok(ip.octets())
}

/// Path and query of an absolute URL (fragment dropped: it never goes on the wire).
/// `host?query` has an empty path, sent as `/?query` (RFC 9112 §3.2.1).
pub fn target(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or(rest);
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

pub fn request_bytes(e: &SampleExchange) -> Vec<u8> {
    let t = target(&e.url);
    let mut b = format!("{} {t} HTTP/1.1\r\n", e.method).into_bytes();
    if !has(&e.request_headers, "host") {
        b.extend_from_slice(format!("Host: {}\r\n", e.host()).as_bytes());
    }
    head_lines(&mut b, &e.request_headers);
    let body = e.request_body.as_ref().map(|(_, b)| b.as_slice());
    if let Some(body) = body {
        if !has(&e.request_headers, "content-length") {
            b.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
    }
    b.extend_from_slice(b"\r\n");
    b.extend_from_slice(body.unwrap_or_default());
    b
}

/// Head and body of the response.
pub fn response_bytes(e: &SampleExchange) -> (Vec<u8>, Vec<u8>) {
    let reason = if e.reason.is_empty() {
        "Unknown"
    } else {
        &e.reason
    };
    let mut b = format!("HTTP/1.1 {} {reason}\r\n", e.status).into_bytes();
    head_lines(&mut b, &e.response_headers);
    let body = e.response_body.as_ref().map(|(_, b)| b.as_slice());
    if !has(&e.response_headers, "content-length") && !matches!(e.status, 204 | 304) {
        let n = body.map_or(0, <[u8]>::len);
        b.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
    }
    b.extend_from_slice(b"\r\n");
    (b, body.unwrap_or_default().to_vec())
}

fn head_lines(b: &mut Vec<u8>, headers: &[(String, String)]) {
    for (n, v) in headers {
        // Hop-by-hop framing of the original transport does not apply here.
        if n.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        b.extend_from_slice(n.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(v.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
}

/// Writes the scenario as a capture of `kind`.
pub fn write_scenario<W: Write>(w: W, s: &Scenario, kind: CaptureKind) -> io::Result<()> {
    let frames = packets(s)?;
    let app = "aadtrace make_samples";
    match kind {
        CaptureKind::Pcap => {
            let mut p = PcapWriter::new(w)?;
            for f in &frames {
                p.packet(f.ts_us, &f.data)?;
            }
            p.finish()?.flush()
        }
        CaptureKind::Pcapng => {
            let mut p = PcapngWriter::new(w, app)?;
            for f in &frames {
                p.packet(f.ts_us, &f.data)?;
            }
            p.finish()?.flush()
        }
        CaptureKind::PcapngGz => {
            // No file name and mtime 0 in the gzip header, so the bytes are reproducible.
            let gz = flate2::GzBuilder::new()
                .operating_system(255)
                .write(w, flate2::Compression::new(9));
            let mut p = PcapngWriter::new(gz, app)?;
            for f in &frames {
                p.packet(f.ts_us, &f.data)?;
            }
            p.finish()?.finish()?.flush()
        }
        CaptureKind::Netmon => write_netmon(w, &frames),
    }
}
