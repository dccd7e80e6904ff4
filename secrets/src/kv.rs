//! KV v2 secrets: read once, then watched for new versions.

use std::{
    collections::BTreeMap,
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use serde_json::Value;

use crate::{
    client::{Inner, Refresh, parse},
    error::SecretsError,
    watched::Watched,
};

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

/// Keeps a [`KvSecret`] fresh: polls the secret's metadata for a new
/// version, reads the data only when it changed.
pub(crate) struct KvTask {
    mount: String,
    path: String,
    watched: Watched<KvSecret>,
    version: Option<u64>,
    /// The token may not read the metadata: poll the data instead.
    metadata_denied: bool,
}

impl KvTask {
    pub(crate) fn new(mount: &str, path: &str, watched: Watched<KvSecret>) -> Self {
        KvTask {
            mount: mount.to_owned(),
            path: path.to_owned(),
            watched,
            version: None,
            metadata_denied: false,
        }
    }

    /// `true` when the version Vault has now is the one held.
    async fn unchanged(&mut self, inner: &Arc<Inner>) -> Result<bool, SecretsError> {
        let Some(version) = self.version else {
            return Ok(false);
        };
        if self.metadata_denied {
            return Ok(false);
        }
        let session = inner.session.load_full();
        let operation = format!("read {}/metadata/{}", self.mount, self.path);
        let (mount, path) = (&self.mount, &self.path);
        match inner
            .vaultrs(&operation, &session, |c| {
                vaultrs::kv2::read_metadata(c, mount, path)
            })
            .await
        {
            Ok(metadata) => Ok(metadata.current_version == version),
            Err(e) if e.is_denied() => {
                tracing::info!(
                    mount = %self.mount,
                    path = %self.path,
                    "cannot read the KV secret's metadata; polling its data instead"
                );
                self.metadata_denied = true;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

impl Refresh for KvTask {
    async fn step(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let poll = inner.settings.poll_interval;
        let fresh_until = Some(SystemTime::now() + inner.settings.kv_max_stale);
        if self.unchanged(inner).await? {
            self.watched.extend(fresh_until);
            return Ok(poll);
        }
        let secret = read(inner, &self.mount, &self.path).await?;
        if Some(secret.version) == self.version {
            self.watched.extend(fresh_until);
        } else {
            tracing::info!(
                mount = %self.mount,
                path = %self.path,
                version = secret.version,
                "KV secret loaded"
            );
            self.version = Some(secret.version);
            self.watched.publish(secret, fresh_until);
        }
        Ok(poll)
    }

    fn failed(&mut self, error: &SecretsError) {
        self.watched.fail(error);
    }

    fn name(&self) -> String {
        self.watched.name().to_owned()
    }
}

/// Reads the latest version of a KV v2 secret, data and version in one
/// call (direct: vaultrs' `read` drops the version).
pub(crate) async fn read(inner: &Inner, mount: &str, path: &str) -> Result<KvSecret, SecretsError> {
    let operation = format!("read {mount}/data/{path}");
    let body = inner
        .raw(
            reqwest::Method::GET,
            &format!("{mount}/data/{path}"),
            None,
            &operation,
        )
        .await?;
    let answer: ReadAnswer = parse(&body, &operation)?;
    let Some(data) = answer.data.data else {
        return Err(SecretsError::Response {
            operation,
            reason: "the latest version is deleted or destroyed".into(),
        });
    };
    let fields = data
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (name, SecretString::new(text))
        })
        .collect();
    Ok(KvSecret {
        mount: mount.to_owned(),
        path: path.to_owned(),
        version: answer.data.metadata.version,
        created_time: answer.data.metadata.created_time,
        fields,
    })
}

#[derive(serde::Deserialize)]
struct ReadAnswer {
    data: ReadData,
}

#[derive(serde::Deserialize)]
struct ReadData {
    data: Option<BTreeMap<String, Value>>,
    metadata: ReadMetadata,
}

#[derive(serde::Deserialize)]
struct ReadMetadata {
    version: u64,
    #[serde(default)]
    created_time: String,
}
