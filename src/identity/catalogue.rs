//! The AADSTS code catalogue: a data file compiled into the binary
//! (`data/aadsts.json`), so updating codes never needs a code change.
//!
//! The file is a JSON array of [`CodeInfo`] objects. It is parsed once, on first
//! use, and kept sorted by code.

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
    /// Can the same request succeed if retried (now or later)?
    pub retry_helps: bool,
    /// A transient service-side failure (report how long ago, escalate if it persists).
    #[serde(default)]
    pub transient: bool,
    /// An expected interrupt that looks like an error but is a normal step.
    #[serde(default)]
    pub interrupt: bool,
    pub next_steps: Vec<String>,
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

    /// Every code of the AADSTS table in the identity-wire reference (section 4),
    /// pairs split, the unknown 399287 left out.
    const DOC_CODES: &[u32] = &[
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

    /// Codes the analysis relies on by name.
    const REQUIRED: &[u32] = &[
        500121, 50076, 50079, 50126, 50053, 50057, 50055, 53003, 7000215, 70016, 70012, 50058,
        50140, 50074, 90033, 50033, 700016, 70008, 54005, 65001, 81006,
    ];

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
        }
    }

    #[test]
    fn every_documented_code_is_present() {
        let missing: Vec<u32> = DOC_CODES
            .iter()
            .chain(REQUIRED)
            .copied()
            .filter(|&c| lookup(c).is_none())
            .collect();
        assert!(missing.is_empty(), "missing codes: {missing:?}");
        assert!(lookup(399287).is_none());
        assert!(lookup(0).is_none());
    }

    #[test]
    fn flags_match_the_reference() {
        for c in [
            50058, 50140, 70016, 50074, 50072, 50199, 90095, 50203, 900561,
        ] {
            assert!(lookup(c).unwrap().interrupt, "{c} is an interrupt");
        }
        for c in [70012, 50033, 90033, 90006, 90055, 80002, 80014] {
            let e = lookup(c).unwrap();
            assert!(e.transient && e.retry_helps, "{c} is transient");
        }
        let mfa = lookup(500121).unwrap();
        assert_eq!(mfa.category, Category::Mfa);
        assert!(!mfa.interrupt);
        assert_eq!(lookup(53003).unwrap().category, Category::ConditionalAccess);
        assert_eq!(lookup(7000215).unwrap().category, Category::Application);
        assert_eq!(lookup(50126).unwrap().category, Category::User);
        assert!(!lookup(54005).unwrap().retry_helps);
    }
}
