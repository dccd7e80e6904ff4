//! One audit record per request: the gateway's side of `maskgate-audit`.
//!
//! The [`AuditLayer`] sits right after the request id, outside everything
//! that can refuse or fail a request, so that every request that reaches a
//! service — allowed, refused (401, 403, 404, 413, 429, 431), failed (502,
//! 504, masking, the audit sink itself) — leaves exactly one record.
//!
//! Inner layers leave what they learn in a shared slot, [`AuditFacts`],
//! that the layer puts into the request's extensions: the product and
//! route and the caller (recorded by [`AuditTapLayer`]s placed after
//! routing, authentication and access), the upstream's status (the proxy),
//! the per-field treatment summary or a rewrite failure (`protect`), Vault
//! lease ids (the secrets integration, later). The gateway's own errors say
//! their decision and reason through a response extension
//! ([`crate::error::AuditReason`]), set by the one error map.
//!
//! The record is completed when the response body ends, errors, or is
//! dropped (the client went away): the `AuditBody` counts the bytes sent and,
//! failing closed, withholds the end of the body until the record is
//! durable; if it cannot be made durable, the body fails, so the client
//! sees a broken transfer, never a complete-looking one. While the sink
//! cannot write, new requests are answered 503 `audit_unavailable` before
//! anything is forwarded.

mod body;
mod layer;
mod metrics;
#[cfg(test)]
mod tests;

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
};

use maskgate_audit::{
    FOUND_IN_TEXT, FieldTreatment, IdentifierHasher, Principal, Unclassified, Writer, WriterConfig,
};
use maskgate_config::{Audit as AuditConfig, HmacField};

pub(crate) use self::{
    layer::{AuditLayer, AuditTapLayer},
    metrics::AuditMetrics,
};
use crate::caller::{CallerInfo, Purpose};

/// The audit log's keys: the checkpoint signing key and the identifier
/// HMAC key.
pub(crate) struct AuditKeys {
    signing: maskgate_audit::SigningKey,
    hmac: zeroize::Zeroizing<Vec<u8>>,
}

impl AuditKeys {
    /// From their files (made when `create_keys` says so), or from Vault's
    /// KV (`signing_key_from`, `hmac_key_from`; read once, at start-up).
    pub(crate) async fn load(
        config: &AuditConfig,
        vault: Option<&maskgate_secrets::Vault>,
    ) -> Result<Self, String> {
        let signing = match (&config.signing_key, &config.signing_key_from) {
            (Some(path), _) => maskgate_audit::load_or_create_signing_key(path, config.create_keys)
                .map_err(|e| e.to_string())?,
            (None, Some(from)) => {
                use base64::Engine as _;
                let text = kv_field(vault, from, "audit.signing_key_from").await?;
                let der = zeroize::Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|_| {
                            "audit.signing_key_from: the field is not base64 (of a PKCS#8 Ed25519 key)"
                                .to_owned()
                        })?,
                );
                let key = maskgate_audit::SigningKey::from_pkcs8(&der)
                    .map_err(|e| format!("audit.signing_key_from: {e}"))?;
                // A verifier needs the public half: it is no secret.
                tracing::info!(
                    public_key = %key.public_key(),
                    "audit checkpoints are signed with the key from Vault"
                );
                key
            }
            (None, None) => return Err("audit: no signing key".into()),
        };
        let hmac = match (&config.hmac_key, &config.hmac_key_from) {
            (Some(path), _) => maskgate_audit::load_or_create_hmac_key(path, config.create_keys)
                .map_err(|e| e.to_string())?,
            (None, Some(from)) => {
                let text = kv_field(vault, from, "audit.hmac_key_from").await?;
                maskgate_audit::parse_hmac_key(&text)
                    .map_err(|e| format!("audit.hmac_key_from: {e}"))?
            }
            (None, None) => return Err("audit: no HMAC key".into()),
        };
        Ok(Self { signing, hmac })
    }
}

/// The text of a KV field, waiting (at start-up) for the secret.
async fn kv_field(
    vault: Option<&maskgate_secrets::Vault>,
    from: &maskgate_config::KvField,
    key: &str,
) -> Result<zeroize::Zeroizing<String>, String> {
    let vault = vault.ok_or_else(|| format!("{key}: needs [vault]"))?;
    let secret = vault
        .kv_secret(&from.mount, &from.path)
        .ready(std::time::Duration::from_secs(10))
        .await
        .map_err(|why| format!("{key}: {why}"))?;
    let field = secret.field(&from.field).ok_or_else(|| {
        format!(
            "{key}: the secret {} has no field {:?}",
            from.path, from.field
        )
    })?;
    Ok(zeroize::Zeroizing::new(field.expose().to_owned()))
}

