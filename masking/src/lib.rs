//! What a caller may see: the field-level protection of JSON bodies.
//!
//! This crate will own selectors (a streamable subset of RFC 9535 JSONPath),
//! the actions (`pass`, `redact`, `drop`, `mask`, `hash`, `tokenize`,
//! `encrypt`, `generalize`, `detect`), the PII detectors, the compilation of
//! classification × policy into a plan, the streaming JSON rewriter, and field
//! cryptography behind a key-provider trait. It will not fetch keys itself:
//! key providers are supplied by the caller (a local keyring, or Vault via
//! the `secrets` crate, wired together by the gateway).
//!
//! Nothing is implemented yet; see the masking issue.

mod rewrite;

pub use rewrite::{
    ContainerAction, Decision, FieldId, FieldPolicy, Outcome, PathSegment, Replacement,
    RewriteError, RewriteLimits, RewriteSummary, Rewriter, Scalar, TransformError,
};
