//! `raw/N_m.xml`: what Fiddler recorded about a session besides its bytes: the
//! `Fiddler.SessionFlags` bits, the `SessionTimers` (.NET round-trip times) and the
//! `SessionFlag` name/value pairs.

// `Fiddler.SessionFlags` values (FiddlerCore API reference). `BitFlags` in `_m.xml`
// is written in hexadecimal: a decrypting CONNECT tunnel whose "200 Connection
// Established" Fiddler generated is `2100` = IsDecryptingTunnel | ResponseGeneratedByFiddler.
pub(super) const FLAG_IS_HTTPS: u64 = 0x1;
pub(super) const FLAG_RESPONSE_GENERATED_BY_FIDDLER: u64 = 0x100;
pub(super) const FLAG_RESPONSE_BODY_DROPPED: u64 = 0x20000;
pub(super) const FLAG_REQUEST_BODY_DROPPED: u64 = 0x10_0000;

/// What `raw/N_m.xml` says about a session.
#[derive(Debug, Default)]
pub(super) struct Meta {
    pub(super) bit_flags: u64,
    pub(super) begin_request: Option<i64>,
    pub(super) server_got_request: Option<i64>,
    pub(super) server_begin_response: Option<i64>,
    pub(super) done_response: Option<i64>,
    pub(super) no_offset: bool,
    pub(super) flags: Vec<(String, String)>,
}

impl Meta {
    pub(super) fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads `<Session BitFlags>`, `<SessionTimers>` and `<SessionFlag N V>`; anything
/// unreadable is left at its default.
pub(super) fn parse_meta(xml: &[u8]) -> Meta {
    use quick_xml::events::Event;
    let text = String::from_utf8_lossy(xml);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = quick_xml::Reader::from_str(text);
    let mut meta = Meta::default();
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let (Event::Start(e) | Event::Empty(e)) = event else {
            continue;
        };
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .filter_map(|a| {
                let key: &str = a.key.as_ref();
                let key = key.to_string();
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()?
                    .into_owned();
                Some((key, value))
            })
            .collect();
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let qname = e.name();
        let element: &str = qname.as_ref();
        match element {
            "Session" => {
                if let Some(v) = get("BitFlags") {
                    meta.bit_flags = u64::from_str_radix(v.trim(), 16).unwrap_or(0);
                }
            }
            "SessionTimers" => {
                let mut time = |k: &str| {
                    let (us, offset) = dotnet_time(get(k)?)?;
                    if !offset {
                        meta.no_offset = true;
                    }
                    Some(us)
                };
                let begin = time("ClientBeginRequest");
                let got = time("ServerGotRequest");
                let first_byte = time("ServerBeginResponse");
                let done = time("ClientDoneResponse");
                meta.begin_request = begin;
                meta.server_got_request = got;
                meta.server_begin_response = first_byte;
                meta.done_response = done;
            }
            "SessionFlag" => {
                if let (Some(n), Some(v)) = (get("N"), get("V")) {
                    meta.flags.push((n.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    meta
}

/// A .NET round-trip time (`2025-08-30T11:33:40.0256586-07:00`: up to 7 fraction
/// digits, offset `Z`/`±hh:mm` or none) → (µs since the epoch, had an offset).
/// `0001-01-01T00:00:00` (`DateTime.MinValue`) means "never happened": `None`.
fn dotnet_time(value: &str) -> Option<(i64, bool)> {
    let v = value.trim();
    if v.is_empty() || v.starts_with("0001-01-01") {
        return None;
    }
    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        return Some((ts.as_microsecond(), true));
    }
    let dt: jiff::civil::DateTime = v.parse().ok()?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some((ts.as_microsecond(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_times() {
        let (us, off) = dotnet_time("2025-08-30T11:33:40.0256586-07:00").unwrap();
        assert!(off);
        assert_eq!(us, 1_756_578_820_025_658);
        assert_eq!(dotnet_time("0001-01-01T00:00:00"), None);
        let (_, off) = dotnet_time("2025-08-30T11:33:40.1").unwrap();
        assert!(!off);
    }
}