/// The running audit log: the writer and how identifiers are written.
pub(crate) struct Auditor {
    writer: Writer,
    hasher: IdentifierHasher,
    hmac_subject: bool,
    hmac_client: bool,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl Auditor {
    /// Opens the log with `keys` (see [`AuditKeys::load`]).
    pub(crate) fn start(
        config: &AuditConfig,
        keys: AuditKeys,
    ) -> Result<Self, maskgate_audit::AuditError> {
        let AuditKeys {
            signing: key,
            hmac: hmac_key,
        } = keys;
        let hasher = IdentifierHasher::new(&hmac_key)?;
        let instance = config
            .instance_id
            .clone()
            .unwrap_or_else(default_instance_id);
        let mut writer = WriterConfig::new(&config.path, instance);
        writer.fail_closed = config.fail_closed;
        writer.fsync_interval = config.fsync_interval.get();
        writer.rotate_size = config.rotate_size.bytes();
        writer.rotate_interval = config.rotate_interval.get();
        writer.checkpoint_every = config.checkpoint_every;
        writer.checkpoint_interval = config.checkpoint_interval.get();
        writer.max_buffered = config.max_buffered;
        Ok(Self {
            writer: Writer::start(writer, key)?,
            hasher,
            hmac_subject: config.hmacs(HmacField::Subject),
            hmac_client: config.hmacs(HmacField::ClientAddress),
        })
    }

    /// Whether requests are served: false while the log cannot be written
    /// and the gateway fails closed.
    pub(crate) fn serves(&self) -> bool {
        !self.writer.fail_closed() || self.writer.is_available()
    }

    /// Writes the final checkpoint; see [`Writer::shutdown`].
    pub(crate) fn shutdown(&self) {
        match self.writer.shutdown() {
            Ok(written) => tracing::info!(
                records = written.records,
                last_seq = written.last_seq,
                "audit log closed with its final checkpoint"
            ),
            Err(error) => {
                tracing::error!(%error, "audit log: the final checkpoint could not be written")
            }
        }
    }

    fn subject(&self, subject: &str) -> String {
        if self.hmac_subject {
            self.hasher.hash(subject)
        } else {
            subject.to_owned()
        }
    }

    fn client(&self, address: IpAddr) -> String {
        if self.hmac_client {
            self.hasher.hash(&address.to_string())
        } else {
            address.to_string()
        }
    }
}

/// `HOSTNAME-RANDOM`: a new id at each start.
fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .take(40)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "maskgate".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &random[..8])
}

/// What the layers inside the audit layer learn about a request; shared
/// through the request's extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditFacts(Arc<Mutex<Facts>>);

#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) product: Option<Arc<str>>,
    pub(crate) route: Option<Arc<str>>,
    pub(crate) caller: Option<CallerInfo>,
    pub(crate) purpose: Option<Arc<str>>,
    pub(crate) upstream_status: Option<u16>,
    pub(crate) fields: Vec<FieldTreatment>,
    pub(crate) unclassified: Option<Unclassified>,
    /// The response could not be protected after its head was sent.
    pub(crate) masking_failed: bool,
    /// Lease ids of the credentials used upstream, as issued: the record
    /// holds only their HMACs.
    pub(crate) leases: Vec<String>,
}

impl AuditFacts {
    /// Changes the facts.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Facts)) {
        change(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn take(&self) -> Facts {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn principal(auditor: &Auditor, caller: &CallerInfo) -> Principal {
    Principal::new(
        auditor.subject(&caller.subject),
        caller.auth_method.as_str().to_owned(),
        caller.roles.clone(),
    )
}

fn purpose_name(purpose: &Purpose) -> Arc<str> {
    purpose.0.clone()
}

/// A rewrite's counts as the record lists them: per (field, outcome), the
/// field's selector, class and action. Deny-mode drops of unclassified
/// subtrees are listed as class `unclassified`; values the detectors found
/// in unclassified strings, under the path [`FOUND_IN_TEXT`] with their
/// class and the action they got.
pub(crate) fn field_treatments(
    summary: &maskgate_masking::RewriteSummary,
    plan: &maskgate_masking::Plan,
) -> (Vec<FieldTreatment>, Option<Unclassified>) {
    let found = summary.detected().map(|((class, treatment), count)| {
        FieldTreatment::new(
            FOUND_IN_TEXT.to_owned(),
            class.to_owned(),
            detected_action(plan, class).to_owned(),
            treatment.name().to_owned(),
            count,
        )
    });
    let fields = summary
        .fields()
        .map(|((id, treatment), count)| {
            let treatment = treatment.name();
            match plan.field(id) {
                Some(field) => FieldTreatment::new(
                    field.selector.clone(),
                    field.class.clone(),
                    field.action.name().to_owned(),
                    treatment.to_owned(),
                    count,
                ),
                None => FieldTreatment::new(
                    "(unclassified)".to_owned(),
                    "unclassified".to_owned(),
                    "drop".to_owned(),
                    treatment.to_owned(),
                    count,
                ),
            }
        })
        .chain(found)
        .collect();
    let unclassified = (summary.unclassified_scanned > 0).then(|| {
        Unclassified::new(
            summary.unclassified_scanned,
            summary.unclassified_replaced,
            summary.unclassified_dropped,
        )
    });
    (fields, unclassified)
}

/// The name of the action a value of `class` found in free text gets under
/// `plan` (`redact`: none, and a mark naming the class replaces it).
pub(crate) fn detected_action(plan: &maskgate_masking::Plan, class: &str) -> &'static str {
    plan.detected_action(class)
        .map_or("redact", |action| action.name())
}
