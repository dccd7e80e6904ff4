//! The audit log's metrics, read at each scrape: records written, and
//! whether the log can be written now.

use std::sync::{Arc, OnceLock};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};

use super::Auditor;

/// Registered once with the metrics; reports nothing until the gateway's
/// auditor is [`set`](Self::set) (never without `[audit]`).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditMetrics(Arc<OnceLock<Arc<Auditor>>>);

impl AuditMetrics {
    pub(crate) fn set(&self, auditor: Arc<Auditor>) {
        let _ = self.0.set(auditor);
    }
}

impl Collector for AuditMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(auditor) = self.0.get() else {
            return Ok(());
        };
        let written = ConstCounter::new(auditor.writer.records_written());
        written.encode(encoder.encode_descriptor(
            "audit_records_written",
            "Audit records made durable (written and synced) since start",
            None,
            written.metric_type(),
        )?)?;
        let available = ConstGauge::new(i64::from(auditor.writer.is_available()));
        available.encode(encoder.encode_descriptor(
            "audit_available",
            "1 while the audit log can be written, 0 while it is failing (failing closed, requests get 503)",
            None,
            available.metric_type(),
        )?)?;
        Ok(())
    }
}
