//! The running gateway: binds every listener, serves until told to stop,
//! then drains.
//!
//! [`Gateway::bind`] does all the work that can fail at start-up (files,
//! certificates, upstream TLS, binding sockets) so that errors surface
//! before anything is served; [`Gateway::run`] starts the workers (see
//! `worker`) and the admin listener, and cannot fail afterwards.

mod generation;
mod listener;
mod sockets;
mod tls;
mod worker;

use arc_swap::ArcSwap;
use std::{future::Future, net::SocketAddr, num::NonZeroUsize, sync::Arc, time::Duration};

use maskgate_config::Config;
use rustls::crypto::CryptoProvider;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use self::generation::{ReloadError, Reloader};
use self::{
    generation::{Current, Generation},
    listener::{Listener, Serving},
    worker::{Worker, WorkerHandle},
};
use crate::{
    admin::{self, Readiness},
    audit::{AuditKeys, Auditor},
    metrics::Metrics,
    rate_limit,
    tls_roots::TrustError,
};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// An address could not be bound (in use, or not ours).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address from the configuration.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A listener's certificate or key is unusable.
    #[error("listener {listener}: {reason}")]
    ListenerTls {
        /// The listener's name.
        listener: String,
        /// What is wrong, naming the file.
        reason: String,
    },
    /// `[authn]` could not be set up (a key file, a JWKS client).
    #[error("authentication: {0}")]
    Authn(String),
    /// The masking configuration could not be compiled (a selector, a
    /// class pattern, the keyring): every problem, by key path.
    #[error("masking: {}", one_per_line(.0))]
    Masking(Vec<maskgate_config::Diagnostic>),
    /// The audit log could not be opened (its directory, its keys).
    #[error("audit: {0}")]
    Audit(String),
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Worker(std::io::Error),
    /// Vault could not be logged in to, or a product's secrets could not be
    /// set up.
    #[error("secrets: {0}")]
    Secrets(String),
    /// A product's upstream client could not be set up.
    #[error("product {product}: {source}")]
    Upstream {
        /// The product's name.
        product: String,
        /// What is wrong.
        #[source]
        source: TrustError,
    },
}

