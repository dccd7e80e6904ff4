//! `encrypt` and `reveal` of envelopes: AES-256-GCM field encryption.
//!
//! # Envelope format (version 1)
//!
//! ```text
//! mg1:<key id>:<base64url without padding of (nonce || ciphertext || tag)>
//! ```
//!
//! - `mg1` names the format version; anything else is refused.
//! - `<key id>` is the [`KeyId`] of the encrypt key used (`A-Za-z0-9._-`),
//!   so envelopes written before a rotation keep decrypting with their key.
//! - nonce: 12 random bytes from the operating system (`ring`'s
//!   `SystemRandom`), fresh for every value; tag: 16 bytes.
//! - plaintext: the value's JSON text (`"jane@example.com"`, `42`, `true`),
//!   so `reveal` gives back the original type.
//! - associated data: `product || 0x00 || normalized JSONPath`; an envelope
//!   moved to another product or another field does not open. (Product
//!   names with a NUL byte are refused, so the split is unambiguous; paths
//!   start with `$`.)
//!
//! An envelope that is malformed, of an unknown version, names a missing
//! key, or does not authenticate is an error: `reveal` fails closed.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use super::{ActionError, ApplyContext, Outcome, Scalar, json_string};
use crate::keys::{KEY_LEN, KeyId, KeyPurpose};

/// What every version-1 envelope starts with.
pub const ENVELOPE_PREFIX: &str = "mg1:";

/// AES-GCM nonce length (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length (128 bits).
pub(crate) const TAG_LEN: usize = 16;

/// A parsed version-1 envelope (see the module docs for the format).
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    key_id: KeyId,
    nonce: [u8; NONCE_LEN],
    /// ciphertext || tag
    sealed: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("key_id", &self.key_id)
            .field("len", &self.sealed.len())
            .finish_non_exhaustive()
    }
}

impl Envelope {
    /// Parses an envelope string; `Err` names what is wrong, never the text.
    pub fn parse(text: &str) -> Result<Self, ActionError> {
        let rest = text
            .strip_prefix(ENVELOPE_PREFIX)
            .ok_or(ActionError::Envelope("not an mg1 envelope"))?;
        let (id, body) = rest
            .split_once(':')
            .ok_or(ActionError::Envelope("missing key id"))?;
        let key_id = KeyId::new(id).map_err(|_| ActionError::Envelope("invalid key id"))?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| ActionError::Envelope("invalid base64url"))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(ActionError::Envelope("too short"));
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        Ok(Envelope {
            key_id,
            nonce: nonce
                .try_into()
                .map_err(|_| ActionError::Envelope("too short"))?,
            sealed: sealed.to_vec(),
        })
    }

    /// The id of the key this envelope was sealed with.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(NONCE_LEN + self.sealed.len());
        raw.extend_from_slice(&self.nonce);
        raw.extend_from_slice(&self.sealed);
        write!(
            f,
            "{ENVELOPE_PREFIX}{}:{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(raw)
        )
    }
}

/// AES-256-GCM seal with a given nonce: returns `ciphertext || tag`.
///
/// The one encryption primitive of `encrypt` (which passes a fresh random
/// nonce); the nonce is a parameter so the Wycheproof vectors can run
/// through the same code.
pub(crate) fn seal_with_nonce(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, aes_gcm::Error> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| aes_gcm::Error)?;
    cipher.encrypt(
        &Nonce::from(*nonce),
        Payload {
            msg: plaintext,
            aad,
        },
    )
}

/// AES-256-GCM open of `ciphertext || tag`; `Err` if it does not
/// authenticate.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, aes_gcm::Error> {
    if sealed.len() < TAG_LEN {
        return Err(aes_gcm::Error);
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| aes_gcm::Error)?;
    cipher.decrypt(&Nonce::from(*nonce), Payload { msg: sealed, aad })
}

fn aad(ctx: &ApplyContext<'_>, action: &'static str) -> Result<Vec<u8>, ActionError> {
    if ctx.product.contains('\0') {
        return Err(ActionError::InvalidParameter {
            action,
            reason: "product name contains a NUL byte".into(),
        });
    }
    let mut aad = Vec::with_capacity(ctx.product.len() + 1 + ctx.path.len());
    aad.extend_from_slice(ctx.product.as_bytes());
    aad.push(0);
    aad.extend_from_slice(ctx.path.as_bytes());
    Ok(aad)
}

