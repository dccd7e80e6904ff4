//! Data keys behind a provider trait, and the local keyring file provider.
//!
//! Actions never hold key material of their own: they ask a [`KeyProvider`]
//! for a [`DataKey`] of a [`KeyPurpose`], either the active one (`id: None`,
//! used to encrypt, hash and tokenize) or one exact version (`Some(id)`, used
//! to decrypt an envelope written under an older key). A key has exactly one
//! purpose: the same bytes are never used for AES-GCM, HMAC and FF1.
//!
//! [`LocalKeyring`] is the provider of the demo and the tests; the Vault
//! transit provider lives in the `secrets` crate and is wired by the gateway.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Length in bytes of every data key (AES-256, HMAC-SHA256, FF1 over AES-256).
pub const KEY_LEN: usize = 32;

/// The one thing a data key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPurpose {
    /// AES-256-GCM field encryption (`encrypt` / `reveal`).
    Encrypt,
    /// HMAC-SHA256 keyed pseudonyms (`hash`).
    Hmac,
    /// FF1 format-preserving tokens (`tokenize` / `reveal`).
    Fpe,
}

impl KeyPurpose {
    /// All purposes, in a fixed order.
    pub const ALL: [KeyPurpose; 3] = [KeyPurpose::Encrypt, KeyPurpose::Hmac, KeyPurpose::Fpe];

    /// The lowercase name used in the keyring file and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Encrypt => "encrypt",
            KeyPurpose::Hmac => "hmac",
            KeyPurpose::Fpe => "fpe",
        }
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identifier of one key version, e.g. `encrypt-2` or `local-1`.
///
/// 1 to 64 characters from `A-Z a-z 0-9 . _ -`: it is written into
/// encryption envelopes (`mg1:<key id>:...`), so it never needs escaping and
/// never contains the envelope's `:` separator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Longest accepted key id.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a key id.
    pub fn new(id: impl Into<String>) -> Result<Self, KeyError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= Self::MAX_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(KeyId(id))
        } else {
            Err(KeyError::InvalidKeyId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for KeyId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyId::new(s)
    }
}

/// One version of a 256-bit data key, with its id and purpose.
///
/// The bytes are zeroized on drop and `Debug` prints `[redacted]`.
pub struct DataKey {
    id: KeyId,
    purpose: KeyPurpose,
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    /// Wraps key material. The caller's copy of `bytes` should be zeroized
    /// by the caller.
    pub fn new(id: KeyId, purpose: KeyPurpose, bytes: [u8; KEY_LEN]) -> Self {
        DataKey {
            id,
            purpose,
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate(id: KeyId, purpose: KeyPurpose) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(&mut bytes[..])
            .map_err(|_| KeyError::Random)?;
        Ok(DataKey { id, purpose, bytes })
    }

    /// This key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// What this key may be used for.
    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    /// The key material. Use it, never log or store it.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("bytes", &format_args!("[redacted]"))
            .finish()
    }
}

/// Where the masking actions get their keys from.
///
/// Implementations must be cheap on the hot path (a map lookup, an `Arc`
/// clone): a provider that talks to a remote service caches the keys and
/// refreshes them off the request path.
pub trait KeyProvider: Send + Sync {
    /// The key of `purpose` with `id`, or the active key of `purpose` when
    /// `id` is `None`.
    ///
    /// A key that exists under another purpose is refused
    /// ([`KeyError::WrongPurpose`]): one key, one use.
    fn key(&self, purpose: KeyPurpose, id: Option<&KeyId>) -> Result<Arc<DataKey>, KeyError>;
}

/// Why a key could not be had. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    // --- the caller asked for something the provider does not have
    /// No key with this id exists.
    #[error("no {purpose} key with id `{id}`")]
    NotFound {
        /// What the key was wanted for.
        purpose: KeyPurpose,
        /// The id asked for.
        id: KeyId,
    },
    /// The provider has no active key for this purpose.
    #[error("no active {purpose} key")]
    NoActiveKey {
        /// What the key was wanted for.
        purpose: KeyPurpose,
    },
    /// The key exists but belongs to another purpose.
    #[error("key `{id}` is a {actual} key, not a {wanted} key")]
    WrongPurpose {
        /// The id asked for.
        id: KeyId,
        /// The purpose asked for.
        wanted: KeyPurpose,
        /// The key's own purpose.
        actual: KeyPurpose,
    },
    /// A key id is empty, too long, or has characters outside `A-Za-z0-9._-`.
    #[error("invalid key id (1 to 64 characters from A-Z a-z 0-9 . _ -)")]
    InvalidKeyId,

    // --- the keyring file is wrong
    /// The keyring file could not be read or written.
    #[error("keyring {path}: {source}")]
    Io {
        /// The keyring file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The keyring file is readable by group or others.
    #[error("keyring {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    Permissions {
        /// The keyring file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The keyring is not valid (syntax, unknown field, bad key, dangling id).
    #[error("invalid keyring: {reason}")]
    Invalid {
        /// What is wrong; never key material.
        reason: String,
    },

    // --- the provider itself failed
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// The provider could not reach its key source (remote providers).
    #[error("key source unavailable: {reason}")]
    Unavailable {
        /// What failed; never key material.
        reason: String,
    },
}

