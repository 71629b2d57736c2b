//! Arbitrary TCP payloads, in a pcap built here, through the in-place capture
//! redactor (`redact::packets`): no panic, and a copy it writes is as long as
//! the capture, byte for byte (frames must keep their lengths). Each segment is
//! one input byte (bit 0: the server's direction; bit 1: jump the sequence
//! number), two bytes of length, and that many bytes of payload.
#![no_main]

use aadtrace::redact::{packets::InPlace, Input, Masker, TraceRewriter};
use libfuzzer_sys::fuzz_target;

/// A pcap record (pcap(5)) of one Ethernet/IPv4/TCP frame carrying `payload`.
fn frame(out: &mut Vec<u8>, server: bool, seq: u32, payload: &[u8]) {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (src, dst, sport, dport) = if server { (b, a, 80u16, 49152u16) } else { (a, b, 49152, 80) };
    let mut f = Vec::new();
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    let len = (f.len() as u32).to_le_bytes();
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&len);
    out.extend_from_slice(&len);
    out.extend_from_slice(&f);
}

fuzz_target!(|data: &[u8]| {
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
    let mut seq = [1000u32, 5000u32];
    let mut rest = data;
    while rest.len() >= 3 {
        let (flags, len) = (rest[0], u16::from_be_bytes([rest[1], rest[2]]) as usize);
        let payload = &rest[3..(3 + len).min(rest.len())];
        rest = &rest[3 + payload.len()..];
        let side = (flags & 1) as usize;
        if flags & 2 != 0 {
            seq[side] = seq[side].wrapping_add(u32::from(flags) << 20);
        }
        frame(&mut pcap, side == 1, seq[side], payload);
        seq[side] = seq[side].wrapping_add(payload.len() as u32);
        if pcap.len() > 1 << 20 {
            break;
        }
    }
    let input = Input::from_bytes(pcap.clone());
    let mut out = Vec::new();
    let mut masker = Masker::new();
    let learnt = InPlace.learn(&input, &mut masker).is_ok();
    if learnt && InPlace.rewrite(&input, &mut out, &mut masker).is_ok() {
        assert_eq!(out.len(), pcap.len(), "the copy changed length");
    }
});
