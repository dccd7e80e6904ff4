//! Rate limits: quotas per caller, per product, and per caller and product
//! (`[rate_limits]`, `[product.rate_limit]`), with governor's GCRA.
//!
//! One [`RateLimits`] serves every worker thread: governor's cells are
//! updated lock-free (an atomic compare-and-swap per check), its keyed state
//! lives in a sharded map. A request is checked against the caller's quotas
//! first and the product's last, so a caller refused for its own quota does
//! not use up the product's quota that others share. Over a quota: 429 with
//! `Retry-After` (whole seconds, rounded up), counted in
//! `maskgate_rate_limited_total{product,scope}`.
//!
//! # Bounded state
//!
//! Keyed scopes (per caller, per caller and product) keep one cell per key.
//! A cell that has refilled completely is indistinguishable from a new one,
//! so it can be dropped: [`RateLimits::maintain`] does that for every key
//! (the gateway calls it every minute), and a scope that reaches
//! `max_tracked_keys` does it at once (at most once a second). If every
//! tracked key is still active after that, a caller the scope does not
//! track yet is refused (429, scope `tracked_keys`, `Retry-After: 1`) until
//! keys fall idle: callers already tracked keep their quotas, and memory
//! stays bounded whoever calls. Callers are authenticated, so reaching the
//! limit takes that many identities active at once: size it above them.

use std::{
    hash::Hash,
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use dashmap::DashMap;
use futures_util::future::{Either, Ready, ready};
use governor::{
    DefaultDirectRateLimiter, NotUntil, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    nanos::Nanos,
    state::{InMemoryState, StateStore, keyed::ShrinkableKeyedStateStore},
};
use http::{Request, Response};
use http_body::Body as HttpBody;
use maskgate_config::{AuthMethod, Config, RateLimit as QuotaConfig};
use tower::{Layer, Service};

use crate::{
    body::{self, Body},
    caller::CallerInfo,
    error::{GatewayError, RateScope},
    metrics::Metrics,
    request_id::RequestId,
    route::{ProductSettings, RoutedProduct},
};

/// How often [`RateLimits::maintain`] should run.
pub(crate) const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
/// Least time between two evictions forced by a full scope.
const EVICTION_INTERVAL: Duration = Duration::from_secs(1);
/// `Retry-After` for a caller refused because a scope is full.
const FULL_RETRY_AFTER: u64 = 1;

/// A caller, as a rate-limit key: the same subject authenticated two ways
/// is two callers (an API key named like a token's subject is not that
/// person).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PrincipalKey {
    method: AuthMethod,
    subject: Arc<str>,
}

/// Every quota, for every worker.
#[derive(Debug)]
pub(crate) struct RateLimits {
    per_principal: Option<Keyed<PrincipalKey>>,
    per_principal_product: Option<Keyed<(usize, PrincipalKey)>>,
    /// By product index: the product's own quota, or `per_product`.
    per_product: Vec<Option<DefaultDirectRateLimiter>>,
    metrics: Arc<Metrics>,
}

impl RateLimits {
    pub(crate) fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        let limits = &config.rate_limits;
        let max_keys = limits.max_tracked_keys;
        Self {
            per_principal: limits.per_principal.map(|l| Keyed::new(&l, max_keys)),
            per_principal_product: limits
                .per_principal_product
                .map(|l| Keyed::new(&l, max_keys)),
            per_product: config
                .products
                .iter()
                .map(|p| p.rate_limit(limits).map(|l| RateLimiter::direct(quota(l))))
                .collect(),
            metrics,
        }
    }

    /// Whether any quota is configured at all.
    pub(crate) fn is_active(&self) -> bool {
        self.has_keyed() || self.per_product.iter().any(Option::is_some)
    }

    /// Whether a keyed scope is configured, whose state needs
    /// [`maintain`](Self::maintain).
    pub(crate) fn has_keyed(&self) -> bool {
        self.per_principal.is_some() || self.per_principal_product.is_some()
    }

    /// Takes one request by `caller` (if authenticated) to `product` from
    /// every quota that applies, or says which quota refused it and when to
    /// retry (in whole seconds).
    fn check(
        &self,
        product: &ProductSettings,
        caller: Option<&CallerInfo>,
    ) -> Result<(), (RateScope, u64)> {
        if let Some(caller) = caller {
            let key = PrincipalKey {
                method: caller.auth_method,
                subject: caller.subject.clone(),
            };
            if let Some(keyed) = &self.per_principal {
                keyed.check(&key, RateScope::Principal)?;
            }
            if let Some(keyed) = &self.per_principal_product {
                keyed.check(&(product.index, key), RateScope::PrincipalProduct)?;
            }
        }
        if let Some(Some(limiter)) = self.per_product.get(product.index) {
            limiter.check().map_err(|not_until| {
                (RateScope::Product, retry_after(limiter.clock(), &not_until))
            })?;
        }
        Ok(())
    }

    /// Drops the state of every idle key and gives the memory back.
    pub(crate) fn maintain(&self) {
        if let Some(keyed) = &self.per_principal {
            keyed.maintain();
        }
        if let Some(keyed) = &self.per_principal_product {
            keyed.maintain();
        }
    }

    /// How many keys each keyed scope tracks: (per principal, per principal
    /// and product).
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (
            self.per_principal.as_ref().map_or(0, |k| k.map.len()),
            self.per_principal_product
                .as_ref()
                .map_or(0, |k| k.map.len()),
        )
    }
}

