//! The transit keyring as the masking crate's key provider.
//!
//! The `secrets` crate keeps data keys from Transit's `datakey` endpoint in
//! memory (and shares them with other instances through a KV registry);
//! the masking actions ask a [`KeyProvider`]. This adapter translates the
//! purposes and errors, and keeps one [`DataKey`] per key id so that a
//! request does not copy key material for every value it encrypts.

use std::{sync::Arc, time::Duration};

use dashmap::DashMap;
use maskgate_config::Config;
use maskgate_masking::{DataKey, KEY_LEN, KeyError, KeyId, KeyProvider, KeyPurpose};
use maskgate_secrets::{
    DataKeyMaterial, KeyUnavailable, TransitKeyring, TransitKeyringSettings, Vault,
};

/// Data keys from Vault's Transit engine.
pub(crate) struct TransitKeys {
    keyring: TransitKeyring,
    /// Keys handed out so far, by id (an id names exactly one key forever).
    converted: DashMap<String, Arc<DataKey>>,
}

impl std::fmt::Debug for TransitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransitKeys").finish_non_exhaustive()
    }
}

impl TransitKeys {
    /// The keys `[masking.transit]` asks for, or `None` without it.
    pub(crate) fn for_config(
        config: &Config,
        vault: Option<&Vault>,
    ) -> Result<Option<Arc<Self>>, String> {
        let Some(transit) = &config.masking.transit else {
            return Ok(None);
        };
        let vault = vault.ok_or(
            "[masking.transit] takes keys from Vault, but the gateway was started without [vault] (adding it needs a restart)",
        )?;
        let keyring = vault.transit_keyring(TransitKeyringSettings::new(
            &transit.mount,
            &transit.key,
            &transit.registry.mount,
            &transit.registry.path,
        ));
        Ok(Some(Arc::new(Self {
            keyring,
            converted: DashMap::new(),
        })))
    }

    /// Waits until every purpose has an active key (start-up only).
    pub(crate) async fn ready(&self, timeout: Duration) -> Result<(), KeyUnavailable> {
        self.keyring.ready(timeout).await
    }

    fn convert(
        &self,
        material: &DataKeyMaterial,
        purpose: KeyPurpose,
    ) -> Result<Arc<DataKey>, KeyError> {
        if let Some(key) = self.converted.get(material.id()) {
            return Ok(key.clone());
        }
        let id = KeyId::new(material.id())?;
        let mut bytes: [u8; KEY_LEN] = *material.bytes();
        let key = Arc::new(DataKey::new(id, purpose, bytes));
        zeroize::Zeroize::zeroize(&mut bytes);
        self.converted.insert(material.id().to_owned(), key.clone());
        Ok(key)
    }
}

impl KeyProvider for TransitKeys {
    fn key(&self, purpose: KeyPurpose, id: Option<&KeyId>) -> Result<Arc<DataKey>, KeyError> {
        let wanted = match purpose {
            KeyPurpose::Encrypt => maskgate_secrets::KeyPurpose::Encrypt,
            KeyPurpose::Hmac => maskgate_secrets::KeyPurpose::Hmac,
            KeyPurpose::Fpe => maskgate_secrets::KeyPurpose::Fpe,
        };
        let material = self
            .keyring
            .key(wanted, id.map(KeyId::as_str))
            .map_err(|e| match (e, id) {
                (KeyUnavailable::NotFound { .. }, Some(id)) => KeyError::NotFound {
                    purpose,
                    id: id.clone(),
                },
                (KeyUnavailable::NoActiveKey { .. }, None) => KeyError::NoActiveKey { purpose },
                (other, _) => KeyError::Unavailable {
                    reason: other.to_string(),
                },
            })?;
        if material.purpose() != wanted {
            return Err(KeyError::WrongPurpose {
                id: KeyId::new(material.id())?,
                wanted: purpose,
                actual: match material.purpose() {
                    maskgate_secrets::KeyPurpose::Encrypt => KeyPurpose::Encrypt,
                    maskgate_secrets::KeyPurpose::Hmac => KeyPurpose::Hmac,
                    _ => KeyPurpose::Fpe,
                },
            });
        }
        self.convert(&material, purpose)
    }
}
