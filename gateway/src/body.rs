//! The body type every layer of the gateway speaks, and the request-body
//! size limit.
//!
//! Bodies are streamed: [`LimitedBody`] counts bytes as frames pass and fails
//! the stream once the limit is crossed, so a large upload is refused without
//! ever being held in memory. What the client still sends after that is read
//! and thrown away for a bounded while ([`discard`]), so that it gets to read
//! the 413 rather than a connection reset.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use pin_project_lite::pin_project;

/// A boxed error from any body or service in the stack.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The gateway's body type, for requests to upstreams and responses to
/// clients alike.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// A complete body from bytes in memory.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Boxes any body whose error converts into [`BoxError`].
pub(crate) fn boxed<B>(body: B) -> Body
where
    B: HttpBody<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed()
}

/// The request body outgrew its limit. Carried as the body's error so that
/// the proxy can recognize it in the upstream client's error chain and
/// answer 413.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds {limit} bytes")]
pub(crate) struct BodyTooLarge {
    pub(crate) limit: u64,
}

/// Where a [`LimitedBody`] leaves the rest of a body it refused, for the
/// proxy to [`discard`] once it has answered 413.
#[derive(Debug)]
pub(crate) struct Leftover<B>(Arc<Mutex<Option<B>>>);

impl<B> Leftover<B> {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }

    /// The refused body's unread rest, if the limit was crossed.
    pub(crate) fn take(&self) -> Option<B> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn put(&self, body: B) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
    }
}

impl<B> Clone for Leftover<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// A body that fails with [`BodyTooLarge`] once more than `limit` bytes of
/// data have passed, leaving its unread rest in a [`Leftover`].
pub(crate) struct LimitedBody<B> {
    inner: Option<B>,
    remaining: u64,
    limit: u64,
    leftover: Leftover<B>,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64, leftover: Leftover<B>) -> Self {
        Self {
            inner: Some(inner),
            remaining: limit,
            limit,
            leftover,
        }
    }
}

impl<B> HttpBody for LimitedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match std::task::ready!(Pin::new(inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.remaining {
                        this.remaining = 0;
                        if let Some(rest) = this.inner.take() {
                            this.leftover.put(rest);
                        }
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge {
                            limit: this.limit,
                        }))));
                    }
                    this.remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

/// How much of a refused body is read and thrown away at most.
const DISCARD_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// How long a refused body is read and thrown away at most.
const DISCARD_MAX_TIME: Duration = Duration::from_secs(2);

/// Reads and throws away what is left of a refused request body, in the
/// background, for at most [`DISCARD_MAX_BYTES`] and [`DISCARD_MAX_TIME`].
///
/// A server that closes a connection with unread request data in its
/// socket makes the kernel send a reset, which can destroy the error
/// response before the client reads it; hyper itself tries one read and
/// then closes. Reading on for a bounded while is nginx's "lingering
/// close". A client whose body ends within the bounds keeps its connection.
pub(crate) fn discard<B>(body: B)
where
    B: HttpBody + Send + Unpin + 'static,
{
    tokio::spawn(async move {
        let mut body = body;
        let mut read = 0u64;
        let _ = tokio::time::timeout(DISCARD_MAX_TIME, async {
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    read += bytes::Buf::remaining(data) as u64;
                }
                if read > DISCARD_MAX_BYTES {
                    break;
                }
            }
        })
        .await;
    });
}

/// Lets go of a request the gateway refuses before forwarding (401, 403,
/// 429): its body, if it has one, is read and thrown away as by
/// [`discard`], unless the client waits for `100 Continue` and so sends
/// nothing more.
pub(crate) fn discard_refused<B>(request: http::Request<B>)
where
    B: HttpBody + Send + Unpin + 'static,
{
    let waits_for_continue = request
        .headers()
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let body = request.into_body();
    if !waits_for_continue && !body.is_end_stream() {
        discard(body);
    }
}

pin_project! {
    /// A body that reports, through a oneshot channel, when it has been
    /// sent to its end: the sender fires at the last frame, or is dropped
    /// with the body (sent, failed or abandoned: sending is over either way).
    pub(crate) struct NotifyOnEnd<B> {
        #[pin]
        inner: B,
        ended: Option<tokio::sync::oneshot::Sender<()>>,
    }
}

impl<B: HttpBody> NotifyOnEnd<B> {
    pub(crate) fn new(inner: B, ended: tokio::sync::oneshot::Sender<()>) -> Self {
        let mut ended = Some(ended);
        if inner.is_end_stream() {
            // Nothing to send (e.g. a GET): hyper may never poll it.
            let _ = ended.take().map(|tx| tx.send(()));
        }
        Self { inner, ended }
    }
}

impl<B: HttpBody> HttpBody for NotifyOnEnd<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        let done = match &frame {
            None | Some(Err(_)) => true,
            Some(Ok(_)) => this.inner.is_end_stream(),
        };
        if done {
            let _ = this.ended.take().map(|tx| tx.send(()));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Walks an error's `source()` chain looking for a `T`.
pub(crate) fn find_in_chain<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use http_body_util::StreamBody;

    use super::*;

    fn chunks(sizes: &[usize]) -> impl HttpBody<Data = Bytes, Error = BoxError> + Unpin + use<> {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = sizes
            .iter()
            .map(|&n| Ok(Frame::data(Bytes::from(vec![b'x'; n]))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn passes_a_body_at_the_limit() {
        let body = LimitedBody::new(chunks(&[4, 4, 2]), 10, Leftover::new());
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 10);
    }

    #[tokio::test]
    async fn notifies_when_the_body_has_been_sent() {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let mut body = NotifyOnEnd::new(chunks(&[3, 3]), tx);
        assert!(body.frame().await.is_some());
        assert!(rx.try_recv().is_err(), "not yet: one frame is left");
        while body.frame().await.is_some() {}
        assert_eq!(rx.try_recv(), Ok(()));

        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let _empty = NotifyOnEnd::new(http_body_util::Empty::<Bytes>::new(), tx);
        assert_eq!(rx.try_recv(), Ok(()), "an empty body is sent at once");
    }

    #[tokio::test]
    async fn fails_one_byte_over_the_limit_and_leaves_the_rest() {
        let leftover = Leftover::new();
        let body = LimitedBody::new(chunks(&[4, 4, 3, 5, 6]), 10, leftover.clone());
        let error = body.collect().await.unwrap_err();
        let found = find_in_chain::<BodyTooLarge>(error.as_ref()).expect("BodyTooLarge");
        assert_eq!(found.limit, 10);
        let rest = leftover.take().expect("the unread rest is left over");
        let unread = rest.collect().await.unwrap().to_bytes();
        assert_eq!(
            unread.len(),
            11,
            "the frames after the one that crossed the limit"
        );
        assert!(leftover.take().is_none());
    }
}
