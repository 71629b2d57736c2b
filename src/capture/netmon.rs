//! Microsoft Network Monitor 2.x capture files (`.cap`).

use std::io::Read;

use super::{CaptureError, Format, InputSummary, Progress};
use crate::http::Exchange;

pub fn read(
    _file: std::fs::File,
    name: &str,
    _input_index: usize,
    _progress: &dyn Progress,
    _sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    Err(CaptureError::Unsupported {
        path: name.to_string(),
        format: Format::Netmon,
    })
}

pub fn read_stream<R: Read>(
    _reader: R,
    name: &str,
    _input_index: usize,
    _progress: &dyn Progress,
    _sink: &mut dyn FnMut(Exchange<'_>),
) -> Result<InputSummary, CaptureError> {
    Err(CaptureError::Unsupported {
        path: name.to_string(),
        format: Format::Netmon,
    })
}
