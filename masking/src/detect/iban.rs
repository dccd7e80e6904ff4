//! International Bank Account Numbers (ISO 13616).

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class, is_token, validate};

/// Country code, check digits, then up to 30 more alphanumerics with at most
/// single spaces between them (the exact length is the country's, below),
/// in either case.
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| builtin_regex(r"[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){10,30}"));

/// IBAN length per country (ISO 13616 registry): the SEPA countries and the
/// other common ones. Countries not listed are refused.
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IS", 26),
    ("IT", 27),
    ("KW", 30),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
];

/// The IBAN length of the country `cc` (two ASCII letters, either case).
fn country_length(cc: &[u8]) -> Option<usize> {
    LENGTHS
        .iter()
        .find(|(c, _)| c.as_bytes().eq_ignore_ascii_case(cc))
        .map(|&(_, n)| n)
}

/// IBANs: two-letter country code, two check digits and the BBAN, in the
/// electronic form (`DE89370400440532013000`) or the print form with single
/// spaces (`DE89 3704 0044 0532 0130 00`; any single spaces are accepted).
///
/// Validated by the country's exact length (a table of ~50 countries in the
/// ISO 13616 registry; other countries are refused) and the mod-97 check.
/// Either case, as people type them (`de89 3704 ...`): the standard's
/// electronic form is upper case, and the check is the same. The IBAN must
/// be a token of its own (see
/// [`CardDetector`](super::CardDetector) for the boundary rule); in print form
/// the value ends where the country's length is reached, so `... 0130 00 OK`
/// stops before `OK`.
#[derive(Debug, Clone)]
pub struct IbanDetector {
    class: Arc<str>,
}

impl IbanDetector {
    /// The detector, reporting class `iban`.
    pub fn new() -> Self {
        Self {
            class: class::IBAN.into(),
        }
    }
}

impl Default for IbanDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// The accepted range for a candidate at `start..end` of `text`.
fn check(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let cand = &text[start..end];
    let want = country_length(&cand.as_bytes()[..2])?;
    // Walk to the want-th alphanumeric.
    let mut seen = 0;
    let mut stop = None;
    for (i, b) in cand.bytes().enumerate() {
        if b != b' ' {
            seen += 1;
            if seen == want {
                stop = Some(start + i + 1);
                break;
            }
        }
    }
    let stop = stop?;
    (is_token(text, start, stop) && validate::mod97(&text[start..stop])).then_some((start, stop))
}

impl Detector for IbanDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        super::scan(
            &CANDIDATE,
            text,
            |s, e| check(text, s, e),
            |s, e| {
                out.push(Finding::new(s, e, self.class.clone()));
            },
        );
    }

    /// An IBAN starts with a country code and two check digits.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.letters_then_digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn positives() {
        let d = IbanDetector::new();
        for iban in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82WEST12345698765432",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "NO9386011117947",
            "MT84MALT011000012345MTLCAST001S",
            "CH9300762011623852957",
            // As people type them.
            "de89370400440532013000",
            "gb82 west 1234 5698 7654 32",
            "Fr1420041010050500013m02606",
        ] {
            assert_eq!(found(&d, &format!("IBAN: {iban}.")), [iban], "{iban}");
        }
        assert_eq!(
            found(&d, "pay DE89 3704 0044 0532 0130 00 OK"),
            ["DE89 3704 0044 0532 0130 00"]
        );
    }

    #[test]
    fn negatives() {
        let d = IbanDetector::new();
        for t in [
            "DE89370400440532013001",
            "DE8937040044053201300",
            "DE893704004405320130000",
            "XX89370400440532013000",
            "US12345678901234567890",
            "de89370400440532013001",
            "xx89370400440532013000",
            "refde89370400440532013000",
            "REFDE89370400440532013000",
            "DE89370400440532013000-2",
            "DE89  3704 0044 0532 0130 00",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn utf8_around() {
        let d = IbanDetector::new();
        assert_eq!(
            found(&d, "Überweisung → «DE89 3704 0044 0532 0130 00» ✓"),
            ["DE89 3704 0044 0532 0130 00"]
        );
    }

    #[test]
    fn table_is_sorted_and_plausible() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LENGTHS.iter().all(|&(_, n)| (15..=34).contains(&n)));
    }
}
