//! Helpers shared by the gateway's integration tests: upstream servers,
//! the gateway in-process or as a child process, HTTP clients, test
//! certificates, and for authentication a JWKS server, an ES256 token
//! signer and the attack suite's token forge. Every server binds
//! `127.0.0.1:0`.

// `pub` here means "for the test modules"; the test binary is a crate of its
// own, so nothing is reachable from outside anyway.
#![allow(unreachable_pub)]

pub mod audit;
pub mod body;
pub mod certs;
pub mod child;
pub mod client;
pub mod demo;
pub mod forge;
pub mod gateway;
pub mod jwks;
pub mod jwt;
pub mod upstream;

use std::{future::Future, time::Duration};

pub use self::{
    body::TestBody,
    certs::{ClientCertFlaw, TestCa},
    child::ChildGateway,
    client::{Reply, assert_gateway_error},
    demo::DemoProcess,
    gateway::TestGateway,
    jwks::JwksServer,
    jwt::Es256Key,
    upstream::{RawUpstream, Seen, StoringUpstream, Upstream},
};

/// The TOML of a gateway with one plaintext listener and an admin
/// listener, both on ephemeral loopback ports; append products and
/// `[server.*]` tables to it.
pub const PLAINTEXT_GATEWAY: &str = r#"
[[server.listener]]
name = "public"
address = "127.0.0.1:0"
plaintext = true

[admin]
address = "127.0.0.1:0"
"#;

/// The TOML of a gateway with one TLS listener on an ephemeral loopback
/// port and no admin listener. `listener` holds the listener's other keys,
/// e.g. `cert.listener_tls("")`; append products and `[server.*]` tables.
pub fn tls_gateway(listener: &str) -> String {
    format!(
        r#"
[[server.listener]]
name = "public-tls"
address = "127.0.0.1:0"
{listener}

[admin]
enabled = false
"#
    )
}

/// A `[[product]]` table routing `prefix` to `upstream_url`, for the
/// common case; tests that need more write the TOML themselves.
pub fn product(name: &str, prefix: &str, upstream_url: &str) -> String {
    format!(
        r#"
[[product]]
name = "{name}"
route = {{ path_prefix = "{prefix}" }}
upstream = {{ url = "{upstream_url}" }}
"#
    )
}

/// How long a step may take before the test is declared hung. A guard
/// against hangs, not an assertion about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(15);

/// Awaits `future`, failing the test if it has not finished within
/// [`HANG_GUARD`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: still not done after {HANG_GUARD:?}"),
    }
}

/// Reads from `stream` until the peer closes it: what arrived, and
/// whether the close was clean (EOF) or not (e.g. a reset).
pub async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
) -> (Vec<u8>, std::io::Result<usize>) {
    use tokio::io::AsyncReadExt;

    let mut received = Vec::new();
    let read = within("the peer closing the connection", async {
        stream.read_to_end(&mut received).await
    })
    .await;
    (received, read)
}

/// A loopback address nothing listens on: bound, then released.
pub fn closed_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
}
