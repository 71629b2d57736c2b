//! Turns one [`Exchange`] into a [`Step`]: the owned, small facts the rest of the
//! analysis needs (endpoint, page, ids, AADSTS codes, MFA messages, tokens, the
//! secrets that link one step to the next as hashes).
//!
//! This is where bodies are decoded, once, and only for the exchanges that can carry
//! sign-in evidence; the exchange itself (and the memory it borrows) is dropped by the
//! caller right after, so a trace of any size is analysed in bounded memory.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroU64;

use super::catalogue;
use super::config::{self, PageConfig};
use super::endpoints::{self, HostRole};
use super::jwt;
use super::links::Links;
use super::messages::{self, SasMessage};
use crate::http::json_object::{self, JsonObject};
use crate::http::{form, html, split_url, Exchange};

/// Where the fixed text `$needle` first occurs in `$body` ([`find`] with the
/// searcher built once per call site: building one costs more than searching
/// the small JSON replies that are tested for several names each).
macro_rules! find_fixed {
    ($body:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find($body.as_bytes())
    }};
}

/// True when `$body` contains the fixed text `$needle`; a cheap test before a
/// full parse.
macro_rules! mentions {
    ($body:expr, $needle:literal) => {
        find_fixed!($body, $needle).is_some()
    };
}

/// Where an error or AADSTS code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPlace {
    /// An OAuth JSON error body (token endpoint and friends).
    JsonBody,
    /// `error=` in a redirect `Location` (query or fragment).
    Redirect,
    /// `error=` in the requested URL or form_post body (the app receiving it).
    RequestUrl,
    /// `$Config` / `ServerData` of an HTML page (often on HTTP 200).
    Page,
    /// A SOAP fault.
    SoapFault,
    /// Somewhere else in a body.
    Body,
}

/// An error the step carries (besides its HTTP status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepError {
    pub error: Option<String>,
    pub suberror: Option<String>,
    /// The server's message, ids stripped.
    pub message: Option<String>,
    pub place: Option<ErrorPlace>,
}

/// Non-secret facts of one JWT seen in a response.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFacts {
    /// `id_token`, `access_token` (issued), `bearer_token`, `prt_cookie` (presented).
    pub kind: String,
    pub signed: bool,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    /// Claims safe to show (tid, aud, appid/azp, amr, acr, ver, scp, …), as JSON text.
    pub claims: Vec<(String, String)>,
    /// The user the token names (upn / preferred_username / unique_name); PII.
    pub user: Option<String>,
}

/// The MFA message of a SAS step, request and response merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SasFacts {
    pub auth_method: Option<String>,
    pub result_value: Option<String>,
    pub success: Option<bool>,
    pub retry: Option<bool>,
    pub poll_count: Option<i64>,
    pub entropy: Option<i64>,
    pub err_code: Option<i64>,
}

/// The owned facts of one exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    /// Index among all exchanges of the analysis (the `exchanges[].id` of the report).
    pub id: usize,
    pub input: usize,
    /// Position inside the input (HAR entry index, frame number).
    pub origin_index: u64,
    pub started_us: i64,
    pub duration_ms: Option<f64>,
    pub wait_ms: Option<f64>,
    /// Borrowed for the methods and versions every trace has: one string
    /// less per exchange each (issue #15).
    pub method: Cow<'static, str>,
    pub url: String,
    pub host: String,
    pub path: String,
    pub http_version: Cow<'static, str>,
    pub status: Option<u16>,
    pub transport_error: Option<String>,
    pub role: Option<HostRole>,
    pub endpoint: Option<&'static str>,
    pub noise: bool,
    /// Helper traffic of a sign-in (discovery, user realm, mex, the hidden MSA
    /// frame): joins the sign-in it serves, never a flow of its own.
    pub background: bool,
    /// Hash of the `Referer` URL: the page that made a background request.
    pub referer_key: Option<u64>,
    /// The service's own error code when it is not an AADSTS number: a
    /// Microsoft-account code (`80049C34`) or an AD FS event id (`ID3242`).
    pub service_code: Option<String>,
    /// An MSA post that answers a second-factor proof (a one-time code, or an
    /// approved push: `type` 18, 19 or 22).
    pub msa_proof: bool,
    pub page: Option<String>,
    pub ests_server: Option<String>,
    /// Data-centre region from `x-ms-ests-server` or `serverDetails.dc`.
    pub region: Option<String>,
    pub client_request_id: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    /// The user name the step names (PII: masked by reports).
    pub user: Option<String>,
    pub aadsts: Vec<u32>,
    /// Boxed, as [`Step::sas`]: most steps have none.
    pub error: Option<Box<StepError>>,
    /// Server-side time stamps found in the step, as µs since the epoch.
    pub server_times_us: Vec<i64>,
    pub location: Option<String>,
    pub polling_timeout_ms: Option<i64>,
    pub user_proofs: Vec<String>,
    /// Boxed: few steps are MFA messages, and every `Step` is copied into the
    /// vectors of a trace's steps, whose fresh memory costs (issue #15).
    pub sas: Option<Box<SasFacts>>,
    /// `mfaAuthMethod` of a ProcessAuth form.
    pub mfa_auth_method: Option<String>,
    pub grant_type: Option<String>,
    /// The request sends a WS-Federation `wresult` or a SAML `SAMLResponse`.
    pub posts_sign_in_response: bool,
    /// A sign-out request (`logout` endpoints, WS-Federation `wa=wsignout1.0`).
    pub sign_out: bool,
    /// The step posted a WS-Federation or SAML token to the app: one round of
    /// a federated sign-in (four in a flow are a loop).
    pub federation_issue: bool,
    /// A code or token was issued by this step.
    pub issued: bool,
    pub tokens: Vec<TokenFacts>,
    /// Hashes of link values (flow tokens, ctx, codes, device codes) sent by the request.
    pub links_in: Links,
    /// Hashes of link values handed out by the response, including the URLs it
    /// sends the client to next.
    pub links_out: Links,
    /// Hash of this step's own URL, matched against earlier steps' `links_out`.
    pub url_key: u64,
    /// Hashes of the correlation and client request ids the step sends
    /// ([`correlation_keys`]): steps with one in common are one sign-in. Set
    /// by [`observe`]; the flows' walk derives them for a step built by hand
    /// that leaves them empty.
    pub correlation_keys: [Option<NonZeroU64>; 2],
    /// Connection id within the input (packet captures).
    pub connection: Option<usize>,
    /// The response had a body the container did not keep.
    pub body_omitted: bool,
    /// Cookie or Authorization headers were present in the request.
    pub had_credentials_header: bool,
    /// The request and response as recorded, kept by [`observe_detailed`]
    /// for reports that show them.
    pub detail: Option<Box<super::detail::Detail>>,
}

impl Step {
    /// How reports name the step: the method and the endpoint, or the host for
    /// a path aadtrace does not know. Never a path segment, which can hold a
    /// user name (`/common/userrealm/USER`) or anything else.
    pub fn label(&self) -> String {
        let mut label = String::new();
        self.write_label(&mut label);
        label
    }

    /// [`Step::label`], appended to `out` (a report's rows reuse one buffer).
    pub fn write_label(&self, out: &mut String) {
        out.push_str(&self.method);
        out.push(' ');
        out.push_str(self.endpoint.unwrap_or(&self.host));
    }
}

/// Response bodies above this size are not searched (huge JS bundles, media).
const MAX_BODY_SCAN: usize = 8 << 20;

impl crate::http::Renumber for Step {
    fn renumber(&mut self, offset: u64) {
        self.origin_index += offset;
    }
}

/// [`observe`], keeping the recorded request and response too
/// ([`Step::detail`]) for a report that shows them (the HTML page); other
/// outputs do without, and so without the memory it takes.
pub fn observe_detailed(id: usize, ex: &Exchange<'_>) -> Step {
    let mut step = observe(id, ex);
    let identity_host = !matches!(step.role, None | Some(HostRole::Other | HostRole::Noise));
    step.detail = Some(Box::new(super::detail::of(ex, identity_host)));
    step
}

