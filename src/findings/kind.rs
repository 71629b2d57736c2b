//! The closed set of finding kinds. A rule can only report a kind declared
//! here; a reader warning becomes the finding kind of its [`WarningCode`]. The
//! snake_case name is the JSON contract (`findings[].kind`, Parquet `kind`),
//! and each name has its wording in `data/findings.json` (the tests below
//! check both directions: every kind has an entry, every entry is a kind).

use std::fmt;

use crate::capture::WarningCode;

/// Declares the rule kinds, their names and their list from one table.
macro_rules! finding_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What a finding is about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingKind {
            $($(#[$doc])* $variant,)+
            /// Damage a reader reported and worked around.
            Input(WarningCode),
        }

        impl FindingKind {
            /// The kinds the analysis rules report (reader warnings excluded).
            pub const RULES: &'static [FindingKind] = &[$(FindingKind::$variant,)+];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingKind::$variant => $name,)+
                    FindingKind::Input(code) => code.as_str(),
                }
            }
        }
    };
}

finding_kinds! {
    // What the service answered.
    /// An AADSTS code in an answer.
    AadstsError => "aadsts_error",
    /// An OAuth `error` without an AADSTS code.
    OauthError => "oauth_error",
    /// A service's own code (Microsoft account, AD FS, WS-Trust).
    ServiceError => "service_error",
    /// A non-2xx/3xx answer on the sign-in path.
    HttpError => "http_error",
    /// Failures outside any sign-in, summed up once.
    UnrelatedFailures => "unrelated_failures",
    // MFA.
    MfaTimeout => "mfa_timeout",
    MfaDenied => "mfa_denied",
    MfaAbandoned => "mfa_abandoned",
    MfaFailed => "mfa_failed",
    MfaPending => "mfa_pending",
    MfaFatigue => "mfa_fatigue",
    // Time.
    SlowResponse => "slow_response",
    ClockSkew => "clock_skew",
    RedirectLoop => "redirect_loop",
    RetryStorm => "retry_storm",
    // What the trace holds.
    /// No sign-in traffic at all.
    NoSignIn => "no_sign_in",
    /// A flow whose first step is not in the trace.
    SignInStartMissing => "sign_in_start_missing",
    /// A failed answer whose body the trace does not hold.
    ErrorBodyMissing => "error_body_missing",
    // Connections.
    TlsUndecrypted => "tls_undecrypted",
    TcpReset => "tcp_reset",
    TlsAlert => "tls_alert",
}

impl FindingKind {
    /// Every kind: the rules' kinds, then every reader warning code.
    pub fn all() -> impl Iterator<Item = FindingKind> {
        Self::RULES
            .iter()
            .copied()
            .chain(WarningCode::ALL.iter().map(|&c| FindingKind::Input(c)))
    }
}

impl From<WarningCode> for FindingKind {
    fn from(code: WarningCode) -> Self {
        FindingKind::Input(code)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FindingKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lets tests and filters compare with the contract's name.
impl PartialEq<&str> for FindingKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = FindingKind::all().map(FindingKind::as_str).collect();
        let n = names.len();
        assert!(names.iter().all(|s| s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "two kinds share a name");
    }

    #[test]
    fn every_kind_has_wording_and_every_wording_a_kind() {
        let data = crate::findings::kinds();
        for kind in FindingKind::all() {
            let info = data.iter().find(|k| k.kind == kind.as_str());
            let info = info.unwrap_or_else(|| panic!("{kind} has no entry in data/findings.json"));
            assert!(
                !info.title.is_empty() && !info.next_steps.is_empty(),
                "{kind}"
            );
        }
        for entry in data {
            // The one generic entry is the fallback wording, not a kind.
            assert!(
                entry.kind == "input_warning"
                    || FindingKind::all().any(|k| k == entry.kind.as_str()),
                "data/findings.json has `{}`, which no rule reports",
                entry.kind
            );
        }
    }

    #[test]
    fn serialises_as_its_name() {
        for kind in FindingKind::all() {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
    }

    /// `docs/findings.md` is written from `data/findings.json`, so the user's
    /// list of kinds cannot drift from what the tool reports.
    #[test]
    fn docs_list_every_kind_with_its_wording() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md");
        let want = findings_doc();
        if std::env::var_os("AADTRACE_BLESS_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/findings.md is out of date: run `AADTRACE_BLESS_DOCS=1 cargo test --lib docs_` and commit it"
        );
    }

    fn findings_doc() -> String {
        let mut out = String::from(
            "# Finding kinds\n\n\
             Every finding in a report has a `kind` (`findings[].kind` in the JSON report, `kind` in\n\
             the Parquet `findings` table). This list is written from `data/findings.json` by a test,\n\
             so it is always the tool's own. The severity shown is the default; the rules adjust\n\
             it to what happened around the finding: an error the same flow later recovered from is\n\
             a `warning`, expected interrupts (50058 on the first page, device-code 70016) are\n\
             `info`, and the last error of a failed flow is always an `error`.\n",
        );
        let sections = [
            ("What happened to the sign-in", FindingKind::RULES.to_vec()),
            (
                "What the trace itself shows (reader warnings)",
                WarningCode::ALL
                    .iter()
                    .map(|&c| FindingKind::Input(c))
                    .collect(),
            ),
        ];
        for (heading, kinds) in sections {
            out.push_str(&format!("\n## {heading}\n"));
            for kind in kinds {
                let info = crate::findings::kind_info(kind);
                out.push_str(&format!(
                    "\n### `{kind}` ({})\n\n**{}.** {}\n\nNext steps:\n",
                    info.severity.name(),
                    info.title.trim_end_matches('.'),
                    info.explanation
                ));
                for step in &info.next_steps {
                    out.push_str(&format!("- {step}\n"));
                }
            }
        }
        out
    }
}
