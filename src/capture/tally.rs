//! Turning a reader's damage counts into [`InputWarning`]s, in one place.
//!
//! A reader counts what it worked around (bodies it could not decode, sessions it
//! skipped…) in its own named counters while it reads, and at the end hands each
//! count to a [`Tally`] with its [`WarningCode`] and a message builder. The tally
//! keeps the rule every reader shares: a count of zero is no warning, and the
//! message is built only when there is one. Warnings come out in the order they
//! were given, so a reader's output order is the order of its calls.

use super::{InputWarning, WarningCode};

/// The warnings of one input, gathered in order.
#[derive(Debug, Default)]
pub struct Tally {
    warnings: Vec<InputWarning>,
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from warnings a reader already gave (they keep their place first).
    pub fn from_warnings(warnings: Vec<InputWarning>) -> Self {
        Tally { warnings }
    }

    /// One warning of `code` when `n` is not zero; `message` gets the count.
    pub fn count<N: TryInto<u64>>(
        &mut self,
        code: WarningCode,
        n: N,
        message: impl FnOnce(u64) -> String,
    ) -> &mut Self {
        let n = n.try_into().unwrap_or(u64::MAX);
        if n > 0 {
            self.push(code, message(n));
        }
        self
    }

    /// One warning of `code` when `cond` holds (damage that is seen, not counted).
    pub fn when(
        &mut self,
        cond: bool,
        code: WarningCode,
        message: impl FnOnce() -> String,
    ) -> &mut Self {
        if cond {
            self.push(code, message());
        }
        self
    }

    /// One warning, given as it happened (a place in the file, not a count).
    pub fn push(&mut self, code: WarningCode, message: impl Into<String>) -> &mut Self {
        self.warnings.push(InputWarning::new(code, message));
        self
    }

    /// Warnings gathered elsewhere, in their order, after those given so far.
    pub fn extend(&mut self, warnings: impl IntoIterator<Item = InputWarning>) -> &mut Self {
        self.warnings.extend(warnings);
        self
    }

    /// The warnings, in the order they were given.
    pub fn into_warnings(self) -> Vec<InputWarning> {
        self.warnings
    }
}

/// Counts one kind of damage that is reported entry by entry up to a limit, and
/// past it only as a number ("N more …").
#[derive(Debug, Clone, Copy)]
pub struct Capped {
    limit: usize,
    seen: usize,
}

impl Capped {
    pub fn new(limit: usize) -> Self {
        Capped { limit, seen: 0 }
    }

    /// Counts one more; true while it is still to be reported on its own.
    pub fn admit(&mut self) -> bool {
        self.seen += 1;
        self.seen <= self.limit
    }

    /// How many were counted but not reported on their own.
    pub fn over(&self) -> u64 {
        self.seen.saturating_sub(self.limit) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_counts_are_no_warning_and_order_is_kept() {
        let mut t = Tally::from_warnings(vec![InputWarning::new(
            WarningCode::CaptureTruncated,
            "first",
        )]);
        let mut built = 0;
        t.count(WarningCode::MissingBody, 0u64, |_| {
            built += 1;
            "never".into()
        });
        assert_eq!(built, 0, "the message is not built for a zero count");
        t.count(WarningCode::BodyCapped, 3usize, |n| format!("{n} cut"))
            .when(false, WarningCode::HarSanitized, || "no".into())
            .when(true, WarningCode::NetlogSanitized, || "yes".into())
            .push(WarningCode::MalformedEntry, "last");
        let got: Vec<(String, String)> = t
            .into_warnings()
            .into_iter()
            .map(|w| (w.code.to_string(), w.message))
            .collect();
        assert_eq!(
            got,
            [
                ("capture_truncated", "first"),
                ("body_capped", "3 cut"),
                ("netlog_sanitized", "yes"),
                ("malformed_entry", "last"),
            ]
            .map(|(c, m)| (c.to_string(), m.to_string()))
        );
    }

    #[test]
    fn capped_reports_up_to_its_limit() {
        let mut c = Capped::new(2);
        assert_eq!(c.over(), 0);
        let admitted: Vec<bool> = (0..5).map(|_| c.admit()).collect();
        assert_eq!(admitted, [true, true, false, false, false]);
        assert_eq!(c.over(), 3);
    }
}
