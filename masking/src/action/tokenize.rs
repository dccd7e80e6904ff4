//! `tokenize`: format-preserving tokens, NIST SP 800-38G FF1 over AES-256
//! (the `fpe` crate).
//!
//! The characters of the value that belong to the [`Alphabet`] are
//! encrypted as one FF1 numeral string; separators (space, `-`, `.`, `/`,
//! `+`, `(`, `)`) stay in place; any other character is an error (fail
//! closed). So a token has the input's length and shape: digits stay digits,
//! `4111 1111 1111 1111` becomes another 16 digits in groups of 4, and an
//! IBAN another valid IBAN of its country and layout ([`Alphabet::Iban`]).
//!
//! The FF1 tweak is `product || 0x00 || normalized JSONPath`: the same value
//! gives the same token in the same field of the same product (so tokens
//! still join within it), and a different token elsewhere.
//!
//! Limits:
//! - FF1 needs a domain of at least 10^6 values: at least 6 digits, or 4
//!   characters of a 36- or 62-character alphabet. Shorter values are an
//!   error, not passed through.
//! - A token carries no key id (there is no room in the format). Tokenize
//!   and reveal use the key version the rule names (`key`), or the active
//!   FPE key; a wrong key would not fail but give a wrong value (FF1 has no
//!   authentication tag). Rotating the FPE key therefore means
//!   re-tokenizing stored tokens, or pinning `key` to the old version for
//!   the reveal rule until then.
//! - Numbers are tokenized as their digits and written as JSON strings
//!   (a token may start with 0); `reveal` gives a string back.

use aes::Aes256;
use fpe::ff1::{FF1, FlexibleNumeralString, NumeralStringError};

use super::{ActionError, ApplyContext, Outcome, Scalar, json_string};
use crate::detect::validate;
use crate::keys::{KEY_LEN, KeyId, KeyPurpose};

/// Which characters are encrypted (the others are separators or errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alphabet {
    /// `0-9` (radix 10): card numbers, account numbers, phone numbers.
    Digits,
    /// `0-9 A-Z` (radix 36).
    AlphanumericUpper,
    /// `0-9 A-Z a-z` (radix 62).
    Alphanumeric,
    /// An IBAN: the country code is kept, the digits of the BBAN are
    /// encrypted (radix 10) and its letters kept, and the check digits are
    /// computed anew: the token is a valid IBAN of the same country and
    /// layout (a German one stays 18 digits after `DE`). Only a valid IBAN
    /// (its check digits verify) is tokenized, so that reveal, which
    /// computes them again, gives back exactly the original.
    Iban,
}

const DIGITS: &str = "0123456789";
const UPPER36: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const SEPARATORS: &[char] = &[' ', '-', '.', '/', '+', '(', ')'];

impl Alphabet {
    /// The characters, in numeral order (the order Wycheproof's FF1 vectors
    /// use).
    fn chars(self) -> &'static str {
        match self {
            Alphabet::Digits | Alphabet::Iban => DIGITS,
            Alphabet::AlphanumericUpper => UPPER36,
            Alphabet::Alphanumeric => ALNUM62,
        }
    }

    /// What becomes of `c`, the next character of a value, given the
    /// characters before it (`counted` of them counted as this alphabet
    /// counts): its numeral, to be encrypted, or `None` to keep it as it
    /// is. An error for a character the token cannot keep the shape of.
    fn numeral(self, c: char, counted: &mut usize) -> Result<Option<u16>, ()> {
        if self == Alphabet::Iban {
            // Country code and check digits are the first four
            // alphanumerics; letters of the BBAN stay, its digits are
            // encrypted.
            if !(c.is_ascii_digit() || c.is_ascii_uppercase()) {
                return if SEPARATORS.contains(&c) {
                    Ok(None)
                } else {
                    Err(())
                };
            }
            *counted += 1;
            return Ok(match c.to_digit(10) {
                Some(d) if *counted > 4 => Some(u16::try_from(d).unwrap_or(0)),
                _ => None,
            });
        }
        match self.chars().find(c) {
            // An alphabet has at most 62 characters.
            Some(i) => Ok(Some(u16::try_from(i).unwrap_or(u16::MAX))),
            None if SEPARATORS.contains(&c) => Ok(None),
            None => Err(()),
        }
    }
}

/// Format-preserving token parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenize {
    /// Which characters are encrypted.
    pub alphabet: Alphabet,
    /// FPE key version; `None` = the provider's active FPE key.
    pub key: Option<KeyId>,
}

