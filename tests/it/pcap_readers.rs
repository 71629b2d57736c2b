//! pcap / pcapng readers on hand-built files: byte orders, resolutions, sections,
//! block kinds, gzip, truncation and corruption.

use std::io::Write;

use aadtrace::capture::pcap::read_frames;
use aadtrace::capture::{read_source, NoProgress, Source};
use etherparse::PacketBuilder;

/// Ethernet/IPv4/TCP frames of one HTTP exchange with a handshake and FINs.
fn http_frames() -> Vec<Vec<u8>> {
    let c = ([10, 0, 0, 1], 40000u16);
    let s = ([10, 0, 0, 2], 80u16);
    let req =
        b"GET /common/oauth2/authorize?x=1 HTTP/1.1\r\nHost: login.microsoftonline.com\r\n\r\n";
    let resp = b"HTTP/1.1 302 Found\r\nContent-Length: 5\r\n\r\nhello";
    let mut out = Vec::new();
    let mut f = |from_client: bool, seq: u32, ack: u32, syn: bool, fin: bool, payload: &[u8]| {
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 1000);
        if syn {
            b = b.syn();
        }
        if ack != 0 {
            b = b.ack(ack);
        }
        if fin {
            b = b.fin();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        out.push(v);
    };
    f(true, 100, 0, true, false, b"");
    f(false, 500, 101, true, false, b"");
    f(true, 101, 501, false, false, req);
    f(false, 501, 101 + req.len() as u32, false, false, resp);
    f(
        true,
        101 + req.len() as u32,
        501 + resp.len() as u32,
        false,
        true,
        b"",
    );
    f(
        false,
        501 + resp.len() as u32,
        102 + req.len() as u32,
        false,
        true,
        b"",
    );
    out
}

fn pcap(frames: &[Vec<u8>], be: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut out = Vec::new();
    out.extend(w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(w16(2));
    out.extend(w16(4));
    out.extend(w32(0));
    out.extend(w32(0));
    out.extend(w32(65535));
    out.extend(w32(1));
    for (i, f) in frames.iter().enumerate() {
        out.extend(w32(1_700_000_000 + i as u32));
        out.extend(w32(if nanos { 250_000_000 } else { 250_000 }));
        out.extend(w32(f.len() as u32));
        out.extend(w32(f.len() as u32));
        out.extend(f);
    }
    out
}

#[derive(Default)]
struct Ng {
    out: Vec<u8>,
    be: bool,
}

impl Ng {
    fn w32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(&mut self, ty: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = 12 + body.len() as u32 + pad as u32;
        let t = self.w32(ty);
        let l = self.w32(len);
        self.out.extend(t);
        self.out.extend(l);
        self.out.extend(body);
        self.out.extend(std::iter::repeat_n(0, pad));
        self.out.extend(l);
    }
    fn shb(&mut self, be: bool) {
        self.be = be;
        let mut b = Vec::new();
        b.extend(self.w32(0x1a2b_3c4d));
        b.extend(if be { [0, 1, 0, 0] } else { [1, 0, 0, 0] });
        b.extend([0xff; 8]);
        self.block(0x0a0d_0d0a, &b);
    }
    fn idb(&mut self, link: u16, tsresol: Option<u8>) {
        let mut b = Vec::new();
        b.extend(if self.be {
            link.to_be_bytes()
        } else {
            link.to_le_bytes()
        });
        b.extend([0, 0]);
        b.extend(self.w32(0));
        if let Some(r) = tsresol {
            let code: u16 = 9;
            b.extend(if self.be {
                code.to_be_bytes()
            } else {
                code.to_le_bytes()
            });
            b.extend(if self.be {
                1u16.to_be_bytes()
            } else {
                1u16.to_le_bytes()
            });
            b.extend([r, 0, 0, 0]);
            b.extend([0, 0, 0, 0]);
        }
        self.block(1, &b);
    }
    fn epb(&mut self, iface: u32, ts: u64, data: &[u8]) {
        let mut b = Vec::new();
        b.extend(self.w32(iface));
        b.extend(self.w32((ts >> 32) as u32));
        b.extend(self.w32(ts as u32));
        b.extend(self.w32(data.len() as u32));
        b.extend(self.w32(data.len() as u32));
        b.extend(data);
        b.extend(std::iter::repeat_n(0, (4 - data.len() % 4) % 4));
        self.block(6, &b);
    }
}

type Got = Vec<(String, String, Option<u16>, i64, u64)>;

fn read_bytes(bytes: &[u8]) -> (Got, aadtrace::capture::InputSummary) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.cap");
    std::fs::write(&p, bytes).unwrap();
    let mut got = Vec::new();
    let (_, summary) = read_source(&Source::File(p), 0, &NoProgress, &mut |ex| {
        got.push((
            ex.request.method.to_string(),
            ex.request.url.to_string(),
            ex.status(),
            ex.timing.started_us,
            ex.origin.index,
        ))
    })
    .unwrap();
    (got, summary)
}

const URL: &str = "http://login.microsoftonline.com/common/oauth2/authorize?x=1";

#[test]
fn pcap_byte_orders_and_resolutions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let (got, s) = read_bytes(&pcap(&http_frames(), be, nanos));
            assert_eq!(got.len(), 1, "be {be} nanos {nanos}");
            assert_eq!(got[0].1, URL);
            assert_eq!(got[0].2, Some(302));
            assert_eq!(got[0].3, 1_700_000_002_250_000);
            assert_eq!(got[0].4, 3);
            assert!(s.warnings.is_empty(), "{:?}", s.warnings);
            assert_eq!(s.connections.len(), 1);
            let c = &s.connections[0];
            assert_eq!(c.client, "10.0.0.1:40000");
            assert_eq!(c.exchanges, vec![3]);
            assert!(!c.reset);
        }
    }
}

