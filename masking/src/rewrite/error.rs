//! Why a rewrite stopped.

use super::policy::TransformError;

/// Why the rewriter refused the body. After any of these the rewriter is
/// poisoned: `feed` and `finish` return [`RewriteError::Poisoned`].
///
/// `Display` names the byte offset in the whole stream (from 0) and never a
/// value or a member name from the body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    // --- the body is not acceptable JSON ---
    /// The bytes are not JSON as RFC 8259 defines it (bad token, bad escape,
    /// control character or invalid UTF-8 in a string, trailing comma,
    /// unbalanced bracket, trailing data, a newline inside an NDJSON record,
    /// a lone surrogate in a `\u` escape, ...).
    #[error("invalid JSON at byte {offset}: {reason}")]
    Syntax {
        /// Offset of the offending byte in the stream.
        offset: u64,
        /// What was wrong, in words that never quote the body.
        reason: &'static str,
    },
    /// The body ended in the middle of a document (or held none).
    #[error("JSON body ended early at byte {offset}")]
    Incomplete {
        /// Length of the stream.
        offset: u64,
    },
    /// A container opened deeper than the configured maximum.
    #[error("JSON nesting deeper than {max_depth} at byte {offset}")]
    TooDeep {
        /// Offset of the opening bracket.
        offset: u64,
        /// The configured maximum depth.
        max_depth: usize,
    },
    /// A value that had to be buffered (to transform or to scan it) is
    /// larger than the configured maximum.
    #[error("a value to transform exceeds {limit} bytes at byte {offset}")]
    ValueTooLarge {
        /// Offset where the limit was crossed.
        offset: u64,
        /// The configured maximum.
        limit: usize,
    },
    /// A member name (buffered to decide on the member) is larger than the
    /// configured maximum.
    #[error("a member name exceeds {limit} bytes at byte {offset}")]
    KeyTooLarge {
        /// Offset where the limit was crossed.
        offset: u64,
        /// The configured maximum.
        limit: usize,
    },
    /// An object holds the same classified member name twice: consumers'
    /// parsers disagree on which one wins, so the body is refused.
    #[error("duplicate classified member name at byte {offset}")]
    DuplicateMember {
        /// Offset just past the second occurrence of the name.
        offset: u64,
    },
    /// The classified member names remembered for the duplicate check grew
    /// beyond the configured maximum.
    #[error("more than {limit} bytes of classified member names at byte {offset}")]
    TooManyClassifiedMembers {
        /// Offset where the limit was crossed.
        offset: u64,
        /// The configured maximum.
        limit: usize,
    },

    // --- the policy failed ---
    /// The policy could not transform a value; the cause is the `source`.
    #[error("the masking policy failed on the value at byte {offset}")]
    Policy {
        /// Offset just past the value.
        offset: u64,
        /// The policy's error (never shown in this `Display`).
        #[source]
        source: TransformError,
    },

    // --- the caller misused the rewriter ---
    /// The rewriter already failed or finished and takes no more input.
    #[error("the rewriter already failed or finished")]
    Poisoned,
}
