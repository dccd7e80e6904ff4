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
