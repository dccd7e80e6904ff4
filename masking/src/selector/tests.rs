use proptest::prelude::*;

use super::*;

use PathSegment::{Index as I, Member as M};

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn err(s: &str) -> SelectorError {
    Selector::parse(s).expect_err(s)
}

#[test]
fn canonical_forms() {
    for (input, canonical) in [
        ("$", "$"),
        ("$.a.b", "$.a.b"),
        ("$['a']['b']", "$.a.b"),
        ("$[\"a\"]", "$.a"),
        ("$['a b']", "$['a b']"),
        ("$[\"x\\\"y\"]", "$['x\"y']"),
        ("$['it\\'s']", "$['it\\'s']"),
        ("$['\\u00e9t\\u00E9']", "$['été']"),
        ("$['\\uD83D\\uDE00']", "$['😀']"),
        ("$['tab\\there\\n']", "$['tab\\there\\n']"),
        ("$['\\/']", "$['/']"),
        ("$.été", "$['été']"),
        ("$['a','b']", "$['a','b']"),
        ("$[ 'a' , 'b' ]", "$['a','b']"),
        ("$.items[*]", "$.items.*"),
        ("$.*", "$.*"),
        ("$[0]", "$[0]"),
        ("$.a[1:5]", "$.a[1:5]"),
        ("$.a[0:5:1]", "$.a[:5]"),
        ("$.a[::2]", "$.a[::2]"),
        ("$.a[3:]", "$.a[3:]"),
        ("$.a[ 1 : 5 : 2 ]", "$.a[1:5:2]"),
        ("$..name", "$..name"),
        ("$..*", "$..*"),
        ("$..['a b']", "$..['a b']"),
        ("$..[0]", "$..[0]"),
        ("$..[*]", "$..*"),
        ("$ .a [0]", "$.a[0]"),
        ("$['a',0,*,1:2]", "$['a',0,*,1:2]"),
        ("$._x9", "$._x9"),
        ("$['9a']", "$['9a']"),
    ] {
        let s = sel(input);
        assert_eq!(s.to_string(), canonical, "{input}");
        assert_eq!(sel(canonical), s, "{canonical}");
    }
}

#[test]
fn refusals_name_selector_position_and_reason() {
    for (input, column, kind) in [
        ("$[?@.a]", 3, SelectorErrorKind::Filter),
        ("$.a[?(@.b > 1)]", 5, SelectorErrorKind::Filter),
        ("@.a", 1, SelectorErrorKind::CurrentNode),
        ("$[@]", 3, SelectorErrorKind::CurrentNode),
        ("$.a[-1]", 5, SelectorErrorKind::NegativeIndex(-1)),
        ("$.a[-2:]", 5, SelectorErrorKind::NegativeSliceBound(-2)),
        ("$.a[1:-1]", 7, SelectorErrorKind::NegativeSliceBound(-1)),
        ("$.a[::-1]", 7, SelectorErrorKind::NegativeStep(-1)),
        ("$.a[::0]", 7, SelectorErrorKind::ZeroStep),
        (
            "$.length(x)",
            3,
            SelectorErrorKind::Function("length".into()),
        ),
        (
            "$[count(@)]",
            3,
            SelectorErrorKind::Function("count".into()),
        ),
        ("a.b", 1, SelectorErrorKind::ExpectedRoot),
        ("", 1, SelectorErrorKind::ExpectedRoot),
        ("$['a\\x']", 5, SelectorErrorKind::InvalidEscape),
        ("$['\\uD800']", 4, SelectorErrorKind::InvalidEscape),
        ("$['\\uDC00']", 4, SelectorErrorKind::InvalidEscape),
        ("$[\"a\\'\"]", 5, SelectorErrorKind::InvalidEscape),
        ("$['a\u{1}']", 5, SelectorErrorKind::ControlCharacter),
        ("$[01]", 3, SelectorErrorKind::InvalidInteger),
        ("$[-0]", 3, SelectorErrorKind::InvalidInteger),
        ("$[9007199254740992]", 3, SelectorErrorKind::InvalidInteger),
    ] {
        let e = err(input);
        assert_eq!(e.kind(), &kind, "{input}: {e}");
        assert_eq!(e.column(), column, "{input}: {e}");
        assert_eq!(e.selector(), input);
        let text = e.to_string();
        assert!(text.contains(&format!("column {column}")), "{text}");
        assert!(text.contains(&input.escape_debug().to_string()), "{text}");
    }
    // Messages say why, for the security team.
    assert!(
        err("$.a[-1]")
            .to_string()
            .contains("unknown while streaming")
    );
    assert!(err("$[?@.a]").to_string().contains("not supported"));
    for bad in [
        "$.", "$..", "$[", "$[]", "$['a'", "$['a']]", "$.a b", "$ ", "$[a]", "$.1a", "$[1,]",
        "$...a", "$[1 2]", "$.a.", "$[-]", "$[:::]",
    ] {
        let e = err(bad);
        assert!(e.to_string().starts_with("selector `"), "{bad}: {e}");
    }
}

