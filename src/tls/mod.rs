//! TLS: what the handshake shows in the clear, and, given keys, the decrypted records.
//!
//! From the record layer (RFC 8446 §5.1, RFC 5246 §6.2) this reads, per direction,
//! handshake messages (reassembled across records and TCP segments) and alerts.
//! ClientHello gives the server name (RFC 6066 §3), offered ALPN (RFC 7301) and the
//! client random; ServerHello gives the negotiated version (`supported_versions`,
//! RFC 8446 §4.2.1, else the legacy field), cipher suite, chosen ALPN and
//! encrypt-then-MAC (RFC 7366).
//!
//! Without keys, once a direction starts encrypting (ChangeCipherSpec, or anything
//! after a TLS 1.3 ServerHello) the observer stops reading it. With a key source
//! ([`Observer::with_keys`]) it keeps going: [`record`] decrypts each protected
//! record and queues the application data as [`Plain`] events; failed records are
//! counted and become gaps, never silently dropped.

use std::fmt::Write as _;
use std::sync::Arc;

pub mod crypto;
pub mod record;

pub use record::Protection;

use crate::stream::Dir;

/// Largest handshake message buffered (ClientHellos with post-quantum key shares
/// are a few KiB; certificate chains can reach tens of KiB).
const MAX_HANDSHAKE: usize = 256 * 1024;

/// Largest record body accepted (RFC 5246 §6.2.3: 2^14 + 2048).
const MAX_RECORD: usize = 18_432;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// True when `b` starts like a TLS record carrying a handshake, or like an SSL 2.0
/// compatible ClientHello (whose contents are not read; the server side still is).
pub fn looks_like_tls(b: &[u8]) -> bool {
    (b.len() >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04) || looks_like_sslv2_hello(b)
}

/// An SSL 2.0-format ClientHello offering SSL 3.0 or later (RFC 5246 appendix E.2):
/// 2-byte length with the high bit set, message type 1, version 3.x.
fn looks_like_sslv2_hello(b: &[u8]) -> bool {
    b.len() >= 5 && b[0] & 0x80 != 0 && b[2] == 1 && b[3] == 3 && b[4] <= 4
}

/// Secrets from a key log for one client random (NSS key log labels).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS ≤ 1.2 master secret (`CLIENT_RANDOM`).
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic0: Option<Vec<u8>>,
    pub server_traffic0: Option<Vec<u8>>,
}

/// Where the observer looks up secrets by ClientHello random.
pub trait KeySource: Send + Sync + std::fmt::Debug {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<&Secrets>;
}

/// What the clear part of a TLS connection showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    pub sni: Option<String>,
    /// ALPN offered by the client, in order.
    pub alpn_offered: Vec<String>,
    /// ALPN chosen by the server.
    pub alpn: Option<String>,
    /// Negotiated version (`TLS 1.2`), from the ServerHello.
    pub version: Option<String>,
    /// Cipher suite IANA name (or `0xC02F` when unknown).
    pub cipher: Option<String>,
    /// Alerts as `level description`, e.g. `fatal handshake_failure` (plaintext ones,
    /// and decrypted ones when keys are known).
    pub alerts: Vec<String>,
    pub client_hello_seen: bool,
    pub server_hello_seen: bool,
    pub client_random: Option<[u8; 32]>,
    pub server_random: Option<[u8; 32]>,
    /// Negotiated version and suite as numbers.
    pub version_id: Option<u16>,
    pub suite_id: Option<u16>,
    /// encrypt_then_mac extension in the ServerHello (RFC 7366).
    pub encrypt_then_mac: bool,
}

