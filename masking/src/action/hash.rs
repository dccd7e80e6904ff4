//! `hash`: keyed pseudonyms, HMAC-SHA256 truncated and prefixed.
//!
//! The MAC input is domain-separated and length-prefixed:
//!
//! ```text
//! "maskgate-hash-v1" || scope tag (1 byte: P, C or G)
//!   || u32be(len(scope value)) || scope value || value text
//! ```
//!
//! The scope value is the product name ([`HashScope::Product`]), the
//! consumer's subject ([`HashScope::Consumer`]) or empty
//! ([`HashScope::Global`]), so two consumers get different pseudonyms for the
//! same value unless the rule says `global`. The value text is a string's
//! content, a number's JSON text, or `true`/`false` (the type is not mixed
//! in: the string `"42"` and the number `42` share a pseudonym). Pseudonyms
//! change when the active HMAC key rotates, unless the rule pins `key`.

use ring::hmac;

use super::{ActionError, ApplyContext, Outcome, Scalar, json_string};
use crate::keys::{KeyId, KeyPurpose};

/// Within which scope a pseudonym is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashScope {
    /// Same value, same product: same pseudonym, whoever the consumer.
    Product,
    /// Same value, same consumer: same pseudonym across products; two
    /// consumers cannot join their datasets on it.
    Consumer,
    /// Same value: same pseudonym everywhere (joinable by everyone).
    Global,
}

/// Keyed pseudonym parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hash {
    /// Where the pseudonym is stable (default: per consumer, so consumers
    /// cannot join their datasets unless a rule says otherwise).
    pub scope: HashScope,
    /// Text put before the hex digest (default `h_`).
    pub prefix: String,
    /// Hex characters of the digest kept, 8 to 64 (default 16 = 64 bits).
    pub length: usize,
    /// HMAC key version; `None` = the provider's active HMAC key.
    pub key: Option<KeyId>,
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            scope: HashScope::Consumer,
            prefix: "h_".to_owned(),
            length: 16,
            key: None,
        }
    }
}

const DOMAIN: &[u8] = b"maskgate-hash-v1";

impl Hash {
    pub(super) fn validate(&self) -> Result<(), ActionError> {
        if !(8..=64).contains(&self.length) {
            return Err(ActionError::InvalidParameter {
                action: "hash",
                reason: format!("length must be 8 to 64 hex characters, not {}", self.length),
            });
        }
        Ok(())
    }

    pub(super) fn apply(
        &self,
        value: &Scalar<'_>,
        ctx: &ApplyContext<'_>,
    ) -> Result<Outcome, ActionError> {
        self.validate()?;
        let Some(text) = value.text() else {
            return Ok(Outcome::Keep);
        };
        let (tag, scope_value) = match self.scope {
            HashScope::Product => (b'P', ctx.product),
            HashScope::Consumer => (b'C', ctx.consumer),
            HashScope::Global => (b'G', ""),
        };
        let scope_len =
            u32::try_from(scope_value.len()).map_err(|_| ActionError::Crypto { action: "hash" })?;
        let data_key = ctx.keys.key(KeyPurpose::Hmac, self.key.as_ref())?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, data_key.bytes());
        let mut mac = hmac::Context::with_key(&key);
        mac.update(DOMAIN);
        mac.update(&[tag]);
        mac.update(&scope_len.to_be_bytes());
        mac.update(scope_value.as_bytes());
        mac.update(text.as_bytes());
        let tag = mac.sign();
        let mut out = String::with_capacity(self.prefix.len() + self.length);
        out.push_str(&self.prefix);
        for b in tag.as_ref() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out.truncate(self.prefix.len() + self.length);
        Ok(Outcome::Replace(json_string(&out)))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::keys::LocalKeyring;

    fn pseudonym(h: &Hash, v: &Scalar<'_>, product: &str, consumer: &str) -> String {
        let keys = keyring();
        let mut c = ctx(keys);
        c.product = product;
        c.consumer = consumer;
        replaced_str(h.apply(v, &c).unwrap())
    }

    #[test]
    fn shape_and_determinism() {
        let h = Hash::default();
        let a = pseudonym(&h, &s("jane@example.com"), "p", "alice");
        assert!(a.starts_with("h_"));
        assert_eq!(a.len(), 18);
        assert!(a[2..].bytes().all(|b| HEX.contains(&b)));
        assert_eq!(a, pseudonym(&h, &s("jane@example.com"), "p", "alice"));
        assert_ne!(a, pseudonym(&h, &s("jane@example.co"), "p", "alice"));
        let long = Hash {
            prefix: "".into(),
            length: 64,
            ..Hash::default()
        };
        assert_eq!(pseudonym(&long, &s("x"), "p", "c").len(), 64);
    }

    #[test]
    fn scopes_separate() {
        let v = s("jane@example.com");
        let product = Hash {
            scope: HashScope::Product,
            ..Hash::default()
        };
        // Product scope: consumers share, products differ.
        assert_eq!(
            pseudonym(&product, &v, "p1", "alice"),
            pseudonym(&product, &v, "p1", "bob")
        );
        assert_ne!(
            pseudonym(&product, &v, "p1", "alice"),
            pseudonym(&product, &v, "p2", "alice")
        );
        // Consumer scope: consumers differ, products share.
        let consumer = Hash {
            scope: HashScope::Consumer,
            ..Hash::default()
        };
        assert_ne!(
            pseudonym(&consumer, &v, "p1", "alice"),
            pseudonym(&consumer, &v, "p1", "bob")
        );
        assert_eq!(
            pseudonym(&consumer, &v, "p1", "alice"),
            pseudonym(&consumer, &v, "p2", "alice")
        );
        // Global: everyone shares, but differs from the scoped ones.
        let global = Hash {
            scope: HashScope::Global,
            ..Hash::default()
        };
        assert_eq!(
            pseudonym(&global, &v, "p1", "alice"),
            pseudonym(&global, &v, "p2", "bob")
        );
        assert_ne!(
            pseudonym(&global, &v, "", "alice"),
            pseudonym(&product, &v, "", "alice")
        );
        // Length prefixing: ("ab", "c") and ("a", "bc") do not collide.
        assert_ne!(
            pseudonym(&product, &s("c"), "ab", "x"),
            pseudonym(&product, &s("bc"), "a", "x")
        );
    }

    #[test]
    fn keyed() {
        let other = LocalKeyring::random().unwrap();
        let h = Hash::default();
        let mut c = ctx(&other);
        c.product = "p";
        let mine = pseudonym(&h, &s("v"), "p", "alice");
        assert_ne!(mine, replaced_str(h.apply(&s("v"), &c).unwrap()));
    }

    #[test]
    fn types_and_parameters() {
        let h = Hash::default();
        assert_eq!(
            pseudonym(&h, &Scalar::Number("42"), "p", "c"),
            pseudonym(&h, &s("42"), "p", "c")
        );
        let keys = keyring();
        assert_eq!(h.apply(&Scalar::Null, &ctx(keys)).unwrap(), Outcome::Keep);
        for length in [0, 7, 65] {
            let bad = Hash {
                length,
                ..Hash::default()
            };
            assert!(bad.validate().is_err());
            assert!(bad.apply(&s("x"), &ctx(keys)).is_err());
        }
    }
}
