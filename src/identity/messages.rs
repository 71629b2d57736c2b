//! Error and protocol messages of the identity endpoints: OAuth error JSON, error
//! redirects, `error_description` texts, SOAP faults, token responses, SAS (MFA)
//! JSON and GetCredentialType replies. Grammar only: meaning is given elsewhere.
//!
//! Every parser is total: invalid input gives `None` (or an empty result), never a
//! panic.

use std::borrow::Cow;

use serde_json::Value;

use crate::http::json_object::{self, JsonObject};

/// Every `AADSTS<digits>` in `text`, in order, without duplicates.
///
/// The prefix is case-sensitive; 5 to 7 digits are accepted, and a longer run of
/// digits is not a code.
pub fn scan_aadsts(text: &str) -> Vec<u32> {
    let bytes = text.as_bytes();
    let mut codes = Vec::new();
    // Built once: every identity response and description is searched.
    static AADSTS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("AADSTS"));
    for pos in AADSTS.find_iter(bytes) {
        let digits = &bytes[pos + 6..];
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(5..=7).contains(&n) {
            continue;
        }
        let code = digits[..n]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
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

const TRACE_LABEL: &str = "Trace ID:";
const CORRELATION_LABEL: &str = "Correlation ID:";
const TIMESTAMP_LABEL: &str = "Timestamp:";

/// The value after `label` in `text`: the next whitespace-separated token, or for
/// the timestamp everything up to the end of the line / the next label.
fn labelled_value(text: &str, label: &str, rest_of_line: bool) -> Option<String> {
    let at = text.find(label)?;
    let after = text[at + label.len()..].trim_start_matches([' ', '\t', '\r', '\n', '+']);
    let value = if rest_of_line {
        let end = after
            .find(['\r', '\n'])
            .into_iter()
            .chain(after.find(TRACE_LABEL))
            .chain(after.find(CORRELATION_LABEL))
            .min()
            .unwrap_or(after.len());
        after[..end].trim_end_matches([' ', '+', '"', '\t'])
    } else {
        let end = after
            .find(|c: char| c.is_whitespace() || c == '+' || c == '"' || c == ',')
            .unwrap_or(after.len());
        &after[..end]
    };
    let value = value.trim();
    (!value.is_empty()).then(|| value.replace('+', " "))
}

/// Splits an ESTS `error_description` into its codes, message and trailing ids.
pub fn parse_error_description(text: &str) -> DescriptionIds {
    // `%0d%0a` forms arrive URL-decoded; `+` for spaces may survive when the
    // caller did not decode pluses ("Trace+ID:+…"): read those with spaces.
    let spaced = text.contains(TRACE_LABEL) || text.contains(CORRELATION_LABEL);
    let normalised;
    let text = if !spaced && (text.contains("Trace+ID:") || text.contains("Correlation+ID:")) {
        normalised = text.replace('+', " ");
        normalised.as_str()
    } else {
        text
    };
    let ids_start = [TRACE_LABEL, CORRELATION_LABEL, TIMESTAMP_LABEL]
        .iter()
        .filter_map(|l| text.find(l))
        .min();
    let message = match ids_start {
        Some(i) => &text[..i],
        None => text,
    };
    DescriptionIds {
        codes: scan_aadsts(text),
        trace_id: labelled_value(text, TRACE_LABEL, false),
        correlation_id: labelled_value(text, CORRELATION_LABEL, false),
        timestamp: labelled_value(text, TIMESTAMP_LABEL, true),
        message: message
            .trim_end_matches([' ', '\r', '\n', '\t', '+'])
            .trim_start()
            .to_string(),
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

/// Parses `body` as a JSON object, tolerating a UTF-8 BOM and surrounding space.
pub fn json_object(body: &str) -> Option<JsonObject<'_>> {
    JsonObject::parse(body)
}

fn get_str(map: &JsonObject<'_>, key: &str) -> Option<String> {
    map.str(key).map(String::from)
}

/// An integer written as a JSON number or as a numeric string (a fraction is
/// truncated); the one reading of integers for every identity message and JWT claim.
pub fn value_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

fn get_i64(map: &JsonObject<'_>, key: &str) -> Option<i64> {
    value_i64(&map.get(key)?)
}

/// Reads an OAuth error JSON body; `None` when `body` is not one.
pub fn parse_oauth_error(body: &str) -> Option<OAuthError> {
    let map = json_object(body)?;
    let error = get_str(&map, "error")?;
    let error_codes = match map.get("error_codes") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(value_i64)
            .filter_map(|i| u32::try_from(i).ok())
            .collect(),
        _ => Vec::new(),
    };
    let claims = match map.get("claims") {
        Some(Value::String(s)) => Some(s),
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        _ => None,
    };
    Some(OAuthError {
        error,
        error_description: get_str(&map, "error_description"),
        error_codes,
        suberror: get_str(&map, "suberror"),
        timestamp: get_str(&map, "timestamp"),
        trace_id: get_str(&map, "trace_id"),
        correlation_id: get_str(&map, "correlation_id"),
        error_uri: get_str(&map, "error_uri"),
        claims,
    })
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
    // Accept a whole URL or a leading `?`/`#`.
    let params = match params.find(['?', '#']) {
        Some(i) if !params[..i].contains('=') => &params[i + 1..],
        _ => params,
    };
    let mut out: Option<ParamError> = None;
    let mut description = None;
    let mut subcode = None;
    for pair in crate::http::form::pairs(params) {
        match pair.name.as_ref() {
            "error" if out.is_none() && !pair.value_is_empty() => {
                out = Some(ParamError {
                    error: pair.value().into_owned(),
                    ..Default::default()
                })
            }
            "error_description" if description.is_none() => {
                description = Some(pair.value().into_owned())
            }
            "error_subcode" if subcode.is_none() => subcode = Some(pair.value().into_owned()),
            _ => {}
        }
    }
    let mut out = out?;
    out.description = description;
    out.subcode = subcode;
    Some(out)
}

/// A SOAP fault (WS-Trust `rst2.srf`, Seamless SSO `usernamemixed`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoapFault {
    /// `psf:value` / `faultcode` / `s:Value` text.
    pub value: Option<String>,
    /// `psf:text` / `faultstring` / `s:Text` text.
    pub text: Option<String>,
    /// The SOAP 1.2 `Subcode` value (`a:FailedAuthentication`): the WS-Trust
    /// reason (WS-Trust 1.4 §11), more telling than the generic `s:Sender`.
    pub subcode: Option<String>,
    pub codes: Vec<u32>,
}

