//! One client-facing listener: accepts connections, terminates TLS, and
//! serves HTTP/1.1 and HTTP/2 on each through the gateway's service stack.

use std::{convert::Infallible, sync::Arc, time::Duration};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use maskgate_authn::AuthError;
use maskgate_config::{HttpVersion, Limits, ServerTimeouts};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::{
    access::AccessLayer,
    audit::{AuditLayer, AuditTapLayer, Auditor},
    authenticate::AuthenticateLayer,
    body::Body,
    caller::CallerInfo,
    header_limit::HeaderLimitLayer,
    metrics::Metrics,
    proxy::{Connection, ProxyService},
    rate_limit::RateLimitLayer,
    request_id::RequestIdLayer,
    route::RouteLayer,
};

use super::generation::{Current, Generation};

/// One worker's socket for a configured listener, and how to serve it.
pub(super) struct Listener {
    pub(super) name: Arc<str>,
    pub(super) tcp: std::net::TcpListener,
    pub(super) tls: Option<TlsAcceptor>,
    pub(super) http_versions: Vec<HttpVersion>,
}

/// What a worker serves connections with: the current generation (from
/// which it takes its own upstream pools), and what is fixed at start-up.
pub(super) struct Serving {
    /// This worker's index: its proxy in each generation.
    pub(super) worker: usize,
    pub(super) current: Current,
    pub(super) metrics: Arc<Metrics>,
    /// The request-head limits at start-up: hyper's parser ceiling.
    pub(super) head_limits: Limits,
    pub(super) timeouts: ServerTimeouts,
    /// The audit log, if `[audit]` is configured (fixed at start-up).
    pub(super) auditor: Option<Arc<Auditor>>,
}

impl Listener {
    /// Accepts connections until `stop` fires or its sender is dropped;
    /// each connection is watched by `graceful` so that shutdown can drain
    /// it. Must run inside the worker's runtime.
    pub(super) async fn run(
        self,
        serving: Arc<Serving>,
        graceful: Arc<GracefulShutdown>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let name = self.name;
        let tcp = match TcpListener::from_std(self.tcp) {
            Ok(tcp) => tcp,
            Err(error) => {
                tracing::error!(listener = %name, %error, "cannot serve on the bound socket");
                return;
            }
        };
        let builder = Arc::new(http_builder(
            &serving,
            &self.http_versions,
            self.tls.is_some(),
        ));
        loop {
            let (stream, remote) = tokio::select! {
                _ = stop.changed() => return,
                accepted = tcp.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning, and keep serving.
                        tracing::warn!(listener = %name, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                remote,
                tls: self.tls.is_some(),
            };
            tokio::spawn(serve_connection(
                stream,
                connection,
                self.tls.clone(),
                builder.clone(),
                serving.clone(),
                graceful.watcher(),
                name.clone(),
            ));
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    connection: Connection,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    serving: Arc<Serving>,
    watcher: hyper_util::server::graceful::Watcher,
    listener: Arc<str>,
) {
    let _guard = serving.metrics.connection_opened(&listener);
    let result = match tls {
        None => {
            let service = connection_service(serving.clone(), connection, None);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            watcher.watch(conn.into_owned()).await
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(
                serving.timeouts.tls_handshake.get(),
                acceptor.accept(stream),
            );
            let stream = match handshake.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(remote = %connection.remote, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(remote = %connection.remote, "TLS handshake timed out");
                    return;
                }
            };
            // A client certificate (verified by rustls against the
            // listener's client_ca) identifies its caller once for the
            // whole connection.
            // (With the configuration of the time: a reload applies to
            // certificates on new connections.)
            let session = stream.get_ref().1;
            let identity =
                serving
                    .current
                    .load()
                    .authentication
                    .as_ref()
                    .and_then(|authentication| {
                        authentication.identify_certificate(
                            session.peer_certificates().and_then(|c| c.first()),
                        )
                    });
            let service = connection_service(serving.clone(), connection, identity);
            // ALPN decides the protocol; without ALPN, HTTP/1.1.
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let builder = if h2 {
                (*builder).clone().http2_only()
            } else {
                (*builder).clone().http1_only()
            };
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            watcher.watch(conn.into_owned()).await
        }
    };
    if let Err(error) = result {
        tracing::debug!(remote = %connection.remote, %error, "connection ended with an error");
    }
}

/// The service of one connection: each request is served by the stack of
/// the generation current when it arrives, so a reload reaches open
/// connections too.
fn connection_service(
    serving: Arc<Serving>,
    connection: Connection,
    certificate_identity: Option<Result<CallerInfo, AuthError>>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    let certificate_identity = certificate_identity.map(Arc::new);
    hyper::service::service_fn(move |request| {
        let generation = serving.current.load_full();
        request_stack(
            &serving,
            &generation,
            connection,
            certificate_identity.clone(),
        )
        .oneshot(request)
    })
}

/// What a request passes through, outermost first.
fn request_stack(
    serving: &Serving,
    generation: &Generation,
    connection: Connection,
    certificate_identity: Option<Arc<Result<CallerInfo, AuthError>>>,
) -> impl Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future: Send + 'static,
> + use<> {
    ServiceBuilder::new()
        .layer(RequestIdLayer)
        // Outside everything that can refuse or fail a request: exactly one
        // record each (inner layers leave their facts for it).
        .layer(AuditLayer::new(
            serving.auditor.clone(),
            generation.policy_version.clone(),
            connection.remote,
        ))
        .layer(HeaderLimitLayer::new(
            generation.limits.max_headers,
            generation.limits.max_header_bytes.bytes(),
        ))
        .layer(RouteLayer::new(
            generation.products.clone(),
            serving.metrics.clone(),
        ))
        // Verifies credentials and puts a `CallerInfo` into the request's
        // extensions; a request without credentials goes on without one,
        // and the access layer answers 401.
        .layer(AuthenticateLayer::new(
            generation.authentication.clone(),
            certificate_identity,
        ))
        // The product and the caller, for a refusal by access rules.
        .layer(AuditTapLayer)
        .layer(AccessLayer)
        // The purpose, for a refusal by rate limits.
        .layer(AuditTapLayer)
        .layer(RateLimitLayer::new(generation.rate_limits.clone()))
        .service(ProxyService::new(
            generation.proxies[serving.worker].clone(),
            generation.protection.clone(),
            connection,
        ))
}

/// The HTTP server settings for one listener.
fn http_builder(
    serving: &Serving,
    versions: &[HttpVersion],
    tls: bool,
) -> auto::Builder<TokioExecutor> {
    let limits = &serving.head_limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's parser limits sit at twice ours so that the header-limit
    // layer, not the parser, answers ordinary oversize requests (with the
    // JSON error); hyper's bare 431 remains the backstop for abuse.
    let head_ceiling = usize::try_from(limits.max_header_bytes.bytes())
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .max(8192);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(serving.timeouts.header_read.get())
        .max_buf_size(head_ceiling)
        .max_headers(limits.max_headers.saturating_mul(2));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(head_ceiling).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)));
    // Plaintext with one version only: refuse the other rather than guess.
    // (Over TLS, ALPN picks the version per connection.)
    match (tls, versions) {
        (false, [HttpVersion::Http1]) => builder.http1_only(),
        (false, [HttpVersion::Http2]) => builder.http2_only(),
        _ => builder,
    }
}