/// Decryption counters of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptStats {
    /// Application-data records decrypted.
    pub app_records: u64,
    /// Decrypted application-data bytes per direction (client → server first).
    pub app_bytes: [u64; 2],
    /// Any protected record (handshake included) decrypted.
    pub records: u64,
    /// Records that failed authentication or were malformed.
    pub failed: u64,
    /// Protected records read without keys.
    pub opaque: u64,
    /// Keys were found for the connection's client random.
    pub keys_found: bool,
    /// The cipher suite cannot be decrypted (named).
    pub unsupported: Option<String>,
    /// Protected bytes that could not be read because the capture lost bytes.
    pub lost_to_gaps: u64,
    /// ClientHello, ServerHello and EncryptedExtensions messages that do not parse
    /// (what they show, such as the server name or version, may be missing).
    pub malformed_hellos: u64,
}

/// Decrypted application data, or plaintext that could not be recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plain {
    Data { dir: Dir, data: Vec<u8> },
    Gap { dir: Dir, len: u64 },
}

#[derive(Debug, Default)]
struct DirState {
    /// Bytes of a record not yet complete.
    rec: Vec<u8>,
    /// Handshake bytes not yet forming a complete message.
    hs: Vec<u8>,
    /// Records in this direction are protected from here on.
    encrypted: bool,
    /// Keys for the protected records, when known.
    prot: Option<Protection>,
    seq: u64,
    broken: bool,
}

/// Watches both directions of one connection.
#[derive(Debug, Default)]
pub struct Observer {
    pub info: TlsInfo,
    pub stats: DecryptStats,
    dirs: [DirState; 2],
    keys: Option<Arc<dyn KeySource>>,
    /// Secrets found for this connection.
    secrets: Option<Secrets>,
    out: Vec<Plain>,
}

impl Observer {
    pub fn new() -> Self {
        Self::default()
    }

    /// An observer that decrypts when `keys` knows the connection's secrets.
    pub fn with_keys(keys: Option<Arc<dyn KeySource>>) -> Self {
        Observer {
            keys,
            ..Self::default()
        }
    }

    /// True once nothing more can be learnt from either direction.
    pub fn done(&self) -> bool {
        self.dirs
            .iter()
            .all(|d| (d.encrypted && d.prot.is_none()) || d.broken)
    }

    /// True when some protected record was decrypted.
    pub fn decrypting(&self) -> bool {
        self.stats.records > 0
    }

    /// Takes the plaintext events queued so far.
    pub fn take_plain(&mut self) -> Vec<Plain> {
        std::mem::take(&mut self.out)
    }

    /// `len` bytes of one direction are missing: record boundaries are lost there.
    pub fn gap(&mut self, dir: Dir, len: u64) {
        let i = dir.index();
        let d = &mut self.dirs[i];
        if d.broken {
            return;
        }
        d.broken = true;
        if d.prot.is_some() {
            self.stats.lost_to_gaps += len + d.rec.len() as u64;
            self.out.push(Plain::Gap { dir, len });
        }
        d.rec.clear();
    }

    /// Feeds bytes of one direction.
    pub fn data(&mut self, dir: Dir, mut data: &[u8]) {
        let i = dir.index();
        while !data.is_empty() {
            let d = &mut self.dirs[i];
            if (d.encrypted && d.prot.is_none() && self.keys.is_none()) || d.broken {
                return;
            }
            // Complete the 5-byte header, then the record body.
            let need = if d.rec.len() < 5 {
                5 - d.rec.len()
            } else {
                let len = u16::from_be_bytes([d.rec[3], d.rec[4]]) as usize;
                5 + len - d.rec.len()
            };
            let take = need.min(data.len());
            d.rec.extend_from_slice(&data[..take]);
            data = &data[take..];
            if d.rec.len() == 5 {
                let (ty, major) = (d.rec[0], d.rec[1]);
                let len = u16::from_be_bytes([d.rec[3], d.rec[4]]) as usize;
                if !(20..=24).contains(&ty) || major != 3 || len > MAX_RECORD {
                    d.broken = true;
                    return;
                }
                // One allocation per record: the buffer becomes the plaintext.
                d.rec.reserve_exact(len);
            }
            if d.rec.len() >= 5 {
                let len = u16::from_be_bytes([d.rec[3], d.rec[4]]) as usize;
                if d.rec.len() == 5 + len {
                    let rec = std::mem::take(&mut self.dirs[i].rec);
                    self.protected_or_plain(i, rec);
                }
            }
        }
    }

