//! Archives as byte containers: recognising a zip, tar or compressed tar from its
//! bytes, memory-mapping, decompressing a gzip within a room, and walking a tar's
//! regular files (the one count of members, shared by listing and streaming).
//! What is inside (traces, key logs) is the planner's business (`plan.rs`).

use std::io::{Cursor, Read, Seek};
use std::path::Path;
use std::sync::Arc;

/// Bytes shared between threads: a memory map, or a decompressed archive.
#[derive(Clone)]
pub struct SharedBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl SharedBytes {
    /// Shares `bytes` (a map, or a decompressed archive).
    pub(super) fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        SharedBytes(Arc::new(bytes))
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

pub type ZipOf = zip::ZipArchive<Cursor<SharedBytes>>;

pub(super) enum Sniffed {
    Zip(ZipOf),
    Tar(SharedBytes),
    TarGz,
}

pub(super) fn map_file(path: &Path) -> std::io::Result<SharedBytes> {
    let file = std::fs::File::open(path)?;
    // SAFETY: read-only map; inputs must not change during a run (README).
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok(SharedBytes(Arc::new(map)))
}

/// Decompresses a gzip file into memory when it holds at most `room` bytes:
/// `None` when it holds more. A stream that breaks part-way gives what came
/// before the damage, and why.
pub(super) fn gunzip_within(
    path: &Path,
    room: u64,
) -> std::io::Result<Option<(Vec<u8>, Option<String>)>> {
    let mut file = std::fs::File::open(path)?;
    let compressed = file.metadata()?.len();
    // The gzip trailer holds the size (mod 4 GiB) of the last member: usually the
    // whole size. It is only a hint (a cut file ends with other bytes), trusted
    // within deflate's largest ratio, 1032:1.
    let mut trailer = [0u8; 4];
    let hint = file
        .seek(std::io::SeekFrom::End(-4))
        .and_then(|_| file.read_exact(&mut trailer))
        .map_or(0, |_| u64::from(u32::from_le_bytes(trailer)));
    file.rewind()?;
    if hint > room && hint <= compressed.saturating_mul(1032) {
        return Ok(None);
    }
    // Reserved up front, so the buffer does not grow by doubling; a hint beyond a
    // usual ratio is not believed.
    let reserve = hint.min(room).min(compressed.saturating_mul(16));
    let mut data = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    let reader = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let damage = read_within(reader, room.saturating_add(1), &mut data)
        .err()
        .map(|e| e.to_string());
    if data.len() as u64 > room {
        return Ok(None);
    }
    // The budget counts the length: give back what a wrong size hint over-reserved.
    data.shrink_to_fit();
    Ok(Some((data, damage)))
}

/// Reads at most `limit` bytes into `data`, growing it by doubling but never
/// past `limit`: `read_to_end` could leave it with twice what it holds.
pub(super) fn read_within(
    mut reader: impl Read,
    limit: u64,
    data: &mut Vec<u8>,
) -> std::io::Result<()> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    loop {
        if data.len() >= limit {
            return Ok(());
        }
        if data.len() == data.capacity() {
            let grow = data.len().max(64 << 10).min(limit - data.len());
            data.reserve_exact(grow);
        }
        let start = data.len();
        let end = data.capacity().min(limit);
        data.resize(end, 0);
        match reader.read(&mut data[start..]) {
            Ok(0) => {
                data.truncate(start);
                return Ok(());
            }
            Ok(n) => data.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => data.truncate(start),
            Err(e) => {
                data.truncate(start);
                return Err(e);
            }
        }
    }
}

fn is_tar_header(block: &[u8]) -> bool {
    block.len() >= 262 && &block[257..262] == b"ustar"
}

/// Opens `path` when its bytes say it is an archive; `None` for a trace.
pub(super) fn sniff_archive(path: &Path) -> std::io::Result<Option<Sniffed>> {
    if crate::capture::special::is_stream(path) {
        // A FIFO or device is no archive; opening it here could block.
        return Ok(None);
    }
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 512];
    let filled = crate::capture::read_full(&mut file, &mut head)?;
    let head = &head[..filled];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let map = map_file(path)?;
        return Ok(match zip::ZipArchive::new(Cursor::new(map)) {
            // A Fiddler session is a zip too: it is a trace, not an archive of traces.
            Ok(zip) if is_saz(&zip) => None,
            Ok(zip) => Some(Sniffed::Zip(zip)),
            // A broken zip goes to the readers, which name the damage.
            Err(_) => None,
        });
    }
    if is_tar_header(head) {
        return Ok(Some(Sniffed::Tar(map_file(path)?)));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let file = std::fs::File::open(path)?;
        let mut inner = flate2::read::MultiGzDecoder::new(file);
        let mut block = [0u8; 512];
        let mut got = 0;
        while got < block.len() {
            match inner.read(&mut block[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        if is_tar_header(&block[..got]) {
            return Ok(Some(Sniffed::TarGz));
        }
    }
    Ok(None)
}

fn is_saz(zip: &ZipOf) -> bool {
    zip_names(zip).any(|n| n.starts_with("raw/") && n.ends_with("_c.txt"))
}

/// Member names as written (lossy UTF-8), directories included.
pub(super) fn zip_names(zip: &ZipOf) -> impl Iterator<Item = String> + '_ {
    (0..zip.len()).filter_map(|i| {
        zip.by_index_data(i)
            .ok()
            .map(|e| String::from_utf8_lossy(e.name_raw()).into_owned())
    })
}

/// A regular file of a tar.
pub(super) struct TarMember {
    pub(super) path: String,
    pub(super) size: u64,
    /// Where its data starts in the (decompressed) tar.
    pub(super) offset: u64,
    /// Its place among the regular files, counted as [`tar_regular_files`] does.
    pub(super) ordinal: usize,
}

/// Calls `found` with each regular file of a tar stream and a reader of its data.
/// Stops at the first damage.
pub(super) fn scan_tar<R: Read>(
    reader: R,
    mut found: impl FnMut(TarMember, &mut dyn Read),
) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| e.to_string())?;
    let mut ordinal = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| e.to_string())?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member = TarMember {
            path: path.strip_prefix("./").unwrap_or(&path).to_string(),
            size: entry.size(),
            offset: entry.raw_file_position(),
            ordinal,
        };
        found(member, &mut entry);
        ordinal += 1;
    }
    Ok(())
}

/// Opens the `ordinal`-th regular file of a tar stream, in order: a cursor over the
/// entries that counts regular files exactly as [`scan_tar`] does.
pub fn tar_regular_files<R: Read>(
    archive: &mut tar::Archive<R>,
) -> std::io::Result<impl Iterator<Item = std::io::Result<tar::Entry<'_, R>>>> {
    Ok(archive.entries()?.filter(|e| {
        e.as_ref()
            .map_or(true, |e| e.header().entry_type().is_file())
    }))
}
