//! The token verifier: issuers, their keys, the token cache.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Weak},
    time::{Duration, SystemTime},
};

use super::{
    IssuerConfig, JwksFetcher, JwksStatus, KeySource, RefreshOutcome, StaticKey, VerifierConfig,
    cache::{Entry, TokenCache},
    claims::ClaimRules,
    jose::{self, Header},
    jwks::{Fetched, JwksState, Trigger},
    keys::{self, KeySet, Origin, VerifyingKey},
};
use crate::{AuthError, Principal, SetupError, encoding::sha256};

/// Verifies JWT bearer tokens (compact JWS) for a set of trusted issuers.
///
/// Built once from a [`VerifierConfig`] (a configuration reload builds a new
/// one); cheap to clone and share between tasks and runtimes.
///
/// # Verification
///
/// [`verify`](Self::verify) checks, in order: the length; the token cache;
/// the three parts; the header (`alg` known and not `none`; no `jku`, `x5u`,
/// `x5c`, `jwk`, `crit`, `zip`); the payload's `iss`, which picks the issuer
/// (that is the only use of unverified claims); the key, by `kid`; that the
/// header's `alg` is one the key is for; the signature; then `iss`, `exp`
/// (required), `nbf`, `iat` and `aud`, and the claims mapped to a
/// [`Principal`].
///
/// # JWKS refresh
///
/// Key sets of JWKS issuers are fetched:
/// - on schedule, by [`refresh_due`](Self::refresh_due), which the gateway
///   calls periodically, or by the task [`spawn_refresher`](Self::spawn_refresher)
///   starts (it also makes the first fetch at start-up);
/// - on demand, when a token names an unknown `kid` or when there is no usable
///   key set (none yet, or older than `max_stale`): at most one fetch per
///   `unknown_kid_cooldown` per issuer, shared by all requests that want it.
///
/// Fetching needs a tokio runtime with timers (the gateway's have them);
/// issuers with static keys or an HMAC secret never fetch, so verifying their
/// tokens needs no runtime features at all.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<Issuer>,
    by_name: HashMap<String, usize>,
    cache: TokenCache,
    cache_ttl: Duration,
    /// The largest `max_token_bytes` of all issuers: checked before anything
    /// else, so that nothing is decoded from an oversized token.
    max_token_bytes: usize,
    /// Dropped with the last clone of the verifier; refreshers watch it.
    shutdown: tokio::sync::watch::Sender<()>,
    #[cfg(test)]
    cache_hits: std::sync::atomic::AtomicU64,
}

struct Issuer {
    rules: ClaimRules,
    max_token_bytes: usize,
    keys: Keys,
}

