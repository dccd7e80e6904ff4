//! `mask`: keep a few characters, replace the others with a mask character.
//!
//! Characters are Unicode scalar values: a multi-byte character is masked as
//! one mask character and UTF-8 is never split. Numbers and booleans are
//! masked as their JSON text; the result is always a JSON string.

use super::{ActionError, Outcome, Scalar, json_string};

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
        let c = match self {
            Mask::Chars { mask_char, .. } | Mask::Preset { mask_char, .. } => *mask_char,
        };
        if c.is_control() {
            return Err(ActionError::InvalidParameter {
                action: "mask",
                reason: "mask_char must not be a control character".into(),
            });
        }
        Ok(())
    }

    pub(super) fn apply(&self, value: &Scalar<'_>) -> Result<Outcome, ActionError> {
        self.validate()?;
        let Some(text) = value.text() else {
            return Ok(Outcome::Keep);
        };
        Ok(Outcome::Replace(json_string(&self.mask_text(&text))))
    }

    /// The masked text.
    pub fn mask_text(&self, text: &str) -> String {
        match *self {
            Mask::Chars {
                keep_first,
                keep_last,
                mask_char,
            } => mask_chars(text, keep_first, keep_last, mask_char),
            Mask::Preset {
                preset: MaskPreset::Email,
                mask_char,
            } => match text.rfind('@') {
                Some(at) => {
                    let mut out = mask_chars(&text[..at], 1, 0, mask_char);
                    out.push_str(&text[at..]);
                    out
                }
                None => mask_chars(text, 0, 0, mask_char),
            },
            Mask::Preset {
                preset: MaskPreset::Card,
                mask_char,
            } => mask_digits(text, 4, &[' ', '-'], mask_char),
            Mask::Preset {
                preset: MaskPreset::Phone,
                mask_char,
            } => mask_digits(text, 2, &['+', ' ', '-', '.', '(', ')', '/'], mask_char),
        }
    }
}

fn mask_chars(text: &str, keep_first: usize, keep_last: usize, mask_char: char) -> String {
    let ascii = text.is_ascii();
    let n = if ascii {
        text.len()
    } else {
        text.chars().count()
    };
    let mut out = String::with_capacity(text.len() + n * mask_char.len_utf8());
    if keep_first.saturating_add(keep_last) >= n {
        out.extend(std::iter::repeat_n(mask_char, n));
        return out;
    }
    // Byte offsets of the first masked character and of the first kept one
    // at the end.
    let offset = |chars: usize| {
        if ascii {
            chars
        } else {
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(b, _)| b)
        }
    };
    out.push_str(&text[..offset(keep_first)]);
    out.extend(std::iter::repeat_n(mask_char, n - keep_first - keep_last));
    out.push_str(&text[offset(n - keep_last)..]);
    out
}

/// Keeps the last `keep` ASCII digits and the `separators`; masks the rest.
fn mask_digits(text: &str, keep: usize, separators: &[char], mask_char: char) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let first_kept = if digits > keep {
        digits - keep
    } else {
        usize::MAX
    };
    let mut seen = 0;
    let mut out = String::with_capacity(text.len() * mask_char.len_utf8());
    if text.is_ascii() && mask_char.is_ascii() {
        // The same, byte by byte.
        let mask = mask_char as u8;
        let bytes: Vec<u8> = text
            .bytes()
            .map(|b| {
                if b.is_ascii_digit() {
                    let keep_it = seen >= first_kept;
                    seen += 1;
                    if keep_it { b } else { mask }
                } else if separators.contains(&char::from(b)) {
                    b
                } else {
                    mask
                }
            })
            .collect();
        return String::from_utf8(bytes).expect("ASCII in, ASCII out");
    }
    out.extend(text.chars().map(|c| {
        if c.is_ascii_digit() {
            let keep_it = seen >= first_kept;
            seen += 1;
            if keep_it { c } else { mask_char }
        } else if separators.contains(&c) {
            c
        } else {
            mask_char
        }
    }));
    out
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
            text in proptest::prop_oneof!["[a-z0-9 +@.()/-]{0,24}", "[a-zé€😀0-9 @-]{0,16}"],
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
            proptest::prop_assert_eq!(m.mask_text(&text), reference(&m, &text));
        }
    }

    #[test]
    fn apply_types() {
        let m = chars(0, 2);
        assert_eq!(replaced_str(m.apply(&s("abcd")).unwrap()), "**cd");
        assert_eq!(
            replaced_str(m.apply(&Scalar::Number("123456")).unwrap()),
            "****56"
        );
        assert_eq!(m.apply(&Scalar::Null).unwrap(), Outcome::Keep);
        // The output is JSON text: a quote in the kept part is escaped.
        assert_eq!(
            super::super::test_support::replaced(m.apply(&s("xx\"")).unwrap()),
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
