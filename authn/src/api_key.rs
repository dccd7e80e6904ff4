//! API keys: `mgk_<id>_<secret>`, stored only as SHA-256 hashes.
//!
//! The id is part of the key, so finding the entry is one map lookup; the
//! secret is 32 random bytes (base64url), so a plain SHA-256 of the whole key
//! is enough to store it (there is nothing to brute-force, unlike a password,
//! and no salt or slow hash is needed). The presented key's hash is compared
//! with the stored one in constant time (`subtle`), and an unknown id is
//! compared against a dummy hash, so that an unknown id and a wrong secret
//! take about the same time and give the same error. Ids are not secret.
//!
//! Rotation: configure a second entry (new id) for the same subject, move the
//! clients, remove the old entry. Revocation: remove the entry. Both take
//! effect when the gateway reloads its configuration and builds a new
//! [`ApiKeys`].

use std::{collections::HashMap, fmt};

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::{
    AuthError, AuthMethod, Principal, Secret, SetupError,
    encoding::{b64url_encode, hex_decode, hex_encode, sha256},
    principal::normalize_roles,
};

/// The prefix of every key; makes keys recognizable (and greppable by secret
/// scanners).
const PREFIX: &str = "mgk_";
/// The longest id accepted.
const MAX_ID_LEN: usize = 64;
/// Presented keys longer than this are refused before hashing.
const MAX_KEY_LEN: usize = 256;
/// Random bytes in a generated key's secret.
const SECRET_BYTES: usize = 32;

/// One configured API key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyEntry {
    /// The id embedded in the key: 1 to 64 of `A-Z a-z 0-9 -`.
    pub id: String,
    /// SHA-256 of the whole key string (`mgk_<id>_<secret>`).
    pub hash: [u8; 32],
    /// The principal's subject.
    pub subject: String,
    /// The principal's roles.
    pub roles: Vec<String>,
}

impl ApiKeyEntry {
    /// An entry.
    pub fn new(
        id: impl Into<String>,
        hash: [u8; 32],
        subject: impl Into<String>,
        roles: Vec<String>,
    ) -> Self {
        Self {
            id: id.into(),
            hash,
            subject: subject.into(),
            roles,
        }
    }
}

impl fmt::Debug for ApiKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the key, but there is no reason to print it.
        f.debug_struct("ApiKeyEntry")
            .field("id", &self.id)
            .field("hash", &"[redacted]")
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .finish()
    }
}

