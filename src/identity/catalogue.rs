//! The AADSTS code catalogue: a data file compiled into the binary
//! (`data/aadsts.json`), so updating codes never needs a code change.
//!
//! STUB: to be implemented.

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

/// The entry for `code`, or `None` when the catalogue does not know it.
pub fn lookup(code: u32) -> Option<&'static CodeInfo> {
    let _ = code;
    None
}

/// Every entry, sorted by code.
pub fn all() -> &'static [CodeInfo] {
    &[]
}
