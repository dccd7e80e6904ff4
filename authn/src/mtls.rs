//! Identities from TLS client certificates.
//!
//! The certificate has already been verified by rustls in the gateway (chain
//! to the configured CA, validity, key usage); this module only reads who it
//! names and maps that to roles.

use std::{
    collections::BTreeMap,
    time::{Duration, UNIX_EPOCH},
};

use rustls_pki_types::CertificateDer;
use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

use crate::{
    AuthError, AuthMethod, Principal, SetupError, encoding::hex_encode, encoding::sha256,
    principal::normalize_roles,
};

/// Where in a client certificate the subject is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectSource {
    /// The first URI in the subject alternative names (e.g. a SPIFFE id,
    /// `spiffe://example.org/ns/prod/sa/reporting`).
    UriSan,
    /// The first DNS name in the subject alternative names, lowercased.
    DnsSan,
    /// The first common name (CN) of the subject.
    CommonName,
}

impl SubjectSource {
    /// A stable name: `uri_san`, `dns_san`, `cn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UriSan => "uri_san",
            Self::DnsSan => "dns_san",
            Self::CommonName => "cn",
        }
    }
}

/// How client certificates map to principals.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MtlsConfig {
    /// Where the subject is read from, in order of preference: the first
    /// source the certificate has a value for gives the subject. Default:
    /// SAN URI, then SAN DNS name, then CN.
    pub sources: Vec<SubjectSource>,
    /// Roles by subject (the subject exactly as read; DNS names lowercase).
    pub roles: BTreeMap<String, Vec<String>>,
    /// Roles for a subject that is not in [`roles`](Self::roles). `None`:
    /// such a client is refused with [`AuthError::UnknownClient`].
    pub default_roles: Option<Vec<String>>,
}

impl Default for MtlsConfig {
    fn default() -> Self {
        Self {
            sources: vec![
                SubjectSource::UriSan,
                SubjectSource::DnsSan,
                SubjectSource::CommonName,
            ],
            roles: BTreeMap::new(),
            default_roles: None,
        }
    }
}

impl MtlsConfig {
    /// A configuration with these roles per subject, the default sources and
    /// no default roles.
    pub fn new(roles: BTreeMap<String, Vec<String>>) -> Self {
        Self {
            roles,
            ..Self::default()
        }
    }
}

/// Maps verified client certificates to principals.
#[derive(Debug, Clone)]
pub struct MtlsIdentities {
    config: MtlsConfig,
}

impl MtlsIdentities {
    /// Checks the configuration: at least one source, none twice.
    pub fn new(mut config: MtlsConfig) -> Result<Self, SetupError> {
        if config.sources.is_empty() {
            return Err(SetupError::InvalidMtls {
                reason: "at least one subject source is required",
            });
        }
        for (i, s) in config.sources.iter().enumerate() {
            if config.sources[..i].contains(s) {
                return Err(SetupError::InvalidMtls {
                    reason: "a subject source is listed twice",
                });
            }
        }
        for roles in config.roles.values_mut() {
            *roles = normalize_roles(std::mem::take(roles));
        }
        if let Some(roles) = &mut config.default_roles {
            *roles = normalize_roles(std::mem::take(roles));
        }
        Ok(Self { config })
    }

    /// The principal for a client certificate (the end-entity certificate,
    /// DER, as rustls verified it).
    ///
    /// The principal's `issuer` is the certificate issuer's distinguished
    /// name, `expires_at` its `notAfter`, and its attributes hold
    /// `cert_sha256` (the certificate's SHA-256, hex) and `subject_source`
    /// (which source gave the subject).
    pub fn identify(&self, cert: &CertificateDer<'_>) -> Result<Principal, AuthError> {
        let (rest, cert) = X509Certificate::from_der(cert.as_ref())
            .map_err(|_| AuthError::malformed("the client certificate cannot be parsed"))?;
        if !rest.is_empty() {
            return Err(AuthError::malformed(
                "the client certificate has trailing data",
            ));
        }
        let (source, subject) = self
            .config
            .sources
            .iter()
            .find_map(|&source| subject_from(&cert, source).map(|s| (source, s)))
            .ok_or(AuthError::UnknownClient)?;
        let roles = match self.config.roles.get(&subject) {
            Some(roles) => roles.clone(),
            None => self
                .config
                .default_roles
                .clone()
                .ok_or(AuthError::UnknownClient)?,
        };
        let mut principal = Principal::new(subject, roles, AuthMethod::Mtls);
        principal.issuer = Some(cert.issuer().to_string());
        principal.expires_at = u64::try_from(cert.validity().not_after.timestamp())
            .ok()
            .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
        principal
            .attributes
            .insert("cert_sha256".to_owned(), hex_encode(&sha256(cert.as_raw())));
        principal
            .attributes
            .insert("subject_source".to_owned(), source.as_str().to_owned());
        Ok(principal)
    }
}

