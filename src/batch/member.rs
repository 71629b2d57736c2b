//! One archive member read within the memory budget.
//!
//! A member is read whole when it fits: the readers then work on it in place
//! (a HAR is scanned without copies). What fits is what its header declares, up
//! to [`whole_limit`], and the read itself is capped there too, since a zip
//! header can lie (a member declaring 1 KB can inflate to gigabytes). A member
//! that does not fit, by its header or by what it inflates to, is streamed when
//! it is a HAR (plain or gzip'd): the streamed HAR reader holds one entry at a
//! time, each capped ([`crate::limits::har_entry`]). Any other member that does
//! not fit is refused with an error naming its size and the budget.

use std::io::{Chain, Cursor, Read};

use crate::capture::{self, Format};

/// A member up to this size is read whole even when it is larger than the
/// budget (it then runs alone, like any trace larger than the budget).
const FLOOR: u64 = 256 << 20;

/// What is read of a member too large to hold, to tell its format.
const HEAD: u64 = 64 << 10;

/// The largest member held whole under a budget of `budget` bytes.
pub fn whole_limit(budget: u64) -> u64 {
    budget.max(FLOOR)
}

/// Why a member of `size` bytes (decompressed) is not read under `limit`.
pub fn too_large(size: u64, limit: u64) -> String {
    format!(
        "this member is {} MiB decompressed, more than the memory budget ({} MiB, --max-memory) lets aadtrace hold; extract it and analyse it on its own",
        size >> 20,
        limit >> 20
    )
}

/// A member, read whole or ready to stream.
pub enum Member<R> {
    Whole(Vec<u8>),
    /// Too large to hold: the bytes read so far, then the rest of the member.
    Stream(Chain<Cursor<Vec<u8>>, R>),
}

/// Deflate's largest ratio (RFC 1951 stores at most 258 bytes in one of about
/// two bits): a member declaring more per stored byte is not believed.
const MAX_RATIO: u64 = 1032;

/// Reads a member of `compressed` bytes that declares `declared` bytes: whole
/// when it holds at most that many and they are within `limit`; else only its
/// first bytes, and the member is handed back to be streamed.
pub fn open<R: Read>(
    mut reader: R,
    declared: u64,
    compressed: u64,
    limit: u64,
) -> std::io::Result<Member<R>> {
    let cap = if declared <= limit { declared } else { HEAD };
    // One allocation of the declared size when it is plausible; the cap bounds
    // the read itself, whatever the header says.
    let plausible = cap.min(compressed.saturating_mul(MAX_RATIO));
    let mut data = Vec::with_capacity(usize::try_from(plausible.saturating_add(1)).unwrap_or(0));
    super::archive::read_within(&mut reader, cap.saturating_add(1), &mut data)?;
    if data.len() as u64 <= cap {
        return Ok(Member::Whole(data));
    }
    // Enough of its head to tell the format.
    super::archive::read_within(&mut reader, HEAD, &mut data)?;
    Ok(Member::Stream(Cursor::new(data).chain(reader)))
}

/// True when a member too large to hold is a HAR, plain or gzip'd: the one
/// format read as a stream within the budget whatever its size.
pub fn streams_within_budget<R>(stream: &Chain<Cursor<Vec<u8>>, R>) -> bool {
    let head = stream.get_ref().0.get_ref();
    let mut inflated = Vec::new();
    let head = if head.starts_with(&[0x1f, 0x8b]) {
        // The head of a gzip stream cut short inflates to its first bytes, then
        // fails: what came before the failure is enough.
        let mut gz = flate2::read::MultiGzDecoder::new(&head[..]).take(512);
        let _ = gz.read_to_end(&mut inflated);
        &inflated[..]
    } else {
        &head[..head.len().min(512)]
    };
    capture::sniff(head) == Some(Format::Har)
}

/// Why a member that does not fit is refused: too large by its header, or
/// inflating past what its header declares.
pub fn refused(declared: u64, limit: u64) -> String {
    if declared > limit {
        return too_large(declared, limit);
    }
    format!(
        "this member inflates past the {declared} bytes its header declares (a damaged or crafted archive); only a HAR is read from such a member, as a stream"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(m: Member<&[u8]>) -> Option<Vec<u8>> {
        match m {
            Member::Whole(d) => Some(d),
            Member::Stream(_) => None,
        }
    }

    #[test]
    fn members_that_fit_are_read_whole() {
        let data = b"0123456789".as_slice();
        assert_eq!(whole(open(data, 10, 10, 100).unwrap()).unwrap(), data);
        // Headers declaring more than the budget, or than deflate can hold.
        assert_eq!(whole(open(data, 1 << 40, 10, 100).unwrap()).unwrap(), data);
        assert_eq!(
            whole(open(data, 1 << 40, 1, u64::MAX).unwrap()).unwrap(),
            data
        );
    }

    #[test]
    fn a_member_past_its_header_or_the_limit_streams_whole() {
        let data = vec![b'{'; 1 << 20];
        for (declared, limit) in [(10, 1 << 30), (2 << 20, 1 << 10)] {
            let Member::Stream(mut s) = open(&data[..], declared, 1 << 20, limit).unwrap() else {
                panic!("{declared} {limit}: read whole");
            };
            assert!(s.get_ref().0.get_ref().len() as u64 <= HEAD.max(declared + 1));
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            assert_eq!(all, data, "nothing is lost between head and stream");
        }
    }

    #[test]
    fn only_hars_stream() {
        let stream = |bytes: Vec<u8>| match open(Cursor::new(bytes), 1, 1, 1 << 20).unwrap() {
            Member::Stream(s) => streams_within_budget(&s),
            Member::Whole(_) => panic!("read whole"),
        };
        let har = br#"{"log":{"entries":[]}}"#.repeat(10);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &har).unwrap();
        assert!(stream(har.clone()));
        assert!(stream(gz.finish().unwrap()));
        assert!(!stream(vec![0; 100]));
        assert!(refused(1 << 40, 1 << 30).contains("more than the memory budget (1024 MiB"));
        assert!(refused(10, 1 << 30).contains("past the 10 bytes its header declares"));
    }
}
