//! The whole-body path: a body whose first chunk holds all of it (the
//! gateway hands a small response's body over as it came, usually one
//! piece) is rewritten by recursive descent over the chunk rather than
//! token by token through the state machine.
//!
//! The state machine pays, at every token, for being able to stop anywhere:
//! its state lives in the rewriter (the expected token, the frame stack, the
//! deferred prefix), and each child is written out as it is decided. Here
//! the whole body is in hand, so the nesting is the call stack and the
//! output is written lazily: `input[run..]` is output not yet written, and
//! only a replaced or dropped child cuts the run, so a body with ten
//! replacements is written in about eleven copies; a transform writes its
//! replacement straight into the output.
//!
//! The walk is generic over the policy: the crate's compiled plan
//! ([`BoundPlan`], what the gateway binds per request) gets a walk of its
//! own with its lookups and transforms called directly, so a member's
//! lookup is a few table reads inlined into the walk instead of a call
//! through the trait (5% of a 1 KB body's instructions); any other policy
//! is walked through `dyn FieldPolicy`.
//!
//! It gives the state machine's output, byte for byte, or gives up. A body
//! it does not take (not complete in the chunk, invalid, over a limit, an
//! escaped member name where names are tracked, a selected root, a policy
//! error, ...) is taken by the
//! state machine from its first byte, after what was written and counted
//! here is undone; errors are reported there, at their offsets. The
//! chunking property tests hold the two paths to the same output: a body
//! fed whole comes here, the same body split goes through the state
//! machine.

use std::any::Any;
use std::borrow::Cow;

use arrayvec::ArrayVec;

use super::{Expect, Lex, MAX_PENDING_WS, RewriteLimits, Rewriter, is_ws};
use crate::plan::BoundPlan;
use crate::rewrite::policy::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, LookupState, MemberKey, PathSeg,
    PathSegment, Replacement, Scalar,
};
use crate::rewrite::scan;
use crate::rewrite::summary::{RewriteSummary, Treatment};

/// Nesting deeper than this is left to the state machine, whose frames are
/// on the heap: the recursion here stays shallow whatever the configured
/// depth limit.
const MAX_RECURSION: usize = 64;

/// An object with more classified member names without a small key than
/// this is left to the state machine (which keeps them in a set).
const MAX_NAMES_BY_NAME: usize = 32;

/// The whole-body path does not take this body: the state machine does.
struct GiveUp;

type Step<T> = Result<T, GiveUp>;

/// How the children of a container whose children are tracked are decided.
#[derive(Clone, Copy)]
enum Children {
    /// By the policy, one step from the container's state.
    Lookup(LookupState),
    /// By the policy, on the child's whole path (a policy that does not
    /// look up step by step).
    Paths,
    /// Every scalar leaf gets this field's transform.
    Apply(FieldId),
    /// Unclassified, strings scanned.
    Outside,
}

/// A child of a tracked container, up to its value.
#[derive(Clone, Copy)]
struct Child<'a> {
    /// Where its output starts: at its comma (if `comma`), or at its first
    /// byte for a container's first child.
    head: usize,
    comma: bool,
    /// Its segment, and the same as the path keeps it.
    seg: PathSegment<'a>,
    path_seg: PathSeg,
    value_at: usize,
}

/// The classified member names of one object, for the duplicate check:
/// by the policy's small key where it has one, else by the name itself, on
/// a stack the open objects share ([`Whole::names`]) from `from` on.
struct Classified {
    keys: u64,
    from: usize,
}

/// One whole body being rewritten, borrowing what it needs of the rewriter.
struct Whole<'a, 'r, P: FieldPolicy + ?Sized> {
    input: &'a [u8],
    /// The input as text (it is valid UTF-8 throughout): member names and
    /// values are slices of it, and the path's names are spans of it.
    text: &'a str,
    policy: &'r P,
    limits: RewriteLimits,
    scan: bool,
    /// The path to the container being rewritten, on the stack: a small
    /// body's rewrite allocates nothing.
    path: ArrayVec<PathSeg, MAX_RECURSION>,
    decoded: &'r mut String,
    summary: &'r mut RewriteSummary,
    out: &'r mut Vec<u8>,
    /// `input[run..]` is output not yet written.
    run: usize,
    /// Classified member names without a small key, of the open objects
    /// (see [`Classified`]).
    names: Vec<&'a str>,
    /// Their bytes (as the state machine counts them against its limit).
    tracked_bytes: usize,
    /// A path handed to a policy that decides on whole paths (reused).
    segments: Vec<PathSegment<'a>>,
}

