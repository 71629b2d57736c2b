//! Parquet results (`--format parquet -o DIR`, cargo feature `parquet`): three
//! tables, `DIR/traces.parquet`, `DIR/flows.parquet` and `DIR/findings.parquet`,
//! written with arrow-rs, Snappy-compressed, rows in path order. DuckDB
//! (`read_parquet('DIR/*/traces.parquet')`) and Spark (`spark.read.parquet(…)`) read
//! them as they are. Each file is written under a temporary name and renamed when
//! complete, so a failed run never leaves a half table behind.
//!
//! Every table starts with `schema_version` (INT32, now 1) and `path` (the trace,
//! as in the NDJSON results), which joins the tables. Times are
//! TIMESTAMP(MICROS, UTC). Strings from the trace (ids included) are redacted as
//! in the JSON report. A new column may be added within a version; a change of meaning bumps it.
//!
//! **`traces`**: one row per trace, also for traces that could not be read.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `schema_version` | int32 | 1 |
//! | `path` | string | file path, or `ARCHIVE!/MEMBER` |
//! | `size` | int64 | bytes (uncompressed for archive members) |
//! | `elapsed_ms` | double | reading and judging time |
//! | `keylogs` | list\<string\> | key logs found beside the trace, and `--keylog`: packet captures are decrypted with them |
//! | `format` | string? | `har`, … (null when unreadable) |
//! | `producer` | string? | exporting program (`Chromium 131`) |
//! | `exchanges` | int64? | HTTP exchanges read |
//! | `flows`, `flows_succeeded`, `flows_failed`, `flows_incomplete` | int64? | sign-in flows by outcome |
//! | `findings_error`, `findings_warning`, `findings_info` | int64? | findings by severity |
//! | `input_warnings` | list\<string\> | reader warning codes (`capture_truncated`, …) |
//! | `started`, `ended` | timestamp? | first and last exchange |
//! | `error_kind`, `error_message` | string? | why the trace could not be read (null when it was) |
//!
//! **`flows`**: one row per sign-in flow.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `schema_version`, `path` | int32, string | as above |
//! | `flow` | int32 | flow id within the trace (`flows[].id` in JSON) |
//! | `kind` | string | `entra`, `msa`, `adfs`, `device_code`, … |
//! | `outcome` | string | `success`, `failed`, `incomplete` |
//! | `started`, `ended` | timestamp | first and last exchange of the flow |
//! | `duration_ms` | double | `ended - started` |
//! | `tenant`, `client_id`, `user` | string? | `user` masked unless `--unsafe-show-secrets` |
//! | `correlation_ids` | list\<string\> | |
//! | `exchanges` | int32 | exchanges in the flow |
//! | `aadsts` | list\<int64\> | distinct AADSTS codes seen in the flow's exchanges |
//! | `regions` | list\<string\> | ESTS regions that served it |
//! | `mfa` | list\<struct\> | one per MFA attempt: `method` string?, `result` string (`approved`, `timeout`, `denied`, `abandoned`, `failed`, `pending`), `polls` int32, `waited_ms` double, `window_ms` int64?, `started` timestamp |
//!
//! **`findings`**: one row per finding.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `schema_version`, `path` | int32, string | as above |
//! | `finding` | int32 | finding id within the trace |
//! | `kind` | string | `aadsts_error`, `mfa_timeout`, … |
//! | `severity` | string | `error`, `warning`, `info` |
//! | `code` | int64? | the AADSTS number |
//! | `flow` | int32? | flow id |
//! | `time` | timestamp? | when it happened |
//! | `correlation_id`, `request_id`, `tenant`, `client_id`, `user`, `ests_server` | string? | ids for the support ticket |
//! | `title` | string | one line for a person |

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    StructBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::meta::Meta;
use super::TraceError;
use crate::findings::Finding;
use crate::identity::{Flow, Step};
use crate::report::shown::Redactor;
use crate::report::snake_name as snake;
use crate::session::Session;

/// The version in every row's `schema_version`.
pub const SCHEMA_VERSION: i32 = 1;
/// Rows per record batch (and at most per row group).
const BATCH_ROWS: usize = 4096;

