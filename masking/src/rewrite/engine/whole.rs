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
//! The same walk takes, in a streamed body, the object or array a child
//! of a tracking container opens (a record of an array, most often): the
//! state machine hands it the rest of the window from the bracket on, and
//! its path so far as the walk's outer path.
//!
//! It gives the state machine's output, byte for byte, or stops and hands
//! over. Where it stops (the window's end, invalid JSON, an escaped member
//! name where names are tracked, a duplicate, a policy error, a limit,
//! ...) it hands the state machine what it would hold at the last child
//! boundary before: every container the walk is in becomes a frame, the
//! output and the counts are those of the whole children, and the state
//! machine goes on from that boundary, reporting any error at its offset.
//! Only the child it stopped in is walked twice. To that end, each step of
//! the walk that can give up comes before anything it writes or counts for
//! its child, or undoes what it did. A body given up before its root
//! container is entered is taken by the state machine from its first byte.
//! The chunking property tests hold the two paths to the same output: a
//! body fed whole comes here, the same body split goes through the state
//! machine and the walks it hands subtrees to.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use arrayvec::ArrayVec;

use super::{Ctx, Expect, Frame, Lex, MAX_PENDING_WS, RewriteLimits, Rewriter, is_ws, recycle};
use crate::plan::BoundPlan;
use crate::rewrite::policy::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, LookupState, MemberKey, PathSeg,
    PathSegment, PathSegs, Replacement, Scalar,
};
use crate::rewrite::scan::{self, ChunkIndex};
use crate::rewrite::summary::{RewriteSummary, Treatment};

/// Nesting deeper than this is left to the state machine, whose frames are
/// on the heap: the recursion here stays shallow whatever the configured
/// depth limit.
const MAX_RECURSION: usize = 64;

/// An object with more classified member names without a small key than
/// this is left to the state machine (which keeps them in a set).
const MAX_NAMES_BY_NAME: usize = 32;

/// The walk stops here: what it was in is recorded in [`Whole::stopped`].
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
#[derive(Clone, Copy)]
struct Classified {
    keys: u64,
    from: usize,
}

/// Where the walk of one tracked container is.
#[derive(Clone, Copy)]
struct Progress {
    /// The children walked whole; the child being walked has this index.
    index: usize,
    emitted_any: bool,
    classified: Classified,
    /// Just past the last whole child, or past the opening bracket.
    after: usize,
}

/// A tracked container the walk was in when it stopped.
struct Level {
    is_obj: bool,
    children: Children,
    progress: Progress,
}

/// What a walk that stopped hands the state machine (see the module docs).
struct Stopped<'a> {
    /// The containers it was in, innermost first: it stopped in the
    /// innermost's child `progress.index`, and goes on at its `after`.
    levels: Vec<Level>,
    /// The containers' segments below the first one's.
    path: ArrayVec<PathSeg, MAX_RECURSION>,
    /// The classified member names of the open objects.
    names: Vec<&'a str>,
    /// Output not yet written starts here.
    run: usize,
}

/// What the walk is given.
#[derive(Clone, Copy)]
enum Job {
    /// The whole input, one document, its root decided by the policy (a
    /// step-by-step policy's root decision and state, or `None`).
    Document(Option<(Decision, LookupState)>),
    /// The container at the input's start, at nesting `depth`, whose
    /// children are decided by `children`; the input may go on past it.
    Subtree {
        is_obj: bool,
        children: Children,
        depth: usize,
    },
}

/// One walk, borrowing what it needs of the rewriter.
struct Whole<'a, 'r, P: FieldPolicy + ?Sized> {
    input: &'a [u8],
    /// The input as text (it is valid UTF-8 throughout): member names and
    /// values are slices of it, and the path's names are spans of it.
    text: &'a str,
    policy: &'r P,
    limits: RewriteLimits,
    scan: bool,
    ndjson: bool,
    /// The state machine's path to the input's first container (a
    /// subtree's), with its names.
    outer: PathSegs<'r>,
    /// The path from there to the container being rewritten, on the
    /// stack: a small body's rewrite allocates nothing.
    path: ArrayVec<PathSeg, MAX_RECURSION>,
    decoded: &'r mut String,
    summary: &'r mut RewriteSummary,
    out: &'r mut Vec<u8>,
    /// `input[run..]` is output not yet written.
    run: usize,
    /// Classified member names without a small key, of the open objects
    /// (see [`Classified`]).
    names: Vec<&'a str>,
    /// Bytes of classified names of the open objects, the state machine's
    /// included (as it counts them against its limit).
    tracked_bytes: usize,
    /// The allocation a path is handed to a policy that decides on whole
    /// paths in (reused, see [`recycle`]).
    segments: Vec<PathSegment<'static>>,
    /// The containers the walk was in when it stopped, innermost first.
    stopped: Vec<Level>,
}

