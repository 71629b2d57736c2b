//! Paths that are not regular files: named pipes and process substitution
//! (`<(cat x.har)` is a pipe), character devices (`/dev/zero`, a terminal) and
//! sockets.
//!
//! Such a path has no size and cannot be mapped, so it is read as a stream. A pipe
//! is opened non-blocking: opening a FIFO for reading blocks until a writer comes,
//! which would hang the run on a FIFO nobody writes to. Opened non-blocking, a FIFO
//! without a writer reads as empty at once, and one with a writer is read by
//! waiting briefly whenever it has nothing yet. Texts read whole (key logs,
//! manifests) go through [`read_capped`], so an endless input stops at the cap
//! with an error that says so.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// `O_NONBLOCK` (the crate does not depend on `libc`; the value is fixed per ABI).
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const O_NONBLOCK: i32 = 0x0004;

/// True when `path` names something other than a regular file or a directory
/// (a FIFO, a device, a socket): it must be streamed, and has no size.
pub fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Opens `path` for reading without ever blocking on open: a FIFO is opened
/// non-blocking and read through [`Waiting`]; anything else as usual.
pub fn open(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    if !is_fifo(path) {
        return Ok(Box::new(File::open(path)?));
    }
    let file = open_nonblocking(path)?;
    Ok(Box::new(Waiting(file)))
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[cfg(not(unix))]
fn is_fifo(_path: &Path) -> bool {
    false
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let _ = O_NONBLOCK;
    File::open(path)
}

/// A non-blocking pipe read as a blocking one: "nothing yet" waits a moment and
/// tries again; no writer at all reads as the end. The wait starts short and
/// doubles up to [`MAX_WAIT`]: a reader faster than its writer (a 64 KiB pipe
/// buffer drained at once) would otherwise sleep the longest wait for every
/// refill, seconds for a few hundred megabytes, while a writer that pauses
/// still costs no CPU.
struct Waiting(File);

const FIRST_WAIT: std::time::Duration = std::time::Duration::from_micros(20);
const MAX_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

impl Read for Waiting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut wait = FIRST_WAIT;
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_WAIT);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

/// Reads at most `cap` bytes of `reader`; more is an error naming `what` and
/// the cap (an endless input such as `/dev/zero` ends here).
pub fn read_capped(reader: impl Read, cap: u64, what: &str) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{what} is larger than {} MiB, the most aadtrace reads (an endless input such as /dev/zero?)",
                cap >> 20
            ),
        ));
    }
    Ok(data)
}

/// Reads a whole text file (key log, manifest) of at most `cap` bytes, special
/// files included.
pub fn read_file_capped(path: &Path, cap: u64, what: &str) -> io::Result<Vec<u8>> {
    read_capped(open(path)?, cap, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_stops_at_the_cap() {
        let e = read_capped(io::repeat(0), 1 << 20, "the key log").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        assert_eq!(read_capped(&b"abc"[..], 3, "x").unwrap(), b"abc");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_streams_and_files_are_not() {
        assert!(is_stream(Path::new("/dev/zero")));
        assert!(!is_stream(Path::new("/")));
        assert!(!is_stream(Path::new("Cargo.toml")));
        let e = read_file_capped(Path::new("/dev/zero"), 1 << 20, "the key log").unwrap_err();
        assert!(e.to_string().contains("endless"), "{e}");
    }
}
