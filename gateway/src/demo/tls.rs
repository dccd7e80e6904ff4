//! TLS material for `maskgate demo --tls`: a throwaway CA and a server
//! certificate for localhost, made with rcgen at start-up.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// Where the demo's TLS files are.
#[derive(Debug, Clone)]
pub(super) struct DemoTls {
    pub(super) ca: PathBuf,
    pub(super) cert: PathBuf,
    pub(super) key: PathBuf,
}

impl DemoTls {
    /// A TLS acceptor with the server certificate, for the demo's own
    /// servers (the IdP).
    pub(super) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, String> {
        use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let fail = |e: &dyn std::fmt::Display| format!("cannot load the demo certificate: {e}");
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| fail(&e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(&e))?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| fail(&e))?;
        let config = rustls::ServerConfig::builder_with_provider(crate::server::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(&e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| fail(&e))?;
        Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
    }
}

/// Writes `ca.pem`, `server.pem` and `server.key` into `dir`.
pub(super) fn write_demo_certificates(dir: &Path) -> Result<DemoTls, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot create demo TLS certificates: {e}");
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;

    let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "maskgate demo CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| fail(&e))?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(|e| fail(&e))?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(|e| fail(&e))?;

    let files = DemoTls {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.ca, ca_cert.pem()).map_err(|e| fail(&e))?;
    std::fs::write(&files.cert, server_cert.pem()).map_err(|e| fail(&e))?;
    std::fs::write(&files.key, server_key.serialize_pem()).map_err(|e| fail(&e))?;
    Ok(files)
}