/// A keyring held in a local JSON file: the demo's and the tests' provider.
///
/// File format (`format` is mandatory; unknown fields are refused):
///
/// ```json
/// {
///   "format": "maskgate-keyring-v1",
///   "active": { "encrypt": "encrypt-2", "hmac": "hmac-1", "fpe": "fpe-1" },
///   "keys": {
///     "encrypt-1": { "purpose": "encrypt", "key": "<base64 of 32 bytes>" },
///     "encrypt-2": { "purpose": "encrypt", "key": "..." },
///     "hmac-1":    { "purpose": "hmac",    "key": "..." },
///     "fpe-1":     { "purpose": "fpe",     "key": "..." }
///   }
/// }
/// ```
///
/// Old versions stay in `keys` after a [`rotate`](Self::rotate), so
/// envelopes written under them keep decrypting; only the `active` entry
/// moves. The file must not be readable by group or others (mode 0600).
pub struct LocalKeyring {
    keys: BTreeMap<KeyId, Arc<DataKey>>,
    active: BTreeMap<KeyPurpose, KeyId>,
}

/// The file's identifying format string.
const FORMAT: &str = "maskgate-keyring-v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    active: BTreeMap<KeyPurpose, String>,
    keys: BTreeMap<String, KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    purpose: KeyPurpose,
    key: String,
}

impl Drop for KeyEntry {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .finish()
    }
}

impl LocalKeyring {
    /// An empty keyring (no keys, nothing active).
    pub fn empty() -> Self {
        LocalKeyring {
            keys: BTreeMap::new(),
            active: BTreeMap::new(),
        }
    }

    /// A keyring with one fresh random active key per purpose
    /// (`encrypt-1`, `hmac-1`, `fpe-1`), in memory only.
    pub fn random() -> Result<Self, KeyError> {
        let mut ring = LocalKeyring::empty();
        for purpose in KeyPurpose::ALL {
            ring.rotate(purpose)?;
        }
        Ok(ring)
    }

