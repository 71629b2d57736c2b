//! Arbitrary bytes through the HAR redactor (`redact::har`), both passes, read
//! two ways: held in memory (serde reads the slice when the entry guard would
//! pass it unchanged, and the entries are masked on worker threads) and as a
//! stream through the guard. No panic, and the two agree: the same copy, the
//! same counts and places, or both refuse the input (serde's two readers may
//! place an error a column apart, so only the refusal is compared).
#![no_main]

use aadtrace::redact::har::{learn_reader, rewrite_bytes, rewrite_reader};
use aadtrace::redact::{har::Har, Input, Masker, TraceRewriter};
use libfuzzer_sys::fuzz_target;

type Seen = Result<(Vec<u8>, usize, Vec<String>, String), ()>;

fn receipt(m: &Masker, out: Vec<u8>, exchanges: usize, warnings: Vec<String>) -> Seen {
    Ok((out, exchanges, warnings, format!("{:?} {:?} {:?}", m.counts(), m.places(), m.places_omitted())))
}

fn held(data: &[u8], key: &Masker) -> Seen {
    let mut m = key.clone();
    Har.learn(&Input::from_bytes(data.to_vec()), &mut m).map_err(|_| ())?;
    m.reset_counts();
    let mut out = Vec::new();
    let w = rewrite_bytes(data, &mut out, &mut m).map_err(|_| ())?;
    receipt(&m, out, w.exchanges, w.warnings)
}

fn streamed(data: &[u8], key: &Masker) -> Seen {
    let mut m = key.clone();
    learn_reader(data, &mut m).map_err(|_| ())?;
    m.reset_counts();
    let mut out = Vec::new();
    let w = rewrite_reader(data, &mut out, &mut m).map_err(|_| ())?;
    receipt(&m, out, w.exchanges, w.warnings)
}

fuzz_target!(|data: &[u8]| {
    let key = Masker::new();
    let a = held(data, &key);
    // A BOM or a JSONP wrapper is taken off the held bytes only.
    if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return;
    }
    let b = streamed(data, &key);
    assert!(a == b, "held and streamed redaction differ");
});
