//! The masking sections: classes, classification, policies and keys,
//! parsed with their defaults, and every rule refused with its key path.

use super::{MINIMAL, error_lines, parse};
use crate::{ActionSpec, HashScope, MaskPreset, Unclassified};

/// MINIMAL's product with `fields`, and `rest` (policies, classes).
fn with_masking(fields: &str, rest: &str) -> String {
    format!("{MINIMAL}{fields}\n{rest}")
}

const FIELDS: &str = r#"
[[product.field]]
path = "$.items[*].email"
class = "email"

[[product.field]]
path = "$..card_number"
class = "card_number"
"#;

const POLICIES: &str = r#"
[[policy]]
name = "fraud"
roles = ["fraud"]
purposes = ["fraud-investigation"]
actions = { card_number = { action = "mask", preset = "card" }, "*" = { action = "pass" } }

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "redact", with = "[REDACTED]" } }
"#;

#[test]
fn classification_and_policies_parse_with_defaults() {
    let config = parse(&with_masking(FIELDS, POLICIES)).unwrap_or_else(|e| panic!("{e}"));
    let product = &config.products[0];
    assert_eq!(product.fields.len(), 2);
    assert_eq!(product.fields[1].class, "card_number");
    assert!(product.masking.is_none());
    assert_eq!(config.policies.len(), 2);
    assert_eq!(
        config.policies[0].actions["card_number"],
        ActionSpec::Mask {
            preset: Some(MaskPreset::Card),
            keep_first: 0,
            keep_last: 0,
            char: '*'
        }
    );
    assert!(config.policies[1].default);
}

#[test]
fn product_masking_and_hash_defaults() {
    let text = with_masking(
        &format!(
            "{FIELDS}\n[product.masking]\nunclassified = \"deny\"\nallow_content_types = [\"text/csv\"]\n"
        ),
        r#"
[masking]
keyring = "/dev/null"

[[policy]]
name = "analysts"
roles = ["analyst"]
actions = { email = { action = "hash" } }

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "drop" } }
"#,
    );
    // /dev/null is not a regular file: the keyring check says so.
    let lines = error_lines(&text);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("masking.keyring"), "{lines:?}");

    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring.json");
    std::fs::write(&keyring, "{}").unwrap();
    let config = parse(&text.replace("/dev/null", keyring.to_str().unwrap())).unwrap();
    let masking = config.products[0].masking.as_ref().unwrap();
    assert_eq!(masking.unclassified, Unclassified::Deny);
    assert_eq!(masking.max_depth, 64);
    assert_eq!(
        config.policies[0].actions["email"],
        ActionSpec::Hash {
            scope: HashScope::Consumer,
            length: 16,
            prefix: "h_".into()
        }
    );
}

#[test]
fn every_masking_problem_is_located() {
    let text = with_masking(
        r#"
[[product.field]]
path = "$.a"
class = "shoe_size"

[[product.field]]
path = "$.a"
class = "email"

[[product.field]]
path = "$.b"
class = "card_number"
store = "tokenized"

[[product.field]]
path = "$.c"
class = "email"
store = "encrypted"
store_key = "encrypt-1"
"#,
        r#"
[[class]]
name = "email"

[[class]]
name = "Bad-Name"

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "pass" } }

[[policy]]
name = "analysts"
actions = { email = { action = "generalize", to = "bucket" }, phone = { action = "hash", length = 4 }, nonsense = { action = "drop" } }
"#,
    );
    let lines = error_lines(&text);
    let expect = [
        "class[0].name: \"email\" is a built-in class",
        "class[1].name: a class name is lowercase",
        "product[0].field[0].class: unknown class \"shoe_size\"",
        "product[0].field[1].path: \"$.a\" is classified twice",
        "product[0].field[2].store: store = \"tokenized\" needs store_key",
        "product[0].field[3].store_key: store_key only goes with store = \"tokenized\"",
        "policy[0].default: the default rule must be the last one",
        "policy[0].actions.\"*\": the default rule must protect every class",
        "policy[1]: the last rule must be the default",
        "policy[1].roles: a rule names the roles",
        "policy[1].actions.email.width: this generalization needs width",
        "policy[1].actions.nonsense: unknown class \"nonsense\"",
        "policy[1].actions.phone.length: a pseudonym keeps 8 to 64",
        "masking: hash, tokenize, encrypt and stored fields need keys",
    ];
    for expected in expect {
        assert!(
            lines.iter().any(|line| line.contains(expected)),
            "missing {expected:?} in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn a_built_in_class_is_declared_only_to_give_it_a_pattern() {
    let with_pattern = r#"
[[class]]
name = "birth_date"
pattern = "[Bb]orn (?P<value>[0-9]{4}-[0-9]{2}-[0-9]{2})"

[[class]]
name = "loyalty_id"
pattern = "LOY-[0-9]{8}"
"#;
    let config = parse(&with_masking(FIELDS, &format!("{POLICIES}{with_pattern}")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.classes.len(), 2);
    assert_eq!(config.classes[0].name, "birth_date");

    let refused = r#"
[[class]]
name = "postal_code"

[[class]]
name = "birth_date"
pattern = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

[[class]]
name = "birth_date"
pattern = "born [0-9]{4}"
"#;
    let lines = error_lines(&with_masking(FIELDS, &format!("{POLICIES}{refused}")));
    for expected in [
        "class[0].name: \"postal_code\" is a built-in class: declare it only to give it a `pattern`",
        "class[2].name: class \"birth_date\" is declared twice",
    ] {
        assert!(
            lines.iter().any(|line| line.contains(expected)),
            "missing {expected:?} in:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(lines.len(), 2, "{}", lines.join("\n"));
}

#[test]
fn shadowed_rules_and_missing_policies_are_refused() {
    let shadowed = with_masking(
        FIELDS,
        r#"
[[policy]]
name = "support-any-purpose"
roles = ["support", "analyst"]
actions = { "*" = { action = "redact" } }

[[policy]]
name = "support-tickets"
roles = ["support"]
purposes = ["tickets"]
actions = { email = { action = "pass" } }

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "redact" } }
"#,
    );
    let lines = error_lines(&shadowed);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("policy[1]: rule \"support-tickets\" never applies: policy[0]"),
        "{lines:?}"
    );

    let lines = error_lines(&with_masking(FIELDS, ""));
    assert!(
        lines[0]
            .contains("product[0]: the product has fields to protect but there is no [[policy]]"),
        "{lines:?}"
    );
}

#[test]
fn unknown_actions_and_parameters_are_refused_by_the_schema() {
    for (actions, needle) in [
        (r#"{ "*" = { action = "obfuscate" } }"#, "obfuscate"),
        (
            r#"{ "*" = { action = "redact", replacement = "x" } }"#,
            "replacement",
        ),
        (r#"{ "*" = { action = "mask", preset = "iban" } }"#, "iban"),
    ] {
        let text = with_masking(
            FIELDS,
            &format!("[[policy]]\nname = \"d\"\ndefault = true\nactions = {actions}\n"),
        );
        let lines = error_lines(&text);
        assert!(
            lines.len() == 1 && lines[0].contains("policy[0].actions") && lines[0].contains(needle),
            "{actions}: {lines:?}"
        );
    }
}
