//! The value-level half of trace redaction: what one secret, user name or JWT
//! becomes, counted by kind.
//!
//! Every replacement is a *stable pseudonym*: a keyed hash (SipHash with a random
//! key drawn for each run, so nobody can test guesses against it) of the original
//! value. The same value becomes the same pseudonym everywhere in one file, so the
//! hand-offs that link one sign-in step to the next (flow tokens, `ctx`, codes)
//! still link, and `aadtrace analyze` groups the redacted copy exactly like the
//! original. Passwords, one-time codes and client secrets link nothing and become
//! a constant.
//!
//! Which names and shapes are secret is decided in one place, [`crate::secrets`];
//! [`Masker`] is the [`Masking`] that `redact` hands to its scanners.
//!
//! **Places.** The receipt says where each value was masked, never what it was.
//! A rewriter names the place it is working on before it masks anything there:
//! [`Masker::set_place`] with a place (`entry 12`, `session 7`, `frame 40`) and a
//! field (`request.postData`, `response header Set-Cookie`, `request body`), or
//! [`Masker::set_field`] to change only the field. Every count (a masked value,
//! a pseudonym, a hit of the sweep) then also counts for that (place, field,
//! kind); the totals by kind are the same with or without places. Places are
//! kept in the order they first masked something, up to [`MAX_PLACES`] rows;
//! past that only how many more is kept ([`Masker::places_omitted`]). A place or
//! field must never hold a value from the trace other than a name the copy keeps
//! (a header or parameter name): [`Masker::field_name`] builds such a field and
//! withholds a name that is itself a known secret. Until a rewriter sets one,
//! the place and field are empty.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::identity::endpoints::is_guid;
use crate::identity::jwt;
use crate::secrets::{param_kind, Masking, SecretKind};

/// Originals remembered for the final sweep, at most this many bytes.
const REGISTRY_BUDGET: usize = 64 << 20;
/// Originals shorter than this are not swept (they could be ordinary words).
const MIN_SWEPT_LEN: usize = 8;
/// Display names remembered for the sweep.
const MAX_PHRASES: usize = 256;
/// Rows of (place, field, kind) kept for the receipt.
pub const MAX_PLACES: usize = 10_000;
/// Longest header or parameter name a field names; longer ones are withheld.
const MAX_FIELD_NAME: usize = 64;

/// How many values of one kind were masked in one field of one place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlaceCount {
    /// `entry 12`, `session 7`, … (empty when the rewriter named none).
    pub place: String,
    /// `request.postData`, `request header Cookie`, …
    pub field: String,
    /// The kind's name, as in the receipt's `masked`.
    pub kind: &'static str,
    pub count: u64,
}

/// Where values are being masked, and the counts by place.
#[derive(Default, Clone)]
struct Places {
    place: String,
    field: String,
    rows: Vec<PlaceCount>,
    index: HashMap<(String, String, SecretKind), usize>,
    /// Rows of the current place and field, by kind (cleared when either changes).
    current: Vec<(SecretKind, usize)>,
    /// Rows past the cap (as keyed digests) and the values they counted.
    omitted: std::collections::HashSet<u64>,
    omitted_values: u64,
}

/// Masks values and counts what it masked.
///
/// A masker can work on several threads: each worker takes a copy
/// ([`Masker::worker`]), masks a run of consecutive values, and hands what it
/// learnt and counted back ([`Masker::take_work`]); merged in the order of the
/// runs ([`Masker::merge`]), the result is the one of a single masker that did
/// every run in turn.
#[derive(Clone)]
pub struct Masker {
    key: std::collections::hash_map::RandomState,
    counts: BTreeMap<SecretKind, u64>,
    /// Original → replacement, for the sweep over every string.
    registry: HashMap<String, (String, SecretKind)>,
    /// Bytes of the registry's originals and replacements, and of its
    /// originals alone.
    registry_bytes: usize,
    registry_key_bytes: usize,
    /// Display names (with spaces, so the token sweep cannot see them).
    phrases: Vec<(String, String)>,
    places: Places,
    /// Originals masked since [`Masker::start_journal`], for writers that
    /// mask in place ([`super::packets`]).
    journal: Option<Vec<(String, SecretKind)>>,
    /// What a worker learnt since its last [`Masker::take_work`], in order.
    learnt: Option<Learnt>,
}

