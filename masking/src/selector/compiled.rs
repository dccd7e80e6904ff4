//! A [`SelectorSet`](super::SelectorSet) compiled into a deterministic
//! automaton, so that the rewriter decides at each member or element with
//! one table lookup from its parent's state instead of running every
//! selector over the whole path.
//!
//! A state is a set of NFA positions (for each selector, how many of its
//! segments the path so far has matched, as in [`Selector::run`]). Member
//! names fall into classes: each name that some selector spells out, and
//! "any other name". Indices fall into classes too: two indices are
//! equivalent when every index and slice selector in the set says the same
//! about both; beyond the largest bound the answer repeats with the least
//! common multiple of the open slices' steps. The automaton is built whole
//! when the set is made (states × classes), never while a body streams, so
//! it is immutable and shared. Sets whose automaton would be too large
//! (more than [`MAX_STATES`] states or [`MAX_TRANSITIONS`] transitions, or
//! index classes beyond [`MAX_INDEX_TABLE`]) are not compiled: their
//! lookups run the selectors over the path as before.

use std::collections::HashMap;

use super::{PathSegment, Sel, Selector};
use crate::words::Words;

/// Most automaton states built for one set.
pub(super) const MAX_STATES: usize = 4096;
/// Longest table of index classes (largest index or slice bound, plus the
/// period of the open slices).
pub(super) const MAX_INDEX_TABLE: usize = 4096;
/// Most transitions (states × classes) built for one set: 1 MiB of table,
/// and 3 MiB in a plan that keeps its decision per transition beside it.
pub(super) const MAX_TRANSITIONS: usize = 1 << 18;

/// A state of the compiled matcher: what the path from the root so far
/// leaves to match. Opaque; only meaningful to the set that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MatchState(pub(super) u32);

impl MatchState {
    /// The state as a number (e.g. to carry it through
    /// [`crate::FieldPolicy::lookup_child`]).
    pub fn to_u32(self) -> u32 {
        self.0
    }

    /// A state from [`to_u32`](Self::to_u32). Only meaningful to the set
    /// that produced it; stepping from a number no set gave panics.
    pub fn from_u32(id: u32) -> Self {
        MatchState(id)
    }
}

/// What a state says, before it is turned into a [`super::Lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The first selector (by position in the set) that selects here.
    Match(usize),
    Descend,
    Outside,
}

/// An input symbol of the automaton, for the construction only.
#[derive(Clone, Copy)]
enum Sym<'a> {
    Name(&'a str),
    OtherName,
    Index(usize),
}

impl Sel {
    fn matches_sym(&self, sym: Sym<'_>) -> bool {
        match (self, sym) {
            (Sel::Wildcard, _) => true,
            (Sel::Name(n), Sym::Name(m)) => n == m,
            (_, Sym::Name(_) | Sym::OtherName) => false,
            (sel, Sym::Index(j)) => sel.matches(&PathSegment::Index(j)),
        }
    }
}

/// The member names a set spells out, by length: a name is looked up
/// among the few of its length, no hashing. The table is fixed when the set
/// is compiled, so no body can make it grow or degrade.
#[derive(Debug, Clone, Default)]
struct NameClasses {
    by_len: Vec<Vec<NameClass>>,
}

/// A spelled-out name: compared by its [`Words`], and in full only when it
/// is longer than those.
#[derive(Debug, Clone)]
struct NameClass {
    words: Words,
    name: Box<str>,
    class: u32,
}

impl NameClasses {
    #[inline]
    fn get(&self, name: &str) -> Option<u32> {
        let same_len = self.by_len.get(name.len())?;
        if same_len.is_empty() {
            return None;
        }
        let words = Words::of(name.as_bytes());
        if !words.whole() {
            return Self::get_long(same_len, name);
        }
        same_len.iter().find(|n| n.words == words).map(|n| n.class)
    }

    /// [`get`](Self::get) of a name longer than its words: compared in
    /// full, out of line (so the common lookup keeps its registers).
    #[inline(never)]
    fn get_long(same_len: &[NameClass], name: &str) -> Option<u32> {
        same_len.iter().find(|n| *n.name == *name).map(|n| n.class)
    }

    fn insert(&mut self, name: &str, class: u32) {
        if self.by_len.len() <= name.len() {
            self.by_len.resize_with(name.len() + 1, Vec::new);
        }
        self.by_len[name.len()].push(NameClass {
            words: Words::of(name.as_bytes()),
            name: name.into(),
            class,
        });
    }
}