#[test]
fn pcap_gzip_and_truncation() {
    let bytes = pcap(&http_frames(), false, false);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let (got, _) = read_bytes(&gz.finish().unwrap());
    assert_eq!(got.len(), 1);
    // Cut inside the last frame: everything before it survives, plus a warning.
    let cut = &bytes[..bytes.len() - 10];
    let (got, s) = read_bytes(cut);
    assert_eq!(got.len(), 1);
    assert!(
        s.warnings.iter().any(|w| w.code == "capture_truncated"),
        "{:?}",
        s.warnings
    );
    // Every prefix reads without panicking.
    for n in 24..bytes.len() {
        let mut frames = 0;
        let _ = read_frames(&bytes[..n], "t", &NoProgress, &mut |_| frames += 1);
    }
}

#[test]
fn pcapng_sections_interfaces_blocks_and_damage() {
    let frames = http_frames();
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, Some(9)); // nanoseconds
    ng.block(0x0000_0bad, b"custom block payload"); // custom block
    let mut dsb = Vec::new();
    dsb.extend(ng.w32(0x544c_534b));
    let key = b"CLIENT_RANDOM 00 11\n";
    dsb.extend(ng.w32(key.len() as u32));
    dsb.extend(key);
    dsb.extend(std::iter::repeat_n(0, (4 - key.len() % 4) % 4));
    ng.block(0x0000_000a, &dsb);
    ng.epb(0, 1_700_000_000_250_000_000, &frames[0]);
    ng.epb(0, 1_700_000_001_250_000_000, &frames[1]);
    // A second, big-endian section with a microsecond interface.
    ng.shb(true);
    ng.idb(1, None);
    for (i, f) in frames.iter().enumerate().skip(2) {
        ng.epb(0, (1_700_000_000 + i as u64) * 1_000_000 + 250_000, f);
    }
    let bytes = ng.out.clone();
    let (got, s) = read_bytes(&bytes);
    assert_eq!(got.len(), 1, "{:?}", s.warnings);
    assert_eq!(got[0].3, 1_700_000_002_250_000);
    assert_eq!(got[0].4, 3);
    let mut secrets = Vec::new();
    let rep = read_frames(&bytes[..], "t", &NoProgress, &mut |_| {}).unwrap();
    secrets.extend(rep.secrets);
    assert_eq!(secrets, vec!["CLIENT_RANDOM 00 11\n".to_string()]);
    assert_eq!(rep.frames, 6);

    // A block whose trailing length disagrees is skipped with its offset named.
    let mut bad = Ng::default();
    bad.shb(false);
    bad.idb(1, None);
    let start = bad.out.len();
    bad.block(0x0000_0bad, b"12345678");
    let end = bad.out.len();
    bad.out[end - 4] ^= 0x40;
    for (i, f) in frames.iter().enumerate() {
        bad.epb(0, (1_700_000_000 + i as u64) * 1_000_000, f);
    }
    let (got, s) = read_bytes(&bad.out);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.code == "capture_corrupt_block" && w.message.contains(&start.to_string())),
        "{:?}",
        s.warnings
    );
    assert_eq!(got.len(), 1);
    // Every prefix and every single-byte corruption is survived.
    for n in 0..bytes.len() {
        let _ = read_frames(&bytes[..n], "t", &NoProgress, &mut |_| {});
    }
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0xa5;
        let _ = read_frames(&b[..], "t", &NoProgress, &mut |_| {});
    }
}

/// Found by `fuzz/fuzz_targets/pcap.rs`: a Process Information Block claiming 5 bytes
/// made pcap-parser subtract past zero. It is a corrupt block, not a panic.
#[test]
fn pcapng_block_shorter_than_a_block_header() {
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, None);
    let mut bytes = ng.out;
    bytes.extend_from_slice(&[
        0x01, 0x00, 0x00, 0x80, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x8b, 0x85, 0x85, 0x0a,
    ]);
    let (got, summary) = read_bytes(&bytes);
    assert!(got.is_empty());
    assert!(
        summary.warnings.iter().any(|w| w.code == "capture_corrupt"),
        "{:?}",
        summary.warnings
    );
}

/// A file cut inside a block larger than the 1 MiB read buffer is a truncated
/// file ("cut short", with every frame before the cut), not a block "larger than
/// 64 MiB": the buffer grew to the same size twice when the cut left it part-full.
#[test]
fn cut_inside_a_block_larger_than_the_buffer_is_truncation() {
    let frames = http_frames();
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, None);
    for (i, f) in frames.iter().enumerate() {
        ng.epb(0, (1_700_000_000 + i as u64) * 1_000_000, f);
    }
    let big_at = ng.out.len();
    ng.epb(0, 1_700_000_009_000_000, &vec![0x45; 3 << 20]);
    let whole = ng.out;
    let rep = read_frames(&whole[..], "t", &NoProgress, &mut |_| {}).unwrap();
    assert_eq!(rep.frames as usize, frames.len() + 1);
    assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
    for cut in [
        big_at + 8,
        big_at + 100,
        big_at + 65_537,
        big_at + (2 << 20),
        whole.len() - 1,
    ] {
        let rep = read_frames(&whole[..cut], "t", &NoProgress, &mut |_| {}).unwrap();
        assert_eq!(rep.frames as usize, frames.len(), "cut at {cut}");
        let codes: Vec<_> = rep.warnings.iter().map(|w| (&w.code, &w.message)).collect();
        assert!(
            rep.warnings.len() == 1
                && rep.warnings[0].code == aadtrace::capture::WarningCode::CaptureTruncated
                && rep.warnings[0]
                    .message
                    .contains(&format!("at offset {big_at} ")),
            "cut at {cut}: {codes:?}"
        );
    }
}
