//! Error and protocol messages of the identity endpoints: OAuth error JSON, error
//! redirects, `error_description` texts, SOAP faults, token responses, SAS (MFA)
//! JSON and GetCredentialType replies. Grammar only: meaning is given elsewhere.
//!
//! STUB: to be implemented.

/// Every `AADSTS<digits>` in `text`, in order, without duplicates.
pub fn scan_aadsts(text: &str) -> Vec<u32> {
    let _ = text;
    Vec::new()
}

/// The ids ESTS appends to an `error_description`
/// (`… Trace ID: … Correlation ID: … Timestamp: …`, separated by spaces or CRLF).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescriptionIds {
    pub codes: Vec<u32>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
    /// The message without the trailing ids.
    pub message: String,
}

pub fn parse_error_description(text: &str) -> DescriptionIds {
    DescriptionIds {
        message: text.to_string(),
        ..Default::default()
    }
}

/// Token-endpoint (and other JSON) error body, RFC 6749 §5.2 plus Entra's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthError {
    pub error: String,
    pub error_description: Option<String>,
    pub error_codes: Vec<u32>,
    pub suberror: Option<String>,
    pub timestamp: Option<String>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub error_uri: Option<String>,
    pub claims: Option<String>,
}

/// Reads an OAuth error JSON body; `None` when `body` is not one.
pub fn parse_oauth_error(body: &str) -> Option<OAuthError> {
    let _ = body;
    None
}

/// An error carried by redirect or form_post parameters
/// (`error`, `error_description`, `error_subcode`, `error_uri`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamError {
    pub error: String,
    pub description: Option<String>,
    pub subcode: Option<String>,
}

/// Reads `error=…` from URL-encoded parameters (a query, a fragment or a form body).
pub fn parse_param_error(params: &str) -> Option<ParamError> {
    let _ = params;
    None
}

/// A SOAP fault (WS-Trust `rst2.srf`, Seamless SSO `usernamemixed`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoapFault {
    /// `psf:value` / `faultcode` / `s:Value` text.
    pub value: Option<String>,
    /// `psf:text` / `faultstring` / `s:Text` text.
    pub text: Option<String>,
    pub codes: Vec<u32>,
}

pub fn parse_soap_fault(xml: &str) -> Option<SoapFault> {
    let _ = xml;
    None
}

/// A successful token response (v1 numbers-as-strings and v2 numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenResponse {
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub expires_in: Option<i64>,
    pub access_token: Option<String>,
    pub id_token: Option<String>,
    pub has_refresh_token: bool,
    /// Device-code start reply (`user_code`, `interval`, `expires_in`).
    pub device_code_interval: Option<i64>,
}

pub fn parse_token_response(body: &str) -> Option<TokenResponse> {
    let _ = body;
    None
}

/// A SAS (MFA) JSON message: BeginAuth/EndAuth request or response
/// (key case varies: `FlowToken`/`flowToken`, `Ctx`/`ctx`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SasMessage {
    pub method: Option<String>,
    pub success: Option<bool>,
    pub result_value: Option<String>,
    pub message: Option<String>,
    pub auth_method_id: Option<String>,
    pub err_code: Option<i64>,
    pub retry: Option<bool>,
    pub session_id: Option<String>,
    pub correlation_id: Option<String>,
    /// Server `Timestamp` as written (`2022-05-20T15:15:11Z`).
    pub timestamp: Option<String>,
    pub entropy: Option<i64>,
    pub poll_count: Option<i64>,
    /// Secrets, kept only to link steps.
    pub flow_token: Option<String>,
    pub ctx: Option<String>,
}

pub fn parse_sas(body: &str) -> Option<SasMessage> {
    let _ = body;
    None
}

/// A GetCredentialType reply (ESTS or MSA).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialType {
    pub if_exists_result: Option<i64>,
    pub throttle_status: Option<i64>,
    pub pref_credential: Option<i64>,
    pub domain_type: Option<i64>,
    pub federation_redirect_url: Option<String>,
    /// Secret, kept only to link steps.
    pub flow_token: Option<String>,
}

pub fn parse_credential_type(body: &str) -> Option<CredentialType> {
    let _ = body;
    None
}
