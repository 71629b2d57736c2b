//! Packet-capture throughput: read + TCP reassembly + HTTP/1 extraction on a generated
//! ~300 MB cleartext pcap (`bench-data/capture.pcap`, written here when missing with
//! the sample generator's packet writer). Figures: `benches/README.md`.
//!
//! The capture: 64 client connections at a time, interleaved segment by segment as a
//! busy link would carry them, each with keep-alive HTTP/1.1 exchanges (a ~700-byte
//! GET, then a response of 8 KB to 1 MB in 1,460-byte segments, 1,514-byte frames).

#[path = "support/gen.rs"]
#[allow(dead_code)]
mod gen;
use aadtrace_samples::packet_writer;

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use aadtrace::capture::{pcap, read_source, NoProgress, ReadCtx, Source};
use divan::counter::BytesCount;
use divan::Bencher;
use gen::{body, Rng};
use packet_writer::{Endpoint, Packet, PcapWriter, TcpConn};

fn main() {
    divan::main();
}

const TARGET_BYTES: u64 = 300 << 20;
const PARALLEL: usize = 64;

fn bench_file() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-data/capture.pcap");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("pcap.part");
        write_capture(&tmp).expect("bench capture written");
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn write_capture(path: &Path) -> std::io::Result<()> {
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut w = PcapWriter::new(file)?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut written = 24u64;
    let mut ts = 1_763_800_000_000_000i64;
    let mut conn_no = 0u32;
    let bodies: Vec<Vec<u8>> = (0..16).map(|i| body(&mut rng, 8_192 << (i % 8))).collect();
    while written < TARGET_BYTES {
        // One round: PARALLEL connections, each a handshake, 1-6 exchanges, a close;
        // their frames interleaved in time order.
        let mut frames: Vec<Vec<Packet>> = Vec::with_capacity(PARALLEL);
        for _ in 0..PARALLEL {
            conn_no += 1;
            let client = Endpoint {
                mac: [2, 0, 0, 0, 0, 1],
                ip: [10, 1, (conn_no >> 8) as u8, conn_no as u8],
                port: 49_152 + (conn_no % 16_000) as u16,
                ttl: 128,
            };
            let server = Endpoint {
                mac: [2, 0, 0, 0, 0, 2],
                ip: [20, 190, 159, 68],
                port: 80,
                ttl: 116,
            };
            let mut c = TcpConn::new(client, server, (rng.next() as u32, rng.next() as u32));
            let mut out = Vec::new();
            let mut t = ts + rng.range(0, 50_000) as i64;
            c.handshake(t, 15_000, &mut out);
            t += 16_000;
            for _ in 0..rng.range(1, 7) {
                let path = format!("/common/oauth2/v2.0/authorize?client_id={}", rng.next());
                let req = format!(
                    "GET {path} HTTP/1.1\r\nHost: login.microsoftonline.com\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: esctx={}; fpc=AkZ{}\r\nConnection: keep-alive\r\n\r\n",
                    rng.next(),
                    rng.next()
                );
                c.send(true, req.as_bytes(), t, t, &mut out);
                let b = &bodies[(rng.next() % bodies.len() as u64) as usize];
                let mut resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store, no-cache\r\nx-ms-request-id: {:x}\r\nContent-Length: {}\r\n\r\n",
                    rng.next(),
                    b.len()
                )
                .into_bytes();
                resp.extend_from_slice(b);
                let segs = resp.len().div_ceil(packet_writer::MSS) as i64;
                c.send(false, &resp, t + 40_000, t + 40_000 + segs * 120, &mut out);
                c.ack(true, t + 40_000 + segs * 120, &mut out);
                t += 60_000 + segs * 120;
            }
            c.close(t + 1_000, 15_000, &mut out);
            frames.push(out);
        }
        let mut all: Vec<Packet> = frames.into_iter().flatten().collect();
        all.sort_by_key(|p| p.ts_us);
        for p in &all {
            w.packet(p.ts_us, &p.data)?;
            written += 16 + p.data.len() as u64;
            ts = ts.max(p.ts_us);
        }
        ts += 1_000;
    }
    let mut f = w.finish()?;
    std::io::Write::flush(&mut f)
}

/// Read + reassembly + HTTP/1 extraction of the whole file, as `aadtrace analyze`
/// reads a capture (streamed through a 64 KB buffered reader).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn pcap_read_reassemble_http1(bencher: Bencher) {
    let path = bench_file();
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    let source = Source::File(path);
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut body_bytes = 0usize;
        let (_, summary) = read_source(&source, 0, &NoProgress, &mut |ex| {
            if let Some(r) = &ex.response {
                if let aadtrace::http::Body::Bytes(b) = &r.body {
                    body_bytes += b.len();
                }
            }
        })
        .expect("bench capture readable");
        assert!(summary.exchanges > 1000);
        body_bytes
    });
}

/// The same from memory: no file system in the loop.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn pcap_from_memory(bencher: Bencher) {
    let data = std::fs::read(bench_file()).unwrap();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut n = 0usize;
        pcap::read(&data[..], &ReadCtx::new("bench"), &mut |_ex| n += 1).unwrap();
        n
    });
}
