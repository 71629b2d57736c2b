//! Decrypted-HTTPS throughput: read + TCP reassembly + TLS decryption + HTTP/2 and
//! HTTP/1.1 on a generated ~300 MB pcapng with its key log (`bench-data/tls.pcapng`,
//! `bench-data/tls.keylog`, written here when missing with the rustls generator of
//! `samples/src/tls_writer.rs`). Figures: `benches/README.md`.
//!
//! The capture: rounds of 64 connections opened within 50 ms of each other, their
//! segments interleaved in time as a busy link carries them; half are TLS 1.3
//! (AES-128-GCM) with HTTP/2, half TLS 1.2 (ECDHE-ECDSA-AES128-GCM-SHA256) with
//! HTTP/1.1. Each carries one exchange, as a sign-in page load does: mostly CDN
//! scripts, styles and images from `aadcdn.msftauth.net` (8 KB–1 MB), and one in
//! four a sign-in page (HTML) from `login.microsoftonline.com`. rustls writes records
//! of up to 16 KB, cut into 1,460-byte TCP segments.

#[path = "support/gen.rs"]
#[allow(dead_code)]
mod gen;
use aadtrace_samples::{packet_writer, tls_writer};

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use aadtrace::capture::{read_source_with, NoProgress, ReadOptions, Source};
use aadtrace::session::{self, SessionOptions};
use divan::counter::BytesCount;
use divan::Bencher;
use gen::{body, Rng};
use tls_writer::{h2_message, Conversation, Tls};

fn main() {
    divan::main();
}

const TARGET_BYTES: u64 = 300 << 20;
const PARALLEL: usize = 64;

/// The capture and its key log, generated when missing.
pub fn bench_files() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    let (cap, keys) = (dir.join("tls.pcapng"), dir.join("tls.keylog"));
    if !cap.exists() || !keys.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = cap.with_extension("pcapng.part");
        let keylog = write_capture(&tmp).expect("bench capture written");
        std::fs::write(&keys, keylog).unwrap();
        std::fs::rename(&tmp, &cap).unwrap();
    }
    (cap, keys)
}

const TLS13: Tls = Tls {
    tls13: true,
    suite: aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    alpn: b"h2",
};
const TLS12: Tls = Tls {
    tls13: false,
    suite: aadtrace_samples::rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    alpn: b"http/1.1",
};

/// What one connection carries: (host, path, content type, body).
fn resource<'b>(
    rng: &mut Rng,
    bodies: &'b [Vec<u8>],
) -> (&'static str, String, &'static str, &'b [u8]) {
    let b = &bodies[(rng.next() % bodies.len() as u64) as usize];
    match rng.next() % 4 {
        0 => (
            "login.microsoftonline.com",
            format!("/common/oauth2/v2.0/authorize?client_id={}", rng.next()),
            "text/html; charset=utf-8",
            &b[..b.len().min(160_000)],
        ),
        1 => (
            "aadcdn.msftauth.net",
            format!("/shared/1.0/content/images/{:x}.png", rng.next()),
            "image/png",
            b,
        ),
        2 => (
            "aadcdn.msftauth.net",
            format!("/shared/1.0/content/css/{:x}.css", rng.next()),
            "text/css",
            b,
        ),
        _ => (
            "aadcdn.msftauth.net",
            format!("/shared/1.0/content/js/ConvergedLogin_{:x}.js", rng.next()),
            "application/javascript",
            b,
        ),
    }
}

