//! The audit middleware, in tower's shape: [`AuditLayer`] makes [`Audit`],
//! whose [`ResponseFuture`] turns the response body into an
//! [`AuditBody`](super::body::AuditBody); and [`AuditTapLayer`], which copies
//! what inner layers have established into the request's [`AuditFacts`].

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, atomic::AtomicU64},
    task::{Context, Poll},
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use http::{Request, Response, header};
use http_body::Body as HttpBody;
use maskgate_audit::{Outcome, Record, format_time};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{
    AuditFacts, Auditor,
    body::{AuditBody, CountingBody, Pending},
    purpose_name,
};
use crate::{
    body::{self, Body},
    caller::{CallerInfo, Purpose},
    error::{AuditReason, GatewayError},
    proxy::LeaseUsed,
    request_id::RequestId,
    route::RoutedProduct,
};

/// Writes one record per request; see the module docs. Without an
/// auditor (no `[audit]`), requests pass untouched (their bodies counted,
/// nothing written).
#[derive(Debug, Clone)]
pub(crate) struct AuditLayer {
    auditor: Option<Arc<Auditor>>,
    policy: Arc<str>,
    client: SocketAddr,
}

impl AuditLayer {
    pub(crate) fn new(auditor: Option<Arc<Auditor>>, policy: Arc<str>, client: SocketAddr) -> Self {
        Self {
            auditor,
            policy,
            client,
        }
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuditLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct Audit<S> {
    inner: S,
    layer: AuditLayer,
}

impl<S, ReqB> Service<Request<ReqB>> for Audit<S>
where
    S: Service<Request<CountingBody<ReqB>>, Response = Response<Body>, Error = Infallible>,
    ReqB: HttpBody<Data = Bytes> + Send + Unpin + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let Some(auditor) = self.layer.auditor.clone() else {
            let request = request.map(|b| CountingBody::new(b, None));
            return ResponseFuture::Inner {
                inner: self.inner.call(request),
                pending: None,
            };
        };
        let start = Instant::now();
        let bytes_in = Arc::new(AtomicU64::new(0));
        let request_id = request.extensions().get::<RequestId>().cloned();
        let mut record = Record::new(
            format_time(SystemTime::now()),
            request_id
                .as_ref()
                .and_then(|id| id.0.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            auditor.writer.instance().to_owned(),
            request.method().as_str().to_owned(),
            auditor
                .hasher
                .path_and_query(request.uri().path(), request.uri().query()),
        );
        record.client = Some(auditor.client(self.layer.client.ip()));
        record.policy = self.layer.policy.to_string();
        let facts = AuditFacts::default();
        let mut pending = Pending {
            auditor: auditor.clone(),
            facts: facts.clone(),
            record,
            start,
            bytes_in: bytes_in.clone(),
            bytes_out: 0,
            status: 0,
            reason: None,
            written: false,
        };
        if auditor.writer.fail_closed() && !auditor.writer.is_available() {
            // Fail closed: nothing is forwarded while records cannot be
            // kept. This refusal's own record waits in the writer's buffer.
            let error = GatewayError::AuditUnavailable;
            pending.status = error.status().as_u16();
            pending.reason = Some(error.audit_reason());
            pending.detach(Outcome::Complete);
            body::discard_refused(request);
            let response = error.into_response(request_id.as_ref().map(|id| &id.0));
            return ResponseFuture::Refused {
                response: Some(response),
            };
        }
        let mut request = request.map(|b| CountingBody::new(b, Some(bytes_in)));
        request.extensions_mut().insert(facts);
        ResponseFuture::Inner {
            inner: self.inner.call(request),
            pending: Some(pending),
        }
    }
}

pin_project! {
    /// Wraps the response body in an [`AuditBody`] once the response head
    /// is there.
    #[project = Projected]
    pub(crate) enum ResponseFuture<F> {
        Inner {
            #[pin]
            inner: F,
            pending: Option<Pending>,
        },
        Refused {
            response: Option<Response<Body>>,
        },
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            Projected::Inner { inner, pending } => {
                let response = std::task::ready!(inner.poll(cx))?;
                let Some(mut pending) = pending.take() else {
                    return Poll::Ready(Ok(response));
                };
                let (mut parts, body) = response.into_parts();
                pending.status = parts.status.as_u16();
                pending.reason = parts.extensions.remove::<AuditReason>();
                if let Some(LeaseUsed(lease)) = parts.extensions.remove::<LeaseUsed>() {
                    pending.facts.update(|facts| facts.leases.push(lease));
                }
                let fail_closed = pending.auditor.writer.fail_closed();
                if fail_closed {
                    // The end of the body is withheld until the record is
                    // durable: a length would announce it early.
                    parts.headers.remove(header::CONTENT_LENGTH);
                }
                let body = body::boxed(AuditBody::new(body, pending, fail_closed));
                Poll::Ready(Ok(Response::from_parts(parts, body)))
            }
        }
    }
}

/// Copies the product, caller and purpose that the layers before it have
/// put in the request's extensions into its [`AuditFacts`]. Placed after
/// routing, authentication and access, so that a refusal by any later
/// layer is recorded with what was known by then.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AuditTapLayer;

impl<S> Layer<S> for AuditTapLayer {
    type Service = AuditTap<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuditTap { inner }
    }
}

/// The service [`AuditTapLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct AuditTap<S> {
    inner: S,
}

impl<S, ReqB> Service<Request<ReqB>> for AuditTap<S>
where
    S: Service<Request<ReqB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let extensions = request.extensions();
        if let Some(facts) = extensions.get::<AuditFacts>() {
            facts.update(|facts| {
                if let Some(RoutedProduct(product)) = extensions.get::<RoutedProduct>() {
                    facts.product = Some(product.name.clone());
                    facts.route = Some(product.route.clone());
                }
                if facts.caller.is_none() {
                    facts.caller = extensions.get::<CallerInfo>().cloned();
                }
                if let Some(purpose) = extensions.get::<Purpose>() {
                    facts.purpose = Some(purpose_name(purpose));
                }
            });
        }
        self.inner.call(request)
    }
}
