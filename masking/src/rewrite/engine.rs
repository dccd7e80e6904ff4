//! The push-based tokenizer and rewriter. See the module docs of `rewrite`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use super::error::RewriteError;
use super::policy::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, LookupState, MemberKey, PathSeg,
    PathSegment, Replacement, Scalar,
};
use super::scan::{self, ChunkIndex, Utf8Span};
use super::summary::{RewriteSummary, Treatment};

mod children;
mod memo;
mod seen;
mod whole;

use memo::MemberMemo;
use seen::{NameKey, SeenNames};

/// Whitespace after a deferred comma is held back at most this much; beyond
/// it, whitespace is emitted at once, ahead of the deferred comma (still valid
/// JSON, and deterministic: it depends on byte counts, not on chunking).
const MAX_PENDING_WS: usize = 4096;

/// A chunk is indexed and tokenized this many bytes at a time: the
/// window's stop bitmap (one bit per byte) lives on the stack, and the
/// window stays in the L1 cache from its index to its last token. A token
/// cut by a window's end is resumed by the state machine, as one cut by a
/// chunk's end is.
const WINDOW: usize = 16384;

/// A chunk up to this size is indexed in a stop bitmap of its own size:
/// zeroing the whole window's bitmap (2 KiB) cost a 1 KB body about 1% of
/// its instructions.
const SMALL_CHUNK: usize = 2048;

/// Bounds on what the rewriter buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewriteLimits {
    /// Deepest nesting of objects and arrays (the root container is depth 1).
    pub max_depth: usize,
    /// Largest scalar (raw bytes, quotes and escapes included) buffered to be
    /// transformed or scanned.
    pub max_value_bytes: usize,
    /// Largest member name (raw bytes) buffered where a policy decision
    /// depends on it.
    pub max_key_bytes: usize,
    /// Total bytes of classified member names remembered, across the open
    /// objects, for the duplicate-member check.
    pub max_tracked_name_bytes: usize,
}

impl Default for RewriteLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_value_bytes: 1 << 20,
            max_key_bytes: 16 << 10,
            max_tracked_name_bytes: 1 << 20,
        }
    }
}

/// How the children of a container are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// Ask the policy at each child.
    Lookup,
    /// Unclassified subtree whose strings are scanned.
    Outside,
    /// Every scalar leaf gets this field's transform.
    Apply(FieldId),
    /// Unclassified subtree copied through as it comes.
    Pass,
    /// Inside a dropped or replaced container: validated, not emitted.
    Skip,
}

impl Ctx {
    /// Children may be dropped or rewritten: member prefixes are deferred,
    /// keys buffered, paths tracked.
    fn tracking(self) -> bool {
        matches!(self, Ctx::Lookup | Ctx::Outside | Ctx::Apply(_))
    }
}

