//! Typed quantities in the config: durations (`"30s"`), sizes (`"10MiB"`)
//! and rates (`"100/s"`).
//!
//! All are newtypes so a timeout can never be passed where a byte count is
//! expected, and all refuse bare integers: `timeout = 30` is ambiguous
//! (seconds? milliseconds?) and fails with a message showing the right form.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A span of time written as `"500ms"`, `"30s"`, `"5m"`, `"1h 30m"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    /// The value as a standard library duration.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl std::str::FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim()).map(Self).map_err(|e| {
            format!("invalid duration {s:?} ({e}); write e.g. \"500ms\", \"30s\", \"5m\"")
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor::<Self>::new(
            "a duration string such as \"30s\" or \"500ms\"",
        ))
    }
}

/// A number of bytes written as `"512B"`, `"64KiB"`, `"10MiB"`, `"1GiB"`.
/// Binary units (`KiB`, `MiB`, `GiB`) are powers of 1024; decimal ones
/// (`KB`, `MB`, `GB`) powers of 1000.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

impl ByteSize {
    /// Exactly `n` bytes.
    pub const fn b(n: u64) -> Self {
        Self(n)
    }

    /// `n` KiB (1024 bytes each).
    pub const fn kib(n: u64) -> Self {
        Self(n * 1024)
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> Self {
        Self(n * 1024 * 1024)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", bytesize::ByteSize::b(self.0).display().iec())
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<bytesize::ByteSize>()
            .map(|b| Self(b.as_u64()))
            .map_err(|e| format!("invalid size {s:?} ({e}); write e.g. \"64KiB\", \"10MiB\""))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor::<Self>::new(
            "a size string such as \"64KiB\" or \"10MiB\"",
        ))
    }
}

/// A rate of events written as `"100/s"`, `"600/m"` or `"1000/h"`: a whole
/// number more than 0, a slash, and the unit (second, minute, hour).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: u32,
    unit: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RateUnit {
    Second,
    Minute,
    Hour,
}

impl RateUnit {
    const fn secs(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        }
    }

    const fn symbol(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "m",
            Self::Hour => "h",
        }
    }
}

impl Rate {
    /// The most events per second a rate may say: beyond it, the time
    /// between two events is below a nanosecond and cannot be measured.
    const MAX_PER_SECOND: u64 = 1_000_000_000;

    /// `count` events per second. `None` if `count` is 0 or over
    /// 1,000,000,000.
    pub fn per_second(count: u32) -> Option<Self> {
        Self::new(count, RateUnit::Second)
    }

    /// `count` events per minute. `None` if `count` is 0.
    pub fn per_minute(count: u32) -> Option<Self> {
        Self::new(count, RateUnit::Minute)
    }

    /// `count` events per hour. `None` if `count` is 0.
    pub fn per_hour(count: u32) -> Option<Self> {
        Self::new(count, RateUnit::Hour)
    }

    fn new(count: u32, unit: RateUnit) -> Option<Self> {
        let ok = count > 0 && u64::from(count) <= Self::MAX_PER_SECOND * unit.secs();
        ok.then_some(Self { count, unit })
    }

    /// How many events per unit.
    pub const fn count(self) -> u32 {
        self.count
    }

    /// The length of the unit (1s, 1m or 1h).
    pub const fn unit(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.unit.secs())
    }

    /// The time for one event at this rate: the unit divided by the count
    /// (never zero).
    pub fn period(self) -> std::time::Duration {
        let nanos = u128::from(self.unit.secs()) * 1_000_000_000 / u128::from(self.count);
        std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Events per second, rounded up, at least 1.
    pub fn per_second_ceil(self) -> u32 {
        let secs = u32::try_from(self.unit.secs()).unwrap_or(u32::MAX);
        self.count.div_ceil(secs).max(1)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.unit.symbol())
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let form = "write e.g. \"100/s\", \"600/m\", \"1000/h\"";
        let Some((count, unit)) = s.trim().split_once('/') else {
            return Err(format!("invalid rate {s:?} (no '/'); {form}"));
        };
        let unit = match unit.trim() {
            "s" => RateUnit::Second,
            "m" => RateUnit::Minute,
            "h" => RateUnit::Hour,
            other => {
                return Err(format!(
                    "invalid rate {s:?}: unknown unit {other:?} (s, m or h); {form}"
                ));
            }
        };
        let count = count.trim();
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "invalid rate {s:?}: the count must be a whole number; {form}"
            ));
        }
        let count: u64 = count
            .parse()
            .map_err(|_| format!("invalid rate {s:?}: the count is too large"))?;
        if count == 0 {
            return Err(format!(
                "invalid rate {s:?}: must be more than 0 (leave the quota out for no limit)"
            ));
        }
        u32::try_from(count)
            .ok()
            .and_then(|count| Self::new(count, unit))
            .ok_or_else(|| {
                format!(
                    "invalid rate {s:?}: at most {}/s can be measured",
                    Self::MAX_PER_SECOND
                )
            })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor::<Self>::new(
            "a rate string such as \"100/s\" or \"600/m\"",
        ))
    }
}

