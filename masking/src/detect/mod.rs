//! PII detectors: find personal data in free text so that `detect` can apply
//! the detected class's action to each match.
//!
//! Every detector is a linear-time regex (the `regex` crate: no backtracking,
//! no look-around) that proposes candidates, followed by a validator in Rust
//! (Luhn, ISO 7064 mod-97, SSN area rules, `std::net` address parsing) and a
//! token-boundary check. What each built-in recognizes is documented on its
//! type; the measured precision and recall are in `README.md` beside this file.
//!
//! | detector | class |
//! | --- | --- |
//! | [`EmailDetector`] | `email` |
//! | [`CardDetector`] | `card_number` |
//! | [`IbanDetector`] | `iban` |
//! | [`PhoneDetector`] | `phone` |
//! | [`SsnDetector`] | `national_id` |
//! | [`Ipv4Detector`], [`Ipv6Detector`] | `ip_address` |
//! | [`RegexDetector`] | any custom class |
//!
//! [`DetectorSet`] runs several detectors over a text and resolves overlaps.
//! Before any of them, it takes the text's [`TextProfile`] (digit count,
//! longest digit run, `@`, `:`, `::`, `.`, capitals before digits, phone
//! marks) and skips
//! each built-in whose pattern cannot match such a text
//! ([`Detector::may_match`]): most strings in a JSON body (names, cities, codes, timestamps) never
//! reach a regex. The skips are necessary conditions read off each pattern
//! and validator, so they change no finding (a property test checks it, and
//! the corpus figures are the same).

mod card;
mod email;
mod iban;
mod ip;
mod phone;
mod regex_detector;
mod set;
mod ssn;
pub(crate) mod validate;

pub use card::CardDetector;
pub use email::EmailDetector;
pub use iban::IbanDetector;
pub use ip::{Ipv4Detector, Ipv6Detector};
pub use phone::PhoneDetector;
pub use regex_detector::{DetectError, REGEX_SIZE_LIMIT, RegexDetector, Validator};
pub use set::DetectorSet;
pub use ssn::SsnDetector;

use std::sync::Arc;

use regex::Regex;
use wide::u8x16;

/// Finds the values of one data class in text.
///
/// Implementations must be linear in the length of the text: the gateway runs
/// them on attacker-influenced response bodies.
pub trait Detector: Send + Sync {
    /// The data class this detector reports (`email`, `card_number`, ...).
    fn class(&self) -> &str;

    /// Appends a [`Finding`] for every value of the class found in `text`,
    /// in ascending order of `start`, without overlaps between them.
    fn find(&self, text: &str, out: &mut Vec<Finding>);

    /// Whether a text with this profile can hold a value of the class at
    /// all, so that [`DetectorSet`] skips `find` when it cannot. It must
    /// never answer `false` for a text in which `find` would report
    /// something; the default (`true`) always runs `find`.
    fn may_match(&self, profile: &TextProfile) -> bool {
        let _ = profile;
        true
    }
}

/// Counts of the few characters the built-in detectors cannot match
/// without, taken once per text before any detector runs: most
/// strings in a JSON body (names, cities, codes, words) hold too few digits
/// and no `@`, and then no built-in regex needs to scan them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextProfile {
    /// ASCII digits `0`-`9`.
    pub digits: usize,
    /// At least the digits of the longest run of digits joined by single
    /// spaces, dashes or slashes (`4111 1111-1111`, `030/1234567`): exact
    /// from 9 digits on, else `digits` (no built-in needs it below that).
    pub longest_run: usize,
    /// Whether, with at least 8 digits, a mark that opens an international
    /// or parenthesized phone number appears: `+`, `(`, or `00` before a
    /// non-zero digit.
    pub phone_mark: bool,
    /// Whether two ASCII letters (either case) followed by two digits
    /// appear (`DE89`, `de89`), looked for only with at least two digits.
    pub letters_then_digits: bool,
    /// `@`.
    pub at_signs: usize,
    /// `:`.
    pub colons: usize,
    /// Whether `::` appears.
    pub double_colon: bool,
    /// `.`.
    pub dots: usize,
}

