//! `aadtrace explain CODE…`: the offline AADSTS catalogue, for people and scripts.

use super::args::{ExplainArgs, ReportFormat};
use super::ExitCode;
use crate::identity::catalogue;

/// `AADSTS50074`, `aadsts50074`, `50074` → 50074.
pub fn parse_code(arg: &str) -> Option<u32> {
    let t = arg.trim();
    let digits = if t.len() > 6 && t[..6].eq_ignore_ascii_case("aadsts") {
        &t[6..]
    } else {
        t
    };
    let digits = digits.trim_end_matches(':');
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub fn run(args: &ExplainArgs) -> ExitCode {
    let mut codes = Vec::new();
    for arg in &args.codes {
        match parse_code(arg) {
            Some(c) => codes.push(c),
            None => {
                eprintln!(
                    "aadtrace: `{arg}` is not an AADSTS code (expected e.g. 50074 or AADSTS50074)"
                );
                return ExitCode::ToolFailed;
            }
        }
    }
    let unknown = codes.iter().any(|c| catalogue::lookup(*c).is_none());
    let text = match args.format {
        ReportFormat::Json => json(&codes),
        _ => codes
            .iter()
            .map(|c| text(*c))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    print!("{text}");
    if unknown {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    }
}

fn text(code: u32) -> String {
    let Some(c) = catalogue::lookup(code) else {
        return format!(
            "AADSTS{code}: not in aadtrace's offline catalogue.\n  Look it up at https://login.microsoftonline.com/error?code={code}\n"
        );
    };
    let category = serde_json::to_value(c.category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut kind = vec![format!("category: {category}")];
    // `retry_helps` is defined in the catalogue: the same request, unchanged, later.
    kind.push(if c.retry_helps {
        "retrying the same request later can succeed".into()
    } else {
        "retrying the same request will not help".into()
    });
    if c.transient {
        kind.push("transient (service side)".into());
    }
    if c.harmless {
        kind.push("harmless: the sign-in goes on without it".into());
    } else if c.interrupt {
        kind.push("expected interrupt, not a failure".into());
    }
    if !c.documented {
        kind.push("not on Microsoft's error-code reference".into());
    }
    let mut out = format!(
        "AADSTS{code}: {}\n  {}\n  {}\n  Next steps:\n",
        c.title,
        kind.join(" · "),
        c.explanation
    );
    for s in &c.next_steps {
        out.push_str(&format!("    - {s}\n"));
    }
    out
}

fn json(codes: &[u32]) -> String {
    let items: Vec<serde_json::Value> = codes
        .iter()
        .map(|&code| match catalogue::lookup(code) {
            Some(c) => serde_json::json!({
                "code": code, "known": true, "title": c.title, "category": c.category,
                "retry_helps": c.retry_helps, "transient": c.transient, "interrupt": c.interrupt,
                "harmless": c.harmless, "documented": c.documented,
                "explanation": c.explanation, "next_steps": c.next_steps,
            }),
            None => serde_json::json!({"code": code, "known": false}),
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&items).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_the_flags_of_a_code() {
        let t = text(81012);
        assert!(t.starts_with("AADSTS81012: "), "{t}");
        assert!(t.contains("harmless"), "{t}");
        assert!(!t.contains("expected interrupt"), "{t}");
        let t = text(700213);
        assert!(t.contains("not on Microsoft's error-code reference"), "{t}");
        assert!(t.contains("retrying the same request will not help"), "{t}");
        let t = text(90024);
        assert!(
            t.contains("transient") && t.contains("later can succeed"),
            "{t}"
        );
        assert!(text(50158).contains("expected interrupt"));
    }

    #[test]
    fn json_carries_every_flag() {
        let v: serde_json::Value = serde_json::from_str(&json(&[500200, 50168])).unwrap();
        assert_eq!(v[0]["documented"], false);
        assert_eq!(v[0]["harmless"], false);
        assert_eq!(v[1]["interrupt"], true);
        assert_eq!(v[1]["documented"], true);
    }

    #[test]
    fn codes_parse_with_or_without_prefix() {
        assert_eq!(parse_code("50074"), Some(50074));
        assert_eq!(parse_code("AADSTS70012"), Some(70012));
        assert_eq!(parse_code("aadsts500121:"), Some(500121));
        assert_eq!(parse_code("hello"), None);
        assert_eq!(parse_code(""), None);
    }
}
