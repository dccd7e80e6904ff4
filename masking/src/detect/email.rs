//! Email addresses.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class};

/// Local part: RFC 5322 `atext` and dots, plus any Unicode letter or digit
/// (RFC 6531). Domain: dot-separated labels of letters, digits and inner
/// hyphens. Both are `+`-repetitions of single classes, so the automaton
/// is small and the scan linear; lengths are checked afterwards.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    builtin_regex(
        r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+",
    )
});

/// Email addresses: a pragmatic subset of RFC 5322 `addr-spec` (dot-atom
/// local part, no quoted strings, comments or address literals) with
/// internationalized (UTF-8) local parts and domains.
///
/// Refused: a local part longer than 64 bytes, starting or ending with a dot
/// or containing `..`; a domain longer than 253 bytes, with a label over 63
/// bytes, or whose last label (the TLD) is not at least two letters. Leading
/// punctuation such as the quote in `'alice@example.com` is trimmed off.
#[derive(Debug, Clone)]
pub struct EmailDetector {
    class: Arc<str>,
}

impl EmailDetector {
    /// The detector, reporting class `email`.
    pub fn new() -> Self {
        Self {
            class: class::EMAIL.into(),
        }
    }
}

impl Default for EmailDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// Validates a candidate; returns how many leading bytes to trim (leading
/// punctuation that is `atext` but is more likely quoting) or `None`.
fn check(candidate: &str) -> Option<usize> {
    let at = candidate.rfind('@')?;
    let (local, domain) = (&candidate[..at], &candidate[at + 1..]);
    let trimmed = local.trim_start_matches(|c: char| "'`{|}~.-=?!#$%&*+/^".contains(c));
    let skip = local.len() - trimmed.len();
    let local = trimmed;
    if local.is_empty()
        || local.len() > 64
        || local.ends_with('.')
        || local.contains("..")
        || local.contains('@')
    {
        return None;
    }
    if domain.len() > 253 || domain.split('.').any(|l| l.len() > 63) {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    if tld.chars().count() < 2 || !tld.chars().all(char::is_alphabetic) {
        return None;
    }
    Some(skip)
}

impl Detector for EmailDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in EMAIL.find_iter(text) {
            if let Some(skip) = check(m.as_str()) {
                out.push(Finding::new(m.start() + skip, m.end(), self.class.clone()));
            }
        }
    }

    /// An address has an `@`.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.at_signs >= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn positives() {
        let d = EmailDetector::new();
        assert_eq!(
            found(&d, "mail alice@example.com now"),
            ["alice@example.com"]
        );
        assert_eq!(
            found(&d, "a.b+tag@mail.sub-domain.example.co.uk."),
            ["a.b+tag@mail.sub-domain.example.co.uk"]
        );
        assert_eq!(
            found(&d, "<de-rooisis@example.net>"),
            ["de-rooisis@example.net"]
        );
        assert_eq!(found(&d, "'bob@example.org'"), ["bob@example.org"]);
        assert_eq!(found(&d, "mailto:o'hara@example.ie"), ["o'hara@example.ie"]);
        assert_eq!(
            found(&d, "x@a.io, y@b.io;z@c.io"),
            ["x@a.io", "y@b.io", "z@c.io"]
        );
    }

    #[test]
    fn utf8_around_and_inside() {
        let d = EmailDetector::new();
        assert_eq!(
            found(&d, "Grüße → jörg.müller@beispiel.de ←"),
            ["jörg.müller@beispiel.de"]
        );
        assert_eq!(found(&d, "写信给 用户@例子.广告 吧"), ["用户@例子.广告"]);
    }

    #[test]
    fn negatives() {
        let d = EmailDetector::new();
        for t in [
            "no at sign here",
            "user@localhost",
            "a..b@example.com",
            "trailing.@example.com",
            "user@example.c",
            "user@example.123",
            "@example.com",
            "user@-example.com",
            "v1.2@3.4",
            "git@github",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(found(&d, &long).is_empty());
    }

    #[test]
    fn linear_on_hostile_input() {
        let d = EmailDetector::new();
        let hostile = "a.".repeat(200_000) + "@";
        assert!(found(&d, &hostile).is_empty());
        let hostile = "a@".repeat(200_000);
        assert!(found(&d, &hostile).is_empty());
    }
}
