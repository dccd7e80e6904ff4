//! The gateway's end-to-end tests: the real gateway (in-process or as the
//! `maskgate` binary) between real clients and real upstreams on loopback
//! sockets, with real TLS, a real OpenBao and a real PostgreSQL where a test
//! needs them.
//!
//! One test binary with a module per area, rather than a binary per file:
//! each binary links the whole gateway, so twenty of them cost twenty links
//! and over a gigabyte of disk for the same tests. `support` holds what the
//! areas share.
//!
//! `cargo test -p maskgate --test e2e -- proxy_tls::` runs one area.

mod support;

mod access_rules;
mod admin_endpoints;
mod audit_cli;
mod audit_durability;
mod audit_records;
mod authn_attacks;
mod authn_jwks;
mod authn_mtls;
mod cli_check;
mod config_reload;
mod demo_embedded;
mod demo_vault;
mod masking_responses;
mod proxy_headers;
mod proxy_http2;
mod proxy_limits;
mod proxy_routing;
mod proxy_shutdown;
mod proxy_streaming;
mod proxy_tls;
mod secrets_vault;
