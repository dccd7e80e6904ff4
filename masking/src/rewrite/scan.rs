//! Whole-token scanners for the rewriter's fast paths.
//!
//! Each takes a token that lies entirely inside the current chunk and
//! returns where it ends, or `None` when the token is not complete in the
//! chunk or is not valid. They never report errors: on `None` the caller
//! hands the token to the byte-level state machine, which then either
//! resumes it in the next chunk or reports the error at the right offset.
//! So a fast path accepts a subset of what the state machine accepts, and
//! both give the same output.

use wide::u8x16;

use crate::action::{json_escape_lanes, needs_json_escape};

/// What is learned about a chunk in one pass before it is tokenized:
///
/// - where it is valid UTF-8 (checked with `simdutf8`), so that string runs
///   need not be checked again, with the text of that span, so that a member
///   name or string value lying whole in it is had as `&str` without another
///   check;
/// - a bitmap of the bytes that end a run of plain string content (`"`,
///   `\`, control characters), so that finding the end of a string is a
///   bit scan.
///
/// The UTF-8 span starts after any continuation bytes that open the chunk
/// (the end of a character split across chunks, which the state machine
/// checks) and ends before the first invalid or incomplete sequence. Outside
/// strings valid JSON is ASCII, so a run of string content that lies inside
/// the span and starts and ends next to an ASCII delimiter is valid UTF-8 by
/// itself.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ChunkIndex<'a> {
    from: usize,
    text: &'a str,
    /// Bit `k % 64` of word `k / 64`: byte `k` ends plain string content.
    stops: &'a [u64],
}

/// Where a chunk is valid UTF-8 (the first half of a [`ChunkIndex`], all
/// that the whole-body path needs): the span's start and its text.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Utf8Span<'a> {
    from: usize,
    text: &'a str,
}

impl<'a> Utf8Span<'a> {
    /// Checks `chunk` (with `simdutf8`).
    pub(super) fn of(chunk: &'a [u8]) -> Self {
        let from = chunk
            .iter()
            .take(3)
            .take_while(|&&b| (0x80..0xC0).contains(&b))
            .count();
        let text = match simdutf8::compat::from_utf8(&chunk[from..]) {
            Ok(text) => text,
            // Checked again up to where it failed, for the `&str`: a chunk
            // that ends inside a character, or holds an error that the
            // tokenizer will report.
            Err(e) => {
                simdutf8::basic::from_utf8(&chunk[from..from + e.valid_up_to()]).unwrap_or_default()
            }
        };
        Self { from, text }
    }

    /// The whole of `chunk` as text, if it is valid UTF-8 throughout.
    pub(super) fn whole(self, chunk: &[u8]) -> Option<&'a str> {
        (self.from == 0 && self.text.len() == chunk.len()).then_some(self.text)
    }
}

impl<'a> ChunkIndex<'a> {
    /// Indexes `chunk`, with its stop bitmap built in `stops` (at least
    /// one word per 64 bytes of the chunk).
    #[cfg(test)]
    fn new(chunk: &'a [u8], stops: &'a mut [u64]) -> Self {
        Self::with_span(chunk, Utf8Span::of(chunk), stops)
    }

    /// [`new`](Self::new), with the chunk's UTF-8 span already checked.
    pub(super) fn with_span(chunk: &'a [u8], span: Utf8Span<'a>, stops: &'a mut [u64]) -> Self {
        Self {
            from: span.from,
            text: span.text,
            stops: build_stops(chunk, stops),
        }
    }

    /// Whether `chunk[a..b]` (a run between ASCII delimiters) is known valid.
    #[inline]
    fn covers(self, a: usize, b: usize) -> bool {
        self.from <= a && b <= self.from + self.text.len()
    }

    /// Whether the run `chunk[a..b]` is valid UTF-8: known, or checked now.
    #[inline]
    pub(super) fn valid(self, chunk: &[u8], a: usize, b: usize) -> bool {
        self.covers(a, b) || std::str::from_utf8(&chunk[a..b]).is_ok()
    }

