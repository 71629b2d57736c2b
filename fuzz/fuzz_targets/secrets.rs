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
    // input already holds the marker as ordinary text). The text before it may
    // spell the marker once redacted (`?z9Secret` written back encoded is
    // `%3Fz9Secret`), so the planted value must add no marker of its own.
    if !text.contains("Fz9Secret") {
        let planted = format!("{text} password=Fz9Secret");
        let markers = |s: &str| s.matches("Fz9Secret").count();
        assert!(
            markers(&r.text(&planted)) <= markers(&shown),
            "{shown} / {}",
            r.text(&planted)
        );
    }
});
