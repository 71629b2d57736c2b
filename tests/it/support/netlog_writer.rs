//! Writes exchanges as a Chromium NetLog the way `chrome://net-export` does (event
//! shapes from `net/log/net_log_event_type_list.h`; see `src/capture/netlog.rs`):
//! one `URL_REQUEST` source per request, redirect chains followed inside one source
//! (one `URL_REQUEST_START_JOB` per hop), HTTP/2 to hosts the HAR reached over h2
//! (with an `HTTP2_SESSION` and its socket), HTTP/1.1 elsewhere.

use std::collections::HashMap;

use aadtrace::http::{split_url, Exchange};
use base64::Engine as _;
use serde_json::{json, Value};

use super::{body_bytes, h1_request_headers, plain_response_headers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Default: no bytes; cookies and credentials stripped.
    Strip,
    /// Response bytes logged (`URL_REQUEST_JOB_FILTERED_BYTES_READ.bytes`) but no
    /// socket bytes, so request bodies are missing.
    Bytes,
    /// Everything: response bytes and the plaintext sent on every socket.
    Everything,
}

#[derive(Debug, Clone, Copy)]
pub struct NetLogOptions {
    pub mode: Mode,
    /// Old-style `{"name": "value"}` header params instead of `["name: value"]`.
    pub dict_headers: bool,
    /// Leave the JSON open after the events (as a killed browser does).
    pub unterminated: bool,
}

const TYPES: &[&str] = &[
    "FAILED",
    "REQUEST_ALIVE",
    "URL_REQUEST_START_JOB",
    "URL_REQUEST_REDIRECTED",
    "HTTP_TRANSACTION_SEND_REQUEST",
    "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
    "HTTP_TRANSACTION_SEND_REQUEST_BODY",
    "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS",
    "HTTP_TRANSACTION_READ_HEADERS",
    "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
    "URL_REQUEST_JOB_FILTERED_BYTES_READ",
    "SOCKET_ALIVE",
    "SSL_SOCKET_BYTES_SENT",
    "SSL_SOCKET_BYTES_RECEIVED",
    "HTTP2_SESSION",
    "HTTP2_SESSION_INITIALIZED",
    "HTTP2_SESSION_SEND_HEADERS",
    "HTTP2_SESSION_RECV_HEADERS",
];

fn ty(name: &str) -> u64 {
    // Numbers unlike the list order, as in real logs (they change per version).
    100 + 7 * TYPES.iter().position(|t| *t == name).expect("known type") as u64
}

const SRC_URL_REQUEST: u64 = 1;
const SRC_SOCKET: u64 = 8;
const SRC_HTTP2_SESSION: u64 = 9;
const TICK_OFFSET_MS: i64 = 1_700_000_000_000;

struct Writer {
    events: Vec<(i64, u64, Value)>,
    seq: u64,
    next_id: u64,
    options: NetLogOptions,
}

impl Writer {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn push(&mut self, us: i64, kind: &str, src: (u64, u64), phase: u64, params: Option<Value>) {
        let ms = us.div_euclid(1000) - TICK_OFFSET_MS;
        let mut ev = json!({
            "phase": phase,
            "source": {"id": src.0, "start_time": ms.to_string(), "type": src.1},
            "time": ms.to_string(),
            "type": ty(kind),
        });
        if let Some(p) = params {
            ev["params"] = p;
        }
        self.seq += 1;
        self.events.push((us, self.seq, ev));
    }

    fn headers(&self, list: &[(String, String)], status_line: Option<String>) -> Value {
        if self.options.dict_headers {
            let mut map = serde_json::Map::new();
            if let Some(l) = status_line {
                map.insert(l, Value::String(String::new()));
            }
            for (n, v) in list {
                map.insert(n.clone(), Value::String(v.clone()));
            }
            Value::Object(map)
        } else {
            let mut out: Vec<Value> = status_line.into_iter().map(Value::String).collect();
            out.extend(list.iter().map(|(n, v)| Value::String(format!("{n}: {v}"))));
            Value::Array(out)
        }
    }