/// What a worker masker learnt, in the order it learnt it: replayed into the
/// main masker, the same first-come budget and caps apply as if it had learnt
/// it itself.
#[derive(Default, Clone)]
struct Learnt {
    /// `remember` calls that added something to the worker's registry.
    registry: Vec<(String, String, SecretKind)>,
    /// Display names added to the worker's phrases.
    phrases: Vec<(String, String)>,
}

/// What a worker masked and learnt in one run of values ([`Masker::take_work`]).
pub struct Work {
    counts: BTreeMap<SecretKind, u64>,
    rows: Vec<(PlaceCount, SecretKind)>,
    omitted: std::collections::HashSet<u64>,
    omitted_values: u64,
    learnt: Learnt,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new()
    }
}

impl Masker {
    /// A masker with a fresh random key.
    pub fn new() -> Self {
        Masker {
            key: std::collections::hash_map::RandomState::new(),
            counts: BTreeMap::new(),
            registry: HashMap::new(),
            registry_bytes: 0,
            registry_key_bytes: 0,
            phrases: Vec::new(),
            places: Places::default(),
            journal: None,
            learnt: None,
        }
    }

    /// A copy for a worker thread: what this masker has learnt and its key,
    /// with no counts and no place; it keeps what it learns for
    /// [`Masker::take_work`].
    pub fn worker(&self) -> Masker {
        let mut worker = self.clone();
        worker.reset_counts();
        worker.journal = None;
        worker.learnt = Some(Learnt::default());
        worker
    }

    /// What this worker counted and learnt since it was made or last asked;
    /// its counts and places start again from nothing.
    pub fn take_work(&mut self) -> Work {
        let places = &mut self.places;
        let mut kinds = vec![SecretKind::Token; places.rows.len()];
        for (&(_, _, kind), &row) in &places.index {
            kinds[row] = kind;
        }
        let work = Work {
            counts: std::mem::take(&mut self.counts),
            rows: std::mem::take(&mut places.rows)
                .into_iter()
                .zip(kinds)
                .collect(),
            omitted: std::mem::take(&mut places.omitted),
            omitted_values: std::mem::take(&mut places.omitted_values),
            learnt: self.learnt.as_mut().map(std::mem::take).unwrap_or_default(),
        };
        self.reset_counts();
        work
    }

    /// Takes in a worker's run, as if this masker had masked it: what the
    /// worker learnt is learnt again here in its order (so the registry's
    /// budget and the phrases' cap keep the first ones of the whole file), its
    /// counts are added, and its place rows follow this masker's up to
    /// [`MAX_PLACES`]. The runs of the workers must be merged in their order
    /// in the trace, and their places must be their own (an entry's index).
    pub fn merge(&mut self, work: Work) {
        for (original, replacement, kind) in &work.learnt.registry {
            self.remember(original, replacement, *kind);
        }
        for (original, replacement) in work.learnt.phrases {
            self.add_phrase(original, replacement);
        }
        for (kind, n) in work.counts {
            *self.counts.entry(kind).or_insert(0) += n;
        }
        for row in work.rows {
            self.merge_row(row);
        }
        self.places.omitted.extend(work.omitted);
        self.places.omitted_values += work.omitted_values;
        // The place being counted is no longer this masker's last one.
        self.places.current.clear();
    }

    /// A worker's row, listed while there is room and counted as omitted past it.
    fn merge_row(&mut self, (row, kind): (PlaceCount, SecretKind)) {
        let p = &mut self.places;
        let key = (row.place, row.field, kind);
        if let Some(&at) = p.index.get(&key) {
            p.rows[at].count += row.count;
        } else if p.rows.len() < MAX_PLACES {
            p.rows.push(PlaceCount {
                place: key.0.clone(),
                field: key.1.clone(),
                kind: row.kind,
                count: row.count,
            });
            p.index.insert(key, p.rows.len() - 1);
        } else {
            let digest = self.digest("place", &format!("{}\0{}\0{}", key.0, key.1, row.kind));
            self.places.omitted.insert(digest);
            self.places.omitted_values += row.count;
        }
    }

    /// Names the place and field whose values are masked next (see the module
    /// documentation).
    pub fn set_place(&mut self, place: &str, field: &str) {
        if self.places.place != place {
            self.places.place.clear();
            self.places.place.push_str(place);
            self.places.current.clear();
        }
        self.set_field(field);
    }

    /// The current place (for a warning that names it).
    pub fn place(&self) -> &str {
        &self.places.place
    }