/// Decodes the five predefined XML entities and numeric character references.
fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The local name of a tag name (`psf:text` → `text`).
fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// The text content of the first element whose local name is one of `names`
/// (case-insensitive) or whose full name is one of `names`, with non-empty text.
/// Nested markup inside the element is dropped. Linear in `xml`.
fn element_text(xml: &str, wanted: &[&str]) -> Option<String> {
    let bytes = xml.as_bytes();
    let mut from = 0;
    while let Some(rel) = memchr::memchr(b'<', &bytes[from..]) {
        let start = from + rel;
        from = start + 1;
        let name_start = start + 1;
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.'))
            .count();
        if name_len == 0 {
            continue;
        }
        let name = &xml[name_start..name_start + name_len];
        if !wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case(name) || w.eq_ignore_ascii_case(local_name(name)))
        {
            continue;
        }
        // End of the start tag.
        let gt = memchr::memchr(b'>', &bytes[name_start + name_len..])?;
        let content_start = name_start + name_len + gt + 1;
        if bytes[content_start - 2] == b'/' {
            // Self-closing: empty element.
            from = content_start;
            continue;
        }
        let close = format!("</{name}");
        let len = memchr::memmem::find(&bytes[content_start..], close.as_bytes())?;
        let content_end = content_start + len;
        from = content_end;
        let inner = &xml[content_start..content_end];
        let text = strip_tags(inner);
        let text = xml_unescape(text.trim());
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        return Some(text.to_string());
    }
    None
}