    /// `chunk[a..b]` as text, if it lies in the span on character
    /// boundaries.
    #[inline]
    pub(super) fn text(self, a: usize, b: usize) -> Option<&'a str> {
        if a < self.from {
            return None;
        }
        self.text.get(a - self.from..b - self.from)
    }

    /// The chunk from `a` on as text, as far as it is known valid (`None`
    /// if `a` is not on a character boundary in the span).
    pub(super) fn text_from(self, a: usize) -> Option<&'a str> {
        self.text.get(a.checked_sub(self.from)?..)
    }

    /// The first offset at or after `k` whose byte ends plain string
    /// content (`"`, `\`, a control character).
    #[inline]
    pub(super) fn next_stop(self, k: usize) -> Option<usize> {
        let mut w = k / 64;
        let mut bits = *self.stops.get(w)? >> (k % 64);
        if bits != 0 {
            return Some(k + bits.trailing_zeros() as usize);
        }
        loop {
            w += 1;
            bits = *self.stops.get(w)?;
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
        }
    }
}

/// Fills the start of `stops` with the bitmap of the bytes of `chunk` that
/// end plain string content, and returns that part.
///
/// Hand-written: `memchr` searches for up to three given bytes, one match
/// at a time, and cannot take a range (the control characters); this marks
/// every stop of the chunk in one pass, sixteen bytes to a vector compare
/// (`json_escape_lanes`: safe SIMD through `wide`, no runtime dispatch).
fn build_stops<'a>(chunk: &[u8], stops: &'a mut [u64]) -> &'a [u64] {
    let stops = &mut stops[..chunk.len().div_ceil(64)];
    let mut blocks = chunk.chunks_exact(64);
    for (word, block) in stops.iter_mut().zip(&mut blocks) {
        *word = block_stops(block.try_into().expect("chunks_exact"));
    }
    let tail = blocks.remainder();
    if tail.is_empty() {
        return stops;
    }
    let last = &mut stops[chunk.len() / 64];
    *last = match chunk.last_chunk::<64>() {
        // The chunk's last 64 bytes, the tail's bits shifted down: read in
        // place, where a block padded on the stack is written in pieces and
        // read back whole (a store-forwarding stall on every small body).
        Some(block) => block_stops(block) >> (64 - tail.len()),
        None => {
            // Padded with a byte that is no stop.
            let mut block = [b'a'; 64];
            block[..tail.len()].copy_from_slice(tail);
            block_stops(&block)
        }
    };
    stops
}

/// The stops of a 64-byte block, sixteen bytes to a vector compare.
#[inline]
fn block_stops(block: &[u8; 64]) -> u64 {
    let mut mask = 0;
    for (k, lanes) in block.chunks_exact(16).enumerate() {
        let stops = json_escape_lanes(lanes.try_into().expect("chunks_exact"));
        mask |= u64::from(stops.to_bitmask()) << (16 * k);
    }
    mask
}

/// A string token starting at the quote `input[at]`: the offset past its
/// closing quote, and whether it holds escapes. Validates escapes
/// (surrogate pairs included), control characters and UTF-8 (runs inside
/// the index's UTF-8 span were checked with the chunk).
#[inline(always)]
pub(super) fn string_end(input: &[u8], at: usize, index: ChunkIndex<'_>) -> Option<(usize, bool)> {
    debug_assert_eq!(input[at], b'"');
    // Most strings: no escape, inside the chunk's UTF-8 span.
    let e = index.next_stop(at + 1)?;
    if input[e] == b'"' && index.covers(at + 1, e) {
        return Some((e + 1, false));
    }
    string_end_slow(input, at, &index)
}

