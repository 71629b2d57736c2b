//! The lenient borrowed model of one HAR entry (spec §"entries", §"request",
//! §"response", §"content", §"postData", §"timings"), filled by the serde
//! visitors and by the fast pass alike. Unknown and `_vendor` fields are ignored
//! (serde's default), so `_webSocketMessages`, `_initiator`… cost a skip only.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A string that borrows when it can; accepts `null` (empty) and numbers / booleans
/// (written out), since exporters are not strict about types.
#[derive(Debug, Default)]
pub(super) struct Str<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(if v { "true" } else { "false" })))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed("")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed("")))
            }
        }
        de.deserialize_any(V(PhantomData))
    }
}

/// A number that may also be written as a string or be `null`.
fn lenient_num<'de, D: Deserializer<'de>>(de: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<f64>()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    de.deserialize_any(V)
}

/// Length of an array we only need to count (`cookies`); `null` counts as empty.
/// Only counted, so it accepts what exporters write instead of an array.
#[derive(Debug, Default)]
pub(super) struct Count(pub(super) usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
            /// IE 11 writes a single cookie object instead of an array.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
                let mut fields = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    fields += 1;
                }
                Ok(Count(usize::from(fields > 0)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
        }
        de.deserialize_any(V)
    }
}

/// A value kept as its JSON text, borrowed from the input (body texts).
#[derive(Debug, Clone, Copy)]
pub(super) struct Literal<'a>(pub(super) &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Literal<'a> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(de).map(|raw| Literal(raw.get()))
    }
}

#[derive(Deserialize)]
pub(super) struct Producer<'a> {
    #[serde(borrow, default)]
    pub(super) name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) version: Option<Str<'a>>,
}

/// spec §"entries".
#[derive(Deserialize)]
pub(super) struct Entry<'a> {
    #[serde(borrow, default, rename = "startedDateTime")]
    pub(super) started: Option<Str<'a>>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) time: Option<f64>,
    #[serde(borrow, default)]
    pub(super) request: Option<HarRequest<'a>>,
    #[serde(borrow, default)]
    pub(super) response: Option<HarResponse<'a>>,
    #[serde(default)]
    pub(super) timings: Option<Timings>,
    #[serde(borrow, default, rename = "serverIPAddress")]
    pub(super) server_ip: Option<Str<'a>>,
    #[serde(borrow, default, rename = "_error")]
    pub(super) error: Option<Str<'a>>,
    #[serde(borrow, default, rename = "_failureText")]
    pub(super) failure_text: Option<Str<'a>>,
}

impl Entry<'_> {
    /// Address just past the furthest borrowed part of the entry, if any: where a
    /// slice reader has got to, for progress.
    pub(super) fn position_hint(&self) -> Option<usize> {
        let end = |s: &str| (s.as_ptr() as usize).saturating_add(s.len());
        let borrowed = |s: &Option<Str<'_>>| match s {
            Some(Str(Cow::Borrowed(b))) => Some(end(b)),
            _ => None,
        };
        let req_text = self
            .request
            .as_ref()
            .and_then(|r| r.post_data.as_ref())
            .and_then(|p| p.text)
            .map(|t| end(t.0));
        let resp_text = self
            .response
            .as_ref()
            .and_then(|r| r.content.as_ref())
            .and_then(|c| c.text)
            .map(|t| end(t.0));
        [
            borrowed(&self.started),
            borrowed(&self.server_ip),
            req_text,
            resp_text,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// spec §"request".
#[derive(Deserialize)]
pub(super) struct HarRequest<'a> {
    #[serde(borrow, default)]
    pub(super) method: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) url: Option<Str<'a>>,
    #[serde(borrow, default, rename = "httpVersion")]
    pub(super) http_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) headers: Option<Vec<HarHeader<'a>>>,
    #[serde(default)]
    pub(super) cookies: Count,
    #[serde(borrow, default, rename = "postData")]
    pub(super) post_data: Option<PostData<'a>>,
}

/// spec §"postData": either `text` or `params`.
#[derive(Deserialize)]
pub(super) struct PostData<'a> {
    #[serde(borrow, default, rename = "mimeType")]
    pub(super) mime_type: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) text: Option<Literal<'a>>,
    #[serde(borrow, default)]
    pub(super) params: Option<Vec<Param<'a>>>,
}

/// spec §"params".
#[derive(Deserialize)]
pub(super) struct Param<'a> {
    #[serde(borrow, default)]
    pub(super) name: Str<'a>,
    #[serde(borrow, default)]
    pub(super) value: Str<'a>,
}

/// spec §"response".
#[derive(Deserialize)]
pub(super) struct HarResponse<'a> {
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) status: Option<f64>,
    #[serde(borrow, default, rename = "statusText")]
    pub(super) status_text: Option<Str<'a>>,
    #[serde(borrow, default, rename = "httpVersion")]
    pub(super) http_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) headers: Option<Vec<HarHeader<'a>>>,
    #[serde(default)]
    pub(super) cookies: Count,
    #[serde(borrow, default)]
    pub(super) content: Option<Content<'a>>,
    /// Chrome DevTools: `net::ERR_…` when the request failed.
    #[serde(borrow, default, rename = "_error")]
    pub(super) error: Option<Str<'a>>,
    #[serde(borrow, default, rename = "_failureText")]
    pub(super) failure_text: Option<Str<'a>>,
}

/// spec §"content".
#[derive(Deserialize)]
pub(super) struct Content<'a> {
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) size: Option<f64>,
    #[serde(borrow, default, rename = "mimeType")]
    pub(super) mime_type: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(super) text: Option<Literal<'a>>,
    #[serde(borrow, default)]
    pub(super) encoding: Option<Str<'a>>,
}

/// spec §"headers".
#[derive(Deserialize)]
pub(super) struct HarHeader<'a> {
    #[serde(borrow, default)]
    pub(super) name: Str<'a>,
    #[serde(borrow, default)]
    pub(super) value: Str<'a>,
}

/// spec §"timings": every phase, in [`crate::http::Phases::NAMES`] order.
#[derive(Deserialize)]
pub(super) struct Timings {
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) blocked: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) dns: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) connect: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) ssl: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) send: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) wait: Option<f64>,
    #[serde(default, deserialize_with = "lenient_num")]
    pub(super) receive: Option<f64>,
}

impl Timings {
    /// The values in [`crate::http::Phases::NAMES`] order.
    pub(super) fn values(&self) -> [Option<f64>; 7] {
        [
            self.blocked,
            self.dns,
            self.connect,
            self.ssl,
            self.send,
            self.wait,
            self.receive,
        ]
    }
}

// ---------------------------------------------------------------------------
// Conversion helpers.