    /// Names the field whose values are masked next, in the same place.
    pub fn set_field(&mut self, field: &str) {
        if self.places.field != field {
            self.places.field.clear();
            self.places.field.push_str(field);
            self.places.current.clear();
        }
    }

    /// `prefix` followed by `name` (a header or parameter name), for a field:
    /// the name is withheld when it is long, holds other than token characters,
    /// or is itself a secret this file revealed (the copy sweeps it too).
    pub fn field_name(&self, prefix: &str, name: &str) -> String {
        let plain = !name.is_empty()
            && name.len() <= MAX_FIELD_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if plain && self.lookup(name).is_none() {
            format!("{prefix}{name}")
        } else {
            format!("{prefix}(name withheld)")
        }
    }

    /// Counts by place, field and kind, in the order they first counted.
    pub fn places(&self) -> &[PlaceCount] {
        &self.places.rows
    }

    /// Rows past [`MAX_PLACES`] that are not listed, and the values they counted.
    pub fn places_omitted(&self) -> (usize, u64) {
        (self.places.omitted.len(), self.places.omitted_values)
    }

    /// Counts so far, by kind.
    pub fn counts(&self) -> &BTreeMap<SecretKind, u64> {
        &self.counts
    }

    /// Total replacements so far (a cheap "did anything change" test).
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Forgets the counts (not the pseudonyms or what was learned): used between
    /// the learning pass and the writing pass.
    pub fn reset_counts(&mut self) {
        self.counts.clear();
        // A new count names no place until a rewriter sets one again.
        let places = &mut self.places;
        places.place.clear();
        places.field.clear();
        places.rows.clear();
        places.index.clear();
        places.current.clear();
        places.omitted.clear();
        places.omitted_values = 0;
    }

    fn count(&mut self, kind: SecretKind) {
        *self.counts.entry(kind).or_insert(0) += 1;
        self.count_place(kind);
    }

    /// One more value of `kind` in the current place and field.
    fn count_place(&mut self, kind: SecretKind) {
        let cached = self.places.current.iter().find(|(k, _)| *k == kind);
        if let Some(&(_, row)) = cached {
            self.places.rows[row].count += 1;
            return;
        }
        let p = &mut self.places;
        let key = (p.place.clone(), p.field.clone(), kind);
        let row = match p.index.get(&key) {
            Some(&row) => row,
            None if p.rows.len() < MAX_PLACES => {
                p.rows.push(PlaceCount {
                    place: key.0.clone(),
                    field: key.1.clone(),
                    kind: kind.name(),
                    count: 0,
                });
                p.index.insert(key, p.rows.len() - 1);
                p.rows.len() - 1
            }
            None => {
                let digest =
                    self.digest("place", &format!("{}\0{}\0{}", key.0, key.1, kind.name()));
                self.places.omitted.insert(digest);
                self.places.omitted_values += 1;
                return;
            }
        };
        p.rows[row].count += 1;
        p.current.push((kind, row));
    }

    fn digest(&self, domain: &str, value: &str) -> u64 {
        let mut h = self.key.build_hasher();
        domain.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    }

    /// Remembers `original → replacement` for the sweep, in both its plain and its
    /// URL-encoded spelling.
    fn remember(&mut self, original: &str, replacement: &str, kind: SecretKind) {
        let original = original.trim_end_matches('=');
        // A worker's replacement of an original may be longer than the one the
        // main masker keeps (the first seen in the whole file), so only its
        // originals, which the main masker holds too, say for sure that the
        // main masker's budget is spent: past that a worker adds nothing.
        let used = match self.learnt {
            Some(_) => self.registry_key_bytes,
            None => self.registry_bytes,
        };
        if original.len() < MIN_SWEPT_LEN || used > REGISTRY_BUDGET {
            return;
        }
        let add = |m: &mut Self, from: String, to: String| {
            if m.registry.contains_key(&from) {
                return false;
            }
            m.registry_bytes += from.len() + to.len();
            m.registry_key_bytes += from.len();
            m.registry.insert(from, (to, kind));
            true
        };
        let mut added = add(self, original.to_string(), replacement.to_string());
        let encoded: String = form_urlencoded::byte_serialize(original.as_bytes()).collect();
        if encoded != original {
            let to: String = form_urlencoded::byte_serialize(replacement.as_bytes()).collect();
            added |= add(self, encoded, to);
        }
        // What this worker had already added, it logged then; what it could
        // not add for its budget, the main masker cannot add either.
        if let (true, Some(learnt)) = (added, self.learnt.as_mut()) {
            learnt
                .registry
                .push((original.to_string(), replacement.to_string(), kind));
        }
    }

