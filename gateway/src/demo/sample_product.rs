//! The demo's built-in sample data product: a small JSON API over synthetic customers.
//!
//! This module owns the HTTP side of the demo's upstream: routing, query
//! parsing, JSON and NDJSON responses, and a graceful accept loop that speaks
//! HTTP/1.1 and h2c on one port. It is deliberately the kind of plain,
//! unprotected data-product API maskgate guards: it knows nothing of the
//! gateway, and the data comes from `customers`.
//!
//! | request | response |
//! | --- | --- |
//! | `GET /customers?limit=N&offset=M` | `{"items":[...],"total":T,"limit":N,"offset":M}`; `limit` 1 to 1000, default 50 |
//! | `GET /customers/{id}` | the customer, or 404 |
//! | `GET /customers/export.ndjson` | every customer, one JSON object a line, streamed in chunks |
//! | `POST /customers` | the JSON object sent, with a new `id`, 201; nothing is stored, so the new id is not readable afterwards |
//!
//! Errors are `{"error":{"status":S,"message":"..."}}` with that status; a
//! known path with another method gets 405 and `Allow`. Each customer is
//! serialized once, when the product is built, and responses are assembled
//! from those bytes.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{ALLOW, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::customers;

/// How many customers `maskgate demo` serves unless told otherwise.
pub const DEFAULT_CUSTOMERS: usize = 1000;

/// The seed `maskgate demo` generates its customers from: "maskgate" in ASCII.
pub const DEFAULT_SEED: u64 = 0x6d61_736b_6761_7465;

/// Page size when the query names none.
const DEFAULT_LIMIT: usize = 50;
/// Largest page size a query may ask for.
const MAX_LIMIT: usize = 1000;
/// Customers per frame of the NDJSON export.
const EXPORT_CHUNK: usize = 64;
/// Largest request body `POST /customers` reads.
const MAX_BODY: usize = 1024 * 1024;
/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after an accept error that is not about one connection (e.g. out of
/// file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";

/// The sample data product: synthetic customers behind a JSON API.
///
/// Cloning is cheap: clones share the generated data.
#[derive(Clone)]
pub struct SampleProduct {
    catalog: Arc<Catalog>,
    /// `Authorization: Bearer <this>` required on every request, if set.
    required_bearer: Option<Arc<str>>,
}

/// What the handlers share: the customers, serialized once.
struct Catalog {
    /// Customer `id` at index `id - 1`, as JSON.
    customers: Vec<Bytes>,
    /// Length of the NDJSON export: every customer plus its newline.
    export_len: u64,
    /// The id the next `POST /customers` answers with.
    next_id: AtomicU32,
}

type ResponseBody = Either<Full<Bytes>, Export>;

impl SampleProduct {
    /// Generates `count` customers from `seed` and serializes each once.
    pub fn new(count: usize, seed: u64) -> Self {
        let customers: Vec<Bytes> = customers::generate(count, seed)
            .iter()
            .map(|customer| {
                Bytes::from(serde_json::to_vec(customer).expect("a customer always serializes"))
            })
            .collect();
        let export_len = customers.iter().map(|c| c.len() as u64 + 1).sum();
        let next_id = u32::try_from(customers.len() + 1).unwrap_or(u32::MAX);
        Self {
            catalog: Arc::new(Catalog {
                customers,
                export_len,
                next_id: AtomicU32::new(next_id),
            }),
            required_bearer: None,
        }
    }

    /// Requires `Authorization: Bearer <token>` on every request (401
    /// otherwise): a product that trusts only the gateway, which holds the
    /// token (`maskgate demo --vault` keeps it in Vault's KV).
    #[must_use]
    pub fn requiring_bearer(mut self, token: &str) -> Self {
        self.required_bearer = Some(Arc::from(format!("Bearer {token}")));
        self
    }

    /// Serve connections from `listener` until `shutdown` resolves; in-flight requests finish (graceful).
    ///
    /// Once `shutdown` resolves the listener is closed, idle connections are
    /// closed, and this returns when the requests in flight have completed.
    /// Errors accepting one connection are logged and do not stop the loop;
    /// the only error returned is the listener's address being unreadable.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(%local, customers = self.catalog.customers.len(), "sample product listening");

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);

        loop {
            let stream = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) if is_connection_error(&error) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "sample product: accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
            };
            let catalog = Arc::clone(&self.catalog);
            let required = self.required_bearer.clone();
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let catalog = Arc::clone(&catalog);
                let authorized = required.as_deref().is_none_or(|expected| {
                    request
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .is_some_and(|got| got.as_bytes() == expected.as_bytes())
                });
                async move {
                    if !authorized {
                        return Ok::<_, Infallible>(error(
                            StatusCode::UNAUTHORIZED,
                            "this product answers only the gateway (bearer token required)",
                        ));
                    }
                    Ok::<_, Infallible>(route(&catalog, request).await)
                }
            });
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "sample product: connection ended with an error");
                }
            });
        }

        drop(listener);
        graceful.shutdown().await;
        tracing::info!(%local, "sample product stopped");
        Ok(())
    }
}

