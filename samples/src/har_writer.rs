//! Writes scenarios as HAR 1.2, in the layout of the tool named as producer:
//! Chrome DevTools (`WebInspector`) or mitmproxy. Output is streamed entry by entry
//! and pretty-printed with two-space indentation like both tools do.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::model::{SampleExchange, Scenario};
use crate::util::{iso_ms, parse_http_date, round3};

const SANITIZED: [&str; 3] = ["cookie", "set-cookie", "authorization"];

/// A page (one top-level navigation) in Chrome's `log.pages`.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: String,
    pub started_us: i64,
    pub title: String,
    pub on_content_load: f64,
    pub on_load: f64,
}

fn is_document(e: &SampleExchange) -> bool {
    e.request_header("sec-fetch-dest") == Some("document")
}

/// Chrome's page list for a scenario and each exchange's `pageref`. `counter` numbers
/// pages across several scenarios written into one file.
pub fn pages_for(s: &Scenario, counter: &mut usize) -> (Vec<Page>, Vec<Option<String>>) {
    let mut pages: Vec<Page> = Vec::new();
    let mut refs = Vec::with_capacity(s.exchanges.len());
    let mut prev_doc_redirect = false;
    for e in &s.exchanges {
        if is_document(e) {
            if !prev_doc_redirect || pages.is_empty() {
                *counter += 1;
                pages.push(Page {
                    id: format!("page_{}", *counter),
                    started_us: e.started_us,
                    title: e.url.clone(),
                    on_content_load: 0.0,
                    on_load: 0.0,
                });
            }
            prev_doc_redirect = (300..400).contains(&e.status);
            if let Some(p) = pages.last_mut() {
                let done = (e.started_us - p.started_us) as f64 / 1000.0 + e.duration_ms;
                p.on_content_load = round3(done + 64.2);
                p.on_load = round3(done + 231.7);
            }
        }
        refs.push(pages.last().map(|p| p.id.clone()));
    }
    (pages, refs)
}

fn num(x: f64) -> Value {
    let r = round3(x);
    if r.fract() == 0.0 && r.abs() < 1e15 {
        json!(r as i64)
    } else {
        json!(r)
    }
}

fn nv(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn is_text(mime: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    m.starts_with("text/")
        || m.contains("json")
        || m.contains("javascript")
        || m.contains("xml")
        || m.contains("x-www-form-urlencoded")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_pairs(q: &str, decode: bool) -> Vec<Value> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            if decode {
                nv(&percent_decode(n), &percent_decode(v))
            } else {
                nv(n, v)
            }
        })
        .collect()
}

fn response_cookie(set_cookie: &str, chrome: bool) -> Value {
    let mut parts = set_cookie.split(';');
    let first = parts.next().unwrap_or("");
    let (name, value) = first.split_once('=').unwrap_or((first, ""));
    let mut c = Map::new();
    c.insert("name".into(), json!(name.trim()));
    c.insert("value".into(), json!(value.trim()));
    let (mut http_only, mut secure, mut same_site) = (false, false, None);
    for a in parts {
        let a = a.trim();
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        match k.to_ascii_lowercase().as_str() {
            "path" => {
                c.insert("path".into(), json!(v));
            }
            "domain" => {
                c.insert("domain".into(), json!(v));
            }
            "expires" => {
                if let Some(us) = parse_http_date(v) {
                    c.insert("expires".into(), json!(iso_ms(us)));
                }
            }
            "httponly" => http_only = true,
            "secure" => secure = true,
            "samesite" => {
                let mut s = v.to_ascii_lowercase();
                if let Some(f) = s.get_mut(0..1) {
                    f.make_ascii_uppercase();
                }
                same_site = Some(s);
            }
            _ => {}
        }
    }
    c.insert("httpOnly".into(), json!(http_only));
    c.insert("secure".into(), json!(secure));
    if let (Some(s), true) = (same_site, chrome) {
        c.insert("sameSite".into(), json!(s));
    }
    Value::Object(c)
}

fn header_block_size(first_line: &str, headers: &[(String, String)]) -> usize {
    first_line.len()
        + 2
        + headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
        + 2
}

