//! TLS key logs for a batch: every key log the plan found (beside a trace, inside
//! an archive, or given with `--keylog`) is listed once, parsed the first time a
//! trace needs it, and shared by every trace that names it.
//!
//! A key log that cannot be read is not a failure of the batch: each packet
//! capture that names it gets a `keylog_unreadable` warning, and is read with the
//! key logs that could be.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::capture::keylog::KeyLog;
use crate::capture::{InputWarning, WarningCode};

/// Where a key log's bytes are.
#[derive(Debug)]
pub enum KeyData {
    /// A file on disk, read when first needed.
    File(PathBuf),
    /// An archive member, read while the archive was listed.
    Bytes(Arc<[u8]>),
    /// An archive member that could not be read: why.
    Failed(String),
}

#[derive(Debug)]
struct Entry {
    /// As shown in results: a file path, or `ARCHIVE!/MEMBER`.
    shown: String,
    data: KeyData,
    parsed: OnceLock<Result<Arc<KeyLog>, String>>,
}

/// The key logs of a plan, each listed once.
#[derive(Debug, Default)]
pub struct KeyLogs {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

impl KeyLogs {
    /// The id of the key log shown as `shown`, listing it with `data()` the first
    /// time it is seen.
    pub fn intern(&mut self, shown: String, data: impl FnOnce() -> KeyData) -> usize {
        if let Some(&id) = self.by_name.get(&shown) {
            return id;
        }
        let id = self.entries.len();
        self.by_name.insert(shown.clone(), id);
        self.entries.push(Entry {
            shown,
            data: data(),
            parsed: OnceLock::new(),
        });
        id
    }

    /// The name shown for key log `id`.
    pub fn shown(&self, id: usize) -> &str {
        self.entries.get(id).map_or("", |e| e.shown.as_str())
    }

    /// The keys for a trace that names key logs `ids`, merged in that order (the
    /// first value for a client random wins, as with several `--keylog`), and a
    /// warning for each one that could not be read.
    pub fn for_trace(&self, ids: &[usize]) -> (Option<Arc<KeyLog>>, Vec<InputWarning>) {
        let mut warnings = Vec::new();
        let mut loaded: Vec<Arc<KeyLog>> = Vec::new();
        for &id in ids {
            let Some(entry) = self.entries.get(id) else {
                continue;
            };
            match entry.parsed.get_or_init(|| parse(entry)) {
                Ok(log) => loaded.push(Arc::clone(log)),
                Err(message) => warnings.push(InputWarning::new(
                    WarningCode::KeylogUnreadable,
                    format!("{}: cannot read the key log: {message}", entry.shown),
                )),
            }
        }
        let keys = match loaded.len() {
            0 => None,
            // The common case: one key log, shared without copying.
            1 => loaded.pop(),
            _ => {
                let mut merged = KeyLog::new();
                for log in &loaded {
                    merged.merge(log);
                }
                Some(Arc::new(merged))
            }
        };
        (keys, warnings)
    }
}

fn parse(entry: &Entry) -> Result<Arc<KeyLog>, String> {
    let mut log = KeyLog::new();
    match &entry.data {
        KeyData::File(path) => log.load_file(path).map_err(|e| e.to_string())?,
        KeyData::Bytes(bytes) => log.add_text(&String::from_utf8_lossy(bytes), &entry.shown),
        KeyData::Failed(message) => return Err(message.clone()),
    }
    Ok(Arc::new(log))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 \
        020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202\n";

    #[test]
    fn shared_merged_and_unreadable() {
        let mut logs = KeyLogs::default();
        let a = logs.intern("a.keys".into(), || KeyData::Bytes(LINE.as_bytes().into()));
        let again = logs.intern("a.keys".into(), || KeyData::Failed("not used".into()));
        assert_eq!(a, again, "listed once");
        let bad = logs.intern("x!/b.keys".into(), || KeyData::Failed("cut short".into()));
        let missing = logs.intern("/nonexistent/k.log".into(), || {
            KeyData::File("/nonexistent/k.log".into())
        });
        let (one, w) = logs.for_trace(&[a]);
        assert!(w.is_empty());
        let (same, _) = logs.for_trace(&[a]);
        assert!(Arc::ptr_eq(one.as_ref().unwrap(), same.as_ref().unwrap()));
        let (keys, w) = logs.for_trace(&[bad, a, missing]);
        assert_eq!(keys.unwrap().sessions(), 1);
        let codes: Vec<&str> = w.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["keylog_unreadable", "keylog_unreadable"]);
        assert!(w[0].message.contains("x!/b.keys") && w[0].message.contains("cut short"));
        let (none, w) = logs.for_trace(&[missing]);
        assert!(none.is_none() && w.len() == 1);
    }
}
