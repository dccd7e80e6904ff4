//! Dynamic database credentials with a lease.

use std::{fmt, time::SystemTime};

use crate::secret::SecretString;

/// A username and password issued by the database secrets engine, with the
/// lease that keeps them alive.
///
/// The lease end is [`Watched::expires_at`](crate::Watched::expires_at):
/// renewal moves it without changing the credential. `Debug` shows the lease
/// id only.
pub struct DbCredential {
    pub(crate) username: SecretString,
    pub(crate) password: SecretString,
    pub(crate) lease_id: String,
    pub(crate) issued_at: SystemTime,
}

impl DbCredential {
    /// The database user name Vault created.
    pub fn username(&self) -> &SecretString {
        &self.username
    }

    /// Its password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The lease id (not a secret: it names the lease, e.g. for the audit
    /// record; renewing or revoking it needs a token with that capability).
    pub fn lease_id(&self) -> &str {
        &self.lease_id
    }

    /// When Vault issued it.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }
}

impl fmt::Debug for DbCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbCredential")
            .field("lease_id", &self.lease_id)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

impl DbCredential {
    /// Fills in `template`: `{{username}}` and `{{password}}`.
    pub fn render(
        &self,
        template: &crate::Template,
    ) -> Result<crate::SecretString, crate::TemplateError> {
        template.render(|name| match name {
            "username" => Some(&self.username),
            "password" => Some(&self.password),
            _ => None,
        })
    }
}