    /// The replacement for a secret `value` of `kind`. JWTs keep their header and
    /// non-personal claims; other values become `redacted-KIND-HASH` (or a constant
    /// for values that link nothing). Empty and already-masked values are returned
    /// as they are.
    pub fn secret(&mut self, kind: SecretKind, value: &str) -> String {
        if value.trim().is_empty() || is_masked(value) || is_error_number(kind, value) {
            return value.to_string();
        }
        self.count(kind);
        self.note(value, kind);
        let out = match kind {
            SecretKind::Password | SecretKind::Otp => format!("redacted-{}", kind.name()),
            _ if jwt::decode(value).is_some() => self.jwt_body(value),
            SecretKind::ClientSecret => format!("redacted-{}", kind.name()),
            _ => format!(
                "redacted-{}-{:016x}",
                kind.name(),
                self.digest("secret", value)
            ),
        };
        self.remember(value, &out, kind);
        out
    }

    /// A JWT with its header kept, personal claims pseudonymised and secret claims
    /// masked, and the signature replaced by `redacted`: still decodable, no longer
    /// usable. Counted as `token`.
    pub fn jwt(&mut self, token: &str) -> String {
        if is_masked(token) {
            return token.to_string();
        }
        self.count(SecretKind::Token);
        self.note(token, SecretKind::Token);
        let out = self.jwt_body(token);
        self.remember(token, &out, SecretKind::Token);
        out
    }

    fn jwt_body(&mut self, token: &str) -> String {
        let token = token.trim();
        let parts: Vec<&str> = token.split('.').collect();
        let Some(decoded) = jwt::decode(token) else {
            return format!("redacted-token-{:016x}", self.digest("secret", token));
        };
        let Some(mut claims) = decoded.claims else {
            // JWE: only the header is readable; keep the five-part shape.
            return format!("{}.redacted.redacted.redacted.redacted", parts[0]);
        };
        let before = self.total();
        for (name, value) in claims.iter_mut() {
            if jwt::PERSONAL_CLAIMS.contains(&name.as_str()) {
                *value = Value::String(self.claim_pseudonym(name, value));
            } else if let (Some(kind), Some(text)) = (param_kind(name), value.as_str()) {
                let masked = self.secret(kind, text);
                *value = Value::String(masked);
            }
        }
        let payload = if self.total() == before {
            parts[1].to_string()
        } else {
            let json = serde_json::to_vec(&claims).unwrap_or_default();
            URL_SAFE_NO_PAD.encode(json)
        };
        format!("{}.{payload}.redacted", parts[0])
    }

    fn claim_pseudonym(&mut self, name: &str, value: &Value) -> String {
        self.count(SecretKind::JwtPersonalClaim);
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match name {
            "name" | "given_name" | "family_name" => {
                let out = format!("Pseudonym-{:08x}", self.digest("name", &text) >> 32);
                self.remember_phrase(&text, &out);
                out
            }
            "ipaddr" => ip_pseudonym(self.digest("ip", &text)),
            _ if text.contains('@') => self.user_pseudonym(&text),
            _ if is_guid(&text) => {
                let h = self.digest("id", &text.to_ascii_lowercase());
                format!(
                    "{:08x}-0000-4000-8000-{:012x}",
                    h >> 32,
                    h & 0xffff_ffff_ffff
                )
            }
            _ => format!("pseudonym-{:016x}", self.digest("id", &text)),
        }
    }

    fn remember_phrase(&mut self, original: &str, replacement: &str) {
        let original = original.trim();
        if original.chars().count() >= 5 {
            self.add_phrase(original.to_string(), replacement.to_string());
        }
        self.remember(original, replacement, SecretKind::JwtPersonalClaim);
    }

    /// Adds a display name to sweep for, while there is room and it is new.
    fn add_phrase(&mut self, original: String, replacement: String) {
        if self.phrases.len() < MAX_PHRASES && !self.phrases.iter().any(|(o, _)| *o == original) {
            if let Some(learnt) = self.learnt.as_mut() {
                learnt.phrases.push((original.clone(), replacement.clone()));
            }
            self.phrases.push((original, replacement));
        }
    }

