//! Between key paths and places in the text.
//!
//! A key path names a value the way a diagnostic shows it:
//! `server.listener[0].tls.cert`, `product[1].upstream.url`. Keys that are not
//! bare TOML keys are written quoted (`route."odd key"`).
//!
//! Two directions, both on the text of the file:
//! - [`locate`]: key path to line and column, for validation problems (the
//!   values were already parsed; this looks the key up in a span-preserving
//!   `toml_edit` parse of the same text).
//! - [`path_at`]: byte offset to key path, for parse errors, which toml
//!   reports with a span only. It replays toml's own event parser up to the
//!   offset, so it also works on text with a syntax error further on.

use std::{collections::HashMap, fmt::Write as _, ops::Range};

use toml_edit::{Item, Table, TableLike, Value};
use toml_parser::{ErrorSink, Raw, Source, Span, decoder::Encoding, parser::EventReceiver};

use crate::error::Location;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Appends `key` to a key path, quoting it unless it is a bare TOML key.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        path.push_str(key);
    } else {
        path.push('"');
        for c in key.chars() {
            match c {
                '"' => path.push_str("\\\""),
                '\\' => path.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(path, "\\u{:04X}", u32::from(c));
                }
                c => path.push(c),
            }
        }
        path.push('"');
    }
}

/// Appends an array index to a key path.
pub(crate) fn push_index(path: &mut String, index: usize) {
    let _ = write!(path, "[{index}]");
}

/// `parent.key` as a new string.
pub fn join(parent: &str, key: &str) -> String {
    let mut path = parent.to_owned();
    push_key(&mut path, key);
    path
}

/// `parent[index]` as a new string.
pub fn join_index(parent: &str, index: usize) -> String {
    let mut path = parent.to_owned();
    push_index(&mut path, index);
    path
}

fn format_path(segments: &[Segment]) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => push_key(&mut path, key),
            Segment::Index(index) => push_index(&mut path, *index),
        }
    }
    path
}

/// Splits a key path as written by [`push_key`] and [`push_index`]; `None`
/// if it is not one.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    let mut expect_key = true;
    while let Some(&c) = chars.peek() {
        match c {
            '[' => {
                chars.next();
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                if chars.next() != Some(']') {
                    return None;
                }
                segments.push(Segment::Index(digits.parse().ok()?));
                expect_key = false;
            }
            '.' if !expect_key => {
                chars.next();
                expect_key = true;
            }
            '"' if expect_key => {
                chars.next();
                let mut key = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'u' => {
                                let hex: String = chars.by_ref().take(4).collect();
                                key.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                            }
                            other => key.push(other),
                        },
                        other => key.push(other),
                    }
                }
                segments.push(Segment::Key(key));
                expect_key = false;
            }
            _ if expect_key => {
                let mut key = String::new();
                while let Some(k) = chars.next_if(|&k| k != '.' && k != '[') {
                    key.push(k);
                }
                if key.is_empty() {
                    return None;
                }
                segments.push(Segment::Key(key));
                expect_key = false;
            }
            _ => return None,
        }
    }
    if expect_key && !segments.is_empty() {
        return None;
    }
    Some(segments)
}

/// Where `key_path` is written in `text`: the start of its key (or of its
/// `[[table]]` header, or of its array element).
///
/// A key that is not written in the text (a default value, a missing key) is
/// located at its nearest ancestor that is, so the reader lands in the right
/// table. `None` when the text does not parse, or nothing on the path is
/// written.
pub(crate) fn locate(text: &str, key_path: &str) -> Option<Location> {
    let segments = parse_path(key_path)?;
    let document = toml_edit::Document::parse(text).ok()?;
    let span = span_of(Node::Item(document.as_item()), &segments)?;
    Some(Location::of_offset(text, span.start))
}

/// A place in a `toml_edit` tree: an item, a table of an array of tables, or
/// a value inside an inline table or array.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Item(item) => item.as_table_like(),
            Node::Table(table) => Some(table),
            Node::Value(Value::InlineTable(table)) => Some(table),
            Node::Value(_) => None,
        }
    }

    fn index(self, index: usize) -> Option<(Node<'a>, Option<Range<usize>>)> {
        match self {
            Node::Item(Item::ArrayOfTables(tables)) => {
                let table = tables.get(index)?;
                Some((Node::Table(table), table.span()))
            }
            Node::Item(Item::Value(Value::Array(array))) | Node::Value(Value::Array(array)) => {
                let value = array.get(index)?;
                Some((Node::Value(value), value.span()))
            }
            _ => None,
        }
    }
}