/// Builds the facts of `ex`, which will be known as exchange `id`.
pub fn observe(id: usize, ex: &Exchange<'_>) -> Step {
    let url = ex.request.url.as_ref();
    let parts = split_url(url);
    let recognised = endpoints::recognise(parts.host, parts.path);
    let mut step = Step {
        id,
        input: ex.origin.input,
        origin_index: ex.origin.index,
        started_us: ex.timing.started_us,
        duration_ms: ex.timing.duration_ms,
        wait_ms: ex.timing.wait_ms,
        method: known_method(&ex.request.method),
        url: url.to_string(),
        host: parts.host.to_ascii_lowercase(),
        path: parts.path.to_string(),
        http_version: normalise_version(ex),
        status: ex.status(),
        transport_error: ex.error.as_ref().map(|e| e.to_string()),
        connection: ex.connection,
        role: Some(recognised.role),
        endpoint: recognised.endpoint.map(|e| e.name()),
        noise: recognised.noise,
        ..Step::default()
    };
    if step.noise {
        return step;
    }
    step.background = step.endpoint.is_some_and(endpoints::is_background);
    read_request(&mut step, ex, parts.query, parts.fragment);
    step.sign_out |= step.endpoint == Some("logout");
    step.url_key = url_link_of(&parts);
    if let Some(resp) = &ex.response {
        read_response_headers(&mut step, resp);
        if interesting_body(&step, resp.body_mime.as_deref(), &resp.headers) {
            step.body_omitted = resp.body.is_omitted();
            if let Ok(text) = resp.body.text() {
                if text.len() <= MAX_BODY_SCAN {
                    read_response_body(&mut step, &text);
                }
            }
        }
    }
    if step.endpoint.is_none() && step.role == Some(HostRole::Other) && receives_result(&step) {
        step.endpoint = Some("redirect_back");
    }
    step.aadsts.sort_unstable();
    step.aadsts.dedup();
    step.correlation_keys = correlation_keys(&step);
    step
}

/// The keys that join the steps sending the same client request id or
/// correlation id, in that order: the id in any case, with the grant of a
/// token request that is a sign-in of its own ([`grant_of_its_own`]); none
/// for an empty or all-zero id. Hashed here, on the thread that observed the
/// step, and not by the walk that groups flows, which runs on one core and
/// would read every id's string again (issue #15). Keys are compared with
/// each other and never shown, like links ([`link_hasher`]).
pub fn correlation_keys(step: &Step) -> [Option<NonZeroU64>; 2] {
    if step.client_request_id.is_none() && step.correlation_id.is_none() {
        return [None, None];
    }
    let grant = grant_of_its_own(step);
    let key = |id: &Option<String>| {
        let id = id.as_deref()?.trim();
        if id.bytes().all(|b| b == b'0' || b == b'-') {
            return None;
        }
        let mut h = link_hasher();
        "correlation".hash(&mut h);
        hash_ascii_lowercase(id, &mut h);
        if let Some(g) = grant {
            hash_ascii_lowercase(g, &mut h);
        }
        Some(NonZeroU64::new(h.finish()).unwrap_or(NonZeroU64::MIN))
    };
    [key(&step.client_request_id), key(&step.correlation_id)]
}

/// The grant type that makes a token request a sign-in of its own: any but
/// `authorization_code`, which redeems the interactive sign-in it follows.
fn grant_of_its_own(step: &Step) -> Option<&str> {
    matches!(step.endpoint, Some("token" | "msa_token"))
        .then_some(step.grant_type.as_deref()?)
        .filter(|g| !g.eq_ignore_ascii_case("authorization_code"))
}

fn normalise_version(ex: &Exchange<'_>) -> Cow<'static, str> {
    let v = ex
        .response
        .as_ref()
        .map(|r| r.http_version.as_ref())
        .filter(|v| !v.is_empty())
        .unwrap_or(ex.request.http_version.as_ref());
    // Compared in any case in place: no lower-cased copy per exchange.
    let is = |names: &[&str]| names.iter().any(|n| v.eq_ignore_ascii_case(n));
    Cow::Borrowed(if is(&["h2", "http/2", "http/2.0"]) {
        "HTTP/2"
    } else if is(&["h3", "http/3", "http/3.0"]) {
        "HTTP/3"
    } else if is(&["http/1.1"]) {
        "HTTP/1.1"
    } else if is(&["http/1.0"]) {
        "HTTP/1.0"
    } else {
        return Cow::Owned(v.to_string());
    })
}

/// The request method, borrowed when it is one of HTTP's own (RFC 9110 §9.3;
/// methods are case-sensitive, §9.1), copied otherwise.
fn known_method(method: &str) -> Cow<'static, str> {
    const METHODS: [&str; 8] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT",
    ];
    match METHODS.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

/// A link value for "the next request goes to this URL" (redirects, federation
/// hand-offs): scheme and host compared case-insensitively, the rest exactly.
fn url_link(url: &str) -> u64 {
    url_link_of(&split_url(url))
}

/// [`url_link`] of a URL already split.
fn url_link_of(p: &crate::http::UrlParts<'_>) -> u64 {
    let mut h = link_hasher();
    "url".hash(&mut h);
    hash_ascii_lowercase(p.host, &mut h);
    p.path.hash(&mut h);
    p.query.unwrap_or("").hash(&mut h);
    h.finish()
}

/// Hashes `s` lower-cased (ASCII) without a `String` for it (a URL's host, for
/// every step): in pieces of 64 bytes, lower-cased on the stack, then `0xff` as
/// `str` ends its own hash. Hosts of either case hash alike.
fn hash_ascii_lowercase(s: &str, h: &mut impl Hasher) {
    let mut buf = [0u8; 64];
    for piece in s.as_bytes().chunks(buf.len()) {
        h.write(lower_ascii(piece, &mut buf).unwrap_or_default());
    }
    h.write_u8(0xff);
}

fn hash_link(value: &str) -> u64 {
    let mut h = link_hasher();
    value.hash(&mut h);
    h.finish()
}

/// The hasher of link values: foldhash (its quality variant) with a fixed seed,
/// so equal values hash alike in every step and run. Links are compared with each
/// other and never shown. It was SipHash (`DefaultHasher`), several times slower
/// on flow tokens of hundreds of bytes (issue #15); SipHash's keys were public
/// (zero) there, so neither hash resists collisions made on purpose.
fn link_hasher() -> impl Hasher {
    foldhash::quality::FixedState::default().build_hasher()
}

/// `name` lower-cased (ASCII) into `buf`, or None when longer than `buf`: every name
/// looked up below is short, so a longer one is none of them. Bytes, so a piece of
/// a longer text may end inside a character.
fn lower_ascii<'b>(name: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    Some(lower)
}

/// Request parameters whose values hand a flow from one step to the next
/// (case-insensitive).
fn is_link_param(name: &str) -> bool {
    is_link_name(lower_ascii(name.as_bytes(), &mut [0u8; 16]).unwrap_or_default())
}

fn is_link_name(lower: &[u8]) -> bool {
    matches!(
        lower,
        b"flowtoken"
            | b"ctx"
            | b"request"
            | b"code"
            | b"device_code"
            | b"ppft"
            | b"wctx"
            | b"sft"
            | b"t"
            | b"nap"
            | b"anon"
            | b"wresult"
            | b"state"
            | b"id_token"
            | b"slk"
            | b"sessionlookupkey"
    )
}

/// Parameters or form fields whose presence means a code or token was issued.
fn is_issued_param(name: &str) -> bool {
    ["code", "id_token", "access_token"]
        .iter()
        .any(|p| name.eq_ignore_ascii_case(p))
}

