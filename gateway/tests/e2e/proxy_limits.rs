//! Limits and timeouts: what the gateway refuses from clients, and how it
//! answers when the upstream is slow, unreachable or breaks the connection.

use crate::support;

use std::time::Duration;

use http::Request;
use support::{
    PLAINTEXT_GATEWAY, RawUpstream, TestCa, TestGateway, Upstream, assert_gateway_error, body,
    client, product,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A POST of `body` to `path`, with or without `Content-Length`.
fn post(url: &str, body: body::TestBody, content_length: Option<u64>) -> Request<body::TestBody> {
    let mut request = Request::post(url);
    if let Some(length) = content_length {
        request = request.header("content-length", length);
    }
    request.body(body).expect("a valid request")
}

/// A gateway with `max_request_body = "1KiB"` in front of `upstream` at `/p`.
async fn small_body_gateway(upstream: &Upstream) -> TestGateway {
    TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.limits]
max_request_body = "1KiB"
{}"#,
        product("p", "/p", &upstream.url())
    ))
    .await
}

/// A body whose `Content-Length` is over the limit is refused with 413
/// before anything is sent upstream; one at the limit passes.
#[tokio::test]
async fn content_length_over_the_limit_is_413_without_upstream() {
    let upstream = Upstream::ok().await;
    let gateway = small_body_gateway(&upstream).await;
    let client = client::h1();

    let over = client::send(
        &client,
        post(&gateway.url("/p"), body::full(vec![b'x'; 1025]), Some(1025)),
    )
    .await;
    assert_gateway_error(&over, 413, "body_too_large");
    assert!(upstream.requests().is_empty(), "the upstream saw nothing");

    let at = client::send(
        &client,
        post(&gateway.url("/p"), body::full(vec![b'x'; 1024]), Some(1024)),
    )
    .await;
    assert_eq!(at.status, 200);
    assert_eq!(upstream.only_request().body_len, 1024);
}

/// A chunked body (no `Content-Length`) is counted as it streams and
/// refused with 413 once it crosses the limit; the upstream never gets a
/// complete body.
#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let upstream = Upstream::ok().await;
    let gateway = small_body_gateway(&upstream).await;

    let reply = client::send(
        &client::h1(),
        post(&gateway.url("/p"), body::streamed(64 * 1024, 512), None),
    )
    .await;

    assert_gateway_error(&reply, 413, "body_too_large");
    for seen in upstream.requests() {
        assert!(
            !seen.body_complete,
            "the upstream got a whole body: {seen:?}"
        );
        assert!(seen.body_len <= 1024, "{seen:?}");
    }
}

/// A product's own `max_request_body` overrides the server's, for that
/// product only.
#[tokio::test]
async fn per_product_body_limit_overrides_the_server_limit() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.limits]
max_request_body = "1KiB"
{}
[[product]]
name = "uploads"
route = {{ path_prefix = "/uploads" }}
upstream = {{ url = "{}" }}
limits = {{ max_request_body = "8KiB" }}
"#,
        product("p", "/p", &upstream.url()),
        upstream.url(),
    ))
    .await;
    let client = client::h1();
    let four_kib = || body::full(vec![b'x'; 4096]);

    let to_uploads = client::send(
        &client,
        post(&gateway.url("/uploads/a"), four_kib(), Some(4096)),
    )
    .await;
    let to_p = client::send(&client, post(&gateway.url("/p"), four_kib(), Some(4096))).await;
    let chunked_to_uploads = client::send(
        &client,
        post(&gateway.url("/uploads/b"), body::streamed(4096, 1000), None),
    )
    .await;

    assert_eq!(to_uploads.status, 200);
    assert_gateway_error(&to_p, 413, "body_too_large");
    assert_eq!(chunked_to_uploads.status, 200);
    let lengths: Vec<u64> = upstream.requests().iter().map(|s| s.body_len).collect();
    assert_eq!(lengths, [4096, 4096]);
}

