//! Payment card numbers (PANs).

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, builtin_regex, class, is_token, validate};

/// A maximal run of ASCII digit groups joined by single spaces or dashes.
static RUN: LazyLock<Regex> = LazyLock::new(|| builtin_regex(r"[0-9]+(?:[ -][0-9]+)*"));

/// Payment card numbers: 13 to 19 digits, optionally grouped by single
/// spaces or dashes (`4111 1111 1111 1111`, `3782-822463-10005`), passing
/// the Luhn check.
///
/// By default the first digit must be a major industry identifier of card
/// issuers (2 to 6: Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard and
/// Maestro, Discover/UnionPay); [`CardDetector::any_prefix`] lifts that.
///
/// Boundaries: the number must be a token of its own. Digits or letters
/// directly around it, or a `-`, `.`, `/` or `_` that joins it to them,
/// refuse it: `ORD-4111111111111111-77` is an order id, not a card, and a
/// Luhn-valid stretch inside a longer digit run is not reported. A run of
/// space-separated groups that is not itself a valid card is searched for a
/// valid card made of consecutive whole groups (`4111 1111 1111 1111 2024`).
#[derive(Debug, Clone)]
pub struct CardDetector {
    class: Arc<str>,
    any_prefix: bool,
}

impl CardDetector {
    /// The detector, reporting class `card_number`, issuer prefixes required.
    pub fn new() -> Self {
        Self {
            class: class::CARD.into(),
            any_prefix: false,
        }
    }

    /// Accepts any first digit (Luhn and length still apply).
    pub fn any_prefix(mut self) -> Self {
        self.any_prefix = true;
        self
    }

    fn valid(&self, s: &str) -> bool {
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        (13..=19).contains(&digits)
            && (self.any_prefix || matches!(s.as_bytes()[0], b'2'..=b'6'))
            && validate::luhn(s)
    }
}

impl Default for CardDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector for CardDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in RUN.find_iter(text) {
            if !is_token(text, m.start(), m.end()) {
                continue;
            }
            let run = m.as_str();
            if self.valid(run) {
                out.push(Finding::new(m.start(), m.end(), self.class.clone()));
                continue;
            }
            // Whole space-separated groups: (offset, end) of each in `run`.
            let mut groups = Vec::new();
            let mut off = 0;
            for g in run.split(' ') {
                groups.push((off, off + g.len()));
                off += g.len() + 1;
            }
            let mut i = 0;
            while i < groups.len() {
                // Extend while at most 19 digits: at most 19 groups to try.
                let mut end = i;
                let mut digits = 0;
                while end < groups.len() {
                    let n = groups[end].1
                        - groups[end].0
                        - run[groups[end].0..groups[end].1].matches('-').count();
                    if digits + n > 19 {
                        break;
                    }
                    digits += n;
                    end += 1;
                }
                let best = (i + 1..=end)
                    .rev()
                    .find(|&j| self.valid(&run[groups[i].0..groups[j - 1].1]));
                match best {
                    Some(j) => {
                        out.push(Finding::new(
                            m.start() + groups[i].0,
                            m.start() + groups[j - 1].1,
                            self.class.clone(),
                        ));
                        i = j;
                    }
                    None => i += 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn positives() {
        let d = CardDetector::new();
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "378282246310005",
            "3782 822463 10005",
            "5555555555554444",
            "2223003122003222",
            "6011111111111117",
            "4222222222222",
            "6759649826438453",
            "4000056655665556122",
        ] {
            assert_eq!(found(&d, &format!("paid with {card}.")), [card], "{card}");
        }
        assert_eq!(
            found(&d, "cards: 4111111111111111, 5555555555554444"),
            ["4111111111111111", "5555555555554444"]
        );
    }

    #[test]
    fn groups_inside_a_longer_spaced_run() {
        let d = CardDetector::new();
        assert_eq!(
            found(&d, "4111 1111 1111 1111 2024"),
            ["4111 1111 1111 1111"]
        );
        assert_eq!(found(&d, "qty 2 4111111111111111"), ["4111111111111111"]);
    }

    #[test]
    fn negatives_and_boundaries() {
        let d = CardDetector::new();
        for t in [
            "4111111111111112",
            "ORD-4111111111111111-77",
            "ORD-4111111111111111",
            "4111111111111111-77",
            "94111111111111111",
            "id4111111111111111",
            "4111111111111111x",
            "4111111111111111_2",
            "v1.4111111111111111",
            "4111  1111  1111  1111",
            "4111--1111-1111-1111",
            "411111111111",
            "41111111111111111111111",
            "1705314600000",
            "2024-01-15T10:30:00Z",
            "0000000000000000",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
        assert_eq!(
            found(&CardDetector::new().any_prefix(), "id 0000000000000000"),
            ["0000000000000000"]
        );
    }

    #[test]
    fn utf8_around() {
        let d = CardDetector::new();
        assert_eq!(
            found(&d, "Kartennummer: 4111 1111 1111 1111 — danke 👍"),
            ["4111 1111 1111 1111"]
        );
        assert!(found(&d, "é4111111111111111").is_empty());
        // Non-ASCII digits are not card digits.
        assert!(found(&d, "٤١١١١١١١١١١١١١١١").is_empty());
    }

    #[test]
    fn linear_on_hostile_input() {
        let d = CardDetector::new();
        let hostile = "1 ".repeat(200_000);
        assert!(found(&d, &hostile).is_empty());
        let hostile = "9".repeat(400_000);
        assert!(found(&d, &hostile).is_empty());
    }
}
