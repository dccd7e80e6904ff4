//! HTTP clients for talking to the gateway: HTTP/1.1, h2c by prior
//! knowledge, and HTTPS trusting a test CA with ALPN (h2, http/1.1); plus
//! the collected [`Reply`] and the check of the gateway's JSON errors.

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Version};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{Connect, HttpConnector},
    },
    rt::TokioExecutor,
};
use rustls::{ClientConfig, RootCertStore};

use super::{
    TestCa,
    body::{self, TestBody},
    within,
};

/// The pooled HTTPS client [`tls`], [`tls_trusting`] and [`tls_with`] make.
pub type TlsClient = Client<HttpsConnector<HttpConnector>, TestBody>;

/// A pooled HTTP/1.1 client.
pub fn h1() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A pooled h2c client (HTTP/2 with prior knowledge, no TLS).
pub fn h2c() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// A rustls client configuration (ring) trusting only `ca`.
pub fn tls_config(ca: &TestCa) -> ClientConfig {
    tls_config_trusting(ca.roots())
}

/// A rustls client configuration (ring) trusting only `roots`.
pub fn tls_config_trusting(roots: RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A pooled HTTPS client trusting only `ca`, offering h2 and http/1.1 by
/// ALPN.
pub fn tls(ca: &TestCa) -> Client<HttpsConnector<HttpConnector>, TestBody> {
    tls_trusting(ca.roots())
}

/// A pooled HTTPS client trusting only `roots`, offering h2 and http/1.1
/// by ALPN.
pub fn tls_trusting(roots: RootCertStore) -> Client<HttpsConnector<HttpConnector>, TestBody> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config_trusting(roots))
        .https_only()
        .enable_all_versions()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// A pooled HTTPS client (h2 and http/1.1 by ALPN) with its own rustls
/// configuration, e.g. one presenting a client certificate.
pub fn tls_with(config: ClientConfig) -> Client<HttpsConnector<HttpConnector>, TestBody> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_all_versions()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// A `GET` for `url` without body.
pub fn get(url: &str) -> Request<TestBody> {
    Request::get(url)
        .body(body::empty())
        .expect("a valid request")
}

/// A response with its body read.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The protocol version it came over.
    pub version: Version,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header"))
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// Sends `request` and reads the whole response; panics if either fails.
pub async fn send<C>(client: &Client<C, TestBody>, request: Request<TestBody>) -> Reply
where
    C: Connect + Clone + Send + Sync + 'static,
{
    try_send(client, request)
        .await
        .unwrap_or_else(|e| panic!("request failed: {e:?}"))
}

/// Sends `request` and reads the whole response, or says what failed.
pub async fn try_send<C>(
    client: &Client<C, TestBody>,
    request: Request<TestBody>,
) -> Result<Reply, body::BoxError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    within("an HTTP exchange", async {
        let response = client.request(request).await?;
        let (parts, incoming) = response.into_parts();
        let body = incoming.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        })
    })
    .await
}

/// Checks that `reply` is the gateway's JSON error with `status` and
/// `code`: the documented shape, a message, and the request id of the
/// `X-Request-Id` header repeated in the body. Returns that id.
pub fn assert_gateway_error(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "status; body: {:?}",
        reply.body
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    let error = &json["error"];
    assert_eq!(error["status"], status, "{json}");
    assert_eq!(error["code"], code, "{json}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {json}"
    );
    let id = reply
        .header("x-request-id")
        .expect("every response carries X-Request-Id");
    assert_eq!(error["request_id"], id, "the body repeats the header's id");
    assert_eq!(
        json.as_object().map(|o| o.len()),
        Some(1),
        "only the error object: {json}"
    );
    id.to_owned()
}

/// Makes a TLS connection to `addr` (server name `localhost`) with
/// `config`, sends `GET path` over HTTP/1.1 with `Connection: close` and
/// reads until the server closes: the raw response, or the TLS error that
/// ended the connection (`AlertReceived(CertificateExpired)`, ...), as
/// rustls's `Debug` names it. With TLS 1.3 a refused client certificate is
/// only reported after the client has finished its side of the handshake,
/// so the alert may come with the first read.
pub async fn tls_exchange(
    config: ClientConfig,
    addr: SocketAddr,
    path: &str,
) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn describe(error: &std::io::Error) -> String {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => format!("{tls:?}"),
            None => format!("{error:?}"),
        }
    }

    within("a TLS exchange", async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| describe(&e))?;
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("a valid name");
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| describe(&e))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| describe(&e))?;
        let mut response = Vec::new();
        tls.read_to_end(&mut response)
            .await
            .map_err(|e| describe(&e))?;
        Ok(response)
    })
    .await
}
