//! Running a plan: a rayon pool of `--jobs` threads, largest traces first, under a
//! memory budget, with results handed back in path order.
//!
//! One dispatcher thread decides what starts next; the pool analyses; the calling
//! thread receives results, keeps the ones that finished early, and emits them in
//! plan order. The budget counts each started trace at its estimated cost and each
//! finished-but-unwritten result at its own size, so results waiting for a slow
//! earlier trace cannot pile up without bound either.
//!
//! What starts next, under one lock:
//! 1. the trace the writer waits for (the head), if it has not started and fits;
//! 2. else the largest trace left that fits;
//! 3. else the next member of the compressed tar being streamed (one too large to
//!    hold in memory; see [`super::plan`]), if it fits;
//! 4. else, when nothing is running, one trace regardless of size (toward the head
//!    first), so a trace bigger than the budget runs alone and the batch always
//!    makes progress;
//! 5. else wait for a trace to finish or a result to be written.
//!
//! Members of a streamed compressed tar can only be read in stream order: the
//! dispatcher reads each one into memory when it is admitted and hands the bytes
//! over.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

use super::member;
use super::plan::{Archive, ArchiveKind, Plan, Trace, TraceSource};
use super::{Record, TraceError};

/// What the dispatcher hands a worker with a trace.
pub enum Loaded {
    /// The worker reads the trace itself (files, zip members, plain tar members).
    Lazy,
    /// A compressed tar member, already read in stream order.
    Bytes(Result<Vec<u8>, TraceError>),
}

/// A started trace's estimated memory: 1.2× its size, plus a fixed overhead.
pub fn cost(size: u64) -> u64 {
    size.saturating_add(size / 5).saturating_add(64 << 10)
}

struct State {
    used: u64,
    in_flight: usize,
    /// The next plan index the writer will emit.
    head: usize,
    cancelled: bool,
}

struct Budget {
    limit: u64,
    state: Mutex<State>,
    changed: Condvar,
}

enum Decision<T> {
    Take(T, u64),
    Wait,
    Stop,
}

