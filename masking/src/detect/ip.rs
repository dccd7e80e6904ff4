//! IP addresses.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Detector, Finding, TextProfile, builtin_regex, class, is_token};

static V4: LazyLock<Regex> =
    LazyLock::new(|| builtin_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"));

/// Hex groups and colons, with an optional dotted IPv4 tail
/// (`::ffff:192.0.2.1`); `Ipv6Addr` decides.
static V6: LazyLock<Regex> = LazyLock::new(|| {
    builtin_regex(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}")
});

/// Words that make a dotted quad a version number, not an address, when they
/// come right before it (case-insensitive, one space or none between).
const VERSION_WORDS: [&str; 5] = ["version", "ver.", "build", "release", "firmware"];

/// IPv4 addresses in dotted-quad form, each octet 0–255 without leading
/// zeros (as `std::net::Ipv4Addr` parses them), reported as `ip_address`.
///
/// Refused: a quad that is part of a longer dotted number (`1.2.3.4.5`,
/// `10.0.19045.1.2`) or glued to letters (`v1.2.3.4`), per the token rule
/// of [`CardDetector`](super::CardDetector); and a quad that follows one of
/// the words `version`, `ver.`, `build`, `release` or `firmware`
/// (`version 1.2.3.4`). A bare four-part version number with small parts
/// is indistinguishable from an address and is reported.
#[derive(Debug, Clone)]
pub struct Ipv4Detector {
    class: Arc<str>,
}

impl Ipv4Detector {
    /// The detector, reporting class `ip_address`.
    pub fn new() -> Self {
        Self {
            class: class::IP.into(),
        }
    }
}

impl Default for Ipv4Detector {
    fn default() -> Self {
        Self::new()
    }
}

fn after_version_word(text: &str, start: usize) -> bool {
    let before = text[..start].strip_suffix(' ').unwrap_or(&text[..start]);
    VERSION_WORDS.iter().any(|w| {
        before.len() >= w.len()
            && before.is_char_boundary(before.len() - w.len())
            && before[before.len() - w.len()..].eq_ignore_ascii_case(w)
    })
}

impl Detector for Ipv4Detector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        super::scan(
            &V4,
            text,
            |s, e| {
                (is_token(text, s, e)
                    && text[s..e].parse::<Ipv4Addr>().is_ok()
                    && !after_version_word(text, s))
                .then_some((s, e))
            },
            |s, e| out.push(Finding::new(s, e, self.class.clone())),
        );
    }

    /// Four numbers joined by three dots.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.digits >= 4 && profile.dots >= 3
    }
}

/// IPv6 addresses in any RFC 4291 text form `std::net::Ipv6Addr` parses
/// (full, `::`-compressed, with an embedded IPv4 tail), reported as
/// `ip_address`.
///
/// Refused: candidates with fewer than four hex digits (`::`, `::1`, `a::b`
/// are more often code than addresses), glued to letters, digits or a colon
/// around them (so `10:30:00` and MAC addresses, which do not parse anyway,
/// and `Foo::Bar` paths stay untouched). Zone ids (`%eth0`) are not part of
/// the match. Brackets around the address (`[2001:db8::1]:443`) are fine.
#[derive(Debug, Clone)]
pub struct Ipv6Detector {
    class: Arc<str>,
}

impl Ipv6Detector {
    /// The detector, reporting class `ip_address`.
    pub fn new() -> Self {
        Self {
            class: class::IP.into(),
        }
    }
}

impl Default for Ipv6Detector {
    fn default() -> Self {
        Self::new()
    }
}

fn check_v6(text: &str, s: usize, e: usize) -> bool {
    let cand = &text[s..e];
    let before = text[..s].chars().next_back();
    let after = text[e..].chars().next();
    before != Some(':')
        && after != Some(':')
        && is_token(text, s, e)
        && cand.bytes().filter(u8::is_ascii_hexdigit).count() >= 4
        && cand.parse::<Ipv6Addr>().is_ok()
}

impl Detector for Ipv6Detector {
    fn class(&self) -> &str {
        &self.class
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        super::scan(
            &V6,
            text,
            |s, e| check_v6(text, s, e).then_some((s, e)),
            |s, e| out.push(Finding::new(s, e, self.class.clone())),
        );
    }

    /// An address `Ipv6Addr` parses has 8 groups (7 colons), 6 groups and
    /// an IPv4 tail (6 colons), or `::`.
    fn may_match(&self, profile: &TextProfile) -> bool {
        profile.colons >= 6 || profile.double_colon
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_support::found;

    #[test]
    fn v4_positives() {
        let d = Ipv4Detector::new();
        for ip in [
            "192.168.1.10",
            "8.8.8.8",
            "0.0.0.0",
            "255.255.255.255",
            "70.240.157.53",
        ] {
            assert_eq!(found(&d, &format!("from {ip}.")), [ip], "{ip}");
        }
        assert_eq!(found(&d, "(10.0.0.1:8080)"), ["10.0.0.1"]);
        assert_eq!(found(&d, "a=1.2.3.4,b=5.6.7.8"), ["1.2.3.4", "5.6.7.8"]);
        assert_eq!(found(&d, "Adresse «192.0.2.7» ✓"), ["192.0.2.7"]);
    }

    #[test]
    fn v4_negatives() {
        let d = Ipv4Detector::new();
        for t in [
            "256.1.1.1",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.4.5",
            "0.1.2.3.4.5",
            "v1.2.3.4",
            "version 1.2.3.4",
            "Build 10.0.1.2",
            "release1.2.3.4",
            "10.0.19045.3803",
            "1.2.3",
            "2024.01.15.10",
            "1.2.3.4-beta",
            "é1.2.3.4",
            "12.34.56.789",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn v6_positives() {
        let d = Ipv6Detector::new();
        for ip in [
            "2001:db8::1",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "9702:32f0:8ac1:c06e:df6:1abf:90b6:b93f",
            "fe80::1ff:fe23:4567:890a",
            "::ffff:192.0.2.1",
            "FE80::ABCD",
        ] {
            assert_eq!(found(&d, &format!("from {ip}.")), [ip], "{ip}");
        }
        assert_eq!(found(&d, "[2001:db8::7]:443"), ["2001:db8::7"]);
        assert_eq!(found(&d, "→2001:db8::7←"), ["2001:db8::7"]);
    }

    #[test]
    fn v6_negatives() {
        let d = Ipv6Detector::new();
        for t in [
            "10:30:00",
            "2024-01-15T10:30:00Z",
            "00:1A:2B:3C:4D:5E",
            "::",
            "::1",
            "std::fmt::Debug",
            "Foo::Bar",
            "1:2:3:4:5:6:7:8:9",
            "2001:db8::1::2",
            "x2001:db8::1",
            "2001:db8::g",
        ] {
            assert!(found(&d, t).is_empty(), "{t}");
        }
    }
}