/// Drops markup (and CDATA brackets) from a fragment, keeping the text.
fn strip_tags(s: &str) -> String {
    let s = s.replace("<![CDATA[", "").replace("]]>", "");
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    // Collapse the whitespace that nested elements leave behind.
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a SOAP fault; `None` when `xml` has no `Fault` element.
pub fn parse_soap_fault(xml: &str) -> Option<SoapFault> {
    let has_fault = memchr::memmem::find_iter(xml.as_bytes(), b"Fault").any(|i| {
        // `<S:Fault`, `<soap:Fault`, `<Fault`, and `psf:` elements inside one.
        i > 0 && matches!(xml.as_bytes()[i - 1], b':' | b'<')
    });
    if !has_fault {
        return None;
    }
    let text = element_text(xml, &["psf:text"])
        .or_else(|| element_text(xml, &["faultstring"]))
        .or_else(|| element_text(xml, &["Text"]));
    // `psf:value` first: `S:Value` of a SOAP 1.2 fault is the generic `S:Sender`.
    let value =
        element_text(xml, &["psf:value"]).or_else(|| element_text(xml, &["faultcode", "Value"]));
    let subcode = element_text(xml, &["Subcode"]);
    let mut codes = text.as_deref().map(scan_aadsts).unwrap_or_default();
    if codes.is_empty() {
        codes = scan_aadsts(xml);
    }
    if text.is_none() && value.is_none() && codes.is_empty() {
        return None;
    }
    Some(SoapFault {
        value,
        text,
        subcode,
        codes,
    })
}

/// The AD FS event id a message starts with or names (`ID3242`, `MSIS7012`):
/// AD FS and WIF write them at the head of fault reasons and error pages.
pub fn adfs_event_id(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for prefix in ["MSIS", "ID"] {
        let mut from = 0;
        while let Some(rel) = memchr::memmem::find(&bytes[from..], prefix.as_bytes()) {
            let at = from + rel;
            from = at + prefix.len();
            let boundary = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let digits = bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let ends = bytes
                .get(from + digits)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
            if boundary && (4..=5).contains(&digits) && ends {
                return Some(text[at..from + digits].to_string());
            }
        }
    }
    None
}

/// A Microsoft-account error code as its pages and faults write it: eight hex
/// digits (`80049C34`, `0x80048821`), returned upper-case without `0x`.
pub fn msa_code(text: &str) -> Option<String> {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    (hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_uppercase())
}

/// A successful token response (v1 numbers-as-strings and v2 numbers). Strings
/// are borrowed from the body when they have no escapes: a reply's tokens are
/// kilobytes, and only their claims are kept (issue #15).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenResponse<'a> {
    pub token_type: Option<Cow<'a, str>>,
    pub scope: Option<Cow<'a, str>>,
    pub expires_in: Option<i64>,
    pub access_token: Option<Cow<'a, str>>,
    pub id_token: Option<Cow<'a, str>>,
    pub has_refresh_token: bool,
    /// Device-code start reply (`user_code`, `interval`, `expires_in`).
    pub device_code_interval: Option<i64>,
    /// The device code a device-code start reply hands out (a secret: only its
    /// hash is kept, to link the polling that sends it back).
    pub device_code: Option<Cow<'a, str>>,
}

/// Reads a token (or device-code start) reply; `None` when it carries no token and
/// no device code.
pub fn parse_token_response(body: &str) -> Option<TokenResponse<'_>> {
    let map = json_object(body)?;
    let non_empty = |k: &str| map.str(k).filter(|s| !s.is_empty());
    let access_token = non_empty("access_token");
    let id_token = non_empty("id_token");
    let has_refresh_token = non_empty("refresh_token").is_some();
    let device_code = non_empty("device_code");
    let is_device_start = device_code.is_some() || non_empty("user_code").is_some();
    if access_token.is_none() && id_token.is_none() && !has_refresh_token && !is_device_start {
        return None;
    }
    Some(TokenResponse {
        token_type: map.str("token_type"),
        scope: map.str("scope"),
        expires_in: get_i64(&map, "expires_in"),
        access_token,
        id_token,
        has_refresh_token,
        device_code_interval: if is_device_start {
            get_i64(&map, "interval")
        } else {
            None
        },
        device_code,
    })
}

