//! TLS termination: a rustls server configuration (ring provider, TLS 1.2+
//! or 1.3 only) from a listener's certificate and key files, with ALPN
//! offering the HTTP versions the listener speaks, and client certificates
//! asked for or required (`client_auth`) against `client_ca`. A client
//! certificate is verified by webpki: chain to the CA, validity dates, and
//! the client-authentication key usage; one that fails ends the handshake.

use std::sync::Arc;

use maskgate_config::{ClientAuth, HttpVersion, ListenerTls, TlsVersion};
use rustls::{
    RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    server::{WebPkiClientVerifier, danger::ClientCertVerifier},
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// Builds the server configuration; the error is a sentence naming the file.
pub(crate) fn server_config(
    tls: &ListenerTls,
    http_versions: &[HttpVersion],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", tls.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", tls.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| format!("cannot read private key from {}: {e}", tls.key.display()))?;
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("unsupported TLS versions: {e}"))?;
    let builder = match client_verifier(tls, provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "certificate {} and key {} do not form a usable identity: {e}",
            tls.cert.display(),
            tls.key.display()
        )
    })?;
    config.alpn_protocols = alpn(http_versions);
    Ok(Arc::new(config))
}

/// The verifier for client certificates, if the listener asks for them.
fn client_verifier(
    tls: &ListenerTls,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let required = match tls.client_auth {
        ClientAuth::Require => true,
        ClientAuth::Request => false,
        _ => return Ok(None),
    };
    let Some(ca) = &tls.client_ca else {
        return Err("client_auth needs client_ca".to_owned());
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read client CA certificates from {}: {e}",
                ca.display()
            )
        })?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "no usable client CA certificate in {}",
            ca.display()
        ));
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("client CA {}: {e}", ca.display()))
}

/// ALPN protocol ids, HTTP/2 preferred.
fn alpn(http_versions: &[HttpVersion]) -> Vec<Vec<u8>> {
    let mut protocols = Vec::new();
    if http_versions.contains(&HttpVersion::Http2) {
        protocols.push(b"h2".to_vec());
    }
    if http_versions.contains(&HttpVersion::Http1) {
        protocols.push(b"http/1.1".to_vec());
    }
    protocols
}
