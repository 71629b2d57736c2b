//! The synthetic sign-ins aadtrace is tested and measured on, as writers: the
//! scenarios (`scenarios.rs`, Entra ID and Microsoft-account sign-ins shaped like
//! the real services' traffic) and the formats they are written in (HAR, pcap,
//! pcapng, Network Monitor, TLS 1.2/1.3 captures with key logs), plus the large
//! shapes the benchmarks read. An unpublished workspace crate: the sample
//! generator (`cargo run --example make_samples`), the integration tests and the
//! benchmarks all use it, so a sample cannot differ from what the tests build.

pub mod assets;
pub mod bench;
pub mod browser;
pub mod capture_writer;
pub mod ests;
pub mod har_writer;
pub mod model;
pub mod one_flow;
pub mod packet_writer;
pub mod scenarios;
pub mod tls_samples;
pub mod tls_writer;
pub mod util;

/// Re-exported for the cipher-suite constants the TLS writers take.
pub use rustls;
