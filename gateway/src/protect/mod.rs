//! Protecting responses: the masking configuration turned into plans, and
//! each product's responses rewritten for the caller.
//!
//! At configuration time every product with classified fields gets one
//! compiled plan per policy rule (classification × rule, from
//! `maskgate-masking`). Per request, the caller's roles and purpose pick
//! the rule, the plan is bound to the caller, and the response body is
//! streamed through the rewriter ([`RewriteBody`]). Fail closed: a body
//! that is not JSON (unless the product allows its type), compressed, or
//! invalid is never passed through unprotected.

mod stream;
mod translate;

use std::sync::Arc;

use http::{HeaderValue, Response, header};
use maskgate_config::{Config, Diagnostic};
use maskgate_masking::{
    KeyProvider, LocalKeyring, Plan, Policy, RewriteLimits, Rewriter, WritePlan,
};

pub(crate) use self::{stream::RewriteBody, translate::Problem};
use crate::{
    audit::AuditFacts,
    body::{self, Body},
    caller::{CallerInfo, Purpose},
    error::GatewayError,
    metrics::MaskingMetrics,
};

/// Every product's protection, by product index.
pub(crate) struct Protection {
    policy: Option<Arc<Policy>>,
    keys: Arc<dyn KeyProvider>,
    products: Vec<Option<ProductProtection>>,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protection")
            .field(
                "products",
                &self.products.iter().filter(|p| p.is_some()).count(),
            )
            .finish_non_exhaustive()
    }
}

/// One product's compiled plans and settings.
struct ProductProtection {
    /// One plan per policy rule, by rule index.
    plans: Vec<Arc<Plan>>,
    /// Fields stored encrypted: encrypted in request bodies.
    write: Option<Arc<WritePlan>>,
    allow_content_types: Vec<String>,
    limits: RewriteLimits,
}

impl Protection {
    /// Compiles every product's plans; the error is every problem found,
    /// each naming the key path of what is wrong (not yet located in the
    /// file: [`maskgate_config::ConfigError::invalid_in`]). Keys come from `keys` when given
    /// (Vault transit), else from `masking.keyring`.
    pub(crate) fn from_config(
        config: &Config,
        keys: Option<Arc<dyn KeyProvider>>,
    ) -> Result<Self, Vec<Diagnostic>> {
        Self::compile(config, keys)
            .map_err(|problems| problems.into_iter().map(Problem::into_diagnostic).collect())
    }

