//! One huge sign-in flow as a HAR, for the benchmark of flow grouping and the
//! rules and reports after it (`benches/flow.rs`, issue #16 item 7). Each shape
//! makes `steps` exchanges that all group into one flow, and each stresses a
//! different part of the pipeline that once was quadratic in the flow's size:
//!
//! * `device_code`: a device-code request, then token polls that send the same
//!   device code and `client-request-id` back (AADSTS70016 until the last);
//! * `mfa_polls`: a push prompt (`BeginAuth`) polled by `EndAuth` until the
//!   trace ends (one attempt holding nearly every step);
//! * `mfa_prompts`: prompt after prompt, each polled once and left pending (an
//!   attempt per two steps);
//! * `background`: a sign-in page, then credential-type look-ups sent from it
//!   (background steps joining the flow by their `Referer`);
//! * `errors`: token requests that fail, in turn with HTTP 500, an OAuth error
//!   and an unknown AADSTS code, under one `client-request-id`;
//! * `redirects`: a chain of redirects, each request with its own
//!   `client-request-id` (a flow with as many correlation ids as steps).
//!
//! Pure and deterministic: the same shape and size give the same bytes.

use std::fmt::Write as _;

/// The shapes [`har`] knows, in the order the bench runs them.
pub const SHAPES: &[&str] = &[
    "device_code",
    "mfa_polls",
    "mfa_prompts",
    "background",
    "errors",
    "redirects",
];

const LOGIN: &str = "https://login.microsoftonline.com";
const CRID: &str = "4f1c2b7e-9d3a-4c55-8e21-6a0b9f3d7c10";
/// 2026-03-01T10:00:00Z in milliseconds since the epoch.
const T0_MS: i64 = 1_772_359_200_000;

/// One exchange of the flow.
struct Entry<'a> {
    at_ms: i64,
    method: &'a str,
    url: String,
    req_headers: Vec<(&'a str, String)>,
    /// MIME type and text of the request body.
    req_body: Option<(&'a str, String)>,
    status: u16,
    resp_headers: Vec<(&'a str, String)>,
    /// MIME type and text of the response body.
    resp_body: (&'a str, String),
}

/// The HAR of one flow of `steps` exchanges in `shape`; `None` for an unknown shape.
pub fn har(shape: &str, steps: usize) -> Option<Vec<u8>> {
    let mut out = String::with_capacity(steps * 900 + 256);
    out.push_str(
        "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"make_samples one_flow\",\"version\":\"1\"},\"entries\":[\n",
    );
    for i in 0..steps {
        let e = entry(shape, i, steps)?;
        if i > 0 {
            out.push_str(",\n");
        }
        write_entry(&mut out, &e);
    }
    out.push_str("\n]}}\n");
    Some(out.into_bytes())
}

fn entry(shape: &str, i: usize, steps: usize) -> Option<Entry<'static>> {
    let e = match shape {
        "device_code" => device_code(i, steps),
        "mfa_polls" => mfa_polls(i),
        "mfa_prompts" => mfa_prompts(i),
        "background" => background(i),
        "errors" => errors(i),
        "redirects" => redirects(i),
        _ => return None,
    };
    Some(e)
}

fn json(mime_body: &str) -> (&'static str, String) {
    ("application/json", mime_body.to_string())
}

fn form(body: &str) -> Option<(&'static str, String)> {
    Some(("application/x-www-form-urlencoded", body.to_string()))
}

fn crid() -> Vec<(&'static str, String)> {
    vec![("client-request-id", CRID.to_string())]
}

fn device_code(i: usize, steps: usize) -> Entry<'static> {
    let grant = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";
    if i == 0 {
        return Entry {
            at_ms: T0_MS,
            method: "POST",
            url: format!("{LOGIN}/common/oauth2/devicecode"),
            req_headers: crid(),
            req_body: form("client_id=app-1&scope=openid"),
            status: 200,
            resp_headers: vec![],
            resp_body: json(r#"{"device_code":"DC-1","user_code":"ABCD-EFGH","interval":5}"#),
        };
    }
    let last = i + 1 == steps;
    Entry {
        at_ms: T0_MS + i as i64 * 1000,
        method: "POST",
        url: format!("{LOGIN}/common/oauth2/token"),
        req_headers: crid(),
        req_body: form(&format!("{grant}&device_code=DC-1&client_id=app-1")),
        status: if last { 200 } else { 400 },
        resp_headers: vec![],
        resp_body: json(if last {
            r#"{"token_type":"Bearer","access_token":"at-1"}"#
        } else {
            r#"{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.","error_codes":[70016]}"#
        }),
    }
}

fn sas(i: usize, at_ms: i64, begin: bool, result: &str) -> Entry<'static> {
    let (path, method) = if begin {
        ("BeginAuth", "BeginAuth")
    } else {
        ("EndAuth", "EndAuth")
    };
    Entry {
        at_ms,
        method: "POST",
        url: format!("{LOGIN}/common/SAS/{path}"),
        req_headers: crid(),
        req_body: Some((
            "application/json",
            format!(
                r#"{{"AuthMethodId":"PhoneAppNotification","Method":"{method}","ctx":"ctx-1","flowToken":"ft-{i}","PollCount":{i}}}"#
            ),
        )),
        status: 200,
        resp_headers: vec![],
        resp_body: json(&format!(
            r#"{{"Success":{},"ResultValue":"{result}","FlowToken":"ft-{}","Ctx":"ctx-1"}}"#,
            begin,
            i + 1
        )),
    }
}

fn mfa_polls(i: usize) -> Entry<'static> {
    // Polls every 10 ms, well inside the default two-minute window at 12k steps;
    // beyond, the attempt runs out the window (timeout) and polling goes on.
    sas(i, T0_MS + i as i64 * 10, i == 0, "AuthenticationPending")
}

