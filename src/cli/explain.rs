//! `aadtrace explain`: the offline AADSTS catalogue, for people and scripts. It
//! takes what people paste — a code, an error message, an error URL, a whole
//! error page — and explains every code it finds; `--list` and `--search` browse
//! the catalogue. Each entry names Microsoft's own page for the code.

use std::io::Read;

use super::args::{ExplainArgs, ExplainFormat};
use super::ExitCode;
use crate::identity::catalogue::{self, CodeInfo};
use crate::identity::messages::scan_aadsts;
use crate::report::shown::terminal_safe;

/// Microsoft's error lookup, which knows every code, also the newest.
const LOOKUP: &str = "https://login.microsoftonline.com/error?code=";
/// Microsoft's reference table of error codes.
const REFERENCE: &str = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";

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

/// Every code in a pasted text: a bare code, `AADSTSnnnnn` anywhere (any case),
/// and the `code=` of Microsoft's error lookup URL.
pub fn codes_in(text: &str) -> Vec<u32> {
    if let Some(code) = parse_code(text) {
        return vec![code];
    }
    let mut codes = scan_aadsts(&text.to_ascii_uppercase());
    for (at, _) in text.match_indices("/error?code=") {
        let digits: String = text[at + 12..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(code) = digits.parse::<u32>() {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

pub fn run(args: &ExplainArgs) -> ExitCode {
    if args.list {
        let all: Vec<&CodeInfo> = catalogue::all().iter().collect();
        return print(&listing(&all, args.format), ExitCode::Clean);
    }
    if let Some(words) = &args.search {
        let found = search(words);
        if found.is_empty() {
            eprintln!(
                "aadtrace: no code in the catalogue mentions {:?}; try fewer words",
                terminal_safe(words)
            );
            return ExitCode::Findings;
        }
        return print(&listing(&found, args.format), ExitCode::Clean);
    }
    let (codes, without) = match gather(&args.codes) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("aadtrace: {e}");
            return ExitCode::ToolFailed;
        }
    };
    for arg in &without {
        eprintln!(
            "aadtrace: `{}` holds no AADSTS code",
            terminal_safe(&shorten(arg))
        );
    }
    if codes.is_empty() {
        eprintln!(
            "aadtrace: nothing to explain (expected e.g. 50074, AADSTS50074 or an error message)"
        );
        return ExitCode::ToolFailed;
    }
    let unknown = codes.iter().any(|c| catalogue::lookup(*c).is_none());
    let report = match args.format {
        ExplainFormat::Json => json(&codes),
        ExplainFormat::Text => codes
            .iter()
            .map(|c| text(*c))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let done = if unknown || !without.is_empty() {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    };
    print(&report, done)
}

fn print(report: &str, code: ExitCode) -> ExitCode {
    super::print(report.as_bytes(), code)
}

/// The codes of every argument, in order and once each, and the arguments that
/// held none. `-` is standard input.
fn gather(args: &[String]) -> Result<(Vec<u32>, Vec<String>), String> {
    let mut codes = Vec::new();
    let mut without = Vec::new();
    for arg in args {
        let text = if arg == "-" {
            let mut s = String::new();
            std::io::stdin()
                .take(16 << 20)
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            s
        } else {
            arg.clone()
        };
        let found = codes_in(&text);
        if found.is_empty() {
            without.push(if arg == "-" {
                "standard input".into()
            } else {
                text
            });
        }
        for c in found {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
    }
    Ok((codes, without))
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Entries whose words hold every word of `query` (ASCII case ignored).
fn search(query: &str) -> Vec<&'static CodeInfo> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    catalogue::all()
        .iter()
        .filter(|c| {
            let hay = format!(
                "aadsts{} {} {} {}",
                c.code,
                c.title,
                c.explanation,
                c.next_steps.join(" ")
            )
            .to_ascii_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .collect()
}

/// One line per code (text), or the full entries (JSON).
fn listing(codes: &[&CodeInfo], format: ExplainFormat) -> String {
    match format {
        ExplainFormat::Json => json(&codes.iter().map(|c| c.code).collect::<Vec<_>>()),
        ExplainFormat::Text => codes
            .iter()
            .map(|c| format!("AADSTS{:<8} {}\n", c.code, c.title))
            .collect(),
    }
}

fn text(code: u32) -> String {
    let Some(c) = catalogue::lookup(code) else {
        return format!(
            "AADSTS{code}: not in aadtrace's offline catalogue.\n  Look it up at {LOOKUP}{code}\n  All codes: {REFERENCE}\n"
        );
    };
    let mut out = format!(
        "AADSTS{code}: {}\n  {}\n  {}\n  Next steps:\n",
        c.title,
        flags(c).join(" · "),
        c.explanation
    );
    for s in &c.next_steps {
        out.push_str(&format!("    - {s}\n"));
    }
    out.push_str(&format!("  Microsoft: {LOOKUP}{code}\n"));
    out
}

/// What kind of code it is, in words.
fn flags(c: &CodeInfo) -> Vec<String> {
    let category = crate::report::snake_name(&c.category);
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
    kind
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
                "microsoft_url": format!("{LOOKUP}{code}"),
            }),
            None => serde_json::json!({
                "code": code, "known": false, "microsoft_url": format!("{LOOKUP}{code}"),
            }),
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
        assert!(t.contains("Microsoft: https://login.microsoftonline.com/error?code=81012"));
        let t = text(700213);
        assert!(t.contains("not on Microsoft's error-code reference"), "{t}");
        assert!(t.contains("retrying the same request will not help"), "{t}");
        let t = text(90024);
        assert!(
            t.contains("transient") && t.contains("later can succeed"),
            "{t}"
        );
        assert!(text(50158).contains("expected interrupt"));
        assert!(text(1234567).contains("not in aadtrace's offline catalogue"));
    }

    #[test]
    fn json_carries_every_flag() {
        let v: serde_json::Value = serde_json::from_str(&json(&[500200, 50168])).unwrap();
        assert_eq!(v[0]["documented"], false);
        assert_eq!(v[0]["harmless"], false);
        assert_eq!(v[1]["interrupt"], true);
        assert_eq!(v[1]["documented"], true);
        assert_eq!(
            v[1]["microsoft_url"],
            "https://login.microsoftonline.com/error?code=50168"
        );
    }

    #[test]
    fn codes_parse_with_or_without_prefix() {
        assert_eq!(parse_code("50074"), Some(50074));
        assert_eq!(parse_code("AADSTS70012"), Some(70012));
        assert_eq!(parse_code("aadsts500121:"), Some(500121));
        assert_eq!(parse_code("hello"), None);
        assert_eq!(parse_code(""), None);
    }

    #[test]
    fn codes_are_found_in_what_people_paste() {
        assert_eq!(
            codes_in("AADSTS50074: Strong Authentication is required."),
            [50074]
        );
        assert_eq!(
            codes_in("https://app.example/cb#error=interaction_required&error_description=AADSTS50076%3a+Due+to+a+configuration+change+made+by+your+administrator%0d%0aTrace+ID%3a+x"),
            [50076]
        );
        assert_eq!(
            codes_in("Sorry, but we're having trouble signing you in.\nAADSTS50126: Error validating credentials.\nthen aadsts50053 later, AADSTS50126 again"),
            [50126, 50053]
        );
        assert_eq!(
            codes_in("https://login.microsoftonline.com/error?code=700016"),
            [700016]
        );
        assert!(codes_in("hello").is_empty());
    }

    #[test]
    fn search_needs_every_word() {
        let found: Vec<u32> = search("conditional access")
            .iter()
            .map(|c| c.code)
            .collect();
        assert!(found.contains(&53003), "{found:?}");
        assert!(search("conditional access zebra").is_empty());
    }
}
