//! From the masking configuration (`maskgate-config`) to the masking
//! crate's types: the gateway translates, the leaf crates do not know each
//! other.

use std::collections::BTreeMap;

use maskgate_config::{
    ActionSpec, Config, Diagnostic, FieldClass, Generalization, MaskPreset as ConfigPreset,
    Product, Store, Unclassified as ConfigUnclassified, Validator as ConfigValidator,
    join_key_index, join_key_path,
};
use maskgate_masking::{
    Action, Alphabet, BUILTIN_DETECTED_CLASSES, Classification, ClassifiedField, Date, DetectorSet,
    Generalize, Hash, HashScope, KeyId, KeyProvider, KeyPurpose, Mask, MaskPreset, Policy,
    RegexDetector, Reveal, Rule, Selector, Stored, Tokenize, Unclassified, Validator,
};

/// The `[[policy]]` rules, each class's action translated.
pub(super) fn policy(config: &Config) -> Result<Policy, Problem> {
    let today = today();
    let rules = config
        .policies
        .iter()
        .map(|rule| Rule {
            name: rule.name.clone(),
            roles: rule.roles.clone(),
            purposes: rule.purposes.clone(),
            actions: rule
                .actions
                .iter()
                .map(|(class, spec)| (class.clone(), action(class, spec, today)))
                .collect::<BTreeMap<_, _>>(),
        })
        .collect();
    Policy::new(rules).map_err(|e| Problem {
        key_path: "policy".to_owned(),
        message: e.to_string(),
    })
}

/// A problem in the masking configuration: the key path it is about, and
/// what is wrong.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) key_path: String,
    pub(crate) message: String,
}

impl Problem {
    /// As the configuration's own diagnostics, by key path.
    pub(crate) fn into_diagnostic(self) -> Diagnostic {
        Diagnostic::located("", "", self.key_path, self.message)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key_path, self.message)
    }
}

