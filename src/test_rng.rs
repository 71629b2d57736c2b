//! A deterministic random source for tests that build many cases from a few
//! pieces: xorshift64 (Marsaglia, "Xorshift RNGs", J. Stat. Softw. 8(14),
//! 2003), so every run builds the same cases.

/// Picks numbers below its argument, from `seed` (which must not be zero).
pub(crate) fn picker(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    }
}