/// A SAS (MFA) JSON message: BeginAuth/EndAuth request or response
/// (key case varies: `FlowToken`/`flowToken`, `Ctx`/`ctx`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SasMessage<'a> {
    pub method: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    pub result_value: Option<Cow<'a, str>>,
    pub message: Option<Cow<'a, str>>,
    pub auth_method_id: Option<Cow<'a, str>>,
    pub err_code: Option<i64>,
    pub retry: Option<bool>,
    pub session_id: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    /// Server `Timestamp` as written (`2022-05-20T15:15:11Z`).
    pub timestamp: Option<Cow<'a, str>>,
    pub entropy: Option<i64>,
    pub poll_count: Option<i64>,
    /// Secrets, kept only to link steps.
    pub flow_token: Option<Cow<'a, str>>,
    pub ctx: Option<Cow<'a, str>>,
}

/// A case-insensitive key lookup (exact match preferred), decoded.
fn get_ci(map: &JsonObject<'_>, key: &str) -> Option<Value> {
    map.get_ci(key)
}

/// A string member (any key case), or a number written as text. Borrowed from
/// the body when it has no escapes: an MFA poll's reply is read for nine of
/// them, its flow token hundreds of bytes (issue #15).
fn ci_str<'a>(map: &JsonObject<'a>, key: &str) -> Option<Cow<'a, str>> {
    let raw = map.raw_ci(key)?;
    if raw.get().starts_with('"') {
        // Most members are strings: decoded without a `Value`.
        return json_object::string(raw);
    }
    match json_object::decode(raw)? {
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Reads a SAS BeginAuth/EndAuth request or response; `None` unless a SAS-specific
/// key (`ResultValue`, `AuthMethodId`, `Method`, or `Success` with `FlowToken`) is
/// present.
pub fn parse_sas(body: &str) -> Option<SasMessage<'_>> {
    sas_of(&json_object(body)?)
}

/// [`parse_sas`] of a body already parsed.
pub fn sas_of<'a>(map: &JsonObject<'a>) -> Option<SasMessage<'a>> {
    let has = |k: &str| map.raw_ci(k).is_some_and(|v| !json_object::is_null(v));
    let is_sas = has("ResultValue")
        || has("AuthMethodId")
        || has("Method")
        || (has("Success") && has("FlowToken"));
    if !is_sas {
        return None;
    }
    Some(SasMessage {
        method: ci_str(map, "Method"),
        success: get_ci(map, "Success").as_ref().and_then(value_bool),
        result_value: ci_str(map, "ResultValue"),
        message: ci_str(map, "Message"),
        auth_method_id: ci_str(map, "AuthMethodId"),
        err_code: get_ci(map, "ErrCode").as_ref().and_then(value_i64),
        retry: get_ci(map, "Retry").as_ref().and_then(value_bool),
        session_id: ci_str(map, "SessionId"),
        correlation_id: ci_str(map, "CorrelationId"),
        timestamp: ci_str(map, "Timestamp"),
        entropy: get_ci(map, "Entropy").as_ref().and_then(value_i64),
        poll_count: get_ci(map, "PollCount").as_ref().and_then(value_i64),
        flow_token: ci_str(map, "FlowToken"),
        ctx: ci_str(map, "Ctx"),
    })
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

