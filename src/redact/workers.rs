//! Masking a long run of values (a HAR's entries) on several threads, with
//! the result of one.
//!
//! The values are read in order on the calling thread and gathered in batches
//! of about [`Workers::batch_bytes`]; each batch is cut into one run of
//! consecutive values per worker. Every worker masks its runs with its own copy
//! of the masker ([`Masker::worker`]) and hands back, with the results, what it
//! counted and learnt ([`Masker::take_work`]). The calling thread takes the
//! runs back in their order: it merges each worker's work into the masker
//! ([`Masker::merge`]) and hands the results on, so the receipt, the registry
//! of originals and the output are those of one masker that did every value in
//! turn. While the workers mask one batch, the calling thread reads the next.
//!
//! This holds because masking a value depends only on what the masker learnt
//! before the values are masked (the learning pass is complete before the
//! writing pass), and in the learning pass only what is learnt counts, which
//! the merge replays in order.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::mask::{Masker, Work};

/// At most this many workers, whatever the machine.
const MAX_THREADS: usize = 4;

/// About how many bytes of values one batch holds: enough that a batch's
/// hand-over costs nothing, few enough that the batches in flight stay small.
const BATCH_BYTES: usize = 4 << 20;

/// Values larger than this are masked alone on the calling thread, once the
/// workers are done with what came before: a value is held twice while it is
/// masked (its text and its parsed form, `limits::har_entry`), and several
/// large ones in flight and on every worker at once would hold many times that.
const ALONE_PAST: usize = 8 << 20;

/// Batches handed out and not yet taken back, at most: enough that a worker
/// whose runs were quicker than the others' finds the next one waiting.
const IN_FLIGHT: usize = 3;

/// How many workers mask, and how large their batches are.
#[derive(Debug, Clone, Copy)]
pub struct Workers {
    pub threads: usize,
    pub batch_bytes: usize,
    /// Values larger than this are masked alone, on the calling thread.
    pub alone_past: usize,
}

impl Workers {
    /// One worker per core (up to [`MAX_THREADS`]), or the calling thread
    /// alone when [`crate::capture::ONE_THREAD_ENV`] asks for one thread.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = if crate::capture::one_thread_from_env() {
            1
        } else {
            cores.min(MAX_THREADS)
        };
        Workers {
            threads,
            batch_bytes: BATCH_BYTES,
            alone_past: ALONE_PAST,
        }
    }
}

/// A worker's inbox and outbox.
struct Lane<T, R> {
    jobs: SyncSender<Vec<T>>,
    results: Receiver<(Vec<R>, Work)>,
}

/// Masks every value `next` reads with `work`, handing each result to `done`
/// in the order read. `next` gives a value and its size in bytes. With one
/// thread, everything happens on the calling thread with `masker` itself. An
/// error of `next` or `done` stops the run (the workers finish the batch they
/// hold, and their results are dropped).
pub fn run<T: Send, R: Send, E>(
    masker: &mut Masker,
    workers: Workers,
    mut next: impl FnMut() -> Result<Option<(T, usize)>, E>,
    work: impl Fn(&mut Masker, T) -> R + Sync,
    mut done: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    if workers.threads <= 1 {
        while let Some((value, _)) = next()? {
            done(work(masker, value))?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let lanes: Vec<Lane<T, R>> = (0..workers.threads)
            .map(|_| {
                let (jobs, inbox) = sync_channel::<Vec<T>>(IN_FLIGHT);
                let (outbox, results) = sync_channel(IN_FLIGHT);
                let mut own = masker.worker();
                let work = &work;
                handles.push(scope.spawn(move || {
                    for run in inbox {
                        let out: Vec<R> = run.into_iter().map(|v| work(&mut own, v)).collect();
                        if outbox.send((out, own.take_work())).is_err() {
                            break;
                        }
                    }
                }));
                Lane { jobs, results }
            })
            .collect();
        let result = feed(&lanes, workers, &mut next, &work, masker, &mut done);
        // The workers end when their inboxes close. Each is joined, not only
        // waited for, so that its thread has ended (its thread-locals freed)
        // when this returns; a worker's panic goes on from here.
        drop(lanes);
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        result
    })
}

