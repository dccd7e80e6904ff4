//! The seam between the rewriter and whatever decides what happens to a field.
//!
//! The rewriter knows nothing about selectors, classes or actions: it asks a
//! [`FieldPolicy`] at each member or element, and the policy answers with a
//! [`Decision`]. The compiled plan implements this trait.

use std::any::Any;
use std::fmt;

use super::summary::Found;

/// An opaque handle the policy gives to a selected field (a compiled
/// selector × action). The rewriter hands it back on `transform` and counts
/// treatments per id for the audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(pub u32);

pub(crate) use crate::selector::PathSegment;

/// What the policy says about the value at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The value is selected: a scalar goes through
    /// [`FieldPolicy::transform`], a container through
    /// [`FieldPolicy::container`].
    Transform(FieldId),
    /// Not selected, but a selector may match below: keep asking for the
    /// children.
    Descend,
    /// No selector can match here nor below: the rewriter stops asking for
    /// this subtree (its strings still get [`FieldPolicy::unclassified`] when
    /// the policy scans unclassified values).
    Outside,
}

/// Where a step-by-step lookup stands ([`FieldPolicy::lookup_root`],
/// [`FieldPolicy::lookup_child`]): a value the policy gives for a path and
/// gets back for each child of it. Opaque to the rewriter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LookupState(pub u32);

/// A number that stands for a member name in a policy's lookups (see
/// [`FieldPolicy::lookup_member`]): equal names have equal keys, different
/// names different keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKey(pub u32);

/// What to do with a container (object or array) selected by
/// [`Decision::Transform`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerAction {
    /// Remove the member or element (at the root: the document becomes
    /// `null`).
    Drop,
    /// Replace the whole container with this JSON text (e.g. `null` or
    /// `"[REDACTED]"`). The policy must give valid JSON.
    Replace(String),
    /// Keep the container and apply the same field id to every scalar leaf
    /// inside it, however deep.
    Descend,
}

pub(crate) use crate::action::Scalar;

/// What the policy returns for a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Emit the value exactly as it came (its raw bytes, escapes included).
    Keep,
    /// Emit, in its place, the JSON text the policy appended to the `out`
    /// buffer it was handed (the rewriter's, reused from value to value, so
    /// a transform need not allocate). The policy must give valid JSON.
    Json,
    /// Remove the member or element (at the root: the document becomes
    /// `null`).
    Drop,
}

/// The path of the value being transformed, as the rewriter tracks it:
/// segments are only made when a policy asks for them.
#[derive(Clone, Copy)]
pub struct FieldPath<'a> {
    /// The path down to where `inner` starts: the state machine's path to
    /// a subtree the whole-body walk takes from a streamed chunk (empty
    /// otherwise).
    pub(super) outer: PathSegs<'a>,
    pub(super) inner: PathSegs<'a>,
    /// The last segment, when it is not on the rewriter's path.
    pub(super) leaf: Option<PathSegment<'a>>,
}

/// Consecutive segments of a path, with the text their names are spans of.
#[derive(Clone, Copy, Default)]
pub(super) struct PathSegs<'a> {
    pub(super) segs: &'a [PathSeg],
    pub(super) names: &'a str,
}

impl<'a> PathSegs<'a> {
    /// The segments, with their names.
    pub(super) fn iter(self) -> impl Iterator<Item = PathSegment<'a>> {
        let names = self.names;
        self.segs.iter().map(move |s| match *s {
            PathSeg::Member { start, end } => PathSegment::Member(&names[start..end]),
            PathSeg::Index(i) => PathSegment::Index(i),
        })
    }
}

/// One step of a [`FieldPath`]: a member name (a span of the rewriter's
/// name buffer) or an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PathSeg {
    Member { start: usize, end: usize },
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// The path `segs` (names spans of `names`), then `leaf` if any.
    pub(super) fn new(segs: &'a [PathSeg], names: &'a str, leaf: Option<PathSegment<'a>>) -> Self {
        Self::below(PathSegs::default(), segs, names, leaf)
    }

    /// The path `outer`, then `segs` (names spans of `names`), then `leaf`
    /// if any.
    pub(super) fn below(
        outer: PathSegs<'a>,
        segs: &'a [PathSeg],
        names: &'a str,
        leaf: Option<PathSegment<'a>>,
    ) -> Self {
        Self {
            outer,
            inner: PathSegs { segs, names },
            leaf,
        }
    }

    /// The segments from the root (the root itself is the empty path).
    pub fn segments(&self) -> impl ExactSizeIterator<Item = PathSegment<'a>> + use<'a> {
        let len = self.outer.segs.len() + self.inner.segs.len() + usize::from(self.leaf.is_some());
        let segments = self.outer.iter().chain(self.inner.iter()).chain(self.leaf);
        ExactLen {
            inner: segments,
            len,
        }
    }

    /// The segments, collected.
    pub fn to_vec(&self) -> Vec<PathSegment<'a>> {
        self.segments().collect()
    }
}

