//! The JWKS cache of one issuer: the last good key set, refreshed on a
//! schedule and on demand, one fetch at a time, at most one on-demand fetch
//! per cooldown.
//!
//! # Single flight
//!
//! A fetch runs while holding the issuer's `flight` lock (a
//! `tokio::sync::Mutex`). Whoever wants a fetch takes that lock first, so it
//! waits for a fetch in flight, and then decides: if a fetch was attempted
//! within the cooldown (by anyone, including the one it just waited for), it
//! does not fetch but reads the key set as it now is. So N concurrent requests
//! with unknown `kid`s cause one fetch and all see its result, and any number
//! of later ones within the cooldown cause none.
//!
//! The fetch itself runs in a task spawned on the current tokio runtime, and
//! the lock guard moves into it: a request that gives up (client gone, its
//! future dropped) does not cancel the fetch the others are waiting for.
//!
//! # Time
//!
//! All decisions use the `now` the caller passes, so tests control the clock
//! and the gateway passes `SystemTime::now()`. A clock that goes backwards
//! counts as no time elapsed: it delays a fetch, it never causes one.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime},
};

use super::{
    Algorithm, JwksConfig,
    keys::{KeySet, parse_jwks},
};
use crate::{FetchError, JwksError};

/// Fetches a JWKS document; supplied by the caller (the gateway fetches over
/// HTTPS with its own rustls client and CA settings).
///
/// The returned future must finish in bounded time (the verifier also applies
/// [`JwksConfig::fetch_timeout`]), and must not borrow `url` (copy it).
/// A status other than 200 should be an error.
pub trait JwksFetcher: Send + Sync + 'static {
    /// Fetches the document at `url` and returns its body.
    fn fetch(
        &self,
        url: &str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + '_>>;
}

/// The state of one issuer's key set, for readiness checks and status pages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStatus {
    /// The issuer.
    pub issuer: String,
    /// When the key set in use was fetched; `None` if there never was one.
    pub fetched_at: Option<SystemTime>,
    /// How many usable keys it has.
    pub keys: usize,
    /// Whether it can be used at `now` (it exists and is no older than
    /// `max_stale`).
    pub usable: bool,
    /// The last fetch's error, if the last fetch failed.
    pub last_error: Option<String>,
    /// How many fetches were attempted since the verifier was built.
    pub fetches: u64,
}

/// What a scheduled refresh did for one issuer.
#[derive(Debug)]
#[non_exhaustive]
pub struct RefreshOutcome {
    /// The issuer.
    pub issuer: String,
    /// The number of usable keys fetched, or why the fetch failed (the old
    /// keys are still in use then, until their maximum age).
    pub result: Result<usize, JwksError>,
}

#[derive(Debug, Default)]
struct FetchMeta {
    last_attempt: Option<SystemTime>,
    last_error: Option<String>,
    fetches: u64,
}

/// Why a fetch was wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// The schedule: due when the key set is older than `refresh_every`.
    Schedule,
    /// An unknown `kid`, or no usable key set: due at most once per cooldown.
    Demand,
}

/// What came of asking for a fetch.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// Not due, or another request fetched (or tried to) within the cooldown.
    Skipped,
    /// This call fetched; with the result.
    Done(Result<usize, JwksError>),
}

