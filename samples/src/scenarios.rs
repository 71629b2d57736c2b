//! Every sample capture, one function per scenario. All identifiers, tokens and times
//! come from a seeded generator, so each run writes the same bytes.

use serde_json::{json, Value};

use crate::browser::{Browser, Req, Resp};
use crate::ests::{
    self, end_of, first_visit_cookies, form_post_page, new_flow_token, page_assets,
    session_cookies, signin_page, token_reply, Ests, EstsPage, APP_CLIENT_ID, APP_ORIGIN,
    APP_REDIRECT, LOGIN, TENANT_DOMAIN, TENANT_ID, USER,
};
use crate::model::{ExportOptions, Scenario};
use crate::util::{
    aadsts_time, cookie_date, ests_enc, form, form_enc, html_escape, iso_ms, iso_s, unix_ms, Rng,
};

/// Where and when a scenario is generated. The sample files use fixed values; the
/// benchmark generator shifts them.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub seed: u64,
    pub start_us: i64,
}

/// A scenario constructor.
pub type Build = fn(Variant) -> Scenario;

/// All sample scenarios with their fixed seeds and start times.
pub fn all() -> Vec<(Build, Variant)> {
    let t = crate::util::parse_iso_us;
    vec![
        (
            clean_signin as Build,
            Variant {
                seed: 101,
                start_us: t("2026-11-22T08:11:14.490Z"),
            },
        ),
        (
            mfa_timeout_then_success,
            Variant {
                seed: 202,
                start_us: t("2026-11-22T08:24:03.112Z"),
            },
        ),
        (
            mfa_abandoned_500121,
            Variant {
                seed: 303,
                start_us: t("2026-11-22T08:40:27.845Z"),
            },
        ),
        (
            msa_handoff_70012,
            Variant {
                seed: 404,
                start_us: t("2026-11-22T09:01:58.640Z"),
            },
        ),
        (
            token_errors_devicecode,
            Variant {
                seed: 505,
                start_us: t("2026-11-22T09:15:40.207Z"),
            },
        ),
        (
            adfs_federated,
            Variant {
                seed: 606,
                start_us: t("2026-11-22T09:33:52.061Z"),
            },
        ),
        (
            redirect_loop,
            Variant {
                seed: 707,
                start_us: t("2026-11-22T09:47:05.630Z"),
            },
        ),
    ]
}

const CHROME: &str = "WebInspector 537.36";
const PASSWORD: &str = "Sample-Passw0rd!";

fn scenario(stem: &str, description: &str, producer: &str, b: Browser) -> Scenario {
    let mut s = Scenario {
        file_stem: stem.into(),
        description: description.into(),
        producer: producer.into(),
        export: ExportOptions::default(),
        exchanges: b.exchanges,
    };
    s.sort();
    s
}

// ---------------------------------------------------------------------------
// The sample web app (app.contoso.example, ASP.NET Core behind the OIDC handler)
// ---------------------------------------------------------------------------

/// Parameters of one authorization request the app makes.
struct AppAuth {
    state: String,
    nonce: String,
    nonce_cookie: String,
    corr_cookie: String,
}

impl AppAuth {
    fn new(rng: &mut Rng) -> Self {
        AppAuth {
            state: rng.token("CfDJ8Hq2vU1mXkNw", 380),
            nonce: format!(
                "6389{}.{}",
                rng.range(10_000_000_000_000, 99_999_999_999_999),
                rng.token("", 86)
            ),
            nonce_cookie: rng.token("", 86),
            corr_cookie: rng.token("", 43),
        }
    }
}

fn app_headers(mime: Option<&str>) -> Vec<(String, String)> {
    let mut h = Vec::new();
    if let Some(m) = mime {
        h.push(("Content-Type".into(), m.to_string()));
    }
    h.push(("Server".into(), "Kestrel".into()));
    h.push(("Cache-Control".into(), "no-cache,no-store".into()));
    h.push(("Pragma".into(), "no-cache".into()));
    h.push(("Expires".into(), "-1".into()));
    h.push(("Strict-Transport-Security".into(), "max-age=2592000".into()));
    h
}

/// The app's authorize URL for `tenant`, with `response_mode`.
fn authorize_url(tenant: &str, response_type: &str, mode: &str, a: &AppAuth, corr: &str) -> String {
    format!(
        "{LOGIN}/{tenant}/oauth2/v2.0/authorize?client_id={APP_CLIENT_ID}&redirect_uri={}&response_type={}&scope=openid+profile&response_mode={mode}&state={}&nonce={}&client-request-id={corr}&x-client-SKU=ID_NET8_0&x-client-ver=8.2.0.0",
        form_enc(APP_REDIRECT),
        form_enc(response_type),
        a.state,
        form_enc(&a.nonce)
    )
}

/// GET / on the app without a session → 302 to the authorize endpoint.
fn app_challenge(b: &mut Browser, typed: bool, location: &str, a: &AppAuth) {
    let expires = cookie_date(b.now + 15 * 60 * 1_000_000);
    let resp = Resp::new(302)
        .headers(app_headers(None))
        .header("Location", location)
        .header(
            "Set-Cookie",
            format!(
                ".AspNetCore.OpenIdConnect.Nonce.{}=N; expires={expires}; path=/signin-oidc; secure; samesite=none; httponly",
                a.nonce_cookie
            ),
        )
        .header(
            "Set-Cookie",
            format!(
                ".AspNetCore.Correlation.{}=N; expires={expires}; path=/signin-oidc; secure; samesite=none; httponly",
                a.corr_cookie
            ),
        );
    let req = if typed {
        Req::typed(format!("{APP_ORIGIN}/"))
    } else {
        Req::nav(format!("{APP_ORIGIN}/"))
    };
    let wait = b.rng.ms(18.0, 40.0);
    b.send(req, wait, resp);
}

fn app_home_html(title: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>{} - Contoso Portal</title>\n<link rel=\"stylesheet\" href=\"/css/site.css\" />\n</head>\n<body>\n<header><nav>Contoso Portal</nav></header>\n<main role=\"main\"><h1>{}</h1><p>{}</p></main>\n</body>\n</html>\n",
        html_escape(title),
        html_escape(title),
        html_escape(text)
    )
}

fn app_session_cookie(rng: &mut Rng, a: &AppAuth, secure: bool) -> Vec<String> {
    let sec = if secure { " secure;" } else { "" };
    vec![
        format!(
            ".AspNetCore.Correlation.{}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/signin-oidc; secure; samesite=none",
            a.corr_cookie
        ),
        format!(
            ".AspNetCore.OpenIdConnect.Nonce.{}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/signin-oidc; secure; samesite=none",
            a.nonce_cookie
        ),
        format!(
            ".AspNetCore.Cookies={}; path=/;{sec} samesite=none; httponly",
            rng.token("CfDJ8Hq2vU1mXkNw", 1800)
        ),
    ]
}

/// The app redeems an authorization code on the back channel (HTTP/1.1 from the
/// app's server, MSAL.NET). Starts `offset_ms` after now without moving the clock;
/// returns the end time.
fn app_redeem_code(
    b: &mut Browser,
    ests: &mut Ests,
    code: &str,
    nonce: &str,
    amr: &[&str],
    offset_ms: f64,
) -> i64 {
    let crid = b.rng.guid();
    let body = form(&[
        ("client_id", APP_CLIENT_ID),
        ("redirect_uri", APP_REDIRECT),
        ("client_secret", &format!("Qz48Q~{}", b.rng.token("", 34))),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("client_info", "1"),
    ]);
    let req = Req::client("POST", format!("{LOGIN}/{TENANT_ID}/oauth2/v2.0/token"))
        .version("HTTP/1.1")
        .header("x-client-SKU", "MSAL.NetCore")
        .header("x-client-Ver", "4.66.1.0")
        .header("x-client-OS", "Linux 6.8.0-1019-azure #22-Ubuntu SMP")
        .header("client-request-id", crid.clone())
        .header("return-client-request-id", "true")
        .header("x-ms-lib-capability", "retry-after, h429")
        .header("x-client-current-telemetry", "5|1005,0,,,|0,1,0,,")
        .header("Accept", "application/json")
        .body("application/x-www-form-urlencoded", body);
    let at = b.now + (offset_ms * 1000.0) as i64;
    let mut h = ests.headers_echo(
        &mut b.rng,
        "application/json; charset=utf-8",
        Some(&crid),
        &[],
    );
    h.push(("x-ms-clitelem".into(), "1,0,0,,".into()));
    let reply = token_reply(&mut b.rng, at, nonce, amr, APP_CLIENT_ID);
    let wait = b.rng.ms(95.0, 160.0);
    let idx = b.fire(req, wait, Resp::new(200).headers(h).json(&reply), offset_ms);
    end_of(b, idx)
}