impl Budget {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `decide` takes something (admitting its cost) or stops.
    fn admit<T>(&self, mut decide: impl FnMut(&State, u64) -> Decision<T>) -> Option<T> {
        let mut st = self.lock();
        loop {
            if st.cancelled {
                return None;
            }
            match decide(&st, self.limit) {
                Decision::Take(t, cost) => {
                    st.used = st.used.saturating_add(cost);
                    st.in_flight += 1;
                    return Some(t);
                }
                Decision::Stop => return None,
                Decision::Wait => {
                    st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// A trace finished: its cost is replaced by the size of its waiting result.
    fn finished(&self, cost: u64, held: u64) {
        let mut st = self.lock();
        st.used = st.used.saturating_sub(cost).saturating_add(held);
        st.in_flight -= 1;
        drop(st);
        self.changed.notify_all();
    }

    /// A result was written; `head` is the next index the writer waits for.
    fn written(&self, held: u64, head: usize) {
        let mut st = self.lock();
        st.used = st.used.saturating_sub(held);
        st.head = head;
        drop(st);
        self.changed.notify_all();
    }

    fn cancel(&self) {
        self.lock().cancelled = true;
        self.changed.notify_all();
    }

    fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }
}

enum Pick {
    Random(usize),
    Stream,
}

/// Runs every trace of `plan` through `work` on `jobs` threads. `arrived` sees each
/// result as it finishes (for progress); `emit` gets them in plan order and returns
/// false to stop the batch (the output cannot be written).
pub fn execute(
    plan: &Plan,
    jobs: usize,
    limit: u64,
    work: &(dyn Fn(usize, Loaded) -> Record + Sync),
    arrived: &mut dyn FnMut(&Record),
    emit: &mut dyn FnMut(Record) -> bool,
) -> std::io::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("aadtrace-batch-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let budget = Budget {
        limit: limit.max(1),
        state: Mutex::new(State {
            used: 0,
            in_flight: 0,
            head: 0,
            cancelled: false,
        }),
        changed: Condvar::new(),
    };
    let (tx, rx) = mpsc::channel::<(usize, Record)>();
    std::thread::scope(|s| {
        let budget = &budget;
        let pool = &pool;
        let dispatcher = std::thread::Builder::new()
            .name("aadtrace-dispatch".to_string())
            .spawn_scoped(s, move || {
                pool.in_place_scope(|scope| dispatch(scope, plan, budget, work, tx))
            })?;
        let mut pending: BTreeMap<usize, Record> = BTreeMap::new();
        let mut next = 0;
        for (index, record) in rx {
            arrived(&record);
            pending.insert(index, record);
            while let Some(record) = pending.remove(&next) {
                let held = record.held_bytes();
                let go_on = emit(record);
                next += 1;
                budget.written(held, next);
                if !go_on {
                    budget.cancel();
                }
            }
        }
        dispatcher
            .join()
            .map_err(|_| std::io::Error::other("the batch dispatcher failed"))
    })
}

fn dispatch<'s>(
    scope: &rayon::Scope<'s>,
    plan: &'s Plan,
    budget: &'s Budget,
    work: &'s (dyn Fn(usize, Loaded) -> Record + Sync),
    tx: mpsc::Sender<(usize, Record)>,
) {
    let traces = &plan.traces;
    let cost_of = |i: usize| cost(traces[i].size);
    let mut dispatched = vec![false; traces.len()];
    let (random, streams) = queues(traces);
    let mut next_random = 0;

    let spawn = |index: usize, loaded: Loaded| {
        let tx = tx.clone();
        let cost = cost_of(index);
        scope.spawn(move |_| {
            if budget.is_cancelled() {
                budget.finished(cost, 0);
                return;
            }
            let record = work(index, loaded);
            budget.finished(cost, record.held_bytes());
            let _ = tx.send((index, record));
        });
    };

    // Picks the next trace; `stream` is the compressed-tar member next in line.
    let mut pick = |dispatched: &[bool], stream: Option<usize>| {
        budget.admit(|st, limit| {
            while next_random < random.len() && dispatched[random[next_random]] {
                next_random += 1;
            }
            let largest = random.get(next_random).copied();
            if largest.is_none() && stream.is_none() {
                return Decision::Stop;
            }
            decide(traces, dispatched, st, limit, largest, stream)
        })
    };

    // Dispatches random-access traces until the stream member `index` may go;
    // `false` when the batch stops.
    let mut turn = |dispatched: &mut [bool], index: usize| {
        loop {
            match pick(dispatched, Some(index)) {
                None => return false,
                Some(Pick::Random(i)) => {
                    dispatched[i] = true;
                    spawn(i, Loaded::Lazy);
                }
                Some(Pick::Stream) => break,
            }
        }
        dispatched[index] = true;
        true
    };

    for (archive, mut members) in streams {
        members.sort_unstable();
        let archive = &plan.archives[archive];
        let mut turn_of = |index: usize| turn(&mut dispatched, index);
        if !stream_archive(
            archive,
            &members,
            traces,
            budget.limit,
            &mut turn_of,
            &spawn,
        ) {
            return;
        }
    }
    while let Some(choice) = pick(&dispatched, None) {
        if let Pick::Random(i) = choice {
            dispatched[i] = true;
            spawn(i, Loaded::Lazy);
        }
    }
}

/// The members of each compressed tar, by archive: (ordinal in the stream, plan index).
type Streams = BTreeMap<usize, Vec<(usize, usize)>>;

/// The two queues of a plan: random-access traces, largest first, and the
/// members of each compressed tar by archive (ordinal in the stream, plan index).
fn queues(traces: &[Trace]) -> (Vec<usize>, Streams) {
    let mut random: Vec<usize> = (0..traces.len())
        .filter(|&i| !matches!(traces[i].source, TraceSource::TarStream { .. }))
        .collect();
    random.sort_by(|&a, &b| traces[b].size.cmp(&traces[a].size).then(a.cmp(&b)));
    let mut streams = Streams::new();
    for (i, t) in traces.iter().enumerate() {
        if let TraceSource::TarStream { archive, ordinal } = t.source {
            streams.entry(archive).or_default().push((ordinal, i));
        }
    }
    (random, streams)
}

/// Sends the members of one compressed tar (`members`: ordinal in the stream and
/// plan index, in stream order), each read when its turn comes; `false` when the
/// batch stops.
fn stream_archive(
    archive: &Archive,
    members: &[(usize, usize)],
    traces: &[Trace],
    limit: u64,
    turn: &mut dyn FnMut(usize) -> bool,
    spawn: &dyn Fn(usize, Loaded),
) -> bool {
    let opened = std::fs::File::open(&archive.path).map(|f| {
        tar::Archive::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            f,
        )))
    });
    let mut tar = match opened {
        Ok(t) => t,
        Err(e) => {
            // Every member gets the error, in its turn.
            let error = TraceError::io(&archive.name, &e);
            for &(_, index) in members {
                if !turn(index) {
                    return false;
                }
                spawn(index, Loaded::Bytes(Err(error.clone())));
            }
            return true;
        }
    };
    debug_assert!(matches!(archive.kind, ArchiveKind::TarGz));
    let mut entries = super::archive::tar_regular_files(&mut tar).ok();
    let mut position = 0usize;
    for &(ordinal, index) in members {
        if !turn(index) {
            return false;
        }
        let size = traces[index].size;
        let data = match entries.as_mut() {
            Some(entries) => read_member(entries, &mut position, ordinal, size, limit)
                .map_err(|e| TraceError::archive(format!("{}: {e}", traces[index].path))),
            None => Err(TraceError::archive(format!(
                "{}: cannot read the archive",
                archive.name
            ))),
        };
        spawn(index, Loaded::Bytes(data));
    }
    true
}