#[test]
fn matching() {
    let s = sel("$.customers[*].email");
    assert!(s.matches(&[M("customers"), I(0), M("email")]));
    assert!(s.matches(&[M("customers"), I(7), M("email")]));
    assert!(!s.matches(&[M("customers"), I(0)]));
    assert!(!s.matches(&[M("customers"), I(0), M("email"), M("x")]));
    assert!(!s.matches(&[M("orders"), I(0), M("email")]));
    // Wildcard matches object members too.
    assert!(s.matches(&[M("customers"), M("k"), M("email")]));

    let d = sel("$..email");
    assert!(d.matches(&[M("email")]));
    assert!(d.matches(&[M("a"), I(3), M("b"), M("email")]));
    assert!(d.matches(&[M("email"), M("email")]));
    assert!(!d.matches(&[M("a"), M("emails")]));
    assert!(!d.matches(&[]));

    let slice = sel("$.a[1:7:3]");
    let hits: Vec<usize> = (0..10)
        .filter(|i| slice.matches(&[M("a"), I(*i)]))
        .collect();
    assert_eq!(hits, [1, 4]);
    assert!(!slice.matches(&[M("a"), M("1")]));

    let idx = sel("$[0]['x y']");
    assert!(idx.matches(&[I(0), M("x y")]));
    assert!(!idx.matches(&[M("0"), M("x y")]));

    assert!(sel("$").matches(&[]));
    assert!(!sel("$").matches(&[M("a")]));
    let all = sel("$..*");
    assert!(all.matches(&[M("a")]) && all.matches(&[M("a"), I(2)]));
    assert!(!all.matches(&[]));

    let nested = sel("$..a..b");
    assert!(nested.matches(&[M("a"), M("b")]));
    assert!(nested.matches(&[M("x"), M("a"), M("y"), I(0), M("b")]));
    assert!(!nested.matches(&[M("b"), M("a")]));

    let union = sel("$['a','b'][0,2]");
    assert!(union.matches(&[M("b"), I(2)]));
    assert!(!union.matches(&[M("b"), I(1)]));
}

#[test]
fn set_lookup() {
    let set = SelectorSet::new(vec![
        (sel("$.customers[*].email"), "email"),
        (sel("$..iban"), "iban"),
        (sel("$.customers[*]['email','phone']"), "contact"),
        (sel("$.meta.version"), "version"),
    ]);
    assert_eq!(set.len(), 4);
    assert_eq!(set.lookup(&[]), Lookup::Descend);
    // First in order wins.
    assert_eq!(
        set.lookup(&[M("customers"), I(0), M("email")]),
        Lookup::Match(&"email")
    );
    assert_eq!(
        set.lookup(&[M("customers"), I(0), M("phone")]),
        Lookup::Match(&"contact")
    );
    assert_eq!(set.lookup(&[M("customers"), I(0)]), Lookup::Descend);
    // `..iban` keeps every subtree alive.
    assert_eq!(set.lookup(&[M("orders"), I(0)]), Lookup::Descend);
    assert_eq!(
        set.lookup(&[M("orders"), I(0), M("iban")]),
        Lookup::Match(&"iban")
    );

    let narrow = SelectorSet::new(vec![(sel("$.customers[*].email"), 1u8)]);
    assert_eq!(narrow.lookup(&[M("orders")]), Lookup::Outside);
    assert_eq!(
        narrow.lookup(&[M("customers"), I(0), M("name")]),
        Lookup::Outside
    );
    assert_eq!(
        narrow.lookup(&[M("customers"), I(0), M("email"), M("x")]),
        Lookup::Outside
    );
    assert_eq!(SelectorSet::<u8>::new(vec![]).lookup(&[]), Lookup::Outside);
}

