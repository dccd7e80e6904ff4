//! Running several detectors and resolving their overlaps.

use std::borrow::Cow;

use super::{
    CardDetector, Detector, EmailDetector, Finding, IbanDetector, Ipv4Detector, Ipv6Detector,
    PhoneDetector, SsnDetector, TextProfile,
};

/// Several detectors run over the same text, their findings merged into one
/// sorted list without overlaps.
///
/// **Overlaps.** Findings that overlap (directly or through a chain) form a
/// cluster. Each cluster becomes a single finding that covers the union of
/// its ranges, so nothing any detector found is left out, and whose class is
/// the winner's: the longest finding wins; between findings of the same
/// length, the one from the detector that comes first in the set wins (put
/// the more specific detectors first). [`DetectorSet::builtin`] orders them
/// IBAN, card, SSN, email, IPv6, IPv4, phone: an IBAN that contains a
/// phone-like `0044 0532 0130 00` stays an IBAN, an email whose local part is
/// a card number stays an email, and an SSN that also reads as a
/// national phone number (`059-64-0235`) stays an SSN.
pub struct DetectorSet {
    detectors: Vec<Box<dyn Detector>>,
}

impl std::fmt::Debug for DetectorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.detectors.iter().map(|d| d.class()))
            .finish()
    }
}

impl DetectorSet {
    /// A set of `detectors`, earlier ones winning ties (see the type's doc).
    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Self {
        Self { detectors }
    }

    /// Every built-in detector, most specific first.
    pub fn builtin() -> Self {
        Self::new(vec![
            Box::new(IbanDetector::new()),
            Box::new(CardDetector::new()),
            Box::new(SsnDetector::new()),
            Box::new(EmailDetector::new()),
            Box::new(Ipv6Detector::new()),
            Box::new(Ipv4Detector::new()),
            Box::new(PhoneDetector::new()),
        ])
    }

    /// Adds a detector after the existing ones (it loses ties to them).
    pub fn push(&mut self, detector: Box<dyn Detector>) {
        self.detectors.push(detector);
    }

    /// The detectors, in priority order.
    pub fn detectors(&self) -> impl Iterator<Item = &dyn Detector> {
        self.detectors.iter().map(|d| &**d)
    }

