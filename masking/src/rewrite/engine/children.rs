//! The fast path for the children of a tracking container (`Lookup`,
//! `Outside`, `Apply`): a member or element whose scalar value lies whole
//! in the chunk, with its separator and name.
//!
//! Through the state machine, such a child costs a trip per token: the
//! comma held as a flag, the name and colon copied into the pending buffer
//! and pushed on the path, the value dispatched, and only then the prefix
//! emitted or dropped. When the whole child is in the chunk, its fate is
//! known before anything is emitted: a kept child is written with one copy
//! of its span of the chunk (prefix and value), a transformed one as its
//! prefix and the replacement, a dropped one not at all. The child's own
//! segment is handed to the policy beside the path, never pushed on it.
//!
//! A child whose value opens an object or array the policy descends into
//! is handed to the whole-body walk (`engine::whole`), which takes it whole
//! or hands back where it stopped in it; one passed through unscanned is
//! entered here, and a closing bracket leaves it, so one call goes through
//! a whole tree of tracking containers.
//!
//! Like the other fast paths it accepts a subset of what the state machine
//! accepts and gives the same bytes: a child it does not take whole (a
//! selected container, a token cut by the window's end, a value over the
//! limit, anything invalid, a long run of whitespace) is handed over after
//! its prefix, in the state the state machine would be in at the value, or
//! before it, untouched.

use std::borrow::Cow;

use super::{Buffered, Ctx, Expect, MAX_PENDING_WS, Res, Rewriter};
use crate::rewrite::policy::{Decision, PathSegment, Replacement, Scalar};
use crate::rewrite::scan::{self, ChunkIndex};

/// Where a child's separator is: whether it has a comma, and whether that
/// comma is in the window (at `head`; the prefix after it starts at
/// `start`) or was taken by the state machine before.
#[derive(Clone, Copy)]
struct Separator {
    comma: bool,
    in_window: bool,
    head: usize,
    start: usize,
}

/// The start of a child: its member name (with the offset past its closing
/// quote) for an object's, and where its value starts.
struct Prefix<'a> {
    name: Option<(&'a str, usize)>,
    value_at: usize,
    /// Whitespace bytes in the prefix (held back as the state machine holds
    /// them, up to [`MAX_PENDING_WS`]).
    ws: usize,
}

