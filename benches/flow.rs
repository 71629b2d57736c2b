//! One sign-in flow of 200,000 steps (issue #16 item 7): grouping, MFA
//! attempts, findings and the three reports must stay linear in the size of a
//! flow. Each shape of `samples/src/one_flow.rs` stresses a part that
//! once was quadratic (background steps joining by `Referer`, a correlation id
//! per step, a failure per step, MFA prompt after prompt, one long MFA attempt).
//! The HAR is generated in memory; nothing is written. Figures: `benches/README.md`.

use aadtrace_samples::one_flow;

use aadtrace::capture::{har, Format, ReadCtx};
use aadtrace::identity;
use aadtrace::report::{html, json, shown::Redactor, text};
use aadtrace::session::{self, InputReport, Session, SessionOptions};
use divan::counter::ItemsCount;
use divan::Bencher;

fn main() {
    divan::main();
}

const STEPS: usize = 200_000;

fn har_of(shape: &str) -> Vec<u8> {
    one_flow::har(shape, STEPS).expect("a shape one_flow knows")
}

/// Read, observe, group and judge, on one thread (as `full_analysis_one_core`
/// in `analyze.rs`).
fn analyse(data: &[u8]) -> Session {
    let mut steps = Vec::new();
    let summary = har::read_slice(data, &ReadCtx::new("one-flow.har"), &mut |ex| {
        steps.push(identity::observe(0, &ex))
    })
    .expect("the generated HAR reads");
    let inputs = vec![InputReport {
        path: "one-flow.har".into(),
        format: Format::Har,
        summary,
        keylogs: Vec::new(),
    }];
    session::judge(inputs, steps, &SessionOptions::default())
}

/// The analysis of one flow of 200,000 steps, from the HAR in memory.
#[divan::bench(args = one_flow::SHAPES, sample_count = 3, sample_size = 1)]
fn analysis(bencher: Bencher, shape: &str) {
    let data = har_of(shape);
    let session = analyse(&data);
    assert_eq!(session.analysis.flows.len(), 1, "{shape} is one flow");
    assert_eq!(session.analysis.flows[0].steps.len(), STEPS);
    bencher
        .counter(ItemsCount::new(STEPS))
        .bench(|| analyse(&data).findings.len());
}

/// The JSON, text and HTML reports of that flow, from the finished analysis.
#[divan::bench(args = one_flow::SHAPES, sample_count = 3, sample_size = 1)]
fn reports(bencher: Bencher, shape: &str) {
    let session = analyse(&har_of(shape));
    let redactor = Redactor::new(true);
    let palette = text::Palette { enabled: false };
    bencher.counter(ItemsCount::new(STEPS)).bench(|| {
        json::render(&session, &redactor).len()
            + text::render(&session, &redactor, palette).len()
            + html::render_with_nonce(&session, &redactor, "bench").len()
    });
}