impl TextProfile {
    /// The profile of `text`.
    ///
    /// Sixteen bytes at a time: each kind of byte it looks for becomes a
    /// bitmask of the block (bit `i` for byte `i`), the counts are their
    /// population counts, and a pattern of a few bytes (`DE89`, `::`,
    /// `001`) is a shifted AND of the masks of the block and the one
    /// before, so patterns across blocks are found too. Most strings are
    /// one or two blocks; this costs about a quarter of a byte-at-a-time
    /// pass with its window scans, and `detect` takes it of every
    /// unclassified string.
    pub fn of(text: &str) -> Self {
        let mut counts = Counts::default();
        let mut previous = BlockMasks::default();
        for block in blocks(text.as_bytes()) {
            let masks = BlockMasks::of(&block);
            counts.add(&masks, &previous);
            previous = masks;
        }
        let digits = counts.digits;
        Self {
            digits,
            longest_run: if digits >= 9 {
                longest_run(text.as_bytes())
            } else {
                digits
            },
            phone_mark: digits >= 8 && counts.phone_mark,
            letters_then_digits: digits >= 2 && counts.letters_then_digits,
            at_signs: counts.at_signs,
            colons: counts.colons,
            double_colon: counts.double_colon,
            dots: counts.dots,
        }
    }
}

/// `bytes` sixteen at a time, the last block padded with NUL (which is
/// none of the kinds of byte [`BlockMasks`] looks for).
fn blocks(bytes: &[u8]) -> impl Iterator<Item = [u8; 16]> + '_ {
    let whole = bytes.chunks_exact(16);
    let rest = whole.remainder();
    let last = (!rest.is_empty()).then(|| {
        let mut last = [0u8; 16];
        last[..rest.len()].copy_from_slice(rest);
        last
    });
    whole
        .map(|block| <[u8; 16]>::try_from(block).expect("16 bytes"))
        .chain(last)
}

/// The bytes of one block of sixteen that [`TextProfile::of`] looks for,
/// as bitmasks (bit `i`: byte `i`).
#[derive(Clone, Copy, Default)]
struct BlockMasks {
    digits: u32,
    /// Space, `-` and `/`: what may join digits into a run.
    separators: u32,
    zeros: u32,
    letters: u32,
    colons: u32,
    dots: u32,
    at_signs: u32,
    /// `+` and `(`.
    phone_opens: u32,
}

impl BlockMasks {
    #[inline(always)]
    fn of(block: &[u8; 16]) -> Self {
        let v = u8x16::new(*block);
        let in_range = |lanes: u8x16, first: u8, len: u8| {
            let offset = lanes - u8x16::splat(first);
            offset
                .min(u8x16::splat(len - 1))
                .simd_eq(offset)
                .to_bitmask()
        };
        let byte = |b: u8| v.simd_eq(u8x16::splat(b)).to_bitmask();
        Self {
            digits: in_range(v, b'0', 10),
            zeros: byte(b'0'),
            separators: byte(b' ') | byte(b'-') | byte(b'/'),
            // ASCII letters of either case: `| 0x20` lowers the capitals
            // and maps no other byte into `a..=z`.
            letters: in_range(v | u8x16::splat(0x20), b'a', 26),
            colons: byte(b':'),
            dots: byte(b'.'),
            at_signs: byte(b'@'),
            phone_opens: byte(b'+') | byte(b'('),
        }
    }
}

/// What [`TextProfile::of`] has seen so far.
#[derive(Default)]
struct Counts {
    digits: usize,
    colons: usize,
    dots: usize,
    at_signs: usize,
    phone_mark: bool,
    letters_then_digits: bool,
    double_colon: bool,
}