pub(super) fn apply(
    key: Option<&KeyId>,
    value: &Scalar<'_>,
    ctx: &ApplyContext<'_>,
) -> Result<Outcome, ActionError> {
    if *value == Scalar::Null {
        return Ok(Outcome::Keep);
    }
    let aad = aad(ctx, "encrypt")?;
    let data_key = ctx.keys.key(KeyPurpose::Encrypt, key)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ActionError::Crypto { action: "encrypt" })?;
    let plaintext = zeroize::Zeroizing::new(value.to_json());
    let sealed = seal_with_nonce(data_key.bytes(), &nonce, &aad, plaintext.as_bytes())
        .map_err(|_| ActionError::Crypto { action: "encrypt" })?;
    let envelope = Envelope {
        key_id: data_key.id().clone(),
        nonce,
        sealed,
    };
    Ok(Outcome::Replace(json_string(&envelope.to_string())))
}

pub(super) fn reveal(value: &Scalar<'_>, ctx: &ApplyContext<'_>) -> Result<Outcome, ActionError> {
    let text = match value {
        Scalar::Str(s) => s,
        // A stored-encrypted field that is null stays null.
        Scalar::Null => return Ok(Outcome::Keep),
        other => {
            return Err(ActionError::UnsupportedType {
                action: "reveal",
                found: super::type_name(other),
            });
        }
    };
    let envelope = Envelope::parse(text)?;
    let aad = aad(ctx, "reveal")?;
    let data_key = ctx.keys.key(KeyPurpose::Encrypt, Some(envelope.key_id()))?;
    let plaintext = open(data_key.bytes(), &envelope.nonce, &aad, &envelope.sealed)
        .map_err(|_| ActionError::Envelope("not authentic"))?;
    let json =
        String::from_utf8(plaintext).map_err(|_| ActionError::Envelope("plaintext not UTF-8"))?;
    // Authentic means we wrote it, but check the shape anyway: the rewriter
    // writes this text verbatim.
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(v) if !v.is_object() && !v.is_array() => Ok(Outcome::Replace(json)),
        _ => Err(ActionError::Envelope("plaintext is not a JSON scalar")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Action, Reveal};
    use super::*;
    use crate::keys::LocalKeyring;

    fn encrypt(v: Scalar<'_>, c: &ApplyContext<'_>) -> String {
        replaced_str(Action::Encrypt { key: None }.apply(v, c).unwrap())
    }

    fn reveal(envelope: &str, c: &ApplyContext<'_>) -> Result<Outcome, ActionError> {
        Action::Reveal(Reveal::Envelope).apply(s(envelope), c)
    }

    #[test]
    fn round_trip_keeps_type() {
        let keys = keyring();
        let c = ctx(keys);
        for v in [
            s("jane@example.com"),
            s("quote \" and é"),
            s(""),
            Scalar::Number("-12.5e3"),
            Scalar::Bool(false),
        ] {
            let env = encrypt(v.clone(), &c);
            assert!(env.starts_with("mg1:encrypt-1:"), "{env}");
            assert_eq!(replaced(reveal(&env, &c).unwrap()), v.to_json());
        }
        assert_eq!(
            Action::Encrypt { key: None }
                .apply(Scalar::Null, &c)
                .unwrap(),
            Outcome::Keep
        );
    }

    #[test]
    fn random_nonce() {
        let keys = keyring();
        let c = ctx(keys);
        assert_ne!(encrypt(s("same"), &c), encrypt(s("same"), &c));
    }

    #[test]
    fn bound_to_product_and_path() {
        let keys = keyring();
        let c = ctx(keys);
        let env = encrypt(s("secret"), &c);
        let mut other_path = c;
        other_path.path = "$['other']";
        assert!(matches!(
            reveal(&env, &other_path),
            Err(ActionError::Envelope(_))
        ));
        let mut other_product = c;
        other_product.product = "orders";
        assert!(matches!(
            reveal(&env, &other_product),
            Err(ActionError::Envelope(_))
        ));
        let mut nul = c;
        nul.product = "a\0b";
        assert!(Action::Encrypt { key: None }.apply(s("x"), &nul).is_err());
    }

    #[test]
    fn rotation_keeps_old_envelopes() {
        let mut ring = LocalKeyring::random().unwrap();
        let old = encrypt(s("v1"), &ctx(&ring));
        ring.rotate(KeyPurpose::Encrypt).unwrap();
        let c = ctx(&ring);
        let new = encrypt(s("v2"), &c);
        assert!(old.starts_with("mg1:encrypt-1:"));
        assert!(new.starts_with("mg1:encrypt-2:"));
        assert_eq!(replaced(reveal(&old, &c).unwrap()), "\"v1\"");
        assert_eq!(replaced(reveal(&new, &c).unwrap()), "\"v2\"");
        // A pinned key version encrypts with that version.
        let pinned = Action::Encrypt {
            key: Some(KeyId::new("encrypt-1").unwrap()),
        };
        assert!(replaced_str(pinned.apply(s("x"), &c).unwrap()).starts_with("mg1:encrypt-1:"));
    }

    #[test]
    fn wrong_key_fails_closed() {
        let a = LocalKeyring::random().unwrap();
        let b = LocalKeyring::random().unwrap();
        let env = encrypt(s("secret"), &ctx(&a));
        // Same key id, different bytes: does not authenticate.
        assert!(matches!(
            reveal(&env, &ctx(&b)),
            Err(ActionError::Envelope("not authentic"))
        ));
        // Unknown key id.
        let renamed = env.replacen("encrypt-1", "encrypt-7", 1);
        assert!(matches!(
            reveal(&renamed, &ctx(&a)),
            Err(ActionError::Key(_))
        ));
        // A key of another purpose is never used.
        let hmac = env.replacen("encrypt-1", "hmac-1", 1);
        assert!(matches!(reveal(&hmac, &ctx(&a)), Err(ActionError::Key(_))));
    }

    #[test]
    fn malformed_and_tampered() {
        let keys = keyring();
        let c = ctx(keys);
        let env = encrypt(s("secret"), &c);
        let body = env.rsplit(':').next().unwrap().to_owned();
        let mut raw = URL_SAFE_NO_PAD.decode(&body).unwrap();
        raw[NONCE_LEN] ^= 1;
        let flipped = format!("mg1:encrypt-1:{}", URL_SAFE_NO_PAD.encode(&raw));
        for bad in [
            "secret".to_owned(),
            "mg2:encrypt-1:AAAA".to_owned(),
            "mg1:encrypt-1".to_owned(),
            "mg1::AAAA".to_owned(),
            "mg1:encrypt-1:!!!".to_owned(),
            "mg1:encrypt-1:AAAA".to_owned(),
            env[..env.len() - 2].to_owned(),
            flipped,
        ] {
            let err = reveal(&bad, &c).unwrap_err();
            assert!(
                matches!(err, ActionError::Envelope(_) | ActionError::Key(_)),
                "{bad}: {err}"
            );
        }
        assert!(matches!(
            Action::Reveal(Reveal::Envelope).apply(Scalar::Number("1"), &c),
            Err(ActionError::UnsupportedType { .. })
        ));
        assert_eq!(
            Action::Reveal(Reveal::Envelope)
                .apply(Scalar::Null, &c)
                .unwrap(),
            Outcome::Keep
        );
    }

    #[test]
    fn envelope_parse_display() {
        let keys = keyring();
        let env = encrypt(s("x"), &ctx(keys));
        let parsed = Envelope::parse(&env).unwrap();
        assert_eq!(parsed.key_id().as_str(), "encrypt-1");
        assert_eq!(parsed.to_string(), env);
        assert!(!format!("{parsed:?}").contains(env.rsplit(':').next().unwrap()));
    }
}

