//! Key derivation and record protection for passive TLS decryption.
//!
//! * TLS 1.3 (RFC 8446): HKDF-Expand-Label (§7.1), traffic keys and IVs (§7.3),
//!   per-record nonce = IV xor sequence number (§5.3), `traffic upd` for KeyUpdate
//!   (§7.2), inner content type (§5.4).
//! * TLS 1.2 (RFC 5246): PRF P_SHA256/P_SHA384 (§5), key block (§6.3); TLS 1.0/1.1
//!   PRF as MD5 ⊕ SHA-1 halves (RFC 2246 §5). AEAD records: GCM with a 4-byte salt
//!   and an 8-byte explicit nonce (RFC 5288 §3), CCM the same way (RFC 6655 §3),
//!   ChaCha20-Poly1305 with nonce = IV xor sequence number (RFC 7905 §2). CBC records
//!   (RFC 5246 §6.2.3.2): MAC-then-encrypt, or encrypt-then-MAC when negotiated
//!   (RFC 7366 §3); the IV is explicit per record from TLS 1.1 on and the previous
//!   record's last ciphertext block in TLS 1.0.
//!
//! AEAD algorithms sit behind the small [`Aead`] trait. AES-GCM and ChaCha20-Poly1305,
//! the suites real servers negotiate, are opened with `ring` (its AES-GCM uses AES-NI,
//! VAES and carry-less multiplication in one pass, 2–3× RustCrypto's two passes: the
//! decryption was 45 % of the TLS thread on `benches/`' TLS capture); AES-CCM, which
//! `ring` lacks, and CBC stay on RustCrypto. A test checks that both backends agree.

use ccm::aead::{AeadInOut, KeyInit};
use hmac::{Hmac, Mac};

/// Hash functions used by the PRFs and MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Md5 => 16,
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// HMAC over the concatenation of `parts`.
pub fn hmac(hash: Hash, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match hash {
        Hash::Md5 => run::<Hmac<md5::Md5>>(key, parts),
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        Hash::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts),
    }
}

/// P_hash (RFC 5246 §5): HMAC(secret, A(i) + seed), A(0) = seed.
fn p_hash(hash: Hash, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.output_len());
    let mut a = hmac(hash, secret, &[seed]);
    while out.len() < len {
        out.extend(hmac(hash, secret, &[&a, seed]));
        a = hmac(hash, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// The TLS PRF: `PRF(secret, label, seed)`. `hash` is `None` for the TLS 1.0/1.1
/// PRF (P_MD5 ⊕ P_SHA-1 over the two halves of the secret, RFC 2246 §5).
pub fn prf(hash: Option<Hash>, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut ls = label.to_vec();
    ls.extend_from_slice(seed);
    match hash {
        Some(h) => p_hash(h, secret, &ls, len),
        None => {
            let half = secret.len().div_ceil(2);
            let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
            let mut out = p_hash(Hash::Md5, s1, &ls, len);
            for (o, x) in out.iter_mut().zip(p_hash(Hash::Sha1, s2, &ls, len)) {
                *o ^= x;
            }
            out
        }
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty or given context.
pub fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(10 + label.len() + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    match hash {
        Hash::Sha256 => hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha384 => hkdf::Hkdf::<sha2::Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        _ => return None,
    }
    Some(out)
}

/// An AEAD algorithm with its key.
pub trait Aead: Send + Sync + std::fmt::Debug {
    fn tag_len(&self) -> usize;
    /// Opens `buf` (ciphertext followed by the tag) in place; on success the
    /// plaintext is `buf[..buf.len() - tag_len()]`. In place, so a record is
    /// decrypted where it was reassembled, without a copy.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool;
}

/// AEAD families the record layer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlg {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Ccm,
    Aes256Ccm,
    Aes128Ccm8,
    Aes256Ccm8,
}

impl AeadAlg {
    pub fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm | AeadAlg::Aes128Ccm | AeadAlg::Aes128Ccm8 => 16,
            _ => 32,
        }
    }
}

struct RustCrypto<A> {
    cipher: A,
    tag: usize,
}

impl<A> std::fmt::Debug for RustCrypto<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aead")
    }
}

