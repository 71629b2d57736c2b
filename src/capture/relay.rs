//! The HTTP half of the packet pipeline on a second thread.
//!
//! Reading a capture is two halves of about the same weight: frames, IP and TCP
//! reassembly on one side; TLS decryption and HTTP parsing on the other. A
//! [`Relay`] stands where the HTTP parsers stood for the stream layer: it records
//! every event the reassembler hands it (and the pipeline's frame boundaries,
//! whole exchanges and key-log secrets) in batches, with the stream bytes copied
//! into the batch, and a second thread replays them, in the same order, into the
//! [`Replay`] handler that would otherwise have run here. Nothing flows back to
//! the stream layer, so the handler sees exactly the calls it would have seen on
//! one thread, and the exchanges it completes come back through a channel in the
//! order it completed them: the output is the same either way.
//!
//! Batches go through a bounded channel ([`DEPTH`] batches of about
//! [`BATCH_BYTES`]) and come back emptied for reuse, so the memory in flight is
//! bounded and stays the same pages.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use crate::http::Exchange;
use crate::stream::{ConnId, ConnMeta, ConnStats, Dir, StreamHandler};

/// Stream bytes per batch, about.
const BATCH_BYTES: usize = 1 << 20;
/// Events per batch, at most (frames without payload make events but no bytes).
const BATCH_EVENTS: usize = 16 << 10;
/// Batches on their way to the second thread.
const DEPTH: usize = 4;

/// What the second thread runs: the stream handler, plus what the pipeline does
/// around each frame.
pub(super) trait Replay: StreamHandler + Send + 'static {
    /// A frame at `ts_us` is about to be decoded.
    fn frame_begins(&mut self, ts_us: i64);
    /// The frame's segments were all handed over; completed exchanges may go to
    /// `sink`.
    fn frame_ends(&mut self, sink: &mut dyn FnMut(Exchange<'static>));
    /// An exchange a non-packet record carried whole.
    fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'static>));
    /// Key-log text of a Decryption Secrets Block.
    fn add_secrets(&mut self, text: &str, name: &str);
}

/// One call, recorded. Stream bytes are a range of the batch's `bytes`; the
/// rare large calls are boxed so a batch's events stay small.
enum Event {
    FrameBegins(i64),
    FrameEnds,
    Open(Box<ConnMeta>),
    Data {
        conn: ConnId,
        dir: Dir,
        at: usize,
        len: usize,
        frame: u64,
        ts_us: i64,
    },
    Gap {
        conn: ConnId,
        dir: Dir,
        len: u64,
        ts_us: i64,
    },
    End {
        conn: ConnId,
        dir: Dir,
        ts_us: i64,
    },
    Close(Box<(ConnMeta, ConnStats)>),
    Exchange(Box<Exchange<'static>>),
    Secrets(Box<(String, String)>),
}

#[derive(Default)]
struct Batch {
    events: Vec<Event>,
    bytes: Vec<u8>,
}

/// The recording side, on the reading thread.
pub(super) struct Relay<H: Replay> {
    batch: Batch,
    /// `None` once the second thread has stopped (it panicked: [`Relay::finish`]
    /// passes the panic on).
    to_worker: Option<SyncSender<Batch>>,
    emptied: Receiver<Batch>,
    completed: Receiver<Exchange<'static>>,
    /// A batch went out since exchanges were last handed on.
    sent_since_delivery: bool,
    worker: JoinHandle<H>,
}

impl<H: Replay> Relay<H> {
    /// Starts the second thread with `handler`; gives the handler back when no
    /// thread can be started (the caller then keeps it on its own thread).
    pub fn start(handler: H) -> Result<Self, H> {
        let (to_worker, batches) = sync_channel::<Batch>(DEPTH);
        const _: () = assert!(std::mem::size_of::<Event>() <= 48);
        let (give_back, emptied) = channel::<Batch>();
        let (done, completed) = channel::<Exchange<'static>>();
        // The handler moves to the thread only once it has started; the slot
        // hands it back if it could not.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(handler)));
        let theirs = std::sync::Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                let handler = theirs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("the handler is handed over once");
                drop(theirs);
                replay(handler, batches, give_back, done)
            });
        match spawned {
            Ok(worker) => Ok(Relay {
                batch: Batch::default(),
                to_worker: Some(to_worker),
                emptied,
                completed,
                sent_since_delivery: false,
                worker,
            }),
            Err(_) => Err(slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("the thread never started")),
        }
    }

    pub fn frame_begins(&mut self, ts_us: i64) {
        self.record(Event::FrameBegins(ts_us));
    }

    /// Ends a frame; exchanges the second thread has completed so far go to
    /// `sink`.
    pub fn frame_ends(&mut self, sink: &mut dyn FnMut(Exchange<'static>)) {
        self.record(Event::FrameEnds);
        if self.sent_since_delivery {
            self.sent_since_delivery = false;
            self.deliver(sink);
        }
    }

    pub fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'static>)) {
        self.record(Event::Exchange(Box::new(ex)));
        self.deliver(sink);
    }

    pub fn add_secrets(&mut self, text: &str, name: &str) {
        self.record(Event::Secrets(Box::new((
            text.to_string(),
            name.to_string(),
        ))));
    }

    /// Replays what is left, waits for the second thread, hands every exchange
    /// it completed to `sink`, and gives the handler back. A panic of the second
    /// thread is passed on here, as if the handler had run on this thread.
    pub fn finish(mut self, sink: &mut dyn FnMut(Exchange<'static>)) -> H {
        self.send();
        self.to_worker = None;
        let Relay {
            worker, completed, ..
        } = self;
        let handler = match worker.join() {
            Ok(handler) => handler,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        for ex in completed.try_iter() {
            sink(ex);
        }
        handler
    }

    /// Records a call; a full batch goes to the second thread (at any call: the
    /// connections the reassembler closes at the end of the input come without
    /// frames).
    fn record(&mut self, event: Event) {
        self.batch.events.push(event);
        if self.batch.bytes.len() >= BATCH_BYTES || self.batch.events.len() >= BATCH_EVENTS {
            self.send();
            self.sent_since_delivery = true;
        }
    }

    fn send(&mut self) {
        if self.batch.events.is_empty() {
            return;
        }
        let spare = self.emptied.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, spare);
        if let Some(to_worker) = &self.to_worker {
            if to_worker.send(batch).is_err() {
                // The second thread stopped; `finish` reports why.
                self.to_worker = None;
            }
        }
    }

    fn deliver(&mut self, sink: &mut dyn FnMut(Exchange<'static>)) {
        while let Ok(ex) = self.completed.try_recv() {
            sink(ex);
        }
    }
}

impl<H: Replay> StreamHandler for Relay<H> {
    fn open(&mut self, meta: &ConnMeta) {
        self.record(Event::Open(Box::new(*meta)));
    }

    fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], frame: u64, ts_us: i64) {
        let at = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(bytes);
        self.record(Event::Data {
            conn,
            dir,
            at,
            len: bytes.len(),
            frame,
            ts_us,
        });
    }

    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, ts_us: i64) {
        self.record(Event::Gap {
            conn,
            dir,
            len,
            ts_us,
        });
    }

    fn end(&mut self, conn: ConnId, dir: Dir, ts_us: i64) {
        self.record(Event::End { conn, dir, ts_us });
    }

    fn close(&mut self, meta: &ConnMeta, stats: &ConnStats) {
        self.record(Event::Close(Box::new((*meta, *stats))));
    }
}