/// A reader of a chunk's stop bitmap that keeps the word it read last.
///
/// Tokens lie a few bytes apart, most of them in the word of the one
/// before: read through a cursor, a string's end is found from the word in
/// a register, and the load leaves the chain that runs from one token's
/// end to the next one's (where [`string_end`] reads the word again).
#[derive(Clone, Copy)]
pub(super) struct StopCursor<'a> {
    index: ChunkIndex<'a>,
    /// The word last read, and its number (`usize::MAX`: none yet).
    w: usize,
    word: u64,
}

impl<'a> StopCursor<'a> {
    pub(super) fn new(index: ChunkIndex<'a>) -> Self {
        Self {
            index,
            w: usize::MAX,
            word: 0,
        }
    }

    /// [`ChunkIndex::next_stop`].
    #[inline(always)]
    fn next_stop(&mut self, k: usize) -> Option<usize> {
        let w = k / 64;
        if w != self.w {
            self.word = *self.index.stops.get(w)?;
            self.w = w;
        }
        let bits = self.word >> (k % 64);
        if bits != 0 {
            return Some(k + bits.trailing_zeros() as usize);
        }
        let e = self.index.next_stop(k)?;
        self.w = e / 64;
        self.word = self.index.stops[self.w];
        Some(e)
    }

    /// [`string_end`], read through the cursor. (`string_end` keeps its
    /// own four lines: written as a fresh cursor's, it cost the 10-path
    /// 100KB bench 4% more instructions.)
    #[inline(always)]
    pub(super) fn string_end(&mut self, input: &[u8], at: usize) -> Option<(usize, bool)> {
        let e = self.next_stop(at + 1)?;
        if input[e] == b'"' && self.index.covers(at + 1, e) {
            return Some((e + 1, false));
        }
        string_end_slow(input, at, &self.index)
    }
}

/// [`string_end`] in `input` known to be valid UTF-8 throughout (a
/// [`Utf8Span::whole`] chunk), with no index: the stops are found sixteen
/// bytes at a time ([`next_stop_in_text`]), and a run of plain content
/// needs no check.
#[inline(always)]
pub(super) fn string_end_in_text(input: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut k = at + 1;
    // Most strings end in their first sixteen bytes: whether the first stop
    // is the closing quote is read from the compare, not loaded again.
    if let Some(block) = input.get(k..k + 16) {
        let block: &[u8; 16] = block.try_into().expect("16 bytes");
        let stops = json_escape_lanes(block).to_bitmask();
        if stops != 0 {
            let quotes = u8x16::new(*block).simd_eq(u8x16::splat(b'"')).to_bitmask();
            if stops & quotes & stops.wrapping_neg() != 0 {
                return Some((k + stops.trailing_zeros() as usize + 1, false));
            }
            // An escape (or a control character) first.
            return string_end_slow(input, at, &InText);
        }
        k += 16;
    }
    let e = next_stop_in_text(input, k)?;
    if input[e] == b'"' {
        return Some((e + 1, false));
    }
    string_end_slow(input, at, &InText)
}

/// The first offset at or after `k` whose byte ends plain string content,
/// found by comparing sixteen bytes at a time from `k` on.
///
/// For a body rewritten whole, most often a small one: a bitmap of every
/// stop ([`ChunkIndex`]) costs a pass over all of it, where a body's
/// strings are short and the pass is most of the work.
#[inline(always)]
pub(super) fn next_stop_in_text(input: &[u8], mut k: usize) -> Option<usize> {
    let stops = |block: &[u8]| json_escape_lanes(block.try_into().expect("16 bytes")).to_bitmask();
    while let Some(block) = input.get(k..k + 16) {
        let bits = stops(block);
        if bits != 0 {
            return Some(k + bits.trailing_zeros() as usize);
        }
        k += 16;
    }
    // Fewer than sixteen bytes left: the last sixteen of the input, those
    // before `k` shifted out (or byte by byte, in an input that short).
    let Some(last) = input.len().checked_sub(16) else {
        let rest = input.get(k..)?;
        return rest
            .iter()
            .position(|&b| needs_json_escape(b))
            .map(|p| k + p);
    };
    let bits = stops(&input[last..]).checked_shr((k - last) as u32)?;
    (bits != 0).then(|| k + bits.trailing_zeros() as usize)
}

