//! Prometheus metrics: what the admin listener's `/metrics` serves.
//!
//! Label values come only from the configuration (product, listener and
//! data class names) and from small fixed sets (status codes, error codes,
//! actions, outcomes), so the number of series stays bounded whatever
//! clients send or products answer.

use std::{sync::Arc, time::Duration};

use http::StatusCode;
use maskgate_masking::{Plan, RewriteSummary, Treatment};

use crate::audit::{AuditMetrics, Auditor, detected_action};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Requests by product and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    product: Arc<str>,
    status: u16,
}

/// Latency by product.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProductLabels {
    product: Arc<str>,
}

/// Upstream failures by product and kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamErrorLabels {
    product: Arc<str>,
    kind: &'static str,
}

/// Rate-limit refusals by product and quota.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitedLabels {
    product: Arc<str>,
    scope: &'static str,
}

/// Bodies that could not be protected, by product, which body and what
/// became of it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MaskingFailureLabels {
    product: Arc<str>,
    body: &'static str,
    outcome: &'static str,
}

/// Classified values in responses (or values found in unclassified text),
/// by product, class, the action the caller's rule gives the class, and
/// what became of each.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassifiedValueLabels {
    product: Arc<str>,
    class: String,
    action: &'static str,
    outcome: &'static str,
}

/// Unclassified values in responses, by product and what became of each.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UnclassifiedValueLabels {
    product: Arc<str>,
    outcome: &'static str,
}

/// Reloads by result.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

/// Connections by listener.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: String,
}