#[test]
fn normalized_paths() {
    assert_eq!(normalized_path(&[]), "$");
    assert_eq!(
        normalized_path(&[M("a"), I(0), M("it's \\ \n\u{1}é")]),
        "$['a'][0]['it\\'s \\\\ \\n\\u0001é']"
    );
    // A normalized path is itself a selector that selects exactly that path.
    let path = [M("x y"), I(3), M("z")];
    assert!(sel(&normalized_path(&path)).matches(&path));
}

#[test]
fn too_many_segments() {
    let ok = format!("${}", ".a".repeat(MAX_SEGMENTS));
    assert!(Selector::parse(&ok).is_ok());
    let long = format!("${}", ".a".repeat(MAX_SEGMENTS + 1));
    assert_eq!(err(&long).kind(), &SelectorErrorKind::TooManySegments);
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,6}",
        "[a-zA-Z0-9 '\"\\\\/.$\\[\\]*?@,:-]{0,8}",
        any::<String>(),
    ]
}

fn arb_sel() -> impl Strategy<Value = Sel> {
    prop_oneof![
        arb_name().prop_map(Sel::Name),
        Just(Sel::Wildcard),
        (0u64..1000).prop_map(Sel::Index),
        (0u64..100, proptest::option::of(0u64..100), 1u64..5)
            .prop_map(|(start, end, step)| Sel::Slice { start, end, step }),
    ]
}

fn selector_of(segments: Vec<(bool, Vec<Sel>)>) -> Selector {
    Selector {
        segments: segments
            .into_iter()
            .map(|(descendant, selectors)| Segment {
                descendant,
                selectors,
            })
            .collect(),
    }
}

fn arb_selector() -> impl Strategy<Value = Selector> {
    proptest::collection::vec(
        (any::<bool>(), proptest::collection::vec(arb_sel(), 1..4)),
        0..6,
    )
    .prop_map(selector_of)
}

proptest! {
    #[test]
    fn display_parse_round_trip(s in arb_selector()) {
        let text = s.to_string();
        let back = Selector::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &s, "{}", text);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn parse_never_panics(text in "\\$[a-z0-9.\\[\\]'\"*:,?@ -]{0,20}") {
        if let Ok(s) = Selector::parse(&text) {
            prop_assert_eq!(Selector::parse(&s.to_string()), Ok(s));
        }
    }

    #[test]
    fn normalized_path_selects_itself(
        path in proptest::collection::vec(
            prop_oneof![any::<String>().prop_map(Ok), (0usize..50).prop_map(Err)], 0..6)
    ) {
        let segs: Vec<PathSegment<'_>> = path
            .iter()
            .map(|p| match p { Ok(m) => M(m), Err(i) => I(*i) })
            .collect();
        let s = Selector::parse(&normalized_path(&segs))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(s.matches(&segs));
    }
}

// ---- the compiled automaton agrees with running the selectors ----

fn small_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "ip", "", "é"]).prop_map(String::from),
        1 => arb_name(),
    ]
}

fn small_sel() -> impl Strategy<Value = Sel> {
    prop_oneof![
        4 => small_name().prop_map(Sel::Name),
        2 => Just(Sel::Wildcard),
        1 => (0u64..12).prop_map(Sel::Index),
        1 => (0u64..12, proptest::option::of(0u64..15), 1u64..5)
            .prop_map(|(start, end, step)| Sel::Slice { start, end, step }),
    ]
}

fn small_selector() -> impl Strategy<Value = Selector> {
    proptest::collection::vec(
        (
            prop::bool::weighted(0.25),
            proptest::collection::vec(small_sel(), 1..3),
        ),
        0..5,
    )
    .prop_map(selector_of)
}

enum Step {
    Name(String),
    Index(usize),
}

fn arb_path() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            3 => small_name().prop_map(Step::Name),
            2 => (0usize..40).prop_map(Step::Index),
            1 => any::<usize>().prop_map(Step::Index),
        ],
        0..8,
    )
}

