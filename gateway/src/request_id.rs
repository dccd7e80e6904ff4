//! Request ids: every request carries an `X-Request-Id`, and so does its
//! response.
//!
//! A well-formed id sent by the client (1 to 128 characters of
//! `[A-Za-z0-9._:-]`) is kept so that traces join up across hops; anything
//! else is replaced by a fresh random-looking id, so a client cannot smuggle text into our
//! logs through it. The id is put in the request's extensions as
//! [`RequestId`] for later layers (errors, logs, audit), forwarded upstream,
//! and set on the response.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// `x-request-id`.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const MAX_LEN: usize = 128;

/// The request's id, as found in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) HeaderValue);

/// Assigns request ids; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = SetRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetRequestId { inner }
    }
}

/// The service [`RequestIdLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct SetRequestId<S> {
    inner: S,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for SetRequestId<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let id = match request.headers().get(&X_REQUEST_ID) {
            Some(value) if is_acceptable(value) => value.clone(),
            _ => generate(),
        };
        request
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), id.clone());
        request.extensions_mut().insert(RequestId(id.clone()));
        ResponseFuture {
            inner: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project! {
    /// Sets the id on the response once the inner service answers.
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            response.headers_mut().insert(X_REQUEST_ID.clone(), id);
        }
        Poll::Ready(Ok(response))
    }
}

fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Generated ids: 32 hex digits, unique per process and (with overwhelming
/// probability) across processes, without a system call per request (a v4
/// UUID costs a `getrandom` call each, measurable at proxy request rates).
///
/// The first half is a random per-process prefix; the second is a counter
/// passed through a keyed bijection (the SplitMix64 finalizer), so ids never
/// repeat within a process yet do not reveal the request count.
struct IdSource {
    prefix: u64,
    key: u64,
    counter: AtomicU64,
}

static IDS: LazyLock<IdSource> = LazyLock::new(|| {
    let (prefix, key) = uuid::Uuid::new_v4().as_u64_pair();
    IdSource {
        prefix,
        key,
        counter: AtomicU64::new(0),
    }
});

fn generate() -> HeaderValue {
    let ids = &*IDS;
    let n = ids.counter.fetch_add(1, Ordering::Relaxed);
    let text = format!("{:016x}{:016x}", ids.prefix, mix(n ^ ids.key));
    HeaderValue::from_str(&text).expect("hex digits are a valid header value")
}

/// The SplitMix64 finalizer: a bijection on `u64` that scatters bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;

    async fn echo_extension(request: Request<()>) -> Result<Response<String>, Infallible> {
        let id = request.extensions().get::<RequestId>().unwrap();
        assert_eq!(request.headers()[&X_REQUEST_ID], id.0);
        Ok(Response::new(id.0.to_str().unwrap().to_owned()))
    }

    async fn call(header: Option<&str>) -> Response<String> {
        let mut request = Request::new(());
        if let Some(value) = header {
            request
                .headers_mut()
                .insert(X_REQUEST_ID.clone(), HeaderValue::from_str(value).unwrap());
        }
        RequestIdLayer
            .layer(service_fn(echo_extension))
            .oneshot(request)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn keeps_a_well_formed_client_id() {
        let response = call(Some("trace-42.a_b:c")).await;
        assert_eq!(response.headers()[&X_REQUEST_ID], "trace-42.a_b:c");
        assert_eq!(response.body(), "trace-42.a_b:c");
    }

    #[tokio::test]
    async fn replaces_a_missing_or_hostile_id() {
        for header in [None, Some("has space"), Some(&"x".repeat(129)), Some("")] {
            let response = call(header).await;
            let id = response.headers()[&X_REQUEST_ID].to_str().unwrap();
            assert_eq!(id.len(), 32, "{header:?}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(response.body(), id);
        }
    }

    #[tokio::test]
    async fn generated_ids_differ() {
        let a = call(None).await;
        let b = call(None).await;
        assert_ne!(a.headers()[&X_REQUEST_ID], b.headers()[&X_REQUEST_ID]);
    }

    #[test]
    fn ten_thousand_generated_ids_are_distinct_and_not_sequential() {
        let ids: std::collections::HashSet<HeaderValue> = (0..10_000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 10_000);
        let (a, b) = (generate(), generate());
        let tail = |v: &HeaderValue| u64::from_str_radix(&v.to_str().unwrap()[16..], 16).unwrap();
        assert_ne!(tail(&a).wrapping_add(1), tail(&b));
    }
}
