//! Client certificates from the PKI engine: issued, used for mTLS to an
//! upstream that requires them, re-issued before they expire; against a
//! real OpenBao.

mod support;

use std::{sync::Arc, time::Duration};

use maskgate_secrets::{ClientCertResolver, ClientCertificate, Vault, testing::Lab};
use rustls::{
    ClientConfig, RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject as _},
    server::WebPkiClientVerifier,
};
use support::{assert_not_leaked, capture_logs};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
};

/// An upstream that requires a client certificate from the lab's PKI CA and
/// answers each connection with the certificate it saw.
async fn mtls_upstream(ca_pem: &str) -> (std::net::SocketAddr, CertificateDer<'static>) {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let server_cert = rcgen::generate_simple_self_signed(vec!["upstream.test".into()]).unwrap();
    let server_der = server_cert.cert.der().clone();
    let config = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_der.clone()],
            PrivateKeyDer::try_from(server_cert.signing_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let peer = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
                let _ = tls.write_all(&peer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, server_der)
}

/// Connects with `cert`; returns the certificate the upstream saw, or the
/// handshake error.
async fn call(
    addr: std::net::SocketAddr,
    server: &CertificateDer<'static>,
    cert: Option<&ClientCertificate>,
) -> Result<Vec<u8>, std::io::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(server.clone()).unwrap();
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match cert {
        Some(cert) => builder
            .with_client_auth_cert(cert.cert_chain().unwrap(), cert.private_key().unwrap())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    connect(addr, &Arc::new(config)).await
}

/// Connects with `config`; returns the certificate the upstream saw.
async fn connect(
    addr: std::net::SocketAddr,
    config: &Arc<ClientConfig>,
) -> Result<Vec<u8>, std::io::Error> {
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from("upstream.test").unwrap(), tcp)
        .await?;
    let mut seen = Vec::new();
    tls.read_to_end(&mut seen).await?;
    Ok(seen)
}

/// Connects with `config`: the certificate presented, which must be the
/// watched one at that moment (before or after the handshake, in case a
/// re-issue fell in between); returns its serial and DER.
async fn presented_with(
    watched: &maskgate_secrets::Watched<ClientCertificate>,
    addr: std::net::SocketAddr,
    config: &Arc<ClientConfig>,
) -> (String, Vec<u8>) {
    let before = watched.current().unwrap();
    let presented = connect(addr, config).await.unwrap();
    let after = watched.current().unwrap();
    let cert = [before, after]
        .into_iter()
        .find(|c| c.cert_chain().unwrap()[0].to_vec() == presented)
        .expect("the resolver presents the current certificate");
    (cert.serial().to_owned(), presented)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_issued_used_for_mtls_and_reissued() {
    capture_logs();
    maskgate_secrets::install_crypto_provider();
    let lab = Lab::start();
    let (addr, server) = mtls_upstream(&lab.pki_ca_pem()).await;
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.approle_auth()))
        .await
        .unwrap();
    let watched = vault.pki_certificate(
        "pki",
        "gw-client",
        "maskgate.gateway.test",
        Duration::from_secs(6),
    );
    let first = watched.ready(Duration::from_secs(10)).await.unwrap();
    let lifetime = first
        .not_after()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(lifetime <= Duration::from_secs(7), "{lifetime:?}");
    assert_eq!(watched.expires_at(), Some(first.not_after()));
    assert!(first.certificate_pem().contains("BEGIN CERTIFICATE"));
    let debug = format!("{first:?}");
    assert!(
        !debug.contains("PRIVATE KEY") && debug.contains("[redacted]"),
        "{debug}"
    );

    // The upstream refuses a client without a certificate, accepts this one.
    assert!(call(addr, &server, None).await.is_err());
    let seen = call(addr, &server, Some(&first)).await.unwrap();
    assert_eq!(seen, first.cert_chain().unwrap()[0].to_vec());

    // Re-issued at about two thirds of its 6 s: a new serial, a new
    // generation to rebuild connections on, and the upstream takes it.
    let mut changes = watched.subscribe();
    changes.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(8), changes.changed())
        .await
        .expect("a re-issue before expiry")
        .unwrap();
    let second = watched.current().unwrap();
    assert_ne!(second.serial(), first.serial());
    assert!(
        std::time::SystemTime::now() < first.not_after(),
        "re-issued before expiry"
    );
    assert_eq!(watched.generation(), 2);
    let seen = call(addr, &server, Some(&second)).await.unwrap();
    assert_eq!(seen, second.cert_chain().unwrap()[0].to_vec());

    // One client configuration with the resolver: each new connection
    // presents the newest certificate, across re-issues.
    let resolver = Arc::new(ClientCertResolver::new(watched.clone()));
    let mut roots = RootCertStore::empty();
    roots.add(server.clone()).unwrap();
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_cert_resolver(resolver);
    // A resumed TLS session keeps the identity of its first handshake.
    config.resumption = rustls::client::Resumption::disabled();
    let config = Arc::new(config);
    let (before, presented) = presented_with(&watched, addr, &config).await;
    changes.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(8), changes.changed())
        .await
        .expect("another re-issue")
        .unwrap();
    let (after, presented_after) = presented_with(&watched, addr, &config).await;
    assert_ne!(
        presented_after, presented,
        "the new certificate after a re-issue"
    );
    assert_ne!(after, before);
    vault.shutdown().await;
    // The base64 body of each private key.
    let keys: Vec<String> = [&first, &second]
        .iter()
        .map(|c| {
            c.private_key_pem()
                .expose()
                .lines()
                .nth(1)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_not_leaked(&keys, &[&lab.dir()]);
}
