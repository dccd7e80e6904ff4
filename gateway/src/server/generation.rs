//! What a configuration makes of the request path, and how a reload
//! replaces it.
//!
//! A [`Generation`] holds everything requests are served with that a
//! configuration decides: products and routes, upstream clients (one set
//! per worker), authentication, access rules, quotas and request limits.
//! Reloading builds the next generation completely (any error leaves the
//! current one in place) and swaps it in atomically: every request from
//! then on sees the new one, including requests on connections that are
//! already open, while requests in flight finish with the one they started
//! with. Listeners, worker threads, the admin listener, the audit log and timeouts are
//! fixed at start-up: changing them needs a restart, and a reload says so.

use std::sync::Arc;

use arc_swap::ArcSwap;
use maskgate_config::{Config, Limits};
use maskgate_masking::KeyProvider;
use maskgate_secrets::Vault;
use rustls::crypto::CryptoProvider;

use super::StartError;
use crate::{
    authenticate::Authentication,
    metrics::Metrics,
    protect::Protection,
    proxy::Proxy,
    rate_limit::RateLimits,
    route::ProductTable,
    vault::{ProductSecrets, TransitKeys},
};

/// The request path as one configuration makes it.
pub(crate) struct Generation {
    pub(crate) products: Arc<ProductTable>,
    pub(crate) rate_limits: Arc<RateLimits>,
    pub(crate) authentication: Option<Arc<Authentication>>,
    /// Masking plans, by product.
    pub(crate) protection: Arc<Protection>,
    /// One proxy (and so one set of upstream pools) per worker.
    pub(crate) proxies: Vec<Arc<Proxy>>,
    pub(crate) limits: Limits,
    /// `sha256:<hex>` of the configuration in force (its parsed form): the
    /// policy version audit records name.
    pub(crate) policy_version: Arc<str>,
}

impl Generation {
    /// Builds everything `config` asks for; must run inside a tokio runtime
    /// (JWKS refreshes are spawned on it). `previous` is the generation a
    /// reload replaces: JWKS key sets whose source did not change are taken
    /// over from it rather than fetched again (the key server may be down).
    pub(crate) fn build(
        config: &Config,
        provider: &Arc<CryptoProvider>,
        metrics: &Arc<Metrics>,
        workers: usize,
        previous: Option<&Generation>,
        vault: Option<&Vault>,
    ) -> Result<Self, StartError> {
        let transit_keys = TransitKeys::for_config(config, vault).map_err(StartError::Secrets)?;
        let protection = Arc::new(
            Protection::from_config(
                config,
                transit_keys.map(|keys| keys as Arc<dyn KeyProvider>),
            )
            .map_err(StartError::Masking)?,
        );
        let secrets = ProductSecrets::for_config(config, vault).map_err(StartError::Secrets)?;
        let authentication = match &config.authn {
            Some(authn) => {
                let authentication = Authentication::from_config(authn, provider, vault)
                    .map_err(StartError::Authn)?;
                if let Some(previous) = previous.and_then(|p| p.authentication.as_deref()) {
                    authentication.adopt_key_sets(previous);
                }
                // The refresher ends by itself once this generation's
                // verifier is gone.
                authentication.spawn_refresher(&tokio::runtime::Handle::current());
                Some(Arc::new(authentication))
            }
            None => None,
        };
        let proxies = (0..workers)
            .map(|_| {
                Proxy::new(config, &secrets, provider, metrics.clone())
                    .map(Arc::new)
                    .map_err(|(product, e)| StartError::Upstream { product, source: e })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            products: Arc::new(ProductTable::new(config)),
            rate_limits: Arc::new(RateLimits::new(config, metrics.clone())),
            authentication,
            protection,
            proxies,
            limits: config.server.limits.clone(),
            policy_version: policy_version(config),
        })
    }
}

/// The SHA-256 of the configuration file's text (`sha256sum` of the file
/// gives the same), or for a configuration built in code, of its parsed
/// form.
fn policy_version(config: &Config) -> Arc<str> {
    if let Some(source) = &config.source_sha256 {
        return Arc::from(source.as_str());
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{config:?}").as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Arc::from(format!("sha256:{hex}"))
}

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file is not a valid configuration.
    #[error("invalid configuration:\n{0}")]
    Invalid(maskgate_config::ConfigError),
    /// It is valid, but could not be applied (a key file, a CA, ...).
    #[error("cannot apply the configuration: {0}")]
    Failed(StartError),
}

