//! Access rules and rate limits over real sockets: products that need a
//! caller refuse requests without credentials (401 with a challenge),
//! plain-proxy mode forwards as before, quotas answer 429 with
//! `Retry-After`, and listeners ask for or require client certificates.
//!
//! Verifying credentials (the authentication layer) is wired separately;
//! here no request has an authenticated caller.

use crate::support;

use support::{
    PLAINTEXT_GATEWAY, TestCa, TestGateway, Upstream, assert_gateway_error, client, product,
};

/// An `[authn]` with one API key consumer (the hash is of no key in
/// particular: nothing here verifies one).
fn api_key_authn() -> String {
    format!(
        "\n[[authn.api_key]]\nid = \"consumer-1\"\nhash = \"sha256:{}\"\nroles = [\"analyst\"]\n",
        "0".repeat(64)
    )
}

/// A product that needs a caller: an API key consumer is refused with 401,
/// in the gateway's JSON shape, with a `WWW-Authenticate` challenge naming
/// the API key header; nothing reaches the upstream, and the refusal is
/// counted under the product.
#[tokio::test]
async fn a_product_with_access_rules_refuses_requests_without_credentials() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}access = {{ roles = [\"analyst\"] }}\n",
        api_key_authn(),
        product("customers", "/customers", &upstream.url()),
    ))
    .await;
    let client = client::h1();

    let reply = client::send(&client, client::get(&gateway.url("/customers/42"))).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"ApiKey realm="maskgate", header="x-api-key""#)
    );
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("no credentials"), "{message}");

    // Unrouted paths are still the gateway's 404.
    let reply = client::send(&client, client::get(&gateway.url("/elsewhere"))).await;
    assert_gateway_error(&reply, 404, "no_route");

    assert!(
        upstream.requests().is_empty(),
        "nothing reached the upstream"
    );
    let metrics = client::send(&client, client::get(&gateway.admin_url("/metrics"))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_requests_total{product="customers",status="401"} 1"#),
        "{}",
        metrics.text()
    );
}

/// Without `[authn]` the gateway is a plain proxy: no authentication, and
/// the client's `Authorization` header is the upstream's business, so it is
/// forwarded.
#[tokio::test]
async fn without_authn_requests_are_forwarded_as_by_a_plain_proxy() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("customers", "/customers", &upstream.url()),
    ))
    .await;
    let client = client::h1();
    let request = http::Request::get(gateway.url("/customers/1"))
        .header("authorization", "Bearer for-the-upstream")
        .header("x-purpose", "anything")
        .body(support::body::empty())
        .unwrap();
    let reply = client::send(&client, request).await;
    assert_eq!(reply.status, 200);
    let seen = upstream.only_request();
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer for-the-upstream")
    );
}

/// A product's quota (here a product's own, over `per_product`): the burst
/// passes, then 429 with `Retry-After` in whole seconds, counted by scope.
#[tokio::test]
async fn over_a_product_quota_the_answer_is_429_with_retry_after() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}\n[rate_limits]\nper_product = {{ rate = \"100/s\" }}\n{}rate_limit = {{ rate = \"1/h\", burst = 2 }}\n{}",
        product("customers", "/customers", &upstream.url()),
        product("orders", "/orders", &upstream.url()),
    ))
    .await;
    let client = client::h1();

    for _ in 0..2 {
        let reply = client::send(&client, client::get(&gateway.url("/customers/1"))).await;
        assert_eq!(reply.status, 200);
    }
    let reply = client::send(&client, client::get(&gateway.url("/customers/1"))).await;
    assert_gateway_error(&reply, 429, "rate_limited");
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");
    // Another product has its own quota.
    let reply = client::send(&client, client::get(&gateway.url("/orders/1"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(upstream.requests().len(), 3);

    let metrics = client::send(&client, client::get(&gateway.admin_url("/metrics"))).await;
    let text = metrics.text();
    assert!(
        text.contains(r#"maskgate_rate_limited_total{product="customers",scope="product"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"maskgate_requests_total{product="customers",status="429"} 1"#),
        "{text}"
    );
}

/// A listener configured with `client_auth = "require"` completes the
/// handshake only with a certificate from `client_ca`; the request then
/// meets the access rules (401 here: no authentication layer yet to turn
/// the certificate into a caller).
#[tokio::test]
async fn a_listener_can_require_client_certificates() {
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let other_ca = TestCa::new("another CA");
    let upstream = Upstream::ok().await;
    let cert = server_ca.issue("gateway");
    let listener_tls = cert.listener_tls(&format!(
        "client_ca = \"{}\", client_auth = \"require\"",
        client_ca.ca_path().display()
    ));
    let gateway = TestGateway::start(&format!(
        "{}\n[authn.mtls]\n{}access = {{ roles = [\"service\"] }}\n",
        support::tls_gateway(&listener_tls),
        product("customers", "/customers", &upstream.url()),
    ))
    .await;
    let url = format!("https://localhost:{}/customers/1", gateway.addr().port());

    let with_cert = client::tls_with(
        client_ca
            .issue_client("spiffe://example.org/billing")
            .client_config(server_ca.roots()),
    );
    let reply = client::send(&with_cert, client::get(&url)).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"ClientCertificate realm="maskgate""#)
    );

    let without_cert = client::tls(&server_ca);
    let refused = client::try_send(&without_cert, client::get(&url)).await;
    assert!(refused.is_err(), "no client certificate: {refused:?}");

    let wrong_ca = client::tls_with(
        other_ca
            .issue_client("spiffe://example.org/intruder")
            .client_config(server_ca.roots()),
    );
    let refused = client::try_send(&wrong_ca, client::get(&url)).await;
    assert!(
        refused.is_err(),
        "a certificate from another CA: {refused:?}"
    );
    assert!(upstream.requests().is_empty());
}

/// With `client_auth = "request"`, a client without a certificate still
/// connects (and would authenticate otherwise).
#[tokio::test]
async fn a_listener_can_request_client_certificates() {
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let upstream = Upstream::ok().await;
    let cert = server_ca.issue("gateway");
    let listener_tls = cert.listener_tls(&format!(
        "client_ca = \"{}\", client_auth = \"request\"",
        client_ca.ca_path().display()
    ));
    let gateway = TestGateway::start(&format!(
        "{}\n[authn.mtls]\n{}{}access = {{ roles = [\"service\"] }}\n",
        support::tls_gateway(&listener_tls),
        api_key_authn(),
        product("customers", "/customers", &upstream.url()),
    ))
    .await;
    let url = format!("https://localhost:{}/customers/1", gateway.addr().port());
    let reply = client::send(&client::tls(&server_ca), client::get(&url)).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"ApiKey realm="maskgate", header="x-api-key", ClientCertificate realm="maskgate""#)
    );
}