fn mfa_prompts(i: usize) -> Entry<'static> {
    let at = T0_MS + i as i64 * 500;
    if i.is_multiple_of(2) {
        sas(i, at, true, "Success")
    } else {
        sas(i, at, false, "AuthenticationPending")
    }
}

fn background(i: usize) -> Entry<'static> {
    let page = format!(
        "{LOGIN}/common/oauth2/v2.0/authorize?client_id=app-1&response_type=code&scope=openid"
    );
    if i == 0 {
        return Entry {
            at_ms: T0_MS,
            method: "GET",
            url: page,
            req_headers: crid(),
            req_body: None,
            status: 200,
            resp_headers: vec![],
            resp_body: ("text/html", "<html><body>sign in</body></html>".into()),
        };
    }
    Entry {
        at_ms: T0_MS + i as i64 * 10,
        method: "POST",
        url: format!("{LOGIN}/common/GetCredentialType?mkt=en-US"),
        req_headers: vec![("Referer", page)],
        req_body: Some((
            "application/json",
            format!(r#"{{"username":"user{i}@contoso.example","isOtherIdpSupported":true}}"#),
        )),
        status: 200,
        resp_headers: vec![],
        resp_body: json(r#"{"IfExistsResult":0,"ThrottleStatus":0}"#),
    }
}

fn errors(i: usize) -> Entry<'static> {
    let (status, body) = match i % 3 {
        0 => (500, ("text/plain", String::new())),
        1 => (400, json(r#"{"error":"invalid_grant"}"#)),
        _ => (
            400,
            json(&format!(
                r#"{{"error":"invalid_request","error_description":"AADSTS{}: made up.","error_codes":[{}]}}"#,
                900_000 + i,
                900_000 + i
            )),
        ),
    };
    Entry {
        at_ms: T0_MS + i as i64 * 200,
        method: "POST",
        url: format!("{LOGIN}/common/oauth2/token"),
        req_headers: crid(),
        req_body: form("grant_type=password&client_id=app-1&username=user%40contoso.example"),
        status,
        resp_headers: vec![],
        resp_body: body,
    }
}

fn redirects(i: usize) -> Entry<'static> {
    Entry {
        at_ms: T0_MS + i as i64 * 200,
        method: "GET",
        url: format!("{LOGIN}/common/login?step={i}"),
        req_headers: vec![(
            "client-request-id",
            format!("{:08x}-1111-4222-8333-444455556666", i),
        )],
        req_body: None,
        status: 302,
        resp_headers: vec![("Location", format!("{LOGIN}/common/login?step={}", i + 1))],
        resp_body: ("text/html", String::new()),
    }
}

/// A JSON string literal.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn headers(out: &mut String, list: &[(&str, String)]) {
    out.push('[');
    for (n, (name, value)) in list.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"name\":{},\"value\":{}}}", q(name), q(value));
    }
    out.push(']');
}

fn write_entry(out: &mut String, e: &Entry<'_>) {
    let started = iso_time(e.at_ms);
    let _ = write!(
        out,
        "{{\"startedDateTime\":\"{started}\",\"time\":50,\"request\":{{\"method\":\"{}\",\"url\":{},\"httpVersion\":\"HTTP/2\",\"headers\":",
        e.method,
        q(&e.url)
    );
    headers(out, &e.req_headers);
    out.push_str(",\"queryString\":[],\"cookies\":[],\"headersSize\":-1,\"bodySize\":-1");
    if let Some((mime, text)) = &e.req_body {
        let _ = write!(
            out,
            ",\"postData\":{{\"mimeType\":{},\"text\":{}}}",
            q(mime),
            q(text)
        );
    }
    let _ = write!(
        out,
        "}},\"response\":{{\"status\":{},\"statusText\":\"\",\"httpVersion\":\"HTTP/2\",\"headers\":",
        e.status
    );
    headers(out, &e.resp_headers);
    let (mime, text) = &e.resp_body;
    let _ = write!(
        out,
        ",\"cookies\":[],\"content\":{{\"size\":{},\"mimeType\":{},\"text\":{}}},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":-1}},\"cache\":{{}},\"timings\":{{\"send\":0,\"wait\":40,\"receive\":10}}}}",
        text.len(),
        q(mime),
        q(text)
    );
}

/// `2026-03-01T10:00:00.000Z` for milliseconds since the epoch.
fn iso_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_time_of_the_start() {
        assert_eq!(super::iso_time(super::T0_MS), "2026-03-01T10:00:00.000Z");
    }
}
