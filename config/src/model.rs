//! The configuration schema: the typed form of `maskgate.toml`.
//!
//! Every table denies unknown keys, so a misspelled key fails loudly. Sections
//! that later capabilities add get their own
//! field on [`Config`] when they exist; until then they are refused as
//! unknown keys rather than silently ignored.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;
use url::Url;

use crate::audit::Audit;
use crate::masking::{DataClass, FieldClass, Masking, PolicyRule, ProductMasking};
use crate::units::{ByteSize, Duration, Rate};

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
    /// `[authn]`: how callers are authenticated. Without it the gateway runs
    /// as a plain proxy: no product may have `[product.access]`, and every
    /// request is forwarded without authentication. With it, every product
    /// must say who may call it.
    #[serde(default)]
    pub authn: Option<Authn>,
    /// `[rate_limits]`: request quotas per caller, per product and per
    /// caller and product.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// The data products reachable through the gateway.
    #[serde(default, rename = "product")]
    pub products: Vec<Product>,
    /// `[[class]]`: data classes beyond the built-in ones.
    #[serde(default, rename = "class")]
    pub classes: Vec<DataClass>,
    /// `[[policy]]`: the security team's rules, in order; the last is the
    /// default.
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyRule>,
    /// `[masking]`: where masking keys come from.
    #[serde(default)]
    pub masking: Masking,
    /// `[vault]`: Vault / OpenBao, where upstream credentials, client
    /// certificates and transit data keys come from. Required by
    /// `[product.credentials]`, `[product.upstream.client_certificate]` and
    /// `[masking.transit]`.
    #[serde(default)]
    pub vault: Option<crate::secrets::Vault>,
    /// `[audit]`: the tamper-evident access log. Without it no log is
    /// written.
    #[serde(default)]
    pub audit: Option<Audit>,
    /// `sha256:` and the hex SHA-256 of the text this configuration was
    /// read from ([`Config::from_str`], [`Config::load`]): the policy
    /// version audit records carry, which anyone holding the file can
    /// recompute with `sha256sum`. `None` for a configuration built in code.
    #[serde(skip)]
    pub source_sha256: Option<String>,
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
    /// Watch the configuration file and reload it when its content changes,
    /// checking this often (e.g. `"2s"`; at least 100ms). Without it,
    /// `maskgate serve` reloads on SIGHUP only.
    #[serde(default)]
    pub watch_config: Option<Duration>,
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
    /// PEM bundle of the CA certificates that client certificates must
    /// chain to. Required when `client_auth` is `"request"` or `"require"`,
    /// refused otherwise. A relative path is relative to the configuration
    /// file's directory. Checked at load.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Whether clients present a certificate (default `"none"`). With
    /// `"request"` or `"require"`, `client_ca` and an `[authn.mtls]` section
    /// are required.
    #[serde(default)]
    pub client_auth: ClientAuth,
}

/// Whether a TLS listener asks clients for a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// A client certificate is asked for; a client without one may still
    /// connect (and authenticate otherwise). A certificate that is presented
    /// must chain to `client_ca`, or the handshake fails.
    Request,
    /// A client certificate chaining to `client_ca` is required to connect.
    Require,
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
    /// `[product.access]`: who may call this product, how, and for which
    /// purposes. Required when the configuration has an `[authn]` section,
    /// refused when it has none (see [`Config::authn`]).
    #[serde(default)]
    pub access: Option<Access>,
    /// `[product.rate_limit]`: this product's own quota, instead of
    /// `rate_limits.per_product`.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// `[[product.field]]`: the product's classification, selector to
    /// class. With fields (or `[product.masking]`), responses are rewritten
    /// for each caller by the `[[policy]]` rules.
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldClass>,
    /// `[product.masking]`: unclassified fields, allowed content types.
    #[serde(default)]
    pub masking: Option<ProductMasking>,
    /// `[product.credentials]`: a credential from Vault added to every
    /// request forwarded to this product. Needs `[vault]`.
    #[serde(default)]
    pub credentials: Option<crate::secrets::Credentials>,
}

impl Product {
    /// The largest request body this product accepts: its own
    /// `limits.max_request_body` if set, else the server-wide one.
    pub fn max_request_body(&self, server: &Limits) -> ByteSize {
        self.limits
            .max_request_body
            .unwrap_or(server.max_request_body)
    }

