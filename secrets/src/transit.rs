//! Data keys for masking from the Transit engine (envelope encryption).
//!
//! Each data key is made by `transit/datakey/plaintext/<key>`: 32 random
//! bytes, returned in clear (kept only in memory) and wrapped under the
//! transit key (`vault:vN:...`). The wrapped copies are kept in a registry, a
//! KV v2 secret shared by every gateway instance and written with
//! check-and-set, so that any instance can unwrap (through
//! `transit/decrypt/<key>`) a key another one made, and decrypt what it
//! encrypted. When the transit key is rotated, a new data key per purpose is
//! made under the new version and becomes active; the old ones stay in the
//! registry and keep unwrapping.
//!
//! Registry format (the KV secret's data):
//!
//! ```json
//! { "format": "maskgate-transit-registry-v1",
//!   "keys": { "t3-0a1b2c3d": { "purpose": "encrypt", "transit_version": 3,
//!                              "wrapped": "vault:v3:...", "created": "2026-..." } } }
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{Arc, Mutex, Weak},
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::{
    client::{Inner, Refresh, lock, parse},
    error::{KeyUnavailable, SecretsError},
    settings::TransitKeyringSettings,
    watched::{Metered, ValueMetrics},
};

/// The registry's format string.
const REGISTRY_FORMAT: &str = "maskgate-transit-registry-v1";
/// How many times a registry write is retried after another instance
/// changed it first.
const CAS_ATTEMPTS: usize = 5;

/// Length in bytes of every data key (AES-256, HMAC-SHA256, FF1 over AES-256).
pub const DATA_KEY_LEN: usize = 32;

/// The one thing a data key may be used for. Each purpose has its own keys:
/// the same bytes are never used for two purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// AES-256-GCM field encryption.
    Encrypt,
    /// HMAC-SHA256 keyed pseudonyms.
    Hmac,
    /// FF1 format-preserving tokens.
    Fpe,
}

impl KeyPurpose {
    /// All purposes, in a fixed order.
    pub const ALL: [KeyPurpose; 3] = [KeyPurpose::Encrypt, KeyPurpose::Hmac, KeyPurpose::Fpe];

    /// `encrypt`, `hmac` or `fpe`: the name in the registry and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Encrypt => "encrypt",
            KeyPurpose::Hmac => "hmac",
            KeyPurpose::Fpe => "fpe",
        }
    }

    /// The purpose named `name`, if any.
    pub fn from_name(name: &str) -> Option<KeyPurpose> {
        KeyPurpose::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One data key in clear, in memory only: zeroized on drop, `Debug`
/// redacted.
pub struct DataKeyMaterial {
    pub(crate) id: String,
    pub(crate) purpose: KeyPurpose,
    pub(crate) transit_version: u64,
    pub(crate) bytes: Zeroizing<[u8; DATA_KEY_LEN]>,
}

impl DataKeyMaterial {
    /// The key's id: `t<transit version>-<8 hex>`, at most 64 characters of
    /// `[A-Za-z0-9._-]`, fit for envelopes (`mg1:<kid>:...`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What this key may be used for.
    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    /// The transit key version that wraps it.
    pub fn transit_version(&self) -> u64 {
        self.transit_version
    }

    /// The key bytes. Use them, never log or store them.
    pub fn bytes(&self) -> &[u8; DATA_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for DataKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeyMaterial")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("transit_version", &self.transit_version)
            .field("bytes", &format_args!("[redacted]"))
            .finish()
    }
}

/// Data keys for masking, served from memory; made, shared and unwrapped
/// through Transit and the KV registry in the background.
///
/// Made by [`Vault::transit_keyring`](crate::Vault::transit_keyring).
/// Cloning is cheap; clones share the keys.
#[derive(Clone)]
pub struct TransitKeyring {
    inner: Arc<KeyringInner>,
}

struct KeyringInner {
    settings: TransitKeyringSettings,
    vault: Weak<Inner>,
    keys: ArcSwap<KeySet>,
    last_error: Mutex<Option<String>>,
    failures: std::sync::atomic::AtomicU64,
    /// Bumped after every refresh, successful or not (for `ready`).
    attempts: watch::Sender<u64>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// Registry entries transit refused to unwrap (e.g. below the key's
    /// `min_decryption_version`): not asked for again.
    unusable: Mutex<std::collections::HashSet<String>>,
}

/// The keys in memory and the active one per purpose.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<DataKeyMaterial>>,
    active: HashMap<KeyPurpose, String>,
}

