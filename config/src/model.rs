//! The configuration schema: the typed form of `maskgate.toml`.
//!
//! Every table denies unknown keys, so a misspelled key fails loudly. Sections
//! that later capabilities add (`authn`, `policies`, `vault`, `audit`) get
//! their own field on [`Config`] when they exist; until then they are refused
//! as unknown keys rather than silently ignored.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;
use url::Url;

use crate::units::{ByteSize, Duration};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Where clients connect, and the limits that protect the gateway.
    pub server: Server,
    /// The operator's listener: health, readiness and metrics.
    #[serde(default)]
    pub admin: Admin,
    /// The data products reachable through the gateway.
    #[serde(default, rename = "product")]
    pub products: Vec<Product>,
}

/// `[server]`: the client-facing side.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Server {
    /// `[[server.listener]]`: at least one.
    #[serde(rename = "listener")]
    pub listeners: Vec<Listener>,
    /// `[server.limits]`: defaults for every product.
    #[serde(default)]
    pub limits: Limits,
    /// `[server.timeouts]`.
    #[serde(default)]
    pub timeouts: ServerTimeouts,
    /// How many worker threads serve client connections, 1 to 1024. Each
    /// worker accepts on its own socket (`SO_REUSEPORT`) and keeps its own
    /// upstream connection pools, so a request never changes threads.
    /// Default: one per CPU.
    #[serde(default)]
    pub workers: Option<usize>,
}

/// One address the gateway accepts client connections on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Listener {
    /// A name for logs and metrics; defaults to the address.
    #[serde(default)]
    pub name: Option<String>,
    /// `IP:PORT` to bind, e.g. `"0.0.0.0:8443"`. Unique among listeners: two
    /// listeners on the same port clash when their IPs are equal or one is
    /// unspecified (`0.0.0.0`, `[::]`); port 0 (any free port) never clashes.
    pub address: SocketAddr,
    /// TLS termination. Required unless `plaintext = true` says otherwise.
    #[serde(default)]
    pub tls: Option<ListenerTls>,
    /// Serve plain HTTP on this listener. Must be said explicitly; refused
    /// together with `tls`.
    #[serde(default)]
    pub plaintext: bool,
    /// Which HTTP versions to speak (default `["http1", "http2"]`; not
    /// empty, no duplicates). Over TLS,
    /// HTTP/2 is negotiated by ALPN; in plaintext, HTTP/2 means h2c with
    /// prior knowledge.
    #[serde(default = "default_http_versions")]
    pub http_versions: Vec<HttpVersion>,
}

/// The TLS identity of a listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ListenerTls {
    /// PEM file with the certificate chain, leaf first. A relative path is
    /// relative to the configuration file's directory. Checked at load: it
    /// must hold at least one certificate.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1). A relative
    /// path is relative to the configuration file's directory. Checked at
    /// load: it must hold a private key.
    pub key: PathBuf,
    /// Lowest TLS version accepted (default 1.2).
    #[serde(default)]
    pub min_version: TlsVersion,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 and later.
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

/// An HTTP protocol version a listener or upstream may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/1.1 (and 1.0).
    Http1,
    /// HTTP/2.
    Http2,
}

fn default_http_versions() -> Vec<HttpVersion> {
    vec![HttpVersion::Http1, HttpVersion::Http2]
}

/// Request limits. Set under `[server.limits]` for every product, and
/// overridable per product under `[product.limits]` (only the keys given
/// there override).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body accepted (413 beyond). More than 0. Default
    /// 10MiB.
    #[serde(default = "Limits::default_max_request_body")]
    pub max_request_body: ByteSize,
    /// Largest total size of the request head: request line plus headers
    /// (431 beyond). Default 64KiB.
    ///
    /// Between 1KiB and 1MiB: below, ordinary requests are refused (a bearer
    /// token alone is often over 1KiB); above, every connection may buffer
    /// that much before its request is refused, which lets a few slow clients
    /// hold a lot of memory.
    #[serde(default = "Limits::default_max_header_bytes")]
    pub max_header_bytes: ByteSize,
    /// Most request headers accepted (431 beyond). At least 1. Default 100.
    #[serde(default = "Limits::default_max_headers")]
    pub max_headers: usize,
}

impl Limits {
    fn default_max_request_body() -> ByteSize {
        ByteSize::mib(10)
    }
    fn default_max_header_bytes() -> ByteSize {
        ByteSize::kib(64)
    }
    fn default_max_headers() -> usize {
        100
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body: Self::default_max_request_body(),
            max_header_bytes: Self::default_max_header_bytes(),
            max_headers: Self::default_max_headers(),
        }
    }
}

/// Per-product overrides of [`Limits`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LimitOverrides {
    /// Overrides `server.limits.max_request_body` for this product. More
    /// than 0. See [`Product::max_request_body`].
    #[serde(default)]
    pub max_request_body: Option<ByteSize>,
}

/// `[server.timeouts]`: how long the gateway waits on clients. All but
/// `shutdown_grace` must be more than 0.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerTimeouts {
    /// Time allowed to receive a request head once a connection is ready to
    /// send one (slowloris protection). Default 10s.
    #[serde(default = "ServerTimeouts::default_header_read")]
    pub header_read: Duration,
    /// TLS handshake deadline. Default 10s.
    #[serde(default = "ServerTimeouts::default_tls_handshake")]
    pub tls_handshake: Duration,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish
    /// before their connections are closed. Default 30s; 0 closes them at
    /// once.
    #[serde(default = "ServerTimeouts::default_shutdown_grace")]
    pub shutdown_grace: Duration,
}

