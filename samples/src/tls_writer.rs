//! TLS captures made in process: a real rustls client and server talk in memory, the
//! TLS bytes each side writes become Ethernet/IPv4/TCP frames (`packet_writer.rs`:
//! three-way handshake, 1,460-byte segments, FINs), and the secrets come out through
//! rustls's `KeyLog` in the NSS key-log format.
//!
//! Shared by the sample generator (`captures/*-tls*.pcapng`), the tests
//! (`tests/it/tls_capture.rs`) and the benchmarks (`benches/tls.rs`).
//!
//! **Deterministic.** The same conversations and seed always give the same bytes, so
//! the committed samples can be compared byte for byte with a fresh run. rustls takes
//! all its randomness (hello randoms, session ids, ticket nonces, the extension-order
//! seed) from the provider's `SecureRandom`, which here is a SHA-256 counter stream
//! seeded per connection. The key exchange is ring's real X25519, with the private
//! key drawn from the same stream (through ring's fixed-input `SecureRandom`, its only
//! way to take a given key). Certificates are Ed25519 (RFC 8032 signatures are
//! deterministic) on rcgen's fixed validity dates, with the serial derived from the
//! key. None of this is secret: the key log ships next to each capture.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    ring as provider, ActiveKeyExchange, CryptoProvider, GetRandomFailed, SharedSecret,
    SupportedKxGroup,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, NamedGroup, ServerConfig,
    ServerConnection,
};
use sha2::{Digest, Sha256};

use crate::packet_writer::{self, Endpoint, Packet, TcpConn};

/// One request and its response, as raw application bytes for each direction.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub host: String,
    pub server_ip: [u8; 4],
    /// Request time, µs since the Unix epoch (UTC).
    pub started_us: i64,
    /// First and last response byte, µs after the request.
    pub wait_us: i64,
    pub duration_us: i64,
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

/// Frames of all conversations, in capture order, and the key log.
pub struct Made {
    pub frames: Vec<Packet>,
    pub keylog: String,
}

const CLIENT_IP: [u8; 4] = [192, 0, 2, 45];
/// Round-trip time used for TCP and TLS flights, µs.
const RTT_US: i64 = 2_000;

impl Made {
    /// pcapng, with the key log inside as a Decryption Secrets Block when `dsb`.
    pub fn pcapng(&self, dsb: bool) -> Vec<u8> {
        let mut w = packet_writer::PcapngWriter::new(Vec::new(), "aadtrace make_samples")
            .expect("writing to memory");
        if dsb {
            w.secrets(&self.keylog).expect("writing to memory");
        }
        for p in &self.frames {
            w.packet(p.ts_us, &p.data).expect("writing to memory");
        }
        w.finish().expect("writing to memory")
    }

    /// Classic pcap (the key log must come separately).
    #[allow(dead_code)] // the tests write every container; the samples only pcapng
    pub fn pcap(&self) -> Vec<u8> {
        let mut w = packet_writer::PcapWriter::new(Vec::new()).expect("writing to memory");
        for p in &self.frames {
            w.packet(p.ts_us, &p.data).expect("writing to memory");
        }
        w.finish().expect("writing to memory")
    }

    /// Network Monitor 2.3 `.cap` (the key log must come separately).
    #[allow(dead_code)]
    pub fn netmon(&self) -> Vec<u8> {
        let mut out = Vec::new();
        packet_writer::write_netmon(&mut out, &self.frames).expect("writing to memory");
        out
    }
}

thread_local! {
    /// (seed, block counter, unread bytes of the current block).
    static STREAM: RefCell<([u8; 32], u64, Vec<u8>)> = const { RefCell::new(([0; 32], 0, Vec::new())) };
}

/// Restarts this thread's random stream from `seed`.
fn reseed(seed: &[u8]) {
    STREAM.with(|s| *s.borrow_mut() = (Sha256::digest(seed).into(), 0, Vec::new()));
}

/// SHA-256(seed ‖ counter) blocks, read in order.
fn fill(out: &mut [u8]) {
    STREAM.with(|s| {
        let (seed, counter, pool) = &mut *s.borrow_mut();
        for b in out.iter_mut() {
            if pool.is_empty() {
                let mut h = Sha256::new();
                h.update(*seed);
                h.update(counter.to_be_bytes());
                *counter += 1;
                pool.extend(h.finalize().iter().rev());
            }
            *b = pool.pop().unwrap_or_default();
        }
    });
}

/// rustls's randomness, from the thread's seeded stream.
#[derive(Debug)]
struct Seeded;

impl rustls::crypto::SecureRandom for Seeded {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        fill(buf);
        Ok(())
    }
}

/// ring's `SecureRandom` is sealed; its test module's fixed-slice source is the one
/// way to give it a chosen key (the private key here comes from the seeded stream).
#[allow(deprecated)]
fn fixed(bytes: &[u8]) -> ring::test::rand::FixedSliceRandom<'_> {
    ring::test::rand::FixedSliceRandom { bytes }
}

