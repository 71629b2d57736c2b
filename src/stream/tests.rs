use super::*;
use crate::wire::{TcpFlags, TcpSegment};

#[derive(Default)]
struct Rec {
    opened: Vec<ConnMeta>,
    /// Per (conn, dir): bytes with gaps filled by `None`.
    streams: HashMap<(ConnId, Dir), Vec<Option<u8>>>,
    frames: HashMap<(ConnId, Dir), Vec<u64>>,
    ended: Vec<(ConnId, Dir)>,
    closed: Vec<(ConnMeta, ConnStats)>,
}

impl StreamHandler for Rec {
    fn open(&mut self, meta: &ConnMeta) {
        self.opened.push(*meta);
    }
    fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], frame: u64, _ts: i64) {
        let s = self.streams.entry((conn, dir)).or_default();
        s.extend(bytes.iter().map(|b| Some(*b)));
        self.frames
            .entry((conn, dir))
            .or_default()
            .extend(std::iter::repeat_n(frame, bytes.len()));
    }
    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, _ts: i64) {
        let s = self.streams.entry((conn, dir)).or_default();
        s.extend(std::iter::repeat_n(None, len as usize));
        self.frames
            .entry((conn, dir))
            .or_default()
            .extend(std::iter::repeat_n(0, len as usize));
    }
    fn end(&mut self, conn: ConnId, dir: Dir, _ts: i64) {
        self.ended.push((conn, dir));
    }
    fn close(&mut self, meta: &ConnMeta, stats: &ConnStats) {
        self.closed.push((*meta, *stats));
    }
}

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

fn seg<'a>(
    from_client: bool,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &'a [u8],
) -> TcpSegment<'a> {
    let (src, dst, sport, dport) = if from_client {
        (C, S, 40000, 80)
    } else {
        (S, C, 80, 40000)
    };
    TcpSegment {
        src: IpAddr::from(src),
        dst: IpAddr::from(dst),
        sport,
        dport,
        seq,
        ack,
        flags,
        payload,
        missing: 0,
        channel: 0,
    }
}

fn data_flags() -> TcpFlags {
    TcpFlags {
        ack: true,
        ..TcpFlags::default()
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Splits `msg` into segments starting at `isn + 1`, returns (seq, bytes) pieces.
fn cut(msg: &[u8], isn: u32, rng: &mut Lcg) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < msg.len() {
        let n = (1 + rng.next() as usize % 40).min(msg.len() - at);
        out.push((
            isn.wrapping_add(1).wrapping_add(at as u32),
            msg[at..at + n].to_vec(),
        ));
        at += n;
    }
    out
}

fn run(isn: u32, shuffle: bool, dup: bool, drop_one: bool, seed: u64) {
    let mut rng = Lcg(seed);
    let msg: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut pieces = cut(&msg, isn, &mut rng);
    let dropped = if drop_one && pieces.len() > 2 {
        let i = 1 + rng.next() as usize % (pieces.len() - 2);
        Some(pieces.remove(i))
    } else {
        None
    };
    if dup {
        let extra: Vec<_> = pieces
            .iter()
            .filter(|_| rng.next().is_multiple_of(4))
            .cloned()
            .collect();
        pieces.extend(extra);
    }
    if shuffle {
        for i in (1..pieces.len()).rev() {
            let j = rng.next() as usize % (i + 1);
            pieces.swap(i, j);
        }
    }
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, isn, 0, syn, b""), 1, 0, &mut h);
    for (k, (seq, bytes)) in pieces.iter().enumerate() {
        r.segment(
            &seg(true, *seq, 1, data_flags(), bytes),
            10 + k as u64,
            k as i64,
            &mut h,
        );
    }
    r.finish(&mut h);
    let got = h.streams.remove(&(0, Dir::ToServer)).unwrap_or_default();
    let total_len = match &dropped {
        // A dropped last-but-not-final piece: the end is still known.
        Some(_) => msg.len(),
        None => msg.len(),
    };
    assert_eq!(got.len(), total_len, "seed {seed}");
    for (i, b) in got.iter().enumerate() {
        match b {
            Some(v) => assert_eq!(*v, msg[i], "byte {i} seed {seed}"),
            None => {
                let (s, d) = dropped.as_ref().expect("a gap without a dropped segment");
                let off = s.wrapping_sub(isn.wrapping_add(1)) as usize;
                assert!(i >= off && i < off + d.len(), "gap at {i} seed {seed}");
            }
        }
    }
    let stats = h.closed[0].1;
    assert_eq!(
        stats.half[0].bytes + stats.half[0].gap_bytes,
        msg.len() as u64
    );
    if dropped.is_none() {
        assert_eq!(stats.half[0].gap_bytes, 0);
    }
}

#[test]
fn in_order() {
    run(1000, false, false, false, 1);
}

#[test]
fn shuffled_duplicated_dropped_and_wrapping() {
    for seed in 0..200u64 {
        let isn = if seed % 2 == 0 {
            u32::MAX - 500
        } else {
            seed as u32 * 7919
        };
        run(isn, true, seed % 3 == 0, seed % 5 == 0, seed);
        run(isn, false, true, seed % 2 == 0, seed + 1000);
    }
}