/// A gateway whose sockets are bound, ready to [`run`](Gateway::run).
pub struct Gateway {
    workers: Vec<WorkerHandle>,
    listen_addrs: Vec<SocketAddr>,
    admin: Option<TcpListener>,
    admin_addr: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    reloader: Reloader,
    readiness: Arc<Readiness>,
    shutdown_grace: Duration,
    auditor: Option<Arc<Auditor>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("workers", &self.workers.len())
            .field("listen_addrs", &self.listen_addrs)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

/// Problems one to a line (the first after the error's own words).
fn one_per_line(problems: &[maskgate_config::Diagnostic]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// The crypto provider for every TLS connection the gateway makes or
/// accepts: ring, the one provider in the dependency tree.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Gateway {
    /// Prepares everything and binds every socket. Must run inside a tokio
    /// runtime (the admin listener is served on it).
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let provider = crypto_provider();
        let metrics = Arc::new(Metrics::new());
        let worker_count = config
            .server
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));

        // Credentials, certificates and data keys are fetched before
        // anything is served, and kept fresh on this runtime from then on.
        let vault = crate::vault::connect(config)
            .await
            .map_err(StartError::Secrets)?;
        if let Some(vault) = &vault {
            metrics.watch_vault(vault.clone());
        }
        // What requests are served with: shared by every worker (each
        // picks its own upstream pools from it), replaced by a reload.
        let current: Current = Arc::new(ArcSwap::from_pointee(Generation::build(
            config,
            &provider,
            &metrics,
            worker_count,
            None,
            vault.as_ref(),
        )?));
        let reloader = Reloader::new(
            current.clone(),
            provider.clone(),
            metrics.clone(),
            worker_count,
            config.clone(),
            vault,
        );

        let auditor = match &config.audit {
            Some(audit) => {
                let keys = AuditKeys::load(audit, reloader.vault())
                    .await
                    .map_err(StartError::Audit)?;
                let auditor = Arc::new(
                    Auditor::start(audit, keys).map_err(|e| StartError::Audit(e.to_string()))?,
                );
                metrics.observe_audit(auditor.clone());
                Some(auditor)
            }
            None => None,
        };
        let mut workers: Vec<Worker> = (0..worker_count)
            .map(|index| Worker {
                index,
                listeners: Vec::with_capacity(config.server.listeners.len()),
                serving: Arc::new(Serving {
                    worker: index,
                    current: current.clone(),
                    metrics: metrics.clone(),
                    head_limits: config.server.limits.clone(),
                    timeouts: config.server.timeouts.clone(),
                    auditor: auditor.clone(),
                }),
            })
            .collect();

        let mut listen_addrs = Vec::with_capacity(config.server.listeners.len());
        for listener in &config.server.listeners {
            let name: Arc<str> = match &listener.name {
                Some(name) => name.as_str().into(),
                None => listener.address.to_string().into(),
            };
            let tls = match &listener.tls {
                Some(tls) => Some(TlsAcceptor::from(
                    tls::server_config(tls, &listener.http_versions, &provider).map_err(
                        |reason| StartError::ListenerTls {
                            listener: name.to_string(),
                            reason,
                        },
                    )?,
                )),
                None => None,
            };
            let address = listener.address;
            let sockets = sockets::bind_for_workers(address, worker_count)
                .map_err(|source| StartError::Bind { address, source })?;
            listen_addrs.push(
                sockets[0]
                    .local_addr()
                    .expect("a bound socket has an address"),
            );
            for (worker, tcp) in workers.iter_mut().zip(sockets) {
                worker.listeners.push(Listener {
                    name: name.clone(),
                    tcp,
                    tls: tls.clone(),
                    http_versions: listener.http_versions.clone(),
                });
            }
        }
        let shutdown_grace = config.server.timeouts.shutdown_grace.get();
        let workers = workers
            .into_iter()
            .map(|worker| worker.spawn(shutdown_grace))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Worker)?;
        let (admin, admin_addr) = if config.admin.enabled {
            let address = config.admin.address;
            let tcp = TcpListener::bind(address)
                .await
                .map_err(|source| StartError::Bind { address, source })?;
            let addr = tcp.local_addr().expect("a bound socket has an address");
            (Some(tcp), Some(addr))
        } else {
            (None, None)
        };

        Ok(Self {
            workers,
            listen_addrs,
            admin,
            admin_addr,
            metrics,
            reloader,
            readiness: Arc::new(Readiness::new(auditor.clone())),
            shutdown_grace,
            auditor,
        })
    }

    /// The bound address of each listener, in configuration order (useful
    /// when the configuration said port 0).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen_addrs
    }

    /// A handle to reload the configuration while the gateway runs.
    pub fn reloader(&self) -> Reloader {
        self.reloader.clone()
    }

    /// The bound admin address, if the admin listener is enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Serves until `shutdown` resolves, then stops accepting, reports not
    /// ready, and lets in-flight requests finish for up to the configured
    /// grace period before closing what remains. Dropping the future stops
    /// the workers the same way.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let done: Vec<_> = self
            .workers
            .into_iter()
            .map(|worker| worker.start(stop_rx.clone()))
            .collect();
        // The admin listener keeps answering while draining (`/readyz`
        // says 503 then) and stops last.
        let admin = self.admin.map(|tcp| {
            tokio::spawn(admin::serve(
                tcp,
                self.metrics.clone(),
                self.readiness.clone(),
                std::future::pending(),
            ))
        });
        // Idle rate-limit keys are dropped every minute, so their state
        // stays bounded by the callers active recently.
        let maintenance = {
            let current = self.reloader.current().clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(rate_limit::MAINTENANCE_INTERVAL);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                every.tick().await;
                loop {
                    every.tick().await;
                    current.load().rate_limits.maintain();
                }
            })
        };
        self.readiness.set(true);
        tracing::info!(
            workers = done.len(),
            listeners = ?self.listen_addrs,
            admin = ?self.admin_addr,
            "maskgate is serving"
        );

        shutdown.await;
        tracing::info!(grace = ?self.shutdown_grace, "shutting down: no new connections, draining");
        self.readiness.set(false);
        let _ = stop_tx.send(true);
        for worker in done {
            let _ = worker.await;
        }
        tracing::info!("all workers stopped");
        // Every request has ended: the records are queued; write them and
        // the final checkpoint.
        if let Some(auditor) = self.auditor {
            let _ = tokio::task::spawn_blocking(move || auditor.shutdown()).await;
        }
        if let Some(admin) = admin {
            admin.abort();
        }
        maintenance.abort();
        // Database leases are revoked: the credentials die with the gateway.
        if let Some(vault) = self.reloader.vault() {
            vault.shutdown().await;
            tracing::info!("Vault leases revoked");
        }
    }
}
