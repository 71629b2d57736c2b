//! Where results go: the one [`Sink`] trait over the NDJSON and Parquet writers,
//! which take the record's prebuilt line or rows. Above `record.rs` and the writers,
//! so neither writer knows the record.

#[cfg(feature = "parquet")]
use super::parquet;
use super::record::Record;
use super::{ndjson, OutputFormat, Request};

/// Where results go.
pub trait Sink {
    /// Writes one result; `Ok(false)` when the reader went away (stop quietly).
    fn write(&mut self, record: Record) -> Result<bool, String>;
    fn finish(self: Box<Self>) -> Result<(), String>;
}

pub fn open_sink(request: &Request) -> Result<Box<dyn Sink>, String> {
    match request.format {
        OutputFormat::Ndjson => Ok(Box::new(ndjson::Writer::open(request.output.as_deref())?)),
        OutputFormat::Parquet => open_parquet(request),
    }
}

#[cfg(feature = "parquet")]
fn open_parquet(request: &Request) -> Result<Box<dyn Sink>, String> {
    let dir = request
        .output
        .as_deref()
        .ok_or("--format parquet needs -o DIR (the directory for traces.parquet, flows.parquet and findings.parquet)")?;
    Ok(Box::new(parquet::Writer::create(dir)?))
}

#[cfg(not(feature = "parquet"))]
fn open_parquet(_request: &Request) -> Result<Box<dyn Sink>, String> {
    Err("this aadtrace was built without the `parquet` feature; use --format ndjson".to_string())
}

impl Sink for ndjson::Writer {
    fn write(&mut self, record: Record) -> Result<bool, String> {
        match &record.line {
            Some(line) => self.write_line(line),
            None => Ok(true),
        }
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        self.close()
    }
}

#[cfg(feature = "parquet")]
impl Sink for parquet::Writer {
    fn write(&mut self, record: Record) -> Result<bool, String> {
        if let Some(rows) = record.rows {
            self.push(rows)?;
        }
        Ok(true)
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        self.close()
    }
}