// ---------------------------------------------------------------------------
// Shared ESTS steps
// ---------------------------------------------------------------------------

/// The authorize request, the sign-in page with its assets, and the Seamless SSO
/// probe that fails off-domain.
fn signin_start(b: &mut Browser, ests: &mut Ests, url: String) {
    let wait = b.rng.ms(140.0, 210.0);
    let at = b.now + (wait * 1000.0) as i64;
    let cookies = first_visit_cookies(&mut b.rng, at);
    let page = signin_page(ests, None);
    let resp = ests.page(&mut b.rng, at, page, &cookies);
    b.send(Req::nav(url), wait, resp);
    page_assets(b, ests, true, "ConvergedSignIn");

    // Seamless SSO probe: this machine is not domain-joined, so 401 Negotiate.
    b.pause(40.0);
    let probe = format!(
        "https://autologon.microsoftazuread-sso.com/{TENANT_DOMAIN}/winauth/ssoprobe?client-request-id={}",
        ests.corr
    );
    let resp = Resp::new(401)
        .header("Cache-Control", "no-store, no-cache")
        .header("Pragma", "no-cache")
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Expires", "-1")
        .header("Access-Control-Allow-Origin", LOGIN)
        .header("Access-Control-Allow-Credentials", "true")
        .header("WWW-Authenticate", "Negotiate")
        .header("x-ms-request-id", b.rng.guid())
        .header(
            "x-ms-ests-server",
            format!("{} - {} ProdSlices", ests::BUILD, ests.region),
        );
    let wait = b.rng.ms(30.0, 60.0);
    b.send(Req::fetch("GET", probe), wait, resp);
}

/// Username typed; POST GetCredentialType. `creds`/`props` complete the reply.
fn get_credential_type(
    b: &mut Browser,
    ests: &mut Ests,
    username: &str,
    if_exists: u32,
    creds: Value,
    props: Value,
    extra_cookies: &[String],
) {
    let body = json!({
        "username": username,
        "isOtherIdpSupported": true,
        "checkPhones": false,
        "isRemoteNGCSupported": true,
        "isCookieBannerShown": false,
        "isFidoSupported": true,
        "originalRequest": ests.ctx,
        "country": "DE",
        "forceotclogin": false,
        "isExternalFederationDisallowed": false,
        "isRemoteConnectSupported": false,
        "federationFlags": 0,
        "isSignup": false,
        "flowToken": ests.ft,
        "isAccessPassSupported": true
    });
    let req = ests
        .api_headers(Req::fetch(
            "POST",
            format!("{LOGIN}/common/GetCredentialType?mkt=en-US"),
        ))
        .header("Content-Type", "application/json; charset=UTF-8")
        .json(&body);
    ests.ft = new_flow_token(&mut b.rng);
    ests.api_canary = b.rng.token("PAQABDgEAAAA", 220);
    let reply = json!({
        "Username": username,
        "Display": username,
        "IfExistsResult": if_exists,
        "IsUnmanaged": false,
        "ThrottleStatus": 0,
        "Credentials": creds,
        "EstsProperties": props,
        "IsSignupDisallowed": true,
        "FlowToken": ests.ft,
        "apiCanary": ests.api_canary
    });
    let h = ests.headers(
        &mut b.rng,
        "application/json; charset=utf-8",
        true,
        extra_cookies,
    );
    let wait = b.rng.ms(60.0, 110.0);
    b.send(req, wait, Resp::new(200).headers(h).json(&reply));
}

fn managed_creds() -> (Value, Value) {
    (
        json!({
            "PrefCredential": 1,
            "HasPassword": true,
            "RemoteNgcParams": null,
            "FidoParams": null,
            "SasParams": null,
            "CertAuthParams": null,
            "GoogleParams": null,
            "FacebookParams": null
        }),
        json!({"UserTenantBranding": null, "DomainType": 3}),
    )
}

/// The password form POST to `/{tenant}/login`.
fn password_form(ests: &Ests, username: &str) -> String {
    form(&[
        ("i13", "0"),
        ("login", username),
        ("loginfmt", username),
        ("type", "11"),
        ("LoginOptions", "3"),
        ("lrt", ""),
        ("lrtPartition", ""),
        ("hisRegion", ""),
        ("hisScaleUnit", ""),
        ("passwd", PASSWORD),
        ("ps", "2"),
        ("psRNGCDefaultType", ""),
        ("psRNGCEntropy", ""),
        ("psRNGCSLK", ""),
        ("canary", &ests.canary),
        ("ctx", &ests.ctx),
        ("hpgrequestid", &ests.session_id),
        ("flowToken", &ests.ft),
        ("PPSX", ""),
        ("NewUser", "1"),
        ("FoundMSAs", ""),
        ("fspost", "0"),
        ("i21", "0"),
        ("CookieDisclosure", "0"),
        ("IsFidoSupported", "1"),
        ("isSignupPost", "0"),
        ("DfpArtifact", ""),
        ("i19", "21377"),
    ])
}

/// Everything up to the password POST, which answers with `next`.
fn managed_until_password(
    b: &mut Browser,
    ests: &mut Ests,
    auth_url: String,
    next: EstsPage,
    next_wait: f64,
) {
    signin_start(b, ests, auth_url);
    b.pause(4_210.0);
    let (c, p) = managed_creds();
    get_credential_type(b, ests, USER, 0, c, p, &[]);
    b.pause(5_830.0);
    let body = password_form(ests, USER);
    let url = format!("{LOGIN}/{}/login", ests.tenant);
    ests.ft = new_flow_token(&mut b.rng);
    ests.canary = b.rng.token("PAQABDgEAAAA", 280);
    let at = b.now + (next_wait * 1000.0) as i64;
    let cookies = session_cookies(&mut b.rng, None);
    let resp = ests.page(&mut b.rng, at, next, &cookies);
    b.send(Req::form_post(url, body, true), next_wait, resp);
}

fn tfa_page() -> EstsPage {
    EstsPage::new("ConvergedTFA", Some(1114))
        .set(
            "arrUserProofs",
            json!([
                {"authMethodId": "PhoneAppNotification", "data": "PhoneAppNotification", "display": "+XX XXXXXXX23", "isDefault": true, "isLocationAware": false},
                {"authMethodId": "OneWaySMS", "data": "OneWaySMS", "display": "+XX XXXXXXX23", "isDefault": false, "isLocationAware": false}
            ]),
        )
        .set("oPerAuthPollingInterval", json!({"PhoneAppNotification": 1.0}))
        .set("iPollingInterval", json!(5000))
        .set("iMaxPollAttempts", json!(10))
        .set("iPollingTimeout", json!(60000))
        .set("iPollingBackoffInterval", json!(1.04))
        .set("iRememberMfaDuration", json!(14.0))
        .set("iSAMode", json!(2))
        .set("iSAOtcLength", json!(6))
        .set("iTotpOtcLength", json!(6))
        .set("urlBeginAuth", json!(format!("{LOGIN}/common/SAS/BeginAuth")))
        .set("urlEndAuth", json!(format!("{LOGIN}/common/SAS/EndAuth")))
        .set("urlPost", json!("/common/SAS/ProcessAuth"))
        .set("sAuthMethodInputFieldName", json!("mfaAuthMethod"))
        .set("sTrustedDeviceCheckboxName", json!("rememberMFA"))
        .set("sPOST_Username", json!(USER))
        .set("fShowViewDetailsLink", json!(true))
}