/// The span of the deepest written step of `segments` from `node`.
fn span_of(mut node: Node<'_>, segments: &[Segment]) -> Option<Range<usize>> {
    let mut span = None;
    for segment in segments {
        let (next, next_span) = match segment {
            Segment::Key(key) => {
                let Some((key, item)) = node.table_like().and_then(|t| t.get_key_value(key)) else {
                    break;
                };
                (Node::Item(item), key.span().or_else(|| item.span()))
            }
            Segment::Index(index) => match node.index(*index) {
                Some(found) => found,
                None => break,
            },
        };
        node = next;
        // Implicit tables (`server` in `[server.limits]`) may have no span of
        // their own: keep the parent's until a step has one.
        span = next_span.or(span);
    }
    span
}

/// The key path at byte `offset` of `text`: the key or table being defined
/// there, with array indices. Empty at the top level.
///
/// For an offset inside a `[table]` header, the path is that table's.
pub(crate) fn path_at(text: &str, offset: usize) -> String {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut tracker = Tracker::new(source, offset);
    let mut errors = ();
    toml_parser::parser::parse_document(&tokens, &mut tracker, &mut errors);
    tracker.current()
}

/// Follows the parser's events and keeps the key path up to date, until the
/// offset it was asked about.
struct Tracker<'s> {
    source: Source<'s>,
    offset: usize,
    done: bool,
    /// Keys of a `[header]` being read, and whether it is `[[header]]`.
    header: Option<(Vec<String>, bool)>,
    /// How many `[[x]]` tables each array-of-tables path (keys only) has.
    arrays_of_tables: HashMap<Vec<String>, usize>,
    /// Nesting: the current table, then inline tables and arrays inside a
    /// value. Never empty.
    frames: Vec<Frame>,
}

struct Frame {
    path: Vec<Segment>,
    kind: FrameKind,
}

enum FrameKind {
    /// A table or inline table: the keys of the key-value pair being read,
    /// and whether its value has been read.
    Table { keys: Vec<String>, value_done: bool },
    /// An array: the index of the element being read.
    Array { index: usize },
}

impl<'s> Tracker<'s> {
    fn new(source: Source<'s>, offset: usize) -> Self {
        Self {
            source,
            offset,
            done: false,
            header: None,
            arrays_of_tables: HashMap::new(),
            frames: vec![Frame::table(Vec::new())],
        }
    }

    /// Whether to follow an event at `span`: events up to the offset, and
    /// the rest of a header the offset is in (up to the end of its line).
    fn accept(&mut self, span: Span) -> bool {
        if !self.done && span.start() > self.offset && self.header.is_none() {
            self.done = true;
        }
        !self.done
    }

    fn current(&self) -> String {
        if let Some((keys, is_array)) = &self.header {
            return format_path(&self.header_path(keys, *is_array));
        }
        format_path(&self.value_path())
    }

    /// The path of the value being read in the innermost frame.
    fn value_path(&self) -> Vec<Segment> {
        let frame = self.top();
        let mut path = frame.path.clone();
        match &frame.kind {
            FrameKind::Table { keys, .. } => {
                path.extend(keys.iter().cloned().map(Segment::Key));
            }
            FrameKind::Array { index } => path.push(Segment::Index(*index)),
        }
        path
    }

    /// The path a header names, with the index of the current element of
    /// every array of tables on the way; a `[[header]]` names the element it
    /// adds.
    fn header_path(&self, keys: &[String], is_array: bool) -> Vec<Segment> {
        let mut path = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            path.push(Segment::Key(key.clone()));
            let prefix = &keys[..=i];
            let seen = self.arrays_of_tables.get(prefix).copied().unwrap_or(0);
            if i + 1 == keys.len() && is_array {
                path.push(Segment::Index(seen));
            } else if seen > 0 {
                path.push(Segment::Index(seen - 1));
            }
        }
        path
    }

    fn top(&self) -> &Frame {
        self.frames.last().expect("the table frame is never popped")
    }

    fn top_mut(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("the table frame is never popped")
    }

    fn open_header(&mut self, is_array: bool) {
        self.frames.truncate(1);
        self.header = Some((Vec::new(), is_array));
    }

    fn close_header(&mut self) {
        let Some((keys, is_array)) = self.header.take() else {
            return;
        };
        let path = self.header_path(&keys, is_array);
        if is_array {
            *self.arrays_of_tables.entry(keys.clone()).or_insert(0) += 1;
            // A new element starts afresh: arrays of tables inside the
            // previous one are not continued.
            self.arrays_of_tables
                .retain(|k, _| k.len() <= keys.len() || !k.starts_with(&keys));
        }
        self.frames = vec![Frame::table(path)];
    }

    /// A value (scalar, inline table or array) ended in the innermost frame.
    fn value_done(&mut self) {
        if let FrameKind::Table { value_done, .. } = &mut self.top_mut().kind {
            *value_done = true;
        }
    }

    fn open_nested(&mut self, kind: FrameKind) {
        let path = self.value_path();
        self.frames.push(Frame { path, kind });
    }

    fn close_nested(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
        self.value_done();
    }
}

