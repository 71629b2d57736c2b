//! Arbitrary header blocks into one HPACK decoder (the dynamic table carries over
//! between blocks), and arbitrary Huffman strings: errors, never panics.
#![no_main]

use aadtrace::http::hpack::{huffman_decode, Decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new();
    for block in data.split(|&b| b == 0xfe) {
        let _ = d.decode(block);
        assert!(d.table_size() <= 1 << 20);
    }
    let _ = huffman_decode(data);
});
