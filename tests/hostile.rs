//! Hostile inputs stay bounded (issue #16): small generated files that would
//! inflate to gigabytes. Each runs the binary under an address-space limit
//! (`prlimit --as`), and must finish with exit 0, 1 or 2 and say what was cut.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use etherparse::PacketBuilder;

/// The limit every run gets: "under 1 GB of memory".
const LIMIT: u64 = 1 << 30;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_aadtrace")
}

/// Runs aadtrace with `args` under the address-space limit (stdin from `stdin`
/// when given); skips (returns `None`) where `prlimit` is missing.
fn run_limited(args: &[&str], stdin: Option<&Path>) -> Option<Output> {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit not installed: memory limit not enforced, test skipped");
        return None;
    }
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={LIMIT}")).arg(bin()).args(args);
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    Some(cmd.output().expect("prlimit runs"))
}

/// Asserts a clean exit (0, 1 or 2, not a signal) and returns stdout + stderr.
fn finished(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "exit {:?} (killed or out of memory?): {}",
        out.status,
        &text[..text.len().min(2000)]
    );
    text
}

/// A pcap (LINKTYPE_ETHERNET) of TCP conversations, written by hand.
#[derive(Default)]
struct Pcap {
    frames: Vec<Vec<u8>>,
}

impl Pcap {
    /// One connection from client port `port` to `server_port`: a SYN each way,
    /// then `client` bytes and `server` bytes (each cut into segments of up to
    /// 60,000 bytes), then FINs.
    fn conversation(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8]) {
        self.talk(port, server_port, client, server, true);
    }

    /// A conversation that never ends (no FINs): what it holds stays open until
    /// the end of the capture.
    fn open_conversation(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8]) {
        self.talk(port, server_port, client, server, false);
    }

    fn talk(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8], close: bool) {
        let c = ([10, 0, (port >> 8) as u8, port as u8], port);
        let s = ([10, 1, 0, 2], server_port);
        let mut seq = [1000u32, 5000u32];
        let frame =
            |from_client: bool, syn: bool, fin: bool, payload: &[u8], seq: &mut [u32; 2]| {
                let (src, dst, i) = if from_client { (c, s, 0) } else { (s, c, 1) };
                let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
                    .ipv4(src.0, dst.0, 64)
                    .tcp(src.1, dst.1, seq[i], 65535);
                if syn {
                    b = b.syn();
                }
                if !(syn && from_client) {
                    b = b.ack(seq[1 - i]);
                }
                if fin {
                    b = b.fin();
                }
                let mut v = Vec::new();
                b.write(&mut v, payload).unwrap();
                seq[i] = seq[i].wrapping_add(payload.len() as u32 + u32::from(syn || fin));
                v
            };
        self.frames.push(frame(true, true, false, b"", &mut seq));
        self.frames.push(frame(false, true, false, b"", &mut seq));
        for chunk in client.chunks(60_000) {
            self.frames.push(frame(true, false, false, chunk, &mut seq));
        }
        for chunk in server.chunks(60_000) {
            self.frames
                .push(frame(false, false, false, chunk, &mut seq));
        }
        if close {
            self.frames.push(frame(true, false, true, b"", &mut seq));
            self.frames.push(frame(false, false, true, b"", &mut seq));
        }
    }

    fn write(&self, path: &Path) {
        let mut out = Vec::new();
        out.extend(0xa1b2_c3d4u32.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(4u16.to_le_bytes());
        out.extend([0; 8]);
        out.extend(262_144u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        for (i, f) in self.frames.iter().enumerate() {
            out.extend(1_700_000_000u32.to_le_bytes());
            out.extend((i as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend(f);
        }
        std::fs::write(path, out).unwrap();
    }
}

/// An HTTP/2 frame (RFC 9113 §4.1).
fn h2_frame(ty: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([ty, flags]);
    f.extend(id.to_be_bytes());
    f.extend(payload);
    f
}

/// An HPACK integer with a `prefix`-bit prefix (RFC 7541 §5.1).
fn hpack_int(flags: u8, prefix: u8, mut v: usize) -> Vec<u8> {
    let max = (1usize << prefix) - 1;
    if v < max {
        return vec![flags | v as u8];
    }
    let mut out = vec![flags | max as u8];
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
    out
}

/// A literal header field without indexing, new name (RFC 7541 §6.2.2).
fn hpack_literal(name: &str, value: &str) -> Vec<u8> {
    let mut b = vec![0];
    b.extend(hpack_int(0, 7, name.len()));
    b.extend(name.as_bytes());
    b.extend(hpack_int(0, 7, value.len()));
    b.extend(value.as_bytes());
    b
}

/// #16.1: one 200 KB table entry referenced 4,096 times per header block, on
/// many streams of a cleartext (prior-knowledge) HTTP/2 connection.
#[test]
fn hpack_amplification_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let value = "v".repeat(200_000);
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    client.extend(h2_frame(4, 0, 0, b""));
    let mut server = h2_frame(4, 0, 0, b"");
    for i in 0..40u32 {
        let id = 1 + 2 * i;
        let mut block = Vec::new();
        if i == 0 {
            block.extend(hpack_int(0x20, 5, 1 << 20));
            block.extend([0x40, 1, b'x']);
            block.extend(hpack_int(0, 7, value.len()));
            block.extend(value.as_bytes());
        }
        block.extend([0x82, 0x86, 0x84]);
        block.extend(hpack_literal(":authority", "login.microsoftonline.com"));
        block.extend(std::iter::repeat_n(0x80 | 62, 4096));
        client.extend(h2_frame(1, 0x5, id, &block));
        server.extend(h2_frame(1, 0x5, id, &[0x88]));
    }
    let mut pcap = Pcap::default();
    pcap.conversation(40000, 80, &client, &server);
    let path = dir.path().join("hpack.pcap");
    pcap.write(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("h2_header_list_too_large"), "{text}");
}

/// gzip of gzip of 32 MiB of zeros: a few hundred bytes.
fn double_gzip_bomb() -> Vec<u8> {
    let mut inner = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..32 {
        inner.write_all(&zeros).unwrap();
    }
    let inner = inner.finish().unwrap();
    let mut outer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    outer.write_all(&inner).unwrap();
    outer.finish().unwrap()
}

/// #16.2: 200 pipelined responses, each a decompression bomb, complete in one
/// frame: the bodies decoded at once stay within the trace's budget.
#[test]
fn decoded_bodies_in_flight_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = double_gzip_bomb();
    let mut client = Vec::new();
    let mut server = Vec::new();
    for i in 0..200 {
        client.extend(
            format!("GET /common/oauth2/authorize?i={i} HTTP/1.1\r\nHost: login.microsoftonline.com\r\n\r\n")
                .as_bytes(),
        );
        server.extend(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip, gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            )
            .as_bytes(),
        );
        server.extend(&bomb);
    }
    let mut pcap = Pcap::default();
    pcap.conversation(40000, 80, &client, &server);
    let path = dir.path().join("bombs.pcap");
    pcap.write(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("memory_budget_exceeded"), "{text}");
    assert!(text.contains("decoded bodies cut short"), "{text}");
}

/// #16.3: thousands of open POSTs announcing a gigabyte each: the buffers sized
/// in advance from Content-Length are bounded in total, not per message.
#[test]
fn presized_bodies_are_bounded_in_total() {
    let dir = tempfile::tempdir().unwrap();
    let head = b"POST /common/login HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Length: 1000000000\r\n\r\n";
    let mut pcap = Pcap::default();
    for i in 0..3000u16 {
        pcap.open_conversation(20000 + i, 80, head, b"");
    }
    let path = dir.path().join("heads.pcap");
    pcap.write(&path);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    finished(&out);
}
