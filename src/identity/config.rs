//! The `$Config` object of ESTS sign-in pages and the `ServerData` object of MSA pages.
//!
//! STUB: extraction to be implemented (brace matching, with or without line breaks,
//! `\u0026`, JS-literal `ServerData`).

/// Which page object was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageObject {
    /// ESTS `$Config={…};`
    #[default]
    EstsConfig,
    /// MSA `var ServerData = {…};` (JSON or JavaScript object literal)
    MsaServerData,
}

/// `serverDetails` of an ESTS page: where and when the page was rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDetails {
    /// Data centre (`dc`, e.g. `WEULR2`).
    pub data_centre: Option<String>,
    /// Slice (`slc`, e.g. `ProdSlices`).
    pub slice: Option<String>,
    /// Build from `ver.v` joined with dots (`2.1.12570.16`).
    pub build: Option<String>,
    /// Server time `rt` as written.
    pub rendered_at: Option<String>,
    /// Elapsed server ms `et`.
    pub elapsed_ms: Option<i64>,
    /// Role instance `ri`.
    pub instance: Option<String>,
}

/// MFA polling parameters announced by a `ConvergedTFA` page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polling {
    pub timeout_ms: Option<i64>,
    pub interval_ms: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// The fields of a sign-in page object that the analysis uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageConfig {
    pub object: PageObject,
    /// `pgid` (or `<meta name="PageID">`), e.g. `ConvergedSignIn`, `ConvergedError`.
    pub page_id: Option<String>,
    /// `hpgid`, the numeric twin of `pgid`.
    pub hpgid: Option<i64>,
    pub correlation_id: Option<String>,
    /// `sessionId` (ESTS) or `sUnauthSessionID` (MSA).
    pub session_id: Option<String>,
    pub server: Option<ServerDetails>,
    /// `sErrorCode` as written (`"50058"`, `"InvalidAccessPass"`).
    pub error_code: Option<String>,
    /// `iErrorCode`.
    pub numeric_error_code: Option<i64>,
    /// `strServiceExceptionMessage` (`"AADSTS50011: …"`).
    pub service_exception: Option<String>,
    /// `arrValErrs`, as strings.
    pub validation_errors: Vec<String>,
    /// `sErrTxt` (MSA and ESTS), `strMainMessage`, `strAdditionalMessage`.
    pub error_text: Option<String>,
    pub main_message: Option<String>,
    pub additional_message: Option<String>,
    pub polling: Polling,
    /// `authMethodId`s of `arrUserProofs` (MFA methods offered).
    pub user_proofs: Vec<String>,
    /// `sPOST_Username` or `sPrefillUsername` (PII: mask before showing).
    pub username: Option<String>,
    pub url_post: Option<String>,
    pub url_begin_auth: Option<String>,
    pub url_end_auth: Option<String>,
    /// `sFT` flow token (secret: used only to link steps, never shown).
    pub flow_token: Option<String>,
    /// `sCtx` (secret: used only to link steps, never shown).
    pub ctx: Option<String>,
    /// Tenant-ish hints: `sTenantId`/`tenantId` if present.
    pub tenant: Option<String>,
}

/// Finds and reads `$Config` or `ServerData` in an HTML page. `None` when absent
/// or unreadable; never panics.
pub fn extract_page_config(html: &str) -> Option<PageConfig> {
    let _ = html;
    None
}
