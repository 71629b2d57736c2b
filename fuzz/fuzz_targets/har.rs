//! Arbitrary bytes into the HAR readers (fast pass, serde passes over a slice,
//! a stream held whole, the serde stream reader): they must never panic, bodies
//! must decode or fail cleanly, and the readers must agree.
#![no_main]

use aadtrace::capture::{har, CaptureError, InputSummary, ReadCtx};
use aadtrace::http::Exchange;
use libfuzzer_sys::fuzz_target;

fn touch(ex: &Exchange<'_>) {
    let _ = ex.request.body.decode();
    if let Some(r) = &ex.response {
        let _ = r.body.decode();
    }
    let _ = ex.status();
}

fn exchanges(
    read: impl FnOnce(&mut dyn FnMut(Exchange<'_>)) -> Result<InputSummary, CaptureError>,
) -> (Vec<String>, Result<InputSummary, CaptureError>) {
    let mut seen = Vec::new();
    let result = read(&mut |ex| {
        touch(&ex);
        seen.push(format!("{ex:?}"));
    });
    (seen, result)
}

fuzz_target!(|data: &[u8]| {
    let (fast, with_fast) = exchanges(|sink| har::read_slice(data, &ReadCtx::new("fuzz"), sink));
    let (slow, slice) =
        exchanges(|sink| har::read_slice_serde_only(data, &ReadCtx::new("fuzz"), sink));
    let stream = har::read_stream_serde_only(data, &ReadCtx::new("fuzz"), &mut |ex| touch(&ex));
    // A stream that fits in memory is held and read as the slice is.
    let (held, held_result) =
        exchanges(|sink| har::read_stream(data, &ReadCtx::new("fuzz"), sink));
    assert_eq!(held, fast, "a held stream and the slice differ");
    assert_eq!(format!("{held_result:?}"), format!("{with_fast:?}"));
    // The fast pass reads what serde reads, exchange for exchange. It may read
    // further: it does not check escapes inside strings it does not decode, where
    // serde stops the document.
    if format!("{with_fast:?}") == format!("{slice:?}") {
        assert_eq!(fast, slow, "fast pass and serde disagree");
    } else {
        assert!(
            with_fast.is_ok() && data.contains(&b'\\'),
            "{with_fast:?} / {slice:?}"
        );
        assert!(
            fast.starts_with(&slow),
            "fast pass lost exchanges serde read"
        );
    }
    // Both serde readers see the same bytes, so they must agree on success and
    // count. Exception: the slice reader skips unknown fields without checking
    // their UTF-8 (serde_json's slice scanner), the stream reader checks all.
    if std::str::from_utf8(data).is_err() {
        return;
    }
    match (slice, stream) {
        (Ok(a), Ok(b)) => assert_eq!(a.exchanges, b.exchanges),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("readers disagree: {a:?} / {b:?}"),
    }
});
