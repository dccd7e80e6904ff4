//! The masking schema: data classes, each product's classification of its
//! fields, the security team's policies, and where masking keys come from.
//!
//! Classification (per product, owned by its domain team) says which JSON
//! paths hold which class; policies (global, owned by the security team)
//! say, per role and purpose, which action applies to each class. The
//! gateway compiles the two into a plan per product, role and purpose.
//! Selectors are kept as text here: the masking crate parses them, and the
//! gateway reports its errors at their place in the file.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;

/// The classes every configuration knows.
pub const BUILT_IN_CLASSES: [&str; 10] = [
    "email",
    "phone",
    "card_number",
    "iban",
    "national_id",
    "birth_date",
    "postal_code",
    "person_name",
    "ip_address",
    "free_text",
];

/// `[[class]]`: a data class beyond the built-in ones, or a built-in class
/// given a pattern to find it in free text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DataClass {
    /// The class name, as classifications and policies use it: lowercase
    /// ASCII letters, digits and `_`. A built-in class is declared only with
    /// a `pattern` (its built-in detector, if it has one, keeps running).
    pub name: String,
    /// A regular expression that finds values of this class in free text
    /// (for products whose unclassified fields are `detect`ed). Linear-time
    /// syntax only (no look-around, no back-references); a group named
    /// `value` makes the rest of the match context: only the group is the
    /// finding.
    #[serde(default)]
    pub pattern: Option<String>,
    /// A check a match must also pass (default none).
    #[serde(default)]
    pub validator: Validator,
}

/// A check on a detected value beyond its pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Validator {
    /// None.
    #[default]
    None,
    /// The Luhn checksum (payment cards and many ids).
    Luhn,
    /// ISO 7064 mod 97-10 (IBANs).
    Mod97,
}

/// `[product.masking]`: how a product's responses are protected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProductMasking {
    /// What happens to fields no `[[product.field]]` classifies (default
    /// `detect`).
    #[serde(default)]
    pub unclassified: Unclassified,
    /// Response content types that pass through unprotected although a
    /// plan applies (e.g. `"text/csv"`). Without it, a non-JSON response of
    /// a product with fields to protect is blocked (502).
    #[serde(default)]
    pub allow_content_types: Vec<String>,
    /// Deepest JSON nesting accepted (default 64); deeper fails closed.
    #[serde(default = "ProductMasking::default_max_depth")]
    pub max_depth: usize,
}

impl ProductMasking {
    fn default_max_depth() -> usize {
        64
    }
}

impl Default for ProductMasking {
    fn default() -> Self {
        Self {
            unclassified: Unclassified::default(),
            allow_content_types: Vec::new(),
            max_depth: Self::default_max_depth(),
        }
    }
}

/// What happens to a field no classification names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unclassified {
    /// Passed through as it is.
    Pass,
    /// String values are scanned with the detectors; each match gets the
    /// action its class has for the caller.
    #[default]
    Detect,
    /// Dropped from the response.
    Deny,
}

/// `[[product.field]]`: one classified field of a product.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldClass {
    /// An RFC 9535 JSONPath selector, in the subset that can be decided
    /// while streaming: `$`, member names, `*`, indices and slices (not
    /// negative), and `..name`. Anything else is refused.
    pub path: String,
    /// The class of the values it selects: built in or a `[[class]]`.
    pub class: String,
    /// `"encrypted"` or `"tokenized"`: the gateway protects this field in
    /// request bodies (POST, PUT, PATCH) before they reach the product,
    /// which stores only ciphertext or tokens; responses open it before the
    /// caller's action applies.
    #[serde(default)]
    pub store: Option<Store>,
    /// With `store = "tokenized"` (required there): the FPE key version
    /// tokens are made and read with, a key id of the keyring (e.g.
    /// `"fpe-1"`). A token carries no key id, so the version is pinned here:
    /// rotating the active FPE key must not turn stored tokens into wrong
    /// values.
    #[serde(default)]
    pub store_key: Option<String>,
}

/// How a field is stored by the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Store {
    /// Encrypted by the gateway on writes (AES-256-GCM envelopes carrying
    /// their key id).
    Encrypted,
    /// Tokenized by the gateway on writes (FF1, format-preserving: digits
    /// stay digits, an IBAN stays IBAN-shaped), with the key `store_key`.
    Tokenized,
}

