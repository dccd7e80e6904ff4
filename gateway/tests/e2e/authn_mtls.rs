//! Client certificates as identities, over real TLS: a listener that
//! requires (or requests) certificates from a client CA, `[authn.mtls]`
//! mapping the SAN URI to a caller with roles. A good certificate is the
//! caller its subject names; missing, expired, not-yet-valid, wrong-CA and
//! wrong-EKU certificates end the handshake; a good certificate whose
//! subject is not registered (and no default roles) is refused with 401.

use crate::support;

use support::{
    ClientCertFlaw, Es256Key, TestCa, TestGateway, Upstream, assert_gateway_error, client, jwt,
    product,
};

const REPORTING: &str = "spiffe://corp/ns/prod/sa/reporting";
const FRAUD: &str = "spiffe://corp/ns/prod/sa/fraud-scoring";

/// The CAs of one test: one for the gateway's server certificate, one
/// for client certificates.
struct Pki {
    server_ca: TestCa,
    client_ca: TestCa,
}

impl Pki {
    fn new() -> Self {
        Self {
            server_ca: TestCa::new("server CA"),
            client_ca: TestCa::new("client CA"),
        }
    }

    /// The `tls = {...}` of a listener with `client_auth`.
    fn listener(&self, client_auth: &str) -> String {
        self.server_ca.issue("gateway").listener_tls(&format!(
            "client_ca = \"{}\", client_auth = \"{client_auth}\"",
            self.client_ca.ca_path().display()
        ))
    }

    /// A pooled HTTPS client presenting a good certificate for `uri` from
    /// the client CA.
    fn client_for(&self, uri: &str) -> client::TlsClient {
        client::tls_with(
            self.client_ca
                .issue_client(uri)
                .client_config(self.server_ca.roots()),
        )
    }

    /// A rustls client configuration presenting a certificate for
    /// `REPORTING` from `ca` with `flaw`.
    fn cert_config(&self, ca: &TestCa, flaw: ClientCertFlaw) -> rustls::ClientConfig {
        ca.issue_client_with(REPORTING, flaw)
            .client_config(self.server_ca.roots())
    }
}

/// `[authn.mtls]` reading the SAN URI, two registered services, and two
/// products: `reports` for the `reporting` role, `payments` for `fraud`.
fn mtls_config(upstream: &Upstream) -> String {
    format!(
        r#"
[authn.mtls]
subject_from = "san_uri"

[[authn.mtls.client]]
subject = "{REPORTING}"
roles = ["reporting"]

[[authn.mtls.client]]
subject = "{FRAUD}"
roles = ["fraud"]
{}access = {{ roles = ["reporting"] }}
{}access = {{ roles = ["fraud"] }}
"#,
        product("reports", "/reports", &upstream.url()),
        product("payments", "/payments", &upstream.url()),
    )
}

fn url(gateway: &TestGateway, path: &str) -> String {
    format!("https://localhost:{}{path}", gateway.addr().port())
}

/// A good certificate is the caller its SAN URI names, with that subject's
/// roles: each service reaches the product its role allows and is refused
/// (403) by the other.
#[tokio::test]
async fn a_good_client_certificate_is_the_caller_its_subject_names() {
    let pki = Pki::new();
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&pki.listener("require")),
        mtls_config(&upstream)
    ))
    .await;

    let reporting = pki.client_for(REPORTING);
    let reply = client::send(&reporting, client::get(&url(&gateway, "/reports/1"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = client::send(&reporting, client::get(&url(&gateway, "/payments/1"))).await;
    assert_gateway_error(&reply, 403, "forbidden");

    let fraud = pki.client_for(FRAUD);
    let reply = client::send(&fraud, client::get(&url(&gateway, "/payments/1"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = client::send(&fraud, client::get(&url(&gateway, "/reports/1"))).await;
    assert_gateway_error(&reply, 403, "forbidden");

    let seen = upstream.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0].path_and_query(), "/reports/1");
    assert_eq!(seen[1].path_and_query(), "/payments/1");
}

/// Certificates the listener must not accept end the handshake, each with
/// the TLS alert that says why: none at all, expired, not yet valid, from
/// another CA, or made for servers (extended key usage serverAuth only).
/// Nothing reaches the upstream, and a good certificate still works
/// afterwards.
#[tokio::test]
async fn bad_client_certificates_end_the_handshake() {
    let pki = Pki::new();
    let other_ca = TestCa::new("another CA");
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&pki.listener("require")),
        mtls_config(&upstream)
    ))
    .await;
    let path = "/reports/1";

    // Through a pooled HTTPS client, as an application would see it.
    let refused = client::try_send(
        &client::tls(&pki.server_ca),
        client::get(&url(&gateway, path)),
    )
    .await;
    assert!(refused.is_err(), "without a certificate: {refused:?}");

    // On a bare TLS connection, with the alert.
    let without = client::tls_config(&pki.server_ca);
    let cases = [
        (
            "no certificate",
            without,
            "AlertReceived(CertificateRequired)",
        ),
        (
            "expired",
            pki.cert_config(&pki.client_ca, ClientCertFlaw::Expired),
            "AlertReceived(CertificateExpired)",
        ),
        (
            "not yet valid",
            pki.cert_config(&pki.client_ca, ClientCertFlaw::NotYetValid),
            "AlertReceived(CertificateExpired)",
        ),
        (
            "from another CA",
            pki.cert_config(&other_ca, ClientCertFlaw::None),
            "AlertReceived(UnknownCA)",
        ),
        (
            "for server authentication only",
            pki.cert_config(&pki.client_ca, ClientCertFlaw::ServerAuthOnly),
            "AlertReceived(UnsupportedCertificate)",
        ),
    ];
    for (what, config, alert) in cases {
        let outcome = client::tls_exchange(config, gateway.addr(), path).await;
        match outcome {
            Err(error) => assert_eq!(error, alert, "a client with {what}"),
            Ok(response) => panic!(
                "a client with {what} was answered: {}",
                String::from_utf8_lossy(&response)
            ),
        }
    }
    assert!(upstream.requests().is_empty(), "{:#?}", upstream.requests());

    let good = pki.cert_config(&pki.client_ca, ClientCertFlaw::None);
    let response = client::tls_exchange(good, gateway.addr(), path)
        .await
        .expect("a good certificate is accepted");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(upstream.requests().len(), 1);
}

