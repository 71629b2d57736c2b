//! Byte-level packet writing: Ethernet/IPv4/TCP frames of a scripted TCP connection,
//! and the pcap, pcapng and Network Monitor 2.3 file formats around them.
//!
//! Formats, as written here:
//!
//! * Ethernet II (IEEE 802.3 §3.2.6 with an EtherType), IPv4 (RFC 791; header
//!   checksum RFC 1071), TCP (RFC 9293; checksum over the RFC 9293 §3.1 pseudo-header).
//!   The SYN and SYN-ACK carry an MSS option (kind 2); other segments have no options.
//! * pcap (draft-ietf-opsawg-pcap §4–5): little-endian, magic `0xA1B2C3D4`
//!   (microseconds), version 2.4, LINKTYPE_ETHERNET (1).
//! * pcapng (draft-ietf-opsawg-pcapng §4): one Section Header Block with
//!   `shb_userappl`, one Interface Description Block (Ethernet, default `if_tsresol`
//!   of microseconds), optionally a Decryption Secrets Block (§4.7) with a TLS key
//!   log, then one Enhanced Packet Block per frame.
//! * Network Monitor 2.3 (NetMon 3.4 help, "Capture File Format"; notes in
//!   `shared/corpus/SOURCES.md`): a 72-byte `GMBU` header, frame records (u64 µs since
//!   the start, u32 wire length, u32 captured length, bytes, then the 2.3 trailer: u16
//!   media type 1, u32 process index, u64 UTC FILETIME, u8 time-zone index), and the
//!   frame table (one u32 file offset per frame) after the last frame.

use std::io::{self, Write};

/// Maximum TCP payload per segment (Ethernet MTU 1,500 − 20 IPv4 − 20 TCP).
pub const MSS: usize = 1460;

/// One captured frame: capture time (µs since the Unix epoch, UTC) and its bytes.
#[derive(Debug, Clone)]
pub struct Packet {
    pub ts_us: i64,
    pub data: Vec<u8>,
}

/// One end of a TCP connection.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
    pub port: u16,
    /// IPv4 time to live as seen by the capturing host.
    pub ttl: u8,
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// A TCP connection between a client and a server, seen from the client's side.
/// Each method appends the frames it sends, in order, to `out`.
#[derive(Debug, Clone)]
pub struct TcpConn {
    pub client: Endpoint,
    pub server: Endpoint,
    /// Next sequence number to send, per side (0 client, 1 server).
    next_seq: [u32; 2],
    /// IPv4 identification, per side.
    ip_id: [u16; 2],
}

impl TcpConn {
    /// A connection with the given initial sequence numbers (client, server).
    pub fn new(client: Endpoint, server: Endpoint, isn: (u32, u32)) -> Self {
        TcpConn {
            client,
            server,
            next_seq: [isn.0, isn.1],
            ip_id: [(isn.0 >> 16) as u16, (isn.1 >> 16) as u16],
        }
    }

    /// The three-way handshake: SYN at `ts_us`, SYN-ACK `rtt_us` later, ACK right after.
    pub fn handshake(&mut self, ts_us: i64, rtt_us: i64, out: &mut Vec<Packet>) {
        let mss = (MSS as u16).to_be_bytes();
        let opts = [2, 4, mss[0], mss[1]];
        self.segment(0, SYN, &opts, &[], ts_us, out);
        self.next_seq[0] = self.next_seq[0].wrapping_add(1);
        self.segment(1, SYN | ACK, &opts, &[], ts_us + rtt_us, out);
        self.next_seq[1] = self.next_seq[1].wrapping_add(1);
        self.segment(0, ACK, &[], &[], ts_us + rtt_us + 40, out);
    }

    /// Sends `data` from one side in segments of at most [`MSS`] bytes. The first
    /// segment leaves at `first_us`, the last at `last_us`, the others spread evenly
    /// between; the last one carries PSH.
    pub fn send(
        &mut self,
        from_client: bool,
        data: &[u8],
        first_us: i64,
        last_us: i64,
        out: &mut Vec<Packet>,
    ) {
        let side = usize::from(!from_client);
        let n = data.len().div_ceil(MSS).max(1);
        for (i, chunk) in data.chunks(MSS).enumerate() {
            let ts = if n == 1 {
                first_us
            } else {
                first_us + (last_us - first_us) * i as i64 / (n - 1) as i64
            };
            let flags = if i + 1 == n { ACK | PSH } else { ACK };
            self.segment(side, flags, &[], chunk, ts, out);
            self.next_seq[side] = self.next_seq[side].wrapping_add(chunk.len() as u32);
        }
    }

    /// A pure acknowledgement of everything the other side sent.
    pub fn ack(&mut self, from_client: bool, ts_us: i64, out: &mut Vec<Packet>) {
        self.segment(usize::from(!from_client), ACK, &[], &[], ts_us, out);
    }