#[test]
fn first_wins_on_overlap() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, 99, 0, syn, b""), 1, 0, &mut h);
    r.segment(&seg(true, 105, 0, data_flags(), b"FGHIJ"), 2, 0, &mut h);
    r.segment(&seg(true, 100, 0, data_flags(), b"abcdefgh"), 3, 0, &mut h);
    r.segment(&seg(true, 100, 0, data_flags(), b"ABCDE"), 4, 0, &mut h);
    r.finish(&mut h);
    let got: Vec<u8> = h.streams[&(0, Dir::ToServer)]
        .iter()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(&got, b"abcdeFGHIJ");
    assert_eq!(
        h.frames[&(0, Dir::ToServer)],
        vec![3, 3, 3, 3, 3, 2, 2, 2, 2, 2]
    );
    assert!(h.closed[0].1.half[0].retransmitted >= 8);
}

#[test]
fn midstream_start_and_roles() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    // Server data seen first, no SYN: port 80 still makes it the server.
    r.segment(
        &seg(false, 5000, 77, data_flags(), b"HTTP/1.1 200 OK\r\n"),
        1,
        0,
        &mut h,
    );
    r.segment(
        &seg(true, 77, 5017, data_flags(), b"GET / HTTP/1.1\r\n"),
        2,
        0,
        &mut h,
    );
    r.finish(&mut h);
    assert_eq!(h.opened.len(), 1);
    assert_eq!(h.opened[0].server.port(), 80);
    assert!(!h.opened[0].syn_seen);
    assert_eq!(h.streams[&(0, Dir::ToClient)].len(), 17);
    assert_eq!(h.streams[&(0, Dir::ToServer)].len(), 16);
}

#[test]
fn acked_hole_becomes_gap_early_and_rst_closes() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, 0, 0, syn, b""), 1, 0, &mut h);
    r.segment(&seg(true, 1, 0, data_flags(), b"aaaa"), 2, 0, &mut h);
    r.segment(&seg(true, 9, 0, data_flags(), b"cccc"), 3, 0, &mut h);
    // Server acks everything up to 13: bytes 5..9 were lost by the capture.
    r.segment(&seg(false, 0, 13, data_flags(), b""), 4, 0, &mut h);
    let s = &h.streams[&(0, Dir::ToServer)];
    assert_eq!(s.len(), 12);
    assert!(s[4..8].iter().all(|b| b.is_none()));
    let rst = TcpFlags {
        rst: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(false, 0, 13, rst, b""), 5, 0, &mut h);
    assert_eq!(h.closed.len(), 1);
    assert!(h.closed[0].1.reset);
    // Stray segments after the reset open nothing.
    r.segment(&seg(true, 13, 0, data_flags(), b""), 6, 0, &mut h);
    r.finish(&mut h);
    assert_eq!(h.opened.len(), 1);
}

#[test]
fn port_reuse_new_isn_is_new_connection() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, 0, 0, syn, b""), 1, 0, &mut h);
    r.segment(&seg(true, 0, 0, syn, b""), 2, 0, &mut h); // SYN retransmission
    r.segment(&seg(true, 1, 0, data_flags(), b"one"), 3, 0, &mut h);
    r.segment(&seg(true, 5000, 0, syn, b""), 4, 10, &mut h);
    r.segment(&seg(true, 5001, 0, data_flags(), b"two"), 5, 10, &mut h);
    r.finish(&mut h);
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.streams[&(1, Dir::ToServer)].len(), 3);
}

#[test]
fn pending_memory_is_capped() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, 0, 0, syn, b""), 1, 0, &mut h);
    let chunk = vec![7u8; 60_000];
    // Never send byte 1: everything queues behind the hole.
    let mut seq = 2u32;
    for f in 0..200 {
        r.segment(&seg(true, seq, 0, data_flags(), &chunk), f + 2, 0, &mut h);
        seq = seq.wrapping_add(chunk.len() as u32);
        assert!(r.pending_bytes() <= MAX_PENDING_PER_DIR + chunk.len());
    }
    r.finish(&mut h);
    assert_eq!(r.pending_bytes(), 0);
    let s = &h.streams[&(0, Dir::ToServer)];
    assert_eq!(s.len(), 1 + 200 * 60_000);
    assert!(s[0].is_none());
}

/// Found by `fuzz/fuzz_targets/tcp_reassembly.rs`: a retransmitted segment cut by
/// snaplen whose captured part lies wholly before the delivered offset.
#[test]
fn snaplen_cut_retransmission_past_its_captured_bytes() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    r.segment(
        &seg(true, 1000, 0, data_flags(), b"0123456789"),
        1,
        1,
        &mut h,
    );
    let mut cut = seg(true, 1000, 0, data_flags(), b"0123");
    cut.missing = 10; // 14 bytes on the wire, 4 captured, 10 already delivered
    r.segment(&cut, 2, 2, &mut h);
    r.finish(&mut h);
    let s = &h.streams[&(0, Dir::ToServer)];
    assert_eq!(&s[..10], b"0123456789".map(Some).as_slice());
    assert_eq!(
        s.len(),
        14,
        "the 4 uncaptured bytes past the data are a gap"
    );
}

/// Found by the same fuzz target: bytes after a FIN are neither delivered nor
/// reported as a gap once the direction has ended.
#[test]
fn nothing_follows_the_end_of_a_direction() {
    let mut r = Reassembler::new();
    let mut h = Rec::default();
    let fin = TcpFlags {
        fin: true,
        ack: true,
        ..TcpFlags::default()
    };
    r.segment(&seg(true, 1000, 0, fin, b"abc"), 1, 1, &mut h);
    assert_eq!(h.ended, [(0, Dir::ToServer)]);
    r.segment(&seg(true, 1003, 0, data_flags(), b"late"), 2, 2, &mut h);
    r.segment(&seg(true, 1010, 0, data_flags(), b"later"), 3, 3, &mut h);
    r.finish(&mut h);
    assert_eq!(h.streams[&(0, Dir::ToServer)], b"abc".map(Some));
}