impl<A: AeadInOut + Send + Sync> Aead for RustCrypto<A> {
    fn tag_len(&self) -> usize {
        self.tag
    }
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
        let Some(ct_len) = buf.len().checked_sub(self.tag) else {
            return false;
        };
        let (ct, tag) = buf.split_at_mut(ct_len);
        let (Ok(nonce), Ok(tag)) = (
            <&ccm::aead::Nonce<A>>::try_from(&nonce[..]),
            ccm::aead::Tag::<A>::try_from(&*tag),
        ) else {
            return false;
        };
        self.cipher
            .decrypt_inout_detached(nonce, aad, ct.into(), &tag)
            .is_ok()
    }
}

/// `ring`'s AEAD (AES-GCM, ChaCha20-Poly1305). Its key's `Debug` shows the
/// algorithm only.
#[derive(Debug)]
struct Ring(ring::aead::LessSafeKey);

impl Ring {
    fn boxed(alg: &'static ring::aead::Algorithm, key: &[u8]) -> Option<Box<dyn Aead>> {
        let key = ring::aead::UnboundKey::new(alg, key).ok()?;
        Some(Box::new(Ring(ring::aead::LessSafeKey::new(key))))
    }
}

impl Aead for Ring {
    fn tag_len(&self) -> usize {
        self.0.algorithm().tag_len()
    }
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.0
            .open_in_place(nonce, ring::aead::Aad::from(aad), buf)
            .is_ok()
    }
}

type Ccm16<C> = ccm::Ccm<C, ccm::consts::U16, ccm::consts::U12>;
type Ccm8<C> = ccm::Ccm<C, ccm::consts::U8, ccm::consts::U12>;

/// Makes an AEAD from a key; `None` when the key has the wrong length.
pub fn new_aead(alg: AeadAlg, key: &[u8]) -> Option<Box<dyn Aead>> {
    fn mk<A: AeadInOut + KeyInit + Send + Sync + 'static>(
        key: &[u8],
        tag: usize,
    ) -> Option<Box<dyn Aead>> {
        let cipher = A::new_from_slice(key).ok()?;
        Some(Box::new(RustCrypto { cipher, tag }))
    }
    match alg {
        AeadAlg::Aes128Gcm => Ring::boxed(&ring::aead::AES_128_GCM, key),
        AeadAlg::Aes256Gcm => Ring::boxed(&ring::aead::AES_256_GCM, key),
        AeadAlg::ChaCha20Poly1305 => Ring::boxed(&ring::aead::CHACHA20_POLY1305, key),
        AeadAlg::Aes128Ccm => mk::<Ccm16<aes::Aes128>>(key, 16),
        AeadAlg::Aes256Ccm => mk::<Ccm16<aes::Aes256>>(key, 16),
        AeadAlg::Aes128Ccm8 => mk::<Ccm8<aes::Aes128>>(key, 8),
        AeadAlg::Aes256Ccm8 => mk::<Ccm8<aes::Aes256>>(key, 8),
    }
}

/// AES-CBC decryption without padding removal (TLS checks its own padding).
pub fn aes_cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> bool {
    use cbc::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyIvInit};
    if !buf.len().is_multiple_of(16) {
        return false;
    }
    match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .is_ok_and(|d| d.decrypt_padded::<NoPadding>(buf).is_ok()),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .is_ok_and(|d| d.decrypt_padded::<NoPadding>(buf).is_ok()),
        _ => false,
    }
}

