//! Reports: the terminal text report, the JSON contract and the HTML page. Every string that came
//! from a trace goes through [`redact::Redactor`] (and, on a terminal,
//! [`redact::terminal_safe`]) before it is printed.

pub mod html;
pub mod json;
pub mod redact;
pub mod text;
pub mod time;
