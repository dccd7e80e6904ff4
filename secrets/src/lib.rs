//! Where credentials and keys come from: HashiCorp Vault / OpenBao.
//!
//! This crate owns the Vault client (vaultrs, plus a few direct calls where
//! vaultrs does not fit OpenBao), the gateway's own login (token file,
//! AppRole, JWT) and its renewal, and everything fetched with it, kept fresh
//! in the background and read from memory on the request path:
//!
//! - [`Vault::kv_secret`]: a KV v2 secret, picked up again when its version
//!   changes (upstream API keys, bearer tokens, the gateway's own API keys and
//!   signing keys);
//! - [`Vault::database_credential`]: a dynamic database credential whose
//!   lease is renewed, replaced before its max TTL and revoked at shutdown;
//! - [`Vault::pki_certificate`]: a short-lived client certificate for mTLS to
//!   an upstream, re-issued before it expires;
//! - [`Vault::transit_keyring`]: data keys for masking from the Transit
//!   engine's `datakey` endpoint, shared between instances through a KV
//!   registry.
//!
//! Every value is a [`Watched`]: `current()` is an atomic load that fails
//! closed ([`Unavailable`], with the reason in words) once the value's lease
//! ended without renewal. Background work retries with backoff and jitter.
//! Nothing secret is logged, put in an error, or shown by `Debug`.
//!
//! It does not know about HTTP requests, products or configuration files:
//! the gateway translates its configuration into [`VaultSettings`] and
//! injects what it gets into upstream requests.
//!
//! With the `testing` feature, [`testing`] starts a real OpenBao dev server
//! and a throwaway PostgreSQL for integration tests.

mod client;
mod database;
mod error;
mod kv;
mod pki;
mod secret;
mod settings;
mod template;
mod time;
mod transit;
mod watched;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{Health, MetricsSnapshot, Vault};
pub use database::DbCredential;
pub use error::{KeyUnavailable, SecretsError, Unavailable};
pub use kv::KvSecret;
pub use pki::ClientCertificate;
pub use secret::SecretString;
pub use settings::{Auth, TransitKeyringSettings, VaultSettings};
pub use template::{Template, TemplateError};
pub use transit::{DATA_KEY_LEN, DataKeyMaterial, KeyPurpose, TransitKeyring};
pub use watched::{ValueMetrics, Watched};

/// Installs ring as rustls' process-wide default crypto provider, unless one
/// is installed already. [`Vault::connect`] calls it; a binary that builds
/// other rustls configurations from the default provider may call it first.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
