//! A JSON object (RFC 8259 §4) read for a few of its members: the members'
//! names borrowed from the text and their values kept as raw JSON, decoded only
//! when asked for. Identity replies (SAS, token, GetCredentialType, OAuth errors)
//! are read this way: building a `serde_json::Value` tree of every member, with
//! an owned string and a hashed map entry each, cost more than the rest of
//! reading such a reply (issue #15).
//!
//! Lookups follow `serde_json::Map` (with `preserve_order`), so a reader sees
//! what it saw when the body was a `Value`: a repeated name keeps its first place
//! and its last value. Values are only checked for their structure when the
//! object is read, so one member that cannot be decoded (a lone surrogate in a
//! string) is absent on its own instead of taking the whole object with it.
//!
//! The object is read by [`json_scan::Scanner`]: serde_json spent about 380
//! instructions per member skipping the values of identity replies on an
//! identity-dense HAR (issue #15). The scanner is stricter than serde_json in
//! a few corners (numbers beyond the f64 range, nesting deeper than 128 inside
//! a value, which serde_json skips without a limit); what it refuses is read
//! again by serde_json, so the object is always the one serde_json reads. It
//! is never laxer: escapes in values are checked for their form, as
//! serde_json checks them, and the `json_object` fuzz target compares the two
//! readers.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::json_scan::{self, Scanner};
use super::json_string;
use crate::hashing::HashMap;

/// One member's value as its JSON text, decoded only when asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The value's JSON text.
    pub fn get(&self) -> &'a str {
        self.0
    }
}

/// Members up to which [`JsonObject::iter`] finds repeated names by a scan.
const SCAN_UP_TO: usize = 32;

/// The members of one JSON object, as written (a repeated name more than once).
/// Lookups scan: an object is read for a handful of names, and even an ESTS
/// `$Config` has a few hundred members, which costs less to scan a few dozen
/// times than to index.
#[derive(Debug, Default)]
pub struct JsonObject<'a> {
    members: Vec<(Cow<'a, str>, Raw<'a>)>,
}

impl<'a> JsonObject<'a> {
    /// Reads `text` as one JSON object, tolerating a UTF-8 BOM and surrounding
    /// space; `None` when it is anything else or not JSON.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim_start_matches('\u{feff}').trim();
        if !text.starts_with('{') {
            return None;
        }
        Self::scanned(text, true).or_else(|| Self::with_serde(text, true))
    }

    /// The object that `text` starts with, whatever follows it (a page's
    /// `$Config = {…};` and the script after it).
    pub fn parse_prefix(text: &'a str) -> Option<Self> {
        Self::scanned(text, false).or_else(|| Self::with_serde(text, false))
    }

    /// The object at the start of `text` (which must be all of it when
    /// `whole`) read by the scanner; `None` for what it refuses. Public for
    /// the `json_object` fuzz target only.
    #[doc(hidden)]
    pub fn scanned(text: &'a str, whole: bool) -> Option<Self> {
        let mut s = Scanner::new(text.as_bytes());
        // Identity replies (SAS, token, error bodies) have ten to twenty
        // members: room for them at once, not four reallocations (issue #15).
        let mut members = Vec::with_capacity(16);
        s.object(|s, name| {
            let value = s.raw()?;
            if !escapes_well_formed(value) {
                return Err(json_scan::Bail);
            }
            members.push((name, Raw(value)));
            Ok(())
        })
        .ok()?;
        (!whole || s.at_end()).then_some(JsonObject { members })
    }

    /// [`Self::scanned`], read by serde_json. Public for the `json_object`
    /// fuzz target only.
    #[doc(hidden)]
    pub fn with_serde(text: &'a str, whole: bool) -> Option<Self> {
        let mut json = serde_json::Deserializer::from_str(text);
        let object = SerdeObject::deserialize(&mut json).ok()?.0;
        (!whole || json.end().is_ok()).then_some(object)
    }

    /// The members as read, in order (for comparing the two readers).
    #[doc(hidden)]
    pub fn members(&self) -> &[(Cow<'a, str>, Raw<'a>)] {
        &self.members
    }

    /// Reads a member's raw value as an object.
    pub fn parse_raw(raw: Raw<'a>) -> Option<Self> {
        Self::parse(raw.get())
    }

    /// The raw value of member `name` (its last value when repeated).
    pub fn raw(&self, name: &str) -> Option<Raw<'a>> {
        self.members
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The raw value of member `name`, or else of the first member whose name
    /// equals it in any ASCII case.
    pub fn raw_ci(&self, name: &str) -> Option<Raw<'a>> {
        self.raw(name).or_else(|| {
            let (first, _) = self
                .members
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
            self.raw(first)
        })
    }

    /// Member `name`, decoded.
    pub fn get(&self, name: &str) -> Option<Value> {
        decode(self.raw(name)?)
    }

    /// Member `name` in any ASCII case ([`Self::raw_ci`]), decoded.
    pub fn get_ci(&self, name: &str) -> Option<Value> {
        decode(self.raw_ci(name)?)
    }

    /// Member `name` when it is a string.
    pub fn str(&self, name: &str) -> Option<Cow<'a, str>> {
        string(self.raw(name)?)
    }

    /// Member `name` in any ASCII case when it is a string.
    pub fn str_ci(&self, name: &str) -> Option<Cow<'a, str>> {
        string(self.raw_ci(name)?)
    }

    /// Every member name once, in the order of first use, with its last value
    /// (as a `serde_json::Map` holds them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Raw<'a>)> + '_ {
        let mut unique: Vec<(&str, Raw<'a>)> = Vec::with_capacity(self.members.len());
        // A hostile body can have thousands of names: past a few, repeats are
        // found through a set, not a scan.
        let mut places: HashMap<&str, usize> = HashMap::default();
        for (name, value) in &self.members {
            let name = name.as_ref();
            let place = if self.members.len() <= SCAN_UP_TO {
                unique.iter().position(|(n, _)| *n == name)
            } else {
                places.get(name).copied()
            };
            match place {
                Some(at) => unique[at].1 = *value,
                None => {
                    if self.members.len() > SCAN_UP_TO {
                        places.insert(name, unique.len());
                    }
                    unique.push((name, *value));
                }
            }
        }
        unique.into_iter()
    }
}

