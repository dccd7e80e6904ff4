//! Property tests: the output equals an oracle computed on the parsed tree,
//! is independent of chunking, never contains a removed value, and invalid
//! input is refused rather than passed.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;

// ---- a random policy, and the same policy applied to a tree ----

#[derive(Clone, Debug)]
struct PropPolicy {
    redact: BTreeSet<String>,
    drop: BTreeSet<String>,
    apply: BTreeSet<String>,
    outside: BTreeSet<String>,
    drop_index: Option<usize>,
    scan: bool,
    /// Answers step by step (`lookup_root`, `lookup_child`) as well as on
    /// whole paths, so both of the rewriter's ways of asking are tested.
    stepping: bool,
}

const REDACT: FieldId = FieldId(0);
const DROP: FieldId = FieldId(1);
const APPLY: FieldId = FieldId(2);

impl PropPolicy {
    fn decide(&self, seg: Option<PathSegment<'_>>) -> Decision {
        match seg {
            None => Decision::Descend,
            Some(PathSegment::Member(m)) if self.redact.contains(m) => Decision::Transform(REDACT),
            Some(PathSegment::Member(m)) if self.drop.contains(m) => Decision::Transform(DROP),
            Some(PathSegment::Member(m)) if self.apply.contains(m) => Decision::Transform(APPLY),
            Some(PathSegment::Member(m)) if self.outside.contains(m) => Decision::Outside,
            Some(PathSegment::Index(i)) if Some(i) == self.drop_index => Decision::Transform(DROP),
            _ => Decision::Descend,
        }
    }

    fn scan_str(&self, s: &str) -> Option<Value> {
        if !self.scan {
            Some(Value::String(s.into()))
        } else if s.contains('@') {
            Some(Value::String("[email]".into()))
        } else if s.contains('😀') {
            None
        } else {
            Some(Value::String(s.into()))
        }
    }

    /// The expected rewrite of `v` under decision `d`; `None` = removed.
    fn oracle(&self, v: &Value, d: Decision) -> Option<Value> {
        let container = v.is_object() || v.is_array();
        match d {
            Decision::Transform(REDACT) => Some(if container {
                Value::Null
            } else {
                Value::String("[R]".into())
            }),
            Decision::Transform(DROP) => None,
            Decision::Transform(_) if container => Some(self.children(v, |_| d)),
            Decision::Transform(_) => match v {
                Value::String(_) => Some(Value::String("*".into())),
                Value::Number(_) => None,
                other => Some(other.clone()),
            },
            Decision::Descend | Decision::Outside if container => Some(self.children(v, |seg| {
                if d == Decision::Outside {
                    d
                } else {
                    self.decide(Some(seg))
                }
            })),
            Decision::Descend | Decision::Outside => match v {
                Value::String(s) => self.scan_str(s),
                other => Some(other.clone()),
            },
        }
    }

    fn children(&self, v: &Value, dec: impl Fn(PathSegment<'_>) -> Decision) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter_map(|(k, c)| {
                        Some((k.clone(), self.oracle(c, dec(PathSegment::Member(k)))?))
                    })
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .filter_map(|(i, c)| self.oracle(c, dec(PathSegment::Index(i))))
                    .collect(),
            ),
            _ => unreachable!(),
        }
    }

    fn expected(&self, v: &Value) -> Value {
        self.oracle(v, Decision::Descend).unwrap_or(Value::Null)
    }
}

impl FieldPolicy for PropPolicy {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        self.decide(path.last().copied())
    }

    fn lookup_root(&self) -> Option<(Decision, LookupState)> {
        self.stepping.then(|| (self.decide(None), LookupState(0)))
    }

    fn lookup_child(&self, parent: LookupState, child: PathSegment<'_>) -> (Decision, LookupState) {
        // The state counts the depth, which the decision does not need but
        // the rewriter must carry back faithfully.
        (self.decide(Some(child)), LookupState(parent.0 + 1))
    }

    fn transform(
        &self,
        id: FieldId,
        _: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        Ok(match (id, value) {
            (REDACT, _) => {
                out.extend_from_slice("\"[R]\"".as_bytes());
                Replacement::Json
            }
            (DROP, _) => Replacement::Drop,
            (_, Scalar::Str(_)) => {
                out.extend_from_slice("\"*\"".as_bytes());
                Replacement::Json
            }
            (_, Scalar::Number(_)) => Replacement::Drop,
            _ => Replacement::Keep,
        })
    }

    fn container(&self, id: FieldId) -> ContainerAction {
        match id {
            REDACT => ContainerAction::Replace("null".into()),
            DROP => ContainerAction::Drop,
            _ => ContainerAction::Descend,
        }
    }

    fn scans_unclassified(&self) -> bool {
        self.scan
    }

    fn unclassified(
        &self,
        _: FieldPath<'_>,
        value: &str,
        out: &mut Vec<u8>,
        _: &mut Found,
    ) -> Result<Replacement, TransformError> {
        Ok(match self.scan_str(value) {
            None => Replacement::Drop,
            Some(Value::String(s)) if s != value => {
                out.extend_from_slice(serde_json::to_string(&s).unwrap().as_bytes());
                Replacement::Json
            }
            Some(_) => Replacement::Keep,
        })
    }
}

