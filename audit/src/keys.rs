//! The audit log's keys: the Ed25519 key that signs checkpoints, its public
//! half (all a verifier needs), and the HMAC key identifiers are hashed
//! with.
//!
//! The writer takes key *bytes*, never a path, so that a key can come from
//! a local file (the embedded default, [`load_or_create`]) or from a
//! secrets provider alike.
//!
//! Files: the signing key is a PKCS#8 v2 document (binary, as ring makes
//! it), created mode 0600; its public key is written beside it as
//! `NAME.pub`, one line `ed25519:<64 hex digits>`. The HMAC key is 32 or
//! more random bytes, stored as hex on one line.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use ring::{
    rand::{SecureRandom, SystemRandom},
    signature::{self, Ed25519KeyPair, KeyPair},
};
use zeroize::Zeroizing;

use crate::{AuditError, line::hex};

/// The prefix of a public key's text form.
const PUBLIC_PREFIX: &str = "ed25519:";

/// The Ed25519 key that signs checkpoints. `Debug` prints `[redacted]`.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// The key from a PKCS#8 (v1 or v2) Ed25519 document.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, AuditError> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(|pair| Self { pair })
            .map_err(|_| AuditError::InvalidKey("Ed25519 PKCS#8 signing"))
    }

    /// A new random key, as a PKCS#8 document (to store) and the key.
    pub fn generate() -> Result<(Zeroizing<Vec<u8>>, Self), AuditError> {
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| AuditError::InvalidKey("generated"))?;
        let der = Zeroizing::new(der.as_ref().to_vec());
        let key = Self::from_pkcs8(&der)?;
        Ok((der, key))
    }

    /// Its public half.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

/// An Ed25519 public key: what `maskgate audit verify` checks checkpoints
/// with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses the text form `ed25519:<64 hex digits>` (surrounding
    /// whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let hex_digits = text
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or(AuditError::InvalidKey("public (expected ed25519:<hex>)"))?;
        let bytes = crate::line::unhex(hex_digits.to_ascii_lowercase().as_bytes())
            .ok_or(AuditError::InvalidKey("public (expected ed25519:<hex>)"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AuditError::InvalidKey("public (expected 32 bytes)"))?;
        Ok(Self(bytes))
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let text = fs::read_to_string(path).map_err(|e| AuditError::io(path, "cannot read", e))?;
        Self::parse(&text).map_err(|e| AuditError::Key {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// A short fingerprint for display: the first 16 hex digits of the
    /// SHA-256 of the key.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        hex(&digest.as_ref()[..8])
    }

    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, sig)
            .is_ok()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", hex(&self.0))
    }
}

/// HMAC-SHA256 of identifiers an auditor may need to match (subjects,
/// client addresses, query values), as Vault's audit devices do: the same
/// value always gives the same `hmac-sha256:<hex>`, and only a holder of
/// the key can tell which value that is. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct IdentifierHasher {
    key: ring::hmac::Key,
}

impl std::fmt::Debug for IdentifierHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentifierHasher([redacted])")
    }
}

/// The prefix of a hashed identifier.
pub const HMAC_PREFIX: &str = "hmac-sha256:";

impl IdentifierHasher {
    /// A hasher with `key` (at least 16 bytes).
    pub fn new(key: &[u8]) -> Result<Self, AuditError> {
        if key.len() < 16 {
            return Err(AuditError::InvalidKey("HMAC (at least 16 bytes)"));
        }
        Ok(Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        })
    }

    /// `hmac-sha256:<64 hex digits>` of `value`.
    pub fn hash(&self, value: &str) -> String {
        let tag = ring::hmac::sign(&self.key, value.as_bytes());
        format!("{HMAC_PREFIX}{}", hex(tag.as_ref()))
    }

    /// A path with each query value replaced by its HMAC (names kept, so an
    /// auditor sees which parameters were used): `/a?x=1&y` becomes
    /// `/a?x=hmac-sha256:…&y`.
    pub fn path_and_query(&self, path: &str, query: Option<&str>) -> String {
        let Some(query) = query else {
            return path.to_owned();
        };
        let mut out = String::with_capacity(path.len() + query.len() + 80);
        out.push_str(path);
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, value)) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(&self.hash(value));
                }
                None => out.push_str(pair),
            }
        }
        out
    }
}

