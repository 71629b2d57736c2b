//! File-name patterns for `--glob`: `*` matches within one path segment, `**`
//! matches across segments, `?` matches one character. Matching ignores ASCII case
//! (traces exported on Windows are often `TRACE.HAR`). A pattern without `/` is
//! matched against the file name alone, one with `/` against the path relative to
//! the directory walked or the archive's root.

/// One compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
    whole_path: bool,
}

/// Trace files a directory walk or an archive picks up when no `--glob` is given.
pub const DEFAULT_TRACES: &[&str] = &[
    "*.har",
    "*.har.gz",
    "*.harp",
    "*.saz",
    "*.pcap",
    "*.pcap.gz",
    "*.pcapng",
    "*.pcapng.gz",
    "*.cap",
    "*.cap.gz",
    "*.json",
    "*.json.gz",
];

/// Archives a directory walk opens when no `--glob` is given.
pub const DEFAULT_ARCHIVES: &[&str] = &["*.zip", "*.tar", "*.tar.gz", "*.tgz"];

impl Glob {
    pub fn new(pattern: &str) -> Self {
        let trimmed = pattern.strip_prefix("./").unwrap_or(pattern);
        Glob {
            pattern: trimmed.to_ascii_lowercase().chars().collect(),
            whole_path: trimmed.contains('/'),
        }
    }

    /// True when `rel` (a `/`-separated relative path) matches.
    pub fn matches(&self, rel: &str) -> bool {
        let subject = if self.whole_path {
            rel
        } else {
            rel.rsplit('/').next().unwrap_or(rel)
        };
        let text: Vec<char> = subject.to_ascii_lowercase().chars().collect();
        matches_at(&self.pattern, &text)
    }
}

/// Classic backtracking wildcard match; `**` may cross `/`, `*` may not.
fn matches_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let double = p.get(1) == Some(&'*');
            let rest = if double { &p[2..] } else { &p[1..] };
            // `**/` also matches zero directories.
            if double && rest.first() == Some(&'/') && matches_at(&rest[1..], t) {
                return true;
            }
            for i in 0..=t.len() {
                if matches_at(rest, &t[i..]) {
                    return true;
                }
                if i < t.len() && !double && t[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !t.is_empty() && t[0] != '/' && matches_at(&p[1..], &t[1..]),
        Some(&c) => t.first() == Some(&c) && matches_at(&p[1..], &t[1..]),
    }
}

/// True when any pattern matches.
pub fn any_match(globs: &[Glob], rel: &str) -> bool {
    globs.iter().any(|g| g.matches(rel))
}

pub fn compile(patterns: &[&str]) -> Vec<Glob> {
    patterns.iter().map(|p| Glob::new(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(Glob::new("*.har").matches("a/b/Trace.HAR"));
        assert!(!Glob::new("*.har").matches("a/b/trace.har.gz"));
        assert!(Glob::new("*.har*").matches("x.har.gz"));
        assert!(Glob::new("sub/*.har").matches("sub/x.har"));
        assert!(!Glob::new("sub/*.har").matches("sub/deeper/x.har"));
        assert!(Glob::new("sub/**/*.har").matches("sub/deeper/x.har"));
        assert!(Glob::new("sub/**/*.har").matches("sub/x.har"));
        assert!(Glob::new("**/x?.har").matches("a/b/x1.har"));
        assert!(!Glob::new("x?.har").matches("x.har"));
    }
}
