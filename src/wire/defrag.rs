//! IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) reassembly with memory caps.
//!
//! Each datagram under reassembly is kept as a list of pieces; it completes when the
//! last fragment (MF clear) has arrived and the pieces cover `0..total` without a
//! hole. Overlapping pieces: the first received wins (RFC 5722 says drop the whole
//! IPv6 datagram; keeping the first is what the analyser needs to show something).
//!
//! Caps: [`MAX_DATAGRAMS`] datagrams, [`MAX_BYTES`] bytes in total, 65,535 bytes per
//! datagram, [`MAX_PIECES`] pieces per datagram; the oldest datagram is evicted first,
//! and datagrams older than [`TIMEOUT_US`] are dropped.

use std::collections::HashMap;
use std::net::IpAddr;

pub const MAX_DATAGRAMS: usize = 4096;
pub const MAX_BYTES: usize = 32 << 20;
pub const MAX_PIECES: usize = 256;
pub const TIMEOUT_US: i64 = 60_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
    pub channel: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct FragInfo {
    pub id: u32,
    /// Offset of this fragment's data in bytes.
    pub offset: usize,
    pub more: bool,
}

#[derive(Debug)]
struct Datagram {
    pieces: Vec<(usize, Vec<u8>)>,
    total: Option<usize>,
    bytes: usize,
    first_ts: i64,
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: HashMap<FragKey, Datagram>,
    bytes: usize,
    /// Datagrams dropped for caps, timeouts or bad fragments.
    pub dropped: u64,
}

impl Defragmenter {
    /// Adds a fragment; returns the whole payload when the datagram completes.
    pub fn add(
        &mut self,
        key: FragKey,
        info: FragInfo,
        data: &[u8],
        ts_us: i64,
    ) -> Option<Vec<u8>> {
        let end = info.offset.checked_add(data.len())?;
        if end > 65_535 {
            self.dropped += 1;
            self.remove(&key);
            return None;
        }
        while self.bytes + data.len() > MAX_BYTES
            || (self.pending.len() >= MAX_DATAGRAMS && !self.pending.contains_key(&key))
        {
            if !self.evict_oldest() {
                break;
            }
        }
        let d = self.pending.entry(key).or_insert_with(|| Datagram {
            pieces: Vec::new(),
            total: None,
            bytes: 0,
            first_ts: ts_us,
        });
        if !info.more {
            d.total = Some(end);
        }
        if d.pieces.len() >= MAX_PIECES {
            self.dropped += 1;
            self.remove(&key);
            return None;
        }
        let parts = uncovered(&d.pieces, info.offset, end);
        for (a, b) in parts {
            let bytes = data[a - info.offset..b - info.offset].to_vec();
            d.bytes += bytes.len();
            self.bytes += bytes.len();
            d.pieces.push((a, bytes));
        }
        let total = d.total?;
        d.pieces.sort_by_key(|p| p.0);
        if !covers(&d.pieces, total) {
            return None;
        }
        let d = self.pending.remove(&key)?;
        self.bytes -= d.bytes;
        Some(assemble(d.pieces, total))
    }

    fn remove(&mut self, key: &FragKey) {
        if let Some(d) = self.pending.remove(key) {
            self.bytes -= d.bytes;
        }
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(key) = self
            .pending
            .iter()
            .min_by_key(|(_, d)| d.first_ts)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        self.dropped += 1;
        self.remove(&key);
        true
    }

    /// Drops datagrams whose first fragment came before `ts_us`.
    pub fn evict_older_than(&mut self, ts_us: i64) {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, d| {
            let keep = d.first_ts >= ts_us;
            if !keep {
                freed += d.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.dropped += (before - self.pending.len()) as u64;
    }

    /// Bytes held in incomplete datagrams.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// First received wins: the parts of `offset..end` that no piece covers yet.
fn uncovered(pieces: &[(usize, Vec<u8>)], offset: usize, end: usize) -> Vec<(usize, usize)> {
    let mut parts = vec![(offset, end)];
    for (s, p) in pieces {
        let e = s + p.len();
        let mut next = Vec::new();
        for (a, b) in parts {
            if b <= *s || a >= e {
                next.push((a, b));
            } else {
                if a < *s {
                    next.push((a, *s));
                }
                if b > e {
                    next.push((e, b));
                }
            }
        }
        parts = next;
    }
    parts
}

/// True when pieces sorted by offset leave no hole before `total`.
fn covers(pieces: &[(usize, Vec<u8>)], total: usize) -> bool {
    let mut covered = 0;
    for (s, p) in pieces {
        if *s > covered {
            return false;
        }
        covered = covered.max(s + p.len());
    }
    covered >= total
}

/// The datagram's payload from its pieces (bytes past `total` are dropped).
fn assemble(pieces: Vec<(usize, Vec<u8>)>, total: usize) -> Vec<u8> {
    let mut out = vec![0u8; total];
    for (s, p) in pieces {
        let e = (s + p.len()).min(total);
        if s < e {
            out[s..e].copy_from_slice(&p[..e - s]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragKey {
        FragKey {
            src: IpAddr::from([1, 1, 1, 1]),
            dst: IpAddr::from([2, 2, 2, 2]),
            id: 1,
            proto: 6,
            channel: 0,
        }
    }

    #[test]
    fn out_of_order_overlap_first_wins() {
        let mut d = Defragmenter::default();
        let f = |o, m| FragInfo {
            id: 1,
            offset: o,
            more: m,
        };
        assert!(d.add(key(), f(24, false), b"CCCCCCCC", 0).is_none());
        assert!(d.add(key(), f(0, true), b"AAAAAAAAAAAAAAAA", 0).is_none());
        // overlaps the first piece: its first 8 bytes must be ignored
        let out = d.add(key(), f(8, true), b"xxxxxxxxBBBBBBBB", 0).unwrap();
        assert_eq!(&out, b"AAAAAAAAAAAAAAAABBBBBBBBCCCCCCCC");
        assert_eq!(d.bytes(), 0);
    }

    #[test]
    fn caps_and_timeouts() {
        let mut d = Defragmenter::default();
        for i in 0..(MAX_DATAGRAMS as u32 + 10) {
            let k = FragKey { id: i, ..key() };
            d.add(
                k,
                FragInfo {
                    id: i,
                    offset: 0,
                    more: true,
                },
                b"12345678",
                i as i64,
            );
        }
        assert!(d.pending() <= MAX_DATAGRAMS);
        d.evict_older_than(i64::MAX);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.bytes(), 0);
        assert!(d
            .add(
                key(),
                FragInfo {
                    id: 1,
                    offset: 65_530,
                    more: false
                },
                b"123456789",
                0
            )
            .is_none());
    }
}