/// X25519 (RFC 7748) through ring, with seeded private keys.
#[derive(Debug)]
struct SeededX25519;

struct X25519Active {
    private: ring::agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl SupportedKxGroup for SeededX25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let mut seed = [0u8; 32];
        fill(&mut seed);
        let private =
            ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::X25519, &fixed(&seed))
                .map_err(|_| rustls::Error::FailedToGetRandomBytes)?;
        let public = private
            .compute_public_key()
            .map_err(|_| rustls::Error::FailedToGetRandomBytes)?
            .as_ref()
            .to_vec();
        Ok(Box::new(X25519Active { private, public }))
    }
    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl ActiveKeyExchange for X25519Active {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, rustls::Error> {
        let peer = ring::agreement::UnparsedPublicKey::new(&ring::agreement::X25519, peer);
        ring::agreement::agree_ephemeral(self.private, &peer, |s: &[u8]| SharedSecret::from(s))
            .map_err(|_| rustls::PeerMisbehaved::InvalidKeyShare.into())
    }
    fn pub_key(&self) -> &[u8] {
        &self.public
    }
    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// A fixed clock (2026-11-22), so nothing time-dependent varies between runs.
#[derive(Debug)]
struct FixedTime;

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            1_795_338_000,
        )))
    }
}

/// Collects NSS key-log lines.
#[derive(Debug, Default)]
struct Collect(Mutex<String>);

impl rustls::KeyLog for Collect {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        if let Ok(mut s) = self.0.lock() {
            s.push_str(&format!("{label} {} {}\n", hex(client_random), hex(secret)));
        }
    }
    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// Accepts any server certificate (the generator's self-signed ones).
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

/// Moves TLS bytes from one endpoint to the other; returns what was written.
fn pump(from: &mut dyn rustls_io::Io, to: &mut dyn rustls_io::Io) -> Vec<u8> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).expect("writing to memory");
    }
    let mut r = &wire[..];
    while !r.is_empty() {
        to.read_tls(&mut r).expect("reading from memory");
        to.process().expect("the peer is rustls too");
        // Nobody reads the plaintext; dropping it keeps rustls's buffer from filling.
        to.drain();
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
        /// Reads and drops the plaintext that arrived.
        fn drain(&mut self);
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
                fn drain(&mut self) {
                    let mut r = std::ops::DerefMut::deref_mut(self).reader();
                    let _ = std::io::Read::read_to_end(&mut r, &mut Vec::new());
                }
            }
        };
    }
    io!(rustls::ClientConnection);
    io!(rustls::ServerConnection);
}

static SEEDED: Seeded = Seeded;
static X25519: SeededX25519 = SeededX25519;

fn crypto_provider(tls: Tls) -> Arc<CryptoProvider> {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![tls.suite];
    p.kx_groups = vec![&X25519];
    p.secure_random = &SEEDED;
    Arc::new(p)
}

/// An Ed25519 key and a self-signed certificate for `host`, from the seeded stream.
fn certificate(host: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut seed = [0u8; 32];
    fill(&mut seed);
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&fixed(&seed))
        .expect("Ed25519 from a 32-byte seed");
    let key = rcgen::KeyPair::try_from(pkcs8.as_ref()).expect("rcgen reads ring's PKCS#8");
    let cert = rcgen::CertificateParams::new(vec![host.to_string()])
        .and_then(|p| p.self_signed(&key))
        .expect("a self-signed certificate for a DNS name");
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec()));
    (cert.der().clone(), der)
}

/// Both ends of one TLS connection.
fn endpoints(
    tls: Tls,
    provider: &Arc<CryptoProvider>,
    log: &Arc<Collect>,
    host: &str,
) -> (ClientConnection, ServerConnection) {
    let versions: &[&rustls::SupportedProtocolVersion] = if tls.tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let (cert, key) = certificate(host);
    let mut server_cfg = ServerConfig::builder_with_details(provider.clone(), Arc::new(FixedTime))
        .with_protocol_versions(versions)
        .expect("the suite fits the version")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("an Ed25519 certificate");
    server_cfg.alpn_protocols = vec![tls.alpn.to_vec()];
    let mut client_cfg = ClientConfig::builder_with_details(provider.clone(), Arc::new(FixedTime))
        .with_protocol_versions(versions)
        .expect("the suite fits the version")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider.clone())))
        .with_no_client_auth();
    client_cfg.alpn_protocols = vec![tls.alpn.to_vec()];
    client_cfg.key_log = log.clone();
    let name = ServerName::try_from(host.to_string()).expect("a DNS name");
    let mut client = ClientConnection::new(Arc::new(client_cfg), name).expect("client config");
    let mut server = ServerConnection::new(Arc::new(server_cfg)).expect("server config");
    // A whole message is written before any byte is pumped (bodies exceed the
    // default 64 KB plaintext buffer); records are still cut at 16 KB.
    client.set_buffer_limit(None);
    server.set_buffer_limit(None);
    (client, server)
}

