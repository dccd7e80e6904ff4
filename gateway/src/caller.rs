//! Who is calling, as later layers see it: request extensions, not globals.
//!
//! The authentication layer (from `maskgate-authn`'s `Principal`) puts a
//! [`CallerInfo`] into the request's extensions when the credentials check
//! out; a request without one has no authenticated caller. The access layer decides the request's [`Purpose`] and puts it
//! there too, for masking and audit.

use std::sync::Arc;

use maskgate_config::AuthMethod;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerInfo {
    /// Who: the token's subject claim, the API key's subject, or the client
    /// certificate's subject.
    pub(crate) subject: Arc<str>,
    /// The caller's roles, as the credentials and the configuration give
    /// them.
    pub(crate) roles: Vec<String>,
    /// How the caller authenticated.
    pub(crate) auth_method: AuthMethod,
    /// The purpose the credentials carry (a token's purpose claim), if any.
    pub(crate) purpose_claim: Option<String>,
}

impl CallerInfo {
    pub(crate) fn new(
        subject: impl Into<Arc<str>>,
        roles: Vec<String>,
        auth_method: AuthMethod,
        purpose_claim: Option<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            roles,
            auth_method,
            purpose_claim,
        }
    }
}

/// Why the request is made: the purpose the access layer accepted, one of
/// the product's configured purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Purpose(pub(crate) Arc<str>);
