//! The `$Config` object of ESTS sign-in pages and the `ServerData` object of MSA pages.
//!
//! The object is located by its assignment (`$Config=`, `var ServerData = `) and
//! read as one JSON object from there, its members kept raw and decoded only for
//! the few fields a [`PageConfig`] takes (an ESTS `$Config` has hundreds of
//! members). When that fails (MSA pages written as JavaScript object literals) it
//! is cut out by brace matching that respects string literals and escapes, and a
//! small tolerant reader of JavaScript literals takes over. Work is linear in the
//! page size and nothing here panics.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use crate::http::html;
use crate::http::json_object::JsonObject;

/// Which page object was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageObject {
    /// ESTS `$Config={…};`
    #[default]
    EstsConfig,
    /// MSA `var ServerData = {…};` (JSON or JavaScript object literal)
    MsaServerData,
}

/// `serverDetails` of an ESTS page: where and when the page was rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDetails {
    /// Data centre (`dc`, e.g. `WEULR2`).
    pub data_centre: Option<String>,
    /// Slice (`slc`, e.g. `ProdSlices`).
    pub slice: Option<String>,
    /// Build from `ver.v` joined with dots (`2.1.12570.16`).
    pub build: Option<String>,
    /// Server time `rt` as written.
    pub rendered_at: Option<String>,
    /// Elapsed server ms `et`.
    pub elapsed_ms: Option<i64>,
    /// Role instance `ri`.
    pub instance: Option<String>,
}

/// MFA polling parameters announced by a `ConvergedTFA` page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polling {
    pub timeout_ms: Option<i64>,
    pub interval_ms: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// The fields of a sign-in page object that the analysis uses.
///
/// Empty strings on the page (`sErrorCode:""`) are read as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageConfig {
    pub object: PageObject,
    /// `pgid` (or `<meta name="PageID">`), e.g. `ConvergedSignIn`, `ConvergedError`.
    pub page_id: Option<String>,
    /// `hpgid`, the numeric twin of `pgid`.
    pub hpgid: Option<i64>,
    pub correlation_id: Option<String>,
    /// `sessionId` (ESTS) or `sUnauthSessionID` (MSA).
    pub session_id: Option<String>,
    pub server: Option<ServerDetails>,
    /// `sErrorCode` as written (`"50058"`, `"InvalidAccessPass"`).
    pub error_code: Option<String>,
    /// `iErrorCode` (`0`, meaning no error, is read as absent).
    pub numeric_error_code: Option<i64>,
    /// `strServiceExceptionMessage` (`"AADSTS50011: …"`).
    pub service_exception: Option<String>,
    /// `arrValErrs`, as strings.
    pub validation_errors: Vec<String>,
    /// `sErrTxt` (MSA and ESTS), `strMainMessage`, `strAdditionalMessage`.
    pub error_text: Option<String>,
    pub main_message: Option<String>,
    pub additional_message: Option<String>,
    pub polling: Polling,
    /// `authMethodId`s of `arrUserProofs` (MFA methods offered).
    pub user_proofs: Vec<String>,
    /// `sPOST_Username` or `sPrefillUsername` (PII: mask before showing).
    pub username: Option<String>,
    pub url_post: Option<String>,
    pub url_begin_auth: Option<String>,
    pub url_end_auth: Option<String>,
    /// `sFT` flow token (secret: used only to link steps, never shown).
    pub flow_token: Option<String>,
    /// `sCtx` (secret: used only to link steps, never shown).
    pub ctx: Option<String>,
    /// Tenant-ish hints: `sTenantId`/`tenantId` if present.
    pub tenant: Option<String>,
}

/// How many assignments of one marker are tried before giving up (keeps work
/// linear on hostile pages).
const MAX_CANDIDATES: usize = 4;
/// Nesting depth the JavaScript-literal reader descends before skipping values.
const MAX_DEPTH: usize = 64;

