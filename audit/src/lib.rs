//! The record of every access: tamper-evident, durable, verifiable.
//!
//! This crate owns the versioned access-record schema ([`Record`]), the
//! line format and its SHA-256 hash chain with Ed25519-signed checkpoints
//! (documented in `docs/audit.md`), the group-commit [`Writer`] that makes
//! a record durable before its response is released (with rotation and
//! fail-closed buffering), the keys ([`SigningKey`], [`PublicKey`],
//! [`IdentifierHasher`] for HMAC'd identifiers), and the auditors' tools:
//! the verifier ([`verify_paths`]), the query engine ([`read_records`],
//! [`Filter`]) and the HTML report ([`render_report`]).
//!
//! It does not know how requests are served: the gateway fills the
//! records, and hands key bytes in (from a file, or later a secrets
//! provider).
//!
//! # The line format
//!
//! One JSON object per line; every line starts
//! `{"seq":N,"prev":"<sha-256 hex of the previous line>","t":"<kind>"`, kinds
//! `open` (first line of a file), `rec` (a record), `gap` (records lost to
//! an outage), `ckpt` (a checkpoint, whose last member `sig` is an Ed25519
//! signature over `maskgate-audit-checkpoint-v1\n` + the line up to
//! `,"sig":"`). A clean log ends with a checkpoint with `"final":true`.

mod error;
mod keys;
mod line;
mod query;
mod record;
mod report;
mod verify;
mod writer;

pub use error::AuditError;
pub use keys::{
    HMAC_PREFIX, IdentifierHasher, PublicKey, SigningKey, load_or_create_hmac_key,
    load_or_create_signing_key, parse_hmac_key, public_key_path,
};
pub use query::{Filter, Format, Located, parse_time, read_records, write_records};
pub use record::{
    Decision, FOUND_IN_TEXT, FieldTreatment, Outcome, Principal, Record, SCHEMA_VERSION,
    Unclassified, format_time,
};
pub use report::render as render_report;
pub use verify::{Options, Problem, Report, expand, verify_files, verify_paths, verify_paths_with};
pub use writer::{Commit, CommitError, Writer, WriterConfig, Written, valid_instance_id};
