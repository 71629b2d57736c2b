//! Judgements on the analysis: one rule family per file.