/// Which trace goes next, given the largest random-access trace not yet
/// dispatched and the compressed-tar member next in line: the writer's head
/// first when it fits (or nothing runs), then the largest that fits, then
/// whatever moves toward the head once the pool is idle.
fn decide(
    traces: &[Trace],
    dispatched: &[bool],
    st: &State,
    limit: u64,
    largest: Option<usize>,
    stream: Option<usize>,
) -> Decision<Pick> {
    let n = traces.len();
    let is_random = |i: usize| !matches!(traces[i].source, TraceSource::TarStream { .. });
    let cost_of = |i: usize| cost(traces[i].size);
    let fits = |i: usize| st.used.saturating_add(cost_of(i)) <= limit;
    let idle = st.in_flight == 0;
    let head = st.head;
    let head_waiting = head < n && !dispatched[head];
    if head_waiting {
        if stream == Some(head) && (fits(head) || idle) {
            return Decision::Take(Pick::Stream, cost_of(head));
        }
        if is_random(head) && (fits(head) || idle) {
            return Decision::Take(Pick::Random(head), cost_of(head));
        }
    }
    if let Some(r) = largest.filter(|&r| fits(r)) {
        return Decision::Take(Pick::Random(r), cost_of(r));
    }
    if let Some(t) = stream.filter(|&t| fits(t)) {
        return Decision::Take(Pick::Stream, cost_of(t));
    }
    if idle {
        let toward_head = head_waiting && !is_random(head);
        match (stream, largest) {
            (Some(t), _) if toward_head => return Decision::Take(Pick::Stream, cost_of(t)),
            (_, Some(r)) => return Decision::Take(Pick::Random(r), cost_of(r)),
            (Some(t), None) => return Decision::Take(Pick::Stream, cost_of(t)),
            (None, None) => {}
        }
    }
    Decision::Wait
}

/// Reads regular file number `ordinal` of a tar stream positioned at `position`,
/// whole. One larger than [`member::whole_limit`] of the budget is refused: it
/// would be inflated whole, past the budget.
fn read_member<'a, R: Read + 'a>(
    entries: &mut impl Iterator<Item = std::io::Result<tar::Entry<'a, R>>>,
    position: &mut usize,
    ordinal: usize,
    size: u64,
    budget: u64,
) -> std::io::Result<Vec<u8>> {
    let limit = member::whole_limit(budget);
    if size > limit {
        return Err(std::io::Error::other(member::too_large(size, limit)));
    }
    while *position < ordinal {
        entries
            .next()
            .unwrap_or_else(|| Err(std::io::Error::other("the archive ended early")))?;
        *position += 1;
    }
    let mut entry = entries
        .next()
        .unwrap_or_else(|| Err(std::io::Error::other("the archive ended early")))?;
    *position += 1;
    // The header's size is exact (the entry reads no further): one allocation.
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.read_to_end(&mut data)?;
    Ok(data)
}
