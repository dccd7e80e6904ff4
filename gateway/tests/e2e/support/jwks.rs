//! A JWKS server over HTTPS on loopback, as an identity provider runs one:
//! its certificate is signed by a [`TestCa`] (the gateway's `jwks_ca`), it
//! counts connections and fetches, and on command it serves another key
//! set or goes down (accepts connections and closes them at once, so that
//! every fetch fails in the TLS handshake).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

use super::{TestCa, within};

/// Where the document is served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A running JWKS server; stops when dropped.
pub struct JwksServer {
    addr: SocketAddr,
    state: Arc<State>,
    fetched: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

struct State {
    document: Mutex<Bytes>,
    down: AtomicBool,
    connections: AtomicUsize,
    fetched: watch::Sender<usize>,
}

impl JwksServer {
    /// Serves `jwks` at [`JWKS_PATH`] over HTTPS (HTTP/1.1) with a
    /// certificate from `ca`.
    pub async fn start(ca: &TestCa, jwks: &Value) -> Self {
        let cert = ca.issue("jwks-server");
        let acceptor = TlsAcceptor::from(cert.server_config(&[b"http/1.1"]));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the JWKS server");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let (fetched_tx, fetched) = watch::channel(0usize);
        let state = Arc::new(State {
            document: Mutex::new(Bytes::from(jwks.to_string())),
            down: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            fetched: fetched_tx,
        });
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    state.connections.fetch_add(1, Ordering::SeqCst);
                    if state.down.load(Ordering::SeqCst) {
                        // Down: the connection closes before any TLS.
                        drop(stream);
                        continue;
                    }
                    let (state, acceptor) = (state.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |request| {
                            let state = state.clone();
                            async move { Ok::<_, Infallible>(state.answer(&request)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self {
            addr,
            state,
            fetched,
            task,
        }
    }

    /// `https://127.0.0.1:PORT/.well-known/jwks.json`, for `jwks_url`.
    pub fn url(&self) -> String {
        format!("https://{}{JWKS_PATH}", self.addr)
    }

    /// Connections accepted so far, including those refused while down:
    /// every fetch the gateway attempts makes one (it keeps no idle
    /// connection to a key server).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Documents served so far.
    pub fn fetches(&self) -> usize {
        *self.fetched.borrow()
    }

    /// Waits until at least `n` documents have been served.
    pub async fn wait_for_fetches(&self, n: usize) {
        let mut fetched = self.fetched.clone();
        within("waiting for JWKS fetches", async {
            fetched
                .wait_for(|count| *count >= n)
                .await
                .expect("the JWKS server is running");
        })
        .await;
    }

    /// Serves `jwks` from now on.
    pub fn set_jwks(&self, jwks: &Value) {
        *self.state.document.lock().expect("not poisoned") = Bytes::from(jwks.to_string());
    }

    /// Closes every new connection at once, until [`come_back`](Self::come_back).
    pub fn go_down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
    }

    /// Serves again.
    pub fn come_back(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl State {
    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.uri().path() != JWKS_PATH {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::new(Bytes::new()))
                .expect("a valid response");
        }
        let document = self.document.lock().expect("not poisoned").clone();
        self.fetched.send_modify(|n| *n += 1);
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(document))
            .expect("a valid response")
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
