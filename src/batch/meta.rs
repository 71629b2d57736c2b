//! The fields every output of one trace starts with (NDJSON line, Parquet row).
//! Below `record.rs` and the writers, so the
//! writers need not know the record that carries their output.

/// The fields every output starts with.
pub struct Meta<'a> {
    pub path: &'a str,
    pub size: u64,
    pub elapsed_ms: f64,
    pub keylogs: &'a [String],
}
