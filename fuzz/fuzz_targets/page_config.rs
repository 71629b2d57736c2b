//! Arbitrary bytes (read as lossy UTF-8) into `$Config` / `ServerData` extraction.
#![no_main]

use aadtrace::identity::config::extract_page_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    if let Some(config) = extract_page_config(&html) {
        // Touch the result so nothing is optimised away.
        let _ = config.page_id.as_deref().map(str::len);
        let _ = config.user_proofs.len() + config.validation_errors.len();
    }
});
