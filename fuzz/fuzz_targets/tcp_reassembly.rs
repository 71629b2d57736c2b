//! Arbitrary segment sequences into the TCP reassembler. Each segment is decoded from
//! 11 input bytes (connection, direction, flags, seq, ack, payload length) with the
//! payload taken from the bytes that follow. Besides not panicking, the handler
//! checks the reassembler's promises: every connection is opened before data, each
//! direction's bytes and gaps arrive in order with nothing after its end, and nothing
//! is delivered that was not sent.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use aadtrace::stream::{ConnId, ConnMeta, ConnStats, Dir, Reassembler, StreamHandler};
use aadtrace::wire::{TcpFlags, TcpSegment};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Check {
    open: HashMap<ConnId, [bool; 2]>,
    delivered: u64,
}

impl StreamHandler for Check {
    fn open(&mut self, meta: &ConnMeta) {
        assert!(
            self.open.insert(meta.id, [false; 2]).is_none(),
            "connection opened twice"
        );
    }
    fn data(&mut self, conn: ConnId, dir: Dir, bytes: &[u8], _frame: u64, _ts: i64) {
        let ended = self.open.get(&conn).expect("data before open")[dir.index()];
        assert!(!ended, "data after the end of its direction");
        assert!(!bytes.is_empty(), "empty data callback");
        self.delivered += bytes.len() as u64;
    }
    fn gap(&mut self, conn: ConnId, dir: Dir, len: u64, _ts: i64) {
        let ended = self.open.get(&conn).expect("gap before open")[dir.index()];
        assert!(!ended, "gap after the end of its direction");
        assert!(len > 0, "empty gap");
    }
    fn end(&mut self, conn: ConnId, dir: Dir, _ts: i64) {
        let halves = self.open.get_mut(&conn).expect("end before open");
        halves[dir.index()] = true;
    }
    fn close(&mut self, meta: &ConnMeta, _stats: &ConnStats) {
        assert!(self.open.remove(&meta.id).is_some(), "close without open");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new();
    let mut h = Check::default();
    let mut sent = 0u64;
    let mut rest = data;
    let mut frame = 0u64;
    let mut ts = 1_000_000i64;
    let hosts = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
    ];
    while rest.len() >= 11 {
        let (head, tail) = rest.split_at(11);
        let conn = head[0] & 3;
        let to_server = head[0] & 4 == 0;
        let f = head[1];
        let seq = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        let ack = u32::from_le_bytes([head[6], head[7], head[8], head[9]]);
        let len = (head[10] as usize).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        let (cport, sport) = (
            40_000 + conn as u16,
            if conn & 2 == 0 { 80 } else { 50_001 },
        );
        let (src, dst, sp, dp) = if to_server {
            (hosts[0], hosts[1], cport, sport)
        } else {
            (hosts[1], hosts[0], sport, cport)
        };
        frame += 1;
        ts += (f >> 5) as i64 * 10_000_000;
        let seg = TcpSegment {
            src,
            dst,
            sport: sp,
            dport: dp,
            seq,
            ack,
            flags: TcpFlags {
                syn: f & 1 != 0,
                ack: f & 2 != 0,
                fin: f & 4 != 0,
                rst: f & 8 != 0,
            },
            payload,
            missing: if f & 16 != 0 { 7 } else { 0 },
            channel: 0,
        };
        sent += payload.len() as u64;
        r.segment(&seg, frame, ts, &mut h);
        rest = tail;
    }
    r.finish(&mut h);
    assert!(h.delivered <= sent, "delivered more than was sent");
    assert!(h.open.is_empty(), "connections left open after finish");
});
