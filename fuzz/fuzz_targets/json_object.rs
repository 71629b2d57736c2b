//! Arbitrary text read as a JSON object by the scanner and by serde_json
//! (`http::json_object`): the scanner may refuse what serde_json reads (the
//! object is then read by serde_json), but whatever it reads must be exactly
//! what serde_json reads, whole or as the prefix of a page.
#![no_main]

use aadtrace::http::json_object::JsonObject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for whole in [true, false] {
        if let Some(scanned) = JsonObject::scanned(text, whole) {
            let read = JsonObject::with_serde(text, whole)
                .expect("the scanner read what serde_json refuses");
            assert_eq!(scanned.members(), read.members(), "whole: {whole}");
        }
    }
});
