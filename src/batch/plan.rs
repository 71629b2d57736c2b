//! Planning: arguments, directories, archives and manifests become one sorted list
//! of traces, each with its size and the key logs found beside it.
//!
//! Archives are recognised from their bytes, like traces (`archive.rs`: a zip whose
//! members are not a Fiddler session (`raw/NNN_c.txt`), a tar (`ustar` at offset 257),
//! or a gzip whose first decompressed block is a tar). Zip archives and plain tars are
//! memory-mapped and their members read in place, in any order.
//!
//! A compressed tar can only be read front to back. It is decompressed once, here,
//! into memory, and its members are then read in place like a plain tar's, in any
//! order and in parallel. The decompressed archives held this way may take at most
//! half the memory budget; one that would not fit is listed here and streamed again,
//! in order, when its members run (so it is decompressed twice, and held only while
//! a wrong size hint in its gzip trailer lets it be tried in memory first).
//!
//! Key logs inside archives are small: their bytes are read while the archive is
//! listed, so a trace's keys never need a second pass over a compressed tar. What
//! is kept from one tar is capped (`MAX_KEYLOGS_PER_ARCHIVE`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::archive::{gunzip_within, scan_tar, sniff_archive, zip_names, Sniffed, TarMember};
pub use super::archive::{SharedBytes, ZipOf};
use super::glob::{self, Glob};
use super::keys::{KeyData, KeyLogs};
use super::TraceError;

/// What the planner needs from the options.
pub struct PlanOptions<'a> {
    /// `--glob` patterns; empty means the defaults of [`glob`].
    pub globs: &'a [String],
    /// `--keylog` files, recorded for every trace.
    pub keylogs: &'a [PathBuf],
    /// `--shard K/N`.
    pub shard: Option<Shard>,
    /// The memory budget (`--max-memory`), in bytes: decompressed archives may hold
    /// half of it.
    pub memory: u64,
}

/// A stable share of the inputs: trace `path` belongs to shard `hash(path) % count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` with `0 <= K < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (for example 0/4)"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` in `{text}` is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` in `{text}` is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard `{text}`: K must be at least 0 and below N (0/{count} … {}/{count})",
                count.saturating_sub(1)
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, path: &str) -> bool {
        fnv1a(path.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }
}

/// FNV-1a, 64 bits: stable across runs, machines and versions (unlike std's hasher).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Everything to analyse, sorted by path.
pub struct Plan {
    pub traces: Vec<Trace>,
    pub archives: Vec<Archive>,
    /// Traces found before `--shard` took its share.
    pub listed: usize,
    /// Every key log the traces name.
    pub keys: KeyLogs,
    /// Bytes of decompressed archives held in memory for the whole run.
    pub held: u64,
}

/// One trace: a file or an archive member.
#[derive(Debug)]
pub struct Trace {
    /// Shown in results: the file path, or `ARCHIVE!/MEMBER`.
    pub path: String,
    /// Bytes (uncompressed size for archive members).
    pub size: u64,
    /// Key logs found beside it, then the `--keylog` files: ids in [`Plan::keys`].
    pub keylogs: Vec<usize>,
    pub source: TraceSource,
}

#[derive(Debug)]
pub enum TraceSource {
    File(PathBuf),
    /// Member `index` of zip archive `archive`.
    Zip {
        archive: usize,
        index: usize,
    },
    /// A member of a tar held whole (mapped, or decompressed into memory): a byte
    /// range of its bytes.
    TarSlice {
        archive: usize,
        offset: u64,
    },
    /// The `ordinal`-th regular file of a compressed tar, read in stream order.
    TarStream {
        archive: usize,
        ordinal: usize,
    },
    /// Could not be found or listed: the result is this error.
    Unreadable(TraceError),
}

pub enum ArchiveKind {
    Zip(zip::ZipArchive<Cursor<SharedBytes>>),
    /// A plain tar (mapped) or a compressed one decompressed into memory.
    Tar(SharedBytes),
    /// A compressed tar too large to hold: streamed when its members run.
    TarGz,
}