    fn is_tls13(&self) -> bool {
        self.info.version_id == Some(0x0304)
    }

    /// One whole record (header included), decrypted in place when protected.
    fn protected_or_plain(&mut self, i: usize, mut rec: Vec<u8>) {
        let ty = rec[0];
        let d = &self.dirs[i];
        // TLS 1.3 protects only records with outer type application_data; a
        // change_cipher_spec there is a compatibility no-op (RFC 8446 §5, §D.4).
        let protected = d.encrypted && (!self.is_tls13() || ty == 23);
        if !protected {
            rec.drain(..5);
            self.record(i, ty, rec);
            return;
        }
        let Some(prot) = self.dirs[i].prot.as_mut() else {
            self.stats.opaque += 1;
            return;
        };
        let seq = self.dirs[i].seq;
        self.dirs[i].seq += 1;
        let body_len = rec.len().saturating_sub(5) as u64;
        match prot.open(seq, &mut rec) {
            Some(inner) => {
                self.stats.records += 1;
                self.record(i, inner, rec);
            }
            None => {
                self.stats.failed += 1;
                if ty == 23 {
                    self.out.push(Plain::Gap {
                        dir: Dir::from_index(i),
                        len: body_len,
                    });
                }
            }
        }
    }

    /// One record's (decrypted) content; application data is handed on without a copy.
    fn record(&mut self, i: usize, ty: u8, body: Vec<u8>) {
        match ty {
            // change_cipher_spec: what follows in this direction is encrypted
            // (TLS ≤ 1.2; in TLS 1.3 it is a compatibility no-op, RFC 8446 §D.4).
            20 if !self.is_tls13() => {
                self.dirs[i].encrypted = true;
                self.dirs[i].seq = 0;
                self.dirs[i].prot = self.tls12_keys(i);
            }
            // A decrypted close_notify is the normal end of a connection, not a
            // problem worth reporting (RFC 8446 §6.1).
            21 if body.len() == 2 && body[1] == 0 && self.dirs[i].prot.is_some() => {}
            21 if body.len() == 2 => {
                let level = match body[0] {
                    1 => "warning".to_string(),
                    2 => "fatal".to_string(),
                    n => format!("level{n}"),
                };
                self.info
                    .alerts
                    .push(format!("{level} {}", alert_name(body[1])));
            }
            22 => {
                let d = &mut self.dirs[i];
                if d.hs.len() + body.len() > MAX_HANDSHAKE {
                    d.broken = true;
                    return;
                }
                d.hs.extend_from_slice(&body);
                loop {
                    let d = &mut self.dirs[i];
                    if d.hs.len() < 4 {
                        break;
                    }
                    let len = u32::from_be_bytes([0, d.hs[1], d.hs[2], d.hs[3]]) as usize;
                    if len > MAX_HANDSHAKE {
                        d.broken = true;
                        break;
                    }
                    if d.hs.len() < 4 + len {
                        break;
                    }
                    let msg: Vec<u8> = d.hs.drain(..4 + len).collect();
                    self.handshake(i, msg[0], &msg[4..]);
                    if self.dirs[i].encrypted && self.dirs[i].prot.is_none() {
                        break;
                    }
                }
            }
            23 => {
                if self.dirs[i].encrypted && self.dirs[i].prot.is_some() {
                    self.stats.app_records += 1;
                    self.stats.app_bytes[i] += body.len() as u64;
                    if !body.is_empty() {
                        self.out.push(Plain::Data {
                            dir: Dir::from_index(i),
                            data: body,
                        });
                    }
                } else {
                    // Application data in the clear means a capture that started
                    // after the handshake: this direction is unreadable.
                    self.dirs[i].encrypted = true;
                    self.stats.opaque += 1;
                }
            }
            _ => {}
        }
    }