/// The first non-empty value of this source in the certificate.
fn subject_from(cert: &X509Certificate<'_>, source: SubjectSource) -> Option<String> {
    let san = || {
        cert.subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| ext.value.general_names.iter())
            .into_iter()
            .flatten()
    };
    match source {
        SubjectSource::UriSan => san().find_map(|name| match name {
            GeneralName::URI(uri) if !uri.is_empty() => Some((*uri).to_owned()),
            _ => None,
        }),
        SubjectSource::DnsSan => san().find_map(|name| match name {
            GeneralName::DNSName(dns) if !dns.is_empty() => Some(dns.to_ascii_lowercase()),
            _ => None,
        }),
        SubjectSource::CommonName => cert.subject().iter_common_name().find_map(|cn| {
            cn.as_str()
                .ok()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        }),
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    use super::*;

    fn cert(sans: Vec<SanType>, cn: Option<&str>) -> CertificateDer<'static> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn identities(default_roles: Option<Vec<String>>) -> MtlsIdentities {
        let mut roles = BTreeMap::new();
        roles.insert(
            "spiffe://example.org/reporting".to_owned(),
            vec!["support".to_owned(), "analyst".to_owned()],
        );
        roles.insert("batch.example.org".to_owned(), vec!["fraud".to_owned()]);
        roles.insert("legacy-client".to_owned(), vec!["support".to_owned()]);
        MtlsIdentities::new(MtlsConfig {
            default_roles,
            ..MtlsConfig::new(roles)
        })
        .unwrap()
    }

    fn uri(s: &str) -> SanType {
        SanType::URI(s.try_into().unwrap())
    }

    fn dns(s: &str) -> SanType {
        SanType::DnsName(s.try_into().unwrap())
    }

    #[test]
    fn subject_from_san_uri_first() {
        let c = cert(
            vec![
                dns("batch.example.org"),
                uri("spiffe://example.org/reporting"),
            ],
            Some("legacy-client"),
        );
        let p = identities(None).identify(&c).unwrap();
        assert_eq!(p.subject, "spiffe://example.org/reporting");
        assert_eq!(p.roles, ["analyst", "support"]);
        assert_eq!(p.method, AuthMethod::Mtls);
        assert_eq!(p.attributes["subject_source"], "uri_san");
        assert_eq!(p.attributes["cert_sha256"], hex_encode(&sha256(c.as_ref())));
        assert!(p.expires_at.is_some());
        assert!(p.issuer.is_some());
    }

    #[test]
    fn subject_from_san_dns_lowercased() {
        let c = cert(vec![dns("Batch.Example.ORG")], Some("legacy-client"));
        let p = identities(None).identify(&c).unwrap();
        assert_eq!(p.subject, "batch.example.org");
        assert_eq!(p.roles, ["fraud"]);
        assert_eq!(p.attributes["subject_source"], "dns_san");
    }

    #[test]
    fn subject_from_common_name() {
        let c = cert(Vec::new(), Some("legacy-client"));
        let p = identities(None).identify(&c).unwrap();
        assert_eq!(p.subject, "legacy-client");
        assert_eq!(p.attributes["subject_source"], "cn");
    }

    #[test]
    fn configured_source_order_is_followed() {
        let c = cert(
            vec![uri("spiffe://example.org/reporting")],
            Some("legacy-client"),
        );
        let only_cn = MtlsIdentities::new(MtlsConfig {
            sources: vec![SubjectSource::CommonName],
            ..identities(None).config
        })
        .unwrap();
        assert_eq!(only_cn.identify(&c).unwrap().subject, "legacy-client");
    }

    #[test]
    fn unknown_subjects_are_refused_unless_default_roles() {
        let c = cert(vec![uri("spiffe://example.org/stranger")], None);
        assert_eq!(identities(None).identify(&c), Err(AuthError::UnknownClient));
        let p = identities(Some(vec!["guest".into()])).identify(&c).unwrap();
        assert_eq!(p.subject, "spiffe://example.org/stranger");
        assert_eq!(p.roles, ["guest"]);

        let nameless = cert(Vec::new(), None);
        assert_eq!(
            identities(Some(vec!["guest".into()])).identify(&nameless),
            Err(AuthError::UnknownClient)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
        assert!(matches!(
            identities(None).identify(&garbage),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn configuration_is_checked() {
        assert!(
            MtlsIdentities::new(MtlsConfig {
                sources: Vec::new(),
                ..MtlsConfig::default()
            })
            .is_err()
        );
        assert!(
            MtlsIdentities::new(MtlsConfig {
                sources: vec![SubjectSource::CommonName, SubjectSource::CommonName],
                ..MtlsConfig::default()
            })
            .is_err()
        );
    }
}