pub struct Archive {
    pub path: PathBuf,
    pub name: String,
    pub kind: ArchiveKind,
}

/// Expands `inputs` (files, directories, archives) into a plan.
pub fn plan(inputs: &[String], options: &PlanOptions<'_>) -> Plan {
    let user_globs: Vec<Glob> = options.globs.iter().map(|g| Glob::new(g)).collect();
    let walk_globs = if user_globs.is_empty() {
        let mut g = glob::compile(glob::DEFAULT_TRACES);
        g.extend(glob::compile(glob::DEFAULT_ARCHIVES));
        g
    } else {
        user_globs.clone()
    };
    let member_globs = if user_globs.is_empty() {
        glob::compile(glob::DEFAULT_TRACES)
    } else {
        user_globs
    };
    let mut keys = KeyLogs::default();
    let global_keylogs: Vec<usize> = options
        .keylogs
        .iter()
        .map(|p| keys.intern(p.display().to_string(), || KeyData::File(p.clone())))
        .collect();
    let mut planner = Planner {
        walk_globs,
        member_globs,
        global_keylogs,
        keys,
        memory: options.memory,
        held: 0,
        traces: Vec::new(),
        archives: Vec::new(),
        only: None,
    };
    // `ARCHIVE!/MEMBER` names one member (as `--list` prints it); `ARCHIVE!/` names
    // the archive's own result (damage). Each archive is opened once for all of them.
    let mut members: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for input in inputs {
        match input.split_once("!/") {
            Some((archive, member)) if !Path::new(input).exists() => {
                members
                    .entry(archive.to_string())
                    .or_default()
                    .insert(member.to_string());
            }
            _ => planner.input(input),
        }
    }
    for (archive, wanted) in members {
        planner.selected(&archive, wanted);
    }
    let Planner {
        mut traces,
        archives,
        keys,
        held,
        ..
    } = planner;
    // Stable: of two traces with the same path, the first named wins.
    traces.sort_by(|a, b| a.path.cmp(&b.path));
    traces.dedup_by(|later, earlier| later.path == earlier.path);
    let listed = traces.len();
    if let Some(shard) = options.shard {
        traces.retain(|t| shard.contains(&t.path));
    }
    Plan {
        traces,
        archives,
        listed,
        keys,
        held,
    }
}

struct Planner {
    walk_globs: Vec<Glob>,
    member_globs: Vec<Glob>,
    global_keylogs: Vec<usize>,
    keys: KeyLogs,
    /// The memory budget, and what decompressed archives hold of it so far.
    memory: u64,
    held: u64,
    traces: Vec<Trace>,
    archives: Vec<Archive>,
    /// Members to keep of the archive being listed (`None`: all that match the globs).
    only: Option<HashSet<String>>,
}

/// Key-log names that are never traces themselves.
fn is_keylog_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "sslkeys.log" || lower.ends_with(".keys") || lower.ends_with(".keylog")
}

impl Planner {
    fn unreadable(&mut self, path: String, error: TraceError) {
        self.traces.push(Trace {
            path,
            size: 0,
            keylogs: Vec::new(),
            source: TraceSource::Unreadable(error),
        });
    }

    /// Named members of one archive; each one not found gets an error result.
    fn selected(&mut self, archive: &str, wanted: HashSet<String>) {
        let path = Path::new(archive);
        let kind = match sniff_archive(path) {
            Ok(Some(kind)) => kind,
            failed => {
                let message = match failed {
                    Err(e) => format!("{archive}: cannot read: {e}"),
                    _ => format!("{archive}: not a zip or tar archive"),
                };
                let mut names: Vec<_> = wanted.into_iter().collect();
                names.sort();
                for member in names {
                    let error = TraceError::archive(message.clone());
                    self.unreadable(format!("{archive}!/{member}"), error);
                }
                return;
            }
        };
        let before = self.traces.len();
        self.only = Some(wanted);
        self.archive(path, archive.to_string(), kind);
        let wanted = self.only.take().unwrap_or_default();
        let found: HashSet<String> = self.traces[before..]
            .iter()
            .map(|t| t.path.clone())
            .collect();
        let mut missing: Vec<_> = wanted
            .into_iter()
            .filter(|m| !m.is_empty() && !found.contains(&format!("{archive}!/{m}")))
            .collect();
        missing.sort();
        for member in missing {
            let error = TraceError::archive(format!("{archive}: no member named {member}"));
            self.unreadable(format!("{archive}!/{member}"), error);
        }
    }

