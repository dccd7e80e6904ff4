//! Errors: why a credential was refused, why a configuration cannot be used,
//! why a key set could not be had.
//!
//! No message contains a token, a key, a secret or a claim value: only names
//! the configuration chose (issuer, claim path, key id in configuration) and
//! fixed text.

use std::{error::Error as StdError, fmt};

/// Why a request's credential was not accepted.
///
/// Grouped by fault, as the gateway maps them: every variant but
/// [`KeyServerUnavailable`](Self::KeyServerUnavailable) is the caller's fault
/// (401 with `WWW-Authenticate`); that one means the credential could not be
/// checked because a key server is unreachable (503, fail closed).
/// [`code`](Self::code) gives a stable name for each, for JSON error bodies,
/// metrics and audit records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    // --- The caller's fault: the credential is missing, malformed or invalid.
    /// No credential was presented.
    #[error("no credentials were presented")]
    Missing,
    /// The credential is not well formed (not three base64url parts, not JSON,
    /// a claim of the wrong type...). `reason` is fixed text.
    #[error("malformed credential: {reason}")]
    Malformed {
        /// What is wrong, in fixed words (never the offending value).
        reason: &'static str,
    },
    /// The token is longer than the configured maximum.
    #[error("token is larger than {limit} bytes")]
    TooLarge {
        /// The maximum, in bytes.
        limit: usize,
    },
    /// The token's `alg` is `none` (in any capitalization) or not one this
    /// crate implements.
    #[error("token algorithm is not supported")]
    UnsupportedAlgorithm,
    /// The token's `alg` is not the one its key allows (e.g. HS256 presented
    /// for an RSA key): the algorithm comes from the key, never the token.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// The token header carries a field that is refused outright (`jku`,
    /// `x5u`, `x5c`, `jwk`, `crit`, `zip`): keys are never taken from the
    /// token itself, and critical extensions are not implemented.
    #[error("token header field `{field}` is not accepted")]
    UntrustedHeader {
        /// The refused header field's name.
        field: &'static str,
    },
    /// The token's `iss` is missing or not a configured issuer.
    #[error("token issuer is not trusted")]
    UnknownIssuer,
    /// No configured key matches the token's `kid`.
    #[error("token key id is not known for its issuer")]
    UnknownKey,
    /// The signature does not verify (tampered, stripped, or another key's).
    #[error("token signature is invalid")]
    BadSignature,
    /// The token has expired (`exp`, with the configured leeway).
    #[error("token has expired")]
    Expired,
    /// The token is not valid yet (`nbf`, with the configured leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// The token claims to be issued in the future (`iat`, beyond the leeway).
    #[error("token is issued in the future")]
    IssuedInFuture,
    /// The token's `aud` names none of the configured audiences.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is missing or empty.
    #[error("token lacks the required claim `{claim}`")]
    MissingClaim {
        /// The claim, as configured (e.g. `exp`, `sub`, `preferred_username`).
        claim: String,
    },
    /// The API key is malformed, unknown, or its secret is wrong (the same
    /// error for each, on purpose).
    #[error("API key is not valid")]
    InvalidApiKey,
    /// The client certificate's subject is not in the configured table and no
    /// default roles are configured, or the certificate names no subject.
    #[error("client certificate identity is not known")]
    UnknownClient,

    // --- Not the caller's fault: the credential could not be checked.
    /// The issuer's key server could not be reached and the last good key set
    /// is older than its maximum age (or there never was one).
    #[error("the key server for issuer `{issuer}` is unreachable")]
    KeyServerUnavailable {
        /// The configured issuer whose keys are unavailable.
        issuer: String,
    },
}

impl AuthError {
    /// Whether the credential could not be checked (503) rather than being
    /// wrong (401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeyServerUnavailable { .. })
    }

    /// A stable, machine-readable name for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_credentials",
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::UntrustedHeader { .. } => "untrusted_header",
            Self::UnknownIssuer => "unknown_issuer",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim { .. } => "missing_claim",
            Self::InvalidApiKey => "invalid_api_key",
            Self::UnknownClient => "unknown_client",
            Self::KeyServerUnavailable { .. } => "key_server_unavailable",
        }
    }

    pub(crate) const fn malformed(reason: &'static str) -> Self {
        Self::Malformed { reason }
    }
}

