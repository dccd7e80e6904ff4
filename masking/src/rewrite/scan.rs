//! Whole-token scanners for the rewriter's fast paths.
//!
//! Each takes a token that lies entirely inside the current chunk and
//! returns where it ends, or `None` when the token is not complete in the
//! chunk or is not valid. They never report errors: on `None` the caller
//! hands the token to the byte-level state machine, which then either
//! resumes it in the next chunk or reports the error at the right offset.
//! So a fast path accepts a subset of what the state machine accepts, and
//! both give the same output.

/// A string token starting at the quote `input[at]`: the offset past its
/// closing quote, and whether it holds escapes. Validates escapes
/// (surrogate pairs included), control characters and UTF-8.
#[inline]
pub(super) fn string_end(input: &[u8], at: usize) -> Option<(usize, bool)> {
    debug_assert_eq!(input[at], b'"');
    let mut k = at + 1;
    let mut escaped = false;
    loop {
        let rest = &input[k..];
        let e = memchr::memchr2(b'"', b'\\', rest)?;
        if !plain_text(&rest[..e]) {
            return None;
        }
        k += e;
        if input[k] == b'"' {
            return Some((k + 1, escaped));
        }
        escaped = true;
        k = escape_end(input, k)?;
    }
}

/// Whether a run between escapes is valid string content: no control
/// character, valid UTF-8.
#[inline]
pub(super) fn plain_text(run: &[u8]) -> bool {
    // One vectorizable pass; UTF-8 is only checked when there are high bytes.
    let (ctrl, high) = run.iter().fold((false, false), |(c, h), &b| {
        (c | (b < 0x20), h | (b >= 0x80))
    });
    !ctrl && (!high || std::str::from_utf8(run).is_ok())
}

/// The escape starting at the backslash `input[at]`: the offset past it.
fn escape_end(input: &[u8], at: usize) -> Option<usize> {
    match *input.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 2),
        b'u' => {
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
        _ => None,
    }
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
            assert_eq!(
                string_end(text, 0),
                end,
                "{}",
                String::from_utf8_lossy(text)
            );
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
    fn literals() {
        assert_eq!(literal_end(b"true", 0), Some(4));
        assert_eq!(literal_end(b"false,", 0), Some(5));
        assert_eq!(literal_end(b"nul", 0), None);
        assert_eq!(literal_end(b"nulL", 0), None);
    }

    proptest::proptest! {
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
            match string_end(&input, 0) {
                Some((end, escaped)) => {
                    proptest::prop_assert!(serde_ok(&input[..end]));
                    proptest::prop_assert_eq!(escaped, input[..end].contains(&b'\\'));
                }
                None => proptest::prop_assert!(!serde_ok(&input[..body.len() + 2])),
            }
        }
    }
}