    fn handshake(&mut self, i: usize, ty: u8, body: &[u8]) {
        match ty {
            1 if i == 0 => {
                self.info.client_hello_seen = true;
                let parsed = self.client_hello(body);
                self.count_malformed(parsed);
            }
            2 if i == 1 => {
                self.info.server_hello_seen = true;
                let parsed = self.server_hello(body);
                self.count_malformed(parsed);
                if self.is_tls13() && self.info.server_random != Some(HRR_RANDOM) {
                    // Everything after the ServerHello is encrypted (RFC 8446 §2),
                    // under the handshake traffic secrets first.
                    self.find_secrets();
                    let s = self.secrets.clone().unwrap_or_default();
                    for (j, secret) in [(0, s.client_handshake), (1, s.server_handshake)] {
                        let prot = secret.and_then(|secret| self.tls13_keys(&secret));
                        let d = &mut self.dirs[j];
                        d.encrypted = true;
                        d.seq = 0;
                        d.prot = prot;
                    }
                }
            }
            // EncryptedExtensions (RFC 8446 §4.3.1): in TLS 1.3 the server's ALPN
            // choice travels here, under the handshake keys, not in the ServerHello.
            8 if i == 1 => {
                let parsed = self.encrypted_extensions(body);
                self.count_malformed(parsed);
            }
            // Finished under the handshake keys: switch to the application traffic
            // secrets (RFC 8446 §7.3).
            20 if self.is_tls13()
                && self.dirs[i].prot.as_ref().is_some_and(|p| p.is_handshake()) =>
            {
                let s = self.secrets.clone().unwrap_or_default();
                let secret = if i == 0 {
                    s.client_traffic0
                } else {
                    s.server_traffic0
                };
                let prot = secret
                    .and_then(|secret| self.tls13_keys(&secret))
                    .map(Protection::into_traffic);
                let d = &mut self.dirs[i];
                d.seq = 0;
                d.prot = prot;
            }
            // KeyUpdate (RFC 8446 §4.6.3): the sender's next records use the next
            // generation of its traffic secret.
            24 if self.is_tls13() => {
                let d = &mut self.dirs[i];
                if let Some(p) = d.prot.take() {
                    d.prot = p.updated();
                    d.seq = 0;
                    if d.prot.is_none() {
                        self.stats.failed += 1;
                    }
                }
            }
            _ => {}
        }
    }

    fn find_secrets(&mut self) {
        if self.secrets.is_some() {
            return;
        }
        let (Some(keys), Some(cr)) = (&self.keys, &self.info.client_random) else {
            return;
        };
        if let Some(s) = keys.secrets(cr) {
            self.stats.keys_found = true;
            self.secrets = Some(s.clone());
        }
    }

    fn tls13_keys(&mut self, secret: &[u8]) -> Option<Protection> {
        let suite = self.info.suite_id?;
        match Protection::tls13(suite, secret) {
            Ok(p) => Some(p),
            Err(why) => {
                self.stats.unsupported = Some(why);
                None
            }
        }
    }

    fn tls12_keys(&mut self, i: usize) -> Option<Protection> {
        self.find_secrets();
        let master = self.secrets.as_ref()?.master.clone()?;
        let (Some(suite), Some(version), Some(cr), Some(sr)) = (
            self.info.suite_id,
            self.info.version_id,
            self.info.client_random,
            self.info.server_random,
        ) else {
            return None;
        };
        match Protection::tls12(
            suite,
            version,
            &master,
            &cr,
            &sr,
            i == 0,
            self.info.encrypt_then_mac,
        ) {
            Ok(p) => Some(p),
            Err(why) => {
                self.stats.unsupported = Some(why);
                None
            }
        }
    }

    /// A hello that stopped parsing part-way is counted, not dropped: what it
    /// had shown before the damage is kept.
    fn count_malformed(&mut self, parsed: Option<()>) {
        if parsed.is_none() {
            self.stats.malformed_hellos += 1;
        }
    }

