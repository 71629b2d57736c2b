//! Small deterministic helpers: a seeded PRNG, time formatting, URL encoding,
//! JWT strings and a tiny PNG encoder. Everything here is pure so the samples come
//! out byte-identical on every run.

use base64::Engine as _;

/// xorshift64* generator; good enough for fake identifiers, fully reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Never zero; mix the seed so nearby seeds diverge quickly.
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03);
        if r.0 == 0 {
            r.0 = 1;
        }
        for _ in 0..4 {
            r.next_u64();
        }
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform float in `lo..hi`, rounded to 3 decimals (Chrome prints µs precision).
    pub fn ms(&mut self, lo: f64, hi: f64) -> f64 {
        let f = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        round3(lo + f * (hi - lo))
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 56) as u8).collect()
    }

    /// Lower-case RFC 4122 version-4 GUID.
    pub fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a & 0xfff) as u16,
            (((b >> 48) as u16) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// `prefix` followed by base64url characters up to `len` characters in all.
    pub fn token(&mut self, prefix: &str, len: usize) -> String {
        let mut s = String::with_capacity(len);
        s.push_str(prefix);
        while s.len() < len {
            s.push(B64URL[self.below(64) as usize] as char);
        }
        s
    }

    /// Lower-case hex string of `n` characters.
    pub fn hex(&mut self, n: usize) -> String {
        const H: &[u8; 16] = b"0123456789abcdef";
        (0..n).map(|_| H[self.below(16) as usize] as char).collect()
    }

    /// Upper-case alphanumerics, e.g. for server instance names.
    pub fn upper(&mut self, n: usize) -> String {
        const A: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n).map(|_| A[self.below(36) as usize] as char).collect()
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` into microseconds since the epoch.
pub fn parse_iso_us(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("digits");
    let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    secs * 1_000_000 + n(20, 23) * 1000
}

/// Howard Hinnant's days-from-civil.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Parts {
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    ms: i64,
    wd: usize,
}

fn parts(us: i64) -> Parts {
    let secs = us.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    Parts {
        y,
        mo,
        d,
        h: sod / 3600,
        mi: sod / 60 % 60,
        s: sod % 60,
        ms: us.rem_euclid(1_000_000) / 1000,
        // 1970-01-01 was a Thursday.
        wd: (days + 4).rem_euclid(7) as usize,
    }
}

const WDAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MON: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026-11-22T08:11:14.490Z`
pub fn iso_ms(us: i64) -> String {
    let p = parts(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2026-11-22T08:11:14Z`
pub fn iso_s(us: i64) -> String {
    let p = parts(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `2026-11-22 08:11:14Z` (the layout of AADSTS error timestamps).
pub fn aadsts_time(us: i64) -> String {
    iso_s(us).replace('T', " ")
}

/// IMF-fixdate for `Date`: `Sun, 22 Nov 2026 08:11:14 GMT`.
pub fn http_date(us: i64) -> String {
    let p = parts(us);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WDAY[p.wd],
        p.d,
        MON[(p.mo - 1) as usize],
        p.y,
        p.h,
        p.mi,
        p.s
    )
}

/// Cookie `expires=` layout: `Tue, 22-Dec-2026 08:11:14 GMT`.
pub fn cookie_date(us: i64) -> String {
    let p = parts(us);
    format!(
        "{}, {:02}-{}-{:04} {:02}:{:02}:{:02} GMT",
        WDAY[p.wd],
        p.d,
        MON[(p.mo - 1) as usize],
        p.y,
        p.h,
        p.mi,
        p.s
    )
}

/// Parses the cookie / IMF date layouts written above (dashes or spaces between
/// day, month and year). Returns microseconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.split_once(", ")?.1;
    let rest = rest.replace('-', " ");
    let mut it = rest.split_whitespace();
    let d: i64 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let m = MON.iter().position(|x| x.eq_ignore_ascii_case(mon))? as i64 + 1;
    let y: i64 = it.next()?.parse().ok()?;
    let t = it.next()?;
    let mut tp = t.split(':').map(|x| x.parse::<i64>());
    let (h, mi, sec) = (tp.next()?.ok()?, tp.next()?.ok()?, tp.next()?.ok()?);
    Some((days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000)
}

/// Unix seconds.
pub fn unix_s(us: i64) -> i64 {
    us.div_euclid(1_000_000)
}

/// Unix milliseconds.
pub fn unix_ms(us: i64) -> i64 {
    us.div_euclid(1000)
}

/// `application/x-www-form-urlencoded` encoding of one value (space as `+`).
pub fn form_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encoding the way ESTS writes redirect parameters: lower-case hex, space as
/// `+` (`%3a`, `%0d%0a`).
pub fn ests_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// `k=v&k=v` with form encoding.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_enc(k), form_enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A compact JWS string `header.payload.signature` with a fake 2048-bit signature.
pub fn jwt(rng: &mut Rng, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let h = serde_json::to_vec(header).expect("json");
    let c = serde_json::to_vec(claims).expect("json");
    let sig = rng.bytes(256);
    format!("{}.{}.{}", b64url(&h), b64url(&c), b64url(&sig))
}

/// Escapes text for an HTML attribute value or text node.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// zlib stream made of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid RGBA PNG of `w`×`h` pixels whose colour comes from `pixel(x, y)`.
pub fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((w * 4 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// An `.ico` file holding one PNG image.
pub fn ico_with_png(size: u8, png: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 1, 0, 1, 0];
    out.extend_from_slice(&[size, size, 0, 0, 1, 0, 32, 0]);
    out.extend_from_slice(&(png.len() as u32).to_le_bytes());
    out.extend_from_slice(&22u32.to_le_bytes());
    out.extend_from_slice(png);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let us = parse_iso_us("2026-11-22T08:11:14.490Z");
        assert_eq!(iso_ms(us), "2026-11-22T08:11:14.490Z");
        assert_eq!(http_date(us), "Sun, 22 Nov 2026 08:11:14 GMT");
        assert_eq!(parse_http_date(&cookie_date(us)), Some(us - 490_000));
    }
}
