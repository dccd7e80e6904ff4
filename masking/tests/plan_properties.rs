//! Property tests of compiled plans: random classifications, random policy
//! rules and random documents through the real `Plan` and `Rewriter`, as
//! the gateway runs them.
//!
//! The rewriter's own property tests (`src/rewrite/proptests.rs`) check the
//! engine against an oracle policy; these check what a security team relies
//! on end to end: whatever the selectors and actions, a value whose rule
//! does not reveal it never appears in the output (in the clear nor in the
//! escaped form it arrived in), the output is valid JSON, and values that a
//! rule encrypts or tokenizes come back unchanged for a rule that reveals
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use maskgate_masking::{
    ANY_CLASS, Action, Alphabet, Classification, ClassifiedField, DetectorSet, Hash, HashScope,
    KeyProvider, LocalKeyring, Mask, MaskPreset, Plan, Policy, Reveal, RewriteLimits, Rewriter,
    Rule, Selector, Stored, Tokenize, Unclassified, WritePlan,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Member names the documents use; the classification picks among them.
const NAMES: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
/// Classes the classification assigns and the rule gives actions to.
const CLASSES: [&str; 3] = ["c0", "c1", "c2"];

/// Where a classified name is selected: in the list's records only, or
/// anywhere (also in each record's nested `address`).
#[derive(Debug, Clone, Copy)]
enum Scope {
    Records,
    Anywhere,
}

#[derive(Debug, Clone)]
struct Field {
    name: usize,
    scope: Scope,
    class: usize,
}

impl Field {
    fn selector(&self) -> String {
        match self.scope {
            Scope::Records => format!("$.items[*].{}", NAMES[self.name]),
            Scope::Anywhere => format!("$..{}", NAMES[self.name]),
        }
    }

    fn selects(&self, name: usize, nested: bool) -> bool {
        self.name == name && (!nested || matches!(self.scope, Scope::Anywhere))
    }
}

fn fields() -> impl Strategy<Value = Vec<Field>> {
    proptest::collection::vec(
        (
            0..NAMES.len(),
            prop_oneof![Just(Scope::Records), Just(Scope::Anywhere)],
            0..CLASSES.len(),
        )
            .prop_map(|(name, scope, class)| Field { name, scope, class }),
        1..6,
    )
}

/// Every action that must hide the clear value (or pass, which must not).
fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Pass),
        Just(Action::Redact { replacement: None }),
        Just(Action::Redact {
            replacement: Some("[REDACTED]".into())
        }),
        Just(Action::Drop),
        (0usize..4, 0usize..4).prop_map(|(keep_first, keep_last)| Action::Mask(Mask::Chars {
            keep_first,
            keep_last,
            mask_char: '*',
        })),
        Just(Action::Mask(Mask::Preset {
            preset: MaskPreset::Email,
            mask_char: '#',
        })),
        prop_oneof![
            Just(HashScope::Product),
            Just(HashScope::Consumer),
            Just(HashScope::Global)
        ]
        .prop_map(|scope| Action::Hash(Hash {
            scope,
            ..Hash::default()
        })),
        Just(Action::Tokenize(tokenize())),
        Just(Action::Encrypt { key: None }),
    ]
}

fn tokenize() -> Tokenize {
    Tokenize {
        alphabet: Alphabet::Alphanumeric,
        key: None,
    }
}

