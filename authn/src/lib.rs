//! Who is calling: turns the credentials on a request into a [`Principal`].
//!
//! This crate owns three ways to authenticate a caller:
//!
//! - **JWT bearer tokens** ([`Verifier`]): compact JWS verified with ring
//!   against keys configured per issuer ([`IssuerConfig`]): static public keys
//!   (JWK or PEM), an HMAC secret, or a JWKS URL whose key set is cached,
//!   refreshed on a schedule and on an unknown `kid` (one shared fetch, at
//!   most one per cooldown), and served from the last good copy for a bounded
//!   time when the key server is down. Verified tokens are cached by their
//!   SHA-256, never longer than they are valid.
//! - **API keys** ([`ApiKeys`]): `mgk_<id>_<secret>`, stored only as SHA-256
//!   hashes, compared in constant time.
//! - **mTLS client certificates** ([`MtlsIdentities`]): the subject taken from
//!   the SAN URI, SAN DNS name or CN of a certificate that rustls has already
//!   verified, roles from a configured table.
//!
//! It does not decide whether a principal may call a product (access
//! decisions belong to the gateway), does not read configuration files (the
//! gateway translates its configuration into these types), and makes no
//! network call: fetching a JWKS is the caller's [`JwksFetcher`].
//!
//! Errors ([`AuthError`]) say whether the caller is at fault (401) or a key
//! server is unreachable (503); their messages never contain a token, a key or
//! a claim value. Secrets are held in [`Secret`], whose `Debug` prints
//! `[redacted]` and which is zeroed on drop.
//!
//! ```
//! use std::{sync::Arc, time::SystemTime};
//! use maskgate_authn::{
//!     ApiKeyEntry, ApiKeys, IssuerConfig, JwksConfig, JwksFetcher, KeySource, Verifier,
//!     VerifierConfig,
//! };
//!
//! # fn fetcher() -> Arc<dyn JwksFetcher> { unimplemented!() }
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! # let runtime = tokio::runtime::Runtime::new()?;
//! // JWT: one issuer whose keys come from a JWKS the gateway fetches.
//! let idp = IssuerConfig::new(
//!     "https://idp.example",
//!     vec!["maskgate".into()],
//!     KeySource::Jwks(JwksConfig::new("https://idp.example/jwks")),
//! );
//! let verifier = Verifier::new(VerifierConfig::new(vec![idp]), Some(fetcher()))?;
//! verifier.spawn_refresher(runtime.handle());
//! # let token = "";
//! let principal = runtime.block_on(verifier.verify(token, SystemTime::now()));
//!
//! // API keys: the configuration holds `sha256:HEX` hashes only.
//! let (key, hash) = ApiKeys::generate("reporting")?;
//! let keys = ApiKeys::new([ApiKeyEntry::new(
//!     "reporting",
//!     ApiKeys::parse_hash(&hash)?,
//!     "reporting-service",
//!     vec!["analyst".into()],
//! )])?;
//! assert_eq!(keys.verify(key.expose_str().unwrap())?.subject, "reporting-service");
//! # Ok(()) }
//! ```

mod api_key;
mod encoding;
mod error;
mod jwt;
mod mtls;
mod principal;
mod secret;

pub use api_key::{ApiKeyEntry, ApiKeys};
pub use error::{AuthError, FetchError, JwksError, SetupError};
pub use jwt::{
    Algorithm, ClaimPath, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, IssuerConfig, JwksConfig,
    JwksFetcher, JwksStatus, KeySource, RefreshOutcome, StaticKey, TokenCacheConfig,
    UnknownAlgorithm, Verifier, VerifierConfig,
};
pub use mtls::{MtlsConfig, MtlsIdentities, SubjectSource};
pub use principal::{AuthMethod, Principal};
pub use secret::Secret;