/// SAS state for one push notification.
struct Push {
    session: String,
    first_poll_start: i64,
    last_poll_start: i64,
    last_poll_end: i64,
}

fn sas_reply(
    ests: &Ests,
    session: &str,
    success: bool,
    result: &str,
    retry: bool,
    at: i64,
) -> Value {
    json!({
        "Success": success,
        "ResultValue": result,
        "Message": null,
        "AuthMethodId": "PhoneAppNotification",
        "ErrCode": 0,
        "Retry": retry,
        "FlowToken": ests.ft,
        "Ctx": ests.ctx,
        "SessionId": session,
        "CorrelationId": ests.corr,
        "Timestamp": iso_s(at)
    })
}

/// POST BeginAuth for a push notification with number matching.
fn begin_auth(b: &mut Browser, ests: &mut Ests, entropy: u32) -> Push {
    let body = json!({
        "AuthMethodId": "PhoneAppNotification",
        "Method": "BeginAuth",
        "ctx": ests.ctx,
        "flowToken": ests.ft
    });
    let req = ests
        .api_headers(Req::fetch("POST", format!("{LOGIN}/common/SAS/BeginAuth")))
        .header("Content-Type", "application/json; charset=UTF-8")
        .json(&body);
    let session = b.rng.guid();
    ests.ft = new_flow_token(&mut b.rng);
    let wait = b.rng.ms(420.0, 780.0);
    let at = b.now + (wait * 1000.0) as i64;
    let mut reply = sas_reply(ests, &session, true, "Success", false, at);
    reply["Entropy"] = json!(entropy);
    let h = ests.headers(&mut b.rng, "application/json; charset=utf-8", true, &[]);
    b.send(req, wait, Resp::new(200).headers(h).json(&reply));
    Push {
        session,
        first_poll_start: 0,
        last_poll_start: 0,
        last_poll_end: 0,
    }
}

/// One GET EndAuth poll, started at `start`. `result` is the server's verdict.
fn end_auth(b: &mut Browser, ests: &mut Ests, push: &mut Push, n: u32, start: i64, result: &str) {
    b.now = start;
    let mut url =
        format!("{LOGIN}/common/SAS/EndAuth?authMethodId=PhoneAppNotification&pollCount={n}");
    if n > 1 {
        url.push_str(&format!(
            "&lastPollStart={}&lastPollEnd={}",
            unix_ms(push.last_poll_start),
            unix_ms(push.last_poll_end)
        ));
    }
    let req = ests
        .api_headers(Req::fetch("GET", url))
        .header("x-ms-sessionId", push.session.clone())
        .header("x-ms-flowToken", ests.ft.clone())
        .header("x-ms-ctx", ests.ctx.clone());
    ests.ft = new_flow_token(&mut b.rng);
    let wait = b.rng.ms(45.0, 140.0);
    let at = start + (wait * 1000.0) as i64;
    let (success, retry) = match result {
        "Success" => (true, false),
        "AuthenticationPending" => (false, true),
        _ => (false, false),
    };
    let reply = sas_reply(ests, &push.session, success, result, retry, at);
    let h = ests.headers(&mut b.rng, "application/json; charset=utf-8", true, &[]);
    let idx = b.send(req, wait, Resp::new(200).headers(h).json(&reply));
    if n == 1 {
        push.first_poll_start = start;
    }
    push.last_poll_start = start;
    push.last_poll_end = end_of(b, idx);
}

/// Polls about once a second (×1.04 back-off) after BeginAuth; `pending` polls
/// answer AuthenticationPending, then one poll answers `last` (if any).
/// With `deadline_ms`, polls stay pending until that much time has passed since the
/// first poll and then answer `last`.
fn poll(
    b: &mut Browser,
    ests: &mut Ests,
    push: &mut Push,
    pending: Option<u32>,
    deadline_ms: Option<f64>,
    last: Option<&str>,
) {
    let begin_end = b.now;
    let mut start = begin_end + 1_000_000;
    let mut interval = 1000.0;
    let mut n = 1;
    loop {
        let elapsed_ms = (start - begin_end) as f64 / 1000.0;
        let done_pending = match (pending, deadline_ms) {
            (Some(p), _) => n > p,
            (None, Some(d)) => elapsed_ms >= d,
            _ => true,
        };
        if done_pending {
            if let Some(l) = last {
                end_auth(b, ests, push, n, start, l);
            }
            break;
        }
        end_auth(b, ests, push, n, start, "AuthenticationPending");
        interval *= 1.04;
        let jitter = b.rng.ms(-12.0, 12.0);
        start += ((interval + jitter) * 1000.0) as i64;
        n += 1;
    }
}

fn process_auth_form(ests: &Ests, push: &Push) -> String {
    form(&[
        ("type", "22"),
        ("request", &ests.ctx),
        ("mfaAuthMethod", "PhoneAppNotification"),
        ("canary", &ests.canary),
        ("otc", ""),
        ("login", USER),
        ("flowToken", &ests.ft),
        ("hpgrequestid", &ests.session_id),
        ("sacxt", ""),
        ("hideSmsInMfaProofs", "false"),
        ("i19", "61204"),
        (
            "mfaLastPollStart",
            &unix_ms(push.last_poll_start).to_string(),
        ),
        ("mfaLastPollEnd", &unix_ms(push.last_poll_end).to_string()),
    ])
}

fn code_value(rng: &mut Rng) -> String {
    rng.token("1.AUEBKnweT7WTDk2MYSp9leOw9HbeMWemFK5Jl7xuumkUOR4BAJxBAA.AgABBAIAAADW6jl31mB3T7ugrWTT8pFeAwDs_wUA9P8", 880)
}

// ---------------------------------------------------------------------------
// 1. clean-signin
// ---------------------------------------------------------------------------

pub fn clean_signin(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "NEULR1", TENANT_ID);
    let a = AppAuth::new(&mut b.rng);
    let auth = authorize_url(TENANT_ID, "code", "form_post", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);

    let kmsi = EstsPage::new("KmsiInterrupt", Some(1115))
        .set("sErrorCode", json!("50140"))
        .set("urlPost", json!("/kmsi"))
        .set("sPOST_Username", json!(USER))
        .set("fIsKmsiInterrupt", json!(true))
        .set("iKmsiDuration", json!(90));
    managed_until_password(&mut b, &mut ests, auth, kmsi, 385.0);
    page_assets(&mut b, &mut ests, false, "KmsiInterrupt");

    // "Stay signed in?" → Yes.
    b.pause(2_640.0);
    let body = form(&[
        ("LoginOptions", "1"),
        ("type", "28"),
        ("ctx", &ests.ctx),
        ("hpgrequestid", &ests.session_id),
        ("flowToken", &ests.ft),
        ("canary", &ests.canary),
        ("i19", "3120"),
    ]);
    let code = code_value(&mut b.rng);
    let session_state = b.rng.guid();
    let html = form_post_page(
        APP_REDIRECT,
        &[
            ("code", &code),
            ("state", &a.state),
            ("session_state", &session_state),
        ],
    );
    let persist = b.now + 90 * 86_400 * 1_000_000;
    let cookies = session_cookies(&mut b.rng, Some(persist));
    let h = ests.headers(&mut b.rng, "text/html; charset=utf-8", true, &cookies);
    let wait = b.rng.ms(150.0, 230.0);
    b.send(
        Req::form_post(format!("{LOGIN}/kmsi"), body, true),
        wait,
        Resp::new(200).headers(h).html(html),
    );

    // The page auto-posts the code to the app, which redeems it on the back channel
    // before answering.
    let body = form(&[
        ("code", &code),
        ("state", &a.state),
        ("session_state", &session_state),
    ]);
    let start = b.now;
    let token_end = app_redeem_code(&mut b, &mut ests, &code, &a.nonce, &["pwd"], 96.0);
    let wait = (token_end - start) as f64 / 1000.0 + 14.0;
    let cookies = app_session_cookie(&mut b.rng, &a, true);
    let mut resp = Resp::new(302)
        .headers(app_headers(None))
        .header("Location", "/");
    for c in cookies {
        resp = resp.header("Set-Cookie", c);
    }
    b.send(Req::form_post(APP_REDIRECT, body, false), wait, resp);
    let html = app_home_html("Welcome", "Signed in as Adele Vance.");
    let wait = b.rng.ms(22.0, 40.0);
    b.send(
        Req::nav(format!("{APP_ORIGIN}/")),
        wait,
        Resp::new(200)
            .headers(app_headers(Some("text/html; charset=utf-8")))
            .html(html),
    );
    scenario(
        "clean-signin",
        "Managed user signs in with a password in Chrome: no MFA, KMSI accepted, form_post back to the app, code redeemed.",
        CHROME,
        b,
    )
}

