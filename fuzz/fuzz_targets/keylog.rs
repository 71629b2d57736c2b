//! Arbitrary text as an NSS key log: bad lines are counted, never a panic.
#![no_main]

use aadtrace::capture::keylog::KeyLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut k = KeyLog::new();
    k.add_text(&String::from_utf8_lossy(data), "fuzz");
    let mut all = KeyLog::new();
    all.merge(&k);
    assert_eq!(all.sessions(), k.sessions());
    let _ = k.get(&[0u8; 32]);
});
