//! The reverse proxy: from a routed client request to the upstream's
//! response, streamed both ways.
//!
//! Owns the products' upstream clients (one set per worker), request
//! rewriting (target URI, hop-by-hop, credential and forwarding headers,
//! the request-body limit) and the mapping of upstream failures to gateway
//! errors. The product comes from the routing layer ([`RoutedProduct`]). It
//! holds no body in memory: bodies are passed through as streams.

mod headers;
mod upstream;

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, header};
use http_body::Body as HttpBody;
use maskgate_config::Config;
use rustls::crypto::CryptoProvider;
use tower::Service;

use self::upstream::Upstream;
use crate::{
    audit::AuditFacts,
    body::{self, Body, BodyTooLarge, BoxError, Leftover, LimitedBody, NotifyOnEnd, find_in_chain},
    caller::{CallerInfo, Purpose},
    error::GatewayError,
    metrics::Metrics,
    protect::Protection,
    request_id::RequestId,
    route::RoutedProduct,
    vault::{ProductSecrets, UpstreamCredentials},
};

/// A data product as the proxy sees it.
#[derive(Debug)]
struct Product {
    name: Arc<str>,
    upstream: Upstream,
    max_request_body: u64,
    /// Credentials from Vault added to every request (`[product.credentials]`).
    credentials: Option<Arc<UpstreamCredentials>>,
}

/// The lease of the Vault credential a request was forwarded with (a
/// response extension, for the audit record). A lease id names the lease;
/// it is not the credential.
#[derive(Debug, Clone)]
pub(crate) struct LeaseUsed(pub(crate) String);

/// The proxy's state for one configuration and one worker: each product's
/// pooled upstream client, in configuration order (the index in
/// [`RoutedProduct`]).
#[derive(Debug)]
pub(crate) struct Proxy {
    products: Vec<Product>,
    /// The client's credentials, never forwarded: `Authorization` and the
    /// API key header, when the gateway authenticates (`[authn]`).
    credential_headers: Vec<HeaderName>,
    metrics: Arc<Metrics>,
}

impl Proxy {
    /// `secrets` holds each product's secrets from Vault, in configuration
    /// order (see [`ProductSecrets::for_config`]).
    pub(crate) fn new(
        config: &Config,
        secrets: &[Option<ProductSecrets>],
        provider: &Arc<CryptoProvider>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, (String, crate::tls_roots::TrustError)> {
        let mut products = Vec::with_capacity(config.products.len());
        for (product, secrets) in config.products.iter().zip(secrets) {
            let certificate = secrets.as_ref().and_then(|s| s.client_certificate.clone());
            let upstream = Upstream::new(&product.upstream, provider, certificate)
                .map_err(|e| (product.name.clone(), e))?;
            products.push(Product {
                name: Arc::from(product.name.as_str()),
                upstream,
                max_request_body: product.max_request_body(&config.server.limits).bytes(),
                credentials: secrets.as_ref().and_then(|s| s.credentials.clone()),
            });
        }
        Ok(Self {
            products,
            credential_headers: headers::credential_headers(config.authn.as_ref()),
            metrics,
        })
    }
}

/// Facts about the client connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connection {
    pub(crate) remote: SocketAddr,
    pub(crate) tls: bool,
}

/// The proxy as a tower service, one per client connection.
#[derive(Debug, Clone)]
pub(crate) struct ProxyService {
    proxy: Arc<Proxy>,
    protection: Arc<Protection>,
    connection: Connection,
}

impl ProxyService {
    pub(crate) fn new(
        proxy: Arc<Proxy>,
        protection: Arc<Protection>,
        connection: Connection,
    ) -> Self {
        Self {
            proxy,
            protection,
            connection,
        }
    }
}

impl<B> Service<Request<B>> for ProxyService
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let proxy = self.proxy.clone();
        let protection = self.protection.clone();
        let connection = self.connection;
        Box::pin(async move { Ok(proxy.handle(&protection, connection, request).await) })
    }
}

