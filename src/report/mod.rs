//! Reports: text, JSON contract; redaction of every string from a trace.
