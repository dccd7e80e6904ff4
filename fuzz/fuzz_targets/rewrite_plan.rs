//! The streaming rewriter driven by a real compiled plan (`Plan::compile`
//! bound to a consumer, as the gateway binds it): the selector automaton's
//! step lookups, the member memo, the mask presets, keyed pseudonyms,
//! generalization and the detectors on unclassified strings all run on
//! arbitrary bytes, as JSON or NDJSON. It never panics; one chunk and two
//! chunks give the same outcome, the same bytes and the same counts (of
//! each field's treatments and of what the detectors found); an accepted document
//! (each record of one) rewrites to valid JSON in which every `secret`
//! member is `null` and no `drop` member is left.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use maskgate_masking::{
    Action, BUILTIN_DETECTED_CLASSES, Classification, ClassifiedField, DetectorSet, FieldPolicy,
    Generalize, Hash, LocalKeyring, Mask, MaskPreset, Plan, Policy, RewriteLimits, RewriteSummary,
    Rewriter, Rule, Selector, Stored, Unclassified,
};

/// Selectors of every streamable kind, each with its own class and action.
fn fields() -> Vec<(&'static str, Action)> {
    let mask = |preset| {
        Action::Mask(Mask::Preset {
            preset,
            mask_char: '*',
        })
    };
    vec![
        ("$..secret", Action::Redact { replacement: None }),
        ("$..drop", Action::Drop),
        ("$..email", mask(MaskPreset::Email)),
        ("$.items[*].card", mask(MaskPreset::Card)),
        ("$['items'][0:3].phone", mask(MaskPreset::Phone)),
        (
            "$.items[*].name",
            Action::Mask(Mask::Chars {
                keep_first: 1,
                keep_last: 1,
                mask_char: '•',
            }),
        ),
        (
            "$..a_member_name_longer_than_16",
            Action::Hash(Hash::default()),
        ),
        (
            "$.items[*].born",
            Action::Generalize(Generalize::DateToYear),
        ),
        (
            "$[\"we\\\"ird\"][*]",
            Action::Redact {
                replacement: Some("[R]".into()),
            },
        ),
    ]
}

static POLICY: LazyLock<Arc<dyn FieldPolicy>> = LazyLock::new(|| {
    let fields = fields();
    let class = |i: usize| format!("class_{i}");
    let classification = Classification {
        product: "fuzz".into(),
        fields: fields
            .iter()
            .enumerate()
            .map(|(i, (selector, _))| ClassifiedField {
                selector: Selector::parse(selector).expect("a streamable selector"),
                class: class(i),
                stored: Stored::Clear,
            })
            .collect(),
        unclassified: Unclassified::Detect,
    };
    let rule = Rule {
        name: "default".into(),
        roles: Vec::new(),
        purposes: Vec::new(),
        actions: fields
            .into_iter()
            .enumerate()
            .map(|(i, (_, action))| (class(i), action))
            .chain(BUILTIN_DETECTED_CLASSES.iter().map(|&c| {
                (
                    c.to_owned(),
                    Action::Redact {
                        replacement: Some(format!("[{c}]")),
                    },
                )
            }))
            .collect(),
    };
    let policy = Policy::new(vec![rule]).expect("one default rule");
    let plan = Plan::compile(
        &classification,
        &policy,
        policy.select(&[], None),
        Arc::new(DetectorSet::builtin()),
        &BUILTIN_DETECTED_CLASSES,
    )
    .expect("the plan compiles");
    let keys = LocalKeyring::random().expect("random keys");
    Arc::new(Arc::new(plan).for_consumer("fuzz", Arc::new(keys)))
});

fn rewrite(ndjson: bool, chunks: &[&[u8]]) -> Option<(Vec<u8>, RewriteSummary)> {
    let mut rewriter = if ndjson {
        Rewriter::ndjson(POLICY.clone(), RewriteLimits::default())
    } else {
        Rewriter::new(POLICY.clone(), RewriteLimits::default())
    };
    let mut out = Vec::new();
    for chunk in chunks {
        rewriter.feed(chunk, &mut out).ok()?;
    }
    let summary = rewriter.finish(&mut out).ok()?.clone();
    Some((out, summary))
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    // The low bit: JSON or NDJSON; the rest: where the body is cut.
    let ndjson = split & 1 == 1;
    let at = (usize::from(split >> 1) * 37) % (body.len() + 1);
    let whole = rewrite(ndjson, &[body]);
    let split = rewrite(ndjson, &[&body[..at], &body[at..]]);
    assert_eq!(whole, split, "the cut at {at} changed the outcome");
    let Some((out, _)) = whole else {
        return;
    };
    let records: Vec<&[u8]> = if ndjson {
        out.split(|&b| b == b'\n')
            .filter(|r| !r.iter().all(u8::is_ascii_whitespace))
            .collect()
    } else {
        vec![&out]
    };
    for record in records {
        if let Some(value) = maskgate_fuzz::rewritten_json(record) {
            assert!(
                !maskgate_fuzz::unprotected(&value, None),
                "a secret or drop member survived"
            );
        }
    }
});
