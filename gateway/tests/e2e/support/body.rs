//! Body types for test requests and responses.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::stream;
use http_body::Frame;
use http_body_util::{BodyExt, Empty, Full, StreamBody, combinators::BoxBody};

/// A boxed error, as bodies and clients report them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The one body type the test clients and upstreams use.
pub type TestBody = BoxBody<Bytes, BoxError>;

/// No body.
pub fn empty() -> TestBody {
    Empty::new()
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A body from bytes in memory.
pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A body sent as exactly these chunks (to split values across frames).
pub fn chunks(parts: Vec<Bytes>) -> TestBody {
    StreamBody::new(stream::iter(
        parts
            .into_iter()
            .map(|part| Ok::<_, BoxError>(Frame::data(part))),
    ))
    .boxed()
}

/// One shared chunk, so that large streamed bodies allocate nothing per
/// chunk.
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// A body of exactly `total` bytes, produced as a stream of chunks of at
/// most `chunk` bytes (at most 64 KiB) without ever holding more than one
/// chunk. It announces no length: on HTTP/1.1 it travels chunked unless
/// the request sets `Content-Length`.
pub fn streamed(total: u64, chunk: usize) -> TestBody {
    assert!(chunk > 0 && chunk <= CHUNK.len(), "chunk size out of range");
    let frames = stream::unfold(total, move |remaining| async move {
        if remaining == 0 {
            return None;
        }
        let n = remaining.min(chunk as u64);
        let data = Bytes::from_static(&CHUNK[..n as usize]);
        Some((Ok::<_, BoxError>(Frame::data(data)), remaining - n))
    });
    StreamBody::new(frames).boxed()
}

/// Reads a body to its end, counting bytes without keeping them; an error
/// mid-way is returned with the count so far.
pub async fn count<B>(mut body: B) -> Result<u64, (u64, BoxError)>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    total += data.len() as u64;
                }
            }
            Err(error) => return Err((total, error.into())),
        }
    }
    Ok(total)
}

/// A `200` response carrying `body` as `application/json`.
pub fn json(body: TestBody) -> http::Response<TestBody> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