enum Keys {
    Static(Arc<KeySet>),
    Jwks(Arc<JwksState>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier. `fetcher` is required when an issuer uses a JWKS.
    ///
    /// Static keys are loaded and checked here (RSA moduli under 2048 bits,
    /// private key material, algorithms that do not fit the key or the
    /// issuer's allow-list are refused); JWKS are fetched later, on first use
    /// or by the refresher.
    pub fn new(
        config: VerifierConfig,
        fetcher: Option<Arc<dyn JwksFetcher>>,
    ) -> Result<Self, SetupError> {
        let mut issuers = Vec::with_capacity(config.issuers.len());
        let mut by_name = HashMap::new();
        for issuer_config in config.issuers {
            let name = issuer_config.issuer.clone();
            if by_name.contains_key(&name) {
                return Err(SetupError::DuplicateIssuer { issuer: name });
            }
            let issuer = build_issuer(issuer_config, fetcher.as_ref())?;
            by_name.insert(name, issuers.len());
            issuers.push(issuer);
        }
        let max_token_bytes = issuers
            .iter()
            .map(|i| i.max_token_bytes)
            .max()
            .unwrap_or(super::DEFAULT_MAX_TOKEN_BYTES);
        Ok(Self {
            inner: Arc::new(Inner {
                issuers,
                by_name,
                cache: TokenCache::new(config.token_cache.capacity),
                cache_ttl: config.token_cache.max_ttl,
                max_token_bytes,
                shutdown: tokio::sync::watch::channel(()).0,
                #[cfg(test)]
                cache_hits: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| i.rules.issuer.as_str())
    }

    /// Verifies a compact JWS (without the `Bearer ` prefix) at time `now`.
    ///
    /// Never panics, whatever the input. Waits only when the token's issuer
    /// uses a JWKS that has to be fetched (see the type's documentation).
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<Principal, AuthError> {
        let inner = &*self.inner;
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > inner.max_token_bytes {
            return Err(AuthError::TooLarge {
                limit: inner.max_token_bytes,
            });
        }

        let digest = sha256(token.as_bytes());
        if let Some(principal) = self.cached(&digest, now) {
            return Ok(principal);
        }

        let parts = jose::split(token)?;
        let header = jose::parse_header(parts.header)?;
        let claims = jose::parse_claims(parts.payload)?;
        let issuer_index = claims
            .get("iss")
            .and_then(serde_json::Value::as_str)
            .and_then(|iss| inner.by_name.get(iss))
            .copied()
            .ok_or(AuthError::UnknownIssuer)?;
        let issuer = &inner.issuers[issuer_index];
        if token.len() > issuer.max_token_bytes {
            return Err(AuthError::TooLarge {
                limit: issuer.max_token_bytes,
            });
        }
        let signature = jose::parse_signature(parts.signature)?;

        let key_fingerprint = self
            .verify_signature(
                issuer,
                &header,
                parts.signing_input.as_bytes(),
                &signature,
                now,
            )
            .await?;
        let principal = issuer.rules.check(&claims, now)?;

        let deadline = now.checked_add(inner.cache_ttl).unwrap_or(now);
        let valid_until = principal
            .expires_at
            .map_or(deadline, |exp| exp.min(deadline));
        inner.cache.insert(
            digest,
            Entry {
                principal: principal.clone(),
                valid_until,
                issuer: issuer_index,
                key: key_fingerprint,
            },
            now,
        );
        Ok(principal)
    }

    /// A cached principal for this token digest, if the entry is still valid
    /// and the key that verified the token is still trusted.
    fn cached(&self, digest: &[u8; 32], now: SystemTime) -> Option<Principal> {
        let inner = &*self.inner;
        let entry = inner.cache.get(digest, now)?;
        let key_still_trusted = match &inner.issuers.get(entry.issuer)?.keys {
            Keys::Static(_) => true,
            Keys::Jwks(state) => state
                .usable(now)
                .is_some_and(|set| set.contains(&entry.key)),
        };
        if key_still_trusted {
            #[cfg(test)]
            inner
                .cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(entry.principal)
        } else {
            inner.cache.remove(digest);
            None
        }
    }

    /// Finds the key and verifies the signature; returns the key's
    /// fingerprint.
    async fn verify_signature(
        &self,
        issuer: &Issuer,
        header: &Header,
        message: &[u8],
        signature: &[u8],
        now: SystemTime,
    ) -> Result<[u8; 32], AuthError> {
        let check = |key: &VerifyingKey| -> Result<[u8; 32], AuthError> {
            key.verify(header.alg, message, signature)?;
            Ok(*key.fingerprint())
        };
        let state = match &issuer.keys {
            Keys::Static(set) => return check(set.select(header)?),
            Keys::Jwks(state) => state,
        };
        let unavailable = || AuthError::KeyServerUnavailable {
            issuer: state.issuer().to_owned(),
        };

        // No usable key set (none yet, or too old): try to fetch one.
        let set = match state.usable(now) {
            Some(set) => set,
            None => {
                state.refresh(Trigger::Demand, now).await;
                state.usable(now).ok_or_else(unavailable)?
            }
        };
        match set.select(header) {
            Err(AuthError::UnknownKey) => {}
            found => return check(found?),
        }
        // An unknown kid: the issuer may have rotated its keys. Fetch (once
        // per cooldown, shared) and look again.
        // Whether this call fetched, another did, or the cooldown holds: read
        // the key set as it is now.
        state.refresh(Trigger::Demand, now).await;
        let set = state.usable(now).ok_or_else(unavailable)?;
        check(set.select(header)?)
    }

    /// Fetches the key sets that are due (older than `refresh_every`, and not
    /// attempted within the cooldown), one issuer after the other. Returns
    /// what each fetch did; issuers that were not due are left out. Failures
    /// are also logged; the last good keys stay in use until `max_stale`.
    pub async fn refresh_due(&self, now: SystemTime) -> Vec<RefreshOutcome> {
        let mut outcomes = Vec::new();
        for issuer in &self.inner.issuers {
            if let Keys::Jwks(state) = &issuer.keys
                && let Fetched::Done(result) = state.refresh(Trigger::Schedule, now).await
            {
                outcomes.push(RefreshOutcome {
                    issuer: state.issuer().to_owned(),
                    result,
                });
            }
        }
        outcomes
    }

    /// Takes over `issuer`'s JWKS key set from `previous`, the verifier this
    /// one replaces after a configuration reload, if both fetch it from the
    /// same URL for the same algorithms. The last good keys then keep serving
    /// (until `max_stale` from when they were fetched) and no fetch is made
    /// just because of the reload; otherwise a reload during a key server
    /// outage would fail every token at once. Call before
    /// [`spawn_refresher`](Self::spawn_refresher). Returns whether the key set
    /// was taken over.
    pub fn adopt_key_set(&self, previous: &Verifier, issuer: &str) -> bool {
        let jwks_state = |verifier: &Verifier| {
            let inner = &*verifier.inner;
            let index = *inner.by_name.get(issuer)?;
            match &inner.issuers[index].keys {
                Keys::Jwks(state) => Some(Arc::clone(state)),
                Keys::Static(_) => None,
            }
        };
        match (jwks_state(self), jwks_state(previous)) {
            (Some(state), Some(old)) => state.adopt(&old),
            _ => false,
        }
    }

    /// The state of each JWKS issuer's key set at `now` (for readiness: a
    /// gateway may report not ready while a key set is not usable).
    pub fn jwks_status(&self, now: SystemTime) -> Vec<JwksStatus> {
        self.inner
            .issuers
            .iter()
            .filter_map(|issuer| match &issuer.keys {
                Keys::Jwks(state) => Some(state.status(now)),
                Keys::Static(_) => None,
            })
            .collect()
    }

    /// Starts a task on `runtime` that calls [`refresh_due`](Self::refresh_due)
    /// with the wall clock, first at once (so keys are there before the first
    /// request), then every `min(refresh_every, unknown_kid_cooldown)` of the
    /// issuers (between 1 s and 60 s). The task holds the verifier weakly: it
    /// ends by itself as soon as every clone of this verifier is dropped
    /// (after a configuration reload). With no JWKS issuer, it ends at once.
    pub fn spawn_refresher(&self, runtime: &tokio::runtime::Handle) -> tokio::task::JoinHandle<()> {
        let tick = self
            .inner
            .issuers
            .iter()
            .filter_map(|issuer| match &issuer.keys {
                Keys::Jwks(state) => Some(state.tick()),
                Keys::Static(_) => None,
            })
            .min()
            .map(|t| t.clamp(Duration::from_secs(1), Duration::from_secs(60)));
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let mut stopped = self.inner.shutdown.subscribe();
        runtime.spawn(async move {
            let Some(tick) = tick else { return };
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    // Nothing is ever sent: this fires when the sender, and so
                    // the verifier, is dropped.
                    _ = stopped.changed() => break,
                }
                let Some(inner) = weak.upgrade() else { break };
                Verifier { inner }.refresh_due(SystemTime::now()).await;
            }
        })
    }

    #[cfg(test)]
    pub(crate) fn cached_tokens(&self) -> usize {
        self.inner.cache.len()
    }

    #[cfg(test)]
    pub(crate) fn inner_cache_hits(&self) -> u64 {
        self.inner
            .cache_hits
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn build_issuer(
    config: IssuerConfig,
    fetcher: Option<&Arc<dyn JwksFetcher>>,
) -> Result<Issuer, SetupError> {
    let name = config.issuer;
    let invalid = |reason: &str| SetupError::InvalidIssuer {
        issuer: name.clone(),
        reason: reason.to_owned(),
    };
    if name.is_empty() {
        return Err(invalid("the issuer must not be empty"));
    }
    if config.audiences.is_empty() || config.audiences.iter().any(String::is_empty) {
        return Err(invalid(
            "at least one audience is required, and none may be empty",
        ));
    }
    let claim_paths = [&config.subject_claim, &config.roles_claim]
        .into_iter()
        .chain(config.purpose_claim.as_ref())
        .chain(&config.attribute_claims);
    for path in claim_paths {
        if !path.is_valid() {
            return Err(SetupError::InvalidIssuer {
                issuer: name.clone(),
                reason: format!("claim path `{path}` has an empty segment"),
            });
        }
    }
    if config.max_token_bytes == 0 {
        return Err(invalid("the maximum token size must not be zero"));
    }
    let allowed = config.algorithms;
    let keys = match config.keys {
        KeySource::Static(list) => {
            if list.is_empty() {
                return Err(invalid("no static key is configured"));
            }
            let mut keys = Vec::with_capacity(list.len());
            for (index, key) in list.iter().enumerate() {
                let loaded = match key {
                    StaticKey::Jwk(json) => serde_json::from_str(json)
                        .map_err(|_| "not valid JSON".to_owned())
                        .and_then(|value| keys::from_jwk(&value, &allowed, Origin::Configured)),
                    StaticKey::Pem {
                        kid,
                        pem,
                        algorithm,
                    } => keys::from_pem(kid.clone(), pem, *algorithm, &allowed),
                };
                keys.push(loaded.map_err(|reason| SetupError::InvalidKey {
                    issuer: name.clone(),
                    index,
                    reason,
                })?);
            }
            Keys::Static(Arc::new(KeySet {
                keys,
                fetched_at: SystemTime::UNIX_EPOCH,
            }))
        }
        KeySource::Hmac(secret) => {
            if !allowed.is_empty() && !allowed.contains(&super::Algorithm::Hs256) {
                return Err(invalid(
                    "an HMAC secret is configured but HS256 is not in the issuer's algorithms",
                ));
            }
            let key = VerifyingKey::hmac(&secret).map_err(|reason| SetupError::InvalidKey {
                issuer: name.clone(),
                index: 0,
                reason,
            })?;
            Keys::Static(Arc::new(KeySet {
                keys: vec![key],
                fetched_at: SystemTime::UNIX_EPOCH,
            }))
        }
        KeySource::Jwks(jwks) => {
            let Some(fetcher) = fetcher else {
                return Err(SetupError::MissingFetcher { issuer: name });
            };
            if jwks.url.is_empty() {
                return Err(invalid("the JWKS URL must not be empty"));
            }
            if jwks.refresh_every < Duration::from_secs(1)
                || jwks.fetch_timeout.is_zero()
                || jwks.max_stale.is_zero()
            {
                return Err(invalid(
                    "JWKS refresh_every must be at least 1 s, and fetch_timeout and max_stale \
                     must not be zero",
                ));
            }
            if allowed.contains(&super::Algorithm::Hs256) {
                return Err(invalid(
                    "HS256 is only accepted with a configured HMAC secret",
                ));
            }
            Keys::Jwks(Arc::new(JwksState::new(
                name.clone(),
                jwks,
                allowed.clone(),
                Arc::clone(fetcher),
            )))
        }
    };
    Ok(Issuer {
        rules: ClaimRules {
            issuer: name,
            audiences: config.audiences,
            leeway: config.leeway,
            subject: config.subject_claim,
            roles: config.roles_claim,
            purpose: config.purpose_claim,
            attributes: config.attribute_claims,
        },
        max_token_bytes: config.max_token_bytes,
        keys,
    })
}
