//! End-to-end and per-layer speed on a generated ~200 MB HAR (`bench-data/bench.har`,
//! made by `cargo run --release --example make_samples -- --bench-mb 200 --bench-out
//! bench-data/bench.har` when missing). Figures and the machine: `benches/README.md`.

#[path = "support/files.rs"]
mod files;

use std::path::PathBuf;

use aadtrace::capture::{har, ReadCtx};
use aadtrace::identity;
use aadtrace::session::{self, SessionOptions};
use divan::counter::BytesCount;
use divan::Bencher;

fn main() {
    divan::main();
}

fn bench_file() -> PathBuf {
    files::bench_har()
}

fn bytes() -> Vec<u8> {
    std::fs::read(bench_file()).expect("bench file readable")
}

/// HAR reading alone: every entry parsed and handed to a sink that only looks at it.
#[divan::bench(sample_count = 10)]
fn har_read(bencher: Bencher) {
    let data = bytes();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut n = 0usize;
        har::read_slice(&data, &ReadCtx::new("bench"), &mut |ex| {
            n += ex.request.url.len()
        })
        .unwrap();
        n
    });
}

/// Reading plus identity observation of every exchange (bodies decoded where needed).
#[divan::bench(sample_count = 10)]
fn har_read_and_observe(bencher: Bencher) {
    let data = bytes();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut steps = Vec::new();
        har::read_slice(&data, &ReadCtx::new("bench"), &mut |ex| {
            steps.push(identity::observe(steps.len(), &ex))
        })
        .unwrap();
        steps.len()
    });
}

/// The whole analysis as `aadtrace analyze` runs it: memory map, read, observe,
/// group flows, judge findings.
#[divan::bench(sample_count = 10)]
fn full_analysis(bencher: Bencher) {
    files::full_analysis(bencher, bench_file());
}

/// The whole analysis on one thread: the HAR read from memory, every exchange
/// observed as it is read, then flows and findings. This is the "one core" figure
/// (`full_analysis` overlaps reading and observing on two threads).
#[divan::bench(sample_count = 10)]
fn full_analysis_one_core(bencher: Bencher) {
    let data = bytes();
    let path = bench_file().display().to_string();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut steps = Vec::new();
        let summary = har::read_slice(&data, &ReadCtx::new(&path), &mut |ex| {
            steps.push(identity::observe(0, &ex))
        })
        .unwrap();
        let inputs = vec![session::InputReport {
            path: path.clone(),
            format: aadtrace::capture::Format::Har,
            summary,
            keylogs: Vec::new(),
        }];
        session::judge(inputs, steps, &SessionOptions::default())
            .findings
            .len()
    });
}