/// Accept errors that concern one connection only: the next accept can succeed.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn route<B>(catalog: &Arc<Catalog>, request: Request<B>) -> Response<ResponseBody>
where
    B: Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let path = request.uri().path();
    let allow = match path {
        "/customers" => "GET, POST",
        "/customers/export.ndjson" => "GET",
        _ if is_single_customer(path) => "GET",
        _ => return error(StatusCode::NOT_FOUND, "not found"),
    };
    match (request.method(), path) {
        (&Method::GET, "/customers") => list(catalog, request.uri().query()),
        (&Method::POST, "/customers") => create(catalog, request).await,
        (&Method::GET, "/customers/export.ndjson") => export(catalog),
        (&Method::GET, _) => by_id(catalog, &path["/customers/".len()..]),
        _ => {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            response
        }
    }
}

/// `/customers/{id}`: one more segment, whatever it holds.
fn is_single_customer(path: &str) -> bool {
    path.strip_prefix("/customers/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// A page of the customer list.
#[derive(Debug, PartialEq, Eq)]
struct Page {
    limit: usize,
    offset: usize,
}

/// Reads `limit` and `offset` from a query string; other parameters are ignored.
fn parse_page(query: Option<&str>) -> Result<Page, &'static str> {
    let mut page = Page {
        limit: DEFAULT_LIMIT,
        offset: 0,
    };
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => {
                page.limit = value
                    .parse()
                    .ok()
                    .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                    .ok_or("limit must be an integer from 1 to 1000")?;
            }
            "offset" => {
                page.offset = value
                    .parse()
                    .map_err(|_| "offset must be a non-negative integer")?;
            }
            _ => {}
        }
    }
    Ok(page)
}

fn list(catalog: &Catalog, query: Option<&str>) -> Response<ResponseBody> {
    let page = match parse_page(query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let total = catalog.customers.len();
    let start = page.offset.min(total);
    let end = start.saturating_add(page.limit).min(total);
    let items = &catalog.customers[start..end];

    let mut body = BytesMut::with_capacity(items.iter().map(Bytes::len).sum::<usize>() + 128);
    body.extend_from_slice(b"{\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b",");
        }
        body.extend_from_slice(item);
    }
    write!(
        body,
        "],\"total\":{total},\"limit\":{},\"offset\":{}}}",
        page.limit, page.offset
    )
    .expect("writing to a BytesMut cannot fail");
    json(StatusCode::OK, body.freeze())
}

fn by_id(catalog: &Catalog, id: &str) -> Response<ResponseBody> {
    let customer = id
        .parse::<usize>()
        .ok()
        .and_then(|id| catalog.customers.get(id.checked_sub(1)?));
    match customer {
        Some(customer) => json(StatusCode::OK, customer.clone()),
        None => error(StatusCode::NOT_FOUND, "no such customer"),
    }
}

fn export(catalog: &Arc<Catalog>) -> Response<ResponseBody> {
    let body = Export {
        catalog: Arc::clone(catalog),
        next: 0,
        remaining: catalog.export_len,
    };
    let mut response = Response::new(Either::Right(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    response
}

/// `POST /customers`: echoes the JSON object with a fresh `id`; stores nothing.
async fn create<B>(catalog: &Catalog, request: Request<B>) -> Response<ResponseBody>
where
    B: Body,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    if !is_json(request.headers()) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type must be application/json",
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body larger than 1 MiB");
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, "could not read the body"),
    };
    // The serde error is not echoed: it can quote the payload.
    let Ok(mut customer) =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
    else {
        return error(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    let id = catalog.next_id.fetch_add(1, Ordering::Relaxed);
    customer.insert("id".to_owned(), id.into());
    let body = serde_json::to_vec(&customer).expect("a JSON map always serializes");
    let mut response = json(StatusCode::CREATED, body.into());
    response.headers_mut().insert(
        LOCATION,
        HeaderValue::try_from(format!("/customers/{id}")).expect("digits are a valid header"),
    );
    response
}

/// Whether the media type is `application/json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(JSON))
}

