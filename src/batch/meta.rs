//! The fields every output of one trace starts with (NDJSON line, Parquet row), and
//! the snake_case naming they share. Below `record.rs` and the writers, so the
//! writers need not know the record that carries their output.

/// The fields every output starts with.
pub struct Meta<'a> {
    pub path: &'a str,
    pub size: u64,
    pub elapsed_ms: f64,
    pub keylogs: &'a [String],
}

/// The snake_case name serde gives a unit enum variant.
pub fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
