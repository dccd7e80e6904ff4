//! What happens to one JSON scalar: the actions of a policy.
//!
//! The streaming rewriter hands each classified scalar, already unescaped, to
//! [`Action::apply`] with an [`ApplyContext`] (product, the value's
//! normalized JSONPath, consumer, key provider) and writes what comes back:
//! the value unchanged ([`Outcome::Keep`]), replacement JSON text
//! ([`Outcome::Replace`], already serialized and escaped), or nothing at all
//! ([`Outcome::Drop`], the rewriter removes the member or array element).
//!
//! Errors ([`ActionError`]) never contain the value; the rewriter fails
//! closed on any of them.
//!
//! `null` carries no information: every transforming action keeps it as it
//! is (except `redact`, which writes its replacement, and `drop`).

mod encrypt;
mod generalize;
mod hash;
mod mask;
mod tokenize;

use std::borrow::Cow;

use wide::u8x16;

pub use encrypt::{ENVELOPE_PREFIX, Envelope};
pub use generalize::{Date, Generalize};
pub use hash::{Hash, HashScope};
pub use mask::{Mask, MaskPreset};
pub use tokenize::{Alphabet, Tokenize};

use crate::keys::{KeyError, KeyId, KeyProvider, KeyPurpose};
use crate::rewrite::Replacement;

/// A JSON scalar as the rewriter read it: strings already unescaped, numbers
/// as their raw text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// A number, its JSON text exactly as it appeared (e.g. `-1.5e3`).
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl Scalar<'_> {
    /// The value as text for actions that work on characters: a string's
    /// content, a number's text, `true`/`false`; `None` for null.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Str(s) => Some(Cow::Borrowed(s)),
            Scalar::Number(n) => Some(Cow::Borrowed(n)),
            Scalar::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Scalar::Null => None,
        }
    }

    /// The scalar serialized as JSON text.
    pub fn to_json(&self) -> String {
        match self {
            Scalar::Str(s) => json_string(s),
            Scalar::Number(n) => (*n).to_owned(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Null => "null".to_owned(),
        }
    }
}

/// What the rewriter does with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Write the value unchanged.
    Keep,
    /// Write this JSON text instead (a complete, escaped JSON value).
    Replace(String),
    /// Remove the value (and its member name, in an object).
    Drop,
}

/// What an action needs to know besides the value.
#[derive(Clone, Copy)]
pub struct ApplyContext<'a> {
    /// The product's name (binds ciphertexts and tokens to the product).
    pub product: &'a str,
    /// The value's normalized JSONPath (RFC 9535 §2.7, e.g. `$['card'][0]`),
    /// as made by [`crate::normalized_path`]; binds ciphertexts and tokens
    /// to their place.
    pub path: &'a str,
    /// The consumer's subject (for [`HashScope::Consumer`]).
    pub consumer: &'a str,
    /// Where keys come from.
    pub keys: &'a dyn KeyProvider,
}

impl std::fmt::Debug for ApplyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyContext")
            .field("product", &self.product)
            .field("path", &self.path)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// What a policy does to a value of a class.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Leave the value as it is.
    Pass,
    /// Replace the value: with `null` when `replacement` is `None`, else with
    /// that string constant (e.g. `"[REDACTED]"`).
    Redact {
        /// The constant to write instead of the value, or `None` for `null`.
        replacement: Option<String>,
    },
    /// Remove the member (or array element) altogether.
    Drop,
    /// Keep some characters, mask the others (see [`Mask`]).
    Mask(Mask),
    /// Keyed pseudonym: truncated HMAC-SHA256 (see [`Hash`](struct@Hash)).
    Hash(Hash),
    /// Format-preserving FF1 token, reversible with the key (see
    /// [`Tokenize`]).
    Tokenize(Tokenize),
    /// AES-256-GCM envelope (see [`Envelope`] for the format).
    Encrypt {
        /// Key version to encrypt with; `None` = the provider's active key.
        key: Option<KeyId>,
    },
    /// Coarsen the value (see [`Generalize`]).
    Generalize(Generalize),
    /// Show the clear value, decrypting it first if it is stored protected.
    Reveal(Reveal),
}

/// How a value to reveal is stored.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reveal {
    /// The value is in the clear: write it as it is.
    Clear,
    /// The value is an [`Envelope`] string: decrypt it (with the key id it
    /// names) and write the original JSON value. Anything else fails.
    Envelope,
    /// The value is an FF1 token made by this [`Tokenize`] (same alphabet
    /// and key version): decrypt it.
    Token(Tokenize),
}

