//! `mask`: keep a few characters, replace the others with a mask character.
//!
//! Characters are Unicode scalar values: a multi-byte character is masked as
//! one mask character and UTF-8 is never split. Numbers and booleans are
//! masked as their JSON text; the result is always a JSON string.

use super::{ActionError, Scalar, any_json_escape, needs_json_escape, write_json_string};
use crate::rewrite::Replacement;

/// Partial masking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    /// Keep the first `keep_first` and last `keep_last` characters, replace
    /// every other character with `mask_char`. A value not longer than
    /// `keep_first + keep_last` is masked entirely (only its length shows).
    Chars {
        /// Characters kept at the start.
        keep_first: usize,
        /// Characters kept at the end.
        keep_last: usize,
        /// The replacement character, e.g. `*`.
        mask_char: char,
    },
    /// A format-aware preset.
    Preset {
        /// Which format.
        preset: MaskPreset,
        /// The replacement character, e.g. `*`.
        mask_char: char,
    },
}

/// Format-aware masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskPreset {
    /// Keep the first character of the local part and the whole domain:
    /// `john.doe@example.com` -> `j*******@example.com`. A value without `@`
    /// is masked entirely.
    Email,
    /// Keep the last 4 digits and the separators (space, `-`):
    /// `4111 1111 1111 1234` -> `**** **** **** 1234`. Every other character
    /// is masked; with 4 digits or fewer, all digits are masked.
    Card,
    /// Keep the last 2 digits and the non-digit characters (`+`, spaces,
    /// dashes, dots, parentheses): `+49 151 2345678` -> `+** *** *****78`.
    /// Every other character is masked; with 2 digits or fewer, all are.
    Phone,
}

impl Mask {
    pub(super) fn validate(&self) -> Result<(), ActionError> {
        if self.mask_char().is_control() {
            return Err(ActionError::InvalidParameter {
                action: "mask",
                reason: "mask_char must not be a control character".into(),
            });
        }
        Ok(())
    }

    /// Appends the masked value to `out` as a JSON string.
    pub(super) fn apply_to(
        &self,
        value: &Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, ActionError> {
        self.validate()?;
        let Some(text) = value.text() else {
            return Ok(Replacement::Keep);
        };
        let mask_char = self.mask_char();
        if text.is_ascii()
            && mask_char.is_ascii()
            && !needs_json_escape(mask_char as u8)
            && !any_json_escape(text.as_bytes())
        {
            // A character is a byte, none of which JSON escapes: the text
            // is copied into place and masked there, byte by byte.
            out.reserve(text.len() + 2);
            out.push(b'"');
            let start = out.len();
            out.extend_from_slice(text.as_bytes());
            self.mask_ascii(&mut out[start..], mask_char as u8);
            out.push(b'"');
            return Ok(Replacement::Json);
        }
        let mut masked = String::with_capacity(text.len());
        self.mask_into(&text, &mut masked);
        write_json_string(out, &masked);
        Ok(Replacement::Json)
    }

    /// The masked text.
    pub fn mask_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.mask_into(text, &mut out);
        out
    }

    fn mask_char(&self) -> char {
        match self {
            Mask::Chars { mask_char, .. } | Mask::Preset { mask_char, .. } => *mask_char,
        }
    }

    /// Appends the masked text to `out`, character by character (the
    /// general form of [`mask_ascii`](Self::mask_ascii)).
    fn mask_into(&self, text: &str, out: &mut String) {
        match *self {
            Mask::Chars {
                keep_first,
                keep_last,
                mask_char,
            } => mask_chars(text, keep_first, keep_last, mask_char, out),
            Mask::Preset {
                preset: MaskPreset::Email,
                mask_char,
            } => match text.rfind('@') {
                Some(at) => {
                    mask_chars(&text[..at], 1, 0, mask_char, out);
                    out.push_str(&text[at..]);
                }
                None => mask_chars(text, 0, 0, mask_char, out),
            },
            Mask::Preset {
                preset: MaskPreset::Card,
                mask_char,
            } => mask_digits(text, 4, CARD_SEPARATORS, mask_char, out),
            Mask::Preset {
                preset: MaskPreset::Phone,
                mask_char,
            } => mask_digits(text, 2, PHONE_SEPARATORS, mask_char, out),
        }
    }
}