    /// The pseudonym of a user name: `user-3f9a2c1b@pseudonym.invalid` for an
    /// address, `user-3f9a2c1b` otherwise. Case does not matter (UPNs are
    /// case-insensitive). Counted as `user_name`.
    pub fn user(&mut self, value: &str) -> String {
        if value.trim().is_empty() || is_masked(value) {
            return value.to_string();
        }
        self.count(SecretKind::UserName);
        self.note(value, SecretKind::UserName);
        self.user_pseudonym(value)
    }

    fn user_pseudonym(&mut self, value: &str) -> String {
        let lower = value.trim().to_lowercase();
        let h = self.digest("user", &lower) >> 32;
        let out = if lower.contains('@') {
            format!("user-{h:08x}@pseudonym.invalid")
        } else {
            format!("user-{h:08x}")
        };
        self.remember(value.trim(), &out, SecretKind::UserName);
        if lower != value.trim() {
            self.remember(&lower, &out, SecretKind::UserName);
        }
        out
    }

    /// An IP address pseudonym from the documentation range 203.0.113.0/24.
    pub fn ip(&mut self, value: &str) -> String {
        if value.trim().is_empty() || value.starts_with("203.0.113.") {
            return value.to_string();
        }
        self.count(SecretKind::IpAddress);
        self.note(value, SecretKind::IpAddress);
        ip_pseudonym(self.digest("ip", value.trim()))
    }

    /// Replaces every remembered original (a secret or user name seen anywhere in
    /// the file) that is still in `text`. Returns `None` when nothing changed.
    pub fn sweep(&mut self, text: &str) -> Option<String> {
        if self.registry.is_empty() && self.phrases.is_empty() {
            return None;
        }
        let mut out = String::new();
        let mut last = 0;
        let mut hits = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !is_run_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_run_byte(bytes[i]) {
                i += 1;
            }
            let run = text[start..i].trim_end_matches('=');
            if run.len() < MIN_SWEPT_LEN {
                continue;
            }
            if let Some(to) = self.lookup(run) {
                out.push_str(&text[last..start]);
                out.push_str(&to.0);
                self.note(run, to.1);
                hits.push(to.1);
                last = start + run.len();
            } else if run.contains('/') || run.contains('%') {
                for (at, piece) in pieces(run) {
                    if let Some(to) = self.lookup(piece) {
                        out.push_str(&text[last..start + at]);
                        out.push_str(&to.0);
                        self.note(piece, to.1);
                        hits.push(to.1);
                        last = start + at + piece.len();
                    }
                }
            }
        }
        let mut result = if hits.is_empty() {
            None
        } else {
            out.push_str(&text[last..]);
            Some(out)
        };
        let mut phrases_hit = Vec::new();
        for (phrase, to) in &self.phrases {
            let current = result.as_deref().unwrap_or(text);
            if current.contains(phrase.as_str()) {
                let n = current.matches(phrase.as_str()).count();
                result = Some(current.replace(phrase.as_str(), to));
                hits.extend(std::iter::repeat_n(SecretKind::JwtPersonalClaim, n));
                phrases_hit.push(phrase.clone());
            }
        }
        for phrase in phrases_hit {
            self.note(&phrase, SecretKind::JwtPersonalClaim);
        }
        for kind in hits {
            self.count(kind);
        }
        result
    }

    /// Starts recording every original masked or swept from now on (a fresh
    /// journal each time).
    pub fn start_journal(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// The originals recorded since [`Masker::start_journal`]; recording stops.
    pub fn take_journal(&mut self) -> Vec<(String, SecretKind)> {
        self.journal.take().unwrap_or_default()
    }

    fn note(&mut self, original: &str, kind: SecretKind) {
        if let Some(journal) = self.journal.as_mut() {
            journal.push((original.to_string(), kind));
        }
    }

    /// A keyed hash of `value` (this run's key): what in-place writers derive
    /// their same-length pseudonyms from.
    pub fn keyed(&self, domain: &str, value: &str) -> u64 {
        self.digest(domain, value)
    }

    /// Counts one replacement made by a writer outside this type.
    pub fn tally(&mut self, kind: SecretKind) {
        self.count(kind);
    }

    fn lookup(&self, run: &str) -> Option<(String, SecretKind)> {
        if run.len() < MIN_SWEPT_LEN {
            return None;
        }
        if let Some(hit) = self.registry.get(run) {
            return Some(hit.clone());
        }
        if run.contains('@') || run.contains("%40") {
            return self.registry.get(&run.to_lowercase()).cloned();
        }
        None
    }
}

