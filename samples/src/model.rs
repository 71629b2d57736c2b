//! Format-neutral model of a synthetic capture.
//!
//! A [`Scenario`] is a list of HTTP exchanges as they crossed the wire. Nothing here
//! knows about HAR: the HAR writer derives its extra fields (pages, initiators,
//! priorities, timing breakdown) from these values, and a packet writer can derive
//! TCP/IP framing from the same data.
//!
//! Header lists hold the header lines exactly as sent, in order and with their case:
//! lower case on HTTP/2, as the client or server spelt them on HTTP/1.1 (where the
//! request carries `Host`). HTTP/2 pseudo-headers (`:method`, `:authority`, `:path`,
//! `:scheme`, `:status`) are not stored; they follow from `method`, `url` and `status`.
//! Bodies are the bytes after transfer decoding; no scenario uses content codings.

/// One request and its response.
#[derive(Debug, Clone)]
pub struct SampleExchange {
    /// When the request started, microseconds since the Unix epoch (UTC).
    pub started_us: i64,
    /// Time from the request being sent until the first response byte, ms.
    pub wait_ms: f64,
    /// Whole exchange from start to the last response byte, ms (≥ `wait_ms`).
    pub duration_ms: f64,
    /// Server address as seen by the client (IPv4 or IPv6 literal).
    pub server_ip: String,
    /// `HTTP/2` or `HTTP/1.1`.
    pub http_version: String,
    pub method: String,
    /// Absolute URL, `https://host/path?query`.
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    /// MIME type (as in `Content-Type`) and bytes.
    pub request_body: Option<(String, Vec<u8>)>,
    pub status: u16,
    /// Reason phrase (`OK`, `Found`…). HTTP/2 carries none on the wire; writers of
    /// HTTP/2 framing ignore it.
    pub reason: String,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<(String, Vec<u8>)>,
}

impl SampleExchange {
    /// Host part of the URL (no port).
    pub fn host(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.url);
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let hostport = &rest[..end];
        hostport.split(':').next().unwrap_or(hostport)
    }

    /// First value of a request header, case-insensitive.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find_header(&self.request_headers, name)
    }

    /// First value of a response header, case-insensitive.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find_header(&self.response_headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How the capture was exported, where the exporting tool changed what was on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// The exporting tool dropped `Cookie`, `Set-Cookie` and `Authorization` (Chrome
    /// 130+ "Export HAR (sanitized)"). Wire-level writers may ignore this.
    pub credentials_stripped: bool,
}

/// One synthetic capture: what happened, who recorded it, and the exchanges in the
/// order they started.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub file_stem: String,
    pub description: String,
    /// Recording program and version, `"<name> <version>"` (e.g. `WebInspector 537.36`).
    pub producer: String,
    pub export: ExportOptions,
    pub exchanges: Vec<SampleExchange>,
}

impl Scenario {
    /// Producer split into (name, version) at the last space.
    pub fn producer_parts(&self) -> (&str, &str) {
        match self.producer.rsplit_once(' ') {
            Some((n, v)) => (n, v),
            None => (self.producer.as_str(), ""),
        }
    }

    /// Sorts exchanges by start time (stable, so equal starts keep their order).
    pub fn sort(&mut self) {
        self.exchanges.sort_by_key(|e| e.started_us);
    }
}