    fn compile(config: &Config, keys: Option<Arc<dyn KeyProvider>>) -> Result<Self, Vec<Problem>> {
        // Every problem is collected, so that one run of `maskgate check`
        // reports them all: a part that cannot be compiled leaves out only
        // what depends on it.
        let mut problems = Vec::new();
        // Keys from Vault are fetched when first used; a keyring file is
        // here now, so a key the configuration needs and it lacks is an
        // error of the configuration, not a 502 on every response (unless
        // the file cannot be read: that is the error then).
        let (keys, check_keys): (Arc<dyn KeyProvider>, bool) = match (keys, &config.masking.keyring)
        {
            (Some(keys), _) => (keys, false),
            (None, Some(path)) => match LocalKeyring::load(path) {
                Ok(keyring) => (Arc::new(keyring), true),
                Err(e) => {
                    problems.push(Problem {
                        key_path: "masking.keyring".to_owned(),
                        message: e.to_string(),
                    });
                    (Arc::new(LocalKeyring::empty()), false)
                }
            },
            (None, None) => (Arc::new(LocalKeyring::empty()), true),
        };
        let masked = config
            .products
            .iter()
            .any(|p| !p.fields.is_empty() || p.masking.is_some());
        if !masked {
            if !problems.is_empty() {
                return Err(problems);
            }
            return Ok(Self {
                policy: None,
                keys,
                products: config.products.iter().map(|_| None).collect(),
            });
        }
        let policy = translate::policy(config)
            .map_err(|problem| problems.push(problem))
            .ok()
            .map(Arc::new);
        let detectors = translate::detectors(config)
            .map_err(|mut found| problems.append(&mut found))
            .ok()
            .map(Arc::new);
        let detected = translate::detected_classes(config);
        let detected: Vec<&str> = detected.iter().map(String::as_str).collect();
        let mut products = Vec::with_capacity(config.products.len());
        for (index, product) in config.products.iter().enumerate() {
            if product.fields.is_empty() && product.masking.is_none() {
                products.push(None);
                continue;
            }
            let classification = match translate::classification(index, product) {
                Ok(classification) => classification,
                Err(mut found) => {
                    problems.append(&mut found);
                    continue;
                }
            };
            let (Some(detectors), Some(policy)) = (&detectors, &policy) else {
                continue;
            };
            let plans = policy
                .rules()
                .iter()
                .map(|rule| {
                    Plan::compile(&classification, policy, rule, detectors.clone(), &detected)
                        .map(Arc::new)
                        .map_err(|e| Problem {
                            key_path: format!("product[{index}]"),
                            message: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>();
            let plans = match plans {
                Ok(plans) => plans,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            let masking = product.masking.clone().unwrap_or_default();
            products.push(Some(ProductProtection {
                plans,
                write: WritePlan::new(&classification, keys.clone()).map(Arc::new),
                allow_content_types: masking.allow_content_types,
                limits: RewriteLimits {
                    max_depth: masking.max_depth,
                    ..RewriteLimits::default()
                },
            }));
        }
        if check_keys && let Some(policy) = &policy {
            problems.extend(translate::missing_keys(config, policy, &*keys));
        }
        match policy {
            Some(policy) if problems.is_empty() => Ok(Self {
                policy: Some(policy),
                keys,
                products,
            }),
            _ => Err(problems),
        }
    }

    /// What applies to a caller of the product at `index` with `roles` and
    /// `purpose`: the rule's name and its compiled plan (for `explain`).
    pub(crate) fn plan_for(
        &self,
        index: usize,
        roles: &[String],
        purpose: Option<&str>,
    ) -> Option<(String, Arc<Plan>)> {
        let (Some(Some(protection)), Some(policy)) = (self.products.get(index), &self.policy)
        else {
            return None;
        };
        let rule = policy.select_index(roles, purpose);
        Some((
            policy.rules()[rule].name.clone(),
            protection.plans[rule].clone(),
        ))
    }

    /// The key provider plans are bound with.
    pub(crate) fn keys(&self) -> Arc<dyn KeyProvider> {
        self.keys.clone()
    }

    /// Whether the product at `index` has responses to protect.
    pub(crate) fn protects(&self, index: usize) -> bool {
        self.products.get(index).is_some_and(Option::is_some)
    }

    /// For a write to a product that stores fields encrypted: the request
    /// body with those fields encrypted as it streams (it must be JSON), or
    /// why it cannot be taken. Other requests pass as they are.
    pub(crate) fn request(
        &self,
        index: usize,
        metrics: &MaskingMetrics,
        mut request: http::Request<Body>,
    ) -> Result<http::Request<Body>, GatewayError> {
        let product = metrics.product();
        let Some(Some(ProductProtection {
            write: Some(write),
            limits,
            ..
        })) = self.products.get(index)
        else {
            return Ok(request);
        };
        if !matches!(
            *request.method(),
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        ) {
            return Ok(request);
        }
        if is_json_patch(request.headers()) {
            // RFC 6902 operations carry values under "value", addressed by
            // JSON Pointers the field selectors never see: such a body
            // would reach the product in the clear.
            return Err(GatewayError::BadRequestBody {
                product: product.to_owned(),
                reason: "a JSON Patch body cannot be protected field by field: send the stored fields in a JSON or merge-patch body",
            });
        }
        let ndjson = match content_kind(request.headers(), &[]) {
            ContentKind::Json => false,
            ContentKind::Ndjson => true,
            _ => {
                return Err(GatewayError::BadRequestBody {
                    product: product.to_owned(),
                    reason: "the body must be JSON: some of its fields are stored encrypted",
                });
            }
        };
        let policy = write.clone();
        let rewriter = if ndjson {
            Rewriter::ndjson(policy, *limits)
        } else {
            Rewriter::new(policy, *limits)
        };
        request.headers_mut().remove(header::CONTENT_LENGTH);
        let metrics = metrics.clone();
        Ok(request.map(|body| body::boxed(RewriteBody::request(metrics, body, rewriter))))
    }

    /// The response, rewritten for `caller` with `purpose`, or the reason it
    /// cannot be delivered; the rewrite's counts go to `facts` (audit).
    /// Reads the start of the body (all of a small one) before the head:
    /// an error there is still answered with a 502 instead of a broken
    /// stream.
    pub(crate) async fn response(
        &self,
        index: usize,
        metrics: &MaskingMetrics,
        caller: Option<&CallerInfo>,
        purpose: Option<&Purpose>,
        facts: Option<AuditFacts>,
        response: Response<Body>,
    ) -> Result<Response<Body>, GatewayError> {
        let (Some(Some(protection)), Some(policy)) = (self.products.get(index), &self.policy)
        else {
            return Ok(response);
        };
        let product = metrics.product();
        let refuse = |reason: &'static str| {
            metrics.count_failure("response", "blocked");
            GatewayError::UnprotectableResponse {
                product: product.to_owned(),
                reason,
            }
        };
        let (mut parts, body) = response.into_parts();
        if body_is_empty(&parts) {
            return Ok(Response::from_parts(parts, body));
        }
        if parts
            .headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            return Err(refuse("the product answered with a compressed body"));
        }
        let ndjson = match content_kind(&parts.headers, &protection.allow_content_types) {
            ContentKind::Json => false,
            ContentKind::Ndjson => true,
            ContentKind::Allowed => return Ok(Response::from_parts(parts, body)),
            ContentKind::Other => {
                return Err(refuse("the product answered with a body that is not JSON"));
            }
        };
        // A masked view is the caller's own.
        parts.headers.remove(header::ETAG);
        parts.headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        if http_body::Body::is_end_stream(&body) {
            // No body (the answer to a HEAD): nothing to rewrite, and the
            // product's length would be its clear body's.
            parts.headers.remove(header::CONTENT_LENGTH);
            return Ok(Response::from_parts(parts, body));
        }
        let roles: &[String] = caller.map_or(&[], |c| &c.roles);
        let rule = policy.select_index(roles, purpose.map(|p| &*p.0));
        let consumer = caller.map_or("-", |c| &c.subject);
        let bound = Arc::new(protection.plans[rule].for_consumer(consumer, self.keys.clone()));
        let rewriter = if ndjson {
            Rewriter::ndjson(bound, protection.limits)
        } else {
            Rewriter::new(bound, protection.limits)
        };
        let plan = &protection.plans[rule];
        let mut rewritten = RewriteBody::response(metrics.clone(), body, rewriter, plan, facts);
        if rewritten.prime().await.is_err() {
            return Err(GatewayError::MaskingFailed {
                product: product.to_owned(),
            });
        }
        // The body changes length: known if it is rewritten whole already,
        // streamed (chunked, or in HTTP/2 frames) otherwise.
        let body = match rewritten.take_whole() {
            Some(whole) => {
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(whole.len()));
                body::full(whole)
            }
            None => {
                parts.headers.remove(header::CONTENT_LENGTH);
                body::boxed(rewritten)
            }
        };
        Ok(Response::from_parts(parts, body))
    }
}

fn body_is_empty(parts: &http::response::Parts) -> bool {
    parts.status == http::StatusCode::NO_CONTENT
        || parts.status == http::StatusCode::NOT_MODIFIED
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
}

enum ContentKind {
    Json,
    Ndjson,
    Allowed,
    Other,
}

/// JSON (`application/json`, `*/*+json`), NDJSON, a type the product
/// allows through, or anything else.
fn content_kind(headers: &http::HeaderMap, allowed: &[String]) -> ContentKind {
    let Some(essence) = media_type(headers) else {
        return ContentKind::Other;
    };
    if essence == "application/json" || essence.ends_with("+json") {
        ContentKind::Json
    } else if essence == "application/x-ndjson" || essence == "application/ndjson" {
        ContentKind::Ndjson
    } else if allowed.iter().any(|a| a.eq_ignore_ascii_case(&essence)) {
        ContentKind::Allowed
    } else {
        ContentKind::Other
    }
}

/// The `Content-Type`'s media type, lowercase, without parameters.
fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next()?.trim().to_ascii_lowercase())
}

/// Whether the body is a JSON Patch (RFC 6902): JSON, but operations on
/// the resource rather than the resource's fields.
fn is_json_patch(headers: &http::HeaderMap) -> bool {
    media_type(headers).is_some_and(|m| m == "application/json-patch+json")
}
