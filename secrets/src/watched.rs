//! A value kept fresh by a background task and read from memory.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::error::Unavailable;

/// A credential, certificate or secret that a background task keeps fresh.
///
/// Reading it ([`current`](Self::current)) never calls Vault: it is an
/// atomic load. Once the value's lease (or certificate, or
/// [`kv_max_stale`](crate::VaultSettings::kv_max_stale)) has run out without
/// being renewed, `current` fails with an [`Unavailable`] saying why: fail
/// closed. Cloning is cheap and every clone sees the same value.
pub struct Watched<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Watched<T> {
    fn clone(&self) -> Self {
        Watched {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.shared.slot.load();
        f.debug_struct("Watched")
            .field("name", &self.shared.name)
            .field("generation", &slot.generation)
            .field("expires_at", &slot.expires_at)
            .finish_non_exhaustive()
    }
}

/// What one watched value holds now.
struct Slot<T> {
    value: Option<Arc<T>>,
    expires_at: Option<SystemTime>,
    generation: u64,
    last_error: Option<String>,
}

pub(crate) struct Shared<T> {
    name: String,
    kind: &'static str,
    slot: ArcSwap<Slot<T>>,
    /// The generation: bumped each time a new value is published.
    generation: watch::Sender<u64>,
    /// Bumped after every attempt, successful or not (for `ready`).
    attempts: watch::Sender<u64>,
    failures: AtomicU64,
}

impl<T> Watched<T> {
    /// A watched value with nothing in it yet.
    pub(crate) fn new(kind: &'static str, name: String) -> Self {
        Watched {
            shared: Arc::new(Shared {
                name,
                kind,
                slot: ArcSwap::from_pointee(Slot {
                    value: None,
                    expires_at: None,
                    generation: 0,
                    last_error: None,
                }),
                generation: watch::channel(0).0,
                attempts: watch::channel(0).0,
                failures: AtomicU64::new(0),
            }),
        }
    }

    /// The value now, or why there is none: not fetched yet, or expired
    /// while Vault could not renew it. Never calls Vault.
    pub fn current(&self) -> Result<Arc<T>, Unavailable> {
        self.current_at(SystemTime::now())
    }

    /// [`current`](Self::current) as of `now` (for tests and for callers
    /// that already read the clock).
    pub fn current_at(&self, now: SystemTime) -> Result<Arc<T>, Unavailable> {
        let slot = self.shared.slot.load();
        let why = |what: String| match &slot.last_error {
            Some(e) => Unavailable::new(format!("{what}; last error: {e}")),
            None => Unavailable::new(what),
        };
        let Some(value) = &slot.value else {
            return Err(why(format!("{} is not available yet", self.shared.name)));
        };
        match slot.expires_at {
            Some(end) if end <= now => Err(why(format!(
                "{} expired at {} and could not be renewed",
                self.shared.name,
                crate::time::rfc3339(end)
            ))),
            _ => Ok(Arc::clone(value)),
        }
    }

    /// When the value now held stops being served (its lease end, its
    /// certificate's end, or the KV staleness limit), if there is one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.shared.slot.load().expires_at
    }

    /// How many values have been published so far: 0 before the first, then
    /// 1, 2, ... each time a new value (new KV version, new database
    /// credential, re-issued certificate) replaces the previous one. A
    /// renewal that only extends the lease does not count.
    pub fn generation(&self) -> u64 {
        self.shared.slot.load().generation
    }

    /// A receiver that sees the [`generation`](Self::generation) change:
    /// `changed().await` wakes up when a new value is published (e.g. to
    /// rebuild an upstream connection pool with a new client certificate).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }

    /// What this value is, in words (e.g. `database credential
    /// database/app-ro`); used in messages and metrics.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The last background error, if the last attempt failed.
    pub fn last_error(&self) -> Option<String> {
        self.shared.slot.load().last_error.clone()
    }

    /// Waits until the first value is there, or the first attempt to get
    /// it failed, or `timeout` passed; then returns [`current`](Self::current).
    pub async fn ready(&self, timeout: Duration) -> Result<Arc<T>, Unavailable> {
        let mut attempts = self.shared.attempts.subscribe();
        let wait = async {
            loop {
                if *attempts.borrow_and_update() > 0 {
                    return;
                }
                if attempts.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.current()
    }

    /// A snapshot of this value's numbers for the gateway's metrics.
    pub fn metrics(&self) -> ValueMetrics {
        let slot = self.shared.slot.load();
        let now = SystemTime::now();
        ValueMetrics {
            kind: self.shared.kind,
            name: self.shared.name.clone(),
            available: slot.value.is_some() && slot.expires_at.is_none_or(|end| end > now),
            seconds_left: slot.expires_at.map(|end| {
                end.duration_since(now)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0)
            }),
            renewal_failures: self.shared.failures.load(Ordering::Relaxed),
            generation: slot.generation,
        }
    }

    // --- for the background tasks

    /// Publishes a new value (a new generation).
    pub(crate) fn publish(&self, value: T, expires_at: Option<SystemTime>) {
        let generation = self.shared.slot.load().generation + 1;
        self.shared.slot.store(Arc::new(Slot {
            value: Some(Arc::new(value)),
            expires_at,
            generation,
            last_error: None,
        }));
        self.shared.generation.send_replace(generation);
        self.attempted();
    }

    /// The same value stays, with a new end (a renewed lease, a KV version
    /// confirmed again).
    pub(crate) fn extend(&self, expires_at: Option<SystemTime>) {
        let old = self.shared.slot.load();
        self.shared.slot.store(Arc::new(Slot {
            value: old.value.clone(),
            expires_at,
            generation: old.generation,
            last_error: None,
        }));
        self.attempted();
    }

    /// Records a failed attempt; the value (if any) keeps being served until
    /// its end.
    pub(crate) fn fail(&self, error: &dyn fmt::Display) {
        self.shared.failures.fetch_add(1, Ordering::Relaxed);
        let old = self.shared.slot.load();
        self.shared.slot.store(Arc::new(Slot {
            value: old.value.clone(),
            expires_at: old.expires_at,
            generation: old.generation,
            last_error: Some(error.to_string()),
        }));
        self.attempted();
    }

    fn attempted(&self) {
        self.shared.attempts.send_modify(|n| *n += 1);
    }
}

/// Things whose numbers go into [`MetricsSnapshot`](crate::MetricsSnapshot).
pub(crate) trait Metered {
    fn metered(&self) -> ValueMetrics;
}

impl<T: Send + Sync + 'static> Metered for Watched<T> {
    fn metered(&self) -> ValueMetrics {
        self.metrics()
    }
}

/// Numbers about one watched value, for the gateway's metrics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ValueMetrics {
    /// `kv`, `database`, `pki` or `token`.
    pub kind: &'static str,
    /// What it is, e.g. `database credential database/app-ro`.
    pub name: String,
    /// Whether [`Watched::current`] would serve it now.
    pub available: bool,
    /// Seconds until the lease (or certificate, or staleness limit) ends; 0
    /// once it has; `None` when there is no end.
    pub seconds_left: Option<f64>,
    /// Failed background attempts (renewals, re-issues, polls) so far.
    pub renewal_failures: u64,
    /// How many values have been published.
    pub generation: u64,
}