/// The configured API keys.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    by_id: HashMap<String, ApiKeyEntry>,
    /// Compared against when the id is unknown, so that the work done does not
    /// depend on whether it is known.
    dummy: [u8; 32],
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl ApiKeys {
    /// Indexes the entries by id. Ids must be valid and unique.
    pub fn new(entries: impl IntoIterator<Item = ApiKeyEntry>) -> Result<Self, SetupError> {
        let mut by_id = HashMap::new();
        for mut entry in entries {
            if !valid_id(&entry.id) {
                return Err(SetupError::InvalidApiKey {
                    id: entry.id,
                    reason: "an id is 1 to 64 of A-Z, a-z, 0-9 and '-'",
                });
            }
            if entry.subject.is_empty() {
                return Err(SetupError::InvalidApiKey {
                    id: entry.id,
                    reason: "the subject must not be empty",
                });
            }
            if by_id.contains_key(&entry.id) {
                return Err(SetupError::InvalidApiKey {
                    id: entry.id,
                    reason: "the id is configured twice",
                });
            }
            entry.roles = normalize_roles(std::mem::take(&mut entry.roles));
            by_id.insert(entry.id.clone(), entry);
        }
        Ok(Self {
            by_id,
            dummy: sha256(b"maskgate-authn: no such API key"),
        })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Checks a presented key. A malformed key, an unknown id and a wrong
    /// secret all give [`AuthError::InvalidApiKey`]; an empty one gives
    /// [`AuthError::Missing`].
    pub fn verify(&self, presented: &str) -> Result<Principal, AuthError> {
        if presented.is_empty() {
            return Err(AuthError::Missing);
        }
        if presented.len() > MAX_KEY_LEN {
            return Err(AuthError::InvalidApiKey);
        }
        let Some((id, secret)) = presented
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
        else {
            return Err(AuthError::InvalidApiKey);
        };
        let presented_hash = sha256(presented.as_bytes());
        let entry = self.by_id.get(id).filter(|_| !secret.is_empty());
        let expected = entry.map_or(&self.dummy, |e| &e.hash);
        let matches: bool = presented_hash.ct_eq(expected).into();
        match entry {
            Some(entry) if matches => {
                let mut principal = Principal::new(
                    entry.subject.clone(),
                    entry.roles.iter().cloned(),
                    AuthMethod::ApiKey,
                );
                principal
                    .attributes
                    .insert("api_key_id".to_owned(), entry.id.clone());
                Ok(principal)
            }
            _ => Err(AuthError::InvalidApiKey),
        }
    }

    /// Generates a key for this id: the key itself (give it to the client,
    /// once) and its hash in the `sha256:HEX` form the configuration stores.
    pub fn generate(id: &str) -> Result<(Secret, String), SetupError> {
        if !valid_id(id) {
            return Err(SetupError::InvalidApiKey {
                id: id.to_owned(),
                reason: "an id is 1 to 64 of A-Z, a-z, 0-9 and '-'",
            });
        }
        let mut random = [0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut random)
            .map_err(|_| SetupError::InvalidApiKey {
                id: id.to_owned(),
                reason: "the system random number generator failed",
            })?;
        let mut encoded = b64url_encode(&random);
        zeroize::Zeroize::zeroize(&mut random);
        let key = Secret::from(format!("{PREFIX}{id}_{encoded}"));
        zeroize::Zeroize::zeroize(&mut encoded);
        let hash = Self::hash(key.expose_str().unwrap_or_default());
        Ok((key, hash))
    }

    /// The hash of a key, as `sha256:` and 64 lowercase hex digits.
    pub fn hash(key: &str) -> String {
        format!("sha256:{}", hex_encode(&sha256(key.as_bytes())))
    }

    /// Parses a hash in the `sha256:HEX` form.
    pub fn parse_hash(text: &str) -> Result<[u8; 32], SetupError> {
        text.strip_prefix("sha256:")
            .and_then(hex_decode::<32>)
            .ok_or(SetupError::InvalidApiKeyHash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (ApiKeys, Secret) {
        let (key, hash) = ApiKeys::generate("svc-1").unwrap();
        let entry = ApiKeyEntry::new(
            "svc-1",
            ApiKeys::parse_hash(&hash).unwrap(),
            "reporting-service",
            vec!["support".into(), "analyst".into(), "support".into()],
        );
        (ApiKeys::new([entry]).unwrap(), key)
    }

    #[test]
    fn generated_keys_verify() {
        let (keys, key) = keys();
        let key = key.expose_str().unwrap();
        assert!(key.starts_with("mgk_svc-1_"));
        assert_eq!(key.len(), "mgk_svc-1_".len() + 43);
        let p = keys.verify(key).unwrap();
        assert_eq!(p.subject, "reporting-service");
        assert_eq!(p.roles, ["analyst", "support"]);
        assert_eq!(p.method, AuthMethod::ApiKey);
        assert_eq!(p.attributes["api_key_id"], "svc-1");
        assert_eq!(p.issuer, None);
        assert_eq!(p.expires_at, None);
    }

    #[test]
    fn wrong_secret_unknown_id_and_garbage_are_the_same_error() {
        let (keys, key) = keys();
        let key = key.expose_str().unwrap();
        let mut wrong = key.to_owned();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        let unknown = key.replacen("svc-1", "svc-2", 1);
        let long = "mgk_svc-1_".to_owned() + &"a".repeat(300);
        for bad in [
            wrong.as_str(),
            unknown.as_str(),
            "mgk_svc-1_",
            "mgk_svc-1",
            "svc-1_abc",
            "Bearer x",
            long.as_str(),
        ] {
            assert_eq!(keys.verify(bad), Err(AuthError::InvalidApiKey), "{bad}");
        }
        assert_eq!(keys.verify(""), Err(AuthError::Missing));
    }

    #[test]
    fn rotation_is_two_entries_and_revocation_is_removal() {
        let (old_key, old_hash) = ApiKeys::generate("old").unwrap();
        let (new_key, new_hash) = ApiKeys::generate("new").unwrap();
        let entry = |id: &str, hash: &str| {
            ApiKeyEntry::new(id, ApiKeys::parse_hash(hash).unwrap(), "svc", Vec::new())
        };
        let both = ApiKeys::new([entry("old", &old_hash), entry("new", &new_hash)]).unwrap();
        assert!(both.verify(old_key.expose_str().unwrap()).is_ok());
        assert!(both.verify(new_key.expose_str().unwrap()).is_ok());
        let revoked = ApiKeys::new([entry("new", &new_hash)]).unwrap();
        assert_eq!(
            revoked.verify(old_key.expose_str().unwrap()),
            Err(AuthError::InvalidApiKey)
        );
        assert!(revoked.verify(new_key.expose_str().unwrap()).is_ok());
    }

    #[test]
    fn hashes_parse_and_format() {
        let hash = ApiKeys::hash("mgk_a_b");
        assert!(hash.starts_with("sha256:"));
        assert_eq!(hash.len(), 7 + 64);
        assert_eq!(
            ApiKeys::parse_hash(&hash.to_uppercase().replacen("SHA256", "sha256", 1)),
            ApiKeys::parse_hash(&hash)
        );
        for bad in ["", "sha256:", "sha256:abc", "md5:00", &hash[7..]] {
            assert_eq!(
                ApiKeys::parse_hash(bad),
                Err(SetupError::InvalidApiKeyHash),
                "{bad}"
            );
        }
    }

    #[test]
    fn configuration_is_checked() {
        let e = |id: &str| ApiKeyEntry::new(id, [0; 32], "s", Vec::new());
        assert!(ApiKeys::new([e("a"), e("a")]).is_err());
        assert!(ApiKeys::new([e("a_b")]).is_err());
        assert!(ApiKeys::new([e("")]).is_err());
        assert!(ApiKeys::generate("bad id").is_err());
        assert!(ApiKeys::new([ApiKeyEntry::new("a", [0; 32], "", Vec::new())]).is_err());
        assert_eq!(ApiKeys::new([e("a"), e("b")]).unwrap().len(), 2);
    }

    #[test]
    fn generated_key_debug_is_redacted() {
        let (key, _) = ApiKeys::generate("x").unwrap();
        assert_eq!(format!("{key:?}"), "[redacted]");
    }
}