    fn client_hello(&mut self, b: &[u8]) -> Option<()> {
        let mut r = Reader(b);
        r.skip(2)?; // legacy_version
        self.info.client_random = Some(r.take(32)?.try_into().ok()?);
        let sid = r.u8()? as usize;
        r.skip(sid)?;
        let suites = r.u16()? as usize;
        r.skip(suites)?;
        let comp = r.u8()? as usize;
        r.skip(comp)?;
        // Extensions are optional: a hello that ends here is whole (RFC 5246
        // §7.4.1.2; SSL 3.0 and many TLS 1.0 clients send none).
        if r.0.is_empty() {
            return Some(());
        }
        let ext_len = r.u16()? as usize;
        let mut exts = Reader(r.take(ext_len)?);
        while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
            let mut e = Reader(exts.take(len as usize)?);
            match ty {
                0 => {
                    // server_name: list of (type, name); type 0 = host_name.
                    let list = e.u16()? as usize;
                    let mut l = Reader(e.take(list)?);
                    while let (Some(nt), Some(nl)) = (l.u8(), l.u16()) {
                        let name = l.take(nl as usize)?;
                        if nt == 0 && self.info.sni.is_none() {
                            self.info.sni = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
                16 if self.info.alpn_offered.is_empty() => {
                    let list = e.u16()? as usize;
                    let mut l = Reader(e.take(list)?);
                    while let Some(n) = l.u8() {
                        let p = l.take(n as usize)?;
                        self.info
                            .alpn_offered
                            .push(String::from_utf8_lossy(p).into_owned());
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// Reads the ALPN choice from EncryptedExtensions: `extensions<0..2^16-1>`.
    fn encrypted_extensions(&mut self, b: &[u8]) -> Option<()> {
        let mut r = Reader(b);
        let ext_len = r.u16()? as usize;
        let mut exts = Reader(r.take(ext_len)?);
        while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
            let e = exts.take(len as usize)?;
            if ty == 16 {
                self.info.alpn = first_protocol(e);
            }
        }
        Some(())
    }

    fn server_hello(&mut self, b: &[u8]) -> Option<()> {
        let mut r = Reader(b);
        let legacy = r.u16()?;
        self.info.server_random = Some(r.take(32)?.try_into().ok()?);
        let sid = r.u8()? as usize;
        r.skip(sid)?;
        let suite = r.u16()?;
        r.u8()?; // compression
        self.info.cipher = Some(cipher_name(suite));
        self.info.suite_id = Some(suite);
        let mut version = legacy;
        if let Some(ext_len) = r.u16() {
            let mut exts = Reader(r.take(ext_len as usize)?);
            while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
                let mut e = Reader(exts.take(len as usize)?);
                match ty {
                    43 => version = e.u16()?,
                    22 => self.info.encrypt_then_mac = true,
                    16 => self.info.alpn = first_protocol(e.0),
                    _ => {}
                }
            }
        }
        self.info.version = Some(version_name(version));
        self.info.version_id = Some(version);
        Some(())
    }
}

/// The protocol a server chose: the only entry of its `ProtocolNameList`
/// (RFC 7301 §3.1).
fn first_protocol(ext: &[u8]) -> Option<String> {
    let mut e = Reader(ext);
    let list = e.u16()? as usize;
    let mut l = Reader(e.take(list)?);
    let n = l.u8()?;
    let p = l.take(n as usize)?;
    Some(String::from_utf8_lossy(p).into_owned())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// `TLS 1.2`-style name of a protocol version.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft {}", v & 0xff),
        other => format!("0x{other:04X}"),
    }
}

/// IANA name of a cipher suite, or its number in hex.
pub fn cipher_name(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(s) => s.name.to_string(),
        None => {
            let mut s = String::new();
            let _ = write!(s, "0x{id:04X}");
            s
        }
    }
}

/// Alert description names (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_name(d: u8) -> String {
    let n = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        other => return format!("alert_{other}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 3, 1];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn hs(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn ext(ty: u16, body: &[u8]) -> Vec<u8> {
        let mut e = ty.to_be_bytes().to_vec();
        e.extend_from_slice(&(body.len() as u16).to_be_bytes());
        e.extend_from_slice(body);
        e
    }

    fn client_hello(sni: &str) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0u8; 32]);
        b.push(0);
        b.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        let mut name = vec![0];
        name.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        name.extend_from_slice(sni.as_bytes());
        let mut list = (name.len() as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&name);
        let mut exts = ext(0, &list);
        exts.extend(ext(16, &[0, 3, 2, b'h', b'2']));
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend_from_slice(&exts);
        hs(1, &b)
    }

    fn server_hello(v13: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0u8; 32]);
        b.push(0);
        b.extend_from_slice(&[0x13, 0x01, 0]);
        let mut exts = Vec::new();
        if v13 {
            exts.extend(ext(43, &[3, 4]));
        }
        exts.extend(ext(16, &[0, 3, 2, b'h', b'2']));
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend_from_slice(&exts);
        hs(2, &b)
    }

    #[test]
    fn hello_split_across_records_and_segments() {
        let ch = client_hello("login.microsoftonline.com");
        let mut stream = record(22, &ch[..10]);
        stream.extend(record(22, &ch[10..]));
        let mut o = Observer::new();
        for b in stream.chunks(3) {
            o.data(Dir::ToServer, b);
        }
        let sh = server_hello(true);
        o.data(Dir::ToClient, &record(22, &sh));
        o.data(Dir::ToClient, &record(23, b"secret"));
        assert_eq!(o.info.sni.as_deref(), Some("login.microsoftonline.com"));
        assert_eq!(o.info.alpn_offered, vec!["h2"]);
        assert_eq!(o.info.alpn.as_deref(), Some("h2"));
        assert_eq!(o.info.version.as_deref(), Some("TLS 1.3"));
        assert_eq!(o.info.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        o.data(Dir::ToServer, &record(23, b"x"));
        assert!(o.done());
    }

    #[test]
    fn plaintext_alert_and_garbage() {
        let mut o = Observer::new();
        o.data(Dir::ToServer, &record(22, &client_hello("a")));
        o.data(Dir::ToClient, &record(21, &[2, 40]));
        assert_eq!(o.info.alerts, vec!["fatal handshake_failure"]);
        let mut o = Observer::new();
        for n in 0..200u8 {
            o.data(Dir::from_index(usize::from(n % 2)), &[n, 3, n, 0, n]);
        }
        assert!(o.info.sni.is_none());
    }

    #[test]
    fn malformed_hellos_are_counted() {
        let mut o = Observer::new();
        o.data(
            Dir::ToServer,
            &record(22, &client_hello("login.microsoftonline.com")),
        );
        o.data(Dir::ToClient, &record(22, &server_hello(true)));
        assert_eq!(o.stats.malformed_hellos, 0, "well-formed hellos");
        // An SSL 3.0-style ClientHello without extensions is whole too.
        let old = [[3, 0].as_slice(), &[7; 32], &[0, 0, 2, 0, 4, 1, 0]].concat();
        let mut o = Observer::new();
        o.data(Dir::ToServer, &record(22, &hs(1, &old)));
        assert_eq!(o.info.client_random, Some([7; 32]));
        assert_eq!(o.stats.malformed_hellos, 0, "well-formed hellos");
        // A ClientHello whose extensions block claims more bytes than it has.
        let mut ch = client_hello("a.example");
        let ext_len_at = 4 + 2 + 32 + 1 + 4 + 2;
        ch[ext_len_at] = 0xff;
        let mut o = Observer::new();
        o.data(Dir::ToServer, &record(22, &ch));
        // A ServerHello cut inside its random.
        o.data(Dir::ToClient, &record(22, &hs(2, &[3, 3, 0, 0])));
        assert!(o.info.client_hello_seen && o.info.server_hello_seen);
        assert_eq!(o.stats.malformed_hellos, 2);
        assert!(o.info.sni.is_none());
    }
}
