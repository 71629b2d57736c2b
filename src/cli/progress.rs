//! The progress bar on standard error: bytes read of the total, exchanges, rate.
//! Shown only on a terminal, and only once a run has taken longer than a moment.

use std::cell::Cell;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::capture::Progress;

/// How long a run goes before the bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(400);

pub struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
    shown: Cell<bool>,
    exchanges: Cell<u64>,
    /// Bytes of the inputs already done, and the position within the current one.
    done: Cell<u64>,
    current: Cell<u64>,
}

impl Bar {
    /// A bar for `total` bytes, drawn on stderr if `interactive`.
    pub fn new(total: Option<u64>, interactive: bool) -> Self {
        let bar = interactive.then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
            let template = if total.is_some() {
                "{spinner} {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec} · {msg}"
            } else {
                "{spinner} {bytes} read · {binary_bytes_per_sec} · {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Bar {
            bar,
            started: Instant::now(),
            shown: Cell::new(false),
            exchanges: Cell::new(0),
            done: Cell::new(0),
            current: Cell::new(0),
        }
    }

    fn reveal_if_slow(&self, bar: &ProgressBar) {
        if !self.shown.get() && self.started.elapsed() > SHOW_AFTER {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
    }

    /// Counts one more exchange.
    pub fn exchange(&self) {
        let n = self.exchanges.get() + 1;
        self.exchanges.set(n);
        if let Some(bar) = &self.bar {
            if n.is_multiple_of(256) {
                self.reveal_if_slow(bar);
                bar.set_message(format!("{n} exchanges"));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn advance_to(&self, bytes_read: u64) {
        self.current.set(bytes_read);
        if let Some(bar) = &self.bar {
            self.reveal_if_slow(bar);
            bar.set_position(self.done.get() + bytes_read);
        }
    }

    fn next_input(&self) {
        self.done.set(self.done.get() + self.current.get());
        self.current.set(0);
    }
}
