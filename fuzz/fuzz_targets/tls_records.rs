//! Arbitrary bytes as the two directions of a TLS connection, with keys known for
//! an all-zero client random (so the decryption paths run): the record layer must
//! never panic, whatever the records, handshakes or ciphertexts.
#![no_main]

use std::sync::Arc;

use aadtrace::capture::keylog::KeyLog;
use aadtrace::stream::Dir;
use aadtrace::tls::{KeySource, Observer};
use libfuzzer_sys::fuzz_target;

fn keys() -> Arc<dyn KeySource> {
    let r = "00".repeat(32);
    let s = "11".repeat(32);
    let mut k = KeyLog::new();
    k.add_text(
        &format!(
            "CLIENT_RANDOM {r} {m}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {s}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {s}\nCLIENT_TRAFFIC_SECRET_0 {r} {s}\nSERVER_TRAFFIC_SECRET_0 {r} {s}\n",
            m = "22".repeat(48)
        ),
        "fuzz",
    );
    Arc::new(k)
}

fuzz_target!(|data: &[u8]| {
    let mut o = Observer::with_keys(Some(keys()));
    // Each chunk: 1 control byte (direction, length), then that many bytes.
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let n = (ctl & 0x7f) as usize % (tail.len() + 1);
        let (chunk, tail) = tail.split_at(n.max(1).min(tail.len()));
        if ctl == 0xff {
            o.gap(Dir::ToServer, 10);
        }
        let dir = if ctl & 0x80 == 0 { Dir::ToServer } else { Dir::ToClient };
        o.data(dir, chunk);
        let _ = o.take_plain();
        rest = tail;
    }
    let _ = o.done();
});