pub struct TraceRow {
    path: String,
    size: i64,
    elapsed_ms: f64,
    keylogs: Vec<String>,
    format: Option<String>,
    producer: Option<String>,
    /// exchanges, flows, succeeded, failed, incomplete, errors, warnings, infos
    counts: Option<[i64; 8]>,
    input_warnings: Vec<String>,
    started: Option<i64>,
    ended: Option<i64>,
    error: Option<TraceError>,
}

pub struct MfaRow {
    method: Option<String>,
    result: String,
    polls: i32,
    waited_ms: f64,
    window_ms: Option<i64>,
    started: i64,
}

pub struct FlowRow {
    path: String,
    flow: i32,
    kind: String,
    outcome: String,
    started: i64,
    ended: i64,
    tenant: Option<String>,
    client_id: Option<String>,
    user: Option<String>,
    correlation_ids: Vec<String>,
    exchanges: i32,
    aadsts: Vec<i64>,
    regions: Vec<String>,
    mfa: Vec<MfaRow>,
}

pub struct FindingRow {
    path: String,
    finding: i32,
    kind: String,
    severity: String,
    code: Option<i64>,
    flow: Option<i32>,
    time: Option<i64>,
    correlation_id: Option<String>,
    request_id: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    user: Option<String>,
    ests_server: Option<String>,
    title: String,
}

