//! [`HarReader`]: what the walks over one HAR learn, and what they do with each
//! entry: convert it (`convert.rs`), hand it to the sink or count why not, report
//! progress, and at the end turn the counts into warnings through a [`Tally`].

use std::cell::Cell;
use std::io::Read;

use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;

use super::schema::{Entry, Producer};
use super::{guard, MAX_ENTRY_WARNINGS, PROGRESS_STEP, SANITIZED_MIN_ENTRIES};
use crate::capture::tally::Tally;
use crate::capture::{CaptureError, InputSummary, InputWarning, Progress, WarningCode};
use crate::http::Exchange;

/// A reader that counts the bytes it hands out (stream position for messages).
pub(super) struct Counting<'c, R> {
    pub(super) inner: R,
    pub(super) count: &'c Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// How to know where in the input we are.
pub(super) enum Pos<'c> {
    /// Address of the first byte of the slice; raw entries point into it.
    Slice {
        base: usize,
    },
    Stream {
        count: &'c Cell<u64>,
    },
}

/// The raw form of one entry: borrowed from a slice or owned from a stream.
pub(super) trait RawEntry<'de>: Deserialize<'de> {
    fn json(&self) -> &str;
}

impl<'de> RawEntry<'de> for &'de RawValue {
    fn json(&self) -> &str {
        self.get()
    }
}

impl<'de> RawEntry<'de> for Box<RawValue> {
    fn json(&self) -> &str {
        self.get()
    }
}

/// Everything the visitors learn while walking the file.
pub(super) struct HarReader<'s> {
    pub(super) name: &'s str,
    pub(super) input: usize,
    pub(super) progress: &'s dyn Progress,
    pub(super) sink: &'s mut dyn FnMut(Exchange<'_>),
    pub(super) pos: Pos<'s>,
    pub(super) last_progress: u64,

    pub(super) log_seen: bool,
    pub(super) entries_opened: bool,
    /// Entries are deserialised in place (fast); otherwise raw first, then parsed.
    pub(super) direct: bool,
    /// Inside an entry in the direct pass: a data error here is that entry's fault.
    pub(super) in_entry: bool,
    /// In a later pass, entries below this index were already handled.
    pub(super) skip_until: u64,
    /// Entries visited (good or bad): the next entry's index.
    pub(super) index: u64,
    pub(super) delivered: usize,
    pub(super) creator: Option<String>,
    pub(super) browser: Option<String>,

    pub(super) malformed: usize,
    pub(super) warnings: Vec<InputWarning>,
    pub(super) sensitive_seen: bool,
    pub(super) missing_body: usize,
    pub(super) no_offset: usize,
    pub(super) bad_time: usize,
}

