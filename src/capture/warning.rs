//! The closed set of reader warning codes. Every problem a reader reports and
//! survives is one [`WarningCode`]: its stable snake_case name is what the JSON
//! contract shows (`inputs[].warnings[].code`, Parquet `input_warnings`), and the
//! same name is its finding kind, with its own wording in `data/findings.json`
//! (a test below checks that every code has an entry there).
//!
//! A new kind of damage needs a new line in `warning_codes!` below
//! and an entry at the end of `data/findings.json`; the test below points at a
//! missing entry.

use std::fmt;

use crate::http::h2;

/// Declares the enum, its `ALL` list and its names from one list, so no code can
/// be left out of either.
macro_rules! warning_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// One kind of problem a reader reported and worked around.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum WarningCode {
            $($(#[$doc])* $variant,)+
        }

        impl WarningCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [WarningCode] = &[$(WarningCode::$variant,)+];

            /// The stable snake_case name: the JSON contract's code and the finding kind.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(WarningCode::$variant => $name,)+
                }
            }
        }
    };
}

warning_codes! {
    // The file itself.
    /// The file stops in the middle of a record.
    CaptureTruncated => "capture_truncated",
    /// A record has impossible lengths; reading stopped there.
    CaptureCorrupt => "capture_corrupt",
    /// Damaged blocks were skipped and reading went on.
    CaptureCorruptBlock => "capture_corrupt_block",
    /// Entries that could not be read were skipped.
    MalformedEntry => "malformed_entry",
    /// Packets of a link layer aadtrace does not decode.
    UnknownLinkType => "unknown_link_type",
    // What the export left out.
    /// A HAR exported without cookies and Authorization headers.
    HarSanitized => "har_sanitized",
    /// A NetLog captured without cookies, credentials and bytes.
    NetlogSanitized => "netlog_sanitized",
    /// Network Monitor ETW event records, some of them unread.
    NetmonEtwFrames => "netmon_etw_frames",
    /// Responses without a body.
    MissingBody => "missing_body",
    /// Bodies whose compression could not be undone.
    BodyUndecoded => "body_undecoded",
    /// Bodies cut at the size limit.
    BodyCapped => "body_capped",
    // Times.
    /// Exchanges without a usable start time.
    TimestampInvalid => "timestamp_invalid",
    /// Times without a time-zone offset, read as UTC.
    TimestampNoOffset => "timestamp_no_offset",
    // Packets and TCP.
    /// IP fragments that could not be put back together.
    IpFragmentsDropped => "ip_fragments_dropped",
    /// TCP bytes the capture does not hold.
    TcpBytesMissing => "tcp_bytes_missing",
    /// HTTP/1.1 responses whose request is not in the capture.
    HttpResponseWithoutRequest => "http_response_without_request",
    // Keys and TLS.
    /// Lines of a key log that are not key-log lines.
    KeylogBadLines => "keylog_bad_lines",
    /// A key log file that could not be read.
    KeylogUnreadable => "keylog_unreadable",
    /// TLS records that failed to decrypt.
    TlsDecryptFailed => "tls_decrypt_failed",
    /// TLS connections with a cipher suite aadtrace cannot decrypt.
    TlsCipherUnsupported => "tls_cipher_unsupported",
    /// TLS connections whose secrets are not in the key log.
    TlsKeysMissing => "tls_keys_missing",
    /// Decryptable TLS lost behind missing TCP bytes.
    TlsRecordsLost => "tls_records_lost",
    /// TLS hellos (or EncryptedExtensions) that do not parse.
    TlsHandshakeMalformed => "tls_handshake_malformed",
    // HTTP/2 (see `http::h2::Problem`).
    /// Frames that break HTTP/2's framing rules.
    H2FrameError => "h2_frame_error",
    /// Header blocks HPACK could not decode.
    H2HpackError => "h2_hpack_error",
    /// Header fields that refer to table entries sent before the capture began.
    H2HpackUnknownIndex => "h2_hpack_unknown_index",
    /// More streams open at once than aadtrace keeps.
    H2TooManyStreams => "h2_too_many_streams",
    /// HTTP/2 responses whose request is not in the capture.
    H2ResponseWithoutRequest => "h2_response_without_request",
    /// Missing bytes that broke the HTTP/2 frames of one direction.
    H2BytesMissing => "h2_bytes_missing",
    /// HTTP/2 header lists larger than the cap; fields past it were dropped.
    H2HeaderListTooLarge => "h2_header_list_too_large",
    // Memory limits (`crate::limits`).
    /// A capture's memory allowance ran out; bodies or header lists were cut.
    MemoryBudgetExceeded => "memory_budget_exceeded",
    /// A streamed HAR entry larger than the cap was skipped.
    HarEntryTooLarge => "har_entry_too_large",
}

/// Each HTTP/2 problem has its own reader warning.
impl From<h2::Problem> for WarningCode {
    fn from(p: h2::Problem) -> Self {
        match p {
            h2::Problem::FrameError => WarningCode::H2FrameError,
            h2::Problem::HpackError => WarningCode::H2HpackError,
            h2::Problem::HpackUnknownIndex => WarningCode::H2HpackUnknownIndex,
            h2::Problem::TooManyStreams => WarningCode::H2TooManyStreams,
            h2::Problem::ResponseWithoutRequest => WarningCode::H2ResponseWithoutRequest,
            h2::Problem::BytesMissing => WarningCode::H2BytesMissing,
            h2::Problem::HeaderListTooLarge => WarningCode::H2HeaderListTooLarge,
        }
    }
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as its name, so the JSON contract keeps its strings.
impl serde::Serialize for WarningCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lets callers and tests compare with the contract's names (`w.code == "capture_truncated"`).
impl PartialEq<&str> for WarningCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_all_is_complete() {
        let mut names: Vec<&str> = WarningCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), WarningCode::ALL.len(), "duplicate names");
        // Every HTTP/2 problem has a code of its own.
        for p in h2::Problem::ALL {
            assert!(WarningCode::ALL.contains(&WarningCode::from(*p)), "{p:?}");
            assert!(p.what().starts_with("HTTP/2 "), "{p:?}");
        }
    }

    #[test]
    fn serialises_as_its_name() {
        for c in WarningCode::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(c.to_string(), c.as_str());
            assert!(*c == c.as_str());
        }
        let w = super::super::InputWarning::new(WarningCode::TlsRecordsLost, "12 bytes");
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"code": "tls_records_lost", "message": "12 bytes"})
        );
    }

    /// Every code has its own wording: a kind of its own in `data/findings.json`,
    /// not the generic "Problem in the trace" fallback.
    #[test]
    fn every_code_has_its_own_finding_wording() {
        let kinds = crate::findings::kinds();
        let generic = kinds
            .iter()
            .find(|k| k.kind == "input_warning")
            .expect("the generic entry exists");
        for c in WarningCode::ALL {
            let k = kinds
                .iter()
                .find(|k| k.kind == c.as_str())
                .unwrap_or_else(|| panic!("{c} has no entry in data/findings.json"));
            assert_ne!(k.title, generic.title, "{c}");
            assert_ne!(k.explanation, generic.explanation, "{c}");
            assert!(k.explanation.len() > 60, "{c}: explanation too thin");
            assert!(!k.next_steps.is_empty(), "{c}");
            assert!(
                k.next_steps
                    .iter()
                    .all(|s| !s.contains("message below") && s.len() > 20),
                "{c}: next steps must say what to do"
            );
        }
    }
}