/// Streams one HAR file.
pub struct HarWriter<W: Write> {
    out: W,
    chrome: bool,
    strip: bool,
    entries_written: usize,
    connections: HashMap<(String, String), u64>,
    next_connection: u64,
}

impl<W: Write> HarWriter<W> {
    /// Writes the opening of the file up to the start of `entries`.
    pub fn start(
        mut out: W,
        producer: (&str, &str),
        strip_credentials: bool,
        pages: &[Page],
    ) -> io::Result<Self> {
        let chrome = producer.0 == "WebInspector";
        let creator = if chrome {
            json!({"name": producer.0, "version": producer.1})
        } else {
            json!({"name": producer.0, "version": producer.1, "comment": format!("{} version {}", producer.0, producer.1)})
        };
        let pages: Vec<Value> = pages
            .iter()
            .map(|p| {
                json!({
                    "startedDateTime": iso_ms(p.started_us),
                    "id": p.id,
                    "title": p.title,
                    "pageTimings": {"onContentLoad": num(p.on_content_load), "onLoad": num(p.on_load)}
                })
            })
            .collect();
        write!(
            out,
            "{{\n  \"log\": {{\n    \"version\": \"1.2\",\n    \"creator\": {},\n    \"pages\": {},\n    \"entries\": [",
            indent(&pretty(&creator), 4),
            indent(&pretty(&Value::Array(pages)), 4)
        )?;
        Ok(HarWriter {
            out,
            chrome,
            strip: strip_credentials,
            entries_written: 0,
            connections: HashMap::new(),
            next_connection: 318_442,
        })
    }

