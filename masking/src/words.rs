//! Word-at-a-time views of short byte strings ([`Words`]), shared by the
//! member-name lookups of the selector automaton and the rewriter's
//! duplicate check and member memo.

/// A name's first and last 8 bytes as little-endian words; a name shorter
/// than 8 bytes is both, zero-padded. With the length, they are the whole
/// name up to [`WHOLE_UP_TO`] bytes, so such names compare as three
/// numbers. (Fixed-size loads: copying a variable length would be a
/// `memcpy` call, dearer than the comparison it serves.)
#[inline]
fn head_tail(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    let whole = match n {
        8.. => {
            let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
            return (word(&name[..8]), word(&name[n - 8..]));
        }
        // Two overlapping loads of the same bytes, or-ed into place.
        4.. => {
            let half = |bytes: &[u8]| u64::from(u32::from_le_bytes(bytes.try_into().expect("4")));
            half(&name[..4]) | (half(&name[n - 4..]) << (8 * (n - 4)))
        }
        2.. => {
            let quarter =
                |bytes: &[u8]| u64::from(u16::from_le_bytes(bytes.try_into().expect("2")));
            quarter(&name[..2]) | (quarter(&name[n - 2..]) << (8 * (n - 2)))
        }
        1 => u64::from(name[0]),
        0 => 0,
    };
    (whole, whole)
}

/// Names up to this long are determined by their length and [`head_tail`].
pub(crate) const WHOLE_UP_TO: usize = 16;

/// A name as its length and [`head_tail`] words: equal names have equal
/// words, and up to [`WHOLE_UP_TO`] bytes equal words mean equal names, so
/// such names compare as three numbers and need no copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Words {
    len: usize,
    head: u64,
    tail: u64,
}

impl Words {
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Self {
        let (head, tail) = head_tail(name);
        Self {
            len: name.len(),
            head,
            tail,
        }
    }

    /// The name's length.
    pub(crate) fn len(self) -> usize {
        self.len
    }

    /// Whether the words are the whole name (it is at most
    /// [`WHOLE_UP_TO`] bytes long).
    #[inline]
    pub(crate) fn whole(self) -> bool {
        self.len <= WHOLE_UP_TO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Equal length and words mean equal names, up to 16 bytes.
        #[test]
        fn words_determine_short_names(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=WHOLE_UP_TO),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=WHOLE_UP_TO),
        ) {
            let same = Words::of(&a) == Words::of(&b);
            // The words are the bytes, little-endian and zero-padded.
            let mut padded = [0u8; 16];
            padded[..a.len()].copy_from_slice(&a);
            let head = u64::from_le_bytes(padded[..8].try_into().unwrap());
            proptest::prop_assert_eq!(head_tail(&a).0, head);
            proptest::prop_assert_eq!(same, a == b);
            // And a name differing in one byte only.
            if !a.is_empty() {
                let mut c = a.clone();
                c[a.len() / 2] ^= 1;
                proptest::prop_assert_ne!(Words::of(&a), Words::of(&c));
            }
        }
    }
}
