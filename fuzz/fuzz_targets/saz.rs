//! Arbitrary bytes into the SAZ reader (as a zip archive): it must never panic, and
//! bodies must decode or fail cleanly.
#![no_main]

use aadtrace::capture::{saz, ReadCtx};
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
    let _ = saz::read(
        std::io::Cursor::new(data),
        &ReadCtx::new("fuzz"),
        Some("fuzz"),
        &mut touch,
    );
});
