//! The memory budget of one run, and the caps every reader derives from it.
//!
//! Bytes read straight from an input cost about their own size, which the caller
//! can see (and `batch` admits traces by). What can cost far more than its input
//! is capped here, in one place:
//!
//! * decoded bodies and HPACK header lists held at once by one trace
//!   ([`in_flight`], shared through an [`Allowance`]): a few bytes of gzip or
//!   HPACK can stand for megabytes;
//! * one decoded header list ([`HEADER_LIST`], the RFC 7541 §4.1 size, as HTTP
//!   servers cap `SETTINGS_MAX_HEADER_LIST_SIZE`);
//! * one streamed HAR entry ([`har_entry`]);
//! * texts read whole: key logs and manifests ([`TEXT_FILE`]).
//!
//! `--max-memory` sets the run's budget ([`set_run_budget`], with the number of
//! traces analysed at once); each cap is a share of it, bounded below so a small
//! budget still reads ordinary traces and above so one trace never needs more.
//! A cap that bites is a warning on the trace, never a silent cut.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// `analyze`'s budget when `--max-memory` is not given: safe on a small machine
/// (2 cores, a few GiB), and far above what ordinary traces need.
pub const DEFAULT_RUN: u64 = 2 << 30;

/// Largest decoded header list of one HTTP/2 header block, and of one message
/// (headers and trailers together), in RFC 7541 §4.1 octets (name + value + 32
/// per field).
pub const HEADER_LIST: usize = 256 << 10;

/// Largest key log or manifest read whole; an endless input (`/dev/zero`) stops here.
pub const TEXT_FILE: u64 = 64 << 20;

static RUN: AtomicU64 = AtomicU64::new(DEFAULT_RUN);
static JOBS: AtomicUsize = AtomicUsize::new(1);

/// Sets the run's memory budget and how many traces are analysed at once.
pub fn set_run_budget(bytes: u64, jobs: usize) {
    RUN.store(bytes, Ordering::Relaxed);
    JOBS.store(jobs.max(1), Ordering::Relaxed);
}

/// The run's memory budget in bytes.
pub fn run_budget() -> u64 {
    RUN.load(Ordering::Relaxed)
}

/// One trace's share of the budget, `1/divisor` of it, within `[lo, hi]`.
fn share(divisor: u64, lo: usize, hi: usize) -> usize {
    let jobs = JOBS.load(Ordering::Relaxed) as u64;
    let s = run_budget() / divisor.saturating_mul(jobs).max(1);
    usize::try_from(s).unwrap_or(usize::MAX).clamp(lo, hi)
}

/// Decoded bodies and header lists one trace may hold at once (a quarter of its
/// share of the budget, 16–256 MiB).
pub fn in_flight() -> usize {
    share(4, 16 << 20, 256 << 20)
}

/// Largest streamed HAR (a `.har.gz`, a pipe) held whole, to be read as a
/// file is (a quarter of a trace's share, at least 16 MiB); a larger one is
/// read as a stream, entry by entry, after what was held.
pub fn har_held() -> usize {
    share(4, 16 << 20, usize::MAX)
}

/// Largest HAR entry held whole when a HAR is streamed (a sixteenth of a trace's
/// share, 16–256 MiB: the entry is held twice while it is parsed); a larger one
/// is skipped with a warning.
pub fn har_entry() -> usize {
    share(16, 16 << 20, 256 << 20)
}

/// A share of memory that several parsers of one trace draw from: what they take
/// they give back when the bytes are released. The caller decides what to do when
/// a request is refused, and records it with [`Allowance::cut`] so the trace's
/// reader can turn the cuts into a warning.
#[derive(Debug, Clone)]
pub struct Allowance(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: usize,
    used: AtomicUsize,
    /// What was cut for want of room: a description and how many times.
    cuts: Mutex<BTreeMap<&'static str, u64>>,
}

impl Default for Allowance {
    /// An allowance of [`in_flight`] bytes.
    fn default() -> Self {
        Allowance::new(in_flight())
    }
}

impl Allowance {
    pub fn new(limit: usize) -> Self {
        Allowance(Arc::new(Inner {
            limit,
            used: AtomicUsize::new(0),
            cuts: Mutex::default(),
        }))
    }

    /// Records that something was cut for want of room (`what` in plain words,
    /// such as "decoded bodies cut short").
    pub fn cut(&self, what: &'static str) {
        let mut cuts = self.0.cuts.lock().unwrap_or_else(|p| p.into_inner());
        *cuts.entry(what).or_default() += 1;
    }

    /// Everything cut so far, as `N what` phrases in a stable order.
    pub fn cuts(&self) -> Vec<String> {
        let cuts = self.0.cuts.lock().unwrap_or_else(|p| p.into_inner());
        cuts.iter().map(|(what, n)| format!("{n} {what}")).collect()
    }

    pub fn limit(&self) -> usize {
        self.0.limit
    }

    pub fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    /// Bytes that can still be taken.
    pub fn available(&self) -> usize {
        self.0.limit.saturating_sub(self.used())
    }

    /// Takes `n` bytes if they are all available.
    pub fn take(&self, n: usize) -> bool {
        self.0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(n).filter(|&t| t <= self.0.limit)
            })
            .is_ok()
    }

    /// Takes as much of `n` as is available; returns what was taken.
    pub fn take_up_to(&self, n: usize) -> usize {
        let mut got = 0;
        let _ = self
            .0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                got = n.min(self.0.limit.saturating_sub(u));
                Some(u + got)
            });
        got
    }

    /// Counts `n` bytes already held (they may exceed the limit).
    pub fn charge(&self, n: usize) {
        let _ = self
            .0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_add(n))
            });
    }

    /// Gives back `n` bytes taken or charged before.
    pub fn give(&self, n: usize) {
        let _ = self
            .0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_takes_gives_and_refuses() {
        let a = Allowance::new(100);
        assert!(a.take(60));
        assert!(!a.take(50));
        assert_eq!(a.take_up_to(50), 40);
        assert_eq!(a.available(), 0);
        a.give(30);
        assert_eq!(a.available(), 30);
        a.charge(100);
        assert_eq!(a.used(), 170);
        assert_eq!(a.take_up_to(5), 0);
        a.give(1000);
        assert_eq!(a.used(), 0);
        a.cut("bodies cut");
        a.clone().cut("bodies cut");
        assert_eq!(a.cuts(), vec!["2 bodies cut".to_string()]);
    }

    #[test]
    fn shares_stay_in_bounds() {
        assert!((16 << 20..=256 << 20).contains(&in_flight()));
        assert!((16 << 20..=256 << 20).contains(&har_entry()));
    }
}
