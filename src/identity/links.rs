//! The link hashes one step sends back or hands out ([`super::Step::links_in`],
//! [`super::Step::links_out`]), held inline when there are at most two.
//!
//! Why not a `Vec`: nearly every step names one or two links (a flow token, a
//! `ctx`, the URL it redirects to), and the walk that groups flows reads every
//! step's links on one core. From a `Vec` of their own that was two
//! allocations per step while reading, and two reads of scattered memory per
//! step in the walk (issue #15).

use std::ops::Deref;

/// A short list of link hashes: up to two inline, more on the heap.
#[derive(Clone)]
pub enum Links {
    Inline { len: u8, values: [u64; 2] },
    Heap(Vec<u64>),
}

impl Links {
    pub fn push(&mut self, link: u64) {
        match self {
            Links::Inline { len, values } => match values.get_mut(usize::from(*len)) {
                Some(slot) => {
                    *slot = link;
                    *len += 1;
                }
                None => *self = Links::Heap(vec![values[0], values[1], link]),
            },
            Links::Heap(more) => more.push(link),
        }
    }
}

impl Default for Links {
    fn default() -> Self {
        Links::Inline {
            len: 0,
            values: [0; 2],
        }
    }
}

impl Deref for Links {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        match self {
            Links::Inline { len, values } => &values[..usize::from(*len)],
            Links::Heap(more) => more,
        }
    }
}

impl<'a> IntoIterator for &'a Links {
    type Item = &'a u64;
    type IntoIter = std::slice::Iter<'a, u64>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<&[u64]> for Links {
    fn from(links: &[u64]) -> Self {
        let mut out = Links::default();
        for &link in links {
            out.push(link);
        }
        out
    }
}

/// Lists are equal when they hold the same hashes in the same order, however
/// they are held.
impl PartialEq for Links {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushed one at a time, a list holds what a `Vec` would, inline up to
    /// two and on the heap after, and compares by its hashes.
    #[test]
    fn links_hold_what_a_vec_would() {
        let mut links = Links::default();
        let mut expected = Vec::new();
        assert!(links.is_empty());
        for link in [7, 0, u64::MAX, 7, 3] {
            links.push(link);
            expected.push(link);
            assert_eq!(&*links, expected.as_slice());
            assert_eq!(links.len(), expected.len());
            assert_eq!(matches!(links, Links::Inline { .. }), expected.len() <= 2);
            assert_eq!(links, Links::from(expected.as_slice()));
            assert_eq!(links.iter().copied().collect::<Vec<_>>(), expected);
        }
        assert!(links.contains(&u64::MAX));
        assert_ne!(links, Links::from(&[7, 0][..]));
        assert_eq!(Links::Heap(vec![1, 2]), Links::from(&[1, 2][..]));
        assert_eq!(format!("{:?}", Links::from(&[1, 2, 3][..])), "[1, 2, 3]");
    }
}
