//! The HTTP exchange model shared by every input format.
//!
//! HAR, SAZ, NetLog and reassembled packets all end as the same [`Exchange`]: one
//! request, its response if there was one, a transport error if the exchange failed
//! below HTTP, and timing. A transport failure, an HTTP 4xx/5xx and an AADSTS code
//! inside a 200 page stay three different things: this layer only knows the first two.
//!
//! Exchanges borrow from their input where they can (`Cow<'a, …>`): a HAR read from a
//! memory map yields exchanges that point into the map, and the analysis turns each
//! one into small owned facts before the next is read, so bodies are never copied
//! wholesale. Bodies stay in their wire encoding ([`Body`]) until someone asks.

pub mod content;
pub mod form;
pub mod h1;
pub mod h2;
pub mod hpack;
pub mod html;
pub mod json_object;
pub(crate) mod json_scan;
pub mod json_string;
pub mod message;

use std::borrow::Cow;

use base64::Engine as _;

/// One header line, name and value as they appeared (name case kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl<'a> Header<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Ordered header list with case-insensitive look-up (RFC 9110 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers<'a>(pub Vec<Header<'a>>);

impl<'a> Headers<'a> {
    /// First value of `name`, compared ASCII case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }

    /// Every value of `name`, in order (e.g. several `Set-Cookie`).
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_ref())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn push(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        self.0.push(Header::new(name, value));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A message body in the form its container stored it; decoded on demand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Body<'a> {
    /// No body, or the container recorded none.
    #[default]
    Absent,
    /// The container said there was a body of this many bytes but did not keep it
    /// (sanitised or size-limited HAR exports, NetLog without bytes).
    Omitted { size: u64 },
    /// Raw bytes as they crossed the wire after transfer decoding.
    Bytes(Cow<'a, [u8]>),
    /// A JSON string literal, quotes included, still escaped (HAR `content.text`);
    /// `base64` when the HAR said `"encoding": "base64"`.
    JsonText { literal: Cow<'a, str>, base64: bool },
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not a valid JSON string literal")]
    BadJsonString,
    #[error("the body is marked base64 but does not decode as base64")]
    BadBase64,
}

impl Body<'_> {
    /// Decoded bytes of the body (empty when absent or omitted).
    pub fn decode(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        match self {
            Body::Absent | Body::Omitted { .. } => Ok(Cow::Borrowed(&[])),
            Body::Bytes(b) => Ok(Cow::Borrowed(b.as_ref())),
            Body::JsonText { literal, base64 } => {
                let text = json_string::decode_literal(literal).ok_or(BodyError::BadJsonString)?;
                if *base64 {
                    let cleaned: Vec<u8> =
                        text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(&cleaned)
                        .or_else(|_| {
                            base64::engine::general_purpose::STANDARD_NO_PAD.decode(&cleaned)
                        })
                        .map(Cow::Owned)
                        .map_err(|_| BodyError::BadBase64)
                } else {
                    Ok(match text {
                        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                    })
                }
            }
        }
    }

    /// Decoded body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> Result<Cow<'_, str>, BodyError> {
        // A JSON string literal is already valid UTF-8 once unescaped: no second check.
        if let Body::JsonText {
            literal,
            base64: false,
        } = self
        {
            return json_string::decode_literal(literal).ok_or(BodyError::BadJsonString);
        }
        Ok(match self.decode()? {
            Cow::Borrowed(b) => lossy_utf8(b),
            Cow::Owned(b) => Cow::Owned(match String::from_utf8(b) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        })
    }

    /// True when the container had a body but did not keep it.
    pub fn is_omitted(&self) -> bool {
        matches!(self, Body::Omitted { .. })
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Body::Absent)
    }
}