    /// All findings in `text`, sorted by `start`, overlaps resolved.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        // (finding, priority): lower priority index wins ties.
        let mut all: Vec<(Finding, usize)> = Vec::new();
        let mut buf = Vec::new();
        let profile = TextProfile::of(text);
        for (prio, d) in self.detectors.iter().enumerate() {
            if !d.may_match(&profile) {
                continue;
            }
            d.find(text, &mut buf);
            all.extend(buf.drain(..).filter(|f| !f.is_empty()).map(|f| (f, prio)));
        }
        all.sort_by_key(|(f, _)| (f.start, f.end));
        let mut out: Vec<Finding> = Vec::with_capacity(all.len());
        // The current cluster: its union range and its winner.
        let mut cluster: Option<(usize, usize, Finding, usize)> = None;
        for (f, prio) in all {
            match &mut cluster {
                Some((_, end, winner, wprio)) if f.start < *end => {
                    *end = (*end).max(f.end);
                    if (f.len(), std::cmp::Reverse(prio))
                        > (winner.len(), std::cmp::Reverse(*wprio))
                    {
                        *winner = f;
                        *wprio = prio;
                    }
                }
                _ => {
                    if let Some((s, e, w, _)) = cluster.take() {
                        out.push(Finding::new(s, e, w.class));
                    }
                    cluster = Some((f.start, f.end, f, prio));
                }
            }
        }
        if let Some((s, e, w, _)) = cluster {
            out.push(Finding::new(s, e, w.class));
        }
        out
    }

    /// `text` with each finding replaced by `replace(finding, matched)`,
    /// borrowed unchanged when nothing is found. This is the `detect`
    /// default: `replace` applies the action of the finding's class.
    pub fn redact_with<'t, F>(&self, text: &'t str, mut replace: F) -> Cow<'t, str>
    where
        F: FnMut(&Finding, &str) -> String,
    {
        let findings = self.find(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in &findings {
            out.push_str(&text[last..f.start]);
            out.push_str(&replace(f, &text[f.start..f.end]));
            last = f.end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }
}

impl Default for DetectorSet {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::detect::{RegexDetector, Validator};

    proptest::proptest! {
        /// `may_match` only ever skips texts in which `find` finds nothing:
        /// random texts over the characters the built-in patterns care
        /// about, dense enough in digits and separators that every detector
        /// finds something in some of them.
        #[test]
        fn may_match_never_hides_a_finding(
            text in proptest::strategy::Strategy::prop_map(proptest::collection::vec(proptest::sample::select(vec![
                "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "41", "0049", "+",
                " ", "-", ".", ":", "@", "(", ")", "/", "x", "a", "DE", "ex", "é", "::",
                "ffff", "a.b", "192.168.", "4111", "GB", "82", "WEST", "DE89", "Z",
                "fe80", "db8:", ":0", "1:", "2001:",
            ]), 0..40), |parts| parts.concat()),
        ) {
            let profile = TextProfile::of(&text);
            for d in DetectorSet::builtin().detectors() {
                let mut found = Vec::new();
                d.find(&text, &mut found);
                proptest::prop_assert!(
                    d.may_match(&profile) || found.is_empty(),
                    "{} skipped a text it finds something in", d.class()
                );
            }
        }
    }

    proptest::proptest! {
        /// The profile, taken sixteen bytes at a time, is what its fields
        /// say, byte by byte: texts long enough to span blocks, with the
        /// patterns across their boundaries.
        #[test]
        fn profile_counts_what_it_says(text in "[0-9:.@a-zA-Z é(+\\[`{/-]{0,80}") {
            let p = TextProfile::of(&text);
            let b = text.as_bytes();
            let n = |f: fn(&u8) -> bool| b.iter().filter(|x| f(x)).count();
            let digits = n(u8::is_ascii_digit);
            proptest::prop_assert_eq!(p.digits, digits);
            proptest::prop_assert_eq!(p.colons, n(|&b| b == b':'));
            proptest::prop_assert_eq!(p.dots, n(|&b| b == b'.'));
            proptest::prop_assert_eq!(p.at_signs, n(|&b| b == b'@'));
            proptest::prop_assert_eq!(p.double_colon, text.contains("::"));
            let phone_mark = b.contains(&b'+')
                || b.contains(&b'(')
                || b.windows(3).any(|w| w[0] == b'0' && w[1] == b'0' && matches!(w[2], b'1'..=b'9'));
            proptest::prop_assert_eq!(p.phone_mark, digits >= 8 && phone_mark);
            let letters_then_digits = b.windows(4).any(|w| {
                w[0].is_ascii_alphabetic()
                    && w[1].is_ascii_alphabetic()
                    && w[2].is_ascii_digit()
                    && w[3].is_ascii_digit()
            });
            proptest::prop_assert_eq!(p.letters_then_digits, digits >= 2 && letters_then_digits);
            let longest_run = if digits >= 9 { longest_run_bytewise(b) } else { digits };
            proptest::prop_assert_eq!(p.longest_run, longest_run);
        }
    }

    /// [`TextProfile::longest_run`] as its docs define it, a byte at a
    /// time: a digit adds to the run, one separator after a digit may join
    /// it to the next, anything else ends it.
    fn longest_run_bytewise(text: &[u8]) -> usize {
        let (mut longest, mut run, mut after_separator) = (0, 0, false);
        for &b in text {
            match b {
                b'0'..=b'9' => {
                    run += 1;
                    after_separator = false;
                }
                b' ' | b'-' | b'/' if run > 0 && !after_separator => after_separator = true,
                _ => {
                    longest = longest.max(run);
                    run = 0;
                    after_separator = false;
                }
            }
        }
        longest.max(run)
    }

    #[test]
    fn profile_patterns_across_blocks_and_at_their_edges() {
        // A pattern at each offset around the first block boundary and at
        // the end of a partial block.
        for at in 0..40 {
            let mut text = "x".repeat(at);
            text.push_str("DE89 ");
            text.push_str(&"y".repeat(40 - at));
            assert!(TextProfile::of(&text).letters_then_digits, "{at}: {text}");
            let colons = format!("{}::{}", ".".repeat(at), ".".repeat(3));
            assert!(TextProfile::of(&colons).double_colon, "{at}");
            let phone = format!("{}00491234567{}", "z".repeat(at), "z".repeat(at % 7));
            assert!(TextProfile::of(&phone).phone_mark, "{at}");
        }
        // Not a pattern: letters and digits apart, one colon per block.
        assert!(!TextProfile::of("DE 89 and AB-12 and c3d4").letters_then_digits);
        assert!(!TextProfile::of(&format!("{}:{}:", "a".repeat(15), "b".repeat(15))).double_colon);
        assert!(!TextProfile::of("12345678 and 00 0 and 100 without marks").phone_mark);
    }

    #[test]
    fn profile_counts_past_its_16_bit_fields() {
        let text = "1:.@".repeat(70_000);
        let p = TextProfile::of(&text);
        assert_eq!(
            (p.digits, p.colons, p.dots, p.at_signs),
            (70_000, 70_000, 70_000, 70_000)
        );
    }

    #[test]
    fn longest_run_follows_the_card_and_ssn_candidates() {
        let run = |text: &str| TextProfile::of(text).longest_run;
        assert_eq!(run("4111 1111-1111 1111"), 16);
        assert_eq!(run("078-05-1120"), 9);
        assert_eq!(run("2023-05-12T08:30:00Z"), 8);
        assert_eq!(run("4111  1111 1111 1111"), 12);
        assert_eq!(run("123456789 x 12"), 9);
        assert_eq!(run("030/1234567"), 10);
        // Below 9 digits: the digit count, an upper bound.
        assert_eq!(run("1 2 a 3"), 3);
        // Runs across the edges of blocks of sixteen.
        for at in 0..40 {
            let text = format!(
                "{}4111 1111-1111/1111x{}",
                "x".repeat(at),
                "x12345678".repeat(at % 3)
            );
            assert_eq!(run(&text), 16, "{text}");
        }
        assert_eq!(run(&"9".repeat(100)), 100);
        assert_eq!(run(&"9 ".repeat(50)), 50);
        assert_eq!(run(&"99  ".repeat(50)), 2);
    }

    #[test]
    fn may_match_skips_plain_words_and_keeps_candidates() {
        let set = DetectorSet::builtin();
        let running = |text: &str| {
            let profile = TextProfile::of(text);
            set.detectors()
                .filter(|d| d.may_match(&profile))
                .map(|d| d.class().to_owned())
                .collect::<Vec<_>>()
        };
        assert!(running("Berlin").is_empty());
        assert!(running("Rue de la Paix 1").is_empty());
        assert!(running("mail c1.x@example.com").contains(&"email".to_owned()));
        assert!(running("4111 1111 1111 1111").contains(&"card_number".to_owned()));
        assert!(running("078-05-1120").contains(&"national_id".to_owned()));
        assert!(!running("2023-05-12T08:30:00Z").contains(&"card_number".to_owned()));
        assert!(running("10.0.0.1").contains(&"ip_address".to_owned()));
        assert!(running("fe80::1").contains(&"ip_address".to_owned()));
        assert!(running("2001:db8:0:0:0:0:2:1").contains(&"ip_address".to_owned()));
        assert!(!running("08:30:00").contains(&"ip_address".to_owned()));
        for phone in [
            "+44 (0)20 7946 0958",
            "(212) 555-0142",
            "030/1234567",
            "0049 30 1234567",
        ] {
            assert!(running(phone).contains(&"phone".to_owned()), "{phone}");
        }
        assert!(!running("2023-05-12T08:30:00Z").contains(&"phone".to_owned()));
    }

    fn classes(set: &DetectorSet, text: &str) -> Vec<(String, String)> {
        set.find(text)
            .into_iter()
            .map(|f| (f.class.to_string(), text[f.start..f.end].to_owned()))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn mixed_text() {
        let set = DetectorSet::builtin();
        let text = "Kunde Jörg <jorg@example.de>, Karte 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, \
                    Tel. +49 30 1234567, SSN 123-45-6789, from 192.0.2.7 / 2001:db8::7; \
                    order ORD-4111111111111111-77 at 2024-01-15T10:30:00Z, v1.2.3.4.5 ✓";
        assert_eq!(
            classes(&set, text),
            pairs(&[
                ("email", "jorg@example.de"),
                ("card_number", "4111 1111 1111 1111"),
                ("iban", "DE89 3704 0044 0532 0130 00"),
                ("phone", "+49 30 1234567"),
                ("national_id", "123-45-6789"),
                ("ip_address", "192.0.2.7"),
                ("ip_address", "2001:db8::7"),
            ])
        );
    }

    #[test]
    fn overlaps_merge_to_the_longest() {
        let set = DetectorSet::builtin();
        // SSN vs national phone: same range, SSN comes first.
        assert_eq!(
            classes(&set, "id 059-64-0235"),
            pairs(&[("national_id", "059-64-0235")])
        );
        // A custom detector overlapping a built-in: union, longest's class.
        let mut set = DetectorSet::builtin();
        set.push(Box::new(
            RegexDetector::new("customer_ref", r"CUST 4111 1111", None).unwrap(),
        ));
        assert_eq!(
            classes(&set, "CUST 4111 1111 1111 1111"),
            pairs(&[("card_number", "CUST 4111 1111 1111 1111")])
        );
    }

    #[test]
    fn ties_go_to_the_earlier_detector() {
        let a = RegexDetector::new("a", "[0-9]{4}", None).unwrap();
        let b = RegexDetector::new("b", "[0-9]{4}", Some(Validator::Luhn)).unwrap();
        let set = DetectorSet::new(vec![Box::new(b.clone()), Box::new(a.clone())]);
        assert_eq!(&*set.find("x 4242 y")[0].class, "b");
        let set = DetectorSet::new(vec![Box::new(a), Box::new(b)]);
        assert_eq!(&*set.find("x 4242 y")[0].class, "a");
    }

    #[test]
    fn redact_with_replaces_each_finding() {
        let set = DetectorSet::builtin();
        let out = set.redact_with(
            "mail → bob@example.org or +44 20 7946 0958 ✓",
            |f, m| format!("[{}:{}]", f.class, m.chars().count()),
        );
        assert_eq!(out, "mail → [email:15] or [phone:16] ✓");
        let clean = "nothing here: v1.2.3, 2024-01-15";
        assert!(matches!(
            set.redact_with(clean, |_, _| unreachable!()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn findings_never_overlap_and_stay_on_char_boundaries() {
        let set = DetectorSet::builtin();
        let text = "é+33 1 83 41 77 76 ü 4111111111111111é 5555-5555-5555-4444 ☎ 10.0.0.1";
        let fs = set.find(text);
        assert!(fs.windows(2).all(|w| w[0].end <= w[1].start));
        for f in &fs {
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        }
        assert_eq!(fs.len(), 2);
        assert!(fs.iter().all(|f| f.class != Arc::from("phone")));
    }
}
