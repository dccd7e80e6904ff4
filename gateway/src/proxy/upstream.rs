//! The pooled client for one product's upstream: HTTP or HTTPS (rustls on
//! ring, system roots or the product's own CA), HTTP/1.1 or HTTP/2, with a
//! connect deadline covering TCP and TLS together.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Uri, uri::PathAndQuery};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use maskgate_config::HttpVersion;
use rustls::{RootCertStore, crypto::CryptoProvider};
use tower::Service;

use crate::{
    body::{Body, BoxError},
    tls_roots::{self, TrustError},
};

/// One product's upstream: where requests go and the client that takes them.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: Client<ConnectTimeout<HttpsConnector<HttpConnector>>, Body>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    response_timeout: Duration,
}

impl Upstream {
    pub(crate) fn new(
        config: &maskgate_config::Upstream,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, TrustError> {
        let url = &config.url;
        let uri: Uri = url
            .as_str()
            .parse()
            .expect("a validated upstream URL is a valid URI");
        let parts = uri.into_parts();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        // Plain HTTP never reaches the TLS half: spare the system roots.
        let roots = if url.scheme() == "https" {
            tls_roots::roots(config.ca.as_deref())?
        } else {
            RootCertStore::empty()
        };
        let tls = HttpsConnectorBuilder::new()
            .with_tls_config(tls_roots::client_config_with(roots, provider))
            .https_or_http();
        let wants_h1 = config.http_versions.contains(&HttpVersion::Http1);
        let wants_h2 = config.http_versions.contains(&HttpVersion::Http2);
        let connector = match (wants_h1, wants_h2) {
            (true, true) => tls.enable_all_versions().wrap_connector(http),
            (false, true) => tls.enable_http2().wrap_connector(http),
            _ => tls.enable_http1().wrap_connector(http),
        };

        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout.get())
            .pool_max_idle_per_host(config.pool_max_idle)
            .http2_only(wants_h2 && !wants_h1)
            .build(ConnectTimeout {
                inner: connector,
                timeout: config.connect_timeout.get(),
            });

        Ok(Self {
            client,
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

    pub(crate) fn client(&self) -> &Client<ConnectTimeout<HttpsConnector<HttpConnector>>, Body> {
        &self.client
    }

    pub(crate) fn response_timeout(&self) -> Duration {
        self.response_timeout
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