/// One document: `{"items":[{NAME: canary, ..., "address":{NAME: canary}}],
/// "count": n}`, each canary unique and alphanumeric (so every action,
/// tokenize included, accepts it).
#[derive(Debug, Clone)]
struct Doc {
    value: Value,
    /// (record, name, nested, canary)
    canaries: Vec<(usize, usize, bool, String)>,
    /// How the serialized input escapes characters: per canary, which of
    /// its characters are written as `\u00XX`.
    escapes: Vec<u64>,
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        1usize..4,
        proptest::collection::vec(any::<u64>(), 40),
        proptest::collection::vec(any::<bool>(), 40),
    )
        .prop_map(|(records, escapes, present)| {
            let mut canaries = Vec::new();
            let mut items = Vec::new();
            for r in 0..records {
                let mut record = Map::new();
                let mut address = Map::new();
                for (n, name) in NAMES.iter().enumerate() {
                    for nested in [false, true] {
                        let i = canaries.len();
                        if !present[i % present.len()] {
                            continue;
                        }
                        let canary = format!(
                            "Cv{r}{n}{}Qz{:08x}",
                            u8::from(nested),
                            escapes[i % 40] as u32
                        );
                        let target = if nested { &mut address } else { &mut record };
                        target.insert((*name).to_owned(), Value::String(canary.clone()));
                        canaries.push((r, n, nested, canary));
                    }
                }
                record.insert("id".into(), Value::from(r));
                record.insert("address".into(), Value::Object(address));
                items.push(Value::Object(record));
            }
            let mut root = Map::new();
            root.insert("items".into(), Value::Array(items));
            root.insert("count".into(), Value::from(records));
            Doc {
                value: Value::Object(root),
                escapes: (0..canaries.len()).map(|i| escapes[i % 40]).collect(),
                canaries,
            }
        })
}

