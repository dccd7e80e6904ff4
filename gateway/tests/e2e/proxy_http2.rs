//! HTTP/2 on both sides: negotiated by ALPN over TLS, h2c by prior
//! knowledge in plaintext, h2 to the upstream, and many concurrent streams
//! on one connection.

use crate::support;

use std::sync::Arc;

use http::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{PLAINTEXT_GATEWAY, TestCa, TestGateway, Upstream, body, client, product};
use tokio::sync::Barrier;

/// Over TLS, a client offering `h2` and `http/1.1` by ALPN gets HTTP/2.
#[tokio::test]
async fn h2_is_negotiated_by_alpn_over_tls() {
    let ca = TestCa::new("h2 test CA");
    let cert = ca.issue("gateway");
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&cert.listener_tls("")),
        product("p", "/p", &upstream.url()),
    ))
    .await;

    let reply = client::send(
        &client::tls(&ca),
        client::get(&format!("https://{}/p", gateway.addr())),
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(reply.text(), "ok");
}

/// A TLS listener limited to `http_versions = ["http1"]` does not offer h2:
/// the same client gets HTTP/1.1.
#[tokio::test]
async fn tls_listener_limited_to_http1_does_not_offer_h2() {
    let ca = TestCa::new("h2 test CA");
    let cert = ca.issue("gateway");
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&format!(
            "{}\nhttp_versions = [\"http1\"]",
            cert.listener_tls("")
        )),
        product("p", "/p", &upstream.url()),
    ))
    .await;

    let reply = client::send(
        &client::tls(&ca),
        client::get(&format!("https://{}/p", gateway.addr())),
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, Version::HTTP_11);
}

/// A plaintext listener speaks h2c to a client with prior knowledge; the
/// upstream (HTTP/1.1 by default) is reached over HTTP/1.1.
#[tokio::test]
async fn h2c_with_prior_knowledge_on_plaintext() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("p", "/p", &upstream.url())
    ))
    .await;

    let reply = client::send(&client::h2c(), client::get(&gateway.url("/p"))).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(upstream.only_request().version, Version::HTTP_11);
}

/// With `http_versions = ["http2"]` on a plain-HTTP upstream, the gateway
/// speaks h2c to it, whatever the client spoke.
#[tokio::test]
async fn h2_to_the_upstream() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "h2"
route = {{ path_prefix = "/h2" }}
upstream = {{ url = "{}", http_versions = ["http2"] }}
"#,
        upstream.url()
    ))
    .await;

    let from_h1 = client::send(&client::h1(), client::get(&gateway.url("/h2/a"))).await;
    let from_h2 = client::send(&client::h2c(), client::get(&gateway.url("/h2/b"))).await;

    assert_eq!(from_h1.status, 200);
    assert_eq!(
        from_h1.version,
        Version::HTTP_11,
        "the client hears its own version"
    );
    assert_eq!(from_h2.status, 200);
    let versions: Vec<Version> = upstream.requests().iter().map(|s| s.version).collect();
    assert_eq!(versions, [Version::HTTP_2, Version::HTTP_2]);
}

/// Many requests in flight at once as streams of one HTTP/2 connection:
/// the upstream answers none until all have arrived, so they can only
/// complete if the gateway really carries them concurrently. Each answer
/// belongs to its own request.
#[tokio::test]
async fn many_concurrent_streams_on_one_connection() {
    const STREAMS: usize = 50;
    let all_arrived = Arc::new(Barrier::new(STREAMS));
    let upstream = Upstream::start(move |seen| {
        let all_arrived = all_arrived.clone();
        async move {
            all_arrived.wait().await;
            http::Response::new(body::full(seen.uri.path().to_owned()))
        }
    })
    .await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("p", "/p", &upstream.url())
    ))
    .await;

    let tcp = tokio::net::TcpStream::connect(gateway.addr())
        .await
        .expect("connect to the gateway");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("an h2c handshake");
    tokio::spawn(connection);
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..STREAMS {
        let mut sender = sender.clone();
        let uri = gateway.url(&format!("/p/{i}"));
        requests.spawn(async move {
            let response = sender
                .send_request(Request::get(uri).body(body::empty()).expect("a request"))
                .await
                .expect("a response");
            let status = response.status();
            let text = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("a body")
                .to_bytes();
            (i, status, text)
        });
    }

    let results = support::within("all streams", requests.join_all()).await;
    assert_eq!(results.len(), STREAMS);
    for (i, status, text) in results {
        assert_eq!(status, 200);
        assert_eq!(text, format!("/p/{i}").as_bytes());
    }
    assert_eq!(upstream.requests().len(), STREAMS);
}
