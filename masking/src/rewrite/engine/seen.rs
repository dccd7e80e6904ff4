//! The duplicate-member check: the classified member names of each open
//! object, so that a second member of the same name is refused (a client
//! that keeps the last of two could otherwise be handed a value the policy
//! never saw as classified).
//!
//! An object's first [`LINEAR_NAMES`] classified names are kept in one
//! stack shared by all open objects (each object's after its parent's) and
//! searched linearly; beyond that, the object's names move into a hash set
//! of its own, so a body with many classified members cannot make the check
//! quadratic. A name of up to 16 bytes is known by its length and its first
//! and last 8 bytes, which is the whole name, so it is not copied; a longer
//! one is copied, and compared in full when those match.

use std::collections::HashSet;

use crate::words::Words;

/// An object's classified member names are checked by a linear scan up to
/// this many.
const LINEAR_NAMES: usize = 16;

/// A member name as the check knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum NameKey {
    /// A name whose [`Words`] are the whole name.
    Short(Words),
    Long(Box<str>),
}

/// One name on the shared stack: its words, and for a long name where its
/// copy starts in the stack's text.
#[derive(Clone, Copy, Debug)]
struct Seen {
    words: Words,
    at: usize,
}

/// The classified member names of the open objects.
#[derive(Default)]
pub(super) struct SeenNames {
    /// Copies of the long names, each object's after its parent's.
    text: String,
    names: Vec<Seen>,
}

impl SeenNames {
    /// Where an object opening now starts on the stack.
    pub(super) fn mark(&self) -> usize {
        self.names.len()
    }

    /// Adds `name` to the object whose names start at `from` (or are in
    /// `set`, once many): `false` if the object already had it.
    #[allow(
        clippy::box_collection,
        reason = "a frame's set, boxed to keep frames small"
    )]
    pub(super) fn insert(
        &mut self,
        from: usize,
        set: &mut Option<Box<HashSet<NameKey>>>,
        name: &str,
    ) -> bool {
        if let Some(set) = set {
            return set.insert(self.key_of(name));
        }
        let words = Words::of(name.as_bytes());
        let mine = &self.names[from..];
        if mine.iter().any(|s| {
            s.words == words && (words.whole() || self.text[s.at..s.at + name.len()] == *name)
        }) {
            return false;
        }
        if mine.len() >= LINEAR_NAMES {
            let mut keys: HashSet<NameKey> = mine.iter().map(|s| self.key(s)).collect();
            keys.insert(self.key_of(name));
            *set = Some(Box::new(keys));
            return true;
        }
        if self.names.capacity() == 0 {
            self.names.reserve(LINEAR_NAMES);
        }
        let at = self.text.len();
        if !words.whole() {
            self.text.push_str(name);
        }
        self.names.push(Seen { words, at });
        true
    }

    /// Forgets the names of the object that started at `from` (it closed).
    pub(super) fn release(&mut self, from: usize) {
        if let Some(first) = self.names.get(from) {
            self.text.truncate(first.at);
            self.names.truncate(from);
        }
    }

    fn key(&self, s: &Seen) -> NameKey {
        if s.words.whole() {
            NameKey::Short(s.words)
        } else {
            NameKey::Long(self.text[s.at..s.at + s.words.len()].into())
        }
    }

    fn key_of(&self, name: &str) -> NameKey {
        let words = Words::of(name.as_bytes());
        if words.whole() {
            NameKey::Short(words)
        } else {
            NameKey::Long(name.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_the_whole_name() {
        let names = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh_",
            "_bcdefghi",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "bbcdefghijklmnop",
            "é",
            "e\u{301}",
        ];
        let mut seen = SeenNames::default();
        let mut set = None;
        for n in names {
            assert!(seen.insert(0, &mut set, n), "{n:?} taken for another");
        }
        for n in names {
            assert!(!seen.insert(0, &mut set, n), "{n:?} missed");
        }
    }

    #[test]
    fn long_names_compare_in_full_and_objects_nest() {
        let mut seen = SeenNames::default();
        let mut outer = None;
        assert!(seen.insert(0, &mut outer, "a_rather_long_member_name_x"));
        assert!(seen.insert(0, &mut outer, "a_rather_long_member_name_y"));
        // Same length, head and tail as the first, different middle.
        assert!(seen.insert(0, &mut outer, "a_rather_lonG_member_name_x"));
        assert!(!seen.insert(0, &mut outer, "a_rather_long_member_name_x"));
        let inner_from = seen.mark();
        let mut inner = None;
        assert!(seen.insert(inner_from, &mut inner, "a_rather_long_member_name_x"));
        seen.release(inner_from);
        assert!(!seen.insert(0, &mut outer, "a_rather_long_member_name_y"));
        assert_eq!(seen.mark(), 3);
    }

    #[test]
    fn many_names_move_into_a_set() {
        let mut seen = SeenNames::default();
        let mut set = None;
        let names: Vec<String> = (0..40)
            .map(|k| {
                if k % 2 == 0 {
                    format!("n{k}")
                } else {
                    format!("a_long_member_name_number_{k}")
                }
            })
            .collect();
        for n in &names {
            assert!(seen.insert(0, &mut set, n));
        }
        assert!(set.is_some());
        for n in &names {
            assert!(!seen.insert(0, &mut set, n));
        }
    }
}
