//! Arbitrary text into every message parser and the JWT helpers.
#![no_main]

use aadtrace::identity::{jwt, messages};
use aadtrace::secrets::scan::find_jwts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let codes = messages::scan_aadsts(text);
    let ids = messages::parse_error_description(text);
    assert!(ids.codes.len() <= codes.len() + text.len());
    assert!(ids.message.len() <= text.len() + 1);
    if let Some(e) = messages::parse_oauth_error(text) {
        if let Some(d) = e.error_description.as_deref() {
            let _ = messages::parse_error_description(d);
        }
    }
    if let Some(e) = messages::parse_param_error(text) {
        if let Some(d) = e.description.as_deref() {
            let _ = messages::parse_error_description(d);
        }
    }
    let _ = messages::parse_soap_fault(text);
    let _ = messages::parse_token_response(text);
    let _ = messages::parse_sas(text);
    let _ = messages::parse_credential_type(text);
    if let Some(t) = jwt::decode(text) {
        let _ = t.numeric_claim("exp");
        let _ = t.str_claim("tid");
    }
    for (start, end) in find_jwts(text) {
        let found = &text[start..end];
        assert!(found.starts_with("eyJ"));
        if let Some(t) = jwt::decode(found) {
            let _ = t.numeric_claim("iat");
        }
    }
});