#[derive(Clone, Copy)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// FF1 over AES-256 on numerals of `radix` (the primitive that
/// `tokenize`/`reveal` use and the Wycheproof vectors check).
pub(crate) fn ff1(
    key: &[u8; KEY_LEN],
    radix: u32,
    tweak: &[u8],
    numerals: Vec<u16>,
    encrypt: bool,
) -> Result<Vec<u16>, NumeralStringError> {
    let ff1 =
        FF1::<Aes256>::new(key, radix).map_err(|_| NumeralStringError::InvalidForRadix(radix))?;
    let ns = FlexibleNumeralString::from(numerals);
    let out = if encrypt {
        ff1.encrypt(tweak, &ns)?
    } else {
        ff1.decrypt(tweak, &ns)?
    };
    Ok(out.into())
}

impl Tokenize {
    pub(super) fn apply(
        &self,
        value: &Scalar<'_>,
        ctx: &ApplyContext<'_>,
    ) -> Result<Outcome, ActionError> {
        self.run(value, ctx, Direction::Encrypt, "tokenize")
    }

    pub(super) fn reveal(
        &self,
        value: &Scalar<'_>,
        ctx: &ApplyContext<'_>,
    ) -> Result<Outcome, ActionError> {
        self.run(value, ctx, Direction::Decrypt, "reveal")
    }

    fn run(
        &self,
        value: &Scalar<'_>,
        ctx: &ApplyContext<'_>,
        direction: Direction,
        action: &'static str,
    ) -> Result<Outcome, ActionError> {
        let text = match value {
            Scalar::Str(s) => s.as_ref(),
            Scalar::Number(n) => n,
            Scalar::Null => return Ok(Outcome::Keep),
            Scalar::Bool(_) => {
                return Err(ActionError::UnsupportedType {
                    action,
                    found: "boolean",
                });
            }
        };
        let iban = self.alphabet == Alphabet::Iban;
        if iban && matches!(direction, Direction::Encrypt) && !validate::mod97(text) {
            return Err(ActionError::Format {
                action,
                expected: "a valid IBAN (its check digits verify)",
            });
        }
        let not_shaped = ActionError::Format {
            action,
            expected: "made of the alphabet's characters and separators",
        };
        // Numerals to encrypt; the other characters stay where they are.
        let mut numerals = Vec::with_capacity(text.len());
        let mut counted = 0usize;
        for c in text.chars() {
            match self.alphabet.numeral(c, &mut counted) {
                Ok(Some(n)) => numerals.push(n),
                Ok(None) => {}
                Err(()) => return Err(not_shaped),
            }
        }
        if iban && counted < 5 {
            return Err(ActionError::Format {
                action,
                expected: "an IBAN",
            });
        }
        if ctx.product.contains('\0') {
            return Err(ActionError::InvalidParameter {
                action,
                reason: "product name contains a NUL byte".into(),
            });
        }
        let mut tweak = Vec::with_capacity(ctx.product.len() + 1 + ctx.path.len());
        tweak.extend_from_slice(ctx.product.as_bytes());
        tweak.push(0);
        tweak.extend_from_slice(ctx.path.as_bytes());

        let data_key = ctx.keys.key(KeyPurpose::Fpe, self.key.as_ref())?;
        let radix = u32::try_from(self.alphabet.chars().len()).unwrap_or(u32::MAX);
        let out = ff1(
            data_key.bytes(),
            radix,
            &tweak,
            numerals,
            matches!(direction, Direction::Encrypt),
        )
        .map_err(|e| match e {
            NumeralStringError::TooShort { .. } => ActionError::Format {
                action,
                expected: "long enough for FF1 (6 digits, or 4 alphanumerics)",
            },
            NumeralStringError::TooLong { .. } => ActionError::Format {
                action,
                expected: "short enough for FF1",
            },
            _ => ActionError::Crypto { action },
        })?;

        let alphabet_bytes = self.alphabet.chars().as_bytes();
        let mut next = out.into_iter();
        let mut result = String::with_capacity(text.len());
        let mut counted = 0usize;
        for c in text.chars() {
            if let Ok(Some(_)) = self.alphabet.numeral(c, &mut counted) {
                let n = next.next().ok_or(ActionError::Crypto { action })?;
                let b = alphabet_bytes
                    .get(usize::from(n))
                    .ok_or(ActionError::Crypto { action })?;
                result.push(char::from(*b));
            } else {
                result.push(c);
            }
        }
        if iban {
            result = with_iban_check_digits(&result).ok_or(ActionError::Crypto { action })?;
        }
        Ok(Outcome::Replace(json_string(&result)))
    }
}

