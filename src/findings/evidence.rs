//! Findings about the evidence itself: what the readers warned about
//! (sanitised exports, missing bodies, truncated files, skipped entries).

use crate::hashing::HashMap;

use super::{kind_info, Finding, FindingKind};
use crate::capture::{InputWarning, WarningCode};

/// One finding per distinct warning code and input; messages of the same code
/// are joined so nothing the reader said is lost.
pub fn rules(warnings: &[(usize, InputWarning)], out: &mut Vec<Finding>) {
    // Messages by input and code, in order of first sight: one pass, however
    // many warnings a damaged trace raised.
    let mut groups: Vec<(usize, WarningCode, Vec<&str>)> = Vec::new();
    let mut at: HashMap<(usize, WarningCode), usize> = HashMap::default();
    for (input, w) in warnings {
        let k = *at.entry((*input, w.code)).or_insert_with(|| {
            groups.push((*input, w.code, Vec::new()));
            groups.len() - 1
        });
        groups[k].2.push(w.message.as_str());
    }
    for (input, code, messages) in groups {
        // Every reader code has its own wording (checked beside `WarningCode`);
        // the kind is the code either way.
        let info = kind_info(FindingKind::Input(code));
        let mut f = super::kind_only(FindingKind::Input(code));
        f.input = Some(input);
        f.explanation = with_reader_report(&info.explanation, &messages);
        out.push(f);
    }
}

/// The kind's explanation, then what the reader itself reported, labelled so it
/// reads as the evidence for this trace rather than as part of the general text.
fn with_reader_report(explanation: &str, messages: &[&str]) -> String {
    let report: Vec<&str> = messages
        .iter()
        .map(|m| m.trim().trim_end_matches('.'))
        .filter(|m| !m.is_empty())
        .collect();
    if report.is_empty() {
        return explanation.to_string();
    }
    format!(
        "{} The reader reported: {}.",
        explanation.trim_end(),
        report.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding_for(warnings: &[(usize, InputWarning)]) -> Vec<Finding> {
        let mut out = Vec::new();
        rules(warnings, &mut out);
        out
    }

    #[test]
    fn the_readers_message_is_in_the_explanation() {
        let w = InputWarning::new(
            WarningCode::TlsRecordsLost,
            "4096 bytes of decryptable TLS could not be read because the capture misses bytes before them",
        );
        let out = finding_for(&[(0, w)]);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.kind, "tls_records_lost");
        assert_ne!(f.title, "Problem in the trace");
        assert!(
            f.explanation.ends_with(
                "The reader reported: 4096 bytes of decryptable TLS could not be read because the capture misses bytes before them."
            ),
            "{}",
            f.explanation
        );
        assert!(f.next_steps.iter().all(|s| !s.contains("message below")));
    }

    #[test]
    fn messages_of_one_code_and_input_are_joined() {
        let out = finding_for(&[
            (
                0,
                InputWarning::new(WarningCode::MalformedEntry, "entry 3: no request."),
            ),
            (
                0,
                InputWarning::new(WarningCode::MalformedEntry, "entry 9: bad time"),
            ),
            (
                1,
                InputWarning::new(WarningCode::MalformedEntry, "entry 1: no url"),
            ),
            (0, InputWarning::new(WarningCode::H2FrameError, "")),
        ]);
        assert_eq!(out.len(), 3);
        assert!(out[0]
            .explanation
            .ends_with("The reader reported: entry 3: no request; entry 9: bad time."));
        assert_eq!(out[1].input, Some(1));
        // No message: the explanation stands alone.
        assert!(!out[2].explanation.contains("reader reported"));
    }
}
