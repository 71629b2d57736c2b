//! aadtrace's integration tests, one module per area, built as **one** test
//! binary: the library and its dependencies (arrow and parquet among them) are
//! linked once instead of once per file, which is most of what a clean
//! `cargo test` costs in time and disk (figures in the README). A new test file
//! goes in this folder and gets a `mod` line here.

mod support;

mod batch;
mod cli;
mod golden;
mod h2c_upgrade;
mod har_corpus;
mod hostile;
mod html;
mod html_browser;
mod html_detail;
mod html_timeline;
mod netlog;
mod netmon_etw;
mod pcap_readers;
mod pcap_tshark;
mod realworld;
mod redact;
mod redact_corpus;
mod redact_packets;
mod samples_up_to_date;
mod saz;
mod secrets;
mod tls_capture;
mod tls_tshark;
mod two_threads;
