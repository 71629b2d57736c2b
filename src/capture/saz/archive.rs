//! The zip container of a SAZ: which members belong to which session, names that
//! would leave the archive, and reading one member whole (decrypting when needed)
//! within the size caps that stop a zip bomb.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use super::{malformed, SazReader, PASSWORD_ENV};
use crate::capture::CaptureError;

/// Largest member (uncompressed) read from the archive.
const MAX_MEMBER: u64 = 256 << 20;
/// Largest total of uncompressed members; past this the archive is a bomb.
const MAX_TOTAL: u64 = 8 << 30;

/// The members of one session, by index in the archive.
#[derive(Default)]
pub(super) struct Members {
    pub(super) request: Option<usize>,
    pub(super) response: Option<usize>,
    pub(super) meta: Option<usize>,
}

enum Part {
    Request,
    Response,
    Meta,
    WebSocket,
}

/// Indexes the members: session number → (request, response, metadata). Refuses
/// unsafe names and archives without any request member.
pub(super) fn sessions<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<BTreeMap<u64, Members>, CaptureError> {
    let mut sessions: BTreeMap<u64, Members> = BTreeMap::new();
    for i in 0..archive.len() {
        let member = match archive.name_for_index(i) {
            Some(Ok(n)) => n.into_owned(),
            Some(Err(e)) => {
                return Err(malformed(
                    name,
                    &format!("zip entry {i}"),
                    format!("unreadable entry name ({e})"),
                ))
            }
            None => continue,
        };
        if is_unsafe_name(&member) {
            return Err(malformed(
                name,
                &format!("zip entry {member:?}"),
                "the name points outside the archive (path traversal); Fiddler never writes such names, so this file is refused".into(),
            ));
        }
        if let Some((number, part)) = session_member(&member) {
            let m = sessions.entry(number).or_default();
            match part {
                Part::Request => m.request = Some(i),
                Part::Response => m.response = Some(i),
                Part::Meta => m.meta = Some(i),
                Part::WebSocket => {}
            }
        }
    }
    if !sessions.values().any(|m| m.request.is_some()) {
        return Err(malformed(
            name,
            "archive",
            "a zip archive without raw/N_c.txt members, so not a Fiddler session archive".into(),
        ));
    }
    Ok(sessions)
}

/// `raw/0042_c.txt` → (42, Request). Names are compared without case; `\` is accepted
/// as a separator (archives re-zipped on Windows).
fn session_member(member: &str) -> Option<(u64, Part)> {
    let lower = member.replace('\\', "/").to_ascii_lowercase();
    let file = lower.strip_prefix("raw/")?;
    let (number, rest) = file.split_once('_')?;
    if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = match rest {
        "c.txt" => Part::Request,
        "s.txt" => Part::Response,
        "m.xml" => Part::Meta,
        "w.txt" => Part::WebSocket,
        _ => return None,
    };
    Some((number.parse().ok()?, part))
}

/// True for names that would leave the archive if extracted: absolute paths, drive
/// letters, `..` components, NUL bytes.
fn is_unsafe_name(member: &str) -> bool {
    let n = member.replace('\\', "/");
    n.starts_with('/')
        || n.contains('\0')
        || n.as_bytes().get(1) == Some(&b':')
        || n.split('/').any(|c| c == "..")
}

impl SazReader<'_> {
    /// Reads one member whole, decrypting when needed, within the size caps.
    pub(super) fn member<R: Read + Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        index: usize,
    ) -> Result<Vec<u8>, CaptureError> {
        let name = self.name;
        let (file, place, encrypted) = self.open(archive, index)?;
        let declared = file.size();
        self.consumed = self.consumed.saturating_add(file.compressed_size());
        if declared > MAX_MEMBER {
            return Err(bomb(name, &place, declared));
        }
        let mut out = Vec::with_capacity(declared.min(1 << 20) as usize);
        file.take(MAX_MEMBER + 1)
            .read_to_end(&mut out)
            .map_err(|e| damaged(name, &place, encrypted, e))?;
        if out.len() as u64 > MAX_MEMBER {
            return Err(bomb(name, &place, out.len() as u64));
        }
        self.total = self.total.saturating_add(out.len() as u64);
        if self.total > MAX_TOTAL {
            return Err(malformed(
                name,
                &place,
                format!(
                    "the members expand to more than {} GiB in total: refusing a possible zip bomb",
                    MAX_TOTAL >> 30
                ),
            ));
        }
        Ok(out)
    }

    /// Opens one member for reading, with the password when it is encrypted; also
    /// gives its place for messages and whether it was encrypted.
    fn open<'a, R: Read + Seek>(
        &self,
        archive: &'a mut zip::ZipArchive<R>,
        index: usize,
    ) -> Result<(zip::read::ZipFile<'a, R>, String, bool), CaptureError> {
        let name = self.name;
        let (member, encrypted) = {
            let raw = archive.by_index_raw(index).map_err(|e| {
                malformed(
                    name,
                    &format!("zip entry {index}"),
                    format!("unreadable ({e})"),
                )
            })?;
            (
                raw.name().map(|n| n.into_owned()).unwrap_or_default(),
                raw.encrypted(),
            )
        };
        let place = format!("zip entry {member:?}");
        if !encrypted {
            let file = archive
                .by_index(index)
                .map_err(|e| malformed(name, &place, format!("cannot read ({e})")))?;
            return Ok((file, place, false));
        }
        let Some(password) = self.password else {
            return Err(malformed(
                name,
                &place,
                format!("this SAZ is password-protected: set {PASSWORD_ENV} (or --password)"),
            ));
        };
        let file = archive
            .by_index_decrypt(index, password)
            .map_err(|e| match e {
                zip::result::ZipError::InvalidPassword => malformed(
                    name,
                    &place,
                    format!("the password in {PASSWORD_ENV} does not open this SAZ"),
                ),
                e => malformed(name, &place, format!("cannot decrypt ({e})")),
            })?;
        Ok((file, place, true))
    }
}

/// A member that would not read to its end: a wrong password shows as bad data.
fn damaged(name: &str, place: &str, encrypted: bool, e: std::io::Error) -> CaptureError {
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData if encrypted => {
            malformed(
                name,
                place,
                format!(
                    "cannot decrypt or inflate ({e}); is the password in {PASSWORD_ENV} right?"
                ),
            )
        }
        _ => malformed(name, place, format!("damaged member ({e})")),
    }
}

fn bomb(name: &str, place: &str, size: u64) -> CaptureError {
    malformed(
        name,
        place,
        format!(
            "the member expands to {} bytes, more than the {} MiB a session may have: refusing a possible zip bomb",
            size,
            MAX_MEMBER >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert!(matches!(
            session_member("raw/01_c.txt"),
            Some((1, Part::Request))
        ));
        assert!(matches!(
            session_member("raw/0071_S.TXT"),
            Some((71, Part::Response))
        ));
        assert!(matches!(
            session_member("raw\\3_m.xml"),
            Some((3, Part::Meta))
        ));
        assert!(session_member("raw/_c.txt").is_none());
        assert!(session_member("_index.htm").is_none());
        assert!(is_unsafe_name("../evil.txt"));
        assert!(is_unsafe_name("raw/../../x"));
        assert!(is_unsafe_name("/etc/passwd"));
        assert!(is_unsafe_name("C:\\x"));
        assert!(!is_unsafe_name("raw/1_c.txt"));
    }
}
