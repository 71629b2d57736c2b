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
//! * [`http`] is the exchange model every input format produces.
//! * [`identity`] knows Microsoft sign-ins: endpoints, `$Config`, SAS (MFA), JWTs,
//!   the AADSTS catalogue, and groups exchanges into sign-in flows.
//! * [`findings`] judges the analysis: one rule family per file.
//! * [`report`] renders text and JSON, redacting every string from the trace.
//! * [`batch`] runs many traces in parallel, one result per trace (NDJSON, Parquet).
//! * [`cli`] parses arguments and runs the commands; `main.rs` only maps the outcome
//!   to an exit code.

pub mod batch;
pub mod capture;
pub mod cli;
pub mod findings;
pub mod http;
pub mod identity;
pub mod report;
pub mod session;
