//! The batch progress bar on standard error: traces done of the total, bytes,
//! throughput, ETA and errors so far. The ETA comes from bytes done over bytes
//! in total, not traces: one large capture among many small HARs would
//! otherwise make it wrong by minutes. Drawn only on a terminal and without
//! `--quiet`; updated by the thread that receives results.

use std::cell::Cell;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plan::Plan;
use super::summary::bytes;
use super::Record;

pub struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
    total_bytes: u64,
    done_bytes: Cell<u64>,
    errors: Cell<usize>,
}

impl Bar {
    pub fn new(plan: &Plan, interactive: bool) -> Bar {
        let total_bytes = plan.traces.iter().map(|t| t.size).sum();
        let bar = interactive.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(plan.traces.len() as u64),
                ProgressDrawTarget::stderr_with_hz(8),
            );
            let template = "{spinner} {pos}/{len} traces [{wide_bar}] {msg}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Bar {
            bar,
            started: Instant::now(),
            total_bytes,
            done_bytes: Cell::new(0),
            errors: Cell::new(0),
        }
    }

    /// One more trace finished (in any order).
    pub fn done(&self, record: &Record) {
        self.done_bytes.set(self.done_bytes.get() + record.size);
        if record.error.is_some() {
            self.errors.set(self.errors.get() + 1);
        }
        let Some(bar) = &self.bar else { return };
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let done = self.done_bytes.get();
        let eta = eta(done, self.total_bytes, secs)
            .map(|s| format!(" · ETA {}", crate::findings::human_duration(s * 1000.0)))
            .unwrap_or_default();
        bar.set_message(format!(
            "{}/{} · {}/s · {} errors{eta}",
            bytes(done),
            bytes(self.total_bytes),
            bytes((done as f64 / secs) as u64),
            self.errors.get()
        ));
        bar.inc(1);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Seconds left at the byte rate so far; `None` before any byte is done.
fn eta(done: u64, total: u64, elapsed_secs: f64) -> Option<f64> {
    if done == 0 || elapsed_secs <= 0.0 {
        return None;
    }
    let rate = done as f64 / elapsed_secs;
    Some(total.saturating_sub(done) as f64 / rate)
}

#[cfg(test)]
mod tests {
    use super::eta;

    #[test]
    fn eta_follows_bytes_not_traces() {
        // 100 MB of 400 MB in 10 s: 30 s left, however many traces that is.
        assert_eq!(eta(100, 400, 10.0), Some(30.0));
        assert_eq!(eta(400, 400, 12.0), Some(0.0));
        assert_eq!(eta(0, 400, 1.0), None);
    }
}
