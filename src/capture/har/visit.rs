//! The serde visitors of the document: the top level, `log` and `log.entries`.
//! Entries are never collected: `log.entries` is visited one element at a time
//! and each entry goes to the [`HarReader`] (and on to the sink) before the next
//! one is read.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::reader::{HarReader, RawEntry};
use super::schema::{Entry, Str};

/// Seed for the whole document: `{"log": {...}}` (spec §"HAR Data Structure").
pub(super) struct Top<'r, 's, R> {
    reader: &'r mut HarReader<'s>,
    raw: PhantomData<fn() -> R>,
}

impl<'r, 's, R> Top<'r, 's, R> {
    pub(super) fn new(reader: &'r mut HarReader<'s>) -> Self {
        Top {
            reader,
            raw: PhantomData,
        }
    }
}

impl<'de, R: RawEntry<'de>> DeserializeSeed<'de> for Top<'_, '_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, R: RawEntry<'de>> Visitor<'de> for Top<'_, '_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR object {\"log\": ...}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if key.0 == "log" {
                map.next_value_seed(Log::<R> {
                    reader: &mut *self.reader,
                    raw: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Seed for `log` (spec §"log"): `creator`, `browser`, `entries`; the rest skipped.
pub(super) struct Log<'r, 's, R> {
    reader: &'r mut HarReader<'s>,
    raw: PhantomData<fn() -> R>,
}

impl<'de, R: RawEntry<'de>> DeserializeSeed<'de> for Log<'_, '_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, R: RawEntry<'de>> Visitor<'de> for Log<'_, '_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the HAR \"log\" object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.reader.log_seen = true;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.0.as_ref() {
                "entries" => map.next_value_seed(Entries::<R> {
                    reader: &mut *self.reader,
                    raw: PhantomData,
                })?,
                k @ ("creator" | "browser") => {
                    let raw = map.next_value::<R>()?;
                    self.reader.set_producer(k, raw.json());
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Seed for `log.entries`: one entry at a time, straight to the sink.
pub(super) struct Entries<'r, 's, R> {
    reader: &'r mut HarReader<'s>,
    raw: PhantomData<fn() -> R>,
}

impl<'de, R: RawEntry<'de>> DeserializeSeed<'de> for Entries<'_, '_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, R: RawEntry<'de>> Visitor<'de> for Entries<'_, '_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"log.entries\" as an array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.reader.entries_opened = true;
        if self.reader.direct {
            loop {
                self.reader.in_entry = true;
                let Some(entry) = seq.next_element::<Entry<'de>>()? else {
                    break;
                };
                self.reader.in_entry = false;
                self.reader.parsed_entry(entry);
            }
            self.reader.in_entry = false;
        } else {
            while let Some(raw) = seq.next_element::<R>()? {
                self.reader.raw_entry(raw.json());
            }
        }
        Ok(())
    }
}