/// Why an action could not be applied. Never contains the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    // --- the value does not fit the action
    /// The value's type is not one the action handles (e.g. `generalize`
    /// a date on a boolean).
    #[error("{action}: a {found} value is not supported")]
    UnsupportedType {
        /// The action's name.
        action: &'static str,
        /// The JSON type found: `string`, `number`, `boolean`.
        found: &'static str,
    },
    /// The value does not have the format the action needs.
    #[error("{action}: value is not {expected}")]
    Format {
        /// The action's name.
        action: &'static str,
        /// What was expected, e.g. `a date (YYYY-MM-DD or RFC 3339)`.
        expected: &'static str,
    },
    /// An envelope could not be opened: malformed, unknown version, or not
    /// authentic (wrong key, product, path, or tampered).
    #[error("reveal: cannot open the envelope ({0})")]
    Envelope(&'static str),

    // --- the policy is wrong
    /// A parameter of the action is out of range.
    #[error("{action}: invalid parameter: {reason}")]
    InvalidParameter {
        /// The action's name.
        action: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    // --- the keys or the crypto failed
    /// The key provider failed.
    #[error("key unavailable: {0}")]
    Key(#[from] KeyError),
    /// A cryptographic operation failed (never caused by the value's content).
    #[error("{action}: cryptographic failure")]
    Crypto {
        /// The action's name.
        action: &'static str,
    },
}

impl Action {
    /// The action's name as written in policies.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Redact { .. } => "redact",
            Action::Drop => "drop",
            Action::Mask(_) => "mask",
            Action::Hash(_) => "hash",
            Action::Tokenize(_) => "tokenize",
            Action::Encrypt { .. } => "encrypt",
            Action::Generalize(_) => "generalize",
            Action::Reveal(_) => "reveal",
        }
    }

    /// The key this action takes from the key provider, if any: its
    /// purpose and its pinned version (`None`: the active one). An
    /// envelope's `reveal` names its key in each envelope: the answer is
    /// then that some encryption key must exist.
    pub fn key_needed(&self) -> Option<(KeyPurpose, Option<&KeyId>)> {
        match self {
            Action::Hash(h) => Some((KeyPurpose::Hmac, h.key.as_ref())),
            Action::Tokenize(t) | Action::Reveal(Reveal::Token(t)) => {
                Some((KeyPurpose::Fpe, t.key.as_ref()))
            }
            Action::Encrypt { key } => Some((KeyPurpose::Encrypt, key.as_ref())),
            Action::Reveal(Reveal::Envelope) => Some((KeyPurpose::Encrypt, None)),
            _ => None,
        }
    }

    /// Checks the parameters without a value (for `maskgate check`).
    pub fn validate(&self) -> Result<(), ActionError> {
        match self {
            Action::Mask(m) => m.validate(),
            Action::Hash(h) => h.validate(),
            Action::Generalize(g) => g.validate(),
            _ => Ok(()),
        }
    }

    /// Applies the action to one scalar.
    pub fn apply(&self, value: Scalar<'_>, ctx: &ApplyContext<'_>) -> Result<Outcome, ActionError> {
        let mut json = Vec::new();
        Ok(match self.apply_to(value, ctx, &mut json)? {
            Replacement::Keep => Outcome::Keep,
            Replacement::Json => {
                Outcome::Replace(String::from_utf8(json).expect("actions write UTF-8 text"))
            }
            Replacement::Drop => Outcome::Drop,
        })
    }

    /// The JSON text this action puts in place of every scalar, if it does
    /// not depend on the value (`redact`), so a plan can write it without
    /// applying the action each time.
    pub fn constant_json(&self) -> Option<String> {
        match self {
            Action::Redact { replacement: None } => Some("null".to_owned()),
            Action::Redact {
                replacement: Some(text),
            } => Some(json_string(text)),
            _ => None,
        }
    }

    /// Applies the action to one scalar, as the rewriter asks: a
    /// replacement's JSON text (UTF-8) is appended to `out`, the bytes the
    /// rewriter writes out (the cheap actions, `redact` and `mask`, write
    /// it there without allocating).
    pub fn apply_to(
        &self,
        value: Scalar<'_>,
        ctx: &ApplyContext<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, ActionError> {
        let outcome = match self {
            Action::Pass | Action::Reveal(Reveal::Clear) => return Ok(Replacement::Keep),
            Action::Drop => return Ok(Replacement::Drop),
            Action::Redact { replacement } => {
                match replacement {
                    None => out.extend_from_slice(b"null"),
                    Some(text) => write_json_string(out, text),
                }
                return Ok(Replacement::Json);
            }
            Action::Mask(m) => return m.apply_to(&value, out),
            Action::Hash(h) => h.apply(&value, ctx),
            Action::Tokenize(t) => t.apply(&value, ctx),
            Action::Encrypt { key } => encrypt::apply(key.as_ref(), &value, ctx),
            Action::Generalize(g) => g.apply(&value),
            Action::Reveal(Reveal::Envelope) => encrypt::reveal(&value, ctx),
            Action::Reveal(Reveal::Token(t)) => t.reveal(&value, ctx),
        }?;
        Ok(match outcome {
            Outcome::Keep => Replacement::Keep,
            Outcome::Replace(json) => {
                out.extend_from_slice(json.as_bytes());
                Replacement::Json
            }
            Outcome::Drop => Replacement::Drop,
        })
    }
}

/// The JSON type name of a scalar, for error messages.
fn type_name(value: &Scalar<'_>) -> &'static str {
    match value {
        Scalar::Str(_) => "string",
        Scalar::Number(_) => "number",
        Scalar::Bool(_) => "boolean",
        Scalar::Null => "null",
    }
}

/// `s` as a JSON string literal (RFC 8259 §7): quotes, `"` and `\` escaped,
/// `\b \f \n \r \t` and other control characters (`\u00XX`) escaped,
/// everything else (including non-ASCII) written as UTF-8.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_json_string(&mut out, s);
    out
}

/// Whether JSON escapes this byte inside a string: `"`, `\` and the control
/// characters, which are also the bytes that end plain string content for
/// the rewriter's scanner.
#[inline(always)]
pub(crate) fn needs_json_escape(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// [`needs_json_escape`] for 16 bytes at once: all ones in the lanes of the
/// bytes JSON escapes. (`wide` gives safe SIMD on every target: SSE2 on
/// x86-64, NEON on aarch64, a portable fallback elsewhere.)
#[inline(always)]
pub(crate) fn json_escape_lanes(bytes: &[u8; 16]) -> u8x16 {
    let v = u8x16::new(*bytes);
    v.simd_eq(u8x16::splat(b'"'))
        | v.simd_eq(u8x16::splat(b'\\'))
        | v.min(u8x16::splat(0x1f)).simd_eq(v)
}

/// Whether any byte of `s` needs a JSON escape ([`needs_json_escape`]):
/// the check every mask makes of its output, most often of a few dozen
/// bytes. Sixteen bytes at a time, the last block overlapping the one
/// before; below sixteen, eight at a time the same way.
pub(crate) fn any_json_escape(s: &[u8]) -> bool {
    let lanes = |block: &[u8]| json_escape_lanes(block.try_into().expect("16 bytes")).any();
    if s.len() >= 16 {
        return s.chunks_exact(16).any(lanes) || lanes(&s[s.len() - 16..]);
    }
    if s.len() >= 8 {
        let word = |w: &[u8]| word_needs_escape(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        return word(&s[..8]) || word(&s[s.len() - 8..]);
    }
    s.iter().any(|&b| needs_json_escape(b))
}

/// Whether a byte of the eight in `x` needs a JSON escape, with the classic
/// word-at-a-time tests (exact about "some").
fn word_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `x` is below `n` (n <= 0x80).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let quote = below(x ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(x ^ (ONES * u64::from(b'\\')), 1);
    (below(x, 0x20) | quote | backslash) != 0
}

/// Where JSON text can be appended: a `String`, or the bytes a rewriter
/// writes out (which hold only what was appended as text).
pub trait JsonSink {
    /// Appends `s`.
    fn push_text(&mut self, s: &str);
    /// Makes room for `n` more bytes.
    fn reserve_text(&mut self, n: usize);
}

impl JsonSink for String {
    fn push_text(&mut self, s: &str) {
        self.push_str(s);
    }

    fn reserve_text(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl JsonSink for Vec<u8> {
    fn push_text(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    fn reserve_text(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// Appends `s` as a JSON string literal to `out` (see [`json_string`]).
pub fn write_json_string(out: &mut impl JsonSink, s: &str) {
    if !any_json_escape(s.as_bytes()) {
        out.reserve_text(s.len() + 2);
        out.push_text("\"");
        out.push_text(s);
        out.push_text("\"");
        return;
    }
    out.push_text("\"");
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_text(&s[start..i]);
        if esc.is_empty() {
            const HEX: &str = "0123456789abcdef";
            let digit = |d: u8| &HEX[usize::from(d)..=usize::from(d)];
            out.push_text("\\u00");
            out.push_text(digit(b >> 4));
            out.push_text(digit(b & 0xf));
        } else {
            out.push_text(esc);
        }
        start = i + 1;
    }
    out.push_text(&s[start..]);
    out.push_text("\"");
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::keys::LocalKeyring;
    use std::sync::OnceLock;

    pub(crate) fn keyring() -> &'static LocalKeyring {
        static RING: OnceLock<LocalKeyring> = OnceLock::new();
        RING.get_or_init(|| LocalKeyring::random().unwrap())
    }

    pub(crate) fn ctx<'a>(keys: &'a dyn KeyProvider) -> ApplyContext<'a> {
        ApplyContext {
            product: "customers",
            path: "$['card']",
            consumer: "alice",
            keys,
        }
    }

    pub(crate) fn s(v: &str) -> Scalar<'_> {
        Scalar::Str(Cow::Borrowed(v))
    }

    /// The replacement's JSON text, or panics.
    pub(crate) fn replaced(o: Outcome) -> String {
        match o {
            Outcome::Replace(t) => t,
            other => panic!("expected Replace, got {other:?}"),
        }
    }

    /// The replacement parsed as a JSON string, or panics.
    pub(crate) fn replaced_str(o: Outcome) -> String {
        let text = replaced(o);
        serde_json::from_str::<String>(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn json_string_escapes() {
        assert_eq!(json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(json_string("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(json_string("é€😀/"), "\"é€😀/\"");
        for s in ["", "plain", "\u{0}x", "\"\"", "\u{7f}\u{2028}"] {
            let back: String = serde_json::from_str(&json_string(s)).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn pass_drop_redact() {
        let keys = keyring();
        let c = ctx(keys);
        assert_eq!(Action::Pass.apply(s("x"), &c).unwrap(), Outcome::Keep);
        assert_eq!(Action::Drop.apply(s("x"), &c).unwrap(), Outcome::Drop);
        let null = Action::Redact { replacement: None };
        assert_eq!(replaced(null.apply(s("x"), &c).unwrap()), "null");
        assert_eq!(
            replaced(null.apply(Scalar::Number("12"), &c).unwrap()),
            "null"
        );
        let constant = Action::Redact {
            replacement: Some("[REDACTED \"x\"]".into()),
        };
        assert_eq!(
            replaced(constant.apply(Scalar::Bool(true), &c).unwrap()),
            r#""[REDACTED \"x\"]""#
        );
        assert_eq!(
            Action::Reveal(Reveal::Clear).apply(s("x"), &c).unwrap(),
            Outcome::Keep
        );
    }

    #[test]
    fn errors_never_show_the_value() {
        let keys = keyring();
        let c = ctx(keys);
        let secret = "4111-SECRET-VALUE";
        let actions = [
            Action::Generalize(Generalize::DateToYear),
            Action::Generalize(Generalize::NumberBucket { width: 10 }),
            Action::Tokenize(Tokenize {
                alphabet: Alphabet::Digits,
                key: None,
            }),
            Action::Reveal(Reveal::Envelope),
        ];
        for a in actions {
            let err = a.apply(s(secret), &c).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("SECRET"), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn word_escape_check_agrees_with_bytes(
            v in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(vec![b'"', b'\\', 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc]),
                ],
                0..80,
            ),
        ) {
            proptest::prop_assert_eq!(any_json_escape(&v), v.iter().any(|&b| needs_json_escape(b)));
        }

        #[test]
        fn json_string_round_trips(v in proptest::prelude::any::<String>()) {
            let back: String = serde_json::from_str(&json_string(&v)).unwrap();
            proptest::prop_assert_eq!(back, v);
        }

        #[test]
        fn encrypt_reveal_round_trip(v in proptest::prelude::any::<String>()) {
            let keys = keyring();
            let c = ctx(keys);
            let env = replaced_str(Action::Encrypt { key: None }.apply(s(&v), &c).unwrap());
            if v.len() >= 8 {
                // No clear value in the envelope (shorter ones may occur by chance).
                proptest::prop_assert!(!env.contains(&v));
            }
            let back = Action::Reveal(Reveal::Envelope).apply(s(&env), &c).unwrap();
            proptest::prop_assert_eq!(replaced(back), json_string(&v));
        }

        #[test]
        fn tokenize_reveal_round_trip(v in "[0-9]{4}([ -]?[0-9]{2,4}){1,5}") {
            let keys = keyring();
            let c = ctx(keys);
            let t = Tokenize { alphabet: Alphabet::Digits, key: None };
            let token = replaced_str(Action::Tokenize(t.clone()).apply(s(&v), &c).unwrap());
            proptest::prop_assert_eq!(token.len(), v.len());
            for (a, b) in token.bytes().zip(v.bytes()) {
                proptest::prop_assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
            }
            let back = Action::Reveal(Reveal::Token(t)).apply(s(&token), &c).unwrap();
            proptest::prop_assert_eq!(replaced_str(back), v);
        }

        #[test]
        fn mask_keeps_length_in_chars(v in proptest::prelude::any::<String>(), f in 0usize..5, l in 0usize..5) {
            let m = Mask::Chars { keep_first: f, keep_last: l, mask_char: '*' };
            let out = m.mask_text(&v);
            proptest::prop_assert_eq!(out.chars().count(), v.chars().count());
        }
    }
}
