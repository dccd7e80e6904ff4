//! The pooled client for one product's upstream: HTTP or HTTPS (rustls on
//! ring, system roots or the product's own CA), HTTP/1.1 or HTTP/2, with a
//! connect deadline covering TCP and TLS together, and the client
//! certificate from Vault's PKI engine where the upstream requires one (a
//! new pool each time it is re-issued).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use arc_swap::ArcSwap;
use http::{Uri, uri::PathAndQuery};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use maskgate_config::HttpVersion;
use maskgate_secrets::{ClientCertificate, Unavailable, Watched};
use rustls::{RootCertStore, crypto::CryptoProvider};
use tower::Service;

use crate::{
    body::{Body, BoxError},
    tls_roots::{self, TrustError},
};

/// The pooled client type: HTTP or HTTPS with a connect deadline.
pub(crate) type PooledClient = Client<ConnectTimeout<HttpsConnector<HttpConnector>>, Body>;

/// One product's upstream: where requests go and the client that takes them.
#[derive(Debug)]
pub(crate) struct Upstream {
    /// The pool, and the client certificate generation it presents.
    pool: ArcSwap<Pool>,
    /// How to build a pool (again, when the client certificate changes).
    recipe: Recipe,
    /// The client certificate from Vault's PKI engine, if the upstream
    /// requires one.
    certificate: Option<Watched<ClientCertificate>>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    response_timeout: Duration,
}

/// A connection pool and the certificate generation its connections present.
#[derive(Debug)]
struct Pool {
    client: PooledClient,
    certificate_generation: u64,
}

/// What a pool is built from.
#[derive(Debug)]
struct Recipe {
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    wants_h1: bool,
    wants_h2: bool,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle: usize,
}

/// Why no request can be sent to the upstream now.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// The client certificate expired and Vault could not re-issue it.
    #[error("{0}")]
    CertificateUnavailable(#[from] Unavailable),
    /// The certificate Vault issued is not usable by rustls.
    #[error("the client certificate from Vault is not usable: {0}")]
    CertificateUnusable(String),
}

impl Upstream {
    pub(crate) fn new(
        config: &maskgate_config::Upstream,
        provider: &Arc<CryptoProvider>,
        certificate: Option<Watched<ClientCertificate>>,
    ) -> Result<Self, TrustError> {
        let url = &config.url;
        let uri: Uri = url
            .as_str()
            .parse()
            .expect("a validated upstream URL is a valid URI");
        let parts = uri.into_parts();
        // Plain HTTP never reaches the TLS half: spare the system roots.
        let roots = if url.scheme() == "https" {
            tls_roots::roots(config.ca.as_deref())?
        } else {
            RootCertStore::empty()
        };
        let recipe = Recipe {
            roots,
            provider: provider.clone(),
            wants_h1: config.http_versions.contains(&HttpVersion::Http1),
            wants_h2: config.http_versions.contains(&HttpVersion::Http2),
            connect_timeout: config.connect_timeout.get(),
            pool_idle_timeout: config.pool_idle_timeout.get(),
            pool_max_idle: config.pool_max_idle,
        };
        // With a client certificate, the first pool is built at the first
        // request (the certificate may not be there yet); until then, an
        // empty pool without one stands in, at generation 0 ("none yet").
        let pool = Pool {
            client: recipe.build(tls_roots::client_config_with(
                recipe.roots.clone(),
                provider,
            )),
            certificate_generation: 0,
        };
        Ok(Self {
            pool: ArcSwap::from_pointee(pool),
            recipe,
            certificate,
            scheme: parts.scheme.expect("validated URL has a scheme"),
            authority: parts.authority.expect("validated URL has a host"),
            base_path: url.path().trim_end_matches('/').to_owned(),
            response_timeout: config.response_timeout.get(),
        })
    }

    /// The absolute URI for `path` (rooted) and `query` on this upstream.
    pub(crate) fn uri_for(&self, path: &str, query: Option<&str>) -> Result<Uri, http::Error> {
        let mut path_and_query = String::with_capacity(
            self.base_path.len() + path.len() + query.map_or(0, |q| q.len() + 1),
        );
        path_and_query.push_str(&self.base_path);
        path_and_query.push_str(path);
        if let Some(query) = query {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(PathAndQuery::try_from(path_and_query)?)
            .build()
    }

    /// The pool to send a request with. With a client certificate from
    /// Vault: fails closed once it expired unrenewed, and moves to a new
    /// pool when it was re-issued (connections of the old pool finish
    /// their requests and close; new ones present the new certificate).
    pub(crate) fn client(&self) -> Result<PooledClient, PoolError> {
        let Some(watched) = &self.certificate else {
            return Ok(self.pool.load().client.clone());
        };
        let certificate = watched.current()?;
        let generation = watched.generation();
        let pool = self.pool.load();
        if pool.certificate_generation == generation {
            return Ok(pool.client.clone());
        }
        let chain = certificate
            .cert_chain()
            .map_err(|e| PoolError::CertificateUnusable(e.to_string()))?;
        let key = certificate
            .private_key()
            .map_err(|e| PoolError::CertificateUnusable(e.to_string()))?;
        let tls = tls_roots::client_config_with_identity(
            self.recipe.roots.clone(),
            &self.recipe.provider,
            chain,
            key,
        )
        .map_err(|e| PoolError::CertificateUnusable(e.to_string()))?;
        let client = self.recipe.build(tls);
        self.pool.store(Arc::new(Pool {
            client: client.clone(),
            certificate_generation: generation,
        }));
        tracing::info!(
            certificate = %watched.name(),
            generation,
            "upstream connections now present a new client certificate"
        );
        Ok(client)
    }

    pub(crate) fn response_timeout(&self) -> Duration {
        self.response_timeout
    }
}

impl Recipe {
    fn build(&self, tls: rustls::ClientConfig) -> PooledClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let tls = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let connector = match (self.wants_h1, self.wants_h2) {
            (true, true) => tls.enable_all_versions().wrap_connector(http),
            (false, true) => tls.enable_http2().wrap_connector(http),
            _ => tls.enable_http1().wrap_connector(http),
        };
        Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle)
            .http2_only(self.wants_h2 && !self.wants_h1)
            .build(ConnectTimeout {
                inner: connector,
                timeout: self.connect_timeout,
            })
    }
}

/// Connecting took longer than the upstream's `connect_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("connect timed out")]
pub(crate) struct ConnectTimedOut;

/// A connector that gives up after a deadline. hyper-util's own connect
/// timeout covers only TCP; this one covers the TLS handshake as well, so a
/// server that accepts and then stalls cannot hold a request forever.
#[derive(Debug, Clone)]
pub(crate) struct ConnectTimeout<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for ConnectTimeout<C>
where
    C: Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimedOut) as BoxError),
            }
        })
    }
}
