//! Checks of the masking sections: `[[class]]`, each product's
//! `[[product.field]]` and `[product.masking]`, the `[[policy]]` rules and
//! `[masking]`.
//!
//! What only the masking crate can judge (selector syntax, class
//! patterns) is checked when the gateway compiles the plans, and reported
//! at the same place in the file.

use std::collections::{BTreeSet, HashSet};

use super::Problems;
use crate::{
    locate::{join, join_index},
    masking::{ActionSpec, BUILT_IN_CLASSES, Generalization, PolicyRule, Store},
    model::{Config, Product},
};

/// Deepest nesting a product may allow.
const MAX_DEPTH: usize = 1024;
/// Hex characters of a pseudonym.
const HASH_LENGTH: std::ops::RangeInclusive<usize> = 8..=64;
/// The key of a policy's action for every class it does not name.
const ANY_CLASS: &str = "*";

pub(super) fn check(config: &Config, problems: &mut Problems) {
    let classes = check_classes(config, problems);
    let mut masked_products = Vec::new();
    for (i, product) in config.products.iter().enumerate() {
        if check_product(&join_index("product", i), product, &classes, problems) {
            masked_products.push(i);
        }
    }
    check_policies(&config.policies, &classes, problems);
    if let Some(&first) = masked_products.first()
        && config.policies.is_empty()
    {
        problems.push(
            join_index("product", first),
            "the product has fields to protect but there is no [[policy]]: add rules, ending with a default rule (default = true)",
        );
    }
    let needs_keys = config
        .policies
        .iter()
        .flat_map(|rule| rule.actions.values())
        .any(|action| {
            // `reveal` of a clear value needs no key; of a stored one, the
            // `store` check below asks for the keyring.
            matches!(
                action,
                ActionSpec::Hash { .. } | ActionSpec::Tokenize | ActionSpec::Encrypt
            )
        })
        || config
            .products
            .iter()
            .flat_map(|p| &p.fields)
            .any(|f| f.store.is_some());
    match &config.masking.keyring {
        Some(path) if !path.is_file() => problems.push(
            "masking.keyring",
            format!("cannot read {}: no such file", path.display()),
        ),
        None if needs_keys && config.masking.transit.is_none() => problems.push(
            "masking",
            "hash, tokenize, encrypt and stored fields need keys: set [masking] keyring = \"FILE\" (or [masking.transit])",
        ),
        _ => {}
    }
}

/// Checks `[[class]]`; returns every known class name.
fn check_classes(config: &Config, problems: &mut Problems) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = BUILT_IN_CLASSES.iter().map(|c| (*c).to_owned()).collect();
    let mut declared = HashSet::new();
    for (i, class) in config.classes.iter().enumerate() {
        let path = join(&join_index("class", i), "name");
        let name = &class.name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(path, "a class name is lowercase letters, digits and `_`");
        } else if !declared.insert(name.as_str()) {
            problems.push(path, format!("class {name:?} is declared twice"));
        } else if BUILT_IN_CLASSES.contains(&name.as_str()) {
            // A built-in class is declared only to detect it in free text.
            if class.pattern.is_none() {
                problems.push(
                    path,
                    format!(
                        "{name:?} is a built-in class: declare it only to give it a `pattern` that finds it in free text"
                    ),
                );
            }
        } else {
            known.insert(name.clone());
        }
    }
    known
}

/// Checks a product's masking; returns whether it has anything to protect.
fn check_product(
    path: &str,
    product: &Product,
    classes: &BTreeSet<String>,
    problems: &mut Problems,
) -> bool {
    let mut seen = HashSet::new();
    for (i, field) in product.fields.iter().enumerate() {
        let field_path = join_index(&join(path, "field"), i);
        if !classes.contains(&field.class) {
            problems.push(
                join(&field_path, "class"),
                format!(
                    "unknown class {:?}: use a built-in class or declare it in [[class]]",
                    field.class
                ),
            );
        }
        if !seen.insert(field.path.as_str()) {
            problems.push(
                join(&field_path, "path"),
                format!("{:?} is classified twice", field.path),
            );
        }
        match (field.store, &field.store_key) {
            (Some(Store::Tokenized), None) => problems.push(
                join(&field_path, "store"),
                "store = \"tokenized\" needs store_key: the FPE key version (a keyring key id such as \"fpe-1\") its tokens are made and read with; a token carries no key id",
            ),
            (Some(Store::Tokenized), Some(_)) | (_, None) => {}
            (_, Some(_)) => problems.push(
                join(&field_path, "store_key"),
                "store_key only goes with store = \"tokenized\" (an encrypted value carries its key id)",
            ),
        }
    }
    if let Some(masking) = &product.masking {
        let masking_path = join(path, "masking");
        if !(1..=MAX_DEPTH).contains(&masking.max_depth) {
            problems.push(
                join(&masking_path, "max_depth"),
                format!("must be 1 to {MAX_DEPTH}"),
            );
        }
        for (i, media_type) in masking.allow_content_types.iter().enumerate() {
            let (kind, sub) = media_type.split_once('/').unwrap_or(("", ""));
            if kind.is_empty() || sub.is_empty() || media_type.contains(char::is_whitespace) {
                problems.push(
                    join_index(&join(&masking_path, "allow_content_types"), i),
                    format!("{media_type:?} is not a media type like \"text/csv\""),
                );
            }
        }
    }
    !product.fields.is_empty() || product.masking.is_some()
}

