//! Client certificates from the PKI engine, for mTLS to upstreams.

use std::{fmt, time::SystemTime};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

use crate::{error::SecretsError, secret::SecretString};

/// A certificate and private key issued by the PKI engine for the gateway.
///
/// Re-issued at about two thirds of its lifetime; each re-issue is a new
/// [`Watched::generation`](crate::Watched::generation), the signal to build
/// new upstream connections with it. `Debug` shows the serial and the end.
pub struct ClientCertificate {
    pub(crate) serial: String,
    pub(crate) certificate_pem: String,
    pub(crate) chain_pem: Vec<String>,
    pub(crate) private_key_pem: SecretString,
    pub(crate) not_after: SystemTime,
}

impl ClientCertificate {
    /// The certificate's serial number as Vault writes it (`aa:bb:...`).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// When the certificate stops being valid.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// The leaf certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The issuing CA chain (issuer first), PEM each.
    pub fn chain_pem(&self) -> &[String] {
        &self.chain_pem
    }

    /// The private key, PEM.
    pub fn private_key_pem(&self) -> &SecretString {
        &self.private_key_pem
    }

    /// Leaf first, then the issuing chain: what a TLS client presents.
    pub fn cert_chain(&self) -> Result<Vec<CertificateDer<'static>>, SecretsError> {
        let mut out = Vec::new();
        for pem in std::iter::once(&self.certificate_pem).chain(&self.chain_pem) {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                out.push(cert.map_err(|e| bad_pem("certificate", e))?);
            }
        }
        Ok(out)
    }

    /// The private key in DER, for rustls.
    pub fn private_key(&self) -> Result<PrivateKeyDer<'static>, SecretsError> {
        PrivateKeyDer::from_pem_slice(self.private_key_pem.expose().as_bytes())
            .map_err(|e| bad_pem("private key", e))
    }
}

fn bad_pem(what: &str, e: rustls_pki_types::pem::Error) -> SecretsError {
    // The pem error names a section kind or an I/O problem, never the bytes.
    SecretsError::Response {
        operation: "issue a PKI certificate".into(),
        reason: format!("the {what} is not valid PEM ({e})"),
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("serial", &self.serial)
            .field("not_after", &crate::time::rfc3339(self.not_after))
            .field("private_key", &self.private_key_pem)
            .finish_non_exhaustive()
    }
}