impl Rewriter {
    /// Whether `input`, the body's first chunk, is tried whole: nothing
    /// came before it, and it ends with a closing bracket (a first chunk of
    /// a longer JSON body rarely does, and is then given up at its end).
    pub(super) fn tries_whole(&self, input: &[u8]) -> bool {
        !self.ndjson
            && self.base == 0
            && !self.doc_started
            && self.lex == Lex::Between
            && self.expect == Expect::Value
            && matches!(input.iter().rev().find(|&&b| !is_ws(b)), Some(b'}' | b']'))
    }

    /// Rewrites `input`, a whole first chunk that is `text` (valid UTF-8
    /// throughout), if it is one whole JSON document this path takes, and
    /// says whether it did; if not, nothing was written or counted.
    pub(super) fn rewrite_whole(&mut self, input: &[u8], text: &str, out: &mut Vec<u8>) -> bool {
        let mark = out.len();
        let rewriter = Borrowed {
            limits: self.limits,
            scan: self.scan,
            root: self.root,
            decoded: &mut self.decoded,
            summary: &mut self.summary,
            out,
        };
        // The crate's compiled plan, the gateway's policy, is walked with
        // its calls made directly (inlined: a member's lookup is a few
        // table reads in the walk); any other policy through the trait.
        let any: &dyn Any = &*self.policy;
        let done = match any.downcast_ref::<BoundPlan>() {
            Some(plan) => Whole::walk(plan, input, text, rewriter),
            None => Whole::walk(&*self.policy, input, text, rewriter),
        };
        if done.is_err() {
            out.truncate(mark);
            // Nothing was counted before the first chunk.
            self.summary = RewriteSummary::default();
            return false;
        }
        self.doc_started = true;
        self.expect = Expect::End;
        true
    }
}

/// What the walk borrows of the rewriter besides its policy.
struct Borrowed<'r> {
    limits: RewriteLimits,
    scan: bool,
    root: Option<(Decision, LookupState)>,
    decoded: &'r mut String,
    summary: &'r mut RewriteSummary,
    out: &'r mut Vec<u8>,
}

impl<'a, 'r, P: FieldPolicy + ?Sized> Whole<'a, 'r, P> {
    /// Walks `input` (that is `text`) under `policy`.
    fn walk(policy: &'r P, input: &'a [u8], text: &'a str, rewriter: Borrowed<'r>) -> Step<()> {
        Whole {
            input,
            text,
            policy,
            limits: rewriter.limits,
            scan: rewriter.scan,
            path: ArrayVec::new(),
            decoded: rewriter.decoded,
            summary: rewriter.summary,
            out: rewriter.out,
            run: 0,
            names: Vec::new(),
            tracked_bytes: 0,
            segments: Vec::new(),
        }
        .document(rewriter.root)
    }
}