/// A certificate from the right CA whose subject is not registered, with no
/// `default_roles`: the handshake completes (the certificate is genuine),
/// but there is no caller: 401 saying so, with the product's challenge.
/// With `default_roles`, the same certificate is a caller with those roles.
#[tokio::test]
async fn an_unregistered_subject_is_refused_unless_there_are_default_roles() {
    let pki = Pki::new();
    let upstream = Upstream::ok().await;
    let stranger = "spiffe://corp/ns/prod/sa/stranger";

    let gateway = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&pki.listener("require")),
        mtls_config(&upstream)
    ))
    .await;
    let client = pki.client_for(stranger);
    let reply = client::send(&client, client::get(&url(&gateway, "/reports/1"))).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"ClientCertificate realm="maskgate""#)
    );
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("not registered"), "{message}");
    assert!(upstream.requests().is_empty());

    let with_defaults = TestGateway::start(&format!(
        "{}{}",
        support::tls_gateway(&pki.listener("require")),
        mtls_config(&upstream).replace(
            "subject_from = \"san_uri\"",
            "subject_from = \"san_uri\"\ndefault_roles = [\"reporting\"]"
        )
    ))
    .await;
    let reply = client::send(&client, client::get(&url(&with_defaults, "/reports/1"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = client::send(&client, client::get(&url(&with_defaults, "/payments/1"))).await;
    assert_gateway_error(&reply, 403, "forbidden");
}

/// `client_auth = "request"`: a client without a certificate connects and
/// authenticates with a bearer token instead; one with a good certificate
/// needs nothing more; one with neither is asked for either; a bad
/// certificate still ends the handshake.
#[tokio::test]
async fn a_requested_certificate_or_a_token_identifies_the_caller() {
    let pki = Pki::new();
    let upstream = Upstream::ok().await;
    let key = Es256Key::generate("static-key");
    let key_file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(key_file.path(), key.public_pem()).expect("write the public key");
    let gateway = TestGateway::start(&format!(
        r#"{}
[[authn.jwt]]
issuer = "{}"
audiences = ["{}"]
public_keys = ["{}"]
{}"#,
        support::tls_gateway(&pki.listener("request")),
        jwt::ISSUER,
        jwt::AUDIENCE,
        key_file.path().display(),
        mtls_config(&upstream),
    ))
    .await;
    let target = url(&gateway, "/reports/1");

    let anonymous = client::tls(&pki.server_ca);
    let reply = client::send(&anonymous, client::get(&target)).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="maskgate", ClientCertificate realm="maskgate""#)
    );

    let token = key.sign(&jwt::claims("reporting-job@corp.example", &["reporting"]));
    let request = http::Request::get(&target)
        .header("authorization", format!("Bearer {token}"))
        .body(support::body::empty())
        .unwrap();
    let reply = client::send(&anonymous, request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let reporting = pki.client_for(REPORTING);
    let reply = client::send(&reporting, client::get(&target)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // Requested, not required: a certificate that is sent must still be good.
    let expired = pki.cert_config(&pki.client_ca, ClientCertFlaw::Expired);
    let refused = client::tls_exchange(expired, gateway.addr(), "/reports/1").await;
    assert_eq!(
        refused.map(|_| "answered"),
        Err("AlertReceived(CertificateExpired)".to_owned())
    );
    assert_eq!(upstream.requests().len(), 2);
}
