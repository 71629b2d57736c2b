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

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::json_string;
use crate::hashing::HashMap;

/// Members up to which [`JsonObject::iter`] finds repeated names by a scan.
const SCAN_UP_TO: usize = 32;

/// The members of one JSON object, as written (a repeated name more than once).
/// Lookups scan: an object is read for a handful of names, and even an ESTS
/// `$Config` has a few hundred members, which costs less to scan a few dozen
/// times than to index.
#[derive(Debug, Default)]
pub struct JsonObject<'a> {
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> JsonObject<'a> {
    /// Reads `text` as one JSON object, tolerating a UTF-8 BOM and surrounding
    /// space; `None` when it is anything else or not JSON.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim_start_matches('\u{feff}').trim();
        if !text.starts_with('{') {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    /// Reads a member's raw value as an object.
    pub fn parse_raw(raw: &'a RawValue) -> Option<Self> {
        Self::parse(raw.get())
    }

    /// The raw value of member `name` (its last value when repeated).
    pub fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The raw value of member `name`, or else of the first member whose name
    /// equals it in any ASCII case.
    pub fn raw_ci(&self, name: &str) -> Option<&'a RawValue> {
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
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        let mut unique: Vec<(&str, &'a RawValue)> = Vec::with_capacity(self.members.len());
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
                Some(at) => unique[at].1 = value,
                None => {
                    if self.members.len() > SCAN_UP_TO {
                        places.insert(name, unique.len());
                    }
                    unique.push((name, value));
                }
            }
        }
        unique.into_iter()
    }
}

/// A raw value decoded into a `serde_json::Value`.
pub fn decode(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// A raw value's text when it is a string (borrowed when it has no escape).
pub fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    json_string::decode_literal(raw.get())
}

/// True when a raw value is JSON `null`.
pub fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

impl<'de> Deserialize<'de> for JsonObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = JsonObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Identity replies (SAS, token, error bodies) have ten to twenty
        // members: room for them at once, not four reallocations (issue #15).
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Name(name)) = map.next_key()? {
            members.push((name, map.next_value()?));
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
        assert_eq!(object.raw("escaped").map(RawValue::get), Some("2"));
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