    pub fn entry(&mut self, e: &SampleExchange, pageref: Option<&str>) -> io::Result<()> {
        let v = if self.chrome {
            self.chrome_entry(e, pageref)
        } else {
            self.mitm_entry(e)
        };
        let sep = if self.entries_written == 0 {
            "\n"
        } else {
            ",\n"
        };
        write!(self.out, "{sep}      {}", indent(&pretty(&v), 6))?;
        self.entries_written += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        if self.entries_written > 0 {
            self.out.write_all(b"\n    ]\n  }\n}\n")?;
        } else {
            self.out.write_all(b"]\n  }\n}\n")?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn keep(&self, name: &str) -> bool {
        !(self.strip && SANITIZED.iter().any(|s| name.eq_ignore_ascii_case(s)))
    }

    /// Connection id and whether this exchange opened it.
    fn connection(&mut self, e: &SampleExchange) -> (u64, bool) {
        let key = (e.host().to_string(), e.http_version.clone());
        if let Some(id) = self.connections.get(&key) {
            return (*id, false);
        }
        self.next_connection += 37 + (self.connections.len() as u64 * 13) % 29;
        self.connections.insert(key, self.next_connection);
        (self.next_connection, true)
    }

    fn timings(&self, e: &SampleExchange, new_conn: bool) -> (f64, f64, f64, f64, f64, f64, f64) {
        // (blocked, dns, connect, ssl, send, wait, receive); -1 for "not applicable".
        let o = (e.duration_ms - e.wait_ms).max(0.0);
        if new_conn {
            let blocked = round3(o * 0.03 + 0.4);
            let dns = round3(o * 0.18);
            let connect = round3(o * 0.6);
            let ssl = round3(o * 0.33);
            let send = round3(o * 0.01 + 0.05);
            let receive = round3(e.duration_ms - e.wait_ms - blocked - dns - connect - send);
            (
                blocked,
                dns,
                connect,
                ssl,
                send,
                e.wait_ms,
                receive.max(0.0),
            )
        } else {
            let blocked = round3(o * 0.3);
            let send = round3(o * 0.05);
            let receive = round3(e.duration_ms - e.wait_ms - blocked - send);
            (blocked, -1.0, -1.0, -1.0, send, e.wait_ms, receive.max(0.0))
        }
    }

    fn request_headers(&self, e: &SampleExchange) -> Vec<(String, String)> {
        let mut hs: Vec<(String, String)> = Vec::new();
        if e.http_version == "HTTP/2" && self.chrome {
            let rest = e.url.split_once("://").map(|x| x.1).unwrap_or(&e.url);
            let path_at = rest.find('/').unwrap_or(rest.len());
            let path = if path_at < rest.len() {
                &rest[path_at..]
            } else {
                "/"
            };
            hs.push((":authority".into(), e.host().to_string()));
            hs.push((":method".into(), e.method.clone()));
            hs.push((":path".into(), path.to_string()));
            hs.push((":scheme".into(), "https".into()));
            let mut rest: Vec<(String, String)> = e.request_headers.clone();
            rest.sort_by(|a, b| a.0.cmp(&b.0));
            hs.extend(rest);
        } else {
            hs.extend(e.request_headers.iter().cloned());
        }
        hs.retain(|(n, _)| self.keep(n));
        hs
    }

    fn response_headers(&self, e: &SampleExchange) -> Vec<(String, String)> {
        let mut hs = e.response_headers.clone();
        if e.http_version == "HTTP/2" && self.chrome {
            hs.sort_by(|a, b| a.0.cmp(&b.0));
        }
        hs.retain(|(n, _)| self.keep(n));
        hs
    }

    fn post_data(&self, e: &SampleExchange) -> Option<Value> {
        let (mime, body) = e.request_body.as_ref()?;
        let header_mime = e
            .request_header("content-type")
            .map(str::to_string)
            .unwrap_or_else(|| mime.clone());
        let text = String::from_utf8_lossy(body).into_owned();
        let mut pd = Map::new();
        pd.insert("mimeType".into(), json!(header_mime));
        if mime == "application/x-www-form-urlencoded" {
            if !self.chrome {
                pd.insert("text".into(), json!(text));
            }
            pd.insert(
                "params".into(),
                Value::Array(split_pairs(&text, !self.chrome)),
            );
            if self.chrome {
                pd.insert("text".into(), json!(text));
            }
        } else {
            pd.insert("text".into(), json!(text));
        }
        Some(Value::Object(pd))
    }

    fn content(&self, e: &SampleExchange) -> Value {
        let header_mime = e.response_header("content-type").unwrap_or("x-unknown");
        let mut c = Map::new();
        match &e.response_body {
            Some((mime, body)) => {
                c.insert("size".into(), json!(body.len()));
                if !self.chrome {
                    c.insert("compression".into(), json!(0));
                }
                let shown = if self.chrome {
                    mime.as_str()
                } else {
                    header_mime
                };
                c.insert("mimeType".into(), json!(shown));
                if is_text(mime) {
                    c.insert("text".into(), json!(String::from_utf8_lossy(body)));
                } else {
                    c.insert("text".into(), json!(crate::util::b64(body)));
                    c.insert("encoding".into(), json!("base64"));
                }
            }
            None => {
                c.insert("size".into(), json!(0));
                if !self.chrome {
                    c.insert("compression".into(), json!(0));
                }
                let m = if self.chrome {
                    header_mime.split(';').next().unwrap_or(header_mime).trim()
                } else {
                    header_mime
                };
                c.insert("mimeType".into(), json!(m));
            }
        }
        Value::Object(c)
    }

    fn cookies_of(&self, e: &SampleExchange) -> (Vec<Value>, Vec<Value>) {
        if self.strip {
            return (Vec::new(), Vec::new());
        }
        let req: Vec<Value> = e
            .request_headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split("; ").map(str::to_string).collect::<Vec<_>>())
            .map(|c| {
                let (n, v) = c.split_once('=').unwrap_or((&c, ""));
                nv(n, v)
            })
            .collect();
        let resp: Vec<Value> = e
            .response_headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| response_cookie(v, self.chrome))
            .collect();
        (req, resp)
    }