/// `bytes` as text, invalid UTF-8 replaced (as `String::from_utf8_lossy`). Bodies are
/// megabytes and almost always valid, so they are first checked with SIMD (simdutf8)
/// and borrowed; std's lossy decoder walks them byte by byte (issue #15: 41 % of the
/// analysis of a capture with large form posts).
fn lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Cow<'a, str>,
    /// Absolute URL (`scheme://host/path?query`).
    pub url: Cow<'a, str>,
    /// `HTTP/1.1`, `HTTP/2`, … as recorded, or empty when unknown.
    pub http_version: Cow<'a, str>,
    pub headers: Headers<'a>,
    pub body: Body<'a>,
    /// MIME type of the body when the container names it apart from the headers.
    pub body_mime: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response<'a> {
    pub status: u16,
    pub reason: Cow<'a, str>,
    pub http_version: Cow<'a, str>,
    pub headers: Headers<'a>,
    pub body: Body<'a>,
    pub body_mime: Option<Cow<'a, str>>,
}

/// Times of an exchange. `started_us` is microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    pub started_us: i64,
    /// Total time from request start to the end of the response, when known.
    pub duration_ms: Option<f64>,
    /// Time waiting for the first response byte, when known.
    pub wait_ms: Option<f64>,
    /// The finer phases a HAR entry recorded; `None` for every other format.
    pub phases: Option<Phases>,
}

/// A HAR entry's `timings` (HAR 1.2 §"timings"), in ms, in [`Phases::NAMES`]
/// order; a negative value is a phase the entry did not record (HAR's `-1`).
/// `f32` keeps it at 28 bytes: enough for tenths of a millisecond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phases(pub [f32; 7]);

impl Phases {
    pub const NAMES: [&'static str; 7] = [
        "blocked", "dns", "connect", "ssl", "send", "wait", "receive",
    ];

    /// The recorded phases by name, in order.
    pub fn recorded(&self) -> impl Iterator<Item = (&'static str, f32)> + '_ {
        Self::NAMES
            .iter()
            .zip(self.0)
            .filter(|(_, ms)| *ms >= 0.0 && ms.is_finite())
            .map(|(name, ms)| (*name, ms))
    }

    /// The phases of HAR values, `None` when none is a time (≥ 0).
    pub fn from_har(values: [Option<f64>; 7]) -> Option<Phases> {
        let ms = values.map(|v| {
            v.filter(|v| *v >= 0.0 && v.is_finite())
                .map_or(-1.0, |v| v as f32)
        });
        ms.iter().any(|v| *v >= 0.0).then_some(Phases(ms))
    }
}

impl Timing {
    /// The timing of an exchange rebuilt from the wire: its request's first and
    /// last byte, and its response's first and last byte when there is one (µs).
    pub fn from_wire(req_first_us: i64, req_last_us: i64, resp: Option<(i64, i64)>) -> Timing {
        match resp {
            Some((first, last)) => Timing {
                started_us: req_first_us,
                duration_ms: Some((last.max(first) - req_first_us) as f64 / 1000.0),
                wait_ms: Some((first - req_last_us) as f64 / 1000.0),
                phases: None,
            },
            None => Timing {
                started_us: req_first_us,
                duration_ms: None,
                wait_ms: None,
                phases: None,
            },
        }
    }
}

/// The error of an exchange rebuilt from a capture that lost bytes inside it.
pub const GAP_ERROR: &str = "bytes missing from the capture inside this exchange";

/// Where an exchange came from, so reports can point back into the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// Index of the input file among those analysed together.
    pub input: usize,
    /// Position inside the input: HAR entry index, frame number, SAZ session…
    pub index: u64,
}

/// A value made from one exchange that carries the exchange's [`Origin::index`].
/// A reader that numbers a stretch of its input from 0 (the split HAR read's
/// chunks) shifts such values once it knows how many exchanges came before.
pub trait Renumber {
    /// Adds `offset` to that index.
    fn renumber(&mut self, offset: u64);
}

/// One HTTP request and what came back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange<'a> {
    pub request: Request<'a>,
    pub response: Option<Response<'a>>,
    /// A failure below HTTP (connection reset, DNS, aborted): kept apart from status.
    pub error: Option<Cow<'a, str>>,
    pub timing: Timing,
    pub origin: Origin,
    /// Connection id for packet captures; `None` for HAR and other logs.
    pub connection: Option<usize>,
    /// Server address as recorded (`serverIPAddress` in HAR), if any.
    pub server_ip: Option<Cow<'a, str>>,
}

