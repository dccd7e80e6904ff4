use std::sync::Arc;

use super::*;
use crate::{
    action::{Mask, MaskPreset},
    keys::LocalKeyring,
    rewrite::{RewriteError, RewriteLimits, RewriteSummary, Rewriter, Treatment},
};

fn rule(name: &str, roles: &[&str], purposes: &[&str], actions: &[(&str, Action)]) -> Rule {
    Rule {
        name: name.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        actions: actions
            .iter()
            .map(|(c, a)| ((*c).to_owned(), a.clone()))
            .collect(),
    }
}

fn redact() -> Action {
    Action::Redact { replacement: None }
}

fn policy() -> Policy {
    Policy::new(vec![
        rule(
            "fraud",
            &["fraud"],
            &["fraud-investigation"],
            &[("card_number", Action::Pass), (ANY_CLASS, Action::Pass)],
        ),
        rule(
            "support",
            &["support"],
            &[],
            &[(
                "email",
                Action::Mask(Mask::Preset {
                    preset: MaskPreset::Email,
                    mask_char: '*',
                }),
            )],
        ),
        rule("default", &[], &[], &[(ANY_CLASS, redact())]),
    ])
    .unwrap()
}

fn classification(unclassified: Unclassified) -> Classification {
    let field = |path: &str, class: &str| ClassifiedField {
        selector: Selector::parse(path).unwrap(),
        class: class.into(),
        stored: Stored::Clear,
    };
    Classification {
        product: "customers".into(),
        fields: vec![
            field("$.items[*].email", "email"),
            field("$.items[*].card_number", "card_number"),
        ],
        unclassified,
    }
}

fn roles(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| (*s).to_owned()).collect()
}

const DOC: &str = r#"{"items":[{"id":7,"email":"jane.doe@example.com","card_number":"4111 1111 1111 1111","notes":"write to bob@corp.example please"}]}"#;

fn run(classification: &Classification, role: &[&str], purpose: Option<&str>, doc: &str) -> String {
    let policy = policy();
    let rule = policy.select(&roles(role), purpose);
    let plan = Arc::new(
        Plan::compile(
            classification,
            &policy,
            rule,
            Arc::new(DetectorSet::builtin()),
            &[
                "email",
                "card_number",
                "iban",
                "phone",
                "national_id",
                "ip_address",
            ],
        )
        .unwrap(),
    );
    let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::random().unwrap());
    let bound = plan.for_consumer("sam", keys);
    let mut rewriter = Rewriter::new(Arc::new(bound), RewriteLimits::default());
    let mut out = Vec::new();
    rewriter.feed(doc.as_bytes(), &mut out).unwrap();
    rewriter.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_first_matching_rule_wins_and_the_default_catches_the_rest() {
    let policy = policy();
    assert_eq!(
        policy
            .select(&roles(&["fraud"]), Some("fraud-investigation"))
            .name,
        "fraud"
    );
    // The fraud rule is limited to its purpose.
    assert_eq!(
        policy.select(&roles(&["fraud"]), Some("marketing")).name,
        "default"
    );
    assert_eq!(policy.select(&roles(&["fraud"]), None).name, "default");
    assert_eq!(
        policy.select(&roles(&["support", "x"]), None).name,
        "support"
    );
    assert_eq!(policy.select(&roles(&["nobody"]), None).name, "default");
    // Classes a rule does not name fall back to its "*", then the default's.
    let support = policy.select(&roles(&["support"]), None);
    assert_eq!(policy.action_for(support, "iban").unwrap(), &redact());
}