/// An HMAC key from its text form: hex digits, at least 16 bytes
/// (surrounding whitespace ignored). The text of a key file, or of the
/// Vault field `hmac_key_from` names.
pub fn parse_hmac_key(text: &str) -> Result<Zeroizing<Vec<u8>>, AuditError> {
    let bytes = crate::line::unhex(text.trim().to_ascii_lowercase().as_bytes())
        .ok_or(AuditError::InvalidKey("HMAC (expected hex digits)"))?;
    if bytes.len() < 16 {
        return Err(AuditError::InvalidKey(
            "HMAC (too short: at least 16 bytes)",
        ));
    }
    Ok(Zeroizing::new(bytes))
}

/// Reads an HMAC key file (hex), or with `create` makes one (32 random
/// bytes, mode 0600) where there is none.
pub fn load_or_create_hmac_key(
    path: &Path,
    create: bool,
) -> Result<Zeroizing<Vec<u8>>, AuditError> {
    let key_error = |message: &str| AuditError::Key {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    match fs::read_to_string(path) {
        Ok(text) => parse_hmac_key(&Zeroizing::new(text)).map_err(|e| match e {
            AuditError::InvalidKey(what) => key_error(&format!("invalid {what} key")),
            other => other,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let mut bytes = Zeroizing::new(vec![0u8; 32]);
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| key_error("no randomness"))?;
            let mut text = Zeroizing::new(hex(&bytes));
            text.push('\n');
            write_private(path, text.as_bytes())?;
            Ok(bytes)
        }
        Err(e) => Err(AuditError::io(path, "cannot read", e)),
    }
}

/// Reads a PKCS#8 signing key, or with `create` makes one (mode 0600) where
/// there is none. Either way writes the public key beside it
/// ([`public_key_path`]) when it is missing.
pub fn load_or_create_signing_key(path: &Path, create: bool) -> Result<SigningKey, AuditError> {
    let key = match fs::read(path) {
        Ok(der) => {
            let der = Zeroizing::new(der);
            SigningKey::from_pkcs8(&der).map_err(|_| AuditError::Key {
                path: path.to_owned(),
                message: "not an Ed25519 PKCS#8 key".to_owned(),
            })?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let (der, key) = SigningKey::generate()?;
            write_private(path, &der)?;
            key
        }
        Err(e) => return Err(AuditError::io(path, "cannot read", e)),
    };
    let public = public_key_path(path);
    if !public.exists() {
        fs::write(&public, format!("{}\n", key.public_key()))
            .map_err(|e| AuditError::io(&public, "cannot write", e))?;
    }
    Ok(key)
}

/// Where the public key of the signing key at `path` is written:
/// `PATH.pub`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| AuditError::io(parent, "cannot create", e))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| AuditError::io(path, "cannot create", e))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, "cannot write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_stable_keyed_and_prefixed() {
        let a = IdentifierHasher::new(&[7; 32]).unwrap();
        let b = IdentifierHasher::new(&[8; 32]).unwrap();
        assert_eq!(a.hash("alice"), a.hash("alice"));
        assert_ne!(a.hash("alice"), b.hash("alice"));
        assert!(a.hash("alice").starts_with(HMAC_PREFIX));
        assert_eq!(a.hash("alice").len(), HMAC_PREFIX.len() + 64);
        assert!(IdentifierHasher::new(&[1; 8]).is_err());
    }

    #[test]
    fn query_values_are_hashed_names_kept() {
        let h = IdentifierHasher::new(&[7; 32]).unwrap();
        let out = h.path_and_query("/c", Some("email=bob@x.io&limit=2&flag"));
        assert!(!out.contains("bob@x.io"), "{out}");
        assert!(out.starts_with("/c?email=hmac-sha256:"));
        assert!(out.contains("&limit=hmac-sha256:"));
        assert!(out.ends_with("&flag"));
        assert_eq!(h.path_and_query("/c", None), "/c");
    }

    #[test]
    fn keys_are_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/signing.pk8");
        assert!(load_or_create_signing_key(&path, false).is_err());
        let key = load_or_create_signing_key(&path, true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create_signing_key(&path, false).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        let public = PublicKey::load(&public_key_path(&path)).unwrap();
        assert_eq!(public, key.public_key());
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");

        let hpath = dir.path().join("hmac.key");
        let k1 = load_or_create_hmac_key(&hpath, true).unwrap();
        let k2 = load_or_create_hmac_key(&hpath, false).unwrap();
        assert_eq!(*k1, *k2);
        fs::write(&hpath, "zz").unwrap();
        assert!(load_or_create_hmac_key(&hpath, false).is_err());
    }
}
