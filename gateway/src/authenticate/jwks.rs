//! Fetching JWKS documents over HTTPS for the JWT verifier.
//!
//! One HTTPS client per issuer (its `jwks_ca`, or the system roots), rustls
//! on ring like every other connection the gateway makes. No connection
//! pooling: a JWKS is fetched every few minutes, and the verifier may call
//! from any worker's runtime.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use maskgate_authn::{FetchError, JwksFetcher};
use rustls::crypto::CryptoProvider;

use crate::tls_roots::{TrustError, client_config};

/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Connect deadline (TCP and TLS) for the key server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Fetches JWKS URLs, each with the client its issuer's trust settings call
/// for.
pub(crate) struct HttpsJwksFetcher {
    clients: HashMap<String, HttpsClient>,
}

impl HttpsJwksFetcher {
    /// A fetcher for `(url, ca file)` pairs.
    pub(crate) fn new<'a>(
        sources: impl IntoIterator<Item = (&'a str, Option<&'a std::path::Path>)>,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, TrustError> {
        let mut clients = HashMap::new();
        for (url, ca) in sources {
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_connect_timeout(Some(CONNECT_TIMEOUT));
            let connector = HttpsConnectorBuilder::new()
                .with_tls_config(client_config(ca, provider)?)
                .https_only()
                .enable_http1()
                .wrap_connector(http);
            let client = Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(connector);
            clients.insert(url.to_owned(), client);
        }
        Ok(Self { clients })
    }

    async fn get(&self, url: String) -> Result<Vec<u8>, FetchError> {
        let client = self
            .clients
            .get(&url)
            .ok_or_else(|| FetchError::new("no client for this JWKS URL"))?;
        let uri: Uri = url.parse().map_err(FetchError::new)?;
        let request = Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(FetchError::new)?;
        let response = client.request(request).await.map_err(FetchError::new)?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::new(format!(
                "the key server answered {}",
                response.status()
            )));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(FetchError::new)?;
        Ok(body.to_bytes().to_vec())
    }
}

impl JwksFetcher for HttpsJwksFetcher {
    fn fetch(
        &self,
        url: &str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + '_>> {
        Box::pin(self.get(url.to_owned()))
    }
}
