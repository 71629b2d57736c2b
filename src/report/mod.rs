//! Reports: the terminal text report and the JSON contract. Every string that came
//! from a trace goes through [`redact::Redactor`] (and, on a terminal,
//! [`redact::terminal_safe`]) before it is printed.

pub mod json;
pub mod redact;
pub mod text;
pub mod time;