/// A gateway with small head limits: at most 10 headers, 1 KiB of head.
async fn small_head_gateway(upstream: &Upstream) -> TestGateway {
    TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.limits]
max_headers = 10
max_header_bytes = "1KiB"
{}"#,
        product("p", "/p", &upstream.url())
    ))
    .await
}

/// More headers than `max_headers` is refused with the JSON 431
/// `too_many_headers`; the upstream sees nothing.
#[tokio::test]
async fn too_many_headers_is_431() {
    let upstream = Upstream::ok().await;
    let gateway = small_head_gateway(&upstream).await;
    let mut request = Request::get(gateway.url("/p"));
    for i in 0..14 {
        request = request.header(format!("x-extra-{i}"), "1");
    }

    let reply = client::send(
        &client::h1(),
        request.body(body::empty()).expect("a valid request"),
    )
    .await;

    assert_gateway_error(&reply, 431, "too_many_headers");
    assert!(upstream.requests().is_empty());
}

/// A request head larger than `max_header_bytes` is refused with the JSON
/// 431 `headers_too_large`; a smaller one passes.
#[tokio::test]
async fn header_bytes_over_the_limit_is_431() {
    let upstream = Upstream::ok().await;
    let gateway = small_head_gateway(&upstream).await;
    let client = client::h1();
    let with_header_of = |len: usize| {
        Request::get(gateway.url("/p"))
            .header("x-big", "v".repeat(len))
            .body(body::empty())
            .expect("a valid request")
    };

    let over = client::send(&client, with_header_of(2000)).await;
    let under = client::send(&client, with_header_of(500)).await;

    assert_gateway_error(&over, 431, "headers_too_large");
    assert_eq!(under.status, 200);
    assert_eq!(
        upstream.only_request().header("x-big").map(str::len),
        Some(500)
    );
}

/// A client that sends part of a request head and then stalls
/// (slowloris) has its connection closed after `header_read`, without a
/// response and without reaching the upstream.
#[tokio::test]
async fn stalled_request_head_is_cut_after_header_read_timeout() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.timeouts]
header_read = "300ms"
{}"#,
        product("p", "/p", &upstream.url())
    ))
    .await;

    let mut stream = tokio::net::TcpStream::connect(gateway.addr())
        .await
        .expect("connect to the gateway");
    stream
        .write_all(b"GET /p HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        .await
        .expect("send a partial head");
    let (received, read) = support::read_until_closed(&mut stream).await;

    // Closed (EOF or reset), with nothing that looks like a success.
    assert!(
        read.is_err() || !received.starts_with(b"HTTP/1.1 2"),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
    assert!(upstream.requests().is_empty());
}

/// An upstream that does not send its response head within
/// `response_timeout` of receiving the request (with or without a body)
/// gets the client a 504 `upstream_timeout`.
#[tokio::test]
async fn slow_upstream_response_is_504() {
    let upstream = Upstream::start(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        http::Response::new(body::full("too late"))
    })
    .await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "slow"
route = {{ path_prefix = "/slow" }}
upstream = {{ url = "{}", response_timeout = "300ms" }}
"#,
        upstream.url()
    ))
    .await;

    let client = client::h1();

    let get = client::send(&client, client::get(&gateway.url("/slow"))).await;
    let upload = client::send(
        &client,
        post(&gateway.url("/slow"), body::streamed(4096, 1024), None),
    )
    .await;

    assert_gateway_error(&get, 504, "upstream_timeout");
    assert_gateway_error(&upload, 504, "upstream_timeout");
    let lengths: Vec<u64> = upstream.requests().iter().map(|s| s.body_len).collect();
    assert_eq!(lengths, [0, 4096], "both requests were sent whole");
}

