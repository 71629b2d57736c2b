//! The HTML report of the generated ~200 MB HAR (`bench-data/bench.har`, made by
//! `cargo run --release --example make_samples -- --bench-mb 200 --bench-out
//! bench-data/bench.har` when missing; issue #12: the page of a 200 MB HAR must
//! open in a browser in under 2 s). Two measurements:
//!
//! * `html_full_analysis`: what `aadtrace analyze --format html` does (the
//!   analysis with each step's detail kept, then the page);
//! * `html_render_only`: the page alone, from an analysis made once.
//!
//! Peak memory, the page's size and what fills it are measured with the
//! commands in `benches/README.md` ("HTML report").

#[path = "support/files.rs"]
#[allow(dead_code)]
mod files;

use std::path::Path;

use aadtrace::capture::{NoProgress, Source};
use aadtrace::report::html;
use aadtrace::report::shown::Redactor;
use aadtrace::session::{self, Session, SessionOptions};
use divan::counter::BytesCount;
use divan::Bencher;

fn main() {
    divan::main();
}

/// The analysis as `analyze --format html` makes it: with each step's detail.
fn analyse(path: &Path) -> Session {
    let options = SessionOptions {
        detail: true,
        ..SessionOptions::default()
    };
    session::run(
        &[Source::File(path.to_path_buf())],
        &options,
        &NoProgress,
        &|| {},
    )
    .expect("the bench HAR reads")
}

/// Analysis and page, counted in input bytes.
#[divan::bench(sample_count = 5)]
fn html_full_analysis(bencher: Bencher) {
    let path = files::bench_har();
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    let redactor = Redactor::new(true);
    bencher
        .counter(BytesCount::new(len))
        .bench(|| html::render(&analyse(&path), &redactor).len());
}

/// The page alone, counted in page bytes.
#[divan::bench(sample_count = 10)]
fn html_render_only(bencher: Bencher) {
    let session = analyse(&files::bench_har());
    let redactor = Redactor::new(true);
    let page_len = html::render(&session, &redactor).len();
    bencher
        .counter(BytesCount::new(page_len))
        .bench(|| html::render(&session, &redactor).len());
}
