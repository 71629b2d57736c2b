//! Record protection of one direction: keys from secrets, and opening records.
//!
//! See [`super::crypto`] for the RFC sections each step follows.

use super::crypto::{self, AeadAlg, Hash};

/// The keys of one direction and how its records are protected.
#[derive(Debug)]
pub struct Protection {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// TLS 1.3 (RFC 8446 §5.2): nonce = IV xor seq, AAD = the record header.
    Tls13 {
        aead: Box<dyn crypto::Aead>,
        alg: AeadAlg,
        iv: [u8; 12],
        hash: Hash,
        secret: Vec<u8>,
        handshake: bool,
    },
    /// TLS 1.2 AEAD. `explicit`: 4-byte salt + 8-byte nonce from the record
    /// (GCM RFC 5288, CCM RFC 6655); otherwise 12-byte IV xor seq (RFC 7905).
    Aead12 {
        aead: Box<dyn crypto::Aead>,
        iv: Vec<u8>,
        explicit: bool,
    },
    /// TLS 1.0–1.2 AES-CBC with HMAC (RFC 5246 §6.2.3.2, RFC 7366).
    Cbc {
        key: Vec<u8>,
        mac: Hash,
        mac_key: Vec<u8>,
        etm: bool,
        /// TLS 1.0: the IV is the last ciphertext block of the previous record.
        implicit_iv: Option<Vec<u8>>,
    },
}

fn tls13_suite(suite: u16) -> Option<(AeadAlg, Hash)> {
    Some(match suite {
        0x1301 => (AeadAlg::Aes128Gcm, Hash::Sha256),
        0x1302 => (AeadAlg::Aes256Gcm, Hash::Sha384),
        0x1303 => (AeadAlg::ChaCha20Poly1305, Hash::Sha256),
        0x1304 => (AeadAlg::Aes128Ccm, Hash::Sha256),
        0x1305 => (AeadAlg::Aes128Ccm8, Hash::Sha256),
        _ => return None,
    })
}

/// How a TLS ≤ 1.2 suite protects records: an AEAD (algorithm, fixed IV length,
/// explicit nonce) or AES-CBC with an HMAC (key length, MAC hash).
enum Plan {
    Aead(AeadAlg, usize, bool),
    Cbc(usize, Hash),
}

/// The plan of a TLS ≤ 1.2 suite; `None` when aadtrace cannot decrypt it.
fn tls12_plan(cs: &tls_parser::TlsCipherSuite) -> Option<Plan> {
    use tls_parser::{TlsCipherEnc as E, TlsCipherEncMode as M, TlsCipherMac};
    Some(match (cs.enc, cs.enc_mode, cs.enc_size) {
        (E::Aes, M::Gcm, 128) => Plan::Aead(AeadAlg::Aes128Gcm, 4, true),
        (E::Aes, M::Gcm, 256) => Plan::Aead(AeadAlg::Aes256Gcm, 4, true),
        (E::Aes, M::Ccm, size) => {
            let eight = cs.name.contains("CCM_8");
            let alg = match (size, eight) {
                (128, false) => AeadAlg::Aes128Ccm,
                (256, false) => AeadAlg::Aes256Ccm,
                (128, true) => AeadAlg::Aes128Ccm8,
                (256, true) => AeadAlg::Aes256Ccm8,
                _ => return None,
            };
            Plan::Aead(alg, 4, true)
        }
        (E::Chacha20_Poly1305, _, _) => Plan::Aead(AeadAlg::ChaCha20Poly1305, 12, false),
        (E::Aes, M::Cbc, size @ (128 | 256)) => {
            let mac = match cs.mac {
                TlsCipherMac::HmacSha1 => Hash::Sha1,
                TlsCipherMac::HmacSha256 => Hash::Sha256,
                TlsCipherMac::HmacSha384 => Hash::Sha384,
                _ => return None,
            };
            Plan::Cbc(size as usize / 8, mac)
        }
        _ => return None,
    })
}

