//! Link, network and transport layers: a captured frame becomes TCP segments.
//!
//! Zero-copy views through `etherparse`'s lax slicer (frames cut by snaplen still
//! yield what they hold); the link layers etherparse lacks are unwrapped by hand:
//! BSD null/loopback (LINKTYPE 0/108), Linux SLL2 (276), PKTAP (258), NFLOG (239),
//! and GRE/ERSPAN and IP-in-IP tunnels. IPv4 and IPv6 fragments go through
//! [`defrag::Defragmenter`], whose memory is capped.
//!
//! Only TCP is handed up: everything aadtrace reads (HTTP/1.1, TLS) rides on it.

pub mod defrag;

use std::net::IpAddr;

use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TcpSlice};

/// TCP header flags that matter to reassembly (RFC 9293 §3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One TCP segment, borrowed from the frame (or from a reassembled datagram).
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire but not captured (snaplen cut).
    pub missing: u32,
    /// Capture interface, to key streams (VLANs deliberately not: see `sliced`).
    pub channel: u64,
}

/// Counters of what the wire layer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStats {
    pub frames: u64,
    pub tcp_segments: u64,
    /// Frames whose link type is not understood.
    pub unknown_link: u64,
    /// Frames that did not decode to IP.
    pub not_ip: u64,
    pub fragments: u64,
    pub reassembled: u64,
}

/// Decodes frames into TCP segments; keeps the defragmentation state.
#[derive(Debug, Default)]
pub struct Decoder {
    pub defrag: defrag::Defragmenter,
    pub stats: WireStats,
    /// Link types met that are not understood (first few), for a warning.
    pub unknown_link_types: Vec<u32>,
}

