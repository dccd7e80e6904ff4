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
    FieldTreatment, IdentifierHasher, Principal, Unclassified, Writer, WriterConfig,
};
use maskgate_config::{Audit as AuditConfig, HmacField};

pub(crate) use self::{
    layer::{AuditLayer, AuditTapLayer},
    metrics::AuditMetrics,
};
use crate::caller::{CallerInfo, Purpose};

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
    /// Loads (or creates, when configured so) the keys and opens the log.
    pub(crate) fn start(config: &AuditConfig) -> Result<Self, maskgate_audit::AuditError> {
        let key =
            maskgate_audit::load_or_create_signing_key(&config.signing_key, config.create_keys)?;
        let hmac_key =
            maskgate_audit::load_or_create_hmac_key(&config.hmac_key, config.create_keys)?;
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
/// subtrees are listed as class `unclassified`.
pub(crate) fn field_treatments(
    summary: &maskgate_masking::RewriteSummary,
    plan: &maskgate_masking::Plan,
) -> (Vec<FieldTreatment>, Option<Unclassified>) {
    use maskgate_masking::Treatment;
    let fields = summary
        .fields
        .iter()
        .map(|(&(id, treatment), &count)| {
            let treatment = match treatment {
                Treatment::Kept => "kept",
                Treatment::Replaced => "replaced",
                Treatment::Dropped => "dropped",
                Treatment::ContainerDropped => "container_dropped",
                Treatment::ContainerReplaced => "container_replaced",
                Treatment::ContainerDescended => "container_descended",
                _ => "other",
            };
            let planned = usize::try_from(id.0)
                .ok()
                .and_then(|i| plan.fields().get(i));
            match planned {
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