impl Proxy {
    async fn handle<B>(
        &self,
        protection: &Protection,
        connection: Connection,
        mut request: Request<B>,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let request_id = request.extensions().get::<RequestId>().cloned();
        let settings = request
            .extensions()
            .get::<RoutedProduct>()
            .map(|RoutedProduct(settings)| settings.clone());
        let Some((settings, product)) = settings
            .and_then(|settings| Some((settings.clone(), self.products.get(settings.index)?)))
        else {
            // Routing runs first; a request it did not route goes nowhere.
            return GatewayError::NoRoute.into_response(request_id.as_ref().map(|id| &id.0));
        };
        let protects = protection.protects(settings.index);
        if protects {
            // The rewriter reads JSON, not gzip: ask for the identity
            // encoding (a compressed answer is refused, never passed).
            request.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        // Only a protected product needs the caller after the request has
        // gone upstream: spare the others the copies.
        let (caller, purpose) = if protects {
            (
                request.extensions().get::<CallerInfo>().cloned(),
                request.extensions().get::<Purpose>().cloned(),
            )
        } else {
            (None, None)
        };
        let facts = request.extensions().get::<AuditFacts>().cloned();
        let masking = self.metrics.masking(&product.name);
        let path = settings.forward_path(request.uri().path());
        let result = match product.upstream.uri_for(path, request.uri().query()) {
            Ok(uri) => match self
                .forward(product, connection, uri, request, |outbound| {
                    protection.request(settings.index, &masking, outbound)
                })
                .await
            {
                Ok(response) => {
                    if let Some(facts) = &facts {
                        let status = response.status().as_u16();
                        facts.update(|facts| facts.upstream_status = Some(status));
                    }
                    if protects {
                        protection
                            .response(
                                settings.index,
                                &masking,
                                caller.as_ref(),
                                purpose.as_ref(),
                                facts,
                                response,
                            )
                            .await
                    } else {
                        Ok(response)
                    }
                }
                other => other,
            },
            Err(_) => Err(GatewayError::BadRequest(
                "the request path cannot be forwarded",
            )),
        };
        match result {
            Ok(response) => response,
            Err(error) => {
                if error.side() == crate::error::Side::Upstream {
                    self.metrics
                        .observe_upstream_error(&product.name, error.code());
                }
                match error.code() {
                    // A response withheld to protect data: the security
                    // team wants to know, also without an audit log.
                    code @ ("masking_failed" | "unprotectable_response") => tracing::warn!(
                        product = %product.name,
                        code,
                        %error,
                        "response withheld"
                    ),
                    code => tracing::debug!(product = %product.name, code, "request failed"),
                }
                error.into_response(request_id.as_ref().map(|id| &id.0))
            }
        }
    }

    async fn forward<B>(
        &self,
        product: &Product,
        connection: Connection,
        uri: http::Uri,
        request: Request<B>,
        protect_body: impl FnOnce(Request<Body>) -> Result<Request<Body>, GatewayError>,
    ) -> Result<Response<Body>, GatewayError>
    where
        B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let limit = product.max_request_body;
        if content_length(request.headers()).is_some_and(|length| length > limit) {
            // A client waiting for `100 Continue` sends nothing more; any
            // other keeps sending, and reads the 413 only if we read on.
            if !expects_continue(request.headers()) {
                body::discard(request.into_body());
            }
            return Err(GatewayError::BodyTooLarge { limit });
        }
        let original_host = original_host(&request);
        let client_version = request.version();
        let (mut parts, body) = request.into_parts();
        parts.uri = uri;
        parts.version = http::Version::HTTP_11;
        headers::remove_hop_by_hop(&mut parts.headers);
        headers::remove_credentials(&mut parts.headers, &self.credential_headers);
        // The product's own credential from Vault, read from memory; none
        // left (expired while Vault is unreachable): fail closed.
        let secrets_unavailable = |reason: String| GatewayError::SecretsUnavailable {
            product: product.name.to_string(),
            reason,
        };
        let lease = match &product.credentials {
            Some(credentials) => credentials
                .apply(&mut parts.headers)
                .map_err(|e| secrets_unavailable(e.to_string()))?,
            None => None,
        };
        let client = product
            .upstream
            .client()
            .map_err(|e| secrets_unavailable(e.to_string()))?;
        parts.headers.remove(header::HOST);
        headers::set_forwarded(
            &mut parts.headers,
            connection.remote.ip(),
            if connection.tls { "https" } else { "http" },
            original_host.as_ref(),
        );
        let (body_sent, on_body_sent) = tokio::sync::oneshot::channel();
        let leftover = Leftover::new();
        let body = body::boxed(NotifyOnEnd::new(
            LimitedBody::new(body, limit, leftover.clone()),
            body_sent,
        ));
        // Fields the product stores encrypted are encrypted on the way in.
        let outbound = protect_body(Request::from_parts(parts, body))?;

        // `response_timeout` runs from when the request has been sent: an
        // upload that takes longer is not the upstream being slow.
        let exchange = client.request(outbound);
        tokio::pin!(exchange);
        let sent = tokio::select! {
            result = &mut exchange => Ok(result),
            _ = on_body_sent => {
                tokio::time::timeout(product.upstream.response_timeout(), &mut exchange).await
            }
        };
        let mut response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                if let Some(rest) = leftover.take() {
                    body::discard(rest);
                }
                return Err(classify(&product.name, &error, limit));
            }
            Err(_) => {
                return Err(GatewayError::UpstreamResponseTimeout {
                    product: product.name.to_string(),
                });
            }
        };
        headers::remove_hop_by_hop(response.headers_mut());
        // The client hears its own protocol version, whatever the upstream spoke.
        *response.version_mut() = client_version;
        if let Some(lease) = lease {
            response.extensions_mut().insert(LeaseUsed(lease));
        }
        Ok(response.map(body::boxed))
    }
}

/// Maps an upstream client error to what the client is told.
fn classify(product: &str, error: &hyper_util::client::legacy::Error, limit: u64) -> GatewayError {
    if find_in_chain::<BodyTooLarge>(error).is_some() {
        return GatewayError::BodyTooLarge { limit };
    }
    if find_in_chain::<maskgate_masking::RewriteError>(error).is_some() {
        return GatewayError::BadRequestBody {
            product: product.to_owned(),
            reason: "the body is not valid JSON, or a stored field could not be encrypted or tokenized",
        };
    }
    if find_in_chain::<upstream::ConnectTimedOut>(error).is_some() {
        return GatewayError::UpstreamConnectTimeout {
            product: product.to_owned(),
        };
    }
    tracing::debug!(product, error = %error, "upstream unavailable");
    GatewayError::UpstreamUnavailable {
        product: product.to_owned(),
    }
}

fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The host the client asked for (`:authority` in HTTP/2, `Host` in
/// HTTP/1.1), as sent.
fn original_host<B>(request: &Request<B>) -> Option<HeaderValue> {
    match request.uri().authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => request.headers().get(header::HOST).cloned(),
    }
}