/// Finds and reads `$Config` or `ServerData` in an HTML page. `None` when absent
/// or unreadable; never panics.
///
/// A page with neither object but a `<meta name="PageID" content="…">` gives a
/// `PageConfig` holding only `page_id`.
pub fn extract_page_config(html: &str) -> Option<PageConfig> {
    let found = find_object(html, "$Config")
        .map(|obj| (PageObject::EstsConfig, obj))
        .or_else(|| find_object(html, "ServerData").map(|obj| (PageObject::MsaServerData, obj)));
    let mut config = match found {
        Some((kind, Found::Json(obj))) => from_object(kind, &obj),
        Some((kind, Found::Script(obj))) => from_object(kind, &obj),
        None => PageConfig::default(),
    };
    if config.page_id.is_none() {
        config.page_id = meta_page_id(html);
    }
    if found_nothing(&config) {
        return None;
    }
    Some(config)
}

fn found_nothing(c: &PageConfig) -> bool {
    c == &PageConfig::default()
}

/// A page object, read as JSON or as a JavaScript literal.
enum Found<'a> {
    Json(JsonObject<'a>),
    Script(Map<String, Value>),
}

/// Reads the object assigned to `name` (`name = {…}`), trying its first few
/// assignments.
fn find_object<'a>(html: &'a str, name: &str) -> Option<Found<'a>> {
    let bytes = html.as_bytes();
    let mut tried = 0;
    for pos in memchr::memmem::find_iter(bytes, name.as_bytes()) {
        // `ServerData` must be a whole identifier (not `oServerData`).
        if pos > 0 {
            let prev = bytes[pos - 1];
            if prev.is_ascii_alphanumeric() || prev == b'_' || (prev == b'$' && name != "$Config") {
                continue;
            }
        }
        let mut i = pos + name.len();
        i = skip_space(bytes, i);
        if bytes.get(i) != Some(&b'=') || bytes.get(i + 1) == Some(&b'=') {
            continue;
        }
        i = skip_space(bytes, i + 1);
        if bytes.get(i) != Some(&b'{') {
            continue;
        }
        tried += 1;
        // Where a JSON object ends is only known by reading it: one read, which
        // stops at its closing brace, both finds the end and keeps the members.
        if let Some(object) = JsonObject::parse_prefix(&html[i..]) {
            return Some(Found::Json(object));
        }
        if let Some(end) = match_braces(bytes, i) {
            let text = &html[i..end];
            if let Some(map) = parse_object(text) {
                return Some(Found::Script(map));
            }
        }
        if tried >= MAX_CANDIDATES {
            break;
        }
    }
    None
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the `}` that closes the `{` at `start`, respecting `"…"`
/// and `'…'` strings with backslash escapes. `None` when unbalanced.
fn match_braces(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return (b == b'}').then_some(i + 1);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Parses an object as JSON, or else as a JavaScript object literal.
fn parse_object(text: &str) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        return Some(map);
    }
    let mut reader = JsReader {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    reader.skip_trivia();
    if reader.peek() != Some(b'{') {
        return None;
    }
    match reader.value(0) {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A tolerant reader of JavaScript literals (objects, arrays, strings in either
/// quote, numbers, `true`/`false`/`null`/`undefined`, `!0`/`!1`, trailing commas,
/// unquoted keys). Anything else (function calls, expressions) is skipped and read
/// as `null`.
struct JsReader<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl<'a> JsReader<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace and `//` / `/* */` comments.
    fn skip_trivia(&mut self) {
        loop {
            while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
                self.i += 1;
            }
            if self.s[self.i.min(self.s.len())..].starts_with(b"//") {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.i += 1;
                }
            } else if self.s[self.i.min(self.s.len())..].starts_with(b"/*") {
                match memchr::memmem::find(&self.s[self.i + 2..], b"*/") {
                    Some(n) => self.i += n + 4,
                    None => self.i = self.s.len(),
                }
            } else {
                return;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Value {
        self.skip_trivia();
        let Some(b) = self.peek() else {
            return Value::Null;
        };
        if depth >= MAX_DEPTH && matches!(b, b'{' | b'[') {
            self.skip_expression();
            return Value::Null;
        }
        match b {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' | b'\'' | b'`' => Value::String(self.string()),
            b'!' => {
                let v = match self.s.get(self.i + 1) {
                    Some(b'0') => Some(true),
                    Some(b'1') => Some(false),
                    _ => None,
                };
                match v {
                    Some(v) => {
                        self.i += 2;
                        Value::Bool(v)
                    }
                    None => {
                        self.skip_expression();
                        Value::Null
                    }
                }
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => self.number(),
            _ if is_ident(b) => {
                let word = self.ident();
                self.skip_trivia();
                let terminated = matches!(self.peek(), None | Some(b',' | b'}' | b']'));
                match (word, terminated) {
                    ("true", true) => Value::Bool(true),
                    ("false", true) => Value::Bool(false),
                    (_, true) => Value::Null,
                    _ => {
                        self.skip_expression();
                        Value::Null
                    }
                }
            }
            _ => {
                self.skip_expression();
                Value::Null
            }
        }
    }

    fn object(&mut self, depth: usize) -> Value {
        let mut map = Map::new();
        self.i += 1; // `{`
        loop {
            self.skip_trivia();
            let before = self.i;
            match self.peek() {
                None => break,
                Some(b'}' | b']') => {
                    self.i += 1;
                    break;
                }
                Some(b',') => self.i += 1,
                Some(b) => self.member(b, &mut map, depth),
            }
            if self.i == before {
                // Always make progress, whatever the input.
                self.i += 1;
            }
        }
        Value::Object(map)
    }

    /// One `key: value` of an object; the key starts with `b` at `self.i`.
    fn member(&mut self, b: u8, map: &mut Map<String, Value>, depth: usize) {
        let key = match b {
            b'"' | b'\'' | b'`' => self.string(),
            _ if is_ident(b) || b.is_ascii_digit() => self.ident().to_string(),
            _ => {
                // Unreadable member: skip it.
                self.skip_expression();
                return;
            }
        };
        self.skip_trivia();
        if self.peek() != Some(b':') {
            self.skip_expression();
            return;
        }
        self.i += 1;
        let value = self.value(depth + 1);
        map.insert(key, value);
        self.skip_trivia();
        if !matches!(self.peek(), None | Some(b',' | b'}')) {
            self.skip_expression();
        }
    }

    fn array(&mut self, depth: usize) -> Value {
        let mut items = Vec::new();
        self.i += 1; // `[`
        loop {
            self.skip_trivia();
            let before = self.i;
            match self.peek() {
                None => break,
                Some(b']' | b'}') => {
                    self.i += 1;
                    break;
                }
                Some(b',') => self.i += 1,
                Some(_) => {
                    items.push(self.value(depth + 1));
                    self.skip_trivia();
                    if !matches!(self.peek(), None | Some(b',' | b']')) {
                        self.skip_expression();
                    }
                }
            }
            if self.i == before {
                self.i += 1;
            }
        }
        Value::Array(items)
    }

    /// An identifier-ish word (also used for unquoted keys such as `123`).
    fn ident(&mut self) -> &'a str {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| is_ident(b) || b.is_ascii_digit())
        {
            self.i += 1;
        }
        // Identifier bytes are ASCII (or whole UTF-8 sequences, see is_ident).
        self.text.get(start..self.i).unwrap_or("")
    }

    fn number(&mut self) -> Value {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        {
            self.i += 1;
        }
        let raw = self.text.get(start..self.i).unwrap_or("");
        let raw = raw.strip_prefix('+').unwrap_or(raw);
        if let Ok(i) = raw.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Value::Number(i.into());
            }
        }
        raw.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }

    /// A quoted string with JavaScript escapes; the opening quote is at `self.i`.
    fn string(&mut self) -> String {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        let mut run_start = self.i;
        while let Some(b) = self.peek() {
            if b == quote {
                out.push_str(self.text.get(run_start..self.i).unwrap_or(""));
                self.i += 1;
                return out;
            }
            if b != b'\\' {
                self.i += 1;
                continue;
            }
            out.push_str(self.text.get(run_start..self.i).unwrap_or(""));
            self.i += 1;
            let Some(e) = self.peek() else { break };
            self.i += 1;
            match e {
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'v' => out.push('\u{b}'),
                b'0' => out.push('\0'),
                b'\r' | b'\n' => {
                    // Line continuation.
                    if e == b'\r' && self.peek() == Some(b'\n') {
                        self.i += 1;
                    }
                }
                b'x' => match self.hex(2) {
                    Some(c) => out.push(char::from_u32(c).unwrap_or('\u{fffd}')),
                    None => out.push('x'),
                },
                b'u' => out.push(self.unicode_escape()),
                _ => {
                    // `\'`, `\"`, `\\`, `\/` and any other char: the char itself.
                    // Step back to copy it (may be multi-byte) with the next run.
                    self.i -= 1;
                    run_start = self.i;
                    self.i += 1;
                    while self.i < self.s.len() && !self.text.is_char_boundary(self.i) {
                        self.i += 1;
                    }
                    continue;
                }
            }
            run_start = self.i;
        }
        // Unterminated: keep what was read.
        out.push_str(self.text.get(run_start..self.i).unwrap_or(""));
        out
    }

    /// `n` hex digits at `self.i`, consumed only when all are present.
    fn hex(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        let s = std::str::from_utf8(digits).ok()?;
        let v = u32::from_str_radix(s, 16).ok()?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += n;
        Some(v)
    }

    /// After `\u`: `XXXX` (joining surrogate pairs) or `{X…}`.
    fn unicode_escape(&mut self) -> char {
        if self.peek() == Some(b'{') {
            let close = self.s[self.i..].iter().take(10).position(|&b| b == b'}');
            if let Some(n) = close {
                let hex = std::str::from_utf8(&self.s[self.i + 1..self.i + n]).unwrap_or("");
                self.i += n + 1;
                return u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
            }
            return 'u';
        }
        let Some(hi) = self.hex(4) else {
            return 'u';
        };
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            if let Some(lo) = self.hex(4).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{fffd}');
            }
            self.i = save;
        }
        char::from_u32(hi).unwrap_or('\u{fffd}')
    }

    /// Skips an unreadable expression up to the next `,`, `}` or `]` at its own
    /// nesting level, respecting strings and brackets.
    fn skip_expression(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' | b'\'' | b'`' => {
                    self.string();
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                // A stray `)` is skipped; `]`/`}` end the enclosing container.
                b')' if depth == 0 => {}
                b')' | b']' | b'}' => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                }
                b',' if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

/// `<meta name="PageID" content="…">` (attribute order and quotes may vary).
fn meta_page_id(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    for pos in memchr::memmem::find_iter(bytes, b"PageID").take(MAX_CANDIDATES * 4) {
        let window = pos.saturating_sub(200);
        let Some(tag_start) = memchr::memrchr(b'<', &bytes[window..pos]).map(|i| window + i) else {
            continue;
        };
        let Some(tag_end) =
            memchr::memchr(b'>', &bytes[pos..bytes.len().min(pos + 400)]).map(|i| pos + i)
        else {
            continue;
        };
        let tag = &html[tag_start..tag_end];
        if !tag
            .get(..5)
            .is_some_and(|t| t.eq_ignore_ascii_case("<meta"))
        {
            continue;
        }
        let content = html::start_tags(tag, "meta")
            .next()
            .and_then(|t| t.value("content"));
        if let Some(v) = content {
            let v = v.trim();
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    None
}

// ---- filling PageConfig -------------------------------------------------------

/// A page object's members, whichever way it was read.
trait Members {
    fn member(&self, key: &str) -> Option<Cow<'_, Value>>;
    /// A member that is a string (most are).
    fn string(&self, key: &str) -> Option<Cow<'_, str>>;
}

impl Members for Map<String, Value> {
    fn member(&self, key: &str) -> Option<Cow<'_, Value>> {
        self.get(key).map(Cow::Borrowed)
    }

    fn string(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key)?.as_str().map(Cow::Borrowed)
    }
}

impl Members for JsonObject<'_> {
    fn member(&self, key: &str) -> Option<Cow<'_, Value>> {
        self.get(key).map(Cow::Owned)
    }

    fn string(&self, key: &str) -> Option<Cow<'_, str>> {
        self.str(key)
    }
}