    /// Orderly close started by the client: FIN, FIN-ACK `rtt_us` later, last ACK.
    pub fn close(&mut self, ts_us: i64, rtt_us: i64, out: &mut Vec<Packet>) {
        self.segment(0, FIN | ACK, &[], &[], ts_us, out);
        self.next_seq[0] = self.next_seq[0].wrapping_add(1);
        self.segment(1, FIN | ACK, &[], &[], ts_us + rtt_us, out);
        self.next_seq[1] = self.next_seq[1].wrapping_add(1);
        self.segment(0, ACK, &[], &[], ts_us + rtt_us + 40, out);
    }

    fn segment(
        &mut self,
        side: usize,
        flags: u8,
        options: &[u8],
        payload: &[u8],
        ts_us: i64,
        out: &mut Vec<Packet>,
    ) {
        let (src, dst) = if side == 0 {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let seq = self.next_seq[side];
        let ack = if flags & ACK != 0 {
            self.next_seq[1 - side]
        } else {
            0
        };
        let id = self.ip_id[side];
        self.ip_id[side] = id.wrapping_add(1);
        let window = if side == 0 { 513 } else { 16_384 };
        let data = frame(&src, &dst, id, seq, ack, flags, window, options, payload);
        out.push(Packet { ts_us, data });
    }
}

/// Builds one Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn frame(
    src: &Endpoint,
    dst: &Endpoint,
    ip_id: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let tcp_len = 20 + options.len() + payload.len();
    let ip_len = 20 + tcp_len;
    let mut f = Vec::with_capacity(14 + ip_len);
    // Ethernet II: destination, source, EtherType IPv4.
    f.extend_from_slice(&dst.mac);
    f.extend_from_slice(&src.mac);
    f.extend_from_slice(&[0x08, 0x00]);
    // IPv4: version 4, IHL 5; DSCP 0; total length; id; flags DF; TTL; TCP.
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0x00]);
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&ip_id.to_be_bytes());
    f.extend_from_slice(&[0x40, 0x00, src.ttl, 6, 0, 0]);
    f.extend_from_slice(&src.ip);
    f.extend_from_slice(&dst.ip);
    let ip_sum = checksum(&[&f[ip_start..ip_start + 20]]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());
    // TCP.
    let tcp_start = f.len();
    f.extend_from_slice(&src.port.to_be_bytes());
    f.extend_from_slice(&dst.port.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.push((((20 + options.len()) / 4) as u8) << 4);
    f.push(flags);
    f.extend_from_slice(&window.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(options);
    f.extend_from_slice(payload);
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&src.ip);
    pseudo[4..8].copy_from_slice(&dst.ip);
    pseudo[9] = 6;
    pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    let tcp_sum = checksum(&[&pseudo, &f[tcp_start..]]);
    f[tcp_start + 16..tcp_start + 18].copy_from_slice(&tcp_sum.to_be_bytes());
    f
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts` (each part but
/// the last must have an even length).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u64;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u16::from_be_bytes([c[0], c[1]]) as u64;
        }
        if let [last] = chunks.remainder() {
            sum += (*last as u64) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Streams a classic pcap file.
pub struct PcapWriter<W: Write> {
    w: W,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut w: W) -> io::Result<Self> {
        w.write_all(&0xA1B2_C3D4u32.to_le_bytes())?;
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&[0; 8])?; // reserved (was thiszone, sigfigs)
        w.write_all(&262_144u32.to_le_bytes())?; // snaplen
        w.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
        Ok(PcapWriter { w })
    }

    pub fn packet(&mut self, ts_us: i64, data: &[u8]) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(&(ts_us.div_euclid(1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(ts_us.rem_euclid(1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)
    }

    pub fn finish(self) -> io::Result<W> {
        Ok(self.w)
    }
}

/// Streams a pcapng file: one section, one Ethernet interface.
pub struct PcapngWriter<W: Write> {
    w: W,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<W: Write> PcapngWriter<W> {
    /// `application` goes into the `shb_userappl` option.
    pub fn new(mut w: W, application: &str) -> io::Result<Self> {
        let app = application.as_bytes();
        let opt_len = 4 + app.len() + pad4(app.len()) + 4; // option + opt_endofopt
        let len = 28 + opt_len;
        w.write_all(&0x0A0D_0D0Au32.to_le_bytes())?;
        w.write_all(&(len as u32).to_le_bytes())?;
        w.write_all(&0x1A2B_3C4Du32.to_le_bytes())?;
        w.write_all(&1u16.to_le_bytes())?; // major
        w.write_all(&0u16.to_le_bytes())?; // minor
        w.write_all(&(-1i64).to_le_bytes())?; // section length unknown
        w.write_all(&4u16.to_le_bytes())?; // shb_userappl
        w.write_all(&(app.len() as u16).to_le_bytes())?;
        w.write_all(app)?;
        w.write_all(&[0; 3][..pad4(app.len())])?;
        w.write_all(&[0; 4])?; // opt_endofopt
        w.write_all(&(len as u32).to_le_bytes())?;
        // Interface Description Block: Ethernet, snaplen 262144, no options.
        w.write_all(&1u32.to_le_bytes())?;
        w.write_all(&20u32.to_le_bytes())?;
        w.write_all(&1u16.to_le_bytes())?;
        w.write_all(&0u16.to_le_bytes())?;
        w.write_all(&262_144u32.to_le_bytes())?;
        w.write_all(&20u32.to_le_bytes())?;
        Ok(PcapngWriter { w })
    }

    /// A Decryption Secrets Block (draft-ietf-opsawg-pcapng §4.7) holding TLS key-log
    /// text: secrets type `0x544c534b` ("TLSK"), secrets length, the text padded to
    /// 32 bits, no options. Readers apply it to the packets that follow.
    pub fn secrets(&mut self, keylog: &str) -> io::Result<()> {
        let text = keylog.as_bytes();
        let len = 20 + text.len() + pad4(text.len());
        self.w.write_all(&0x0000_000Au32.to_le_bytes())?;
        self.w.write_all(&(len as u32).to_le_bytes())?;
        self.w.write_all(&0x544C_534Bu32.to_le_bytes())?;
        self.w.write_all(&(text.len() as u32).to_le_bytes())?;
        self.w.write_all(text)?;
        self.w.write_all(&[0; 3][..pad4(text.len())])?;
        self.w.write_all(&(len as u32).to_le_bytes())
    }

    pub fn packet(&mut self, ts_us: i64, data: &[u8]) -> io::Result<()> {
        let len = 32 + data.len() + pad4(data.len());
        let ts = ts_us as u64;
        let mut h = [0u8; 28];
        h[..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        // interface 0
        h[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[24..28].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.w.write_all(&[0; 3][..pad4(data.len())])?;
        self.w.write_all(&(len as u32).to_le_bytes())
    }

    pub fn finish(self) -> io::Result<W> {
        Ok(self.w)
    }
}

/// Seconds between 1601-01-01 and 1970-01-01 (FILETIME epoch to Unix epoch).
const FILETIME_UNIX_S: i64 = 11_644_473_600;

/// Writes a Network Monitor 2.3 file of Ethernet frames. The capture start (header
/// SYSTEMTIME, written as UTC) is the first frame's time, truncated to the millisecond.
pub fn write_netmon<W: Write>(mut w: W, packets: &[Packet]) -> io::Result<()> {
    const HEADER: usize = 72;
    let start_us = packets.first().map_or(0, |p| p.ts_us).div_euclid(1000) * 1000;
    let mut body = Vec::new();
    let mut table = Vec::with_capacity(packets.len() * 4);
    for p in packets {
        table.extend_from_slice(&((HEADER + body.len()) as u32).to_le_bytes());
        body.extend_from_slice(&((p.ts_us - start_us) as u64).to_le_bytes());
        body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.data);
        body.extend_from_slice(&1u16.to_le_bytes()); // media type: Ethernet
        body.extend_from_slice(&0u32.to_le_bytes()); // process-info index
        let filetime = (p.ts_us + FILETIME_UNIX_S * 1_000_000) * 10;
        body.extend_from_slice(&(filetime as u64).to_le_bytes());
        body.push(0); // time-zone index
    }
    let mut h = [0u8; HEADER];
    h[..4].copy_from_slice(b"GMBU");
    h[4] = 3; // minor
    h[5] = 2; // major
    h[6..8].copy_from_slice(&1u16.to_le_bytes());
    for (i, v) in systemtime(start_us).iter().enumerate() {
        h[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    h[24..28].copy_from_slice(&((HEADER + body.len()) as u32).to_le_bytes());
    h[28..32].copy_from_slice(&(table.len() as u32).to_le_bytes());
    w.write_all(&h)?;
    w.write_all(&body)?;
    w.write_all(&table)
}

/// Windows SYSTEMTIME fields (year, month, day of week, day, hour, minute, second,
/// millisecond) of a Unix time in µs, UTC.
fn systemtime(us: i64) -> [u16; 8] {
    let secs = us.div_euclid(1_000_000);
    let ms = us.rem_euclid(1_000_000) / 1000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil from days (proleptic Gregorian, era-based).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let dow = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
    [
        y as u16,
        m as u16,
        dow as u16,
        d as u16,
        (sod / 3600) as u16,
        (sod / 60 % 60) as u16,
        (sod % 60) as u16,
        ms as u16,
    ]
}