    /// The quota for this product as a whole: its own `rate_limit` if set,
    /// else `rate_limits.per_product`, else none.
    pub fn rate_limit<'a>(&'a self, rate_limits: &'a RateLimits) -> Option<&'a RateLimit> {
        self.rate_limit
            .as_ref()
            .or(rate_limits.per_product.as_ref())
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
    /// `[product.upstream.client_certificate]`: a client certificate from
    /// Vault's PKI engine for mTLS to an `https` upstream. Needs `[vault]`.
    #[serde(default)]
    pub client_certificate: Option<crate::secrets::ClientCertificate>,
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

/// `[authn]`: how callers prove who they are. At least one of `jwt`,
/// `api_key` and `mtls` must be configured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Authn {
    /// The request header that carries an API key (default `"x-api-key"`).
    /// A valid header name; stored lowercase. Not a header the gateway or
    /// HTTP gives another meaning (`authorization`, `host`, `x-purpose`...).
    /// Like `Authorization`, it is never forwarded to a product.
    #[serde(default = "Authn::default_api_key_header")]
    pub api_key_header: String,
    /// How many verified tokens are kept, so a token seen again is not
    /// verified again (until it expires). At most 1,000,000; 0 turns the
    /// cache off. Default 10,000.
    #[serde(default = "Authn::default_token_cache_size")]
    pub token_cache_size: usize,
    /// `[[authn.jwt]]`: issuers whose bearer tokens are accepted.
    #[serde(default)]
    pub jwt: Vec<JwtIssuer>,
    /// `[[authn.api_key]]`: API keys, stored as hashes.
    #[serde(default, rename = "api_key")]
    pub api_keys: Vec<ApiKey>,
    /// `[authn.mtls]`: identities from client certificates. Requires a
    /// listener with `tls.client_auth` set, and such a listener requires it.
    #[serde(default)]
    pub mtls: Option<Mtls>,
}

impl Authn {
    fn default_api_key_header() -> String {
        "x-api-key".to_owned()
    }
    fn default_token_cache_size() -> usize {
        10_000
    }

    /// The authentication methods this section configures, in the order
    /// `jwt`, `api_key`, `mtls`.
    pub fn methods(&self) -> Vec<AuthMethod> {
        let mut methods = Vec::with_capacity(3);
        if !self.jwt.is_empty() {
            methods.push(AuthMethod::Jwt);
        }
        if !self.api_keys.is_empty() {
            methods.push(AuthMethod::ApiKey);
        }
        if self.mtls.is_some() {
            methods.push(AuthMethod::Mtls);
        }
        methods
    }
}

/// A way of authenticating a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// A bearer JWT from a configured issuer.
    Jwt,
    /// An API key in the configured header.
    ApiKey,
    /// A TLS client certificate.
    Mtls,
}

impl AuthMethod {
    /// The name the configuration uses: `"jwt"`, `"api_key"`, `"mtls"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[[authn.jwt]]`: one token issuer. Exactly one key source: `jwks_url`,
/// `public_keys` or `hmac_secret_file`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtIssuer {
    /// The `iss` claim of this issuer's tokens. Unique among issuers.
    pub issuer: String,
    /// Accepted `aud` values: a token must name at least one. Not empty.
    pub audiences: Vec<String>,
    /// Where the issuer publishes its keys (a JWKS). `https` only.
    #[serde(default, deserialize_with = "deserialize_optional_url")]
    pub jwks_url: Option<Url>,
    /// PEM bundle of CA certificates to trust for `jwks_url`, instead of the
    /// system roots. Only with `jwks_url`; checked at load.
    #[serde(default)]
    pub jwks_ca: Option<PathBuf>,
    /// PEM files, each holding one public key (`-----BEGIN PUBLIC
    /// KEY-----`), when the issuer's keys are configured statically.
    /// Checked at load; a private key or a certificate is refused.
    #[serde(default)]
    pub public_keys: Option<Vec<PathBuf>>,
    /// A file holding the shared secret for HS256 tokens (at least 32
    /// bytes). Only HS256 is accepted with it. Checked at load; never shown.
    #[serde(default)]
    pub hmac_secret_file: Option<PathBuf>,
    /// Which signature algorithms are accepted (default: HS256 with
    /// `hmac_secret_file`, otherwise every asymmetric one). The algorithm
    /// is taken from the key, never from the token; `"none"` is never
    /// accepted.
    #[serde(default)]
    pub algorithms: Option<Vec<JwtAlgorithm>>,
    /// How often the JWKS is fetched again (default 5m).
    #[serde(default = "JwtIssuer::default_jwks_refresh")]
    pub jwks_refresh: Duration,
    /// Least time between two fetches caused by unknown key ids (default
    /// 30s, at least 1s): a flood of unknown `kid`s makes one fetch, not
    /// a flood.
    #[serde(default = "JwtIssuer::default_jwks_cooldown")]
    pub jwks_cooldown: Duration,
    /// How long the last good keys keep serving while the JWKS cannot be
    /// fetched (default 1h; longer than `jwks_refresh`). Beyond it,
    /// requests fail with 503.
    #[serde(default = "JwtIssuer::default_jwks_max_stale")]
    pub jwks_max_stale: Duration,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 60s, at most
    /// 5m).
    #[serde(default = "JwtIssuer::default_leeway")]
    pub leeway: Duration,
    /// The claim that names the subject (default `"sub"`). A claim path:
    /// names separated by `.` for nested objects.
    #[serde(default = "JwtIssuer::default_subject_claim")]
    pub subject_claim: String,
    /// The claim that lists the roles (default `"roles"`), a claim path
    /// such as `"realm_access.roles"` or `"groups"`.
    #[serde(default = "JwtIssuer::default_roles_claim")]
    pub roles_claim: String,
    /// The claim that carries the caller's purpose, if the issuer sets one.
    #[serde(default)]
    pub purpose_claim: Option<String>,
    /// Further claims copied into the principal's attributes (for policies
    /// and audit). Claim paths, no duplicates.
    #[serde(default)]
    pub attribute_claims: Vec<String>,
    /// Longest token accepted (default 8KiB); longer ones are refused
    /// before any parsing.
    #[serde(default = "JwtIssuer::default_max_token_bytes")]
    pub max_token_bytes: ByteSize,
}