fn json(status: StatusCode, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn error(status: StatusCode, message: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({ "error": { "status": status.as_u16(), "message": message } });
    json(status, body.to_string().into())
}

/// The NDJSON export body: hands out the serialized customers
/// [`EXPORT_CHUNK`] at a time, so the export never sits in one buffer.
struct Export {
    catalog: Arc<Catalog>,
    /// Index of the next customer to send.
    next: usize,
    /// Bytes not yet sent.
    remaining: u64,
}

impl Body for Export {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let customers = &self.catalog.customers;
        let end = (self.next + EXPORT_CHUNK).min(customers.len());
        if self.next >= end {
            return Poll::Ready(None);
        }
        let lines = &customers[self.next..end];
        let mut chunk = BytesMut::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            chunk.extend_from_slice(line);
            chunk.extend_from_slice(b"\n");
        }
        let this = &mut *self;
        this.next = end;
        this.remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk.freeze()))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use serde_json::Value;
    use tokio::sync::oneshot;

    use super::*;

    const COUNT: usize = 120;

    fn catalog() -> Arc<Catalog> {
        SampleProduct::new(COUNT, DEFAULT_SEED).catalog
    }

    fn request(method: Method, uri: &str, body: &'static str) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(CONTENT_TYPE, JSON)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    async fn call(method: Method, uri: &str, body: &'static str) -> (Response<()>, Bytes) {
        let response = route(&catalog(), request(method, uri, body)).await;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (Response::from_parts(parts, ()), bytes)
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    fn assert_error(response: &Response<()>, body: &[u8], status: StatusCode) {
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()[CONTENT_TYPE], JSON);
        let body = json_of(body);
        assert_eq!(body["error"]["status"], status.as_u16());
        assert!(body["error"]["message"].is_string());
    }

    #[test]
    fn page_parameters_default_parse_and_reject() {
        let page = |limit, offset| Ok(Page { limit, offset });
        assert_eq!(parse_page(None), page(50, 0));
        assert_eq!(parse_page(Some("")), page(50, 0));
        assert_eq!(parse_page(Some("limit=5&offset=10&x=y")), page(5, 10));
        assert_eq!(parse_page(Some("limit=1000")), page(1000, 0));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=",
            "limit",
            "offset=a",
        ] {
            assert!(parse_page(Some(bad)).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn lists_a_page_with_totals() {
        let (response, body) = call(Method::GET, "/customers?limit=7&offset=3", "").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], JSON);
        let body = json_of(&body);
        assert_eq!(body["total"], COUNT);
        assert_eq!(
            (body["limit"].as_u64(), body["offset"].as_u64()),
            (Some(7), Some(3))
        );
        let ids: Vec<u64> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, (4..=10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_page_past_the_end_is_short_or_empty() {
        let (_, body) = call(Method::GET, "/customers?offset=100", "").await;
        assert_eq!(json_of(&body)["items"].as_array().unwrap().len(), 20);
        let (_, body) = call(Method::GET, "/customers?offset=5000", "").await;
        assert_eq!(json_of(&body)["items"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn bad_page_parameters_are_400() {
        let (response, body) = call(Method::GET, "/customers?limit=5000", "").await;
        assert_error(&response, &body, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn gets_one_customer_or_404() {
        let (response, body) = call(Method::GET, "/customers/42", "").await;
        assert_eq!(response.status(), StatusCode::OK);
        let expected = serde_json::to_value(&customers::generate(42, DEFAULT_SEED)[41]).unwrap();
        assert_eq!(json_of(&body), expected);
        for missing in ["/customers/0", "/customers/121", "/customers/abc", "/nope"] {
            let (response, body) = call(Method::GET, missing, "").await;
            assert_error(&response, &body, StatusCode::NOT_FOUND);
        }
    }

    #[tokio::test]
    async fn wrong_methods_are_405_with_allow() {
        for (method, uri, allow) in [
            (Method::DELETE, "/customers", "GET, POST"),
            (Method::PUT, "/customers/1", "GET"),
            (Method::POST, "/customers/export.ndjson", "GET"),
        ] {
            let (response, body) = call(method, uri, "").await;
            assert_error(&response, &body, StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(response.headers()[ALLOW], allow);
        }
    }

    #[tokio::test]
    async fn post_echoes_the_object_with_a_new_id() {
        let catalog = catalog();
        for expected_id in [121, 122] {
            let post = request(Method::POST, "/customers", r#"{"id":7,"name":"Ada"}"#);
            let response = route(&catalog, post).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            assert_eq!(
                response.headers()[LOCATION],
                format!("/customers/{expected_id}")
            );
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                json_of(&body),
                serde_json::json!({ "id": expected_id, "name": "Ada" })
            );
        }
    }

    #[tokio::test]
    async fn post_refuses_what_is_not_a_json_object() {
        let (response, body) = call(Method::POST, "/customers", "[1, 2]").await;
        assert_error(&response, &body, StatusCode::BAD_REQUEST);
        let (response, body) = call(Method::POST, "/customers", "{").await;
        assert_error(&response, &body, StatusCode::BAD_REQUEST);

        let mut text = request(Method::POST, "/customers", "{}");
        text.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let response = route(&catalog(), text).await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let huge = Request::post("/customers")
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Full::new(Bytes::from(vec![b' '; MAX_BODY + 1])))
            .unwrap();
        let response = route(&catalog(), huge).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn export_streams_every_customer_in_chunks() {
        let response = route(
            &catalog(),
            request(Method::GET, "/customers/export.ndjson", ""),
        )
        .await;
        assert_eq!(response.headers()[CONTENT_TYPE], NDJSON);
        let mut body = response.into_body();
        let exact = body.size_hint().exact().unwrap();
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            frames.push(frame.unwrap().into_data().unwrap());
        }
        assert!(body.is_end_stream());
        assert_eq!(frames.len(), COUNT.div_ceil(EXPORT_CHUNK));
        let all: Vec<u8> = frames.concat();
        assert_eq!(all.len() as u64, exact);
        let text = std::str::from_utf8(&all).unwrap();
        let ids: Vec<u64> = text
            .lines()
            .map(|line| json_of(line.as_bytes())["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, (1..=COUNT as u64).collect::<Vec<_>>());
    }

    /// A running product on a loopback port, and the handles to stop it.
    struct Running {
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        served: tokio::task::JoinHandle<io::Result<()>>,
    }

    async fn start(product: SampleProduct) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(product.serve(listener, async {
            let _ = stopped.await;
        }));
        Running { addr, stop, served }
    }

    fn client(http2_only: bool) -> Client<HttpConnector, Empty<Bytes>> {
        Client::builder(TokioExecutor::new())
            .http2_only(http2_only)
            .build_http()
    }

    async fn get(
        client: &Client<HttpConnector, Empty<Bytes>>,
        addr: SocketAddr,
        path: &str,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let request = Request::get(format!("http://{addr}{path}"))
            .body(Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_http1_and_h2c_over_a_socket() {
        let running = start(SampleProduct::new(DEFAULT_CUSTOMERS, DEFAULT_SEED)).await;
        for http2_only in [false, true] {
            let client = client(http2_only);
            let (status, _, body) =
                get(&client, running.addr, "/customers?limit=10&offset=990").await;
            assert_eq!(status, StatusCode::OK);
            let page = json_of(&body);
            assert_eq!(page["items"].as_array().unwrap().len(), 10);
            assert_eq!(page["items"][9]["id"], 1000);
            assert_eq!(page["total"], DEFAULT_CUSTOMERS);

            let (status, headers, body) = get(&client, running.addr, "/customers/1000").await;
            assert_eq!(
                (status, &headers[CONTENT_TYPE]),
                (StatusCode::OK, &HeaderValue::from_static(JSON))
            );
            assert_eq!(json_of(&body)["id"], 1000);

            let (status, _, _) = get(&client, running.addr, "/customers/1001").await;
            assert_eq!(status, StatusCode::NOT_FOUND);

            let delete = Request::delete(format!("http://{}/customers", running.addr))
                .body(Empty::new())
                .unwrap();
            let response = client.request(delete).await.unwrap();
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(response.headers()[ALLOW], "GET, POST");

            let (status, headers, body) =
                get(&client, running.addr, "/customers/export.ndjson").await;
            assert_eq!(
                (status, &headers[CONTENT_TYPE]),
                (StatusCode::OK, &HeaderValue::from_static(NDJSON))
            );
            assert_eq!(
                body.split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count(),
                DEFAULT_CUSTOMERS
            );
        }
        running.stop.send(()).unwrap();
        running.served.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_lets_the_request_in_flight_finish() {
        // An export (about 8 MiB) larger than what the socket buffers on both
        // sides and hyper's own buffers can hold, read through a small receive
        // window: the server is still writing it when told to stop.
        const LARGE: usize = 20_000;
        let running = start(SampleProduct::new(LARGE, DEFAULT_SEED)).await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(running.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get("/customers/export.ndjson")
            .header(http::header::HOST, running.addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();

        running.stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !running.served.is_finished(),
            "serve waits for the export in flight"
        );
        assert!(
            tokio::net::TcpStream::connect(running.addr).await.is_err(),
            "the listener is closed at once"
        );

        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.iter().filter(|&&b| b == b'\n').count(), LARGE);
        tokio::time::timeout(Duration::from_secs(10), running.served)
            .await
            .expect("serve returns once the export is done")
            .unwrap()
            .unwrap();
    }
}