impl fmt::Debug for TransitKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransitKeyring")
            .field("mount", &self.inner.settings.mount)
            .field("key", &self.inner.settings.key)
            .field("ids", &self.ids())
            .finish()
    }
}

/// The registry, as kept in KV.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    format: String,
    keys: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    purpose: String,
    transit_version: u64,
    /// The data key wrapped by transit (`vault:vN:...`): not secret without
    /// the transit key.
    wrapped: String,
    created: String,
}

impl TransitKeyring {
    pub(crate) fn new(vault: &Arc<Inner>, settings: TransitKeyringSettings) -> Self {
        TransitKeyring {
            inner: Arc::new(KeyringInner {
                settings,
                vault: Arc::downgrade(vault),
                keys: ArcSwap::from_pointee(KeySet::default()),
                last_error: Mutex::new(None),
                failures: std::sync::atomic::AtomicU64::new(0),
                attempts: watch::channel(0).0,
                refreshing: tokio::sync::Mutex::new(()),
                unusable: Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    /// The background task: a refresh every poll interval.
    pub(crate) fn task(&self) -> KeyringTask {
        KeyringTask {
            keyring: self.clone(),
        }
    }

    /// The key of `purpose` with `id`, or the active key of `purpose` (the
    /// newest, under the newest transit key version) when `id` is `None`.
    /// From memory: never calls Vault.
    pub fn key(
        &self,
        purpose: KeyPurpose,
        id: Option<&str>,
    ) -> Result<Arc<DataKeyMaterial>, KeyUnavailable> {
        let set = self.inner.keys.load();
        let id = match id {
            Some(id) => id,
            None => set
                .active
                .get(&purpose)
                .ok_or_else(|| KeyUnavailable::NoActiveKey {
                    purpose,
                    reason: lock(&self.inner.last_error)
                        .clone()
                        .unwrap_or_else(|| "the keyring is not loaded yet".into()),
                })?,
        };
        let key = set.keys.get(id).ok_or_else(|| KeyUnavailable::NotFound {
            purpose,
            id: id.to_owned(),
        })?;
        if key.purpose != purpose {
            return Err(KeyUnavailable::WrongPurpose {
                id: id.to_owned(),
                wanted: purpose,
                actual: key.purpose,
            });
        }
        Ok(Arc::clone(key))
    }

    /// The id of the active key of `purpose`, if there is one.
    pub fn active_id(&self, purpose: KeyPurpose) -> Option<String> {
        self.inner.keys.load().active.get(&purpose).cloned()
    }

    /// Every key id held in memory with its purpose, sorted by id.
    pub fn ids(&self) -> Vec<(String, KeyPurpose)> {
        let mut ids: Vec<_> = self
            .inner
            .keys
            .load()
            .keys
            .values()
            .map(|k| (k.id.clone(), k.purpose))
            .collect();
        ids.sort();
        ids
    }

    /// Checks the transit key's version and the registry now (instead of at
    /// the next poll): makes keys for a new transit version, unwraps keys
    /// other instances added. The background task does the same every
    /// [`poll_interval`](crate::VaultSettings::poll_interval).
    pub async fn refresh(&self) -> Result<(), SecretsError> {
        let vault = self.inner.vault.upgrade().ok_or(SecretsError::Shutdown)?;
        let keyring = self.clone();
        let runner = Arc::clone(&vault);
        runner
            .run(async move {
                let result = keyring.refresh_now(&vault).await;
                keyring.record(result.as_ref().err());
                result
            })
            .await
    }

    /// Waits until every purpose has an active key, or `timeout` passed;
    /// then returns whether they do (with the last error if not).
    pub async fn ready(&self, timeout: Duration) -> Result<(), KeyUnavailable> {
        let mut attempts = self.inner.attempts.subscribe();
        let complete = |set: &KeySet| KeyPurpose::ALL.iter().all(|p| set.active.contains_key(p));
        let wait = async {
            loop {
                if complete(&self.inner.keys.load()) || *attempts.borrow_and_update() > 0 {
                    return;
                }
                if attempts.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        for purpose in KeyPurpose::ALL {
            self.key(purpose, None)?;
        }
        Ok(())
    }

    fn record(&self, error: Option<&SecretsError>) {
        *lock(&self.inner.last_error) = error.map(ToString::to_string);
        if error.is_some() {
            self.inner
                .failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.attempts.send_modify(|n| *n += 1);
    }

    /// One refresh: see [`refresh`](Self::refresh).
    async fn refresh_now(&self, vault: &Inner) -> Result<(), SecretsError> {
        let _one = self.inner.refreshing.lock().await;
        let settings = &self.inner.settings;
        let latest = self.latest_version(vault).await?;
        for _attempt in 0..CAS_ATTEMPTS {
            let (cas, registry) = self.read_registry(vault).await?;
            self.unwrap_missing(vault, &registry).await?;
            let missing: Vec<KeyPurpose> = KeyPurpose::ALL
                .into_iter()
                .filter(|p| {
                    !registry
                        .keys
                        .values()
                        .any(|e| e.purpose == p.as_str() && e.transit_version >= latest)
                })
                .collect();
            if missing.is_empty() {
                self.activate(&registry);
                return Ok(());
            }
            // Make the missing keys and add them with check-and-set: if
            // another instance wrote the registry meanwhile, start over with
            // its version (and drop ours).
            let mut updated = Registry {
                format: REGISTRY_FORMAT.to_owned(),
                keys: registry.keys.clone(),
            };
            let mut made = Vec::new();
            for purpose in missing {
                let key = self.make_key(vault, purpose).await?;
                updated.keys.insert(key.0.clone(), key.1.clone());
                made.push(key);
            }
            match self.write_registry(vault, &updated, cas).await {
                Ok(()) => {
                    let mut set = self.clone_set();
                    for (id, entry, material) in made {
                        tracing::info!(
                            key_id = %id,
                            purpose = %entry.purpose,
                            transit_version = entry.transit_version,
                            "made a new data key"
                        );
                        set.keys.insert(id, Arc::new(material));
                    }
                    self.inner.keys.store(Arc::new(set));
                    self.activate(&updated);
                    return Ok(());
                }
                Err(SecretsError::Api { status: 400, .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(SecretsError::Conflict {
            path: format!("{}/{}", settings.registry_mount, settings.registry_path),
        })
    }

    fn clone_set(&self) -> KeySet {
        let set = self.inner.keys.load();
        KeySet {
            keys: set.keys.clone(),
            active: set.active.clone(),
        }
    }

    /// The newest version of the transit key (direct: vaultrs' key type does
    /// not parse OpenBao's answer).
    async fn latest_version(&self, vault: &Inner) -> Result<u64, SecretsError> {
        let s = &self.inner.settings;
        let operation = format!("read {}/keys/{}", s.mount, s.key);
        let body = vault
            .raw(
                reqwest::Method::GET,
                &format!("{}/keys/{}", s.mount, s.key),
                None,
                &operation,
            )
            .await?;
        let v: Value = parse(&body, &operation)?;
        v["data"]["latest_version"]
            .as_u64()
            .ok_or_else(|| SecretsError::Response {
                operation,
                reason: "no latest_version".into(),
            })
    }

    /// The registry and its KV version (0 when it does not exist yet).
    async fn read_registry(&self, vault: &Inner) -> Result<(u64, Registry), SecretsError> {
        let s = &self.inner.settings;
        match crate::kv::read(vault, &s.registry_mount, &s.registry_path).await {
            Ok(secret) => {
                let operation = format!(
                    "read the key registry {}/{}",
                    s.registry_mount, s.registry_path
                );
                let format = secret.field("format").map(|f| f.expose().to_owned());
                if format.as_deref() != Some(REGISTRY_FORMAT) {
                    return Err(SecretsError::Response {
                        operation,
                        reason: format!("its format is not {REGISTRY_FORMAT}"),
                    });
                }
                let keys = secret
                    .field("keys")
                    .map(|k| serde_json::from_str(k.expose()))
                    .transpose()
                    .map_err(|e| SecretsError::Response {
                        operation,
                        reason: format!("its keys are not valid ({e})"),
                    })?
                    .unwrap_or_default();
                Ok((
                    secret.version(),
                    Registry {
                        format: REGISTRY_FORMAT.to_owned(),
                        keys,
                    },
                ))
            }
            Err(SecretsError::Api { status: 404, .. }) => Ok((0, Registry::default())),
            Err(e) => Err(e),
        }
    }

    async fn write_registry(
        &self,
        vault: &Inner,
        registry: &Registry,
        cas: u64,
    ) -> Result<(), SecretsError> {
        let s = &self.inner.settings;
        let operation = format!(
            "write the key registry {}/{}",
            s.registry_mount, s.registry_path
        );
        let session = vault.session.load_full();
        let options = vaultrs::api::kv2::requests::SetSecretRequestOptions {
            cas: u32::try_from(cas).unwrap_or(u32::MAX),
        };
        let (mount, path) = (&s.registry_mount, &s.registry_path);
        vault
            .vaultrs(&operation, &session, |c| {
                vaultrs::kv2::set_with_options(c, mount, path, registry, options)
            })
            .await
            .map(|_| ())
    }

    /// Unwraps (through `transit/decrypt`) every registry entry not in
    /// memory yet.
    async fn unwrap_missing(&self, vault: &Inner, registry: &Registry) -> Result<(), SecretsError> {
        let held = self.inner.keys.load();
        let unusable = lock(&self.inner.unusable).clone();
        let missing: Vec<(&String, &Entry)> = registry
            .keys
            .iter()
            .filter(|(id, _)| !held.keys.contains_key(*id) && !unusable.contains(*id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut set = self.clone_set();
        let s = &self.inner.settings;
        let operation = format!("decrypt with {}/decrypt/{}", s.mount, s.key);
        for (id, entry) in missing {
            let Some(purpose) = KeyPurpose::from_name(&entry.purpose) else {
                tracing::warn!(key_id = %id, "key registry entry with an unknown purpose; skipped");
                continue;
            };
            if !valid_key_id(id) {
                tracing::warn!("key registry entry with an invalid id; skipped");
                continue;
            }
            let unwrapped = vault
                .raw(
                    reqwest::Method::POST,
                    &format!("{}/decrypt/{}", s.mount, s.key),
                    Some(&json!({ "ciphertext": entry.wrapped })),
                    &operation,
                )
                .await;
            let body = match unwrapped {
                Ok(body) => body,
                // Transit refuses this one (e.g. its version is below the
                // key's min_decryption_version): the others still load.
                Err(e @ SecretsError::Api { status: 400, .. }) => {
                    tracing::warn!(key_id = %id, error = %e, "cannot unwrap a data key; skipped");
                    lock(&self.inner.unusable).insert(id.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let bytes = plaintext_key(&body, &operation)?;
            set.keys.insert(
                id.clone(),
                Arc::new(DataKeyMaterial {
                    id: id.clone(),
                    purpose,
                    transit_version: entry.transit_version,
                    bytes,
                }),
            );
        }
        self.inner.keys.store(Arc::new(set));
        Ok(())
    }

    /// A new data key from `transit/datakey/plaintext`.
    async fn make_key(
        &self,
        vault: &Inner,
        purpose: KeyPurpose,
    ) -> Result<(String, Entry, DataKeyMaterial), SecretsError> {
        let s = &self.inner.settings;
        let operation = format!(
            "make a data key with {}/datakey/plaintext/{}",
            s.mount, s.key
        );
        let body = vault
            .raw(
                reqwest::Method::POST,
                &format!("{}/datakey/plaintext/{}", s.mount, s.key),
                Some(&json!({ "bits": 256 })),
                &operation,
            )
            .await?;
        let bytes = plaintext_key(&body, &operation)?;
        let answer: DatakeyAnswer = parse(&body, &operation)?;
        let wrapped = answer.data.ciphertext;
        let transit_version = wrapped
            .strip_prefix("vault:v")
            .and_then(|rest| rest.split(':').next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SecretsError::Response {
                operation: operation.clone(),
                reason: "the wrapped key does not start with vault:vN:".into(),
            })?;
        let id = format!("t{transit_version}-{}", random_hex(4));
        let entry = Entry {
            purpose: purpose.as_str().to_owned(),
            transit_version,
            wrapped,
            created: crate::time::rfc3339(SystemTime::now()),
        };
        let material = DataKeyMaterial {
            id: id.clone(),
            purpose,
            transit_version,
            bytes,
        };
        Ok((id, entry, material))
    }

    /// Makes the newest key of each purpose that is in memory the active
    /// one: highest transit version, then latest created, then highest id
    /// (every instance picks the same).
    fn activate(&self, registry: &Registry) {
        let mut set = self.clone_set();
        for purpose in KeyPurpose::ALL {
            let newest = registry
                .keys
                .iter()
                .filter(|(id, e)| e.purpose == purpose.as_str() && set.keys.contains_key(*id))
                .max_by(|(a_id, a), (b_id, b)| {
                    (a.transit_version, &a.created, a_id).cmp(&(
                        b.transit_version,
                        &b.created,
                        b_id,
                    ))
                });
            if let Some((id, _)) = newest
                && set.active.get(&purpose) != Some(id)
            {
                tracing::info!(purpose = %purpose, key_id = %id, "active data key");
                set.active.insert(purpose, id.clone());
            }
        }
        self.inner.keys.store(Arc::new(set));
    }
}

/// The `plaintext` of a datakey or decrypt answer: base64 of 32 bytes,
/// decoded into zeroizing memory.
fn plaintext_key(
    body: &[u8],
    operation: &str,
) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, SecretsError> {
    let answer: PlaintextAnswer = parse(body, operation)?;
    let text = Zeroizing::new(answer.data.plaintext);
    let decoded =
        Zeroizing::new(
            STANDARD
                .decode(text.as_bytes())
                .map_err(|_| SecretsError::Response {
                    operation: operation.to_owned(),
                    reason: "the plaintext is not base64".into(),
                })?,
        );
    let mut bytes = Zeroizing::new([0u8; DATA_KEY_LEN]);
    if decoded.len() != DATA_KEY_LEN {
        return Err(SecretsError::Response {
            operation: operation.to_owned(),
            reason: format!(
                "the data key is {} bytes, not {DATA_KEY_LEN}",
                decoded.len()
            ),
        });
    }
    bytes.copy_from_slice(&decoded);
    Ok(bytes)
}

#[derive(Deserialize)]
struct PlaintextAnswer {
    data: PlaintextData,
}

#[derive(Deserialize)]
struct PlaintextData {
    plaintext: String,
}

#[derive(Deserialize)]
struct DatakeyAnswer {
    data: DatakeyData,
}

#[derive(Deserialize)]
struct DatakeyData {
    ciphertext: String,
}

/// 1 to 64 characters of `[A-Za-z0-9._-]`.
fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom as _;
    let mut b = vec![0u8; bytes];
    // Linux's generator does not fail; the id only needs to be unlikely to
    // collide, and the check-and-set write catches a collision anyway.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The keyring's background work: a refresh every poll interval.
pub(crate) struct KeyringTask {
    keyring: TransitKeyring,
}

impl Refresh for KeyringTask {
    async fn step(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let result = self.keyring.refresh_now(inner).await;
        if result.is_ok() {
            self.keyring.record(None);
        }
        result.map(|()| inner.settings.poll_interval)
    }

    fn failed(&mut self, error: &SecretsError) {
        self.keyring.record(Some(error));
    }

    fn name(&self) -> String {
        format!(
            "transit keyring {}/{}",
            self.keyring.inner.settings.mount, self.keyring.inner.settings.key
        )
    }
}

impl Metered for TransitKeyring {
    fn metered(&self) -> ValueMetrics {
        let set = self.inner.keys.load();
        ValueMetrics {
            kind: "transit",
            name: format!(
                "transit keyring {}/{}",
                self.inner.settings.mount, self.inner.settings.key
            ),
            available: KeyPurpose::ALL.iter().all(|p| set.active.contains_key(p)),
            seconds_left: None,
            renewal_failures: self
                .inner
                .failures
                .load(std::sync::atomic::Ordering::Relaxed),
            generation: set.keys.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_fit_envelopes() {
        assert!(valid_key_id("t3-0a1b2c3d"));
        assert!(!valid_key_id("a:b"));
        assert!(!valid_key_id(""));
        assert!(!valid_key_id(&"x".repeat(65)));
    }

    #[test]
    fn debug_is_redacted() {
        let key = DataKeyMaterial {
            id: "t1-00000000".into(),
            purpose: KeyPurpose::Hmac,
            transit_version: 1,
            bytes: Zeroizing::new([0xAB; DATA_KEY_LEN]),
        };
        let text = format!("{key:?}");
        assert!(
            text.contains("[redacted]") && !text.contains("171"),
            "{text}"
        );
    }
}
