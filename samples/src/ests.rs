//! Entra ID (ESTS) building blocks: the converged HTML pages with their `$Config`,
//! response headers, cookies, tokens, and the common first steps of a browser
//! sign-in (authorize page, CDN assets, Seamless SSO probe, GetCredentialType).

use serde_json::{json, Map, Value};

use crate::assets;
use crate::browser::{Browser, Kind, Req, Resp};
use crate::util::{cookie_date, html_escape, iso_s, jwt, unix_s, Rng};

pub const LOGIN: &str = "https://login.microsoftonline.com";
pub const TENANT_ID: &str = "4f1e7c2a-93b5-4d0e-8c61-2a7d95e3b0f4";
pub const TENANT_DOMAIN: &str = "contoso.example";
pub const APP_CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
pub const APP_REDIRECT: &str = "https://app.contoso.example/signin-oidc";
pub const APP_ORIGIN: &str = "https://app.contoso.example";
pub const USER: &str = "adele.vance@contoso.example";
pub const USER_NAME: &str = "Adele Vance";
pub const USER_OID: &str = "c3a8f0d2-5b7e-4e19-a6d4-81f2b9e07c35";
pub const BUILD: &str = "2.1.19320.5";
pub const CDN: &str = "https://aadcdn.msftauth.net";

