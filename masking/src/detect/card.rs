//! Payment card numbers (PANs).

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class, is_token, validate};

/// A maximal run of ASCII digit groups joined by single spaces or dashes.
static RUN: LazyLock<Regex> = LazyLock::new(|| builtin_regex(r"[0-9]+(?:[ -][0-9]+)*"));

/// Payment card numbers: 13 to 19 digits, optionally grouped by single
/// spaces or dashes (`4111 1111 1111 1111`, `3782-822463-10005`), passing
/// the Luhn check.
///
/// By default the number must start with a prefix that the card networks
/// issue at that length (Visa, Mastercard, Amex, Diners, JCB, Discover,
/// UnionPay, Maestro; see `known_iin`): a 13-digit EAN or a millisecond
/// timestamp that happens to pass Luhn is not a card.
/// [`CardDetector::any_prefix`] lifts that.
///
/// Boundaries: the number must be a token of its own. Digits or letters
/// directly around it, or a `-`, `.`, `/` or `_` that joins it to them,
/// refuse it: `ORD-4111111111111111-77` is an order id, not a card, and a
/// Luhn-valid stretch inside a longer digit run is not reported. When a run
/// of space-separated groups is not itself a valid card, each group is tried
/// alone (`qty 2 4111111111111111`); several groups inside a longer run are
/// not (`4111 1111 1111 1111 2024` is refused: it could as well be a
/// tracking number).
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
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        (13..=19).contains(&digits.len())
            && (self.any_prefix || known_iin(&digits))
            && validate::luhn(&digits)
    }
}

/// Issuer prefixes by length: Visa `4` (13, 16, 19), Diners `30 36 38 39`
/// (14, 16), Amex `34 37` (15), JCB `1800 2131` (15) and `35` (16–19),
/// Mastercard `51`–`55` and `2221`–`2720` (16), Discover, UnionPay and other
/// `6` (16–19), Maestro `50 56`–`69` (13–19). `digits` has 13 to 19 digits.
fn known_iin(digits: &str) -> bool {
    let p2: u32 = digits[..2].parse().unwrap_or(0);
    let p4: u32 = digits[..4].parse().unwrap_or(0);
    let visa = p2 / 10 == 4;
    let maestro = p2 == 50 || (56..=69).contains(&p2);
    match digits.len() {
        13 => visa || maestro,
        14 => matches!(p2, 30 | 36 | 38 | 39) || maestro,
        15 => matches!(p2, 34 | 37) || p4 == 1800 || p4 == 2131 || maestro,
        16 => visa || maestro || matches!(p2, 35 | 36 | 51..=55) || (2221..=2720).contains(&p4),
        _ => visa || maestro || p2 == 35,
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
            // A run of several space-separated tokens (`qty 2 4111…`): a
            // token that is a valid card on its own. Cards made of several
            // groups inside a longer run are not reported (a tracking number
            // `9400 1000 …` holds Luhn-valid stretches by chance).
            let mut off = 0;
            for token in run.split(' ') {
                if self.valid(token) {
                    let start = m.start() + off;
                    out.push(Finding::new(start, start + token.len(), self.class.clone()));
                }
                off += token.len() + 1;
            }
        }
    }

    /// A card number is a run of 13 to 19 digits.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.longest_run >= 13
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
            "180065434408147",
            "3530111333300000",
            "30569309025904",
        ] {
            assert_eq!(found(&d, &format!("paid with {card}.")), [card], "{card}");
        }
        assert_eq!(
            found(&d, "cards: 4111111111111111, 5555555555554444"),
            ["4111111111111111", "5555555555554444"]
        );
    }

    #[test]
    fn tokens_inside_a_longer_spaced_run() {
        let d = CardDetector::new();
        assert!(found(&d, "4111 1111 1111 1111 2024").is_empty());
        assert!(found(&d, "9463 5605 6711 0904 3778 65").is_empty());
        assert_eq!(
            found(&d, "qty 2 4111-1111-1111-1111 x"),
            ["4111-1111-1111-1111"]
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
            "3520689937666",
            "5275670662314",
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