fn read_request(step: &mut Step, ex: &Exchange<'_>, query: Option<&str>, fragment: Option<&str>) {
    let headers = &ex.request.headers;
    step.client_request_id = headers.get("client-request-id").map(str::to_string);
    step.referer_key = headers.get("referer").map(url_link);
    step.had_credentials_header = headers.contains("cookie") || headers.contains("authorization");
    read_request_tokens(step, headers);
    for name in ["x-ms-flowtoken", "x-ms-ctx"] {
        if let Some(v) = headers.get(name) {
            step.links_in.push(hash_link(v));
        }
    }
    if step.role == Some(HostRole::Ests) {
        step.tenant = endpoints::tenant_segment(&step.path).map(str::to_string);
    }
    let identity = step.role != Some(HostRole::Other);
    for params in [query, fragment].into_iter().flatten() {
        // Other sites' query strings only matter when they carry a sign-in result.
        if identity || carries_result(params) {
            read_params(step, params, ErrorPlace::RequestUrl);
        }
    }
    let body = match ex.request.body.text() {
        Ok(b) if !b.is_empty() && b.len() <= MAX_BODY_SCAN => b,
        _ => return,
    };
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        // One parse for both readers of a JSON request body.
        if let Some(map) = messages::json_object(trimmed) {
            if let Some(sas) = messages::sas_of(&map) {
                merge_sas(step, &sas, true);
            }
            read_json_request(step, &map);
        }
    } else if trimmed.starts_with('<') {
        step.aadsts.extend(messages::scan_aadsts(trimmed));
    } else if identity || carries_result_or_response(trimmed) {
        // A form posted to another site (an upload, a search) is not parsed
        // pair by pair: only a sign-in result or response posted to the app is
        // evidence, as for query strings above.
        read_params(step, trimmed, ErrorPlace::RequestUrl);
    }
}

/// JWTs a request presents: a bearer access token, the PRT cookie
/// (`x-ms-RefreshTokenCredential`, as a header or a cookie).
fn read_request_tokens(step: &mut Step, headers: &crate::http::Headers<'_>) {
    if let Some(token) = headers.get("authorization").and_then(|a| {
        a.strip_prefix("Bearer ")
            .or_else(|| a.strip_prefix("bearer "))
    }) {
        step.tokens
            .extend(token_facts("bearer_token", token.trim()));
    }
    let prt = headers
        .get("x-ms-refreshtokencredential")
        .map(str::to_string)
        .or_else(|| {
            headers.get_all("cookie").find_map(|c| {
                // Identity hosts send long cookie headers: split only one that
                // holds the name.
                if !names_before_equals(c, PRT_COOKIE) {
                    return None;
                }
                c.split(';').find_map(|kv| {
                    let (k, v) = kv.trim().split_once('=')?;
                    k.eq_ignore_ascii_case(PRT_COOKIE).then(|| v.to_string())
                })
            })
        });
    if let Some(p) = prt {
        step.tokens.extend(token_facts("prt_cookie", p.trim()));
    }
}

/// The cookie a browser signed in with a PRT sends (the header of the same
/// name is its other form).
const PRT_COOKIE: &str = "x-ms-RefreshTokenCredential";

/// Whether `name` (in any ASCII case) comes right before an `=` in `header`: a
/// quick test that never misses a cookie of that name. Cookie headers have few
/// `=` (one per cookie, and base64 padding), so only those are looked at.
fn names_before_equals(header: &str, name: &str) -> bool {
    let (hay, name) = (header.as_bytes(), name.as_bytes());
    memchr::memchr_iter(b'=', hay).any(|at| {
        at.checked_sub(name.len())
            .is_some_and(|from| hay[from..at].eq_ignore_ascii_case(name))
    })
}

/// Names whose `name=` anywhere in parameters marks a sign-in result.
const RESULT_NAMES: &[&str] = &["code", "error", "id_token", "state", "client-request-id"];

/// A quick test for `code=`, `error=`, `id_token=`, `state=` or `client-request-id=`
/// anywhere in parameters (in a value too: the test is for whether parsing is needed).
fn carries_result(params: &str) -> bool {
    any_equals_sign(params, |before, _| {
        RESULT_NAMES.iter().any(|n| before.ends_with(n.as_bytes()))
    })
}

/// `carries_result`, or a form that posts a federation sign-in response to an
/// application (`wresult=`, `SAMLResponse=`, `wa=wsign`: WS-Fed, SAML, WS-Fed
/// sign-out), in one pass over a form body that may be megabytes: each `=` is
/// looked at once instead of the body being searched for each name (issue #15).
fn carries_result_or_response(form: &str) -> bool {
    any_equals_sign(form, |before, after| {
        RESULT_NAMES
            .iter()
            .chain(&["wresult", "SAMLResponse"])
            .any(|n| before.ends_with(n.as_bytes()))
            || (before.ends_with(b"wa") && after.starts_with(b"wsign"))
    })
}

/// True when `test(before, after)` holds at some `=` of `text`, given the bytes before
/// and after it.
fn any_equals_sign(text: &str, test: impl Fn(&[u8], &[u8]) -> bool) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'=', bytes).any(|at| test(&bytes[..at], &bytes[at + 1..]))
}

/// Reads URL-encoded parameters of a request (query, fragment or form body).
fn read_params(step: &mut Step, params: &str, place: ErrorPlace) {
    for pair in form::pairs(params) {
        // One table look-up per parameter instead of a case-insensitive comparison
        // with every name below (a form of thousands of fields, issue #15).
        let (param, links) = Param::of(&pair.name);
        let slot = match param {
            Param::ClientRequestId => Some(&mut step.client_request_id),
            Param::ClientId => Some(&mut step.client_id),
            Param::User => Some(&mut step.user),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_none() {
                // Some servers also split parameters at `;` (`client_id=X;code=…`):
                // an id never holds one, so what follows it is no part of the id.
                let value = pair.value();
                *slot = Some(value.split(';').next().unwrap_or("").to_string());
            }
        } else if param == Param::GrantType {
            step.grant_type = Some(pair.value().into_owned());
        } else if param == Param::MfaAuthMethod
            || (param == Param::Channel && step.endpoint == Some("msa_one_time_code"))
        {
            step.mfa_auth_method = Some(pair.value().into_owned());
        } else if step.endpoint == Some("msa_post") && matches!(param, Param::Type | Param::Otc) {
            note_msa_proof(step, param == Param::Otc, &pair.value());
        } else if param == Param::SignInResponse {
            step.posts_sign_in_response |= !pair.value_is_empty();
        } else if param == Param::Wa {
            // WS-Federation sign-out and its clean-up call (WS-Federation 1.2 §13.2.4).
            step.sign_out |= pair.value().starts_with("wsignout");
        }
        if links && !pair.value_is_empty() {
            step.links_in.push(hash_link(&pair.value()));
        }
    }
    if mentions!(params, "error=") {
        if let Some(err) = messages::parse_param_error(params) {
            note_param_error(step, err, place);
        }
    }
}

/// The request parameters `read_params` reads, named case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    ClientRequestId,
    ClientId,
    /// `login`, `loginfmt`, `username`, `login_hint`.
    User,
    GrantType,
    MfaAuthMethod,
    Channel,
    Type,
    Otc,
    /// `wresult`, `SAMLResponse`.
    SignInResponse,
    Wa,
    Other,
}

impl Param {
    /// The parameter `name` is, and whether its value links steps (`is_link_param`).
    fn of(name: &str) -> (Param, bool) {
        // The longest name known is `client-request-id`.
        let mut buf = [0u8; 17];
        let Some(lower) = lower_ascii(name.as_bytes(), &mut buf) else {
            return (Param::Other, false);
        };
        let param = match lower {
            b"client-request-id" => Param::ClientRequestId,
            b"client_id" => Param::ClientId,
            b"login" | b"loginfmt" | b"username" | b"login_hint" => Param::User,
            b"grant_type" => Param::GrantType,
            b"mfaauthmethod" => Param::MfaAuthMethod,
            b"channel" => Param::Channel,
            b"type" => Param::Type,
            b"otc" => Param::Otc,
            b"wresult" | b"samlresponse" => Param::SignInResponse,
            b"wa" => Param::Wa,
            _ => Param::Other,
        };
        (param, is_link_name(lower))
    }
}