// ---------------------------------------------------------------------------
// 2. mfa-timeout-then-success
// ---------------------------------------------------------------------------

pub fn mfa_timeout_then_success(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "NEULR1", TENANT_ID);
    let a = AppAuth::new(&mut b.rng);
    let auth = authorize_url(TENANT_ID, "code", "query", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);
    managed_until_password(&mut b, &mut ests, auth, tfa_page(), 412.0);
    page_assets(&mut b, &mut ests, false, "ConvergedTFA");

    // First push: nobody answers; after ~60 s the server says PhoneAppNoResponse.
    b.pause(310.0);
    let mut push = begin_auth(&mut b, &mut ests, 42);
    poll(
        &mut b,
        &mut ests,
        &mut push,
        None,
        Some(60_000.0),
        Some("PhoneAppNoResponse"),
    );

    // The user clicks "Send another request" ~8 s later and approves this one.
    b.pause(8_120.0);
    let mut push = begin_auth(&mut b, &mut ests, 87);
    poll(&mut b, &mut ests, &mut push, Some(6), None, Some("Success"));

    b.pause(160.0);
    let body = process_auth_form(&ests, &push);
    let code = code_value(&mut b.rng);
    let session_state = b.rng.guid();
    let location = format!(
        "{APP_REDIRECT}?code={code}&state={}&session_state={session_state}",
        a.state
    );
    let persist = None;
    let cookies = session_cookies(&mut b.rng, persist);
    let h = ests.headers(&mut b.rng, "text/html; charset=utf-8", true, &cookies);
    b.send(
        Req::form_post(format!("{LOGIN}/common/SAS/ProcessAuth"), body, false),
        4_200.0,
        Resp::new(302)
            .headers(h)
            .header("Location", location.clone()),
    );
    let mut resp = Resp::new(200).headers(app_headers(Some("text/html; charset=utf-8")));
    for c in app_session_cookie(&mut b.rng, &a, true) {
        resp = resp.header("Set-Cookie", c);
    }
    let resp = resp.html(app_home_html("Welcome", "Signed in as Adele Vance."));
    let wait = b.rng.ms(180.0, 260.0);
    b.send(Req::nav(location), wait, resp);
    scenario(
        "mfa-timeout-then-success",
        "Password accepted, first Authenticator push unanswered for 60 s (PhoneAppNoResponse), second push approved; ProcessAuth slow (4.2 s); code returned in the query.",
        CHROME,
        b,
    )
}

// ---------------------------------------------------------------------------
// 3. mfa-abandoned-500121
// ---------------------------------------------------------------------------

pub fn mfa_abandoned_500121(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "NEULR1", TENANT_ID);
    let a = AppAuth::new(&mut b.rng);
    let auth = authorize_url(TENANT_ID, "code", "query", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);
    managed_until_password(&mut b, &mut ests, auth, tfa_page(), 398.0);
    page_assets(&mut b, &mut ests, false, "ConvergedTFA");

    b.pause(290.0);
    let mut push = begin_auth(&mut b, &mut ests, 63);
    // Five pending polls, then the polling stops without a verdict.
    poll(&mut b, &mut ests, &mut push, Some(5), None, None);

    b.pause(40_350.0);
    let body = process_auth_form(&ests, &push);
    let msg = "AADSTS500121: Authentication failed during strong authentication request.";
    let error_body = format!(
        "<div id=\"errorDetails\" class=\"error-details\">\n<div class=\"text-title\">Sign in failed</div>\n<div class=\"text-body\">We couldn't verify your identity. Please try again.</div>\n<div class=\"debug-details\">\n<div><span class=\"bold\">Request Id:</span> <span>%%REQUEST_ID%%</span></div>\n<div><span class=\"bold\">Correlation Id:</span> <span>{corr}</span></div>\n<div><span class=\"bold\">Timestamp:</span> <span>%%TIMESTAMP%%</span></div>\n<div><span class=\"bold\">Message:</span> <span>{msg}</span></div>\n</div>\n</div>\n",
        corr = ests.corr
    );
    let mut page = EstsPage::new("ConvergedError", None)
        .set("iErrorCode", json!(500121))
        .set("sErrorCode", json!("500121"))
        .set("strServiceExceptionMessage", json!(msg))
        .set("strMainMessage", json!("Sign in failed"))
        .set(
            "strAdditionalMessage",
            json!("We couldn't verify your identity. Please try again."),
        )
        .set("fShowDebugDetails", json!(true))
        .set(
            "urlRetry",
            json!(format!(
                "{LOGIN}/{TENANT_ID}/oauth2/v2.0/authorize?client_id={APP_CLIENT_ID}"
            )),
        );
    page.title = "Sign in to your account".into();
    page.with_flow = false;
    page.body = error_body;
    let wait = 612.0;
    let at = b.now + (wait * 1000.0) as i64;
    let resp = ests.page(&mut b.rng, at, page, &[]);
    b.send(
        Req::form_post(format!("{LOGIN}/common/SAS/ProcessAuth"), body, false),
        wait,
        resp,
    );
    page_assets(&mut b, &mut ests, false, "ConvergedError");
    scenario(
        "mfa-abandoned-500121",
        "Password accepted, push sent, five pending polls, then the prompt is abandoned; ~40 s later ProcessAuth answers HTTP 200 ConvergedError with AADSTS500121.",
        CHROME,
        b,
    )
}

// ---------------------------------------------------------------------------
// 4. msa-handoff-70012
// ---------------------------------------------------------------------------