/// `[[policy]]`: one rule of the security team's policy. Rules are tried
/// in order; the first whose roles and purposes match the request wins.
/// The last rule must be the default (`default = true`, no roles).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyRule {
    /// A name for explain output and audit records; unique.
    pub name: String,
    /// The rule applies to callers with any of these roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// ... and only for these purposes (empty: any purpose, or none).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// The catch-all rule: no roles, last in the list, mandatory.
    #[serde(default)]
    pub default: bool,
    /// Class → action. `"*"` is the action for every class the rule does
    /// not name; a rule without `"*"` gives unnamed classes the default
    /// rule's action.
    pub actions: BTreeMap<String, ActionSpec>,
}

/// An action and its parameters, as written in a policy:
/// `{ action = "mask", preset = "card" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ActionSpec {
    /// The value as it is.
    Pass,
    /// Replaced by `null`, or by the string `with`.
    Redact {
        /// The replacement string (default: `null`).
        #[serde(default)]
        with: Option<String>,
    },
    /// The member is removed.
    Drop,
    /// Characters replaced by `char`, keeping the first and last ones, or
    /// a format-aware `preset`.
    Mask {
        /// `email` (keep the domain), `card` (keep the last 4 and the
        /// separators) or `phone` (keep the last 2).
        #[serde(default)]
        preset: Option<MaskPreset>,
        /// Characters kept at the start (default 0).
        #[serde(default)]
        keep_first: usize,
        /// Characters kept at the end (default 0).
        #[serde(default)]
        keep_last: usize,
        /// The mask character (default `*`).
        #[serde(default = "ActionSpec::default_mask_char")]
        char: char,
    },
    /// A keyed pseudonym (HMAC-SHA256), the same for the same value within
    /// `scope`.
    Hash {
        /// `product`, `consumer` (default: two consumers cannot join their
        /// data) or `global`.
        #[serde(default)]
        scope: HashScope,
        /// Hex characters kept (default 16, 8 to 64).
        #[serde(default = "ActionSpec::default_hash_length")]
        length: usize,
        /// Prepended to the pseudonym (default `"h_"`).
        #[serde(default = "ActionSpec::default_hash_prefix")]
        prefix: String,
    },
    /// Format-preserving encryption (FF1): same length and character set.
    Tokenize,
    /// AES-256-GCM, as a versioned envelope string.
    Encrypt,
    /// A coarser value.
    Generalize {
        /// `year`, `year_month`, `age_band`, `bucket` or `prefix`.
        to: Generalization,
        /// Width of an age band or a number bucket.
        #[serde(default)]
        width: Option<u32>,
        /// Characters kept by `prefix` (postal codes).
        #[serde(default)]
        keep: Option<usize>,
    },
    /// The clear value (decrypted if stored encrypted or tokenized).
    Reveal,
}

impl ActionSpec {
    fn default_mask_char() -> char {
        '*'
    }
    fn default_hash_length() -> usize {
        16
    }
    fn default_hash_prefix() -> String {
        "h_".to_owned()
    }

    /// The action's name as written in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Redact { .. } => "redact",
            Self::Drop => "drop",
            Self::Mask { .. } => "mask",
            Self::Hash { .. } => "hash",
            Self::Tokenize => "tokenize",
            Self::Encrypt => "encrypt",
            Self::Generalize { .. } => "generalize",
            Self::Reveal => "reveal",
        }
    }
}

/// A format-aware mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MaskPreset {
    /// `j***@example.com`.
    Email,
    /// `**** **** **** 1234`.
    Card,
    /// All but the last 2 digits.
    Phone,
}

/// Within what a pseudonym is stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HashScope {
    /// The same value gives the same pseudonym within one product.
    Product,
    /// ... for one consumer only (the default).
    #[default]
    Consumer,
    /// ... everywhere (allows joins across products and consumers).
    Global,
}

/// What `generalize` turns a value into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Generalization {
    /// A date to its year.
    Year,
    /// A date to year and month.
    YearMonth,
    /// A birth date to an age band of `width` years.
    AgeBand,
    /// A number to its bucket of `width`.
    Bucket,
    /// A string (postal code) to its first `keep` characters.
    Prefix,
}

/// `[masking]`: where masking keys come from.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Masking {
    /// A local keyring file (the embedded default; `maskgate demo` writes
    /// one). Needed by `hash`, `tokenize`, `encrypt` and stored
    /// encryption; or `transit` below.
    #[serde(default)]
    pub keyring: Option<PathBuf>,
    /// `[masking.transit]`: data keys from Vault's Transit engine instead of
    /// a keyring file.
    #[serde(default)]
    pub transit: Option<crate::secrets::Transit>,
}