pub(crate) struct JwksState {
    issuer: String,
    config: JwksConfig,
    allowed: Vec<Algorithm>,
    fetcher: Arc<dyn JwksFetcher>,
    keys: Mutex<Option<Arc<KeySet>>>,
    meta: Mutex<FetchMeta>,
    flight: Arc<tokio::sync::Mutex<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data under these locks is replaced whole, never left half-updated,
    // so a panic elsewhere while holding one leaves it consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Time from `earlier` to `now`; zero if the clock went backwards.
fn elapsed(now: SystemTime, earlier: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or(Duration::ZERO)
}

impl JwksState {
    pub(crate) fn new(
        issuer: String,
        config: JwksConfig,
        allowed: Vec<Algorithm>,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Self {
        Self {
            issuer,
            config,
            allowed,
            fetcher,
            keys: Mutex::new(None),
            meta: Mutex::new(FetchMeta::default()),
            flight: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key set, if there is one that may still be used at `now`.
    pub(crate) fn usable(&self, now: SystemTime) -> Option<Arc<KeySet>> {
        lock(&self.keys)
            .as_ref()
            .filter(|set| elapsed(now, set.fetched_at) <= self.config.max_stale)
            .cloned()
    }

    /// Whether a fetch for this reason is due at `now`.
    fn due(&self, trigger: Trigger, now: SystemTime) -> bool {
        let meta = lock(&self.meta);
        let cooled_down = meta
            .last_attempt
            .is_none_or(|t| elapsed(now, t) >= self.config.unknown_kid_cooldown);
        match trigger {
            Trigger::Demand => cooled_down,
            Trigger::Schedule => {
                // A failed scheduled fetch is retried once per cooldown, not
                // on every tick.
                let stale = lock(&self.keys)
                    .as_ref()
                    .is_none_or(|set| elapsed(now, set.fetched_at) >= self.config.refresh_every);
                stale && cooled_down
            }
        }
    }

    /// Fetches the key set if `trigger` makes it due, one fetch at a time.
    ///
    /// Always passes through the flight lock, even when no fetch is due: if a
    /// fetch is in flight, the caller waits for it and then reads what it
    /// brought, instead of answering from the key set it is replacing (or
    /// from none, at start-up). Uncontended, the lock costs an atomic
    /// operation; it is only taken for unknown `kid`s, missing key sets and
    /// scheduled refreshes, never for a known key.
    pub(crate) async fn refresh(self: &Arc<Self>, trigger: Trigger, now: SystemTime) -> Fetched {
        let guard = Arc::clone(&self.flight).lock_owned().await;
        // Due is decided under the lock: whoever held it before us may just
        // have fetched.
        if !self.due(trigger, now) {
            return Fetched::Skipped;
        }
        {
            let mut meta = lock(&self.meta);
            meta.last_attempt = Some(now);
            meta.fetches += 1;
        }
        let state = Arc::clone(self);
        let task = async move {
            let _flight = guard;
            state.fetch_and_install(now).await
        };
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn(task)
                .await
                .unwrap_or(Err(JwksError::TaskFailed)),
            Err(_) => task.await,
        };
        Fetched::Done(result)
    }

    async fn fetch_and_install(&self, now: SystemTime) -> Result<usize, JwksError> {
        let result = self.fetch_and_parse().await;
        let mut meta = lock(&self.meta);
        match result {
            Ok(keys) => {
                let count = keys.len();
                *lock(&self.keys) = Some(Arc::new(KeySet {
                    keys,
                    fetched_at: now,
                }));
                meta.last_error = None;
                tracing::debug!(issuer = %self.issuer, keys = count, "JWKS refreshed");
                Ok(count)
            }
            Err(error) => {
                meta.last_error = Some(error.to_string());
                tracing::warn!(issuer = %self.issuer, %error, "JWKS refresh failed; the last good keys stay in use until their maximum age");
                Err(error)
            }
        }
    }

    async fn fetch_and_parse(&self) -> Result<Vec<super::keys::VerifyingKey>, JwksError> {
        let body = tokio::time::timeout(
            self.config.fetch_timeout,
            self.fetcher.fetch(&self.config.url),
        )
        .await
        .map_err(|_| JwksError::Timeout)??;
        if body.len() > self.config.max_bytes {
            return Err(JwksError::TooLarge {
                limit: self.config.max_bytes,
            });
        }
        let (keys, ignored) = parse_jwks(&body, &self.allowed)?;
        if ignored > 0 {
            tracing::debug!(issuer = %self.issuer, ignored, "JWKS keys this issuer cannot use were ignored");
        }
        Ok(keys)
    }

    /// Takes over the key set and fetch times of `previous` (the state this
    /// one replaces after a configuration reload), if it fetches the same URL
    /// for the same algorithms. The keys keep the age they had: a reload
    /// neither discards the last good keys (the key server may be down right
    /// then) nor extends their life, and does not by itself cause a fetch.
    pub(crate) fn adopt(&self, previous: &JwksState) -> bool {
        if self.config.url != previous.config.url || self.allowed != previous.allowed {
            return false;
        }
        let keys = lock(&previous.keys).clone();
        *lock(&self.keys) = keys;
        let (last_attempt, last_error) = {
            let meta = lock(&previous.meta);
            (meta.last_attempt, meta.last_error.clone())
        };
        let mut meta = lock(&self.meta);
        meta.last_attempt = last_attempt;
        meta.last_error = last_error;
        true
    }

    pub(crate) fn status(&self, now: SystemTime) -> JwksStatus {
        let keys = lock(&self.keys).clone();
        let meta = lock(&self.meta);
        JwksStatus {
            issuer: self.issuer.clone(),
            fetched_at: keys.as_ref().map(|k| k.fetched_at),
            keys: keys.as_ref().map_or(0, |k| k.keys.len()),
            usable: self.usable(now).is_some(),
            last_error: meta.last_error.clone(),
            fetches: meta.fetches,
        }
    }

    /// The smallest of this issuer's intervals, for a refresher's tick.
    pub(crate) fn tick(&self) -> Duration {
        self.config
            .refresh_every
            .min(self.config.unknown_kid_cooldown)
    }
}
