//! The selector parser: RFC 9535 grammar, streamable subset.

use std::fmt;

use super::{MAX_SEGMENTS, Segment, Sel, Selector};

/// A selector that is not valid JSONPath, or uses JSONPath that cannot be
/// decided while streaming. `Display` names the selector, the column (in
/// characters, from 1) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    selector: String,
    column: usize,
    kind: SelectorErrorKind,
}

impl SelectorError {
    /// The selector as written.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Where the problem is: a character position, from 1.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What the problem is.
    pub fn kind(&self) -> &SelectorErrorKind {
        &self.kind
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "selector `{}`: at column {}: {}",
            self.selector.escape_debug(),
            self.column,
            self.kind
        )
    }
}

impl std::error::Error for SelectorError {}

/// What is wrong with a selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorErrorKind {
    // --- valid JSONPath, but not decidable while streaming
    /// A filter selector `?...`.
    #[error("filter selectors (`?`) are not supported: they cannot be decided while streaming")]
    Filter,
    /// The current-node identifier `@` (only meaningful inside filters).
    #[error("the current node `@` is not supported (it only appears in filters)")]
    CurrentNode,
    /// A function extension such as `length(...)`.
    #[error("function extensions (`{0}(...)`) are not supported")]
    Function(String),
    /// A negative array index.
    #[error(
        "negative index {0} is not supported: it counts from the array's end, unknown while streaming"
    )]
    NegativeIndex(i64),
    /// A negative slice start or end.
    #[error(
        "negative slice bound {0} is not supported: it counts from the array's end, unknown while streaming"
    )]
    NegativeSliceBound(i64),
    /// A negative slice step.
    #[error("negative slice step {0} is not supported: it walks the array backwards")]
    NegativeStep(i64),
    /// A slice step of 0 (selects nothing).
    #[error("slice step 0 selects nothing")]
    ZeroStep,
    /// More segments than the matcher handles.
    #[error("more than {MAX_SEGMENTS} segments")]
    TooManySegments,

    // --- not JSONPath
    /// The selector does not start with `$`.
    #[error("a selector starts with `$` (the root)")]
    ExpectedRoot,
    /// A character that does not fit here.
    #[error("unexpected `{}`: expected {expected}", found.escape_debug())]
    Unexpected {
        /// The character found.
        found: char,
        /// What the grammar wanted there.
        expected: &'static str,
    },
    /// The selector ends in the middle of something.
    #[error("unexpected end: expected {0}")]
    UnexpectedEnd(&'static str),
    /// A bad escape sequence in a quoted name.
    #[error("invalid escape in a quoted name")]
    InvalidEscape,
    /// A control character in a quoted name (must be escaped).
    #[error("unescaped control character in a quoted name")]
    ControlCharacter,
    /// An integer with leading zeros, `-0`, or beyond ±(2^53-1).
    #[error("invalid integer (no leading zeros, no -0, at most 2^53-1 in magnitude)")]
    InvalidInteger,
}

const MAX_INT: i64 = (1 << 53) - 1;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

pub(super) fn parse(text: &str) -> Result<Selector, SelectorError> {
    let mut p = Parser { text, pos: 0 };
    p.selector().map_err(|(pos, kind)| SelectorError {
        selector: text.to_owned(),
        column: text[..pos.min(text.len())].chars().count() + 1,
        kind,
    })
}