/// Reads a GetCredentialType reply; `None` unless it has `IfExistsResult` or
/// `Credentials`.
pub fn parse_credential_type(body: &str) -> Option<CredentialType> {
    let map = json_object(body)?;
    let creds = map.raw_ci("Credentials").and_then(JsonObject::parse_raw);
    let ests = map.raw_ci("EstsProperties").and_then(JsonObject::parse_raw);
    let int = |m: Option<&JsonObject<'_>>, k: &str| value_i64(&m?.get_ci(k)?);
    let if_exists_result = int(Some(&map), "IfExistsResult");
    if if_exists_result.is_none() && creds.is_none() {
        return None;
    }
    Some(CredentialType {
        if_exists_result,
        throttle_status: int(Some(&map), "ThrottleStatus"),
        pref_credential: int(creds.as_ref(), "PrefCredential"),
        domain_type: int(ests.as_ref(), "DomainType"),
        federation_redirect_url: creds
            .as_ref()
            .and_then(|c| c.str_ci("FederationRedirectUrl"))
            .filter(|s| !s.is_empty())
            .map(String::from),
        flow_token: map.str_ci("FlowToken").map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_codes_in_order_without_duplicates() {
        let t = "AADSTS50076: x. AADSTS500121 then AADSTS50076 again, aadsts50126, \
                 AADSTS1234 AADSTS12345678 AADSTS7000215: end AADSTS";
        assert_eq!(scan_aadsts(t), vec![50076, 500121, 7000215]);
        assert!(scan_aadsts("").is_empty());
        assert_eq!(scan_aadsts("éAADSTS50058é"), vec![50058]);
    }

    #[test]
    fn description_with_crlf() {
        let d =
            "AADSTS50126: Error validating credentials due to invalid username or password.\r\n\
                 Trace ID: 533bf45e-1111-2222-3333-444455556666\r\n\
                 Correlation ID: 7c77db90-aaaa-bbbb-cccc-ddddeeeeffff\r\n\
                 Timestamp: 2019-03-04 22:38:35Z";
        let ids = parse_error_description(d);
        assert_eq!(ids.codes, vec![50126]);
        assert_eq!(
            ids.trace_id.as_deref(),
            Some("533bf45e-1111-2222-3333-444455556666")
        );
        assert_eq!(
            ids.correlation_id.as_deref(),
            Some("7c77db90-aaaa-bbbb-cccc-ddddeeeeffff")
        );
        assert_eq!(ids.timestamp.as_deref(), Some("2019-03-04 22:38:35Z"));
        assert_eq!(
            ids.message,
            "AADSTS50126: Error validating credentials due to invalid username or password."
        );
    }

    #[test]
    fn description_with_spaces_and_plus() {
        let d = "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://graph.microsoft.com'. Trace ID: 0a1b Correlation ID: 2c3d Timestamp: 2025-02-27 22:38:35Z";
        let ids = parse_error_description(d);
        assert_eq!(ids.codes, vec![50076]);
        assert_eq!(ids.trace_id.as_deref(), Some("0a1b"));
        assert_eq!(ids.correlation_id.as_deref(), Some("2c3d"));
        assert_eq!(ids.timestamp.as_deref(), Some("2025-02-27 22:38:35Z"));
        assert!(ids.message.ends_with("'https://graph.microsoft.com'."));

        let plus = "Seamless+single+sign+on+failed+for+the+user.\r\nTrace+ID:+abc\r\nCorrelation+ID:+def\r\nTimestamp:+2020-01-01+10:00:00Z";
        let ids = parse_error_description(plus);
        assert_eq!(ids.trace_id.as_deref(), Some("abc"));
        assert_eq!(ids.correlation_id.as_deref(), Some("def"));
        assert_eq!(ids.timestamp.as_deref(), Some("2020-01-01 10:00:00Z"));

        let none = parse_error_description("the user canceled the authentication");
        assert_eq!(none.message, "the user canceled the authentication");
        assert!(none.trace_id.is_none() && none.codes.is_empty());
        let empty = parse_error_description("Trace ID:");
        assert!(empty.trace_id.is_none());
        assert_eq!(empty.message, "");
    }

    #[test]
    fn oauth_error_body() {
        let body = r#"{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials due to invalid username or password.\r\nTrace ID: 533bf45e\r\nCorrelation ID: 7c77db90\r\nTimestamp: 2019-03-04 22:38:35Z","error_codes":[50126],"timestamp":"2019-03-04 22:38:35Z","trace_id":"533bf45e","correlation_id":"7c77db90","error_uri":"https://login.microsoftonline.com/error?code=50126"}"#;
        let e = parse_oauth_error(body).unwrap();
        assert_eq!(e.error, "invalid_grant");
        assert_eq!(e.error_codes, vec![50126]);
        assert_eq!(e.trace_id.as_deref(), Some("533bf45e"));
        assert_eq!(e.correlation_id.as_deref(), Some("7c77db90"));
        assert!(e.error_uri.unwrap().ends_with("50126"));
        let ids = parse_error_description(e.error_description.as_deref().unwrap());
        assert_eq!(ids.trace_id.as_deref(), Some("533bf45e"));

        let mfa = r#"{"error":"interaction_required","error_description":"AADSTS50076: Due to a configuration change … Trace ID: a Correlation ID: b Timestamp: 2025-01-01 00:00:00Z","error_codes":[50076],"suberror":"basic_action","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"x\"]}}}"}"#;
        let e = parse_oauth_error(mfa).unwrap();
        assert_eq!(e.suberror.as_deref(), Some("basic_action"));
        assert!(e.claims.unwrap().contains("capolids"));

        assert!(parse_oauth_error(r#"{"access_token":"x"}"#).is_none());
        assert!(parse_oauth_error(r#"{"error":5}"#).is_none());
        assert!(parse_oauth_error("[1]").is_none());
        assert!(parse_oauth_error("<html>").is_none());
        assert!(parse_oauth_error("").is_none());
    }

    #[test]
    fn param_error() {
        let q = "error=interaction_required&error_description=Seamless+single+sign+on+failed+for+the+user.%0d%0aTrace+ID%3a+t1%0d%0aCorrelation+ID%3a+c1%0d%0aTimestamp%3a+2020-01-01+10%3a00%3a00Z&state=x";
        let e = parse_param_error(q).unwrap();
        assert_eq!(e.error, "interaction_required");
        let ids = parse_error_description(e.description.as_deref().unwrap());
        assert_eq!(ids.trace_id.as_deref(), Some("t1"));
        assert_eq!(ids.correlation_id.as_deref(), Some("c1"));
        assert_eq!(ids.timestamp.as_deref(), Some("2020-01-01 10:00:00Z"));
        assert_eq!(ids.message, "Seamless single sign on failed for the user.");

        let e = parse_param_error(
            "https://app.contoso.com/cb?error=access_denied&error_subcode=cancel&state=1",
        )
        .unwrap();
        assert_eq!(e.error, "access_denied");
        assert_eq!(e.subcode.as_deref(), Some("cancel"));
        let e = parse_param_error("#error=login_required&error_description=AADSTS50058").unwrap();
        assert_eq!(e.error, "login_required");

        assert!(parse_param_error("code=abc&session_state=x").is_none());
        assert!(parse_param_error("error=").is_none());
        assert!(parse_param_error("").is_none());
    }

    #[test]
    fn adfs_ids_and_msa_codes() {
        assert_eq!(
            adfs_event_id("ID3242: The security token could not be authenticated or authorized.")
                .as_deref(),
            Some("ID3242")
        );
        assert_eq!(
            adfs_event_id("MSIS7012: An error occurred").as_deref(),
            Some("MSIS7012")
        );
        assert_eq!(adfs_event_id("VALID32420 x"), None);
        assert_eq!(adfs_event_id("ID12"), None);
        assert_eq!(msa_code("80049C34").as_deref(), Some("80049C34"));
        assert_eq!(msa_code("0x80048821").as_deref(), Some("80048821"));
        assert_eq!(msa_code("50126"), None);
    }

    #[test]
    fn wstrust_fault_subcode() {
        let xml = r#"<s:Envelope><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>a:FailedAuthentication</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">ID3242: The security token could not be authenticated or authorized.</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#;
        let f = parse_soap_fault(xml).unwrap();
        assert_eq!(f.subcode.as_deref(), Some("a:FailedAuthentication"));
        assert_eq!(f.value.as_deref(), Some("s:Sender"));
        assert!(f.text.unwrap().starts_with("ID3242"));
    }

    #[test]
    fn soap_faults() {
        let fault = r#"<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"><S:Body><S:Fault><S:Code><S:Value>S:Sender</S:Value><S:Subcode><S:Value>wst:FailedAuthentication</S:Value></S:Subcode></S:Code><S:Reason><S:Text xml:lang="en-US">Authentication Failure</S:Text></S:Reason><S:Detail><psf:error><psf:value>0x80048821</psf:value><psf:internalerror><psf:code>0x80041012</psf:code><psf:text>AADSTS50126: Error validating credentials due to invalid username or password.&#x0D;
Trace ID: abc&#x0D;
Correlation ID: def</psf:text></psf:internalerror></psf:error></S:Detail></S:Fault></S:Body></S:Envelope>"#;
        let f = parse_soap_fault(fault).unwrap();
        assert_eq!(f.value.as_deref(), Some("0x80048821"));
        assert!(f.text.as_deref().unwrap().starts_with("AADSTS50126:"));
        assert_eq!(f.codes, vec![50126]);

        let soap11 = "<soap:Envelope><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>AADSTS81004: Kerberos &amp; stuff</faultstring></soap:Fault></soap:Body></soap:Envelope>";
        let f = parse_soap_fault(soap11).unwrap();
        assert_eq!(f.value.as_deref(), Some("soap:Client"));
        assert_eq!(f.text.as_deref(), Some("AADSTS81004: Kerberos & stuff"));
        assert_eq!(f.codes, vec![81004]);

        assert!(parse_soap_fault(
            "<S:Envelope><S:Body><DesktopSsoToken>x</DesktopSsoToken></S:Body></S:Envelope>"
        )
        .is_none());
        assert!(parse_soap_fault("").is_none());
        // Found by fuzzing: an entity search window ending inside a multi-byte char.
        let f =
            parse_soap_fault("<S:Fault><faultstring>&ab\u{1c9}cdefgh;x</faultstring></S:Fault>")
                .unwrap();
        assert_eq!(f.text.as_deref(), Some("&ab\u{1c9}cdefgh;x"));
        assert!(parse_soap_fault("<S:Fault><psf:text").is_none());
        assert!(parse_soap_fault("<S:Fault><psf:text>").is_none());
    }

    #[test]
    fn token_responses() {
        let v2 = r#"{"token_type":"Bearer","scope":"openid profile","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.eyJhdWQi.sig","refresh_token":"1.AXkA","id_token":"eyJ.eyJ.x"}"#;
        let t = parse_token_response(v2).unwrap();
        assert_eq!(t.expires_in, Some(3599));
        assert!(t.has_refresh_token);
        assert_eq!(t.token_type.as_deref(), Some("Bearer"));
        assert!(t.device_code_interval.is_none());

        let v1 = r#"{"token_type":"Bearer","scope":"user_impersonation","expires_in":"3599","ext_expires_in":"3599","expires_on":"1621489934","not_before":"1621486034","resource":"https://management.core.windows.net/","access_token":"eyJ.eyJ.x"}"#;
        let t = parse_token_response(v1).unwrap();
        assert_eq!(t.expires_in, Some(3599));
        assert!(!t.has_refresh_token);

        let dc = r#"{"user_code":"ABCD1234","device_code":"DAQABAAEAAAD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in…"}"#;
        let t = parse_token_response(dc).unwrap();
        assert_eq!(t.device_code_interval, Some(5));
        assert_eq!(t.expires_in, Some(900));

        assert!(parse_token_response(r#"{"error":"authorization_pending"}"#).is_none());
        assert!(parse_token_response(r#"{"access_token":""}"#).is_none());
        assert!(parse_token_response("not json").is_none());
    }

    #[test]
    fn sas_messages() {
        let begin_req = r#"{"AuthMethodId":"PhoneAppNotification","Method":"BeginAuth","ctx":"rQQIARAA","flowToken":"AQABAAEAAAD"}"#;
        let s = parse_sas(begin_req).unwrap();
        assert_eq!(s.method.as_deref(), Some("BeginAuth"));
        assert_eq!(s.ctx.as_deref(), Some("rQQIARAA"));
        assert_eq!(s.flow_token.as_deref(), Some("AQABAAEAAAD"));
        assert!(s.success.is_none());

        let begin = r#"{"Success":true,"ResultValue":"Success","Message":null,"AuthMethodId":"PhoneAppNotification","ErrCode":0,"Retry":false,"FlowToken":"AQABAAEAAAD--DLA3VO7","Ctx":"rQQIARAA","SessionId":"21036f6c-0000","CorrelationId":"c1245034-0000","Timestamp":"2022-05-20T15:15:11Z","Entropy":88}"#;
        let s = parse_sas(begin).unwrap();
        assert_eq!(s.success, Some(true));
        assert_eq!(s.result_value.as_deref(), Some("Success"));
        assert_eq!(s.message, None);
        assert_eq!(s.err_code, Some(0));
        assert_eq!(s.retry, Some(false));
        assert_eq!(s.entropy, Some(88));
        assert_eq!(s.session_id.as_deref(), Some("21036f6c-0000"));
        assert_eq!(s.correlation_id.as_deref(), Some("c1245034-0000"));
        assert_eq!(s.timestamp.as_deref(), Some("2022-05-20T15:15:11Z"));

        let pending = r#"{"success":false,"resultValue":"AuthenticationPending","retry":true,"errCode":0,"flowToken":"a","ctx":"b"}"#;
        let s = parse_sas(pending).unwrap();
        assert_eq!(s.success, Some(false));
        assert_eq!(s.result_value.as_deref(), Some("AuthenticationPending"));
        assert_eq!(s.retry, Some(true));

        let timeout = r#"{"Success":false,"ResultValue":"PhoneAppNoResponse","Message":"User did not respond","AuthMethodId":"PhoneAppNotification","ErrCode":500121,"Retry":false,"Entropy":"0"}"#;
        let s = parse_sas(timeout).unwrap();
        assert_eq!(s.result_value.as_deref(), Some("PhoneAppNoResponse"));
        assert_eq!(s.err_code, Some(500121));
        assert_eq!(s.entropy, Some(0));
        assert_eq!(s.message.as_deref(), Some("User did not respond"));

        let end_req = r#"{"AuthMethodId":"OneWaySMS","Method":"EndAuth","Ctx":"c","FlowToken":"f","SessionId":"s","PollCount":3,"AdditionalAuthData":"123456"}"#;
        let s = parse_sas(end_req).unwrap();
        assert_eq!(s.poll_count, Some(3));
        assert_eq!(s.method.as_deref(), Some("EndAuth"));

        assert!(parse_sas(r#"{"Success":true}"#).is_none());
        assert!(parse_sas(r#"{"error":"x"}"#).is_none());
        assert!(parse_sas("{").is_none());
    }

    #[test]
    fn credential_type() {
        let adfs = r#"{"Username":"alice@contoso.com","Display":"alice@contoso.com","IfExistsResult":0,"IsUnmanaged":false,"ThrottleStatus":0,"Credentials":{"PrefCredential":4,"HasPassword":true,"RemoteNgcParams":null,"FidoParams":null,"SasParams":null,"CertAuthParams":null,"FederationRedirectUrl":"https://sts.contoso.com/adfs/ls/?username=alice%40contoso.com&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=x"},"EstsProperties":{"UserTenantBranding":null,"DomainType":4},"FlowToken":"AQABAAEAAAD","apiCanary":"c"}"#;
        let c = parse_credential_type(adfs).unwrap();
        assert_eq!(c.if_exists_result, Some(0));
        assert_eq!(c.throttle_status, Some(0));
        assert_eq!(c.pref_credential, Some(4));
        assert_eq!(c.domain_type, Some(4));
        assert!(c
            .federation_redirect_url
            .unwrap()
            .starts_with("https://sts.contoso.com/adfs/ls/"));
        assert_eq!(c.flow_token.as_deref(), Some("AQABAAEAAAD"));

        let managed = r#"{"IfExistsResult":1,"ThrottleStatus":1,"Credentials":{"PrefCredential":1,"FederationRedirectUrl":null},"EstsProperties":{"DomainType":3}}"#;
        let c = parse_credential_type(managed).unwrap();
        assert_eq!(c.if_exists_result, Some(1));
        assert_eq!(c.throttle_status, Some(1));
        assert_eq!(c.federation_redirect_url, None);
        assert_eq!(c.domain_type, Some(3));

        assert!(parse_credential_type(r#"{"Success":true}"#).is_none());
        assert!(parse_credential_type("null").is_none());
    }
}