/// The compiled automaton of a selector set.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    /// Member-name class of each spelled-out name; any other name is class
    /// `names.len()`.
    names: NameClasses,
    other_name: u32,
    /// Class of index `j` for `j < index_table.len()`; beyond, the table
    /// repeats from `index_bound` with period `index_period`.
    index_table: Vec<u32>,
    index_bound: usize,
    index_period: usize,
    /// Number of classes (names, other name, index classes).
    classes: usize,
    /// `next[state * classes + class]`.
    next: Vec<u32>,
    verdicts: Vec<Verdict>,
    /// Per state: whether some spelled-out name leads elsewhere than "any
    /// other name" (if not, a member's name need not be looked up at all).
    names_matter: Vec<bool>,
}

/// Positions of one selector inside the combined bit set.
struct Layout {
    /// First position of each selector; its accept position is
    /// `offset + segments.len()`.
    offsets: Vec<usize>,
    words: usize,
}

impl Layout {
    fn new(selectors: &[&Selector]) -> Self {
        let mut offsets = Vec::with_capacity(selectors.len());
        let mut total = 0;
        for s in selectors {
            offsets.push(total);
            total += s.segments.len() + 1;
        }
        Layout {
            offsets,
            words: total.div_ceil(64).max(1),
        }
    }

    fn get(bits: &[u64], p: usize) -> bool {
        bits[p / 64] & (1 << (p % 64)) != 0
    }