/// Wycheproof AES-GCM vectors through [`seal_with_nonce`] and [`open`].
#[cfg(test)]
mod wycheproof_tests {
    use super::*;
    use wycheproof::TestResult;
    use wycheproof::aead::{TestName, TestSet};

    #[test]
    fn aes_256_gcm_vectors() {
        let set = TestSet::load(TestName::AesGcm).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in &set.test_groups {
            // Our parameters: 256-bit key, 96-bit nonce, 128-bit tag.
            if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
                continue;
            }
            for t in &group.tests {
                let key: &[u8; KEY_LEN] = t.key.as_slice().try_into().unwrap();
                let nonce: &[u8; NONCE_LEN] = t.nonce.as_slice().try_into().unwrap();
                let mut expected = t.ct.to_vec();
                expected.extend_from_slice(&t.tag);
                let opened = open(key, nonce, &t.aad, &expected);
                match t.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        let sealed = seal_with_nonce(key, nonce, &t.aad, &t.pt).unwrap();
                        assert_eq!(sealed, expected, "tcId {}: seal", t.tc_id);
                        assert_eq!(opened.unwrap(), t.pt.to_vec(), "tcId {}: open", t.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert!(opened.is_err(), "tcId {}: {}", t.tc_id, t.comment);
                        invalid += 1;
                    }
                }
            }
        }
        // The set has dozens of each for these parameters; make sure the
        // filter did not silently drop everything.
        assert!(valid >= 20, "only {valid} valid vectors ran");
        assert!(invalid >= 10, "only {invalid} invalid vectors ran");
    }
}