    fn strip(&self, list: Vec<(String, String)>) -> Vec<(String, String)> {
        if self.options.mode != Mode::Strip {
            return list;
        }
        list.into_iter()
            .map(|(n, v)| {
                let secret = ["cookie", "set-cookie", "authorization"]
                    .iter()
                    .any(|s| n.eq_ignore_ascii_case(s));
                if secret {
                    let stripped = format!("[{} bytes were stripped]", v.len());
                    (n, stripped)
                } else {
                    (n, v)
                }
            })
            .collect()
    }
}

fn is_h2(ex: &Exchange<'_>) -> bool {
    let v = ex.request.http_version.to_ascii_lowercase();
    v.contains("2") || v == "h2"
}

fn location(ex: &Exchange<'_>) -> Option<String> {
    let r = ex.response.as_ref()?;
    if !(300..400).contains(&r.status) {
        return None;
    }
    r.headers.get("location").map(str::to_string)
}

pub fn write_netlog(exchanges: &[Exchange<'_>], options: NetLogOptions) -> Vec<u8> {
    let mut w = Writer {
        events: Vec::new(),
        seq: 0,
        next_id: 0,
        options,
    };
    // Connections: (host, h2) → (socket id, session id, first frame sent).
    let mut conns: HashMap<(String, bool), (u64, u64, bool)> = HashMap::new();
    let mut next_stream: HashMap<u64, u64> = HashMap::new();

    // Group redirect chains: an exchange continues the previous one's source when
    // that one redirected to exactly its URL with a GET.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, ex) in exchanges.iter().enumerate() {
        let continues = groups.last().and_then(|g| g.last()).is_some_and(|&p| {
            location(&exchanges[p]).as_deref() == Some(ex.request.url.as_ref())
                && ex.request.method == "GET"
        });
        match groups.last_mut() {
            Some(g) if continues => g.push(i),
            _ => groups.push(vec![i]),
        }
    }

    for group in groups {
        let req_id = w.id();
        let src = (req_id, SRC_URL_REQUEST);
        let first = &exchanges[group[0]];
        w.push(
            first.timing.started_us,
            "REQUEST_ALIVE",
            src,
            1,
            Some(json!({"priority": "MEDIUM"})),
        );
        let mut end_us = first.timing.started_us;
        let mut last_error: Option<i64> = None;
        for (k, &i) in group.iter().enumerate() {
            let ex = &exchanges[i];
            let t0 = ex.timing.started_us;
            let total_us = (ex.timing.duration_ms.unwrap_or(1.0) * 1000.0) as i64;
            let wait_us = (ex.timing.wait_ms.unwrap_or(0.0) * 1000.0) as i64;
            w.push(
                t0,
                "URL_REQUEST_START_JOB",
                src,
                1,
                Some(json!({"load_flags": 0, "method": ex.request.method, "url": ex.request.url, "priority": "MEDIUM"})),
            );
            let url = split_url(&ex.request.url);
            let h2 = is_h2(ex);
            let body = body_bytes(&ex.request.body);
            let send_at = t0 + 1000;
            if h2 {
                let mut list: Vec<(String, String)> = vec![
                    (":method".into(), ex.request.method.to_string()),
                    (":authority".into(), url.host.to_string()),
                    (":scheme".into(), "https".into()),
                    (":path".into(), path_and_query(&ex.request.url)),
                ];
                list.extend(
                    h1_request_headers(ex)
                        .into_iter()
                        .filter(|(n, _)| !n.eq_ignore_ascii_case("host")),
                );
                let list = w.strip(list);
                let headers = w.headers(&list, None);
                w.push(
                    send_at,
                    "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS",
                    src,
                    0,
                    Some(json!({"headers": headers})),
                );
                // The session and its socket.
                let key = (url.host.to_string(), true);
                let (socket, session, fresh) =
                    *conns.entry(key.clone()).or_insert_with(|| (0, 0, true));
                let (socket, session) = if fresh {
                    let socket = w.id();
                    let session = w.id();
                    w.push(send_at - 500, "SOCKET_ALIVE", (socket, SRC_SOCKET), 1, None);
                    w.push(
                        send_at - 400,
                        "HTTP2_SESSION",
                        (session, SRC_HTTP2_SESSION),
                        1,
                        Some(json!({"host": format!("{}:443", url.host)})),
                    );
                    w.push(
                        send_at - 400,
                        "HTTP2_SESSION_INITIALIZED",
                        (session, SRC_HTTP2_SESSION),
                        0,
                        Some(json!({"source_dependency": {"id": socket, "type": SRC_SOCKET}})),
                    );
                    if options.mode == Mode::Everything {
                        let preface =
                            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
                        w.push(
                            send_at - 300,
                            "SSL_SOCKET_BYTES_SENT",
                            (socket, SRC_SOCKET),
                            0,
                            Some(bytes_param(preface)),
                        );
                    }
                    conns.insert(key, (socket, session, false));
                    (socket, session)
                } else {
                    (socket, session)
                };
                let stream = next_stream.entry(session).or_insert(1);
                let stream_id = *stream;
                *stream += 2;
                w.push(
                    send_at,
                    "HTTP2_SESSION_SEND_HEADERS",
                    (session, SRC_HTTP2_SESSION),
                    0,
                    Some(json!({
                        "fin": body.is_empty(), "has_priority": true, "stream_id": stream_id,
                        "headers": w.headers(&list, None),
                        "source_dependency": {"id": req_id, "type": SRC_URL_REQUEST},
                    })),
                );
                if options.mode == Mode::Everything {
                    // HEADERS frame (an opaque HPACK block) then DATA frames.
                    let mut frames = frame(
                        1,
                        if body.is_empty() { 0x5 } else { 0x4 },
                        stream_id,
                        b"\x82\x87\x84",
                    );
                    let chunks: Vec<&[u8]> = body.chunks(1000).collect();
                    for (c, chunk) in chunks.iter().enumerate() {
                        let fin = if c + 1 == chunks.len() { 0x1 } else { 0 };
                        if c % 2 == 1 {
                            // A padded DATA frame now and then.
                            let mut p = vec![3u8];
                            p.extend_from_slice(chunk);
                            p.extend_from_slice(&[0, 0, 0]);
                            frames.extend(frame(0, fin | 0x8, stream_id, &p));
                        } else {
                            frames.extend(frame(0, fin, stream_id, chunk));
                        }
                    }
                    w.push(
                        send_at,
                        "SSL_SOCKET_BYTES_SENT",
                        (socket, SRC_SOCKET),
                        0,
                        Some(bytes_param(&frames)),
                    );
                }
            } else {
                let line = format!(
                    "{} {} HTTP/1.1\r\n",
                    ex.request.method,
                    path_and_query(&ex.request.url)
                );
                let mut list: Vec<(String, String)> = h1_request_headers(ex)
                    .into_iter()
                    .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
                    .collect();
                if !body.is_empty() {
                    list.push(("Content-Length".into(), body.len().to_string()));
                }
                let logged = w.strip(list.clone());
                let headers = w.headers(&logged, None);
                w.push(
                    send_at,
                    "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
                    src,
                    0,
                    Some(json!({"line": line, "headers": headers})),
                );
                if options.mode == Mode::Everything {
                    let key = (url.host.to_string(), false);
                    let socket = match conns.get(&key) {
                        Some((s, _, _)) => *s,
                        None => {
                            let s = w.id();
                            w.push(send_at - 500, "SOCKET_ALIVE", (s, SRC_SOCKET), 1, None);
                            conns.insert(key, (s, 0, false));
                            s
                        }
                    };
                    let mut raw = line.clone().into_bytes();
                    for (n, v) in &list {
                        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                    }
                    raw.extend_from_slice(b"\r\n");
                    raw.extend_from_slice(&body);
                    // Split in two writes, as the socket often does.
                    let mid = raw.len() / 2;
                    w.push(
                        send_at,
                        "SSL_SOCKET_BYTES_SENT",
                        (socket, SRC_SOCKET),
                        0,
                        Some(bytes_param(&raw[..mid])),
                    );
                    w.push(
                        send_at,
                        "SSL_SOCKET_BYTES_SENT",
                        (socket, SRC_SOCKET),
                        0,
                        Some(bytes_param(&raw[mid..])),
                    );
                }
            }
            if !body.is_empty() {
                w.push(
                    send_at,
                    "HTTP_TRANSACTION_SEND_REQUEST_BODY",
                    src,
                    0,
                    Some(json!({"did_merge": true, "is_chunked": false, "length": body.len()})),
                );
            }

            let headers_at = send_at + wait_us.max(1000);
            match &ex.response {
                Some(r) if r.status != 0 => {
                    let list = w.strip(plain_response_headers(r));
                    let status_line = if r.reason.is_empty() {
                        format!("HTTP/1.1 {}", r.status)
                    } else {
                        format!("HTTP/1.1 {} {}", r.status, r.reason)
                    };
                    let headers = w.headers(&list, Some(status_line));
                    w.push(
                        headers_at,
                        "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
                        src,
                        0,
                        Some(json!({"headers": headers})),
                    );
                    let body = body_bytes(&r.body);
                    let size = match &r.body {
                        aadtrace::http::Body::Omitted { size } => *size as usize,
                        _ => body.len(),
                    };
                    let mut at = headers_at + 500;
                    if options.mode == Mode::Strip {
                        if size > 0 {
                            w.push(
                                at,
                                "URL_REQUEST_JOB_FILTERED_BYTES_READ",
                                src,
                                0,
                                Some(json!({"byte_count": size})),
                            );
                        }
                    } else {
                        for chunk in body.chunks(32 * 1024) {
                            let mut p = bytes_param(chunk);
                            p["byte_count"] = json!(chunk.len());
                            w.push(at, "URL_REQUEST_JOB_FILTERED_BYTES_READ", src, 0, Some(p));
                            at += 100;
                        }
                    }
                    if let Some(loc) = location(ex) {
                        w.push(
                            headers_at,
                            "URL_REQUEST_REDIRECTED",
                            src,
                            0,
                            Some(json!({"location": loc})),
                        );
                    }
                }
                _ => {
                    last_error = Some(-101);
                }
            }
            let job_end = t0 + total_us.max(1000);
            let params = if k + 1 == group.len() && last_error.is_some() {
                Some(json!({"net_error": last_error}))
            } else {
                None
            };
            w.push(job_end - 1, "URL_REQUEST_START_JOB", src, 2, params);
            end_us = end_us.max(job_end);
        }
        let params = last_error.map(|e| json!({"net_error": e}));
        w.push(end_us, "REQUEST_ALIVE", src, 2, params);
    }

    w.events
        .sort_by_key(|(us, seq, _)| (us.div_euclid(1000), *seq));
    let types: serde_json::Map<String, Value> = TYPES
        .iter()
        .map(|t| (t.to_string(), json!(ty(t))))
        .collect();
    let mode = match options.mode {
        Mode::Strip => "Default",
        Mode::Bytes => "IncludeSensitive",
        Mode::Everything => "Everything",
    };
    let constants = json!({
        "clientInfo": {"name": "Microsoft Edge", "version": "142.0.3595.53", "os_type": "Windows NT: 10.0.26100"},
        "logCaptureMode": mode,
        "logEventPhase": {"PHASE_BEGIN": 1, "PHASE_END": 2, "PHASE_NONE": 0},
        "logEventTypes": types,
        "logFormatVersion": 1,
        "logSourceType": {"NONE": 0, "URL_REQUEST": SRC_URL_REQUEST, "SOCKET": SRC_SOCKET, "HTTP2_SESSION": SRC_HTTP2_SESSION},
        "netError": {"ERR_IO_PENDING": -1 - 2, "ERR_CONNECTION_RESET": -101, "ERR_NAME_NOT_RESOLVED": -105},
        "timeTickOffset": TICK_OFFSET_MS.to_string(),
    });
    // The file as FileNetLogObserver writes it: constants, then one event per line.
    let mut out = format!("{{\"constants\":{constants},\n\"events\": [\n").into_bytes();
    for (n, (_, _, ev)) in w.events.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(ev.to_string().as_bytes());
    }
    if !options.unterminated {
        out.extend_from_slice(b"\n],\n\"polledData\": {}\n}\n");
    } else {
        out.extend_from_slice(b",\n");
    }
    out
}

fn bytes_param(bytes: &[u8]) -> Value {
    json!({
        "byte_count": bytes.len(),
        "bytes": base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

fn frame(kind: u8, flags: u8, stream: u64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&(stream as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn path_and_query(url: &str) -> String {
    let p = split_url(url);
    match p.query {
        Some(q) => format!("{}?{q}", p.path),
        None => p.path.to_string(),
    }
}