/// Connection `n` of its half of round `round`: every connection of a round, and of
/// the rounds around it, has its own server address (so its own TCP 4-tuple).
fn conversation(
    rng: &mut Rng,
    bodies: &[Vec<u8>],
    h2: bool,
    (round, n): (u64, u32),
    at: i64,
) -> Conversation {
    let (host, path, ctype, body) = resource(rng, bodies);
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
    let rid = format!("{:x}", rng.next());
    let (request, response) = if h2 {
        let f = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let req = f(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", host),
            (":path", &path),
            ("user-agent", ua),
            ("accept", "*/*"),
            ("accept-language", "en-US,en;q=0.9"),
        ]);
        let resp = f(&[
            (":status", "200"),
            ("content-type", ctype),
            ("cache-control", "no-store, no-cache"),
            ("x-ms-request-id", &rid),
        ]);
        (h2_message(true, &req, &[]), h2_message(false, &resp, body))
    } else {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: keep-alive\r\n\r\n"
        );
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nCache-Control: no-store, no-cache\r\nx-ms-request-id: {rid}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(body);
        (req.into_bytes(), resp)
    };
    let segs = response.len().div_ceil(packet_writer::MSS) as i64;
    Conversation {
        host: host.to_string(),
        server_ip: [
            20,
            190,
            (round % 250) as u8,
            n as u8 + if h2 { 1 } else { 101 },
        ],
        started_us: at,
        wait_us: 40_000,
        duration_us: 40_000 + segs * 120,
        request,
        response,
    }
}

/// Writes the capture; returns the key log.
fn write_capture(path: &Path) -> std::io::Result<String> {
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut w = packet_writer::PcapngWriter::new(file, "aadtrace benches/tls.rs")?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let bodies: Vec<Vec<u8>> = (0..16).map(|i| body(&mut rng, 8_192 << (i % 8))).collect();
    let mut keylog = String::new();
    let mut written = 0u64;
    let mut ts = 1_763_800_000_000_000i64;
    let mut round = 0u64;
    while written < TARGET_BYTES {
        let mut frames = Vec::new();
        for (tls, h2) in [(TLS13, true), (TLS12, false)] {
            let convs: Vec<Conversation> = (0..PARALLEL / 2)
                .map(|n| {
                    let at = ts + rng.range(10_000, 60_000) as i64;
                    conversation(&mut rng, &bodies, h2, (round, n as u32), at)
                })
                .collect();
            let made = tls_writer::make(tls, &convs, round * 2 + u64::from(h2));
            keylog.push_str(&made.keylog);
            frames.extend(made.frames);
        }
        frames.sort_by_key(|p| p.ts_us);
        for p in &frames {
            w.packet(p.ts_us, &p.data)?;
            written += 32 + p.data.len() as u64;
            ts = ts.max(p.ts_us);
        }
        ts += 1_000;
        round += 1;
    }
    w.finish()?.flush()?;
    Ok(keylog)
}

fn options(keys: &Path) -> ReadOptions {
    ReadOptions {
        keylogs: vec![keys.to_path_buf()],
        ..Default::default()
    }
}

/// File → frames → TCP → TLS decryption → HTTP/2 and HTTP/1.1 exchanges, as
/// `aadtrace analyze --keylog` reads a capture (streamed, 64 KB buffered reads).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn tls_read_decrypt_http(bencher: Bencher) {
    let (cap, keys) = bench_files();
    let len = std::fs::metadata(&cap).unwrap().len() as usize;
    let source = Source::File(cap);
    let read = options(&keys);
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut n = 0usize;
        let (_, summary) = read_source_with(&source, 0, &read, &NoProgress, &mut |_ex| n += 1)
            .expect("bench capture readable");
        assert!(summary.exchanges > 1000);
        assert!(
            summary
                .warnings
                .iter()
                .all(|w| !w.code.as_str().starts_with("tls_")),
            "{:?}",
            summary.warnings
        );
        n
    });
}

/// The whole analysis (`session::run_with`, as `aadtrace analyze` without rendering).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn tls_full_analysis(bencher: Bencher) {
    let (cap, keys) = bench_files();
    let len = std::fs::metadata(&cap).unwrap().len() as usize;
    let read = options(&keys);
    bencher.counter(BytesCount::new(len)).bench(|| {
        session::run_with(
            &[Source::File(cap.clone())],
            &SessionOptions::default(),
            &read,
            &NoProgress,
            &|| {},
        )
        .expect("bench capture readable")
        .analysis
        .flows
        .len()
    });
}