impl Protection {
    /// TLS 1.3 keys from a traffic secret (handshake or application).
    pub fn tls13(suite: u16, secret: &[u8]) -> Result<Protection, String> {
        let (alg, hash) = tls13_suite(suite)
            .ok_or_else(|| format!("TLS 1.3 suite {}", super::cipher_name(suite)))?;
        let kind = tls13_kind(alg, hash, secret, true).ok_or("bad TLS 1.3 secret length")?;
        Ok(Protection { kind })
    }

    /// True for TLS 1.3 handshake-traffic keys.
    pub fn is_handshake(&self) -> bool {
        matches!(
            self.kind,
            Kind::Tls13 {
                handshake: true,
                ..
            }
        )
    }

    /// Marks TLS 1.3 keys as application-traffic keys.
    pub fn into_traffic(mut self) -> Protection {
        if let Kind::Tls13 { handshake, .. } = &mut self.kind {
            *handshake = false;
        }
        self
    }

    /// The next generation of TLS 1.3 application traffic keys (RFC 8446 §7.2).
    pub fn updated(self) -> Option<Protection> {
        let Kind::Tls13 {
            alg, hash, secret, ..
        } = self.kind
        else {
            return None;
        };
        let next = crypto::hkdf_expand_label(hash, &secret, "traffic upd", &[], hash.output_len())?;
        Some(Protection {
            kind: tls13_kind(alg, hash, &next, false)?,
        })
    }

    /// TLS ≤ 1.2 keys of one direction from the master secret (RFC 5246 §6.3).
    pub fn tls12(
        suite: u16,
        version: u16,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        client_side: bool,
        etm: bool,
    ) -> Result<Protection, String> {
        use tls_parser::TlsPRF;
        let name = super::cipher_name(suite);
        let unsupported = || name.clone();
        if version < 0x0301 {
            return Err(format!("{name} over {}", super::version_name(version)));
        }
        let cs = tls_parser::TlsCipherSuite::from_id(suite).ok_or_else(unsupported)?;
        let prf_hash = if version < 0x0303 {
            None
        } else if cs.prf == TlsPRF::Sha384 {
            Some(Hash::Sha384)
        } else {
            Some(Hash::Sha256)
        };
        let plan = tls12_plan(cs).ok_or_else(unsupported)?;
        let (mac_len, key_len, iv_len) = match plan {
            Plan::Aead(alg, iv, _) => (0, alg.key_len(), iv),
            Plan::Cbc(k, mac) => (mac.output_len(), k, if version == 0x0301 { 16 } else { 0 }),
        };
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        let block = crypto::prf(
            prf_hash,
            master,
            b"key expansion",
            &seed,
            2 * (mac_len + key_len + iv_len),
        );
        // client MAC, server MAC, client key, server key, client IV, server IV.
        let pick = |off: usize, len: usize, client: bool| {
            let start = off + if client { 0 } else { len };
            block[start..start + len].to_vec()
        };
        let mac_key = pick(0, mac_len, client_side);
        let key = pick(2 * mac_len, key_len, client_side);
        let iv = pick(2 * (mac_len + key_len), iv_len, client_side);
        let kind = match plan {
            Plan::Aead(alg, _, explicit) => Kind::Aead12 {
                aead: crypto::new_aead(alg, &key).ok_or_else(unsupported)?,
                iv,
                explicit,
            },
            Plan::Cbc(_, mac) => Kind::Cbc {
                key,
                mac,
                mac_key,
                etm,
                implicit_iv: (version == 0x0301).then_some(iv),
            },
        };
        Ok(Protection { kind })
    }

