//! The offline catalogue of the sign-in services' own error codes that are not
//! AADSTS numbers: Microsoft-account page and IDCRL codes (`80049C34`,
//! `0x80048821`), AD FS event ids (`ID3242`, `MSIS7012`) and WS-Trust fault
//! subcodes (`FailedAuthentication`). Like the AADSTS catalogue it is data
//! (`data/service_codes.json`) compiled into the binary. The MSA meanings come
//! from Microsoft's pages and client code, not from a published reference, so
//! the wording says what support can check rather than more than is known.

use std::sync::OnceLock;

/// What one service code means.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ServiceCode {
    pub code: String,
    /// The service that writes it: `Microsoft account`, `AD FS`, `WS-Trust`.
    pub service: String,
    pub title: String,
    pub explanation: String,
    pub next_steps: Vec<String>,
}

fn all() -> &'static [ServiceCode] {
    static CODES: OnceLock<Vec<ServiceCode>> = OnceLock::new();
    CODES.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/service_codes.json"))
            .expect("data/service_codes.json is valid (checked by a unit test)")
    })
}

/// The entry for `code`, compared case-insensitively; a namespace prefix
/// (`a:FailedAuthentication`) is ignored.
pub fn lookup(code: &str) -> Option<&'static ServiceCode> {
    let local = code.rsplit(':').next().unwrap_or(code).trim();
    all().iter().find(|c| c.code.eq_ignore_ascii_case(local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_valid_and_found() {
        assert!(all().len() >= 10);
        assert!(all()
            .iter()
            .all(|c| !c.title.is_empty() && !c.explanation.is_empty() && !c.next_steps.is_empty()));
        assert_eq!(lookup("80049c34").unwrap().service, "Microsoft account");
        assert_eq!(lookup("ID3242").unwrap().service, "AD FS");
        assert_eq!(
            lookup("a:FailedAuthentication").unwrap().service,
            "WS-Trust"
        );
        assert!(lookup("12345678").is_none());
    }
}