impl Mask {
    /// [`mask_into`](Self::mask_into) for ASCII text and mask character,
    /// where a character is a byte: masks `text` in place.
    fn mask_ascii(&self, text: &mut [u8], mask: u8) {
        match *self {
            Mask::Chars {
                keep_first,
                keep_last,
                ..
            } => keep_ends(text, keep_first, keep_last, mask),
            Mask::Preset {
                preset: MaskPreset::Email,
                ..
            } => match text.iter().rposition(|&b| b == b'@') {
                Some(at) => keep_ends(&mut text[..at], 1, 0, mask),
                None => text.fill(mask),
            },
            Mask::Preset {
                preset: MaskPreset::Card,
                ..
            } => keep_digits(text, 4, CARD_SEPARATORS, mask),
            Mask::Preset {
                preset: MaskPreset::Phone,
                ..
            } => keep_digits(text, 2, PHONE_SEPARATORS, mask),
        }
    }
}

/// [`mask_chars`] on bytes, in place.
fn keep_ends(text: &mut [u8], keep_first: usize, keep_last: usize, mask: u8) {
    let n = text.len();
    if keep_first.saturating_add(keep_last) >= n {
        text.fill(mask);
    } else {
        text[keep_first..n - keep_last].fill(mask);
    }
}

/// [`mask_digits`] on bytes, in place.
fn keep_digits(text: &mut [u8], keep: usize, separators: &AsciiSet, mask: u8) {
    let kept_from = kept_digits_from(text, keep);
    for (at, b) in text.iter_mut().enumerate() {
        if !digit_preset_keeps(char::from(*b), at, kept_from, separators) {
            *b = mask;
        }
    }
}

/// Whether a digit preset keeps `c`, at byte offset `at`: a digit from
/// `kept_from` on ([`kept_digits_from`]), or one of the `separators`.
fn digit_preset_keeps(c: char, at: usize, kept_from: usize, separators: &AsciiSet) -> bool {
    if c.is_ascii_digit() {
        at >= kept_from
    } else {
        c.is_ascii() && separators[c as usize]
    }
}

fn mask_chars(text: &str, keep_first: usize, keep_last: usize, mask_char: char, out: &mut String) {
    let ascii = text.is_ascii();
    let n = if ascii {
        text.len()
    } else {
        text.chars().count()
    };
    out.reserve(text.len() + n * mask_char.len_utf8());
    if keep_first.saturating_add(keep_last) >= n {
        push_repeated(out, mask_char, n);
        return;
    }
    // Byte offsets of the first masked character and of the first kept one
    // at the end.
    let offset = |chars: usize| {
        if ascii {
            chars
        } else if chars == n {
            text.len()
        } else {
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(b, _)| b)
        }
    };
    out.push_str(&text[..offset(keep_first)]);
    push_repeated(out, mask_char, n - keep_first - keep_last);
    out.push_str(&text[offset(n - keep_last)..]);
}

/// Appends `n` times `c`.
fn push_repeated(out: &mut String, c: char, n: usize) {
    // The default mask character, the common case, as whole slices.
    const STARS: &str = "****************************************************************";
    if c != '*' {
        out.extend(std::iter::repeat_n(c, n));
        return;
    }
    let mut left = n;
    while left > 0 {
        let k = left.min(STARS.len());
        out.push_str(&STARS[..k]);
        left -= k;
    }
}

/// A set of ASCII characters: a table indexed by byte.
type AsciiSet = [bool; 128];

const fn ascii_set(chars: &[u8]) -> AsciiSet {
    let mut set = [false; 128];
    let mut k = 0;
    while k < chars.len() {
        set[chars[k] as usize] = true;
        k += 1;
    }
    set
}

