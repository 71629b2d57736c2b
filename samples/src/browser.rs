//! A small simulated client: a clock, a cookie jar and the request headers a desktop
//! Chrome (or a script) sends. Scenarios describe what was requested and answered;
//! this module fills in the wire details and records [`SampleExchange`]s.

use crate::model::SampleExchange;
use crate::util::{http_date, round3, Rng};

pub const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const SEC_CH_UA: &str =
    "\"Chromium\";v=\"142\", \"Google Chrome\";v=\"142\", \"Not_A Brand\";v=\"99\"";
const ACCEPT_DOC: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

/// What kind of request the client makes; decides the headers Chrome adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Top-level navigation (typed URL, link, redirect follow, form submission).
    Navigate,
    /// `fetch`/XHR from the page.
    Fetch,
    Script,
    Style,
    Image,
    /// The browser's own favicon request.
    Favicon,
    /// A non-browser HTTP client (a script, an SDK, an app's server): headers as given.
    Client,
}

/// A request to send. Built with the small constructors below.
#[derive(Debug, Clone)]
pub struct Req {
    pub kind: Kind,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
    /// Navigation started by the user (address bar, click): `sec-fetch-user: ?1`.
    pub user_activated: bool,
    /// Navigation typed into the address bar: no referrer, `sec-fetch-site: none`.
    pub typed: bool,
    /// HTTP version override (`HTTP/1.1` for a back-channel client, say).
    pub http_version: Option<&'static str>,
}

impl Req {
    fn new(kind: Kind, method: &str, url: impl Into<String>) -> Self {
        Req {
            kind,
            method: method.to_string(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            user_activated: false,
            typed: false,
            http_version: None,
        }
    }

    /// A navigation the user typed.
    pub fn typed(url: impl Into<String>) -> Self {
        let mut r = Req::new(Kind::Navigate, "GET", url);
        r.typed = true;
        r.user_activated = true;
        r
    }

    /// A GET navigation from the current page (link, script, redirect follow).
    pub fn nav(url: impl Into<String>) -> Self {
        Req::new(Kind::Navigate, "GET", url)
    }

    /// A form submission from the current page.
    pub fn form_post(url: impl Into<String>, body: String, user_activated: bool) -> Self {
        let mut r = Req::new(Kind::Navigate, "POST", url);
        r.body = Some((
            "application/x-www-form-urlencoded".into(),
            body.into_bytes(),
        ));
        r.user_activated = user_activated;
        r
    }

    pub fn fetch(method: &str, url: impl Into<String>) -> Self {
        Req::new(Kind::Fetch, method, url)
    }

    pub fn sub(kind: Kind, url: impl Into<String>) -> Self {
        Req::new(kind, "GET", url)
    }

    /// A non-browser client request; the caller gives every header.
    pub fn client(method: &str, url: impl Into<String>) -> Self {
        Req::new(Kind::Client, method, url)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, mime: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some((mime.to_string(), bytes.into()));
        self
    }

    pub fn json(self, v: &serde_json::Value) -> Self {
        let s = serde_json::to_string(v).expect("json");
        self.body("application/json", s)
    }

    pub fn version(mut self, v: &'static str) -> Self {
        self.http_version = Some(v);
        self
    }
}

/// A response to record.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

impl Resp {
    pub fn new(status: u16) -> Self {
        Resp {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn headers(mut self, hs: Vec<(String, String)>) -> Self {
        self.headers.extend(hs);
        self
    }

    /// Sets the body and its `Content-Type` header (unless one is present).
    pub fn body(mut self, mime: &str, bytes: impl Into<Vec<u8>>) -> Self {
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            self.headers.push(("Content-Type".into(), mime.to_string()));
        }
        self.body = Some((strip_params(mime), bytes.into()));
        self
    }

    pub fn html(self, html: String) -> Self {
        self.body("text/html; charset=utf-8", html)
    }

    pub fn json(self, v: &serde_json::Value) -> Self {
        let s = serde_json::to_string(v).expect("json");
        self.body("application/json; charset=utf-8", s)
    }
}

fn strip_params(mime: &str) -> String {
    mime.split(';').next().unwrap_or(mime).trim().to_string()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "",
    }
}

#[derive(Debug, Clone)]
struct Cookie {
    host: String,
    /// `Domain=` was given: also sent to subdomains.
    domain_match: bool,
    path: String,
    name: String,
    value: String,
    same_site_none: bool,
}

/// Where a host lives and how the client talks to it.
pub fn host_info(host: &str) -> (&'static str, &'static str) {
    match host {
        "login.microsoftonline.com" => ("20.190.159.68", "HTTP/2"),
        "autologon.microsoftazuread-sso.com" => ("20.190.147.5", "HTTP/2"),
        "aadcdn.msftauth.net" => ("152.199.21.175", "HTTP/2"),
        "login.live.com" => ("20.190.177.82", "HTTP/2"),
        "logincdn.msftauth.net" => ("152.199.21.175", "HTTP/2"),
        "browser.events.data.microsoft.com" => ("13.89.179.9", "HTTP/2"),
        "sts.contoso.example" => ("198.51.100.20", "HTTP/1.1"),
        "app.contoso.example" => ("203.0.113.10", "HTTP/2"),
        _ => ("192.0.2.1", "HTTP/1.1"),
    }
}

pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!("{scheme}://{}", &rest[..end])
}