/// MSA `PostType` values of second-factor proofs, as login.live.com posts them:
/// 18 StrongAuth, 19 StrongAuthTOTP (a code), 22 SessionApproval (a push).
fn note_msa_proof(step: &mut Step, is_otc: bool, value: &str) {
    let method = match value {
        _ if is_otc => "OneTimeCode",
        "18" | "19" => "OneTimeCode",
        "22" => "PushNotifications",
        _ => return,
    };
    step.msa_proof = true;
    if step.mfa_auth_method.is_none() || is_otc {
        step.mfa_auth_method = Some(method.to_string());
    }
}

fn note_param_error(step: &mut Step, err: messages::ParamError, place: ErrorPlace) {
    let mut message = err.description.clone();
    if let Some(desc) = &err.description {
        let ids = messages::parse_error_description(desc);
        step.aadsts.extend(&ids.codes);
        step.aadsts.extend(messages::scan_aadsts(desc));
        adopt_ids(step, &ids);
        message = Some(ids.message);
    }
    step.error.get_or_insert(Box::new(StepError {
        error: Some(err.error),
        suberror: err.subcode,
        message,
        place: Some(place),
    }));
}

fn adopt_ids(step: &mut Step, ids: &messages::DescriptionIds) {
    if step.correlation_id.is_none() {
        step.correlation_id = ids.correlation_id.clone();
    }
    if step.request_id.is_none() {
        step.request_id = ids.trace_id.clone();
    }
    if let Some(ts) = ids.timestamp.as_deref().and_then(parse_server_time) {
        step.server_times_us.push(ts);
    }
}

fn read_json_request(step: &mut Step, map: &JsonObject<'_>) {
    for (key, value) in map.iter() {
        let Some(text) = json_object::string(value) else {
            continue;
        };
        let text = text.as_ref();
        let lkey = key.to_ascii_lowercase();
        if is_link_param(&lkey) || lkey == "originalrequest" {
            step.links_in.push(hash_link(text));
        }
        if lkey == "username" && step.user.is_none() {
            step.user = Some(text.to_string());
        }
    }
}

fn read_response_headers(step: &mut Step, resp: &crate::http::Response<'_>) {
    let h = &resp.headers;
    step.request_id = h.get("x-ms-request-id").map(str::to_string);
    if step.client_request_id.is_none() {
        step.client_request_id = h.get("client-request-id").map(str::to_string);
    }
    if let Some(server) = h.get("x-ms-ests-server") {
        step.ests_server = Some(server.to_string());
        step.region = region_of(server);
    }
    // Only identity hosts: caches and CDNs replay an old Date with cached answers.
    let identity_host = matches!(
        step.role,
        Some(HostRole::Ests | HostRole::Msa | HostRole::SeamlessSso | HostRole::Adfs)
    );
    if let Some(date) = h
        .get("date")
        .filter(|_| identity_host)
        .and_then(parse_http_date)
    {
        step.server_times_us.push(date);
    }
    if let Some(loc) = h.get("location") {
        step.location = Some(loc.to_string());
        step.links_out.push(url_link(&absolute_url(&step.url, loc)));
        let loc_parts = split_url(loc);
        for params in [loc_parts.query, loc_parts.fragment].into_iter().flatten() {
            // Read for an error only when a pair's name ends in `error`: the
            // reader also finds one after a stray `?` or `#` (`cb??error=…`).
            let mut error_named = false;
            for pair in form::pairs(params) {
                let name = &pair.name;
                if !pair.value_is_empty() && is_link_param(name) {
                    step.links_out.push(hash_link(&pair.value()));
                }
                if is_issued_param(name) {
                    step.issued = true;
                }
                error_named |= name.ends_with("error");
            }
            if let Some(err) = error_named
                .then(|| messages::parse_param_error(params))
                .flatten()
            {
                note_param_error(step, err, ErrorPlace::Redirect);
            }
        }
    }
}

