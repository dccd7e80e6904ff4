//! Errors. None of them ever holds a token, a password, a key or a secret
//! value: only paths, mounts, roles, status codes and Vault's own error
//! messages (which name what failed, not the secret).

use std::path::PathBuf;

use crate::transit::KeyPurpose;

/// Why a Vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    // --- the local setup is wrong
    /// The settings are not usable (bad address, empty mount, ...).
    #[error("invalid Vault settings: {reason}")]
    Settings {
        /// What is wrong.
        reason: String,
    },
    /// A local file (token, role id, secret id, JWT, CA bundle) could not be
    /// read.
    #[error("cannot read the {what} file {path}: {source}")]
    File {
        /// What the file should hold, e.g. `token`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    // --- Vault could not be reached or answered wrongly
    /// Vault could not be reached (connection refused, timeout, TLS).
    #[error("Vault at {address} is unreachable: {reason}")]
    Unreachable {
        /// The address tried.
        address: String,
        /// What failed (no secret in it).
        reason: String,
    },
    /// Vault refused the request (403): the token lacks the capability, or
    /// the login credentials are wrong.
    #[error("Vault denied {operation}: {}", errors.join("; "))]
    Denied {
        /// What was attempted, e.g. `read secret/data/app/db`.
        operation: String,
        /// Vault's error messages.
        errors: Vec<String>,
    },
    /// Vault answered with another error status.
    #[error("Vault failed {operation} (HTTP {status}): {}", errors.join("; "))]
    Api {
        /// What was attempted.
        operation: String,
        /// The HTTP status.
        status: u16,
        /// Vault's error messages.
        errors: Vec<String>,
    },
    /// Vault's answer could not be understood.
    #[error("unexpected answer from Vault to {operation}: {reason}")]
    Response {
        /// What was attempted.
        operation: String,
        /// What was wrong with it (never the body itself).
        reason: String,
    },
    /// Two gateway instances kept changing the transit key registry at the
    /// same time and this one gave up for now (it retries later).
    #[error("the key registry {path} changed concurrently too often")]
    Conflict {
        /// The registry's KV path.
        path: String,
    },

    // --- this client
    /// The client was started with [`Vault::start_on`](crate::Vault::start_on)
    /// and has not logged in yet (it keeps trying).
    #[error("not logged in to Vault yet: {reason}")]
    LoginPending {
        /// Why the last login attempt failed.
        reason: String,
    },
    /// [`Vault::shutdown`](crate::Vault::shutdown) was called.
    #[error("the Vault client is shut down")]
    Shutdown,
}

impl SecretsError {
    /// Whether the error means Vault refused this token (403), so a fresh
    /// login may help.
    pub fn is_denied(&self) -> bool {
        matches!(self, SecretsError::Denied { .. })
    }

    /// Whether Vault could not be reached at all (as opposed to answering
    /// with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, SecretsError::Unreachable { .. })
    }
}

/// Why a watched value cannot be served now: said in words, with no secret in
/// it, e.g. "database credential database/app-ro expired at ... and Vault is
/// unreachable: ...". The gateway answers 503 with it (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    /// An unavailability with its reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
        }
    }

    /// The reason, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Why a data key could not be had from a [`TransitKeyring`](crate::TransitKeyring).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyUnavailable {
    /// No key with this id is known (not in the registry, or not unwrapped
    /// yet).
    #[error("no {purpose} key with id `{id}`")]
    NotFound {
        /// What the key was wanted for.
        purpose: KeyPurpose,
        /// The id asked for.
        id: String,
    },
    /// The keyring has no active key for this purpose yet.
    #[error("no active {purpose} key: {reason}")]
    NoActiveKey {
        /// What the key was wanted for.
        purpose: KeyPurpose,
        /// Why (e.g. the last error talking to Vault).
        reason: String,
    },
    /// The key exists but belongs to another purpose.
    #[error("key `{id}` is a {actual} key, not a {wanted} key")]
    WrongPurpose {
        /// The id asked for.
        id: String,
        /// The purpose asked for.
        wanted: KeyPurpose,
        /// The key's own purpose.
        actual: KeyPurpose,
    },
}