type PResult<T> = Result<T, (usize, SelectorErrorKind)>;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.text[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err<T>(&self, kind: SelectorErrorKind) -> PResult<T> {
        Err((self.pos, kind))
    }

    fn unexpected<T>(&self, expected: &'static str) -> PResult<T> {
        match self.peek() {
            Some(found) => self.err(SelectorErrorKind::Unexpected { found, expected }),
            None => self.err(SelectorErrorKind::UnexpectedEnd(expected)),
        }
    }

    fn expect(&mut self, c: char, expected: &'static str) -> PResult<()> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            self.unexpected(expected)
        }
    }

    /// Blank space (RFC 9535 `S`).
    fn blank(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    fn selector(&mut self) -> PResult<Selector> {
        match self.peek() {
            Some('$') => self.pos += 1,
            Some('@') => return self.err(SelectorErrorKind::CurrentNode),
            _ => return self.err(SelectorErrorKind::ExpectedRoot),
        }
        let mut segments = Vec::new();
        loop {
            self.blank();
            if self.peek().is_none() {
                if self.text[..self.pos].ends_with([' ', '\t', '\n', '\r']) {
                    // Blank space is allowed only before a segment.
                    self.pos -= 1;
                    return self.unexpected("a segment after blank space");
                }
                break;
            }
            if segments.len() == MAX_SEGMENTS {
                return self.err(SelectorErrorKind::TooManySegments);
            }
            segments.push(self.segment()?);
        }
        Ok(Selector { segments })
    }

    fn segment(&mut self) -> PResult<Segment> {
        match self.peek() {
            Some('[') => Ok(Segment {
                descendant: false,
                selectors: self.bracketed()?,
            }),
            Some('.') if self.peek2() == Some('.') => {
                self.pos += 2;
                let selectors = match self.peek() {
                    Some('[') => self.bracketed()?,
                    Some('*') => {
                        self.pos += 1;
                        vec![Sel::Wildcard]
                    }
                    _ => vec![Sel::Name(self.shorthand()?)],
                };
                Ok(Segment {
                    descendant: true,
                    selectors,
                })
            }
            Some('.') => {
                self.pos += 1;
                let sel = if self.peek() == Some('*') {
                    self.pos += 1;
                    Sel::Wildcard
                } else {
                    Sel::Name(self.shorthand()?)
                };
                Ok(Segment {
                    descendant: false,
                    selectors: vec![sel],
                })
            }
            Some('?') => self.err(SelectorErrorKind::Filter),
            Some('@') => self.err(SelectorErrorKind::CurrentNode),
            _ => self.unexpected("`.`, `..` or `[`"),
        }
    }

    /// `member-name-shorthand`: name-first *name-char.
    fn shorthand(&mut self) -> PResult<String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() => {
                self.bump();
            }
            Some('?') => return self.err(SelectorErrorKind::Filter),
            Some('@') => return self.err(SelectorErrorKind::CurrentNode),
            _ => return self.unexpected("a member name, `*` or `[`"),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
                self.bump();
            } else {
                break;
            }
        }
        let name = &self.text[start..self.pos];
        if self.peek() == Some('(') {
            return Err((start, SelectorErrorKind::Function(name.to_owned())));
        }
        Ok(name.to_owned())
    }

    fn bracketed(&mut self) -> PResult<Vec<Sel>> {
        self.expect('[', "`[`")?;
        let mut sels = Vec::new();
        loop {
            self.blank();
            sels.push(self.bracket_selector()?);
            self.blank();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(sels);
                }
                _ => return self.unexpected("`,` or `]`"),
            }
        }
    }

    fn bracket_selector(&mut self) -> PResult<Sel> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => Ok(Sel::Name(self.string(q)?)),
            Some('*') => {
                self.pos += 1;
                Ok(Sel::Wildcard)
            }
            Some('?') => self.err(SelectorErrorKind::Filter),
            Some('@') => self.err(SelectorErrorKind::CurrentNode),
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.index_or_slice(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                if self.peek() == Some('(') {
                    let name = self.text[start..self.pos].to_owned();
                    return Err((start, SelectorErrorKind::Function(name)));
                }
                self.pos = start;
                self.unexpected(
                    "a quoted name, `*`, an index or a slice (names in brackets are quoted)",
                )
            }
            _ => self.unexpected("a quoted name, `*`, an index or a slice"),
        }
    }

    fn int(&mut self) -> PResult<Option<(usize, i64)>> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        if self.pos == digits {
            if self.pos > start {
                return self.unexpected("a digit");
            }
            return Ok(None);
        }
        let body = &self.text[digits..self.pos];
        let invalid = (body.len() > 1 && body.starts_with('0')) || text == "-0";
        match text.parse::<i64>() {
            Ok(v) if !invalid && (-MAX_INT..=MAX_INT).contains(&v) => Ok(Some((start, v))),
            _ => Err((start, SelectorErrorKind::InvalidInteger)),
        }
    }

    fn index_or_slice(&mut self) -> PResult<Sel> {
        let start = self.int()?;
        self.blank();
        if self.peek() != Some(':') {
            return match start {
                Some((pos, v)) if v < 0 => Err((pos, SelectorErrorKind::NegativeIndex(v))),
                Some((_, v)) => Ok(Sel::Index(v.unsigned_abs())),
                None => self.unexpected("an index or a slice"),
            };
        }
        self.pos += 1;
        self.blank();
        let end = self.int()?;
        self.blank();
        let mut step = None;
        if self.peek() == Some(':') {
            self.pos += 1;
            self.blank();
            step = self.int()?;
        }
        for (pos, v) in [start, end].into_iter().flatten() {
            if v < 0 {
                return Err((pos, SelectorErrorKind::NegativeSliceBound(v)));
            }
        }
        let step = match step {
            None => 1,
            Some((pos, 0)) => return Err((pos, SelectorErrorKind::ZeroStep)),
            Some((pos, v)) if v < 0 => return Err((pos, SelectorErrorKind::NegativeStep(v))),
            Some((_, v)) => v.unsigned_abs(),
        };
        Ok(Sel::Slice {
            start: start.map_or(0, |(_, v)| v.unsigned_abs()),
            end: end.map(|(_, v)| v.unsigned_abs()),
            step,
        })
    }

    /// A quoted name with RFC 9535 escapes.
    fn string(&mut self, quote: char) -> PResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return self.err(SelectorErrorKind::UnexpectedEnd("a closing quote")),
                Some(c) if c == quote => return Ok(out),
                Some(c) if c < ' ' => {
                    return Err((at, SelectorErrorKind::ControlCharacter));
                }
                Some('\\') => {
                    let c = match self.bump() {
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('/') => '/',
                        Some('\\') => '\\',
                        Some(c) if c == quote => c,
                        Some('u') => self.unicode_escape(at)?,
                        _ => return Err((at, SelectorErrorKind::InvalidEscape)),
                    };
                    out.push(c);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn hex4(&mut self, at: usize) -> PResult<u32> {
        let hex = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or((at, SelectorErrorKind::InvalidEscape))?;
        self.pos += 4;
        u32::from_str_radix(hex, 16).map_err(|_| (at, SelectorErrorKind::InvalidEscape))
    }

    fn unicode_escape(&mut self, at: usize) -> PResult<char> {
        let hi = self.hex4(at)?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err((at, SelectorErrorKind::InvalidEscape));
                }
                self.pos += 2;
                let lo = self.hex4(at)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err((at, SelectorErrorKind::InvalidEscape));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err((at, SelectorErrorKind::InvalidEscape)),
            c => c,
        };
        char::from_u32(code).ok_or((at, SelectorErrorKind::InvalidEscape))
    }
}
