//! Arbitrary bytes as a pcap or pcapng stream through the whole packet pipeline
//! (`capture::pcap::read`: frames → wire → TCP reassembly → TLS/HTTP/1): it must never
//! panic, hang or grow without bound. The first byte picks the format by prefixing a
//! file header, so the fuzzer need not discover the magic numbers first.
#![no_main]

use aadtrace::capture::{pcap, ReadCtx};
use aadtrace::http::Exchange;
use libfuzzer_sys::fuzz_target;

fn touch(ex: Exchange<'_>) {
    let _ = ex.request.body.decode();
    if let Some(r) = &ex.response {
        let _ = r.body.text();
    }
    let _ = ex.status();
}

/// pcap file header: LE, microseconds, v2.4, snaplen 65535, Ethernet.
const PCAP_HEAD: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];
/// pcapng SHB (28 bytes, LE) and an Ethernet IDB (20 bytes).
const PCAPNG_HEAD: [u8; 48] = [
    0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 20,
    0, 0, 0,
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::with_capacity(rest.len() + 48);
    match mode % 3 {
        0 => input.extend_from_slice(&PCAP_HEAD),
        1 => input.extend_from_slice(&PCAPNG_HEAD),
        _ => {}
    }
    input.extend_from_slice(rest);
    let _ = pcap::read(
        std::io::Cursor::new(input),
        &ReadCtx::new("fuzz"),
        &mut touch,
    );
});
