//! A bound on what one entry of a streamed HAR may cost.
//!
//! A streamed HAR (standard input, `.har.gz`, an archive member) hands each entry
//! to serde as a whole raw value, so one entry holding a 10 GiB string, or 10 GiB
//! of `[`, would be held whole. [`EntryGuard`] sits between the input and serde
//! and follows the JSON structure byte by byte (strings, escapes, nesting, and the
//! keys of the top two levels, to know `log.entries`):
//!
//! * the bytes of an entry are held back until the entry ends; one that grows past
//!   the cap is dropped and the rest of it skipped, and serde sees the placeholder
//!   `{"_aadtraceSkippedBytes":N}` instead, which the reader turns into a
//!   `har_entry_too_large` warning naming the entry and its size;
//! * outside entries, more than the cap without an entry ending is an error (the
//!   file is no reasonable HAR), since serde would hold such a stretch too.

use std::io::{self, Read};

/// The placeholder's key; the reader recognises it ([`skipped_size`]).
const MARK: &str = "{\"_aadtraceSkippedBytes\":";

/// The size of an entry the guard skipped, when `raw` is its placeholder.
pub fn skipped_size(raw: &str) -> Option<u64> {
    raw.strip_prefix(MARK)?.strip_suffix('}')?.parse().ok()
}

/// Where the byte being scanned goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    /// Outside entries: handed on.
    Out,
    /// Inside an entry: held until it ends.
    Entry,
    /// Inside an entry past the cap: counted and dropped.
    Skip,
}

/// A reader that bounds each entry of a HAR read from `inner` (see the module doc).
pub struct EntryGuard<R> {
    inner: R,
    cap: usize,
    /// Bytes ready to hand out, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// The entry being held.
    entry: Vec<u8>,
    /// Size of the entry being skipped.
    skipped: u64,
    /// Bytes handed on since the last entry ended.
    outside: u64,
    dest: Dest,
    // The JSON scanner.
    depth: u32,
    in_string: bool,
    escape: bool,
    /// The last string completed at depth 1 and 2 (keys of `{"log": {"entries": …`).
    keys: [Vec<u8>; 2],
    /// The string being read, when it is at depth 1 or 2 (its first 16 bytes).
    capture: Option<Vec<u8>>,
    /// Inside the `log.entries` array.
    in_entries: bool,
    chunk: Vec<u8>,
    eof: bool,
    /// Only checking ([`passes_unchanged`]): nothing is copied, and the first
    /// change the guard would make stops the scan.
    dry: bool,
    /// Bytes of the entry being held, in a dry run.
    held: usize,
}

/// Whether the guard would hand `json` (a whole HAR held in memory) on
/// unchanged: no entry larger than `cap`, no stretch outside entries larger than
/// it. Such a HAR needs no guard: serde can read it as it is, as a slice.
pub fn passes_unchanged(json: &[u8], cap: usize) -> bool {
    let mut guard = EntryGuard::new(&[][..], cap);
    guard.dry = true;
    guard.chunk = Vec::new();
    guard.scan(json).is_ok()
}

impl<R: Read> EntryGuard<R> {
    pub fn new(inner: R, cap: usize) -> Self {
        EntryGuard {
            inner,
            cap,
            out: Vec::new(),
            out_pos: 0,
            entry: Vec::new(),
            skipped: 0,
            outside: 0,
            dest: Dest::Out,
            depth: 0,
            in_string: false,
            escape: false,
            keys: [Vec::new(), Vec::new()],
            capture: None,
            in_entries: false,
            chunk: vec![0; 1 << 16],
            eof: false,
            dry: false,
            held: 0,
        }
    }

    /// Reads one chunk of the input and scans it.
    fn fill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.inner.read(&mut self.chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        let result = self.scan(&chunk[..n]);
        self.chunk = chunk;
        result
    }

