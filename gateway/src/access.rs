//! Access decisions: may this caller make this call to this product, and
//! for which purpose?
//!
//! Runs after routing (it reads the [`RoutedProduct`]) and authentication
//! (it reads the [`CallerInfo`]). A product without access rules is open:
//! that is plain-proxy mode, where the configuration has no `[authn]`.
//! Otherwise, in this order:
//!
//! 1. no authenticated caller: 401, with a `WWW-Authenticate` challenge for
//!    each way the product accepts;
//! 2. the caller authenticated in a way the product does not accept: 403;
//! 3. none of the caller's roles is allowed (unless any role is): 403;
//! 4. the method is not allowed: 403;
//! 5. the purpose. It is declared by the `X-Purpose` header or the
//!    credentials' purpose claim; if both are there they must agree (a
//!    caller cannot override the purpose its identity provider gave it).
//!    A declared purpose the product does not list is refused (purpose
//!    limitation: with no purposes listed, none may be declared); no
//!    purpose where the product requires one is refused. All 403.
//!
//! The purpose decided is put into the request's extensions as
//! [`Purpose`], for masking and audit. Refusals never echo what the caller
//! sent.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::future::{Either, Ready, ready};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body::Body as HttpBody;
use maskgate_config::{Access, AuthMethod, Authn};
use tower::{Layer, Service};

use crate::{
    body::{self, Body},
    caller::{CallerInfo, Purpose},
    error::{Forbidden, GatewayError},
    request_id::RequestId,
    route::RoutedProduct,
};

/// `x-purpose`: why the caller makes the request.
pub(crate) static X_PURPOSE: HeaderName = HeaderName::from_static("x-purpose");

/// The realm named in `WWW-Authenticate` challenges.
const REALM: &str = "maskgate";

/// One product's access rules, compiled from `[product.access]`.
#[derive(Debug)]
pub(crate) struct AccessRules {
    roles: Vec<String>,
    allow_any_role: bool,
    methods: Vec<Method>,
    /// `methods` for messages: `"GET, HEAD"`.
    methods_text: String,
    purposes: Vec<Arc<str>>,
    require_purpose: bool,
    /// The ways of authenticating the product accepts: those it lists, or
    /// every way `[authn]` configures.
    auth_methods: Vec<AuthMethod>,
    /// `auth_methods` for messages: `"jwt, api_key"`.
    auth_methods_text: String,
    /// The `WWW-Authenticate` value of a 401.
    challenge: HeaderValue,
}

impl AccessRules {
    /// Compiles validated rules (see `maskgate_config`'s validation: method
    /// names are known, purposes and header names are tokens).
    pub(crate) fn new(access: &Access, authn: &Authn) -> Self {
        let methods: Vec<Method> = access
            .methods
            .iter()
            .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
            .collect();
        let auth_methods: Vec<AuthMethod> = match &access.auth_methods {
            Some(listed) => listed.clone(),
            None => authn.methods(),
        };
        Self {
            roles: access.roles.clone(),
            allow_any_role: access.allow_any_role,
            methods_text: access.methods.join(", "),
            methods,
            purposes: access
                .purposes
                .iter()
                .map(|p| Arc::from(p.as_str()))
                .collect(),
            require_purpose: access.require_purpose,
            auth_methods_text: auth_methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            challenge: challenge(&auth_methods, &authn.api_key_header),
            auth_methods,
        }
    }

    /// The `WWW-Authenticate` value of a 401 for this product.
    pub(crate) fn challenge(&self) -> &HeaderValue {
        &self.challenge
    }