/// The second thread: every batch replayed in order, then the handler back.
fn replay<H: Replay>(
    mut handler: H,
    batches: Receiver<Batch>,
    give_back: Sender<Batch>,
    done: Sender<Exchange<'static>>,
) -> H {
    let mut sink = |ex: Exchange<'static>| {
        // The reading thread only stops listening when it is done with us.
        let _ = done.send(ex);
    };
    for mut batch in batches {
        let Batch { events, bytes } = &mut batch;
        for event in events.drain(..) {
            apply(&mut handler, event, bytes, &mut sink);
        }
        bytes.clear();
        let _ = give_back.send(batch);
    }
    handler
}

fn apply<H: Replay>(
    handler: &mut H,
    event: Event,
    bytes: &[u8],
    sink: &mut dyn FnMut(Exchange<'static>),
) {
    match event {
        Event::FrameBegins(ts_us) => handler.frame_begins(ts_us),
        Event::FrameEnds => handler.frame_ends(sink),
        Event::Open(meta) => handler.open(&meta),
        Event::Data {
            conn,
            dir,
            at,
            len,
            frame,
            ts_us,
        } => handler.data(conn, dir, &bytes[at..at + len], frame, ts_us),
        Event::Gap {
            conn,
            dir,
            len,
            ts_us,
        } => handler.gap(conn, dir, len, ts_us),
        Event::End { conn, dir, ts_us } => handler.end(conn, dir, ts_us),
        Event::Close(closed) => handler.close(&closed.0, &closed.1),
        Event::Exchange(ex) => handler.exchange(*ex, sink),
        Event::Secrets(secrets) => handler.add_secrets(&secrets.0, &secrets.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Exchange, Origin, Request, Timing};
    use std::borrow::Cow;
    use std::net::SocketAddr;

    /// Writes down every call, and completes an exchange at every tenth frame end.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        frames: u64,
    }

    fn exchange(n: u64) -> Exchange<'static> {
        Exchange {
            request: Request {
                method: Cow::Borrowed("GET"),
                url: Cow::Owned(format!("https://login.live.com/{n}")),
                ..Request::default()
            },
            response: None,
            error: None,
            timing: Timing::default(),
            origin: Origin { input: 0, index: n },
            connection: None,
            server_ip: None,
        }
    }

    impl StreamHandler for Recorder {
        fn open(&mut self, meta: &ConnMeta) {
            self.calls.push(format!("open {:?}", meta.id));
        }
        fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], frame: u64, ts_us: i64) {
            self.calls
                .push(format!("data {conn:?} {dir:?} {bytes:?} {frame} {ts_us}"));
        }
        fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, ts_us: i64) {
            self.calls
                .push(format!("gap {conn:?} {dir:?} {len} {ts_us}"));
        }
        fn end(&mut self, conn: ConnId, dir: Dir, ts_us: i64) {
            self.calls.push(format!("end {conn:?} {dir:?} {ts_us}"));
        }
        fn close(&mut self, meta: &ConnMeta, stats: &ConnStats) {
            self.calls
                .push(format!("close {:?} {}", meta.id, stats.reset));
        }
    }

    impl Replay for Recorder {
        fn frame_begins(&mut self, ts_us: i64) {
            self.calls.push(format!("frame {ts_us}"));
        }
        fn frame_ends(&mut self, sink: &mut dyn FnMut(Exchange<'static>)) {
            self.frames += 1;
            if self.frames.is_multiple_of(10) {
                sink(exchange(self.frames));
            }
        }
        fn exchange(&mut self, ex: Exchange<'static>, sink: &mut dyn FnMut(Exchange<'static>)) {
            self.calls.push(format!("exchange {}", ex.request.url));
            sink(ex);
        }
        fn add_secrets(&mut self, text: &str, name: &str) {
            self.calls.push(format!("secrets {text} {name}"));
        }
    }

    /// The same calls, made on `handler` as a pipeline would make them.
    fn drive<H: StreamHandler>(
        handler: &mut H,
        secrets: &mut dyn FnMut(&mut H, &str, &str),
        frame_begins: &mut dyn FnMut(&mut H, i64),
        frame_ends: &mut dyn FnMut(&mut H),
        exchange: &mut dyn FnMut(&mut H, Exchange<'static>),
    ) {
        let addr: SocketAddr = "10.0.0.1:443".parse().unwrap();
        let meta = |id| ConnMeta {
            id,
            client: addr,
            server: addr,
            channel: 0,
            started_us: 0,
            syn_seen: true,
        };
        let conns: Vec<ConnId> = (0..3).collect();
        secrets(handler, "CLIENT_RANDOM a b", "dsb");
        for &c in &conns {
            handler.open(&meta(c));
        }
        // Enough frames and bytes for many batches.
        for n in 0..60_000u64 {
            frame_begins(handler, n as i64);
            let c = conns[(n % 3) as usize];
            let dir = Dir::from_index((n % 2) as usize);
            let payload = vec![(n % 251) as u8; (n % 97) as usize];
            handler.data(c, dir, &payload, n, n as i64);
            if n % 1000 == 7 {
                handler.gap(c, dir, n, n as i64);
            }
            if n % 20_000 == 9 {
                exchange(handler, super::tests::exchange(1_000_000 + n));
            }
            frame_ends(handler);
        }
        for &c in &conns {
            handler.end(c, Dir::ToServer, 1);
            handler.close(&meta(c), &ConnStats::default());
        }
    }

    #[test]
    fn the_second_thread_sees_every_call_in_order_and_exchanges_come_back_in_order() {
        let mut direct = Recorder::default();
        let direct_out = std::cell::RefCell::new(Vec::new());
        drive(
            &mut direct,
            &mut |h, text, name| h.add_secrets(text, name),
            &mut |h, ts| h.frame_begins(ts),
            &mut |h| h.frame_ends(&mut |ex| direct_out.borrow_mut().push(ex.origin.index)),
            &mut |h, ex| {
                Replay::exchange(h, ex, &mut |ex| {
                    direct_out.borrow_mut().push(ex.origin.index)
                })
            },
        );
        let direct_out = direct_out.into_inner();

        let mut relay = Relay::start(Recorder::default()).ok().expect("thread");
        let mut relayed_out = Vec::new();
        {
            let out = std::cell::RefCell::new(&mut relayed_out);
            drive(
                &mut relay,
                &mut |r, text, name| r.add_secrets(text, name),
                &mut |r, ts| r.frame_begins(ts),
                &mut |r| r.frame_ends(&mut |ex| out.borrow_mut().push(ex.origin.index)),
                &mut |r, ex| {
                    Relay::exchange(r, ex, &mut |ex| out.borrow_mut().push(ex.origin.index))
                },
            );
        }
        let relayed = relay.finish(&mut |ex| relayed_out.push(ex.origin.index));
        assert!(
            direct.calls.len() > 2 * BATCH_EVENTS,
            "{}",
            direct.calls.len()
        );
        assert_eq!(relayed.calls, direct.calls);
        assert_eq!(relayed_out, direct_out);
        assert_eq!(direct_out.len(), 6_000 + 3);
    }
}
