//! Time stamps as reports write them: RFC 3339, UTC, milliseconds.

/// `2026-11-22T08:11:14.490Z` for µs since the Unix epoch.
pub fn rfc3339(us: i64) -> String {
    match jiff::Timestamp::from_microsecond(us) {
        Ok(ts) => format!("{:.3}", ts),
        Err(_) => "invalid-time".to_string(),
    }
}

/// `08:11:14.490` (UTC time of day) for compact tables.
pub fn time_of_day(us: i64) -> String {
    let full = rfc3339(us);
    full.get(11..23).unwrap_or(&full).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_millis() {
        assert_eq!(rfc3339(1_795_335_074_490_000), "2026-11-22T08:11:14.490Z");
        assert_eq!(time_of_day(1_795_335_074_490_000), "08:11:14.490");
    }
}
