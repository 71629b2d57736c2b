//! Test captures made here: a real rustls client and server talk in memory, the
//! TLS bytes each side writes become Ethernet/IPv4/TCP frames in a pcapng file,
//! and the secrets come out through rustls's `KeyLog` (as a key-log text, or as a
//! Decryption Secrets Block inside the pcapng).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring as provider, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
};

/// One HTTP message pair to carry: raw application bytes for each direction.
pub struct Conversation {
    pub host: String,
    pub started_us: i64,
    pub wait_us: i64,
    pub request: Vec<u8>,
    pub response: Vec<u8>,
}

/// Which TLS to speak.
#[derive(Clone, Copy, Debug)]
pub struct Tls {
    pub tls13: bool,
    pub suite: rustls::SupportedCipherSuite,
    pub alpn: &'static [u8],
}

/// Collects NSS key-log lines.
#[derive(Debug, Default)]
struct Collect(Mutex<String>);

impl rustls::KeyLog for Collect {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut s = self.0.lock().unwrap();
        s.push_str(&format!("{label} {} {}\n", hex(client_random), hex(secret)));
    }
    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// Accepts any server certificate (the test's self-signed one).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TCP/IP endpoint pair with sequence numbers, writing frames to a pcapng body.
struct Flow {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    seq: [u32; 2],
}

impl Flow {
    fn packet(&mut self, to_server: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let i = usize::from(!to_server);
        let mut b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, self.seq[i], 65_535);
        if flags & 0x10 != 0 {
            b = b.ack(self.seq[1 - i]);
        }
        if flags & 0x02 != 0 {
            b = b.syn();
        }
        if flags & 0x01 != 0 {
            b = b.fin();
        }
        if flags & 0x08 != 0 {
            b = b.psh();
        }
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).unwrap();
        let advance = payload.len() as u32 + u32::from(flags & 0x03 != 0);
        self.seq[i] = self.seq[i].wrapping_add(advance);
        out
    }
}

/// pcapng writer (draft-ietf-opsawg-pcapng): SHB, one Ethernet IDB, optional DSB,
/// EPBs with microsecond timestamps.
pub struct Pcapng(pub Vec<u8>);

impl Pcapng {
    pub fn new() -> Self {
        let mut p = Pcapng(Vec::new());
        let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        p.block(0x0A0D_0D0A, &shb);
        let mut idb = 1u16.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        p.block(1, &idb);
        p
    }

    fn block(&mut self, ty: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let total = (12 + body.len() + pad) as u32;
        self.0.extend_from_slice(&ty.to_le_bytes());
        self.0.extend_from_slice(&total.to_le_bytes());
        self.0.extend_from_slice(body);
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self.0.extend_from_slice(&total.to_le_bytes());
    }

    /// A Decryption Secrets Block with TLS key-log text.
    pub fn secrets(&mut self, keylog: &str) {
        let mut b = 0x544C_534Bu32.to_le_bytes().to_vec();
        b.extend_from_slice(&(keylog.len() as u32).to_le_bytes());
        b.extend_from_slice(keylog.as_bytes());
        b.extend(std::iter::repeat_n(0u8, (4 - keylog.len() % 4) % 4));
        self.block(0x0000_000A, &b);
    }

    fn packet(&mut self, ts_us: i64, data: &[u8]) {
        let ts = ts_us as u64;
        let mut b = 0u32.to_le_bytes().to_vec();
        b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        self.block(6, &b);
    }
}

/// Frames (timestamp, bytes) of all conversations, and the key log.
pub struct Made {
    pub frames: Vec<(i64, Vec<u8>)>,
    pub keylog: String,
}

impl Made {
    /// The pcapng, with the key log inside as a DSB when `dsb`.
    pub fn pcapng(&self, dsb: bool) -> Vec<u8> {
        let mut p = Pcapng::new();
        if dsb {
            p.secrets(&self.keylog);
        }
        let mut frames: Vec<&(i64, Vec<u8>)> = self.frames.iter().collect();
        frames.sort_by_key(|f| f.0);
        for (ts, data) in frames {
            p.packet(*ts, data);
        }
        p.0
    }
}

