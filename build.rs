//! Records the git commit the binary is built from, for `aadtrace --version`
//! (`0.1.0 (abc1234)`); `unknown` outside a git checkout (a source tarball).

use std::process::Command;

fn main() {
    let hash = git(&["rev-parse", "--short=12", "HEAD"])
        .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=AADTRACE_GIT_HASH={hash}");
    println!("cargo:rerun-if-changed=build.rs");
    // HEAD's reflog grows with every commit and checkout, in a worktree too
    // (where `.git` is a file): the version follows HEAD without a rerun on
    // every build. Outside git there is nothing to watch.
    if let Some(reflog) = git(&["rev-parse", "--git-path", "logs/HEAD"]) {
        if std::path::Path::new(&reflog).exists() {
            println!("cargo:rerun-if-changed={reflog}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())
        .flatten()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
