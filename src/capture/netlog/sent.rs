//! Request bodies from the plaintext a NetLog logged as sent on each socket
//! (capture mode "Everything"): HTTP/1.1 messages in order, matched by request
//! line, or HTTP/2 DATA frames matched by (session, stream).

use std::collections::{HashMap, VecDeque};

use crate::http::h2;
use crate::http::message::{self, Dechunked};

/// The request bodies found in the sent bytes, waiting to be claimed by their hop.
#[derive(Default)]
pub(super) struct SentBodies {
    /// HTTP/1.1 bodies by request line, in the order they were sent.
    h1: HashMap<String, VecDeque<Vec<u8>>>,
    /// HTTP/2 bodies by (session source, stream id).
    h2: HashMap<(u64, u64), Vec<u8>>,
}

impl SentBodies {
    /// Parses what was sent per socket; `session_socket` maps an HTTP/2 session
    /// source to its socket, and the other sockets carry HTTP/1.1.
    pub(super) fn new(sent: &HashMap<u64, Vec<u8>>, session_socket: &HashMap<u64, u64>) -> Self {
        let mut bodies = SentBodies::default();
        let h2_sockets: HashMap<u64, u64> = session_socket.iter().map(|(s, k)| (*k, *s)).collect();
        for (socket, bytes) in sent {
            if let Some(session) = h2_sockets.get(socket) {
                for (stream, data) in h2_data_frames(bytes) {
                    bodies.h2.insert((*session, stream), data);
                }
            } else {
                for (line, body) in h1_requests(bytes) {
                    bodies.h1.entry(line).or_default().push_back(body);
                }
            }
        }
        bodies
    }

    /// The next HTTP/1.1 body sent with this request line.
    pub(super) fn take_h1(&mut self, request_line: &str) -> Option<Vec<u8>> {
        self.h1.get_mut(request_line).and_then(VecDeque::pop_front)
    }

    /// The body of one HTTP/2 stream.
    pub(super) fn take_h2(&mut self, stream: (u64, u64)) -> Option<Vec<u8>> {
        self.h2.remove(&stream)
    }
}

/// HTTP/1.1 requests in the bytes a client sent on one connection (RFC 9112 §6):
/// (request line, body), framed by Content-Length or chunked.
fn h1_requests(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((head_len, body_at)) = message::head_end(rest) {
        let (line, fields) = message::parse_head(&rest[..head_len]);
        rest = &rest[body_at..];
        let chunked = message::is_chunked(
            fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
                .map(|(_, v)| v.as_str()),
        );
        let body = if chunked {
            match message::dechunk(rest) {
                Dechunked::Complete(body, used) => {
                    rest = &rest[used..];
                    body
                }
                Dechunked::Cut(body) => {
                    rest = &[];
                    body
                }
                Dechunked::No => Vec::new(),
            }
        } else {
            let length = message::field(&fields, "content-length")
                .and_then(message::content_length)
                .unwrap_or(0);
            let n = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let body = rest[..n].to_vec();
            rest = &rest[n..];
            body
        };
        if !line.contains(" HTTP/") {
            break;
        }
        out.push((line, body));
    }
    out
}

/// DATA frame payloads per stream in the bytes a client sent on an HTTP/2
/// connection (RFC 9113 §3.4 preface, §6.1 DATA and padding).
fn h2_data_frames(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut rest = bytes.strip_prefix(h2::PREFACE).unwrap_or(bytes);
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    while let Some((header, payload, next)) = h2::frame::split(rest) {
        rest = next;
        if header.kind != h2::frame::Kind::Data || header.stream == 0 {
            continue;
        }
        let Some(data) = h2::frame::unpad(payload, header.flags) else {
            continue;
        };
        let stream = u64::from(header.stream);
        match out.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, buf)) => buf.extend_from_slice(data),
            None => out.push((stream, data.to_vec())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_and_h2_request_bodies() {
        let sent = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let got = h1_requests(sent);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("POST /a HTTP/1.1".to_string(), b"abc".to_vec()));
        assert_eq!(got[2].1, b"hi");

        let mut h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        h2.extend([0, 0, 2, 1, 4, 0, 0, 0, 1, 0x82, 0x84]); // HEADERS
        h2.extend([0, 0, 3, 0, 0, 0, 0, 0, 1, b'a', b'=', b'1']);
        h2.extend([0, 0, 4, 0, 0x9, 0, 0, 0, 1, 1, b'&', b'b', 0]); // padded, END_STREAM
        assert_eq!(h2_data_frames(&h2), vec![(1, b"a=1&b".to_vec())]);
    }
}