const NAMES: &[&str] = &["a", "b", "c", "d", "e", "é", "k\"", "😀", "x y"];

fn name_set() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set(proptest::sample::select(NAMES).prop_map(String::from), 0..3)
}

fn policy() -> impl Strategy<Value = PropPolicy> {
    (
        name_set(),
        name_set(),
        name_set(),
        name_set(),
        proptest::option::of(0usize..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(redact, drop, apply, outside, drop_index, scan, stepping)| PropPolicy {
                redact,
                drop,
                apply,
                outside,
                drop_index,
                scan,
                stepping,
            },
        )
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-d@é😀\"\\\\/\n\t\u{1}€ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(
                proptest::sample::select(NAMES).prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---- a serializer with random whitespace and random escapes ----

struct Styled<'a> {
    style: &'a [u8],
    pos: usize,
    newlines: bool,
    out: Vec<u8>,
    /// Each string value written, with its raw JSON form.
    strings: Vec<(String, Vec<u8>)>,
}

impl Styled<'_> {
    fn next(&mut self) -> u8 {
        let b = self
            .style
            .get(self.pos % self.style.len().max(1))
            .copied()
            .unwrap_or(0);
        self.pos += 1;
        b
    }

    fn ws(&mut self) {
        let choice = self.next() % 6;
        let ws: &[u8] = match choice {
            0 | 1 => b"",
            2 => b" ",
            3 => b"\t",
            4 if self.newlines => b"\n  ",
            _ => b"  \r",
        };
        self.out.extend_from_slice(ws);
    }

    fn string(&mut self, s: &str) -> Vec<u8> {
        let mut raw = vec![b'"'];
        for c in s.chars() {
            let escape = self.next().is_multiple_of(4);
            match c {
                '"' => raw.extend_from_slice(if escape { b"\\u0022" } else { b"\\\"" }),
                '\\' => raw.extend_from_slice(b"\\\\"),
                '/' if escape => raw.extend_from_slice(b"\\/"),
                '\n' => raw.extend_from_slice(b"\\n"),
                c if (c as u32) < 0x20 || escape => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        raw.extend_from_slice(format!("\\u{u:04x}").as_bytes());
                    }
                }
                c => raw.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        raw.push(b'"');
        raw
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::String(s) => {
                let raw = self.string(s);
                self.out.extend_from_slice(&raw);
                self.strings.push((s.clone(), raw));
            }
            Value::Array(a) => {
                self.out.push(b'[');
                for (i, c) in a.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.ws();
                    self.value(c);
                    self.ws();
                }
                self.out.push(b']');
            }
            Value::Object(m) => {
                self.out.push(b'{');
                for (i, (k, c)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.ws();
                    let raw = self.string(k);
                    self.out.extend_from_slice(&raw);
                    self.ws();
                    self.out.push(b':');
                    self.ws();
                    self.value(c);
                    self.ws();
                }
                self.out.push(b'}');
            }
            other => self
                .out
                .extend_from_slice(serde_json::to_string(other).unwrap().as_bytes()),
        }
    }
}

fn serialize(v: &Value, style: &[u8], newlines: bool) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut s = Styled {
        style,
        pos: 0,
        newlines,
        out: Vec::new(),
        strings: Vec::new(),
    };
    s.ws();
    s.value(v);
    s.ws();
    (s.out, s.strings)
}

/// Gives every string a unique tag, so a leaked value cannot be mistaken
/// for another one.
fn tag_strings(v: &mut Value, n: &mut usize) {
    match v {
        Value::String(s) => {
            *s = format!("<{n}>{s}");
            *n += 1;
        }
        Value::Array(a) => a.iter_mut().for_each(|c| tag_strings(c, n)),
        Value::Object(m) => m.values_mut().for_each(|c| tag_strings(c, n)),
        _ => {}
    }
}

fn all_strings(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            into.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|c| all_strings(c, into)),
        Value::Object(m) => m.values().for_each(|c| all_strings(c, into)),
        _ => {}
    }
}