/// Accepts only strings, parsed with `FromStr`; a bare number gets an error
/// that shows the expected form.
struct QuantityVisitor<T> {
    expecting: &'static str,
    _marker: std::marker::PhantomData<T>,
}

impl<T> QuantityVisitor<T> {
    fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            _marker: std::marker::PhantomData,
        }
    }
}

impl<T> de::Visitor<'_> for QuantityVisitor<T>
where
    T: std::str::FromStr<Err = String>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(E::custom(format!(
            "a bare number ({v}) has no unit; expected {}",
            self.expecting
        )))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Err(E::custom(format!(
            "a bare number ({v}) has no unit; expected {}",
            self.expecting
        )))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!(
            "a bare number ({v}) has no unit; expected {}",
            self.expecting
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!("500ms".parse(), Ok(Duration::from_millis(500)));
        assert_eq!(" 30s ".parse(), Ok(Duration::from_secs(30)));
        assert_eq!("1h 30m".parse(), Ok(Duration::from_secs(5400)));
        let error = "30".parse::<Duration>().unwrap_err();
        assert!(error.contains("write e.g."), "{error}");
        assert_eq!(Duration::from_secs(90).to_string(), "1m 30s");
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!("64KiB".parse(), Ok(ByteSize::kib(64)));
        assert_eq!("10MiB".parse(), Ok(ByteSize::mib(10)));
        assert_eq!("1KB".parse(), Ok(ByteSize::b(1000)));
        assert_eq!("512B".parse(), Ok(ByteSize::b(512)));
        assert!("ten".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize::kib(64).to_string(), "64.0 KiB");
    }

    #[test]
    fn rates_parse_per_second_minute_and_hour() {
        let rate: Rate = "100/s".parse().unwrap();
        assert_eq!(rate, Rate::per_second(100).unwrap());
        assert_eq!(rate.period(), std::time::Duration::from_millis(10));
        assert_eq!(rate.per_second_ceil(), 100);
        assert_eq!(rate.to_string(), "100/s");

        let rate: Rate = " 600 / m ".parse().unwrap();
        assert_eq!(rate, Rate::per_minute(600).unwrap());
        assert_eq!(rate.period(), std::time::Duration::from_millis(100));
        assert_eq!(rate.per_second_ceil(), 10);

        let rate: Rate = "30/m".parse().unwrap();
        assert_eq!(
            rate.per_second_ceil(),
            1,
            "half a request per second rounds up"
        );
        let rate: Rate = "7200/h".parse().unwrap();
        assert_eq!(rate.per_second_ceil(), 2);
        assert_eq!(rate.unit(), std::time::Duration::from_secs(3600));
        assert_eq!("1/h".parse::<Rate>().unwrap().period().as_secs(), 3600);
        assert_eq!(
            "1000000000/s".parse::<Rate>().unwrap().period(),
            std::time::Duration::from_nanos(1)
        );
    }

    #[test]
    fn bad_rates_are_explained() {
        for (bad, says) in [
            ("100", "no '/'"),
            ("0/s", "more than 0"),
            ("-1/s", "whole number"),
            ("1.5/s", "whole number"),
            ("/s", "whole number"),
            ("10/d", "unknown unit"),
            ("10/sec", "unknown unit"),
            ("999999999999999999999/s", "too large"),
            ("99999999999/s", "at most"),
            ("2000000000/s", "at most 1000000000/s"),
        ] {
            let message = bad.parse::<Rate>().expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
        assert_eq!(Rate::per_second(0), None);
        assert!(Rate::per_hour(4_000_000_000).is_some());
    }
}