/// Moves TLS bytes from one endpoint to the other; returns what was written.
fn pump(from: &mut dyn rustls_io::Io, to: &mut dyn rustls_io::Io) -> Vec<u8> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    if !wire.is_empty() {
        let mut r = &wire[..];
        while !r.is_empty() {
            to.read_tls(&mut r).unwrap();
            to.process().unwrap();
        }
    }
    wire
}

mod rustls_io {
    /// The parts of a rustls connection the pump needs, for both sides.
    pub trait Io {
        fn wants_write(&self) -> bool;
        fn write_tls(&mut self, w: &mut dyn std::io::Write) -> std::io::Result<usize>;
        fn read_tls(&mut self, r: &mut dyn std::io::Read) -> std::io::Result<usize>;
        fn process(&mut self) -> Result<(), rustls::Error>;
    }
    macro_rules! io {
        ($t:ty) => {
            impl Io for $t {
                fn wants_write(&self) -> bool {
                    std::ops::Deref::deref(self).wants_write()
                }
                fn write_tls(&mut self, w: &mut dyn std::io::Write) -> std::io::Result<usize> {
                    std::ops::DerefMut::deref_mut(self).write_tls(w)
                }
                fn read_tls(&mut self, r: &mut dyn std::io::Read) -> std::io::Result<usize> {
                    std::ops::DerefMut::deref_mut(self).read_tls(r)
                }
                fn process(&mut self) -> Result<(), rustls::Error> {
                    std::ops::DerefMut::deref_mut(self)
                        .process_new_packets()
                        .map(|_| ())
                }
            }
        };
    }
    io!(rustls::ClientConnection);
    io!(rustls::ServerConnection);
}

/// Runs every conversation over its own TLS connection and frames the bytes.
pub fn make(tls: Tls, conversations: &[Conversation]) -> Made {
    let mut suites_provider = provider::default_provider();
    suites_provider.cipher_suites = vec![tls.suite];
    let provider = Arc::new(suites_provider);
    let versions: &[&rustls::SupportedProtocolVersion] = if tls.tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let log = Arc::new(Collect::default());
    let mut frames = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    for (n, conv) in conversations.iter().enumerate() {
        let host_ix = match hosts.iter().position(|h| *h == conv.host) {
            Some(i) => i,
            None => {
                hosts.push(conv.host.clone());
                hosts.len() - 1
            }
        };
        let cert = rcgen::generate_simple_self_signed(vec![conv.host.clone()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let mut server_cfg = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        server_cfg.alpn_protocols = vec![tls.alpn.to_vec()];
        let mut client_cfg = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider.clone())))
            .with_no_client_auth();
        client_cfg.alpn_protocols = vec![tls.alpn.to_vec()];
        client_cfg.key_log = log.clone();
        let name = ServerName::try_from(conv.host.clone()).unwrap();
        let mut client = ClientConnection::new(Arc::new(client_cfg), name).unwrap();
        let mut server = ServerConnection::new(Arc::new(server_cfg)).unwrap();
        let mut flow = Flow {
            client: ([10, 0, 0, 5], 50_000 + n as u16),
            server: ([20, 190, 151, 10 + host_ix as u8], 443),
            seq: [1_000 + n as u32 * 7, 9_000_000 + n as u32 * 13],
        };
        // Handshake in the millisecond before the request.
        let mut ts = conv.started_us - 1_000;
        frames.push((ts, flow.packet(true, 0x02, &[])));
        frames.push((ts + 1, flow.packet(false, 0x12, &[])));
        frames.push((ts + 2, flow.packet(true, 0x10, &[])));
        ts += 3;
        while client.is_handshaking() || server.is_handshaking() {
            for (to_server, bytes) in [
                (true, pump(&mut client, &mut server)),
                (false, pump(&mut server, &mut client)),
            ] {
                for chunk in bytes.chunks(1400) {
                    frames.push((ts, flow.packet(to_server, 0x18, chunk)));
                    ts += 1;
                }
            }
        }
        let mut send = |to_server: bool, data: &[u8], at: i64| {
            if to_server {
                client.writer().write_all(data).unwrap();
            } else {
                server.writer().write_all(data).unwrap();
            }
            let bytes = if to_server {
                pump(&mut client, &mut server)
            } else {
                pump(&mut server, &mut client)
            };
            let mut t = at;
            for chunk in bytes.chunks(1400) {
                frames.push((t, flow.packet(to_server, 0x18, chunk)));
                t += 1;
            }
            // Drain what the other side received so its buffer stays small.
            let mut sink = Vec::new();
            if to_server {
                let _ = server.reader().read_to_end(&mut sink);
            } else {
                let _ = client.reader().read_to_end(&mut sink);
            }
            // Tickets and other post-handshake records from the receiver.
            let back = if to_server {
                pump(&mut server, &mut client)
            } else {
                pump(&mut client, &mut server)
            };
            for chunk in back.chunks(1400) {
                frames.push((t, flow.packet(!to_server, 0x18, chunk)));
                t += 1;
            }
        };
        send(true, &conv.request, conv.started_us);
        send(
            false,
            &conv.response,
            conv.started_us + conv.wait_us.max(10),
        );
        let end = conv.started_us + conv.wait_us.max(10) + 500;
        frames.push((end, flow.packet(true, 0x11, &[])));
        frames.push((end + 1, flow.packet(false, 0x11, &[])));
        frames.push((end + 2, flow.packet(true, 0x10, &[])));
    }
    let keylog = log.0.lock().unwrap().clone();
    Made { frames, keylog }
}