    fn chrome_entry(&mut self, e: &SampleExchange, pageref: Option<&str>) -> Value {
        let (conn, new_conn) = self.connection(e);
        let (blocked, dns, connect, ssl, send, wait, receive) = self.timings(e, new_conn);
        let h2 = e.http_version == "HTTP/2";
        let version = if h2 { "http/2.0" } else { "HTTP/1.1" };
        let dest = e.request_header("sec-fetch-dest").unwrap_or("");
        let is_ico = e.url.ends_with(".ico");
        let (rtype, priority) = match dest {
            "document" => ("document", "VeryHigh"),
            "style" => ("stylesheet", "VeryHigh"),
            "script" => ("script", "High"),
            "image" if is_ico => ("other", "High"),
            "image" => ("image", "Low"),
            "empty" => ("xhr", "High"),
            _ => ("other", "Medium"),
        };
        let initiator = match rtype {
            "stylesheet" | "script" | "image" => json!({
                "type": "parser",
                "url": e.request_header("referer").unwrap_or(""),
                "lineNumber": 31
            }),
            "xhr" => json!({
                "type": "script",
                "stack": {"callFrames": [{
                    "functionName": "",
                    "scriptId": "27",
                    "url": crate::assets::JS_URL,
                    "lineNumber": 0,
                    "columnNumber": 48211
                }]}
            }),
            _ => json!({"type": "other"}),
        };
        let req_headers = self.request_headers(e);
        let resp_headers = self.response_headers(e);
        let (req_cookies, resp_cookies) = self.cookies_of(e);
        let req_body = e.request_body.as_ref().map_or(0, |b| b.1.len());
        let resp_body = e.response_body.as_ref().map_or(0, |b| b.1.len());
        let query = e.url.split_once('?').map(|x| x.1).unwrap_or("");
        let query = query.split('#').next().unwrap_or("");
        let (req_hsize, resp_hsize) = if h2 {
            (-1i64, -1i64)
        } else {
            let path = crate::browser::path_of(&e.url);
            (
                header_block_size(&format!("{} {path} HTTP/1.1", e.method), &e.request_headers)
                    as i64,
                header_block_size(
                    &format!("HTTP/1.1 {} {}", e.status, e.reason),
                    &e.response_headers,
                ) as i64,
            )
        };
        let wire_headers = e
            .response_headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum::<usize>();
        let transfer = if h2 {
            resp_body + wire_headers / 3 + 9
        } else {
            resp_body + resp_hsize as usize
        };

        let mut request = Map::new();
        request.insert("method".into(), json!(e.method));
        request.insert("url".into(), json!(e.url));
        request.insert("httpVersion".into(), json!(version));
        request.insert(
            "headers".into(),
            Value::Array(req_headers.iter().map(|(n, v)| nv(n, v)).collect()),
        );
        request.insert(
            "queryString".into(),
            Value::Array(split_pairs(query, false)),
        );
        request.insert("cookies".into(), Value::Array(req_cookies));
        request.insert("headersSize".into(), json!(req_hsize));
        request.insert("bodySize".into(), json!(req_body));
        if let Some(pd) = self.post_data(e) {
            request.insert("postData".into(), pd);
        }

        let status_text = if h2 { "" } else { e.reason.as_str() };
        let response = json!({
            "status": e.status,
            "statusText": status_text,
            "httpVersion": version,
            "headers": resp_headers.iter().map(|(n, v)| nv(n, v)).collect::<Vec<_>>(),
            "cookies": resp_cookies,
            "content": self.content(e),
            "redirectURL": e.response_header("location").unwrap_or(""),
            "headersSize": resp_hsize,
            "bodySize": resp_body,
            "_transferSize": transfer,
            "_error": null,
            "_fetchedViaServiceWorker": false
        });

        let mut entry = Map::new();
        entry.insert("_initiator".into(), initiator);
        entry.insert("_priority".into(), json!(priority));
        entry.insert("_resourceType".into(), json!(rtype));
        entry.insert("cache".into(), json!({}));
        entry.insert("connection".into(), json!(conn.to_string()));
        if let Some(p) = pageref {
            entry.insert("pageref".into(), json!(p));
        }
        entry.insert("request".into(), Value::Object(request));
        entry.insert("response".into(), response);
        entry.insert("serverIPAddress".into(), json!(e.server_ip));
        entry.insert("startedDateTime".into(), json!(iso_ms(e.started_us)));
        entry.insert("time".into(), num(e.duration_ms));
        entry.insert(
            "timings".into(),
            json!({
                "blocked": num(blocked),
                "dns": num(dns),
                "ssl": num(ssl),
                "connect": num(connect),
                "send": num(send),
                "wait": num(wait),
                "receive": num(receive),
                "_blocked_queueing": num(blocked * 0.7),
                "_workerStart": -1,
                "_workerReady": -1,
                "_workerFetchStart": -1,
                "_workerRespondWithSettled": -1
            }),
        );
        Value::Object(entry)
    }