/// A raw value decoded into a `serde_json::Value`.
pub fn decode(raw: Raw<'_>) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// A raw value's text when it is a string (borrowed when it has no escape).
pub fn string(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    json_string::decode_literal(raw.get())
}

/// True when a raw value is JSON `null`.
pub fn is_null(raw: Raw<'_>) -> bool {
    raw.get() == "null"
}

/// True when every escape in `json` (the text of a value the scanner has
/// checked, so every backslash is in a string) has the form RFC 8259 §7 gives
/// it: one of `"\/bfnrt`, or `u` and four hex digits. serde_json refuses any
/// other even in a value it only skips; which code points the `\u` escapes
/// name is left to decoding, as there.
fn escapes_well_formed(json: &str) -> bool {
    let b = json.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'\\', &b[from..]) {
        let at = from + found;
        from = match b.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 2,
            Some(b'u')
                if b.get(at + 2..at + 6)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                at + 6
            }
            _ => return false,
        };
    }
    true
}

/// The object as serde_json reads it (with raw values), for what the scanner
/// refuses.
struct SerdeObject<'a>(JsonObject<'a>);

impl<'de> Deserialize<'de> for SerdeObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor).map(SerdeObject)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = JsonObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Name(name)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((name, Raw(value.get())));
        }
        Ok(JsonObject { members })
    }
}