    fn input(&mut self, input: &str) {
        let path = Path::new(input);
        match std::fs::metadata(path) {
            Err(e) => self.unreadable(input.to_string(), TraceError::io(input, &e)),
            Ok(meta) if meta.is_dir() => self.walk(path, path),
            Ok(meta) => self.file(path, meta.len()),
        }
    }

    /// Recursive walk, skipping hidden entries and not following directory links.
    fn walk(&mut self, root: &Path, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                let name = dir.display().to_string();
                let error = TraceError::io(&name, &e);
                return self.unreadable(name, error);
            }
        };
        let mut children: Vec<_> = entries.filter_map(Result::ok).collect();
        children.sort_by_key(|e| e.file_name());
        for entry in children {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                self.walk(root, &path);
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if is_keylog_name(&name) || !glob::any_match(&self.walk_globs, &rel) {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => self.file(&path, meta.len()),
                Ok(_) => {}
                Err(e) => {
                    let shown = path.display().to_string();
                    let error = TraceError::io(&shown, &e);
                    self.unreadable(shown, error);
                }
            }
        }
    }

    /// A file: an archive to open, or a trace.
    fn file(&mut self, path: &Path, size: u64) {
        let name = path.display().to_string();
        match sniff_archive(path) {
            Ok(Some(kind)) => self.archive(path, name, kind),
            Ok(None) => {
                let keylogs = self.keylogs_beside(path);
                self.traces.push(Trace {
                    path: name,
                    size,
                    keylogs,
                    source: TraceSource::File(path.to_path_buf()),
                });
            }
            Err(e) => {
                let error = TraceError::io(&name, &e);
                self.unreadable(name, error);
            }
        }
    }

    fn keylogs_beside(&mut self, path: &Path) -> Vec<usize> {
        let dir = path.parent().unwrap_or(Path::new(""));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut found = Vec::new();
        for candidate in crate::capture::keylog::candidates(&name) {
            let path = dir.join(candidate);
            if path.is_file() {
                let shown = path.display().to_string();
                found.push(self.keys.intern(shown, || KeyData::File(path)));
            }
        }
        self.with_global_keylogs(found)
    }

    /// Key logs beside member `member` of archive `archive`, among the member
    /// `names`; `fetch` reads one the first time it is seen.
    fn member_keylogs(
        &mut self,
        archive: &str,
        member: &str,
        names: &HashSet<String>,
        fetch: &mut dyn FnMut(&str) -> KeyData,
    ) -> Vec<usize> {
        let (dir, name) = match member.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n),
            None => (String::new(), member),
        };
        let mut found = Vec::new();
        for candidate in crate::capture::keylog::candidates(name) {
            let candidate = format!("{dir}{candidate}");
            if names.contains(&candidate) {
                let shown = format!("{archive}!/{candidate}");
                found.push(self.keys.intern(shown, || fetch(&candidate)));
            }
        }
        self.with_global_keylogs(found)
    }

    /// `found`, then the `--keylog` files, each once, in that order.
    fn with_global_keylogs(&self, mut found: Vec<usize>) -> Vec<usize> {
        found.extend(self.global_keylogs.iter().copied());
        let mut seen = HashSet::new();
        found.retain(|id| seen.insert(*id));
        found
    }

    fn wanted_member(&self, member: &str) -> bool {
        if let Some(only) = &self.only {
            return only.contains(member);
        }
        let file = member.rsplit('/').next().unwrap_or(member);
        !file.is_empty() && !is_keylog_name(file) && glob::any_match(&self.member_globs, member)
    }

    fn archive(&mut self, path: &Path, name: String, kind: Sniffed) {
        let index = self.archives.len();
        let result = match kind {
            Sniffed::Zip(map) => self.list_zip(index, &name, map),
            Sniffed::Tar(map) => Ok(self.list_tar(index, &name, map, None)),
            Sniffed::TarGz => self.list_tar_gz(index, &name, path),
        };
        match result {
            Ok(kind) => self.archives.push(Archive {
                path: path.to_path_buf(),
                name,
                kind,
            }),
            Err(message) => {
                let error = TraceError::archive(format!("{name}: {message}"));
                self.archive_damage(&name, error);
            }
        }
    }

    fn list_zip(&mut self, index: usize, name: &str, zip: ZipOf) -> Result<ArchiveKind, String> {
        let names: HashSet<String> = zip_names(&zip).collect();
        let mut reader = zip.clone();
        let mut fetch = |member: &str| zip_keylog(&mut reader, member);
        for i in 0..zip.len() {
            let Ok(entry) = zip.by_index_data(i) else {
                continue;
            };
            if entry.is_dir() {
                continue;
            }
            let member = String::from_utf8_lossy(entry.name_raw()).into_owned();
            if !self.wanted_member(&member) {
                continue;
            }
            let keylogs = self.member_keylogs(name, &member, &names, &mut fetch);
            self.traces.push(Trace {
                path: format!("{name}!/{member}"),
                size: entry.size(),
                keylogs,
                source: TraceSource::Zip {
                    archive: index,
                    index: i,
                },
            });
        }
        Ok(ArchiveKind::Zip(zip))
    }

    /// A tar held whole; `damage` is why its bytes end early (a cut gzip stream).
    fn list_tar(
        &mut self,
        index: usize,
        name: &str,
        bytes: SharedBytes,
        damage: Option<String>,
    ) -> ArchiveKind {
        let (members, keylogs, outcome) = list_members(bytes.as_ref());
        let len = bytes.as_ref().len() as u64;
        self.add_tar_members(name, members, keylogs, |m| {
            if m.offset.saturating_add(m.size) > len {
                let message = format!("{name}!/{}: the archive ends inside this member", m.path);
                return TraceSource::Unreadable(TraceError::archive(message));
            }
            TraceSource::TarSlice {
                archive: index,
                offset: m.offset,
            }
        });
        if let Some(e) = damage.or(outcome.err()) {
            self.tar_damage(name, e);
        }
        ArchiveKind::Tar(bytes)
    }

    /// A compressed tar: decompressed into memory when half the budget still has
    /// room for it, else listed now and streamed again later.
    fn list_tar_gz(
        &mut self,
        index: usize,
        name: &str,
        path: &Path,
    ) -> Result<ArchiveKind, String> {
        let room = (self.memory / 2).saturating_sub(self.held);
        if let Some((data, damage)) = gunzip_within(path, room).map_err(|e| e.to_string())? {
            self.held += data.len() as u64;
            let bytes = SharedBytes::new(data);
            return Ok(self.list_tar(index, name, bytes, damage));
        }
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let reader = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        let (members, keylogs, outcome) = list_members(reader);
        self.add_tar_members(name, members, keylogs, |m| TraceSource::TarStream {
            archive: index,
            ordinal: m.ordinal,
        });
        if let Err(e) = outcome {
            self.tar_damage(name, e);
        }
        Ok(ArchiveKind::TarGz)
    }

    /// A tar that breaks part-way: the members before the damage are kept, and the
    /// archive itself gets an error result.
    fn tar_damage(&mut self, name: &str, message: String) {
        let error = TraceError::archive(format!(
            "{name}: the archive is damaged after its last listed member: {message}"
        ));
        self.archive_damage(name, error);
    }

    /// The archive's own result, `ARCHIVE!/`, unless only other members were asked for.
    fn archive_damage(&mut self, name: &str, error: TraceError) {
        if self.only.as_ref().is_none_or(|only| only.contains("")) {
            self.unreadable(format!("{name}!/"), error);
        }
    }

    fn add_tar_members(
        &mut self,
        name: &str,
        members: Vec<TarMember>,
        mut keylog_bytes: HashMap<String, KeyData>,
        source: impl Fn(&TarMember) -> TraceSource,
    ) {
        let names: HashSet<String> = members.iter().map(|m| m.path.clone()).collect();
        let mut fetch = |member: &str| {
            keylog_bytes
                .remove(member)
                .unwrap_or_else(|| KeyData::Failed("not a regular file".to_string()))
        };
        for member in &members {
            if !self.wanted_member(&member.path) {
                continue;
            }
            let keylogs = self.member_keylogs(name, &member.path, &names, &mut fetch);
            self.traces.push(Trace {
                path: format!("{name}!/{}", member.path),
                size: member.size,
                keylogs,
                source: source(member),
            });
        }
    }
}

