//! HPACK header decompression (RFC 7541), written for passive decoding.
//!
//! One [`Decoder`] per direction of a connection keeps the dynamic table (§2.3.2,
//! §4). Integers (§5.1), string literals with Huffman coding (§5.2, Appendix B),
//! indexed fields, literals with and without indexing, and table size updates
//! (§6) are read. A capture that starts mid-connection does not know the dynamic
//! table: an index past what is known decodes to a placeholder field named
//! `:unknown-index-N` and is counted in [`Decoder::unknown_indices`], and the rest
//! of the block is still decoded.
//!
//! **Bounded output.** An indexed field can repeat a large table entry for one
//! byte of input, so a block's decoded header list is capped at
//! [`crate::limits::HEADER_LIST`] (RFC 7541 §4.1 size) and [`MAX_BLOCK_FIELDS`]
//! fields: past the cap, fields are read (the dynamic table stays in step with the
//! peer's) but not kept, and the cut is counted in [`Decoder::lists_cut`].

use std::collections::VecDeque;

/// One decoded header field.
pub type Field = (String, String);

/// Why a block could not be decoded (the rest of the connection may still be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Truncated,
    IntegerOverflow,
    BadHuffman,
    TableSizeTooLarge,
}

/// Static table (RFC 7541 Appendix A), index 1..=61.
const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Largest dynamic table accepted from a size update (peers normally use 4 KiB;
/// this bounds memory on hostile input).
const MAX_TABLE: usize = 1 << 20;
/// Most fields kept per decoded block.
pub const MAX_BLOCK_FIELDS: usize = 4096;

/// The decompression state of one direction.
#[derive(Debug, Clone)]
pub struct Decoder {
    table: VecDeque<Field>,
    size: usize,
    max_size: usize,
    /// Entries evicted or never seen: the table may be incomplete (mid-connection
    /// start), so indices past the known entries are placeholders, not errors.
    pub unknown_indices: u64,
    /// True when the decoder joined mid-connection (placeholders allowed).
    pub partial: bool,
    /// Blocks whose header list was cut at the cap.
    pub lists_cut: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: VecDeque::new(),
            size: 0,
            max_size: 4096,
            unknown_indices: 0,
            partial: false,
            lists_cut: 0,
        }
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one complete header block (HEADERS + CONTINUATION fragments).
    /// Fields past the header-list cap are read but not returned.
    pub fn decode(&mut self, mut b: &[u8]) -> Result<Vec<Field>, Error> {
        let mut list = List::default();
        while !b.is_empty() {
            let first = b[0];
            if first & 0x80 != 0 {
                // Indexed header field (§6.1): sized before it is copied.
                let idx = integer(&mut b, 7)? as usize;
                if list.admits(self.entry_size(idx)) {
                    list.fields.push(self.lookup(idx));
                }
            } else if first & 0x40 != 0 {
                // Literal with incremental indexing (§6.2.1).
                let field = self.literal(&mut b, 6)?;
                if list.admits(field_size(&field)) {
                    list.fields.push(field.clone());
                }
                self.insert(field);
            } else if first & 0x20 != 0 {
                // Dynamic table size update (§6.3).
                let size = integer(&mut b, 5)? as usize;
                if size > MAX_TABLE {
                    return Err(Error::TableSizeTooLarge);
                }
                self.max_size = size;
                self.evict(0);
            } else {
                // Literal without indexing / never indexed (§6.2.2, §6.2.3).
                let field = self.literal(&mut b, 4)?;
                if list.admits(field_size(&field)) {
                    list.fields.push(field);
                }
            }
        }
        if list.cut {
            self.lists_cut += 1;
        }
        Ok(list.fields)
    }

    fn lookup(&mut self, idx: usize) -> Field {
        if (1..=STATIC.len()).contains(&idx) {
            let (n, v) = STATIC[idx - 1];
            return (n.to_string(), v.to_string());
        }
        match self.dynamic(idx) {
            Some(f) => f.clone(),
            None => {
                self.unknown_indices += 1;
                (format!(":unknown-index-{idx}"), String::new())
            }
        }
    }

    /// Only the name of entry `idx` (a literal's indexed name, §6.2): the value,
    /// possibly large, is not copied.
    fn lookup_name(&mut self, idx: usize) -> String {
        if (1..=STATIC.len()).contains(&idx) {
            return STATIC[idx - 1].0.to_string();
        }
        match self.dynamic(idx) {
            Some(f) => f.0.clone(),
            None => {
                self.unknown_indices += 1;
                format!(":unknown-index-{idx}")
            }
        }
    }

    fn dynamic(&self, idx: usize) -> Option<&Field> {
        idx.checked_sub(STATIC.len() + 1)
            .and_then(|i| self.table.get(i))
    }

    /// §4.1 size of entry `idx` (a placeholder's for an unknown one).
    fn entry_size(&self, idx: usize) -> usize {
        if (1..=STATIC.len()).contains(&idx) {
            let (n, v) = STATIC[idx - 1];
            return n.len() + v.len() + 32;
        }
        self.dynamic(idx).map_or(64, field_size)
    }

    fn literal(&mut self, b: &mut &[u8], prefix: u8) -> Result<Field, Error> {
        let idx = integer(b, prefix)? as usize;
        let name = if idx == 0 {
            string(b)?
        } else {
            self.lookup_name(idx)
        };
        let value = string(b)?;
        Ok((name, value))
    }

    fn insert(&mut self, field: Field) {
        let size = field_size(&field);
        if size > self.max_size {
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict(size);
        self.size += size;
        self.table.push_front(field);
    }

    fn evict(&mut self, room: usize) {
        while self.size + room > self.max_size {
            match self.table.pop_back() {
                Some(f) => self.size -= field_size(&f),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    /// Current dynamic table size in octets (§4.1).
    pub fn table_size(&self) -> usize {
        self.size
    }
}

/// Entry size = name + value + 32 (§4.1); also the measure of a header list.
pub fn field_size(f: &Field) -> usize {
    f.0.len() + f.1.len() + 32
}

/// The fields of one block being decoded, and whether the cap cut it.
#[derive(Default)]
struct List {
    fields: Vec<Field>,
    size: usize,
    cut: bool,
}

impl List {
    /// True when a field of `size` octets still fits; once one does not, none
    /// after it is kept either (the list is cut, not thinned).
    fn admits(&mut self, size: usize) -> bool {
        if self.cut
            || self.fields.len() >= MAX_BLOCK_FIELDS
            || self.size + size > crate::limits::HEADER_LIST
        {
            self.cut = true;
            return false;
        }
        self.size += size;
        true
    }
}

/// Integer with an N-bit prefix (§5.1).
fn integer(b: &mut &[u8], prefix: u8) -> Result<u64, Error> {
    let (&first, rest) = b.split_first().ok_or(Error::Truncated)?;
    *b = rest;
    let max = (1u64 << prefix) - 1;
    let mut v = u64::from(first) & max;
    if v < max {
        return Ok(v);
    }
    let mut shift = 0u32;
    loop {
        let (&byte, rest) = b.split_first().ok_or(Error::Truncated)?;
        *b = rest;
        if shift > 56 {
            return Err(Error::IntegerOverflow);
        }
        v += u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// String literal (§5.2), Huffman-coded when the H bit is set.
fn string(b: &mut &[u8]) -> Result<String, Error> {
    let huffman = b.first().ok_or(Error::Truncated)? & 0x80 != 0;
    let len = integer(b, 7)? as usize;
    if b.len() < len {
        return Err(Error::Truncated);
    }
    let (raw, rest) = b.split_at(len);
    *b = rest;
    let bytes = if huffman {
        huffman_decode(raw)?
    } else {
        raw.to_vec()
    };
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Canonical-code decoding tables built once from [`HUFFMAN`].
struct Canon {
    /// Symbols sorted by (code length, symbol).
    symbols: Vec<u16>,
    /// For each length 0..=30: first code, count, offset into `symbols`.
    first: [u32; 31],
    count: [u32; 31],
    offset: [u32; 31],
}

fn canon() -> &'static Canon {
    static C: std::sync::OnceLock<Canon> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut symbols: Vec<u16> = (0..257).collect();
        symbols.sort_by_key(|&s| (HUFFMAN[s as usize].1, s));
        let mut c = Canon {
            symbols,
            first: [0; 31],
            count: [0; 31],
            offset: [0; 31],
        };
        for (i, &s) in c.symbols.iter().enumerate() {
            let (code, len) = HUFFMAN[s as usize];
            let l = len as usize;
            if c.count[l] == 0 {
                c.first[l] = code;
                c.offset[l] = i as u32;
            }
            c.count[l] += 1;
        }
        c
    })
}

/// Decodes a Huffman-coded string (Appendix B). Padding must be at most 7 bits
/// of the EOS prefix (all ones, §5.2); EOS inside the string is an error.
pub fn huffman_decode(input: &[u8]) -> Result<Vec<u8>, Error> {
    let c = canon();
    let mut out = Vec::with_capacity(input.len() * 8 / 5);
    let mut code: u32 = 0;
    let mut len = 0usize;
    for &byte in input {
        for bit in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> bit) & 1);
            len += 1;
            if len > 30 {
                return Err(Error::BadHuffman);
            }
            if c.count[len] > 0 && code >= c.first[len] && code - c.first[len] < c.count[len] {
                let sym = c.symbols[(c.offset[len] + code - c.first[len]) as usize];
                if sym == 256 {
                    return Err(Error::BadHuffman);
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            }
        }
    }
    if len > 7 || code != (1u32 << len) - 1 {
        return Err(Error::BadHuffman);
    }
    Ok(out)
}

/// (code, length in bits) for symbols 0..=255 and EOS (256), RFC 7541 Appendix B.
/// The code is canonical: codes follow from the lengths, which a test checks.
const HUFFMAN: [(u32, u8); 257] = [
    (0x1ff8, 13),
    (0x7fffd8, 23),
    (0xfffffe2, 28),
    (0xfffffe3, 28),
    (0xfffffe4, 28),
    (0xfffffe5, 28),
    (0xfffffe6, 28),
    (0xfffffe7, 28),
    (0xfffffe8, 28),
    (0xffffea, 24),
    (0x3ffffffc, 30),
    (0xfffffe9, 28),
    (0xfffffea, 28),
    (0x3ffffffd, 30),
    (0xfffffeb, 28),
    (0xfffffec, 28),
    (0xfffffed, 28),
    (0xfffffee, 28),
    (0xfffffef, 28),
    (0xffffff0, 28),
    (0xffffff1, 28),
    (0xffffff2, 28),
    (0x3ffffffe, 30),
    (0xffffff3, 28),
    (0xffffff4, 28),
    (0xffffff5, 28),
    (0xffffff6, 28),
    (0xffffff7, 28),
    (0xffffff8, 28),
    (0xffffff9, 28),
    (0xffffffa, 28),
    (0xffffffb, 28),
    (0x14, 6),
    (0x3f8, 10),
    (0x3f9, 10),
    (0xffa, 12),
    (0x1ff9, 13),
    (0x15, 6),
    (0xf8, 8),
    (0x7fa, 11),
    (0x3fa, 10),
    (0x3fb, 10),
    (0xf9, 8),
    (0x7fb, 11),
    (0xfa, 8),
    (0x16, 6),
    (0x17, 6),
    (0x18, 6),
    (0x0, 5),
    (0x1, 5),
    (0x2, 5),
    (0x19, 6),
    (0x1a, 6),
    (0x1b, 6),
    (0x1c, 6),
    (0x1d, 6),
    (0x1e, 6),
    (0x1f, 6),
    (0x5c, 7),
    (0xfb, 8),
    (0x7ffc, 15),
    (0x20, 6),
    (0xffb, 12),
    (0x3fc, 10),
    (0x1ffa, 13),
    (0x21, 6),
    (0x5d, 7),
    (0x5e, 7),
    (0x5f, 7),
    (0x60, 7),
    (0x61, 7),
    (0x62, 7),
    (0x63, 7),
    (0x64, 7),
    (0x65, 7),
    (0x66, 7),
    (0x67, 7),
    (0x68, 7),
    (0x69, 7),
    (0x6a, 7),
    (0x6b, 7),
    (0x6c, 7),
    (0x6d, 7),
    (0x6e, 7),
    (0x6f, 7),
    (0x70, 7),
    (0x71, 7),
    (0x72, 7),
    (0xfc, 8),
    (0x73, 7),
    (0xfd, 8),
    (0x1ffb, 13),
    (0x7fff0, 19),
    (0x1ffc, 13),
    (0x3ffc, 14),
    (0x22, 6),
    (0x7ffd, 15),
    (0x3, 5),
    (0x23, 6),
    (0x4, 5),
    (0x24, 6),
    (0x5, 5),
    (0x25, 6),
    (0x26, 6),
    (0x27, 6),
    (0x6, 5),
    (0x74, 7),
    (0x75, 7),
    (0x28, 6),
    (0x29, 6),
    (0x2a, 6),
    (0x7, 5),
    (0x2b, 6),
    (0x76, 7),
    (0x2c, 6),
    (0x8, 5),
    (0x9, 5),
    (0x2d, 6),
    (0x77, 7),
    (0x78, 7),
    (0x79, 7),
    (0x7a, 7),
    (0x7b, 7),
    (0x7ffe, 15),
    (0x7fc, 11),
    (0x3ffd, 14),
    (0x1ffd, 13),
    (0xffffffc, 28),
    (0xfffe6, 20),
    (0x3fffd2, 22),
    (0xfffe7, 20),
    (0xfffe8, 20),
    (0x3fffd3, 22),
    (0x3fffd4, 22),
    (0x3fffd5, 22),
    (0x7fffd9, 23),
    (0x3fffd6, 22),
    (0x7fffda, 23),
    (0x7fffdb, 23),
    (0x7fffdc, 23),
    (0x7fffdd, 23),
    (0x7fffde, 23),
    (0xffffeb, 24),
    (0x7fffdf, 23),
    (0xffffec, 24),
    (0xffffed, 24),
    (0x3fffd7, 22),
    (0x7fffe0, 23),
    (0xffffee, 24),
    (0x7fffe1, 23),
    (0x7fffe2, 23),
    (0x7fffe3, 23),
    (0x7fffe4, 23),
    (0x1fffdc, 21),
    (0x3fffd8, 22),
    (0x7fffe5, 23),
    (0x3fffd9, 22),
    (0x7fffe6, 23),
    (0x7fffe7, 23),
    (0xffffef, 24),
    (0x3fffda, 22),
    (0x1fffdd, 21),
    (0xfffe9, 20),
    (0x3fffdb, 22),
    (0x3fffdc, 22),
    (0x7fffe8, 23),
    (0x7fffe9, 23),
    (0x1fffde, 21),
    (0x7fffea, 23),
    (0x3fffdd, 22),
    (0x3fffde, 22),
    (0xfffff0, 24),
    (0x1fffdf, 21),
    (0x3fffdf, 22),
    (0x7fffeb, 23),
    (0x7fffec, 23),
    (0x1fffe0, 21),
    (0x1fffe1, 21),
    (0x3fffe0, 22),
    (0x1fffe2, 21),
    (0x7fffed, 23),
    (0x3fffe1, 22),
    (0x7fffee, 23),
    (0x7fffef, 23),
    (0xfffea, 20),
    (0x3fffe2, 22),
    (0x3fffe3, 22),
    (0x3fffe4, 22),
    (0x7ffff0, 23),
    (0x3fffe5, 22),
    (0x3fffe6, 22),
    (0x7ffff1, 23),
    (0x3ffffe0, 26),
    (0x3ffffe1, 26),
    (0xfffeb, 20),
    (0x7fff1, 19),
    (0x3fffe7, 22),
    (0x7ffff2, 23),
    (0x3fffe8, 22),
    (0x1ffffec, 25),
    (0x3ffffe2, 26),
    (0x3ffffe3, 26),
    (0x3ffffe4, 26),
    (0x7ffffde, 27),
    (0x7ffffdf, 27),
    (0x3ffffe5, 26),
    (0xfffff1, 24),
    (0x1ffffed, 25),
    (0x7fff2, 19),
    (0x1fffe3, 21),
    (0x3ffffe6, 26),
    (0x7ffffe0, 27),
    (0x7ffffe1, 27),
    (0x3ffffe7, 26),
    (0x7ffffe2, 27),
    (0xfffff2, 24),
    (0x1fffe4, 21),
    (0x1fffe5, 21),
    (0x3ffffe8, 26),
    (0x3ffffe9, 26),
    (0xffffffd, 28),
    (0x7ffffe3, 27),
    (0x7ffffe4, 27),
    (0x7ffffe5, 27),
    (0xfffec, 20),
    (0xfffff3, 24),
    (0xfffed, 20),
    (0x1fffe6, 21),
    (0x3fffe9, 22),
    (0x1fffe7, 21),
    (0x1fffe8, 21),
    (0x7ffff3, 23),
    (0x3fffea, 22),
    (0x3fffeb, 22),
    (0x1ffffee, 25),
    (0x1ffffef, 25),
    (0xfffff4, 24),
    (0xfffff5, 24),
    (0x3ffffea, 26),
    (0x7ffff4, 23),
    (0x3ffffeb, 26),
    (0x7ffffe6, 27),
    (0x3ffffec, 26),
    (0x3ffffed, 26),
    (0x7ffffe7, 27),
    (0x7ffffe8, 27),
    (0x7ffffe9, 27),
    (0x7ffffea, 27),
    (0x7ffffeb, 27),
    (0xffffffe, 28),
    (0x7ffffec, 27),
    (0x7ffffed, 27),
    (0x7ffffee, 27),
    (0x7ffffef, 27),
    (0x7fffff0, 27),
    (0x3ffffee, 26),
    (0x3fffffff, 30),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fields(v: &[(&str, &str)]) -> Vec<Field> {
        v.iter()
            .map(|(n, val)| (n.to_string(), val.to_string()))
            .collect()
    }

    #[test]
    fn huffman_table_is_canonical_and_complete() {
        let kraft: f64 = HUFFMAN.iter().map(|&(_, l)| 0.5f64.powi(l as i32)).sum();
        assert!((kraft - 1.0).abs() < 1e-12);
        let c = canon();
        let mut next = 0u32;
        let mut prev = HUFFMAN[c.symbols[0] as usize].1;
        for (i, &s) in c.symbols.iter().enumerate() {
            let (code, l) = HUFFMAN[s as usize];
            if i > 0 {
                next = (next + 1) << (l - prev);
            }
            prev = l;
            assert_eq!(code, next, "symbol {s}");
        }
    }

    /// RFC 7541 C.1: integers.
    #[test]
    fn integers_c1() {
        let mut b: &[u8] = &[0x0a];
        assert_eq!(integer(&mut b, 5).unwrap(), 10);
        let mut b: &[u8] = &[0x1f, 0x9a, 0x0a];
        assert_eq!(integer(&mut b, 5).unwrap(), 1337);
        let mut b: &[u8] = &[0x2a];
        assert_eq!(integer(&mut b, 8).unwrap(), 42);
    }

    /// RFC 7541 C.2.1–C.2.4: literal fields and the dynamic table.
    #[test]
    fn literal_fields_c2() {
        let mut d = Decoder::new();
        let b = unhex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        assert_eq!(
            d.decode(&b).unwrap(),
            fields(&[("custom-key", "custom-header")])
        );
        assert_eq!(d.table_size(), 55);
        let mut d = Decoder::new();
        let b = unhex("040c 2f73 616d 706c 652f 7061 7468");
        assert_eq!(d.decode(&b).unwrap(), fields(&[(":path", "/sample/path")]));
        assert_eq!(d.table_size(), 0);
        let b = unhex("1008 7061 7373 776f 7264 0673 6563 7265 74");
        assert_eq!(d.decode(&b).unwrap(), fields(&[("password", "secret")]));
        assert_eq!(d.decode(&[0x82]).unwrap(), fields(&[(":method", "GET")]));
    }

    fn requests(blocks: &[&str], sizes: &[usize]) {
        let expected = [
            fields(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ]),
            fields(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ]),
            fields(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ]),
        ];
        let mut d = Decoder::new();
        for ((b, want), size) in blocks.iter().zip(&expected).zip(sizes) {
            assert_eq!(&d.decode(&unhex(b)).unwrap(), want);
            assert_eq!(d.table_size(), *size);
        }
    }

    /// RFC 7541 C.3: requests without Huffman coding.
    #[test]
    fn requests_c3() {
        requests(
            &[
                "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                "8286 84be 5808 6e6f 2d63 6163 6865",
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ],
            &[57, 110, 164],
        );
    }

    /// RFC 7541 C.4: requests with Huffman coding.
    #[test]
    fn requests_c4() {
        requests(
            &[
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                "8286 84be 5886 a8eb 1064 9cbf",
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ],
            &[57, 110, 164],
        );
    }

    fn responses(blocks: &[&str]) {
        let expected = [
            fields(&[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                ("location", "https://www.example.com"),
            ]),
            fields(&[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                ("location", "https://www.example.com"),
            ]),
            fields(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                ("location", "https://www.example.com"),
                ("content-encoding", "gzip"),
                (
                    "set-cookie",
                    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                ),
            ]),
        ];
        let mut d = Decoder::new();
        d.max_size = 256;
        for (b, want) in blocks.iter().zip(&expected) {
            assert_eq!(&d.decode(&unhex(b)).unwrap(), want);
        }
        assert_eq!(d.table_size(), 215);
    }

    /// RFC 7541 C.5: responses without Huffman coding, 256-octet table.
    #[test]
    fn responses_c5() {
        responses(&[
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
        ]);
    }

    /// RFC 7541 C.6: responses with Huffman coding, 256-octet table.
    #[test]
    fn responses_c6() {
        responses(&[
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ff c1 c0 bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]);
    }

    #[test]
    fn unknown_dynamic_index_is_a_placeholder() {
        let mut d = Decoder::new();
        // Index 70 (dynamic, unknown), then a literal :path.
        let mut b = vec![0x80 | 70];
        b.extend_from_slice(&unhex("040c 2f73 616d 706c 652f 7061 7468"));
        let f = d.decode(&b).unwrap();
        assert_eq!(f[0].0, ":unknown-index-70");
        assert_eq!(f[1], (":path".to_string(), "/sample/path".to_string()));
        assert_eq!(d.unknown_indices, 1);
    }

    /// A literal of integer prefix `prefix` bits and first-byte flags `flags`.
    fn int(flags: u8, prefix: u8, mut v: usize) -> Vec<u8> {
        let max = (1usize << prefix) - 1;
        if v < max {
            return vec![flags | v as u8];
        }
        let mut out = vec![flags | max as u8];
        v -= max;
        while v >= 128 {
            out.push((v % 128) as u8 | 0x80);
            v /= 128;
        }
        out.push(v as u8);
        out
    }

    /// One large entry referenced thousands of times: the list is cut at the
    /// cap (no copy past it), and the table stays in step for the next block.
    #[test]
    fn repeated_large_entry_is_cut_at_the_list_cap() {
        let mut d = Decoder::new();
        let value = "v".repeat(100_000);
        let mut b = int(0x20, 5, MAX_TABLE);
        b.extend([0x40, 1, b'x']);
        b.extend(int(0, 7, value.len()));
        b.extend(value.as_bytes());
        b.extend(std::iter::repeat_n(0x80 | 62, 4096));
        let f = d.decode(&b).unwrap();
        let size: usize = f.iter().map(field_size).sum();
        assert_eq!(f.len(), 2);
        assert!(size <= crate::limits::HEADER_LIST);
        assert_eq!(d.lists_cut, 1);
        let f = d.decode(&[0x80 | 62]).unwrap();
        assert_eq!(f, vec![("x".to_string(), value)]);
        assert_eq!(d.lists_cut, 1);
    }
}
