//! Typed quantities in the config: durations (`"30s"`) and sizes (`"10MiB"`).
//!
//! Both are newtypes so a timeout can never be passed where a byte count is
//! expected, and both refuse bare integers: `timeout = 30` is ambiguous
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
}
