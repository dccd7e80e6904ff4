//! What a caller may see: the field-level protection of JSON bodies.
//!
//! This crate owns selectors (a streamable subset of RFC 9535 JSONPath,
//! [`Selector`], [`SelectorSet`]), the actions ([`Action`]: pass, redact,
//! drop, mask, hash, tokenize, encrypt, generalize, reveal), the PII
//! detectors ([`DetectorSet`]), field cryptography behind a key-provider
//! trait ([`KeyProvider`], with a local keyring), and the streaming JSON
//! rewriter ([`Rewriter`]) that applies a [`FieldPolicy`] to a body as its
//! chunks arrive, in bounded memory, failing closed; and the compilation of
//! a product's [`Classification`] × the [`Policy`] into a [`Plan`], the
//! `FieldPolicy` the gateway gives the rewriter. It does not fetch keys itself: key providers are
//! supplied by the caller (a local keyring, or Vault via the `secrets`
//! crate, wired together by the gateway).

mod action;
mod detect;
mod keys;
mod plan;
mod rewrite;
mod selector;
mod words;

pub use action::{
    Action, ActionError, Alphabet, ApplyContext, Date, ENVELOPE_PREFIX, Envelope, Generalize, Hash,
    HashScope, JsonSink, Mask, MaskPreset, Outcome, Reveal, Scalar, Tokenize, json_string,
    write_json_string,
};
pub use detect::{
    BUILTIN_DETECTED_CLASSES, CardDetector, DetectError, Detector, DetectorSet, EmailDetector,
    Finding, IbanDetector, Ipv4Detector, Ipv6Detector, PhoneDetector, REGEX_SIZE_LIMIT,
    RegexDetector, SsnDetector, TextProfile, Validator,
};
pub use keys::{DataKey, KEY_LEN, KeyError, KeyId, KeyProvider, KeyPurpose, LocalKeyring};
pub use plan::{
    ANY_CLASS, BoundPlan, Classification, ClassifiedField, Plan, PlanError, PlannedField, Policy,
    Rule, Stored, Unclassified, WritePlan,
};
pub use rewrite::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, Found, LookupState, MemberKey,
    Replacement, RewriteError, RewriteLimits, RewriteSummary, Rewriter, TransformError, Treatment,
};
pub use selector::{
    Lookup, MAX_SEGMENTS, MatchState, PathSegment, Selector, SelectorError, SelectorErrorKind,
    SelectorSet, Transition, normalized_path, write_normalized_path,
};