/// Key logs larger than this are not read (a browser's log of a long day is a few MB).
const MAX_KEYLOG: u64 = 64 << 20;
/// All the key logs kept from one tar, together: a crafted archive of many large
/// key logs must not make planning hold them all.
const MAX_KEYLOGS_PER_ARCHIVE: u64 = 256 << 20;

/// Reads a key log out of an archive, keeping at most [`MAX_KEYLOG`] bytes.
fn read_keylog(reader: &mut dyn Read) -> KeyData {
    let mut data = Vec::new();
    match reader.take(MAX_KEYLOG + 1).read_to_end(&mut data) {
        Err(e) => KeyData::Failed(e.to_string()),
        Ok(_) if data.len() as u64 > MAX_KEYLOG => {
            KeyData::Failed(format!("larger than {} MiB", MAX_KEYLOG >> 20))
        }
        Ok(_) => KeyData::Bytes(data.into()),
    }
}

fn zip_keylog(zip: &mut ZipOf, member: &str) -> KeyData {
    match zip.by_name(member) {
        Ok(mut entry) => read_keylog(&mut entry),
        Err(e) => KeyData::Failed(e.to_string()),
    }
}

/// The regular files of a tar, the bytes of its key logs by member name, and the
/// damage that stopped the listing, if any.
fn list_members<R: Read>(
    reader: R,
) -> (Vec<TarMember>, HashMap<String, KeyData>, Result<(), String>) {
    let mut members = Vec::new();
    let mut keylogs = HashMap::new();
    let mut kept = 0u64;
    let outcome = scan_tar(reader, |member, data| {
        let file = member.path.rsplit('/').next().unwrap_or(&member.path);
        if is_keylog_name(file) {
            let key = if kept.saturating_add(member.size) > MAX_KEYLOGS_PER_ARCHIVE {
                KeyData::Failed(format!(
                    "the archive's key logs exceed {} MiB in all",
                    MAX_KEYLOGS_PER_ARCHIVE >> 20
                ))
            } else {
                kept = kept.saturating_add(member.size.min(MAX_KEYLOG));
                read_keylog(data)
            };
            keylogs.insert(member.path.clone(), key);
        }
        members.push(member);
    });
    (members, keylogs, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_and_stability() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x/4").is_err());
        assert!(Shard::parse("0/0").is_err());
        // Pinned: the hash must never change, or shards move between releases.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let paths: Vec<String> = (0..1000).map(|i| format!("dir/t{i}.har")).collect();
        let n = 3;
        let mut counts = [0; 3];
        for p in &paths {
            let owners: Vec<u32> = (0..n)
                .filter(|&k| Shard { index: k, count: n }.contains(p))
                .collect();
            assert_eq!(owners.len(), 1, "{p} belongs to exactly one shard");
            counts[owners[0] as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 250), "{counts:?}");
    }

    /// A tar.gz of `members`, written to `dir/name`.
    fn tar_gz(dir: &Path, name: &str, members: &[(&str, Vec<u8>)]) -> String {
        let mut tar = tar::Builder::new(Vec::new());
        for (member, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_cksum();
            tar.append_data(&mut header, member, &data[..]).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        path.display().to_string()
    }

    fn plan_with(input: &str, memory: u64) -> Plan {
        let options = PlanOptions {
            globs: &[],
            keylogs: &[],
            shard: None,
            memory,
        };
        plan(&[input.to_string()], &options)
    }

    #[test]
    fn tar_gz_held_in_memory_or_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let members = [
            ("a.pcapng", vec![b'x'; 4000]),
            ("a.keys", b"# keys\n".to_vec()),
            ("sub/b.har", vec![b'y'; 4000]),
        ];
        let archive = tar_gz(dir.path(), "t.tar.gz", &members);
        // Room for it in half the budget: decompressed once, members in place.
        let held = plan_with(&archive, 1 << 20);
        assert!(held.held > 8000, "{}", held.held);
        assert!(matches!(held.archives[0].kind, ArchiveKind::Tar(_)));
        assert!(held
            .traces
            .iter()
            .all(|t| matches!(t.source, TraceSource::TarSlice { .. })));
        // No room: listed, and streamed when the members run.
        let streamed = plan_with(&archive, 10_000);
        assert_eq!(streamed.held, 0);
        assert!(matches!(streamed.archives[0].kind, ArchiveKind::TarGz));
        for p in [&held, &streamed] {
            let paths: Vec<&str> = p.traces.iter().map(|t| t.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    format!("{archive}!/a.pcapng"),
                    format!("{archive}!/sub/b.har")
                ]
            );
            // The key log beside a.pcapng was read while listing, in both cases.
            let (keys, warnings) = p.keys.for_trace(&p.traces[0].keylogs);
            assert!(keys.is_some() && warnings.is_empty());
            assert_eq!(
                p.keys.shown(p.traces[0].keylogs[0]),
                format!("{archive}!/a.keys")
            );
            assert!(p.traces[1].keylogs.is_empty());
        }
    }

    #[test]
    fn cut_tar_gz_keeps_whole_members_and_reports_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        // Incompressible, so the cut at half the gzip falls inside this member.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        let members = [("first.har", vec![b'x'; 600]), ("second.har", noise)];
        let archive = tar_gz(dir.path(), "cut.tar.gz", &members);
        let bytes = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
        for memory in [1 << 20, 1000] {
            let p = plan_with(&archive, memory);
            let first = p.traces.iter().find(|t| t.path.ends_with("first.har"));
            assert!(first.is_some_and(|t| !matches!(t.source, TraceSource::Unreadable(_))));
            let damage = p.traces.iter().find(|t| t.path == format!("{archive}!/"));
            assert!(
                damage.is_some_and(|t| matches!(t.source, TraceSource::Unreadable(_))),
                "the archive's own error result (memory {memory})"
            );
            // The member the cut runs through is never handed over half-read: held
            // in memory it is an error result; streamed, reading it fails later.
            let second = p.traces.iter().find(|t| t.path.ends_with("second.har"));
            let source = &second.expect("its header was whole").source;
            if p.held > 0 {
                assert!(matches!(source, TraceSource::Unreadable(_)), "{source:?}");
            } else {
                assert!(
                    matches!(source, TraceSource::TarStream { .. }),
                    "{source:?}"
                );
            }
        }
    }

    #[test]
    fn keylog_names() {
        let c = crate::capture::keylog::candidates("a.pcapng.gz");
        assert!(c.contains(&"a.pcapng.gz.keys".to_string()));
        assert!(c.contains(&"a.pcapng.keylog".to_string()));
        assert!(c.contains(&"a.keys".to_string()));
        assert!(c.contains(&"sslkeys.log".to_string()));
        assert!(is_keylog_name("SSLKEYS.LOG"));
        assert!(is_keylog_name("x.keylog"));
        assert!(!is_keylog_name("x.har"));
    }
}
