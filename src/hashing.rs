//! Hash maps keyed by values taken from a trace (ids, link hashes, member
//! names, small tuples), looked up once or twice per step: std's SipHash cost
//! more than the lookups themselves on identity-dense traces (issue #15).
//! foldhash is several times cheaper and keeps a random seed per process, so a
//! hostile trace still cannot choose colliding keys. No output depends on the
//! order of these maps.

/// A `HashMap` with foldhash and a per-process random seed.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash and a per-process random seed.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