/// `2.1.19320.5 - NEULR1 ProdSlices` → `NEULR1`.
fn region_of(ests_server: &str) -> Option<String> {
    ests_server
        .split(" - ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

fn interesting_body(step: &Step, mime: Option<&str>, headers: &crate::http::Headers<'_>) -> bool {
    let identity = !matches!(step.role, Some(HostRole::Other) | None) || step.endpoint.is_some();
    let mime = mime.or_else(|| headers.get("content-type")).unwrap_or("");
    // Lower-cased on the stack: a media type is short (a longer one is copied).
    let mut buf = [0u8; 128];
    let copied;
    let mime: &[u8] = match lower_ascii(mime.as_bytes(), &mut buf) {
        Some(lower) => lower,
        None => {
            copied = mime.to_ascii_lowercase();
            copied.as_bytes()
        }
    };
    let has = |part: &[u8]| mime.windows(part.len()).any(|w| w == part);
    let textual = mime.is_empty()
        || has(b"json")
        || has(b"html")
        || has(b"xml")
        || has(b"text/plain")
        || has(b"javascript");
    // The app's own pages are read too: a form_post page or an error page from the
    // app can carry `code` or `error` parameters and AADSTS text.
    textual && (identity || has(b"html") || has(b"json"))
}

fn read_response_body(step: &mut Step, text: &str) {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        read_json_response(step, trimmed);
    } else if trimmed.starts_with('<')
        && (mentions!(trimmed, "Envelope") || mentions!(trimmed, "Fault"))
    {
        if let Some(fault) = messages::parse_soap_fault(trimmed) {
            step.aadsts.extend(&fault.codes);
            step.service_code = fault
                .text
                .as_deref()
                .and_then(messages::adfs_event_id)
                .or_else(|| fault.value.as_deref().and_then(messages::msa_code));
            step.error.get_or_insert(Box::new(StepError {
                error: fault.subcode.clone().or_else(|| fault.value.clone()),
                suberror: fault.subcode.as_ref().and(fault.value.clone()),
                message: fault.text.clone(),
                place: Some(ErrorPlace::SoapFault),
            }));
        }
    } else if let Some(page) = config::extract_page_config(text) {
        read_page(step, &page);
    }
    if step.role != Some(HostRole::Other) {
        read_auto_post_form(step, text);
    }
    if step.role == Some(HostRole::Msa) && step.service_code.is_none() {
        step.service_code = hr_comment(text);
    }
    if step.role != Some(HostRole::Other) || step.endpoint.is_some() {
        step.aadsts.extend(messages::scan_aadsts(text));
    }
}

/// The `HR=0x8004…` result a Microsoft-account page writes into a comment when
/// a step failed.
fn hr_comment(page: &str) -> Option<String> {
    let at = find_fixed!(page, "HR=")?;
    let rest = &page[at + 3..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    messages::msa_code(&rest[..end])
}

/// Where `needle` first occurs in `body`. memchr's SIMD search: bodies are
/// whole pages, and `str::find` is several times slower on them.
fn find(body: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(body.as_bytes(), needle.as_bytes())
}

fn read_json_response(step: &mut Step, body: &str) {
    // Each parser below reads the whole body; the key tests keep it to one parse.
    let oauth_error = if mentions!(body, "\"error\"") {
        messages::parse_oauth_error(body)
    } else {
        None
    };
    if let Some(err) = oauth_error {
        read_oauth_error(step, err);
        return;
    }
    let token_like = mentions!(body, "_token\"") || mentions!(body, "device_code");
    if let Some(tokens) = token_like
        .then(|| messages::parse_token_response(body))
        .flatten()
    {
        read_tokens(step, &tokens);
        if let Some(dc) = &tokens.device_code {
            step.links_out.push(hash_link(dc));
        }
        return;
    }
    let sas_like = mentions!(body, "ResultValue")
        || mentions!(body, "AuthMethodId")
        || mentions!(body, "authMethodId");
    if let Some(sas) = sas_like.then(|| messages::parse_sas(body)).flatten() {
        read_sas_response(step, &sas);
        return;
    }
    if mentions!(body, "federation_") || mentions!(body, "SessionLookupKey") {
        read_hand_off_urls(step, body);
    }
    let credential_like = mentions!(body, "IfExistsResult") || mentions!(body, "Credentials");
    if let Some(ct) = credential_like
        .then(|| messages::parse_credential_type(body))
        .flatten()
    {
        if let Some(ft) = &ct.flow_token {
            step.links_out.push(hash_link(ft));
        }
        if let Some(next) = &ct.federation_redirect_url {
            step.links_out.push(url_link(next));
            if let Some(q) = split_url(next).query {
                for pair in form::pairs(q) {
                    if !pair.value_is_empty() && is_link_param(&pair.name) {
                        step.links_out.push(hash_link(&pair.value()));
                    }
                }
            }
        }
    }
}

/// An OAuth error body: its codes, ids, time and the error itself.
fn read_oauth_error(step: &mut Step, err: messages::OAuthError) {
    step.aadsts.extend(&err.error_codes);
    let ids = err
        .error_description
        .as_deref()
        .map(messages::parse_error_description)
        .unwrap_or_default();
    step.aadsts.extend(&ids.codes);
    adopt_ids(step, &ids);
    if let Some(c) = &err.correlation_id {
        step.correlation_id = Some(c.clone());
    }
    if step.request_id.is_none() {
        step.request_id = err.trace_id.clone();
    }
    if let Some(ts) = err.timestamp.as_deref().and_then(parse_server_time) {
        step.server_times_us.push(ts);
    }
    step.error = Some(Box::new(StepError {
        error: Some(err.error),
        suberror: err.suberror,
        message: Some(ids.message).filter(|m| !m.is_empty()),
        place: Some(ErrorPlace::JsonBody),
    }));
}

/// A SAS (MFA) JSON reply: its state, time, correlation id and the hand-offs it
/// gives the next step.
fn read_sas_response(step: &mut Step, sas: &SasMessage) {
    merge_sas(step, sas, false);
    if let Some(ts) = sas.timestamp.as_deref().and_then(parse_server_time) {
        step.server_times_us.push(ts);
    }
    if step.correlation_id.is_none() {
        step.correlation_id = sas.correlation_id.as_deref().map(str::to_string);
    }
    for v in [&sas.flow_token, &sas.ctx].into_iter().flatten() {
        step.links_out.push(hash_link(v));
    }
}

/// A user-realm reply names the AD FS documents the client asks next
/// (`federation_metadata_url`, `federation_active_auth_url`); an MSA
/// one-time-code reply gives the `SessionLookupKey` that the proof post sends
/// back as `slk`.
fn read_hand_off_urls(step: &mut Step, body: &str) {
    let Some(map) = messages::json_object(body) else {
        return;
    };
    for (key, value) in map.iter() {
        let Some(text) = json_object::string(value) else {
            continue;
        };
        let text = text.as_ref();
        if key.eq_ignore_ascii_case("SessionLookupKey") {
            step.links_out.push(hash_link(text));
        } else if key.starts_with("federation_") && key.ends_with("_url") {
            step.links_out.push(url_link(text));
        }
    }
}

fn read_tokens(step: &mut Step, tokens: &messages::TokenResponse<'_>) {
    step.issued |=
        tokens.access_token.is_some() || tokens.id_token.is_some() || tokens.has_refresh_token;
    for (kind, token) in [
        ("id_token", &tokens.id_token),
        ("access_token", &tokens.access_token),
    ] {
        if let Some(t) = token.as_deref().and_then(|t| token_facts(kind, t)) {
            step.tokens.push(t);
        }
    }
}

/// Decodes a JWT for display: safe claims only, the user name kept apart.
pub fn token_facts(kind: &str, token: &str) -> Option<TokenFacts> {
    jwt::read_claims(token, |form, claims| {
        let numeric = |name| messages::value_i64(&claims?.get(name)?);
        let shown = |c: &JsonObject<'_>| {
            let shown = |name: &&str| Some((name.to_string(), shown_claim(c.raw(name)?)?));
            jwt::SAFE_CLAIMS.iter().filter_map(shown).collect()
        };
        TokenFacts {
            kind: kind.to_string(),
            signed: form == jwt::JwtForm::Signed,
            iat: numeric("iat"),
            nbf: numeric("nbf"),
            exp: numeric("exp"),
            claims: claims.map(shown).unwrap_or_default(),
            user: claims
                .and_then(|c| USER_CLAIMS.iter().find_map(|name| c.str(name)))
                .map(std::borrow::Cow::into_owned),
        }
    })
}

/// The claims that name a token's user, in the order they are looked for.
const USER_CLAIMS: [&str; 4] = ["upn", "preferred_username", "unique_name", "email"];

/// A claim as shown: a string's text, any other value as compact JSON.
fn shown_claim(raw: json_object::Raw<'_>) -> Option<String> {
    json_object::string(raw)
        .map(std::borrow::Cow::into_owned)
        .or_else(|| Some(json_object::decode(raw)?.to_string()))
}

fn merge_sas(step: &mut Step, sas: &SasMessage, from_request: bool) {
    let facts = step.sas.get_or_insert_with(Box::default);
    if facts.auth_method.is_none() {
        facts.auth_method = sas.auth_method_id.as_deref().map(str::to_string);
    }
    if from_request {
        facts.poll_count = facts.poll_count.or(sas.poll_count);
        for v in [&sas.flow_token, &sas.ctx].into_iter().flatten() {
            step.links_in.push(hash_link(v));
        }
        return;
    }
    facts.result_value = sas.result_value.as_deref().map(str::to_string);
    facts.success = sas.success;
    facts.retry = sas.retry;
    facts.entropy = sas.entropy.filter(|e| *e != 0);
    facts.err_code = sas.err_code;
}

fn read_page(step: &mut Step, page: &PageConfig) {
    step.page = page.page_id.clone();
    if let Some(c) = &page.correlation_id {
        step.correlation_id = Some(c.clone());
    }
    if step.request_id.is_none() {
        step.request_id = page.session_id.clone();
    }
    if let Some(server) = &page.server {
        if step.region.is_none() {
            step.region = server.data_centre.clone();
        }
        if let Some(t) = server.rendered_at.as_deref().and_then(parse_server_time) {
            step.server_times_us.push(t);
        }
    }
    if step.user.is_none() {
        step.user = page.username.clone();
    }
    step.polling_timeout_ms = page.polling.timeout_ms;
    step.user_proofs = page.user_proofs.clone();
    for v in [&page.flow_token, &page.ctx].into_iter().flatten() {
        step.links_out.push(hash_link(v));
    }
    let mut codes = Vec::new();
    if let Some(code) = page
        .error_code
        .as_deref()
        .and_then(|c| c.trim().parse::<u32>().ok())
    {
        codes.push(code);
    }
    if let Some(code) = page.numeric_error_code.and_then(|c| u32::try_from(c).ok()) {
        if code > 0 {
            codes.push(code);
        }
    }
    for v in &page.validation_errors {
        if let Ok(code) = v.trim().parse::<u32>() {
            codes.push(code);
        }
    }
    if let Some(msg) = &page.service_exception {
        codes.extend(messages::scan_aadsts(msg));
    }
    step.aadsts.extend(&codes);
    let message = page
        .service_exception
        .clone()
        .or_else(|| page.error_text.clone())
        .or_else(|| page.main_message.clone());
    let non_numeric_code = page
        .error_code
        .clone()
        .filter(|c| c.trim().parse::<u32>().is_err() && !c.trim().is_empty());
    if step.service_code.is_none() {
        step.service_code = non_numeric_code.as_deref().and_then(messages::msa_code);
    }
    if page.service_exception.is_some() || non_numeric_code.is_some() || page.error_text.is_some() {
        step.error.get_or_insert(Box::new(StepError {
            error: non_numeric_code,
            suberror: None,
            message,
            place: Some(ErrorPlace::Page),
        }));
    }
}

/// A page that posts itself (form_post, the ADFS "Working…" page, MSA `fmHF`):
/// its hidden `code` / `error` fields are the result of the step, and its
/// `action` is where the client goes next, like a `Location`.
fn read_auto_post_form(step: &mut Step, html: &str) {
    if html::forms(html).next().is_none() {
        return;
    }
    let inputs = html::input_fields(html);
    let mut to_app = false;
    if inputs.iter().any(|(name, _)| is_hand_off_field(name)) {
        if let Some(action) = hand_off_action(html) {
            let absolute = absolute_url(&step.url, &action);
            step.links_out.push(url_link(&absolute));
            to_app = is_app_address(&absolute);
        }
    }
    let mut has_error = false;
    for (name, value) in &inputs {
        step.issued |= is_issued_param(name);
        if name.eq_ignore_ascii_case("samlresponse") {
            read_saml_response(step, value, to_app);
        } else if name.eq_ignore_ascii_case("wresult") && to_app && !value.is_empty() {
            // The WS-Federation response: a security token for the app
            // (WS-Federation 1.2 §13.2.3; AD FS posts it from its "Working..." page).
            step.issued = true;
            step.federation_issue = true;
        }
        if is_link_param(name) {
            step.links_out.push(hash_link(value));
        }
        has_error |= name.eq_ignore_ascii_case("error");
    }
    // The error fields are read as the parameters they would be posted as; most
    // forms carry none, and re-encoding every hidden field costs.
    if !has_error {
        return;
    }
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(&inputs);
    if let Some(err) = messages::parse_param_error(&form.finish()) {
        note_param_error(step, err, ErrorPlace::Body);
    }
}

/// A federation token posted to another identity service (AD FS to Entra ID's
/// `login.srf`, one AD FS to another) is a step inside the sign-in, not its end:
/// only a form that posts to the app issues anything.
fn is_app_address(url: &str) -> bool {
    let parts = split_url(url);
    let recognised = endpoints::recognise(parts.host, parts.path);
    recognised.role == HostRole::Other && recognised.endpoint.is_none()
}

/// A SAML 2.0 response handed on by a form (base64, SAML 2.0 bindings §3.5.4).
/// Its first `StatusCode` is the verdict (SAML 2.0 core §3.2.2.2): `Success`
/// issues the app its assertion when the form posts to the app; any other is an
/// error, whose message is where Entra ID writes its AADSTS code.
fn read_saml_response(step: &mut Step, value: &str, to_app: bool) {
    use base64::Engine;
    let cleaned: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let Ok(xml) = base64::engine::general_purpose::STANDARD.decode(cleaned) else {
        return;
    };
    let xml = String::from_utf8_lossy(&xml);
    let Some(status) = saml_status(&xml) else {
        return;
    };
    if status.ends_with(":Success") {
        step.issued |= to_app;
        step.federation_issue |= to_app;
        return;
    }
    let codes = messages::scan_aadsts(&xml);
    step.aadsts.extend(&codes);
    let message = element_text(&xml, "StatusMessage");
    step.error.get_or_insert(Box::new(StepError {
        error: Some(status.rsplit(':').next().unwrap_or(status).to_string()),
        suberror: None,
        message,
        place: Some(ErrorPlace::Body),
    }));
}

/// The `Value` of the first `StatusCode` element, namespace prefix or not.
fn saml_status(xml: &str) -> Option<&str> {
    let at = find_fixed!(xml, "StatusCode")?;
    html::tag_at(xml, at, at + "StatusCode".len()).value("value")
}

/// The text of the first element named `local` (any prefix), up to its next tag.
fn element_text(xml: &str, local: &str) -> Option<String> {
    let at = find(xml, local)?;
    let rest = &xml[at..];
    let open_end = rest.find('>')? + 1;
    let text = &rest[open_end..];
    let text = &text[..text.find('<').unwrap_or(text.len())];
    let text = html::decode_entities(text.trim());
    (!text.is_empty()).then_some(text)
}

/// `target` resolved against `base` when it is a path on the same host.
fn absolute_url(base: &str, target: &str) -> String {
    if target.starts_with('/') && !target.starts_with("//") {
        let own = split_url(base);
        format!("{}://{}{}", own.scheme, own.host, target)
    } else {
        target.to_string()
    }
}

/// The `action` of the first form whose hidden fields hand the flow on (a
/// language picker or a sign-out form before it is passed over), entities
/// decoded.
fn hand_off_action(page: &str) -> Option<String> {
    html::forms(page)
        .find(|form| {
            html::input_fields(form.inner)
                .iter()
                .any(|(name, _)| is_hand_off_field(name))
        })
        .and_then(|form| form.tag.value("action").map(html::decode_entities))
}

/// Hidden fields that make a form a hand-off: the result of the step, or a
/// value that the next step sends back.
fn is_hand_off_field(name: &str) -> bool {
    is_link_param(name)
        || is_issued_param(name)
        || ["error", "samlresponse"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
}

/// True when a step outside the identity hosts receives a sign-in result: an
/// OAuth response in its URL (RFC 6749 §4.1.2: `code` with `state`; §4.1.2.1:
/// `error` with its companions; OIDC `id_token`) or a form_post of one.
fn receives_result(step: &Step) -> bool {
    let parts = split_url(&step.url);
    let in_url = [parts.query, parts.fragment]
        .into_iter()
        .flatten()
        .any(|p| {
            let names: Vec<_> = form::pairs(p).map(|pair| pair.name).collect();
            let has = |n: &str| names.iter().any(|k| k == n);
            (has("code") && (has("state") || has("session_state")))
                || (has("error")
                    && (has("error_description")
                        || has("state")
                        || has("error_uri")
                        || has("error_subcode")))
                || has("id_token")
        });
    // A WS-Federation or SAML response posted to the app (SAML 2.0 bindings
    // §3.5): its path is the app's own and says nothing.
    let federation_post = step.method == "POST" && step.posts_sign_in_response;
    let oauth_form_post = step.method == "POST"
        && step.links_in.len() > 1
        && (step.path.contains("signin")
            || step.path.contains("callback")
            || step.path.contains("redirect"));
    in_url || oauth_form_post || federation_post
}

/// Parses the time stamps servers write: RFC 3339 (`2022-05-20T15:15:11Z`), the
/// ESTS error form (`2025-02-27 22:38:35Z`), and `/Date(…)/`-free plain forms.
pub fn parse_server_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_microsecond());
    }
    let with_t = t.replacen(' ', "T", 1);
    if let Ok(ts) = with_t.parse::<jiff::Timestamp>() {
        return Some(ts.as_microsecond());
    }
    None
}

