//! Telephone numbers.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class, is_token};

/// Three shapes, each with a bounded number of groups, then an optional
/// extension. See [`PhoneDetector`].
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    builtin_regex(
        r"(?x)
        (?:
            # International: + or 00, a country code, an optional (0) trunk.
            (?:\+|00)[1-9][0-9]{0,3}
            (?:[\ .-]?\(0\))?
            (?:[\ .-]?(?:\([0-9]{1,5}\)|[0-9]{1,12})){1,8}
          |
            # National with the area code in parentheses.
            \([0-9]{2,5}\)[\ .-]?[0-9]{1,12}(?:[\ .-][0-9]{1,12}){0,6}
          |
            # National with a trunk prefix 0: at least one separator, at
            # most one slash and only right after the area code.
            0[1-9][0-9]{0,4}[\ /-][0-9]{1,12}(?:[\ -][0-9]{1,12}){0,6}
        )
        (?:\ ?(?:x|ext\.?)\ ?[0-9]{1,6})?
        ",
    )
});

/// Telephone numbers, conservatively: a number needs an explicit marker that
/// it is one.
///
/// Recognized:
/// - international: `+` or `00`, a country code, digit groups separated by
///   single spaces, dots or dashes, an optional `(0)` trunk and an area code
///   in parentheses; 8 to 15 digits after the `+`/`00`, not counting `(0)`
///   (E.164): `+1 212 555 0142`, `+44 (0)20 7946 0958`, `+33 1 83 41 77 76`,
///   `+1-780-563-6083`, `0049 30 1234567`;
/// - national with the area code in parentheses, 9 to 12 digits:
///   `(212) 555-0142`, `(591)341-7776`, `(0161) 496 0066`;
/// - national with a trunk prefix (`0` then a non-zero digit) and at least
///   one separator (space, dash, or one slash after the area code), 9 to 12
///   digits: `020 7946 0958`, `04 15 39 15 00`, `030/1234567`;
/// - any of these followed by an extension `x123`, `ext. 123`.
///
/// A `00` prefix needs at least one separator (`001829949897` is more often a
/// zero-padded id), and a number that continues a spaced digit run
/// (`9400 1000 0036 2058 99`, the tail of a tracking number) is refused,
/// unless it opens with `+` or an area code in parentheses. Two numbers
/// one space apart (`+33 6 12 34 56 78 (212) 555-0142`) are both found: an
/// international candidate over 15 digits ends at the last space that
/// leaves it a number, before a parenthesized area code where it can.
///
/// Not recognized (on purpose, for precision): bare digit runs
/// (`2125550142`, `02079460958`), US numbers without parentheses or `+1`
/// (`212-555-0142`, `212.555.0142`), and anything glued to letters, digits or
/// joiners around it (the token rule of [`CardDetector`](super::CardDetector)),
/// so dates, ISBNs and order ids are left alone.
#[derive(Debug, Clone)]
pub struct PhoneDetector {
    class: Arc<str>,
}

impl PhoneDetector {
    /// The detector, reporting class `phone`.
    pub fn new() -> Self {
        Self {
            class: class::PHONE.into(),
        }
    }
}

impl Default for PhoneDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// The accepted end of the candidate at `start..end` of `text`, if any.
fn check(text: &str, start: usize, end: usize) -> Option<usize> {
    let cand = &text[start..end];
    // Not the tail of a longer spaced digit run (`9400 1000 0036 2058 99`),
    // unless it opens with a mark no such run has (`+`, an area code in
    // parentheses): `+33 6 12 34 56 78 (212) 555-0142` is two numbers.
    let mut before = text[..start].chars().rev();
    if !cand.starts_with(['+', '('])
        && before.next().is_some_and(|c| " .-".contains(c))
        && before.next().is_some_and(|c| c.is_ascii_digit())
    {
        return None;
    }
    // Digits of the number itself: without the extension.
    let number = match cand.find(['x', 'e']) {
        Some(i) => &cand[..i],
        None => cand,
    };
    let international = number.starts_with('+') || number.starts_with("00");
    let end = if international {
        let access = if number.starts_with("00") { 2 } else { 0 };
        // `00` without any separator is more often a zero-padded id.
        if access == 2 && !number.contains([' ', '-', '.', '(']) {
            return None;
        }
        let trunk = usize::from(number.contains("(0)"));
        let digits = |s: &str| {
            s.bytes()
                .filter(u8::is_ascii_digit)
                .count()
                .saturating_sub(access + trunk)
        };
        if (8..=15).contains(&digits(number)) {
            end
        } else {
            // Too long: another number may follow after a single space
            // (the pattern takes its groups too). The longest run of whole
            // groups that is a number, followed by a space; before an area
            // code in parentheses (which opens the next number) if it can.
            let cuts = || {
                number
                    .match_indices(' ')
                    .map(|(i, _)| i)
                    .rev()
                    .filter(|&i| (8..=15).contains(&digits(&number[..i])))
            };
            let cut = cuts()
                .find(|&i| number[i + 1..].starts_with('('))
                .or_else(|| cuts().next())?;
            start + cut
        }
    } else {
        let digits = number.bytes().filter(u8::is_ascii_digit).count();
        if !(9..=12).contains(&digits) {
            return None;
        }
        end
    };
    is_token(text, start, end).then_some(end)
}

