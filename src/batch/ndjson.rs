//! NDJSON results: one line per trace, the `aadtrace/1` document with the batch
//! fields in front (see the module documentation of [`super`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::meta::Meta;
use super::TraceError;
use crate::report::json::{self, Document};
use crate::report::shown::Redactor;
use crate::session::Session;

#[derive(Serialize)]
struct Line<'a> {
    path: &'a str,
    size: u64,
    elapsed_ms: f64,
    keylogs: &'a [String],
    #[serde(flatten)]
    body: Body<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Analysis(Box<Document<'a>>),
    Error {
        schema: &'static str,
        tool: json::Tool,
        error: TraceError,
    },
}

/// The line for one trace, without its newline; an error comes redacted.
pub fn line(meta: &Meta<'_>, result: Result<&Session, &TraceError>, redactor: &Redactor) -> String {
    let body = match result {
        Ok(session) => Body::Analysis(Box::new(json::document(session, redactor))),
        Err(error) => Body::Error {
            schema: json::SCHEMA,
            tool: json::Tool {
                name: "aadtrace",
                version: env!("CARGO_PKG_VERSION"),
            },
            // Already redacted (`Record`'s error).
            error: error.clone(),
        },
    };
    let line = Line {
        path: meta.path,
        size: meta.size,
        elapsed_ms: meta.elapsed_ms,
        keylogs: meta.keylogs,
        body,
    };
    serde_json::to_string(&line).expect("a batch line serialises")
}

/// Writes lines to a file or standard output.
pub struct Writer {
    out: BufWriter<Box<dyn Write>>,
    place: String,
}

impl Writer {
    pub fn open(path: Option<&Path>) -> Result<Writer, String> {
        let (out, place): (Box<dyn Write>, String) = match path {
            Some(p) => (
                Box::new(
                    File::create(p).map_err(|e| format!("{}: cannot create: {e}", p.display()))?,
                ),
                p.display().to_string(),
            ),
            None => (Box::new(std::io::stdout()), "standard output".to_string()),
        };
        Ok(Writer {
            out: BufWriter::with_capacity(1 << 16, out),
            place,
        })
    }

    fn fail(&self, e: std::io::Error) -> String {
        format!("cannot write the results to {}: {e}", self.place)
    }
}

impl Writer {
    /// Writes one line; `Ok(false)` when the reader went away (stop quietly).
    pub fn write_line(&mut self, line: &str) -> Result<bool, String> {
        let result = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        match result {
            Ok(()) => Ok(true),
            // A reader that stopped early (`| head`) ends the batch quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub fn close(mut self) -> Result<(), String> {
        match self.out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(self.fail(e)),
            _ => Ok(()),
        }
    }
}