/// An iterator whose length is known (a chain is not `ExactSizeIterator`).
struct ExactLen<I> {
    inner: I,
    len: usize,
}

impl<I: Iterator> Iterator for ExactLen<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.len -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<I: Iterator> ExactSizeIterator for ExactLen<I> {}

impl fmt::Debug for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.segments()).finish()
    }
}

/// The compiled plan as the rewriter sees it.
///
/// Implementations must be deterministic: the same path gives the same
/// decision, or the rewriter's duplicate-member check means nothing.
///
/// `Any`, so that the rewriter can tell the crate's own compiled plan
/// ([`crate::BoundPlan`]) from other policies: a small body is walked with
/// the plan's methods called directly, inlined into the walk.
pub trait FieldPolicy: Send + Sync + Any {
    /// Decides at a member or element whose path is `path` (segments from
    /// the root; the root itself is the empty path).
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision;

    /// Step-by-step lookup: the decision at the root and the state its
    /// children are looked up from, or `None` (the default) if this policy
    /// only decides on whole paths. When `Some`, the rewriter calls
    /// [`lookup_child`](Self::lookup_child) instead of
    /// [`lookup`](Self::lookup), which must give the same decisions.
    fn lookup_root(&self) -> Option<(Decision, LookupState)> {
        None
    }

    /// The decision at the child `child` of a value whose state is
    /// `parent`, and the child's state: the same decision as
    /// [`lookup`](Self::lookup) on the child's whole path. Only called when
    /// [`lookup_root`](Self::lookup_root) gave `Some`.
    ///
    /// # Panics
    /// The default panics: a policy whose `lookup_root` answers must
    /// implement this too.
    fn lookup_child(&self, parent: LookupState, child: PathSegment<'_>) -> (Decision, LookupState) {
        let _ = (parent, child);
        panic!("FieldPolicy::lookup_root answered but lookup_child is not implemented")
    }

    /// [`lookup_child`](Self::lookup_child) for the member `name`, with a
    /// [`MemberKey`] for the name if the policy has one (e.g. the index of a
    /// name its selectors spell out): the rewriter then checks a classified
    /// member for duplicates by its key rather than by its name. Equal names
    /// must get equal keys and different names different keys. The default
    /// gives none. Only called when [`lookup_root`](Self::lookup_root) gave
    /// `Some`.
    fn lookup_member(
        &self,
        parent: LookupState,
        name: &str,
    ) -> (Decision, LookupState, Option<MemberKey>) {
        let (decision, state) = self.lookup_child(parent, PathSegment::Member(name));
        (decision, state, None)
    }

    /// Transforms a scalar selected by `Transform(id)` (or a leaf of a
    /// container whose action is [`ContainerAction::Descend`]). A
    /// [`Replacement::Json`] answer has appended its JSON text (UTF-8) to
    /// `out`, which may be the rewriter's output itself (bytes, so that a
    /// replacement is written once); on any other answer, or an error,
    /// whatever was appended is taken back.
    fn transform(
        &self,
        id: FieldId,
        path: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError>;

    /// The JSON text [`transform`](Self::transform) puts in place of every
    /// scalar of field `id`, if it does not depend on the value (a
    /// `redact`): the rewriter may then write it without a transform. The
    /// default says none does.
    fn constant(&self, id: FieldId) -> Option<&str> {
        let _ = id;
        None
    }

    /// What to do with a container selected by `Transform(id)`.
    fn container(&self, id: FieldId) -> ContainerAction;

    /// Whether string values that no selector classified are handed to
    /// [`FieldPolicy::unclassified`] (the product's default is `detect` or
    /// `deny`). When `false` they stream through unbuffered. Asked once, when
    /// the rewriter is built.
    fn scans_unclassified(&self) -> bool {
        false
    }

    /// The product's default for an unclassified string value, answered
    /// as [`transform`](Self::transform) answers (the default keeps it),
    /// with the class of each value found in it noted in `found` (for the
    /// summary). Only called when [`FieldPolicy::scans_unclassified`] is
    /// `true`; the string is buffered (up to the value limit) to be
    /// scanned.
    fn unclassified(
        &self,
        path: FieldPath<'_>,
        value: &str,
        out: &mut Vec<u8>,
        found: &mut Found,
    ) -> Result<Replacement, TransformError> {
        let _ = (path, value, out, found);
        Ok(Replacement::Keep)
    }
}

/// A policy failed to transform a value (a key could not be had, a
/// parameter does not fit the value, ...).
///
/// Its `Display` is the policy's own message and must not contain the value;
/// the rewriter never puts it in its own `Display` (it is the `source`).
pub struct TransformError {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl TransformError {
    /// Wraps an error from the policy.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self { inner: err.into() }
    }
}

impl fmt::Debug for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TransformError").field(&self.inner).finish()
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for TransformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}
