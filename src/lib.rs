//! aadtrace: turns network traces of Microsoft sign-ins into answers.
//!
//! The crate is one pipeline, one module per layer; a layer knows only the layers
//! below it:
//!
//! ```text
//! capture ──Exchange──▶ identity ──Analysis──▶ findings ──Finding──▶ report
//! (HAR, …)   (http model)  (flows, MFA, codes)   (judgements)        (text, json)
//! ```
//!
//! * [`capture`] sniffs an input's format and streams its [`http::Exchange`]s.
//! * [`limits`] owns the run's memory budget and the caps derived from it.
//! * [`wire`] decodes captured frames (link, IP with defragmentation) into TCP segments.
//! * [`stream`] reassembles TCP segments into two byte streams per connection, with
//!   explicit gaps and every byte traced to its frame.
//! * [`tls`] reads what TLS shows in the clear (SNI, ALPN, version, cipher, alerts)
//!   and, with key-log secrets, decrypts TLS 1.0–1.3 records.
//! * [`http`] is the exchange model every input format produces; `http::h1` parses
//!   HTTP/1.x from reassembled streams, `http::h2` (with `http::hpack`) HTTP/2.
//! * [`identity`] knows Microsoft sign-ins: endpoints, `$Config`, SAS (MFA), JWTs,
//!   the AADSTS catalogue, and groups exchanges into sign-in flows.
//! * [`findings`] judges the analysis: one rule family per file.
//! * [`report`] renders text, JSON and HTML, redacting every string from the trace.
//! * [`secrets`] is the one secret policy: which names, headers and shapes (JWTs,
//!   URL userinfo, `name=value` in messages, nested values) are secrets, for the
//!   reports, batch output and `redact` alike.
//! * [`redact`] writes a copy of a trace that is safe to share, in its own format.
//! * [`batch`] runs many traces in parallel, one result per trace (NDJSON, Parquet).
//! * [`cli`] parses arguments and runs the commands; `main.rs` only maps the outcome
//!   to an exit code.

pub mod batch;
pub mod capture;
pub mod cli;
pub mod findings;
pub mod hashing;
pub mod http;
pub mod identity;
pub mod limits;
pub mod redact;
pub mod report;
pub mod secrets;
pub mod session;
pub mod stream;
pub mod tls;
pub mod wire;

#[cfg(test)]
mod test_rng;