/// Reads every value with `next` and masks it on `lanes` (or alone, when it is
/// large), handing the results to `done` in order.
fn feed<T, R, E>(
    lanes: &[Lane<T, R>],
    workers: Workers,
    next: &mut impl FnMut() -> Result<Option<(T, usize)>, E>,
    work: &impl Fn(&mut Masker, T) -> R,
    masker: &mut Masker,
    done: &mut impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let mut in_flight: VecDeque<usize> = VecDeque::new();
    let mut batch: Vec<(T, usize)> = Vec::new();
    let mut bytes = 0usize;
    let mut finished = false;
    while !finished {
        let read = match next() {
            Ok(read) => read,
            Err(e) => {
                // What was read before the error is masked and handed on
                // first, as on one thread: an error in it comes first.
                let gathered = std::mem::take(&mut batch);
                settle(lanes, &mut in_flight, gathered, masker, done)?;
                return Err(e);
            }
        };
        match read {
            Some((value, size)) if size > workers.alone_past => {
                let gathered = std::mem::take(&mut batch);
                settle(lanes, &mut in_flight, gathered, masker, done)?;
                bytes = 0;
                // Every value before it is merged: the masker is the one
                // a single thread would have here.
                done(work(masker, value))?;
                continue;
            }
            Some((value, size)) => {
                bytes += size;
                batch.push((value, size));
                if bytes < workers.batch_bytes {
                    continue;
                }
            }
            None => finished = true,
        }
        if !batch.is_empty() {
            in_flight.push_back(hand_out(lanes, std::mem::take(&mut batch)));
            bytes = 0;
        }
        // A few batches with the workers while the next is read; at the end, all.
        let keep = if finished { 0 } else { IN_FLIGHT - 1 };
        while in_flight.len() > keep {
            let used = in_flight.pop_front().unwrap_or(0);
            take_back(&lanes[..used], masker, done)?;
        }
    }
    Ok(())
}

/// Hands out what `batch` gathered and takes back every batch in flight, in
/// order: then every value read so far is merged into `masker`.
fn settle<T, R, E>(
    lanes: &[Lane<T, R>],
    in_flight: &mut VecDeque<usize>,
    batch: Vec<(T, usize)>,
    masker: &mut Masker,
    done: &mut impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    if !batch.is_empty() {
        in_flight.push_back(hand_out(lanes, batch));
    }
    while let Some(used) = in_flight.pop_front() {
        take_back(&lanes[..used], masker, done)?;
    }
    Ok(())
}

/// Cuts `batch` into one run of consecutive values per lane, of about equal
/// bytes, and sends each to its lane. Returns how many lanes got a run (the
/// first ones).
fn hand_out<T, R>(lanes: &[Lane<T, R>], batch: Vec<(T, usize)>) -> usize {
    let bytes: usize = batch.iter().map(|(_, size)| size).sum();
    let share = bytes.div_ceil(lanes.len()).max(1);
    let mut used = 0;
    let mut run = Vec::new();
    let mut run_bytes = 0;
    let mut values = batch.into_iter().peekable();
    while let Some((value, size)) = values.next() {
        run.push(value);
        run_bytes += size;
        let last_lane = used + 1 == lanes.len();
        if (run_bytes >= share && !last_lane) || values.peek().is_none() {
            // A worker that is gone has panicked; its join reports it.
            let _ = lanes[used].jobs.send(std::mem::take(&mut run));
            used += 1;
            run_bytes = 0;
        }
    }
    used
}

/// Takes back one batch from `lanes`, in their order: merges each worker's
/// work into `masker` and hands its results to `done`.
fn take_back<T, R, E>(
    lanes: &[Lane<T, R>],
    masker: &mut Masker,
    done: &mut impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    for lane in lanes {
        // A worker that is gone has panicked; its join reports it.
        let Ok((results, work)) = lane.results.recv() else {
            continue;
        };
        masker.merge(work);
        for r in results {
            done(r)?;
        }
    }
    Ok(())
}
