//! What can go wrong in the audit crate.

use std::path::PathBuf;

/// An audit failure. Never carries a record's content, a key or an
/// identifier's clear value: only paths, positions and fixed texts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    // -- the local system --
    /// A file could not be created, opened, written or synced.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
    /// The writer has stopped (shut down, or its thread ended).
    #[error("the audit writer has stopped")]
    Stopped,
    /// The sink cannot write (disk full, permission lost); the record is
    /// kept for a retry, but it is not durable yet.
    #[error("the audit log cannot be written at the moment")]
    Unavailable,
    /// The sink was unavailable for so long that its buffer overflowed:
    /// this record is lost (a gap record will say how many were).
    #[error("the audit log was unavailable and its buffer is full: record lost")]
    Lost,

    /// A record line of a log is not a valid record.
    #[error("{}:{line}: not a valid audit record", file.display())]
    Record {
        /// The file.
        file: PathBuf,
        /// The 1-based line.
        line: usize,
    },

    // -- the operator's input --
    /// A key file is not what it should be.
    #[error("{path}: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never the key).
        message: String,
    },
    /// Key bytes are not a valid key.
    #[error("invalid {0} key")]
    InvalidKey(&'static str),
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            what,
            source,
        }
    }
}
