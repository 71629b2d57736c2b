//! Arbitrary bytes as a Network Monitor 2.x file, read both ways: through the frame
//! table (seekable) and record after record (stream). Neither may panic or hang.
#![no_main]

use aadtrace::capture::{netmon, ReadCtx};
use aadtrace::http::Exchange;
use libfuzzer_sys::fuzz_target;

fn touch(ex: Exchange<'_>) {
    let _ = ex.request.body.decode();
    let _ = ex.status();
}

fuzz_target!(|data: &[u8]| {
    // A valid magic and version most of the time, so the fuzzer reaches the frames.
    let mut input = data.to_vec();
    if input.len() >= 6 && input[0] & 1 == 0 {
        input[..4].copy_from_slice(b"GMBU");
        input[5] = 2;
    }
    let _ = netmon::read(
        std::io::Cursor::new(&input),
        &ReadCtx::new("fuzz"),
        &mut touch,
    );
    let _ = netmon::read_stream(&input[..], &ReadCtx::new("fuzz"), &mut touch);
});