pub fn msa_handoff_70012(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "WEULR2", "organizations");
    let a = AppAuth::new(&mut b.rng);
    let auth = authorize_url("organizations", "code", "query", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);
    signin_start(&mut b, &mut ests, auth);

    let msa_user = "someone@outlook.example";
    let uaid = b.rng.hex(32);
    let ests_msa_client = "1f6a8e25-7d3b-4c90-b2e1-9a5c3f0d8e47";
    let live_url = format!(
        "https://login.live.com/oauth20_authorize.srf?client_id={ests_msa_client}&scope=openid+profile+email+offline_access&response_type=code&redirect_uri={}&response_mode=form_post&state={}&estsfed=1&uaid={uaid}&signup=1&lw=1&fl=easi2&fci={APP_CLIENT_ID}&username={}&login_hint={}",
        ests_enc(&format!("{LOGIN}/common/federation/oauth2msa")),
        b.rng.token("rQQIARAA", 300),
        ests_enc(msa_user),
        ests_enc(msa_user)
    );
    b.pause(3_870.0);
    get_credential_type(
        &mut b,
        &mut ests,
        msa_user,
        5,
        json!({
            "PrefCredential": 1,
            "HasPassword": true,
            "RemoteNgcParams": null,
            "FidoParams": null,
            "SasParams": null,
            "CertAuthParams": null,
            "GoogleParams": null,
            "FacebookParams": null,
            "FederationRedirectUrl": live_url
        }),
        json!({"UserTenantBranding": null, "DomainType": 2}),
        &[],
    );

    // The MSA sign-in page.
    b.pause(180.0);
    let opid = b.rng.upper(16);
    let ppft = format!(
        "-D{}$$",
        b.rng.token("", 300).replace('_', "*").replace('-', "!")
    );
    let post_url = format!(
        "https://login.live.com/ppsecure/post.srf?client_id={ests_msa_client}&contextid={}&opid={opid}&bk={}&uaid={uaid}&pid=15216",
        b.rng.upper(16),
        crate::util::unix_s(b.now)
    );
    let server_data = format!(
        "var ServerData = {{urlPost:'{post_url}',sFTTag:'<input type=\"hidden\" name=\"PPFT\" id=\"i0327\" value=\"{ppft}\"/>',sUnauthSessionID:'{uaid}',urlGetCredentialType:'https://login.live.com/GetCredentialType.srf?opid={opid}&uaid={uaid}',sPOST_Username:'{msa_user}',iMaxPollErrors:5,iPollingInterval:5,sErrTxt:'',fShowPersistentCookiesWarning:false,sRandomBlob:'',iLoginMode:2,correlationid:'{uaid}',sServerTime:'{}',urlMsaLogout:'https://login.live.com/logout.srf?iframed_by=https%3a%2f%2flogin.microsoftonline.com'}};",
        iso_ms(b.now)
    );
    let html = format!(
        "<!DOCTYPE html><html dir=\"ltr\" lang=\"en\"><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\"/><title>Sign in to your Microsoft account</title><script type=\"text/javascript\">{server_data}</script><link rel=\"stylesheet\" href=\"https://logincdn.msftauth.net/16.000/Converged_v22057_Ct_oeS4qHw8L0VdPmYvo7Q2.css\"/></head><body class=\"cb\" data-bind=\"defineGlobals: ServerData\"><div id=\"i0272\">Sign in</div><noscript>JavaScript required to sign in</noscript></body></html>"
    );
    let resp = Resp::new(200)
        .header("Cache-Control", "no-cache, no-store, must-revalidate")
        .header("Pragma", "no-cache")
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Expires", "-1")
        .header("Strict-Transport-Security", "max-age=31536000")
        .header("X-Content-Type-Options", "nosniff")
        .header("X-Frame-Options", "deny")
        .header("PPServer", "PPV: 30 H: PH1PEPF0001A7C2 V: 0")
        .header("Referrer-Policy", "strict-origin-when-cross-origin")
        .header("Set-Cookie", format!("uaid={uaid}; domain=login.live.com; secure; path=/; HttpOnly; SameSite=None"))
        .header("Set-Cookie", format!("MSPRequ=id=N&lt={}&co=1; domain=login.live.com; secure; path=/; HttpOnly; SameSite=None", crate::util::unix_s(b.now)))
        .header("Set-Cookie", format!("MSPOK=$uuid-{}; domain=login.live.com; secure; path=/; HttpOnly; SameSite=None", b.rng.guid()))
        .header("Set-Cookie", format!("OParams={}; domain=login.live.com; secure; path=/; HttpOnly; SameSite=None", b.rng.token("11O.D", 420)))
        .html(html);
    let wait = b.rng.ms(210.0, 290.0);
    b.send(Req::nav(live_url), wait, resp);

    // Password on login.live.com.
    b.pause(6_440.0);
    let body = form(&[
        ("i13", "0"),
        ("login", msa_user),
        ("loginfmt", msa_user),
        ("type", "11"),
        ("LoginOptions", "3"),
        ("lrt", ""),
        ("lrtPartition", ""),
        ("hisRegion", ""),
        ("hisScaleUnit", ""),
        ("passwd", PASSWORD),
        ("ps", "2"),
        ("psRNGCDefaultType", ""),
        ("psRNGCEntropy", ""),
        ("psRNGCSLK", ""),
        ("canary", ""),
        ("ctx", ""),
        ("hpgrequestid", ""),
        ("PPFT", &ppft),
        ("PPSX", "Passp"),
        ("NewUser", "1"),
        ("FoundMSAs", ""),
        ("fspost", "0"),
        ("i21", "0"),
        ("CookieDisclosure", "0"),
        ("IsFidoSupported", "1"),
        ("isSignupPost", "0"),
        ("isRecoveryAttemptPost", "0"),
        ("i19", "18342"),
    ]);
    let oauth2msa = format!("{LOGIN}/common/federation/oauth2msa");
    let fm = format!(
        "<html><head><noscript>JavaScript required to sign in</noscript><title>Continue</title><script type=\"text/javascript\">function OnBack(){{}} function DoSubmit(){{var subt=false;if(!subt){{subt=true;document.fmHF.submit();}}}}</script></head><body onload=\"javascript:DoSubmit();\"><form name=\"fmHF\" id=\"fmHF\" action=\"{oauth2msa}\" method=\"post\" target=\"_top\"><input type=\"hidden\" name=\"NAP\" id=\"NAP\" value=\"{}\"><input type=\"hidden\" name=\"ANON\" id=\"ANON\" value=\"{}\"><input type=\"hidden\" name=\"t\" id=\"t\" value=\"{}\"><input type=\"hidden\" name=\"pprid\" id=\"pprid\" value=\"{}\"></form></body></html>",
        b.rng.token("V=1.9&E=1d4c&C=", 180).replace('&', "&amp;"),
        b.rng.token("A=", 120),
        b.rng.token("EwB4A+pvBAAUKods63Ys1fGlwiccIFJ+9u", 620).replace('-', "+").replace('_', "/"),
        b.rng.hex(16)
    );
    let resp = Resp::new(200)
        .header("Cache-Control", "no-cache, no-store, must-revalidate")
        .header("Pragma", "no-cache")
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Expires", "-1")
        .header("Strict-Transport-Security", "max-age=31536000")
        .header("X-Content-Type-Options", "nosniff")
        .header("PPServer", "PPV: 30 H: PH1PEPF0001A7C2 V: 0")
        .header(
            "Set-Cookie",
            format!(
                "__Host-MSAAUTH={}; path=/; secure; httponly; samesite=none",
                b.rng.token("11-M.C5", 520)
            ),
        )
        .header(
            "Set-Cookie",
            format!(
                "MSPAuth={}; domain=.live.com; path=/; secure; httponly; samesite=none",
                b.rng.token("Disabled", 120)
            ),
        )
        .header(
            "Set-Cookie",
            format!(
                "MSPProf={}; domain=.live.com; path=/; secure; httponly; samesite=none",
                b.rng.token("1", 160)
            ),
        )
        .header(
            "Set-Cookie",
            format!(
                "WLSSC={}; domain=.live.com; path=/; secure; httponly; samesite=none",
                b.rng.token("EgCkAQ", 300)
            ),
        )
        .html(fm);
    let wait = b.rng.ms(380.0, 520.0);
    b.send(Req::form_post(post_url, body, true), wait, resp);

    // The fmHF form reaches ESTS, which fails with 70012 and redirects to the app.
    let nap_form = {
        let html = b
            .exchanges
            .last()
            .expect("fmHF")
            .response_body
            .as_ref()
            .expect("body")
            .1
            .clone();
        let html = String::from_utf8(html).expect("utf8");
        let grab = |name: &str| -> String {
            let key = format!("name=\"{name}\" id=\"{name}\" value=\"");
            let s = &html[html.find(&key).expect("field") + key.len()..];
            s[..s.find('"').expect("quote")].replace("&amp;", "&")
        };
        form(&[
            ("NAP", &grab("NAP")),
            ("ANON", &grab("ANON")),
            ("t", &grab("t")),
            ("pprid", &grab("pprid")),
        ])
    };
    b.pause(35.0);
    let wait = b.rng.ms(260.0, 340.0);
    let at = b.now + (wait * 1000.0) as i64;
    let h = ests.headers(&mut b.rng, "text/html; charset=utf-8", true, &[]);
    let trace = ests.last_request_id.clone();
    let description = format!(
        "AADSTS70012: A transient error has occurred. Please try again.\r\nTrace ID: {trace}\r\nCorrelation ID: {}\r\nTimestamp: {}",
        ests.corr,
        aadsts_time(at)
    );
    let location = format!(
        "{APP_REDIRECT}?error=server_error&error_description={}&state={}",
        ests_enc(&description),
        a.state
    );
    let redirect_html = format!(
        "<html><head><title>Object moved</title></head><body><h2>Object moved to <a href=\"{}\">here</a>.</h2></body></html>",
        html_escape(&location)
    );
    b.send(
        Req::form_post(oauth2msa, nap_form, false),
        wait,
        Resp::new(302)
            .headers(h)
            .header("Location", location.clone())
            .html(redirect_html),
    );
    let html = app_home_html(
        "Sign-in failed",
        "The identity provider returned an error (server_error). Please try again later.",
    );
    let wait = b.rng.ms(20.0, 35.0);
    b.send(
        Req::nav(location),
        wait,
        Resp::new(200)
            .headers(app_headers(Some("text/html; charset=utf-8")))
            .html(html),
    );
    scenario(
        "msa-handoff-70012",
        "A personal account typed on the organizations endpoint is handed to login.live.com, signs in there, and the return leg fails: 302 to the app with AADSTS70012.",
        CHROME,
        b,
    )
}

