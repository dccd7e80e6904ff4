//! Test certificates, made with rcgen when the test runs: a CA, server
//! certificates it signs for `localhost` and `127.0.0.1` (written as PEM
//! files into a temporary directory that lives as long as the CA), and
//! client certificates for mutual TLS.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tempfile::TempDir;

/// A certificate authority for one test, with its files on disk.
pub struct TestCa {
    dir: TempDir,
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    ca_path: PathBuf,
}

/// A server certificate signed by a [`TestCa`].
pub struct ServerCert {
    /// PEM file: the leaf certificate.
    pub cert_path: PathBuf,
    /// PEM file: its private key (PKCS#8).
    pub key_path: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// A new CA named `name`; its certificate is written to `ca.pem`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let key = KeyPair::generate().expect("generate the CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("self-sign the CA");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, cert.pem()).expect("write ca.pem");
        Self {
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
            ca_path,
            dir,
        }
    }

    /// The CA certificate's PEM file, for `upstream.ca`.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// A root store holding only this CA, for test clients.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert.clone())
            .expect("the CA is a valid root");
        roots
    }

    /// Issues a server certificate for `localhost` and `127.0.0.1`, written
    /// to `<file_stem>.pem` and `<file_stem>.key`.
    pub fn issue(&self, file_stem: &str) -> ServerCert {
        let key = KeyPair::generate().expect("generate a server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server certificate parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign the server certificate");
        let cert_path = self.dir.path().join(format!("{file_stem}.pem"));
        let key_path = self.dir.path().join(format!("{file_stem}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write the certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
        ServerCert {
            cert_path,
            key_path,
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// What is wrong with a client certificate ([`TestCa::issue_client_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCertFlaw {
    /// Nothing: a good client certificate.
    None,
    /// Valid in 2020 only.
    Expired,
    /// Valid from the year 4000.
    NotYetValid,
    /// Its extended key usage is server authentication only.
    ServerAuthOnly,
}

/// A client certificate signed by a [`TestCa`], for mutual TLS.
pub struct ClientCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// Issues a client certificate (extended key usage: client
    /// authentication) whose subject is the URI SAN `uri`, e.g. a SPIFFE id.
    pub fn issue_client(&self, uri: &str) -> ClientCert {
        self.issue_client_with(uri, ClientCertFlaw::None)
    }

    /// Issues a client certificate for the URI SAN `uri` with `flaw`, for
    /// tests of what a listener refuses.
    pub fn issue_client_with(&self, uri: &str, flaw: ClientCertFlaw) -> ClientCert {
        let key = KeyPair::generate().expect("generate a client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
        params.distinguished_name.push(DnType::CommonName, uri);
        params.subject_alt_names = vec![SanType::URI(
            uri.try_into().expect("an ASCII URI for the SAN"),
        )];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        match flaw {
            ClientCertFlaw::None => {}
            ClientCertFlaw::Expired => {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            ClientCertFlaw::NotYetValid => {
                params.not_before = rcgen::date_time_ymd(4000, 1, 1);
                params.not_after = rcgen::date_time_ymd(4001, 1, 1);
            }
            ClientCertFlaw::ServerAuthOnly => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign the client certificate");
        ClientCert {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

impl ClientCert {
    /// A rustls client configuration (ring) trusting `roots` and presenting
    /// this certificate.
    pub fn client_config(&self, roots: RootCertStore) -> ClientConfig {
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .expect("a usable client identity")
    }
}

impl ServerCert {
    /// A rustls server configuration (ring) with this identity, offering
    /// `alpn` protocols, for TLS test upstreams.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default versions")
                .with_no_client_auth()
                .with_single_cert(
                    self.chain.clone(),
                    PrivateKeyDer::Pkcs8(self.key.clone_key()),
                )
                .expect("a usable server identity");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Like [`server_config`](Self::server_config), for an upstream that
    /// requires a client certificate chaining to `client_roots`.
    pub fn server_config_requiring_clients(
        &self,
        client_roots: RootCertStore,
    ) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(client_roots),
            provider.clone(),
        )
        .build()
        .expect("a client verifier");
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .expect("a usable server identity");
        Arc::new(config)
    }

    /// The `tls = { ... }` line of a listener using this certificate;
    /// `extra` adds keys to the table, e.g. `min_version = "1.3"`.
    pub fn listener_tls(&self, extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        format!(
            r#"tls = {{ cert = "{}", key = "{}"{extra} }}"#,
            self.cert_path.display(),
            self.key_path.display()
        )
    }
}
