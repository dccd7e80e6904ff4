//! Whom the gateway trusts when it connects out (to upstreams, to key
//! servers): a configured CA bundle, or else the system's roots.

use std::{path::Path, sync::Arc};

use rustls::{ClientConfig, RootCertStore, crypto::CryptoProvider};
use rustls_pki_types::{CertificateDer, pem::PemObject};

/// Why no trust anchors could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The CA file could not be read or holds no usable certificate.
    #[error("cannot use CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No CA file is configured and the system has no usable CA
    /// certificates.
    #[error("no system CA certificates found ({0}); configure a CA file")]
    NoSystemRoots(String),
}

/// The certificates in `ca`, or the system's roots without one.
pub(crate) fn roots(ca: Option<&Path>) -> Result<RootCertStore, TrustError> {
    match ca {
        Some(path) => roots_from_file(path),
        None => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let reason = found
                    .errors
                    .first()
                    .map_or_else(|| "none installed".to_owned(), ToString::to_string);
                return Err(TrustError::NoSystemRoots(reason));
            }
            Ok(roots)
        }
    }
}

/// A TLS client configuration (ring, TLS 1.2+) trusting [`roots`].
pub(crate) fn client_config(
    ca: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<ClientConfig, TrustError> {
    Ok(client_config_with(roots(ca)?, provider))
}

/// A TLS client configuration (ring, TLS 1.2+) trusting `roots`.
pub(crate) fn client_config_with(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> ClientConfig {
    ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A TLS client configuration like [`client_config_with`] that also
/// presents `chain` (leaf first) with `key` to servers that ask for a
/// client certificate.
pub(crate) fn client_config_with_identity(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: rustls_pki_types::PrivateKeyDer<'static>,
) -> Result<ClientConfig, rustls::Error> {
    ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, TrustError> {
    let error = |reason: String| TrustError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| error(e.to_string()))? {
        roots
            .add(cert.map_err(|e| error(e.to_string()))?)
            .map_err(|e| error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error("no certificate in the file".into()));
    }
    Ok(roots)
}