struct Frame {
    is_obj: bool,
    ctx: Ctx,
    /// A child was emitted, so the next kept child needs a comma.
    emitted_any: bool,
    next_index: usize,
    /// The policy's step-by-step state of this container (`Lookup` frames
    /// of a policy that steps).
    state: LookupState,
    /// Where this object's classified member names start in the
    /// rewriter's [`SeenNames`] (while they are few).
    seen_from: usize,
    /// This object's classified member names that have a [`MemberKey`]
    /// below 64, as bits.
    keys: u64,
    /// This object's classified member names once they are many.
    #[allow(
        clippy::box_collection,
        reason = "boxed to keep frames small: one is moved on every push and pop"
    )]
    names: Option<Box<HashSet<NameKey>>>,
    names_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrClose,
    Key,
    KeyOrClose,
    Colon,
    CommaOrClose,
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Esc {
    None,
    Backslash,
    /// In `\uXXXX`: digits read so far, their value, and the high surrogate
    /// this escape must complete.
    Hex {
        n: u8,
        acc: u16,
        high: Option<u16>,
    },
    /// After a high surrogate escape: expecting `\`.
    LowBackslash(u16),
    /// After a high surrogate escape and `\`: expecting `u`.
    LowU(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Num {
    fn terminal(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Between,
    Str,
    Num(Num),
    Lit { word: &'static [u8], pos: u8 },
}

/// Where the bytes of the current token go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    Out,
    /// The deferred member prefix (keys in tracking contexts).
    Pending,
    /// The buffered scalar.
    Value,
    Discard,
}

/// What the policy (or the context) said about a child.
#[derive(Clone, Copy, Debug)]
struct Decided {
    decision: Decision,
    /// The child's step-by-step state.
    state: LookupState,
    /// The policy's key for a member's name, if it has one.
    key: Option<MemberKey>,
}

/// A whole string value's contents (see `Rewriter::whole_text`).
enum WholeText<'a> {
    /// As they are in the window: no escapes.
    Window(&'a str),
    /// Decoded, in the rewriter's buffer.
    Decoded(String),
}

impl WholeText<'_> {
    fn as_str(&self) -> &str {
        match self {
            WholeText::Window(text) => text,
            WholeText::Decoded(buf) => buf,
        }
    }
}

/// Why the current scalar is buffered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Buffered {
    No,
    Transform(FieldId),
    Unclassified,
}

/// Streams JSON (or NDJSON) through a [`FieldPolicy`].
///
/// Feed it the body's chunks as they come; each call appends the rewritten
/// bytes that are ready to `out`. [`Rewriter::finish`] checks that the body
/// was complete. The output is the same whatever the chunking.
pub struct Rewriter {
    policy: Arc<dyn FieldPolicy>,
    limits: RewriteLimits,
    ndjson: bool,
    scan: bool,
    /// The root's decision and state, for a policy that looks up step by
    /// step (`None`: whole paths through `lookup`).
    root: Option<(Decision, LookupState)>,

    lex: Lex,
    expect: Expect,
    frames: Vec<Frame>,
    /// Whether the current record has started (NDJSON) / the document has
    /// started (JSON).
    doc_started: bool,

    path: Vec<PathSeg>,
    names: String,
    /// The allocation the path is handed to the policy in, kept between
    /// calls.
    seg_buf: Vec<PathSegment<'static>>,
    /// Classified member names of the open objects (duplicate check).
    seen: SeenNames,
    /// The policy's answers for member names, by position.
    member_memo: MemberMemo,
    /// Bytes of classified member names remembered, all open objects.
    tracked_bytes: usize,

    /// The member/element prefix not yet known to be kept: everything after
    /// the (deferred) comma.
    pending: Vec<u8>,
    pending_comma: bool,
    pending_ws: usize,
    /// The decision for the value after the current key.
    member_decision: Decision,
    /// The step-by-step state of the value after the current key.
    member_state: LookupState,
    /// The step-by-step state of the value starting now.
    value_state: LookupState,

    // current string
    str_is_key: bool,
    str_sink: Sink,
    decode: bool,
    esc: Esc,
    utf8_need: u8,
    utf8_lo: u8,
    utf8_hi: u8,
    key_raw: usize,
    dec: Vec<u8>,

    // current scalar
    val_sink: Sink,
    buffered: Buffered,
    val_raw: Vec<u8>,

    /// Where a transform writes its replacement (reused).
    replacement: Vec<u8>,
    /// A whole escaped string value, decoded for the policy (reused; see
    /// `whole_text`).
    decoded: String,
    base: u64,
    poisoned: bool,
    summary: RewriteSummary,
}

type Res<T> = Result<T, RewriteError>;

impl Rewriter {
    /// A rewriter for one JSON document.
    pub fn new(policy: Arc<dyn FieldPolicy>, limits: RewriteLimits) -> Self {
        let scan = policy.scans_unclassified();
        let root = policy.lookup_root();
        Self {
            policy,
            limits,
            ndjson: false,
            scan,
            root,
            lex: Lex::Between,
            expect: Expect::Value,
            frames: Vec::new(),
            doc_started: false,
            path: Vec::new(),
            names: String::new(),
            seg_buf: Vec::new(),
            seen: SeenNames::default(),
            member_memo: MemberMemo::default(),
            tracked_bytes: 0,
            pending: Vec::new(),
            pending_comma: false,
            pending_ws: 0,
            member_decision: Decision::Outside,
            member_state: LookupState(0),
            value_state: LookupState(0),
            str_is_key: false,
            str_sink: Sink::Out,
            decode: false,
            esc: Esc::None,
            utf8_need: 0,
            utf8_lo: 0x80,
            utf8_hi: 0xBF,
            key_raw: 0,
            dec: Vec::new(),
            val_sink: Sink::Out,
            buffered: Buffered::No,
            val_raw: Vec::new(),
            replacement: Vec::new(),
            decoded: String::new(),
            base: 0,
            poisoned: false,
            summary: RewriteSummary::default(),
        }
    }

    /// A rewriter for NDJSON: documents separated by `\n`, each its own root.
    /// Blank lines are copied through; a newline inside a record is an error.
    pub fn ndjson(policy: Arc<dyn FieldPolicy>, limits: RewriteLimits) -> Self {
        let mut r = Self::new(policy, limits);
        r.ndjson = true;
        r
    }

    /// The treatment counts so far (also after an error, for the audit
    /// record of a failed request).
    pub fn summary(&self) -> &RewriteSummary {
        &self.summary
    }

    /// Rewrites the next chunk, appending what is ready to `out`. On error
    /// nothing of this chunk is appended and the rewriter is poisoned.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.poisoned {
            return Err(RewriteError::Poisoned);
        }
        let mark = out.len();
        match self.run(input, out) {
            Ok(()) => {
                self.summary.bytes_in += input.len() as u64;
                self.summary.bytes_out += (out.len() - mark) as u64;
                Ok(())
            }
            Err(e) => {
                out.truncate(mark);
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// Ends the body: errors if a document is incomplete, else gives the
    /// summary of the whole body (borrowed: clone it to keep it). The
    /// rewriter takes no input afterwards.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Res<&RewriteSummary> {
        if self.poisoned {
            return Err(RewriteError::Poisoned);
        }
        self.poisoned = true;
        let mark = out.len();
        let r = self.finish_inner(out);
        if r.is_err() {
            out.truncate(mark);
        }
        r?;
        self.summary.bytes_out += (out.len() - mark) as u64;
        Ok(&self.summary)
    }

    fn finish_inner(&mut self, out: &mut Vec<u8>) -> Res<()> {
        if let Lex::Num(n) = self.lex
            && self.frames.is_empty()
            && n.terminal()
        {
            self.lex = Lex::Between;
            self.scalar_end(out, 0)?;
        }
        let complete = self.lex == Lex::Between
            && (self.expect == Expect::End
                || (self.ndjson && self.expect == Expect::Value && !self.doc_started));
        if !complete {
            return Err(RewriteError::Incomplete { offset: self.base });
        }
        if self.expect == Expect::End {
            self.summary.documents += 1;
        }
        Ok(())
    }

    fn syntax(&self, at: usize, reason: &'static str) -> RewriteError {
        RewriteError::Syntax {
            offset: self.base + at as u64,
            reason,
        }
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if input.len() <= SMALL_CHUNK {
            self.run_windows(input, &mut [0; SMALL_CHUNK / 64], out)
        } else {
            self.run_windows(input, &mut [0; WINDOW / 64], out)
        }
    }

    /// Indexes and tokenizes `input` a window at a time, each window as
    /// many bytes as `stops` has bits.
    fn run_windows(&mut self, input: &[u8], stops: &mut [u64], out: &mut Vec<u8>) -> Res<()> {
        let window_len = stops.len() * 64;
        let mut rest = input;
        while !rest.is_empty() {
            let mut end = rest.len().min(window_len);
            // A window ends before a character's continuation bytes (up to
            // three: past them the bytes are invalid anyway, and the
            // tokenizer says so).
            for _ in 0..3 {
                if end < rest.len() && rest[end] & 0xC0 == 0x80 {
                    end -= 1;
                }
            }
            let (window, tail) = rest.split_at(end);
            let span = Utf8Span::of(window);
            // The stop bitmap is built only for the state machine: the
            // whole-body walk finds string ends as it goes. Where the walk
            // stops, the state machine goes on.
            let mut from = 0;
            if tail.is_empty() && window.len() == input.len() && self.tries_whole(window) {
                from = span
                    .whole(window)
                    .and_then(|text| self.rewrite_whole(text, out))
                    .unwrap_or(0);
            }
            if from < window.len() {
                let index = ChunkIndex::with_span(window, span, stops);
                self.run_indexed(window, index, from, out)?;
            }
            self.base += window.len() as u64;
            rest = tail;
        }
        Ok(())
    }

    /// Tokenizes `input[from..]`.
    fn run_indexed(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        from: usize,
        out: &mut Vec<u8>,
    ) -> Res<()> {
        let mut i = from;
        while i < input.len() {
            i = match self.lex {
                Lex::Between => {
                    let mut j = self.copy_through(input, index, i, out);
                    if j == i {
                        j = self.children_through(input, index, i, out)?;
                    }
                    if j > i {
                        j
                    } else {
                        self.between(input, index, i, out)?
                    }
                }
                Lex::Str => self.string(input, index, i, out)?,
                Lex::Num(_) => self.number(input, i, out)?,
                Lex::Lit { .. } => self.literal(input, i, out)?,
            };
        }
        Ok(())
    }

    /// The fast path inside a passed-through (`Pass`) or skipped (`Skip`)
    /// subtree, whose bytes are all emitted as they are, or none of them:
    /// whole tokens, validated by [`scan`], with one copy of the span at
    /// the end. It stops (returning how far it got) at the end of the
    /// chunk, before the bracket that closes the subtree, and at anything
    /// it does not accept (a token cut by the chunk's end, invalid JSON,
    /// the depth limit): the byte-level state machine takes over there, so
    /// errors and chunk boundaries are handled in one place.
    fn copy_through(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> usize {
        let ctx = match self.top_ctx() {
            Some(ctx @ (Ctx::Pass | Ctx::Skip)) => ctx,
            _ => return i,
        };
        // The subtree's own frame: not closed here.
        let floor = self
            .frames
            .iter()
            .rposition(|f| f.ctx != ctx)
            .map_or(0, |p| p + 1);
        let n = input.len();
        let mut expect = self.expect;
        let mut j = i;
        let mut stops = scan::StopCursor::new(index);
        loop {
            j = self.ws_end(input, j);
            if j == n {
                break;
            }
            let b = input[j];
            let value = matches!(expect, Expect::Value | Expect::ValueOrClose);
            let next = match b {
                b'{' | b'[' if value => {
                    if self.frames.len() >= self.limits.max_depth {
                        break;
                    }
                    let is_obj = b == b'{';
                    self.frames.push(self.new_frame(is_obj, ctx));
                    expect = if is_obj {
                        Expect::KeyOrClose
                    } else {
                        Expect::ValueOrClose
                    };
                    j + 1
                }
                b'"' if value => {
                    let Some((end, _)) = stops.string_end(input, j) else {
                        break;
                    };
                    self.after_value(input, end, &mut expect)
                }
                b'"' if matches!(expect, Expect::Key | Expect::KeyOrClose) => {
                    let Some((end, _)) = stops.string_end(input, j) else {
                        break;
                    };
                    // Most often the colon follows the name: taken with it.
                    if input.get(end) == Some(&b':') {
                        expect = Expect::Value;
                        end + 1
                    } else {
                        expect = Expect::Colon;
                        end
                    }
                }
                b'-' | b'0'..=b'9' if value => {
                    let Some(end) = scan::number_end(input, j) else {
                        break;
                    };
                    self.after_value(input, end, &mut expect)
                }
                b't' | b'f' | b'n' if value => {
                    let Some(end) = scan::literal_end(input, j) else {
                        break;
                    };
                    self.after_value(input, end, &mut expect)
                }
                b':' if expect == Expect::Colon => {
                    expect = Expect::Value;
                    j + 1
                }
                b',' if expect == Expect::CommaOrClose => {
                    expect = self.after_comma();
                    j + 1
                }
                b'}' | b']' => {
                    let is_obj = b == b'}';
                    let closes = match expect {
                        Expect::CommaOrClose => {
                            self.frames.last().is_some_and(|f| f.is_obj == is_obj)
                        }
                        Expect::KeyOrClose => is_obj,
                        Expect::ValueOrClose => !is_obj,
                        _ => false,
                    };
                    if !closes || self.frames.len() <= floor + 1 {
                        break;
                    }
                    let f = self.frames.pop();
                    debug_assert!(f.is_some_and(|f| f.names_bytes == 0 && f.names.is_none()));
                    expect = Expect::CommaOrClose;
                    j + 1
                }
                _ => break,
            };
            j = next;
        }
        self.expect = expect;
        if ctx == Ctx::Pass {
            out.extend_from_slice(&input[i..j]);
        }
        j
    }

    /// In [`copy_through`](Self::copy_through), after a scalar value that
    /// ends at `end`: what is expected next, and where it is. Most often a
    /// comma follows the value, and is taken with it.
    #[inline(always)]
    fn after_value(&self, input: &[u8], end: usize, expect: &mut Expect) -> usize {
        if input.get(end) == Some(&b',') {
            *expect = self.after_comma();
            return end + 1;
        }
        *expect = Expect::CommaOrClose;
        end
    }

    /// What follows a comma in the current container: a member's name or
    /// an element.
    #[inline(always)]
    fn after_comma(&self) -> Expect {
        if self.frames.last().is_some_and(|f| f.is_obj) {
            Expect::Key
        } else {
            Expect::Value
        }
    }

    /// Where the whitespace starting at `k` ends (an NDJSON newline ends it).
    #[inline]
    fn ws_end(&self, input: &[u8], mut k: usize) -> usize {
        if input.get(k).is_some_and(|&b| b > b' ') {
            return k;
        }
        while k < input.len() && is_ws(input[k]) && !(self.ndjson && input[k] == b'\n') {
            k += 1;
        }
        k
    }

    fn top_ctx(&self) -> Option<Ctx> {
        self.frames.last().map(|f| f.ctx)
    }

    // ---- whitespace and structure ----

    fn between(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> Res<usize> {
        let b = input[i];
        if is_ws(b) {
            if b == b'\n' && self.ndjson {
                return self.ndjson_newline(i, out);
            }
            let j = self.ws_end(input, i + 1);
            self.write_ws(&input[i..j], out);
            return Ok(j);
        }
        match self.expect {
            Expect::Value | Expect::ValueOrClose => match b {
                b'{' | b'[' => self.start_container(b == b'{', i, out)?,
                b'"' => {
                    self.start_scalar(true, out);
                    if let Some(end) = self.whole_string(input, index, i, out)? {
                        return Ok(end);
                    }
                    self.start_string(false, out, i)?;
                }
                b'-' | b'0'..=b'9' => {
                    self.start_scalar(false, out);
                    if let Some(end) = scan::number_end(input, i) {
                        self.whole_scalar(input, i, end, out)?;
                        return Ok(end);
                    }
                    self.lex = Lex::Num(Num::Start);
                    return Ok(i);
                }
                b't' | b'f' | b'n' => {
                    self.start_scalar(false, out);
                    if let Some(end) = scan::literal_end(input, i) {
                        self.whole_scalar(input, i, end, out)?;
                        return Ok(end);
                    }
                    let word: &'static [u8] = match b {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    self.lex = Lex::Lit { word, pos: 0 };
                    return Ok(i);
                }
                b']' if self.expect == Expect::ValueOrClose => self.close(false, i, out)?,
                b']' | b'}' => return Err(self.syntax(i, "expected a value (trailing comma?)")),
                _ => return Err(self.syntax(i, "expected a value")),
            },
            Expect::Key | Expect::KeyOrClose => match b {
                b'"' => {
                    if let Some(end) = self.whole_key(input, index, i, out)? {
                        return Ok(end);
                    }
                    self.start_key(i, out)?;
                }
                b'}' if self.expect == Expect::KeyOrClose => self.close(true, i, out)?,
                b'}' => return Err(self.syntax(i, "expected a member name (trailing comma?)")),
                _ => return Err(self.syntax(i, "expected a member name")),
            },
            Expect::Colon => {
                if b != b':' {
                    return Err(self.syntax(i, "expected ':'"));
                }
                self.colon(out);
            }
            Expect::CommaOrClose => {
                let is_obj = self.frames.last().is_some_and(|f| f.is_obj);
                match b {
                    b',' => {
                        match self.top_ctx() {
                            Some(Ctx::Pass) => out.push(b','),
                            Some(Ctx::Skip) => {}
                            _ => {
                                self.pending_comma = true;
                                self.pending_ws = 0;
                            }
                        }
                        self.expect = if is_obj { Expect::Key } else { Expect::Value };
                    }
                    b'}' if is_obj => self.close(true, i, out)?,
                    b']' if !is_obj => self.close(false, i, out)?,
                    _ => return Err(self.syntax(i, "expected ',' or a closing bracket")),
                }
            }
            Expect::End => return Err(self.syntax(i, "data after the end of the document")),
        }
        Ok(i + 1)
    }

    /// The `:` after a member name.
    fn colon(&mut self, out: &mut Vec<u8>) {
        match self.top_ctx() {
            Some(Ctx::Pass) => out.push(b':'),
            Some(Ctx::Skip) => {}
            _ => self.pending.push(b':'),
        }
        self.expect = Expect::Value;
    }

    fn ndjson_newline(&mut self, i: usize, out: &mut Vec<u8>) -> Res<usize> {
        match self.expect {
            Expect::End => {
                self.summary.documents += 1;
                self.expect = Expect::Value;
                self.doc_started = false;
            }
            Expect::Value if !self.doc_started => {}
            _ => return Err(self.syntax(i, "newline inside an NDJSON record")),
        }
        out.push(b'\n');
        Ok(i + 1)
    }

    fn write_ws(&mut self, ws: &[u8], out: &mut Vec<u8>) {
        if self.top_ctx() == Some(Ctx::Skip) {
            return;
        }
        if self.pending_comma || !self.pending.is_empty() {
            let room = MAX_PENDING_WS.saturating_sub(self.pending_ws).min(ws.len());
            self.pending.extend_from_slice(&ws[..room]);
            self.pending_ws += room;
            out.extend_from_slice(&ws[room..]);
        } else {
            out.extend_from_slice(ws);
        }
    }

    /// The deferred prefix belongs to a kept child: emit it.
    fn flush_pending(&mut self, out: &mut Vec<u8>) {
        if let Some(f) = self.frames.last_mut()
            && f.ctx.tracking()
        {
            if self.pending_comma && f.emitted_any {
                out.push(b',');
            }
            out.extend_from_slice(&self.pending);
            f.emitted_any = true;
        }
        self.discard_pending();
    }

    fn discard_pending(&mut self) {
        self.pending.clear();
        self.pending_comma = false;
        self.pending_ws = 0;
    }

    /// The decision for the value starting now, in a tracking context or at
    /// the root. Pushes the element's index on the path.
    fn value_decision(&mut self) -> Decision {
        match self.frames.last_mut() {
            None => {
                self.doc_started = true;
                match self.root {
                    Some((decision, state)) => {
                        self.value_state = state;
                        decision
                    }
                    None => self.policy.lookup(&[]),
                }
            }
            Some(f) if f.is_obj => {
                self.value_state = self.member_state;
                self.member_decision
            }
            Some(f) => {
                let idx = f.next_index;
                self.push_path(PathSegment::Index(idx));
                match self.child_decision(PathSegment::Index(idx)) {
                    Some(d) => {
                        self.value_state = d.state;
                        d.decision
                    }
                    None => self.path_lookup(),
                }
            }
        }
    }

    /// A frame for the container opening now.
    fn new_frame(&self, is_obj: bool, ctx: Ctx) -> Frame {
        Frame {
            is_obj,
            ctx,
            emitted_any: false,
            next_index: 0,
            state: self.value_state,
            seen_from: self.seen.mark(),
            keys: 0,
            names: None,
            names_bytes: 0,
        }
    }

    fn push_frame(&mut self, is_obj: bool, ctx: Ctx, i: usize) -> Res<()> {
        if self.frames.len() >= self.limits.max_depth {
            return Err(RewriteError::TooDeep {
                offset: self.base + i as u64,
                max_depth: self.limits.max_depth,
            });
        }
        self.frames.push(self.new_frame(is_obj, ctx));
        self.expect = if is_obj {
            Expect::KeyOrClose
        } else {
            Expect::ValueOrClose
        };
        Ok(())
    }

    fn start_container(&mut self, is_obj: bool, i: usize, out: &mut Vec<u8>) -> Res<()> {
        let open = if is_obj { b'{' } else { b'[' };
        let child = match self.top_ctx() {
            Some(Ctx::Pass) => {
                out.push(open);
                Ctx::Pass
            }
            Some(Ctx::Skip) => Ctx::Skip,
            parent => {
                let from_apply = matches!(parent, Some(Ctx::Apply(_)));
                match self.value_decision() {
                    Decision::Transform(id) if from_apply => {
                        self.flush_pending(out);
                        out.push(open);
                        Ctx::Apply(id)
                    }
                    Decision::Transform(id) => match self.policy.container(id) {
                        ContainerAction::Drop => {
                            self.summary.count(id, Treatment::ContainerDropped);
                            self.discard_pending();
                            if self.frames.is_empty() {
                                out.extend_from_slice(b"null");
                            }
                            Ctx::Skip
                        }
                        ContainerAction::Replace(json) => {
                            self.summary.count(id, Treatment::ContainerReplaced);
                            self.flush_pending(out);
                            out.extend_from_slice(json.as_bytes());
                            Ctx::Skip
                        }
                        ContainerAction::Descend => {
                            self.summary.count(id, Treatment::ContainerDescended);
                            self.flush_pending(out);
                            out.push(open);
                            Ctx::Apply(id)
                        }
                    },
                    Decision::Descend => {
                        self.flush_pending(out);
                        out.push(open);
                        Ctx::Lookup
                    }
                    Decision::Outside => {
                        self.flush_pending(out);
                        out.push(open);
                        if self.scan { Ctx::Outside } else { Ctx::Pass }
                    }
                }
            }
        };
        self.push_frame(is_obj, child, i)
    }

    fn close(&mut self, is_obj: bool, i: usize, out: &mut Vec<u8>) -> Res<()> {
        let f = self
            .frames
            .pop()
            .ok_or_else(|| self.syntax(i, "unbalanced bracket"))?;
        debug_assert_eq!(f.is_obj, is_obj);
        self.tracked_bytes -= f.names_bytes;
        self.seen.release(f.seen_from);
        if f.ctx != Ctx::Skip {
            out.push(if is_obj { b'}' } else { b']' });
        }
        self.value_end();
        Ok(())
    }

    /// A value (scalar or container) ended: back in the parent.
    fn value_end(&mut self) {
        match self.frames.last_mut() {
            Some(f) => {
                if f.ctx.tracking()
                    && let Some(PathSeg::Member { start, .. }) = self.path.pop()
                {
                    self.names.truncate(start);
                }
                f.next_index += 1;
                self.expect = Expect::CommaOrClose;
            }
            None => self.expect = Expect::End,
        }
    }

    /// The fast path for a string value (its sink already chosen by
    /// `start_scalar`) that lies whole in the chunk: one copy, or none when
    /// it is to be transformed (an escaped one is decoded in one pass), then
    /// the scalar's end. `None` (nothing done) when the string is cut by the
    /// chunk's end, invalid, or over the value limit: the state machine
    /// takes it then.
    fn whole_string(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> Res<Option<usize>> {
        let Some((end, escaped)) = scan::string_end(input, i, index) else {
            return Ok(None);
        };
        match self.val_sink {
            Sink::Out => out.extend_from_slice(&input[i..end]),
            Sink::Value => {
                let Some(text) = self.whole_text(index, i, end, escaped) else {
                    return Ok(None);
                };
                let value = Scalar::Str(Cow::Borrowed(text.as_str()));
                let r = self.scalar_done(out, end, &input[i..end], value);
                self.give_back(text);
                r?;
                return Ok(Some(end));
            }
            Sink::Pending | Sink::Discard => {}
        }
        self.scalar_done(out, end, &[], Scalar::Null)?;
        Ok(Some(end))
    }

    /// The contents of the string token `input[at..end]`, lying whole in
    /// the window, as the policy is handed them: the window's text, or,
    /// when `escaped`, decoded into the rewriter's reused buffer (to be
    /// handed back with [`give_back`](Self::give_back)). `None` for a token
    /// the state machine must take: over the value limit (it reports
    /// that), or outside the window's UTF-8 span.
    #[inline(always)]
    fn whole_text<'a>(
        &mut self,
        index: ChunkIndex<'a>,
        at: usize,
        end: usize,
        escaped: bool,
    ) -> Option<WholeText<'a>> {
        if end - at > self.limits.max_value_bytes {
            return None;
        }
        let content = index.text(at + 1, end - 1)?;
        if !escaped {
            return Some(WholeText::Window(content));
        }
        self.decode_escaped(content)
    }

    /// [`whole_text`](Self::whole_text) of an escaped string: `content`
    /// decoded into the reused buffer.
    fn decode_escaped<'a>(&mut self, content: &str) -> Option<WholeText<'a>> {
        let mut buf = std::mem::take(&mut self.decoded);
        buf.clear();
        if scan::unescape_into(content, &mut buf).is_none() {
            self.decoded = buf;
            return None;
        }
        Some(WholeText::Decoded(buf))
    }

    /// Keeps a decoded value's buffer for the next one.
    fn give_back(&mut self, text: WholeText<'_>) {
        if let WholeText::Decoded(buf) = text {
            self.decoded = buf;
        }
    }

    /// A number or literal that lies whole in the chunk.
    fn whole_scalar(&mut self, input: &[u8], i: usize, end: usize, out: &mut Vec<u8>) -> Res<()> {
        let raw = &input[i..end];
        match self.val_sink {
            Sink::Out => out.extend_from_slice(raw),
            Sink::Value => {
                self.check_value_len(raw.len(), end)?;
                let value = self.raw_scalar(raw, end)?;
                return self.scalar_done(out, end, raw, value);
            }
            Sink::Pending | Sink::Discard => {}
        }
        self.scalar_done(out, end, &[], Scalar::Null)
    }

    /// The fast path for a member name that lies whole in the chunk, as
    /// [`whole_string`](Self::whole_string) for values.
    fn whole_key(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> Res<Option<usize>> {
        let Some((end, escaped)) = scan::string_end(input, i, index) else {
            return Ok(None);
        };
        let (sink, decode) = self.key_sink();
        let name = if decode {
            if escaped || end - i > self.limits.max_key_bytes {
                return Ok(None);
            }
            let Some(name) = index.text(i + 1, end - 1) else {
                return Ok(None);
            };
            Some(name)
        } else {
            None
        };
        match sink {
            Sink::Out => out.extend_from_slice(&input[i..end]),
            Sink::Pending => self.pending.extend_from_slice(&input[i..end]),
            Sink::Value | Sink::Discard => {}
        }
        self.expect = Expect::Colon;
        if let Some(name) = name {
            self.member_named(name, end)?;
        }
        // The colon, when it follows at once (compact JSON), without a trip
        // through the dispatch.
        if input.get(end) == Some(&b':') {
            self.colon(out);
            return Ok(Some(end + 1));
        }
        Ok(Some(end))
    }

    /// Where a member name's bytes go, and whether it is decoded.
    fn key_sink(&self) -> (Sink, bool) {
        match self.top_ctx().unwrap_or(Ctx::Pass) {
            Ctx::Pass => (Sink::Out, false),
            Ctx::Skip => (Sink::Discard, false),
            _ => (Sink::Pending, true),
        }
    }

    // ---- member names ----

    fn start_key(&mut self, i: usize, out: &mut Vec<u8>) -> Res<()> {
        self.str_is_key = true;
        self.esc = Esc::None;
        self.lex = Lex::Str;
        self.dec.clear();
        self.key_raw = 0;
        (self.str_sink, self.decode) = self.key_sink();
        self.str_write(b"\"", out, i)
    }

    fn key_end(&mut self, i: usize) -> Res<()> {
        self.expect = Expect::Colon;
        if !self.decode {
            return Ok(());
        }
        let dec = std::mem::take(&mut self.dec);
        let r = match std::str::from_utf8(&dec) {
            Ok(name) => self.member_named(name, i),
            Err(_) => Err(self.syntax(i, "invalid UTF-8")),
        };
        self.dec = dec;
        r
    }

    /// A member name in a tracking context: onto the path, and the decision
    /// for its value.
    fn member_named(&mut self, name: &str, i: usize) -> Res<()> {
        let decided = self.child_decision(PathSegment::Member(name));
        self.enter_member(name, i, decided)
    }

    /// The decision for the child `seg` of the current container, in a
    /// tracking context: the policy's, one step from the container's state,
    /// in a `Lookup` container; the context's own in the others. `None` in a
    /// `Lookup` container of a policy that decides on whole paths (see
    /// [`enter_member`](Self::enter_member)).
    #[inline(always)]
    fn child_decision(&mut self, seg: PathSegment<'_>) -> Option<Decided> {
        let f = self.frames.last()?;
        let by_context = |decision| Decided {
            decision,
            state: LookupState(0),
            key: None,
        };
        Some(match (f.ctx, seg) {
            (Ctx::Lookup, _) if self.root.is_none() => return None,
            (Ctx::Lookup, PathSegment::Member(name)) => {
                let (parent, index) = (f.state, f.next_index);
                if let Some(decided) = self.member_memo.remembered(parent, index, name) {
                    return Some(decided);
                }
                let (decision, state, key) = self.policy.lookup_member(parent, name);
                let decided = Decided {
                    decision,
                    state,
                    key,
                };
                self.member_memo.remember(parent, index, name, decided);
                decided
            }
            (Ctx::Lookup, seg) => {
                let (decision, state) = self.policy.lookup_child(f.state, seg);
                Decided {
                    decision,
                    state,
                    key: None,
                }
            }
            (Ctx::Apply(id), _) => by_context(Decision::Transform(id)),
            _ => by_context(Decision::Outside),
        })
    }

    /// The member `name` (whose name ends at `i`) onto the path, with the
    /// decision for its value (`decided`, or, if `None`, the policy's on the
    /// whole path), and into the duplicate check if it is classified.
    fn enter_member(&mut self, name: &str, i: usize, decided: Option<Decided>) -> Res<()> {
        self.push_path(PathSegment::Member(name));
        let mut key = None;
        self.member_decision = match decided {
            Some(d) => {
                self.member_state = d.state;
                key = d.key;
                d.decision
            }
            None => self.path_lookup(),
        };
        if self.top_ctx() == Some(Ctx::Lookup)
            && matches!(self.member_decision, Decision::Transform(_))
        {
            self.track_classified(name, key, i)?;
        }
        Ok(())
    }

    /// `seg` onto the path (a member's name copied into `names`).
    fn push_path(&mut self, seg: PathSegment<'_>) {
        self.path.push(match seg {
            PathSegment::Member(name) => {
                let start = self.names.len();
                self.names.push_str(name);
                PathSeg::Member {
                    start,
                    end: self.names.len(),
                }
            }
            PathSegment::Index(index) => PathSeg::Index(index),
        });
    }

    /// Remembers the classified member name `name` (ending at `i`) of the
    /// current object; an error if the object already had it.
    fn track_classified(&mut self, name: &str, key: Option<MemberKey>, i: usize) -> Res<()> {
        let offset = self.base + i as u64;
        let limit = self.limits.max_tracked_name_bytes;
        let len = name.len();
        let f = self
            .frames
            .last_mut()
            .expect("a member is inside an object");
        // A name the policy has a small key for: one bit, nothing copied.
        if let Some(MemberKey(k @ 0..64)) = key {
            let bit = 1 << k;
            if f.keys & bit != 0 {
                return Err(RewriteError::DuplicateMember { offset });
            }
            f.keys |= bit;
            return Ok(());
        }
        if !self.seen.insert(f.seen_from, &mut f.names, name) {
            return Err(RewriteError::DuplicateMember { offset });
        }
        if self.tracked_bytes + len > limit {
            return Err(RewriteError::TooManyClassifiedMembers { offset, limit });
        }
        self.tracked_bytes += len;
        f.names_bytes += len;
        Ok(())
    }

    /// The policy's decision on the whole current path (a policy that does
    /// not look up step by step).
    fn path_lookup(&mut self) -> Decision {
        let buf = std::mem::take(&mut self.seg_buf);
        let segs = self.segments(buf);
        let decision = self.policy.lookup(&segs);
        self.seg_buf = recycle(segs);
        decision
    }

    /// The current path as the policy sees it, built in `buf`'s
    /// allocation (see [`recycle`]).
    fn segments(&self, buf: Vec<PathSegment<'static>>) -> Vec<PathSegment<'_>> {
        let mut segs = recycle(buf);
        segs.extend(FieldPath::new(&self.path, &self.names, None).segments());
        segs
    }

    // ---- scalars ----

    /// Decides where the scalar starting now goes.
    fn start_scalar(&mut self, is_str: bool, out: &mut Vec<u8>) {
        self.val_raw.clear();
        self.buffered = Buffered::No;
        match self.top_ctx() {
            Some(Ctx::Pass) => self.val_sink = Sink::Out,
            Some(Ctx::Skip) => self.val_sink = Sink::Discard,
            _ => match self.value_decision() {
                Decision::Transform(id) => {
                    self.buffered = Buffered::Transform(id);
                    self.val_sink = Sink::Value;
                }
                Decision::Descend | Decision::Outside if is_str && self.scan => {
                    self.buffered = Buffered::Unclassified;
                    self.val_sink = Sink::Value;
                }
                Decision::Descend | Decision::Outside => {
                    self.flush_pending(out);
                    self.val_sink = Sink::Out;
                }
            },
        }
    }

    /// A buffered scalar of `len` bytes so far, at `i`: within the limit?
    fn check_value_len(&self, len: usize, i: usize) -> Res<()> {
        if len > self.limits.max_value_bytes {
            return Err(RewriteError::ValueTooLarge {
                offset: self.base + i as u64,
                limit: self.limits.max_value_bytes,
            });
        }
        Ok(())
    }

    /// A number or literal's value, from its JSON text (validated as it was
    /// scanned), ending at `at`.
    fn raw_scalar<'r>(&self, raw: &'r [u8], at: usize) -> Res<Scalar<'r>> {
        Ok(match raw.first() {
            Some(b't') => Scalar::Bool(true),
            Some(b'f') => Scalar::Bool(false),
            Some(b'n') => Scalar::Null,
            _ => Scalar::Number(
                std::str::from_utf8(raw).map_err(|_| self.syntax(at, "invalid UTF-8"))?,
            ),
        })
    }

    #[inline]
    fn val_write(&mut self, bytes: &[u8], out: &mut Vec<u8>, i: usize) -> Res<()> {
        match self.val_sink {
            Sink::Out => out.extend_from_slice(bytes),
            Sink::Value => {
                self.check_value_len(self.val_raw.len() + bytes.len(), i)?;
                self.val_raw.extend_from_slice(bytes);
            }
            Sink::Pending | Sink::Discard => {}
        }
        Ok(())
    }

    #[inline]
    fn str_write(&mut self, bytes: &[u8], out: &mut Vec<u8>, i: usize) -> Res<()> {
        match self.str_sink {
            Sink::Pending => {
                self.key_raw += bytes.len();
                if self.key_raw > self.limits.max_key_bytes {
                    return Err(RewriteError::KeyTooLarge {
                        offset: self.base + i as u64,
                        limit: self.limits.max_key_bytes,
                    });
                }
                self.pending.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Out => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Discard => Ok(()),
            Sink::Value => self.val_write(bytes, out, i),
        }
    }

    /// A scalar read by the state machine ended (the lexer is already back
    /// between tokens): its buffered bytes go to [`scalar_done`](Self::scalar_done).
    fn scalar_end(&mut self, out: &mut Vec<u8>, at: usize) -> Res<()> {
        if self.buffered == Buffered::No {
            return self.scalar_done(out, at, &[], Scalar::Null);
        }
        let raw = std::mem::take(&mut self.val_raw);
        let dec = std::mem::take(&mut self.dec);
        let r = match raw.first() {
            // The decoded contents; the raw bytes were validated as they
            // were scanned.
            Some(b'"') => match std::str::from_utf8(&dec) {
                Ok(text) => self.scalar_done(out, at, &raw, Scalar::Str(Cow::Borrowed(text))),
                Err(_) => Err(self.syntax(at, "invalid UTF-8")),
            },
            _ => self
                .raw_scalar(&raw, at)
                .and_then(|value| self.scalar_done(out, at, &raw, value)),
        };
        self.val_raw = raw;
        self.dec = dec;
        r
    }

    /// A scalar ended at `at`: `raw` is its JSON text and `value` what it
    /// holds, when it was buffered (else they are not looked at). The
    /// policy's answer is emitted, and the parent goes on.
    fn scalar_done(
        &mut self,
        out: &mut Vec<u8>,
        at: usize,
        raw: &[u8],
        value: Scalar<'_>,
    ) -> Res<()> {
        let buffered = std::mem::replace(&mut self.buffered, Buffered::No);
        match self.treat(buffered, at, value, None)? {
            None => {}
            Some(Replacement::Keep) => {
                self.flush_pending(out);
                out.extend_from_slice(raw);
            }
            Some(Replacement::Json) => {
                self.flush_pending(out);
                out.extend_from_slice(&self.replacement);
            }
            Some(Replacement::Drop) => {
                self.discard_pending();
                if self.frames.is_empty() {
                    out.extend_from_slice(b"null");
                }
            }
        }
        self.value_end();
        Ok(())
    }

    /// The policy's answer for a scalar buffered as `buffered` (`None` if
    /// it was not), ending at `at`, whose path is the current one (and
    /// `leaf`, if the value's own segment is not on it); a
    /// [`Replacement::Json`] is in `self.replacement`. Counted in the
    /// summary.
    #[inline(always)]
    fn treat(
        &mut self,
        buffered: Buffered,
        at: usize,
        value: Scalar<'_>,
        leaf: Option<PathSegment<'_>>,
    ) -> Res<Option<Replacement>> {
        let policy_error = |source| RewriteError::Policy {
            offset: self.base + at as u64,
            source,
        };
        let path = FieldPath::new(&self.path, &self.names, leaf);
        self.replacement.clear();
        // Room for a typical replacement from the first one on.
        self.replacement.reserve(64);
        Ok(match buffered {
            Buffered::No => None,
            Buffered::Transform(id) => {
                let r = self
                    .policy
                    .transform(id, path, value, &mut self.replacement)
                    .map_err(policy_error)?;
                self.summary.count(id, Treatment::of(r));
                Some(r)
            }
            Buffered::Unclassified => {
                let Scalar::Str(text) = &value else {
                    unreachable!("only strings are scanned")
                };
                let found = self.summary.found();
                let r = self
                    .policy
                    .unclassified(path, text, &mut self.replacement, found)
                    .map_err(policy_error)?;
                self.summary.count_unclassified(r);
                Some(r)
            }
        })
    }

    // ---- strings ----

    fn start_string(&mut self, is_key: bool, out: &mut Vec<u8>, i: usize) -> Res<()> {
        self.str_is_key = is_key;
        self.str_sink = self.val_sink;
        self.decode = self.val_sink == Sink::Value;
        self.dec.clear();
        self.esc = Esc::None;
        self.lex = Lex::Str;
        self.str_write(b"\"", out, i)
    }

    fn utf8_step(&mut self, b: u8, i: usize) -> Res<()> {
        if self.utf8_need > 0 {
            if b < self.utf8_lo || b > self.utf8_hi {
                return Err(self.syntax(i, "invalid UTF-8"));
            }
            self.utf8_need -= 1;
            self.utf8_lo = 0x80;
            self.utf8_hi = 0xBF;
            return Ok(());
        }
        let (need, lo, hi) = match b {
            0x00..=0x7F => (0, 0x80, 0xBF),
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => return Err(self.syntax(i, "invalid UTF-8")),
        };
        self.utf8_need = need;
        self.utf8_lo = lo;
        self.utf8_hi = hi;
        Ok(())
    }

    fn string(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        mut i: usize,
        out: &mut Vec<u8>,
    ) -> Res<usize> {
        while i < input.len() {
            match self.esc {
                Esc::None => {
                    // Finish a multi-byte character split across chunks.
                    while self.utf8_need > 0 && i < input.len() {
                        let b = input[i];
                        self.utf8_step(b, i)?;
                        self.str_write(&input[i..i + 1], out, i)?;
                        if self.decode {
                            self.dec.push(b);
                        }
                        i += 1;
                    }
                    if i == input.len() {
                        break;
                    }
                    let rest = &input[i..];
                    let end = index.next_stop(i).map_or(rest.len(), |stop| stop - i);
                    let run = &rest[..end];
                    if !run.is_empty() {
                        if index.valid(input, i, i + end) {
                        } else if let Err(e) = std::str::from_utf8(run) {
                            if e.error_len().is_some() {
                                return Err(self.syntax(i + e.valid_up_to(), "invalid UTF-8"));
                            }
                            for (k, &b) in run[e.valid_up_to()..].iter().enumerate() {
                                self.utf8_step(b, i + e.valid_up_to() + k)?;
                            }
                        }
                        self.str_write(run, out, i)?;
                        if self.decode {
                            self.dec.extend_from_slice(run);
                        }
                        i += end;
                    }
                    if i < input.len() {
                        if self.utf8_need > 0 {
                            return Err(self.syntax(i, "invalid UTF-8"));
                        }
                        let b = input[i];
                        if b < 0x20 {
                            return Err(self.syntax(i, "control character in a string"));
                        }
                        self.str_write(&input[i..i + 1], out, i)?;
                        i += 1;
                        if b == b'"' {
                            self.lex = Lex::Between;
                            if self.str_is_key {
                                self.key_end(i)?;
                            } else {
                                self.scalar_end(out, i)?;
                            }
                            return Ok(i);
                        }
                        self.esc = Esc::Backslash;
                    }
                }
                Esc::Backslash => {
                    let b = input[i];
                    let c = match b {
                        b'"' | b'\\' | b'/' => Some(b),
                        b'b' => Some(0x08),
                        b'f' => Some(0x0C),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(self.syntax(i, "invalid escape")),
                    };
                    self.str_write(&input[i..i + 1], out, i)?;
                    i += 1;
                    match c {
                        Some(c) => {
                            if self.decode {
                                self.dec.push(c);
                            }
                            self.esc = Esc::None;
                        }
                        None => {
                            self.esc = Esc::Hex {
                                n: 0,
                                acc: 0,
                                high: None,
                            }
                        }
                    }
                }
                Esc::Hex { n, acc, high } => {
                    let b = input[i];
                    let d = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        _ => return Err(self.syntax(i, "invalid \\u escape")),
                    };
                    self.str_write(&input[i..i + 1], out, i)?;
                    i += 1;
                    let acc = (acc << 4) | u16::from(d);
                    if n < 3 {
                        self.esc = Esc::Hex {
                            n: n + 1,
                            acc,
                            high,
                        };
                        continue;
                    }
                    let ch = match (high, acc) {
                        (Some(h), 0xDC00..=0xDFFF) => {
                            let c = 0x10000
                                + ((u32::from(h) - 0xD800) << 10)
                                + (u32::from(acc) - 0xDC00);
                            char::from_u32(c)
                        }
                        (Some(_), _) => {
                            return Err(self.syntax(i - 1, "unpaired surrogate in \\u escape"));
                        }
                        (None, 0xD800..=0xDBFF) => {
                            self.esc = Esc::LowBackslash(acc);
                            continue;
                        }
                        (None, 0xDC00..=0xDFFF) => {
                            return Err(self.syntax(i - 1, "unpaired surrogate in \\u escape"));
                        }
                        (None, _) => char::from_u32(u32::from(acc)),
                    };
                    let ch = ch.ok_or_else(|| self.syntax(i - 1, "invalid \\u escape"))?;
                    if self.decode {
                        let mut buf = [0u8; 4];
                        self.dec
                            .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    self.esc = Esc::None;
                }
                Esc::LowBackslash(h) => {
                    if input[i] != b'\\' {
                        return Err(self.syntax(i, "unpaired surrogate in \\u escape"));
                    }
                    self.str_write(&input[i..i + 1], out, i)?;
                    i += 1;
                    self.esc = Esc::LowU(h);
                }
                Esc::LowU(h) => {
                    if input[i] != b'u' {
                        return Err(self.syntax(i, "unpaired surrogate in \\u escape"));
                    }
                    self.str_write(&input[i..i + 1], out, i)?;
                    i += 1;
                    self.esc = Esc::Hex {
                        n: 0,
                        acc: 0,
                        high: Some(h),
                    };
                }
            }
        }
        Ok(i)
    }

    // ---- numbers and literals ----

    fn number(&mut self, input: &[u8], i: usize, out: &mut Vec<u8>) -> Res<usize> {
        let Lex::Num(mut st) = self.lex else {
            unreachable!("number() outside a number")
        };
        let start = i;
        let mut j = i;
        while j < input.len() {
            let b = input[j];
            let next = match (st, b) {
                (Num::Start, b'-') => Num::Minus,
                (Num::Start | Num::Minus, b'0') => Num::Zero,
                (Num::Start | Num::Minus, b'1'..=b'9') => Num::Int,
                (Num::Int, b'0'..=b'9') => {
                    // Fast path over a run of digits.
                    j += 1;
                    while j < input.len() && input[j].is_ascii_digit() {
                        j += 1;
                    }
                    continue;
                }
                (Num::Zero | Num::Int, b'.') => Num::Dot,
                (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::E,
                (Num::E, b'+' | b'-') => Num::ESign,
                (Num::E | Num::ESign | Num::Exp, b'0'..=b'9') => Num::Exp,
                (s, _) if s.terminal() => {
                    self.val_write(&input[start..j], out, j)?;
                    self.lex = Lex::Between;
                    self.scalar_end(out, j)?;
                    return Ok(j);
                }
                _ => return Err(self.syntax(j, "invalid number")),
            };
            st = next;
            j += 1;
        }
        self.val_write(&input[start..j], out, j)?;
        self.lex = Lex::Num(st);
        Ok(j)
    }

    fn literal(&mut self, input: &[u8], i: usize, out: &mut Vec<u8>) -> Res<usize> {
        let Lex::Lit { word, mut pos } = self.lex else {
            unreachable!("literal() outside a literal")
        };
        let start = i;
        let mut j = i;
        while j < input.len() && (pos as usize) < word.len() {
            if input[j] != word[pos as usize] {
                return Err(self.syntax(j, "invalid literal"));
            }
            pos += 1;
            j += 1;
        }
        self.val_write(&input[start..j], out, j)?;
        if pos as usize == word.len() {
            self.lex = Lex::Between;
            self.scalar_end(out, j)?;
        } else {
            self.lex = Lex::Lit { word, pos };
        }
        Ok(j)
    }
}

/// An empty vector with `v`'s allocation, for segments borrowing something
/// else (the element types differ only by lifetime, so `collect` reuses the
/// allocation in place).
fn recycle<'b>(mut v: Vec<PathSegment<'_>>) -> Vec<PathSegment<'b>> {
    v.clear();
    v.into_iter().map(|_| PathSegment::Index(0)).collect()
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}
