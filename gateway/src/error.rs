//! The one place where a failure becomes an HTTP response.
//!
//! Every error the gateway itself generates (as opposed to a status passed
//! through from an upstream) is a [`GatewayError`]. Its status, machine code
//! and message are decided here, and it is rendered as the same JSON shape
//! everywhere:
//!
//! ```json
//! {"error": {"status": 504, "code": "upstream_timeout", "message": "...", "request_id": "..."}}
//! ```
//!
//! Messages never contain a header value, a token or a body: they are fixed
//! texts plus names from the configuration. Some failures add a header:
//! `WWW-Authenticate` on 401, `Retry-After` on 429.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::body::{self, Body};

/// Whose fault a failure is: logged and counted per side, as pingora does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The client sent something we refuse.
    Downstream,
    /// The upstream could not be reached, was too slow, or misbehaved.
    Upstream,
    /// A service the gateway itself depends on (an identity provider's key
    /// server) is unavailable.
    Internal,
}

/// A failure the gateway answers itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    /// No product's route matches the request.
    #[error("no data product is routed at this path")]
    NoRoute,
    /// The request head is larger than `max_header_bytes`.
    #[error("request headers are larger than the limit of {limit} bytes")]
    HeadersTooLarge { limit: u64 },
    /// The request has more headers than `max_headers`.
    #[error("request has more than the limit of {limit} headers")]
    TooManyHeaders { limit: usize },
    /// The request body is larger than the product's `max_request_body`.
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// The request cannot be forwarded as given (e.g. an unusable path).
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    /// Connecting (TCP and TLS) to the upstream took longer than `connect_timeout`.
    #[error("upstream of product {product:?} did not accept a connection in time")]
    UpstreamConnectTimeout { product: String },
    /// The upstream did not send a response head within `response_timeout`.
    #[error("upstream of product {product:?} did not respond in time")]
    UpstreamResponseTimeout { product: String },
    /// The upstream refused the connection, failed the TLS handshake, reset
    /// the connection or sent something that is not HTTP.
    #[error("upstream of product {product:?} is unavailable")]
    UpstreamUnavailable { product: String },
    /// A write's body cannot be protected as the product's classification
    /// requires (not JSON, invalid): refused, never forwarded.
    #[error("the request body for product {product:?} was refused: {reason}")]
    BadRequestBody {
        product: String,
        reason: &'static str,
    },
    /// The product's response cannot be protected as its plan requires (not
    /// JSON, compressed): it is blocked, never passed through.
    #[error("the response of product {product:?} was blocked: {reason}")]
    UnprotectableResponse {
        product: String,
        reason: &'static str,
    },
    /// The product's response could not be rewritten (invalid JSON, too
    /// deep, a key unavailable): blocked before anything was sent.
    #[error("the response of product {product:?} could not be protected and was blocked")]
    MaskingFailed { product: String },
    /// The product needs an authenticated caller and there is none: no
    /// credentials, or credentials that could not be verified. `reason` is
    /// a fixed text (never the credentials); `challenge` is the
    /// `WWW-Authenticate` value naming the schemes the product accepts.
    #[error("authentication required: {reason}")]
    Unauthenticated {
        reason: &'static str,
        challenge: HeaderValue,
    },
    /// A token's keys could not be fetched from the identity provider and
    /// the last good ones are too old to trust: fail closed, but not with a
    /// 401 (the caller's credentials may well be fine).
    #[error(
        "the identity provider's key server is unreachable, so tokens cannot be checked; try again later"
    )]
    KeyServerUnavailable,
    /// A credential, certificate or key the product needs from Vault is
    /// not available: Vault could not renew or re-issue it before its
    /// lease ended. Fail closed. `reason` comes from the secrets client and
    /// names the value and when it expired, never the value itself.
    #[error("product {product:?} cannot be called right now: {reason}")]
    SecretsUnavailable { product: String, reason: String },
    /// The caller is known but may not make this call.
    #[error("{}", reason.message(product))]
    Forbidden { product: String, reason: Forbidden },
    /// The audit log cannot be written (disk full, permission lost) and
    /// the gateway fails closed: nothing is forwarded until it can.
    #[error(
        "the audit log cannot be written, so no request is served until it can; try again later"
    )]
    AuditUnavailable,
    /// Over a quota; `retry_after` is in whole seconds (rounded up).
    #[error("too many requests {}; retry in {retry_after} s", scope.describe(product))]
    RateLimited {
        product: String,
        scope: RateScope,
        retry_after: u64,
    },
}

/// Why a known caller is refused (403). Each says which rule refused it,
/// naming nothing the caller sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forbidden {
    /// The product does not accept the way the caller authenticated; the
    /// ways it accepts.
    AuthMethodNotAllowed { accepted: String },
    /// None of the caller's roles may call the product.
    RoleNotAllowed,
    /// The request method is not one the product allows; those it allows.
    MethodNotAllowed { allowed: String },
    /// The product requires a declared purpose and none was given.
    PurposeMissing,
    /// The declared purpose is not one the product allows.
    PurposeNotAllowed,
    /// The `X-Purpose` header and the caller's credentials declare
    /// different purposes.
    PurposeConflict,
}

