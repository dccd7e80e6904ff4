//! `[audit]`: where the tamper-evident access log goes and how it is kept.
//!
//! ```toml
//! [audit]
//! path = "/var/log/maskgate/audit"       # a directory; created if missing
//! signing_key = "keys/audit-signing.pk8" # Ed25519 PKCS#8; NAME.pub beside it
//! hmac_key = "keys/audit-hmac.key"       # hex, 32 random bytes
//! # create_keys = false                  # make missing key files (0600)
//! # fail_closed = true                   # release a response only once its record is durable
//! # fsync_interval = "2ms"               # group commit: longest wait for a sync
//! # rotate_size = "100MiB"
//! # rotate_interval = "24h"
//! # checkpoint_every = 1000              # records between signed checkpoints
//! # checkpoint_interval = "10s"
//! # hmac_fields = ["query"]              # also "subject", "client_address"
//! # instance_id = "gw-eu-1"              # default: hostname + random suffix
//! # max_buffered = 100000                # records kept while the log cannot be written
//! ```
//!
//! With `[vault]`, the keys can come from Vault's KV instead of files:
//! `signing_key_from = { path = "maskgate/audit", field = "signing_key" }`
//! (base64 of the PKCS#8 document) and `hmac_key_from = { path = ...,
//! field = "hmac_key" }` (hex), in place of `signing_key` and `hmac_key`.
//!
//! Without `[audit]` no access log is written (`maskgate check` warns).

use std::path::PathBuf;

use serde::Deserialize;

use crate::units::{ByteSize, Duration};

/// `[audit]`: the access log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Audit {
    /// The directory of the log's files (relative to the configuration
    /// file; created if missing). Files are named `INSTANCE.SEQ.jsonl`.
    pub path: PathBuf,
    /// Release a response only once its record is durable, and answer 503
    /// while the log cannot be written. Default true. With false, records
    /// are written as soon as possible but a response never waits for its
    /// record, and requests are served while the log is failing.
    #[serde(default = "yes")]
    pub fail_closed: bool,
    /// Group commit: the longest a record waits for the next write and
    /// sync, 100µs to 1s. Default 2ms.
    #[serde(default = "Audit::default_fsync_interval")]
    pub fsync_interval: Duration,
    /// Start a new file once the current one reaches this size (at least
    /// 4KiB). Default 100MiB.
    #[serde(default = "Audit::default_rotate_size")]
    pub rotate_size: ByteSize,
    /// Start a new file once the current one is this old (at least 1s).
    /// Default 24h.
    #[serde(default = "Audit::default_rotate_interval")]
    pub rotate_interval: Duration,
    /// A signed checkpoint after this many records (1 to 1,000,000).
    /// Default 1000.
    #[serde(default = "Audit::default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// A signed checkpoint at least this often while records are written
    /// (at least 100ms). Default 10s.
    #[serde(default = "Audit::default_checkpoint_interval")]
    pub checkpoint_interval: Duration,
    /// The Ed25519 key that signs checkpoints: a PKCS#8 file (relative to
    /// the configuration file). Its public key, all a verifier needs, is
    /// written beside it as `NAME.pub`. Exactly one of `signing_key` and
    /// `signing_key_from`.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// The signing key from a field of a KV v2 secret in Vault instead: the
    /// base64 of its PKCS#8 document. Read at start-up. Needs `[vault]`.
    #[serde(default)]
    pub signing_key_from: Option<crate::secrets::KvField>,
    /// The key identifiers are HMAC'd with (hex, at least 16 bytes;
    /// relative to the configuration file). `maskgate audit hash` finds a
    /// value with it. Exactly one of `hmac_key` and `hmac_key_from`.
    #[serde(default)]
    pub hmac_key: Option<PathBuf>,
    /// The HMAC key from a field of a KV v2 secret in Vault instead (hex).
    /// Read at start-up. Needs `[vault]`.
    #[serde(default)]
    pub hmac_key_from: Option<crate::secrets::KvField>,
    /// Create `signing_key` and `hmac_key` (mode 0600) if they do not
    /// exist. Default false: a missing key is an error.
    #[serde(default)]
    pub create_keys: bool,
    /// Which identifiers are written HMAC'd rather than in the clear:
    /// `subject`, `client_address`, `query` (query values are always
    /// HMAC'd). Default `["query"]`.
    #[serde(default = "Audit::default_hmac_fields")]
    pub hmac_fields: Vec<HmacField>,
    /// This gateway's id in the log (1 to 64 of `A-Za-z0-9._-`): each
    /// instance keeps its own chain. Default: the hostname and a random
    /// suffix, new at each start. A fixed id continues its chain across
    /// restarts.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// How many records are kept in memory while the log cannot be written
    /// (1 to 10,000,000); beyond, records are lost and a gap line in the
    /// log says how many. Default 100,000.
    #[serde(default = "Audit::default_max_buffered")]
    pub max_buffered: usize,
}