impl ServerTimeouts {
    fn default_header_read() -> Duration {
        Duration::from_secs(10)
    }
    fn default_tls_handshake() -> Duration {
        Duration::from_secs(10)
    }
    fn default_shutdown_grace() -> Duration {
        Duration::from_secs(30)
    }
}

impl Default for ServerTimeouts {
    fn default() -> Self {
        Self {
            header_read: Self::default_header_read(),
            tls_handshake: Self::default_tls_handshake(),
            shutdown_grace: Self::default_shutdown_grace(),
        }
    }
}

/// `[admin]`: health, readiness and Prometheus metrics, plain HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Admin {
    /// `IP:PORT` to bind. Default `127.0.0.1:9901` (loopback only). When
    /// enabled, it must not clash with a listener's address (port 0 never
    /// clashes).
    #[serde(default = "Admin::default_address")]
    pub address: SocketAddr,
    /// Set to false to run without an admin listener.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Admin {
    fn default_address() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9901))
    }
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            address: Self::default_address(),
            enabled: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// `[[product]]`: one upstream data-product API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Product {
    /// Unique name, used in logs, metrics and (later) policies and audit:
    /// ASCII letters, digits, `_`, `.` and `-`, not empty.
    pub name: String,
    /// Which requests go to this product.
    pub route: Route,
    /// Where they go.
    pub upstream: Upstream,
    /// Overrides of the server-wide limits.
    #[serde(default)]
    pub limits: LimitOverrides,
}

impl Product {
    /// The largest request body this product accepts: its own
    /// `limits.max_request_body` if set, else the server-wide one.
    pub fn max_request_body(&self, server: &Limits) -> ByteSize {
        self.limits
            .max_request_body
            .unwrap_or(server.max_request_body)
    }
}

/// How requests are matched to a product: the longest matching path prefix
/// wins; a route with a host is preferred over one without at equal length.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Route {
    /// Path prefix, starting with `/`, matched on whole segments:
    /// `/customers` matches `/customers` and `/customers/42`, not
    /// `/customersX`. No `?`, `#`, `//`, `.` or `..` segments, whitespace,
    /// nor trailing `/` (except the root `/`). Two products may not have the
    /// same host and path prefix; nested prefixes are fine (the longest
    /// wins).
    pub path_prefix: String,
    /// Only requests for this host (the `Host` header or `:authority`,
    /// without port, case-insensitive). A DNS name, an IPv4 address, or an
    /// IPv6 address in brackets as a `Host` header writes it (`"[::1]"`);
    /// no port. Stored lowercase.
    #[serde(default)]
    pub host: Option<String>,
    /// Remove the prefix before forwarding (default false).
    #[serde(default)]
    pub strip_prefix: bool,
}

/// The upstream side of a product.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Upstream {
    /// `http://` or `https://` base URL. A path in it is prepended to the
    /// forwarded path; no query, no fragment, and no `user:password@`
    /// (credentials come from the secrets store, never the config file).
    #[serde(deserialize_with = "deserialize_url")]
    pub url: Url,
    /// PEM bundle of CA certificates to trust for an `https` upstream,
    /// instead of the system roots. Only with `https`. A relative path is
    /// relative to the configuration file's directory. Checked at load: it
    /// must hold at least one certificate.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Which HTTP versions to use (not empty, no duplicates). Default
    /// `["http1"]`; `["http2"]` means
    /// h2 by ALPN over TLS, or h2c with prior knowledge over plain HTTP.
    #[serde(default = "Upstream::default_http_versions")]
    pub http_versions: Vec<HttpVersion>,
    /// TCP (and TLS) connect deadline (504 beyond). More than 0. Default 5s.
    #[serde(default = "Upstream::default_connect_timeout")]
    pub connect_timeout: Duration,
    /// Deadline for the upstream's response head once the request is sent
    /// (504 beyond). More than 0. Default 30s.
    #[serde(default = "Upstream::default_response_timeout")]
    pub response_timeout: Duration,
    /// How long an idle pooled connection is kept. More than 0 (to keep no
    /// idle connection, set `pool_max_idle = 0`). Default 90s.
    #[serde(default = "Upstream::default_pool_idle_timeout")]
    pub pool_idle_timeout: Duration,
    /// Most idle pooled connections per upstream host; 0 turns pooling off.
    /// Default 64.
    #[serde(default = "Upstream::default_pool_max_idle")]
    pub pool_max_idle: usize,
}

/// Like `Url`'s own `Deserialize`, but an unparsable URL is not quoted in
/// the error: it may hold a credential, and errors are displayed and logged.
fn deserialize_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    Url::parse(&text).map_err(|e| serde::de::Error::custom(format!("invalid URL: {e}")))
}

impl Upstream {
    fn default_http_versions() -> Vec<HttpVersion> {
        vec![HttpVersion::Http1]
    }
    fn default_connect_timeout() -> Duration {
        Duration::from_secs(5)
    }
    fn default_response_timeout() -> Duration {
        Duration::from_secs(30)
    }
    fn default_pool_idle_timeout() -> Duration {
        Duration::from_secs(90)
    }
    fn default_pool_max_idle() -> usize {
        64
    }
}