    fn set(bits: &mut [u64], p: usize) {
        bits[p / 64] |= 1 << (p % 64);
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Compiled {
    /// Compiles `selectors` (in the set's order), or `None` if the
    /// automaton would be too large.
    pub(super) fn new(selectors: &[&Selector]) -> Option<Self> {
        let sels = || {
            selectors
                .iter()
                .flat_map(|s| s.segments.iter())
                .flat_map(|seg| seg.selectors.iter())
        };

        // Member-name classes.
        let mut names = NameClasses::default();
        let mut name_list: Vec<&str> = Vec::new();
        for sel in sels() {
            if let Sel::Name(n) = sel
                && names.get(n).is_none()
            {
                names.insert(n, u32::try_from(name_list.len()).ok()?);
                name_list.push(n);
            }
        }
        let other_name = u32::try_from(name_list.len()).ok()?;

        // Index classes: representatives 0..bound+period.
        let mut bound = 0usize;
        let mut period = 1usize;
        for sel in sels() {
            match *sel {
                Sel::Index(i) => bound = bound.max(usize::try_from(i).ok()?.checked_add(1)?),
                Sel::Slice { start, end, step } => {
                    bound = bound.max(usize::try_from(start).ok()?);
                    match end {
                        Some(e) => bound = bound.max(usize::try_from(e).ok()?),
                        None => {
                            let step = usize::try_from(step).ok()?;
                            period = (period / gcd(period, step)).checked_mul(step)?;
                            if period > MAX_INDEX_TABLE {
                                return None;
                            }
                        }
                    }
                }
                Sel::Name(_) | Sel::Wildcard => {}
            }
            if bound > MAX_INDEX_TABLE {
                return None;
            }
        }
        let table_len = bound + period;
        if table_len > MAX_INDEX_TABLE {
            return None;
        }
        let index_sels: Vec<&Sel> = sels()
            .filter(|s| matches!(s, Sel::Index(_) | Sel::Slice { .. }))
            .collect();
        let mut signatures: HashMap<Vec<bool>, u32> = HashMap::new();
        let mut index_reps: Vec<usize> = Vec::new();
        let first_index_class = other_name + 1;
        let mut index_table = Vec::with_capacity(table_len);
        for j in 0..table_len {
            let sig: Vec<bool> = index_sels
                .iter()
                .map(|s| s.matches(&PathSegment::Index(j)))
                .collect();
            let next_class = first_index_class + u32::try_from(index_reps.len()).ok()?;
            let class = *signatures.entry(sig).or_insert_with(|| {
                index_reps.push(j);
                next_class
            });
            index_table.push(class);
        }
        let classes = first_index_class as usize + index_reps.len();
        let symbols: Vec<Sym<'_>> = name_list
            .iter()
            .map(|n| Sym::Name(n))
            .chain([Sym::OtherName])
            .chain(index_reps.iter().map(|&j| Sym::Index(j)))
            .collect();

        // Subset construction, breadth first from the root.
        let layout = Layout::new(selectors);
        let mut start = vec![0u64; layout.words];
        for &o in &layout.offsets {
            Layout::set(&mut start, o);
        }
        let mut ids: HashMap<Vec<u64>, u32> = HashMap::new();
        let mut states: Vec<Vec<u64>> = Vec::new();
        ids.insert(start.clone(), 0);
        states.push(start);
        let mut next = Vec::new();
        let mut s = 0;
        while s < states.len() {
            for &sym in &symbols {
                let to = step_bits(selectors, &layout, &states[s], sym);
                let id = match ids.get(&to) {
                    Some(&id) => id,
                    None => {
                        if states.len() >= MAX_STATES
                            || (states.len() + 1) * symbols.len() > MAX_TRANSITIONS
                        {
                            return None;
                        }
                        let id = u32::try_from(states.len()).ok()?;
                        ids.insert(to.clone(), id);
                        states.push(to);
                        id
                    }
                };
                next.push(id);
            }
            s += 1;
        }

        let verdicts = states
            .iter()
            .map(|bits| verdict(selectors, &layout, bits))
            .collect();
        let names_matter = (0..states.len())
            .map(|s| {
                let row = &next[s * classes..][..classes];
                row[..other_name as usize]
                    .iter()
                    .any(|&t| t != row[other_name as usize])
            })
            .collect();
        Some(Compiled {
            names,
            other_name,
            index_table,
            index_bound: bound,
            index_period: period,
            classes,
            next,
            verdicts,
            names_matter,
        })
    }

    pub(super) fn start(&self) -> MatchState {
        MatchState(0)
    }

    /// How many states the automaton has (numbered from 0).
    pub(super) fn states(&self) -> usize {
        self.verdicts.len()
    }

    pub(super) fn verdict(&self, state: MatchState) -> Verdict {
        self.verdicts[state.0 as usize]
    }

    /// The state of the member `name` of a value in `state`, and the
    /// name's class if the set spells the name out and `state` needed it
    /// (a number below the count of spelled-out names, the same for equal
    /// names and different for different ones).
    #[inline(always)]
    pub(super) fn step_member(&self, state: MatchState, name: &str) -> (MatchState, Option<u32>) {
        let (t, spelled) = self.member_transition(state, name);
        (MatchState(self.next[t.0]), spelled)
    }

    /// The state of a child at `seg` of a value in `state`.
    #[inline]
    pub(super) fn step(&self, state: MatchState, seg: PathSegment<'_>) -> MatchState {
        MatchState(self.next[self.transition(state, seg).0])
    }

    /// The transition a member `name` takes from `state`, and the name's
    /// class as [`step_member`](Self::step_member) gives it.
    #[inline(always)]
    pub(super) fn member_transition(
        &self,
        state: MatchState,
        name: &str,
    ) -> (Transition, Option<u32>) {
        let s = state.0 as usize;
        let spelled = if self.names_matter[s] {
            self.names.get(name)
        } else {
            None
        };
        let class = spelled.unwrap_or(self.other_name);
        (Transition(s * self.classes + class as usize), spelled)
    }

    /// The transition a child at `seg` takes from `state`.
    #[inline]
    pub(super) fn transition(&self, state: MatchState, seg: PathSegment<'_>) -> Transition {
        let s = state.0 as usize;
        let class = match seg {
            PathSegment::Member(name) => return self.member_transition(state, name).0,
            PathSegment::Index(j) => {
                let k = if j < self.index_table.len() {
                    j
                } else {
                    self.index_bound + (j - self.index_bound) % self.index_period
                };
                self.index_table[k]
            }
        };
        Transition(s * self.classes + class as usize)
    }

    /// The state each transition leads to, in transition order.
    pub(super) fn targets(&self) -> impl Iterator<Item = MatchState> + '_ {
        self.next.iter().map(|&s| MatchState(s))
    }
}

/// A transition of the automaton (a state and a class of child): an index
/// into a table with one entry per transition, such as one built from
/// [`super::SelectorSet::transition_targets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition(pub(super) usize);

impl Transition {
    /// The index.
    pub fn index(self) -> usize {
        self.0
    }
}

/// One step of every selector's NFA (see [`Selector::run`]) on `sym`.
fn step_bits(selectors: &[&Selector], layout: &Layout, bits: &[u64], sym: Sym<'_>) -> Vec<u64> {
    let mut to = vec![0u64; layout.words];
    for (sel, &offset) in selectors.iter().zip(&layout.offsets) {
        for (i, segment) in sel.segments.iter().enumerate() {
            if !Layout::get(bits, offset + i) {
                continue;
            }
            if segment.descendant {
                Layout::set(&mut to, offset + i);
            }
            if segment.selectors.iter().any(|s| s.matches_sym(sym)) {
                Layout::set(&mut to, offset + i + 1);
            }
        }
        // The accept position has no successor: nothing more to match below.
    }
    to
}

/// What a set of positions says (see [`super::SelectorSet::lookup`]).
fn verdict(selectors: &[&Selector], layout: &Layout, bits: &[u64]) -> Verdict {
    let mut live = false;
    for (k, (sel, &offset)) in selectors.iter().zip(&layout.offsets).enumerate() {
        let accept = offset + sel.segments.len();
        if Layout::get(bits, accept) {
            return Verdict::Match(k);
        }
        live |= (offset..accept).any(|p| Layout::get(bits, p));
    }
    if live {
        Verdict::Descend
    } else {
        Verdict::Outside
    }
}
