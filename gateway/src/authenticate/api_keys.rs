//! The configured API keys, with hashes from the file or from Vault.
//!
//! A key whose hash is in the configuration (`hash`) is fixed for the
//! configuration's life. A key whose hash is in a KV secret (`hash_from`)
//! follows the secret: the verifier is rebuilt, on the request path but
//! without calling Vault, the first time a request sees that one of the
//! secrets has a new version. A secret that is no longer available (Vault
//! unreachable beyond its staleness limit) or lacks the field accepts no
//! key: fail closed.

use std::sync::Arc;

use arc_swap::ArcSwap;
use maskgate_authn::{ApiKeyEntry, ApiKeys, AuthError, Principal};
use maskgate_config::ApiKey;
use maskgate_secrets::{KvSecret, Vault, Watched};

/// One configured key: who it is, and where its hash comes from.
struct Configured {
    id: String,
    subject: String,
    roles: Vec<String>,
    hash: HashSource,
}

enum HashSource {
    Fixed([u8; 32]),
    Vault {
        secret: Watched<KvSecret>,
        field: String,
    },
}

/// The verifier built from the hashes as they were when it was built.
struct Built {
    /// Each Vault secret it was built from, in order: its generation and
    /// whether it was available.
    sources: Vec<(u64, bool)>,
    keys: ApiKeys,
}

/// The API keys of one configuration.
pub(super) struct ApiKeySet {
    configured: Vec<Configured>,
    built: ArcSwap<Built>,
}

impl ApiKeySet {
    /// From `[[authn.api_key]]`; `vault` is required when a key has
    /// `hash_from` (validation says so).
    pub(super) fn new(keys: &[ApiKey], vault: Option<&Vault>) -> Result<Self, String> {
        let configured = keys
            .iter()
            .map(|key| {
                let hash = match (key.sha256(), &key.hash_from) {
                    (Some(hash), _) => HashSource::Fixed(hash),
                    (None, Some(from)) => HashSource::Vault {
                        secret: vault
                            .ok_or("API key hashes from Vault need [vault] at start-up")?
                            .kv_secret(&from.mount, &from.path),
                        field: from.field.clone(),
                    },
                    (None, None) => return Err(format!("API key {:?} has no hash", key.id)),
                };
                Ok(Configured {
                    id: key.id.clone(),
                    subject: key.subject().to_owned(),
                    roles: key.roles.clone(),
                    hash,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let built = build(&configured)?;
        Ok(Self {
            configured,
            built: ArcSwap::from_pointee(built),
        })
    }

    /// The Vault secrets the hashes come from (to wait for at start-up).
    pub(super) fn vault_secrets(&self) -> impl Iterator<Item = &Watched<KvSecret>> {
        self.configured.iter().filter_map(|c| match &c.hash {
            HashSource::Vault { secret, .. } => Some(secret),
            HashSource::Fixed(_) => None,
        })
    }

    /// Verifies a presented key against the hashes in force now.
    pub(super) fn verify(&self, presented: &str) -> Result<Principal, AuthError> {
        let mut built = self.built.load_full();
        let changed = self
            .vault_secrets()
            .map(source_state)
            .ne(built.sources.iter().copied());
        if changed {
            match build(&self.configured) {
                Ok(rebuilt) => {
                    built = Arc::new(rebuilt);
                    self.built.store(built.clone());
                }
                Err(error) => tracing::warn!("API keys from Vault: {error}"),
            }
        }
        built.keys.verify(presented)
    }

    /// How many keys are configured.
    pub(super) fn len(&self) -> usize {
        self.configured.len()
    }
}

/// A verifier from the current hashes; keys whose hash is not available
/// now are left out (they authenticate nobody until it is back).
fn build(configured: &[Configured]) -> Result<Built, String> {
    let mut sources = Vec::new();
    let mut entries = Vec::with_capacity(configured.len());
    for key in configured {
        let hash = match &key.hash {
            HashSource::Fixed(hash) => Some(*hash),
            HashSource::Vault { secret, field } => {
                sources.push(source_state(secret));
                match secret.current() {
                    Ok(value) => {
                        let hash = value
                            .field(field)
                            .and_then(|text| maskgate_config::parse_key_hash(text.expose()));
                        if hash.is_none() {
                            tracing::warn!(
                                key = %key.id,
                                secret = %secret.name(),
                                field = %field,
                                "the API key's hash is missing from the secret or is not `sha256:` and 64 hex digits; the key is refused"
                            );
                        }
                        hash
                    }
                    Err(why) => {
                        tracing::warn!(key = %key.id, "the API key's hash is unavailable, the key is refused: {why}");
                        None
                    }
                }
            }
        };
        if let Some(hash) = hash {
            entries.push(ApiKeyEntry::new(
                key.id.clone(),
                hash,
                key.subject.clone(),
                key.roles.clone(),
            ));
        }
    }
    Ok(Built {
        sources,
        keys: ApiKeys::new(entries).map_err(|e| format!("API keys: {e}"))?,
    })
}

/// What decides whether a verifier built from `secret` is still current:
/// its generation, and whether it is still served (a secret Vault could
/// not confirm for too long stops authenticating anyone).
fn source_state(secret: &Watched<KvSecret>) -> (u64, bool) {
    (secret.generation(), secret.current().is_ok())
}