/// A member name, borrowed from the text when it has no escape.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Owned(v.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn as_map(text: &str) -> Option<Map<String, Value>> {
        match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}').trim()).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Every lookup agrees with a `serde_json::Map` of the same text.
    fn agrees(text: &str) {
        let map = as_map(text).unwrap();
        let object = JsonObject::parse(text).unwrap();
        let names: Vec<&str> = object.iter().map(|(n, _)| n).collect();
        let map_names: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(names, map_names, "{text}");
        for (name, value) in &map {
            assert_eq!(object.get(name).as_ref(), Some(value), "{text}: {name}");
            assert_eq!(
                object.str(name).as_deref(),
                value.as_str(),
                "{text}: {name}"
            );
            let upper = name.to_ascii_uppercase();
            let by_case = map.get(&upper).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&upper))
                    .map(|(_, v)| v)
            });
            assert_eq!(object.get_ci(&upper).as_ref(), by_case, "{text}: {upper}");
        }
        assert_eq!(object.get("absent"), None);
    }

    #[test]
    fn lookups_agree_with_serde_maps() {
        agrees(r#"{"Success":true,"ResultValue":"Success","ErrCode":0,"Entropy":88.5}"#);
        agrees(r#"{"a":1,"b":{"c":[1,2]},"a":"again","A":null,"d\u0041":"é\n"}"#);
        agrees("\u{feff} {\"x\" : \"\\u00e9\\\"q\" , \"y\": -1.5e3 } ");
        let many: Vec<String> = (0..100).map(|i| format!("\"k{}\":{i}", i % 70)).collect();
        agrees(&format!("{{{}}}", many.join(",")));
    }

    /// What the scanner reads is what serde_json reads; what it refuses
    /// (numbers beyond f64, nesting deeper than 128 in a value) serde_json
    /// reads for it; escapes serde_json refuses even in skipped values are
    /// refused by both.
    #[test]
    fn the_scanner_reads_what_serde_reads() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let cases: Vec<(String, bool, bool)> = [
            // (text, the scanner reads it, serde_json reads it)
            (r#"{"a":1,"b":"x","c":[1,{"d":null}],"e":true}"#, true, true),
            (r#"{"a":"\u00e9\"\/\b\f\n\r\t"}"#, true, true),
            (r#"{"a":"\ud800"}"#, true, true),
            (r#"{"a\u0041":1,"a":2,"a":3}"#, true, true),
            (" {\n\"a\" : -0.5e-3 } ", true, true),
            ("{}", true, true),
            (r#"{"a":1e400}"#, false, true),
            (&deep, false, true),
            (r#"{"a":"\x"}"#, false, false),
            (r#"{"a":["\u12g4"]}"#, false, false),
            (r#"{"a":"\u12"}"#, false, false),
            (r#"{"\ud800":1}"#, false, false),
            (r#"{"a":01}"#, false, false),
            (r#"{"a":1.}"#, false, false),
            (r#"{"a":[1,]}"#, false, false),
            (r#"{"a":1,}"#, false, false),
            (r#"{"a":tru}"#, false, false),
            (r#"{"a":1} x"#, false, false),
            ("{\"a\":\"\u{1}\"}", false, false),
        ]
        .into_iter()
        .map(|(t, s, j)| (t.to_string(), s, j))
        .collect();
        for (text, scans, serde_reads) in &cases {
            let scanned = JsonObject::scanned(text, true);
            let read = JsonObject::with_serde(text, true);
            assert_eq!(scanned.is_some(), *scans, "{text}");
            assert_eq!(read.is_some(), *serde_reads, "{text}");
            if let Some(scanned) = &scanned {
                assert_eq!(
                    scanned.members(),
                    read.as_ref().unwrap().members(),
                    "{text}"
                );
            }
            let parsed = JsonObject::parse(text).map(|o| o.members().to_vec());
            assert_eq!(parsed, read.map(|o| o.members().to_vec()), "{text}");
        }
        // A page's object is read up to its closing brace, whatever follows.
        let page = r#"{"sErrorCode":"50126","arr":[1,2]};var x = {"#;
        let prefix = JsonObject::parse_prefix(page).unwrap();
        assert_eq!(prefix.str("sErrorCode").as_deref(), Some("50126"));
        assert_eq!(
            JsonObject::scanned(page, false).map(|o| o.members().to_vec()),
            JsonObject::with_serde(page, false).map(|o| o.members().to_vec())
        );
    }

    #[test]
    fn not_objects_are_refused() {
        for text in ["", "[1]", "\"s\"", "{", "{\"a\":1} x", "{\"a\":}", "{1:2}"] {
            assert!(JsonObject::parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn names_without_escapes_are_borrowed() {
        let object = JsonObject::parse(r#"{"plain":1,"esc\u0061ped":2}"#).unwrap();
        let borrowed: Vec<bool> = object
            .members
            .iter()
            .map(|(n, _)| matches!(n, Cow::Borrowed(_)))
            .collect();
        assert_eq!(borrowed, [true, false]);
        assert_eq!(object.raw("escaped").map(|r| r.get()), Some("2"));
    }

    #[test]
    fn a_bad_string_is_absent_on_its_own() {
        let object = JsonObject::parse(r#"{"bad":"\ud800","good":"ok"}"#).unwrap();
        assert_eq!(object.str("bad"), None);
        assert_eq!(object.str("good").as_deref(), Some("ok"));
        let nested = object.raw("good").and_then(JsonObject::parse_raw);
        assert!(nested.is_none());
        assert!(is_null(
            JsonObject::parse(r#"{"n": null}"#)
                .unwrap()
                .raw("n")
                .unwrap()
        ));
    }
}