    /// Opens one record in place: `rec` holds the 5-byte header and the body, and on
    /// success holds the plaintext alone. Returns the (inner) content type, or
    /// `None` when the record does not authenticate (`rec` is then unspecified).
    pub fn open(&mut self, seq: u64, rec: &mut Vec<u8>) -> Option<u8> {
        let header: [u8; 5] = rec.get(..5)?.try_into().ok()?;
        match &mut self.kind {
            Kind::Tls13 { aead, iv, .. } => {
                let nonce = xor_seq(iv, seq);
                if !aead.open(&nonce, &header, &mut rec[5..]) {
                    return None;
                }
                let plain_end = rec.len() - aead.tag_len();
                // TLSInnerPlaintext: content, type, zero padding (RFC 8446 §5.4).
                let end = rec[5..plain_end].iter().rposition(|&b| b != 0)? + 5;
                let ty = rec[end];
                rec.truncate(end);
                rec.drain(..5);
                Some(ty)
            }
            Kind::Aead12 { aead, iv, explicit } => {
                let (nonce, start) = if *explicit {
                    let n = rec.get(5..13)?;
                    let mut nonce = [0u8; 12];
                    nonce[..4].copy_from_slice(iv);
                    nonce[4..].copy_from_slice(n);
                    (nonce, 13)
                } else {
                    (xor_seq(iv.as_slice().try_into().ok()?, seq), 5)
                };
                let plain_len = rec.len().checked_sub(start + aead.tag_len())?;
                let aad = aad12(seq, header, plain_len);
                if !aead.open(&nonce, &aad, &mut rec[start..]) {
                    return None;
                }
                rec.truncate(start + plain_len);
                rec.drain(..start);
                Some(header[0])
            }
            Kind::Cbc { .. } => {
                let plain = self.open_cbc(seq, header, &rec[5..])?;
                *rec = plain;
                Some(header[0])
            }
        }
    }

    /// AES-CBC with HMAC, MAC-then-encrypt or encrypt-then-MAC.
    fn open_cbc(&mut self, seq: u64, header: [u8; 5], body: &[u8]) -> Option<Vec<u8>> {
        let Kind::Cbc {
            key,
            mac,
            mac_key,
            etm,
            implicit_iv,
        } = &mut self.kind
        else {
            return None;
        };
        let mac_len = mac.output_len();
        let mut body = body;
        if *etm {
            // RFC 7366 §3: MAC over the IV and ciphertext, checked first.
            let split = body.len().checked_sub(mac_len)?;
            let (enc, tag) = body.split_at(split);
            let aad = aad12(seq, header, enc.len());
            if !crypto::same(&crypto::hmac(*mac, mac_key, &[&aad, enc]), tag) {
                return None;
            }
            body = enc;
        }
        let (iv, ct) = match implicit_iv {
            Some(prev) => (prev.clone(), body),
            None => (body.get(..16)?.to_vec(), &body[16..]),
        };
        if ct.is_empty() || !ct.len().is_multiple_of(16) {
            return None;
        }
        if let Some(prev) = implicit_iv {
            *prev = ct[ct.len() - 16..].to_vec();
        }
        let mut buf = ct.to_vec();
        if !crypto::aes_cbc_decrypt(key, &iv, &mut buf) {
            return None;
        }
        let pad = *buf.last()? as usize;
        if pad + 1 > buf.len()
            || !buf[buf.len() - pad - 1..]
                .iter()
                .all(|&b| b as usize == pad)
        {
            return None;
        }
        buf.truncate(buf.len() - pad - 1);
        if !*etm {
            let split = buf.len().checked_sub(mac_len)?;
            let aad = aad12(seq, header, split);
            let expect = crypto::hmac(*mac, mac_key, &[&aad, &buf[..split]]);
            if !crypto::same(&expect, &buf[split..]) {
                return None;
            }
            buf.truncate(split);
        }
        Some(buf)
    }
}

fn tls13_kind(alg: AeadAlg, hash: Hash, secret: &[u8], handshake: bool) -> Option<Kind> {
    if secret.len() != hash.output_len() {
        return None;
    }
    let key = crypto::hkdf_expand_label(hash, secret, "key", &[], alg.key_len())?;
    let iv = crypto::hkdf_expand_label(hash, secret, "iv", &[], 12)?;
    Some(Kind::Tls13 {
        aead: crypto::new_aead(alg, &key)?,
        alg,
        iv: iv.try_into().ok()?,
        hash,
        secret: secret.to_vec(),
        handshake,
    })
}

/// Nonce = IV xor the 64-bit sequence number, left-padded to the IV length.
fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

/// seq_num + type + version + length (RFC 5246 §6.2.3.2/§6.2.3.3).
fn aad12(seq: u64, header: [u8; 5], len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&seq.to_be_bytes());
    a[8..11].copy_from_slice(&header[..3]);
    a[11..].copy_from_slice(&(len as u16).to_be_bytes());
    a
}