fn rewrite(
    policy: &PropPolicy,
    input: &[u8],
    cuts: &[usize],
    ndjson: bool,
) -> Result<Vec<u8>, RewriteError> {
    let policy: Arc<dyn FieldPolicy> = Arc::new(policy.clone());
    let r = if ndjson {
        Rewriter::ndjson(policy, RewriteLimits::default())
    } else {
        Rewriter::new(policy, RewriteLimits::default())
    };
    feed_cut(r, input, cuts)
}

/// Feeds `input` cut at `cuts` (taken modulo its length), then finishes.
fn feed_cut(r: Rewriter, input: &[u8], cuts: &[usize]) -> Result<Vec<u8>, RewriteError> {
    feed_cut_counted(r, input, cuts).map(|(out, _)| out)
}

/// [`feed_cut`], with the counts.
fn feed_cut_counted(
    mut r: Rewriter,
    input: &[u8],
    cuts: &[usize],
) -> Result<(Vec<u8>, RewriteSummary), RewriteError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        r.feed(&input[from..c], &mut out)?;
        from = c;
    }
    let summary = r.finish(&mut out)?;
    Ok((out, summary.clone()))
}

/// The counts of rewriting `input` (a JSON document) cut at `cuts`.
fn summary(policy: &PropPolicy, input: &[u8], cuts: &[usize]) -> RewriteSummary {
    let r = Rewriter::new(Arc::new(policy.clone()), RewriteLimits::default());
    feed_cut_counted(r, input, cuts).unwrap().1
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (1) The output is valid JSON and equals the oracle's rewrite.
    #[test]
    fn output_matches_oracle(v in value(), p in policy(), style in proptest::collection::vec(any::<u8>(), 1..64)) {
        let (input, _) = serialize(&v, &style, true);
        let out = rewrite(&p, &input, &[], false).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Value = serde_json::from_slice(&out)
            .map_err(|e| TestCaseError::fail(format!("invalid output {}: {e}", String::from_utf8_lossy(&out))))?;
        let parsed: Value = serde_json::from_slice(&input).unwrap();
        prop_assert_eq!(got, p.expected(&parsed));
    }

    /// (2) Any chunking gives the same bytes as one chunk, for JSON and NDJSON.
    #[test]
    fn chunking_invariance(
        docs in proptest::collection::vec(value(), 1..4),
        p in policy(),
        style in proptest::collection::vec(any::<u8>(), 1..64),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (single, _) = serialize(&docs[0], &style, true);
        let whole = rewrite(&p, &single, &[], false).unwrap();
        prop_assert_eq!(&whole, &rewrite(&p, &single, &cuts, false).unwrap());
        let every: Vec<usize> = (0..=single.len()).collect();
        prop_assert_eq!(&whole, &rewrite(&p, &single, &every, false).unwrap());
        // The counts too (one chunk goes the whole-body path, split ones
        // through the state machine).
        prop_assert_eq!(summary(&p, &single, &[]), summary(&p, &single, &every));

        let mut nd = Vec::new();
        for d in &docs {
            nd.extend_from_slice(&serialize(d, &style, false).0);
            nd.push(b'\n');
        }
        let whole = rewrite(&p, &nd, &[], true).unwrap();
        prop_assert_eq!(&whole, &rewrite(&p, &nd, &cuts, true).unwrap());
        let lines: Vec<Value> = whole.split(|&b| b == b'\n').filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap()).collect();
        // Parsed back, not `docs`: serde_json's float parsing does not round-trip.
        let expected: Vec<Value> = docs
            .iter()
            .map(|d| p.expected(&serde_json::from_slice(&serialize(d, &style, false).0).unwrap()))
            .collect();
        prop_assert_eq!(lines, expected);
    }

    /// (3) A value that the policy removed or replaced never appears in the
    /// output, neither as text nor in the escaped form it had in the input.
    #[test]
    fn no_leak(
        mut v in value(),
        p in policy(),
        style in proptest::collection::vec(any::<u8>(), 1..64),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        tag_strings(&mut v, &mut 0);
        let (input, strings) = serialize(&v, &style, true);
        let out = rewrite(&p, &input, &cuts, false).unwrap();
        let mut kept = BTreeSet::new();
        all_strings(&p.expected(&v), &mut kept);
        for (s, raw) in strings {
            if kept.contains(&s) {
                continue;
            }
            let tag = &s[..s.find('>').unwrap() + 1];
            prop_assert!(!contains(&out, tag.as_bytes()), "{} leaked", s);
            prop_assert!(!contains(&out, &raw), "{} leaked (raw)", s);
            prop_assert!(!contains(&out, serde_json::to_string(&s).unwrap().as_bytes()), "{} leaked (escaped)", s);
        }
    }

    /// (4) Mutated documents: whatever serde_json refuses, the rewriter
    /// refuses too (at `feed` or `finish`), and never panics; whatever it
    /// accepts is rewritten as the oracle says.
    #[test]
    fn invalid_input_is_refused(
        v in value(),
        p in policy(),
        style in proptest::collection::vec(any::<u8>(), 1..64),
        mutations in proptest::collection::vec((any::<usize>(), 0u8..4, proptest::sample::select(
            b"{}[],:\"\\ 0123456789eE.+-tfnul\x00\x1f\x7f\xff\xc3\xa9\x80\xed\xa0ab\n".to_vec())), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let (mut input, _) = serialize(&v, &style, true);
        for (pos, kind, byte) in mutations {
            let pos = pos % (input.len() + 1);
            match kind {
                0 if pos < input.len() => { input.remove(pos); }
                1 => input.insert(pos, byte),
                2 if pos < input.len() => input[pos] = byte,
                _ => input.truncate(pos),
            }
        }
        let ours = rewrite(&p, &input, &cuts, false);
        match (serde_json::from_slice::<Value>(&input), ours) {
            (Ok(parsed), Ok(out)) => {
                let got: Value = serde_json::from_slice(&out).unwrap();
                prop_assert_eq!(got, p.expected(&parsed));
            }
            (Ok(_), Err(RewriteError::DuplicateMember { .. })) => {}
            (Ok(_), Err(e)) => prop_assert!(false, "valid input refused: {e}"),
            (Err(e), Ok(_)) => prop_assert!(e.to_string().contains("number out of range"), "invalid input accepted: {e}"),
            (Err(_), Err(_)) => {}
        }
    }
}