/// What a walk borrows of the rewriter besides its policy.
struct Borrowed<'r> {
    limits: RewriteLimits,
    scan: bool,
    ndjson: bool,
    outer: PathSegs<'r>,
    tracked_bytes: usize,
    decoded: &'r mut String,
    summary: &'r mut RewriteSummary,
    out: &'r mut Vec<u8>,
}

impl Rewriter {
    /// Whether `input`, the body's first chunk, is tried whole: nothing
    /// came before it, and it ends with a closing bracket (a first chunk of
    /// a longer JSON body rarely does, and the state machine hands its
    /// records to walks of their own).
    pub(super) fn tries_whole(&self, input: &[u8]) -> bool {
        !self.ndjson
            && self.base == 0
            && !self.doc_started
            && self.lex == Lex::Between
            && self.expect == Expect::Value
            && matches!(input.iter().rev().find(|&&b| !is_ws(b)), Some(b'}' | b']'))
    }

    /// Rewrites `text`, a first chunk (valid UTF-8 throughout), as one
    /// JSON document. `None` if the walk did not enter
    /// its root container: nothing was written or counted. Else the offset
    /// where the state machine goes on (the input's length if the walk
    /// took all of it).
    pub(super) fn rewrite_whole(&mut self, text: &str, out: &mut Vec<u8>) -> Option<usize> {
        let mark = out.len();
        let borrowed = Borrowed {
            limits: self.limits,
            scan: self.scan,
            ndjson: self.ndjson,
            outer: PathSegs::default(),
            tracked_bytes: 0,
            decoded: &mut self.decoded,
            summary: &mut self.summary,
            out,
        };
        let walked = walk(&self.policy, text, borrowed, Job::Document(self.root));
        self.doc_started = true;
        match walked {
            Ok(_) => {
                self.expect = Expect::End;
                Some(text.len())
            }
            Err(stopped) if !stopped.levels.is_empty() => Some(self.resume(text, 0, stopped, out)),
            Err(_) => {
                out.truncate(mark);
                // Nothing was counted before the first chunk.
                self.summary = RewriteSummary::default();
                self.doc_started = false;
                None
            }
        }
    }

    /// Rewrites the object or array at `at` in `input` (a window indexed
    /// by `index`): the value of a child of the current container, whose
    /// own segment is on the path, to be tracked as `ctx` with the policy's
    /// `state`. Afterwards the state machine goes on at the offset given:
    /// past the container, or where the walk stopped (its containers
    /// pushed as frames). `None`, with nothing done, if the walk did not
    /// take it. The output before `at` must have been written.
    pub(super) fn rewrite_subtree(
        &mut self,
        index: ChunkIndex<'_>,
        at: usize,
        (ctx, state): (Ctx, LookupState),
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        let children = match ctx {
            Ctx::Lookup => Children::Lookup(state),
            Ctx::Outside => Children::Outside,
            Ctx::Apply(id) => Children::Apply(id),
            Ctx::Pass | Ctx::Skip => return None,
        };
        let text = index.text_from(at)?;
        let job = Job::Subtree {
            is_obj: text.as_bytes()[0] == b'{',
            children,
            depth: self.frames.len() + 1,
        };
        let borrowed = Borrowed {
            limits: self.limits,
            scan: self.scan,
            ndjson: self.ndjson,
            outer: PathSegs {
                segs: &self.path,
                names: &self.names,
            },
            tracked_bytes: self.tracked_bytes,
            decoded: &mut self.decoded,
            summary: &mut self.summary,
            out,
        };
        match walk(&self.policy, text, borrowed, job) {
            Ok(end) => {
                self.value_end();
                Some(at + end)
            }
            Err(stopped) if !stopped.levels.is_empty() => Some(self.resume(text, at, stopped, out)),
            Err(_) => None,
        }
    }