#[test]
fn each_role_sees_its_own_view() {
    let c = classification(Unclassified::Pass);
    let support = run(&c, &["support"], None, DOC);
    assert!(
        support.contains(r#""email":"j*******@example.com""#),
        "{support}"
    );
    assert!(support.contains(r#""card_number":null"#), "{support}");
    assert!(!support.contains("4111"), "{support}");

    let fraud = run(&c, &["fraud"], Some("fraud-investigation"), DOC);
    assert_eq!(fraud, DOC, "the fraud rule passes everything");

    let anyone = run(&c, &["analyst"], None, DOC);
    assert!(anyone.contains(r#""email":null"#) && anyone.contains(r#""card_number":null"#));
    assert!(!anyone.contains("jane.doe"), "{anyone}");
}

#[test]
fn detect_scans_unclassified_strings_and_deny_drops_them() {
    let detect = run(
        &classification(Unclassified::Detect),
        &["analyst"],
        None,
        DOC,
    );
    assert!(!detect.contains("bob@corp.example"), "{detect}");
    assert!(detect.contains("write to [email] please"), "{detect}");
    assert!(detect.contains(r#""id":7"#));

    let support = run(
        &classification(Unclassified::Detect),
        &["support"],
        None,
        DOC,
    );
    assert!(
        support.contains("write to b**@corp.example please"),
        "{support}"
    );

    let deny = run(&classification(Unclassified::Deny), &["analyst"], None, DOC);
    assert!(!deny.contains("notes"), "{deny}");
    assert!(deny.contains(r#""email":null"#), "{deny}");
}

#[test]
fn stored_encrypted_fields_are_opened_before_the_action() {
    let keys = Arc::new(LocalKeyring::random().unwrap());
    let mut c = classification(Unclassified::Pass);
    c.fields[1].stored = Stored::Encrypted;
    // The product receives the card encrypted (in a write, a single
    // record at the root: another path than in the list below).
    let write = WritePlan::new(
        &Classification {
            fields: vec![ClassifiedField {
                selector: Selector::parse("$..card_number").unwrap(),
                ..c.fields[1].clone()
            }],
            ..c.clone()
        },
        keys.clone(),
    )
    .unwrap();
    let mut rewriter = Rewriter::new(Arc::new(write), RewriteLimits::default());
    let mut stored = Vec::new();
    rewriter
        .feed(br#"{"card_number":"4111 1111 1111 1111"}"#, &mut stored)
        .unwrap();
    rewriter.finish(&mut stored).unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    let envelope = stored["card_number"].as_str().unwrap().to_owned();
    assert!(envelope.starts_with("mg1:"), "{envelope}");
    let doc = format!(r#"{{"items":[{{"card_number":"{envelope}"}}]}}"#);
    c.fields[1].selector = Selector::parse("$..card_number").unwrap();
    let policy = policy();
    let compile = |role: &[&str], purpose| {
        Arc::new(
            Plan::compile(
                &c,
                &policy,
                policy.select(&roles(role), purpose),
                Arc::new(DetectorSet::builtin()),
                &[],
            )
            .unwrap(),
        )
    };
    let rewrite = |plan: Arc<Plan>| {
        let keys: Arc<dyn KeyProvider> = keys.clone();
        let mut rewriter = Rewriter::new(
            Arc::new(plan.for_consumer("c", keys)),
            RewriteLimits::default(),
        );
        let mut out = Vec::new();
        rewriter.feed(doc.as_bytes(), &mut out).unwrap();
        rewriter.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let fraud = rewrite(compile(&["fraud"], Some("fraud-investigation")));
    assert!(
        fraud.contains(r#""card_number":"4111 1111 1111 1111""#),
        "{fraud}"
    );
    let support = rewrite(compile(&["support"], None));
    assert!(support.contains(r#""card_number":null"#), "{support}");
    assert!(
        !support.contains("mg1:"),
        "no envelope reaches a caller: {support}"
    );
}

// ---- step-by-step lookup gives what whole-path lookup gives ----

/// The same plan, asked only on whole paths (`lookup`).
struct WholePaths(BoundPlan);

impl FieldPolicy for WholePaths {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        self.0.lookup(path)
    }

    fn transform(
        &self,
        id: FieldId,
        path: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        self.0.transform(id, path, value, out)
    }

    fn container(&self, id: FieldId) -> ContainerAction {
        self.0.container(id)
    }

    fn scans_unclassified(&self) -> bool {
        self.0.scans_unclassified()
    }

    fn unclassified(
        &self,
        path: FieldPath<'_>,
        value: &str,
        out: &mut Vec<u8>,
        found: &mut Found,
    ) -> Result<Replacement, TransformError> {
        self.0.unclassified(path, value, out, found)
    }
}

mod stepping {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    const NAMES: &[&str] = &["a", "b", "ip", "x y"];

    fn arb_selector() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            prop::sample::select(NAMES).prop_map(|n| format!("['{n}']")),
            prop::sample::select(NAMES).prop_map(|n| format!("..['{n}']")),
            Just("[*]".to_owned()),
            Just("..*".to_owned()),
            (0usize..3).prop_map(|i| format!("[{i}]")),
            Just("[1:4:2]".to_owned()),
            Just("[::2]".to_owned()),
        ];
        proptest::collection::vec(segment, 0..4).prop_map(|s| format!("${}", s.concat()))
    }

    fn arb_doc() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..1000).prop_map(Value::from),
            "[a-z@. 0-9]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop::sample::select(NAMES).prop_map(String::from),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Pass),
            Just(Action::Drop),
            Just(Action::Redact { replacement: None }),
            Just(Action::Redact {
                replacement: Some("[R]".into())
            }),
            Just(Action::Mask(Mask::Chars {
                keep_first: 1,
                keep_last: 0,
                mask_char: '*'
            })),
        ]
    }

    fn rewrite(policy: Arc<dyn FieldPolicy>, doc: &[u8]) -> Result<(Vec<u8>, String), String> {
        let mut rewriter = Rewriter::new(policy, RewriteLimits::default());
        let mut out = Vec::new();
        rewriter.feed(doc, &mut out).map_err(|e| e.to_string())?;
        let summary = rewriter.finish(&mut out).map_err(|e| e.to_string())?;
        Ok((out, format!("{summary:?}")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn stepping_and_whole_paths_rewrite_alike(
            fields in proptest::collection::vec((arb_selector(), arb_action()), 0..5),
            unclassified in prop::sample::select(vec![Unclassified::Pass, Unclassified::Detect, Unclassified::Deny]),
            doc in arb_doc(),
        ) {
            let classification = Classification {
                product: "p".into(),
                fields: fields
                    .iter()
                    .enumerate()
                    .map(|(i, (s, _))| ClassifiedField {
                        selector: Selector::parse(s).unwrap(),
                        class: format!("c{i}"),
                        stored: Stored::Clear,
                    })
                    .collect(),
                unclassified,
            };
            let actions = fields
                .iter()
                .enumerate()
                .map(|(i, (_, a))| (format!("c{i}"), a.clone()))
                .chain([(ANY_CLASS.to_owned(), Action::Redact { replacement: None })])
                .collect();
            let policy = Policy::new(vec![Rule {
                name: "default".into(),
                roles: Vec::new(),
                purposes: Vec::new(),
                actions,
            }])
            .unwrap();
            let plan = Arc::new(
                Plan::compile(
                    &classification,
                    &policy,
                    policy.select(&[], None),
                    Arc::new(DetectorSet::builtin()),
                    &["email"],
                )
                .unwrap(),
            );
            let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::empty());
            let bound = plan.for_consumer("c", keys.clone());
            prop_assert!(bound.lookup_root().is_some());
            let doc = serde_json::to_vec(&doc).unwrap();
            let stepped = rewrite(Arc::new(bound), &doc);
            let whole = rewrite(Arc::new(WholePaths(plan.for_consumer("c", keys))), &doc);
            prop_assert_eq!(stepped, whole);
        }
    }
}

/// Rewrites `doc` under a plan of `paths` (every class redacted), fed in
/// chunks of `chunk` bytes.
fn rewrite_chunked(paths: &[&str], doc: &str, chunk: usize) -> Result<String, RewriteError> {
    let fields: Vec<(&str, &str)> = paths.iter().map(|p| (*p, "secret")).collect();
    rewrite_streamed(&fields, Unclassified::Pass, doc, chunk, false).map(|(out, _)| out)
}

/// Rewrites `doc` under a plan classifying `fields` (selector, class), with
/// e-mail addresses masked and every other class redacted, fed in chunks
/// of `chunk` bytes, as JSON or NDJSON: the output and the counts.
fn rewrite_streamed(
    fields: &[(&str, &str)],
    unclassified: Unclassified,
    doc: &str,
    chunk: usize,
    ndjson: bool,
) -> Result<(String, RewriteSummary), RewriteError> {
    let classification = Classification {
        product: "customers".into(),
        fields: fields
            .iter()
            .map(|(path, class)| ClassifiedField {
                selector: Selector::parse(path).unwrap(),
                class: (*class).into(),
                stored: Stored::Clear,
            })
            .collect(),
        unclassified,
    };
    let email = Action::Mask(Mask::Preset {
        preset: MaskPreset::Email,
        mask_char: '*',
    });
    let policy = Policy::new(vec![rule(
        "default",
        &[],
        &[],
        &[("email", email), (ANY_CLASS, redact())],
    )])
    .unwrap();
    let rule = policy.select(&[], None);
    let plan = Arc::new(
        Plan::compile(
            &classification,
            &policy,
            rule,
            Arc::new(DetectorSet::builtin()),
            &[],
        )
        .unwrap(),
    );
    let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::random().unwrap());
    let policy = Arc::new(plan.for_consumer("sam", keys));
    let mut rewriter = match ndjson {
        true => Rewriter::ndjson(policy, RewriteLimits::default()),
        false => Rewriter::new(policy, RewriteLimits::default()),
    };
    let mut out = Vec::new();
    for piece in doc.as_bytes().chunks(chunk) {
        rewriter.feed(piece, &mut out)?;
    }
    let summary = rewriter.finish(&mut out)?.clone();
    Ok((String::from_utf8(out).unwrap(), summary))
}

/// A body of `n` records that mixes what the whole-body walk takes with
/// what it hands to the state machine (escaped names, long whitespace),
/// nested objects and arrays, and strings for the detectors; `record`
/// may change the text of a record.
fn records(n: usize, record: impl Fn(usize, String) -> String) -> String {
    let records: Vec<String> = (0..n)
        .map(|i| {
            let name = if i % 7 == 3 { r"n\u0061me" } else { "name" };
            let ws = if i % 11 == 5 { " ".repeat(2000) } else { String::new() };
            let sep = if i % 5 == 2 { ",\n   " } else { "," };
            let text = format!(
                r#"{{"id":{i},"email":"user{i}@x.io"{sep}"{name}":"N\u00e9{i}",{ws}"address":{{"zip":"Z{i}Z","city":"C"}},"extra":{{"k{i}":"S{i}S","k":"T{i}T"}},"notes":"call +49 30 1234567{} or mail z{i}@y.org","tags":[1,"a",{{"ip":"10.0.0.{}"}}],"empty":{{}},"list":[]}}"#,
                i % 10,
                i % 250
            );
            record(i, text)
        })
        .collect();
    format!("{{\"items\":[{}],\"count\":{n}}}", records.join(",\n"))
}

const RECORD_FIELDS: [(&str, &str); 4] = [
    ("$.items[*].email", "email"),
    ("$.items[*].address.zip", "postal_code"),
    ("$.items[*].extra.*", "secret"),
    ("$..ip", "ip_address"),
];

#[test]
fn a_streamed_body_is_rewritten_alike_whatever_its_chunks() {
    // Split bodies go through the state machine, which hands each record
    // whole in a chunk to the whole-body walk; the walk hands back where a
    // chunk ends or where it does not take a member, and the state machine
    // goes on from there.
    let doc = records(60, |_, r| r);
    let (whole, counts) = rewrite_streamed(
        &RECORD_FIELDS,
        Unclassified::Detect,
        &doc,
        usize::MAX,
        false,
    )
    .unwrap();
    // The e-mail mask keeps the domain.
    for secret in ["user1@", "y.org", "Z1Z", "S1S", "T1T", "10.0.0.", "1234567"] {
        assert!(!whole.contains(secret), "{secret} in {whole}");
    }
    let value: serde_json::Value = serde_json::from_str(&whole).unwrap();
    assert_eq!(value["items"].as_array().unwrap().len(), 60);
    assert_eq!(value["items"][3]["n\u{61}me"], "N\u{e9}3");
    assert_eq!(counts.count_of(FieldId(0), Treatment::Replaced), 60);
    // Each record's notes hold a phone number and an e-mail address.
    assert_eq!(
        counts.detected().collect::<Vec<_>>(),
        [
            (("email", Treatment::Replaced), 60),
            (("phone", Treatment::Replaced), 60)
        ]
    );
    for chunk in [1, 2, 13, 64, 257, 1000, 4096, 70_000] {
        let (out, summary) =
            rewrite_streamed(&RECORD_FIELDS, Unclassified::Detect, &doc, chunk, false).unwrap();
        assert_eq!(out, whole, "chunks of {chunk}");
        assert_eq!(
            summary.fields().collect::<Vec<_>>(),
            counts.fields().collect::<Vec<_>>()
        );
        assert_eq!(summary.unclassified_scanned, counts.unclassified_scanned);
        assert_eq!(summary.unclassified_replaced, counts.unclassified_replaced);
        assert_eq!(
            summary.detected().collect::<Vec<_>>(),
            counts.detected().collect::<Vec<_>>(),
            "chunks of {chunk}"
        );
    }
}

#[test]
fn errors_in_a_streamed_record_are_reported_at_their_offset_whatever_the_chunks() {
    // A record the walk gives up on is taken by the state machine, which
    // reports the error where it is.
    let duplicate = records(50, |i, r| match i {
        41 => r.replacen(r#""id":41"#, r#""email":"b@x.io","id":41"#, 1),
        _ => r,
    });
    let invalid = records(50, |i, r| match i {
        33 => r.replacen(r#""city":"C""#, r#""city":tru"#, 1),
        _ => r,
    });
    for (doc, duplicate, record) in [(duplicate, true, 41), (invalid, false, 33)] {
        let offsets: Vec<u64> = [usize::MAX, 1, 64, 1000, 4096]
            .into_iter()
            .map(|chunk| {
                match rewrite_streamed(&RECORD_FIELDS, Unclassified::Detect, &doc, chunk, false) {
                    Err(RewriteError::DuplicateMember { offset }) if duplicate => offset,
                    Err(RewriteError::Syntax { offset, .. }) if !duplicate => offset,
                    other => panic!("chunks of {chunk}: {other:?}"),
                }
            })
            .collect();
        assert!(offsets.iter().all(|&o| o == offsets[0]), "{offsets:?}");
        // In the record, past its first member.
        let at = usize::try_from(offsets[0]).unwrap();
        let starts = |i: usize| doc.find(&format!(r#"{{"id":{i},"#)).unwrap();
        assert!(
            starts(record - 1) < at && at < starts(record + 1),
            "{offsets:?}"
        );
    }
}

#[test]
fn a_newline_inside_an_ndjson_record_is_refused_in_a_nested_object_too() {
    // A record's nested objects go to the whole-body walk, which must not
    // take a newline for whitespace there (found by the `rewrite_plan`
    // fuzz target).
    let fields = [("$.items[*].email", "email")];
    let fine = "{\"items\":[{\"email\":\"a@x.io\", \"k\": true}]}\n{\"items\":[]}\n";
    for chunk in [usize::MAX, 1, 7] {
        let (out, _) = rewrite_streamed(&fields, Unclassified::Pass, fine, chunk, true).unwrap();
        assert_eq!(out, fine.replace("a@x.io", "*@x.io"), "chunks of {chunk}");
        for bad in [
            "{\"items\": [{\"na-e\":\n\n true, \"n\": null}], \"count\": 6}",
            "{\"items\":[{\"email\":\"a@x.io\"\n}]}",
            "{\"items\":[{\"x\":[1,\n2]}]}",
        ] {
            assert!(
                matches!(
                    rewrite_streamed(&fields, Unclassified::Pass, bad, chunk, true),
                    Err(RewriteError::Syntax { .. })
                ),
                "{bad:?} in chunks of {chunk}"
            );
        }
    }
}

#[test]
fn a_plan_rewrites_a_body_whole_as_byte_by_byte() {
    // Redactions are the plan's constants: the whole-body path writes them
    // without a transform, the state machine through one.
    let paths = ["$.items[*].email", "$.items[*].card", "$..ip", "$.meta"];
    let doc = r#"{"items":[{"email":"a\u0040x.io","card":4111,"ip":null},
        {"email":"b@x.io","card":{"n":"4111"},"x":[{"ip":"10.0.0.1"}]}],
        "meta":[1,{"k":"v"}],"n":2}"#;
    let whole = rewrite_chunked(&paths, doc, usize::MAX).unwrap();
    assert_eq!(whole, rewrite_chunked(&paths, doc, 1).unwrap());
    assert!(!whole.contains("x.io") && !whole.contains("4111") && !whole.contains("10.0"));
    assert!(whole.contains(r#""n":2"#), "{whole}");
}

#[test]
fn duplicate_classified_members_are_refused_through_a_compiled_plan() {
    // A name the selectors spell out is checked by its key, a name only a
    // wildcard classifies by the name itself; whole in one chunk (the
    // whole-children path) and byte by byte (the state machine).
    let paths = ["$.items[*].email", "$.items[*].extra.*", "$..ip"];
    for chunk in [usize::MAX, 1, 7] {
        let dup = |doc: &str| {
            matches!(
                rewrite_chunked(&paths, doc, chunk),
                Err(RewriteError::DuplicateMember { .. })
            )
        };
        assert!(dup(
            r#"{"items":[{"email":"a@x.io","id":1,"email":"b@x.io"}]}"#
        ));
        assert!(dup(r#"{"items":[{"extra":{"k":"1","j":2,"k":"2"}}]}"#));
        assert!(dup(r#"{"x":{"ip":"10.0.0.1","ip":"10.0.0.2"}}"#));
        // Escaped, the same name.
        assert!(dup(
            r#"{"items":[{"email":"a@x.io","em\u0061il":"b@x.io"}]}"#
        ));
        for fine in [
            r#"{"items":[{"email":"a@x.io"},{"email":"b@x.io"}]}"#,
            r#"{"items":[{"extra":{"k":"1","j":"2"}},{"extra":{"k":"3"}}]}"#,
            r#"{"items":[{"n":1,"n":2,"email":"a@x.io"}]}"#,
            r#"{"x":{"ip":"10.0.0.1","y":{"ip":"10.0.0.2"}}}"#,
        ] {
            let out = rewrite_chunked(&paths, fine, chunk).unwrap();
            assert!(!out.contains("x.io") && !out.contains("10.0.0"), "{out}");
        }
    }
}

#[test]
fn members_moving_between_records_keep_their_own_decisions() {
    // The rewriter remembers the answer for a member by its object's state
    // and its position: records whose members trade places, go missing or
    // change names must each get their own.
    let paths = ["$.items[*].email", "$.items[*].address.zip"];
    let doc = r#"{"items":[
        {"email":"a@x.io","id":1,"address":{"zip":"111","city":"A"}},
        {"id":2,"email":"b@x.io","address":{"city":"B","zip":"222"}},
        {"phone":"keep1","id":3,"address":{"zip":"333"}},
        {"email":"c@x.io","idx":4,"address":{"zap":"keep2","zip":"444"}}]}"#;
    for chunk in [usize::MAX, 1, 5] {
        let out = rewrite_chunked(&paths, doc, chunk).unwrap();
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        let items = value["items"].as_array().unwrap();
        for item in items {
            if let Some(email) = item.get("email") {
                assert!(email.is_null(), "{out}");
            }
            assert!(item["address"]["zip"].is_null(), "{out}");
        }
        assert_eq!(items[0]["id"], 1);
        assert_eq!(items[1]["id"], 2);
        assert_eq!(items[2]["phone"], "keep1");
        assert_eq!(items[3]["idx"], 4);
        assert_eq!(items[3]["address"]["zap"], "keep2");
        assert_eq!(items[0]["address"]["city"], "A");
    }
}
