//! Vault's numbers on `/metrics`, read from the client at each scrape:
//! lease time left and failed renewals per watched value, availability,
//! request latency and failures, logins.

use std::sync::{Arc, OnceLock};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};

use maskgate_secrets::Vault;

/// One watched value: its kind (`kv`, `database`, `pki`, `token`,
/// `transit`) and what it is (mount and path or role: names from the
/// configuration, never a secret).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ValueLabels {
    kind: &'static str,
    name: String,
}

/// Encodes the Vault client's numbers once the gateway has logged in.
#[derive(Debug, Default, Clone)]
pub(crate) struct VaultCollector {
    vault: Arc<OnceLock<Vault>>,
}

impl VaultCollector {
    /// Starts reporting `vault`'s numbers (once: a gateway logs in once).
    pub(crate) fn watch(&self, vault: Vault) {
        let _ = self.vault.set(vault);
    }
}

impl Collector for VaultCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(vault) = self.vault.get() else {
            return Ok(());
        };
        let snapshot = vault.metrics();
        let values: Vec<_> = std::iter::once(&snapshot.token)
            .chain(&snapshot.values)
            .collect();
        let labels = |v: &maskgate_secrets::ValueMetrics| ValueLabels {
            kind: v.kind,
            name: v.name.clone(),
        };

        let mut family = encoder.encode_descriptor(
            "vault_lease_seconds_left",
            "Seconds until a credential's lease, certificate or staleness limit ends (then the product answers 503), by kind and name",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for value in values.iter().filter(|v| v.seconds_left.is_some()) {
            let gauge = ConstGauge::new(value.seconds_left.unwrap_or_default());
            gauge.encode(family.encode_family(&labels(value))?)?;
        }
        let mut family = encoder.encode_descriptor(
            "vault_value_available",
            "1 while a credential, certificate or key is being served, 0 once it is not (fail closed)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for value in &values {
            let gauge = ConstGauge::new(i64::from(value.available));
            gauge.encode(family.encode_family(&labels(value))?)?;
        }
        let mut family = encoder.encode_descriptor(
            "vault_renewal_failures",
            "Failed background renewals, re-issues and polls, by kind and name",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for value in &values {
            let counter = ConstCounter::new(value.renewal_failures);
            counter.encode(family.encode_family(&labels(value))?)?;
        }

        let mut family = encoder.encode_descriptor(
            "vault_value_generation",
            "How many values have been published (a new KV version, database credential or certificate each counts one)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for value in &values {
            let gauge = ConstGauge::new(i64::try_from(value.generation).unwrap_or(i64::MAX));
            gauge.encode(family.encode_family(&labels(value))?)?;
        }

        let scalars = [
            (
                "vault_requests",
                "Requests sent to Vault",
                snapshot.requests,
            ),
            (
                "vault_request_failures",
                "Requests to Vault that failed (unreachable or an error status)",
                snapshot.request_failures,
            ),
            (
                "vault_logins",
                "Logins to Vault, the first included",
                snapshot.logins,
            ),
        ];
        for (name, help, value) in scalars {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        if let Some(latency) = snapshot.last_request_latency {
            let gauge = ConstGauge::new(latency.as_secs_f64());
            gauge.encode(encoder.encode_descriptor(
                "vault_last_request_seconds",
                "Latency of the last request to Vault",
                None,
                gauge.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
