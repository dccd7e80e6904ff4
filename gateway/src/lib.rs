//! maskgate: a secure data-access gateway for a data mesh.
//!
//! This crate is the `maskgate` binary and the glue between the leaf crates:
//! it turns the configuration into listeners, routes and upstream clients,
//! serves HTTP/1.1 and HTTP/2 (over TLS, or plaintext where configured),
//! proxies to data products with streaming bodies, and runs the admin
//! listener (health, readiness, metrics). The command line lives in
//! [`cli`]; [`Gateway`] is the server for embedding and tests.
//!
//! What a request passes through, in order: request id, audit, header limits,
//! routing, (authentication), access rules, rate limits, body limit,
//! forwarding; the audit layer sits outside all but the request id, so that
//! each request leaves one record. Secrets take their place in that stack
//! as their crate fills in.

mod access;
mod admin;
mod audit;
mod authenticate;
mod body;
mod caller;
pub mod cli;
pub mod demo;
mod error;
mod header_limit;
mod metrics;
mod protect;
mod proxy;
mod rate_limit;
mod request_id;
mod route;
mod server;
mod tls_roots;
mod vault;

pub use server::{Gateway, ReloadError, Reloader, StartError};
pub use tls_roots::TrustError;