/// Parses an HTTP `Date` header (RFC 9110 §5.6.7 IMF-fixdate).
pub fn parse_http_date(text: &str) -> Option<i64> {
    jiff::fmt::rfc2822::parse(text.trim())
        .ok()
        .map(|z| z.timestamp().as_microsecond())
}

/// End time of a step: start plus duration when known.
pub fn end_us(step: &Step) -> i64 {
    step.started_us + step.duration_ms.map(|d| (d * 1000.0) as i64).unwrap_or(0)
}

/// True when a code in the catalogue marks an expected step, not a failure.
pub fn is_interrupt(code: u32) -> bool {
    catalogue::lookup(code).is_some_and(|c| c.interrupt)
}

/// True when the step blocks the sign-in: a non-interrupt AADSTS code, an error
/// parameter or JSON error, or an HTTP error on an identity endpoint.
pub fn is_blocking(step: &Step) -> bool {
    if !step.aadsts.is_empty() {
        return step.aadsts.iter().any(|&c| !is_interrupt(c));
    }
    if step.error.is_some() {
        return true;
    }
    let seamless_probe = step.role == Some(HostRole::SeamlessSso) && step.status == Some(401);
    step.status.is_some_and(|s| s >= 400) && !seamless_probe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_links_compare_hosts_in_any_case_and_the_rest_exactly() {
        let long = "Login.MicrosoftOnline.COM.".repeat(9);
        for host in [
            "",
            "Login.MicrosoftOnline.com",
            "ÄBC.example",
            long.as_str(),
        ] {
            let url = |h: &str| url_link(&format!("https://{h}/common/login?ctx=Ab"));
            assert_eq!(url(host), url(&host.to_ascii_lowercase()), "{host}");
            assert_eq!(url(host), url(&host.to_ascii_uppercase()), "{host}");
            assert_ne!(url(host), url(&format!("{host}x")), "{host}");
        }
        let link = url_link("https://login.microsoftonline.com/common/login?ctx=Ab");
        assert_ne!(
            link,
            url_link("https://login.microsoftonline.com/common/login?ctx=ab")
        );
        assert_ne!(
            link,
            url_link("https://login.microsoftonline.com/Common/login?ctx=Ab")
        );
        assert_eq!(
            link,
            url_link("HTTPS://LOGIN.microsoftonline.com:443/common/login?ctx=Ab#x")
        );
        assert_ne!(hash_link("AQABAAEAAA"), hash_link("AQABAAEAAa"));
    }

    #[test]
    fn a_prt_cookie_is_found_in_any_case_among_others() {
        use crate::http::{Header, Headers};
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"iat":1}"#));
        let cookie = |name: &str| {
            Headers(vec![Header::new(
                "Cookie",
                format!("ESTSAUTH=xyz; {name}={jwt}; x-ms-gateway-slice=estsfd"),
            )])
        };
        for (name, found) in [
            ("x-ms-RefreshTokenCredential", true),
            ("X-MS-REFRESHTOKENCREDENTIAL", true),
            ("x-ms-RefreshTokenCredentia", false),
            ("my-x-ms-RefreshTokenCredential", false),
        ] {
            let mut step = Step::default();
            read_request_tokens(&mut step, &cookie(name));
            let kinds: Vec<&str> = step.tokens.iter().map(|t| t.kind.as_str()).collect();
            assert_eq!(kinds == ["prt_cookie"], found, "{name}: {kinds:?}");
        }
        assert!(names_before_equals(
            "a=1; X-Ms-RefreshTokenCredential=",
            PRT_COOKIE
        ));
        assert!(!names_before_equals(
            "x-ms-RefreshTokenCredential",
            PRT_COOKIE
        ));
        assert!(!names_before_equals("=x-ms-RefreshToken=", PRT_COOKIE));
    }

    #[test]
    fn a_quoted_value_may_hold_a_closing_angle_bracket() {
        // AD FS "Working..." page: only `<` is escaped in the token.
        let html = r#"<form method="POST" name="hiddenform" action="https://app.contoso.com:443/app"><input type="hidden" name="wa" value="wsignin1.0" /><input type="hidden" name="wresult" value="&lt;t:RequestSecurityTokenResponse xmlns:t=&quot;http://x&quot;>&lt;t:Lifetime>" /><input type="hidden" name="wctx" value="rm=0&amp;id=passive" /></form>"#;
        let names: Vec<_> = html::input_fields(html)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["wa", "wresult", "wctx"]);
        let mut step = Step {
            url: "https://sts.contoso.com/adfs/ls/?wa=wsignin1.0".into(),
            ..Step::default()
        };
        read_auto_post_form(&mut step, html);
        assert!(step.issued, "a wresult is a token issued to the app");
        assert!(step
            .links_out
            .contains(&url_link("https://app.contoso.com/app")));
    }

    fn saml_form(xml: &str) -> String {
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(xml);
        format!(
            r#"<form method="POST" action="https://app.contoso.com/saml/acs"><input type="hidden" name="SAMLResponse" value="{value}" /></form>"#
        )
    }

    #[test]
    fn a_saml_response_issues_or_fails_by_its_status() {
        let ok = saml_form(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><Assertion/></samlp:Response>"#,
        );
        let mut step = Step::default();
        read_auto_post_form(&mut step, &ok);
        assert!(step.issued);
        assert!(step.error.is_none());

        let failed = saml_form(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"/></samlp:StatusCode><samlp:StatusMessage>AADSTS75011: Authentication method 'X509' by which the user authenticated with the service doesn&apos;t match requested authentication method 'Password'.</samlp:StatusMessage></samlp:Status></samlp:Response>"#,
        );
        let mut step = Step::default();
        read_auto_post_form(&mut step, &failed);
        assert!(!step.issued);
        assert_eq!(step.aadsts, [75011]);
        let error = step.error.expect("a failed SAML status is an error");
        assert_eq!(error.error.as_deref(), Some("Requester"));
        assert!(error
            .message
            .unwrap()
            .starts_with("AADSTS75011: Authentication method"));
    }

    #[test]
    fn a_federation_token_for_another_identity_service_is_not_issued() {
        // AD FS hands its wresult to Entra ID: the sign-in goes on there.
        let html = r#"<form method="POST" name="hiddenform" action="https://login.microsoftonline.com/login.srf"><input type="hidden" name="wa" value="wsignin1.0" /><input type="hidden" name="wresult" value="&lt;t:RequestSecurityTokenResponse>" /></form>"#;
        let mut step = Step::default();
        read_auto_post_form(&mut step, html);
        assert!(!step.issued && !step.federation_issue);
        // Nor from one AD FS to another (an identity provider's to the app's).
        let html = html.replace(
            "https://login.microsoftonline.com/login.srf",
            "https://sts.rp.example/adfs/ls/",
        );
        read_auto_post_form(&mut step, &html);
        assert!(!step.issued);
    }

    #[test]
    fn a_stray_quote_does_not_pull_in_the_next_tag() {
        // An apostrophe in an unquoted value (invalid but seen in hand-written pages).
        let html = "<form action=\"https://app/x\"><input type=hidden name=ru value=o'neil><input type=hidden name=code value=abc></form>";
        assert_eq!(
            html::input_fields(html),
            [("ru", "o'neil".into()), ("code", "abc".into())]
        );
        // A quote that never closes: the broken tag does not borrow the next one's value.
        let html = "<input type=\"hidden\" name=\"code\" title='it><input type=\"hidden\" name=\"x\" value=\"y\">";
        assert!(html::input_fields(html).iter().all(|(n, _)| *n != "code"));
    }

    fn get(url: &str) -> Step {
        let ex = Exchange {
            request: crate::http::Request {
                method: "GET".into(),
                url: url.to_string().into(),
                ..Default::default()
            },
            ..Default::default()
        };
        observe(0, &ex)
    }

    fn post(url: &str, form: &str) -> Step {
        let ex = Exchange {
            request: crate::http::Request {
                method: "POST".into(),
                url: url.to_string().into(),
                body: crate::http::Body::Bytes(form.as_bytes().to_vec().into()),
                ..Default::default()
            },
            ..Default::default()
        };
        observe(0, &ex)
    }

    /// Observing a step hashes the ids it sends: the same id in any case is
    /// the same key, a token request's own grant makes another sign-in (an
    /// authorization code redeems the one it follows), an all-zero id is
    /// none, and the keys are the ones the flows' walk would derive.
    #[test]
    fn correlation_keys_are_made_when_observed() {
        let token = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
        let id = "1a2b3c4d-0000-4000-8000-00000000abcd";
        let upper = id.to_ascii_uppercase();
        let form = |grant: &str, id: &str| format!("grant_type={grant}&client-request-id={id}");
        let password = post(token, &form("password", id));
        let again = post(token, &form("password", &upper));
        let other_grant = post(token, &form("client_credentials", id));
        let redeem = post(token, &form("authorization_code", id));
        let page = get(&format!(
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client-request-id={id}"
        ));
        let zero = post(
            token,
            &form("password", "00000000-0000-0000-0000-000000000000"),
        );
        let key = |s: &Step| s.correlation_keys[0];
        assert!(key(&password).is_some());
        assert_eq!(key(&password), key(&again));
        assert_ne!(key(&password), key(&other_grant));
        assert_eq!(key(&redeem), key(&page));
        assert_ne!(key(&redeem), key(&password));
        assert_eq!(zero.correlation_keys, [None, None]);
        for s in [&password, &again, &other_grant, &redeem, &page, &zero] {
            assert_eq!(s.correlation_keys, correlation_keys(s));
        }
    }

    /// An error handed back in a redirect is read from its query or fragment,
    /// also after a stray `?`, and a redirect without one has none.
    #[test]
    fn errors_in_redirects_are_read() {
        use crate::http::{Header, Headers};
        let redirect = |location: &str| {
            let ex = Exchange {
                request: crate::http::Request {
                    method: "GET".into(),
                    url:
                        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=a"
                            .into(),
                    ..Default::default()
                },
                response: Some(crate::http::Response {
                    status: 302,
                    headers: Headers(vec![Header::new("Location", location.to_string())]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let step = observe(0, &ex);
            step.error
                .and_then(|e| (e.place == Some(ErrorPlace::Redirect)).then_some(e.error))
        };
        let denied = Some(Some("access_denied".to_string()));
        assert_eq!(
            redirect("https://app.example/cb?error=access_denied&state=s"),
            denied
        );
        assert_eq!(
            redirect("https://app.example/cb#state=s&error=access_denied"),
            denied
        );
        assert_eq!(
            redirect("https://app.example/cb??error=access_denied"),
            denied
        );
        assert_eq!(
            redirect("https://app.example/cb?%65rror=access_denied"),
            denied
        );
        assert_eq!(redirect("https://app.example/cb?code=c&state=s"), None);
        assert_eq!(redirect("https://app.example/cb?myerror=x"), None);
    }

    /// Forms posted to other sites are evidence only when they carry a sign-in
    /// result or a federation response; an app's own forms are not parsed.
    #[test]
    fn forms_to_other_sites_are_read_only_for_sign_in_evidence() {
        let upload = post(
            "https://files.example/upload",
            "login=adele%40contoso.example&data=xyz",
        );
        assert_eq!(upload.user, None);
        let form_post = post(
            "https://app.example/signin-oidc",
            "code=0.AX&state=s1&session_state=x",
        );
        assert!(
            form_post.issued || !form_post.links_in.is_empty(),
            "{form_post:?}"
        );
        let ws_fed = post(
            "https://app.example/",
            "wa=wsignin1.0&wresult=%3Ct%3ARSTR%3E&wctx=rm%3D0",
        );
        assert!(ws_fed.posts_sign_in_response);
        let ests = post(
            "https://login.microsoftonline.com/common/login",
            "login=adele%40contoso.example&passwd=x",
        );
        assert_eq!(ests.user.as_deref(), Some("adele@contoso.example"));
    }

    /// The one-pass tests agree with searching for each `name=` (what they replace).
    #[test]
    fn one_pass_result_tests_agree_with_a_search_per_name() {
        let reference = |text: &str, names: &[&str]| names.iter().any(|n| find(text, n).is_some());
        let results = [
            "code=",
            "error=",
            "id_token=",
            "state=",
            "client-request-id=",
        ];
        let responses = ["wresult=", "SAMLResponse=", "wa=wsign"];
        let alphabet = [
            "code",
            "=",
            "&",
            "error",
            "id_token",
            "st",
            "ate",
            "wa",
            "wsign",
            "wresult",
            "SAML",
            "Response",
            "client-request-id",
            "x",
            "%3D",
            "wsig",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut seen = [0usize; 2];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text: String = (0..(state % 7) as u32)
                .map(|k| alphabet[(state.rotate_left(k * 9) % alphabet.len() as u64) as usize])
                .collect();
            let want = reference(&text, &results);
            assert_eq!(carries_result(&text), want, "{text:?}");
            let want_either = want || reference(&text, &responses);
            assert_eq!(carries_result_or_response(&text), want_either, "{text:?}");
            seen[usize::from(want_either)] += 1;
        }
        assert!(seen[0] > 1000 && seen[1] > 500, "{seen:?}");
    }

    /// Parameter names are looked up case-insensitively, as compared before.
    #[test]
    fn parameter_names_are_found_in_any_case() {
        assert_eq!(Param::of("Client_ID"), (Param::ClientId, false));
        assert_eq!(Param::of("LOGIN_HINT"), (Param::User, false));
        assert_eq!(Param::of("WResult"), (Param::SignInResponse, true));
        assert_eq!(Param::of("samlResponse"), (Param::SignInResponse, false));
        assert_eq!(Param::of("FlowToken"), (Param::Other, true));
        assert_eq!(
            Param::of("client-request-id"),
            (Param::ClientRequestId, false)
        );
        assert_eq!(Param::of("client-request-idx"), (Param::Other, false));
        assert_eq!(Param::of("clíent_id"), (Param::Other, false));
        assert!(is_link_param("SessionLookupKey") && !is_link_param("sessionlookupkeys"));
    }

    #[test]
    fn sign_outs_are_marked() {
        assert!(
            get("https://sts.contoso.com/adfs/ls/?wa=wsignout1.0&wreply=https%3a%2f%2fapp")
                .sign_out
        );
        assert!(get("https://login.microsoftonline.com/common/oauth2/v2.0/logout").sign_out);
        assert!(!get("https://sts.contoso.com/adfs/ls/?wa=wsignin1.0&wtrealm=urn%3aapp").sign_out);
    }

    #[test]
    fn hidden_inputs_are_read() {
        let html = r#"<form method="POST" action="https://app/x"><input type="hidden" name="code" value="0.AX&amp;y" /><INPUT TYPE='hidden' NAME='state' VALUE='abc'></form>"#;
        let inputs = html::input_fields(html);
        assert_eq!(
            inputs,
            vec![("code", "0.AX&y".into()), ("state", "abc".into())]
        );
    }

    #[test]
    fn a_self_posting_form_links_to_its_action() {
        let mut step = Step {
            url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?x=1".into(),
            ..Step::default()
        };
        let html = r#"<html><body onload="document.forms[1].submit()"><form action="/common/lang"><input type="hidden" name="lc" value="1033"></form><Form method="post" ACTION='/common/reprocess?a=1&amp;b=2'><input type="hidden" name="state" value="s"/></Form>"#;
        read_auto_post_form(&mut step, html);
        assert!(!step
            .links_out
            .contains(&url_link("https://login.microsoftonline.com/common/lang")));
        let target = "https://login.microsoftonline.com/common/reprocess?a=1&b=2";
        assert!(step.links_out.contains(&url_link(target)), "{step:?}");
        // A form without hidden fields (a search box) is not a hand-off.
        let mut plain = Step::default();
        read_auto_post_form(&mut plain, r#"<form action="https://x/search"></form>"#);
        assert!(plain.links_out.is_empty());
    }

    #[test]
    fn server_times() {
        assert!(parse_server_time("2025-02-27 22:38:35Z").is_some());
        assert!(parse_server_time("2022-05-20T15:15:11Z").is_some());
        assert!(parse_server_time("nonsense").is_none());
        assert!(parse_http_date("Sun, 22 Nov 2026 08:11:14 GMT").is_some());
    }

    #[test]
    fn region_from_ests_server() {
        assert_eq!(
            region_of("2.1.19320.5 - NEULR1 ProdSlices").as_deref(),
            Some("NEULR1")
        );
        assert_eq!(region_of("weird"), None);
    }
}