impl JwtIssuer {
    fn default_jwks_refresh() -> Duration {
        Duration::from_secs(5 * 60)
    }
    fn default_jwks_cooldown() -> Duration {
        Duration::from_secs(30)
    }
    fn default_jwks_max_stale() -> Duration {
        Duration::from_secs(60 * 60)
    }
    fn default_leeway() -> Duration {
        Duration::from_secs(60)
    }
    fn default_subject_claim() -> String {
        "sub".to_owned()
    }
    fn default_roles_claim() -> String {
        "roles".to_owned()
    }
    fn default_max_token_bytes() -> ByteSize {
        ByteSize::kib(8)
    }

    /// The algorithms accepted for this issuer: `algorithms` if set; else
    /// HS256 with `hmac_secret_file`; else every asymmetric algorithm.
    pub fn accepted_algorithms(&self) -> Vec<JwtAlgorithm> {
        match (&self.algorithms, &self.hmac_secret_file) {
            (Some(algorithms), _) => algorithms.clone(),
            (None, Some(_)) => vec![JwtAlgorithm::Hs256],
            (None, None) => JwtAlgorithm::ALL
                .iter()
                .copied()
                .filter(|a| !a.is_symmetric())
                .collect(),
        }
    }
}

fn deserialize_optional_url<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Url>, D::Error> {
    deserialize_url(deserializer).map(Some)
}

/// A JWT signature algorithm maskgate verifies. `"none"` is not one: it is
/// refused when the configuration is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
    /// HMAC with SHA-256: only with `hmac_secret_file`.
    Hs256,
}

impl JwtAlgorithm {
    /// Every algorithm, in the order the documentation lists them.
    pub const ALL: [JwtAlgorithm; 10] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
        Self::Hs256,
    ];

    /// The name in a JWT header (`"RS256"`, `"EdDSA"`...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }

    /// Whether it is a shared-secret (HMAC) algorithm.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Self::Hs256)
    }
}

impl std::fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(found) = Self::ALL.iter().find(|a| a.as_str() == s) {
            return Ok(*found);
        }
        if s.trim().eq_ignore_ascii_case("none") {
            return Err(format!(
                "{s:?} is never accepted: an unsigned token would let anyone claim any identity"
            ));
        }
        let names: Vec<String> = Self::ALL
            .iter()
            .map(|a| format!("{:?}", a.as_str()))
            .collect();
        match Self::ALL
            .iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
        {
            Some(found) => Err(format!(
                "unknown algorithm {s:?}: names are case-sensitive, write {:?}",
                found.as_str()
            )),
            None => Err(format!(
                "unknown algorithm {s:?}, expected one of {}",
                names.join(", ")
            )),
        }
    }
}

impl<'de> Deserialize<'de> for JwtAlgorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Parsed inside the visitor, so the error points at this element.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = JwtAlgorithm;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an algorithm name such as \"RS256\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JwtAlgorithm, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// `[[authn.api_key]]`: one API key, by its hash.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiKey {
    /// A name for the key (in logs and audit records): ASCII letters,
    /// digits and `-`; unique. Rotating a key means adding one with a new
    /// id, then removing the old.
    pub id: String,
    /// `"sha256:"` followed by the 64 hex digits of the SHA-256 of the key.
    /// The key itself is never stored. Stored lowercase. Exactly one of
    /// `hash` and `hash_from`.
    #[serde(default)]
    pub hash: Option<String>,
    /// The same hash, read from a field of a KV v2 secret in Vault
    /// (`{ path = "...", field = "..." }`) instead of this file, and picked
    /// up again when the secret changes. Needs `[vault]`.
    #[serde(default)]
    pub hash_from: Option<crate::secrets::KvField>,
    /// The principal's subject (default: the id).
    #[serde(default)]
    pub subject: Option<String>,
    /// The principal's roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl ApiKey {
    /// The subject of the principal this key authenticates.
    pub fn subject(&self) -> &str {
        self.subject.as_deref().unwrap_or(&self.id)
    }

    /// The 32 bytes of the SHA-256 hash configured in `hash`. `None` when
    /// it comes from Vault (`hash_from`), or for a configuration that has
    /// not been validated.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        parse_key_hash(self.hash.as_deref()?)
    }
}

