//! Arbitrary bytes into both HAR readers: they must never panic, and bodies must
//! decode or fail cleanly.
#![no_main]

use aadtrace::capture::{har, NoProgress};
use aadtrace::http::Exchange;
use libfuzzer_sys::fuzz_target;

fn touch(ex: Exchange<'_>) {
    let _ = ex.request.body.decode();
    if let Some(r) = &ex.response {
        let _ = r.body.decode();
    }
    let _ = ex.status();
}

fuzz_target!(|data: &[u8]| {
    let slice = har::read_slice(data, "fuzz", 0, &NoProgress, &mut touch);
    let stream = har::read_stream(data, "fuzz", 0, &NoProgress, &mut touch);
    // Both readers see the same bytes, so they must agree on success and count.
    // Exception: the slice reader skips unknown fields without checking their UTF-8
    // (serde_json's slice scanner), the stream reader validates everything it reads.
    if std::str::from_utf8(data).is_err() {
        return;
    }
    match (slice, stream) {
        (Ok(a), Ok(b)) => assert_eq!(a.exchanges, b.exchanges),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("readers disagree: {a:?} / {b:?}"),
    }
});
