//! What the gateway tells the verifier: issuers, their keys, their claims.

use std::{fmt, time::Duration};

use super::Algorithm;
use crate::Secret;

/// The default clock leeway for `exp`, `nbf` and `iat`: 60 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The default maximum token length: 8 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Everything a [`Verifier`](crate::Verifier) is built from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifierConfig {
    /// The trusted issuers; a token's `iss` picks one.
    pub issuers: Vec<IssuerConfig>,
    /// The cache of verified tokens.
    pub token_cache: TokenCacheConfig,
}

impl VerifierConfig {
    /// A configuration with these issuers and the default token cache.
    pub fn new(issuers: Vec<IssuerConfig>) -> Self {
        Self {
            issuers,
            token_cache: TokenCacheConfig::default(),
        }
    }
}

/// The cache of verified tokens, keyed by the SHA-256 of the token.
///
/// An entry lives until the token's `exp` or `max_ttl` after it was verified,
/// whichever comes first, and is only used while the key that verified it is
/// still in its issuer's current key set (so a key dropped from a JWKS stops
/// cached tokens at the next refresh, whatever `max_ttl` says). When full, the
/// oldest entries go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheConfig {
    /// How many tokens at most; 0 disables the cache. Default 10,000.
    pub capacity: usize,
    /// How long at most an entry is used without verifying the token again.
    /// Default 60 s.
    pub max_ttl: Duration,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            max_ttl: Duration::from_secs(60),
        }
    }
}

impl TokenCacheConfig {
    /// A cache of this capacity and maximum age.
    pub fn new(capacity: usize, max_ttl: Duration) -> Self {
        Self { capacity, max_ttl }
    }
}

/// One trusted token issuer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// The `iss` value, compared exactly.
    pub issuer: String,
    /// Accepted audiences: a token's `aud` must contain at least one. Must not
    /// be empty.
    pub audiences: Vec<String>,
    /// Where the verification keys come from.
    pub keys: KeySource,
    /// The allow-list of algorithms for this issuer. Empty (the default)
    /// means "what each key implies": RS256 for an RSA key without `alg`,
    /// ES256 / ES384 for P-256 / P-384 keys, EdDSA for Ed25519, HS256 for an
    /// HMAC secret. Non-empty, it also selects the algorithms of RSA keys that
    /// carry no `alg` (the RSA entries of the list) and refuses keys whose
    /// algorithm is not listed. A key always has its algorithms fixed when it
    /// is loaded; the token's `alg` must be one of them.
    pub algorithms: Vec<Algorithm>,
    /// Clock leeway for `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// The claim holding the subject. Default `sub`.
    pub subject_claim: ClaimPath,
    /// The claim holding the roles: an array of strings, or one string of
    /// space-separated names. Default `roles`. A missing claim means no roles.
    pub roles_claim: ClaimPath,
    /// The claim holding the declared purpose, if the issuer puts one in its
    /// tokens.
    pub purpose_claim: Option<ClaimPath>,
    /// Claims copied, in string form, into
    /// [`Principal::attributes`](crate::Principal::attributes) under their
    /// dotted path.
    pub attribute_claims: Vec<ClaimPath>,
    /// The longest token accepted, in bytes. Default 8 KiB.
    pub max_token_bytes: usize,
}

impl IssuerConfig {
    /// An issuer with these audiences and keys, and defaults for the rest.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, keys: KeySource) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            keys,
            algorithms: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            subject_claim: ClaimPath::parse("sub"),
            roles_claim: ClaimPath::parse("roles"),
            purpose_claim: None,
            attribute_claims: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }
}

/// Where an issuer's verification keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// Public keys given in the configuration.
    Static(Vec<StaticKey>),
    /// A shared HMAC secret: HS256 only, at least 32 bytes (RFC 7518 §3.2).
    Hmac(Secret),
    /// A JWKS document fetched (by the caller's
    /// [`JwksFetcher`](crate::JwksFetcher)) from a URL and cached.
    Jwks(JwksConfig),
}