fn check_policies(rules: &[PolicyRule], classes: &BTreeSet<String>, problems: &mut Problems) {
    let mut names = HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let path = join_index("policy", i);
        if !names.insert(rule.name.as_str()) {
            problems.push(
                join(&path, "name"),
                format!("policy rule {:?} is defined twice", rule.name),
            );
        }
        let last = i + 1 == rules.len();
        match (rule.default, last) {
            (true, false) => problems.push(
                join(&path, "default"),
                "the default rule must be the last one: rules after it never apply",
            ),
            (false, true) => problems.push(
                path.clone(),
                "the last rule must be the default (default = true): every caller needs a rule",
            ),
            _ => {}
        }
        if rule.default && !(rule.roles.is_empty() && rule.purposes.is_empty()) {
            problems.push(
                path.clone(),
                "the default rule applies to everyone: it has no roles or purposes",
            );
        }
        if !rule.default && rule.roles.is_empty() {
            problems.push(
                join(&path, "roles"),
                "a rule names the roles it applies to (or is the default rule)",
            );
        }
        if let Some((j, earlier)) = rules[..i]
            .iter()
            .enumerate()
            .find(|(_, earlier)| !rule.default && shadows(earlier, rule))
        {
            problems.push(
                path.clone(),
                format!(
                    "rule {:?} never applies: policy[{j}] ({:?}) comes first and matches every request it would",
                    rule.name, earlier.name
                ),
            );
        }
        check_actions(&path, rule, classes, problems);
    }
}

/// Whether `earlier` matches every request `later` would.
fn shadows(earlier: &PolicyRule, later: &PolicyRule) -> bool {
    !earlier.default
        && later.roles.iter().all(|r| earlier.roles.contains(r))
        && (earlier.purposes.is_empty()
            || (!later.purposes.is_empty()
                && later.purposes.iter().all(|p| earlier.purposes.contains(p))))
}

fn check_actions(
    path: &str,
    rule: &PolicyRule,
    classes: &BTreeSet<String>,
    problems: &mut Problems,
) {
    let actions_path = join(path, "actions");
    for (class, action) in &rule.actions {
        let action_path = join(&actions_path, class);
        if class != ANY_CLASS && !classes.contains(class) {
            problems.push(
                action_path.clone(),
                format!("unknown class {class:?}: use a built-in class, a [[class]] or \"*\""),
            );
        }
        match action {
            ActionSpec::Hash { length, .. } if !HASH_LENGTH.contains(length) => problems.push(
                join(&action_path, "length"),
                format!(
                    "a pseudonym keeps {} to {} hex characters",
                    HASH_LENGTH.start(),
                    HASH_LENGTH.end()
                ),
            ),
            ActionSpec::Generalize { to, width, keep } => match to {
                Generalization::AgeBand | Generalization::Bucket
                    if width.is_none_or(|w| w == 0) =>
                {
                    problems.push(
                        join(&action_path, "width"),
                        "this generalization needs width = N (more than 0)",
                    );
                }
                Generalization::Prefix if keep.is_none() => problems.push(
                    join(&action_path, "keep"),
                    "a prefix generalization needs keep = N",
                ),
                _ => {}
            },
            _ => {}
        }
    }
    if rule.default {
        match rule.actions.get(ANY_CLASS) {
            None => problems.push(
                actions_path,
                "the default rule must say what happens to every class: add \"*\" = { action = \"redact\" } (or another protecting action)",
            ),
            Some(ActionSpec::Pass | ActionSpec::Reveal) => problems.push(
                join(&actions_path, ANY_CLASS),
                "the default rule must protect every class: \"*\" may not be pass or reveal",
            ),
            Some(_) => {}
        }
    }
}
