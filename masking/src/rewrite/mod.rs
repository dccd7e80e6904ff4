//! The streaming JSON rewriter: applies a [`FieldPolicy`] to a JSON (or
//! NDJSON) body as its chunks arrive.
//!
//! # What it owns
//! Tokenizing and validating the body (RFC 8259, strictly), tracking the path
//! of the current value, asking the policy what to do at each member or
//! element, and emitting the rewritten body: untouched bytes are copied
//! through exactly, escapes and whitespace included. It does not know about
//! selectors, classes, actions or keys: the policy (the compiled plan) does.
//!
//! # Why hand-written
//! `serde_json` parses whole values (a `Deserializer` over a partial body
//! blocks or fails, and re-serializing loses the original bytes). Event
//! parsers such as `actson` (push-based) or `struson` (pull-based, over
//! `io::Read`) hand out events and whole unescaped strings, not byte spans:
//! neither copies whitespace and escapes through byte-identically, nor lets
//! a consumer defer a comma until it knows whether the next member survives.
//! The rewriter needs all of that at once, so it has its own small scanner.
//!
//! # How it works
//! A byte-level state machine (`Lex`: between tokens, in a string, in a
//! number, in a literal) with a stack of open containers. Each container has
//! a context: `Lookup` (ask the policy per child), `Apply(id)` (every leaf
//! gets the field's transform), `Outside` (unclassified, strings scanned),
//! `Pass` (unclassified, copied through) or `Skip` (inside a dropped or
//! replaced container: validated, not emitted).
//!
//! A chunk is taken 16 KiB at a time (a window), each window first indexed
//! in one pass (`scan::ChunkIndex`): its UTF-8 is checked whole with
//! `simdutf8`, and a bitmap (on the stack) marks the bytes that end plain
//! string content (`"`, `\`, control characters). Finding a string's end
//! is then a bit scan, its runs need no UTF-8 check of their own, and a
//! member name or value lying whole in the window is handed to the policy
//! as a `&str` slice of it, without a copy. (A body rewritten whole, below,
//! needs only the UTF-8 check: it finds its few string ends sixteen bytes
//! at a time, and the bitmap is built only if it gives the body back.)
//!
//! Fast paths sit on top of the state machine:
//! - a body whose first chunk holds all of it (up to one window; the
//!   gateway hands a small response over as it came) is rewritten by
//!   recursive descent (`engine::whole`), written lazily as spans of the
//!   chunk cut only where a child is replaced or dropped;
//! - in a `Lookup`, `Outside` or `Apply` container (`engine::children`),
//!   a whole child (separator, name, colon, scalar value) is decided before
//!   anything is emitted: kept children, and the whitespace and commas
//!   between them, are copied as one span of the window; a transformed
//!   child is its prefix and the replacement; a dropped child nothing. A
//!   child that opens an object or array (a record, most often) is handed
//!   to the same recursive descent, over the rest of the window;
//! - the recursive descent hands back where it stops (the window's end,
//!   anything it does not take) at the last whole child of each container
//!   it is in: they become the state machine's frames, and only the child
//!   it stopped in is taken twice;
//! - inside a `Pass` or `Skip` subtree, whole runs of tokens are validated
//!   and copied with one copy per window;
//! - elsewhere a token that lies whole in the window is validated and
//!   copied (or buffered) in one go.
//!
//! They only ever accept valid tokens: a token cut by the window's or the
//! chunk's end, or anything invalid, goes to the state machine, which
//! resumes it or reports the error, so output and errors do not depend on
//! which path ran (the chunking property tests hold them to that).
//!
//! A policy that can ([`FieldPolicy::lookup_root`], e.g. a compiled plan)
//! is asked step by step: each container frame keeps the policy's
//! [`LookupState`], and a child's decision is one
//! [`FieldPolicy::lookup_child`] (or [`FieldPolicy::lookup_member`]) from
//! its parent's state, not a walk of the whole path. The answers for member
//! names are remembered by the object's state and the member's position
//! (`engine::memo`): records that repeat their members in order are
//! answered by a comparison of the name's words. A member the policy knows
//! by a small [`MemberKey`] is checked for duplicates by one bit.
//!
//! In a context where children may be dropped, the separator before a child
//! is deferred: the comma is held as a flag, and what follows it (whitespace,
//! the member name, the colon) in a small buffer, until the child's fate is
//! known. A kept child emits the comma only if an earlier child of the same
//! container was emitted; a dropped child discards the whole prefix. So
//! dropping the first, a middle, the last or every member leaves valid JSON.
//! Whitespace after a deferred comma is held up to 4 KiB; beyond that it is
//! emitted at once, ahead of the comma (still valid, and chunk-independent).
//!
//! Transforms append their replacement to one buffer the rewriter reuses
//! ([`FieldPolicy::transform`]'s `out`), and the path is handed over as a
//! [`FieldPath`] whose segments are only made if the policy asks: a
//! `redact` or `mask` allocates nothing.
//!
//! # What is buffered, and the memory bound
//! - a member name, where a decision depends on it (`max_key_bytes`);
//! - a scalar the policy transforms, or an unclassified string the policy
//!   scans (`max_value_bytes`); an unclassified string that is not scanned,
//!   and everything under `Pass`, streams through unbuffered;
//! - one frame per open container (`max_depth`) and the current path;
//! - the stop bitmap of the window being tokenized (one bit per byte, 2 KiB
//!   on the stack);
//! - classified member names of the open objects, for the duplicate check
//!   (`max_tracked_name_bytes`);
//! - 64 remembered member-name answers (about 3 KiB, made after the first
//!   32 members).
//!
//! Nothing grows with the size of the body.
//!
//! # Fail closed
//! Invalid JSON (trailing commas, bad escapes and lone surrogates, leading
//! zeros, control characters or invalid UTF-8 in strings, unbalanced
//! brackets, trailing data, an incomplete body at `finish`), nesting beyond
//! the limit, an over-long value or name, a duplicate classified member name,
//! or a policy error: each is a [`RewriteError`], the chunk that caused it
//! emits nothing, and the rewriter refuses any further input. The caller
//! must then abort the response, never end it as if complete. Errors carry a
//! byte offset, never a value or member name.

mod engine;
mod error;
mod policy;
mod scan;
mod summary;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use engine::{RewriteLimits, Rewriter};
pub use error::RewriteError;
pub use policy::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, LookupState, MemberKey,
    Replacement, TransformError,
};
#[cfg(test)]
use policy::{PathSegment, Scalar};
pub use summary::{Found, RewriteSummary, Treatment};