    /// Scans `b`, sending each run of bytes where it belongs.
    fn scan(&mut self, b: &[u8]) -> io::Result<()> {
        let mut run = 0;
        let mut i = 0;
        while i < b.len() {
            if self.in_string {
                i = self.string_byte(b, i);
                continue;
            }
            match b[i] {
                b'"' => {
                    self.in_string = true;
                    self.capture = (1..=2).contains(&self.depth).then(Vec::new);
                }
                b'{' | b'[' => {
                    let log = self.keys[0] == b"log";
                    if self.depth == 2 && b[i] == b'[' && log && self.keys[1] == b"entries" {
                        self.in_entries = true;
                    }
                    if self.in_entries && self.depth == 3 && b[i] == b'{' {
                        self.send(&b[run..i])?;
                        run = i;
                        self.dest = Dest::Entry;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.in_entries && self.depth == 3 && self.dest != Dest::Out {
                        self.send(&b[run..=i])?;
                        run = i + 1;
                        self.end_entry();
                    } else if self.depth < 3 {
                        self.in_entries = false;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.send(&b[run..])
    }

    /// Scans string bytes from `b[i]`; returns where scanning goes on.
    fn string_byte(&mut self, b: &[u8], i: usize) -> usize {
        if self.escape {
            self.escape = false;
            self.keep(b[i]);
            return i + 1;
        }
        // Plain string bytes are passed over in one step.
        let stop = memchr::memchr2(b'"', b'\\', &b[i..]).map_or(b.len(), |p| i + p);
        for &c in &b[i..stop] {
            self.keep(c);
        }
        if stop == b.len() {
            return stop;
        }
        if b[stop] == b'\\' {
            self.escape = true;
            self.keep(b'\\');
        } else {
            self.in_string = false;
            if let Some(s) = self.capture.take() {
                self.keys[self.depth as usize - 1] = s;
            }
        }
        stop + 1
    }

    /// Keeps a byte of a string read at depth 1 or 2 (the first 16 are enough).
    fn keep(&mut self, c: u8) {
        if let Some(s) = self.capture.as_mut().filter(|s| s.len() < 16) {
            s.push(c);
        }
    }

    /// Sends a run of scanned bytes to the current destination.
    fn send(&mut self, run: &[u8]) -> io::Result<()> {
        if self.dry && self.dest == Dest::Entry {
            self.held += run.len();
            return match self.held > self.cap {
                true => Err(io::Error::other("an entry past the cap")),
                false => Ok(()),
            };
        }
        match self.dest {
            Dest::Out => {
                self.outside += run.len() as u64;
                if self.outside > self.cap as u64 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "more than {} MiB without a HAR entry ending",
                            self.cap >> 20
                        ),
                    ));
                }
                if !self.dry {
                    self.out.extend_from_slice(run);
                }
            }
            Dest::Entry => {
                if self.entry.len() + run.len() > self.cap {
                    self.skipped = (self.entry.len() + run.len()) as u64;
                    self.entry = Vec::new();
                    self.dest = Dest::Skip;
                } else {
                    self.entry.extend_from_slice(run);
                }
            }
            Dest::Skip => self.skipped += run.len() as u64,
        }
        Ok(())
    }

    /// The entry ended: hand it on, or its placeholder.
    fn end_entry(&mut self) {
        match self.dest {
            Dest::Entry => self.out.append(&mut self.entry),
            Dest::Skip => {
                self.out
                    .extend_from_slice(format!("{MARK}{}}}", self.skipped).as_bytes());
                self.skipped = 0;
            }
            Dest::Out => {}
        }
        self.dest = Dest::Out;
        self.outside = 0;
        self.held = 0;
    }
}

impl<R: Read> Read for EntryGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.eof {
                // An entry cut by the end of the input goes on as it is: serde
                // reports the truncation.
                // One being skipped still becomes its placeholder, so the
                // warning names it.
                match self.dest {
                    Dest::Entry if !self.entry.is_empty() => {
                        self.out.append(&mut self.entry);
                        continue;
                    }
                    Dest::Skip => {
                        self.end_entry();
                        continue;
                    }
                    _ => return Ok(0),
                }
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(input: &[u8], cap: usize) -> io::Result<String> {
        let mut out = String::new();
        EntryGuard::new(input, cap).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn small_entries_pass_unchanged() {
        let har = br#"{"log":{"version":"1.2","pages":[{"a":"}"}],"entries":[{"x":"a\"}b"},{"y":[1,{}]}]},"z":1}"#;
        assert_eq!(guarded(har, 1 << 20).unwrap().as_bytes(), har);
    }

    #[test]
    fn a_large_entry_becomes_a_placeholder() {
        let big = "x".repeat(5000);
        let har = format!(r#"{{"log":{{"entries":[{{"a":1}},{{"t":"{big}"}},{{"b":2}}]}}}}"#);
        let out = guarded(har.as_bytes(), 1000).unwrap();
        let want = format!(
            r#"{{"log":{{"entries":[{{"a":1}},{MARK}{}}},{{"b":2}}]}}}}"#,
            big.len() + 8
        );
        assert_eq!(out, want);
        assert_eq!(skipped_size(&format!("{MARK}5008}}")), Some(5008));
    }

    #[test]
    fn a_dry_run_says_whether_the_guard_changes_anything() {
        let small = br#"{"log":{"pages":[{"a":"}]"}],"entries":[{"x":"a\"}b"},{"y":[1,{}]}]}}"#;
        assert!(passes_unchanged(small, 1 << 20));
        // 40 bytes before the first entry.
        assert!(passes_unchanged(small, 40));
        assert!(!passes_unchanged(small, 39));
        let big = "x".repeat(5000);
        let har = format!(r#"{{"log":{{"entries":[{{"a":1}},{{"t":"{big}"}},{{"b":2}}]}}}}"#);
        assert!(passes_unchanged(har.as_bytes(), 5008));
        assert!(!passes_unchanged(har.as_bytes(), 5007));
        let nested = [b"{\"log\":{\"pages\":".as_slice(), &[b'['; 10_000]].concat();
        assert!(!passes_unchanged(&nested, 1000));
        assert!(passes_unchanged(&nested, 20_000));
    }

    #[test]
    fn endless_nesting_outside_entries_is_an_error() {
        let har = [b"{\"log\":{\"pages\":".as_slice(), &[b'['; 10_000]].concat();
        let e = guarded(&har, 1000).unwrap_err();
        assert!(e.to_string().contains("without a HAR entry ending"), "{e}");
    }
}