impl Counts {
    /// Adds a block, `previous` being the one before it (all zeros for
    /// the first): a pattern ending in this block may start there.
    #[inline(always)]
    fn add(&mut self, block: &BlockMasks, previous: &BlockMasks) {
        let ones = |mask: u32| mask.count_ones() as usize;
        self.digits += ones(block.digits);
        self.colons += ones(block.colons);
        self.dots += ones(block.dots);
        self.at_signs += ones(block.at_signs);
        // The previous block's last three bytes, then this block's.
        let joined = |mask: fn(&BlockMasks) -> u32| (mask(previous) >> 13) | (mask(block) << 3);
        let digits = joined(|m| m.digits);
        let letters = joined(|m| m.letters);
        let zeros = joined(|m| m.zeros);
        let colons = joined(|m| m.colons);
        self.letters_then_digits |= letters & (letters >> 1) & (digits >> 2) & (digits >> 3) != 0;
        self.double_colon |= colons & (colons >> 1) != 0;
        // `00` before a digit that is not `0`.
        self.phone_mark |=
            block.phone_opens != 0 || zeros & (zeros >> 1) & ((digits & !zeros) >> 2) != 0;
    }
}

/// One detected value: a byte range of the scanned text and its class.
///
/// `Debug` shows only the offsets and the class, never the matched value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Byte offset of the first byte of the value (on a char boundary).
    pub start: usize,
    /// Byte offset one past the last byte of the value (on a char boundary).
    pub end: usize,
    /// The data class of the value.
    pub class: Arc<str>,
}

impl Finding {
    /// A finding of `class` over `start..end`.
    pub fn new(start: usize, end: usize, class: Arc<str>) -> Self {
        Self { start, end, class }
    }

    /// Length of the finding in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty range (never produced by the built-in detectors).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Class names of the built-in detectors (the built-in classes of the model).
pub(crate) mod class {
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const CARD: &str = "card_number";
    pub(crate) const IBAN: &str = "iban";
    pub(crate) const PHONE: &str = "phone";
    pub(crate) const NATIONAL_ID: &str = "national_id";
    pub(crate) const IP: &str = "ip_address";
}

/// The classes [`DetectorSet::builtin`] reports.
pub const BUILTIN_DETECTED_CLASSES: [&str; 6] = [
    class::EMAIL,
    class::CARD,
    class::IBAN,
    class::PHONE,
    class::NATIONAL_ID,
    class::IP,
];

/// The digits of the longest run of digits joined by single spaces, dashes
/// or slashes: it holds every candidate of [`CardDetector`] and
/// [`SsnDetector`] (spaces and dashes) and every national number of
/// [`PhoneDetector`] (spaces, dashes and one slash).
///
/// Sixteen bytes at a time, as [`TextProfile::of`]: a run is a stretch of
/// bytes each a digit, or a separator with a digit on each side (so two
/// separators in a row end it), and its length is the digits in it.
/// Timestamps and ids have nine digits and more: most strings with that
/// many come here.
fn longest_run(bytes: &[u8]) -> usize {
    let mut runs = Runs::default();
    let mut masks = blocks(bytes).map(|block| {
        let masks = BlockMasks::of(&block);
        (masks.digits, masks.separators)
    });
    let mut next = masks.next();
    // Bit 0: whether the byte before the block is a digit.
    let mut digit_before = 0;
    while let Some((digits, separators)) = next {
        next = masks.next();
        let first_after = next.map_or(0, |(d, _)| d & 1);
        let before = ((digits << 1) | digit_before) & 0xFFFF;
        let after = (digits >> 1) | (first_after << 15);
        runs.add(digits | (separators & before & after), digits);
        digit_before = digits >> 15;
    }
    runs.longest.max(runs.open)
}

/// The runs [`longest_run`] has seen.
#[derive(Default)]
struct Runs {
    longest: usize,
    /// The digits of the run that reaches the end of the last block.
    open: usize,
}

impl Runs {
    /// Adds a block whose bytes in runs are `joined`, its digits `digits`.
    fn add(&mut self, joined: u32, digits: u32) {
        if joined & 1 == 0 {
            self.close();
        }
        let mut rest = joined;
        while rest != 0 {
            let start = rest.trailing_zeros();
            let len = (!(rest >> start)).trailing_zeros();
            let run = ((1u32 << len) - 1) << start;
            if start > 0 {
                self.close();
            }
            self.open += (digits & run).count_ones() as usize;
            rest &= !run;
        }
        if joined & 0x8000 == 0 {
            self.close();
        }
    }