impl Detector for PhoneDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        super::scan(
            &PHONE,
            text,
            |s, e| check(text, s, e).map(|e| (s, e)),
            |s, e| out.push(Finding::new(s, e, self.class.clone())),
        );
    }

    /// An international number (8 to 15 digits, see `check`) opens with
    /// `+` or `00` and a non-zero digit; a number with its area code in
    /// parentheses has a `(`; a national one is a run of 9 to 12 digits
    /// joined by single spaces, dashes or a slash.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.phone_mark || profile.longest_run >= 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn numbers_side_by_side_are_both_found() {
        let d = PhoneDetector::new();
        assert_eq!(
            found(&d, "+33 6 12 34 56 78 (212) 555-0142"),
            ["+33 6 12 34 56 78", "(212) 555-0142"]
        );
        assert_eq!(
            found(&d, "call +44 20 7946 0958 +1 212 555 0142 today"),
            ["+44 20 7946 0958", "+1 212 555 0142"]
        );
    }

    #[test]
    fn positives() {
        let d = PhoneDetector::new();
        for phone in [
            "+1 212 555 0142",
            "+1-780-563-6083",
            "+1-537-640-6812x41586",
            "+1 (212) 555-0142",
            "+44 (0)20 7946 0958",
            "+44(0)115 4960914",
            "+44115 496 0777",
            "+44(0)2074960074",
            "+49 (0) 9141 777631",
            "+49 30 1234567",
            "+33 1 83 41 77 76",
            "+33 (0)1 41 63 60 83",
            "+3170 6690743",
            "+31(0)83-4497869",
            "0049 30 1234567",
            "00669 074391",
            "(212) 555-0142",
            "(591)341-7776",
            "(783)703-8836 ext. 12",
            "(0161) 4960066",
            "(0406)-812415",
            "020 7946 0958",
            "04 15 39 15 00",
            "03662 585178",
            "0837 783533",
            "030/1234567",
        ] {
            assert_eq!(found(&d, &format!("call {phone}.")), [phone], "{phone}");
        }
    }

    #[test]
    fn negatives() {
        let d = PhoneDetector::new();
        for t in [
            "212-555-0142",
            "212.555.0142",
            "2125550142",
            "02079460958",
            "+1 555",
            "+1234567890123456789",
            "2024-01-15T10:30:00Z",
            "01/15/2024",
            "15.01.2024 10:30",
            "05/12/2024 10",
            "ORD-020 7946 0958",
            "0-306-40615-2",
            "978-3-16-148410-0",
            "v0 12 345 678",
            "price 0 99",
            "1.2.3.4",
            "00000123456",
            "ref 001829949897",
            "9402 6600 5594 0036 2058 99",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn after_a_refused_candidate() {
        let d = PhoneDetector::new();
        assert_eq!(
            found(&d, "ORD-020 7946 0958 then 020 7946 0959"),
            ["020 7946 0959"]
        );
        // The tail of a spaced digit run is not a number of its own.
        assert!(found(&d, "2024-01-15 020 7946 0958").is_empty());
    }

    #[test]
    fn utf8_around() {
        let d = PhoneDetector::new();
        assert_eq!(
            found(&d, "Téléphone : +33 1 83 41 77 76 — merci ☎"),
            ["+33 1 83 41 77 76"]
        );
        assert!(found(&d, "é+33 1 83 41 77 76").is_empty());
    }

    #[test]
    fn linear_on_hostile_input() {
        let d = PhoneDetector::new();
        let hostile = "0".repeat(300_000);
        assert!(found(&d, &hostile).is_empty());
        let hostile = "01 ".repeat(100_000);
        let _ = found(&d, &hostile);
    }
}
