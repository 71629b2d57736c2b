//! TLS metadata without keys: what the handshake shows in the clear.
//!
//! From the record layer (RFC 8446 §5.1, RFC 5246 §6.2) this reads, per direction,
//! plaintext handshake messages (reassembled across records and TCP segments) and
//! plaintext alerts. ClientHello gives the server name (RFC 6066 §3) and offered ALPN
//! (RFC 7301); ServerHello gives the negotiated version (`supported_versions`,
//! RFC 8446 §4.2.1, else the legacy field), cipher suite and chosen ALPN. Once a
//! direction starts encrypting (ChangeCipherSpec, or anything after a TLS 1.3
//! ServerHello) the observer stops reading it: without keys nothing more is visible.

use std::fmt::Write as _;

/// Largest handshake message buffered (ClientHellos with post-quantum key shares
/// are a few KiB; certificates are not needed).
const MAX_HANDSHAKE: usize = 64 * 1024;

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
    /// Plaintext alerts as `level description`, e.g. `fatal handshake_failure`.
    pub alerts: Vec<String>,
    pub client_hello_seen: bool,
    pub server_hello_seen: bool,
}

#[derive(Debug, Default)]
struct DirState {
    /// Bytes of a record not yet complete.
    rec: Vec<u8>,
    /// Handshake bytes not yet forming a complete message.
    hs: Vec<u8>,
    encrypted: bool,
    broken: bool,
}

/// Watches both directions of one connection.
#[derive(Debug, Default)]
pub struct Observer {
    pub info: TlsInfo,
    dirs: [DirState; 2],
}

impl Observer {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once nothing more can be learnt from either direction.
    pub fn done(&self) -> bool {
        self.dirs.iter().all(|d| d.encrypted || d.broken)
    }

    /// Feeds bytes of one direction (`from_client` true for client → server).
    pub fn data(&mut self, from_client: bool, mut data: &[u8]) {
        let i = usize::from(!from_client);
        if self.dirs[i].encrypted || self.dirs[i].broken {
            return;
        }
        while !data.is_empty() {
            let d = &mut self.dirs[i];
            if d.encrypted || d.broken {
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
                if !(20..=24).contains(&ty) || major != 3 || len > 18_432 {
                    d.broken = true;
                    return;
                }
            }
            if d.rec.len() >= 5 {
                let len = u16::from_be_bytes([d.rec[3], d.rec[4]]) as usize;
                if d.rec.len() == 5 + len {
                    let rec = std::mem::take(&mut self.dirs[i].rec);
                    self.record(i, rec[0], &rec[5..]);
                }
            }
        }
    }

    fn record(&mut self, i: usize, ty: u8, body: &[u8]) {
        match ty {
            // change_cipher_spec: what follows in this direction is encrypted
            // (TLS ≤ 1.2; in TLS 1.3 it is a compatibility no-op, RFC 8446 §D.4).
            20 if self.info.version.as_deref() != Some("TLS 1.3") => {
                self.dirs[i].encrypted = true;
            }
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
                d.hs.extend_from_slice(body);
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
                    if self.dirs[i].encrypted {
                        break;
                    }
                }
            }
            23 => {
                // Application data: this direction is encrypted from here on.
                self.dirs[i].encrypted = true;
            }
            _ => {}
        }
    }

    fn handshake(&mut self, i: usize, ty: u8, body: &[u8]) {
        match ty {
            1 if i == 0 => {
                self.info.client_hello_seen = true;
                let _ = self.client_hello(body);
            }
            2 if i == 1 => {
                self.info.server_hello_seen = true;
                let _ = self.server_hello(body);
                if self.info.version.as_deref() == Some("TLS 1.3") {
                    // Everything after the ServerHello is encrypted (RFC 8446 §2).
                    self.dirs[1].encrypted = true;
                }
            }
            _ => {}
        }
    }

    fn client_hello(&mut self, b: &[u8]) -> Option<()> {
        let mut r = Reader(b);
        r.skip(2 + 32)?; // legacy_version, random
        let sid = r.u8()? as usize;
        r.skip(sid)?;
        let suites = r.u16()? as usize;
        r.skip(suites)?;
        let comp = r.u8()? as usize;
        r.skip(comp)?;
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
                16 => {
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

    fn server_hello(&mut self, b: &[u8]) -> Option<()> {
        let mut r = Reader(b);
        let legacy = r.u16()?;
        r.skip(32)?;
        let sid = r.u8()? as usize;
        r.skip(sid)?;
        let suite = r.u16()?;
        r.u8()?; // compression
        self.info.cipher = Some(cipher_name(suite));
        let mut version = legacy;
        if let Some(ext_len) = r.u16() {
            let mut exts = Reader(r.take(ext_len as usize)?);
            while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
                let mut e = Reader(exts.take(len as usize)?);
                match ty {
                    43 => version = e.u16()?,
                    16 => {
                        let list = e.u16()? as usize;
                        let mut l = Reader(e.take(list)?);
                        if let Some(n) = l.u8() {
                            let p = l.take(n as usize)?;
                            self.info.alpn = Some(String::from_utf8_lossy(p).into_owned());
                        }
                    }
                    _ => {}
                }
            }
        }
        self.info.version = Some(version_name(version));
        Some(())
    }
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
            o.data(true, b);
        }
        let sh = server_hello(true);
        o.data(false, &record(22, &sh));
        o.data(false, &record(23, b"secret"));
        assert_eq!(o.info.sni.as_deref(), Some("login.microsoftonline.com"));
        assert_eq!(o.info.alpn_offered, vec!["h2"]);
        assert_eq!(o.info.alpn.as_deref(), Some("h2"));
        assert_eq!(o.info.version.as_deref(), Some("TLS 1.3"));
        assert_eq!(o.info.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        o.data(true, &record(23, b"x"));
        assert!(o.done());
    }

    #[test]
    fn plaintext_alert_and_garbage() {
        let mut o = Observer::new();
        o.data(true, &record(22, &client_hello("a")));
        o.data(false, &record(21, &[2, 40]));
        assert_eq!(o.info.alerts, vec!["fatal handshake_failure"]);
        let mut o = Observer::new();
        for n in 0..200u8 {
            o.data(n % 2 == 0, &[n, 3, n, 0, n]);
        }
        assert!(o.info.sni.is_none());
    }
}