/// URL-safe `$Config` JSON: `&`, `<`, `>` written as `\u0026`, `\u003c`, `\u003e`
/// the way ESTS does.
pub fn config_json(v: &Value) -> String {
    serde_json::to_string(v)
        .expect("json")
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

/// State an ESTS sign-in carries from page to page.
#[derive(Debug, Clone)]
pub struct Ests {
    /// Region token in `x-ms-ests-server` and `serverDetails.dc`.
    pub region: &'static str,
    /// Flow correlation id (`client-request-id`, `$Config.correlationId`).
    pub corr: String,
    /// Tenant path segment used by this flow (`common`, a GUID…).
    pub tenant: String,
    /// Latest flow token (`sFT` / `FlowToken`).
    pub ft: String,
    /// Latest context (`sCtx` / `Ctx`).
    pub ctx: String,
    pub canary: String,
    pub api_canary: String,
    /// `$Config.sessionId` of the page currently shown (sent back as `hpgrequestid`).
    pub session_id: String,
    /// `hpgid` of the page currently shown.
    pub hpgid: u32,
    /// `x-ms-request-id` of the last ESTS response.
    pub last_request_id: String,
}

impl Ests {
    pub fn new(rng: &mut Rng, region: &'static str, tenant: &str) -> Self {
        Ests {
            region,
            corr: rng.guid(),
            tenant: tenant.to_string(),
            ft: new_flow_token(rng),
            ctx: new_ctx(rng),
            canary: rng.token("PAQABDgEAAAA", 280),
            api_canary: rng.token("PAQABDgEAAAA", 220),
            session_id: String::new(),
            hpgid: 0,
            last_request_id: String::new(),
        }
    }

    /// Response headers of an ESTS HTML page or JSON API answer; registers a fresh
    /// `x-ms-request-id`.
    pub fn headers(
        &mut self,
        rng: &mut Rng,
        content_type: &str,
        echo_corr: bool,
        cookies: &[String],
    ) -> Vec<(String, String)> {
        let echo = echo_corr.then(|| self.corr.clone());
        self.headers_echo(rng, content_type, echo.as_deref(), cookies)
    }

    /// Like [`Ests::headers`] but echoes a given `client-request-id` (a back-channel
    /// or SDK call carrying its own id).
    pub fn headers_echo(
        &mut self,
        rng: &mut Rng,
        content_type: &str,
        echo: Option<&str>,
        cookies: &[String],
    ) -> Vec<(String, String)> {
        let rid = rng.guid();
        self.last_request_id = rid.clone();
        let mut h: Vec<(String, String)> = vec![
            ("Cache-Control".into(), "no-store, no-cache".into()),
            ("Pragma".into(), "no-cache".into()),
            ("Content-Type".into(), content_type.into()),
            ("Expires".into(), "-1".into()),
            ("Vary".into(), "Accept-Encoding".into()),
            (
                "Strict-Transport-Security".into(),
                "max-age=31536000; includeSubDomains".into(),
            ),
            ("X-Content-Type-Options".into(), "nosniff".into()),
        ];
        if content_type.starts_with("text/html") {
            h.push(("X-Frame-Options".into(), "DENY".into()));
            h.push((
                "Link".into(),
                "<https://aadcdn.msftauth.net>; rel=preconnect; crossorigin".into(),
            ));
            h.push((
                "Content-Security-Policy-Report-Only".into(),
                format!(
                    "object-src 'none'; base-uri 'self'; script-src 'self' 'nonce-{}' 'unsafe-inline' 'unsafe-eval' https://*.msauth.net https://*.msftauth.net https://*.msftauthimages.net https://*.msauthimages.net https://*.msidentity.com https://*.microsoftonline-p.com https://*.microsoftazuread-sso.com https://*.azureedge.net https://*.outlook.com https://*.office.com https://*.office365.com https://*.microsoft.com https://*.bing.com 'report-sample'; report-uri https://csp.microsoft.com/report/ESTS-UX-All",
                    rng.token("", 22)
                ),
            ));
        }
        h.push(("P3P".into(), "CP=\"DSP CUR OTPi IND OTRi ONL FIN\"".into()));
        if let Some(c) = echo {
            h.push(("client-request-id".into(), c.to_string()));
        }
        h.push(("x-ms-request-id".into(), rid));
        h.push((
            "x-ms-ests-server".into(),
            format!("{BUILD} - {} ProdSlices", self.region),
        ));
        h.push(("x-ms-srs".into(), "1.P".into()));
        h.push(("X-XSS-Protection".into(), "0".into()));
        for c in cookies {
            h.push(("Set-Cookie".into(), c.clone()));
        }
        h
    }

    /// `serverDetails` of a page rendered at `now_us`.
    pub fn server_details(&self, rng: &mut Rng, now_us: i64) -> Value {
        json!({
            "slc": "ProdSlices",
            "dc": self.region,
            "ri": format!("{}{}", &self.region[..3], rng.upper(4)),
            "ver": {"v": [2, 1, 19320, 5]},
            "rt": iso_s(now_us).trim_end_matches('Z'),
            "et": rng.range(12, 95)
        })
    }

    /// Builds a converged page for the response about to be sent at `now_us`; sets
    /// `correlationId`, `sessionId` (= this response's `x-ms-request-id`), `hpgid`,
    /// `pgid`, `serverDetails`, and the current flow state when `with_flow` is set.
    /// Returns the HTML and the response headers.
    pub fn page(&mut self, rng: &mut Rng, now_us: i64, page: EstsPage, cookies: &[String]) -> Resp {
        let headers = self.headers(rng, "text/html; charset=utf-8", true, cookies);
        let mut cfg = Map::new();
        cfg.insert("pgid".into(), json!(page.pgid));
        if let Some(h) = page.hpgid {
            cfg.insert("hpgid".into(), json!(h));
            cfg.insert("hpgact".into(), json!(page.hpgact));
            self.hpgid = h;
        }
        for (k, v) in page.config {
            cfg.insert(k, v);
        }
        if page.with_flow {
            cfg.insert("sFT".into(), json!(self.ft));
            cfg.insert("sFTName".into(), json!("flowToken"));
            cfg.insert("sCtx".into(), json!(self.ctx));
            cfg.insert("canary".into(), json!(self.canary));
            cfg.insert("sCanaryTokenName".into(), json!("canary"));
            cfg.insert("apiCanary".into(), json!(self.api_canary));
        }
        cfg.insert("correlationId".into(), json!(self.corr));
        cfg.insert("sessionId".into(), json!(self.last_request_id));
        cfg.insert("locale".into(), json!({"mkt": "en-US", "lcid": 1033}));
        cfg.insert("serverDetails".into(), self.server_details(rng, now_us));
        cfg.insert("country".into(), json!("DE"));
        self.session_id = self.last_request_id.clone();
        let nonce = rng.token("", 22);
        let body = page
            .body
            .replace("%%REQUEST_ID%%", &self.last_request_id)
            .replace("%%TIMESTAMP%%", &iso_s(now_us));
        let html = render_page(&page.title, &page.pgid, &Value::Object(cfg), &nonce, &body);
        Resp::new(200).headers(headers).html(html)
    }

    /// Headers the converged UI adds to its JSON calls (GetCredentialType, SAS).
    pub fn api_headers(&self, req: Req) -> Req {
        req.header("Accept", "application/json")
            .header("canary", self.api_canary.clone())
            .header("client-request-id", self.corr.clone())
            .header("hpgact", "1800")
            .header("hpgid", self.hpgid.to_string())
            .header("hpgrequestid", self.session_id.clone())
    }
}

pub fn new_flow_token(rng: &mut Rng) -> String {
    rng.token("AQABIQEAAABVrSpeuWamRam2jAF1XRQE", 612)
}

pub fn new_ctx(rng: &mut Rng) -> String {
    rng.token("rQQIARAA", 396)
}

/// One converged page.
pub struct EstsPage {
    pub pgid: String,
    pub hpgid: Option<u32>,
    pub hpgact: u32,
    pub title: String,
    pub with_flow: bool,
    /// Page-specific `$Config` members, in order.
    pub config: Vec<(String, Value)>,
    /// Extra visible markup inside `<body>`.
    pub body: String,
}

impl EstsPage {
    pub fn new(pgid: &str, hpgid: Option<u32>) -> Self {
        EstsPage {
            pgid: pgid.into(),
            hpgid,
            hpgact: 1800,
            title: "Sign in to your account".into(),
            with_flow: true,
            config: Vec::new(),
            body: String::new(),
        }
    }

    pub fn set(mut self, k: &str, v: Value) -> Self {
        self.config.push((k.into(), v));
        self
    }
}

fn render_page(title: &str, pgid: &str, cfg: &Value, nonce: &str, body: &str) -> String {
    format!(
        r#"<!-- Copyright (C) Microsoft Corporation. All rights reserved. -->
<!DOCTYPE html>
<html dir="ltr" class="" lang="en">
<head>
    <title>{title}</title>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=2.0, user-scalable=yes">
    <meta http-equiv="Pragma" content="no-cache">
    <meta http-equiv="Expires" content="-1">
    <link rel="preconnect" href="{CDN}" crossorigin>
    <meta http-equiv="x-dns-prefetch-control" content="on">
    <link rel="dns-prefetch" href="//aadcdn.msftauth.net">
    <meta name="robots" content="none">
<script type="text/javascript" nonce='{nonce}'>//<![CDATA[
$Config={cfg};
//]]></script>
<script type="text/javascript" nonce='{nonce}'>//<![CDATA[
!function(){{var w=window,d=w.$Debug=w.$Debug||{{}},c=w.$Config||{{}};if(!d.appendLog){{var q=[];d.appendLog=function(m){{q.push(new Date().toISOString()+": "+m)}};d.getLogs=function(){{return q}}}}}}();
//]]></script>
<link rel="shortcut icon" href="{fav}">
<meta name="PageID" content="{pgid}" />
<meta name="SiteID" content="" />
<meta name="ReqLang" content="en" />
<meta name="LocLang" content="en" />
<meta name="format-detection" content="telephone=no" />
<noscript><meta http-equiv="Refresh" content="0; URL=https://login.microsoftonline.com/jsdisabled" /></noscript>
<link crossorigin="anonymous" href="{css}" rel="stylesheet" />
<script crossorigin="anonymous" src="{js}"></script>
</head>
<body data-bind="defineGlobals: ServerData, bodyCssClass" class="cb" style="display: none">
    <script type="text/javascript" nonce='{nonce}'>//<![CDATA[
!function(){{var e=window,t=e.document;e.ServerData=e.$Config||{{}};e.ServerData.str=e.ServerData.str||{{}}}}();
//]]></script>
{body}</body>
</html>"#,
        cfg = config_json(cfg),
        fav = assets::FAVICON_URL,
        css = assets::CSS_URL,
        js = assets::JS_URL,
    )
}

/// The page a `form_post` authorization response renders: an auto-submitting form.
pub fn form_post_page(action: &str, fields: &[(&str, &str)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(n, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\" />",
                html_escape(n),
                html_escape(v)
            )
        })
        .collect();
    format!(
        "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{}\">{inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form><script language=\"javascript\">window.setTimeout('document.forms[0].submit()', 0);</script></body></html>",
        html_escape(action)
    )
}