/// The gateway's metrics, shared by every connection.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ProductLabels, Histogram, fn() -> Histogram>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    rate_limited: Family<RateLimitedLabels, Counter>,
    open_connections: Family<ListenerLabels, Gauge>,
    connections: Family<ListenerLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    masking_failures: Family<MaskingFailureLabels, Counter>,
    classified_values: Family<ClassifiedValueLabels, Counter>,
    unclassified_values: Family<UnclassifiedValueLabels, Counter>,
    detected_values: Family<ClassifiedValueLabels, Counter>,
    /// Vault's numbers, once the gateway has logged in.
    vault: crate::vault::VaultCollector,
    /// The audit log's, once it is open.
    audit: AuditMetrics,
    /// The product label for requests that matched no route.
    unrouted: Arc<str>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s, doubling.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("maskgate");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<ProductLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        let rate_limited = Family::<RateLimitedLabels, Counter>::default();
        let open_connections = Family::<ListenerLabels, Gauge>::default();
        let connections = Family::<ListenerLabels, Counter>::default();
        let reloads = Family::<ReloadLabels, Counter>::default();
        let masking_failures = Family::<MaskingFailureLabels, Counter>::default();
        registry.register(
            "masking_failures",
            "Bodies that could not be protected, by product, body (request, response) and outcome (blocked: a 502 before the response head; aborted: the response broken off mid-stream; refused: a write answered 400)",
            masking_failures.clone(),
        );
        let classified_values = Family::<ClassifiedValueLabels, Counter>::default();
        registry.register(
            "classified_values",
            "Classified values in responses, by product, class, the action the caller's rule gives it, and outcome (kept, replaced, dropped; container_dropped, container_replaced: an object or array at once; container_descended: one whose values each got the action, and are counted too). A response that failed counts what was rewritten before the failure",
            classified_values.clone(),
        );
        let unclassified_values = Family::<UnclassifiedValueLabels, Counter>::default();
        registry.register(
            "unclassified_values",
            "Values no selector classifies, in responses of products that scan or deny them, by product and outcome (kept: scanned, nothing found; replaced: a detector found data of a class in it, which got the class's action; dropped: denied). Many replaced values mean a field wants classifying",
            unclassified_values.clone(),
        );
        let detected_values = Family::<ClassifiedValueLabels, Counter>::default();
        registry.register(
            "detected_values",
            "Values the detectors found in unclassified strings of responses, by product, class, the action the caller's rule gives it, and outcome (kept, replaced)",
            detected_values.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads, by result (applied, invalid, failed)",
            reloads.clone(),
        );
        registry.register(
            "requests",
            "Requests answered, by product and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request to response head, by product",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream failures (unreachable, timeouts), by product and kind",
            upstream_errors.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused over a quota, by product and scope (principal, product, principal_product, tracked_keys)",
            rate_limited.clone(),
        );
        registry.register(
            "open_connections",
            "Client connections currently open, by listener",
            open_connections.clone(),
        );
        registry.register(
            "connections",
            "Client connections accepted, by listener",
            connections.clone(),
        );
        let vault = crate::vault::VaultCollector::default();
        registry.register_collector(Box::new(vault.clone()));
        let audit = AuditMetrics::default();
        registry.register_collector(Box::new(audit.clone()));
        Self {
            registry,
            vault,
            audit,
            requests,
            latency,
            upstream_errors,
            rate_limited,
            open_connections,
            connections,
            reloads,
            masking_failures,
            classified_values,
            unclassified_values,
            detected_values,
            unrouted: Arc::from("-"),
        }
    }

    /// Exports the Vault client's numbers (lease time left, renewal
    /// failures, latency) from now on.
    pub(crate) fn watch_vault(&self, vault: maskgate_secrets::Vault) {
        self.vault.watch(vault);
    }

    /// Reports the audit log's records and availability from now on.
    pub(crate) fn observe_audit(&self, auditor: Arc<Auditor>) {
        self.audit.set(auditor);
    }

    /// Counts a configuration reload by its result.
    pub(crate) fn observe_reload(&self, result: &'static str) {
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    /// Counts an answered request; `product` is `None` when no route matched.
    /// Product names are shared (`Arc<str>`) so that counting allocates
    /// nothing once a series exists.
    pub(crate) fn observe_request(
        &self,
        product: Option<&Arc<str>>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let product = product.unwrap_or(&self.unrouted).clone();
        self.latency
            .get_or_create(&ProductLabels {
                product: product.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                product,
                status: status.as_u16(),
            })
            .inc();
    }

    /// Counts an upstream failure of the given kind (a gateway error code).
    pub(crate) fn observe_upstream_error(&self, product: &Arc<str>, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                product: product.clone(),
                kind,
            })
            .inc();
    }

    /// Counts a request refused over a quota; `scope` names the quota.
    pub(crate) fn observe_rate_limited(&self, product: &Arc<str>, scope: &'static str) {
        self.rate_limited
            .get_or_create(&RateLimitedLabels {
                product: product.clone(),
                scope,
            })
            .inc();
    }

    /// Where what the masking rewriter does to the bodies of `product` is
    /// counted: the bodies it cannot protect, and the values it treats.
    pub(crate) fn masking(&self, product: &Arc<str>) -> MaskingMetrics {
        MaskingMetrics {
            failures: self.masking_failures.clone(),
            classified: self.classified_values.clone(),
            unclassified: self.unclassified_values.clone(),
            detected: self.detected_values.clone(),
            product: product.clone(),
        }
    }

    /// Counts a new connection on `listener`; the count of open connections
    /// drops again when the returned guard is dropped.
    pub(crate) fn connection_opened(&self, listener: &str) -> ConnectionGuard {
        let labels = ListenerLabels {
            listener: listener.to_owned(),
        };
        self.connections.get_or_create(&labels).inc();
        let gauge = self.open_connections.get_or_create(&labels).clone();
        gauge.inc();
        ConnectionGuard { gauge }
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// One product's masking counters (see [`Metrics::masking`]), with its
/// name for log lines.
#[derive(Debug, Clone)]
pub(crate) struct MaskingMetrics {
    failures: Family<MaskingFailureLabels, Counter>,
    classified: Family<ClassifiedValueLabels, Counter>,
    unclassified: Family<UnclassifiedValueLabels, Counter>,
    detected: Family<ClassifiedValueLabels, Counter>,
    product: Arc<str>,
}

impl MaskingMetrics {
    /// The product's name.
    pub(crate) fn product(&self) -> &str {
        &self.product
    }

    /// Counts a body that could not be protected: which `body` (`request`,
    /// `response`) and its `outcome`.
    pub(crate) fn count_failure(&self, body: &'static str, outcome: &'static str) {
        self.failures
            .get_or_create(&MaskingFailureLabels {
                product: self.product.clone(),
                body,
                outcome,
            })
            .inc();
    }

    /// Counts what a response's rewrite under `plan` did: its classified
    /// values by class, action and outcome, its unclassified ones, and
    /// what the detectors found in those. The values an `unclassified =
    /// "deny"` product drops count as unclassified and dropped.
    pub(crate) fn count_rewrite(&self, summary: &RewriteSummary, plan: &Plan) {
        let count = |family: &Family<ClassifiedValueLabels, Counter>,
                     class: &str,
                     action: &'static str,
                     treatment: Treatment,
                     n: u64| {
            family
                .get_or_create(&ClassifiedValueLabels {
                    product: self.product.clone(),
                    class: class.to_owned(),
                    action,
                    outcome: treatment.name(),
                })
                .inc_by(n);
        };
        let mut denied = 0;
        for ((id, treatment), n) in summary.fields() {
            match plan.field(id) {
                Some(field) => count(
                    &self.classified,
                    &field.class,
                    field.action.name(),
                    treatment,
                    n,
                ),
                None => denied += n,
            }
        }
        for ((class, treatment), n) in summary.detected() {
            count(
                &self.detected,
                class,
                detected_action(plan, class),
                treatment,
                n,
            );
        }
        let scanned = summary.unclassified_scanned;
        let replaced = summary.unclassified_replaced;
        let dropped = summary.unclassified_dropped + denied;
        let kept = scanned.saturating_sub(replaced + summary.unclassified_dropped);
        for (outcome, count) in [("kept", kept), ("replaced", replaced), ("dropped", dropped)] {
            if count > 0 {
                self.unclassified
                    .get_or_create(&UnclassifiedValueLabels {
                        product: self.product.clone(),
                        outcome,
                    })
                    .inc_by(count);
            }
        }
    }
}

/// Decrements the open-connections gauge when the connection ends.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    gauge: Gauge,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_requests_latency_errors_and_connections() {
        let metrics = Metrics::new();
        let customers: Arc<str> = Arc::from("customers");
        metrics.observe_request(Some(&customers), StatusCode::OK, Duration::from_millis(3));
        metrics.observe_request(None, StatusCode::NOT_FOUND, Duration::from_millis(1));
        metrics.observe_upstream_error(&customers, "upstream_timeout");
        let guard = metrics.connection_opened("public");
        let text = metrics.encode();
        assert!(text.contains(r#"maskgate_requests_total{product="customers",status="200"} 1"#));
        assert!(text.contains(r#"maskgate_requests_total{product="-",status="404"} 1"#));
        assert!(text.contains(r#"maskgate_request_duration_seconds_count{product="customers"} 1"#));
        assert!(text.contains(
            r#"maskgate_upstream_errors_total{product="customers",kind="upstream_timeout"} 1"#
        ));
        assert!(text.contains(r#"maskgate_open_connections{listener="public"} 1"#));
        drop(guard);
        assert!(
            metrics
                .encode()
                .contains(r#"maskgate_open_connections{listener="public"} 0"#)
        );
    }
}