impl Rewriter {
    /// Takes the whole children of the current tracking container from `i`
    /// on, and returns how far it got (`i` if it took nothing).
    pub(super) fn children_through(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> Res<usize> {
        if !self.pending.is_empty() {
            return Ok(i);
        }
        let mut j = i;
        // `input[run..j]` is output not yet written: kept children and the
        // whitespace and commas between them are copied as one span.
        let mut run = i;
        while let Some(is_obj) = self.tracking_container() {
            // Whitespace before a comma, or before the first child, is not
            // held back (nothing is pending): it is output as it is.
            let (comma_at, start) = match self.expect {
                Expect::CommaOrClose | Expect::KeyOrClose | Expect::ValueOrClose => {
                    j = self.ws_end(input, j);
                    match input.get(j) {
                        Some(b',') if self.expect == Expect::CommaOrClose => (Some(j), j + 1),
                        Some(&b @ (b'}' | b']')) if (b == b'}') == is_obj => {
                            out.extend_from_slice(&input[run..j]);
                            self.close(is_obj, j, out)?;
                            j += 1;
                            run = j;
                            continue;
                        }
                        _ if self.expect != Expect::CommaOrClose => (None, j),
                        _ => break,
                    }
                }
                // After a comma the state machine took.
                Expect::Key | Expect::Value => (None, j),
                _ => break,
            };
            let comma = comma_at.is_some() || self.pending_comma;
            // Where this child's output starts in the chunk: its comma, if
            // that is in the chunk.
            let head = comma_at.unwrap_or(start);
            let Some(prefix) = self.child_prefix(input, index, start, is_obj) else {
                break;
            };
            let sep = Separator {
                comma,
                in_window: comma_at.is_some(),
                head,
                start,
            };
            if let Some(at) = self.open_child(input, index, &prefix, sep, &mut run, out) {
                j = at;
                continue;
            }
            let Some((end, replacement)) = self.whole_child(input, index, &prefix)? else {
                // The state machine's state at the value.
                out.extend_from_slice(&input[run..head]);
                self.pending_comma = comma;
                self.pending
                    .extend_from_slice(&input[start..prefix.value_at]);
                self.pending_ws = prefix.ws;
                if let Some((name, name_end)) = prefix.name {
                    let decided = self.child_decision(PathSegment::Member(name));
                    self.enter_member(name, name_end, decided)?;
                }
                self.expect = Expect::Value;
                j = prefix.value_at;
                run = j;
                match input[j] {
                    b @ (b'{' | b'[') => {
                        self.start_container(b == b'{', j, out)?;
                        j += 1;
                        run = j;
                        continue;
                    }
                    // A scalar cut by the chunk's end, or invalid.
                    _ => break,
                }
            };
            if replacement == Replacement::Drop {
                out.extend_from_slice(&input[run..head]);
                run = end;
            } else {
                self.keep_separator(input, sep, &mut run, out);
                if replacement == Replacement::Json {
                    out.extend_from_slice(&input[run..prefix.value_at]);
                    out.extend_from_slice(&self.replacement);
                    run = end;
                }
            }
            let f = self
                .frames
                .last_mut()
                .expect("a child is inside a container");
            f.next_index += 1;
            self.pending_comma = false;
            self.expect = Expect::CommaOrClose;
            j = end;
        }
        out.extend_from_slice(&input[run..j]);
        Ok(j)
    }

    /// A kept child's separator: its comma is output only if an earlier
    /// child of the container was. `input[*run..]` is output not yet
    /// written; afterwards the child's prefix continues it.
    #[inline(always)]
    fn keep_separator(&mut self, input: &[u8], sep: Separator, run: &mut usize, out: &mut Vec<u8>) {
        let f = self
            .frames
            .last_mut()
            .expect("a child is inside a container");
        if sep.comma && !f.emitted_any {
            // Nothing before it was kept: no comma.
            out.extend_from_slice(&input[*run..sep.head]);
            *run = sep.start;
        } else if sep.comma && !sep.in_window {
            out.extend_from_slice(&input[*run..sep.start]);
            out.push(b',');
            *run = sep.start;
        }
        f.emitted_any = true;
    }

    /// A child whose value is an object or array that the policy descends
    /// into, or leaves alone: handed to the whole-body walk, or else opened
    /// here (the frame pushed as `start_container` would). The offset where
    /// the state machine goes on: past the container or where the walk
    /// stopped in it, or past its bracket. `None`, with nothing done, for
    /// one selected (its action decides) or past the depth limit: the state
    /// machine takes those.
    fn open_child(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        prefix: &Prefix<'_>,
        sep: Separator,
        run: &mut usize,
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        let at = prefix.value_at;
        let is_obj = match input[at] {
            b'{' => true,
            b'[' => false,
            _ => return None,
        };
        if self.frames.len() >= self.limits.max_depth {
            return None;
        }
        let next_index = self.frames.last()?.next_index;
        let seg = match prefix.name {
            Some((name, _)) => PathSegment::Member(name),
            None => PathSegment::Index(next_index),
        };
        let decided = self.child_decision(seg)?;
        let ctx = match decided.decision {
            Decision::Descend => Ctx::Lookup,
            Decision::Outside if self.scan => Ctx::Outside,
            Decision::Outside => Ctx::Pass,
            Decision::Transform(_) => return None,
        };
        self.keep_separator(input, sep, run, out);
        self.push_path(seg);
        self.pending_comma = false;
        if ctx != Ctx::Pass {
            out.extend_from_slice(&input[*run..at]);
            *run = at;
            if let Some(resume_at) = self.rewrite_subtree(index, at, (ctx, decided.state), out) {
                *run = resume_at;
                return Some(resume_at);
            }
        }
        self.value_state = decided.state;
        self.frames.push(self.new_frame(is_obj, ctx));
        self.expect = if is_obj {
            Expect::KeyOrClose
        } else {
            Expect::ValueOrClose
        };
        Some(at + 1)
    }

    /// Whether the current container is one this fast path takes (a
    /// tracking container whose policy looks up step by step), and if so
    /// whether it is an object.
    fn tracking_container(&self) -> Option<bool> {
        let f = self.frames.last()?;
        match f.ctx {
            Ctx::Lookup if self.root.is_some() => Some(f.is_obj),
            Ctx::Outside | Ctx::Apply(_) => Some(f.is_obj),
            _ => None,
        }
    }

    /// The prefix of the child starting at `start` (after its comma, if
    /// any): whitespace, and for a member its name, whitespace, the colon
    /// and whitespace. `None` if it is not whole in the chunk, not valid, an
    /// escaped or over-long name, or holds more whitespace than is held
    /// back: the state machine takes those.
    fn child_prefix<'a>(
        &self,
        input: &[u8],
        index: ChunkIndex<'a>,
        start: usize,
        is_obj: bool,
    ) -> Option<Prefix<'a>> {
        let mut k = self.ws_end(input, start);
        let mut ws = k - start;
        let name = if is_obj {
            if input.get(k) != Some(&b'"') {
                return None;
            }
            let (end, escaped) = scan::string_end(input, k, index)?;
            if escaped || end - k > self.limits.max_key_bytes {
                return None;
            }
            let name = index.text(k + 1, end - 1)?;
            let colon = self.ws_end(input, end);
            if input.get(colon) != Some(&b':') {
                return None;
            }
            k = self.ws_end(input, colon + 1);
            ws += (colon - end) + (k - colon - 1);
            Some((name, end))
        } else {
            None
        };
        // An element's prefix is only taken before a value (not before the
        // closing bracket of an empty array).
        let starts_value = matches!(
            input.get(k),
            Some(b'"' | b'{' | b'[' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
        );
        ((is_obj || starts_value) && k < input.len() && ws <= MAX_PENDING_WS).then_some(Prefix {
            name,
            value_at: k,
            ws,
        })
    }

