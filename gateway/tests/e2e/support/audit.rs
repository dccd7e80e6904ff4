//! The audit log in tests: an `[audit]` section writing into a temporary
//! directory, and its records read back.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// An audit log directory and its keys, in a temporary directory removed
/// on drop.
pub struct AuditDir {
    dir: tempfile::TempDir,
}

impl AuditDir {
    /// A fresh directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The log's directory.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// The public key file the gateway writes.
    pub fn public_key(&self) -> PathBuf {
        self.dir.path().join("keys/signing.pk8.pub")
    }

    /// The keys' directory.
    pub fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// The `[audit]` section (keys created), with `extra` keys.
    pub fn section(&self, extra: &str) -> String {
        self.section_at(&self.log(), extra)
    }

    /// The `[audit]` section writing to `log`.
    pub fn section_at(&self, log: &Path, extra: &str) -> String {
        format!(
            "\n[audit]\npath = \"{}\"\nsigning_key = \"{}\"\nhmac_key = \"{}\"\ncreate_keys = true\n{extra}\n",
            log.display(),
            self.keys().join("signing.pk8").display(),
            self.keys().join("hmac.key").display(),
        )
    }

    /// Every line of every log file, in file order.
    pub fn lines(&self) -> Vec<String> {
        lines_in(&self.log())
    }

    /// The access records (`"t":"rec"` lines), parsed.
    pub fn records(&self) -> Vec<Value> {
        records_in(&self.log())
    }
}

/// Every line of every log file under `dir`.
pub fn lines_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The access records under `dir`.
pub fn records_in(dir: &Path) -> Vec<Value> {
    lines_in(dir)
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["t"] == "rec")
        .collect()
}

/// The records with request id `id`.
pub fn with_id<'a>(records: &'a [Value], id: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["request_id"] == id).collect()
}

/// Two API-key callers, `support` and `fraud` (each with the role of its
/// name): their keys, and the `[authn]` section that accepts them.
pub struct Callers {
    pub support: String,
    pub fraud: String,
    pub authn: String,
}

impl Callers {
    pub fn new() -> Self {
        let (support, support_hash) = maskgate_authn::ApiKeys::generate("support").unwrap();
        let (fraud, fraud_hash) = maskgate_authn::ApiKeys::generate("fraud").unwrap();
        let authn = format!(
            r#"
[authn]
[[authn.api_key]]
id = "support"
hash = "{support_hash}"
roles = ["support"]
[[authn.api_key]]
id = "fraud"
hash = "{fraud_hash}"
roles = ["fraud"]
"#
        );
        Self {
            support: support.expose_str().unwrap().to_owned(),
            fraud: fraud.expose_str().unwrap().to_owned(),
            authn,
        }
    }
}

/// The `customers` product at `url`: open to support and fraud (for
/// `fraud-investigation`), with `$.items[*].email` and
/// `$.items[*].card_number` classified.
pub fn customers_product(url: &str) -> String {
    format!(
        r#"
[[product]]
name = "customers"
route = {{ path_prefix = "/customers" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["support", "fraud"], purposes = ["fraud-investigation"] }}
[[product.field]]
path = "$.items[*].email"
class = "email"
[[product.field]]
path = "$.items[*].card_number"
class = "card_number"
"#
    )
}

/// The policies for [`customers_product`]: fraud (for its purpose) sees
/// everything, support gets masked emails and cards, everyone else
/// redactions.
pub const POLICIES: &str = r#"
[[policy]]
name = "fraud"
roles = ["fraud"]
purposes = ["fraud-investigation"]
actions = { "*" = { action = "reveal" } }

[[policy]]
name = "support"
roles = ["support"]
actions = { email = { action = "mask", preset = "email" }, card_number = { action = "mask", preset = "card" } }

[[policy]]
name = "default"
default = true
actions = { "*" = { action = "redact" } }
"#;

/// `GET url` with, if given, an `X-Request-Id`, an API key and a purpose.
pub fn request(
    url: &str,
    id: Option<&str>,
    key: Option<&str>,
    purpose: Option<&str>,
) -> http::Request<super::TestBody> {
    let mut request = super::client::get(url);
    let headers = request.headers_mut();
    for (name, value) in [
        ("x-request-id", id),
        ("x-api-key", key),
        ("x-purpose", purpose),
    ] {
        if let Some(value) = value {
            headers.insert(name, value.parse().unwrap());
        }
    }
    request
}
