//! Findings about the evidence itself: what the readers warned about
//! (sanitised exports, missing bodies, truncated files, skipped entries).

use super::{kind_info, Finding};
use crate::capture::InputWarning;

/// One finding per distinct warning code and input; messages of the same code
/// are joined so nothing the reader said is lost.
pub fn rules(warnings: &[(usize, InputWarning)], out: &mut Vec<Finding>) {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for (input, w) in warnings {
        if seen.contains(&(*input, w.code.as_str())) {
            continue;
        }
        seen.push((*input, w.code.as_str()));
        let messages: Vec<&str> = warnings
            .iter()
            .filter(|(i, x)| i == input && x.code == w.code)
            .map(|(_, x)| x.message.as_str())
            .collect();
        let info = kind_info(&w.code);
        let kind = if info.kind == "input_warning" {
            w.code.clone()
        } else {
            info.kind.clone()
        };
        out.push(Finding {
            id: 0,
            kind,
            severity: info.severity,
            code: None,
            flow: None,
            exchanges: Vec::new(),
            input: Some(*input),
            time_us: None,
            correlation_id: None,
            request_id: None,
            tenant: None,
            client_id: None,
            user: None,
            ests_server: None,
            client_ip: None,
            service_code: None,
            step: None,
            title: info.title.clone(),
            explanation: format!("{} {}", info.explanation, messages.join("; ")),
            next_steps: info.next_steps.clone(),
        });
    }
}
