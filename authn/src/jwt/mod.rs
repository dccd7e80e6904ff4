//! JWT bearer tokens: compact JWS verified against per-issuer keys.

mod algorithm;
mod cache;
mod claims;
mod config;
mod jose;
mod jwks;
mod keys;
mod verifier;

#[cfg(test)]
mod tests;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use config::{
    ClaimPath, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, IssuerConfig, JwksConfig, KeySource,
    StaticKey, TokenCacheConfig, VerifierConfig,
};
pub use jwks::{JwksFetcher, JwksStatus, RefreshOutcome};
pub use verifier::Verifier;
