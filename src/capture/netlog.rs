//! Chromium NetLog reader (placeholder until the reader lands).
use std::io::BufRead;

use super::{CaptureError, InputSummary, Progress};
use crate::http::Exchange;

pub fn read_slice(
    _bytes: &[u8],
    name: &str,
    _input_index: usize,
    _progress: &dyn Progress,
    _sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    Err(CaptureError::Unsupported {
        path: name.to_string(),
        format: super::Format::Netlog,
    })
}

pub fn read_stream<R: BufRead>(
    _reader: R,
    name: &str,
    _input_index: usize,
    _progress: &dyn Progress,
    _sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    Err(CaptureError::Unsupported {
        path: name.to_string(),
        format: super::Format::Netlog,
    })
}