// ---------------------------------------------------------------------------
// 5. token-errors-devicecode
// ---------------------------------------------------------------------------

const CLI_CLIENT_ID: &str = "2d4a9b61-7c3e-4f58-9e02-5b1c8a3d6f70";
const LEGACY_CLIENT_ID: &str = "8e3f1c27-4b5a-4d69-a0c8-6f2e9d1b7a53";
const DAEMON_CLIENT_ID: &str = "5b9d2e84-1f7c-4a36-8d05-c3e6a9f4b182";

fn ests_error(
    code: u32,
    error: &str,
    message: &str,
    trace: &str,
    corr: &str,
    at: i64,
    suberror: Option<&str>,
) -> Value {
    let ts = aadsts_time(at);
    let mut v = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": format!("{LOGIN}/error?code={code}")
    });
    if let Some(s) = suberror {
        v["suberror"] = json!(s);
    }
    v
}

fn msal_py_req(url: String, corr: &str, api: &str, body: String) -> Req {
    Req::client("POST", url)
        .header("User-Agent", "python-requests/2.32.3")
        .header("Accept-Encoding", "gzip, deflate")
        .header("Accept", "*/*")
        .header("Connection", "keep-alive")
        .header("x-client-sku", "MSAL.Python")
        .header("x-client-ver", "1.31.1")
        .header("x-client-os", "linux")
        .header("x-client-cpu", "x64")
        .header("x-ms-lib-capability", "retry-after, h429")
        .header("client-request-id", corr)
        .header("return-client-request-id", "true")
        .header("x-client-current-telemetry", format!("4|{api},0|"))
        .header("x-client-last-telemetry", "4|0|||")
        .body("application/x-www-form-urlencoded", body)
}

/// One token-endpoint exchange answered by ESTS over HTTP/1.1.
#[allow(clippy::too_many_arguments)]
fn token_call(
    b: &mut Browser,
    ests: &mut Ests,
    req: Req,
    corr: &str,
    status: u16,
    reply: impl FnOnce(&str, i64) -> Value,
    clitelem: &str,
    extra: &[(&str, String)],
) {
    let wait = b.rng.ms(70.0, 160.0);
    let at = b.now + (wait * 1000.0) as i64;
    let cookies = vec![
        format!(
            "fpc={}; expires={}; path=/; secure; HttpOnly; SameSite=None",
            b.rng.token("A", 44),
            cookie_date(at + 30 * 86_400 * 1_000_000)
        ),
        "x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly".to_string(),
        "stsservicecookie=estsfd; path=/; secure; samesite=none; httponly".to_string(),
    ];
    let mut h = ests.headers_echo(
        &mut b.rng,
        "application/json; charset=utf-8",
        Some(corr),
        &cookies,
    );
    // Keep Set-Cookie last, as ESTS does; put the telemetry header before it.
    let pos = h
        .iter()
        .position(|(n, _)| n == "Set-Cookie")
        .unwrap_or(h.len());
    h.insert(pos, ("x-ms-clitelem".into(), clitelem.into()));
    for (n, v) in extra {
        h.insert(pos, (n.to_string(), v.clone()));
    }
    let trace = ests.last_request_id.clone();
    let body = reply(&trace, at);
    b.send(req, wait, Resp::new(status).headers(h).json(&body));
}

pub fn token_errors_devicecode(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    b.client_jar = true;
    b.force_version = Some("HTTP/1.1");
    let mut ests = Ests::new(&mut b.rng, "NEULR1", "organizations");
    let dev_corr = b.rng.guid();
    let scope = "https://graph.microsoft.com/.default offline_access openid profile";
    let user_code = b.rng.upper(9);
    let device_code = b.rng.token("DAQABIQEAAABVrSpeuWamRam2jAF1XRQE", 460);

    // Device code request.
    let body = form(&[("client_id", CLI_CLIENT_ID), ("scope", scope)]);
    let req = msal_py_req(
        format!("{LOGIN}/organizations/oauth2/v2.0/devicecode"),
        &dev_corr,
        "620",
        body,
    );
    let dc = device_code.clone();
    let uc = user_code.clone();
    token_call(
        &mut b,
        &mut ests,
        req,
        &dev_corr,
        200,
        move |_, _| {
            json!({
                "user_code": uc,
                "device_code": dc,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 5,
                "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {uc} to authenticate.")
            })
        },
        "1,0,0,,",
        &[],
    );

    let poll_body = form(&[
        ("client_id", CLI_CLIENT_ID),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", &device_code),
        ("client_info", "1"),
        (
            "claims",
            "{\"access_token\": {\"xms_cc\": {\"values\": [\"CP1\"]}}}",
        ),
    ]);
    let first_poll = b.now + 5_000_000;
    for i in 0..7u32 {
        b.now = first_poll + i as i64 * 5_000_000 + (b.rng.ms(0.0, 40.0) * 1000.0) as i64;
        let req = msal_py_req(
            format!("{LOGIN}/organizations/oauth2/v2.0/token"),
            &dev_corr,
            "622",
            poll_body.clone(),
        );
        if i < 6 {
            let c = dev_corr.clone();
            token_call(
                &mut b,
                &mut ests,
                req,
                &dev_corr,
                400,
                move |trace, at| {
                    ests_error(
                        70016,
                        "authorization_pending",
                        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                        trace,
                        &c,
                        at,
                        None,
                    )
                },
                "1,70016,0,,",
                &[],
            );
        } else {
            let rng_seed = b.rng.next_u64();
            token_call(
                &mut b,
                &mut ests,
                req,
                &dev_corr,
                200,
                move |_, at| {
                    let mut r = Rng::new(rng_seed);
                    let mut t = token_reply(&mut r, at, "", &["pwd", "mfa"], CLI_CLIENT_ID);
                    t["scope"] = json!("https://graph.microsoft.com/.default");
                    t["client_info"] = json!(crate::util::b64url(
                        format!(
                            "{{\"uid\":\"{}\",\"utid\":\"{TENANT_ID}\"}}",
                            ests::USER_OID
                        )
                        .as_bytes()
                    ));
                    t
                },
                "1,0,0,,",
                &[],
            );
        }

        if i == 1 {
            // Meanwhile a legacy ADAL tool tries ROPC against the v1 endpoint (another
            // process: no shared cookies).
            b.client_jar = false;
            b.pause(1_730.0);
            let corr = b.rng.guid();
            let body = form(&[
                ("resource", "https://graph.microsoft.com"),
                ("client_id", LEGACY_CLIENT_ID),
                ("grant_type", "password"),
                ("username", USER),
                ("password", PASSWORD),
                ("scope", "openid"),
            ]);
            let req = Req::client("POST", format!("{LOGIN}/{TENANT_DOMAIN}/oauth2/token"))
                .header("x-client-SKU", "PCL.Desktop")
                .header("x-client-Ver", "5.3.0.0")
                .header("x-client-CPU", "x64")
                .header("x-client-OS", "Microsoft Windows NT 10.0.22631.0")
                .header("x-ms-PKeyAuth", "1.0")
                .header("client-request-id", corr.clone())
                .header("return-client-request-id", "true")
                .header("Accept", "application/json")
                .body("application/x-www-form-urlencoded", body);
            let c = corr.clone();
            token_call(
                &mut b,
                &mut ests,
                req,
                &corr,
                400,
                move |trace, at| {
                    ests_error(50076, "interaction_required", "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.", trace, &c, at, Some("basic_action"))
                },
                "1,50076,0,,",
                &[],
            );
        }
        if i == 3 {
            // And a daemon with a wrong secret tries client credentials.
            b.client_jar = false;
            b.pause(2_210.0);
            let corr = b.rng.guid();
            let body = form(&[
                ("client_id", DAEMON_CLIENT_ID),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_secret", "9f1c2b7e-3a4d-4e8f-b6c5-0d2a1e9f8b7c"),
                ("grant_type", "client_credentials"),
                ("client_info", "1"),
            ]);
            let req = Req::client("POST", format!("{LOGIN}/{TENANT_ID}/oauth2/v2.0/token"))
                .header("x-client-SKU", "MSAL.NetCore")
                .header("x-client-Ver", "4.66.1.0")
                .header("x-client-OS", "Microsoft Windows 10.0.20348")
                .header("x-ms-lib-capability", "retry-after, h429")
                .header("x-client-current-telemetry", "5|1005,2,,,|0,1,0,,")
                .header("client-request-id", corr.clone())
                .header("return-client-request-id", "true")
                .header("Accept", "application/json")
                .body("application/x-www-form-urlencoded", body);
            let c = corr.clone();
            token_call(
                &mut b,
                &mut ests,
                req,
                &corr,
                401,
                move |trace, at| {
                    ests_error(7000215, "invalid_client", &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{DAEMON_CLIENT_ID}'."), trace, &c, at, None)
                },
                "1,7000215,0,,",
                &[(
                    "WWW-Authenticate",
                    "Basic realm=\"https://login.microsoftonline.com/\", error=\"invalid_client\""
                        .to_string(),
                )],
            );
        }
    }
    let mut s = scenario(
        "token-errors-devicecode",
        "Scripted clients through mitmproxy: device-code polling (6 × authorization_pending, then tokens), a v1 ROPC call refused with 50076, and a client-credentials call refused with 7000215 (HTTP 401).",
        "mitmproxy 11.0.0",
        b,
    );
    s.sort();
    s
}