pub fn host_of(url: &str) -> String {
    let o = origin_of(url);
    o.split_once("://").map(|x| x.1).unwrap_or(&o).to_string()
}

pub fn path_of(url: &str) -> String {
    let (_, rest) = url.split_once("://").unwrap_or(("", url));
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".into(),
    }
}

/// Registrable domain, naively the last two labels.
fn site_of(host: &str) -> String {
    let labels: Vec<&str> = host.rsplitn(3, '.').collect();
    if labels.len() >= 2 {
        format!("{}.{}", labels[1], labels[0])
    } else {
        host.to_string()
    }
}

/// The simulated client.
pub struct Browser {
    pub rng: Rng,
    /// Current time, µs since the epoch.
    pub now: i64,
    pub exchanges: Vec<SampleExchange>,
    jar: Vec<Cookie>,
    /// URL of the document currently shown (initiator of page requests).
    pub page: Option<String>,
    /// Initiator of the navigation chain in progress, kept across redirects
    /// (`Some(None)`: a chain the user typed).
    nav_initiator: Option<Option<String>>,
    /// The navigation chain in progress was started by the user (`sec-fetch-user`).
    nav_user_activated: bool,
    connected: Vec<(String, String)>,
    /// Non-browser clients keep and send cookies too (an HTTP session object).
    pub client_jar: bool,
    /// Protocol used for every request unless a request says otherwise (a client
    /// that only speaks HTTP/1.1).
    pub force_version: Option<&'static str>,
}

impl Browser {
    pub fn new(seed: u64, start_us: i64) -> Self {
        Browser {
            rng: Rng::new(seed),
            now: start_us,
            exchanges: Vec::new(),
            jar: Vec::new(),
            page: None,
            nav_initiator: None,
            nav_user_activated: false,
            connected: Vec::new(),
            client_jar: false,
            force_version: None,
        }
    }

    /// Lets time pass (the user reads, types, waits).
    pub fn pause(&mut self, ms: f64) {
        self.now += (ms * 1000.0).round() as i64;
    }

    /// Sets the clock forward to `us` if it is later.
    pub fn advance_to(&mut self, us: i64) {
        self.now = self.now.max(us);
    }

    /// Seeds the jar as if the cookie had been set by an earlier visit.
    pub fn preset_cookie(&mut self, host: &str, name: &str, value: &str) {
        self.jar.push(Cookie {
            host: host.into(),
            domain_match: false,
            path: "/".into(),
            name: name.into(),
            value: value.into(),
            same_site_none: true,
        });
    }

    /// Sends a request and waits for the response; the clock moves to the end of the
    /// exchange plus a few milliseconds of client work.
    pub fn send(&mut self, req: Req, wait_ms: f64, resp: Resp) -> usize {
        let idx = self.fire(req, wait_ms, resp, 0.0);
        let e = &self.exchanges[idx];
        let end = e.started_us + (e.duration_ms * 1000.0).round() as i64;
        self.now = end;
        let gap = self.rng.ms(2.0, 18.0);
        self.pause(gap);
        idx
    }