/// Why the gateway answered a request itself, as its audit record says:
/// carried in the response's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditReason {
    /// The client's doing (401, 403, 404, 429, ...), rather than a failure.
    pub(crate) refused: bool,
    /// The error code, with detail for 403 and 429.
    pub(crate) reason: String,
}

impl Forbidden {
    /// Which rule refused, for the audit record.
    fn code(&self) -> &'static str {
        match self {
            Self::AuthMethodNotAllowed { .. } => "auth_method_not_allowed",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PurposeMissing => "purpose_missing",
            Self::PurposeNotAllowed => "purpose_not_allowed",
            Self::PurposeConflict => "purpose_conflict",
        }
    }

    fn message(&self, product: &str) -> String {
        match self {
            Self::AuthMethodNotAllowed { accepted } => format!(
                "product {product:?} does not accept this kind of credentials (it accepts: {accepted})"
            ),
            Self::RoleNotAllowed => {
                format!("none of the caller's roles may call product {product:?}")
            }
            Self::MethodNotAllowed { allowed } => {
                format!("this method is not allowed on product {product:?} (allowed: {allowed})")
            }
            Self::PurposeMissing => {
                format!("product {product:?} requires a declared purpose: send an X-Purpose header")
            }
            Self::PurposeNotAllowed => {
                format!("the declared purpose is not one product {product:?} may be called for")
            }
            Self::PurposeConflict => {
                "the X-Purpose header and the caller's credentials declare different purposes"
                    .to_owned()
            }
        }
    }
}

/// Which quota a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateScope {
    /// The caller's own quota, over all products.
    Principal,
    /// The product's quota, over all callers.
    Product,
    /// The caller's quota on this product.
    PrincipalProduct,
    /// The rate limiter tracks as many callers as it may, all active: a
    /// caller it does not track yet must wait for one to fall idle.
    TrackedKeys,
}

impl RateScope {
    /// The metric label.
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Product => "product",
            Self::PrincipalProduct => "principal_product",
            Self::TrackedKeys => "tracked_keys",
        }
    }

    fn describe(self, product: &str) -> String {
        match self {
            Self::Principal => "from this caller".to_owned(),
            Self::Product => format!("to product {product:?}"),
            Self::PrincipalProduct => format!("from this caller to product {product:?}"),
            Self::TrackedKeys => "from too many callers at once".to_owned(),
        }
    }
}

