//! The AADSTS code catalogue: a data file compiled into the binary
//! (`data/aadsts.json`), so updating codes never needs a code change.
//!
//! The file is a JSON array of [`CodeInfo`] objects. It is parsed once, on first
//! use, and kept sorted by code. Its yardstick is Microsoft's reference page
//! "Microsoft Entra authentication and authorization error codes"; the wording is
//! our own. The flags have one meaning each, applied to every code:
//!
//! - `interrupt`: the code does not block the sign-in, which goes on after it
//!   (`observe::is_blocking` and the finding severity read it). Either an expected
//!   step the service asks for (MFA, "stay signed in?", consent, device-code
//!   polling, an external challenge), or, with `harmless`, a side attempt that
//!   failed without consequence.
//! - `harmless`: a side attempt that failed and the sign-in goes on without it
//!   (Seamless SSO falling back to the password page, a POST-only page reached
//!   with the back button). Always an `interrupt` too; worth a look only when the
//!   sign-in then fails and nothing else explains it.
//! - `transient`: a service-side fault that passes by itself; the finding says how
//!   long before the end of the trace it happened. Codes Microsoft sends to a
//!   support ticket (50000, 80014) or that block a tenant (90055) are not.
//! - `retry_helps`: retrying the same request unchanged, later, can succeed. The
//!   cause clears with time or with the sign-in's own progress (a fault passes, a
//!   limit lifts, a device-code poll sees the user finish); nobody changes the
//!   request, the password, the account, the device or the tenant first. So it is
//!   false for expired or revoked grants, lockouts and client loops, and for
//!   interrupts, whose next request differs.
//! - `documented`: the code is on Microsoft's reference page. Codes known only from
//!   sign-in pages, tools and support work are `false`, so a reader knows the
//!   meaning is not Microsoft's word.

use std::sync::OnceLock;

/// What kind of problem a code is, for grouping and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// App registration / request problem (developer fixes it).
    Application,
    /// The user's account or input.
    User,
    /// Conditional Access policy.
    ConditionalAccess,
    /// MFA / strong authentication.
    Mfa,
    /// Server-side or transient failure.
    Service,
    /// An expected interrupt, not a failure.
    Interrupt,
    /// Grant / token lifetime problem.
    Grant,
    /// Device identity.
    Device,
    /// Federation, pass-through auth, Seamless SSO.
    Federation,
    /// Tenant configuration.
    Tenant,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CodeInfo {
    pub code: u32,
    /// Short title (`strong authentication (MFA) required`).
    pub title: String,
    /// Plain-words explanation, our own wording.
    pub explanation: String,
    pub category: Category,
    /// Retrying the same request unchanged, later, can succeed (module doc).
    pub retry_helps: bool,
    /// A transient service-side failure (report how long ago, escalate if it persists).
    #[serde(default)]
    pub transient: bool,
    /// Does not block the sign-in: an expected step, or a harmless side failure.
    #[serde(default)]
    pub interrupt: bool,
    /// A side attempt that failed without consequence (implies `interrupt`).
    #[serde(default)]
    pub harmless: bool,
    /// On Microsoft's error-code reference page.
    #[serde(default = "on_microsofts_page")]
    pub documented: bool,
    pub next_steps: Vec<String>,
}

/// Entries without a `documented` field count as Microsoft's codes.
fn on_microsofts_page() -> bool {
    true
}

/// The catalogue's source, compiled in.
const DATA: &str = include_str!("../../data/aadsts.json");

fn catalogue() -> &'static [CodeInfo] {
    static CATALOGUE: OnceLock<Vec<CodeInfo>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        // The file is checked by the tests below; a broken file yields an empty
        // catalogue rather than a crash.
        let mut entries: Vec<CodeInfo> = serde_json::from_str(DATA).unwrap_or_default();
        entries.sort_by_key(|e| e.code);
        entries.dedup_by_key(|e| e.code);
        entries
    })
}

/// The entry for `code`, or `None` when the catalogue does not know it.
pub fn lookup(code: u32) -> Option<&'static CodeInfo> {
    let all = catalogue();
    all.binary_search_by_key(&code, |e| e.code)
        .ok()
        .map(|i| &all[i])
}