    /// Decides a request by `caller` with `method` and `headers` to the
    /// product `product`: its purpose (if any), or the refusal.
    pub(crate) fn decide(
        &self,
        product: &str,
        caller: Option<&CallerInfo>,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Purpose>, GatewayError> {
        let forbidden = |reason| GatewayError::Forbidden {
            product: product.to_owned(),
            reason,
        };
        let Some(caller) = caller else {
            return Err(GatewayError::Unauthenticated {
                reason: "no credentials were presented",
                challenge: self.challenge.clone(),
            });
        };
        if !self.auth_methods.contains(&caller.auth_method) {
            return Err(forbidden(Forbidden::AuthMethodNotAllowed {
                accepted: self.auth_methods_text.clone(),
            }));
        }
        if !self.allow_any_role && !caller.roles.iter().any(|r| self.roles.contains(r)) {
            return Err(forbidden(Forbidden::RoleNotAllowed));
        }
        if !self.methods.contains(method) {
            return Err(forbidden(Forbidden::MethodNotAllowed {
                allowed: self.methods_text.clone(),
            }));
        }

        let mut values = headers.get_all(&X_PURPOSE).iter();
        let header = match (values.next(), values.next()) {
            (None, _) => None,
            (Some(value), None) if value.is_empty() => None,
            (Some(value), None) => Some(value.as_bytes()),
            (Some(_), Some(_)) => {
                return Err(GatewayError::BadRequest("more than one X-Purpose header"));
            }
        };
        let claim = caller.purpose_claim.as_deref().map(str::as_bytes);
        let declared = match (header, claim) {
            (Some(header), Some(claim)) if header != claim => {
                return Err(forbidden(Forbidden::PurposeConflict));
            }
            (Some(declared), _) | (None, Some(declared)) => declared,
            (None, None) if self.require_purpose => {
                return Err(forbidden(Forbidden::PurposeMissing));
            }
            (None, None) => return Ok(None),
        };
        match self.purposes.iter().find(|p| p.as_bytes() == declared) {
            Some(purpose) => Ok(Some(Purpose(purpose.clone()))),
            None => Err(forbidden(Forbidden::PurposeNotAllowed)),
        }
    }
}

/// The `WWW-Authenticate` value for the given ways of authenticating: one
/// challenge each. `Bearer` is RFC 6750's; `ApiKey` (naming the header) and
/// `ClientCertificate` are maskgate's own, for people and tools reading it.
fn challenge(methods: &[AuthMethod], api_key_header: &str) -> HeaderValue {
    let challenges: Vec<String> = methods
        .iter()
        .map(|method| match method {
            AuthMethod::Jwt => format!("Bearer realm=\"{REALM}\""),
            AuthMethod::ApiKey => {
                format!("ApiKey realm=\"{REALM}\", header=\"{api_key_header}\"")
            }
            _ => format!("ClientCertificate realm=\"{REALM}\""),
        })
        .collect();
    // Validated header names are tokens, so this is a valid header value.
    HeaderValue::from_str(&challenges.join(", "))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"maskgate\""))
}

/// Applies each routed product's access rules; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AccessLayer;

impl<S> Layer<S> for AccessLayer {
    type Service = AccessControl<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessControl { inner }
    }
}

/// The service [`AccessLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct AccessControl<S> {
    inner: S,
}

