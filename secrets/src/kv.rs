//! KV v2 secrets: read once, then watched for new versions.

use std::{collections::BTreeMap, fmt};

use crate::secret::SecretString;

/// One version of a KV v2 secret: its fields, each a [`SecretString`].
///
/// String fields are kept as they are; other JSON values (numbers, booleans,
/// objects) as their JSON text. `Debug` shows the field names only.
///
/// The gateway maps fields to what it needs by name: a header template's
/// `{{token}}` placeholder is the field `token`; an API key entry or a
/// signing key names its field in the configuration (`field = "key"`).
pub struct KvSecret {
    pub(crate) mount: String,
    pub(crate) path: String,
    pub(crate) version: u64,
    pub(crate) created_time: String,
    pub(crate) fields: BTreeMap<String, SecretString>,
}

impl KvSecret {
    /// The field's value, if the secret has that field.
    pub fn field(&self, name: &str) -> Option<&SecretString> {
        self.fields.get(name)
    }

    /// The field names, sorted.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The KV version this is (1, 2, ...).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When Vault created this version (RFC 3339, as Vault wrote it).
    pub fn created_time(&self) -> &str {
        &self.created_time
    }

    /// The engine's mount, e.g. `secret`.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The secret's path inside the mount, e.g. `app/db`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Debug for KvSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSecret")
            .field("mount", &self.mount)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KvSecret {
    /// Fills in `template` from this secret's fields (`{{token}}` is the
    /// field `token`).
    pub fn render(
        &self,
        template: &crate::Template,
    ) -> Result<crate::SecretString, crate::TemplateError> {
        template.render(|name| self.fields.get(name))
    }
}
