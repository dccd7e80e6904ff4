//! maskgate's configuration: one TOML file turned into typed, validated values.
//!
//! This crate owns the schema ([`Config`] and its sections), parsing with
//! unknown keys refused, typed durations and sizes, and validation whose
//! errors name the file, line, column and key path of what is wrong. It does
//! not act on the configuration: the gateway turns these values into
//! listeners, routes and clients.
//!
//! ```no_run
//! let config = maskgate_config::Config::load("maskgate.toml".as_ref())?;
//! # Ok::<(), maskgate_config::ConfigError>(())
//! ```
//!
//! # The file, in short
//!
//! ```toml
//! [[server.listener]]                 # at least one
//! address = "0.0.0.0:8443"
//! tls = { cert = "tls/gw.pem", key = "tls/gw.key" }   # relative to this file
//! # or, for plain HTTP, said explicitly: plaintext = true
//!
//! [server.limits]                     # defaults for every product
//! max_request_body = "10MiB"
//!
//! [server.timeouts]
//! header_read = "10s"                 # durations and sizes are strings
//!
//! [admin]
//! address = "127.0.0.1:9901"
//!
//! [authn]                             # leave out to run as a plain proxy
//! [[authn.jwt]]
//! issuer = "https://idp.example.com"
//! audiences = ["maskgate"]
//! jwks_url = "https://idp.example.com/jwks.json"
//!
//! [rate_limits]
//! per_principal = { rate = "100/s", burst = 200 }
//!
//! [[product]]
//! name = "customers"
//! route = { path_prefix = "/customers", host = "api.example.com" }
//! upstream = { url = "https://customers.internal:8443", ca = "tls/internal-ca.pem" }
//! limits = { max_request_body = "1MiB" }
//! access = { roles = ["support"], purposes = ["support-case"] }
//! ```
//!
//! Every field, its default and its rule are documented on the types.
//!
//! # Errors
//!
//! [`Config::from_str`] and [`Config::load`] fail with a [`ConfigError`]
//! holding [`Diagnostic`]s, displayed one per line as
//! `FILE:LINE:COLUMN: KEY.PATH: MESSAGE`:
//!
//! ```text
//! maskgate.toml:9:1: product[0].uptream: unknown field `uptream`, expected one of `name`, `route`, `upstream`, `limits`
//! ```
//!
//! A syntax or schema error stops parsing at the first problem; validation
//! reports every problem it finds.

mod audit;
mod error;
mod load;
mod locate;
mod masking;
mod model;
mod secrets;
mod units;
mod validate;

pub use audit::{Audit, HmacField};
pub use error::{ConfigError, Diagnostic, Location};
/// Key paths (`product[0].field[2].class`) as diagnostics name them, for
/// checks made outside this crate.
pub use locate::{join as join_key_path, join_index as join_key_index};
pub use masking::{
    ActionSpec, BUILT_IN_CLASSES, DataClass, FieldClass, Generalization, HashScope, MaskPreset,
    Masking, PolicyRule, ProductMasking, Store, Unclassified, Validator,
};
pub use model::{
    Access, Admin, ApiKey, AuthMethod, Authn, ClientAuth, Config, HttpVersion, JwtAlgorithm,
    JwtIssuer, LimitOverrides, Limits, Listener, ListenerTls, Mtls, MtlsClient, Product, RateLimit,
    RateLimits, Route, Server, ServerTimeouts, SubjectSource, TlsVersion, Upstream, parse_key_hash,
};
pub use secrets::{
    BasicInject, ClientCertificate, Credentials, Inject, KvField, KvPath, Transit, Vault, VaultAuth,
};
pub use units::{ByteSize, Duration, Rate};
