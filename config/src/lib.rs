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