/// A product's (the `index`th) classification, or every problem in it.
pub(super) fn classification(
    index: usize,
    product: &Product,
) -> Result<Classification, Vec<Problem>> {
    let mut fields = Vec::with_capacity(product.fields.len());
    let mut problems = Vec::new();
    for (i, field) in product.fields.iter().enumerate() {
        let at = |key: &str| format!("product[{index}].field[{i}].{key}");
        let selector = Selector::parse(&field.path).map_err(|e| Problem {
            key_path: at("path"),
            message: e.to_string(),
        });
        let stored = stored(field).map_err(|message| Problem {
            key_path: at("store_key"),
            message,
        });
        match (selector, stored) {
            (Ok(selector), Ok(stored)) => fields.push(ClassifiedField {
                selector,
                class: field.class.clone(),
                stored,
            }),
            (selector, stored) => problems.extend(selector.err().into_iter().chain(stored.err())),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let unclassified = match product.masking.as_ref().map(|m| m.unclassified) {
        Some(ConfigUnclassified::Pass) => Unclassified::Pass,
        Some(ConfigUnclassified::Deny) => Unclassified::Deny,
        _ => Unclassified::Detect,
    };
    Ok(Classification {
        product: product.name.clone(),
        fields,
        unclassified,
    })
}

/// How the product stores a field: tokens of the class's shape, with the
/// key version the field names.
fn stored(field: &FieldClass) -> Result<Stored, String> {
    Ok(match field.store {
        None => Stored::Clear,
        Some(Store::Tokenized) => Stored::Tokenized(Tokenize {
            alphabet: alphabet(&field.class),
            key: field
                .store_key
                .as_deref()
                .map(KeyId::new)
                .transpose()
                .map_err(|e| e.to_string())?,
        }),
        Some(_) => Stored::Encrypted,
    })
}

/// Every key the configuration needs that `keys` lacks: the one each
/// rule's actions take and the one each stored field is protected with.
pub(super) fn missing_keys(
    config: &Config,
    policy: &Policy,
    keys: &dyn KeyProvider,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut require = |need: Option<(KeyPurpose, Option<&KeyId>)>,
                       key_path: &dyn Fn() -> String| {
        let Some((purpose, id)) = need else {
            return;
        };
        if let Err(error) = keys.key(purpose, id) {
            let purpose = purpose.as_str();
            problems.push(Problem {
                key_path: key_path(),
                message: match id {
                    Some(id) => format!("needs the {purpose} key {id} of the keyring: {error}"),
                    None => format!("needs an {purpose} key in the keyring: {error}"),
                },
            });
        }
    };
    for (r, rule) in policy.rules().iter().enumerate() {
        for (class, action) in &rule.actions {
            require(action.key_needed(), &|| {
                join_key_path(
                    &join_key_path(&join_key_index("policy", r), "actions"),
                    class,
                )
            });
        }
    }
    for (p, product) in config.products.iter().enumerate() {
        for (f, field) in product.fields.iter().enumerate() {
            // An invalid `store_key` was reported with the classification.
            let Ok(stored) = stored(field) else { continue };
            let protect = stored.protect();
            require(protect.as_ref().and_then(Action::key_needed), &|| {
                let at = join_key_index(&join_key_path(&join_key_index("product", p), "field"), f);
                let key = if field.store_key.is_some() {
                    "store_key"
                } else {
                    "store"
                };
                join_key_path(&at, key)
            });
        }
    }
    problems
}

/// The built-in detectors plus each `[[class]]` with a pattern, or every
/// pattern that does not compile.
pub(super) fn detectors(config: &Config) -> Result<DetectorSet, Vec<Problem>> {
    let mut set = DetectorSet::builtin();
    let mut problems = Vec::new();
    for (i, class) in config.classes.iter().enumerate() {
        if let Some(pattern) = &class.pattern {
            let validator = match class.validator {
                ConfigValidator::Luhn => Some(Validator::Luhn),
                ConfigValidator::Mod97 => Some(Validator::Mod97),
                _ => None,
            };
            match RegexDetector::new(class.name.as_str(), pattern, validator) {
                Ok(detector) => set.push(Box::new(detector)),
                Err(e) => problems.push(Problem {
                    key_path: format!("class[{i}].pattern"),
                    message: e.to_string(),
                }),
            }
        }
    }
    if problems.is_empty() {
        Ok(set)
    } else {
        Err(problems)
    }
}

/// The classes detectors can report, each once (a built-in class with a
/// pattern of its own may also have a built-in detector).
pub(super) fn detected_classes(config: &Config) -> Vec<String> {
    let mut classes: Vec<String> = BUILTIN_DETECTED_CLASSES
        .into_iter()
        .map(str::to_owned)
        .chain(
            config
                .classes
                .iter()
                .filter(|c| c.pattern.is_some())
                .map(|c| c.name.clone()),
        )
        .collect();
    classes.sort_unstable();
    classes.dedup();
    classes
}

fn action(class: &str, spec: &ActionSpec, today: Date) -> Action {
    match spec {
        ActionSpec::Redact { with } => Action::Redact {
            replacement: with.clone(),
        },
        ActionSpec::Drop => Action::Drop,
        ActionSpec::Mask {
            preset,
            keep_first,
            keep_last,
            char,
        } => Action::Mask(match preset {
            Some(preset) => Mask::Preset {
                preset: match preset {
                    ConfigPreset::Email => MaskPreset::Email,
                    ConfigPreset::Card => MaskPreset::Card,
                    _ => MaskPreset::Phone,
                },
                mask_char: *char,
            },
            None => Mask::Chars {
                keep_first: *keep_first,
                keep_last: *keep_last,
                mask_char: *char,
            },
        }),
        ActionSpec::Hash {
            scope,
            length,
            prefix,
        } => Action::Hash(Hash {
            scope: match scope {
                maskgate_config::HashScope::Product => HashScope::Product,
                maskgate_config::HashScope::Global => HashScope::Global,
                _ => HashScope::Consumer,
            },
            prefix: prefix.clone(),
            length: *length,
            key: None,
        }),
        ActionSpec::Tokenize => Action::Tokenize(Tokenize {
            alphabet: alphabet(class),
            key: None,
        }),
        ActionSpec::Encrypt => Action::Encrypt { key: None },
        ActionSpec::Generalize { to, width, keep } => Action::Generalize(match to {
            Generalization::Year => Generalize::DateToYear,
            Generalization::YearMonth => Generalize::DateToYearMonth,
            Generalization::AgeBand => Generalize::AgeBand {
                width: width.unwrap_or(10),
                as_of: today,
            },
            Generalization::Bucket => Generalize::NumberBucket {
                width: u64::from(width.unwrap_or(1)),
            },
            _ => Generalize::PostalPrefix {
                keep: keep.unwrap_or(1),
            },
        }),
        ActionSpec::Reveal => Action::Reveal(Reveal::Clear),
        _ => Action::Pass,
    }
}

/// The characters `tokenize` encrypts, by class: digits stay digits, an
/// IBAN stays IBAN-shaped.
fn alphabet(class: &str) -> Alphabet {
    match class {
        "card_number" | "phone" | "national_id" => Alphabet::Digits,
        "iban" => Alphabet::Iban,
        _ => Alphabet::Alphanumeric,
    }
}

/// Today's date (UTC), for age bands: days since the epoch to a civil date
/// (Howard Hinnant's algorithm; one conversion does not need a date crate).
fn today() -> Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date::new(
        u16::try_from(year).unwrap_or(1970),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
    .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a valid date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_plausible_date() {
        let today = today();
        assert!(today > Date::new(2024, 1, 1).unwrap());
        assert!(today < Date::new(2200, 1, 1).unwrap());
    }
}