/// Runs every conversation over its own TLS connection (one exchange per
/// connection) and frames the bytes. `seed` varies the randoms between samples.
pub fn make(tls: Tls, conversations: &[Conversation], seed: u64) -> Made {
    let provider = crypto_provider(tls);
    let log = Arc::new(Collect::default());
    let mut frames = Vec::new();
    for (n, conv) in conversations.iter().enumerate() {
        // One stream per connection, so a connection's bytes do not depend on how
        // many random bytes the ones before it used.
        reseed(format!("aadtrace tls_writer {seed} {n}").as_bytes());
        let (mut client, mut server) = endpoints(tls, &provider, &log, &conv.host);
        let mut tcp = tcp_conn(n as u32, seed, conv.server_ip);
        // TCP and TLS handshakes in the round trips before the request.
        let mut ts = conv.started_us - 4 * RTT_US;
        tcp.handshake(ts, RTT_US, &mut frames);
        ts += RTT_US + 100;
        while client.is_handshaking() || server.is_handshaking() {
            for (to_server, bytes) in [
                (true, pump(&mut client, &mut server)),
                (false, pump(&mut server, &mut client)),
            ] {
                if !bytes.is_empty() {
                    tcp.send(to_server, &bytes, ts, ts, &mut frames);
                    ts += RTT_US / 2;
                }
            }
        }
        let request_at = conv.started_us.max(ts);
        let first = request_at + conv.wait_us.max(10);
        let last = request_at + conv.duration_us.max(conv.wait_us.max(10));
        carry(
            &mut client,
            &mut server,
            &mut tcp,
            &conv.request,
            request_at,
            request_at,
            &mut frames,
        );
        carry(
            &mut server,
            &mut client,
            &mut tcp,
            &conv.response,
            first,
            last,
            &mut frames,
        );
        tcp.close(last + 1_000, RTT_US, &mut frames);
    }
    // Stable: frames of one connection keep their order when times are equal.
    frames.sort_by_key(|p| p.ts_us);
    let keylog = log.0.lock().map(|s| s.clone()).unwrap_or_default();
    Made { frames, keylog }
}

fn tcp_conn(n: u32, seed: u64, server_ip: [u8; 4]) -> TcpConn {
    let client = Endpoint {
        mac: [0x02, 0x00, 0x5e, 0x10, 0x00, 0x2d],
        ip: CLIENT_IP,
        port: 49_700 + (n % 15_000) as u16,
        ttl: 128,
    };
    let server = Endpoint {
        mac: [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01],
        ip: server_ip,
        port: 443,
        ttl: 116,
    };
    let s = seed as u32;
    let isn = (
        0x3c6e_f372u32.wrapping_mul(n + 1) ^ s,
        0x1b87_3593u32.wrapping_mul(n + 7) ^ s.rotate_left(16),
    );
    TcpConn::new(client, server, isn)
}

/// Sends `data` from `from` to `to` through TLS and frames it between `first_us`
/// and `last_us`; whatever the receiver answers (tickets, acks) follows.
#[allow(clippy::too_many_arguments)]
fn carry<A, B>(
    from: &mut A,
    to: &mut B,
    tcp: &mut TcpConn,
    data: &[u8],
    first_us: i64,
    last_us: i64,
    frames: &mut Vec<Packet>,
) where
    A: rustls_io::Io + Side,
    B: rustls_io::Io + Side,
{
    let from_client = A::CLIENT;
    from.write_plain(data);
    let bytes = pump(from, to);
    tcp.send(from_client, &bytes, first_us, last_us, frames);
    let back = pump(to, from);
    if back.is_empty() {
        tcp.ack(!from_client, last_us + 40, frames);
    } else {
        tcp.send(!from_client, &back, last_us + 40, last_us + 40, frames);
    }
}

/// Plaintext access to either end.
trait Side {
    const CLIENT: bool;
    fn write_plain(&mut self, data: &[u8]);
}

impl Side for ClientConnection {
    const CLIENT: bool = true;
    fn write_plain(&mut self, data: &[u8]) {
        self.writer().write_all(data).expect("buffered in memory");
    }
}

impl Side for ServerConnection {
    const CLIENT: bool = false;
    fn write_plain(&mut self, data: &[u8]) {
        self.writer().write_all(data).expect("buffered in memory");
    }
}

/// HPACK literal header field never indexed, new name, no Huffman (RFC 7541 §6.2.3).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    /// Integer with an N-bit prefix (RFC 7541 §5.1).
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

/// One HTTP/2 frame (RFC 7540 §4.1).
fn h2_frame(out: &mut Vec<u8>, ty: u8, flags: u8, id: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(ty);
    out.push(flags);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One side of an HTTP/2 exchange on stream 1: the client's connection preface
/// (RFC 7540 §3.5), SETTINGS, HEADERS (END_HEADERS; END_STREAM when there is no
/// body), then DATA frames of at most 16,384 bytes, the default SETTINGS_MAX_FRAME_SIZE.
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
