//! The policy's answers for member names, remembered by where they were
//! asked.
//!
//! The records of a response mostly repeat their members in the same order,
//! so the k-th member of the next object in the same lookup state is most
//! often the same name as before: its answer is then one comparison away
//! instead of a lookup through the policy. A member is remembered in the
//! slot of its object's state and its position, over what was there.
//!
//! Only names whose [`Words`] are the whole name (up to 16 bytes) are
//! remembered, so equal words mean the same name. A policy is deterministic (see [`FieldPolicy`]), so a remembered
//! answer is the answer.
//!
//! [`FieldPolicy`]: crate::rewrite::FieldPolicy

use super::Decided;
use crate::rewrite::policy::LookupState;
use crate::words::Words;

/// Remembered answers: enough for the members of a few record shapes.
const SLOTS: usize = 64;

/// Members looked up before the table is made: a small body (a record or
/// two) does not pay for it. The crate's tests warm up after two, so that
/// their small documents go through the table too.
const WARM_UP: u32 = if cfg!(test) { 2 } else { 32 };

/// One remembered answer: for the member named by `words` of an object in
/// lookup state `state`; `None` in a slot never filled.
#[derive(Clone, Copy)]
struct Slot {
    state: u32,
    words: Option<Words>,
    decided: Decided,
}

/// The remembered answers of one rewrite (none until [`WARM_UP`] members
/// were looked up).
#[derive(Default)]
pub(super) struct MemberMemo {
    slots: Vec<Slot>,
    looked_up: u32,
}

impl MemberMemo {
    /// The policy's answer for the member `name` at position `index` of an
    /// object in state `parent`, if it is remembered.
    #[inline]
    pub(super) fn remembered(
        &self,
        parent: LookupState,
        index: usize,
        name: &str,
    ) -> Option<Decided> {
        if self.slots.is_empty() {
            return None;
        }
        let words = Words::of(name.as_bytes());
        let slot = &self.slots[slot_of(parent, index)];
        (words.whole() && slot.state == parent.0 && slot.words == Some(words))
            .then_some(slot.decided)
    }

    /// Remembers the policy's answer for a member (once past the warm-up).
    #[inline]
    pub(super) fn remember(
        &mut self,
        parent: LookupState,
        index: usize,
        name: &str,
        decided: Decided,
    ) {
        if self.slots.is_empty() && self.looked_up < WARM_UP {
            self.looked_up += 1;
            return;
        }
        self.store(parent, index, name, decided);
    }

    #[inline(never)]
    fn store(&mut self, parent: LookupState, index: usize, name: &str, decided: Decided) {
        let words = Words::of(name.as_bytes());
        if !words.whole() {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![Slot::EMPTY; SLOTS];
        }
        self.slots[slot_of(parent, index)] = Slot {
            state: parent.0,
            words: Some(words),
            decided,
        };
    }
}

/// Where the member at `index` of an object in state `parent` is
/// remembered: the state's run of slots starts at a scattered place
/// (Fibonacci hashing: states are small numbers, often multiples of each
/// other).
fn slot_of(parent: LookupState, index: usize) -> usize {
    let first = (parent.0.wrapping_mul(0x9E37_79B9) >> 26) as usize;
    first.wrapping_add(index) % SLOTS
}

impl Slot {
    const EMPTY: Slot = Slot {
        state: 0,
        words: None,
        decided: Decided {
            decision: crate::rewrite::policy::Decision::Outside,
            state: LookupState(0),
            key: None,
        },
    };
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::rewrite::policy::{Decision, FieldId, MemberKey};

    fn answer(n: u32) -> Decided {
        Decided {
            decision: Decision::Transform(FieldId(n)),
            state: LookupState(n + 100),
            key: Some(MemberKey(n)),
        }
    }

    /// Asks the memo as the rewriter does, with a lookup that answers `n`
    /// and counts its calls.
    fn ask(
        memo: &mut MemberMemo,
        calls: &Cell<u32>,
        state: u32,
        index: usize,
        name: &str,
        n: u32,
    ) -> u32 {
        let (parent, name) = (LookupState(state), name);
        let d = memo.remembered(parent, index, name).unwrap_or_else(|| {
            calls.set(calls.get() + 1);
            memo.remember(parent, index, name, answer(n));
            answer(n)
        });
        match d.decision {
            Decision::Transform(FieldId(got)) => {
                assert_eq!(d.state, LookupState(got + 100));
                assert_eq!(d.key, Some(MemberKey(got)));
                got
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A memo past its warm-up.
    fn warmed() -> MemberMemo {
        let mut memo = MemberMemo::default();
        for k in 0..WARM_UP {
            memo.remember(LookupState(k), 0, "warm", answer(0));
        }
        assert!(memo.slots.is_empty());
        memo
    }

    #[test]
    fn a_small_body_remembers_nothing() {
        let (mut memo, calls) = (MemberMemo::default(), Cell::new(0));
        for _ in 0..WARM_UP {
            assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 1), 1);
        }
        assert_eq!(calls.get(), WARM_UP);
        assert!(memo.slots.is_empty());
        // Past it, answers are remembered.
        assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 1), 1);
        assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 1), 1);
        assert_eq!(calls.get(), WARM_UP + 1);
    }

    #[test]
    fn the_same_member_in_the_same_place_is_answered_once() {
        let (mut memo, calls) = (warmed(), Cell::new(0));
        assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 1), 1);
        // The next record: remembered (the lookup would say 9, and is not asked).
        assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 9), 1);
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn anything_else_is_looked_up_and_replaces_what_was_remembered() {
        let (mut memo, calls) = (warmed(), Cell::new(0));
        ask(&mut memo, &calls, 4, 2, "email", 1);
        // Another name in the same place: looked up, and remembered there.
        assert_eq!(ask(&mut memo, &calls, 4, 2, "phone", 2), 2);
        assert_eq!(ask(&mut memo, &calls, 4, 2, "phone", 0), 2);
        assert_eq!(ask(&mut memo, &calls, 4, 2, "email", 3), 3);
        assert_eq!(calls.get(), 3);
        // The same name in another state or place, names that differ only in
        // length or in a middle byte: each looked up.
        assert_eq!(ask(&mut memo, &calls, 5, 2, "email", 4), 4);
        assert_eq!(ask(&mut memo, &calls, 4, 3, "email", 5), 5);
        assert_eq!(ask(&mut memo, &calls, 7, 0, "abcdefghijklmnop", 6), 6);
        assert_eq!(ask(&mut memo, &calls, 7, 0, "abcdefghXjklmnop", 7), 7);
        assert_eq!(ask(&mut memo, &calls, 8, 0, "a", 8), 8);
        assert_eq!(ask(&mut memo, &calls, 8, 0, "a\0", 9), 9);
        assert_eq!(calls.get(), 9);
    }

    #[test]
    fn long_names_are_always_looked_up() {
        let (mut memo, calls) = (warmed(), Cell::new(0));
        let long = "a_member_name_longer_than_its_words";
        assert_eq!(ask(&mut memo, &calls, 1, 0, long, 1), 1);
        assert_eq!(ask(&mut memo, &calls, 1, 0, long, 2), 2);
        assert_eq!(calls.get(), 2);
    }
}
