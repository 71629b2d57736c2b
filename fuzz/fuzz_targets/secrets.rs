//! Arbitrary text into the secret scanners, through both maskings (the
//! reports' constant and `redact`'s pseudonyms): no panic, and a report never
//! shows a `password=` value it was given.
#![no_main]

use aadtrace::redact::Masker;
use aadtrace::report::shown::Redactor;
use aadtrace::secrets::scan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let r = Redactor::new(true);
    let _ = r.url(text);
    let _ = r.params(text);
    let shown = r.text(text);
    let mut m = Masker::new();
    let _ = scan::url(&mut m, text);
    let _ = scan::free_text(&mut m, text);
    let _ = scan::multipart(&mut m, text, "b");
    // A plain `password=VALUE` after a space is always masked (unless the
    // input already holds the marker as ordinary text).
    if !text.contains("Fz9Secret") {
        let planted = format!("{text} password=Fz9Secret");
        assert!(!r.text(&planted).contains("Fz9Secret"), "{shown}");
    }
});
