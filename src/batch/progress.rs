//! The batch progress bar on standard error: traces done of the total, bytes,
//! throughput, ETA and errors so far. Drawn only on a terminal and without
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
            let template = "{spinner} {pos}/{len} traces [{wide_bar}] {msg} · ETA {eta}";
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
        bar.set_message(format!(
            "{}/{} · {}/s · {} errors",
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