    /// Sends a request `offset_ms` after the current time without moving the clock
    /// (parallel sub-resources). Returns the exchange index.
    pub fn fire(&mut self, mut req: Req, wait_ms: f64, resp: Resp, offset_ms: f64) -> usize {
        if req.kind == Kind::Navigate && req.method == "GET" && self.nav_initiator.is_some() {
            // Redirect follow-up: same activation as the navigation that started it.
            req.user_activated = self.nav_user_activated;
        }
        let started_us = self.now + (offset_ms * 1000.0).round() as i64;
        let host = host_of(&req.url);
        let (ip, default_version) = host_info(&host);
        let version = req
            .http_version
            .or(self.force_version)
            .unwrap_or(default_version)
            .to_string();
        let h2 = version == "HTTP/2";

        let request_headers = self.request_headers(&req, &host, h2);
        let initiator = self.initiator(&req);

        // Connection set-up the first time the client talks to a host.
        let key = (host.clone(), version.clone());
        let mut overhead = self.rng.ms(0.8, 3.0);
        if !self.connected.contains(&key) {
            self.connected.push(key);
            overhead += self.rng.ms(35.0, 80.0);
        }
        let body_len = resp.body.as_ref().map_or(0, |b| b.1.len()) as f64;
        let receive = body_len / 4000.0 + self.rng.ms(0.3, 2.5);
        let duration_ms = round3(wait_ms + overhead + receive);

        // Response headers: the server's, then Date and Content-Length as most
        // servers emit them last.
        let resp_at = started_us + ((overhead + wait_ms) * 1000.0).round() as i64;
        let mut response_headers = resp.headers;
        if !response_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("date"))
        {
            response_headers.push(("Date".into(), http_date(resp_at)));
        }
        if let Some((_, b)) = &resp.body {
            if !response_headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            {
                response_headers.push(("Content-Length".into(), b.len().to_string()));
            }
        } else if resp.status != 304
            && !response_headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            response_headers.push(("Content-Length".into(), "0".into()));
        }
        if h2 {
            for (n, _) in response_headers.iter_mut() {
                *n = n.to_ascii_lowercase();
            }
        }
        self.store_cookies(&host, &response_headers, req.kind);

        if req.kind == Kind::Navigate {
            if (300..400).contains(&resp.status) {
                // A redirect keeps the chain's initiator for the follow-up request.
                self.nav_initiator = Some(initiator);
                self.nav_user_activated = req.user_activated;
            } else {
                self.page = Some(req.url.clone());
                self.nav_initiator = None;
            }
        }

        let ex = SampleExchange {
            started_us,
            wait_ms: round3(wait_ms),
            duration_ms,
            server_ip: ip.to_string(),
            http_version: version,
            method: req.method,
            url: req.url,
            request_headers,
            request_body: req.body.map(|(m, b)| (strip_params(&m), b)),
            status: resp.status,
            reason: reason(resp.status).to_string(),
            response_headers,
            response_body: resp.body,
        };
        self.exchanges.push(ex);
        self.exchanges.len() - 1
    }

    /// The origin whose document starts this request.
    fn initiator(&self, req: &Req) -> Option<String> {
        if req.typed {
            return None;
        }
        if req.kind == Kind::Navigate && req.method == "GET" {
            if let Some(chain) = &self.nav_initiator {
                return chain.clone();
            }
        }
        self.page.clone()
    }

    fn is_cross_site(&self, req: &Req) -> bool {
        match self.initiator(req) {
            None => false,
            Some(init) => site_of(&host_of(&init)) != site_of(&host_of(&req.url)),
        }
    }

    fn sec_fetch_site(&self, req: &Req) -> &'static str {
        match self.initiator(req) {
            None => "none",
            Some(init) => {
                if origin_of(&init) == origin_of(&req.url) {
                    "same-origin"
                } else if site_of(&host_of(&init)) == site_of(&host_of(&req.url)) {
                    "same-site"
                } else {
                    "cross-site"
                }
            }
        }
    }

    /// `strict-origin-when-cross-origin`, Chrome's default referrer policy.
    fn referer(&self, req: &Req) -> Option<String> {
        let init = self.initiator(req)?;
        if origin_of(&init) == origin_of(&req.url) {
            Some(init.split('#').next().unwrap_or(&init).to_string())
        } else {
            Some(format!("{}/", origin_of(&init)))
        }
    }

    fn cookie_header(&self, req: &Req, host: &str) -> Option<String> {
        let cross_site = self.is_cross_site(req);
        let top_level_get = req.kind == Kind::Navigate && req.method == "GET";
        let path = path_of(&req.url);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|c| {
                c.host == host || (c.domain_match && host.ends_with(&format!(".{}", c.host)))
            })
            .filter(|c| path.starts_with(&c.path))
            .filter(|c| !cross_site || c.same_site_none || top_level_get)
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!cookies.is_empty()).then(|| cookies.join("; "))
    }

    fn store_cookies(&mut self, host: &str, headers: &[(String, String)], kind: Kind) {
        if kind == Kind::Client && !self.client_jar {
            return;
        }
        for (n, v) in headers {
            if !n.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let mut domain = None;
            let mut cpath = "/".to_string();
            let (mut secure, mut none) = (false, false);
            for a in parts {
                let a = a.trim();
                let (k, val) = a.split_once('=').unwrap_or((a, ""));
                match k.to_ascii_lowercase().as_str() {
                    "domain" => domain = Some(val.trim_start_matches('.').to_string()),
                    "path" => cpath = val.to_string(),
                    "secure" => secure = true,
                    "samesite" => none = val.eq_ignore_ascii_case("none"),
                    _ => {}
                }
            }
            // Chrome rejects SameSite=None without Secure.
            if none && !secure {
                continue;
            }
            let (chost, dm) = match domain {
                Some(d) => (d, true),
                None => (host.to_string(), false),
            };
            self.jar.retain(|c| !(c.name == name && c.host == chost));
            if value.is_empty() {
                continue;
            }
            self.jar.push(Cookie {
                host: chost,
                domain_match: dm,
                path: cpath,
                name: name.to_string(),
                value: value.to_string(),
                same_site_none: none,
            });
        }
    }

    fn request_headers(&self, req: &Req, host: &str, h2: bool) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = Vec::new();
        let mut add = |n: &str, v: &str| h.push((n.to_string(), v.to_string()));
        if req.kind == Kind::Client {
            if !h2 {
                add("Host", host);
            }
            let mut out = h;
            out.extend(req.headers.iter().cloned());
            if self.client_jar {
                if let Some(c) = self.cookie_header(req, host) {
                    out.push(("Cookie".into(), c));
                }
            }
            if let Some((mime, b)) = &req.body {
                if !out
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                {
                    out.push(("Content-Type".into(), mime.clone()));
                }
                out.push(("Content-Length".into(), b.len().to_string()));
            }
            return out;
        }
        if !h2 {
            add("Host", host);
            add("Connection", "keep-alive");
        }
        let site = self.sec_fetch_site(req);
        let referer = self.referer(req);
        let cookie = self.cookie_header(req, host);
        let body_len = req.body.as_ref().map(|b| b.1.len());
        let content_type = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .or_else(|| req.body.as_ref().map(|b| b.0.clone()));
        let origin = self.initiator(req).map(|i| origin_of(&i));
        let same_origin = origin.as_deref() == Some(origin_of(&req.url).as_str());

        if let Some(n) = body_len {
            add("Content-Length", &n.to_string());
        }
        if req.kind == Kind::Navigate && req.method == "POST" {
            add("Cache-Control", "max-age=0");
        }
        add("sec-ch-ua", SEC_CH_UA);
        add("sec-ch-ua-mobile", "?0");
        add("sec-ch-ua-platform", "\"Windows\"");
        let extra_first: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("content-type") && !n.eq_ignore_ascii_case("accept")
            })
            .cloned()
            .collect();
        if req.kind == Kind::Navigate {
            if let Some(o) = &origin {
                if req.method == "POST" {
                    add("Origin", o);
                }
            }
            if let Some(ct) = &content_type {
                add("Content-Type", ct);
            }
            add("Upgrade-Insecure-Requests", "1");
            add("User-Agent", CHROME_UA);
            add("Accept", ACCEPT_DOC);
            add("Sec-Fetch-Site", site);
            add("Sec-Fetch-Mode", "navigate");
            if req.user_activated {
                add("Sec-Fetch-User", "?1");
            }
            add("Sec-Fetch-Dest", "document");
        } else {
            for (n, v) in &extra_first {
                add(n, v);
            }
            if let Some(ct) = &content_type {
                add("Content-Type", ct);
            }
            add("User-Agent", CHROME_UA);
            let accept = req
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("accept"))
                .map(|(_, v)| v.as_str());
            let (acc, mode, dest) = match req.kind {
                Kind::Fetch => (accept.unwrap_or("*/*"), "cors", "empty"),
                Kind::Script => ("*/*", "cors", "script"),
                Kind::Style => ("text/css,*/*;q=0.1", "cors", "style"),
                Kind::Image | Kind::Favicon => (
                    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                    "no-cors",
                    "image",
                ),
                _ => ("*/*", "cors", "empty"),
            };
            add("Accept", acc);
            if mode == "cors" && (!same_origin || req.method != "GET") {
                if let Some(o) = &origin {
                    add("Origin", o);
                }
            }
            add("Sec-Fetch-Site", site);
            add("Sec-Fetch-Mode", mode);
            add("Sec-Fetch-Dest", dest);
        }
        if let Some(r) = &referer {
            add("Referer", r);
        }
        add("Accept-Encoding", "gzip, deflate, br, zstd");
        add("Accept-Language", "en-US,en;q=0.9");
        if let Some(c) = &cookie {
            add("Cookie", c);
        }
        if h2 {
            let prio = match req.kind {
                Kind::Navigate => "u=0, i",
                Kind::Style => "u=0",
                Kind::Script => "u=1",
                Kind::Fetch => "u=1, i",
                Kind::Image => "u=2, i",
                Kind::Favicon => "u=1, i",
                Kind::Client => "u=1",
            };
            add("Priority", prio);
        }
        if req.kind == Kind::Navigate {
            for (n, v) in &extra_first {
                add(n, v);
            }
        }
        if h2 {
            for (n, _) in h.iter_mut() {
                *n = n.to_ascii_lowercase();
            }
        } else {
            // Chrome spells the client-hint and fetch-metadata headers in lower case
            // even on HTTP/1.1.
            for (n, _) in h.iter_mut() {
                if n.starts_with("sec-") || n.starts_with("Sec-") {
                    *n = n.to_ascii_lowercase();
                }
            }
        }
        h
    }
}
