//! `aadtrace batch` end to end (plan, analyse in parallel, write NDJSON), in process:
//!
//! - `mixed_archive`: 350 traces copied from `captures/` (a fifth gzip'd) in nested
//!   folders, about 80 MB, at `--jobs 1` and `--jobs 2`. The goal: `--jobs 2` at least
//!   1.7× the throughput of `--jobs 1` on 2 cores.
//! - `test_archive`: the archive `cargo test --test batch` generates (a few hundred
//!   traces of every format, loose and in a zip, a tar and a tar.gz, broken ones
//!   among them), at `--jobs 1` and `--jobs 2`. Skipped until that test has run.
//! - `small_hars_10k`: 10,000 small HARs (three sign-in exchanges each, ~18 KB):
//!   the per-trace overhead. The goal: under 10 s in all.
//!
//! The inputs are generated under `bench-data/batch/` when missing. Run with
//! `cargo bench --bench batch`; the figures go to `benches/README.md`.

use std::io::Write;
use std::path::{Path, PathBuf};

use aadtrace::batch::{self, OutputFormat, Request};
use aadtrace::session::SessionOptions;
use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;

fn main() {
    divan::main();
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "har"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn data_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench-data/batch")
        .join(name)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes the files of a data set once; a `.done` marker says it is complete.
fn generate(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let dir = data_dir(name);
    let marker = dir.join(".done");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make(&dir);
        std::fs::write(&marker, b"").unwrap();
    }
    dir
}

fn mixed() -> PathBuf {
    generate("mixed", |dir| {
        let samples = samples();
        for i in 0..350 {
            let (stem, data) = &samples[i % samples.len()];
            let sub = dir.join(format!("d{}", i % 8));
            std::fs::create_dir_all(&sub).unwrap();
            if i % 5 == 0 {
                std::fs::write(sub.join(format!("{i:04}-{stem}.har.gz")), gzip(data)).unwrap();
            } else {
                std::fs::write(sub.join(format!("{i:04}-{stem}.har")), data).unwrap();
            }
        }
    })
}

/// A HAR of a sample's first three entries under 8 KB.
fn small_har(data: &[u8]) -> Vec<u8> {
    let mut har: serde_json::Value = serde_json::from_slice(data).unwrap();
    let entries = har["log"]["entries"].as_array_mut().unwrap();
    let kept: Vec<serde_json::Value> = entries
        .iter()
        .filter(|e| e.to_string().len() < 8 << 10)
        .take(3)
        .cloned()
        .collect();
    *entries = kept;
    serde_json::to_vec(&har).unwrap()
}

fn small() -> PathBuf {
    generate("small", |dir| {
        let smalls: Vec<(String, Vec<u8>)> = samples()
            .iter()
            .map(|(stem, data)| (stem.clone(), small_har(data)))
            .collect();
        for i in 0..10_000 {
            let (stem, data) = &smalls[i % smalls.len()];
            let sub = dir.join(format!("d{:02}", i % 50));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("{i:05}-{stem}.har")), data).unwrap();
        }
    })
}

fn total_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

fn request(dir: &Path, jobs: usize) -> Request {
    Request {
        inputs: vec![dir.display().to_string()],
        manifest: None,
        globs: Vec::new(),
        keylogs: Vec::new(),
        jobs: Some(jobs),
        max_memory: None,
        shard: None,
        format: OutputFormat::Ndjson,
        output: Some(PathBuf::from("/dev/null")),
        quiet: true,
        list: false,
        session: SessionOptions::default(),
        redact: true,
    }
}

/// 350 sample traces (~80 MB): throughput at `--jobs 1` and `--jobs 2`.
#[divan::bench(args = [1, 2], sample_count = 5)]
fn mixed_archive(bencher: Bencher, jobs: usize) {
    let dir = mixed();
    let bytes = total_bytes(&dir);
    let req = request(&dir, jobs);
    bencher
        .counter(BytesCount::new(bytes))
        .bench(|| batch::command(&req).unwrap().traces);
}

/// The test archive (made by `tests/it/batch.rs`): every format, archives included.
#[divan::bench(args = [1, 2], sample_count = 5)]
fn test_archive(bencher: Bencher, jobs: usize) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-archive");
    if !dir.is_dir() {
        eprintln!(
            "test_archive: skipped; `cargo test --test batch` makes {}",
            dir.display()
        );
        return bencher.bench(|| ());
    }
    let req = request(&dir, jobs);
    bencher
        .counter(BytesCount::new(total_bytes(&dir)))
        .bench(|| batch::command(&req).unwrap().traces);
}

/// 10,000 small HARs: the per-trace overhead (all cores).
#[divan::bench(sample_count = 3)]
fn small_hars_10k(bencher: Bencher) {
    let dir = small();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let req = request(&dir, jobs);
    bencher
        .counter(ItemsCount::new(10_000usize))
        .bench(|| batch::command(&req).unwrap().traces);
}