    /// The fate of a child whose scalar value lies whole in the chunk,
    /// and the offset past it: kept as it is, replaced by
    /// `self.replacement`, or dropped. `None`, with nothing done, for a
    /// child the state machine must take from its value on.
    fn whole_child(
        &mut self,
        input: &[u8],
        index: ChunkIndex<'_>,
        prefix: &Prefix<'_>,
    ) -> Res<Option<(usize, Replacement)>> {
        let at = prefix.value_at;
        let (end, is_str, escaped) = match input[at] {
            b'"' => match scan::string_end(input, at, index) {
                Some((end, escaped)) => (end, true, escaped),
                None => return Ok(None),
            },
            b'-' | b'0'..=b'9' => match scan::number_end(input, at) {
                Some(end) => (end, false, false),
                None => return Ok(None),
            },
            b't' | b'f' | b'n' => match scan::literal_end(input, at) {
                Some(end) => (end, false, false),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let f = self.frames.last().expect("a child is inside a container");
        let seg = match prefix.name {
            Some((name, _)) => PathSegment::Member(name),
            None => PathSegment::Index(f.next_index),
        };
        let decided = self.child_decision(seg);
        let decision = decided.map_or(Decision::Outside, |d| d.decision);
        let buffered = match decision {
            Decision::Transform(id) => Buffered::Transform(id),
            _ if is_str && self.scan => Buffered::Unclassified,
            _ => Buffered::No,
        };
        let raw = &input[at..end];
        let replacement = if buffered == Buffered::No {
            Replacement::Keep
        } else {
            let text = match is_str {
                true => match self.whole_text(index, at, end, escaped) {
                    Some(text) => Some(text),
                    None => return Ok(None),
                },
                false => None,
            };
            if let (Some((name, name_end)), Buffered::Transform(_)) = (prefix.name, buffered)
                && self.top_ctx() == Some(Ctx::Lookup)
            {
                self.track_classified(name, decided.and_then(|d| d.key), name_end)?;
            }
            let value = match &text {
                Some(text) => Scalar::Str(Cow::Borrowed(text.as_str())),
                None => {
                    self.check_value_len(raw.len(), end)?;
                    self.raw_scalar(raw, end)?
                }
            };
            let r = self.treat(buffered, end, value, Some(seg));
            if let Some(text) = text {
                self.give_back(text);
            }
            let r = r?;
            r.unwrap_or(Replacement::Keep)
        };
        Ok(Some((end, replacement)))
    }
}
