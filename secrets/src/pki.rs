//! Client certificates from the PKI engine, for mTLS to upstreams.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rustls::{SignatureScheme, client::ResolvesClientCert, sign::CertifiedKey};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use vaultrs::api::pki::requests::GenerateCertificateRequest;

use crate::{
    client::{Inner, Refresh},
    error::SecretsError,
    secret::SecretString,
    time::jittered,
    watched::Watched,
};

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

/// A rustls client-certificate resolver that always presents the newest
/// certificate of a watched [`ClientCertificate`]: build the upstream's
/// `ClientConfig` once with
/// `with_client_cert_resolver(Arc::new(ClientCertResolver::new(watched)))`
/// and every new handshake uses the certificate issued last. (Pooled
/// connections keep the certificate they were made with: drop them on
/// [`Watched::subscribe`] if they must move at once.)
///
/// A resumed TLS session keeps the identity of the handshake that made it:
/// set the `ClientConfig`'s `resumption` to `Resumption::disabled()` for the
/// upstream to see each new certificate at once.
///
/// Once the certificate has expired without a new one, it presents none,
/// and an upstream that requires one refuses the handshake: fail closed.
pub struct ClientCertResolver {
    watched: Watched<ClientCertificate>,
    /// The rustls form of the current generation.
    cached: std::sync::Mutex<Option<(u64, Arc<CertifiedKey>)>>,
}

impl ClientCertResolver {
    /// A resolver for `watched`.
    pub fn new(watched: Watched<ClientCertificate>) -> Self {
        ClientCertResolver {
            watched,
            cached: std::sync::Mutex::new(None),
        }
    }

    fn certified_key(&self) -> Option<Arc<CertifiedKey>> {
        let generation = self.watched.generation();
        let current = self.watched.current().ok()?;
        let mut cached = crate::client::lock(&self.cached);
        if let Some((cached_generation, key)) = cached.as_ref()
            && *cached_generation == generation
        {
            return Some(Arc::clone(key));
        }
        let made = current.chain_and_key().ok()?;
        let key = Arc::new(CertifiedKey::new(made.0, made.1));
        *cached = Some((generation, Arc::clone(&key)));
        Some(key)
    }
}

impl fmt::Debug for ClientCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertResolver")
            .field("watched", &self.watched)
            .finish()
    }
}

impl ResolvesClientCert for ClientCertResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.certified_key()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ClientCertificate {
    /// The chain and a ring signing key for it.
    fn chain_and_key(
        &self,
    ) -> Result<
        (
            Vec<CertificateDer<'static>>,
            Arc<dyn rustls::sign::SigningKey>,
        ),
        SecretsError,
    > {
        let key =
            rustls::crypto::ring::sign::any_supported_type(&self.private_key()?).map_err(|e| {
                SecretsError::Response {
                    operation: "issue a PKI certificate".into(),
                    reason: format!("the private key is not usable ({e})"),
                }
            })?;
        Ok((self.cert_chain()?, key))
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

/// Keeps a [`ClientCertificate`] valid: issues one, and a new one at about
/// two thirds of its lifetime.
pub(crate) struct PkiTask {
    mount: String,
    role: String,
    common_name: String,
    ttl: Duration,
    watched: Watched<ClientCertificate>,
}

impl PkiTask {
    pub(crate) fn new(
        mount: &str,
        role: &str,
        common_name: &str,
        ttl: Duration,
        watched: Watched<ClientCertificate>,
    ) -> Self {
        PkiTask {
            mount: mount.to_owned(),
            role: role.to_owned(),
            common_name: common_name.to_owned(),
            ttl,
            watched,
        }
    }
}

impl Refresh for PkiTask {
    async fn step(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let operation = format!("issue {}/issue/{}", self.mount, self.role);
        let session = inner.session.load_full();
        let mut options = GenerateCertificateRequest::builder();
        options
            .common_name(self.common_name.as_str())
            .ttl(format!("{}s", self.ttl.as_secs().max(1)));
        let (mount, role) = (&self.mount, &self.role);
        let issued = inner
            .vaultrs(&operation, &session, |c| {
                vaultrs::pki::cert::generate(c, mount, role, Some(&mut options))
            })
            .await?;
        let Some(expiration) = issued.expiration else {
            return Err(SecretsError::Response {
                operation,
                reason: "the certificate has no expiration".into(),
            });
        };
        let not_after = UNIX_EPOCH + Duration::from_secs(expiration);
        let chain_pem = issued
            .ca_chain
            .filter(|chain| !chain.is_empty())
            .unwrap_or_else(|| vec![issued.issuing_ca]);
        let certificate = ClientCertificate {
            serial: issued.serial_number,
            certificate_pem: issued.certificate,
            chain_pem,
            private_key_pem: SecretString::new(issued.private_key),
            not_after,
        };
        // Refuse what rustls could not use, before anyone gets it.
        certificate.chain_and_key()?;
        tracing::info!(
            serial = %certificate.serial,
            not_after = %crate::time::rfc3339(not_after),
            "client certificate issued"
        );
        self.watched.publish(certificate, Some(not_after));
        let lifetime = not_after
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Ok(jittered(lifetime, 0.6, 0.7))
    }

    fn failed(&mut self, error: &SecretsError) {
        self.watched.fail(error);
    }

    fn name(&self) -> String {
        self.watched.name().to_owned()
    }
}