impl<'a, P: FieldPolicy + ?Sized> Whole<'a, '_, P> {
    /// The document: its root container (a scalar root is the state
    /// machine's), whitespace around it, and nothing else.
    fn document(&mut self, root: Option<(Decision, LookupState)>) -> Step<()> {
        let (decision, state) = match root {
            Some(root) => root,
            None => (self.policy.lookup(&[]), LookupState(0)),
        };
        let (at, first) = self.token(0)?;
        let is_obj = match first {
            b'{' => true,
            b'[' => false,
            _ => return Err(GiveUp),
        };
        let end = match decision {
            Decision::Descend if root.is_some() => {
                self.tracked(at, is_obj, Children::Lookup(state), 1)?
            }
            Decision::Descend => self.tracked(at, is_obj, Children::Paths, 1)?,
            Decision::Outside if self.scan => self.tracked(at, is_obj, Children::Outside, 1)?,
            Decision::Outside => self.skip(at, 1)?,
            _ => return Err(GiveUp),
        };
        if self.ws(end)? != self.input.len() {
            return Err(GiveUp);
        }
        self.out.extend_from_slice(&self.input[self.run..]);
        Ok(())
    }

    #[inline(always)]
    fn byte(&self, k: usize) -> Step<u8> {
        self.input.get(k).copied().ok_or(GiveUp)
    }

    /// Where the whitespace starting at `k` ends.
    ///
    /// A run longer than a third of [`MAX_PENDING_WS`] is given up on: a
    /// member's prefix has at most three runs (before its name, before and
    /// after its colon), so no prefix here holds more whitespace than the
    /// state machine holds back (past that it writes whitespace out early,
    /// an output this path does not make).
    #[inline(always)]
    fn ws(&self, k: usize) -> Step<usize> {
        // Compact JSON: no whitespace at all.
        if self.input.get(k).is_some_and(|&b| b > b' ') {
            return Ok(k);
        }
        let run = self.input.get(k..).map_or(0, |rest| {
            rest.iter().position(|&b| !is_ws(b)).unwrap_or(rest.len())
        });
        if run > MAX_PENDING_WS / 3 {
            return Err(GiveUp);
        }
        Ok(k + run)
    }

    /// The first byte at or after `k` that is not whitespace, and its
    /// offset.
    #[inline(always)]
    fn token(&self, k: usize) -> Step<(usize, u8)> {
        match self.input.get(k) {
            Some(&b) if b > b' ' => Ok((k, b)),
            _ => {
                let k = self.ws(k)?;
                Ok((k, self.byte(k)?))
            }
        }
    }

    /// A container at nesting `depth` is within the limits.
    #[inline(always)]
    fn within_depth(&self, depth: usize) -> Step<()> {
        if depth > self.limits.max_depth || depth > MAX_RECURSION {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// A scalar token at `at`: the offset past it, whether it is a string,
    /// and whether that holds escapes.
    #[inline(always)]
    fn scalar_end(&self, at: usize) -> Step<(usize, bool, bool)> {
        match self.byte(at)? {
            b'"' => scan::string_end_in_text(self.input, at)
                .map(|(end, escaped)| (end, true, escaped))
                .ok_or(GiveUp),
            b'-' | b'0'..=b'9' => scan::number_end(self.input, at)
                .map(|end| (end, false, false))
                .ok_or(GiveUp),
            b't' | b'f' | b'n' => scan::literal_end(self.input, at)
                .map(|end| (end, false, false))
                .ok_or(GiveUp),
            _ => Err(GiveUp),
        }
    }

    /// A member name at `at` and its colon: the name's span (inside the
    /// quotes), whether it holds escapes, and where the value starts.
    #[inline(always)]
    fn member_name(&self, at: usize) -> Step<((usize, usize), bool, usize)> {
        if self.byte(at)? != b'"' {
            return Err(GiveUp);
        }
        let (end, escaped) = scan::string_end_in_text(self.input, at).ok_or(GiveUp)?;
        let (colon, c) = self.token(end)?;
        if c != b':' {
            return Err(GiveUp);
        }
        Ok(((at + 1, end - 1), escaped, self.ws(colon + 1)?))
    }

    /// Validates the value at `at` (at nesting `depth` if it is a
    /// container), writing nothing: a passed-through value stays in the
    /// run, a dropped or replaced one is cut from it by the caller.
    fn skip(&self, at: usize, depth: usize) -> Step<usize> {
        let is_obj = match self.byte(at)? {
            b'{' => true,
            b'[' => false,
            _ => return Ok(self.scalar_end(at)?.0),
        };
        self.within_depth(depth)?;
        let close = if is_obj { b'}' } else { b']' };
        let (mut k, first) = self.token(at + 1)?;
        if first == close {
            return Ok(k + 1);
        }
        loop {
            if is_obj {
                k = self.member_name(k)?.2;
            }
            let (next, b) = self.token(self.skip(k, depth + 1)?)?;
            match b {
                b',' => k = self.ws(next + 1)?,
                b if b == close => return Ok(next + 1),
                _ => return Err(GiveUp),
            }
        }
    }

    /// A container at `at` whose children are decided by `children`,
    /// rewritten: the offset past it.
    fn tracked(
        &mut self,
        at: usize,
        is_obj: bool,
        children: Children,
        depth: usize,
    ) -> Step<usize> {
        self.within_depth(depth)?;
        let close = if is_obj { b'}' } else { b']' };
        let (mut head, first) = self.token(at + 1)?;
        if first == close {
            return Ok(head + 1);
        }
        let mut comma = false;
        let mut emitted_any = false;
        let mut classified = Classified {
            keys: 0,
            from: self.names.len(),
        };
        let mut index = 0;
        loop {
            let start = head + usize::from(comma);
            let mut value_at = self.ws(start)?;
            let (seg, path_seg) = if is_obj {
                let ((a, b), escaped, after) = self.member_name(value_at)?;
                if escaped || b + 2 - a > self.limits.max_key_bytes {
                    return Err(GiveUp);
                }
                value_at = after;
                let name = self.text.get(a..b).ok_or(GiveUp)?;
                (
                    PathSegment::Member(name),
                    PathSeg::Member { start: a, end: b },
                )
            } else {
                (PathSegment::Index(index), PathSeg::Index(index))
            };
            let (decision, state, key) = self.decide(children, seg);
            if let (
                Children::Lookup(_) | Children::Paths,
                Decision::Transform(_),
                PathSegment::Member(name),
            ) = (children, decision, seg)
            {
                self.classify(&mut classified, name, key)?;
            }
            let child = Child {
                head,
                comma,
                seg,
                path_seg,
                value_at,
            };
            let end = self.child(child, &mut emitted_any, (decision, state), children, depth)?;
            index += 1;
            let (k, next) = self.token(end)?;
            match next {
                b',' => {
                    head = k;
                    comma = true;
                }
                b if b == close => {
                    if self.names.len() > classified.from {
                        let bytes: usize =
                            self.names[classified.from..].iter().map(|n| n.len()).sum();
                        self.tracked_bytes -= bytes;
                        self.names.truncate(classified.from);
                    }
                    return Ok(k + 1);
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// Adds the classified member `name` to its object's; gives up on a
    /// duplicate (the state machine reports it) or past the limit.
    #[inline(always)]
    fn classify(
        &mut self,
        object: &mut Classified,
        name: &'a str,
        key: Option<MemberKey>,
    ) -> Step<()> {
        if let Some(MemberKey(k @ 0..64)) = key {
            if object.keys & (1 << k) != 0 {
                return Err(GiveUp);
            }
            object.keys |= 1 << k;
            return Ok(());
        }
        // Compared one by one: past a few, the state machine's set does it.
        let seen = &self.names[object.from..];
        if seen.len() == MAX_NAMES_BY_NAME || seen.contains(&name) {
            return Err(GiveUp);
        }
        self.names.push(name);
        self.tracked_bytes += name.len();
        if self.tracked_bytes > self.limits.max_tracked_name_bytes {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// The decision for the child `seg` of a container decided by
    /// `children`.
    #[inline(always)]
    fn decide(
        &mut self,
        children: Children,
        seg: PathSegment<'a>,
    ) -> (Decision, LookupState, Option<MemberKey>) {
        match (children, seg) {
            (Children::Paths, _) => {
                let text = self.text;
                self.segments.clear();
                self.segments.extend(self.path.iter().map(|s| match *s {
                    PathSeg::Member { start, end } => PathSegment::Member(&text[start..end]),
                    PathSeg::Index(i) => PathSegment::Index(i),
                }));
                self.segments.push(seg);
                (self.policy.lookup(&self.segments), LookupState(0), None)
            }
            (Children::Lookup(parent), PathSegment::Member(name)) => {
                self.policy.lookup_member(parent, name)
            }
            (Children::Lookup(parent), seg) => {
                let (decision, state) = self.policy.lookup_child(parent, seg);
                (decision, state, None)
            }
            (Children::Apply(id), _) => (Decision::Transform(id), LookupState(0), None),
            (Children::Outside, _) => (Decision::Outside, LookupState(0), None),
        }
    }

    /// A child decided `decision` (with the policy's `state` for its own
    /// children) in a container decided by `children`: kept, replaced or
    /// dropped, or descended into. The offset past its value.
    fn child(
        &mut self,
        child: Child<'a>,
        emitted_any: &mut bool,
        (decision, state): (Decision, LookupState),
        children: Children,
        depth: usize,
    ) -> Step<usize> {
        let value_at = child.value_at;
        let open = self.byte(value_at)?;
        if open == b'{' || open == b'[' {
            let nested = match decision {
                Decision::Descend if matches!(children, Children::Paths) => Some(Children::Paths),
                Decision::Descend => Some(Children::Lookup(state)),
                Decision::Outside if self.scan => Some(Children::Outside),
                Decision::Outside => None,
                Decision::Transform(id) if matches!(children, Children::Apply(_)) => {
                    Some(Children::Apply(id))
                }
                Decision::Transform(id) => match self.policy.container(id) {
                    ContainerAction::Drop => {
                        self.summary.count(id, Treatment::ContainerDropped);
                        let end = self.skip(value_at, depth + 1)?;
                        self.cut(child.head, end, &[]);
                        return Ok(end);
                    }
                    ContainerAction::Replace(json) => {
                        self.summary.count(id, Treatment::ContainerReplaced);
                        let end = self.skip(value_at, depth + 1)?;
                        self.keep_separator(child, emitted_any);
                        self.cut(value_at, end, json.as_bytes());
                        return Ok(end);
                    }
                    ContainerAction::Descend => {
                        self.summary.count(id, Treatment::ContainerDescended);
                        Some(Children::Apply(id))
                    }
                },
            };
            self.keep_separator(child, emitted_any);
            let Some(nested) = nested else {
                return self.skip(value_at, depth + 1);
            };
            self.path.try_push(child.path_seg).map_err(|_| GiveUp)?;
            let end = self.tracked(value_at, open == b'{', nested, depth + 1)?;
            self.path.pop();
            return Ok(end);
        }
        let (end, is_str, escaped) = self.scalar_end(value_at)?;
        let field = match decision {
            Decision::Transform(id) => Some(id),
            _ if is_str && self.scan => None,
            _ => {
                self.keep_separator(child, emitted_any);
                return Ok(end);
            }
        };
        if end - value_at > self.limits.max_value_bytes {
            return Err(GiveUp);
        }
        if let Some(id) = field
            && let Some(json) = self.policy.constant(id)
        {
            self.summary.count(id, Treatment::Replaced);
            self.keep_separator(child, emitted_any);
            self.cut(value_at, end, json.as_bytes());
            return Ok(end);
        }
        // Written as if the value were replaced: the output up to it, then
        // the policy's text right after (no copy of it); a value kept or
        // dropped takes that back.
        let (mark, run, emitted_before) = (self.out.len(), self.run, *emitted_any);
        self.keep_separator(child, emitted_any);
        self.out.extend_from_slice(&self.input[self.run..value_at]);
        self.run = value_at;
        let written = self.out.len();
        let raw = self.text.get(value_at..end).ok_or(GiveUp)?;
        let value = match raw.as_bytes()[0] {
            b'"' if escaped => {
                self.decoded.clear();
                scan::unescape_into(&raw[1..raw.len() - 1], self.decoded).ok_or(GiveUp)?;
                Scalar::Str(Cow::Borrowed(self.decoded.as_str()))
            }
            b'"' => Scalar::Str(Cow::Borrowed(&raw[1..raw.len() - 1])),
            b't' => Scalar::Bool(true),
            b'f' => Scalar::Bool(false),
            b'n' => Scalar::Null,
            _ => Scalar::Number(raw),
        };
        let path = FieldPath {
            segments: &self.path,
            names: self.text,
            leaf: Some(child.seg),
        };
        let replacement = match (field, &value) {
            (Some(id), _) => {
                let r = self
                    .policy
                    .transform(id, path, value, self.out)
                    .map_err(|_| GiveUp)?;
                self.summary.count(id, Treatment::of(r));
                r
            }
            (None, Scalar::Str(text)) => {
                let r = self
                    .policy
                    .unclassified(path, text, self.out)
                    .map_err(|_| GiveUp)?;
                self.summary.count_unclassified(r);
                r
            }
            (None, _) => unreachable!("only strings are scanned"),
        };
        match replacement {
            // The value goes out with the run.
            Replacement::Keep => self.out.truncate(written),
            Replacement::Json => self.run = end,
            Replacement::Drop => {
                self.out.truncate(mark);
                self.run = run;
                *emitted_any = emitted_before;
                self.cut(child.head, end, &[]);
            }
        }
        Ok(end)
    }

    /// A kept child's separator: its comma is written only if an earlier
    /// child of the container was.
    #[inline(always)]
    fn keep_separator(&mut self, child: Child<'_>, emitted_any: &mut bool) {
        if child.comma && !*emitted_any {
            self.cut(child.head, child.head + 1, &[]);
        }
        *emitted_any = true;
    }

    /// Writes the run up to `from`, then `with` in place of
    /// `input[from..to]`; the run goes on at `to`.
    #[inline(always)]
    fn cut(&mut self, from: usize, to: usize, with: &[u8]) {
        self.out.extend_from_slice(&self.input[self.run..from]);
        self.out.extend_from_slice(with);
        self.run = to;
    }
}
