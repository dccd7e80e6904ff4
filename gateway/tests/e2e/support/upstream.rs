//! Upstream servers for the gateway to forward to.
//!
//! [`Upstream`] is a hyper server (HTTP/1.1 and h2c by prior knowledge, or
//! either over TLS) that reads each request body to its end, counting the
//! bytes, records what it saw, then lets the test's handler answer.
//! [`RawUpstream`] hands each accepted TCP connection to the test, for
//! upstreams that misbehave below HTTP.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use http::{HeaderMap, Method, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use rustls::ServerConfig;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

use super::{
    body::{self, TestBody},
    within,
};

/// What an upstream received: the request head and how much body.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request target as received (origin form over HTTP/1.1).
    pub uri: Uri,
    /// The protocol the request came over.
    pub version: Version,
    /// Every header, as received.
    pub headers: HeaderMap,
    /// Body bytes received.
    pub body_len: u64,
    /// Whether the body ended normally (false: the stream failed mid-way).
    pub body_complete: bool,
    /// Over TLS with client authentication: the client's certificate (DER).
    pub peer_certificate: Option<Vec<u8>>,
}

impl Seen {
    /// A header's value as text; panics if it is repeated or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "header {name} is repeated");
        Some(value.to_str().expect("a text header"))
    }

    /// The path and query as received.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("", |pq| pq.as_str())
    }
}

/// A hyper upstream on an ephemeral loopback port; stops when dropped.
pub struct Upstream {
    addr: SocketAddr,
    tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
    arrivals: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// A plaintext upstream (HTTP/1.1, and h2c by prior knowledge) whose
    /// `handler` answers every request.
    pub async fn start<H, F>(handler: H) -> Self
    where
        H: Fn(Seen) -> F + Send + Sync + 'static,
        F: Future<Output = Response<TestBody>> + Send + 'static,
    {
        Self::spawn(None, handler).await
    }

    /// The same over TLS with the given server configuration.
    pub async fn start_tls<H, F>(tls: Arc<ServerConfig>, handler: H) -> Self
    where
        H: Fn(Seen) -> F + Send + Sync + 'static,
        F: Future<Output = Response<TestBody>> + Send + 'static,
    {
        Self::spawn(Some(TlsAcceptor::from(tls)), handler).await
    }

    /// An upstream that answers every request `200 OK` with body `ok`.
    pub async fn ok() -> Self {
        Self::start(|_| async { Response::new(body::full("ok")) }).await
    }

    async fn spawn<H, F>(tls: Option<TlsAcceptor>, handler: H) -> Self
    where
        H: Fn(Seen) -> F + Send + Sync + 'static,
        F: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (arrived, arrivals) = watch::channel(0usize);
        let state = Arc::new(State {
            handler,
            seen: seen.clone(),
            arrived,
        });
        let is_tls = tls.is_some();
        let (addr, task) = accept_each("upstream", move |stream| {
            let state = state.clone();
            let tls = tls.clone();
            async move {
                match tls {
                    None => serve(TokioIo::new(stream), state, None).await,
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let peer = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first())
                                .map(|leaf| leaf.to_vec());
                            serve(TokioIo::new(stream), state, peer).await;
                        }
                    }
                }
            }
        })
        .await;
        Self {
            addr,
            tls: is_tls,
            seen,
            arrivals,
            task,
        }
    }

    /// The upstream's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// The only request received; panics unless there is exactly one.
    pub fn only_request(&self) -> Seen {
        let mut requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request: {requests:#?}");
        requests.remove(0)
    }

    /// Waits until at least `n` requests have arrived (bodies read).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut arrivals = self.arrivals.clone();
        within("waiting for requests at the upstream", async {
            arrivals
                .wait_for(|count| *count >= n)
                .await
                .expect("the upstream is running");
        })
        .await;
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State<H> {
    handler: H,
    seen: Arc<Mutex<Vec<Seen>>>,
    arrived: watch::Sender<usize>,
}

async fn serve<I, H, F>(io: TokioIo<I>, state: Arc<State<H>>, peer_certificate: Option<Vec<u8>>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Seen) -> F + Send + Sync + 'static,
    F: Future<Output = Response<TestBody>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let state = state.clone();
        let peer_certificate = peer_certificate.clone();
        async move {
            let (parts, incoming) = request.into_parts();
            let (body_len, body_complete) = match body::count(incoming).await {
                Ok(n) => (n, true),
                Err((n, _)) => (n, false),
            };
            let seen = Seen {
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body_len,
                body_complete,
                peer_certificate,
            };
            state.seen.lock().expect("not poisoned").push(seen.clone());
            state.arrived.send_modify(|count| *count += 1);
            Ok::<_, Infallible>((state.handler)(seen).await)
        }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, service)
        .await;
}