/// How a string's scan finds its stops and knows its runs valid: a chunk's
/// bitmap and UTF-8 span, or text scanned as it goes.
trait Stops {
    fn next_stop(&self, input: &[u8], k: usize) -> Option<usize>;
    fn valid(&self, input: &[u8], a: usize, b: usize) -> bool;
}

impl Stops for ChunkIndex<'_> {
    #[inline(always)]
    fn next_stop(&self, _: &[u8], k: usize) -> Option<usize> {
        ChunkIndex::next_stop(*self, k)
    }

    #[inline(always)]
    fn valid(&self, input: &[u8], a: usize, b: usize) -> bool {
        ChunkIndex::valid(*self, input, a, b)
    }
}

/// Input known to be valid UTF-8 throughout ([`string_end_in_text`]).
struct InText;

impl Stops for InText {
    #[inline(always)]
    fn next_stop(&self, input: &[u8], k: usize) -> Option<usize> {
        next_stop_in_text(input, k)
    }

    #[inline(always)]
    fn valid(&self, _: &[u8], _: usize, _: usize) -> bool {
        true
    }
}

/// [`string_end`] for strings with escapes, or outside the UTF-8 span.
#[inline(never)]
fn string_end_slow(input: &[u8], at: usize, stops: &impl Stops) -> Option<(usize, bool)> {
    let mut k = at + 1;
    let mut escaped = false;
    loop {
        let e = stops.next_stop(input, k)?;
        if input[e] < 0x20 || !stops.valid(input, k, e) {
            return None;
        }
        k = e;
        if input[k] == b'"' {
            return Some((k + 1, escaped));
        }
        escaped = true;
        k = escape_end(input, k)?;
    }
}

/// The escape starting at the backslash `input[at]`: the offset past it.
#[inline(always)]
fn escape_end(input: &[u8], at: usize) -> Option<usize> {
    match *input.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 2),
        b'u' => unicode_escape_end(input, at),
        _ => None,
    }
}

/// [`escape_end`] of a `\uXXXX` escape (a surrogate pair is two), out of
/// line: the two-byte escapes are the common ones, inlined where strings
/// are scanned.
#[inline(never)]
fn unicode_escape_end(input: &[u8], at: usize) -> Option<usize> {
    let unit = hex4(input.get(at + 2..at + 6)?)?;
    match unit {
        0xD800..=0xDBFF => {
            if input.get(at + 6..at + 8)? != b"\\u" {
                return None;
            }
            let low = hex4(input.get(at + 8..at + 12)?)?;
            (0xDC00..=0xDFFF).contains(&low).then_some(at + 12)
        }
        0xDC00..=0xDFFF => None,
        _ => Some(at + 6),
    }
}

/// Appends the decoded contents of a string token to `into`: `content` is
/// what lies between its quotes. `None` (with `into` partly written) if an
/// escape is not valid; the whole-token paths only call it on tokens
/// [`string_end`] accepted, so that is a fallback, never an answer. The
/// escapes are found sixteen bytes at a time ([`next_stop_in_text`]: in
/// such content every stop is a backslash).
pub(super) fn unescape_into(content: &str, into: &mut String) -> Option<()> {
    let mut rest = content;
    while let Some(k) = next_stop_in_text(rest.as_bytes(), 0) {
        into.push_str(&rest[..k]);
        let escape = &rest.as_bytes()[k..];
        if escape[0] != b'\\' {
            return None;
        }
        let used = escape_end(escape, 0)?;
        let ch = match escape[1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                let unit = u32::from(hex4(&escape[2..6])?);
                let code = if used == 12 {
                    let low = u32::from(hex4(&escape[8..12])?);
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                char::from_u32(code)?
            }
        };
        into.push(ch);
        rest = &rest[k + used..];
    }
    into.push_str(rest);
    Some(())
}