/// The 32 bytes of an API key hash written `sha256:` and 64 hex digits (any
/// case), as in `authn.api_key.hash` and in the Vault field `hash_from`
/// names.
pub fn parse_key_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(bytes)
}

/// `[authn.mtls]`: callers identified by their TLS client certificate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Mtls {
    /// Which part of the certificate is the subject (default `"san_uri"`).
    #[serde(default)]
    pub subject_from: SubjectSource,
    /// Roles every certificate-authenticated caller has.
    #[serde(default)]
    pub default_roles: Vec<String>,
    /// `[[authn.mtls.client]]`: further roles for particular subjects.
    #[serde(default, rename = "client")]
    pub clients: Vec<MtlsClient>,
}

/// Where the subject of a client certificate is read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubjectSource {
    /// The first URI subject alternative name (e.g. a SPIFFE id).
    #[default]
    SanUri,
    /// The first DNS subject alternative name.
    SanDns,
    /// The subject's common name.
    Cn,
}

/// `[[authn.mtls.client]]`: roles for one certificate subject.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MtlsClient {
    /// The subject as read from the certificate (see
    /// [`Mtls::subject_from`]). Unique.
    pub subject: String,
    /// Its roles, added to `default_roles`. Not empty.
    pub roles: Vec<String>,
}

/// `[product.access]`: who may call a product, how, and why.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Access {
    /// Roles allowed to call the product: the caller needs at least one.
    /// Not empty unless `allow_any_role = true`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Any authenticated caller may call the product, whatever its roles.
    /// Excludes `roles`.
    #[serde(default)]
    pub allow_any_role: bool,
    /// HTTP methods allowed (default `["GET", "HEAD"]`), upper case, from
    /// GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS.
    #[serde(default = "Access::default_methods")]
    pub methods: Vec<String>,
    /// Purposes the product may be called for. A declared purpose (the
    /// `X-Purpose` header, or the token's purpose claim) not listed is
    /// refused; with none listed, callers may not declare one.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Refuse calls that declare no purpose (default false). Needs
    /// `purposes`.
    #[serde(default)]
    pub require_purpose: bool,
    /// Which authentication methods the product accepts (default: every
    /// method `[authn]` configures).
    #[serde(default)]
    pub auth_methods: Option<Vec<AuthMethod>>,
}

impl Access {
    fn default_methods() -> Vec<String> {
        vec!["GET".to_owned(), "HEAD".to_owned()]
    }
}

/// `[rate_limits]`: quotas. Each scope is optional; without any, nothing
/// is rate limited.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimits {
    /// Per caller (subject and authentication method), over all products.
    /// Needs `[authn]`.
    #[serde(default)]
    pub per_principal: Option<RateLimit>,
    /// Per product, over all callers; a product's own `rate_limit`
    /// replaces it.
    #[serde(default)]
    pub per_product: Option<RateLimit>,
    /// Per caller and product. Needs `[authn]`.
    #[serde(default)]
    pub per_principal_product: Option<RateLimit>,
    /// Most keys each keyed scope (`per_principal`,
    /// `per_principal_product`) tracks at once (default 100,000; 1 to
    /// 10,000,000). Idle keys are evicted; when every tracked key is
    /// active, callers not yet tracked are refused with 429 until keys
    /// fall idle.
    #[serde(default = "RateLimits::default_max_tracked_keys")]
    pub max_tracked_keys: usize,
}

impl RateLimits {
    fn default_max_tracked_keys() -> usize {
        100_000
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_principal: None,
            per_product: None,
            per_principal_product: None,
            max_tracked_keys: Self::default_max_tracked_keys(),
        }
    }
}

/// A quota: a sustained rate, and a burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimit {
    /// The sustained rate, e.g. `"100/s"`, `"600/m"`, `"1000/h"`.
    pub rate: Rate,
    /// How many requests may come at once after a quiet spell (at least 1;
    /// default: the rate per second, rounded up, at least 1).
    #[serde(default)]
    pub burst: Option<u32>,
}

impl RateLimit {
    /// A quota of `rate` with the default burst.
    pub fn new(rate: Rate) -> Self {
        Self { rate, burst: None }
    }

    /// The burst: as configured, or the rate per second rounded up (at
    /// least 1).
    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or_else(|| self.rate.per_second_ceil())
    }
}
