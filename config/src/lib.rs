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

mod model;
mod units;

pub use model::{
    Admin, Config, HttpVersion, LimitOverrides, Limits, Listener, ListenerTls, Product, Route,
    Server, ServerTimeouts, TlsVersion, Upstream,
};
pub use units::{ByteSize, Duration};

// TEMPORARY until the config crate's parser lands (replaced at merge).
#[allow(missing_docs)]
#[derive(Debug)]
pub struct ConfigError(pub String);
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}
#[allow(missing_docs, clippy::should_implement_trait)]
impl Config {
    pub fn from_str(text: &str, _origin: &std::path::Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string()))
    }
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(e.to_string()))?;
        Self::from_str(&text, path)
    }
}
#[allow(missing_docs)]
impl Product {
    pub fn max_request_body(&self, server: &Limits) -> ByteSize {
        self.limits
            .max_request_body
            .unwrap_or(server.max_request_body)
    }
}
