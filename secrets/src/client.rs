//! The Vault client: login, token renewal, the background tasks.

use std::{sync::Arc, time::Duration};

use tokio::runtime::Handle;

use crate::{
    database::DbCredential,
    error::SecretsError,
    kv::KvSecret,
    pki::ClientCertificate,
    settings::{TransitKeyringSettings, VaultSettings},
    transit::TransitKeyring,
    watched::{ValueMetrics, Watched},
};

/// A logged-in connection to Vault / OpenBao and everything it keeps fresh.
///
/// [`connect`](Self::connect) logs in and starts the token's renewal; each
/// `kv_secret`, `database_credential`, `pki_certificate` and
/// `transit_keyring` starts (once per distinct argument: asking again
/// returns the same watched value) a background task that keeps that value
/// fresh. The request path only reads [`Watched`] values and the keyring,
/// from memory. [`shutdown`](Self::shutdown) revokes the database leases and
/// the login token and stops the tasks.
///
/// Cloning is cheap; clones share everything.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

impl Vault {
    /// Logs in and starts the token renewal on the current tokio runtime,
    /// which must outlive the client (see [`connect_on`](Self::connect_on)).
    pub async fn connect(settings: VaultSettings) -> Result<Vault, SecretsError> {
        Self::connect_on(settings, Handle::current()).await
    }

    /// Logs in and runs every background task (and every request to Vault)
    /// on `runtime`: a long-lived multi-thread runtime, not a per-connection
    /// or per-worker one.
    ///
    /// Installs ring as rustls' process-wide crypto provider if none is
    /// installed yet.
    pub async fn connect_on(
        settings: VaultSettings,
        runtime: Handle,
    ) -> Result<Vault, SecretsError> {
        let _ = (settings, runtime);
        todo!()
    }

    /// `GET /v1/sys/health`: whether Vault is initialized, unsealed and
    /// active. Calls Vault (not for the request path).
    pub async fn health(&self) -> Result<Health, SecretsError> {
        todo!()
    }

    /// The KV v2 secret `mount`/`path`, read now and checked for a new
    /// version every [`poll_interval`](VaultSettings::poll_interval).
    pub fn kv_secret(&self, mount: &str, path: &str) -> Watched<KvSecret> {
        let _ = (mount, path);
        todo!()
    }

    /// A dynamic credential from `mount/creds/role`: its lease renewed at
    /// about two thirds of its TTL (with jitter), a new credential issued
    /// before the lease's max TTL, every lease revoked at
    /// [`shutdown`](Self::shutdown).
    pub fn database_credential(&self, mount: &str, role: &str) -> Watched<DbCredential> {
        let _ = (mount, role);
        todo!()
    }

    /// A client certificate from `mount/issue/role` for `common_name`, valid
    /// for `ttl`, re-issued at about two thirds of its lifetime.
    pub fn pki_certificate(
        &self,
        mount: &str,
        role: &str,
        common_name: &str,
        ttl: Duration,
    ) -> Watched<ClientCertificate> {
        let _ = (mount, role, common_name, ttl);
        todo!()
    }

    /// The data keys of the transit key `settings.key`, shared with other
    /// instances through the registry.
    pub fn transit_keyring(&self, settings: TransitKeyringSettings) -> TransitKeyring {
        let _ = settings;
        todo!()
    }

    /// The numbers the gateway exports as metrics.
    pub fn metrics(&self) -> MetricsSnapshot {
        todo!()
    }

    /// Stops the background tasks, revokes every database lease this client
    /// holds and, when it logged in itself (AppRole, JWT), its token. Values
    /// already handed out stay readable until they expire; new ones are not
    /// fetched. Idempotent.
    pub async fn shutdown(&self) {
        todo!()
    }
}

/// What `/v1/sys/health` says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether Vault is initialized.
    pub initialized: bool,
    /// Whether it is sealed (a sealed Vault serves nothing).
    pub sealed: bool,
    /// Whether this node is a standby.
    pub standby: bool,
    /// Its version string.
    pub version: String,
}

impl Health {
    /// Initialized, unsealed and active.
    pub fn is_ok(&self) -> bool {
        self.initialized && !self.sealed && !self.standby
    }
}

/// Numbers about the client and every watched value, for metrics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The gateway's own token (kind `token`): seconds left, failed renewals.
    pub token: ValueMetrics,
    /// Every watched value and the keyrings.
    pub values: Vec<ValueMetrics>,
    /// Latency of the last request to Vault.
    pub last_request_latency: Option<Duration>,
    /// Requests sent to Vault so far.
    pub requests: u64,
    /// Requests that failed (unreachable or an error status).
    pub request_failures: u64,
    /// Logins so far (the first one included).
    pub logins: u64,
}