fn quota(limit: &QuotaConfig) -> Quota {
    let burst = NonZeroU32::new(limit.burst()).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(limit.rate.period())
        .expect("a validated rate has a period of at least 1ns")
        .allow_burst(burst)
}

/// Whole seconds until `not_until`, rounded up, at least 1.
fn retry_after<C: Clock>(clock: &C, not_until: &NotUntil<C::Instant>) -> u64 {
    let wait = not_until.wait_time_from(clock.now());
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// One keyed scope: its limiter, and a handle on the limiter's map to
/// bound it.
#[derive(Debug)]
struct Keyed<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, SharedStore<K>, DefaultClock>,
    map: Arc<DashMap<K, InMemoryState>>,
    max_keys: usize,
    /// Keys tracked, counted on insertion and recounted at each eviction:
    /// may run a little high between evictions, never unboundedly low.
    tracked: AtomicUsize,
    last_eviction: Mutex<Option<Instant>>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(limit: &QuotaConfig, max_keys: usize) -> Self {
        let map = Arc::new(DashMap::new());
        Self {
            limiter: RateLimiter::new(
                quota(limit),
                SharedStore(map.clone()),
                DefaultClock::default(),
            ),
            map,
            max_keys,
            tracked: AtomicUsize::new(0),
            last_eviction: Mutex::new(None),
        }
    }

    fn check(&self, key: &K, scope: RateScope) -> Result<(), (RateScope, u64)> {
        if !self.map.contains_key(key) {
            if self.tracked.load(Ordering::Relaxed) >= self.max_keys && !self.make_room() {
                return Err((RateScope::TrackedKeys, FULL_RETRY_AFTER));
            }
            self.tracked.fetch_add(1, Ordering::Relaxed);
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| (scope, retry_after(self.limiter.clock(), &not_until)))
    }

    /// Evicts idle keys if none were evicted in the last second; whether
    /// there is room for a new key now.
    fn make_room(&self) -> bool {
        if let Ok(mut last) = self.last_eviction.try_lock()
            && last.is_none_or(|at| at.elapsed() >= EVICTION_INTERVAL)
        {
            self.limiter.retain_recent();
            self.tracked.store(self.map.len(), Ordering::Relaxed);
            *last = Some(Instant::now());
        }
        self.tracked.load(Ordering::Relaxed) < self.max_keys
    }

    fn maintain(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.tracked.store(self.map.len(), Ordering::Relaxed);
    }
}

/// governor's own map-backed store, shared with [`Keyed`] so that it can
/// look at the keys (governor keeps its store private).
#[derive(Debug)]
struct SharedStore<K: Hash + Eq + Clone>(Arc<DashMap<K, InMemoryState>>);