/// One trace's rows in the three tables.
pub struct Rows {
    trace: TraceRow,
    flows: Vec<FlowRow>,
    findings: Vec<FindingRow>,
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn int32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Rows {
    /// The rows of one trace; an error comes redacted.
    pub fn new(meta: &Meta<'_>, result: Result<&Session, &TraceError>, r: &Redactor) -> Rows {
        let path = meta.path.to_string();
        let mut trace = TraceRow {
            path: path.clone(),
            size: i64::try_from(meta.size).unwrap_or(i64::MAX),
            elapsed_ms: meta.elapsed_ms,
            keylogs: meta.keylogs.to_vec(),
            format: None,
            producer: None,
            counts: None,
            input_warnings: Vec::new(),
            started: None,
            ended: None,
            error: None,
        };
        let session = match result {
            Ok(s) => s,
            Err(e) => {
                // Already redacted (`Record`'s error).
                trace.error = Some(e.clone());
                return Rows {
                    trace,
                    flows: Vec::new(),
                    findings: Vec::new(),
                };
            }
        };
        fill_trace(&mut trace, session, r);
        let analysis = &session.analysis;
        let flows = analysis
            .flows
            .iter()
            .map(|f| flow_row(&path, f, &analysis.steps, r))
            .collect();
        let findings = session
            .findings
            .iter()
            .map(|f| finding_row(&path, f, r))
            .collect();
        Rows {
            trace,
            flows,
            findings,
        }
    }

    /// Approximate memory held while waiting to be written.
    pub fn held_bytes(&self) -> usize {
        256 + self.trace.path.len() + self.flows.len() * 512 + self.findings.len() * 512
    }
}

/// The analysis facts of a trace that was read: format, producer, input
/// warnings, counts and time span.
fn fill_trace(trace: &mut TraceRow, session: &Session, r: &Redactor) {
    let analysis = &session.analysis;
    let summary = crate::report::json::summary(session);
    if let Some(input) = session.inputs.first() {
        trace.format = Some(input.format.name().to_string());
        trace.producer = input.summary.producer.as_deref().map(|p| text(r, p));
    }
    trace.input_warnings = session
        .inputs
        .iter()
        .flat_map(|i| {
            i.summary
                .warnings
                .iter()
                .map(|w| w.code.as_str().to_string())
        })
        .collect();
    trace.counts = Some([
        int(analysis.steps.len()),
        int(summary.flows),
        int(summary.succeeded),
        int(summary.failed),
        int(summary.incomplete),
        int(summary.errors),
        int(summary.warnings),
        int(summary.infos),
    ]);
    if !analysis.steps.is_empty() {
        trace.started = Some(analysis.trace_start_us);
        trace.ended = Some(analysis.trace_end_us);
    }
}

/// One row of `flows.parquet`.
fn flow_row(path: &str, f: &Flow, steps: &[Step], r: &Redactor) -> FlowRow {
    let mut codes: Vec<i64> = f
        .steps
        .iter()
        .filter_map(|&s| steps.get(s))
        .flat_map(|s| s.aadsts.iter().map(|&c| i64::from(c)))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    FlowRow {
        path: path.to_string(),
        flow: int32(f.id),
        kind: snake(&f.kind),
        outcome: snake(&f.outcome),
        started: f.started_us,
        ended: f.ended_us,
        tenant: opt(r, &f.tenant),
        client_id: opt(r, &f.client_id),
        user: f.user.as_deref().map(|u| r.user(u)),
        correlation_ids: f.correlation_ids.iter().map(|c| text(r, c)).collect(),
        exchanges: int32(f.steps.len()),
        aadsts: codes,
        regions: f.regions.iter().map(|g| text(r, g)).collect(),
        mfa: f
            .mfa
            .iter()
            .map(|a| MfaRow {
                method: opt(r, &a.method),
                result: snake(&a.result),
                polls: int32(a.polls),
                waited_ms: a.waited_ms,
                window_ms: a.window_ms,
                started: a.started_us,
            })
            .collect(),
    }
}

/// One row of `findings.parquet`.
fn finding_row(path: &str, f: &Finding, r: &Redactor) -> FindingRow {
    FindingRow {
        path: path.to_string(),
        finding: int32(f.id),
        kind: f.kind.to_string(),
        severity: f.severity.name().to_string(),
        code: f.code.map(i64::from),
        flow: f.flow.map(int32),
        time: f.time_us,
        correlation_id: opt(r, &f.correlation_id),
        request_id: opt(r, &f.request_id),
        tenant: opt(r, &f.tenant),
        client_id: opt(r, &f.client_id),
        user: f.user.as_deref().map(|u| r.user(u)),
        ests_server: opt(r, &f.ests_server),
        title: r.text(&f.title).into_owned(),
    }
}

/// A trace string, redacted as in the JSON report.
fn text(r: &Redactor, value: &str) -> String {
    r.text(value).into_owned()
}

fn opt(r: &Redactor, value: &Option<String>) -> Option<String> {
    value.as_deref().map(|v| text(r, v))
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

fn mfa_fields() -> Fields {
    Fields::from(vec![
        Field::new("method", DataType::Utf8, true),
        Field::new("result", DataType::Utf8, false),
        Field::new("polls", DataType::Int32, false),
        Field::new("waited_ms", DataType::Float64, false),
        Field::new("window_ms", DataType::Int64, true),
        Field::new("started", timestamp(), false),
    ])
}

fn head_fields() -> Vec<Field> {
    vec![
        Field::new("schema_version", DataType::Int32, false),
        Field::new("path", DataType::Utf8, false),
    ]
}

pub fn traces_schema() -> SchemaRef {
    let mut f = head_fields();
    f.extend([
        Field::new("size", DataType::Int64, false),
        Field::new("elapsed_ms", DataType::Float64, false),
        Field::new("keylogs", list_of(DataType::Utf8), false),
        Field::new("format", DataType::Utf8, true),
        Field::new("producer", DataType::Utf8, true),
    ]);
    for name in [
        "exchanges",
        "flows",
        "flows_succeeded",
        "flows_failed",
        "flows_incomplete",
        "findings_error",
        "findings_warning",
        "findings_info",
    ] {
        f.push(Field::new(name, DataType::Int64, true));
    }
    f.extend([
        Field::new("input_warnings", list_of(DataType::Utf8), false),
        Field::new("started", timestamp(), true),
        Field::new("ended", timestamp(), true),
        Field::new("error_kind", DataType::Utf8, true),
        Field::new("error_message", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(f))
}

pub fn flows_schema() -> SchemaRef {
    let mut f = head_fields();
    f.extend([
        Field::new("flow", DataType::Int32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("started", timestamp(), false),
        Field::new("ended", timestamp(), false),
        Field::new("duration_ms", DataType::Float64, false),
        Field::new("tenant", DataType::Utf8, true),
        Field::new("client_id", DataType::Utf8, true),
        Field::new("user", DataType::Utf8, true),
        Field::new("correlation_ids", list_of(DataType::Utf8), false),
        Field::new("exchanges", DataType::Int32, false),
        Field::new("aadsts", list_of(DataType::Int64), false),
        Field::new("regions", list_of(DataType::Utf8), false),
        Field::new("mfa", list_of(DataType::Struct(mfa_fields())), false),
    ]);
    Arc::new(Schema::new(f))
}

pub fn findings_schema() -> SchemaRef {
    let mut f = head_fields();
    f.extend([
        Field::new("finding", DataType::Int32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("code", DataType::Int64, true),
        Field::new("flow", DataType::Int32, true),
        Field::new("time", timestamp(), true),
        Field::new("correlation_id", DataType::Utf8, true),
        Field::new("request_id", DataType::Utf8, true),
        Field::new("tenant", DataType::Utf8, true),
        Field::new("client_id", DataType::Utf8, true),
        Field::new("user", DataType::Utf8, true),
        Field::new("ests_server", DataType::Utf8, true),
        Field::new("title", DataType::Utf8, false),
    ]);
    Arc::new(Schema::new(f))
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn string_lists<'a, I>(rows: impl Iterator<Item = I>) -> ArrayRef
where
    I: IntoIterator<Item = &'a String>,
{
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for s in row {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn timestamps(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(
        values
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    )
}

fn versions(n: usize) -> ArrayRef {
    Arc::new(Int32Array::from(vec![SCHEMA_VERSION; n]))
}

fn traces_batch(rows: &[TraceRow]) -> Result<RecordBatch, ArrowError> {
    let count = |k: usize| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| r.counts.map(|c| c[k]))
                .collect::<Int64Array>(),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        versions(rows.len()),
        strings(rows.iter().map(|r| Some(r.path.as_str()))),
        Arc::new(rows.iter().map(|r| r.size).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.elapsed_ms).collect::<Float64Array>()),
        string_lists(rows.iter().map(|r| &r.keylogs)),
        strings(rows.iter().map(|r| r.format.as_deref())),
        strings(rows.iter().map(|r| r.producer.as_deref())),
        count(0),
        count(1),
        count(2),
        count(3),
        count(4),
        count(5),
        count(6),
        count(7),
        string_lists(rows.iter().map(|r| &r.input_warnings)),
        timestamps(rows.iter().map(|r| r.started)),
        timestamps(rows.iter().map(|r| r.ended)),
        strings(
            rows.iter()
                .map(|r| r.error.as_ref().map(|e| e.kind.as_str())),
        ),
        strings(
            rows.iter()
                .map(|r| r.error.as_ref().map(|e| e.message.as_str())),
        ),
    ];
    RecordBatch::try_new(traces_schema(), columns)
}

fn flows_batch(rows: &[FlowRow]) -> Result<RecordBatch, ArrowError> {
    let mut codes = ListBuilder::new(Int64Builder::new());
    for r in rows {
        codes.values().append_slice(&r.aadsts);
        codes.append(true);
    }
    let mut mfa = ListBuilder::new(StructBuilder::from_fields(mfa_fields(), 0));
    for r in rows {
        let attempts = mfa.values();
        for a in &r.mfa {
            field::<StringBuilder>(attempts, 0).append_option(a.method.as_deref());
            field::<StringBuilder>(attempts, 1).append_value(&a.result);
            field::<Int32Builder>(attempts, 2).append_value(a.polls);
            field::<Float64Builder>(attempts, 3).append_value(a.waited_ms);
            field::<Int64Builder>(attempts, 4).append_option(a.window_ms);
            field::<TimestampMicrosecondBuilder>(attempts, 5).append_value(a.started);
            attempts.append(true);
        }
        mfa.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        versions(rows.len()),
        strings(rows.iter().map(|r| Some(r.path.as_str()))),
        Arc::new(rows.iter().map(|r| r.flow).collect::<Int32Array>()),
        strings(rows.iter().map(|r| Some(r.kind.as_str()))),
        strings(rows.iter().map(|r| Some(r.outcome.as_str()))),
        timestamps(rows.iter().map(|r| Some(r.started))),
        timestamps(rows.iter().map(|r| Some(r.ended))),
        Arc::new(
            rows.iter()
                .map(|r| (r.ended - r.started) as f64 / 1000.0)
                .collect::<Float64Array>(),
        ),
        strings(rows.iter().map(|r| r.tenant.as_deref())),
        strings(rows.iter().map(|r| r.client_id.as_deref())),
        strings(rows.iter().map(|r| r.user.as_deref())),
        string_lists(rows.iter().map(|r| &r.correlation_ids)),
        Arc::new(rows.iter().map(|r| r.exchanges).collect::<Int32Array>()),
        Arc::new(codes.finish()),
        string_lists(rows.iter().map(|r| &r.regions)),
        Arc::new(mfa.finish()),
    ];
    RecordBatch::try_new(flows_schema(), columns)
}

fn field<T: ArrayBuilder>(b: &mut StructBuilder, i: usize) -> &mut T {
    b.field_builder::<T>(i)
        .expect("the MFA struct's builders match its fields")
}

fn findings_batch(rows: &[FindingRow]) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        versions(rows.len()),
        strings(rows.iter().map(|r| Some(r.path.as_str()))),
        Arc::new(rows.iter().map(|r| r.finding).collect::<Int32Array>()),
        strings(rows.iter().map(|r| Some(r.kind.as_str()))),
        strings(rows.iter().map(|r| Some(r.severity.as_str()))),
        Arc::new(rows.iter().map(|r| r.code).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.flow).collect::<Int32Array>()),
        timestamps(rows.iter().map(|r| r.time)),
        strings(rows.iter().map(|r| r.correlation_id.as_deref())),
        strings(rows.iter().map(|r| r.request_id.as_deref())),
        strings(rows.iter().map(|r| r.tenant.as_deref())),
        strings(rows.iter().map(|r| r.client_id.as_deref())),
        strings(rows.iter().map(|r| r.user.as_deref())),
        strings(rows.iter().map(|r| r.ests_server.as_deref())),
        strings(rows.iter().map(|r| Some(r.title.as_str()))),
    ];
    RecordBatch::try_new(findings_schema(), columns)
}

/// One table: rows collected into batches and written to `NAME.parquet.partial`,
/// renamed to `NAME.parquet` at the end.
struct Table<R> {
    writer: ArrowWriter<File>,
    rows: Vec<R>,
    partial: PathBuf,
    done: PathBuf,
    batch: fn(&[R]) -> Result<RecordBatch, ArrowError>,
}

impl<R> Table<R> {
    fn create(
        dir: &Path,
        name: &str,
        schema: SchemaRef,
        batch: fn(&[R]) -> Result<RecordBatch, ArrowError>,
    ) -> Result<Self, String> {
        let done = dir.join(format!("{name}.parquet"));
        let partial = dir.join(format!("{name}.parquet.partial"));
        let file = File::create(&partial)
            .map_err(|e| format!("{}: cannot create: {e}", partial.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(64 * BATCH_ROWS))
            .set_created_by(format!("aadtrace {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| format!("{}: {e}", partial.display()))?;
        Ok(Table {
            writer,
            rows: Vec::new(),
            partial,
            done,
            batch,
        })
    }

    fn push(&mut self, rows: impl IntoIterator<Item = R>) -> Result<(), String> {
        self.rows.extend(rows);
        if self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch =
            (self.batch)(&self.rows).map_err(|e| format!("{}: {e}", self.partial.display()))?;
        self.rows.clear();
        self.writer
            .write(&batch)
            .map_err(|e| format!("cannot write {}: {e}", self.partial.display()))
    }

    fn close(mut self) -> Result<(), String> {
        self.flush()?;
        self.writer
            .close()
            .map_err(|e| format!("cannot write {}: {e}", self.partial.display()))?;
        std::fs::rename(&self.partial, &self.done).map_err(|e| {
            format!(
                "cannot rename {} to {}: {e}",
                self.partial.display(),
                self.done.display()
            )
        })
    }
}

/// Writes the three tables into a directory.
pub struct Writer {
    traces: Table<TraceRow>,
    flows: Table<FlowRow>,
    findings: Table<FindingRow>,
}

impl Writer {
    pub fn create(dir: &Path) -> Result<Writer, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        Ok(Writer {
            traces: Table::create(dir, "traces", traces_schema(), traces_batch)?,
            flows: Table::create(dir, "flows", flows_schema(), flows_batch)?,
            findings: Table::create(dir, "findings", findings_schema(), findings_batch)?,
        })
    }
}

impl Writer {
    /// Adds one trace's rows.
    pub fn push(&mut self, rows: Rows) -> Result<(), String> {
        let Rows {
            trace,
            flows,
            findings,
        } = rows;
        self.traces.push([trace])?;
        self.flows.push(flows)?;
        self.findings.push(findings)
    }

    pub fn close(self) -> Result<(), String> {
        let Writer {
            traces,
            flows,
            findings,
        } = self;
        traces.close()?;
        flows.close()?;
        findings.close()
    }
}