/// `Set-Cookie` values ESTS sends with its first page.
pub fn first_visit_cookies(rng: &mut Rng, now_us: i64) -> Vec<String> {
    let month = cookie_date(now_us + 30 * 86_400 * 1_000_000);
    vec![
        format!(
            "buid={}; expires={month}; path=/; secure; HttpOnly; SameSite=None",
            rng.token("1.AQ", 140)
        ),
        format!(
            "fpc={}; expires={month}; path=/; secure; HttpOnly; SameSite=None",
            rng.token("A", 44)
        ),
        format!(
            "esctx={}; domain=.login.microsoftonline.com; path=/; secure; HttpOnly; SameSite=None",
            rng.token("PAQABBwEAAAB", 260)
        ),
        "x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly".into(),
        "stsservicecookie=estsfd; path=/; secure; samesite=none; httponly".into(),
    ]
}

/// Session cookies ESTS sets once the user is authenticated.
pub fn session_cookies(rng: &mut Rng, persistent_until: Option<i64>) -> Vec<String> {
    let mut v = vec![
        format!(
            "ESTSAUTH={}; path=/; secure; HttpOnly; SameSite=None",
            rng.token("1.AUEB", 420)
        ),
        format!(
            "ESTSAUTHLIGHT=+{}; path=/; secure; SameSite=None",
            rng.guid()
        ),
        format!(
            "SignInStateCookie={}; domain=.login.microsoftonline.com; path=/; secure; HttpOnly",
            rng.token("CAgABFgIAAAB", 240)
        ),
    ];
    if let Some(until) = persistent_until {
        v.push(format!(
            "ESTSAUTHPERSISTENT={}; expires={}; path=/; secure; HttpOnly; SameSite=None",
            rng.token("1.AUEB", 460),
            cookie_date(until)
        ));
    }
    v
}

