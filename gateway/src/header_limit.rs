//! Limits on the request head: the number of headers and their total size.
//!
//! hyper enforces a hard ceiling while parsing (and answers a bare 431
//! beyond it); the listener sets that ceiling at twice the configured limits
//! so that this layer sees every request up to it and can refuse it with the
//! gateway's JSON error and a request id.

use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use http::{Request, Response};
use tower::{Layer, Service};

use crate::{body::Body, error::GatewayError, request_id::RequestId};

/// Refuses requests whose head exceeds the configured limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderLimitLayer {
    max_headers: usize,
    max_header_bytes: u64,
}

impl HeaderLimitLayer {
    pub(crate) fn new(max_headers: usize, max_header_bytes: u64) -> Self {
        Self {
            max_headers,
            max_header_bytes,
        }
    }
}

impl<S> Layer<S> for HeaderLimitLayer {
    type Service = HeaderLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimit {
            inner,
            limits: *self,
        }
    }
}

/// The service [`HeaderLimitLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct HeaderLimit<S> {
    inner: S,
    limits: HeaderLimitLayer,
}

impl<S, ReqB> Service<Request<ReqB>> for HeaderLimit<S>
where
    S: Service<Request<ReqB>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        match self.limits.check(&request) {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(error) => {
                let id = request.extensions().get::<RequestId>().map(|id| &id.0);
                Either::Right(ready(Ok(error.into_response(id))))
            }
        }
    }
}

impl HeaderLimitLayer {
    fn check<B>(&self, request: &Request<B>) -> Result<(), GatewayError> {
        let headers = request.headers();
        if headers.len() > self.max_headers {
            return Err(GatewayError::TooManyHeaders {
                limit: self.max_headers,
            });
        }
        if head_size(request) > self.max_header_bytes {
            return Err(GatewayError::HeadersTooLarge {
                limit: self.max_header_bytes,
            });
        }
        Ok(())
    }
}

/// The size of the request head as it travels in HTTP/1.1: request line,
/// and `name: value\r\n` for each header.
fn head_size<B>(request: &Request<B>) -> u64 {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len() + 3)
        + uri.scheme_str().map_or(0, str::len);
    let line = request.method().as_str().len() + target + 12;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (line + headers) as u64
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderName, HeaderValue, StatusCode};
    use tower::{ServiceExt, service_fn};

    use super::*;

    async fn call(layer: HeaderLimitLayer, headers: &[(String, String)]) -> StatusCode {
        let mut request = Request::new(());
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let inner = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(crate::body::full("ok")))
        });
        layer.layer(inner).oneshot(request).await.unwrap().status()
    }

    fn many(n: usize, value_len: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("x-h{i}"), "v".repeat(value_len)))
            .collect()
    }

    #[tokio::test]
    async fn counts_headers() {
        let layer = HeaderLimitLayer::new(10, 64 * 1024);
        assert_eq!(call(layer, &many(10, 1)).await, StatusCode::OK);
        assert_eq!(
            call(layer, &many(11, 1)).await,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn measures_header_bytes() {
        let layer = HeaderLimitLayer::new(100, 2048);
        assert_eq!(call(layer, &many(1, 1000)).await, StatusCode::OK);
        assert_eq!(
            call(layer, &many(3, 1000)).await,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }
}