/// `iban` with the check digits (its third and fourth alphanumerics)
/// that make it valid.
fn with_iban_check_digits(iban: &str) -> Option<String> {
    let check = validate::iban_check_digits(iban)?;
    let mut alphanumerics = 0;
    let bytes = iban
        .bytes()
        .map(|b| {
            if !b.is_ascii_alphanumeric() {
                return b;
            }
            alphanumerics += 1;
            match alphanumerics {
                3 => check[0],
                4 => check[1],
                _ => b,
            }
        })
        .collect();
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Action, Reveal};
    use super::*;
    use crate::keys::LocalKeyring;

    fn tok(alphabet: Alphabet) -> Tokenize {
        Tokenize {
            alphabet,
            key: None,
        }
    }

    fn round_trip(t: &Tokenize, v: &str) -> String {
        let keys = keyring();
        let c = ctx(keys);
        let token = replaced_str(Action::Tokenize(t.clone()).apply(s(v), &c).unwrap());
        let back = replaced_str(
            Action::Reveal(Reveal::Token(t.clone()))
                .apply(s(&token), &c)
                .unwrap(),
        );
        assert_eq!(back, v);
        token
    }

    fn same_shape(a: &str, b: &str, alphabet: &str) {
        assert_eq!(a.chars().count(), b.chars().count(), "{a} / {b}");
        for (x, y) in a.chars().zip(b.chars()) {
            assert_eq!(alphabet.contains(x), alphabet.contains(y), "{a} / {b}");
            if !alphabet.contains(x) {
                assert_eq!(x, y);
            }
        }
    }

    #[test]
    fn digits_keep_shape() {
        let t = tok(Alphabet::Digits);
        for v in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "+49 (151) 2345678",
        ] {
            let token = round_trip(&t, v);
            assert_ne!(token, v);
            same_shape(v, &token, DIGITS);
        }
    }

    #[test]
    fn iban_shape() {
        let t = tok(Alphabet::Iban);
        let iban = "DE89 3704 0044 0532 0130 00";
        let token = round_trip(&t, iban);
        assert!(token.starts_with("DE"), "{token}");
        assert_ne!(token, iban);
        assert_eq!(token.len(), iban.len());
        // A German IBAN stays digits after the country, and is valid.
        assert!(
            token[2..].chars().all(|c| c == ' ' || c.is_ascii_digit()),
            "{token}"
        );
        assert!(validate::mod97(&token), "{token}");
        // The BBAN's letters stay; its digits change.
        let gb = round_trip(&t, "GB29NWBK60161331926819");
        assert!(gb.starts_with("GB") && gb[4..8] == *"NWBK", "{gb}");
        assert_ne!(gb[8..], *"60161331926819");
        assert!(validate::mod97(&gb), "{gb}");
        // Too short, or not a valid IBAN (its check digits do not verify):
        // refused, never passed through.
        for bad in ["DE8", "DE00 3704 0044 0532 0130 00"] {
            assert!(
                matches!(
                    Action::Tokenize(t.clone()).apply(s(bad), &ctx(keyring())),
                    Err(ActionError::Format { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn alphanumeric() {
        let token = round_trip(&tok(Alphabet::Alphanumeric), "AbC-123-xyz");
        same_shape("AbC-123-xyz", &token, ALNUM62);
        let token = round_trip(&tok(Alphabet::AlphanumericUpper), "AB12CD34");
        same_shape("AB12CD34", &token, UPPER36);
    }

    #[test]
    fn deterministic_and_bound_to_place() {
        let keys = keyring();
        let c = ctx(keys);
        let t = Action::Tokenize(tok(Alphabet::Digits));
        let a = replaced_str(t.apply(s("123456789"), &c).unwrap());
        assert_eq!(a, replaced_str(t.apply(s("123456789"), &c).unwrap()));
        let mut other = c;
        other.path = "$['other']";
        assert_ne!(a, replaced_str(t.apply(s("123456789"), &other).unwrap()));
        let mut other = c;
        other.product = "orders";
        assert_ne!(a, replaced_str(t.apply(s("123456789"), &other).unwrap()));
        let ring = LocalKeyring::random().unwrap();
        assert_ne!(
            a,
            replaced_str(t.apply(s("123456789"), &ctx(&ring)).unwrap())
        );
    }

    #[test]
    fn refuses_what_it_cannot_keep() {
        let keys = keyring();
        let c = ctx(keys);
        let t = Action::Tokenize(tok(Alphabet::Digits));
        for bad in ["12345", "12a456789", "1e10"] {
            let err = t.apply(s(bad), &c).unwrap_err();
            assert!(matches!(err, ActionError::Format { .. }), "{bad}: {err}");
        }
        assert!(t.apply(Scalar::Bool(true), &c).is_err());
        assert_eq!(t.apply(Scalar::Null, &c).unwrap(), Outcome::Keep);
        // Numbers become strings of digits.
        let n = replaced_str(t.apply(Scalar::Number("1234567"), &c).unwrap());
        assert!(n.len() == 7 && n.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn pinned_key_version() {
        let mut ring = LocalKeyring::random().unwrap();
        let pinned = Tokenize {
            alphabet: Alphabet::Digits,
            key: Some(KeyId::new("fpe-1").unwrap()),
        };
        let c = ctx(&ring);
        let token = replaced_str(
            Action::Tokenize(pinned.clone())
                .apply(s("1234567"), &c)
                .unwrap(),
        );
        ring.rotate(KeyPurpose::Fpe).unwrap();
        let c = ctx(&ring);
        let back = Action::Reveal(Reveal::Token(pinned)).apply(s(&token), &c);
        assert_eq!(replaced_str(back.unwrap()), "1234567");
        // The active (rotated) key gives a different token.
        let active = replaced_str(
            Action::Tokenize(tok(Alphabet::Digits))
                .apply(s("1234567"), &c)
                .unwrap(),
        );
        assert_ne!(active, token);
    }
}

/// Wycheproof FF1 vectors (AES-256 keys, our alphabets) through [`ff1`].
#[cfg(test)]
mod wycheproof_tests {
    use super::*;
    use wycheproof::TestResult;
    use wycheproof::fpe_str::{TestName, TestSet};

    #[test]
    fn aes_256_ff1_vectors() {
        let mut ran = 0;
        for (name, ours) in [
            (TestName::AesFf1Base10, DIGITS),
            (TestName::AesFf1Base36, UPPER36),
            (TestName::AesFf1Base62, ALNUM62),
        ] {
            let set = TestSet::load(name).unwrap();
            for group in &set.test_groups {
                if group.key_size != 256 {
                    continue;
                }
                assert_eq!(group.alphabet, ours, "alphabet order differs");
                for t in &group.tests {
                    let key: &[u8; KEY_LEN] = t.key.as_slice().try_into().unwrap();
                    let radix = u32::try_from(ours.len()).unwrap();
                    let to_ns = |s: &str| -> Option<Vec<u16>> {
                        s.chars()
                            .map(|c| ours.find(c).map(|i| u16::try_from(i).unwrap()))
                            .collect()
                    };
                    let pt = to_ns(&t.pt);
                    let enc = pt.and_then(|pt| ff1(key, radix, &t.tweak, pt, true).ok());
                    // SP 800-38G Rev. 1 requires radix^len >= 10^6; the `fpe`
                    // crate (and so tokenize) refuses smaller domains that
                    // the original SP 800-38G, and these vectors, allow.
                    let small = (radix as f64).powi(t.pt.chars().count() as i32) < 1e6;
                    match t.result {
                        TestResult::Valid | TestResult::Acceptable if small => {
                            assert!(enc.is_none(), "{name:?} tcId {}: small domain", t.tc_id);
                        }
                        TestResult::Valid | TestResult::Acceptable => {
                            let ct = to_ns(&t.ct).unwrap();
                            assert_eq!(enc.as_ref(), Some(&ct), "{name:?} tcId {}", t.tc_id);
                            let dec = ff1(key, radix, &t.tweak, ct, false).unwrap();
                            assert_eq!(Some(dec), to_ns(&t.pt), "{name:?} tcId {}", t.tc_id);
                        }
                        TestResult::Invalid => {
                            assert!(enc.is_none(), "{name:?} tcId {}: {}", t.tc_id, t.comment)
                        }
                    }
                    ran += 1;
                }
            }
        }
        assert!(ran >= 30, "only {ran} FF1 vectors ran");
    }
}