    /// Hands the state machine what a walk of `text` (at offset `base` of
    /// the window) `stopped` in: its output up to where it stopped, its
    /// containers as frames and their segments on the path. The offset
    /// where the state machine goes on.
    fn resume(
        &mut self,
        text: &str,
        base: usize,
        stopped: Box<Stopped<'_>>,
        out: &mut Vec<u8>,
    ) -> usize {
        let Stopped {
            levels,
            path,
            names,
            run,
        } = *stopped;
        let innermost = &levels[0].progress;
        out.extend_from_slice(&text.as_bytes()[run..innermost.after]);
        let resume_at = base + innermost.after;
        self.expect = match (innermost.index, levels[0].is_obj) {
            (0, true) => Expect::KeyOrClose,
            (0, false) => Expect::ValueOrClose,
            _ => Expect::CommaOrClose,
        };
        // Outermost first: the first level's segment is on the path already,
        // the others' are the walk's; each level's classified names run up
        // to where the next inner level's start.
        let mut segments = PathSegs {
            segs: &path,
            names: text,
        }
        .iter();
        for depth in (0..levels.len()).rev() {
            let level = &levels[depth];
            let names_to = match depth.checked_sub(1) {
                Some(inner) => levels[inner].progress.classified.from,
                None => names.len(),
            };
            let names = &names[level.progress.classified.from..names_to];
            if depth + 1 < levels.len() {
                let seg = segments
                    .next()
                    .expect("a segment for each level below the first");
                self.push_path(seg);
            }
            let (ctx, state) = match level.children {
                Children::Lookup(state) => (Ctx::Lookup, state),
                Children::Paths => (Ctx::Lookup, LookupState(0)),
                Children::Apply(id) => (Ctx::Apply(id), LookupState(0)),
                Children::Outside => (Ctx::Outside, LookupState(0)),
            };
            let mut frame = Frame {
                is_obj: level.is_obj,
                ctx,
                emitted_any: level.progress.emitted_any,
                next_index: level.progress.index,
                state,
                seen_from: self.seen.mark(),
                keys: level.progress.classified.keys,
                names: None,
                names_bytes: 0,
            };
            for name in names {
                let fresh = self.seen.insert(frame.seen_from, &mut frame.names, name);
                debug_assert!(fresh, "the walk checked for duplicates");
                frame.names_bytes += name.len();
            }
            self.tracked_bytes += frame.names_bytes;
            self.frames.push(frame);
        }
        resume_at
    }
}

/// Walks `text` as `job` says under `policy`: the end of what it took, or
/// where it stopped.
fn walk<'a>(
    policy: &Arc<dyn FieldPolicy>,
    text: &'a str,
    borrowed: Borrowed<'_>,
    job: Job,
) -> Result<usize, Box<Stopped<'a>>> {
    // The crate's compiled plan, the gateway's policy, is walked with its
    // calls made directly (inlined: a member's lookup is a few table reads
    // in the walk); any other policy through the trait.
    let any: &dyn Any = &**policy;
    match any.downcast_ref::<BoundPlan>() {
        Some(plan) => Whole::new(plan, text, borrowed).run(job),
        None => Whole::new(&**policy, text, borrowed).run(job),
    }
}

impl<'a, 'r, P: FieldPolicy + ?Sized> Whole<'a, 'r, P> {
    fn new(policy: &'r P, text: &'a str, borrowed: Borrowed<'r>) -> Self {
        Whole {
            input: text.as_bytes(),
            text,
            policy,
            limits: borrowed.limits,
            scan: borrowed.scan,
            ndjson: borrowed.ndjson,
            outer: borrowed.outer,
            path: ArrayVec::new(),
            decoded: borrowed.decoded,
            summary: borrowed.summary,
            out: borrowed.out,
            run: 0,
            names: Vec::new(),
            tracked_bytes: borrowed.tracked_bytes,
            segments: Vec::new(),
            stopped: Vec::new(),
        }
    }

    /// Does `job`, writing its output up to the end it returns.
    fn run(mut self, job: Job) -> Result<usize, Box<Stopped<'a>>> {
        let walked = match job {
            Job::Document(root) => self.document(root),
            Job::Subtree {
                is_obj,
                children,
                depth,
            } => self.tracked(0, is_obj, children, depth),
        };
        match walked {
            Ok(end) => {
                self.out.extend_from_slice(&self.input[self.run..end]);
                Ok(end)
            }
            // Boxed: the path is most of a kilobyte, and this is once a
            // window at most.
            Err(GiveUp) => Err(Box::new(Stopped {
                levels: self.stopped,
                path: self.path,
                names: self.names,
                run: self.run,
            })),
        }
    }
}

