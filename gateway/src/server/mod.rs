//! The running gateway: binds every listener, serves until told to stop,
//! then drains.
//!
//! [`Gateway::bind`] does all the work that can fail at start-up (files,
//! certificates, upstream TLS, binding sockets) so that errors surface
//! before anything is served; [`Gateway::run`] cannot fail afterwards.

mod listener;
mod tls;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use hyper_util::server::graceful::GracefulShutdown;
use maskgate_config::Config;
use rustls::crypto::CryptoProvider;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use self::listener::{Listener, Serving};
use crate::{
    admin::{self, Readiness},
    metrics::Metrics,
    proxy::{Proxy, UpstreamSetupError},
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
    /// A product's upstream client could not be set up.
    #[error("product {product}: {source}")]
    Upstream {
        /// The product's name.
        product: String,
        /// What is wrong.
        #[source]
        source: UpstreamSetupError,
    },
}

/// A gateway whose sockets are bound, ready to [`run`](Gateway::run).
pub struct Gateway {
    listeners: Vec<Listener>,
    listen_addrs: Vec<SocketAddr>,
    admin: Option<TcpListener>,
    admin_addr: Option<SocketAddr>,
    serving: Arc<Serving>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    shutdown_grace: Duration,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen_addrs", &self.listen_addrs)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

/// The crypto provider for every TLS connection the gateway makes or
/// accepts: ring, the one provider in the dependency tree.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Gateway {
    /// Prepares everything and binds every socket. Must run inside a tokio
    /// runtime.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let provider = crypto_provider();
        let metrics = Arc::new(Metrics::new());
        let proxy = Proxy::new(config, &provider, metrics.clone())
            .map_err(|(product, e)| StartError::Upstream { product, source: e })?;

        let mut listeners = Vec::with_capacity(config.server.listeners.len());
        let mut listen_addrs = Vec::with_capacity(config.server.listeners.len());
        for listener in &config.server.listeners {
            let name = listener
                .name
                .clone()
                .unwrap_or_else(|| listener.address.to_string());
            let tls = match &listener.tls {
                Some(tls) => Some(TlsAcceptor::from(
                    tls::server_config(tls, &listener.http_versions, &provider).map_err(
                        |reason| StartError::ListenerTls {
                            listener: name.clone(),
                            reason,
                        },
                    )?,
                )),
                None => None,
            };
            let tcp = bind(listener.address).await?;
            listen_addrs.push(tcp.local_addr().expect("a bound socket has an address"));
            listeners.push(Listener {
                name,
                tcp,
                tls,
                http_versions: listener.http_versions.clone(),
            });
        }
        let (admin, admin_addr) = if config.admin.enabled {
            let tcp = bind(config.admin.address).await?;
            let addr = tcp.local_addr().expect("a bound socket has an address");
            (Some(tcp), Some(addr))
        } else {
            (None, None)
        };

        Ok(Self {
            listeners,
            listen_addrs,
            admin,
            admin_addr,
            serving: Arc::new(Serving {
                proxy: Arc::new(proxy),
                metrics: metrics.clone(),
                limits: config.server.limits.clone(),
                timeouts: config.server.timeouts.clone(),
            }),
            metrics,
            readiness: Arc::default(),
            shutdown_grace: config.server.timeouts.shutdown_grace.get(),
        })
    }

    /// The bound address of each listener, in configuration order (useful
    /// when the configuration said port 0).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen_addrs
    }

    /// The bound admin address, if the admin listener is enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Serves until `shutdown` resolves, then stops accepting, reports not
    /// ready, and lets in-flight requests finish for up to the configured
    /// grace period before closing what remains.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let graceful = Arc::new(GracefulShutdown::new());
        let mut accepting = tokio::task::JoinSet::new();
        for listener in self.listeners {
            accepting.spawn(listener.run(self.serving.clone(), graceful.clone(), stop_rx.clone()));
        }
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
        self.readiness.set(true);
        tracing::info!(listeners = ?self.listen_addrs, admin = ?self.admin_addr, "maskgate is serving");

        shutdown.await;
        tracing::info!(grace = ?self.shutdown_grace, "shutting down: no new connections, draining");
        self.readiness.set(false);
        let _ = stop_tx.send(true);
        while accepting.join_next().await.is_some() {}
        // The accept loops are gone, and with them every other reference.
        let graceful = Arc::into_inner(graceful).expect("accept loops have ended");
        match tokio::time::timeout(self.shutdown_grace, graceful.shutdown()).await {
            Ok(()) => tracing::info!("all connections drained"),
            Err(_) => tracing::warn!("shutdown grace period over: closing remaining connections"),
        }
        if let Some(admin) = admin {
            admin.abort();
        }
    }
}

async fn bind(address: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })
}