/// Constant-time enough comparison for MACs (the data is already captured; this
/// is not a server, so timing does not matter, but it costs nothing).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): server handshake traffic secret to
    /// its write key and IV.
    #[test]
    fn hkdf_expand_label_rfc8448() {
        let secret = unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let key = hkdf_expand_label(Hash::Sha256, &secret, "key", &[], 16).unwrap();
        let iv = hkdf_expand_label(Hash::Sha256, &secret, "iv", &[], 12).unwrap();
        assert_eq!(
            key,
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    /// A tiny deterministic generator (xorshift64*), so failures reproduce.
    fn bytes(state: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *state ^= *state >> 12;
                *state ^= *state << 25;
                *state ^= *state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    /// Records sealed by RustCrypto open with `ring` to the same plaintext, and a
    /// flipped bit anywhere (ciphertext, tag, AAD) fails: the two backends agree.
    #[test]
    fn ring_opens_what_rustcrypto_seals() {
        fn seal<A: aes_gcm::aead::AeadInOut + aes_gcm::aead::KeyInit>(
            key: &[u8],
            nonce: &[u8; 12],
            aad: &[u8],
            plain: &[u8],
        ) -> Vec<u8> {
            let cipher = A::new_from_slice(key).unwrap();
            let mut buf = plain.to_vec();
            let nonce = <&aes_gcm::aead::Nonce<A>>::try_from(&nonce[..]).unwrap();
            let tag = cipher
                .encrypt_inout_detached(nonce, aad, buf.as_mut_slice().into())
                .unwrap();
            buf.extend_from_slice(&tag);
            buf
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let algs = [
            AeadAlg::Aes128Gcm,
            AeadAlg::Aes256Gcm,
            AeadAlg::ChaCha20Poly1305,
        ];
        for round in 0..300 {
            let alg = algs[round % 3];
            let key = bytes(&mut state, alg.key_len());
            let nonce: [u8; 12] = bytes(&mut state, 12).try_into().unwrap();
            let aad = bytes(&mut state, [0, 5, 13][round % 3]);
            let len = [0, 1, 15, 16, 17, 255, 1024, 16_384][round % 8] + round % 5;
            let plain = bytes(&mut state, len);
            let sealed = match alg {
                AeadAlg::Aes128Gcm => seal::<aes_gcm::Aes128Gcm>(&key, &nonce, &aad, &plain),
                AeadAlg::Aes256Gcm => seal::<aes_gcm::Aes256Gcm>(&key, &nonce, &aad, &plain),
                _ => seal::<chacha20poly1305::ChaCha20Poly1305>(&key, &nonce, &aad, &plain),
            };
            let aead = new_aead(alg, &key).unwrap();
            let mut buf = sealed.clone();
            assert!(aead.open(&nonce, &aad, &mut buf), "{alg:?} round {round}");
            assert_eq!(&buf[..len], &plain[..], "{alg:?} round {round}");
            let at = (bytes(&mut state, 2)[0] as usize * 131) % sealed.len();
            let mut tampered = sealed.clone();
            tampered[at] ^= 1 << (round % 8);
            assert!(!aead.open(&nonce, &aad, &mut tampered), "{alg:?} byte {at}");
            if !aad.is_empty() {
                let mut other = aad.clone();
                other[0] ^= 0x80;
                assert!(!aead.open(&nonce, &other, &mut sealed.clone()));
            }
        }
        assert!(new_aead(AeadAlg::Aes128Gcm, &[0; 15]).is_none());
        assert!(!new_aead(AeadAlg::Aes128Gcm, &[0; 16])
            .unwrap()
            .open(&[0; 12], &[], &mut [0; 15]));
    }

    /// TLS 1.2 PRF SHA-256 test vector (published by the IETF TLS WG mailing list,
    /// widely reused: secret 9b be 43 6b…, label "test label").
    #[test]
    fn prf_sha256_vector() {
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(Some(Hash::Sha256), &secret, b"test label", &seed, 100);
        assert_eq!(
            &out[..16],
            &unhex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53")[..]
        );
    }
}