impl<'a, P: FieldPolicy + ?Sized> Whole<'a, '_, P> {
    /// The document: its root container (a scalar root is the state
    /// machine's), whitespace around it, and nothing else. The input's
    /// length.
    fn document(&mut self, root: Option<(Decision, LookupState)>) -> Step<usize> {
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
            // Past the root container (no level is recorded): taken again
            // from the first byte.
            return Err(GiveUp);
        }
        Ok(self.input.len())
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
    /// an output this path does not make). So is a newline in NDJSON,
    /// where it ends the record (the state machine says where one is
    /// misplaced).
    #[inline(always)]
    fn ws(&self, k: usize) -> Step<usize> {
        // Compact JSON: no whitespace at all.
        if self.input.get(k).is_some_and(|&b| b > b' ') {
            return Ok(k);
        }
        let rest = self.input.get(k..).unwrap_or_default();
        let run = match self.ndjson {
            false => rest.iter().position(|&b| !is_ws(b)),
            true => rest
                .iter()
                .position(|&b| !matches!(b, b' ' | b'\t' | b'\r')),
        }
        .unwrap_or(rest.len());
        if run > MAX_PENDING_WS / 3 || rest.get(run) == Some(&b'\n') {
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
    /// rewritten: the offset past it. Where it stops inside, it records
    /// itself in [`stopped`](Self::stopped).
    fn tracked(
        &mut self,
        at: usize,
        is_obj: bool,
        children: Children,
        depth: usize,
    ) -> Step<usize> {
        self.within_depth(depth)?;
        let mut progress = Progress {
            index: 0,
            emitted_any: false,
            classified: Classified {
                keys: 0,
                from: self.names.len(),
            },
            after: at + 1,
        };
        let walked = self.children(is_obj, children, depth, &mut progress);
        if walked.is_err() {
            self.stopped_in(Level {
                is_obj,
                children,
                progress,
            });
        }
        walked
    }

    /// Records `level` as a container the walk stopped in.
    #[cold]
    fn stopped_in(&mut self, level: Level) {
        self.stopped.push(level);
    }

    /// The children of the container [`tracked`](Self::tracked) entered,
    /// up to its closing bracket, with `progress` kept as it goes: if this
    /// gives up, the child `progress.index` was not written or counted,
    /// nor its name classified, unless a container it opened recorded
    /// itself as where the walk stopped.
    #[inline(always)]
    fn children(
        &mut self,
        is_obj: bool,
        children: Children,
        depth: usize,
        progress: &mut Progress,
    ) -> Step<usize> {
        let close = if is_obj { b'}' } else { b']' };
        let (mut head, first) = self.token(progress.after)?;
        if first == close {
            return Ok(head + 1);
        }
        let mut comma = false;
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
                (
                    PathSegment::Index(progress.index),
                    PathSeg::Index(progress.index),
                )
            };
            let (decision, state, key) = self.decide(children, seg);
            let mut unclassified = None;
            if let (
                Children::Lookup(_) | Children::Paths,
                Decision::Transform(_),
                PathSegment::Member(name),
            ) = (children, decision, seg)
            {
                unclassified = Some((progress.classified, self.names.len()));
                self.classify(&mut progress.classified, name, key)?;
            }
            let child = Child {
                head,
                comma,
                seg,
                path_seg,
                value_at,
            };
            let walked = self.child(
                child,
                &mut progress.emitted_any,
                (decision, state),
                children,
                depth,
            );
            let end = match walked {
                Ok(end) => end,
                Err(GiveUp) => {
                    // Stopped in this child: its name is not classified
                    // yet (unless the walk stopped inside its value).
                    if let Some((classified, names)) = unclassified
                        && self.stopped.is_empty()
                    {
                        self.unclassify(&mut progress.classified, classified, names);
                    }
                    return Err(GiveUp);
                }
            };
            progress.index += 1;
            progress.after = end;
            let (k, next) = self.token(end)?;
            match next {
                b',' => {
                    head = k;
                    comma = true;
                }
                b if b == close => {
                    if self.names.len() > progress.classified.from {
                        let from = progress.classified.from;
                        let bytes: usize = self.names[from..].iter().map(|n| n.len()).sum();
                        self.tracked_bytes -= bytes;
                        self.names.truncate(from);
                    }
                    return Ok(k + 1);
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// Adds the classified member `name` to its object's; gives up on a
    /// duplicate (the state machine reports it) or past the limit, with
    /// nothing added.
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
        if seen.len() == MAX_NAMES_BY_NAME
            || seen.contains(&name)
            || self.tracked_bytes + name.len() > self.limits.max_tracked_name_bytes
        {
            return Err(GiveUp);
        }
        self.names.push(name);
        self.tracked_bytes += name.len();
        Ok(())
    }

    /// Takes back the [`classify`](Self::classify) that left `object` and
    /// the names after `before` and `names`.
    #[cold]
    fn unclassify(&mut self, object: &mut Classified, before: Classified, names: usize) {
        *object = before;
        for name in self.names.drain(names..) {
            self.tracked_bytes -= name.len();
        }
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
                let mut segments = recycle(std::mem::take(&mut self.segments));
                let path = FieldPath::below(self.outer, &self.path, self.text, Some(seg));
                segments.extend(path.segments());
                let decision = self.policy.lookup(&segments);
                self.segments = recycle(segments);
                (decision, LookupState(0), None)
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
    /// dropped, or descended into. The offset past its value. If it gives
    /// up, nothing was written or counted for the child, unless a container
    /// it opened recorded itself as where the walk stopped.
    #[inline(always)]
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
                        let end = self.skip(value_at, depth + 1)?;
                        self.summary.count(id, Treatment::ContainerDropped);
                        self.cut(child.head, end, &[]);
                        return Ok(end);
                    }
                    ContainerAction::Replace(json) => {
                        let end = self.skip(value_at, depth + 1)?;
                        self.summary.count(id, Treatment::ContainerReplaced);
                        self.keep_separator(child, emitted_any);
                        self.cut(value_at, end, json.as_bytes());
                        return Ok(end);
                    }
                    ContainerAction::Descend => {
                        self.within_depth(depth + 1)?;
                        self.summary.count(id, Treatment::ContainerDescended);
                        Some(Children::Apply(id))
                    }
                },
            };
            let Some(nested) = nested else {
                let end = self.skip(value_at, depth + 1)?;
                self.keep_separator(child, emitted_any);
                return Ok(end);
            };
            // Checked before anything is written: past here, the nested
            // container records itself if the walk stops in it.
            self.within_depth(depth + 1)?;
            if self.path.is_full() {
                return Err(GiveUp);
            }
            self.keep_separator(child, emitted_any);
            self.path.push(child.path_seg);
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
        // dropped, or a give-up, takes that back.
        let (mark, run, emitted_before) = (self.out.len(), self.run, *emitted_any);
        self.keep_separator(child, emitted_any);
        self.out.extend_from_slice(&self.input[self.run..value_at]);
        self.run = value_at;
        let written = self.out.len();
        let replacement = match self.replace_scalar(child.seg, value_at, end, escaped, field) {
            Ok(replacement) => replacement,
            Err(GiveUp) => {
                self.out.truncate(mark);
                self.run = run;
                *emitted_any = emitted_before;
                return Err(GiveUp);
            }
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

    /// The policy's answer for the scalar `input[value_at..end]`, the
    /// child `leaf` (field `field`'s, or unclassified if `None`), written
    /// at the end of the output and counted.
    #[inline(always)]
    fn replace_scalar(
        &mut self,
        leaf: PathSegment<'a>,
        value_at: usize,
        end: usize,
        escaped: bool,
        field: Option<FieldId>,
    ) -> Step<Replacement> {
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
        let path = FieldPath::below(self.outer, &self.path, self.text, Some(leaf));
        Ok(match (field, &value) {
            (Some(id), _) => {
                let r = self
                    .policy
                    .transform(id, path, value, self.out)
                    .map_err(|_| GiveUp)?;
                self.summary.count(id, Treatment::of(r));
                r
            }
            (None, Scalar::Str(text)) => {
                let found = self.summary.found();
                let r = self
                    .policy
                    .unclassified(path, text, self.out, found)
                    .map_err(|_| GiveUp)?;
                self.summary.count_unclassified(r);
                r
            }
            (None, _) => unreachable!("only strings are scanned"),
        })
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