const MAX_DEPTH: u8 = 4;

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one frame; calls `on_tcp` for each TCP segment it carries (at most one,
    /// or one per completed datagram when fragments complete).
    pub fn decode(
        &mut self,
        link_type: u32,
        data: &[u8],
        orig_len: u32,
        ts_us: i64,
        interface: u32,
        on_tcp: &mut dyn FnMut(&TcpSegment<'_>),
    ) {
        self.stats.frames += 1;
        if self.stats.frames.is_multiple_of(4096) {
            self.defrag.evict_older_than(ts_us - defrag::TIMEOUT_US);
        }
        let missing = orig_len.saturating_sub(data.len() as u32);
        let ctx = Ctx {
            ts_us,
            channel: interface as u64,
            missing,
        };
        self.link(link_type, data, ctx, 0, on_tcp);
    }

    fn link(
        &mut self,
        link_type: u32,
        data: &[u8],
        ctx: Ctx,
        depth: u8,
        on_tcp: &mut dyn FnMut(&TcpSegment<'_>),
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match link_type {
            // LINKTYPE_ETHERNET
            1 => {
                if let Ok(p) = LaxSlicedPacket::from_ethernet(data) {
                    self.sliced(p, ctx, depth, on_tcp);
                } else {
                    self.stats.not_ip += 1;
                }
            }
            // LINKTYPE_NULL (host byte order) and LINKTYPE_LOOP (network byte order):
            // a 4-byte address family, then the packet. The IP version nibble decides.
            0 | 108 => match data.get(4..) {
                Some(rest) => self.ip(rest, ctx, depth, on_tcp),
                None => self.stats.not_ip += 1,
            },
            // LINKTYPE_RAW (101, and 12/14 on some BSDs), IPV4 (228), IPV6 (229)
            12 | 14 | 101 | 228 | 229 => self.ip(data, ctx, depth, on_tcp),
            // LINKTYPE_LINUX_SLL: 16-byte header, protocol (EtherType) at 14.
            113 => match (data.get(14..16), data.get(16..)) {
                (Some(p), Some(rest)) => {
                    let et = u16::from_be_bytes([p[0], p[1]]);
                    self.ether(et, rest, ctx, depth, on_tcp)
                }
                _ => self.stats.not_ip += 1,
            },
            // LINKTYPE_LINUX_SLL2: 20-byte header, protocol (EtherType) first.
            276 => match (data.get(0..2), data.get(20..)) {
                (Some(p), Some(rest)) => {
                    let et = u16::from_be_bytes([p[0], p[1]]);
                    self.ether(et, rest, ctx, depth, on_tcp)
                }
                _ => self.stats.not_ip += 1,
            },
            // LINKTYPE_PKTAP (Apple): u32 header length and u32 DLT of what follows,
            // both little-endian (host order of the macOS writers).
            258 => self.pktap(data, ctx, depth, on_tcp),
            // LINKTYPE_NFLOG: 4-byte header, then TLVs (u16 length incl. the 4-byte
            // TLV header, u16 type, host order = little-endian here), padded to 4;
            // type 9 (NFULA_PAYLOAD) is the IP packet.
            239 => self.nflog(data, ctx, depth, on_tcp),
            other => {
                self.stats.unknown_link += 1;
                if self.unknown_link_types.len() < 8 && !self.unknown_link_types.contains(&other) {
                    self.unknown_link_types.push(other);
                }
            }
        }
    }

    /// LINKTYPE_PKTAP (Apple): u32 header length and u32 DLT of what follows,
    /// both little-endian (host order of the macOS writers).
    fn pktap(&mut self, data: &[u8], ctx: Ctx, depth: u8, on_tcp: &mut dyn FnMut(&TcpSegment<'_>)) {
        let (Some(h), Some(t)) = (data.get(0..4), data.get(4..8)) else {
            self.stats.not_ip += 1;
            return;
        };
        let hlen = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let dlt = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        match data.get(hlen..) {
            Some(rest) if hlen >= 8 => self.link(dlt, rest, ctx, depth + 1, on_tcp),
            _ => self.stats.not_ip += 1,
        }
    }

    /// LINKTYPE_NFLOG: 4-byte header, then TLVs (u16 length incl. the 4-byte TLV
    /// header, u16 type, host order = little-endian here), padded to 4; type 9
    /// (NFULA_PAYLOAD) is the IP packet.
    fn nflog(&mut self, data: &[u8], ctx: Ctx, depth: u8, on_tcp: &mut dyn FnMut(&TcpSegment<'_>)) {
        let mut at = 4usize;
        while let Some(h) = data.get(at..at + 4) {
            let len = u16::from_le_bytes([h[0], h[1]]) as usize;
            let ty = u16::from_le_bytes([h[2], h[3]]);
            if len < 4 {
                break;
            }
            if ty == 9 {
                let end = (at + len).min(data.len());
                self.ip(&data[at + 4..end], ctx, depth, on_tcp);
                return;
            }
            at += (len + 3) & !3;
        }
        self.stats.not_ip += 1;
    }

    fn ether(
        &mut self,
        ether_type: u16,
        data: &[u8],
        ctx: Ctx,
        depth: u8,
        on_tcp: &mut dyn FnMut(&TcpSegment<'_>),
    ) {
        let p = LaxSlicedPacket::from_ether_type(EtherType(ether_type), data);
        self.sliced(p, ctx, depth, on_tcp);
    }

    fn ip(&mut self, data: &[u8], ctx: Ctx, depth: u8, on_tcp: &mut dyn FnMut(&TcpSegment<'_>)) {
        match LaxSlicedPacket::from_ip(data) {
            Ok(p) => self.sliced(p, ctx, depth, on_tcp),
            Err(_) => self.stats.not_ip += 1,
        }
    }

    fn sliced(
        &mut self,
        p: LaxSlicedPacket<'_>,
        mut ctx: Ctx,
        depth: u8,
        on_tcp: &mut dyn FnMut(&TcpSegment<'_>),
    ) {
        // VLAN ids are deliberately not part of the channel: mirrored traffic is often
        // tagged in one direction only, and tshark does not key streams on them.
        let (src, dst, payload, frag) = match &p.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                let h = v4.header();
                let frag = if v4.payload().fragmented {
                    Some(defrag::FragInfo {
                        id: h.identification() as u32,
                        offset: h.fragments_offset().byte_offset() as usize,
                        more: h.more_fragments(),
                    })
                } else {
                    None
                };
                (
                    IpAddr::V4(h.source_addr()),
                    IpAddr::V4(h.destination_addr()),
                    v4.payload(),
                    frag,
                )
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                let h = v6.header();
                let mut frag = None;
                if v6.payload().fragmented {
                    for ext in v6.extensions().clone().into_iter() {
                        if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
                            frag = Some(defrag::FragInfo {
                                id: f.identification(),
                                offset: f.fragment_offset().byte_offset() as usize,
                                more: f.more_fragments(),
                            });
                        }
                    }
                }
                (
                    IpAddr::V6(h.source_addr()),
                    IpAddr::V6(h.destination_addr()),
                    v6.payload(),
                    frag,
                )
            }
            _ => {
                self.stats.not_ip += 1;
                return;
            }
        };
        let ip_number = payload.ip_number;
        if payload.fragmented {
            self.stats.fragments += 1;
            let Some(frag) = frag else { return };
            let key = defrag::FragKey {
                src,
                dst,
                id: frag.id,
                proto: ip_number.0,
                channel: ctx.channel,
            };
            if let Some(whole) = self.defrag.add(key, frag, payload.payload, ctx.ts_us) {
                self.stats.reassembled += 1;
                let inner = Ctx { missing: 0, ..ctx };
                self.transport(src, dst, ip_number, &whole, inner, depth, on_tcp);
            }
            return;
        }
        if !payload.incomplete {
            ctx.missing = 0;
        }
        self.transport(src, dst, ip_number, payload.payload, ctx, depth, on_tcp);
    }

    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        ip_number: IpNumber,
        payload: &[u8],
        ctx: Ctx,
        depth: u8,
        on_tcp: &mut dyn FnMut(&TcpSegment<'_>),
    ) {
        match ip_number {
            IpNumber::TCP => {
                let Ok(tcp) = TcpSlice::from_slice(payload) else {
                    return;
                };
                self.stats.tcp_segments += 1;
                on_tcp(&TcpSegment {
                    src,
                    dst,
                    sport: tcp.source_port(),
                    dport: tcp.destination_port(),
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    flags: TcpFlags {
                        syn: tcp.syn(),
                        ack: tcp.ack(),
                        fin: tcp.fin(),
                        rst: tcp.rst(),
                    },
                    payload: tcp.payload(),
                    missing: ctx.missing,
                    channel: ctx.channel,
                });
            }
            // IP in IP (RFC 2003) and IPv6 in IPv4 (RFC 4213).
            IpNumber(4) | IpNumber(41) => self.ip(payload, ctx, depth + 1, on_tcp),
            // GRE (RFC 2784/2890): flags+version, protocol type, optional fields.
            IpNumber::GRE => self.gre(payload, ctx, depth + 1, on_tcp),
            _ => {}
        }
    }

    fn gre(&mut self, data: &[u8], ctx: Ctx, depth: u8, on_tcp: &mut dyn FnMut(&TcpSegment<'_>)) {
        let Some(h) = data.get(0..4) else { return };
        let flags = h[0];
        let proto = u16::from_be_bytes([h[2], h[3]]);
        let mut at = 4;
        if flags & 0x80 != 0 {
            at += 4; // checksum + reserved
        }
        if flags & 0x20 != 0 {
            at += 4; // key
        }
        if flags & 0x10 != 0 {
            at += 4; // sequence number
        }
        let Some(inner) = data.get(at..) else { return };
        match proto {
            // ERSPAN type II: 8-byte header, then the mirrored Ethernet frame.
            0x88be => {
                if let Some(f) = inner.get(8..) {
                    self.link(1, f, ctx, depth, on_tcp)
                }
            }
            // ERSPAN type III: 12-byte header (+8 with the O flag), then Ethernet.
            0x22eb => {
                let o = inner.get(11).map(|b| b & 1 == 1).unwrap_or(false);
                if let Some(f) = inner.get(if o { 20 } else { 12 }..) {
                    self.link(1, f, ctx, depth, on_tcp)
                }
            }
            // Transparent Ethernet bridging.
            0x6558 => self.link(1, inner, ctx, depth, on_tcp),
            et => self.ether(et, inner, ctx, depth, on_tcp),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Ctx {
    ts_us: i64,
    channel: u64,
    missing: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_frame(payload: &[u8], seq: u32) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(50000, 80, seq, 1000)
            .ack(7);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn collect(link: u32, data: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        d.decode(link, data, data.len() as u32, 0, 0, &mut |s| {
            out.push((s.sport, s.dport, s.seq, s.payload.to_vec()))
        });
        out
    }

    #[test]
    fn ethernet_tcp() {
        let f = tcp_frame(b"GET / HTTP/1.1\r\n", 5);
        assert_eq!(
            collect(1, &f),
            vec![(50000, 80, 5, b"GET / HTTP/1.1\r\n".to_vec())]
        );
    }

    #[test]
    fn null_sll_sll2_and_raw() {
        let f = tcp_frame(b"x", 1);
        let ip = &f[14..];
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(ip);
        assert_eq!(collect(0, &null).len(), 1);
        assert_eq!(collect(101, ip).len(), 1);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        assert_eq!(collect(113, &sll).len(), 1);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        assert_eq!(collect(276, &sll2).len(), 1);
        assert!(collect(9999, ip).is_empty());
    }

    #[test]
    fn vlan_and_garbage() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv6([1; 16], [2; 16], 5)
            .tcp(1, 2, 3, 4);
        let mut f = Vec::new();
        b.write(&mut f, b"abc").unwrap();
        assert_eq!(collect(1, &f), vec![(1, 2, 3, b"abc".to_vec())]);
        for n in 0..f.len() {
            let _ = collect(1, &f[..n]);
            let _ = collect(0, &f[..n]);
            let _ = collect(239, &f[..n]);
            let _ = collect(258, &f[..n]);
        }
    }

    #[test]
    fn ipv4_fragments_reassemble() {
        // Build a whole IPv4/TCP datagram, then cut its payload into two fragments.
        let f = tcp_frame(&[b'a'; 40], 9);
        let ip = &f[14..];
        let payload = &ip[20..]; // TCP header + data (60 bytes)
        let mk = |off: usize, more: bool, part: &[u8]| {
            let mut h = ip[..20].to_vec();
            let total = (20 + part.len()) as u16;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&fo.to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let cs = etherparse::Ipv4HeaderSlice::from_slice(&h)
                .unwrap()
                .to_header()
                .calc_header_checksum();
            h[10..12].copy_from_slice(&cs.to_be_bytes());
            h.extend_from_slice(part);
            h
        };
        let a = mk(0, true, &payload[..32]);
        let b = mk(32, false, &payload[32..]);
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for frag in [&b, &a] {
            d.decode(101, frag, frag.len() as u32, 0, 0, &mut |s| {
                got.push(s.payload.to_vec())
            });
        }
        assert_eq!(got, vec![vec![b'a'; 40]]);
        assert_eq!(d.stats.reassembled, 1);
    }
}
