//! Selectors: the subset of RFC 9535 JSONPath that can be decided while
//! streaming.
//!
//! Supported:
//! - the root `$`;
//! - member names in dot notation (`$.a.b`) and bracket notation with quoted
//!   names and RFC 9535 escapes (`$['a b']`, `$["x\"y"]`, `$['\u00e9']`);
//! - the wildcard `*` (`$.*`, `$.items[*]`): every member of an object and
//!   every element of an array;
//! - non-negative array indices (`[0]`) and slices with non-negative start
//!   and end and positive step (`[1:5]`, `[::2]`, `[3:]`);
//! - unions of these in one bracket (`$['a','b']`, `[0,2]`, `['a',0]`);
//! - descendant segments: `..name`, `..*`, `..['a b']`, `..[0]` (any depth
//!   below; `..*` is every descendant and is allowed: it is decidable).
//!
//! Refused, with a [`SelectorError`] naming the selector, the position and
//! what is unsupported: filters (`?`), the current node `@`, function
//! calls, negative indices and slice bounds (they need the array's length,
//! which is unknown until its end), zero or negative steps, and anything
//! else that is not JSONPath.
//!
//! Matching works on the concrete path of a value ([`PathSegment`]s from the
//! root): see [`Selector::matches`] and, for the rewriter, [`SelectorSet`].

mod compiled;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt::{self, Write as _};

pub use compiled::{MatchState, Transition};
pub use parse::{SelectorError, SelectorErrorKind};

use compiled::{Compiled, Verdict};

/// One step of a value's concrete path from the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSegment<'a> {
    /// An object member, by its (unescaped) name.
    Member(&'a str),
    /// An array element, by its position.
    Index(usize),
}

/// Most segments a selector may have (the matcher keeps its state in a
/// `u64` bit set, one bit per position, so no lookup allocates).
pub const MAX_SEGMENTS: usize = 63;

/// A parsed selector. Build one with [`Selector::parse`]; `Display` writes
/// the canonical form, which parses back to the same selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    segments: Vec<Segment>,
}

/// One segment: children or descendants matching any of the selectors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Segment {
    pub(crate) descendant: bool,
    pub(crate) selectors: Vec<Sel>,
}

/// One selector inside a segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Sel {
    /// A member name.
    Name(String),
    /// Every member or element.
    Wildcard,
    /// One array index.
    Index(u64),
    /// `start:end:step`, end exclusive (`None` = to the end), step >= 1.
    Slice {
        start: u64,
        end: Option<u64>,
        step: u64,
    },
}

impl Sel {
    fn matches(&self, seg: &PathSegment<'_>) -> bool {
        match (self, seg) {
            (Sel::Wildcard, _) => true,
            (Sel::Name(n), PathSegment::Member(m)) => n == m,
            (Sel::Index(i), PathSegment::Index(j)) => *i == *j as u64,
            (Sel::Slice { start, end, step }, PathSegment::Index(j)) => {
                let j = *j as u64;
                j >= *start && end.is_none_or(|e| j < e) && (j - start).is_multiple_of(*step)
            }
            _ => false,
        }
    }
}