/// Every entry, sorted by code.
pub fn all() -> &'static [CodeInfo] {
    catalogue()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes seen in support work (the team's field notes on identity traffic),
    /// pairs split, the unknown 399287 left out; not all of them are on
    /// Microsoft's page.
    const WIRE_DOC_CODES: &[u32] = &[
        16000, 16001, 16003, 20001, 50000, 50001, 500011, 500021, 50005, 50011, 50012, 50013,
        500133, 50020, 500208, 500212, 500213, 50027, 50033, 50034, 500341, 50053, 50054, 50055,
        50056, 50057, 50058, 50059, 50064, 50072, 50074, 50076, 50078, 50079, 50086, 50087, 50088,
        50089, 50097, 50099, 50105, 50107, 50125, 50126, 50127, 50128, 50129, 50131, 50132, 50133,
        50135, 50140, 50143, 50144, 50155, 50158, 50168, 50173, 50180, 50181, 50182, 50187, 50194,
        50196, 50199, 500121, 50203, 51004, 51006, 53000, 530002, 530003, 53001, 53002, 53003,
        530031, 530032, 530035, 53004, 53011, 54005, 54009, 54010, 65001, 65004, 65005, 650056,
        650052, 70000, 70001, 7000112, 700011, 70002, 700016, 700025, 700027, 70003, 70004, 70005,
        700054, 70008, 700082, 700084, 70011, 70012, 70016, 70018, 70019, 70043, 7000215, 7000218,
        7000222, 75011, 80001, 80002, 80007, 80012, 80014, 81004, 81006, 81007, 81009, 81010,
        81011, 81012, 90002, 90006, 90014, 900144, 90033, 90055, 900561, 90072, 90094, 90095,
        9002313, 90120, 90124, 90130, 130503, 130504, 130505, 135010, 135011, 140000, 140001,
        240001,
    ];

    /// Catalogue codes that are not on Microsoft's "authentication and
    /// authorization error codes" page: known from sign-in pages, spray tools,
    /// library issues and support work.
    const NOT_ON_MICROSOFTS_PAGE: &[u32] = &[
        50054, 50181, 50182, 50203, 54009, 54010, 130502, 130503, 130504, 130505, 500121, 500201,
        500202, 500341, 530002, 530003, 530031, 700038, 700213, 700211, 700024, 500113, 900023,
        500200, 700003, 530021,
    ];

    /// Commonly seen codes the catalogue lacked before it was held against
    /// Microsoft's page (issue #11).
    const COMMON_CODES_ADDED: &[u32] = &[
        50142, 53010, 500014, 50014, 650057, 700022, 901002, 50148, 501481, 50003, 75005, 750054,
        50008, 50017, 700005, 700030, 90024, 90090, 80013, 900971, 90056, 50197, 700213, 700211,
        700024, 500113, 900023, 500200, 700003, 530021,
    ];

    /// Codes the analysis relies on by name.
    const REQUIRED: &[u32] = &[
        500121, 50076, 50079, 50126, 50053, 50057, 50055, 53003, 7000215, 70016, 70012, 50058,
        50140, 50074, 90033, 50033, 700016, 70008, 54005, 65001, 81006,
    ];

    fn entry(code: u32) -> &'static CodeInfo {
        lookup(code).unwrap_or_else(|| panic!("{code} is in the catalogue"))
    }

    #[test]
    fn data_file_parses_without_duplicates() {
        let raw: Vec<CodeInfo> = serde_json::from_str(DATA).expect("data/aadsts.json parses");
        let mut codes: Vec<u32> = raw.iter().map(|e| e.code).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "duplicate codes in data/aadsts.json");
        assert_eq!(all().len(), n);
        assert!(all().windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn entries_are_complete() {
        for e in all() {
            assert!(!e.title.trim().is_empty(), "{}", e.code);
            assert!(
                e.title.starts_with(|c: char| c.is_lowercase()),
                "{}: title should start lowercase",
                e.code
            );
            assert!(!e.explanation.trim().is_empty(), "{}", e.code);
            assert!(
                (2..=4).contains(&e.next_steps.len()),
                "{}: 2-4 next steps",
                e.code
            );
            assert!(
                e.next_steps.iter().all(|s| !s.trim().is_empty()),
                "{}",
                e.code
            );
            assert!((10_000..100_000_000).contains(&e.code), "{}", e.code);
            if e.interrupt {
                assert!(!e.transient, "{}: interrupt and transient", e.code);
            }
            // Harmless codes must not block a flow, and flows read `interrupt`.
            if e.harmless {
                assert!(e.interrupt, "{}: harmless but blocking", e.code);
            }
        }
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let e: CodeInfo = serde_json::from_str(
            r#"{"code": 12345, "title": "t", "explanation": "e", "category": "user",
                "retry_helps": false, "next_steps": ["a", "b"]}"#,
        )
        .unwrap();
        assert!(!e.transient && !e.interrupt && !e.harmless);
        assert!(e.documented);
    }

    #[test]
    fn every_reference_code_is_present() {
        let missing: Vec<u32> = WIRE_DOC_CODES
            .iter()
            .chain(REQUIRED)
            .chain(COMMON_CODES_ADDED)
            .copied()
            .filter(|&c| lookup(c).is_none())
            .collect();
        assert!(missing.is_empty(), "missing codes: {missing:?}");
        assert!(lookup(399287).is_none());
        assert!(lookup(0).is_none());
    }

    #[test]
    fn codes_off_microsofts_page_are_marked_undocumented() {
        for e in all() {
            assert_eq!(
                e.documented,
                !NOT_ON_MICROSOFTS_PAGE.contains(&e.code),
                "{}: documented flag",
                e.code
            );
        }
        // The field notes hold 14 codes that Microsoft's page lacks.
        let off_page: Vec<u32> = WIRE_DOC_CODES
            .iter()
            .copied()
            .filter(|&c| !entry(c).documented)
            .collect();
        assert_eq!(off_page.len(), 14, "{off_page:?}");
    }

    #[test]
    fn common_codes_added_have_wording() {
        for &c in COMMON_CODES_ADDED {
            let e = entry(c);
            assert!(e.explanation.len() > 40, "{c}: explanation");
            assert!(e.next_steps.iter().all(|s| s.len() > 20), "{c}: next steps");
        }
        assert!(entry(90024).transient && entry(90090).transient);
        assert!(entry(700213).title.contains("federated credential"));
    }

    #[test]
    fn interrupts_match_the_reference() {
        // Expected steps: the sign-in goes on after them.
        for c in [
            50058, 50072, 50074, 50125, 50140, 50158, 50168, 50199, 50203, 70016, 90095,
        ] {
            let e = entry(c);
            assert!(e.interrupt && !e.harmless, "{c} is an expected step");
        }
        // Harmless side failures: non-blocking, but no step of the sign-in.
        for c in [81006, 81012, 900561] {
            let e = entry(c);
            assert!(e.interrupt && e.harmless, "{c} is harmless");
        }
        // The flag drives the verdict: these no longer block a flow.
        assert!(crate::identity::observe::is_interrupt(50158));
        assert!(crate::identity::observe::is_interrupt(50168));
        // An error the user can recover from, not an expected step.
        assert!(!entry(16001).interrupt);
        assert!(!crate::identity::observe::is_interrupt(16001));
        assert_eq!(entry(16001).category, Category::User);
        let mfa = entry(500121);
        assert_eq!(mfa.category, Category::Mfa);
        assert!(!mfa.interrupt);
        assert_eq!(entry(53003).category, Category::ConditionalAccess);
        assert_eq!(entry(7000215).category, Category::Application);
        assert_eq!(entry(50126).category, Category::User);
    }

    #[test]
    fn transient_codes_match_the_reference() {
        let transient: Vec<u32> = all()
            .iter()
            .filter(|e| e.transient)
            .map(|e| e.code)
            .collect();
        assert_eq!(
            transient,
            [50033, 50087, 70012, 80002, 90006, 90024, 90033, 90090]
        );
        // "Open a support ticket", and a blocked tenant, are no passing faults.
        for c in [50000, 80014, 90055] {
            assert!(!entry(c).transient, "{c} is not transient");
        }
    }

    #[test]
    fn retry_helps_has_one_meaning() {
        // Sending the same request again cannot help, or is the fault.
        for c in [
            50173, 70008, 70043, 50196, 50053, 54005, 50126, 50000, 90055,
        ] {
            assert!(!entry(c).retry_helps, "{c}: a retry does not help");
        }
        for e in all() {
            // Besides passing faults, only causes that clear with time or with the
            // sign-in's own progress: a race between tiles (16001), the telephony
            // limit (50088), device-code polling (70016), logon hours (80012).
            let clears_by_itself = e.transient || [16001, 50088, 70016, 80012].contains(&e.code);
            assert_eq!(e.retry_helps, clears_by_itself, "{}: retry_helps", e.code);
        }
    }

    #[test]
    fn personal_accounts_on_v1_are_not_guests() {
        let e = entry(500201);
        assert!(e.title.contains("personal account") && e.title.contains("v1.0"));
        assert_eq!(e.category, Category::Application);
        assert!(!entry(50020).explanation.contains("500201"));
    }
}