fn hex4(digits: &[u8]) -> Option<u16> {
    digits.iter().try_fold(0u16, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some((acc << 4) | u16::from(d))
    })
}

/// A number starting at `input[at]`, followed by another byte in the chunk:
/// the offset past it (RFC 8259 grammar).
#[inline]
pub(super) fn number_end(input: &[u8], at: usize) -> Option<usize> {
    let digits = |mut k: usize| {
        while k < input.len() && input[k].is_ascii_digit() {
            k += 1;
        }
        k
    };
    let mut k = at;
    if input.get(k) == Some(&b'-') {
        k += 1;
    }
    match *input.get(k)? {
        b'0' => k += 1,
        b'1'..=b'9' => k = digits(k + 1),
        _ => return None,
    }
    if input.get(k) == Some(&b'.') {
        let after = digits(k + 1);
        if after == k + 1 {
            return None;
        }
        k = after;
    }
    if matches!(input.get(k), Some(b'e' | b'E')) {
        k += 1;
        if matches!(input.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let after = digits(k);
        if after == k {
            return None;
        }
        k = after;
    }
    // The number must be known to have ended within this chunk.
    (k < input.len()).then_some(k)
}

/// `true`, `false` or `null` starting at `input[at]`: the offset past it.
#[inline]
pub(super) fn literal_end(input: &[u8], at: usize) -> Option<usize> {
    let word: &[u8] = match input[at] {
        b't' => b"true",
        b'f' => b"false",
        b'n' => b"null",
        _ => return None,
    };
    (input.get(at..at + word.len())? == word).then_some(at + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::needs_json_escape;

    #[test]
    fn strings() {
        for (text, end) in [
            (&br#""" x"#[..], Some((2, false))),
            (br#""abc""#, Some((5, false))),
            (br#""a\"b\\c\/\b\f\n\r\t""#, Some((21, true))),
            (br#""\u00e9\uD83D\uDE00""#, Some((20, true))),
            ("\"é😀\"".as_bytes(), Some((8, false))),
            (br#""abc"#, None),
            (br#""a\"#, None),
            (br#""\u00e"#, None),
            (br#""\uD83D""#, None),
            (br#""\uD83D\u0041""#, None),
            (br#""\uDE00""#, None),
            (br#""\x""#, None),
            (b"\"a\x01\"", None),
            (b"\"a\xff\"", None),
            (b"\"a\xc3\"", None),
            (b"\"\xc3\\n\xa9\"", None),
        ] {
            let mut stops = vec![0; text.len().div_ceil(64)];
            let index = ChunkIndex::new(text, &mut stops);
            assert_eq!(
                string_end(text, 0, index),
                end,
                "{}",
                String::from_utf8_lossy(text)
            );
            // The same without the chunk's UTF-8 check: each run checked.
            let unchecked = ChunkIndex { text: "", ..index };
            assert_eq!(string_end(text, 0, unchecked), end);
            // And in a chunk known valid throughout.
            if Utf8Span::of(text).whole(text).is_some() {
                assert_eq!(string_end_in_text(text, 0), end);
            }
        }
    }

    #[test]
    fn numbers() {
        for (text, end) in [
            (&b"0,"[..], Some(1)),
            (b"-12.5e+3]", Some(8)),
            (b"1E9 ", Some(3)),
            (b"01", Some(1)),
            (b"12", None),
            (b"-", None),
            (b"-x", None),
            (b"1.", None),
            (b"1.x", None),
            (b"1e", None),
            (b"1e+,", None),
        ] {
            assert_eq!(
                number_end(text, 0),
                end,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn block_stops_are_the_bytes_json_escapes() {
        // Every byte value in every lane of the block.
        for b in 0..=u8::MAX {
            for at in 0..64 {
                let mut block = [b'a'; 64];
                block[at] = b;
                let expected = u64::from(needs_json_escape(b)) << at;
                assert_eq!(block_stops(&block), expected, "byte {b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn literals() {
        assert_eq!(literal_end(b"true", 0), Some(4));
        assert_eq!(literal_end(b"false,", 0), Some(5));
        assert_eq!(literal_end(b"nul", 0), None);
        assert_eq!(literal_end(b"nulL", 0), None);
    }

    proptest::proptest! {
        #[test]
        fn next_stop_finds_the_next_delimiter_or_control(
            s in proptest::collection::vec(proptest::sample::select(
                b"ab \"\\\x00\x1f\x20\x7f\x80\xff".to_vec()), 0..300),
            from in 0usize..300,
        ) {
            let from = from.min(s.len());
            let naive = s[from..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|k| from + k);
            let mut stops = vec![0; s.len().div_ceil(64)];
            proptest::prop_assert_eq!(ChunkIndex::new(&s, &mut stops).next_stop(from), naive);
            proptest::prop_assert_eq!(next_stop_in_text(&s, from), naive);
        }

        #[test]
        fn utf8_span_only_covers_valid_runs(
            s in proptest::collection::vec(proptest::sample::select(
                b"a\"\x80\xbf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff".to_vec()), 0..40),
        ) {
            let mut stops = vec![0; s.len().div_ceil(64)];
            let span = ChunkIndex::new(&s, &mut stops);
            // Every run between two ASCII bytes (or the ends) inside the span
            // must be valid by itself.
            let cuts: Vec<usize> = std::iter::once(0)
                .chain((0..s.len()).filter(|&k| s[k] < 0x80).flat_map(|k| [k, k + 1]))
                .chain(std::iter::once(s.len()))
                .collect();
            for &a in &cuts {
                for &b in &cuts {
                    if a <= b && span.covers(a, b) {
                        proptest::prop_assert!(std::str::from_utf8(&s[a..b]).is_ok());
                    }
                }
            }
            if std::str::from_utf8(&s).is_ok() {
                proptest::prop_assert!(span.covers(0, s.len()));
            }
        }

        #[test]
        fn strings_agree_with_serde_json(
            body in proptest::collection::vec(proptest::sample::select(
                b"ab \"\\/bfnrtu0123456789aAdDeEfF\x00\x1f\x7f\x80\xbf\xc2\xc3\xa9\xe0\xed\xa0\xf0\x90\xf4\xff".to_vec()), 0..24),
            pad in 0usize..10,
        ) {
            let mut input = vec![b'"'];
            input.extend_from_slice(&body);
            input.push(b'"');
            input.extend(std::iter::repeat_n(b' ', pad));
            let serde_ok = |s: &[u8]| serde_json::from_slice::<String>(s).is_ok();
            let mut stops = vec![0; input.len().div_ceil(64)];
            let index = ChunkIndex::new(&input, &mut stops);
            let end = string_end(&input, 0, index);
            if Utf8Span::of(&input).whole(&input).is_some() {
                proptest::prop_assert_eq!(string_end_in_text(&input, 0), end);
            }
            match end {
                Some((end, escaped)) => {
                    proptest::prop_assert!(serde_ok(&input[..end]));
                    proptest::prop_assert_eq!(escaped, input[..end].contains(&b'\\'));
                    // And its decoded contents are serde_json's.
                    let content = std::str::from_utf8(&input[1..end - 1]).unwrap();
                    let mut decoded = String::new();
                    proptest::prop_assert!(unescape_into(content, &mut decoded).is_some());
                    let serde: String = serde_json::from_slice(&input[..end]).unwrap();
                    proptest::prop_assert_eq!(decoded, serde);
                }
                None => proptest::prop_assert!(!serde_ok(&input[..body.len() + 2])),
            }
        }
    }
}
