//! The authenticated caller.

use std::{collections::BTreeMap, fmt, time::SystemTime};

/// How a principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A JWT bearer token.
    Jwt,
    /// An API key.
    ApiKey,
    /// A TLS client certificate.
    Mtls,
}

impl AuthMethod {
    /// A stable name for logs, metrics and audit records: `jwt`, `api_key`,
    /// `mtls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller: who, with which roles, how, and until when.
///
/// Holds no credential: `Debug` shows the subject, roles and attributes, never
/// a token or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// Who: the token's subject claim, the API key's configured subject, or
    /// the certificate's SAN URI / SAN DNS name / CN.
    pub subject: String,
    /// Roles (or groups), sorted and without duplicates.
    pub roles: Vec<String>,
    /// How the caller authenticated.
    pub method: AuthMethod,
    /// The token's issuer (`iss`), or the certificate issuer's distinguished
    /// name; `None` for API keys.
    pub issuer: Option<String>,
    /// The purpose declared in the token (from the issuer's configured claim),
    /// if any. The gateway may also take it from a header.
    pub purpose: Option<String>,
    /// Further facts, by name: configured token claims (in string form), the
    /// API key id, the certificate fingerprint.
    pub attributes: BTreeMap<String, String>,
    /// When the credential stops being valid (token `exp`, certificate
    /// `notAfter`); `None` for API keys.
    pub expires_at: Option<SystemTime>,
}

impl Principal {
    /// A principal with these roles (sorted and deduplicated here), and no
    /// issuer, purpose, attributes or expiry.
    pub fn new(
        subject: impl Into<String>,
        roles: impl IntoIterator<Item = String>,
        method: AuthMethod,
    ) -> Self {
        Self {
            subject: subject.into(),
            roles: normalize_roles(roles),
            method,
            issuer: None,
            purpose: None,
            attributes: BTreeMap::new(),
            expires_at: None,
        }
    }

    /// Whether the principal has this role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles
            .binary_search_by(|r| r.as_str().cmp(role))
            .is_ok()
    }
}

/// Sorts, deduplicates and drops empty role names.
pub(crate) fn normalize_roles(roles: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut roles: Vec<String> = roles.into_iter().filter(|r| !r.is_empty()).collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_sorted_and_deduplicated() {
        let p = Principal::new(
            "alice",
            ["b", "a", "b", "", "c"].map(String::from),
            AuthMethod::Jwt,
        );
        assert_eq!(p.roles, ["a", "b", "c"]);
        assert!(p.has_role("b"));
        assert!(!p.has_role("d"));
        assert_eq!(AuthMethod::ApiKey.to_string(), "api_key");
    }
}