/// HPACK literal header field never indexed, new name, no Huffman (RFC 7541 §6.2.3).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    fn int(out: &mut Vec<u8>, first: u8, prefix: u8, mut v: usize) {
        let max = (1usize << prefix) - 1;
        if v < max {
            out.push(first | v as u8);
            return;
        }
        out.push(first | max as u8);
        v -= max;
        while v >= 128 {
            out.push((v % 128) as u8 | 0x80);
            v /= 128;
        }
        out.push(v as u8);
    }
    out.push(0x10);
    int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    int(out, 0, 7, value.len());
    out.extend_from_slice(value.as_bytes());
}

fn h2_frame(out: &mut Vec<u8>, ty: u8, flags: u8, id: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(ty);
    out.push(flags);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One side of an HTTP/2 exchange on stream 1: HEADERS (+ DATA) frames, with the
/// connection preface and SETTINGS first.
pub fn h2_message(client: bool, fields: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if client {
        out.extend_from_slice(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    }
    h2_frame(&mut out, 4, 0, 0, &[]);
    let mut block = Vec::new();
    for (n, v) in fields {
        hpack_literal(&mut block, n, v);
    }
    let end = if body.is_empty() { 0x1 } else { 0 };
    h2_frame(&mut out, 1, 0x4 | end, 1, &block);
    for (i, chunk) in body.chunks(16_384).enumerate() {
        let last = (i + 1) * 16_384 >= body.len();
        h2_frame(&mut out, 0, if last { 1 } else { 0 }, 1, chunk);
    }
    out
}

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

/// The HTTPS exchanges of a HAR as conversations to carry over TLS: HTTP/2 frames
/// when `h2`, else HTTP/1.1 messages with `content-length`.
pub fn conversations(har: &std::path::Path, h2: bool) -> Vec<Conversation> {
    let bytes = std::fs::read(har).unwrap();
    let mut out = Vec::new();
    aadtrace::capture::har::read_slice(
        &bytes,
        "har",
        0,
        &aadtrace::capture::NoProgress,
        &mut |ex| {
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
            out.push(Conversation {
                host: host.to_string(),
                started_us: ex.timing.started_us,
                wait_us: (ex.timing.wait_ms.unwrap_or(1.0).max(0.001) * 1000.0) as i64,
                request,
                response,
            });
        },
    )
    .unwrap();
    assert!(out.len() > 3, "the HAR has exchanges");
    out
}
