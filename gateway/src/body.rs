//! The body type every layer of the gateway speaks, and the request-body
//! size limit.
//!
//! Bodies are streamed: [`LimitedBody`] counts bytes as frames pass and fails
//! the stream once the limit is crossed, so a large upload is refused without
//! ever being held in memory.

use std::{
    pin::Pin,
    task::{Context, Poll},
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

pin_project! {
    /// A body that fails with [`BodyTooLarge`] once more than `limit` bytes
    /// of data have passed.
    pub(crate) struct LimitedBody<B> {
        #[pin]
        inner: B,
        remaining: u64,
        limit: u64,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64) -> Self {
        Self {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<B> HttpBody for LimitedBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match std::task::ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > *this.remaining {
                        *this.remaining = 0;
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge {
                            limit: *this.limit,
                        }))));
                    }
                    *this.remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None => Poll::Ready(None),
        }
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

    fn chunks(sizes: &[usize]) -> impl HttpBody<Data = Bytes, Error = BoxError> + use<> {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = sizes
            .iter()
            .map(|&n| Ok(Frame::data(Bytes::from(vec![b'x'; n]))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn passes_a_body_at_the_limit() {
        let body = LimitedBody::new(chunks(&[4, 4, 2]), 10);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 10);
    }

    #[tokio::test]
    async fn fails_one_byte_over_the_limit() {
        let body = LimitedBody::new(chunks(&[4, 4, 3]), 10);
        let error = body.collect().await.unwrap_err();
        let found = find_in_chain::<BodyTooLarge>(error.as_ref()).expect("BodyTooLarge");
        assert_eq!(found.limit, 10);
    }
}
