//! How to reach and log in to Vault / OpenBao.
//!
//! The configuration crate has its own serde types; the gateway translates
//! them into these.

use std::{path::PathBuf, time::Duration};

use url::Url;

/// Where Vault is, how to trust it, how to log in, and the timings of the
/// background work.
///
/// Build with [`VaultSettings::new`], then set the public fields that differ
/// from the defaults.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VaultSettings {
    /// Base address, e.g. `https://vault.internal:8200` (no `/v1`).
    pub address: Url,
    /// PEM bundle of the CA certificates that Vault's TLS certificate must
    /// chain to, instead of the system's roots. Only for `https` addresses.
    pub ca_file: Option<PathBuf>,
    /// Vault Enterprise / OpenBao namespace (`X-Vault-Namespace`), if any.
    pub namespace: Option<String>,
    /// How the gateway logs in.
    pub auth: Auth,
    /// Timeout of one request to Vault (default 10 s).
    pub request_timeout: Duration,
    /// How often KV secrets and the transit key registry are checked for a
    /// new version (default 30 s).
    pub poll_interval: Duration,
    /// How long a KV secret keeps being served after the last time Vault
    /// confirmed it, while Vault is unreachable (KV values have no lease;
    /// default 1 h). After that it is unavailable (fail closed).
    pub kv_max_stale: Duration,
    /// First delay between retries after a failure (default 1 s); doubles
    /// up to [`retry_max`](Self::retry_max), with jitter.
    pub retry_min: Duration,
    /// Longest delay between retries (default 60 s).
    pub retry_max: Duration,
}

impl VaultSettings {
    /// Settings with the defaults for everything but the address and login.
    pub fn new(address: Url, auth: Auth) -> Self {
        VaultSettings {
            address,
            ca_file: None,
            namespace: None,
            auth,
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(30),
            kv_max_stale: Duration::from_secs(3600),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
        }
    }
}

/// How the gateway logs in to Vault. Every file is read again at each login,
/// so a token, secret id or JWT replaced on disk is picked up.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Auth {
    /// A token read from a file (e.g. written by Vault Agent). Renewed while
    /// renewable; when it can no longer be renewed, the file is read again.
    Token {
        /// File holding the token (surrounding whitespace is ignored).
        file: PathBuf,
    },
    /// AppRole: role id and secret id, each from a file.
    AppRole {
        /// Mount path of the AppRole auth method (usually `approle`).
        mount: String,
        /// File holding the role id.
        role_id_file: PathBuf,
        /// File holding the secret id.
        secret_id_file: PathBuf,
    },
    /// JWT auth: a signed JWT from a file (e.g. a projected service-account
    /// token) exchanged for a Vault token under `role`.
    Jwt {
        /// Mount path of the JWT auth method (usually `jwt`).
        mount: String,
        /// The JWT auth role to log in as.
        role: String,
        /// File holding the JWT.
        jwt_file: PathBuf,
    },
}

impl Auth {
    /// The method's name, for messages: `token`, `approle` or `jwt`.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Token { .. } => "token",
            Auth::AppRole { .. } => "approle",
            Auth::Jwt { .. } => "jwt",
        }
    }
}

/// Where a transit-backed keyring keeps its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransitKeyringSettings {
    /// Mount path of the Transit engine (usually `transit`).
    pub mount: String,
    /// The transit key that wraps the data keys.
    pub key: String,
    /// Mount path of the KV v2 engine holding the registry (e.g. `secret`).
    pub registry_mount: String,
    /// Path of the registry secret in that engine (e.g.
    /// `maskgate/keyring`). Every gateway instance sharing data must use the
    /// same one.
    pub registry_path: String,
}

impl TransitKeyringSettings {
    /// Settings for a keyring under `mount`/`key`, with its registry at
    /// `registry_mount`/`registry_path`.
    pub fn new(
        mount: impl Into<String>,
        key: impl Into<String>,
        registry_mount: impl Into<String>,
        registry_path: impl Into<String>,
    ) -> Self {
        TransitKeyringSettings {
            mount: mount.into(),
            key: key.into(),
            registry_mount: registry_mount.into(),
            registry_path: registry_path.into(),
        }
    }
}
