//! US Social Security numbers.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class, is_token};

static SSN: LazyLock<Regex> = LazyLock::new(|| builtin_regex(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"));

/// US Social Security numbers in the dashed form `AAA-GG-SSSS`, reported as
/// class `national_id`.
///
/// Refused as never issued: area `000`, `666` or `900`–`999`, group `00`,
/// serial `0000`. The number must be a token of its own (the boundary rule of
/// [`CardDetector`](super::CardDetector)), so `978-3-16-148410-0`-like ids
/// and longer dashed runs (`2024-123-45-6789`) are refused. The undashed
/// nine-digit form is not recognized: too many other numbers share it.
#[derive(Debug, Clone)]
pub struct SsnDetector {
    class: Arc<str>,
}

impl SsnDetector {
    /// The detector, reporting class `national_id`.
    pub fn new() -> Self {
        Self {
            class: class::NATIONAL_ID.into(),
        }
    }
}

impl Default for SsnDetector {
    fn default() -> Self {
        Self::new()
    }
}

fn check(text: &str, start: usize, end: usize) -> bool {
    let s = &text[start..end];
    let (area, group, serial) = (&s[0..3], &s[4..6], &s[7..11]);
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
        && is_token(text, start, end)
}

impl Detector for SsnDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        super::scan(
            &SSN,
            text,
            |s, e| check(text, s, e).then_some((s, e)),
            |s, e| out.push(Finding::new(s, e, self.class.clone())),
        );
    }

    /// An SSN is a run of 9 digits joined by dashes.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.longest_run >= 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn positives() {
        let d = SsnDetector::new();
        assert_eq!(found(&d, "SSN 123-45-6789."), ["123-45-6789"]);
        assert_eq!(found(&d, "(899-99-9999)"), ["899-99-9999"]);
        assert_eq!(
            found(&d, "a 001-01-0001, b 665-12-3456"),
            ["001-01-0001", "665-12-3456"]
        );
    }

    #[test]
    fn negatives() {
        let d = SsnDetector::new();
        for t in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "987-65-4321",
            "123-00-4567",
            "123-45-0000",
            "123456789",
            "123 45 6789",
            "1123-45-6789",
            "123-45-67890",
            "2024-123-45-6789",
            "123-45-6789-1",
            "ID123-45-6789",
            "123-45-6789x",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn utf8_around() {
        let d = SsnDetector::new();
        assert_eq!(found(&d, "Nº 123-45-6789 ✓"), ["123-45-6789"]);
        assert!(found(&d, "é123-45-6789").is_empty());
    }
}
