//! Header hygiene between client and upstream.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1: `Connection` and every header it
//! names, plus the classic list) describe one connection and are removed in
//! both directions. When the gateway authenticates callers (`[authn]`),
//! their credentials (`Authorization`, the API key header) are for the
//! gateway alone and are removed before forwarding: the upstream gets its
//! own credentials, never the caller's. Forwarding headers tell the upstream
//! who really called:
//! `X-Forwarded-For` is appended to, `X-Forwarded-Proto` and
//! `X-Forwarded-Host` are set by the gateway (never trusted from the client).

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};
use maskgate_config::Authn;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes hop-by-hop headers, including those listed in `Connection`.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// The headers that carry a caller's credentials to the gateway: none in
/// plain-proxy mode (the upstream authenticates, if anyone does), else
/// `Authorization` and the configured API key header.
pub(crate) fn credential_headers(authn: Option<&Authn>) -> Vec<HeaderName> {
    let Some(authn) = authn else {
        return Vec::new();
    };
    let mut names = vec![header::AUTHORIZATION];
    // Validated as a header name; `from_bytes` also lowercases it.
    if let Ok(name) = HeaderName::from_bytes(authn.api_key_header.as_bytes()) {
        names.push(name);
    }
    names
}

/// Removes the caller's credentials (see [`credential_headers`]).
pub(crate) fn remove_credentials(headers: &mut HeaderMap, credentials: &[HeaderName]) {
    for name in credentials {
        headers.remove(name);
    }
}

/// Sets the `X-Forwarded-*` headers for a request from `client` that
/// arrived over `proto` (`"http"` or `"https"`) for `host`.
pub(crate) fn set_forwarded(
    headers: &mut HeaderMap,
    client: IpAddr,
    proto: &'static str,
    host: Option<&HeaderValue>,
) {
    let prior: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let chain = if prior.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", prior.join(", "))
    };
    match HeaderValue::from_str(&chain) {
        Ok(value) => {
            headers.insert(X_FORWARDED_FOR.clone(), value);
        }
        Err(_) => {
            // An unusable prior chain is dropped rather than forwarded.
            headers.insert(
                X_FORWARDED_FOR.clone(),
                HeaderValue::from_str(&client.to_string()).expect("an IP is a header value"),
            );
        }
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    match host {
        Some(host) => headers.insert(X_FORWARDED_HOST.clone(), host.clone()),
        None => headers.remove(&X_FORWARDED_HOST),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_hop_by_hop_and_connection_named_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::PROXY_AUTHORIZATION,
            HeaderValue::from_static("Basic x"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
    }

    #[test]
    fn removes_credentials_only_when_the_gateway_authenticates() {
        let text = format!(
            "[[server.listener]]\naddress = \"127.0.0.1:0\"\nplaintext = true\n[authn]\napi_key_header = \"X-Consumer-Key\"\n[[authn.api_key]]\nid = \"k\"\nhash = \"sha256:{}\"\n",
            "0".repeat(64)
        );
        let config =
            maskgate_config::Config::from_str(&text, std::path::Path::new("t.toml")).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        headers.insert("x-consumer-key", HeaderValue::from_static("k"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));

        let mut plain = headers.clone();
        remove_credentials(&mut plain, &credential_headers(None));
        assert_eq!(plain, headers);

        let names = credential_headers(config.authn.as_ref());
        remove_credentials(&mut headers, &names);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
    }

    #[test]
    fn appends_to_x_forwarded_for_and_overrides_proto_and_host() {
        let mut headers = HeaderMap::new();
        headers.insert(&X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static("spoofed"));
        let host = HeaderValue::from_static("data.example.com");
        set_forwarded(
            &mut headers,
            "127.0.0.1".parse().unwrap(),
            "https",
            Some(&host),
        );
        assert_eq!(headers[&X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(headers[&X_FORWARDED_PROTO], "https");
        assert_eq!(headers[&X_FORWARDED_HOST], "data.example.com");
    }
}
