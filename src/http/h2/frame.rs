//! HTTP/2 framing (RFC 9113 §3.4, §4.1, §6): the client's connection preface,
//! frame headers, frame types and flags, and padding. The connection parser
//! ([`super::Connection`]) and NetLog's upload bytes read frames through here.

/// The client connection preface (§3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header (§4.1).
pub const HEADER_LEN: usize = 9;

/// A frame type (§6; §5.5: unknown types are ignored, not errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl From<u8> for Kind {
    fn from(ty: u8) -> Self {
        match ty {
            0x0 => Kind::Data,
            0x1 => Kind::Headers,
            0x2 => Kind::Priority,
            0x3 => Kind::RstStream,
            0x4 => Kind::Settings,
            0x5 => Kind::PushPromise,
            0x6 => Kind::Ping,
            0x7 => Kind::GoAway,
            0x8 => Kind::WindowUpdate,
            0x9 => Kind::Continuation,
            other => Kind::Unknown(other),
        }
    }
}

/// A frame's flags byte; each flag means something only for some types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// DATA, HEADERS: the last frame of the stream in this direction.
    pub const END_STREAM: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the header block is complete.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a pad length byte leads, padding trails.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: priority fields lead the header block fragment.
    pub const PRIORITY: u8 = 0x20;

    pub fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// A frame header (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: Kind,
    pub flags: Flags,
    /// The stream identifier, reserved bit cleared.
    pub stream: u32,
    /// Payload length.
    pub len: usize,
}

/// The frame header at the start of `b`, when all nine bytes are there.
pub fn read_header(b: &[u8]) -> Option<FrameHeader> {
    let h = b.get(..HEADER_LEN)?;
    Some(FrameHeader {
        kind: Kind::from(h[3]),
        flags: Flags(h[4]),
        stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        len: u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize,
    })
}

/// The whole frame at the start of `b`: its header, its payload and the bytes
/// after it; `None` while the frame is incomplete.
pub fn split(b: &[u8]) -> Option<(FrameHeader, &[u8], &[u8])> {
    let header = read_header(b)?;
    let end = HEADER_LEN.checked_add(header.len)?;
    let frame = b.get(..end)?;
    Some((header, &frame[HEADER_LEN..], &b[end..]))
}

/// The payload without its padding (§6.1); `None` when the pad length is
/// larger than the payload.
pub fn unpad(payload: &[u8], flags: Flags) -> Option<&[u8]> {
    if !flags.has(Flags::PADDED) {
        return Some(payload);
    }
    let (&pad, rest) = payload.split_first()?;
    rest.len().checked_sub(usize::from(pad)).map(|n| &rest[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_frames_and_padding() {
        let mut b = vec![
            0,
            0,
            4,
            0x0,
            Flags::PADDED | Flags::END_STREAM,
            0x80,
            0,
            0,
            3,
        ];
        b.extend_from_slice(&[2, b'h', b'x', b'x']);
        b.extend_from_slice(b"next");
        let (h, payload, rest) = split(&b).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                kind: Kind::Data,
                flags: Flags(0x9),
                stream: 3,
                len: 4
            }
        );
        assert!(h.flags.has(Flags::END_STREAM) && !h.flags.has(Flags::END_HEADERS));
        assert_eq!(unpad(payload, h.flags), Some(&b"h"[..]));
        assert_eq!(rest, b"next");
        assert!(split(&b[..12]).is_none(), "incomplete payload");
        assert!(read_header(&b[..8]).is_none());
        assert_eq!(unpad(&[9, 1], Flags(Flags::PADDED)), None);
        assert_eq!(Kind::from(0xfa), Kind::Unknown(0xfa));
    }
}
