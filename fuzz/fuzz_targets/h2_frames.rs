//! Arbitrary bytes as both directions of an HTTP/2 connection: frames, padding,
//! CONTINUATION and HPACK must never panic, and closing yields exchanges cleanly.
#![no_main]

use aadtrace::http::h2::{Connection, PREFACE};
use aadtrace::stream::Dir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let server = "10.0.0.2:443".parse().unwrap();
    let mut c = Connection::new(0, 1, server, "https");
    if data.first().is_some_and(|b| b & 1 == 0) {
        c.client_data(PREFACE, 1, 0);
    }
    let mut rest = data;
    let mut frame = 2;
    while let Some((&ctl, tail)) = rest.split_first() {
        let n = ((ctl & 0x3f) as usize + 1).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        match ctl >> 6 {
            0 | 1 => c.client_data(chunk, frame, frame as i64),
            2 => c.server_data(chunk, frame, frame as i64),
            _ => c.gap(Dir::from_index(usize::from(ctl & 1)), 3),
        }
        let _ = c.take_done();
        let _ = c.oldest_open();
        frame += 1;
        rest = tail;
    }
    c.close(data.len() % 2 == 0);
    for ex in c.take_done() {
        let _ = ex.request.body.decode();
    }
});