/// A configuration these types cannot be built from. Raised when a
/// [`Verifier`](crate::Verifier), [`ApiKeys`](crate::ApiKeys) or
/// [`MtlsIdentities`](crate::MtlsIdentities) is built, never per request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Two issuers have the same `iss` value.
    #[error("issuer `{issuer}` is configured twice")]
    DuplicateIssuer {
        /// The issuer.
        issuer: String,
    },
    /// An issuer value, audience or claim path is empty or otherwise unusable.
    #[error("issuer `{issuer}`: {reason}")]
    InvalidIssuer {
        /// The issuer.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// A static key cannot be used: not parseable, too small an RSA modulus,
    /// a curve or type that is not supported, private key material, an
    /// algorithm that does not fit the key or is not allowed for the issuer.
    #[error("issuer `{issuer}`, key {index}: {reason}")]
    InvalidKey {
        /// The issuer.
        issuer: String,
        /// The key's position in the issuer's list (from 0).
        index: usize,
        /// What is wrong (never key material).
        reason: String,
    },
    /// An issuer uses a JWKS but no [`JwksFetcher`](crate::JwksFetcher) was
    /// given to the verifier.
    #[error("issuer `{issuer}` uses a JWKS but no fetcher was supplied")]
    MissingFetcher {
        /// The issuer.
        issuer: String,
    },
    /// An API key entry cannot be used (bad id, duplicate id).
    #[error("API key `{id}`: {reason}")]
    InvalidApiKey {
        /// The key's id (not secret).
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An API key hash is not `sha256:` followed by 64 hex digits.
    #[error("API key hash must be `sha256:` followed by 64 hex digits")]
    InvalidApiKeyHash,
    /// The mTLS identity configuration cannot be used.
    #[error("mTLS identities: {reason}")]
    InvalidMtls {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Why the caller's [`JwksFetcher`](crate::JwksFetcher) could not deliver a
/// key set: transport error, HTTP status, timeout, body too large.
///
/// Built by the fetcher; its message should not carry secrets (a JWKS URL
/// normally holds none).
#[derive(Debug)]
pub struct FetchError {
    source: Box<dyn StdError + Send + Sync>,
}

impl FetchError {
    /// Wraps an error or a message.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl StdError for FetchError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.source()
    }
}

/// Why refreshing an issuer's key set failed. The last good keys stay in use
/// until their maximum age.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The fetcher failed.
    #[error("fetching the JWKS failed: {0}")]
    Fetch(#[from] FetchError),
    /// The fetch took longer than the configured timeout.
    #[error("fetching the JWKS timed out")]
    Timeout,
    /// The document is larger than the accepted maximum.
    #[error("the JWKS is larger than {limit} bytes")]
    TooLarge {
        /// The maximum, in bytes.
        limit: usize,
    },
    /// The document is not a JSON object with a `keys` array.
    #[error("the JWKS is not a JSON object with a `keys` array")]
    Malformed,
    /// The set has no key this issuer can use (all were of an unknown type,
    /// for encryption, too small, or of a disallowed algorithm).
    #[error("the JWKS has no usable signing key ({ignored} ignored)")]
    NoUsableKey {
        /// How many keys were ignored.
        ignored: usize,
    },
    /// The fetch task ended abnormally (it panicked or its runtime shut
    /// down).
    #[error("the JWKS fetch task did not complete")]
    TaskFailed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_server_unavailable_is_unavailable() {
        let unavailable = AuthError::KeyServerUnavailable {
            issuer: "https://idp".into(),
        };
        assert!(unavailable.is_unavailable());
        assert_eq!(unavailable.code(), "key_server_unavailable");
        for e in [
            AuthError::Missing,
            AuthError::BadSignature,
            AuthError::Expired,
            AuthError::InvalidApiKey,
            AuthError::UnknownClient,
        ] {
            assert!(!e.is_unavailable(), "{e}");
        }
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            AuthError::Missing,
            AuthError::malformed("x"),
            AuthError::TooLarge { limit: 1 },
            AuthError::UnsupportedAlgorithm,
            AuthError::AlgorithmMismatch,
            AuthError::UntrustedHeader { field: "jku" },
            AuthError::UnknownIssuer,
            AuthError::UnknownKey,
            AuthError::BadSignature,
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::IssuedInFuture,
            AuthError::WrongAudience,
            AuthError::MissingClaim {
                claim: "sub".into(),
            },
            AuthError::InvalidApiKey,
            AuthError::UnknownClient,
            AuthError::KeyServerUnavailable { issuer: "i".into() },
        ];
        let mut codes: Vec<_> = all.iter().map(AuthError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
