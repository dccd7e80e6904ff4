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

/// A detector for a class given by a pattern: every non-overlapping match
/// of a regex (leftmost-first, as the `regex` crate finds them) that passes
/// the optional [`Validator`].
///
/// No token-boundary rule is added: write `\b` in the pattern where wanted.
///
/// **Context.** A pattern with a group named `value` reports only that
/// group: `[Bb]orn (?P<value>[0-9]{4}-[0-9]{2}-[0-9]{2})` finds the date
/// after "born" and leaves the word in the text (the `regex` crate has no
/// look-behind; this is how a pattern states context). The validator
/// checks the group.
#[derive(Debug, Clone)]
pub struct RegexDetector {
    class: Arc<str>,
    re: Regex,
    /// The index of the group named `value`, if the pattern has one.
    value_group: Option<usize>,
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
        let value_group = re
            .capture_names()
            .position(|name| name == Some(VALUE_GROUP));
        Ok(Self {
            class: class.into(),
            re,
            value_group,
            validator,
        })
    }

    fn report(&self, value: regex::Match<'_>, out: &mut Vec<Finding>) {
        if !value.is_empty() && self.validator.is_none_or(|v| v.check(value.as_str())) {
            out.push(Finding::new(value.start(), value.end(), self.class.clone()));
        }
    }
}

/// The name of the group that is the finding, when a pattern has context
/// around it (see [`RegexDetector`]).
const VALUE_GROUP: &str = "value";

impl Detector for RegexDetector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        match self.value_group {
            None => self.re.find_iter(text).for_each(|m| self.report(m, out)),
            Some(group) => self
                .re
                .captures_iter(text)
                .filter_map(|c| c.get(group))
                .for_each(|m| self.report(m, out)),
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
    fn a_value_group_is_the_finding_and_the_rest_is_context() {
        let d = RegexDetector::new(
            "birth_date",
            r"\b[Bb]orn (?P<value>[0-9]{4}-[0-9]{2}-[0-9]{2})\b",
            None,
        )
        .unwrap();
        let text = "Born 1985-01-11; opened 2024-05-08, born 1990-12-31.";
        assert_eq!(found(&d, text), ["1985-01-11", "1990-12-31"]);
        // Other groups are context too, and the validator checks the value.
        let d = RegexDetector::new(
            "card",
            r"(card|Card) (?P<value>[0-9]{16})",
            Some(Validator::Luhn),
        )
        .unwrap();
        assert_eq!(
            found(&d, "card 4111111111111111, card 4111111111111112"),
            ["4111111111111111"]
        );
        // A value group that did not take part in a match reports nothing.
        let d = RegexDetector::new("x", r"id:(?P<value>[0-9]+)|ref", None).unwrap();
        assert_eq!(found(&d, "ref id:42"), ["42"]);
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
