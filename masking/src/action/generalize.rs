//! `generalize`: coarser values that still serve analysis.
//!
//! A value that does not have the expected format is an error (fail closed),
//! not passed through.

use std::fmt;

use super::{ActionError, Outcome, Scalar, json_string};

/// How to coarsen a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generalize {
    /// A date (`YYYY-MM-DD` or an RFC 3339 date-time) -> its year, as a
    /// string: `"1985-04-12"` -> `"1985"`.
    DateToYear,
    /// A date -> year and month, as a string: `"1985-04-12"` -> `"1985-04"`.
    DateToYearMonth,
    /// A number (or a string holding one) -> the lower bound of its bucket
    /// of `width`, as a JSON number: with width 100, `1234.5` -> `1200`,
    /// `-5` -> `-100`. The bucket is `[bound, bound + width)`.
    NumberBucket {
        /// Bucket width, at least 1.
        width: u64,
    },
    /// A postal code -> its first `keep` characters, as a string:
    /// `"75008"` with keep 2 -> `"75"`. (Numbers are taken as their text.)
    PostalPrefix {
        /// Characters kept, at least 1.
        keep: usize,
    },
    /// A birth date -> the age band at `as_of`, as a string: born
    /// `1990-06-01`, as of `2024-01-01`, width 10 -> `"30-39"`.
    AgeBand {
        /// Band width in years, at least 1.
        width: u32,
        /// The date ages are computed at.
        as_of: Date,
    },
}

impl Generalize {
    pub(super) fn validate(&self) -> Result<(), ActionError> {
        let bad = |reason: &str| {
            Err(ActionError::InvalidParameter {
                action: "generalize",
                reason: reason.to_owned(),
            })
        };
        match self {
            Generalize::NumberBucket { width: 0 } => bad("width must be at least 1"),
            Generalize::PostalPrefix { keep: 0 } => bad("keep must be at least 1"),
            Generalize::AgeBand { width: 0, .. } => bad("width must be at least 1"),
            _ => Ok(()),
        }
    }

    pub(super) fn apply(&self, value: &Scalar<'_>) -> Result<Outcome, ActionError> {
        self.validate()?;
        let text = match value {
            Scalar::Null => return Ok(Outcome::Keep),
            Scalar::Bool(_) => {
                return Err(ActionError::UnsupportedType {
                    action: "generalize",
                    found: "boolean",
                });
            }
            Scalar::Str(s) => s.as_ref(),
            Scalar::Number(n) => n,
        };
        let not_date = ActionError::Format {
            action: "generalize",
            expected: "a date (YYYY-MM-DD or RFC 3339)",
        };
        Ok(Outcome::Replace(match self {
            Generalize::DateToYear => {
                let d = Date::parse_lenient(text).ok_or(not_date)?;
                json_string(&format!("{:04}", d.year))
            }
            Generalize::DateToYearMonth => {
                let d = Date::parse_lenient(text).ok_or(not_date)?;
                json_string(&format!("{:04}-{:02}", d.year, d.month))
            }
            Generalize::NumberBucket { width } => {
                let v: f64 = text
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or(ActionError::Format {
                        action: "generalize",
                        expected: "a finite number",
                    })?;
                // Exact for widths and bounds below 2^53, which covers any
                // sensible bucket.
                let w = *width as f64;
                let lower = (v / w).floor() * w;
                if lower.abs() >= 9.007_199_254_740_992e15 {
                    return Err(ActionError::Format {
                        action: "generalize",
                        expected: "a number below 2^53 in magnitude",
                    });
                }
                format!("{}", lower as i64)
            }
            Generalize::PostalPrefix { keep } => {
                json_string(&text.chars().take(*keep).collect::<String>())
            }
            Generalize::AgeBand { width, as_of } => {
                let born = Date::parse_lenient(text).ok_or(not_date)?;
                let age = as_of.years_since(&born).ok_or(ActionError::Format {
                    action: "generalize",
                    expected: "a birth date before the as-of date",
                })?;
                let lo = age / width * width;
                json_string(&format!("{lo}-{}", lo.saturating_add(width - 1)))
            }
        }))
    }
}

