//! Edge cases of the rewriter, one by one. Every case is also run byte by
//! byte and checked against the one-chunk output.

use std::sync::Arc;

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) enum Act {
    /// Scalars -> `"[R]"`, containers -> `null`.
    Redact,
    Drop,
    Keep,
    /// Containers: descend; leaf strings -> `"*"`, numbers dropped.
    Apply,
    Fail,
}

/// Rules are dotted paths (`*` matches one segment); the rule's index is
/// its field id.
pub(super) struct TestPolicy {
    pub(super) rules: Vec<(&'static str, Act)>,
    pub(super) scan: bool,
}

impl TestPolicy {
    pub(super) fn new(rules: &[(&'static str, Act)]) -> Self {
        Self {
            rules: rules.to_vec(),
            scan: false,
        }
    }

    fn matches(pattern: &str, path: &[PathSegment<'_>], prefix: bool) -> bool {
        let pat: Vec<&str> = if pattern.is_empty() {
            vec![]
        } else {
            pattern.split('.').collect()
        };
        if prefix && pat.len() <= path.len() || !prefix && pat.len() != path.len() {
            return false;
        }
        pat.iter().zip(path).all(|(p, s)| match s {
            _ if *p == "*" => true,
            PathSegment::Member(m) => p == m,
            PathSegment::Index(i) => p.parse::<usize>().ok() == Some(*i),
        })
    }
}

impl FieldPolicy for TestPolicy {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        if let Some(i) = self
            .rules
            .iter()
            .position(|(p, _)| Self::matches(p, path, false))
        {
            return Decision::Transform(FieldId(i as u32));
        }
        if self.rules.iter().any(|(p, _)| Self::matches(p, path, true)) {
            Decision::Descend
        } else {
            Decision::Outside
        }
    }

    fn transform(
        &self,
        id: FieldId,
        _path: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        Ok(match (self.rules[id.0 as usize].1, value) {
            (Act::Redact, _) => {
                out.extend_from_slice("\"[R]\"".as_bytes());
                Replacement::Json
            }
            (Act::Drop, _) => Replacement::Drop,
            (Act::Keep, _) => Replacement::Keep,
            (Act::Apply, Scalar::Str(_)) => {
                out.extend_from_slice("\"*\"".as_bytes());
                Replacement::Json
            }
            (Act::Apply, Scalar::Number(_)) => Replacement::Drop,
            (Act::Apply, _) => Replacement::Keep,
            (Act::Fail, _) => return Err(TransformError::new("no key for this field")),
        })
    }

    fn container(&self, id: FieldId) -> ContainerAction {
        match self.rules[id.0 as usize].1 {
            Act::Redact => ContainerAction::Replace("null".into()),
            Act::Drop => ContainerAction::Drop,
            _ => ContainerAction::Descend,
        }
    }

    fn scans_unclassified(&self) -> bool {
        self.scan
    }

    fn unclassified(
        &self,
        _path: FieldPath<'_>,
        value: &str,
        out: &mut Vec<u8>,
        found: &mut Found,
    ) -> Result<Replacement, TransformError> {
        Ok(if value.contains("@") {
            found.push("email".into(), Treatment::Replaced);
            out.extend_from_slice("\"[email]\"".as_bytes());
            Replacement::Json
        } else if value.contains("deny") {
            Replacement::Drop
        } else {
            Replacement::Keep
        })
    }
}

fn run_chunks(
    policy: &Arc<dyn FieldPolicy>,
    ndjson: bool,
    limits: RewriteLimits,
    chunks: &[&[u8]],
) -> Result<Vec<u8>, RewriteError> {
    let mut r = if ndjson {
        Rewriter::ndjson(policy.clone(), limits)
    } else {
        Rewriter::new(policy.clone(), limits)
    };
    let mut out = Vec::new();
    for c in chunks {
        r.feed(c, &mut out)?;
    }
    r.finish(&mut out)?;
    Ok(out)
}

/// Rewrites in one chunk and byte by byte; both must agree.
fn rw_with(
    policy: TestPolicy,
    ndjson: bool,
    limits: RewriteLimits,
    input: &str,
) -> Result<String, RewriteError> {
    let policy: Arc<dyn FieldPolicy> = Arc::new(policy);
    let whole = run_chunks(&policy, ndjson, limits, &[input.as_bytes()]);
    let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
    let split = run_chunks(&policy, ndjson, limits, &bytes);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking changed the output"),
        (Err(_), Err(_)) => {}
        _ => panic!("chunking changed the outcome: {whole:?} vs {split:?}"),
    }
    whole.map(|o| String::from_utf8(o).expect("output is UTF-8"))
}

fn rw(rules: &[(&'static str, Act)], input: &str) -> Result<String, RewriteError> {
    rw_with(
        TestPolicy::new(rules),
        false,
        RewriteLimits::default(),
        input,
    )
}

fn ok(rules: &[(&'static str, Act)], input: &str) -> String {
    let out = rw(rules, input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap_or_else(|e| panic!("invalid output {out:?}: {e}"));
    out
}

fn syntax_err(input: &str) {
    match rw(&[("a", Act::Redact)], input) {
        Err(RewriteError::Syntax { .. } | RewriteError::Incomplete { .. }) => {}
        other => panic!("{input:?} should be refused, got {other:?}"),
    }
}

#[test]
fn untouched_documents_pass_byte_identical() {
    let docs = [
        "{}",
        " [ ] ",
        "{\"a\" : [1, -0.5e+3, true, false, null, \"x\\u00e9\\n\\\"\"],\n\t\"b\":{\"c\":{}}}\r\n",
        "\"just a string \\ud83d\\ude00 😀\"",
        "123",
        "-0",
        "1E-7",
        "null",
    ];
    for d in docs {
        assert_eq!(ok(&[("zz", Act::Redact)], d), d);
        assert_eq!(ok(&[], d), d);
    }
}

#[test]
fn redact_scalars_and_containers() {
    assert_eq!(
        ok(&[("a", Act::Redact)], r#"{"a": "secret", "b": 1}"#),
        r#"{"a": "[R]", "b": 1}"#
    );
    assert_eq!(
        ok(&[("a", Act::Redact)], r#"{"a": {"x": [1]}, "b": 1}"#),
        r#"{"a": null, "b": 1}"#
    );
    assert_eq!(
        ok(
            &[("a.*.n", Act::Redact)],
            r#"{"a":[{"n":1},{"n":"x","m":2}]}"#
        ),
        r#"{"a":[{"n":"[R]"},{"n":"[R]","m":2}]}"#
    );
    assert_eq!(
        ok(&[("a", Act::Keep)], r#"{"a": "k\u0065ep"}"#),
        r#"{"a": "k\u0065ep"}"#
    );
}

#[test]
fn drop_first_middle_last_and_all_members() {
    let d = r#"{ "a": 1 , "b" :2, "c": {"x":[1,2]} }"#;
    assert_eq!(
        ok(&[("a", Act::Drop)], d),
        r#"{   "b" :2, "c": {"x":[1,2]} }"#
    );
    assert_eq!(
        ok(&[("b", Act::Drop)], d),
        r#"{ "a": 1 , "c": {"x":[1,2]} }"#
    );
    assert_eq!(ok(&[("c", Act::Drop)], d), r#"{ "a": 1 , "b" :2 }"#);
    assert_eq!(
        ok(&[("a", Act::Drop), ("b", Act::Drop), ("c", Act::Drop)], d),
        r#"{   }"#
    );
    assert_eq!(
        ok(&[("a", Act::Drop), ("c", Act::Drop)], d),
        r#"{   "b" :2 }"#
    );
}

#[test]
fn drop_array_elements() {
    let d = "[1, 2, 3]";
    assert_eq!(ok(&[("0", Act::Drop)], d), "[ 2, 3]");
    assert_eq!(ok(&[("1", Act::Drop)], d), "[1, 3]");
    assert_eq!(ok(&[("2", Act::Drop)], d), "[1, 2]");
    assert_eq!(ok(&[("*", Act::Drop)], d), "[]");
    assert_eq!(
        ok(&[("1", Act::Drop)], "[[1],{\"a\":2},\"x\"]"),
        "[[1],\"x\"]"
    );
}

#[test]
fn root_drop_becomes_null() {
    assert_eq!(ok(&[("", Act::Drop)], "{\"a\":1}"), "null");
    assert_eq!(ok(&[("", Act::Drop)], " 5 "), " null ");
    assert_eq!(ok(&[("", Act::Redact)], "[1]"), "null");
}

#[test]
fn descend_applies_to_every_leaf() {
    assert_eq!(
        ok(
            &[("a", Act::Apply)],
            r#"{"a": {"s": "x", "n": 1, "l": [true, 2, "y"]}, "b": "z"}"#
        ),
        r#"{"a": {"s": "*", "l": [true, "*"]}, "b": "z"}"#
    );
}

#[test]
fn unclassified_strings_scanned_when_the_policy_asks() {
    let mut p = TestPolicy::new(&[("k", Act::Keep)]);
    p.scan = true;
    let out = rw_with(
        p,
        false,
        RewriteLimits::default(),
        r#"{"note": "mail a@b.c", "x": ["deny me", "fine"], "k": "a@b"}"#,
    )
    .unwrap();
    assert_eq!(out, r#"{"note": "[email]", "x": [ "fine"], "k": "a@b"}"#);
    // Without scanning they stream through.
    assert_eq!(
        ok(&[("k", Act::Keep)], r#"{"note": "a@b"}"#),
        r#"{"note": "a@b"}"#
    );
}

#[test]
fn escapes_and_surrogates_are_unescaped_for_the_policy() {
    // "\u0061" is the member "a".
    assert_eq!(
        ok(&[("a", Act::Redact)], r#"{"\u0061": "x"}"#),
        r#"{"\u0061": "[R]"}"#
    );
    assert_eq!(
        ok(&[("😀", Act::Redact)], r#"{"\ud83d\ude00": 1}"#),
        r#"{"\ud83d\ude00": "[R]"}"#
    );
    assert_eq!(ok(&[("é", Act::Redact)], "{\"é\": 1}"), "{\"é\": \"[R]\"}");
}

#[test]
fn invalid_json_is_refused() {
    for bad in [
        "",
        "   ",
        "{",
        "[1,",
        "[1,]",
        "{\"a\":1,}",
        "{,}",
        "[,1]",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "[01]",
        "[-]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[+1]",
        "[tru]",
        "[nul]",
        "[True]",
        "\"abc",
        "\"a\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\ud800x\"",
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"tab\there\"",
        "\"nl\nhere\"",
        "[1]]",
        "[1}",
        "{\"a\":1]",
        "{} {}",
        "[1] x",
        "1 2",
        "\u{feff}{}",
        "NaN",
    ] {
        syntax_err(bad);
    }
}

#[test]
fn invalid_utf8_is_refused() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[]));
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc0\xaf\"",         // overlong
        b"\"\xed\xa0\x80\"",     // encoded surrogate
        b"\"\xe2\x82\"",         // truncated
        b"\"\xf4\x90\x80\x80\"", // above U+10FFFF
        b"\"\x80\"",
    ] {
        assert!(
            run_chunks(&policy, false, RewriteLimits::default(), &[bad]).is_err(),
            "{bad:?}"
        );
        let bytes: Vec<&[u8]> = bad.chunks(1).collect();
        assert!(
            run_chunks(&policy, false, RewriteLimits::default(), &bytes).is_err(),
            "{bad:?}"
        );
    }
    // Valid multi-byte characters split at every point.
    let good = "\"é😀€\"".as_bytes();
    for cut in 0..good.len() {
        let out = run_chunks(
            &policy,
            false,
            RewriteLimits::default(),
            &[&good[..cut], &good[cut..]],
        )
        .unwrap();
        assert_eq!(out, good);
    }
}

#[test]
fn depth_limit() {
    let limits = RewriteLimits {
        max_depth: 3,
        ..RewriteLimits::default()
    };
    assert!(rw_with(TestPolicy::new(&[]), false, limits, "[[[1]]]").is_ok());
    assert!(matches!(
        rw_with(TestPolicy::new(&[]), false, limits, "[[[[1]]]]"),
        Err(RewriteError::TooDeep { max_depth: 3, .. })
    ));
    // Also inside dropped and passed-through subtrees.
    assert!(matches!(
        rw_with(
            TestPolicy::new(&[("a", Act::Drop)]),
            false,
            limits,
            "{\"a\":[[[1]]]}"
        ),
        Err(RewriteError::TooDeep { .. })
    ));
}

#[test]
fn value_and_key_limits() {
    let limits = RewriteLimits {
        max_value_bytes: 8,
        max_key_bytes: 6,
        ..RewriteLimits::default()
    };
    let p = || TestPolicy::new(&[("a", Act::Redact)]);
    assert!(rw_with(p(), false, limits, r#"{"a":"123456"}"#).is_ok());
    assert!(matches!(
        rw_with(p(), false, limits, r#"{"a":"1234567"}"#),
        Err(RewriteError::ValueTooLarge { limit: 8, .. })
    ));
    assert!(matches!(
        rw_with(p(), false, limits, r#"{"a":1234567890}"#),
        Err(RewriteError::ValueTooLarge { .. })
    ));
    // Unselected values stream whatever their size.
    assert!(rw_with(p(), false, limits, r#"{"b":"123456789012345"}"#).is_ok());
    assert!(matches!(
        rw_with(p(), false, limits, r#"{"abcde":1}"#),
        Err(RewriteError::KeyTooLarge { limit: 6, .. })
    ));
    // Keys under a passed-through subtree are not buffered.
    assert!(rw_with(p(), false, limits, r#"{"b":{"abcdefgh":1}}"#).is_ok());
}

#[test]
fn duplicate_classified_member_is_refused() {
    assert!(matches!(
        rw(&[("a", Act::Redact)], r#"{"a":1,"b":2,"a":3}"#),
        Err(RewriteError::DuplicateMember { .. })
    ));
    // Same name spelled with an escape.
    assert!(matches!(
        rw(&[("a", Act::Redact)], r#"{"a":1,"\u0061":3}"#),
        Err(RewriteError::DuplicateMember { .. })
    ));
    // Unclassified duplicates, and the same name in sibling objects, are fine.
    assert!(rw(&[("a", Act::Redact)], r#"{"b":1,"b":2}"#).is_ok());
    assert!(rw(&[("*.a", Act::Redact)], r#"[{"a":1},{"a":2}]"#).is_ok());
}

#[test]
fn duplicate_check_past_the_linear_scan_and_across_nesting() {
    let names: Vec<String> = (0..40).map(|k| format!("\"k{k}\":{k}")).collect();
    let every = [("*", Act::Redact)];
    // Many distinct classified names: fine.
    assert!(rw(&every, &format!("{{{}}}", names.join(","))).is_ok());
    // A duplicate of an early name, seen after the names moved to a set,
    // and one of a late name.
    for dup in ["\"k3\":0", "\"k35\":0", r#""k\u0033":0"#] {
        let doc = format!("{{{},{dup}}}", names.join(","));
        assert!(
            matches!(rw(&every, &doc), Err(RewriteError::DuplicateMember { .. })),
            "{dup}"
        );
    }
    // A nested object's names neither hide nor clash with its parent's.
    let nested = [("a", Act::Redact), ("c.a", Act::Redact)];
    assert!(matches!(
        rw(&nested, r#"{"a":1,"c":{"a":2},"a":3}"#),
        Err(RewriteError::DuplicateMember { .. })
    ));
    assert!(rw(&nested, r#"{"c":{"a":2},"a":3}"#).is_ok());
    assert!(matches!(
        rw(&nested, r#"{"c":{"a":2,"a":3}}"#),
        Err(RewriteError::DuplicateMember { .. })
    ));
}

#[test]
fn tracked_name_bytes_are_released_when_an_object_closes() {
    let limits = RewriteLimits {
        max_tracked_name_bytes: 4,
        ..RewriteLimits::default()
    };
    let rules = [
        ("*.aa", Act::Redact),
        ("*.bb", Act::Redact),
        ("*.cc", Act::Redact),
    ];
    let records = vec![r#"{"aa":1,"bb":2}"#; 50].join(",");
    assert!(
        rw_with(
            TestPolicy::new(&rules),
            false,
            limits,
            &format!("[{records}]")
        )
        .is_ok()
    );
    assert!(matches!(
        rw_with(
            TestPolicy::new(&rules),
            false,
            limits,
            r#"[{"aa":1,"bb":2,"cc":3}]"#
        ),
        Err(RewriteError::TooManyClassifiedMembers { limit: 4, .. })
    ));
}

#[test]
fn policy_error_fails_closed_without_the_value() {
    let err = rw(&[("a", Act::Fail)], r#"{"a":"top-secret-value"}"#).unwrap_err();
    assert!(matches!(err, RewriteError::Policy { .. }));
    let shown = err.to_string();
    assert!(!shown.contains("top-secret"), "{shown}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn error_display_never_shows_payload() {
    for (rules, input) in [
        (vec![], "{\"secretkey\": \"secretvalue\" x"),
        (
            vec![("secretkey", Act::Redact)],
            "{\"secretkey\": 1, \"secretkey\": 2}",
        ),
        (vec![], "\"secretvalue\\q\""),
    ] {
        let e = rw(&rules, input).unwrap_err();
        let s = format!("{e} {e:?}");
        assert!(!s.contains("secret"), "{s}");
    }
}

#[test]
fn poisoned_after_error_and_after_finish() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[]));
    let mut r = Rewriter::new(policy.clone(), RewriteLimits::default());
    let mut out = Vec::new();
    r.feed(b"[1,", &mut out).unwrap();
    assert!(r.feed(b"]", &mut out).is_err());
    assert!(matches!(
        r.feed(b"2]", &mut out),
        Err(RewriteError::Poisoned)
    ));
    assert!(matches!(r.finish(&mut out), Err(RewriteError::Poisoned)));
    let mut r = Rewriter::new(policy, RewriteLimits::default());
    r.feed(b"[1]", &mut out).unwrap();
    r.finish(&mut out).unwrap();
    assert!(matches!(
        r.feed(b" ", &mut out),
        Err(RewriteError::Poisoned)
    ));
}

#[test]
fn incomplete_body_errors_at_finish() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[]));
    for part in ["{\"a\":1", "[", "\"abc", "tru", "-", "{\"a\"", "12."] {
        let mut r = Rewriter::new(policy.clone(), RewriteLimits::default());
        let mut out = Vec::new();
        r.feed(part.as_bytes(), &mut out).unwrap();
        assert!(
            matches!(r.finish(&mut out), Err(RewriteError::Incomplete { .. })),
            "{part}"
        );
    }
}

#[test]
fn ndjson_records() {
    let p = || TestPolicy::new(&[("a", Act::Redact), ("d", Act::Drop)]);
    let nd = rw_with(
        p(),
        true,
        RewriteLimits::default(),
        "{\"a\":1,\"d\":2}\n\n{\"b\":\"x\"}\r\n5\n\"s\"",
    )
    .unwrap();
    assert_eq!(nd, "{\"a\":\"[R]\"}\n\n{\"b\":\"x\"}\r\n5\n\"s\"");
    assert_eq!(
        rw_with(p(), true, RewriteLimits::default(), "").unwrap(),
        ""
    );
    assert_eq!(
        rw_with(p(), true, RewriteLimits::default(), "1\n2\n").unwrap(),
        "1\n2\n"
    );
    // Each record's paths start at its own root.
    assert_eq!(
        rw_with(p(), true, RewriteLimits::default(), "{\"a\":1}\n{\"a\":2}").unwrap(),
        "{\"a\":\"[R]\"}\n{\"a\":\"[R]\"}"
    );
    for bad in ["{\"a\":\n1}", "[1,\n2]", "1 2\n", "{\"a\":1}\n{"] {
        assert!(
            rw_with(p(), true, RewriteLimits::default(), bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn passed_and_skipped_subtrees_keep_ndjson_and_depth_rules() {
    // No rule: the root is `Outside`, every record passes through whole;
    // `d` dropped: its subtree is skipped.
    let none = || TestPolicy::new(&[]);
    let drop = || TestPolicy::new(&[("d", Act::Drop)]);
    let limits = RewriteLimits::default();
    let nd = "{\"x\":[1, 2.5e1,\"\\u00e9\"]}\n[true,null]\r\n\n{}";
    assert_eq!(rw_with(none(), true, limits, nd).unwrap(), nd);
    assert_eq!(
        rw_with(drop(), true, limits, "{\"d\":[1,{\"e\":2}],\"k\":[3]}\n").unwrap(),
        "{\"k\":[3]}\n"
    );
    for bad in ["{\"x\":[1,\n2]}", "{\"d\":[1,\n2]}", "[{\"a\":1}\n]"] {
        assert!(rw_with(none(), true, limits, bad).is_err(), "{bad:?}");
        assert!(rw_with(drop(), true, limits, bad).is_err(), "{bad:?}");
    }
    let shallow = RewriteLimits {
        max_depth: 3,
        ..RewriteLimits::default()
    };
    assert!(rw_with(none(), false, shallow, "[[[1]]]").is_ok());
    for deep in ["[[[[1]]]]", "{\"d\":[[[1]]]}"] {
        assert!(matches!(
            rw_with(none(), false, shallow, deep),
            Err(RewriteError::TooDeep { max_depth: 3, .. })
        ));
        assert!(matches!(
            rw_with(drop(), false, shallow, deep),
            Err(RewriteError::TooDeep { max_depth: 3, .. })
        ));
    }
}

#[test]
fn summary_counts_per_field_and_outcome() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[
        ("*.a", Act::Redact),
        ("*.d", Act::Drop),
        ("*.k", Act::Keep),
    ]));
    let mut r = Rewriter::new(policy, RewriteLimits::default());
    let mut out = Vec::new();
    let input = r#"[{"a":1,"d":2,"k":3},{"a":{"x":1},"d":[],"k":4}]"#;
    r.feed(input.as_bytes(), &mut out).unwrap();
    let s = r.finish(&mut out).unwrap();
    assert_eq!(s.count_of(FieldId(0), Treatment::Replaced), 1);
    assert_eq!(s.count_of(FieldId(0), Treatment::ContainerReplaced), 1);
    assert_eq!(s.count_of(FieldId(1), Treatment::Dropped), 1);
    assert_eq!(s.count_of(FieldId(1), Treatment::ContainerDropped), 1);
    assert_eq!(s.count_of(FieldId(2), Treatment::Kept), 2);
    assert_eq!(s.documents, 1);
    assert_eq!(s.bytes_in, input.len() as u64);
    assert_eq!(s.bytes_out, out.len() as u64);
}

#[test]
fn huge_whitespace_after_a_deferred_comma_stays_valid() {
    let ws = " ".repeat(10_000);
    let input = format!("{{\"a\":1,{ws}\"d\":2,{ws}\"c\":3}}");
    let out = ok(&[("d", Act::Drop)], &input);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, serde_json::json!({"a":1,"c":3}));
}

/// Whitespace in a member's prefix (before its name, around its colon)
/// about the bound the state machine holds back: a body in one chunk comes
/// out as byte by byte, whether the whole-body path takes it or leaves it
/// to the state machine.
#[test]
fn whitespace_about_the_pending_bound_comes_out_as_byte_by_byte() {
    for runs in [
        [1365, 1365, 1365],
        [1366, 0, 0],
        [0, 0, 1366],
        [1400, 1400, 1400],
        [2100, 2100, 0],
        [4097, 0, 0],
    ] {
        let [a, b, c] = runs.map(|n| " ".repeat(n));
        for rules in [&[("d", Act::Drop)][..], &[("d", Act::Redact)], &[]] {
            let input = format!("{{\"a\":1,{a}\"d\"{b}:{c}2,{a}\"e\"{b}:{c}3}}");
            let out = ok(rules, &input);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["e"], 3, "{runs:?}");
        }
    }
}

/// A chunk larger than a window is indexed and tokenized a window at a
/// time. Whatever a window's end cuts (a multi-byte character, an escape,
/// a member name, a classified value, a number), the output is the one
/// that small chunks (a window each) give.
#[test]
fn tokens_cut_by_a_window_end_come_out_as_from_small_chunks() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[
        ("*.secret", Act::Redact),
        ("*.gone", Act::Drop),
    ]));
    let record = r#"{"name":"Zoë \"Ω\" 😀","secret":"s3cr3t-é","n":-12.5e3,"gone":[1,{"x":"\u00e9"}],"ok":true}"#;
    let limits = RewriteLimits::default();
    // The window's end falls at every offset of a record.
    for pad in 0..record.len() {
        let input = format!("[{}{}]", " ".repeat(pad), vec![record; 300].join(","));
        let whole = run_chunks(&policy, false, limits, &[input.as_bytes()]).unwrap();
        let pieces: Vec<&[u8]> = input.as_bytes().chunks(1000).collect();
        let small = run_chunks(&policy, false, limits, &pieces).unwrap();
        assert_eq!(whole, small, "padding {pad}");
        let v: serde_json::Value = serde_json::from_slice(&whole).unwrap();
        assert_eq!(v.as_array().map(Vec::len), Some(300));
        assert_eq!(v[299]["secret"], "[R]");
        assert_eq!(v[299]["name"], "Zoë \"Ω\" 😀");
        assert!(v[0].get("gone").is_none());
    }
}

// ---- the whole-body path and its hand-over to the state machine ----

/// A first chunk that ends with a closing bracket without being the whole
/// document is tried whole, given up at its end, and taken by the state
/// machine, which goes on with the next chunk: nothing written or counted
/// twice.
#[test]
fn a_first_chunk_ending_in_a_bracket_that_is_not_the_whole_body() {
    let policy: Arc<dyn FieldPolicy> = Arc::new(TestPolicy::new(&[("a.s", Act::Redact)]));
    let input = r#"{"a":{"s":"secret","t":[1]},"b":2}"#;
    let cut = input.find(']').unwrap() + 1;
    let chunks = [&input.as_bytes()[..cut], &input.as_bytes()[cut..]];
    let mut r = Rewriter::new(policy.clone(), RewriteLimits::default());
    let mut out = Vec::new();
    for c in chunks {
        r.feed(c, &mut out).unwrap();
    }
    let split = r.finish(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"a":{"s":"[R]","t":[1]},"b":2}"#
    );
    let mut r = Rewriter::new(policy, RewriteLimits::default());
    let mut out = Vec::new();
    r.feed(input.as_bytes(), &mut out).unwrap();
    assert_eq!(r.finish(&mut out).unwrap(), split);
    assert_eq!(split.count_of(FieldId(0), Treatment::Replaced), 1);
}

/// A body in one chunk that fails after values were transformed (invalid
/// JSON further on, a policy error) is refused at the offset the state
/// machine finds, with nothing emitted and the transforms counted once.
#[test]
fn a_whole_body_given_up_late_reports_like_the_state_machine() {
    let policy: Arc<dyn FieldPolicy> =
        Arc::new(TestPolicy::new(&[("a", Act::Redact), ("f", Act::Fail)]));
    for (input, offset) in [(r#"{"a":"x","b":[1,]}"#, 16), (r#"{"a":"x","f":"y"}"#, 16)] {
        let mut r = Rewriter::new(policy.clone(), RewriteLimits::default());
        let mut out = Vec::new();
        let err = r.feed(input.as_bytes(), &mut out).unwrap_err();
        let at = match err {
            RewriteError::Syntax { offset, .. } | RewriteError::Policy { offset, .. } => offset,
            other => panic!("{input}: {other}"),
        };
        assert_eq!(at, offset, "{input}");
        assert!(out.is_empty(), "{input}: output after an error");
        assert_eq!(
            r.summary().count_of(FieldId(0), Treatment::Replaced),
            1,
            "{input}"
        );
    }
}

/// Nesting deeper than the whole-body path recurses (64) but within the
/// configured limit is rewritten by the state machine, the same bytes.
#[test]
fn nesting_past_the_recursion_bound_is_left_to_the_state_machine() {
    let limits = RewriteLimits {
        max_depth: 200,
        ..RewriteLimits::default()
    };
    let depth = 100;
    let input = format!(
        "{}{{\"a\":\"secret\",\"b\":1}}{}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let rules: &[(&'static str, Act)] = &[("*", Act::Keep)];
    let out = rw_with(TestPolicy::new(rules), false, limits, &input).unwrap();
    assert_eq!(out, input);
    let redacted = rw_with(
        TestPolicy::new(&[("a", Act::Redact)]),
        false,
        limits,
        &format!(
            "{{\"a\":\"secret\",\"n\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
    )
    .unwrap();
    assert!(redacted.starts_with(r#"{"a":"[R]","n":[[["#));
}