impl<'s> HarReader<'s> {
    pub(super) fn new(
        name: &'s str,
        input: usize,
        progress: &'s dyn Progress,
        sink: &'s mut dyn FnMut(Exchange<'_>),
        pos: Pos<'s>,
    ) -> Self {
        HarReader {
            name,
            input,
            progress,
            sink,
            pos,
            last_progress: 0,
            log_seen: false,
            entries_opened: false,
            direct: false,
            in_entry: false,
            skip_until: 0,
            index: 0,
            delivered: 0,
            creator: None,
            browser: None,
            malformed: 0,
            warnings: Vec::new(),
            sensitive_seen: false,
            missing_body: 0,
            no_offset: 0,
            bad_time: 0,
        }
    }

    /// Parses one raw entry and hands it to the sink, or records why not.
    pub(super) fn raw_entry(&mut self, raw: &str) {
        let index = self.index;
        self.index += 1;
        if index < self.skip_until {
            return;
        }
        if let Some(size) = guard::skipped_size(raw) {
            self.warnings.push(InputWarning::new(
                WarningCode::HarEntryTooLarge,
                format!(
                    "entry {index} is {size} bytes, more than the {} MiB an entry may hold when a HAR is streamed; it was skipped",
                    crate::limits::har_entry() >> 20
                ),
            ));
            return;
        }
        let entry = serde_json::from_str::<Entry<'_>>(raw).map_err(|e| without_location(&e));
        let end = (raw.as_ptr() as usize).saturating_add(raw.len());
        self.take(index, entry, Some(end));
    }

    /// Hands an entry parsed in place (direct pass) to the sink.
    pub(super) fn parsed_entry(&mut self, entry: Entry<'_>) {
        let index = self.index;
        self.index += 1;
        if index < self.skip_until {
            return;
        }
        let hint = entry.position_hint();
        self.take(index, Ok(entry), hint);
    }

    /// Converts an entry and calls the sink, or records why not; reports progress.
    /// `end` is the address just past something of the entry inside a slice input.
    fn take(&mut self, index: u64, entry: Result<Entry<'_>, String>, end: Option<usize>) {
        match entry.and_then(|entry| self.convert(index, entry)) {
            Ok(exchange) => {
                self.delivered += 1;
                (self.sink)(exchange);
            }
            Err(what) => {
                self.malformed += 1;
                if self.malformed <= MAX_ENTRY_WARNINGS {
                    self.warnings.push(InputWarning::new(
                        WarningCode::MalformedEntry,
                        format!("entry {index}: {what}"),
                    ));
                }
            }
        }
        let at = match &self.pos {
            Pos::Slice { base } => match end {
                Some(end) => end.saturating_sub(*base) as u64,
                None => return,
            },
            Pos::Stream { count } => count.get(),
        };
        if at >= self.last_progress.saturating_add(PROGRESS_STEP) {
            self.last_progress = at;
            self.progress.advance_to(at);
        }
    }

    pub(super) fn set_producer(&mut self, key: &str, raw: &str) {
        let Ok(p) = serde_json::from_str::<Producer<'_>>(raw) else {
            return;
        };
        let name = p.name.map(|s| s.0).unwrap_or_default();
        let version = p.version.map(|s| s.0).unwrap_or_default();
        let text = format!("{} {}", name.trim(), version.trim())
            .trim()
            .to_string();
        if text.is_empty() {
            return;
        }
        if key == "creator" {
            self.creator = Some(text);
        } else {
            self.browser = Some(text);
        }
    }

    /// Classifies how the walk ended and builds the summary or the error.
    pub(super) fn finish(
        self,
        result: Result<(), serde_json::Error>,
        total: u64,
    ) -> Result<InputSummary, CaptureError> {
        let cut = match result {
            Ok(()) => {
                self.check_shape()?;
                None
            }
            // A file cut inside `log.entries` keeps the entries before the cut.
            Err(e) if self.entries_opened => Some(self.cut_short(&e, total)),
            Err(e) => return Err(self.unreadable(e)),
        };
        self.progress.advance_to(total);
        Ok(self.summary(cut))
    }

    /// A document that parsed as JSON but is no HAR.
    fn check_shape(&self) -> Result<(), CaptureError> {
        let missing = if !self.log_seen {
            "this JSON has no \"log\" object, so it is not a HAR"
        } else if !self.entries_opened {
            "\"log.entries\" is missing, so this HAR holds no requests"
        } else {
            return Ok(());
        };
        Err(CaptureError::Malformed {
            path: self.name.to_string(),
            place: "top level".into(),
            detail: missing.into(),
        })
    }

    /// The `capture_truncated` message for an error inside `log.entries`.
    fn cut_short(&self, e: &serde_json::Error, total: u64) -> String {
        let detail = if e.classify() == Category::Eof {
            format!(
                "the file ends early at byte {total} (line {}, column {})",
                e.line(),
                e.column()
            )
        } else if e.classify() == Category::Io {
            format!("reading stopped at byte {total}: {e}")
        } else {
            format!(
                "malformed JSON at line {} column {} ({})",
                e.line(),
                e.column(),
                without_location(e)
            )
        };
        format!(
            "{detail}; the {} complete entries before it were read",
            self.delivered
        )
    }

    /// The error for a document that fails before `log.entries` opens.
    fn unreadable(&self, e: serde_json::Error) -> CaptureError {
        if e.classify() == Category::Io {
            return CaptureError::Io {
                path: self.name.to_string(),
                source: std::io::Error::other(e.to_string()),
            };
        }
        let detail = match e.classify() {
            Category::Eof if self.log_seen => {
                "the file ends before \"log.entries\" starts".to_string()
            }
            Category::Eof => "the file ends before the \"log\" object".to_string(),
            Category::Syntax => format!("not valid JSON: {}", without_location(&e)),
            _ => without_location(&e),
        };
        CaptureError::Malformed {
            path: self.name.to_string(),
            place: format!("line {}, column {}", e.line(), e.column()),
            detail,
        }
    }

    /// The summary: the warnings given entry by entry, the cut (if any), then the
    /// counts of the walk.
    fn summary(self, cut: Option<String>) -> InputSummary {
        let mut warnings = Tally::from_warnings(self.warnings);
        if let Some(cut) = cut {
            warnings.push(WarningCode::CaptureTruncated, cut);
        }
        let over = self.malformed.saturating_sub(MAX_ENTRY_WARNINGS);
        warnings
            .count(WarningCode::MalformedEntry, over, |n| {
                format!("{n} more malformed entries were skipped")
            })
            .count(WarningCode::TimestampNoOffset, self.no_offset, |n| {
                format!("{n} entries have a startedDateTime without a time zone; read as UTC")
            })
            .count(WarningCode::TimestampInvalid, self.bad_time, |n| {
                format!("{n} entries have no readable startedDateTime; their start time is unknown")
            })
            .count(WarningCode::MissingBody, self.missing_body, |n| {
                format!("{n} responses have no body in this HAR (the exporter left them out)")
            })
            .when(
                self.delivered >= SANITIZED_MIN_ENTRIES && !self.sensitive_seen,
                WarningCode::HarSanitized,
                || {
                    "cookies and Authorization headers were removed when this HAR was exported"
                        .into()
                },
            );
        InputSummary {
            producer: self.creator.or(self.browser),
            exchanges: self.delivered,
            warnings: warnings.into_warnings(),
            connections: Vec::new(),
        }
    }
}

/// serde_json's message without its trailing " at line L column C".
pub(super) fn without_location(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(s) => s.to_string(),
        None => text,
    }
}
