//! What the HAR and shape benches share: their generated input files
//! (`bench-data/`, made by the `make_samples` example when missing) and the
//! whole analysis as `aadtrace analyze` runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use aadtrace::capture::{NoProgress, Source};
use aadtrace::session::{self, SessionOptions};
use divan::counter::BytesCount;
use divan::Bencher;

/// `bench-data/NAME`, generated when missing as `make_samples --bench-mb MB`
/// with `--bench-shape SHAPE` when one is given (the default shape is the
/// CDN-heavy HAR).
pub fn bench_file(name: &str, shape: Option<&str>, mb: u32) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench-data")
        .join(name);
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut make = Command::new(env!("CARGO"));
        make.args(["run", "--release", "--example", "make_samples", "--"])
            .args(["--bench-mb", &mb.to_string()]);
        if let Some(shape) = shape {
            make.args(["--bench-shape", shape]);
        }
        let status = make
            .arg("--bench-out")
            .arg(&path)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs the sample generator");
        assert!(status.success(), "generating {} failed", path.display());
    }
    path
}

/// `bench-data/bench.har`: ~200 MB of the sample sign-ins with CDN noise.
pub fn bench_har() -> PathBuf {
    bench_file("bench.har", None, 200)
}

/// Benches the whole analysis of `path` as `aadtrace analyze` runs it: memory
/// map, read, observe, group flows, judge findings.
pub fn full_analysis(bencher: Bencher, path: PathBuf) {
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    let sources = [Source::File(path)];
    bencher.counter(BytesCount::new(len)).bench(|| {
        session::run(&sources, &SessionOptions::default(), &NoProgress, &|| {})
            .unwrap()
            .findings
            .len()
    });
}
