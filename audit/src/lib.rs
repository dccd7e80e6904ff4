//! The record of every access: tamper-evident, durable, verifiable.
//!
//! This crate will own the versioned audit record schema, the SHA-256 hash
//! chain and Ed25519-signed checkpoints, the group-commit writer that makes a
//! record durable before its response is released, rotation, and the
//! auditors' verifier and query engine. It will not know how requests are
//! served: the gateway fills the records.
//!
//! Nothing is implemented yet; see the audit issue.
