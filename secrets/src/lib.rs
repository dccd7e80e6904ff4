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
//!
//! ```no_run
//! use std::time::Duration;
//! use maskgate_secrets::{Auth, KeyPurpose, Template, TransitKeyringSettings, Vault, VaultSettings};
//!
//! # async fn gateway() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Auth::AppRole {
//!     mount: "approle".into(),
//!     role_id_file: "/run/secrets/role-id".into(),
//!     secret_id_file: "/run/secrets/secret-id".into(),
//! };
//! // On the main runtime (or `Vault::start` to not wait for the login).
//! let vault = Vault::connect(VaultSettings::new("https://vault.internal:8200".parse()?, auth)).await?;
//!
//! // When the configuration is loaded: what each product needs.
//! let api_token = vault.kv_secret("secret", "app/customers-api");
//! let bearer = Template::parse("Bearer {{token}}")?;
//! let db = vault.database_credential("database", "app-ro");
//! let cert = vault.pki_certificate("pki", "gw-client", "maskgate.gateway.internal", Duration::from_secs(3600));
//! let keys = vault.transit_keyring(TransitKeyringSettings::new(
//!     "transit", "maskgate", "secret", "maskgate/keyring",
//! ));
//!
//! // On each request: memory only, and fail closed.
//! match api_token.current() {
//!     Ok(secret) => {
//!         let header = secret.render(&bearer)?; // Authorization: Bearer ...
//!         # let _ = header;
//!     }
//!     Err(why) => {
//!         // 503, with `why` as the reason (no secret in it).
//!         # let _ = why;
//!     }
//! }
//! let key = keys.key(KeyPurpose::Encrypt, None)?; // the active data key
//! # let _ = (db, cert, key);
//!
//! // At shutdown: revoke the database leases and the login token.
//! vault.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # For the gateway
//!
//! - **Runtime.** Every request to Vault and every background task runs on
//!   the runtime given to [`Vault::connect_on`] / [`Vault::start_on`]: the
//!   main multi-thread runtime, not a per-worker one. Reading values is
//!   synchronous and may happen on any thread.
//! - **Upstream credentials.** A `[product.credentials]` is a
//!   [`Vault::kv_secret`] or [`Vault::database_credential`] plus a
//!   [`Template`] per header (`basic` = two templates, then base64 of
//!   `user:password`). [`Watched::current`] on each request; its
//!   [`Unavailable`] is the 503's reason. The lease id
//!   ([`DbCredential::lease_id`]) can go into the audit record.
//! - **Client certificates.** [`ClientCertResolver`] in the upstream's
//!   rustls `ClientConfig` (`with_client_cert_resolver`) presents the newest
//!   certificate at every new handshake; or [`ClientCertificate::cert_chain`]
//!   and [`ClientCertificate::private_key`] feed `with_client_auth_cert`, and
//!   [`Watched::subscribe`] (a new [`Watched::generation`]) says when to
//!   build a new pool with the new certificate.
//! - **Masking keys.** A `KeyProvider` adapter maps
//!   `KeyProvider::key(purpose, id)` to [`TransitKeyring::key`] (ids are
//!   valid `KeyId`s: `t<version>-<8 hex>`) and caches the `DataKey` it makes
//!   per id, so the bytes are copied once.
//! - **API keys and signing keys from KV.** A `{ mount, path, field }`
//!   reference is [`Vault::kv_secret`]`(mount, path)` and
//!   [`KvSecret::field`]`(field)`; rebuild what uses it when
//!   [`Watched::subscribe`] fires.
//! - **Metrics.** [`Vault::metrics`]: per value, seconds of lease left,
//!   failed renewals and availability; the token's; the last request's
//!   latency.
//! - **Logs.** Nothing here logs a secret. vaultrs and rustify log each
//!   failed request at `ERROR` (method, path, error kind; no secret): a
//!   filter such as `vaultrs=warn,rustify=off` keeps one line per failure,
//!   this crate's own warning.

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
pub use pki::{ClientCertResolver, ClientCertificate};
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