    /// Parses a keyring from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let file: KeyringFile = serde_json::from_str(text).map_err(|e| KeyError::Invalid {
            // Only the place: serde_json's own message may quote the
            // offending string, which could be key material.
            reason: format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof =>
                        "not valid JSON",
                    _ => "unexpected or missing field, or wrong type (see the format)",
                }
            ),
        })?;
        if file.format != FORMAT {
            return Err(KeyError::Invalid {
                reason: format!("format must be \"{FORMAT}\""),
            });
        }
        let mut ring = LocalKeyring::empty();
        for (id, entry) in &file.keys {
            let key_id = KeyId::new(id.as_str()).map_err(|_| KeyError::Invalid {
                reason: format!("invalid key id `{}`", id.escape_debug()),
            })?;
            let decoded = Zeroizing::new(STANDARD.decode(entry.key.as_bytes()).map_err(|_| {
                KeyError::Invalid {
                    reason: format!("key `{key_id}` is not valid base64"),
                }
            })?);
            let bytes: [u8; KEY_LEN] =
                decoded
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Invalid {
                        reason: format!("key `{key_id}` must be {KEY_LEN} bytes"),
                    })?;
            let key = DataKey::new(key_id.clone(), entry.purpose, bytes);
            ring.keys.insert(key_id, Arc::new(key));
        }
        for (purpose, id) in &file.active {
            let key_id = KeyId::new(id.as_str()).map_err(|_| KeyError::Invalid {
                reason: format!("active {purpose} key id is invalid"),
            })?;
            match ring.keys.get(&key_id) {
                None => {
                    return Err(KeyError::Invalid {
                        reason: format!("active {purpose} key `{key_id}` is not in keys"),
                    });
                }
                Some(k) if k.purpose() != *purpose => {
                    return Err(KeyError::Invalid {
                        reason: format!("active {purpose} key `{key_id}` is a {} key", k.purpose()),
                    });
                }
                Some(_) => {}
            }
            ring.active.insert(*purpose, key_id);
        }
        Ok(ring)
    }

    /// Reads a keyring file. Refuses a file readable by group or others.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_owned(),
                    mode: mode & 0o777,
                });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::from_json(&text)
    }

    /// Writes a new keyring with one random key per purpose to `path`
    /// (mode 0600). Refuses to overwrite an existing file.
    pub fn generate(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let ring = Self::random()?;
        ring.write(path.as_ref(), true)?;
        Ok(ring)
    }

    /// Writes this keyring to `path` (mode 0600), replacing the file
    /// atomically (temporary file in the same folder, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        self.write(path.as_ref(), false)
    }

    /// Adds a new random key for `purpose` and makes it the active one.
    /// Older versions stay, so what they encrypted keeps decrypting.
    /// The new id is `<purpose>-<n>`, `n` one more than the highest so far.
    pub fn rotate(&mut self, purpose: KeyPurpose) -> Result<KeyId, KeyError> {
        let prefix = format!("{}-", purpose.as_str());
        let next = self
            .keys
            .keys()
            .filter_map(|id| id.as_str().strip_prefix(&prefix)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let id = KeyId::new(format!("{prefix}{next}"))?;
        self.insert(DataKey::generate(id.clone(), purpose)?, true)?;
        Ok(id)
    }

    /// Adds a key; with `activate`, makes it the active key of its purpose.
    /// Refuses an id that is already taken.
    pub fn insert(&mut self, key: DataKey, activate: bool) -> Result<(), KeyError> {
        if self.keys.contains_key(key.id()) {
            return Err(KeyError::Invalid {
                reason: format!("key `{}` already exists", key.id()),
            });
        }
        let id = key.id().clone();
        if activate {
            self.active.insert(key.purpose(), id.clone());
        }
        self.keys.insert(id, Arc::new(key));
        Ok(())
    }

    /// The id of the active key of `purpose`, if any.
    pub fn active(&self, purpose: KeyPurpose) -> Option<&KeyId> {
        self.active.get(&purpose)
    }

    fn to_json(&self) -> Zeroizing<String> {
        let file = KeyringFile {
            format: FORMAT.to_owned(),
            active: self
                .active
                .iter()
                .map(|(p, id)| (*p, id.as_str().to_owned()))
                .collect(),
            keys: self
                .keys
                .iter()
                .map(|(id, k)| {
                    (
                        id.as_str().to_owned(),
                        KeyEntry {
                            purpose: k.purpose(),
                            key: STANDARD.encode(k.bytes()),
                        },
                    )
                })
                .collect(),
        };
        // Serializing maps of strings cannot fail.
        Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default() + "\n")
    }

    fn write(&self, path: &Path, create_new: bool) -> Result<(), KeyError> {
        use std::io::Write as _;
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let text = self.to_json();
        let target = if create_new {
            path.to_owned()
        } else {
            let mut name = path.file_name().unwrap_or_default().to_owned();
            name.push(".tmp");
            path.with_file_name(name)
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if create_new {
            options.create_new(true);
        } else {
            options.create(true).truncate(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&target).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        if !create_new {
            std::fs::rename(&target, path).map_err(io)?;
        }
        Ok(())
    }
}

impl KeyProvider for LocalKeyring {
    fn key(&self, purpose: KeyPurpose, id: Option<&KeyId>) -> Result<Arc<DataKey>, KeyError> {
        let id = match id {
            Some(id) => id,
            None => self
                .active
                .get(&purpose)
                .ok_or(KeyError::NoActiveKey { purpose })?,
        };
        let key = self.keys.get(id).ok_or_else(|| KeyError::NotFound {
            purpose,
            id: id.clone(),
        })?;
        if key.purpose() != purpose {
            return Err(KeyError::WrongPurpose {
                id: id.clone(),
                wanted: purpose,
                actual: key.purpose(),
            });
        }
        Ok(Arc::clone(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_charset() {
        assert!(KeyId::new("local-1").is_ok());
        assert!(KeyId::new("k.2_b").is_ok());
        assert!(KeyId::new("").is_err());
        assert!(KeyId::new("a:b").is_err());
        assert!(KeyId::new("a b").is_err());
        assert!(KeyId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = DataKey::new(KeyId::new("k1").unwrap(), KeyPurpose::Hmac, [0xAB; 32]);
        let text = format!("{key:?}");
        assert!(text.contains("[redacted]"), "{text}");
        assert!(!text.to_lowercase().contains("ab, ab"), "{text}");
        assert!(!text.contains("171"), "{text}");
        let ring = LocalKeyring::random().unwrap();
        let text = format!("{ring:?}");
        for purpose in KeyPurpose::ALL {
            let k = ring.key(purpose, None).unwrap();
            assert!(!text.contains(&STANDARD.encode(k.bytes())), "{text}");
        }
    }

    #[test]
    fn active_and_versions() {
        let mut ring = LocalKeyring::random().unwrap();
        let first = ring.key(KeyPurpose::Encrypt, None).unwrap();
        assert_eq!(first.id().as_str(), "encrypt-1");
        let id2 = ring.rotate(KeyPurpose::Encrypt).unwrap();
        assert_eq!(id2.as_str(), "encrypt-2");
        let active = ring.key(KeyPurpose::Encrypt, None).unwrap();
        assert_eq!(active.id(), &id2);
        let old = ring.key(KeyPurpose::Encrypt, Some(first.id())).unwrap();
        assert_eq!(old.bytes(), first.bytes());
        assert_ne!(old.bytes(), active.bytes());
    }

    #[test]
    fn wrong_purpose_and_missing() {
        let ring = LocalKeyring::random().unwrap();
        let hmac = KeyId::new("hmac-1").unwrap();
        assert!(matches!(
            ring.key(KeyPurpose::Encrypt, Some(&hmac)),
            Err(KeyError::WrongPurpose { .. })
        ));
        let nope = KeyId::new("encrypt-9").unwrap();
        assert!(matches!(
            ring.key(KeyPurpose::Encrypt, Some(&nope)),
            Err(KeyError::NotFound { .. })
        ));
        assert!(matches!(
            LocalKeyring::empty().key(KeyPurpose::Fpe, None),
            Err(KeyError::NoActiveKey { .. })
        ));
    }

    #[test]
    fn generate_load_rotate_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let ring = LocalKeyring::generate(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Never overwrites.
        assert!(matches!(
            LocalKeyring::generate(&path),
            Err(KeyError::Io { .. })
        ));
        let mut loaded = LocalKeyring::load(&path).unwrap();
        for purpose in KeyPurpose::ALL {
            assert_eq!(
                ring.key(purpose, None).unwrap().bytes(),
                loaded.key(purpose, None).unwrap().bytes()
            );
        }
        loaded.rotate(KeyPurpose::Hmac).unwrap();
        loaded.save(&path).unwrap();
        let again = LocalKeyring::load(&path).unwrap();
        assert_eq!(again.active(KeyPurpose::Hmac).unwrap().as_str(), "hmac-2");
        assert!(
            again
                .key(KeyPurpose::Hmac, Some(&KeyId::new("hmac-1").unwrap()))
                .is_ok()
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_readable_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        LocalKeyring::generate(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = LocalKeyring::load(&path).unwrap_err();
        assert!(matches!(err, KeyError::Permissions { .. }), "{err}");
    }

    #[test]
    fn invalid_files() {
        let key = STANDARD.encode([7u8; 32]);
        let good = format!(
            r#"{{"format":"maskgate-keyring-v1","active":{{"encrypt":"e1"}},"keys":{{"e1":{{"purpose":"encrypt","key":"{key}"}}}}}}"#
        );
        assert!(LocalKeyring::from_json(&good).is_ok());
        for (bad, why) in [
            (good.replace("v1\"", "v0\""), "format"),
            (good.replace("\"e1\"}", "\"e2\"}"), "not in keys"),
            (
                good.replace("\"purpose\":\"encrypt\"", "\"purpose\":\"hmac\""),
                "hmac key",
            ),
            (good.replace(&key, &STANDARD.encode([7u8; 16])), "32 bytes"),
            (good.replace(&key, "!!!"), "base64"),
            (
                good.replace("\"keys\"", "\"extra\":1,\"keys\""),
                "unexpected or missing field",
            ),
            // serde_json would quote the unknown variant: key material here.
            (
                good.replace("\"purpose\":\"encrypt\"", &format!("\"purpose\":\"{key}\"")),
                "line 1",
            ),
            (good.replace("}}}", "}}"), "not valid JSON"),
        ] {
            let err = LocalKeyring::from_json(&bad).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
            assert!(!err.contains(&key), "{err}");
        }
    }
}
