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

use std::{fmt, sync::Arc};

use zeroize::Zeroizing;

use crate::error::KeyUnavailable;

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
    pub(crate) inner: Arc<KeyringInner>,
}

pub(crate) struct KeyringInner {}

impl fmt::Debug for TransitKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransitKeyring").finish_non_exhaustive()
    }
}

impl TransitKeyring {
    /// The key of `purpose` with `id`, or the active key of `purpose` (the
    /// newest, under the newest transit key version) when `id` is `None`.
    /// From memory: never calls Vault.
    pub fn key(
        &self,
        purpose: KeyPurpose,
        id: Option<&str>,
    ) -> Result<Arc<DataKeyMaterial>, KeyUnavailable> {
        let _ = (purpose, id, &self.inner);
        todo!()
    }

    /// The id of the active key of `purpose`, if there is one.
    pub fn active_id(&self, purpose: KeyPurpose) -> Option<String> {
        let _ = purpose;
        todo!()
    }

    /// Every key id held in memory with its purpose, sorted by id.
    pub fn ids(&self) -> Vec<(String, KeyPurpose)> {
        todo!()
    }

    /// Checks the transit key's version and the registry now (instead of at
    /// the next poll): makes keys for a new transit version, unwraps keys
    /// other instances added. The background task does the same every
    /// [`poll_interval`](crate::VaultSettings::poll_interval).
    pub async fn refresh(&self) -> Result<(), crate::SecretsError> {
        todo!()
    }

    /// Waits until every purpose has an active key, or `timeout` passed;
    /// then returns whether they do (with the last error if not).
    pub async fn ready(&self, timeout: std::time::Duration) -> Result<(), KeyUnavailable> {
        let _ = timeout;
        todo!()
    }
}