impl Doc {
    /// The input bytes, with some canary characters written as `\u00XX`.
    fn serialize(&self) -> (Vec<u8>, Vec<String>) {
        let mut text = serde_json::to_string(&self.value).unwrap();
        let mut escaped_forms = Vec::new();
        for ((_, _, _, canary), mask) in self.canaries.iter().zip(&self.escapes) {
            let escaped: String = canary
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask >> (i % 64) & 1 == 1 {
                        format!("\\u{:04x}", u32::from(c))
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            text = text.replacen(&format!("\"{canary}\""), &format!("\"{escaped}\""), 1);
            escaped_forms.push(escaped);
        }
        (text.into_bytes(), escaped_forms)
    }
}

fn classification(fields: &[Field], stored: &Stored) -> Classification {
    Classification {
        product: "orders".into(),
        fields: fields
            .iter()
            .map(|f| ClassifiedField {
                selector: Selector::parse(&f.selector()).unwrap(),
                class: CLASSES[f.class].into(),
                stored: stored.clone(),
            })
            .collect(),
        unclassified: Unclassified::Pass,
    }
}

/// A policy of one rule for role `r` and the mandatory default (redact).
fn policy(actions: &[Action]) -> Policy {
    let mut rule = BTreeMap::new();
    for (class, action) in CLASSES.iter().zip(actions) {
        rule.insert((*class).to_owned(), action.clone());
    }
    Policy::new(vec![
        Rule {
            name: "r".into(),
            roles: vec!["r".into()],
            purposes: vec![],
            actions: rule,
        },
        Rule {
            name: "default".into(),
            roles: vec![],
            purposes: vec![],
            actions: BTreeMap::from([(ANY_CLASS.into(), Action::Redact { replacement: None })]),
        },
    ])
    .unwrap()
}

fn plan(classification: &Classification, actions: &[Action]) -> Arc<Plan> {
    let policy = policy(actions);
    let rule = policy.select(&["r".to_owned()], None);
    Arc::new(
        Plan::compile(
            classification,
            &policy,
            rule,
            Arc::new(DetectorSet::builtin()),
            &[],
        )
        .unwrap(),
    )
}

/// Runs `policy` over `input`, fed in chunks cut at `cuts` (byte offsets
/// taken modulo the length).
fn rewrite(
    policy: Arc<dyn maskgate_masking::FieldPolicy>,
    input: &[u8],
    cuts: &[usize],
) -> Vec<u8> {
    let mut offsets: Vec<usize> = cuts.iter().map(|c| c % input.len()).collect();
    offsets.sort_unstable();
    offsets.dedup();
    let mut rewriter = Rewriter::new(policy, RewriteLimits::default());
    let mut out = Vec::new();
    let mut start = 0;
    for end in offsets.into_iter().chain([input.len()]) {
        rewriter.feed(&input[start..end], &mut out).unwrap();
        start = end;
    }
    rewriter.finish(&mut out).unwrap();
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn keys() -> Arc<dyn KeyProvider> {
    Arc::new(LocalKeyring::random().unwrap())
}

/// The action that decides a value: the first classified field selecting it.
fn governing<'a>(
    fields: &[Field],
    actions: &'a [Action],
    name: usize,
    nested: bool,
) -> Option<&'a Action> {
    fields
        .iter()
        .find(|f| f.selects(name, nested))
        .map(|f| &actions[f.class])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Whatever the selectors and actions: valid JSON out, the output does
    /// not depend on the chunking (but for encryption's random nonces), and every value whose action is not
    /// `pass` is absent in its clear and its escaped form; `pass`ed and
    /// unclassified values arrive as they were.
    #[test]
    fn no_protected_value_leaves_in_any_form(
        fields in fields(),
        actions in proptest::collection::vec(action(), CLASSES.len()),
        doc in doc(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (input, escaped_forms) = doc.serialize();
        let plan = plan(&classification(&fields, &Stored::Clear), &actions);
        let bound = Arc::new(plan.for_consumer("consumer-1", keys()));
        let out = rewrite(bound.clone(), &input, &cuts);
        // Encryption draws a fresh nonce per value: only deterministic
        // actions can be compared byte for byte.
        if !actions.iter().any(|a| matches!(a, Action::Encrypt { .. })) {
            let whole = rewrite(bound, &input, &[]);
            prop_assert_eq!(&out, &whole, "chunking changed the output");
        }
        let parsed: Value = serde_json::from_slice(&out).expect("output is valid JSON");

        for ((record, name, nested, canary), escaped) in doc.canaries.iter().zip(&escaped_forms) {
            let shown = match governing(&fields, &actions, *name, *nested) {
                None | Some(Action::Pass) => true,
                Some(_) => false,
            };
            if shown {
                let holder = &parsed["items"][*record];
                let holder = if *nested { &holder["address"] } else { holder };
                prop_assert_eq!(holder[NAMES[*name]].as_str(), Some(canary.as_str()));
            } else {
                prop_assert!(!contains(&out, canary), "{} leaked in the clear", canary);
                prop_assert!(!contains(&out, escaped), "{} leaked escaped", escaped);
            }
        }
    }

    /// `encrypt` and `tokenize` are undone by a rule that reveals them, and
    /// fields stored encrypted or tokenized (protected on the way in by the
    /// write plan) come back as they were for a rule that passes them.
    #[test]
    fn encrypted_and_tokenized_values_round_trip_for_a_revealing_rule(
        fields in fields(),
        protect in proptest::collection::vec(prop_oneof![
            Just(Action::Encrypt { key: None }),
            Just(Action::Tokenize(tokenize())),
        ], CLASSES.len()),
        doc in doc(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        store in prop_oneof![Just(Stored::Encrypted), Just(Stored::Tokenized(tokenize()))],
    ) {
        let keys = keys();
        let (input, _) = doc.serialize();
        let clear = classification(&fields, &Stored::Clear);

        let protected = rewrite(
            Arc::new(plan(&clear, &protect).for_consumer("c", keys.clone())),
            &input,
            &cuts,
        );
        let reveal: Vec<Action> = protect
            .iter()
            .map(|a| match a {
                Action::Tokenize(t) => Action::Reveal(Reveal::Token(t.clone())),
                _ => Action::Reveal(Reveal::Envelope),
            })
            .collect();
        let revealed = rewrite(
            Arc::new(plan(&clear, &reveal).for_consumer("c", keys.clone())),
            &protected,
            &cuts,
        );
        prop_assert_eq!(serde_json::from_slice::<Value>(&revealed).unwrap(), doc.value.clone());

        // Stored protected: the write plan encrypts or tokenizes, a
        // passing rule opens.
        let stored_classification = classification(&fields, &store);
        let write = WritePlan::new(&stored_classification, keys.clone()).expect("fields to protect");
        let stored = rewrite(Arc::new(write), &input, &cuts);
        for (_, name, nested, canary) in &doc.canaries {
            if fields.iter().any(|f| f.selects(*name, *nested)) {
                prop_assert!(!contains(&stored, canary), "{} stored in the clear", canary);
            }
        }
        let pass = vec![Action::Pass; CLASSES.len()];
        let opened = rewrite(
            Arc::new(plan(&stored_classification, &pass).for_consumer("c", keys)),
            &stored,
            &cuts,
        );
        prop_assert_eq!(serde_json::from_slice::<Value>(&opened).unwrap(), doc.value);
    }
}