    fn close(&mut self) {
        self.longest = self.longest.max(self.open);
        self.open = 0;
    }
}

/// Compiles a built-in pattern (covered by the detectors' unit tests).
pub(crate) fn builtin_regex(pattern: &str) -> Regex {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .expect("built-in detector pattern compiles")
}

/// Characters that glue a number to its neighbours into a longer identifier
/// (`ORD-4111…-77`, `1.2.3.4.5`, `2024/01/15`, `id_123`).
const JOINERS: [char; 4] = ['-', '.', '/', '_'];

/// True when `text[start..end]` stands as a token of its own: the character
/// before it is neither alphanumeric nor `_`, nor a joiner (`- . / _`) that is
/// itself preceded by an alphanumeric; the same holds after it (a joiner
/// followed by an alphanumeric refuses). So `4111111111111111` in
/// `ORD-4111111111111111-77`, `1.2.3.4` in `1.2.3.4.5` and `555-0142` in
/// `2024-555-0142` are not tokens, while a sentence's final period is fine.
pub(crate) fn is_token(text: &str, start: usize, end: usize) -> bool {
    let mut before = text[..start].chars().rev();
    if let Some(c) = before.next() {
        if c.is_alphanumeric() || c == '_' {
            return false;
        }
        if JOINERS.contains(&c) && before.next().is_some_and(char::is_alphanumeric) {
            return false;
        }
    }
    let mut after = text[end..].chars();
    if let Some(c) = after.next() {
        if c.is_alphanumeric() || c == '_' {
            return false;
        }
        if JOINERS.contains(&c) && after.next().is_some_and(char::is_alphanumeric) {
            return false;
        }
    }
    true
}

/// Runs `re` over `text`, asking `check` about each candidate; `check` returns
/// the accepted range (possibly narrowed) or `None`. After a refused candidate
/// the search resumes one character after its start, so that a candidate
/// which swallowed the start of a real value does not hide it. Patterns used
/// here have bounded length, so the scan stays linear (times that bound).
pub(crate) fn scan(
    re: &Regex,
    text: &str,
    mut check: impl FnMut(usize, usize) -> Option<(usize, usize)>,
    mut emit: impl FnMut(usize, usize),
) {
    let mut at = 0;
    while at <= text.len() {
        let Some(m) = re.find_at(text, at) else {
            break;
        };
        match check(m.start(), m.end()) {
            Some((s, e)) if e > s => {
                emit(s, e);
                at = e;
            }
            _ => at = next_char(text, m.start()),
        }
    }
}

/// The char boundary after the char starting at `i` (or `len + 1` at the end).
fn next_char(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| i + c.len_utf8())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{Detector, Finding};

    /// The matched substrings, for compact assertions.
    pub(crate) fn found<'t>(d: &dyn Detector, text: &'t str) -> Vec<&'t str> {
        let mut out: Vec<Finding> = Vec::new();
        d.find(text, &mut out);
        for f in &out {
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            assert_eq!(&*f.class, d.class());
        }
        out.iter().map(|f| &text[f.start..f.end]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_boundaries() {
        let t = "ORD-4111111111111111-77";
        assert!(!is_token(t, 4, 20));
        let t = "x 1.2.3.4.5";
        assert!(!is_token(t, 2, 9));
        let t = "(1.2.3.4).";
        assert!(is_token(t, 1, 8));
        let t = "é1.2.3.4";
        assert!(!is_token(t, 2, t.len()));
        let t = "→1.2.3.4←";
        assert!(is_token(t, 3, 10));
        let t = "ends 1.2.3.4.";
        assert!(is_token(t, 5, 12));
    }
}