impl<S, ReqB> Service<Request<ReqB>> for AccessControl<S>
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

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let extensions = request.extensions();
        let decision = match extensions.get::<RoutedProduct>() {
            // Routing runs first; without it, nothing is known to be open.
            None => Err(GatewayError::NoRoute),
            Some(RoutedProduct(product)) => match &product.access {
                None => Ok(None),
                Some(rules) => rules.decide(
                    &product.name,
                    extensions.get::<CallerInfo>(),
                    request.method(),
                    request.headers(),
                ),
            },
        };
        match decision {
            Ok(purpose) => {
                if let Some(purpose) = purpose {
                    request.extensions_mut().insert(purpose);
                }
                Either::Left(self.inner.call(request))
            }
            Err(error) => {
                tracing::debug!(code = error.code(), "access refused");
                let id = request.extensions().get::<RequestId>().cloned();
                body::discard_refused(request);
                Either::Right(ready(Ok(error.into_response(id.as_ref().map(|id| &id.0)))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, path::Path};

    use http::{StatusCode, header};
    use http_body_util::{BodyExt, Empty};
    use maskgate_config::Config;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::route::ProductTable;

    /// A configuration with an API key consumer, one JWT issuer and one
    /// product whose `[product.access]` is `access`.
    fn product(access: &str) -> RoutedProduct {
        let text = format!(
            r#"
[[server.listener]]
address = "127.0.0.1:0"
plaintext = true

[authn]
api_key_header = "X-Consumer-Key"

[[authn.jwt]]
issuer = "idp"
audiences = ["maskgate"]
jwks_url = "https://idp.example/jwks"

[[authn.api_key]]
id = "k1"
hash = "sha256:{}"

[[product]]
name = "customers"
route = {{ path_prefix = "/customers" }}
upstream = {{ url = "http://u" }}
access = {{ {access} }}
"#,
            "0".repeat(64)
        );
        let config =
            Config::from_str(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
        let table = ProductTable::new(&config);
        RoutedProduct(table.find(None, "/customers").unwrap().clone())
    }

    fn caller(roles: &[&str], method: AuthMethod, claim: Option<&str>) -> CallerInfo {
        CallerInfo::new(
            "alice",
            roles.iter().map(|r| r.to_string()).collect(),
            method,
            claim.map(str::to_owned),
        )
    }

    struct Call {
        method: Method,
        purpose: Vec<&'static str>,
        caller: Option<CallerInfo>,
    }

    fn get(caller: CallerInfo) -> Call {
        Call {
            method: Method::GET,
            purpose: Vec::new(),
            caller: Some(caller),
        }
    }

    /// Sends `call` through the access layer to a service that answers 200
    /// with the purpose it saw (or "-").
    async fn send(
        product: &RoutedProduct,
        call: Call,
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let inner = service_fn(|request: Request<Empty<bytes::Bytes>>| async move {
            let purpose = request
                .extensions()
                .get::<Purpose>()
                .map_or("-".to_owned(), |p| p.0.to_string());
            Ok::<_, Infallible>(Response::new(crate::body::full(
                serde_json::json!({ "purpose": purpose }).to_string(),
            )))
        });
        let mut request = Request::builder().method(call.method).uri("/customers/1");
        for purpose in call.purpose {
            request = request.header(&X_PURPOSE, purpose);
        }
        let mut request = request.body(Empty::new()).unwrap();
        request.extensions_mut().insert(product.clone());
        if let Some(caller) = call.caller {
            request.extensions_mut().insert(caller);
        }
        let response = AccessLayer.layer(inner).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    fn error_message(body: &serde_json::Value) -> &str {
        body["error"]["message"].as_str().unwrap()
    }

    #[tokio::test]
    async fn no_caller_is_401_with_a_challenge_per_accepted_method() {
        let product = product("roles = [\"analyst\"]");
        let call = Call {
            method: Method::GET,
            purpose: Vec::new(),
            caller: None,
        };
        let (status, headers, body) = send(&product, call).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"maskgate\", ApiKey realm=\"maskgate\", header=\"x-consumer-key\""
        );
        assert_eq!(body["error"]["code"], "unauthenticated");

        let product = self::product("roles = [\"analyst\"], auth_methods = [\"jwt\"]");
        let call = Call {
            method: Method::GET,
            purpose: Vec::new(),
            caller: None,
        };
        let (_, headers, _) = send(&product, call).await;
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"maskgate\""
        );
    }

    #[tokio::test]
    async fn roles_auth_methods_and_methods_are_checked() {
        let product = product(
            "roles = [\"analyst\", \"fraud\"], methods = [\"GET\"], auth_methods = [\"jwt\"]",
        );
        let analyst = caller(&["other", "fraud"], AuthMethod::Jwt, None);
        let (status, _, body) = send(&product, get(analyst.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["purpose"], "-");

        let (status, _, body) =
            send(&product, get(caller(&["support"], AuthMethod::Jwt, None))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(
            error_message(&body).contains("none of the caller's roles"),
            "{body}"
        );

        let (status, _, body) = send(
            &product,
            get(caller(&["analyst"], AuthMethod::ApiKey, None)),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(error_message(&body).contains("it accepts: jwt"), "{body}");

        let post = Call {
            method: Method::POST,
            purpose: Vec::new(),
            caller: Some(analyst),
        };
        let (status, _, body) = send(&product, post).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(error_message(&body).contains("allowed: GET)"), "{body}");
    }

    #[tokio::test]
    async fn any_role_and_default_methods() {
        let product = product("allow_any_role = true");
        let nobody = caller(&[], AuthMethod::ApiKey, None);
        assert_eq!(send(&product, get(nobody.clone())).await.0, StatusCode::OK);
        let head = Call {
            method: Method::HEAD,
            purpose: Vec::new(),
            caller: Some(nobody.clone()),
        };
        assert_eq!(send(&product, head).await.0, StatusCode::OK);
        let delete = Call {
            method: Method::DELETE,
            purpose: Vec::new(),
            caller: Some(nobody),
        };
        assert_eq!(send(&product, delete).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn purposes_are_limited_to_those_listed() {
        let product = product(
            "roles = [\"support\"], purposes = [\"support-case\", \"fraud\"], require_purpose = true",
        );
        let support = || caller(&["support"], AuthMethod::Jwt, None);
        let with_purpose = |purpose: Vec<&'static str>, caller: CallerInfo| Call {
            method: Method::GET,
            purpose,
            caller: Some(caller),
        };

        let (status, _, body) = send(&product, with_purpose(vec!["support-case"], support())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["purpose"], "support-case");

        // From the token's claim when there is no header.
        let claimed = caller(&["support"], AuthMethod::Jwt, Some("fraud"));
        let (status, _, body) = send(&product, get(claimed.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["purpose"], "fraud");
        // The same in the header: fine; a different one: refused.
        let (status, _, _) = send(&product, with_purpose(vec!["fraud"], claimed.clone())).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = send(&product, with_purpose(vec!["support-case"], claimed)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            error_message(&body).contains("different purposes"),
            "{body}"
        );

        let (status, _, body) = send(&product, get(support())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            error_message(&body).contains("requires a declared purpose"),
            "{body}"
        );

        let (status, _, body) =
            send(&product, with_purpose(vec!["marketing<script>"], support())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            error_message(&body).contains("declared purpose is not one"),
            "{body}"
        );
        assert!(
            !body.to_string().contains("marketing"),
            "echoes the purpose: {body}"
        );

        let (status, _, body) =
            send(&product, with_purpose(vec!["fraud", "fraud"], support())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            error_message(&body).contains("more than one X-Purpose"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn without_listed_purposes_none_may_be_declared() {
        let product = product("roles = [\"support\"]");
        let support = caller(&["support"], AuthMethod::Jwt, None);
        assert_eq!(send(&product, get(support.clone())).await.0, StatusCode::OK);
        let declared = Call {
            method: Method::GET,
            purpose: vec!["support-case"],
            caller: Some(support),
        };
        assert_eq!(send(&product, declared).await.0, StatusCode::FORBIDDEN);
        let claimed = caller(&["support"], AuthMethod::Jwt, Some("support-case"));
        assert_eq!(send(&product, get(claimed)).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn a_product_without_rules_is_open_and_an_unrouted_request_is_refused() {
        let text = "[[server.listener]]\naddress = \"127.0.0.1:0\"\nplaintext = true\n[[product]]\nname = \"open\"\nroute = { path_prefix = \"/\" }\nupstream = { url = \"http://u\" }\n";
        let config = Config::from_str(text, Path::new("test.toml")).unwrap();
        let open = RoutedProduct(ProductTable::new(&config).find(None, "/x").unwrap().clone());
        let call = Call {
            method: Method::DELETE,
            purpose: vec!["anything"],
            caller: None,
        };
        let (status, _, body) = send(&open, call).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["purpose"], "-");

        let inner = service_fn(|_: Request<Empty<bytes::Bytes>>| async {
            Ok::<_, Infallible>(Response::new(crate::body::full("reached")))
        });
        let response = AccessLayer
            .layer(inner)
            .oneshot(Request::new(Empty::new()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