impl Exchange<'_> {
    /// Status of the response, `None` when there was no response (or status 0).
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status).filter(|s| *s != 0)
    }

    /// Bytes the exchange owns beyond its fixed size: URL, headers and bodies.
    /// The packet parsers charge this to their [`crate::limits::Allowance`] when
    /// they build an exchange, and whoever takes the exchange gives it back.
    pub fn held_bytes(&self) -> usize {
        let headers = |h: &Headers<'_>| -> usize {
            h.0.iter().map(|h| h.name.len() + h.value.len() + 32).sum()
        };
        let body = |b: &Body<'_>| match b {
            Body::Bytes(b) => b.len(),
            Body::JsonText { literal, .. } => literal.len(),
            Body::Absent | Body::Omitted { .. } => 0,
        };
        let req = &self.request;
        let mut n = req.url.len() + req.method.len() + headers(&req.headers) + body(&req.body);
        if let Some(r) = &self.response {
            n += r.reason.len() + headers(&r.headers) + body(&r.body);
        }
        n
    }
}

/// The authority a URL takes from the server's address when the request names
/// no host: IPv6 in brackets, and the port left out when it is the scheme's
/// default (RFC 3986 §3.2.2–3.2.3).
pub fn authority_of(server: std::net::SocketAddr, scheme: &str) -> String {
    let default_port = if scheme == "https" { 443 } else { 80 };
    if server.port() != default_port {
        return server.to_string();
    }
    match server.ip() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    }
}

/// Splits an absolute URL into (scheme, host without port, path, query, fragment).
///
/// Total on any input: a string without `://` is treated as a path.
pub fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = match scheme_end(url) {
        Some(i) => (&url[..i], &url[i + 3..]),
        None => ("", url),
    };
    // memchr's SIMD search: URLs of sign-in steps run to kilobytes.
    let find = |s: &str, byte: u8| memchr::memchr(byte, s.as_bytes());
    let (before_fragment, fragment) = match find(rest, b'#') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (before_query, query) = match find(before_fragment, b'?') {
        Some(i) => (&before_fragment[..i], Some(&before_fragment[i + 1..])),
        None => (before_fragment, None),
    };
    let (authority, path) = if scheme.is_empty() {
        ("", before_query)
    } else {
        match find(before_query, b'/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, "/"),
        }
    };
    let host_port = match memchr::memrchr(b'@', authority.as_bytes()) {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let before = |s: &'_ str, byte: u8| -> usize { find(s, byte).unwrap_or(s.len()) };
    let host = match host_port.strip_prefix('[') {
        Some(stripped) => &stripped[..before(stripped, b']')],
        None => &host_port[..before(host_port, b':')],
    };
    UrlParts {
        scheme,
        host,
        path,
        query,
        fragment,
    }
}

