//! The rewrite benchmark's fixture, shared by the criterion bench
//! (`benches/rewrite.rs`) and the instruction counter (`rewrite-count`,
//! `benches/rewrite-instructions.sh`): the synthetic customer documents, the
//! ten classified paths as a real compiled plan, the `Untouched` policy, and
//! the `serde_json::Value` baseline doing the same job.

use std::{fmt::Write as _, sync::Arc};

use maskgate_masking::{
    Action, BUILTIN_DETECTED_CLASSES, Classification, ClassifiedField, ContainerAction, Decision,
    DetectorSet, FieldId, FieldPath, FieldPolicy, LocalKeyring, Mask, MaskPreset, PathSegment,
    Plan, Policy, Replacement, RewriteLimits, Rewriter, Rule, Scalar, Selector, Stored,
    TransformError, Unclassified,
};
use serde_json::Value;

/// The rewriter's input chunk, as a body arrives from the upstream.
pub const CHUNK: usize = 64 << 10;

/// Where a rule applies, so that the selector and the `Value` walk come from
/// the same table.
#[derive(Clone, Copy)]
pub enum At {
    /// `$.items[*].FIELD`
    Item(&'static str),
    /// `$.items[*].address.FIELD`
    Address(&'static str),
    /// `$..FIELD` (anywhere in the document)
    Anywhere(&'static str),
}

impl At {
    fn selector(self) -> String {
        match self {
            At::Item(f) => format!("$.items[*].{f}"),
            At::Address(f) => format!("$.items[*].address.{f}"),
            At::Anywhere(f) => format!("$..{f}"),
        }
    }
}

/// The ten classified paths and what happens to them.
#[derive(Clone, Copy)]
pub enum Act {
    /// `Action::Redact` with `"[REDACTED]"`.
    Redact,
    /// `Action::Redact` with `null`.
    RedactNull,
    /// `Action::Mask` with this preset.
    Mask(MaskPreset),
    /// `Action::Mask` keeping the first character.
    MaskFirst,
}

/// The ten classified paths of the bench, each with its action.
pub const RULES: [(At, Act); 10] = [
    (At::Item("email"), Act::Mask(MaskPreset::Email)),
    (At::Item("phone"), Act::Mask(MaskPreset::Phone)),
    (At::Item("card_number"), Act::Mask(MaskPreset::Card)),
    (At::Item("iban"), Act::Redact),
    (At::Item("national_id"), Act::RedactNull),
    (At::Item("birth_date"), Act::Redact),
    (At::Address("street"), Act::Redact),
    (At::Address("postal_code"), Act::Redact),
    (At::Anywhere("ip"), Act::Redact),
    (At::Item("name"), Act::MaskFirst),
];

impl Act {
    /// The action this stands for.
    pub fn action(self) -> Action {
        match self {
            Act::Redact => Action::Redact {
                replacement: Some("[REDACTED]".to_owned()),
            },
            Act::RedactNull => Action::Redact { replacement: None },
            Act::Mask(preset) => Action::Mask(Mask::Preset {
                preset,
                mask_char: '*',
            }),
            Act::MaskFirst => Action::Mask(Mask::Chars {
                keep_first: 1,
                keep_last: 0,
                mask_char: '*',
            }),
        }
    }
}

/// The real compiled plan (`maskgate_masking::Plan`): one class per rule,
/// a default policy rule giving each class its action, unclassified values
/// `unclassified` (passed, or scanned with the built-in detectors, each
/// finding redacted), bound to a consumer and a key provider as the gateway
/// binds it.
pub fn bench_policy(unclassified: Unclassified) -> Arc<dyn FieldPolicy> {
    let class = |i: usize| format!("class_{i}");
    let fields = RULES
        .iter()
        .enumerate()
        .map(|(i, (at, _))| ClassifiedField {
            selector: Selector::parse(&at.selector()).expect("bench selector"),
            class: class(i),
            stored: Stored::Clear,
        })
        .collect();
    let classification = Classification {
        product: "bench".into(),
        fields,
        unclassified,
    };
    let rule = Rule {
        name: "default".into(),
        roles: Vec::new(),
        purposes: Vec::new(),
        actions: RULES
            .iter()
            .enumerate()
            .map(|(i, (_, act))| (class(i), act.action()))
            // Findings in unclassified text (`10-paths+detect` only).
            .chain(
                BUILTIN_DETECTED_CLASSES
                    .iter()
                    .map(|&c| (c.to_owned(), Act::Redact.action())),
            )
            .collect(),
    };
    let policy = Policy::new(vec![rule]).expect("one rule");
    let plan = Plan::compile(
        &classification,
        &policy,
        policy.select(&[], None),
        Arc::new(DetectorSet::builtin()),
        &BUILTIN_DETECTED_CLASSES,
    )
    .expect("the bench plan compiles");
    Arc::new(Arc::new(plan).for_consumer("bench", Arc::new(LocalKeyring::empty())))
}

/// No selector at all: `Outside` at the root, the whole body passes through.
pub struct Untouched;

impl FieldPolicy for Untouched {
    fn lookup(&self, _path: &[PathSegment<'_>]) -> Decision {
        Decision::Outside
    }

    fn transform(
        &self,
        _id: FieldId,
        _path: FieldPath<'_>,
        _value: Scalar<'_>,
        _out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        Ok(Replacement::Keep)
    }

    fn container(&self, _id: FieldId) -> ContainerAction {
        ContainerAction::Descend
    }
}

/// `doc` through a new [`Rewriter`] for `policy`, in [`CHUNK`]-sized chunks,
/// into `out` (cleared first): what the gateway does with a response body.
pub fn rewrite(policy: &Arc<dyn FieldPolicy>, doc: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut rewriter = Rewriter::new(policy.clone(), RewriteLimits::default());
    for chunk in doc.chunks(CHUNK) {
        rewriter.feed(chunk, out).expect("valid document");
    }
    rewriter.finish(out).expect("complete document");
}

/// The same ten rules over a `Value` tree: the item fields, the address
/// fields, then every `ip` member anywhere.
fn modify_value(doc: &mut Value, rules: &[(At, Action)]) {
    if let Some(items) = doc.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            for (at, action) in rules {
                match at {
                    At::Item(f) => {
                        if let Some(v) = item.get_mut(*f) {
                            apply_value(v, action);
                        }
                    }
                    At::Address(f) => {
                        if let Some(v) = item
                            .get_mut("address")
                            .and_then(Value::as_object_mut)
                            .and_then(|a| a.get_mut(*f))
                        {
                            apply_value(v, action);
                        }
                    }
                    At::Anywhere(_) => {}
                }
            }
        }
    }
    for (at, action) in rules {
        if let At::Anywhere(f) = at {
            apply_anywhere(doc, f, action);
        }
    }
}

fn apply_anywhere(v: &mut Value, name: &str, action: &Action) {
    match v {
        Value::Object(members) => {
            for (k, child) in members.iter_mut() {
                if k == name {
                    apply_value(child, action);
                } else {
                    apply_anywhere(child, name, action);
                }
            }
        }
        Value::Array(elements) => {
            for child in elements {
                apply_anywhere(child, name, action);
            }
        }
        _ => {}
    }
}

/// Redact or mask a value in place, as [`Action::apply`] does to a string
/// (the generated documents only have strings at the classified paths;
/// [`check_outputs`] confirms both sides agree).
fn apply_value(v: &mut Value, action: &Action) {
    match action {
        Action::Redact { replacement } => {
            *v = replacement.clone().map_or(Value::Null, Value::String);
        }
        Action::Mask(mask) => {
            if let Value::String(s) = v {
                *s = mask.mask_text(s);
            }
        }
        _ => unreachable!("the bench rules only redact and mask"),
    }
}

/// The baseline: `doc` parsed into a `Value`, the rules applied, and the
/// tree serialized into `out` (cleared first) and dropped.
pub fn serde_value(doc: &[u8], rules: &[(At, Action)], out: &mut Vec<u8>) {
    out.clear();
    let mut value: Value = serde_json::from_slice(doc).expect("valid document");
    modify_value(&mut value, rules);
    serde_json::to_writer(&mut *out, &value).expect("serializable");
}

/// Both 10-path outputs mean the same thing, some values were actually
/// changed, and the untouched output is the input.
pub fn check_outputs(
    doc: &[u8],
    policy: &Arc<dyn FieldPolicy>,
    detect: &Arc<dyn FieldPolicy>,
    rules: &[(At, Action)],
) {
    let mut out = Vec::new();
    rewrite(policy, doc, &mut out);
    let from_rewriter: Value = serde_json::from_slice(&out).expect("rewriter output is JSON");
    serde_value(doc, rules, &mut out);
    let from_serde: Value = serde_json::from_slice(&out).expect("serde_json output is JSON");
    assert!(
        from_rewriter == from_serde,
        "rewriter and serde_json disagree"
    );
    assert!(
        from_rewriter["items"][0]["iban"] == "[REDACTED]"
            && from_rewriter["items"][0]["last_login"]["ip"] == "[REDACTED]",
        "the rules did not apply"
    );
    rewrite(detect, doc, &mut out);
    let detected: Value = serde_json::from_slice(&out).expect("detect output is JSON");
    assert!(
        detected["items"][0]["iban"] == "[REDACTED]",
        "the rules did not apply with detect"
    );
    let untouched: Arc<dyn FieldPolicy> = Arc::new(Untouched);
    rewrite(&untouched, doc, &mut out);
    assert!(out == doc, "untouched output differs from the input");
}

/// splitmix64: deterministic documents without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Anna",
    "Jürgen",
    "Zoë",
    "José",
    "Mei",
    "Oluwaseun",
    "Łukasz",
    "Sofia",
    "Liam",
    "Aïcha",
];
const LAST: &[&str] = &[
    "Müller", "García", "O'Brien", "Nakamura", "Nowak", "Dubois", "Smith", "Rossi", "Okafor",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Rue de la Paix",
    "Calle Mayor",
    "High Street",
    "Via Roma",
];
const CITIES: &[&str] = &["Berlin", "Paris", "Madrid", "London", "Roma", "Kraków"];
const COUNTRIES: &[&str] = &["DE", "FR", "ES", "GB", "IT", "PL"];
const TAGS: &[&str] = &["vip", "newsletter", "b2b", "churn-risk", "beta", "support"];
const WORDS: &[&str] = &[
    "customer",
    "called",
    "about",
    "the",
    "invoice",
    "delivery",
    "was",
    "late",
    "refund",
    "approved",
    "café",
    "naïve",
    "follow-up",
    "next",
    "week",
    "\\\"urgent\\\"",
    "line\\nbreak",
    "order",
    "#4411",
];

/// One customer record, compact JSON.
fn push_record(doc: &mut String, rng: &mut Rng, id: u64) {
    let r = rng.next();
    let (d, m, y) = (1 + r % 28, 1 + (r >> 8) % 12, 1950 + (r >> 16) % 55);
    write!(
        doc,
        r#"{{"id":{id},"name":"{} {}","email":"c{id}.{}@example.com","phone":"+49 151 {:07}","card_number":"4111 {:04} {:04} {:04}","iban":"DE89 3704 0044 {:04} {:04} {:02}","national_id":"{:03}-{:02}-{:04}","birth_date":"{y}-{m:02}-{d:02}","address":{{"street":"{} {}","city":"{}","postal_code":"{:05}","country":"{}"}},"tags":["#,
        rng.pick(FIRST),
        rng.pick(LAST).replace('\'', "\\u0027"),
        rng.below(1000),
        rng.below(10_000_000),
        rng.below(10_000),
        rng.below(10_000),
        rng.below(10_000),
        rng.below(10_000),
        rng.below(10_000),
        rng.below(100),
        rng.below(1000),
        rng.below(100),
        rng.below(10_000),
        rng.below(200) + 1,
        rng.pick(STREETS),
        rng.pick(CITIES),
        rng.below(100_000),
        rng.pick(COUNTRIES),
    )
    .expect("write to String");
    for i in 0..rng.below(4) {
        if i > 0 {
            doc.push(',');
        }
        write!(doc, "\"{}\"", rng.pick(TAGS)).expect("write to String");
    }
    write!(
        doc,
        r#"],"balance":{}.{:02},"score":{:.3},"active":{},"created_at":"2023-{:02}-{:02}T{:02}:{:02}:00Z","last_login":{{"ip":"203.0.{}.{}","at":"2024-05-{:02}T08:30:00Z","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}},"notes":""#,
        rng.below(100_000),
        rng.below(100),
        rng.below(1000) as f64 / 1000.0,
        rng.below(2) == 0,
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(256),
        rng.below(256),
        1 + rng.below(28),
    )
    .expect("write to String");
    for i in 0..8 + rng.below(60) {
        if i > 0 {
            doc.push(' ');
        }
        doc.push_str(rng.pick(WORDS));
    }
    doc.push_str("\"}");
}

/// A document of at most `target` bytes (at least one record), and its
/// number of records.
pub fn document(target: usize) -> (Vec<u8>, u64) {
    /// Room for `],"count":N,"next_cursor":null}`.
    const TAIL: usize = 48;
    let mut rng = Rng(0x6d61_736b_6761_7465);
    let mut doc = String::with_capacity(target + 4096);
    doc.push_str(r#"{"items":["#);
    let mut record = String::new();
    let mut count = 0u64;
    loop {
        record.clear();
        push_record(&mut record, &mut rng, count);
        if count > 0 && doc.len() + 1 + record.len() + TAIL > target {
            break;
        }
        if count > 0 {
            doc.push(',');
        }
        doc.push_str(&record);
        count += 1;
    }
    write!(doc, r#"],"count":{count},"next_cursor":null}}"#).expect("write to String");
    (doc.into_bytes(), count)
}