impl GatewayError {
    /// The HTTP status this failure is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::HeadersTooLarge { .. } | Self::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) | Self::BadRequestBody { .. } => StatusCode::BAD_REQUEST,
            Self::UpstreamConnectTimeout { .. } | Self::UpstreamResponseTimeout { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
            Self::UpstreamUnavailable { .. }
            | Self::UnprotectableResponse { .. }
            | Self::MaskingFailed { .. } => StatusCode::BAD_GATEWAY,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::KeyServerUnavailable
            | Self::SecretsUnavailable { .. }
            | Self::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// A stable, machine-readable code: clients and dashboards match on it.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::TooManyHeaders { .. } => "too_many_headers",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BadRequest(_) => "bad_request",
            Self::BadRequestBody { .. } => "bad_request_body",
            Self::UpstreamConnectTimeout { .. } => "upstream_connect_timeout",
            Self::UpstreamResponseTimeout { .. } => "upstream_timeout",
            Self::UpstreamUnavailable { .. } => "upstream_unavailable",
            Self::UnprotectableResponse { .. } => "unprotectable_response",
            Self::MaskingFailed { .. } => "masking_failed",
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::KeyServerUnavailable => "key_server_unavailable",
            Self::SecretsUnavailable { .. } => "secrets_unavailable",
            Self::AuditUnavailable => "audit_unavailable",
            Self::Forbidden { .. } => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
        }
    }

    /// The header this failure adds to its response, if any.
    pub(crate) fn extra_header(&self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            Self::Unauthenticated { challenge, .. } => {
                Some((header::WWW_AUTHENTICATE, challenge.clone()))
            }
            Self::RateLimited { retry_after, .. } => {
                Some((header::RETRY_AFTER, HeaderValue::from(*retry_after)))
            }
            _ => None,
        }
    }

    /// Whose fault it is.
    pub(crate) fn side(&self) -> Side {
        match self {
            Self::NoRoute
            | Self::HeadersTooLarge { .. }
            | Self::TooManyHeaders { .. }
            | Self::BodyTooLarge { .. }
            | Self::BadRequest(_)
            | Self::BadRequestBody { .. }
            | Self::Unauthenticated { .. }
            | Self::Forbidden { .. }
            | Self::RateLimited { .. } => Side::Downstream,
            Self::UpstreamConnectTimeout { .. }
            | Self::UpstreamResponseTimeout { .. }
            | Self::UpstreamUnavailable { .. }
            | Self::UnprotectableResponse { .. } => Side::Upstream,
            Self::KeyServerUnavailable
            | Self::SecretsUnavailable { .. }
            | Self::MaskingFailed { .. }
            | Self::AuditUnavailable => Side::Internal,
        }
    }

    /// What the audit record says of this failure: a refusal (the
    /// client's side) or a failure (anyone else's), and the reason: the
    /// code, and for a 403 which rule refused (`forbidden:role_not_allowed`).
    pub(crate) fn audit_reason(&self) -> AuditReason {
        let reason = match self {
            Self::Forbidden { reason, .. } => format!("forbidden:{}", reason.code()),
            Self::RateLimited { scope, .. } => format!("rate_limited:{}", scope.label()),
            other => other.code().to_owned(),
        };
        AuditReason {
            refused: self.side() == Side::Downstream,
            reason,
        }
    }

    /// Renders the JSON error response. The request id is echoed in the body
    /// and (by the request-id layer) in the `X-Request-Id` header. The
    /// response carries its [`AuditReason`] in its extensions.
    pub(crate) fn into_response(self, request_id: Option<&HeaderValue>) -> Response<Body> {
        let status = self.status();
        let message = self.to_string();
        let mut response = error_response(status, self.code(), &message, request_id);
        if let Some((name, value)) = self.extra_header() {
            response.headers_mut().insert(name, value);
        }
        response.extensions_mut().insert(self.audit_reason());
        response
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    status: u16,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// The JSON error shape, for the gateway's and the admin listener's own
/// answers.
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: Option<&HeaderValue>,
) -> Response<Body> {
    let body = ErrorBody {
        error: ErrorDetail {
            status: status.as_u16(),
            code,
            message,
            request_id: request_id.and_then(|v| v.to_str().ok()),
        },
    };
    let mut bytes = serde_json::to_vec(&body).expect("error bodies always serialize");
    bytes.push(b'\n');
    let mut response = Response::new(body::full(Bytes::from(bytes)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn renders_the_documented_json_shape() {
        let id = HeaderValue::from_static("req-1");
        let response = GatewayError::UpstreamResponseTimeout {
            product: "customers".into(),
        }
        .into_response(Some(&id));
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["error"]["status"], 504);
        assert_eq!(value["error"]["code"], "upstream_timeout");
        assert_eq!(value["error"]["request_id"], "req-1");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("customers")
        );
    }

    #[test]
    fn statuses_match_the_documented_table() {
        let cases = [
            (GatewayError::NoRoute, 404),
            (GatewayError::HeadersTooLarge { limit: 1 }, 431),
            (GatewayError::TooManyHeaders { limit: 1 }, 431),
            (GatewayError::BodyTooLarge { limit: 1 }, 413),
            (
                GatewayError::UpstreamConnectTimeout {
                    product: "p".into(),
                },
                504,
            ),
            (
                GatewayError::UpstreamUnavailable {
                    product: "p".into(),
                },
                502,
            ),
            (
                GatewayError::Unauthenticated {
                    reason: "r",
                    challenge: HeaderValue::from_static("Bearer"),
                },
                401,
            ),
            (GatewayError::KeyServerUnavailable, 503),
            (GatewayError::AuditUnavailable, 503),
            (
                GatewayError::Forbidden {
                    product: "p".into(),
                    reason: Forbidden::RoleNotAllowed,
                },
                403,
            ),
            (
                GatewayError::RateLimited {
                    product: "p".into(),
                    scope: RateScope::Product,
                    retry_after: 1,
                },
                429,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn access_errors_add_their_header_and_say_which_rule() {
        let response = GatewayError::Unauthenticated {
            reason: "no credentials were presented",
            challenge: HeaderValue::from_static("Bearer realm=\"maskgate\""),
        }
        .into_response(None);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"maskgate\""
        );

        let response = GatewayError::RateLimited {
            product: "customers".into(),
            scope: RateScope::PrincipalProduct,
            retry_after: 3,
        }
        .into_response(None);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");

        let forbidden = |reason| {
            GatewayError::Forbidden {
                product: "customers".into(),
                reason,
            }
            .to_string()
        };
        for (reason, says) in [
            (Forbidden::RoleNotAllowed, "none of the caller's roles"),
            (
                Forbidden::MethodNotAllowed {
                    allowed: "GET, HEAD".into(),
                },
                "allowed: GET, HEAD",
            ),
            (Forbidden::PurposeMissing, "requires a declared purpose"),
            (Forbidden::PurposeNotAllowed, "declared purpose is not one"),
            (Forbidden::PurposeConflict, "different purposes"),
            (
                Forbidden::AuthMethodNotAllowed {
                    accepted: "jwt".into(),
                },
                "it accepts: jwt",
            ),
        ] {
            let message = forbidden(reason);
            assert!(message.contains(says), "{message}");
        }
        assert_eq!(
            GatewayError::KeyServerUnavailable.code(),
            "key_server_unavailable"
        );
    }
}