/// The CDN assets and telemetry a converged page pulls in after it loads. Returns
/// when the page has settled.
pub fn page_assets(b: &mut Browser, ests: &mut Ests, first: bool, page_name: &str) {
    let t0 = b.now;
    let mut end = t0;
    if first {
        let css = assets::css();
        let js = assets::converged_js();
        let logo = assets::logo_png();
        for (i, (kind, url, mime, body, wait)) in [
            (Kind::Style, assets::CSS_URL, "text/css", css, 18.0),
            (
                Kind::Script,
                assets::JS_URL,
                "application/javascript",
                js,
                22.0,
            ),
            (Kind::Image, assets::LOGO_URL, "image/png", logo, 14.0),
        ]
        .into_iter()
        .enumerate()
        {
            let resp = Resp::new(200)
                .headers(assets::cdn_headers(&mut b.rng, mime))
                .body(mime, body);
            let idx = b.fire(Req::sub(kind, url), wait, resp, 4.0 + 3.0 * i as f64);
            end = end.max(end_of(b, idx));
        }
        b.advance_to(end);
        let fav = Resp::new(200)
            .headers(assets::cdn_headers(&mut b.rng, "image/x-icon"))
            .body("image/x-icon", assets::favicon());
        let idx = b.fire(
            Req::sub(Kind::Favicon, assets::FAVICON_URL),
            11.0,
            fav,
            30.0,
        );
        end = end.max(end_of(b, idx));
    }
    // Page-load telemetry.
    let body = json!({
        "pageApi": page_name,
        "plt": b.rng.range(380, 1400),
        "correlationId": ests.corr,
        "hpgid": ests.hpgid,
        "sessionId": ests.session_id,
        "perf": {"domInteractive": b.rng.range(200, 600), "loadEventEnd": b.rng.range(600, 1500)}
    });
    b.advance_to(end);
    b.pause(120.0);
    let req = ests
        .api_headers(Req::fetch(
            "POST",
            format!("{LOGIN}/common/instrumentation/reportpageload?mkt=en-US"),
        ))
        .header("Content-Type", "application/json; charset=UTF-8")
        .json(&body);
    let rng = &mut b.rng;
    let mut h = ests.headers(rng, "application/json; charset=utf-8", false, &[]);
    h.retain(|(n, _)| n != "x-ms-srs");
    let wait = b.rng.ms(20.0, 45.0);
    b.send(req, wait, Resp::new(200).headers(h).json(&json!({})));
}

