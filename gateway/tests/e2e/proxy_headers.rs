//! Header hygiene between client and upstream: hop-by-hop headers,
//! forwarding headers, `Host`, and request ids.

use crate::support;

use http::Request;
use support::{
    PLAINTEXT_GATEWAY, Reply, Seen, TestCa, TestGateway, Upstream, assert_gateway_error, body,
    client, product,
};

/// One product `/p` on `upstream`, behind a plaintext listener.
async fn gateway_for(upstream: &Upstream) -> TestGateway {
    TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("p", "/p", &upstream.url())
    ))
    .await
}

/// Sends a GET to `path` with `headers` through `gateway`; returns the
/// reply and what the upstream saw.
async fn exchange(
    gateway: &TestGateway,
    upstream: &Upstream,
    path: &str,
    headers: &[(&str, &str)],
) -> (Reply, Seen) {
    let before = upstream.requests().len();
    let mut request = Request::get(gateway.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let reply = client::send(
        &client::h1(),
        request.body(body::empty()).expect("a valid request"),
    )
    .await;
    let seen = upstream.requests();
    assert_eq!(seen.len(), before + 1, "one request reached the upstream");
    (reply, seen[before].clone())
}

/// `Connection` and every header it names, `TE`, `Upgrade`,
/// `Proxy-Authorization`, `Keep-Alive` and `Proxy-Connection` describe the
/// client's hop only: none reaches the upstream; end-to-end headers do.
#[tokio::test]
async fn hop_by_hop_request_headers_are_not_forwarded() {
    let upstream = Upstream::ok().await;
    let gateway = gateway_for(&upstream).await;

    let (reply, seen) = exchange(
        &gateway,
        &upstream,
        "/p",
        &[
            ("connection", "keep-alive, x-hop-secret"),
            ("x-hop-secret", "s3cret"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic dXNlcjpwYXNz"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("accept", "application/json"),
            ("x-end-to-end", "kept"),
        ],
    )
    .await;

    assert_eq!(reply.status, 200);
    for name in [
        "x-hop-secret",
        "te",
        "upgrade",
        "proxy-authorization",
        "keep-alive",
        "proxy-connection",
    ] {
        assert!(
            !seen.headers.contains_key(name),
            "{name} reached the upstream: {:?}",
            seen.headers
        );
    }
    // hyper's client may add its own `connection` for the upstream hop;
    // the client's value must not survive.
    assert!(
        seen.headers
            .get_all("connection")
            .iter()
            .all(|v| !v.to_str().unwrap_or("").contains("x-hop-secret")),
        "{:?}",
        seen.headers
    );
    assert_eq!(seen.header("accept"), Some("application/json"));
    assert_eq!(seen.header("x-end-to-end"), Some("kept"));
}

/// Hop-by-hop headers in the upstream's response (and the headers its
/// `Connection` names) do not reach the client.
#[tokio::test]
async fn hop_by_hop_response_headers_are_not_forwarded() {
    let upstream = Upstream::start(|_| async {
        http::Response::builder()
            .header("connection", "x-upstream-hop")
            .header("x-upstream-hop", "internal")
            .header("keep-alive", "timeout=5")
            .header("proxy-authenticate", "Basic")
            .header("x-product-version", "7")
            .body(body::full("ok"))
            .expect("a valid response")
    })
    .await;
    let gateway = gateway_for(&upstream).await;

    let (reply, _) = exchange(&gateway, &upstream, "/p", &[]).await;

    assert_eq!(reply.status, 200);
    for name in ["x-upstream-hop", "keep-alive", "proxy-authenticate"] {
        assert!(reply.header(name).is_none(), "{name}: {:?}", reply.headers);
    }
    assert_eq!(reply.header("x-product-version"), Some("7"));
}

/// `X-Forwarded-For` gets the client's address appended to what the client
/// sent; `X-Forwarded-Proto` and `X-Forwarded-Host` are set by the gateway
/// (a client's own values are overwritten); `Host` becomes the upstream's
/// authority.
#[tokio::test]
async fn forwarding_headers_over_plain_http() {
    let upstream = Upstream::ok().await;
    let gateway = gateway_for(&upstream).await;

    let (_, first) = exchange(&gateway, &upstream, "/p", &[]).await;
    let (_, second) = exchange(
        &gateway,
        &upstream,
        "/p",
        &[
            ("host", "data.example.com:8080"),
            ("x-forwarded-for", "203.0.113.7, 198.51.100.2"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "spoofed.example"),
        ],
    )
    .await;

    let upstream_authority = upstream.addr().to_string();
    assert_eq!(first.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(first.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        first.header("x-forwarded-host"),
        Some(gateway.addr().to_string().as_str())
    );
    assert_eq!(first.header("host"), Some(upstream_authority.as_str()));

    assert_eq!(
        second.header("x-forwarded-for"),
        Some("203.0.113.7, 198.51.100.2, 127.0.0.1")
    );
    assert_eq!(second.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        second.header("x-forwarded-host"),
        Some("data.example.com:8080")
    );
    assert_eq!(second.header("host"), Some(upstream_authority.as_str()));
}

/// A request that arrived over TLS is forwarded with
/// `X-Forwarded-Proto: https`, and over HTTP/2 the `:authority` becomes
/// `X-Forwarded-Host`.
#[tokio::test]
async fn forwarding_headers_over_tls() {
    let ca = TestCa::new("headers test CA");
    let cert = ca.issue("gateway");
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&cert.listener_tls("")),
        product("p", "/p", &upstream.url()),
    ))
    .await;
    let authority = format!("127.0.0.1:{}", gateway.addr().port());

    let reply = client::send(
        &client::tls(&ca),
        client::get(&format!("https://{authority}/p")),
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    let seen = upstream.only_request();
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-host"), Some(authority.as_str()));
    assert_eq!(
        seen.header("host"),
        Some(upstream.addr().to_string().as_str())
    );
}

/// Without a client id, the gateway makes one: the upstream and the
/// client see the same value, and two requests get different ids.
#[tokio::test]
async fn request_id_is_generated_when_absent() {
    let upstream = Upstream::ok().await;
    let gateway = gateway_for(&upstream).await;

    let (first_reply, first_seen) = exchange(&gateway, &upstream, "/p", &[]).await;
    let (second_reply, _) = exchange(&gateway, &upstream, "/p", &[]).await;

    let id = first_reply.header("x-request-id").expect("an id");
    assert!(
        id.len() >= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "a generated id: {id}"
    );
    assert_eq!(first_seen.header("x-request-id"), Some(id));
    assert_ne!(second_reply.header("x-request-id"), Some(id));
}

/// A well-formed client id is kept end to end, so traces join up.
#[tokio::test]
async fn well_formed_request_id_is_kept() {
    let upstream = Upstream::ok().await;
    let gateway = gateway_for(&upstream).await;
    let id = "trace-42.span_7:a-b";

    let (reply, seen) = exchange(&gateway, &upstream, "/p", &[("x-request-id", id)]).await;

    assert_eq!(reply.header("x-request-id"), Some(id));
    assert_eq!(seen.header("x-request-id"), Some(id));
}

/// A hostile client id (spaces, markup, over-long) is replaced by a
/// generated one, upstream and in the response alike.
#[tokio::test]
async fn hostile_request_id_is_replaced() {
    let upstream = Upstream::ok().await;
    let gateway = gateway_for(&upstream).await;
    let too_long = "a".repeat(129);

    for hostile in ["id with spaces", "<script>alert(1)</script>", &too_long] {
        let (reply, seen) = exchange(&gateway, &upstream, "/p", &[("x-request-id", hostile)]).await;
        let id = reply.header("x-request-id").expect("an id");
        assert_ne!(id, hostile);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(seen.header("x-request-id"), Some(id), "{hostile}");
    }
}

/// The gateway's own error responses carry the request id in the header
/// and the body alike: the client's when well-formed, a fresh one when
/// hostile.
#[tokio::test]
async fn request_id_is_the_same_in_error_bodies() {
    let gateway = TestGateway::start(PLAINTEXT_GATEWAY).await;
    let client = client::h1();
    let with_id = |id: &str| {
        Request::get(gateway.url("/unrouted"))
            .header("x-request-id", id)
            .body(body::empty())
            .expect("a valid request")
    };

    let kept = client::send(&client, with_id("client-id-1")).await;
    let replaced = client::send(&client, with_id("bad id")).await;

    assert_eq!(assert_gateway_error(&kept, 404, "no_route"), "client-id-1");
    let fresh = assert_gateway_error(&replaced, 404, "no_route");
    assert_ne!(fresh, "bad id");
    assert!(!fresh.is_empty());
}
