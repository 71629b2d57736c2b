//! Arbitrary bytes into both NetLog readers: they must never panic, bodies must
//! decode or fail cleanly, and the slice and stream readers must agree.
#![no_main]

use aadtrace::capture::{netlog, ReadCtx};
use aadtrace::http::Exchange;
use libfuzzer_sys::fuzz_target;

fn touch(ex: Exchange<'_>) {
    let _ = ex.request.body.decode();
    if let Some(r) = &ex.response {
        let _ = r.body.text();
    }
    let _ = ex.status();
}

fuzz_target!(|data: &[u8]| {
    let slice = netlog::read_slice(data, &ReadCtx::new("fuzz"), &mut touch);
    let stream = netlog::read_stream(data, &ReadCtx::new("fuzz"), &mut touch);
    // The slice reader skips unknown content without checking its UTF-8; the stream
    // reader validates everything, so only valid UTF-8 must agree.
    if std::str::from_utf8(data).is_err() {
        return;
    }
    match (slice, stream) {
        (Ok(a), Ok(b)) => assert_eq!(a.exchanges, b.exchanges),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("readers disagree: {a:?} / {b:?}"),
    }
});