/// An HTTPS upstream that accepts TCP but never answers the TLS handshake
/// trips `connect_timeout` (which covers TCP and TLS together): 504
/// `upstream_connect_timeout`, not a hang until `response_timeout`.
#[tokio::test]
async fn stalled_upstream_tls_handshake_is_504_connect_timeout() {
    let ca = TestCa::new("limits test CA");
    let silent = RawUpstream::start(|stream| async move {
        // Hold the connection open and say nothing.
        let _stream = stream;
        std::future::pending::<()>().await;
    })
    .await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "silent"
route = {{ path_prefix = "/silent" }}
upstream = {{ url = "https://{}", ca = "{}", connect_timeout = "300ms", response_timeout = "60s" }}
"#,
        silent.addr(),
        ca.ca_path().display(),
    ))
    .await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/silent"))).await;

    assert_gateway_error(&reply, 504, "upstream_connect_timeout");
    assert!(silent.accepted() >= 1, "the TCP connection was made");
}

/// An upstream port where nothing listens gets the client a 502
/// `upstream_unavailable`.
#[tokio::test]
async fn unreachable_upstream_is_502() {
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product(
            "down",
            "/down",
            &format!("http://{}", support::closed_port())
        )
    ))
    .await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/down"))).await;

    assert_gateway_error(&reply, 502, "upstream_unavailable");
}

/// An upstream that resets the connection as soon as it is accepted gets
/// the client a 502.
#[tokio::test]
async fn upstream_reset_on_accept_is_502() {
    let resetting = RawUpstream::start(|stream| async move {
        // SO_LINGER 0: closing sends RST rather than FIN.
        stream.set_zero_linger().expect("set SO_LINGER");
        drop(stream);
    })
    .await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("reset", "/reset", &format!("http://{}", resetting.addr()))
    ))
    .await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/reset"))).await;

    assert_gateway_error(&reply, 502, "upstream_unavailable");
    assert!(resetting.accepted() >= 1);
}

/// Reads one request head from `stream` (up to the blank line).
async fn read_head(stream: &mut tokio::net::TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.expect("read the request") == 0 {
            return;
        }
        head.push(byte[0]);
    }
}

/// An upstream that breaks off in the middle of its response head and
/// resets the connection gets the client a 502.
#[tokio::test]
async fn upstream_reset_mid_response_head_is_502() {
    let breaking = RawUpstream::start(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: appl")
            .await;
        let _ = stream.set_zero_linger();
    })
    .await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("broken", "/broken", &format!("http://{}", breaking.addr()))
    ))
    .await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/broken"))).await;

    assert_gateway_error(&reply, 502, "upstream_unavailable");
}

/// An upstream that breaks off in the middle of its body, after a complete
/// head, cannot be answered with an error status any more; the client must
/// then see the body fail, never a silently truncated body that looks
/// complete.
#[tokio::test]
async fn upstream_reset_mid_body_fails_the_client_body() {
    let breaking = RawUpstream::start(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            .await;
        let _ = stream.set_zero_linger();
    })
    .await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("broken", "/broken", &format!("http://{}", breaking.addr()))
    ))
    .await;

    let result = client::try_send(&client::h1(), client::get(&gateway.url("/broken"))).await;

    assert!(
        result.is_err(),
        "a truncated body must fail, got {result:?}"
    );
}

/// `response_timeout` runs from when the request has been sent: an upload
/// that takes longer than it, to an upstream that answers as soon as the
/// body is complete, still succeeds.
#[tokio::test]
async fn response_timeout_does_not_count_the_upload() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "uploads"
route = {{ path_prefix = "/uploads" }}
upstream = {{ url = "{}", response_timeout = "300ms" }}
"#,
        upstream.url()
    ))
    .await;
    // Ten chunks, 100ms apart: the upload lasts at least 900ms.
    let frames = futures_util::stream::unfold(0u32, |i| async move {
        if i == 10 {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let frame = http_body::Frame::data(bytes::Bytes::from_static(b"0123456789"));
        Some((Ok::<_, body::BoxError>(frame), i + 1))
    });
    let slow_body = http_body_util::BodyExt::boxed(http_body_util::StreamBody::new(frames));

    let reply = client::send(
        &client::h1(),
        post(&gateway.url("/uploads"), slow_body, None),
    )
    .await;

    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream.only_request().body_len, 100);
}