// ---------------------------------------------------------------------------
// 6. adfs-federated
// ---------------------------------------------------------------------------

fn adfs_headers(rng: &mut Rng, mime: Option<&str>) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = vec![
        ("Cache-Control".into(), "no-cache,no-store".into()),
        ("Pragma".into(), "no-cache".into()),
    ];
    if let Some(m) = mime {
        h.push(("Content-Type".into(), m.into()));
    }
    h.push(("Expires".into(), "-1".into()));
    h.push(("Server".into(), "Microsoft-HTTPAPI/2.0".into()));
    h.push(("X-Frame-Options".into(), "DENY".into()));
    h.push(("x-ms-gateway-requestid".into(), rng.guid()));
    h.push((
        "Strict-Transport-Security".into(),
        "max-age=31536000; includeSubDomains".into(),
    ));
    h
}

fn saml_rstr(rng: &mut Rng, now_us: i64) -> String {
    let issue = iso_ms(now_us);
    let until = iso_ms(now_us + 3600 * 1_000_000);
    let immutable = crate::util::b64(&rng.bytes(16));
    format!(
        "<t:RequestSecurityTokenResponse xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\"><t:Lifetime><wsu:Created xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{issue}</wsu:Created><wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{until}</wsu:Expires></t:Lifetime><wsp:AppliesTo xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\"><wsa:EndpointReference xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><t:RequestedSecurityToken><saml:Assertion MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"_{aid}\" Issuer=\"http://sts.contoso.example/adfs/services/trust\" IssueInstant=\"{issue}\" xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\"><saml:Conditions NotBefore=\"{issue}\" NotOnOrAfter=\"{until}\"><saml:AudienceRestrictionCondition><saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions><saml:AttributeStatement><saml:Subject><saml:NameIdentifier Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{immutable}</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject><saml:Attribute AttributeName=\"UPN\" AttributeNamespace=\"http://schemas.xmlsoap.org/claims\"><saml:AttributeValue>{USER}</saml:AttributeValue></saml:Attribute><saml:Attribute AttributeName=\"ImmutableID\" AttributeNamespace=\"http://schemas.microsoft.com/LiveID/Federation/2008/05\"><saml:AttributeValue>{immutable}</saml:AttributeValue></saml:Attribute><saml:Attribute AttributeName=\"insidecorporatenetwork\" AttributeNamespace=\"http://schemas.microsoft.com/ws/2012/01\"><saml:AttributeValue>false</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><saml:AuthenticationStatement AuthenticationMethod=\"urn:oasis:names:tc:SAML:1.0:am:password\" AuthenticationInstant=\"{issue}\"><saml:Subject><saml:NameIdentifier Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{immutable}</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject></saml:AuthenticationStatement><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\" /><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\" /><ds:Reference URI=\"#_{aid}\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\" /><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>{sig}</ds:SignatureValue><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></ds:Signature></saml:Assertion></t:RequestedSecurityToken><t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType><t:KeyType>http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey</t:KeyType></t:RequestSecurityTokenResponse>",
        aid = rng.guid(),
        digest = crate::util::b64(&rng.bytes(32)),
        sig = crate::util::b64(&rng.bytes(256)),
        cert = crate::util::b64(&rng.bytes(720)),
    )
}