/// Every prefix of `path`: the stepped answer equals `lookup`'s.
fn agrees<T: PartialEq + std::fmt::Debug>(
    set: &SelectorSet<T>,
    path: &[Step],
) -> Result<(), TestCaseError> {
    let segs: Vec<PathSegment<'_>> = path
        .iter()
        .map(|s| match s {
            Step::Name(n) => M(n),
            Step::Index(i) => I(*i),
        })
        .collect();
    let targets: Vec<MatchState> = set.transition_targets().collect();
    let mut state = set.start().expect("small sets compile");
    prop_assert_eq!(set.lookup_state(state), set.lookup(&[]));
    for (k, seg) in segs.iter().enumerate() {
        // A table per transition leads where a step does.
        let by_table = targets[set.transition(state, *seg).index()];
        if let PathSegment::Member(name) = *seg {
            let (t, key) = set.member_transition(state, name);
            prop_assert_eq!((targets[t.index()], key), set.step_member(state, name));
        }
        state = set.step(state, *seg);
        prop_assert_eq!(by_table, state);
        prop_assert_eq!(
            set.lookup_state(state),
            set.lookup(&segs[..=k]),
            "{:?}",
            &segs[..=k]
        );
    }
    Ok(())
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Name(n) => write!(f, "{n:?}"),
            Step::Index(i) => write!(f, "[{i}]"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn compiled_agrees_with_lookup(
        selectors in proptest::collection::vec(small_selector(), 0..6),
        paths in proptest::collection::vec(arb_path(), 1..8),
    ) {
        let set = SelectorSet::new(
            selectors.into_iter().enumerate().map(|(i, s)| (s, i)).collect(),
        );
        for path in &paths {
            agrees(&set, path)?;
        }
    }
}

#[test]
fn compiled_steps_like_lookup() {
    let set = SelectorSet::new(vec![
        (sel("$.customers[*].email"), "email"),
        (sel("$..iban"), "iban"),
        (sel("$.customers[*]['email','phone']"), "contact"),
        (sel("$.meta.version"), "version"),
        (sel("$.pages[1:7:3][0]"), "slice"),
    ]);
    let s = set.start().expect("compiled");
    assert_eq!(set.lookup_state(s), Lookup::Descend);
    let c = set.step(set.step(s, M("customers")), I(41));
    assert_eq!(
        set.lookup_state(set.step(c, M("email"))),
        Lookup::Match(&"email")
    );
    assert_eq!(
        set.lookup_state(set.step(c, M("phone"))),
        Lookup::Match(&"contact")
    );
    assert_eq!(
        set.lookup_state(set.step(c, M("iban"))),
        Lookup::Match(&"iban")
    );
    // `..iban` keeps every subtree alive.
    assert_eq!(set.lookup_state(set.step(c, M("name"))), Lookup::Descend);
    let pages = set.step(s, M("pages"));
    for j in [0, 1, 2, 4, 7, 1 << 40] {
        let at = set.step(set.step(pages, I(j)), I(0));
        let expected = if j == 1 || j == 4 {
            Lookup::Match(&"slice")
        } else {
            Lookup::Descend
        };
        assert_eq!(set.lookup_state(at), expected, "[{j}][0]");
    }

    let narrow = SelectorSet::new(vec![(sel("$.customers[*].email"), 1u8)]);
    let n = narrow.start().expect("compiled");
    assert_eq!(
        narrow.lookup_state(narrow.step(n, M("orders"))),
        Lookup::Outside
    );
    let empty = SelectorSet::<u8>::new(vec![]);
    assert_eq!(
        empty.lookup_state(empty.start().expect("compiled")),
        Lookup::Outside
    );
}

#[test]
fn huge_index_tables_are_not_compiled() {
    // A bound beyond the index table: stepping is refused, lookup still answers.
    let set = SelectorSet::new(vec![(sel("$.a[100000]"), 1u8)]);
    assert!(set.start().is_none());
    assert_eq!(set.lookup(&[M("a"), I(100_000)]), Lookup::Match(&1));
}

#[test]
fn sets_with_too_many_states_are_not_compiled() {
    // Each `..kN..z` may or may not have seen its `kN` yet: 2^13 states.
    let set = SelectorSet::new((0..13).map(|n| (sel(&format!("$..k{n}..z")), n)).collect());
    assert!(set.start().is_none());
    assert_eq!(set.lookup(&[M("k3"), M("a"), M("z")]), Lookup::Match(&3));
    assert_eq!(set.lookup(&[M("z")]), Lookup::Descend);
}
