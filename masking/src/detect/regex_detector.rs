//! Custom detectors: a regex per class with an optional check-digit validator.

use std::sync::Arc;

use regex::{Regex, RegexBuilder};

use super::{Detector, Finding, validate};

/// Upper bound on the compiled size of any detector regex, built-in or
/// custom (bytes, the `regex` crate's `size_limit`). A pattern such as
/// `\w{1000}{1000}` is refused at load time rather than eating memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A check applied to each regex match of a [`RegexDetector`]; a match that
/// fails it is not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validator {
    /// Luhn check digit over the match's ASCII digits (other characters are
    /// ignored): payment cards, IMEI, many account numbers.
    Luhn,
    /// ISO 7064 mod 97-10 over the match's ASCII alphanumerics, first four
    /// moved to the end (the IBAN rule).
    Mod97,
}

impl Validator {
    /// True when `value` passes this check.
    pub fn check(self, value: &str) -> bool {
        match self {
            Validator::Luhn => validate::luhn(value),
            Validator::Mod97 => validate::mod97(value),
        }
    }
}

/// Why a custom detector could not be built. The pattern itself is
/// configuration, not data, but messages name only the class.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The configuration's pattern is not valid `regex` syntax (look-around
    /// and backreferences are not supported: matching must stay linear).
    #[error("detector for class `{class}`: invalid pattern: {reason}")]
    InvalidPattern {
        /// The class the detector was for.
        class: String,
        /// The regex parser's explanation.
        reason: String,
    },
    /// The configuration's pattern compiles to more than [`REGEX_SIZE_LIMIT`].
    #[error(
        "detector for class `{class}`: pattern exceeds the compiled size limit of {limit} bytes"
    )]
    TooLarge {
        /// The class the detector was for.
        class: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The configuration's pattern matches the empty string, which would
    /// report empty findings everywhere.
    #[error("detector for class `{class}`: pattern matches the empty string")]
    MatchesEmpty {
        /// The class the detector was for.
        class: String,
    },
}

/// A detector for a custom class: every non-overlapping match of a regex
/// (leftmost-first, as the `regex` crate finds them) that passes the
/// optional [`Validator`].
///
/// No token-boundary rule is added: write `\b` in the pattern where wanted.
#[derive(Debug, Clone)]
pub struct RegexDetector {
    class: Arc<str>,
    re: Regex,
    validator: Option<Validator>,
}

impl RegexDetector {
    /// Compiles `pattern` (`regex` crate syntax, limited to
    /// [`REGEX_SIZE_LIMIT`]) for `class`.
    pub fn new(
        class: &str,
        pattern: &str,
        validator: Option<Validator>,
    ) -> Result<Self, DetectError> {
        let re = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => DetectError::TooLarge {
                    class: class.to_owned(),
                    limit,
                },
                other => DetectError::InvalidPattern {
                    class: class.to_owned(),
                    reason: other.to_string(),
                },
            })?;
        if re.is_match("") {
            return Err(DetectError::MatchesEmpty {
                class: class.to_owned(),
            });
        }
        Ok(Self {
            class: class.into(),
            re,
            validator,
        })
    }
}

impl Detector for RegexDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.re.find_iter(text) {
            if m.is_empty() {
                continue;
            }
            if self.validator.is_none_or(|v| v.check(m.as_str())) {
                out.push(Finding::new(m.start(), m.end(), self.class.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn matches_with_and_without_validator() {
        let d = RegexDetector::new("employee_id", r"\bEMP-[0-9]{6}\b", None).unwrap();
        assert_eq!(found(&d, "Müller EMP-123456, EMP-12345"), ["EMP-123456"]);
        let d = RegexDetector::new("imei", r"\b[0-9]{15}\b", Some(Validator::Luhn)).unwrap();
        assert_eq!(
            found(&d, "imei 490154203237518 / 490154203237519"),
            ["490154203237518"]
        );
        let d = RegexDetector::new(
            "acct",
            r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\b",
            Some(Validator::Mod97),
        )
        .unwrap();
        assert_eq!(
            found(&d, "DE89370400440532013000 DE89370400440532013001"),
            ["DE89370400440532013000"]
        );
    }

    #[test]
    fn refuses_bad_patterns() {
        assert!(matches!(
            RegexDetector::new("x", r"(a)\1", None),
            Err(DetectError::InvalidPattern { .. })
        ));
        assert!(matches!(
            RegexDetector::new("x", r"(?=a)", None),
            Err(DetectError::InvalidPattern { .. })
        ));
        assert!(matches!(
            RegexDetector::new("x", r"\w{1000}{1000}", None),
            Err(DetectError::TooLarge { .. })
        ));
        assert!(matches!(
            RegexDetector::new("x", r"[0-9]*", None),
            Err(DetectError::MatchesEmpty { .. })
        ));
        let e = RegexDetector::new("secret_class", r"\w{1000}{1000}", None).unwrap_err();
        assert!(e.to_string().contains("secret_class"));
    }
}