/// A TCP server that hands each accepted connection to the test's
/// closure: for upstreams that stall, reset, or speak broken HTTP.
pub struct RawUpstream {
    addr: SocketAddr,
    accepted: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl RawUpstream {
    /// Accepts connections on an ephemeral loopback port and runs
    /// `on_connection` for each.
    pub async fn start<H, F>(on_connection: H) -> Self
    where
        H: Fn(TcpStream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let (count, accepted) = watch::channel(0usize);
        let (addr, task) = accept_each("raw upstream", move |stream| {
            count.send_modify(|n| *n += 1);
            on_connection(stream)
        })
        .await;
        Self {
            addr,
            accepted,
            task,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        *self.accepted.borrow()
    }

    /// Waits until at least `n` connections have been accepted.
    pub async fn wait_for_accepted(&self, n: usize) {
        let mut accepted = self.accepted.clone();
        within("waiting for connections to be accepted", async {
            accepted
                .wait_for(|count| *count >= n)
                .await
                .expect("the server is running");
        })
        .await;
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A product that keeps the last JSON body written to it (POST, PUT or
/// PATCH) and serves it back for every request: what a domain stores, as
/// the gateway sent it.
pub struct StoringUpstream {
    addr: SocketAddr,
    stored: Arc<Mutex<bytes::Bytes>>,
    task: JoinHandle<()>,
}

impl StoringUpstream {
    /// Starts one with nothing stored.
    pub async fn start() -> Self {
        use http_body_util::BodyExt;

        let stored: Arc<Mutex<bytes::Bytes>> = Arc::default();
        let keep = stored.clone();
        let (addr, task) = accept_each("upstream", move |stream| {
            let keep = keep.clone();
            async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let keep = keep.clone();
                    async move {
                        if matches!(
                            *request.method(),
                            Method::POST | Method::PUT | Method::PATCH
                        ) {
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            *keep.lock().expect("not poisoned") = body;
                        }
                        let body = keep.lock().expect("not poisoned").clone();
                        let mut response = Response::new(body::full(body));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        })
        .await;
        Self { addr, stored, task }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it holds now, as text.
    pub fn stored(&self) -> String {
        String::from_utf8(self.stored.lock().expect("not poisoned").to_vec())
            .expect("stored JSON is UTF-8")
    }

    /// Replaces what it holds (as if the domain had stored it earlier).
    pub fn store(&self, body: &str) {
        *self.stored.lock().expect("not poisoned") = bytes::Bytes::from(body.to_owned());
    }
}

/// The `accounts` product in front of `url`: `$..card_number` stored
/// protected by the gateway as `store` says (its TOML lines, e.g.
/// `store = "encrypted"`) and masked (card preset) for every caller; other
/// values pass. Add where its keys come from (`[masking]`).
pub fn stored_card_product(url: &str, store: &str) -> String {
    format!(
        r#"
[[product]]
name = "accounts"
route = {{ path_prefix = "/accounts" }}
upstream = {{ url = "{url}" }}

[[product.field]]
path = "$..card_number"
class = "card_number"
{store}

[product.masking]
unclassified = "pass"

[[policy]]
name = "default"
default = true
actions = {{ card_number = {{ action = "mask", preset = "card" }}, "*" = {{ action = "redact" }} }}
"#
    )
}

impl Drop for StoringUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds an ephemeral loopback port for `what` and runs `on_connection`,
/// in a task of its own, for each connection accepted there: the accept
/// loop of every server here. Returns the address and the loop's task.
async fn accept_each<H, F>(what: &str, on_connection: H) -> (SocketAddr, JoinHandle<()>)
where
    H: Fn(TcpStream) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind the {what}: {e}"));
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(on_connection(stream));
        }
    });
    (addr, task)
}
