//! Arbitrary text into every message parser and the JWT helpers.
#![no_main]

use aadtrace::identity::{jwt, messages, observe};
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
    check_jwt(text);
    for (start, end) in find_jwts(text) {
        let found = &text[start..end];
        assert!(found.starts_with("eyJ"));
        check_jwt(found);
    }
});

/// Both ways of reading a JWT: the full decoding (redaction) and the light one
/// of token facts, which must accept every token the full one reads, with the
/// same claims in the same order.
fn check_jwt(token: &str) {
    let _ = observe::token_facts("id_token", token);
    let Some(t) = jwt::decode(token) else {
        return;
    };
    let _ = t.numeric_claim("exp");
    let _ = t.str_claim("tid");
    let light = jwt::read_claims(token, |form, claims| {
        let names = claims.map(|c| c.iter().map(|(n, _)| n.to_string()).collect());
        (form, names)
    });
    let (form, names): (_, Option<Vec<String>>) =
        light.expect("read_claims refused a token decode reads");
    assert_eq!(form, t.form);
    assert_eq!(names, t.claims.map(|c| c.keys().cloned().collect()));
}