fn text(map: &impl Members, key: &str) -> Option<String> {
    map.string(key)
        .filter(|s| !s.trim().is_empty())
        .map(Cow::into_owned)
}

/// A string or a number, as written.
fn code_text(map: &impl Members, key: &str) -> Option<String> {
    match &*map.member(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn int_field(map: &impl Members, key: &str) -> Option<i64> {
    int(&*map.member(key)?)
}

fn server_details(v: &Value) -> Option<ServerDetails> {
    let m = v.as_object()?;
    let build = match m.get("ver") {
        Some(Value::Object(ver)) => match ver.get("v") {
            Some(Value::Array(parts)) => {
                let parts: Vec<String> = parts
                    .iter()
                    .filter_map(|p| match p {
                        Value::Number(n) => Some(n.to_string()),
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join("."))
            }
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        },
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let details = ServerDetails {
        data_centre: text(m, "dc"),
        slice: text(m, "slc"),
        build,
        rendered_at: code_text(m, "rt"),
        elapsed_ms: int_field(m, "et"),
        instance: text(m, "ri"),
    };
    (details != ServerDetails::default()).then_some(details)
}

/// The `value="…"` of an `<input>` tag (MSA `sFTTag`).
fn input_value(tag: &str) -> Option<String> {
    html::start_tags(tag, "input")
        .next()
        .and_then(|t| t.value("value"))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn from_object(kind: PageObject, m: &impl Members) -> PageConfig {
    let validation_errors = match m.member("arrValErrs").as_deref() {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let user_proofs = match m.member("arrUserProofs").as_deref() {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|p| text(p.as_object()?, "authMethodId"))
            .collect(),
        _ => Vec::new(),
    };
    let flow_token = text(m, "sFT").or_else(|| text(m, "sFTTag").and_then(|t| input_value(&t)));
    PageConfig {
        object: kind,
        page_id: text(m, "pgid"),
        hpgid: int_field(m, "hpgid"),
        correlation_id: text(m, "correlationId"),
        session_id: text(m, "sessionId").or_else(|| text(m, "sUnauthSessionID")),
        server: m
            .member("serverDetails")
            .as_deref()
            .and_then(server_details),
        error_code: code_text(m, "sErrorCode"),
        numeric_error_code: int_field(m, "iErrorCode").filter(|&c| c != 0),
        service_exception: text(m, "strServiceExceptionMessage"),
        validation_errors,
        error_text: text(m, "sErrTxt"),
        main_message: text(m, "strMainMessage"),
        additional_message: text(m, "strAdditionalMessage"),
        polling: Polling {
            timeout_ms: int_field(m, "iPollingTimeout"),
            interval_ms: int_field(m, "iPollingInterval"),
            max_attempts: int_field(m, "iMaxPollAttempts"),
        },
        user_proofs,
        username: text(m, "sPOST_Username").or_else(|| text(m, "sPrefillUsername")),
        url_post: text(m, "urlPost").or_else(|| text(m, "urlPostAad")),
        url_begin_auth: text(m, "urlBeginAuth"),
        url_end_auth: text(m, "urlEndAuth"),
        flow_token,
        ctx: text(m, "sCtx"),
        tenant: text(m, "sTenantId").or_else(|| text(m, "tenantId")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGN_IN_MULTILINE: &str = r#"<!DOCTYPE html>
<html dir="ltr" class="" lang="en">
<head>
    <title>Sign in to your account</title>
    <meta name="PageID" content="ConvergedSignIn" />
    <meta name="SiteID" content="" />
    <script type="text/javascript">//<![CDATA[
$Config={"fShowPersistentCookiesWarning":false,
"urlMsaSignUp":"https://login.live.com/oauth20_authorize.srf?scope=openid+profile\u0026response_type=code",
"urlGetCredentialType":"https://login.microsoftonline.com/common/GetCredentialType?mkt=en-US",
"urlPost":"/common/login",
"sFT":"AQABAAEAAAD--DLA3VO7QrddgJg7WevrFLOW",
"sFTName":"flowToken",
"sCtx":"rQQIARAAjZG9CTX",
"sErrorCode":"50058",
"arrValErrs":["50058"],
"sPOST_Username":"",
"sPrefillUsername":"alice@contoso.com",
"desktopSsoConfig":{"iwaEndpointUrlFormat":"https://autologon.microsoftazuread-sso.com/{0}/winauth/sso?client-request-id=x","redirectUri":"https://app/?error=interaction_required\u0026error_description=Seamless+single+sign+on+failed%0d%0aTrace+ID%3a+x"},
"serverDetails":{"slc":"ProdSlices","dc":"WEULR2","ri":"AM1XXXX","ver":{"v":[2,1,12570,16]},"rt":"2022-05-20T15:14:03","et":161},
"country":"US",
"correlationId":"c1245034-aaaa-bbbb-cccc-000000000000",
"sessionId":"21036f6c-aaaa-bbbb-cccc-000000000000",
"pgid":"ConvergedSignIn","hpgid":1104,"scid":1013,"hpgact":1800,
"oStrings":{"note":"a } brace and a \"quote\" inside { strings"}
};
//]]></script>
<script>var x = {"not":"config"};</script>
</head><body></body></html>"#;

    #[test]
    fn sign_in_page_over_lines() {
        let c = extract_page_config(SIGN_IN_MULTILINE).unwrap();
        assert_eq!(c.object, PageObject::EstsConfig);
        assert_eq!(c.page_id.as_deref(), Some("ConvergedSignIn"));
        assert_eq!(c.hpgid, Some(1104));
        assert_eq!(
            c.correlation_id.as_deref(),
            Some("c1245034-aaaa-bbbb-cccc-000000000000")
        );
        assert_eq!(
            c.session_id.as_deref(),
            Some("21036f6c-aaaa-bbbb-cccc-000000000000")
        );
        let s = c.server.unwrap();
        assert_eq!(s.data_centre.as_deref(), Some("WEULR2"));
        assert_eq!(s.slice.as_deref(), Some("ProdSlices"));
        assert_eq!(s.build.as_deref(), Some("2.1.12570.16"));
        assert_eq!(s.rendered_at.as_deref(), Some("2022-05-20T15:14:03"));
        assert_eq!(s.elapsed_ms, Some(161));
        assert_eq!(s.instance.as_deref(), Some("AM1XXXX"));
        assert_eq!(c.error_code.as_deref(), Some("50058"));
        assert_eq!(c.validation_errors, vec!["50058".to_string()]);
        assert_eq!(c.username.as_deref(), Some("alice@contoso.com"));
        assert_eq!(c.url_post.as_deref(), Some("/common/login"));
        assert_eq!(
            c.flow_token.as_deref(),
            Some("AQABAAEAAAD--DLA3VO7QrddgJg7WevrFLOW")
        );
        assert_eq!(c.ctx.as_deref(), Some("rQQIARAAjZG9CTX"));
        assert!(c.service_exception.is_none());
        assert!(c.user_proofs.is_empty());
    }

    #[test]
    fn minified_with_extra_javascript() {
        let html = r#"<html><head><meta name="PageID" content="KmsiInterrupt"/><script>//<![CDATA[
$Config = {"urlPost":"/kmsi","sFT":"AQAB","sCtx":"rQ","pgid":"KmsiInterrupt","hpgid":1115,"sErrorCode":50058,"iErrorCode":0,"sTenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","serverDetails":{"ver":{"v":[2,1,14167,14]}}};$Config.ready=function(){if(a){b({c:1})}};var y='{';
//]]></script></head></html>"#;
        let c = extract_page_config(html).unwrap();
        assert_eq!(c.page_id.as_deref(), Some("KmsiInterrupt"));
        assert_eq!(c.hpgid, Some(1115));
        assert_eq!(c.url_post.as_deref(), Some("/kmsi"));
        assert_eq!(c.error_code.as_deref(), Some("50058"));
        assert_eq!(c.numeric_error_code, None);
        assert_eq!(
            c.tenant.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(c.server.unwrap().build.as_deref(), Some("2.1.14167.14"));
    }

    #[test]
    fn error_page_on_http_200() {
        let html = r#"<html><head><script type="text/javascript">//<![CDATA[
$Config={"iErrorCode":500121,"sErrorCode":"500121","strServiceExceptionMessage":"AADSTS500121: Authentication failed during strong authentication request.","strMainMessage":"Sorry, but we're having trouble signing you in.","strAdditionalMessage":"","sErrTxt":"","urlPost":"https://login.microsoftonline.com/common/reprocess?ctx=rQ\u0026sessionid=1","pgid":"ConvergedError","hpgid":1200,"correlationId":"7c77db90-0000-0000-0000-000000000000","sessionId":"533bf45e-0000-0000-0000-000000000000"};
//]]></script></head></html>"#;
        let c = extract_page_config(html).unwrap();
        assert_eq!(c.page_id.as_deref(), Some("ConvergedError"));
        assert_eq!(c.numeric_error_code, Some(500121));
        assert_eq!(c.error_code.as_deref(), Some("500121"));
        assert!(c
            .service_exception
            .as_deref()
            .unwrap()
            .starts_with("AADSTS500121: "));
        assert_eq!(
            c.main_message.as_deref(),
            Some("Sorry, but we're having trouble signing you in.")
        );
        assert_eq!(c.additional_message, None);
        assert_eq!(c.error_text, None);
        assert_eq!(
            c.url_post.as_deref(),
            Some("https://login.microsoftonline.com/common/reprocess?ctx=rQ&sessionid=1")
        );
    }

    #[test]
    fn tfa_page_with_polling_and_proofs() {
        let html = r#"<script type="text/javascript">//<![CDATA[
$Config={"arrUserProofs":[{"authMethodId":"PhoneAppNotification","data":"PhoneAppNotification","display":"+XX XXXXXXXX89","isDefault":true,"isLocationAware":false},{"authMethodId":"OneWaySMS","data":"OneWaySMS","display":"+XX XXX XXXX X89","isDefault":false}],
"oPerAuthPollingInterval":{"PhoneAppNotification":1.0},"iPollingInterval":5000,"iMaxPollAttempts":10,"iPollingTimeout":120000,"iPollingBackoffInterval":1.04,
"urlBeginAuth":"https://login.microsoftonline.com/common/SAS/BeginAuth","urlEndAuth":"https://login.microsoftonline.com/common/SAS/EndAuth","urlPost":"/common/SAS/ProcessAuth",
"pgid":"ConvergedTFA","hpgid":1114,"sPOST_Username":"alice@contoso.com"};
//]]></script>"#;
        let c = extract_page_config(html).unwrap();
        assert_eq!(c.page_id.as_deref(), Some("ConvergedTFA"));
        assert_eq!(
            c.polling,
            Polling {
                timeout_ms: Some(120000),
                interval_ms: Some(5000),
                max_attempts: Some(10)
            }
        );
        assert_eq!(c.user_proofs, vec!["PhoneAppNotification", "OneWaySMS"]);
        assert_eq!(
            c.url_begin_auth.as_deref(),
            Some("https://login.microsoftonline.com/common/SAS/BeginAuth")
        );
        assert_eq!(
            c.url_end_auth.as_deref(),
            Some("https://login.microsoftonline.com/common/SAS/EndAuth")
        );
        assert_eq!(c.username.as_deref(), Some("alice@contoso.com"));
    }

    #[test]
    fn msa_js_literal_server_data() {
        let html = r#"<html><head><script type="text/javascript">var ServerData = {urlPost:'https://login.live.com/ppsecure/post.srf?wa=wsignin1.0&id=1',sFTTag:'<input type="hidden" name="PPFT" id="i0327" value="DfPmsaFlowToken!aa*bb$"/>',sErrTxt:'Your account or password is incorrect. If you don\'t remember your password, reset it now.',sUnauthSessionID:'9b1d4f5c0e8a4b4e',iErrorCode:-2147186670,fIsFedFlow:!1,fShowSignup:!0,sRandomBlob:"blob",a:[1,2,],nested:{k:'v',},fn:function(){return {x:1};},call:Foo.bar(1,'}'),
// a comment
n:1.5,hex:0x1F,u:undefined,esc:'\u00e9\x41\/',};
var y = 1;</script></head></html>"#;
        let c = extract_page_config(html).unwrap();
        assert_eq!(c.object, PageObject::MsaServerData);
        assert_eq!(
            c.url_post.as_deref(),
            Some("https://login.live.com/ppsecure/post.srf?wa=wsignin1.0&id=1")
        );
        assert_eq!(c.flow_token.as_deref(), Some("DfPmsaFlowToken!aa*bb$"));
        assert_eq!(
            c.error_text.as_deref(),
            Some("Your account or password is incorrect. If you don't remember your password, reset it now.")
        );
        assert_eq!(c.session_id.as_deref(), Some("9b1d4f5c0e8a4b4e"));
        assert_eq!(c.numeric_error_code, Some(-2147186670));

        // The reader itself, on the same literal.
        let start = html.find('{').unwrap();
        let end = match_braces(html.as_bytes(), start).unwrap();
        let m = parse_object(&html[start..end]).unwrap();
        assert_eq!(m["fIsFedFlow"], Value::Bool(false));
        assert_eq!(m["fShowSignup"], Value::Bool(true));
        assert_eq!(m["a"], serde_json::json!([1, 2]));
        assert_eq!(m["nested"], serde_json::json!({"k":"v"}));
        assert_eq!(m["fn"], Value::Null);
        assert_eq!(m["call"], Value::Null);
        assert_eq!(m["n"], serde_json::json!(1.5));
        assert_eq!(m["hex"], serde_json::json!(31));
        assert_eq!(m["u"], Value::Null);
        assert_eq!(m["esc"], serde_json::json!("éA/"));
    }

    #[test]
    fn msa_json_server_data() {
        let html = r#"<script>var ServerData = {"urlPost":"https://login.live.com/ppsecure/post.srf?contextid=AB\u0026opid=CD","sFTTag":"<input type=\"hidden\" name=\"PPFT\" id=\"i0327\" value=\"-DgAbCd*!xyz\"/>","urlGetCredentialType":"https://login.live.com/GetCredentialType.srf?opid=CD\u0026uaid=EF","sUnauthSessionID":"c0ffee","sErrTxt":"That Microsoft account doesn\u0027t exist.","iErrorCode":"1"};</script>"#;
        let c = extract_page_config(html).unwrap();
        assert_eq!(c.object, PageObject::MsaServerData);
        assert_eq!(c.flow_token.as_deref(), Some("-DgAbCd*!xyz"));
        assert_eq!(c.session_id.as_deref(), Some("c0ffee"));
        assert_eq!(
            c.url_post.as_deref(),
            Some("https://login.live.com/ppsecure/post.srf?contextid=AB&opid=CD")
        );
        assert_eq!(
            c.error_text.as_deref(),
            Some("That Microsoft account doesn't exist.")
        );
        assert_eq!(c.numeric_error_code, Some(1));
    }

    #[test]
    fn meta_only_and_absent() {
        let c = extract_page_config(
            r#"<html><head><META content='ConvergedChangePassword' name="PageID"></head></html>"#,
        )
        .unwrap();
        assert_eq!(c.page_id.as_deref(), Some("ConvergedChangePassword"));
        assert!(extract_page_config("").is_none());
        assert!(extract_page_config("<html>no config</html>").is_none());
        assert!(extract_page_config("$Config={").is_none());
        assert!(extract_page_config("$Config={\"a\":\"}").is_none());
        assert!(extract_page_config("$Config==1; oServerData={\"pgid\":\"x\"}").is_none());
        assert!(extract_page_config("PageID <meta").is_none());
        assert!(extract_page_config("$Config={}").is_none());
    }

    #[test]
    fn tolerates_hostile_inputs() {
        // Deep nesting, unbalanced braces, many markers, broken escapes, unicode.
        let deep = format!("$Config={}", "{\"a\":".repeat(100_000));
        assert!(extract_page_config(&deep).is_none());
        let deep_js = format!("ServerData={{{}", "a:[".repeat(100_000));
        assert!(extract_page_config(&deep_js).is_none());
        let closed = format!("ServerData={}{}", "{a:".repeat(5000), "}".repeat(5000));
        let _ = extract_page_config(&closed);
        let many = "$Config={".repeat(200_000);
        assert!(extract_page_config(&many).is_none());
        for s in [
            "ServerData={a:'\\",
            "ServerData={a:'\\u{110000}',b:'\\uD800\\u'}",
            "ServerData={a:\"é\\é\",}",
            "ServerData={é:1,'x':!2,y:-,z:/*",
            "ServerData={a:1 2 3,b:'x'}",
            "<meta name=PageID content=x",
            "<meta name=\"PageID\" content=\"",
            "ServerData={\u{1F600}}",
        ] {
            let _ = extract_page_config(s);
        }
        let c = extract_page_config("ServerData={a:1 2 3,sErrTxt:'x'}").unwrap();
        assert_eq!(c.error_text.as_deref(), Some("x"));
    }
}