/// Where the first `://` of `url` starts. Each `:` is looked at once (memchr),
/// instead of a substring searcher being set up for every URL of a trace.
fn scheme_end(url: &str) -> Option<usize> {
    let b = url.as_bytes();
    memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(b"//"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'u> {
    pub scheme: &'u str,
    pub host: &'u str,
    pub path: &'u str,
    pub query: Option<&'u str>,
    pub fragment: Option<&'u str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_port_is_left_out_of_an_authority() {
        let at = |a: &str, scheme| authority_of(a.parse().unwrap(), scheme);
        assert_eq!(at("10.0.0.1:80", "http"), "10.0.0.1");
        assert_eq!(at("10.0.0.1:443", "https"), "10.0.0.1");
        // A TLS connection on port 80 needs its port in an https URL.
        assert_eq!(at("10.0.0.1:80", "https"), "10.0.0.1:80");
        assert_eq!(at("10.0.0.1:8080", "http"), "10.0.0.1:8080");
        assert_eq!(at("[2001:db8::1]:443", "https"), "[2001:db8::1]");
        assert_eq!(at("[2001:db8::1]:8443", "https"), "[2001:db8::1]:8443");
    }

    #[test]
    fn url_parts() {
        let p =
            split_url("https://user@Login.microsoftonline.com:443/common/oauth2/authorize?a=1#x=2");
        assert_eq!(p.scheme, "https");
        assert_eq!(p.host, "Login.microsoftonline.com");
        assert_eq!(p.path, "/common/oauth2/authorize");
        assert_eq!(p.query, Some("a=1"));
        assert_eq!(p.fragment, Some("x=2"));
        let p = split_url("http://[::1]:8080");
        assert_eq!(p.host, "::1");
        assert_eq!(p.path, "/");
        let p = split_url("not a url");
        assert_eq!(p.path, "not a url");
    }

    /// The host is what follows the last `@` of the authority, up to a port's
    /// `:` or inside `[…]`, as splitting the text by those characters gives it.
    #[test]
    fn hosts_split_as_the_characters_say() {
        let reference = |authority: &str| {
            let host_port = authority.rsplit('@').next().unwrap_or(authority);
            match host_port.strip_prefix('[') {
                Some(stripped) => stripped.split(']').next().unwrap_or(stripped).to_string(),
                None => host_port.split(':').next().unwrap_or(host_port).to_string(),
            }
        };
        let pieces = ["a", "é", "@", ":", "[", "]", "443", "::1", "user:pw", "."];
        let mut x: u64 = 0x853C_49E6_748F_EA9B;
        for _ in 0..5000 {
            let mut authority = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..x % 7 {
                authority.push_str(pieces[((x >> (8 * k)) % pieces.len() as u64) as usize]);
            }
            let url = format!("https://{authority}/p?q#f");
            assert_eq!(split_url(&url).host, reference(&authority), "{url}");
        }
    }

    #[test]
    fn the_scheme_ends_at_the_first_colon_slash_slash() {
        for url in [
            "https://a/b",
            "urn:x:https://a/b",
            "a:/b://c",
            "::://",
            "x:",
            ":",
            "//a",
            "ms-app://s-1-15/?x=https://a",
            "tel:+1:2",
        ] {
            assert_eq!(scheme_end(url), url.find("://"), "{url}");
        }
    }

    #[test]
    fn body_text_is_borrowed_when_valid_and_replaced_as_std_does_when_not() {
        let valid = Body::Bytes(Cow::Borrowed("a=é&b=€".as_bytes()));
        assert!(matches!(valid.text(), Ok(Cow::Borrowed("a=é&b=€"))));
        for bad in [&b"a=\xff&b"[..], b"\xe2\x82", b"ok\xc3(", b"\xf0\x9f\x98"] {
            let want = String::from_utf8_lossy(bad).into_owned();
            assert_eq!(Body::Bytes(Cow::Borrowed(bad)).text().unwrap(), want);
        }
        // Decoded into an owned buffer (base64 of 0xFF 'x').
        let owned = Body::JsonText {
            literal: Cow::Borrowed(r#""/3g=""#),
            base64: true,
        };
        assert_eq!(owned.text().unwrap(), "\u{FFFD}x");
    }

    #[test]
    fn json_text_body_decodes_lazily() {
        let b = Body::JsonText {
            literal: Cow::Borrowed(r#""a\"b\u0026c""#),
            base64: false,
        };
        assert_eq!(b.text().unwrap(), "a\"b&c");
        let b = Body::JsonText {
            literal: Cow::Borrowed(r#""aGVsbG8=""#),
            base64: true,
        };
        assert_eq!(b.text().unwrap(), "hello");
        let b = Body::JsonText {
            literal: Cow::Borrowed(r#""%%%""#),
            base64: true,
        };
        assert_eq!(b.decode(), Err(BodyError::BadBase64));
    }

    #[test]
    fn headers_case_insensitive() {
        let mut h = Headers::default();
        h.push("Set-Cookie", "a=1");
        h.push("set-cookie", "b=2");
        assert_eq!(h.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(h.get_all("Set-Cookie").count(), 2);
    }
}
