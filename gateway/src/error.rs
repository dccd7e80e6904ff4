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
//! texts plus names from the configuration.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::body::{self, Body};

/// Whose fault a failure is: logged and counted per side, as pingora does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The client sent something we refuse.
    Downstream,
    /// The upstream could not be reached, was too slow, or misbehaved.
    Upstream,
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
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UpstreamConnectTimeout { .. } | Self::UpstreamResponseTimeout { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
            Self::UpstreamUnavailable { .. } => StatusCode::BAD_GATEWAY,
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
            Self::UpstreamConnectTimeout { .. } => "upstream_connect_timeout",
            Self::UpstreamResponseTimeout { .. } => "upstream_timeout",
            Self::UpstreamUnavailable { .. } => "upstream_unavailable",
        }
    }

    /// Whose fault it is.
    pub(crate) fn side(&self) -> Side {
        match self {
            Self::NoRoute
            | Self::HeadersTooLarge { .. }
            | Self::TooManyHeaders { .. }
            | Self::BodyTooLarge { .. }
            | Self::BadRequest(_) => Side::Downstream,
            Self::UpstreamConnectTimeout { .. }
            | Self::UpstreamResponseTimeout { .. }
            | Self::UpstreamUnavailable { .. } => Side::Upstream,
        }
    }

    /// Renders the JSON error response. The request id is echoed in the body
    /// and (by the request-id layer) in the `X-Request-Id` header.
    pub(crate) fn into_response(self, request_id: Option<&HeaderValue>) -> Response<Body> {
        let status = self.status();
        let message = self.to_string();
        error_response(status, self.code(), &message, request_id)
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
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
        }
    }
}
