//! Arbitrary exchanges through the identity layer and the findings above it:
//! each exchange's facts (`identity::observe`: URLs, form bodies, pages,
//! auto-post forms, SAML responses, SOAP faults and Microsoft-account error
//! pages), flow grouping with its background traffic (discovery, user realm,
//! mex, the hidden MSA frame, MSA MFA polls, telemetry) and every finding rule.
//! It must never panic, every finding must name steps that exist, and a
//! background step is never both in a flow and listed as background.
#![no_main]

use std::borrow::Cow;

use aadtrace::findings::{self, FindingOptions};
use aadtrace::http::{Body, Exchange, Header, Headers, Request, Response, Timing};
use aadtrace::identity::{observe, Analysis, IdentityOptions};
use libfuzzer_sys::fuzz_target;

/// Where each exchange goes: identity hosts of every kind, and an app.
const ORIGINS: &[&str] = &[
    "https://login.microsoftonline.com/common/oauth2/v2.0/",
    "https://login.microsoftonline.com/",
    "https://login.live.com/",
    "https://sts.contoso.com/adfs/ls/",
    "https://autologon.microsoftazuread-sso.com/",
    "https://app.contoso.com/",
    // Background and helper traffic of real sign-ins.
    "https://login.microsoftonline.com/common/userrealm/",
    "https://login.microsoftonline.com/common/discovery/instance?",
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration?",
    "https://login.live.com/Me.htm?",
    "https://login.live.com/GetSessionState.srf?",
    "https://login.live.com/pp1600/GetOneTimeCode.srf?",
    "https://login.live.com/ppsecure/post.srf?",
    "https://sts.contoso.com/adfs/services/trust/mex?",
    "https://sts.contoso.com/adfs/services/trust/13/usernamemixed?",
    "https://browser.events.data.microsoft.com/OneCollector/1.0/?",
];
const METHODS: &[&str] = &["GET", "POST", "HEAD"];
const STATUSES: &[u16] = &[200, 302, 307, 400, 401, 404, 500, 0];
const MIMES: &[&str] = &["text/html", "application/json", "text/xml", ""];

/// One exchange from a record: four control bytes, then the URL tail, the
/// request body and the response body, separated by NUL.
fn exchange(index: usize, record: &[u8]) -> Option<Exchange<'_>> {
    let (&[origin, method, status, mime], rest) = record.split_first_chunk::<4>()?;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let tail = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let request_body = parts.next().unwrap_or_default();
    let response_body = parts.next().unwrap_or_default();
    let pick = |list: &[&'static str], b: u8| list[b as usize % list.len()];
    let mime = pick(MIMES, mime);
    let headers = |mime: &'static str| {
        Headers(vec![Header {
            name: Cow::Borrowed("content-type"),
            value: Cow::Borrowed(mime),
        }])
    };
    Some(Exchange {
        request: Request {
            method: Cow::Borrowed(pick(METHODS, method)),
            url: Cow::Owned(format!("{}{tail}", pick(ORIGINS, origin))),
            http_version: Cow::Borrowed("HTTP/1.1"),
            headers: headers("application/x-www-form-urlencoded"),
            body: Body::Bytes(Cow::Borrowed(request_body)),
            body_mime: None,
        },
        response: Some(Response {
            status: STATUSES[status as usize % STATUSES.len()],
            reason: Cow::Borrowed(""),
            http_version: Cow::Borrowed("HTTP/1.1"),
            headers: headers(mime),
            body: Body::Bytes(Cow::Borrowed(response_body)),
            body_mime: None,
        }),
        timing: Timing {
            started_us: 1_700_000_000_000_000 + index as i64 * 700_000,
            duration_ms: Some(100.0),
            wait_ms: None,
            phases: None,
        },
        ..Exchange::default()
    })
}

fuzz_target!(|data: &[u8]| {
    // Records are separated by 0x01; at most 16, so a run stays short.
    let steps: Vec<_> = data
        .split(|&b| b == 1)
        .take(16)
        .enumerate()
        .filter_map(|(i, record)| exchange(i, record).map(|ex| observe(i, &ex)))
        .collect();
    let n = steps.len();
    let analysis = Analysis::build(steps, &IdentityOptions::default());
    for flow in &analysis.flows {
        assert!(flow.steps.iter().all(|&s| s < n));
        assert!(flow.steps.iter().all(|s| !analysis.background.contains(s)));
    }
    assert!(analysis.background.iter().all(|&s| s < n));
    let found = findings::evaluate(&analysis, &[], &[], &FindingOptions::default());
    for f in &found {
        assert!(
            f.exchanges.iter().all(|&s| s < n),
            "{}: {:?}",
            f.kind,
            f.exchanges
        );
    }
});