// ---- whole documents passed through or dropped (the copy-through fast path) ----

/// The root is `Outside` (every byte passed through) or dropped whole
/// (every byte skipped).
struct Whole {
    drop: bool,
}

impl FieldPolicy for Whole {
    fn lookup(&self, _: &[PathSegment<'_>]) -> Decision {
        if self.drop {
            Decision::Transform(DROP)
        } else {
            Decision::Outside
        }
    }

    fn transform(
        &self,
        _: FieldId,
        _: FieldPath<'_>,
        _: Scalar<'_>,
        _: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        Ok(Replacement::Drop)
    }

    fn container(&self, _: FieldId) -> ContainerAction {
        ContainerAction::Drop
    }
}

fn rewrite_whole(drop: bool, input: &[u8], cuts: &[usize]) -> Result<Vec<u8>, RewriteError> {
    let r = Rewriter::new(Arc::new(Whole { drop }), RewriteLimits::default());
    feed_cut(r, input, cuts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Passed through: the output is the input, byte for byte; dropped:
    /// `null` (with the whitespace around the root); and in both, whatever serde_json refuses is refused.
    #[test]
    fn whole_documents_pass_or_drop_and_invalid_is_refused(
        v in value(),
        drop in any::<bool>(),
        style in proptest::collection::vec(any::<u8>(), 1..64),
        mutations in proptest::collection::vec((any::<usize>(), 0u8..5, proptest::sample::select(
            b"{}[],:\"\\ 0123456789eE.+-tfnul\x00\x1f\x7f\xff\xc3\xa9\x80\xed\xa0abuD\n".to_vec())), 0..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let (mut input, _) = serialize(&v, &style, true);
        // Wrap scalars so that the fast path (inside a container) runs.
        input.insert(0, b'[');
        input.push(b']');
        for (pos, kind, byte) in mutations {
            let pos = pos % (input.len() + 1);
            match kind {
                0 if pos < input.len() => { input.remove(pos); }
                1 | 4 => input.insert(pos, byte),
                2 if pos < input.len() => input[pos] = byte,
                3 => input.truncate(pos),
                _ => {}
            }
        }
        let whole = rewrite_whole(drop, &input, &[]);
        let cut = rewrite_whole(drop, &input, &cuts);
        match (serde_json::from_slice::<Value>(&input), &whole) {
            // Whitespace around the root value passes through.
            (Ok(_), Ok(out)) if drop => prop_assert_eq!(out.trim_ascii(), b"null"),
            (Ok(_), Ok(out)) => prop_assert_eq!(out, &input),
            (Ok(_), Err(e)) => prop_assert!(false, "valid input refused: {e}"),
            (Err(e), Ok(_)) => prop_assert!(e.to_string().contains("number out of range"), "invalid input accepted: {e}"),
            (Err(_), Err(_)) => {}
        }
        // Chunking changes neither the output nor whether there is an error
        // (not always its offset: invalid UTF-8 is reported at the start of
        // the bad sequence when it is seen whole, at the offending byte when
        // it is cut).
        prop_assert_eq!(whole.ok(), cut.ok());
    }
}