impl Selector {
    /// Parses a selector (see the module docs for the supported subset).
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        parse::parse(text)
    }

    /// Whether this selector selects the value at `path` (from the root;
    /// the empty path is the root itself).
    pub fn matches(&self, path: &[PathSegment<'_>]) -> bool {
        self.run(path) & self.accept_bit() != 0
    }

    /// Whether this selector selects nothing at `path` nor below it.
    fn state(&self, path: &[PathSegment<'_>]) -> State {
        let states = self.run(path);
        let accept = self.accept_bit();
        State {
            matched: states & accept != 0,
            live: states & !accept != 0,
        }
    }

    fn accept_bit(&self) -> u64 {
        1u64 << self.segments.len()
    }

    /// The NFA: bit `i` set = the first `i` segments have been matched.
    fn run(&self, path: &[PathSegment<'_>]) -> u64 {
        let mut states = 1u64;
        for seg in path {
            let mut next = 0u64;
            let mut rest = states;
            while rest != 0 {
                let i = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let Some(segment) = self.segments.get(i) else {
                    continue; // accepted: nothing more to match below
                };
                if segment.descendant {
                    // An ancestor of the node the descendant segment selects.
                    next |= 1 << i;
                }
                if segment.selectors.iter().any(|s| s.matches(seg)) {
                    next |= 1 << (i + 1);
                }
            }
            states = next;
            if states == 0 {
                break;
            }
        }
        states
    }
}

struct State {
    matched: bool,
    live: bool,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('$')?;
        for seg in &self.segments {
            if seg.descendant {
                f.write_str("..")?;
            }
            match seg.selectors.as_slice() {
                [Sel::Wildcard] => f.write_str(if seg.descendant { "*" } else { ".*" })?,
                [Sel::Name(n)] if is_shorthand(n) => {
                    if !seg.descendant {
                        f.write_char('.')?;
                    }
                    f.write_str(n)?;
                }
                sels => {
                    f.write_char('[')?;
                    for (i, s) in sels.iter().enumerate() {
                        if i > 0 {
                            f.write_char(',')?;
                        }
                        write_sel(f, s)?;
                    }
                    f.write_char(']')?;
                }
            }
        }
        Ok(())
    }
}

fn write_sel(f: &mut impl fmt::Write, s: &Sel) -> fmt::Result {
    match s {
        Sel::Name(n) => write_quoted(f, n),
        Sel::Wildcard => f.write_char('*'),
        Sel::Index(i) => write!(f, "{i}"),
        Sel::Slice { start, end, step } => {
            if *start != 0 {
                write!(f, "{start}")?;
            }
            f.write_char(':')?;
            if let Some(e) = end {
                write!(f, "{e}")?;
            }
            if *step != 1 {
                write!(f, ":{step}")?;
            }
            Ok(())
        }
    }
}

/// Whether `name` can be written as `.name` (ASCII shorthand only, so the
/// canonical form is plain ASCII apart from quoted names).
fn is_shorthand(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes `name` single-quoted with the escapes of RFC 9535 normalized
/// paths (§2.7): `\'`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`.
fn write_quoted(f: &mut impl fmt::Write, name: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in name.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c < ' ' => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('\'')
}

/// Appends the RFC 9535 normalized path of `path` to `out`:
/// `$['a'][0]['b c']`. This is the canonical path the actions bind
/// ciphertexts and tokens to ([`crate::ApplyContext::path`]).
pub fn write_normalized_path(out: &mut String, path: &[PathSegment<'_>]) {
    out.push('$');
    for seg in path {
        out.push('[');
        // Writing to a String cannot fail.
        let _ = match seg {
            PathSegment::Member(m) => write_quoted(out, m),
            PathSegment::Index(i) => write!(out, "{i}"),
        };
        out.push(']');
    }
}

/// The RFC 9535 normalized path of `path` (see [`write_normalized_path`]).
pub fn normalized_path(path: &[PathSegment<'_>]) -> String {
    let mut out = String::new();
    write_normalized_path(&mut out, path);
    out
}

/// What a [`SelectorSet`] says about a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a, T> {
    /// A selector selects this exact path; its value (the first such
    /// selector's, in the set's order).
    Match(&'a T),
    /// No selector selects this path, but some may select something below.
    Descend,
    /// No selector selects this path or anything below it: the rewriter can
    /// copy the whole subtree through.
    Outside,
}

/// Selectors, each with a value (e.g. a class), compiled for the rewriter.
///
/// Order matters: when several selectors select the same path, the first
/// one wins. `Match` is returned even if another selector could select
/// something deeper; what happens to the subtree of a matched container is
/// the rewriter's business.
///
/// Two ways to ask: [`lookup`](Self::lookup) on a whole path (runs every
/// selector over it), or step by step: [`start`](Self::start) at the root,
/// [`step`](Self::step) to each child, [`lookup_state`](Self::lookup_state)
/// for the answer. Stepping uses an automaton compiled when the set is made
/// (one table lookup per step) and gives the same answers as `lookup` on
/// the same path.
#[derive(Debug, Clone)]
pub struct SelectorSet<T> {
    entries: Vec<(Selector, T)>,
    compiled: Option<Compiled>,
}

impl<T> SelectorSet<T> {
    /// A set in this order.
    pub fn new(entries: Vec<(Selector, T)>) -> Self {
        let selectors: Vec<&Selector> = entries.iter().map(|(s, _)| s).collect();
        let compiled = Compiled::new(&selectors);
        SelectorSet { entries, compiled }
    }

    /// The state at the root, for stepping; `None` if the set's automaton
    /// would have been too large to compile (then only
    /// [`lookup`](Self::lookup) answers).
    pub fn start(&self) -> Option<MatchState> {
        self.compiled.as_ref().map(Compiled::start)
    }

    /// Every state of the automaton (none if the set has none), e.g. to
    /// tabulate what each says with [`lookup_state`](Self::lookup_state).
    pub fn states(&self) -> impl Iterator<Item = MatchState> + use<T> {
        let n = self.compiled.as_ref().map_or(0, Compiled::states);
        (0..n).map(|k| MatchState(u32::try_from(k).expect("at most MAX_STATES states")))
    }

    /// The state of the child `seg` of a value in `state`. `state` must come
    /// from this set's [`start`](Self::start) or `step`.
    ///
    /// # Panics
    /// If the set has no automaton (`start` returned `None`).
    #[inline]
    pub fn step(&self, state: MatchState, seg: PathSegment<'_>) -> MatchState {
        self.automaton().step(state, seg)
    }

    /// [`step`](Self::step) to the member `name`, with the name's index
    /// among the names the set spells out when the step looked it up (equal
    /// for equal names, different for different ones), e.g. for a
    /// duplicate check by number.
    ///
    /// # Panics
    /// If the set has no automaton (`start` returned `None`).
    #[inline]
    pub fn step_member(&self, state: MatchState, name: &str) -> (MatchState, Option<u32>) {
        self.automaton().step_member(state, name)
    }

    /// The transition from `state` to its member `name`, with the name's
    /// index as [`step_member`](Self::step_member) gives it: an index into
    /// a table built from [`transition_targets`](Self::transition_targets),
    /// so a caller can keep what it needs per transition and look it up in
    /// one load.
    ///
    /// # Panics
    /// If the set has no automaton (`start` returned `None`).
    #[inline]
    pub fn member_transition(&self, state: MatchState, name: &str) -> (Transition, Option<u32>) {
        self.automaton().member_transition(state, name)
    }

    /// The transition from `state` to its child `seg` (see
    /// [`member_transition`](Self::member_transition)).
    ///
    /// # Panics
    /// If the set has no automaton (`start` returned `None`).
    #[inline]
    pub fn transition(&self, state: MatchState, seg: PathSegment<'_>) -> Transition {
        self.automaton().transition(state, seg)
    }

    /// The state each transition leads to, in the order of their indices
    /// (none if the set has no automaton).
    pub fn transition_targets(&self) -> impl Iterator<Item = MatchState> + '_ {
        self.compiled.iter().flat_map(Compiled::targets)
    }

    /// What the set says about the value in `state`: the same as
    /// [`lookup`](Self::lookup) on the path that led to it.
    ///
    /// # Panics
    /// If the set has no automaton (`start` returned `None`).
    #[inline]
    pub fn lookup_state(&self, state: MatchState) -> Lookup<'_, T> {
        match self.automaton().verdict(state) {
            Verdict::Match(k) => Lookup::Match(&self.entries[k].1),
            Verdict::Descend => Lookup::Descend,
            Verdict::Outside => Lookup::Outside,
        }
    }

    fn automaton(&self) -> &Compiled {
        self.compiled
            .as_ref()
            .expect("a MatchState only comes from a compiled set")
    }

    /// What the set says about the value at `path`. Linear in the number of
    /// selectors times the path length; never allocates.
    pub fn lookup(&self, path: &[PathSegment<'_>]) -> Lookup<'_, T> {
        let mut live = false;
        for (selector, value) in &self.entries {
            let state = selector.state(path);
            if state.matched {
                return Lookup::Match(value);
            }
            live |= state.live;
        }
        if live {
            Lookup::Descend
        } else {
            Lookup::Outside
        }
    }

    /// The selectors and their values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &(Selector, T)> {
        self.entries.iter()
    }

    /// How many selectors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
