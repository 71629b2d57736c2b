//! HAR 1.1/1.2/1.3 reader (W3C Web Performance WG draft "HTTP Archive (HAR) format").
//!
//! STUB: to be implemented (zero-copy over a memory map, streaming for readers).

use std::io::BufRead;

use super::{CaptureError, InputSummary, Progress};
use crate::http::Exchange;

/// Reads a whole HAR held in memory (a memory map), borrowing from it.
pub fn read_slice(
    bytes: &[u8],
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let _ = (bytes, input_index, progress, sink);
    Err(CaptureError::Malformed {
        path: name.to_string(),
        place: "HAR".into(),
        detail: "not implemented".into(),
    })
}

/// Reads a HAR from a stream (stdin, gzip) one entry at a time.
pub fn read_stream<R: BufRead>(
    reader: R,
    name: &str,
    input_index: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    let _ = (reader, input_index, progress, sink);
    Err(CaptureError::Malformed {
        path: name.to_string(),
        place: "HAR".into(),
        detail: "not implemented".into(),
    })
}