pub fn end_of(b: &Browser, idx: usize) -> i64 {
    let e = &b.exchanges[idx];
    e.started_us + (e.duration_ms * 1000.0).round() as i64
}

/// The `desktopSsoConfig` member of a sign-in page.
pub fn desktop_sso_config(corr: &str) -> Value {
    json!({
        "isEdgeAnaheimAllowed": true,
        "iwaEndpointUrlFormat": format!("https://autologon.microsoftazuread-sso.com/{{0}}/winauth/sso?client-request-id={corr}"),
        "iwaSsoProbeUrlFormat": format!("https://autologon.microsoftazuread-sso.com/{{0}}/winauth/ssoprobe?client-request-id={corr}"),
        "iwaIFrameUrlFormat": format!("https://autologon.microsoftazuread-sso.com/{{0}}/winauth/iframe?client-request-id={corr}&isAdalRequest=False"),
        "iwaRequestTimeoutInMs": 10000,
        "startDesktopSsoOnPageLoad": false,
        "progressAnimationTimeout": 10000,
        "isEdgeAllowed": false,
        "minDssoEdgeVersion": "17",
        "isSafariAllowed": true,
        "redirectUri": format!("https://app.contoso.example/signin-oidc?error=interaction_required&error_description=Seamless+single+sign+on+failed+for+the+user.+This+can+happen+if+the+user+is+unable+to+access+on+premises+AD+or+intranet+zone+is+not+configured+correctly+Trace+ID%3a+00000000-0000-0000-0000-000000000000+Correlation+ID%3a+{corr}+Timestamp%3a+0001-01-01+00%3a00%3a00Z"),
        "isIEAllowedForSsoProbe": true,
        "edgeRedirectUri": format!("https://autologon.microsoftazuread-sso.com/common/winauth/sso/edgeredirect?client-request-id={corr}&origin=login.microsoftonline.com&is_redirected=1"),
        "isFlowTokenPassedInEdge": true
    })
}

