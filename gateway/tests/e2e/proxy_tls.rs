//! TLS on both sides: termination at the listener (certificates made at
//! test time, TLS 1.2 and 1.3, `min_version`), and HTTPS to upstreams
//! trusting the product's own CA.

use crate::support;

use std::sync::Arc;

use rustls::{ClientConfig, ProtocolVersion};
use rustls_pki_types::ServerName;
use support::{
    PLAINTEXT_GATEWAY, TestCa, TestGateway, Upstream, assert_gateway_error, body, client, product,
};
use tokio_rustls::TlsConnector;

/// A gateway with one TLS listener; `extra_tls` adds keys to its `tls`
/// table (e.g. `min_version`), `products` are appended.
async fn tls_gateway(ca: &TestCa, extra_tls: &str, products: &str) -> TestGateway {
    let cert = ca.issue("gateway");
    TestGateway::start(&format!(
        "{}{products}",
        support::tls_gateway(&cert.listener_tls(extra_tls))
    ))
    .await
}

/// Completes a TLS handshake with `config` against `gateway`, returning
/// the negotiated version, or the handshake error.
async fn handshake(
    gateway: &TestGateway,
    config: ClientConfig,
) -> std::io::Result<Option<ProtocolVersion>> {
    let tcp = tokio::net::TcpStream::connect(gateway.addr())
        .await
        .expect("connect to the gateway");
    let name = ServerName::try_from("127.0.0.1").expect("an IP server name");
    let tls = support::within(
        "a TLS handshake",
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await?;
    Ok(tls.get_ref().1.protocol_version())
}

/// A client configuration that speaks only TLS 1.2 and trusts `ca`.
fn tls12_only(ca: &TestCa) -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("ring supports TLS 1.2")
        .with_root_certificates(ca.roots())
        .with_no_client_auth()
}

/// The listener terminates TLS with the certificate from its files; a
/// client trusting the test CA gets the upstream's answer over HTTPS.
#[tokio::test]
async fn terminates_tls_with_the_configured_certificate() {
    let ca = TestCa::new("tls test CA");
    let upstream = Upstream::ok().await;
    let gateway = tls_gateway(&ca, "", &product("p", "/p", &upstream.url())).await;

    let reply = client::send(
        &client::tls(&ca),
        client::get(&format!("https://{}/p", gateway.addr())),
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok");
    assert_eq!(upstream.requests().len(), 1);
}

/// By default TLS 1.2 is accepted as well as 1.3.
#[tokio::test]
async fn tls12_is_accepted_by_default() {
    let ca = TestCa::new("tls test CA");
    let gateway = tls_gateway(&ca, "", "").await;

    let tls12 = handshake(&gateway, tls12_only(&ca)).await;
    let default = handshake(&gateway, client::tls_config(&ca)).await;

    assert_eq!(
        tls12.expect("a TLS 1.2 handshake"),
        Some(ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        default.expect("a handshake"),
        Some(ProtocolVersion::TLSv1_3)
    );
}

/// With `min_version = "1.3"`, a TLS 1.2-only client is refused at the
/// handshake, while TLS 1.3 still works.
#[tokio::test]
async fn tls12_is_refused_with_min_version_13() {
    let ca = TestCa::new("tls test CA");
    let gateway = tls_gateway(&ca, r#"min_version = "1.3""#, "").await;

    let tls12 = handshake(&gateway, tls12_only(&ca)).await;
    let tls13 = handshake(&gateway, client::tls_config(&ca)).await;

    assert!(tls12.is_err(), "TLS 1.2 was accepted: {tls12:?}");
    assert_eq!(
        tls13.expect("a TLS 1.3 handshake"),
        Some(ProtocolVersion::TLSv1_3)
    );
}

/// Plain HTTP sent to a TLS port gets no HTTP response: the request fails
/// and never reaches the upstream.
#[tokio::test]
async fn plaintext_request_to_a_tls_port_fails() {
    let ca = TestCa::new("tls test CA");
    let upstream = Upstream::ok().await;
    let gateway = tls_gateway(&ca, "", &product("p", "/p", &upstream.url())).await;

    let result = client::try_send(
        &client::h1(),
        client::get(&format!("http://{}/p", gateway.addr())),
    )
    .await;

    assert!(result.is_err(), "got an HTTP response: {result:?}");
    assert!(upstream.requests().is_empty());
}

/// A plaintext gateway routing `/secure` to the HTTPS `upstream`, trusting
/// `ca` for it.
async fn secure_product_gateway(upstream: &Upstream, ca: &TestCa) -> TestGateway {
    TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "secure"
route = {{ path_prefix = "/secure" }}
upstream = {{ url = "{}", ca = "{}" }}
"#,
        upstream.url(),
        ca.ca_path().display(),
    ))
    .await
}

/// An HTTPS upstream whose certificate is signed by the product's `ca` is
/// reached over TLS.
#[tokio::test]
async fn https_upstream_trusted_through_the_product_ca() {
    let upstream_ca = TestCa::new("upstream CA");
    let upstream = Upstream::start_tls(
        upstream_ca.issue("upstream").server_config(&[b"http/1.1"]),
        |_| async { http::Response::new(body::full("over tls")) },
    )
    .await;
    let gateway = secure_product_gateway(&upstream, &upstream_ca).await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/secure/x"))).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "over tls");
    assert_eq!(upstream.only_request().path_and_query(), "/secure/x");
}

/// An HTTPS upstream whose certificate the product's `ca` did not sign is
/// refused: 502, and no request reaches it.
#[tokio::test]
async fn https_upstream_with_an_untrusted_certificate_is_502() {
    let trusted_ca = TestCa::new("trusted CA");
    let other_ca = TestCa::new("some other CA");
    let upstream = Upstream::start_tls(
        other_ca.issue("upstream").server_config(&[b"http/1.1"]),
        |_| async { http::Response::new(body::full("must not be seen")) },
    )
    .await;
    let gateway = secure_product_gateway(&upstream, &trusted_ca).await;

    let reply = client::send(&client::h1(), client::get(&gateway.url("/secure/x"))).await;

    assert_gateway_error(&reply, 502, "upstream_unavailable");
    assert!(upstream.requests().is_empty());
}

/// A client that connects and never starts the TLS handshake has its
/// connection closed after `tls_handshake`, without a byte sent.
#[tokio::test]
async fn stalled_tls_handshake_is_closed() {
    let ca = TestCa::new("tls test CA");
    let timeouts = "[server.timeouts]\ntls_handshake = \"300ms\"\n";
    let gateway = tls_gateway(&ca, "", timeouts).await;

    let mut tcp = tokio::net::TcpStream::connect(gateway.addr())
        .await
        .expect("connect to the gateway");
    let (received, _) = support::read_until_closed(&mut tcp).await;

    assert!(received.is_empty(), "{received:?}");
}
