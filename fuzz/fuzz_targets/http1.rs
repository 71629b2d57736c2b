//! Arbitrary bytes as the two directions of an HTTP/1 connection. The input is a
//! sequence of operations: one control byte (direction, kind, length) and then, for
//! data, that many bytes. Kinds: data, a gap of the given length, the end of a
//! direction. Every exchange produced is then touched like a report would.
#![no_main]

use aadtrace::http::h1::Connection;
use aadtrace::stream::Dir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let server = "198.51.100.2:80".parse().expect("address");
    let mut c = Connection::new(0, 1, server);
    let mut rest = data;
    let mut frame = 0u64;
    while let Some((&op, tail)) = rest.split_first() {
        let to_server = op & 1 == 0;
        let len = (op >> 3) as usize * 7 + 1;
        frame += 1;
        let ts = frame as i64 * 1000;
        rest = match (op >> 1) & 3 {
            0 | 1 => {
                let n = len.min(tail.len());
                let (bytes, tail) = tail.split_at(n);
                if to_server {
                    c.client_data(bytes, frame, ts);
                } else {
                    c.server_data(bytes, frame, ts);
                }
                tail
            }
            2 => {
                c.gap(dir(to_server), len as u64);
                tail
            }
            _ => {
                c.end(dir(to_server));
                tail
            }
        };
        for ex in c.take_done() {
            let _ = ex.request.body.decode();
        }
        if c.not_http {
            break;
        }
    }
    c.close(data.len() % 2 == 0);
    for ex in c.take_done() {
        let _ = ex.request.body.decode();
        if let Some(r) = &ex.response {
            let _ = r.body.text();
        }
        let _ = ex.status();
    }
});

fn dir(to_server: bool) -> Dir {
    if to_server {
        Dir::ToServer
    } else {
        Dir::ToClient
    }
}
