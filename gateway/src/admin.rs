//! The admin listener: `/healthz`, `/readyz` and Prometheus `/metrics`, in
//! plain HTTP/1.1, meant for loopback or a private network.
//!
//! `/healthz` answers 200 while the process serves at all; `/readyz`
//! answers 200 only once the configuration is loaded and every listener is
//! bound, and 503 again while draining at shutdown, so a load balancer
//! stops sending traffic before connections close; also 503 while the
//! audit log cannot be written and the gateway fails closed (it would
//! refuse every request).

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::{
    audit::Auditor,
    body::{self, Body},
    error::error_response,
    metrics::Metrics,
};

/// Whether the gateway should receive traffic.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    serving: AtomicBool,
    audit: Option<Arc<Auditor>>,
}

impl Readiness {
    /// Not ready until [`set`](Self::set); never while `audit` refuses.
    pub(crate) fn new(audit: Option<Arc<Auditor>>) -> Self {
        Self {
            serving: AtomicBool::new(false),
            audit,
        }
    }

    pub(crate) fn set(&self, ready: bool) {
        self.serving.store(ready, Ordering::SeqCst);
    }

    pub(crate) fn get(&self) -> bool {
        self.serving.load(Ordering::SeqCst) && self.audit.as_ref().is_none_or(|a| a.serves())
    }
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "admin listener failed to accept");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let readiness = readiness.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&request, &metrics, &readiness);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    request: &Request<Incoming>,
    metrics: &Metrics,
    readiness: &Readiness,
) -> Response<Body> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the admin endpoints answer GET only",
            None,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n", "text/plain; charset=utf-8"),
        "/readyz" if readiness.get() => {
            text(StatusCode::OK, "ready\n", "text/plain; charset=utf-8")
        }
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready\n",
            "text/plain; charset=utf-8",
        ),
        "/metrics" => text(
            StatusCode::OK,
            metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        _ => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "admin endpoints: /healthz, /readyz, /metrics",
            None,
        ),
    }
}

fn text(
    status: StatusCode,
    body: impl Into<bytes::Bytes>,
    content_type: &'static str,
) -> Response<Body> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