impl Masking for Masker {
    fn secret(&mut self, kind: SecretKind, value: &str) -> String {
        Masker::secret(self, kind, value)
    }
    fn user(&mut self, value: &str) -> String {
        Masker::user(self, value)
    }
    /// A JWT that decodes keeps its header and safe claims; one that only has
    /// the shape is masked as a token.
    fn jwt(&mut self, token: &str) -> String {
        if jwt::decode(token).is_some() {
            Masker::jwt(self, token)
        } else {
            Masker::secret(self, SecretKind::Token, token)
        }
    }
    fn replaced(&self) -> u64 {
        self.total()
    }
}

/// The parts of a run between `/` and `%XX` escapes, with their offsets.
fn pieces(run: &str) -> Vec<(usize, &str)> {
    let b = run.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let sep = if b[i] == b'/' {
            1
        } else if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            3
        } else {
            0
        };
        if sep == 0 {
            i += 1;
            continue;
        }
        if i > start {
            out.push((start, &run[start..i]));
        }
        i += sep;
        start = i;
    }
    if start < b.len() {
        out.push((start, &run[start..]));
    }
    out
}

/// Bytes that can belong to a secret, a user name or an encoded form of either.
fn is_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~+/*!$@%".contains(&b)
}

/// A `code` that is a short number is an error number (`/error?code=50076` in
/// an `error_uri`, `x-ms-clitelem`), never an authorization code, which is long
/// and not numeric: it is what a support case needs, and is kept.
fn is_error_number(kind: SecretKind, value: &str) -> bool {
    kind == SecretKind::Code && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit())
}

/// True for values that are already one of our replacements.
pub fn is_masked(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("redacted-")
        || v.ends_with("@pseudonym.invalid")
        || v.ends_with(".redacted")
        || v.ends_with("%40pseudonym.invalid")
        || (v.starts_with("user-") && v.len() == 13)
}

fn ip_pseudonym(h: u64) -> String {
    format!("203.0.113.{}", 1 + h % 254)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_pseudonym() {
        let mut m = Masker::new();
        let a = m.secret(SecretKind::FlowToken, "AQABAAEAAAD--DLA3VO7QrddgJg7");
        let b = m.secret(SecretKind::FlowToken, "AQABAAEAAAD--DLA3VO7QrddgJg7");
        let c = m.secret(SecretKind::FlowToken, "AQABAAEAAAD--other");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("redacted-flow_token-"));
        assert_eq!(
            m.secret(SecretKind::Password, "hunter2!"),
            "redacted-password"
        );
        assert_eq!(
            m.user("Adele.Vance@contoso.example"),
            m.user("adele.vance@contoso.example")
        );
        assert_eq!(m.counts()[&SecretKind::FlowToken], 3);
        // Already masked: untouched and not counted again.
        assert_eq!(m.secret(SecretKind::FlowToken, &a), a);
        assert_eq!(m.counts()[&SecretKind::FlowToken], 3);
    }

    #[test]
    fn jwt_keeps_safe_claims_and_pseudonymises_personal_ones() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            br#"{"aud":"app","tid":"4f1e7c2a-93b5-4d0e-8c61-2a7d95e3b0f4","upn":"adele@contoso.example","name":"Adele Vance","oid":"11111111-2222-3333-4444-555555555555","exp":1700000000}"#,
        );
        let token = format!("{header}.{claims}.c2lnbmF0dXJl");
        let mut m = Masker::new();
        let out = m.jwt(&token);
        assert!(out.ends_with(".redacted"));
        assert!(out.starts_with(&header));
        let decoded = jwt::decode(&out).unwrap();
        assert_eq!(
            decoded.str_claim("tid"),
            Some("4f1e7c2a-93b5-4d0e-8c61-2a7d95e3b0f4")
        );
        assert_eq!(decoded.numeric_claim("exp"), Some(1_700_000_000));
        assert!(decoded
            .str_claim("upn")
            .unwrap()
            .ends_with("@pseudonym.invalid"));
        assert!(decoded.str_claim("name").unwrap().starts_with("Pseudonym-"));
        assert!(is_guid(decoded.str_claim("oid").unwrap()));
        assert_eq!(m.counts()[&SecretKind::JwtPersonalClaim], 3);
        // The sweep finds the display name and the token elsewhere.
        let swept = m
            .sweep(&format!("Signed in as Adele Vance. {token}"))
            .unwrap();
        assert!(!swept.contains("Adele Vance"), "{swept}");
        assert!(!swept.contains("c2lnbmF0dXJl"), "{swept}");
    }

    #[test]
    fn places_count_what_the_totals_count() {
        let mut m = Masker::new();
        m.set_place("entry 0", "request.url");
        m.secret(SecretKind::Code, "0.AQ-code-value-123");
        m.secret(SecretKind::Code, "0.AQ-code-value-456");
        m.set_field("request.postData");
        m.secret(SecretKind::Password, "hunter2!");
        m.set_place("entry 1", "response.content");
        m.sweep("the code 0.AQ-code-value-123 again");
        m.set_place("entry 0", "request.url");
        m.user("adele@contoso.example");
        let rows: Vec<(&str, &str, &str, u64)> = m
            .places()
            .iter()
            .map(|p| (p.place.as_str(), p.field.as_str(), p.kind, p.count))
            .collect();
        assert_eq!(
            rows,
            [
                ("entry 0", "request.url", "code", 2),
                ("entry 0", "request.postData", "password", 1),
                ("entry 1", "response.content", "code", 1),
                ("entry 0", "request.url", "user_name", 1),
            ]
        );
        assert_eq!(rows.iter().map(|r| r.3).sum::<u64>(), m.total());
        m.reset_counts();
        assert!(m.places().is_empty());
    }

    #[test]
    fn places_past_the_cap_are_counted_not_listed() {
        let mut m = Masker::new();
        for i in 0..MAX_PLACES + 3 {
            m.set_place(&format!("entry {i}"), "request.url");
            m.secret(SecretKind::Cookie, &format!("cookie-value-{i}"));
            m.secret(SecretKind::Cookie, &format!("cookie-other-{i}"));
        }
        assert_eq!(m.places().len(), MAX_PLACES);
        assert_eq!(m.places_omitted(), (3, 6));
        assert_eq!(m.total(), 2 * (MAX_PLACES as u64 + 3));
    }

    #[test]
    fn workers_merged_in_order_learn_what_one_masker_learns() {
        // Forty large JWTs (some 53 MiB of originals): first as passwords (a
        // short replacement), then as tokens (a replacement as long as the
        // token), then a cookie. One masker stays under the registry's budget
        // and learns the cookie; a worker that saw only the tokens holds twice
        // the bytes, and must still learn it.
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let note = "a".repeat(1 << 20);
        let tokens: Vec<String> = (0..40)
            .map(|i| {
                format!(
                    "{}.{}.sig",
                    b64(r#"{"alg":"none"}"#),
                    b64(&format!(r#"{{"note":"{note}{i}"}}"#))
                )
            })
            .collect();
        let cookie = "cookie-secret-value-0001";
        let first = |m: &mut Masker| {
            for t in &tokens {
                m.secret(SecretKind::Password, t);
            }
        };
        let then = |m: &mut Masker| {
            for t in &tokens {
                m.jwt(t);
            }
            m.secret(SecretKind::Cookie, cookie);
        };
        let mut alone = Masker::new();
        let mut merged = alone.clone();
        first(&mut alone);
        then(&mut alone);
        let (mut a, mut b) = (merged.worker(), merged.worker());
        first(&mut a);
        then(&mut b);
        merged.merge(a.take_work());
        merged.merge(b.take_work());
        let text = format!("later: {cookie}");
        assert!(alone.sweep(&text).is_some());
        assert_eq!(merged.sweep(&text), alone.sweep(&text));
        assert_eq!(merged.registry_bytes, alone.registry_bytes);
    }

    #[test]
    fn field_names_that_are_secrets_are_withheld() {
        let mut m = Masker::new();
        m.secret(SecretKind::Token, "abcdefghijklmnop");
        assert_eq!(
            m.field_name("request.headers.", "Cookie"),
            "request.headers.Cookie"
        );
        assert_eq!(
            m.field_name("request.queryString.", "abcdefghijklmnop"),
            "request.queryString.(name withheld)"
        );
        assert_eq!(
            m.field_name("request.headers.", "a name with spaces"),
            "request.headers.(name withheld)"
        );
    }
}