/// The first converged sign-in page (`ConvergedSignIn`, hpgid 1104).
pub fn signin_page(ests: &Ests, username_hint: Option<&str>) -> EstsPage {
    let t = &ests.tenant;
    let mut p = EstsPage::new("ConvergedSignIn", Some(1104))
        .set("sErrorCode", json!("50058"))
        .set("iMaxPollErrors", json!(5))
        .set("iPollingInterval", json!(1))
        .set("iPollingTimeout", json!(60))
        .set("urlPost", json!(format!("/{t}/login")))
        .set("urlPostAad", json!(format!("{LOGIN}/{t}/login")))
        .set(
            "urlGetCredentialType",
            json!(format!("{LOGIN}/common/GetCredentialType?mkt=en-US")),
        )
        .set(
            "urlRefresh",
            json!(format!("{LOGIN}/{t}/reprocess?ctx={}", ests.ctx)),
        )
        .set("urlCdn", json!(format!("{CDN}/")))
        .set("iLoginMode", json!(1))
        .set("fShowPersistentCookiesWarning", json!(false))
        .set("desktopSsoConfig", desktop_sso_config(&ests.corr))
        .set("iSessionPullType", json!(2))
        .set("fUseSameSite", json!(true));
    if let Some(u) = username_hint {
        p = p.set("sPOST_Username", json!(u));
    }
    p
}

/// Claims common to the tokens issued to the sample app.
pub fn id_token(rng: &mut Rng, now_us: i64, nonce: &str, amr: &[&str]) -> String {
    let iat = unix_s(now_us) - 300;
    let (sid, sub, uti) = (rng.guid(), rng.token("", 43), rng.token("", 22));
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "kR3gT9bXw6pLq2VdN8sYcE1hUaM"});
    let claims = json!({
            "aud": APP_CLIENT_ID,
            "iss": format!("{LOGIN}/{TENANT_ID}/v2.0"),
            "iat": iat,
            "nbf": iat,
            "exp": iat + 3600,
            "amr": amr,
            "name": USER_NAME,
            "nonce": nonce,
            "oid": USER_OID,
            "preferred_username": USER,
            "rh": "1.AUEBKnweT7WTDk2MYSp9leOw9HbeMWemFK5Jl7xuumkUOR4BAJxBAA.",
            "sid": sid,
            "sub": sub,
            "tid": TENANT_ID,
            "upn": USER,
            "uti": uti,
            "ver": "2.0",
            "azp": APP_CLIENT_ID,
            "scp": "openid profile"
    });
    jwt(rng, &header, &claims)
}

pub fn access_token(
    rng: &mut Rng,
    now_us: i64,
    amr: &[&str],
    client_id: &str,
    scp: &str,
) -> String {
    let iat = unix_s(now_us) - 300;
    let uti = rng.token("", 22);
    let header = json!({"typ": "JWT", "nonce": rng.token("", 43), "alg": "RS256", "x5t": "kR3gT9bXw6pLq2VdN8sYcE1hUaM", "kid": "kR3gT9bXw6pLq2VdN8sYcE1hUaM"});
    let claims = json!({
            "aud": "00000003-0000-0000-c000-000000000000",
            "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
            "iat": iat,
            "nbf": iat,
            "exp": iat + 3600 + 1200,
            "acct": 0,
            "acr": "1",
            "amr": amr,
            "app_displayname": "Contoso Portal",
            "appid": client_id,
            "appidacr": "1",
            "idtyp": "user",
            "ipaddr": "198.51.100.77",
            "name": USER_NAME,
            "oid": USER_OID,
            "scp": scp,
            "tid": TENANT_ID,
            "unique_name": USER,
            "upn": USER,
            "uti": uti,
            "ver": "1.0",
            "xms_tcdt": 1601280000
    });
    jwt(rng, &header, &claims)
}

/// A v2 token endpoint success body.
pub fn token_reply(
    rng: &mut Rng,
    now_us: i64,
    nonce: &str,
    amr: &[&str],
    client_id: &str,
) -> Value {
    let scp = "openid profile User.Read email";
    json!({
        "token_type": "Bearer",
        "scope": scp,
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token(rng, now_us, amr, client_id, scp),
        "refresh_token": rng.token("0.AUEBKnweT7WTDk2MYSp9leOw9HbeMWemFK5Jl7xuumkUOR4BAJxBAA.AgABAwEAAAB", 1024),
        "id_token": id_token(rng, now_us, nonce, amr)
    })
}