/// The generation requests are served with now.
pub(crate) type Current = Arc<ArcSwap<Generation>>;

/// Reloads the configuration of a running gateway; see the module docs.
/// Cheap to clone.
#[derive(Clone)]
pub struct Reloader {
    current: Current,
    provider: Arc<CryptoProvider>,
    metrics: Arc<Metrics>,
    workers: usize,
    /// The start-up configuration, to tell what a reload cannot change.
    fixed: Arc<Config>,
    /// The Vault client logged in at start-up (`[vault]`), if any.
    vault: Option<Vault>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    pub(crate) fn new(
        current: Current,
        provider: Arc<CryptoProvider>,
        metrics: Arc<Metrics>,
        workers: usize,
        fixed: Config,
        vault: Option<Vault>,
    ) -> Self {
        Self {
            current,
            provider,
            metrics,
            workers,
            fixed: Arc::new(fixed),
            vault,
        }
    }

    /// Applies a validated configuration to new requests. On error nothing
    /// changes. On success, returns what the new configuration changes
    /// that only a restart applies (listeners, workers, admin, timeouts).
    /// Must run inside a tokio runtime.
    pub fn reload(&self, config: &Config) -> Result<Vec<String>, StartError> {
        let applied = self.apply(config);
        self.metrics
            .observe_reload(if applied.is_ok() { "applied" } else { "failed" });
        applied
    }

    /// [`reload`](Self::reload) without counting it.
    fn apply(&self, config: &Config) -> Result<Vec<String>, StartError> {
        let previous = self.current.load();
        let built = Generation::build(
            config,
            &self.provider,
            &self.metrics,
            self.workers,
            Some(&previous),
            self.vault.as_ref(),
        );
        self.current.store(Arc::new(built?));
        Ok(self.needs_restart(config))
    }

    /// Reads, validates and applies the configuration file at `path`; see
    /// [`reload`](Self::reload). An invalid file changes nothing.
    pub fn reload_file(&self, path: &std::path::Path) -> Result<Vec<String>, ReloadError> {
        let config = Config::load(path).map_err(|error| {
            self.metrics.observe_reload("invalid");
            ReloadError::Invalid(error)
        })?;
        match self.apply(&config) {
            Ok(needs_restart) => {
                self.metrics.observe_reload("applied");
                Ok(needs_restart)
            }
            // What only compiling the masking plans finds (a selector, a
            // pattern, a missing key) is a problem of the file like any
            // other: refused as invalid, located at its line.
            Err(StartError::Masking(problems)) => {
                self.metrics.observe_reload("invalid");
                Err(ReloadError::Invalid(
                    maskgate_config::ConfigError::invalid_in(path, &problems),
                ))
            }
            Err(error) => {
                self.metrics.observe_reload("failed");
                Err(ReloadError::Failed(error))
            }
        }
    }

    /// The Vault client, if the gateway logged in to one at start-up.
    pub(crate) fn vault(&self) -> Option<&Vault> {
        self.vault.as_ref()
    }

    /// The generation being served.
    pub(crate) fn current(&self) -> &Current {
        &self.current
    }

    fn needs_restart(&self, config: &Config) -> Vec<String> {
        let fixed = &self.fixed;
        let mut changed = Vec::new();
        if config.server.listeners != fixed.server.listeners {
            changed.push("server.listener".to_owned());
        }
        if config.server.workers != fixed.server.workers {
            changed.push("server.workers".to_owned());
        }
        if config.server.timeouts != fixed.server.timeouts {
            changed.push("server.timeouts".to_owned());
        }
        if config.admin != fixed.admin {
            changed.push("admin".to_owned());
        }
        if config.vault != fixed.vault {
            changed.push("vault".to_owned());
        }
        if config.audit != fixed.audit {
            changed.push("audit".to_owned());
        }
        changed
    }
}