/// A public key given in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaticKey {
    /// One JWK (RFC 7517), as JSON text. Its `kid` and `alg` are used; a JWK
    /// carrying private key material is refused.
    Jwk(String),
    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo): RSA, EC P-256 / P-384 or
    /// Ed25519.
    Pem {
        /// The key id tokens name it by, if any.
        kid: Option<String>,
        /// The PEM text.
        pem: String,
        /// For an RSA key, the one algorithm it is for; `None` follows
        /// [`IssuerConfig::algorithms`].
        algorithm: Option<Algorithm>,
    },
}

/// Where and how often to fetch an issuer's JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksConfig {
    /// The JWKS URL, passed as is to the fetcher.
    pub url: String,
    /// How often the key set is fetched on schedule. Default 5 minutes.
    pub refresh_every: Duration,
    /// The least time between two fetches triggered by anything but the
    /// schedule, in particular by unknown `kid`s. Default 30 s.
    pub unknown_kid_cooldown: Duration,
    /// How long after its last successful fetch a key set is still used when
    /// fetching fails. After that, verification fails with
    /// [`AuthError::KeyServerUnavailable`](crate::AuthError::KeyServerUnavailable).
    /// Default 1 hour.
    pub max_stale: Duration,
    /// How long one fetch may take before it counts as failed. Default 10 s.
    pub fetch_timeout: Duration,
    /// The largest JWKS document accepted, in bytes. Default 1 MiB.
    pub max_bytes: usize,
}

impl JwksConfig {
    /// A JWKS at this URL, with the default timings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            refresh_every: Duration::from_secs(5 * 60),
            unknown_kid_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(60 * 60),
            fetch_timeout: Duration::from_secs(10),
            max_bytes: 1024 * 1024,
        }
    }
}

/// Where a claim is in the token's payload: a path of object member names.
///
/// [`parse`](Self::parse) splits on `.` (`realm_access.roles`,
/// `resource_access.my-app.roles`); a claim whose own name contains dots (as
/// namespaced claims like `https://example.com/roles` do) is named with
/// [`literal`](Self::literal).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    segments: Vec<String>,
}

impl ClaimPath {
    /// A dotted path.
    pub fn parse(path: &str) -> Self {
        Self {
            segments: path.split('.').map(str::to_owned).collect(),
        }
    }

    /// One top-level claim whose name is taken as is, dots included.
    pub fn literal(name: impl Into<String>) -> Self {
        Self {
            segments: vec![name.into()],
        }
    }

    /// A path from its segments.
    pub fn from_segments(segments: Vec<String>) -> Self {
        Self { segments }
    }

    /// The member names, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    pub(crate) fn is_valid(&self) -> bool {
        !self.segments.is_empty() && self.segments.iter().all(|s| !s.is_empty())
    }

    /// The value at this path, if every step is an object holding the next
    /// member.
    pub(crate) fn resolve<'v>(
        &self,
        claims: &'v serde_json::Value,
    ) -> Option<&'v serde_json::Value> {
        self.segments
            .iter()
            .try_fold(claims, |value, segment| value.as_object()?.get(segment))
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimPath({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claim_paths_resolve_nested_members() {
        let claims = json!({
            "sub": "alice",
            "realm_access": { "roles": ["a"] },
            "https://example.com/roles": ["b"],
        });
        assert_eq!(
            ClaimPath::parse("realm_access.roles").resolve(&claims),
            Some(&json!(["a"]))
        );
        assert_eq!(
            ClaimPath::parse("https://example.com/roles").resolve(&claims),
            None
        );
        assert_eq!(
            ClaimPath::literal("https://example.com/roles").resolve(&claims),
            Some(&json!(["b"]))
        );
        assert_eq!(ClaimPath::parse("sub.x").resolve(&claims), None);
        assert!(!ClaimPath::parse("a..b").is_valid());
        assert!(!ClaimPath::parse("").is_valid());
        assert_eq!(ClaimPath::parse("a.b").to_string(), "a.b");
    }
}