pub fn adfs_federated(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "NEULR1", TENANT_ID);
    let a = AppAuth::new(&mut b.rng);
    let auth = authorize_url(TENANT_ID, "code", "query", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);
    signin_start(&mut b, &mut ests, auth);

    let wctx = format!("estsredirect=2&estsrequest={}", ests.ctx);
    let adfs_url = format!(
        "https://sts.contoso.example/adfs/ls/?username={}&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx={}&client-request-id={}",
        ests_enc(USER),
        ests_enc(&wctx),
        ests.corr
    );
    b.pause(3_960.0);
    let wctx_cookie = vec![format!(
        "ESTSWCTXFLOWTOKEN={}; path=/; secure; HttpOnly; SameSite=None",
        b.rng.token("AQABIQEAAABVrSpeuWamRam2jAF1XRQE", 420)
    )];
    get_credential_type(
        &mut b,
        &mut ests,
        USER,
        0,
        json!({
            "PrefCredential": 4,
            "HasPassword": true,
            "RemoteNgcParams": null,
            "FidoParams": null,
            "SasParams": null,
            "CertAuthParams": null,
            "GoogleParams": null,
            "FacebookParams": null,
            "FederationRedirectUrl": adfs_url
        }),
        json!({"UserTenantBranding": null, "DomainType": 4}),
        &wctx_cookie,
    );

    // ADFS forms sign-in page.
    b.pause(150.0);
    let action = html_escape(&crate::browser::path_of(&adfs_url));
    let adfs_page = format!(
        "<!DOCTYPE html>\r\n<html lang=\"en-US\">\r\n<head>\r\n<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\"/>\r\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\"/>\r\n<meta http-equiv=\"content-type\" content=\"text/html;charset=UTF-8\" />\r\n<title>Sign In</title>\r\n<link rel=\"stylesheet\" type=\"text/css\" href=\"/adfs/portal/css/style.css?id=D74D4D6A2C9E1B0F\" />\r\n</head>\r\n<body dir=\"ltr\" class=\"body\">\r\n<div id=\"loginArea\">\r\n<form method=\"post\" id=\"loginForm\" autocomplete=\"off\" novalidate=\"novalidate\" onKeyPress=\"if (event &amp;&amp; event.keyCode == 13) Login.submitLoginRequest();\" action=\"{action}\" >\r\n<div id=\"error\" class=\"fieldMargin error smallText\"><span id=\"errorText\" for=\"\"></span></div>\r\n<div id=\"formsAuthenticationArea\">\r\n<div id=\"userNameArea\"><input id=\"userNameInput\" name=\"UserName\" type=\"email\" value=\"{USER}\" tabindex=\"1\" class=\"text fullWidth\" spellcheck=\"false\" placeholder=\"someone@example.com\" autocomplete=\"off\"/></div>\r\n<div id=\"passwordArea\"><input id=\"passwordInput\" name=\"Password\" type=\"password\" tabindex=\"2\" class=\"text fullWidth\" placeholder=\"Password\" autocomplete=\"off\"/></div>\r\n<div id=\"kmsiArea\" style=\"display:none\"><input type=\"checkbox\" name=\"Kmsi\" id=\"kmsiInput\" value=\"true\" tabindex=\"3\" /><label for=\"kmsiInput\">Keep me signed in</label></div>\r\n<div id=\"submissionArea\" class=\"submitMargin\"><span id=\"submitButton\" class=\"submit\" tabindex=\"4\" role=\"button\" onKeyPress=\"if (event &amp;&amp; event.keyCode == 32) Login.submitLoginRequest();\" onclick=\"return Login.submitLoginRequest();\">Sign in</span></div>\r\n</div>\r\n<input id=\"optionForms\" type=\"hidden\" name=\"AuthMethod\" value=\"FormsAuthentication\"/>\r\n</form>\r\n</div>\r\n<script type=\"text/javascript\" src=\"/adfs/portal/script/onload.js?id=9A1E6B2F7C3D4E50\"></script>\r\n</body>\r\n</html>\r\n"
    );
    let h = adfs_headers(&mut b.rng, Some("text/html; charset=utf-8"));
    let wait = b.rng.ms(90.0, 150.0);
    b.send(
        Req::nav(adfs_url.clone()),
        wait,
        Resp::new(200).headers(h).html(adfs_page),
    );

    // Credentials to ADFS → 302 with the ADFS session cookie.
    b.pause(6_120.0);
    let body = form(&[
        ("UserName", USER),
        ("Password", PASSWORD),
        ("AuthMethod", "FormsAuthentication"),
    ]);
    let mut h = adfs_headers(&mut b.rng, None);
    h.push(("Location".into(), adfs_url.clone()));
    h.push((
        "Set-Cookie".into(),
        format!(
            "MSISAuth={}; path=/adfs; secure; HttpOnly; SameSite=None",
            b.rng
                .token("AAEAAAD/////AQAAAAAAAAAMAgAAAFdNaWNyb3NvZnQu", 1400)
                .replace('-', "+")
                .replace('_', "/")
        ),
    ));
    h.push((
        "Set-Cookie".into(),
        format!(
            "MSISAuthenticated={}; path=/adfs; secure; HttpOnly; SameSite=None",
            crate::util::b64(iso_ms(b.now).as_bytes())
        ),
    ));
    h.push((
        "Set-Cookie".into(),
        format!(
            "MSISLoopDetectionCookie={}:1|; path=/adfs; secure; HttpOnly; SameSite=None",
            iso_s(b.now)
        ),
    ));
    let wait = b.rng.ms(240.0, 330.0);
    b.send(
        Req::form_post(adfs_url.clone(), body, true),
        wait,
        Resp::new(302).headers(h),
    );

    // The "Working..." page carrying the SAML token back to ESTS.
    let wait = b.rng.ms(110.0, 170.0);
    let at = b.now + (wait * 1000.0) as i64;
    let wresult = saml_rstr(&mut b.rng, at);
    let hidden = form_post_page(
        &format!("{LOGIN}/login.srf"),
        &[("wa", "wsignin1.0"), ("wresult", &wresult), ("wctx", &wctx)],
    );
    let h = adfs_headers(&mut b.rng, Some("text/html; charset=utf-8"));
    b.send(
        Req::nav(adfs_url),
        wait,
        Resp::new(200).headers(h).html(hidden),
    );

    // Back at ESTS: POST /login.srf → 302 to the app with a code.
    let body = form(&[("wa", "wsignin1.0"), ("wresult", &wresult), ("wctx", &wctx)]);
    let code = code_value(&mut b.rng);
    let session_state = b.rng.guid();
    let location = format!(
        "{APP_REDIRECT}?code={code}&state={}&session_state={session_state}",
        a.state
    );
    let mut cookies = session_cookies(&mut b.rng, None);
    cookies.push("ESTSWCTXFLOWTOKEN=; expires=Mon, 01-Jan-1601 00:00:00 GMT; path=/; secure; HttpOnly; SameSite=None".into());
    let h = ests.headers(&mut b.rng, "text/html; charset=utf-8", true, &cookies);
    let wait = b.rng.ms(300.0, 420.0);
    b.send(
        Req::form_post(format!("{LOGIN}/login.srf"), body, false),
        wait,
        Resp::new(302)
            .headers(h)
            .header("Location", location.clone()),
    );

    // The app redeems the code while serving the redirect target.
    let start = b.now;
    let token_end = app_redeem_code(&mut b, &mut ests, &code, &a.nonce, &["fed"], 88.0);
    let wait = (token_end - start) as f64 / 1000.0 + 16.0;
    let mut resp = Resp::new(200).headers(app_headers(Some("text/html; charset=utf-8")));
    for c in app_session_cookie(&mut b.rng, &a, true) {
        resp = resp.header("Set-Cookie", c);
    }
    let resp = resp.html(app_home_html("Welcome", "Signed in as Adele Vance."));
    b.send(Req::nav(location), wait, resp);
    scenario(
        "adfs-federated",
        "Federated user: GetCredentialType points at on-premises ADFS, forms sign-in there, SAML token posted back to /login.srf, code returned in the query and redeemed.",
        CHROME,
        b,
    )
}

// ---------------------------------------------------------------------------
// 7. redirect-loop (sanitized export)
// ---------------------------------------------------------------------------

pub fn redirect_loop(v: Variant) -> Scenario {
    let mut b = Browser::new(v.seed, v.start_us);
    let mut ests = Ests::new(&mut b.rng, "NEULR1", TENANT_ID);
    // Signed in earlier today: the ESTS session cookies are already there.
    let estsauth = b.rng.token("1.AUEB", 420);
    b.preset_cookie("login.microsoftonline.com", "ESTSAUTH", &estsauth);
    let persistent = b.rng.token("1.AUEB", 460);
    b.preset_cookie(
        "login.microsoftonline.com",
        "ESTSAUTHPERSISTENT",
        &persistent,
    );
    b.preset_cookie("login.microsoftonline.com", "x-ms-gateway-slice", "estsfd");

    let mut a = AppAuth::new(&mut b.rng);
    ests.corr = b.rng.guid();
    let mut auth = authorize_url(TENANT_ID, "id_token", "form_post", &a, &ests.corr);
    app_challenge(&mut b, true, &auth, &a);
    for i in 0..8 {
        // Already signed in: ESTS answers the form_post page straight away.
        let wait = b.rng.ms(95.0, 150.0);
        let at = b.now + (wait * 1000.0) as i64;
        let idt = ests::id_token(&mut b.rng, at, &a.nonce, &["pwd", "mfa"]);
        let session_state = b.rng.guid();
        let html = form_post_page(
            APP_REDIRECT,
            &[
                ("id_token", &idt),
                ("state", &a.state),
                ("session_state", &session_state),
            ],
        );
        let h = ests.headers(&mut b.rng, "text/html; charset=utf-8", true, &[]);
        b.send(
            Req::nav(auth.clone()),
            wait,
            Resp::new(200).headers(h).html(html),
        );

        // The app accepts the id_token and sets its session cookie, but without
        // `Secure` on a SameSite=None cookie: Chrome drops it.
        b.pause(8.0);
        let body = form(&[
            ("id_token", &idt),
            ("state", &a.state),
            ("session_state", &session_state),
        ]);
        let mut resp = Resp::new(302)
            .headers(app_headers(None))
            .header("Location", "/");
        for c in app_session_cookie(&mut b.rng, &a, false) {
            resp = resp.header("Set-Cookie", c);
        }
        let wait = b.rng.ms(28.0, 55.0);
        b.send(Req::form_post(APP_REDIRECT, body, false), wait, resp);

        // No session at / → challenge again with a new request id.
        a = AppAuth::new(&mut b.rng);
        ests.corr = b.rng.guid();
        auth = authorize_url(TENANT_ID, "id_token", "form_post", &a, &ests.corr);
        app_challenge(&mut b, false, &auth, &a);
        if i == 7 {
            break;
        }
        let think = b.rng.ms(420.0, 520.0);
        b.pause(think);
    }
    let mut s = scenario(
        "redirect-loop",
        "The app's session cookie is rejected by the browser, so every return from Entra ID ends in a new challenge: 8 authorize round trips in ~6 s. Exported sanitized.",
        CHROME,
        b,
    );
    s.export.credentials_stripped = true;
    s
}