impl Frame {
    fn table(path: Vec<Segment>) -> Self {
        Self {
            path,
            kind: FrameKind::Table {
                keys: Vec::new(),
                value_done: false,
            },
        }
    }
}

impl EventReceiver for Tracker<'_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.open_header(false);
        }
    }

    fn std_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.close_header();
        }
    }

    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.open_header(true);
        }
    }

    fn array_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.close_header();
        }
    }

    fn inline_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        if self.accept(span) {
            self.open_nested(FrameKind::Table {
                keys: Vec::new(),
                value_done: false,
            });
        }
        true
    }

    fn inline_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.close_nested();
        }
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        if self.accept(span) {
            self.open_nested(FrameKind::Array { index: 0 });
        }
        true
    }

    fn array_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.close_nested();
        }
    }

    fn simple_key(&mut self, span: Span, kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if !self.accept(span) {
            return;
        }
        let mut key = String::new();
        let raw = self
            .source
            .input()
            .get(span.start()..span.end())
            .unwrap_or("");
        Raw::new_unchecked(raw, kind, span).decode_key(&mut key, &mut ());
        if let Some((keys, _)) = &mut self.header {
            keys.push(key);
            return;
        }
        if let FrameKind::Table { keys, value_done } = &mut self.top_mut().kind {
            if *value_done {
                keys.clear();
                *value_done = false;
            }
            keys.push(key);
        }
    }

    fn scalar(&mut self, span: Span, _kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.accept(span) {
            self.value_done();
        }
    }

    fn value_sep(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if !self.accept(span) {
            return;
        }
        match &mut self.top_mut().kind {
            FrameKind::Array { index } => *index += 1,
            FrameKind::Table { value_done, .. } => *value_done = true,
        }
    }

    fn newline(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        // A newline at the offset ends the line the offset is on (an error
        // at the end of a line is about that line), and ends a header that
        // was not closed.
        if span.start() >= self.offset {
            self.done = true;
        }
        if !self.accept(span) {
            return;
        }
        self.close_header();
        if self.frames.len() > 1 {
            return;
        }
        if let FrameKind::Table { keys, value_done } = &mut self.top_mut().kind {
            keys.clear();
            *value_done = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# gateway
[server]
[[server.listener]]
address = "127.0.0.1:8080"
plaintext = true

[[server.listener]]
address = "127.0.0.1:8443"
tls = { cert = "c.pem", key = "k.pem" }
http_versions = ["http1",
  "http2"]

[server.limits]
max_headers = 10

[[product]]
name = "a"
route.path_prefix = "/a"
upstream = { url = "http://a" }

[[product]]
name = "b"
[product.route]
path_prefix = "/b"
[product.upstream]
url = "http://b"
"odd key" = 1
"#;

    fn offset_of(needle: &str) -> usize {
        TEXT.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in text"))
    }

    fn at(line: usize, column: usize) -> Option<Location> {
        Some(Location { line, column })
    }

    #[test]
    fn paths_round_trip_through_parse() {
        for path in [
            "server",
            "server.listener[1].tls.cert",
            "product[0]",
            "route.\"odd key\".x",
            "a[0][1].b",
            "\"a.b\\\"c\"",
        ] {
            let segments = parse_path(path).unwrap_or_else(|| panic!("{path} did not parse"));
            assert_eq!(format_path(&segments), path);
        }
        for bad in ["a.", ".a", "a..b", "a[x]", "a[1", "\"open"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
        assert_eq!(
            join("product[0].route", "odd key"),
            "product[0].route.\"odd key\""
        );
    }

    #[test]
    fn locate_finds_keys_headers_inline_tables_and_elements() {
        assert_eq!(locate(TEXT, "server"), at(2, 2));
        assert_eq!(locate(TEXT, "server.listener[0]"), at(3, 1));
        assert_eq!(locate(TEXT, "server.listener[1].address"), at(8, 1));
        assert_eq!(locate(TEXT, "server.listener[1].tls.key"), at(9, 25));
        assert_eq!(
            locate(TEXT, "server.listener[1].http_versions[1]"),
            at(11, 3)
        );
        assert_eq!(locate(TEXT, "server.limits.max_headers"), at(14, 1));
        assert_eq!(locate(TEXT, "product[0].route.path_prefix"), at(18, 7));
        assert_eq!(locate(TEXT, "product[0].upstream.url"), at(19, 14));
        assert_eq!(locate(TEXT, "product[1].route.path_prefix"), at(24, 1));
        assert_eq!(locate(TEXT, "product[1].upstream.url"), at(26, 1));
        assert_eq!(locate(TEXT, "product[1].upstream.\"odd key\""), at(27, 1));
    }

    #[test]
    fn locate_falls_back_to_the_nearest_written_ancestor() {
        // Not written: a default. Lands on the listener's header.
        assert_eq!(locate(TEXT, "server.listener[0].http_versions"), at(3, 1));
        assert_eq!(locate(TEXT, "server.timeouts.header_read"), at(2, 2));
        assert_eq!(locate(TEXT, "admin.address"), None);
        assert_eq!(locate("not = [toml", "not"), None);
    }

    #[test]
    fn path_at_names_the_key_being_defined() {
        let cases = [
            ("address = \"127.0.0.1:8080\"", "server.listener[0].address"),
            ("\"127.0.0.1:8080\"", "server.listener[0].address"),
            ("true", "server.listener[0].plaintext"),
            ("\"k.pem\"", "server.listener[1].tls.key"),
            ("\"http2\"", "server.listener[1].http_versions[1]"),
            ("max_headers", "server.limits.max_headers"),
            ("\"/a\"", "product[0].route.path_prefix"),
            ("\"http://a\"", "product[0].upstream.url"),
            ("\"/b\"", "product[1].route.path_prefix"),
            ("url = \"http://b\"", "product[1].upstream.url"),
            ("\"odd key\"", "product[1].upstream.\"odd key\""),
            ("[product.route]", "product[1].route"),
            ("# gateway", ""),
        ];
        for (needle, path) in cases {
            assert_eq!(path_at(TEXT, offset_of(needle)), path, "at {needle:?}");
        }
    }

    #[test]
    fn path_at_and_locate_agree() {
        for needle in ["\"k.pem\"", "\"http2\"", "\"/b\"", "max_headers"] {
            let offset = offset_of(needle);
            let path = path_at(TEXT, offset);
            assert_eq!(
                locate(TEXT, &path).map(|l| l.line),
                Some(Location::of_offset(TEXT, offset).line),
                "{path}"
            );
        }
    }

    #[test]
    fn path_at_works_before_a_syntax_error() {
        let text = "[server]\n[[server.listener]]\naddress = \"x\"\n[[server.listener]]\nplaintext = tru\n";
        let offset = text.find("tru\n").unwrap();
        assert_eq!(path_at(text, offset), "server.listener[1].plaintext");

        let text = "[[product]]\nname = \"a\"\n[[product]]\nname = \"b\"\nupstream = { url = \"x\", ca = }\n";
        let offset = text.find(" }").unwrap();
        assert_eq!(path_at(text, offset), "product[1].upstream.ca");

        // At the end of a line: that line's key.
        let text = "[[product]]\nname = \"unterminated\n[x]\n";
        let offset = text.find("\n[x]").unwrap();
        assert_eq!(path_at(text, offset), "product[0].name");

        // In a header that is never closed: the header, not the lines after.
        let text = "[[product]]\n[[product]\nname = \"a\"\n";
        let offset = text.find("]\nname").unwrap() + 1;
        assert_eq!(path_at(text, offset), "product[1]");
    }

    #[test]
    fn arrays_of_inline_tables_are_indexed() {
        let text = "[server]\nlistener = [{ address = \"a\" },\n  { adress = \"b\", tls = { key = 1 } }]\n";
        assert_eq!(
            path_at(text, text.find("adress").unwrap()),
            "server.listener[1].adress"
        );
        assert_eq!(
            path_at(text, text.find("1 }").unwrap()),
            "server.listener[1].tls.key"
        );
        assert_eq!(locate(text, "server.listener[1].tls.key"), at(3, 27));
        assert_eq!(locate(text, "server.listener[1]"), at(3, 3));
    }

    #[test]
    fn nested_arrays_of_tables_restart_with_their_parent() {
        let text = "[[a]]\n[[a.b]]\n[[a.b]]\nx = 1\n[[a]]\n[[a.b]]\ny = 2\n";
        assert_eq!(path_at(text, text.find("x =").unwrap()), "a[0].b[1].x");
        assert_eq!(path_at(text, text.find("y =").unwrap()), "a[1].b[0].y");
        assert_eq!(locate(text, "a[1].b[0].y"), at(7, 1));
    }
}