/// A calendar date (proleptic Gregorian, years 0000 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A date, if it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        (year <= 9999 && (1..=12).contains(&month) && day >= 1 && day <= days_in(year, month))
            .then_some(Date { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        Date::new(year, u8::try_from(month).ok()?, u8::try_from(day).ok()?)
    }

    /// Parses `YYYY-MM-DD` or an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS`,
    /// optional fraction, `Z` or `±HH:MM`); the time is checked, then
    /// ignored.
    pub fn parse_lenient(s: &str) -> Option<Self> {
        let date = Date::parse(s.get(..10)?)?;
        let rest = &s.as_bytes()[10..];
        if rest.is_empty() {
            return Some(date);
        }
        if !matches!(rest[0], b'T' | b't' | b' ') {
            return None;
        }
        let t = &rest[1..];
        if t.len() < 8 || t[2] != b':' || t[5] != b':' {
            return None;
        }
        let (h, m, sec) = (digits(&t[0..2])?, digits(&t[3..5])?, digits(&t[6..8])?);
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        let mut i = 8;
        if t.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while t.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        match &t[i..] {
            [b'Z' | b'z'] => Some(date),
            [b'+' | b'-', oh @ .., b':', m1, m2] if oh.len() == 2 => {
                let (oh, om) = (digits(oh)?, digits(&[*m1, *m2])?);
                (oh <= 23 && om <= 59).then_some(date)
            }
            _ => None,
        }
    }

    /// Whole years from `earlier` to `self`; `None` if `earlier` is later.
    fn years_since(&self, earlier: &Date) -> Option<u32> {
        if earlier > self {
            return None;
        }
        let mut years = u32::from(self.year - earlier.year);
        if (self.month, self.day) < (earlier.month, earlier.day) {
            years -= 1;
        }
        Some(years)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = ActionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s).ok_or(ActionError::Format {
            action: "generalize",
            expected: "a date (YYYY-MM-DD)",
        })
    }
}

fn digits(b: &[u8]) -> Option<u16> {
    b.iter().try_fold(0u16, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
    })
}

fn days_in(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn gen_str(g: Generalize, v: &str) -> String {
        replaced_str(g.apply(&s(v)).unwrap())
    }

    #[test]
    fn dates() {
        assert_eq!(gen_str(Generalize::DateToYear, "1985-04-12"), "1985");
        assert_eq!(
            gen_str(Generalize::DateToYearMonth, "1985-04-12"),
            "1985-04"
        );
        for ok in [
            "1985-04-12T10:20:30Z",
            "1985-04-12T10:20:30.123+02:00",
            "1985-04-12t10:20:30-05:30",
            "1985-04-12 10:20:60z",
        ] {
            assert_eq!(gen_str(Generalize::DateToYearMonth, ok), "1985-04", "{ok}");
        }
        for bad in [
            "1985-4-12",
            "1985-02-30",
            "1985-13-01",
            "12/04/1985",
            "1985-04-12T",
            "1985-04-12T10:20:30",
            "1985-04-12T25:00:00Z",
            "1985-04-12T10:20:30.Z",
            "1985-04-12X",
            "",
        ] {
            assert!(
                matches!(
                    Generalize::DateToYear.apply(&s(bad)),
                    Err(ActionError::Format { .. })
                ),
                "{bad}"
            );
        }
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("1900-02-29").is_none());
        assert!(Date::parse("2000-02-29").is_some());
        assert_eq!(Date::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
    }

    #[test]
    fn number_bucket() {
        let g = Generalize::NumberBucket { width: 100 };
        let n = |v: Scalar<'_>| replaced(g.apply(&v).unwrap());
        assert_eq!(n(Scalar::Number("1234.5")), "1200");
        assert_eq!(n(Scalar::Number("1200")), "1200");
        assert_eq!(n(Scalar::Number("99.999")), "0");
        assert_eq!(n(Scalar::Number("-5")), "-100");
        assert_eq!(n(Scalar::Number("1.5e3")), "1500");
        assert_eq!(n(s("4321")), "4300");
        assert!(g.apply(&s("abc")).is_err());
        assert!(g.apply(&Scalar::Number("1e300")).is_err());
        assert!(Generalize::NumberBucket { width: 0 }.validate().is_err());
    }

    #[test]
    fn postal_prefix() {
        let g = Generalize::PostalPrefix { keep: 2 };
        assert_eq!(gen_str(g.clone(), "75008"), "75");
        assert_eq!(gen_str(g.clone(), "SW1A 1AA"), "SW");
        assert_eq!(gen_str(g.clone(), "Ü"), "Ü");
        assert_eq!(
            replaced_str(g.apply(&Scalar::Number("10115")).unwrap()),
            "10"
        );
        assert!(Generalize::PostalPrefix { keep: 0 }.validate().is_err());
    }

    #[test]
    fn age_band() {
        let as_of = Date::parse("2024-01-01").unwrap();
        let g = Generalize::AgeBand { width: 10, as_of };
        assert_eq!(gen_str(g.clone(), "1990-06-01"), "30-39");
        assert_eq!(gen_str(g.clone(), "1994-01-01"), "30-39");
        assert_eq!(gen_str(g.clone(), "1994-01-02"), "20-29");
        assert_eq!(gen_str(g.clone(), "2024-01-01"), "0-9");
        assert_eq!(gen_str(g.clone(), "1990-06-01T00:00:00Z"), "30-39");
        let five = Generalize::AgeBand { width: 5, as_of };
        assert_eq!(gen_str(five, "1990-06-01"), "30-34");
        assert!(g.apply(&s("2030-01-01")).is_err());
        assert!(g.apply(&Scalar::Bool(true)).is_err());
        assert_eq!(g.apply(&Scalar::Null).unwrap(), Outcome::Keep);
    }
}