    fn mitm_entry(&mut self, e: &SampleExchange) -> Value {
        let (_, new_conn) = self.connection(e);
        let (_, _, connect, ssl, send, wait, receive) = self.timings(e, new_conn);
        let (req_cookies, resp_cookies) = self.cookies_of(e);
        let req_body = e.request_body.as_ref().map_or(0, |b| b.1.len());
        let resp_body = e.response_body.as_ref().map_or(0, |b| b.1.len());
        let query = e.url.split_once('?').map(|x| x.1).unwrap_or("");
        let path = crate::browser::path_of(&e.url);
        let req_hsize = header_block_size(
            &format!("{} {path} {}", e.method, e.http_version),
            &e.request_headers,
        );
        let resp_hsize = header_block_size(
            &format!("{} {} {}", e.http_version, e.status, e.reason),
            &e.response_headers,
        );
        let mut request = Map::new();
        request.insert("method".into(), json!(e.method));
        request.insert("url".into(), json!(e.url));
        request.insert("httpVersion".into(), json!(e.http_version));
        request.insert("cookies".into(), Value::Array(req_cookies));
        request.insert(
            "headers".into(),
            Value::Array(
                self.request_headers(e)
                    .iter()
                    .map(|(n, v)| nv(n, v))
                    .collect(),
            ),
        );
        request.insert("queryString".into(), Value::Array(split_pairs(query, true)));
        request.insert("headersSize".into(), json!(req_hsize));
        request.insert("bodySize".into(), json!(req_body));
        if let Some(pd) = self.post_data(e) {
            request.insert("postData".into(), pd);
        }
        let response = json!({
            "status": e.status,
            "statusText": e.reason,
            "httpVersion": e.http_version,
            "cookies": resp_cookies,
            "headers": self.response_headers(e).iter().map(|(n, v)| nv(n, v)).collect::<Vec<_>>(),
            "content": self.content(e),
            "redirectURL": e.response_header("location").unwrap_or(""),
            "headersSize": resp_hsize,
            "bodySize": resp_body
        });
        json!({
            "startedDateTime": iso_ms(e.started_us),
            "time": num(e.duration_ms),
            "request": Value::Object(request),
            "response": response,
            "cache": {},
            "timings": {
                "connect": num(if new_conn { connect - ssl } else { -1.0 }),
                "ssl": num(if new_conn { ssl } else { -1.0 }),
                "send": num(send),
                "receive": num(receive),
                "wait": num(wait)
            },
            "serverIPAddress": e.server_ip
        })
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("json")
}

/// Indents every line but the first by `n` spaces (JSON strings hold no raw newlines).
fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// Writes one scenario as a complete HAR file.
pub fn write_scenario<W: Write>(out: W, s: &Scenario) -> io::Result<W> {
    let mut counter = 0;
    let (pages, refs) = pages_for(s, &mut counter);
    let chrome = s.producer_parts().0 == "WebInspector";
    let pages = if chrome { pages } else { Vec::new() };
    let mut w = HarWriter::start(
        out,
        s.producer_parts(),
        s.export.credentials_stripped,
        &pages,
    )?;
    for (e, r) in s.exchanges.iter().zip(refs.iter()) {
        w.entry(e, if chrome { r.as_deref() } else { None })?;
    }
    w.finish()
}

impl<W: Write> HarWriter<W> {
    /// The underlying writer.
    pub fn inner(&self) -> &W {
        &self.out
    }
}
