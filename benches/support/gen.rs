//! Generated bench input shared by the capture benches: a deterministic random
//! source and filler bodies.

/// Deterministic xorshift, so every run writes the same file.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

pub fn body(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "function",
        "return",
        "var",
        "login",
        "microsoftonline",
        "{\"a\":1}",
        "<div class=\"x\">",
        "</div>",
        "\r\n",
        "token",
    ];
    let mut b = Vec::with_capacity(len + 16);
    while b.len() < len {
        b.extend_from_slice(WORDS[(rng.next() % WORDS.len() as u64) as usize].as_bytes());
        b.push(b' ');
    }
    b.truncate(len);
    b
}