/// An identifier that can be HMAC'd in records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HmacField {
    /// The principal's subject.
    Subject,
    /// The client's IP address.
    ClientAddress,
    /// Query parameter values (always HMAC'd; naming it changes nothing).
    Query,
}

fn yes() -> bool {
    true
}

impl Audit {
    /// The `[audit]` section with `path` and keys, every other key at its
    /// default.
    pub fn new(path: PathBuf, signing_key: PathBuf, hmac_key: PathBuf) -> Self {
        Self {
            path,
            fail_closed: true,
            fsync_interval: Self::default_fsync_interval(),
            rotate_size: Self::default_rotate_size(),
            rotate_interval: Self::default_rotate_interval(),
            checkpoint_every: Self::default_checkpoint_every(),
            checkpoint_interval: Self::default_checkpoint_interval(),
            signing_key: Some(signing_key),
            signing_key_from: None,
            hmac_key: Some(hmac_key),
            hmac_key_from: None,
            create_keys: false,
            hmac_fields: Self::default_hmac_fields(),
            instance_id: None,
            max_buffered: Self::default_max_buffered(),
        }
    }

    fn default_fsync_interval() -> Duration {
        Duration::from_millis(2)
    }
    fn default_rotate_size() -> ByteSize {
        ByteSize::mib(100)
    }
    fn default_rotate_interval() -> Duration {
        Duration::from_secs(24 * 3600)
    }
    fn default_checkpoint_every() -> u64 {
        1000
    }
    fn default_checkpoint_interval() -> Duration {
        Duration::from_secs(10)
    }
    fn default_hmac_fields() -> Vec<HmacField> {
        vec![HmacField::Query]
    }
    fn default_max_buffered() -> usize {
        100_000
    }

    /// Whether `field` is HMAC'd.
    pub fn hmacs(&self, field: HmacField) -> bool {
        field == HmacField::Query || self.hmac_fields.contains(&field)
    }

    /// Makes relative paths relative to `base`.
    pub(crate) fn resolve(&mut self, base: &std::path::Path) {
        let keys = self.signing_key.iter_mut().chain(self.hmac_key.iter_mut());
        for path in std::iter::once(&mut self.path).chain(keys) {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// Every problem with `[audit]`: (key path, message).
pub(crate) fn check(audit: &Audit) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut push = |key: &str, message: &str| {
        problems.push((format!("audit.{key}"), message.to_owned()));
    };
    if audit.path.as_os_str().is_empty() {
        push("path", "must name a directory");
    } else if audit.path.is_file() {
        push(
            "path",
            "is a file: it must name a directory (the log's files go in it)",
        );
    }
    let fsync = audit.fsync_interval.get();
    if fsync < std::time::Duration::from_micros(100) || fsync > std::time::Duration::from_secs(1) {
        push("fsync_interval", "must be 100us to 1s");
    }
    if audit.rotate_size < ByteSize::kib(4) {
        push("rotate_size", "must be at least 4KiB");
    }
    if audit.rotate_interval < Duration::from_secs(1) {
        push("rotate_interval", "must be at least 1s");
    }
    if !(1..=1_000_000).contains(&audit.checkpoint_every) {
        push("checkpoint_every", "must be 1 to 1000000");
    }
    if audit.checkpoint_interval < Duration::from_millis(100) {
        push("checkpoint_interval", "must be at least 100ms");
    }
    if !(1..=10_000_000).contains(&audit.max_buffered) {
        push("max_buffered", "must be 1 to 10000000");
    }
    if let Some(id) = &audit.instance_id {
        let ok = (1..=64).contains(&id.len())
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            push(
                "instance_id",
                "must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)",
            );
        }
    }
    for (key, path, from) in [
        (
            "signing_key",
            &audit.signing_key,
            audit.signing_key_from.is_some(),
        ),
        ("hmac_key", &audit.hmac_key, audit.hmac_key_from.is_some()),
    ] {
        let path = match (path, from) {
            (Some(path), false) => path,
            (None, true) => continue,
            _ => {
                push(
                    key,
                    &format!("give exactly one of `{key}` (a file) and `{key}_from` (Vault)"),
                );
                continue;
            }
        };
        if path.is_file() {
            if let Err(error) = std::fs::File::open(path) {
                push(key, &format!("cannot read {}: {error}", path.display()));
            }
        } else if !audit.create_keys {
            push(
                key,
                &format!(
                    "{} does not exist (set create_keys = true to create it)",
                    path.display()
                ),
            );
        }
    }
    if audit.signing_key.is_some() && audit.signing_key == audit.hmac_key {
        push("hmac_key", "must not be the signing key's file");
    }
    problems
}