impl<K: Hash + Eq + Clone> StateStore for SharedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        StateStore::measure_and_replace(&*self.0, key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for SharedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&*self.0, drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Applies the quotas; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct RateLimitLayer {
    limits: Arc<RateLimits>,
}

impl RateLimitLayer {
    pub(crate) fn new(limits: Arc<RateLimits>) -> Self {
        Self { limits }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limits: self.limits.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit<S> {
    inner: S,
    limits: Arc<RateLimits>,
}

impl<S, ReqB> Service<Request<ReqB>> for RateLimit<S>
where
    S: Service<Request<ReqB>, Response = Response<Body>>,
    ReqB: HttpBody + Send + Unpin + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let extensions = request.extensions();
        let refused = match extensions.get::<RoutedProduct>() {
            Some(RoutedProduct(product)) if self.limits.is_active() => self
                .limits
                .check(product, extensions.get::<CallerInfo>())
                .err()
                .map(|(scope, retry_after)| (product.name.clone(), scope, retry_after)),
            _ => None,
        };
        let Some((product, scope, retry_after)) = refused else {
            return Either::Left(self.inner.call(request));
        };
        self.limits
            .metrics
            .observe_rate_limited(&product, scope.label());
        tracing::debug!(product = %product, scope = scope.label(), retry_after, "rate limited");
        let id = request.extensions().get::<RequestId>().cloned();
        body::discard_refused(request);
        let error = GatewayError::RateLimited {
            product: product.to_string(),
            scope,
            retry_after,
        };
        Either::Right(ready(Ok(error.into_response(id.as_ref().map(|id| &id.0)))))
    }
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, path::Path};

    use http::{StatusCode, header};
    use http_body_util::{BodyExt, Empty};
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::route::ProductTable;

    struct Setup {
        limits: Arc<RateLimits>,
        metrics: Arc<Metrics>,
        table: ProductTable,
    }

    /// `[rate_limits]` as given, an API key consumer, and two products,
    /// `a` (with `a_extra` in its table) and `b`.
    fn setup(rate_limits: &str, a_extra: &str) -> Setup {
        let text = format!(
            r#"
[[server.listener]]
address = "127.0.0.1:0"
plaintext = true

[rate_limits]
{rate_limits}

[[authn.api_key]]
id = "k1"
hash = "sha256:{}"

[[product]]
name = "a"
route = {{ path_prefix = "/a" }}
upstream = {{ url = "http://u" }}
access = {{ allow_any_role = true }}
{a_extra}

[[product]]
name = "b"
route = {{ path_prefix = "/b" }}
upstream = {{ url = "http://u" }}
access = {{ allow_any_role = true }}
"#,
            "0".repeat(64)
        );
        let config =
            Config::from_str(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
        let metrics = Arc::new(Metrics::new());
        Setup {
            limits: Arc::new(RateLimits::new(&config, metrics.clone())),
            metrics,
            table: ProductTable::new(&config),
        }
    }

    fn caller(subject: &str) -> CallerInfo {
        CallerInfo::new(subject, Vec::new(), AuthMethod::Jwt, None)
    }

    impl Setup {
        /// One request by `caller` to `path`: its status and `Retry-After`.
        async fn send(&self, path: &str, caller: Option<CallerInfo>) -> (StatusCode, Option<u64>) {
            let inner = service_fn(|_: Request<Empty<bytes::Bytes>>| async {
                Ok::<_, Infallible>(Response::new(crate::body::full("ok")))
            });
            let mut request = Request::get(path).body(Empty::new()).unwrap();
            let product = self.table.find(None, path).unwrap().clone();
            request.extensions_mut().insert(RoutedProduct(product));
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            let response = RateLimitLayer::new(self.limits.clone())
                .layer(inner)
                .oneshot(request)
                .await
                .unwrap();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().parse().unwrap());
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(body["error"]["code"], "rate_limited");
            }
            (status, retry_after)
        }

        async fn statuses(&self, path: &str, caller: &CallerInfo, n: usize) -> Vec<u16> {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(self.send(path, Some(caller.clone())).await.0.as_u16());
            }
            out
        }
    }

    #[tokio::test]
    async fn per_principal_quota_with_burst_and_retry_after() {
        let setup = setup("per_principal = { rate = \"1/h\", burst = 2 }", "");
        let alice = caller("alice");
        assert_eq!(setup.statuses("/a/1", &alice, 2).await, [200, 200]);
        let (status, retry_after) = setup.send("/b/1", Some(alice.clone())).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "over all products");
        let retry_after = retry_after.unwrap();
        assert!((3000..=3600).contains(&retry_after), "{retry_after}");

        // Another caller, and the same subject authenticated another way,
        // have their own quotas; a request without a caller is not counted.
        assert_eq!(setup.statuses("/a/1", &caller("bob"), 1).await, [200]);
        let by_key = CallerInfo::new("alice", Vec::new(), AuthMethod::ApiKey, None);
        assert_eq!(setup.statuses("/a/1", &by_key, 1).await, [200]);
        assert_eq!(setup.send("/a/1", None).await.0, StatusCode::OK);

        assert!(
            setup
                .metrics
                .encode()
                .contains(r#"maskgate_rate_limited_total{product="b",scope="principal"} 1"#)
        );
    }

    #[tokio::test]
    async fn per_principal_product_quota_is_per_product() {
        let setup = setup("per_principal_product = { rate = \"1/h\" }", "");
        let alice = caller("alice");
        assert_eq!(setup.statuses("/a/1", &alice, 2).await, [200, 429]);
        assert_eq!(setup.statuses("/b/1", &alice, 2).await, [200, 429]);
        assert_eq!(setup.statuses("/a/1", &caller("bob"), 1).await, [200]);
        assert_eq!(setup.limits.tracked(), (0, 3));
    }

    #[tokio::test]
    async fn per_product_quota_and_a_product_override() {
        let setup = setup(
            "per_product = { rate = \"1/h\", burst = 3 }",
            "rate_limit = { rate = \"1/h\", burst = 1 }",
        );
        let alice = caller("alice");
        assert_eq!(setup.statuses("/a/1", &alice, 2).await, [200, 429]);
        assert_eq!(
            setup.send("/a/1", None).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        let bob = caller("bob");
        assert_eq!(setup.statuses("/b/1", &bob, 4).await, [200, 200, 200, 429]);
        assert!(
            setup
                .metrics
                .encode()
                .contains(r#"maskgate_rate_limited_total{product="a",scope="product"} 2"#)
        );
    }

    #[tokio::test]
    async fn a_caller_over_its_own_quota_does_not_use_up_the_products() {
        let setup = setup(
            "per_principal = { rate = \"1/h\" }\nper_product = { rate = \"1/h\", burst = 2 }",
            "",
        );
        let greedy = caller("greedy");
        assert_eq!(
            setup.statuses("/a/1", &greedy, 5).await,
            [200, 429, 429, 429, 429]
        );
        assert_eq!(setup.statuses("/a/1", &caller("fair"), 1).await, [200]);
    }

    #[tokio::test]
    async fn without_quotas_nothing_is_limited() {
        let setup = setup("", "");
        assert!(!setup.limits.is_active());
        assert_eq!(
            setup.statuses("/a/1", &caller("alice"), 20).await,
            [200; 20]
        );
    }

    #[tokio::test]
    async fn keyed_state_is_bounded_and_idle_keys_are_evicted() {
        // Cells refill in 10ms: a key idle for 20ms is evictable.
        let setup = setup(
            "per_principal = { rate = \"100/s\", burst = 1 }\nmax_tracked_keys = 3",
            "",
        );
        let keyed = setup.limits.per_principal.as_ref().unwrap();
        let idle = || tokio::time::sleep(Duration::from_millis(30));
        for name in ["a", "b", "c"] {
            assert_eq!(setup.statuses("/a/1", &caller(name), 1).await, [200]);
        }
        assert_eq!(setup.limits.tracked(), (3, 0));
        // Full, and an eviction just ran: a new caller waits...
        *keyed.last_eviction.lock().unwrap() = Some(Instant::now());
        let (status, retry_after) = setup.send("/a/1", Some(caller("d"))).await;
        assert_eq!(
            (status, retry_after),
            (StatusCode::TOO_MANY_REQUESTS, Some(FULL_RETRY_AFTER))
        );
        assert_eq!(setup.limits.tracked(), (3, 0));
        // ... while a tracked one is served.
        idle().await;
        assert_eq!(setup.statuses("/a/1", &caller("a"), 1).await, [200]);
        assert!(
            setup
                .metrics
                .encode()
                .contains(r#"maskgate_rate_limited_total{product="a",scope="tracked_keys"} 1"#)
        );

        // Maintenance drops idle keys: room again.
        idle().await;
        setup.limits.maintain();
        assert_eq!(setup.limits.tracked(), (0, 0));
        assert_eq!(setup.statuses("/a/1", &caller("d"), 1).await, [200]);

        // A full scope evicts idle keys by itself (at most once a second).
        for name in ["e", "f"] {
            assert_eq!(setup.statuses("/a/1", &caller(name), 1).await, [200]);
        }
        idle().await;
        *keyed.last_eviction.lock().unwrap() = None;
        assert_eq!(setup.statuses("/a/1", &caller("g"), 1).await, [200]);
        assert_eq!(setup.limits.tracked(), (1, 0));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limiter = RateLimiter::direct(quota(&QuotaConfig::new(
            maskgate_config::Rate::per_minute(40).unwrap(),
        )));
        limiter.check().unwrap();
        let not_until = limiter.check().unwrap_err();
        // One cell per 1.5s: the wait is just under 1.5s, so 2.
        assert_eq!(retry_after(limiter.clock(), &not_until), 2);
    }
}