/// What the card preset keeps besides its last digits.
const CARD_SEPARATORS: &AsciiSet = &ascii_set(b" -");
/// What the phone preset keeps besides its last digits.
const PHONE_SEPARATORS: &AsciiSet = &ascii_set(b"+ -.()/");

/// Keeps the last `keep` ASCII digits and the `separators` (an
/// [`ascii_set`]); masks the rest.
fn mask_digits(text: &str, keep: usize, separators: &AsciiSet, mask_char: char, out: &mut String) {
    // ASCII digits are single bytes in UTF-8: positions are byte offsets.
    let kept_from = kept_digits_from(text.as_bytes(), keep);
    out.reserve(text.len() * mask_char.len_utf8());
    out.extend(text.char_indices().map(|(at, c)| {
        if digit_preset_keeps(c, at, kept_from, separators) {
            c
        } else {
            mask_char
        }
    }));
}

/// The byte offset of the first of the last `keep` ASCII digits, or
/// `usize::MAX` if there are no more than `keep` digits (then none is
/// kept).
fn kept_digits_from(bytes: &[u8], keep: usize) -> usize {
    let mut digits = bytes
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| b.is_ascii_digit())
        .map(|(at, _)| at);
    let from = match keep {
        0 => bytes.len(),
        _ => match digits.nth(keep - 1) {
            Some(at) => at,
            None => return usize::MAX,
        },
    };
    // Kept only if some digit comes before them.
    if digits.next().is_some() {
        from
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn chars(f: usize, l: usize) -> Mask {
        Mask::Chars {
            keep_first: f,
            keep_last: l,
            mask_char: '*',
        }
    }

    fn preset(p: MaskPreset) -> Mask {
        Mask::Preset {
            preset: p,
            mask_char: '*',
        }
    }

    #[test]
    fn keep_first_last() {
        assert_eq!(chars(2, 2).mask_text("abcdefgh"), "ab****gh");
        assert_eq!(chars(0, 4).mask_text("12345678"), "****5678");
        assert_eq!(chars(1, 0).mask_text("secret"), "s*****");
        // Too short to reveal anything: all masked.
        assert_eq!(chars(2, 2).mask_text("abcd"), "****");
        assert_eq!(chars(2, 2).mask_text(""), "");
        assert_eq!(chars(usize::MAX, usize::MAX).mask_text("ab"), "**");
    }

    #[test]
    fn counts_scalar_values() {
        assert_eq!(chars(1, 1).mask_text("éàü€😀ß"), "é****ß");
        let m = Mask::Chars {
            keep_first: 0,
            keep_last: 1,
            mask_char: '•',
        };
        assert_eq!(m.mask_text("日本語"), "••語");
    }

    #[test]
    fn email() {
        let m = preset(MaskPreset::Email);
        assert_eq!(m.mask_text("john.doe@example.com"), "j*******@example.com");
        assert_eq!(m.mask_text("j@example.com"), "*@example.com");
        assert_eq!(m.mask_text("not-an-email"), "************");
        assert_eq!(m.mask_text("a\"b@x@example.org"), "a****@example.org");
        assert_eq!(m.mask_text("émile@exemple.fr"), "é****@exemple.fr");
    }

    #[test]
    fn card() {
        let m = preset(MaskPreset::Card);
        assert_eq!(m.mask_text("4111 1111 1111 1234"), "**** **** **** 1234");
        assert_eq!(m.mask_text("4111-1111-1111-1234"), "****-****-****-1234");
        assert_eq!(m.mask_text("4111111111111234"), "************1234");
        assert_eq!(m.mask_text("1234"), "****");
        assert_eq!(m.mask_text("41x1 1234 5678"), "**** **** 5678");
    }

    #[test]
    fn phone() {
        let m = preset(MaskPreset::Phone);
        assert_eq!(m.mask_text("+49 151 2345678"), "+** *** *****78");
        assert_eq!(m.mask_text("(030) 123-45"), "(***) ***-45");
        assert_eq!(m.mask_text("12"), "**");
    }

    /// The masks as first written, character by character: the oracle.
    fn reference(m: &Mask, text: &str) -> String {
        let chars = |text: &str, first: usize, last: usize, mask: char| -> String {
            let n = text.chars().count();
            let reveal = first.saturating_add(last) < n;
            text.chars()
                .enumerate()
                .map(|(i, c)| {
                    if reveal && (i < first || i >= n - last) {
                        c
                    } else {
                        mask
                    }
                })
                .collect()
        };
        let digits = |text: &str, keep: usize, seps: &[char], mask: char| -> String {
            let total = text.chars().filter(char::is_ascii_digit).count();
            let first_kept = if total > keep {
                total - keep
            } else {
                usize::MAX
            };
            let mut seen = 0;
            text.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        let keep_it = seen >= first_kept;
                        seen += 1;
                        if keep_it { c } else { mask }
                    } else if seps.contains(&c) {
                        c
                    } else {
                        mask
                    }
                })
                .collect()
        };
        match *m {
            Mask::Chars {
                keep_first,
                keep_last,
                mask_char,
            } => chars(text, keep_first, keep_last, mask_char),
            Mask::Preset {
                preset: MaskPreset::Email,
                mask_char,
            } => match text.rfind('@') {
                Some(at) => chars(&text[..at], 1, 0, mask_char) + &text[at..],
                None => chars(text, 0, 0, mask_char),
            },
            Mask::Preset {
                preset: MaskPreset::Card,
                mask_char,
            } => digits(text, 4, &[' ', '-'], mask_char),
            Mask::Preset {
                preset: MaskPreset::Phone,
                mask_char,
            } => digits(text, 2, &['+', ' ', '-', '.', '(', ')', '/'], mask_char),
        }
    }

    proptest::proptest! {
        #[test]
        fn masks_agree_with_the_reference(
            // Short and long (past the stack block) ASCII, ASCII that JSON
            // escapes, and other text.
            text in proptest::prop_oneof![
                "[a-z0-9 +@.()/-]{0,24}",
                "[a-z0-9 +@.()/-]{120,140}",
                "[a-z0-9 @\"\\\\\n\u{1}-]{0,24}",
                "[a-zé€😀0-9 @-]{0,16}",
            ],
            keep_first in 0usize..6,
            keep_last in 0usize..6,
            mask_char in proptest::sample::select(vec!['*', '#', '•', '😀']),
            preset in proptest::option::of(proptest::sample::select(vec![
                MaskPreset::Email, MaskPreset::Card, MaskPreset::Phone,
            ])),
        ) {
            let m = match preset {
                Some(preset) => Mask::Preset { preset, mask_char },
                None => Mask::Chars { keep_first, keep_last, mask_char },
            };
            let expected = reference(&m, &text);
            proptest::prop_assert_eq!(m.mask_text(&text), expected.clone());
            // And as the JSON string the rewriter writes.
            let mut json = Vec::new();
            m.apply_to(&Scalar::Str(text.as_str().into()), &mut json).unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(json).unwrap(),
                super::super::json_string(&expected)
            );
        }
    }

    fn apply(m: &Mask, value: Scalar<'_>) -> Result<super::super::Outcome, ActionError> {
        super::super::Action::Mask(m.clone()).apply(value, &ctx(keyring()))
    }

    #[test]
    fn apply_types() {
        let m = chars(0, 2);
        assert_eq!(replaced_str(apply(&m, s("abcd")).unwrap()), "**cd");
        assert_eq!(
            replaced_str(apply(&m, Scalar::Number("123456")).unwrap()),
            "****56"
        );
        assert_eq!(
            apply(&m, Scalar::Null).unwrap(),
            super::super::Outcome::Keep
        );
        // The output is JSON text: a quote in the kept part is escaped.
        assert_eq!(
            super::super::test_support::replaced(apply(&m, s("xx\"")).unwrap()),
            r#""*x\"""#
        );
        let bad = Mask::Chars {
            keep_first: 0,
            keep_last: 0,
            mask_char: '\n',
        };
        assert!(bad.validate().is_err());
    }
}
