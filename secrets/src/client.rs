//! The Vault client: login, token renewal, the background tasks.

use std::{
    any::Any,
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::{
    runtime::Handle,
    sync::{Notify, watch},
    task::JoinHandle,
};
use vaultrs::{
    client::{VaultClient, VaultClientSettingsBuilder},
    error::ClientError,
};
use zeroize::Zeroizing;

use crate::{
    database::DbCredential,
    error::SecretsError,
    kv::KvSecret,
    pki::ClientCertificate,
    secret::SecretString,
    settings::{Auth, TransitKeyringSettings, VaultSettings},
    time::{Backoff, jittered},
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
/// Cloning is cheap; clones share everything. When the last clone is
/// dropped the background tasks stop too (without revoking anything: call
/// `shutdown` for that); values already handed out keep serving until they
/// expire.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

/// The current login: a vaultrs client carrying the token, and the token's
/// timing.
pub(crate) struct Session {
    pub(crate) client: VaultClient,
    token: SecretString,
    /// The TTL the login gave (renewals that return less are near the max).
    login_ttl: Duration,
    /// 1 for the first login, then one more at each new login.
    pub(crate) generation: u64,
    timing: Mutex<Timing>,
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    /// The token's TTL when it was obtained or last renewed (zero: it never
    /// expires, e.g. a root token).
    ttl: Duration,
    renewable: bool,
    /// When `ttl` was measured.
    since: Instant,
}

impl Session {
    fn new(
        client: VaultClient,
        token: SecretString,
        ttl: Duration,
        renewable: bool,
        generation: u64,
    ) -> Self {
        Session {
            client,
            token,
            login_ttl: ttl,
            generation,
            timing: Mutex::new(Timing {
                ttl,
                renewable,
                since: Instant::now(),
            }),
        }
    }

    fn timing(&self) -> Timing {
        *lock(&self.timing)
    }

    fn expires_at(&self) -> Option<SystemTime> {
        let t = self.timing();
        (!t.ttl.is_zero()).then(|| SystemTime::now() + t.ttl.saturating_sub(t.since.elapsed()))
    }
}

pub(crate) struct Inner {
    pub(crate) settings: VaultSettings,
    pub(crate) session: ArcSwap<Session>,
    runtime: Handle,
    shutdown: watch::Sender<bool>,
    closed: AtomicBool,
    /// Wakes the token task to check the token (after a 403).
    check_token: Arc<Notify>,
    /// One login at a time.
    login_lock: tokio::sync::Mutex<()>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Watched values and keyrings by what they watch, so asking twice
    /// gives the same one.
    watchers: Mutex<HashMap<String, Box<dyn Any + Send + Sync>>>,
    /// Metrics of every watched value, for the snapshot.
    metrics_sources: Mutex<Vec<Box<dyn Fn() -> ValueMetrics + Send + Sync>>>,
    /// Database leases not yet expired: lease id to its end.
    pub(crate) leases: Mutex<HashMap<String, SystemTime>>,
    token_watch: Watched<()>,
    requests: AtomicU64,
    request_failures: AtomicU64,
    /// Microseconds; `u64::MAX` before the first request.
    last_latency_us: AtomicU64,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("address", &self.inner.settings.address.as_str())
            .field("auth", &self.inner.settings.auth.method())
            .finish_non_exhaustive()
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
        crate::install_crypto_provider();
        check_settings(&settings)?;
        let spawn_on = runtime.clone();
        // The login runs on `runtime` too: the HTTP client's connections
        // belong to the runtime that made them.
        spawn_on
            .spawn(async move {
                let session = login(&settings, 1).await?;
                tracing::info!(
                    address = %settings.address,
                    method = settings.auth.method(),
                    "logged in to Vault"
                );
                Ok(Vault::assemble(settings, session, runtime))
            })
            .await
            .map_err(|e| SecretsError::Settings {
                reason: format!("the login task failed: {e}"),
            })?
    }

    /// [`start_on`](Self::start_on) the current tokio runtime.
    pub fn start(settings: VaultSettings) -> Result<Vault, SecretsError> {
        Self::start_on(settings, Handle::current())
    }

    /// Like [`connect_on`](Self::connect_on), but returns at once: the login
    /// happens in the background and is retried (backoff with jitter) until
    /// it succeeds. Until then every watched value is unavailable, saying
    /// the login is pending and why. For a gateway that must start (and
    /// answer 503 for the products that need Vault) while Vault is down.
    ///
    /// Fails only on unusable settings.
    pub fn start_on(settings: VaultSettings, runtime: Handle) -> Result<Vault, SecretsError> {
        crate::install_crypto_provider();
        check_settings(&settings)?;
        let pending = Session::new(
            client_for(&settings, "")?,
            SecretString::from(""),
            Duration::ZERO,
            false,
            0,
        );
        Ok(Vault::assemble(settings, pending, runtime))
    }

    /// The client around its first session (generation 0: not logged in
    /// yet), with its token task started.
    fn assemble(settings: VaultSettings, session: Session, runtime: Handle) -> Vault {
        let token_watch =
            Watched::new("token", format!("Vault token ({})", settings.auth.method()));
        if session.generation > 0 {
            token_watch.publish((), session.expires_at());
        }
        let inner = Arc::new(Inner {
            settings,
            session: ArcSwap::from_pointee(session),
            runtime,
            shutdown: watch::channel(false).0,
            closed: AtomicBool::new(false),
            check_token: Arc::new(Notify::new()),
            login_lock: tokio::sync::Mutex::new(()),
            tasks: Mutex::new(Vec::new()),
            watchers: Mutex::new(HashMap::new()),
            metrics_sources: Mutex::new(Vec::new()),
            leases: Mutex::new(HashMap::new()),
            token_watch,
            requests: AtomicU64::new(0),
            request_failures: AtomicU64::new(0),
            last_latency_us: AtomicU64::new(u64::MAX),
        });
        let task = token_task(Arc::downgrade(&inner));
        inner.spawn(task);
        Vault { inner }
    }

    /// `GET /v1/sys/health`: whether Vault is initialized, unsealed and
    /// active. Calls Vault (not for the request path).
    pub async fn health(&self) -> Result<Health, SecretsError> {
        let inner = Arc::clone(&self.inner);
        self.inner
            .run(async move {
                let body = inner
                    .raw(
                        reqwest::Method::GET,
                        "sys/health?standbyok=true&sealedcode=200&uninitcode=200&perfstandbyok=true",
                        None,
                        "read sys/health",
                    )
                    .await?;
                let v: Value = parse(&body, "read sys/health")?;
                Ok(Health {
                    initialized: v["initialized"].as_bool().unwrap_or(false),
                    sealed: v["sealed"].as_bool().unwrap_or(true),
                    standby: v["standby"].as_bool().unwrap_or(false),
                    version: v["version"].as_str().unwrap_or_default().to_owned(),
                })
            })
            .await
    }

    /// The KV v2 secret `mount`/`path`, read now and checked for a new
    /// version every [`poll_interval`](VaultSettings::poll_interval).
    ///
    /// Polls read the secret's metadata (so the token needs `read` on
    /// `<mount>/metadata/<path>` as well as `<mount>/data/<path>`; without
    /// it, each poll reads the data).
    pub fn kv_secret(&self, mount: &str, path: &str) -> Watched<KvSecret> {
        let key = format!("kv:{mount}:{path}");
        self.inner.watcher(&key, || {
            let watched = Watched::new("kv", format!("KV secret {mount}/{path}"));
            let task = crate::kv::KvTask::new(mount, path, watched.clone());
            (watched, task)
        })
    }

    /// A dynamic credential from `mount/creds/role`: its lease renewed at
    /// about two thirds of its TTL (with jitter), a new credential issued
    /// before the lease's max TTL (and after a new login, whose token the
    /// old lease belonged to), every lease revoked at
    /// [`shutdown`](Self::shutdown).
    pub fn database_credential(&self, mount: &str, role: &str) -> Watched<DbCredential> {
        let key = format!("database:{mount}:{role}");
        self.inner.watcher(&key, || {
            let watched = Watched::new("database", format!("database credential {mount}/{role}"));
            let task = crate::database::DbTask::new(mount, role, watched.clone());
            (watched, task)
        })
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
        let key = format!("pki:{mount}:{role}:{common_name}:{}", ttl.as_secs());
        self.inner.watcher(&key, || {
            let watched = Watched::new(
                "pki",
                format!("client certificate {mount}/{role} for {common_name}"),
            );
            let task = crate::pki::PkiTask::new(mount, role, common_name, ttl, watched.clone());
            (watched, task)
        })
    }

    /// The data keys of the transit key `settings.key`, shared with other
    /// instances through the registry.
    pub fn transit_keyring(&self, settings: TransitKeyringSettings) -> TransitKeyring {
        let key = format!(
            "transit:{}:{}:{}:{}",
            settings.mount, settings.key, settings.registry_mount, settings.registry_path
        );
        self.inner.watcher(&key, || {
            let keyring = TransitKeyring::new(&self.inner, settings);
            let task = keyring.task();
            (keyring, task)
        })
    }

    /// The numbers the gateway exports as metrics.
    pub fn metrics(&self) -> MetricsSnapshot {
        let inner = &self.inner;
        let latency = inner.last_latency_us.load(Ordering::Relaxed);
        let values = lock(&inner.metrics_sources)
            .iter()
            .map(|source| source())
            .collect();
        MetricsSnapshot {
            token: inner.token_watch.metrics(),
            values,
            last_request_latency: (latency != u64::MAX).then(|| Duration::from_micros(latency)),
            requests: inner.requests.load(Ordering::Relaxed),
            request_failures: inner.request_failures.load(Ordering::Relaxed),
            logins: inner.session.load().generation,
        }
    }

    /// Stops the background tasks, revokes every database lease this client
    /// holds and, when it logged in itself (AppRole, JWT), its token. Values
    /// already handed out stay readable until they expire; new ones are not
    /// fetched. Idempotent.
    pub async fn shutdown(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = self.inner.run(async move { inner.shutdown().await }).await;
    }
}

impl Inner {
    /// Runs `future` on the client's runtime and waits for it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, SecretsError>> + Send + 'static,
    ) -> Result<T, SecretsError> {
        self.runtime
            .spawn(future)
            .await
            .map_err(|_| SecretsError::Shutdown)?
    }

    pub(crate) fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        let handle = self.runtime.spawn(future);
        lock(&self.tasks).push(handle);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The watched value (or keyring) for `key`, made and its task started
    /// on first use.
    fn watcher<W, T>(self: &Arc<Self>, key: &str, make: impl FnOnce() -> (W, T)) -> W
    where
        W: Clone + Send + Sync + 'static + crate::watched::Metered,
        T: crate::client::Refresh,
    {
        let mut watchers = lock(&self.watchers);
        if let Some(existing) = watchers.get(key).and_then(|w| w.downcast_ref::<W>()) {
            return existing.clone();
        }
        let (watched, task) = make();
        watchers.insert(key.to_owned(), Box::new(watched.clone()));
        drop(watchers);
        let metered = watched.clone();
        lock(&self.metrics_sources).push(Box::new(move || metered.metered()));
        if !self.is_closed() {
            self.spawn(run_task(Arc::downgrade(self), task));
        }
        watched
    }

    /// A request to `/v1/<path>` with the current token, straight over the
    /// HTTP client (for what vaultrs does not parse from OpenBao). The body
    /// comes back in a buffer that is zeroed when dropped.
    pub(crate) async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        operation: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let session = self.session.load_full();
        self.logged_in(&session)?;
        let url = format!(
            "{}/v1/{path}",
            self.settings.address.as_str().trim_end_matches('/')
        );
        let mut request = session
            .client
            .http
            .http
            .request(method, url)
            .header("X-Vault-Request", "true")
            .header("X-Vault-Token", token_header(&session.token)?);
        if let Some(namespace) = &self.settings.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(Zeroizing::new(body.to_string()).as_bytes().to_vec());
        }
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let bytes = Zeroizing::new(response.bytes().await?.to_vec());
            Ok::<_, reqwest::Error>((status, bytes))
        }
        .await;
        self.record(started, result.as_ref().is_ok_and(|(s, _)| *s < 400));
        let (status, bytes) = result.map_err(|e| self.unreachable(&e))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let errors = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v["errors"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(|s| s.trim().to_owned()))
                        .collect()
                })
            })
            .unwrap_or_default();
        Err(api_error(operation, status, errors))
    }

    /// A vaultrs call with the current session's client, timed and with its
    /// error mapped.
    pub(crate) async fn vaultrs<'a, T, F, Fut>(
        &self,
        operation: &str,
        session: &'a Session,
        call: F,
    ) -> Result<T, SecretsError>
    where
        F: FnOnce(&'a VaultClient) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        self.logged_in(session)?;
        let started = Instant::now();
        let result = call(&session.client).await;
        self.record(started, result.is_ok());
        result.map_err(|e| self.map_vaultrs(operation, e))
    }

    /// Refuses to call Vault before the first login succeeded.
    fn logged_in(&self, session: &Session) -> Result<(), SecretsError> {
        if session.generation > 0 {
            return Ok(());
        }
        Err(SecretsError::LoginPending {
            reason: self
                .token_watch
                .last_error()
                .unwrap_or_else(|| "the first login is in progress".into()),
        })
    }

    fn record(&self, started: Instant, ok: bool) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.last_latency_us.store(micros, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.request_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> SecretsError {
        // reqwest's error text names the URL (no secret in it: paths and
        // mounts only) and the cause.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        SecretsError::Unreachable {
            address: self.settings.address.to_string(),
            reason,
        }
    }

    fn map_vaultrs(&self, operation: &str, e: ClientError) -> SecretsError {
        map_client_error(&self.settings, operation, e)
    }

    /// Asks the token task to check the token now (a request was denied:
    /// the token may have been revoked or have expired).
    pub(crate) fn token_suspect(&self) {
        self.check_token.notify_one();
    }

    /// Logs in again (one login at a time; a login that happened while
    /// waiting for the lock counts).
    async fn relogin(&self, seen_generation: u64) -> Result<(), SecretsError> {
        let _guard = self.login_lock.lock().await;
        let current = self.session.load();
        if current.generation != seen_generation {
            return Ok(());
        }
        let session = login(&self.settings, current.generation + 1).await?;
        if session.token == current.token {
            // The token file still holds the same token: only its timing is
            // new. Not a new login (what it issued stays valid).
            *lock(&current.timing) = session.timing();
            self.token_watch.extend(current.expires_at());
            return Ok(());
        }
        self.token_watch.publish((), session.expires_at());
        self.session.store(Arc::new(session));
        tracing::info!(
            address = %self.settings.address,
            method = self.settings.auth.method(),
            login = self.session.load().generation,
            "logged in to Vault"
        );
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), SecretsError> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.shutdown.send_replace(true);
        // The tasks stop at their next wait; one in the middle of a request
        // gets two seconds (together) to finish it, then is aborted.
        let tasks: Vec<_> = lock(&self.tasks).drain(..).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        for mut task in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
        let now = SystemTime::now();
        let leases: Vec<String> = lock(&self.leases)
            .drain()
            .filter(|(_, end)| *end > now)
            .map(|(id, _)| id)
            .collect();
        for lease_id in leases {
            let body = serde_json::json!({ "lease_id": lease_id });
            match self
                .raw(
                    reqwest::Method::PUT,
                    "sys/leases/revoke",
                    Some(&body),
                    "revoke a lease",
                )
                .await
            {
                Ok(_) => tracing::info!(lease_id = %lease_id, "revoked a database lease"),
                Err(e) => {
                    tracing::warn!(lease_id = %lease_id, error = %e, "could not revoke a database lease")
                }
            }
        }
        let session = self.session.load_full();
        if !matches!(self.settings.auth, Auth::Token { .. }) && session.generation > 0 {
            let revoked = self
                .vaultrs("revoke the login token", &session, |c| {
                    vaultrs::token::revoke_self(c)
                })
                .await;
            if let Err(e) = revoked {
                tracing::warn!(error = %e, "could not revoke the login token");
            }
        }
        Ok(())
    }
}

/// The token as a header value marked sensitive (never logged or indexed by
/// the HTTP stack).
fn token_header(token: &SecretString) -> Result<reqwest::header::HeaderValue, SecretsError> {
    let mut value = reqwest::header::HeaderValue::from_str(token.expose()).map_err(|_| {
        SecretsError::Settings {
            reason: "the Vault token has characters a header cannot carry".into(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The error for a Vault answer with status `status`.
fn api_error(operation: &str, status: u16, errors: Vec<String>) -> SecretsError {
    if status == 403 {
        SecretsError::Denied {
            operation: operation.to_owned(),
            errors,
        }
    } else {
        SecretsError::Api {
            operation: operation.to_owned(),
            status,
            errors,
        }
    }
}

/// An error and its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Parses a JSON body, without ever quoting it in the error.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], operation: &str) -> Result<T, SecretsError> {
    serde_json::from_slice(body).map_err(|e| SecretsError::Response {
        operation: operation.to_owned(),
        reason: format!(
            "not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn check_settings(settings: &VaultSettings) -> Result<(), SecretsError> {
    let invalid = |reason: &str| {
        Err(SecretsError::Settings {
            reason: reason.to_owned(),
        })
    };
    if !matches!(settings.address.scheme(), "http" | "https") {
        return invalid("the address must be http:// or https://");
    }
    if settings.ca_file.is_some() && settings.address.scheme() != "https" {
        return invalid("ca_file needs an https:// address");
    }
    if settings.request_timeout.is_zero() || settings.poll_interval.is_zero() {
        return invalid("the request timeout and the poll interval must be more than 0");
    }
    Ok(())
}

/// Reads a credential file: its content, trimmed, as a secret.
fn read_secret_file(
    what: &'static str,
    path: &std::path::Path,
) -> Result<SecretString, SecretsError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| SecretsError::File {
                what,
                path: path.to_owned(),
                source,
            })?,
        );
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SecretsError::File {
            what,
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is empty"),
        });
    }
    Ok(SecretString::from(trimmed))
}

/// A vaultrs client for `settings` carrying `token`.
fn client_for(settings: &VaultSettings, token: &str) -> Result<VaultClient, SecretsError> {
    let mut builder = VaultClientSettingsBuilder::default();
    // Every field vaultrs would otherwise take from VAULT_* environment
    // variables is set here: the configuration says everything.
    builder
        .address(settings.address.as_str())
        .token(token)
        .verify(true)
        .identity(None)
        .timeout(Some(settings.request_timeout))
        .ca_certs(
            settings
                .ca_file
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        )
        .namespace(settings.namespace.clone());
    let client_settings = builder.build().map_err(|e| SecretsError::Settings {
        reason: e.to_string(),
    })?;
    VaultClient::new(client_settings).map_err(|e| match e {
        ClientError::FileReadError { source, path } => SecretsError::File {
            what: "CA",
            path: path.into(),
            source,
        },
        other => SecretsError::Settings {
            reason: chain(&other),
        },
    })
}

/// Logs in with `settings.auth`.
async fn login(settings: &VaultSettings, generation: u64) -> Result<Session, SecretsError> {
    let anonymous = client_for(settings, "")?;
    let (token, ttl, renewable) = match &settings.auth {
        Auth::Token { file } => {
            let token = read_secret_file("token", file)?;
            let client = client_for(settings, token.expose())?;
            let (ttl, renewable) = lookup_self(settings, &client).await?;
            return Ok(Session::new(client, token, ttl, renewable, generation));
        }
        Auth::AppRole {
            mount,
            role_id_file,
            secret_id_file,
        } => {
            let role_id = read_secret_file("role id", role_id_file)?;
            let secret_id = read_secret_file("secret id", secret_id_file)?;
            let auth = vaultrs::auth::approle::login(
                &anonymous,
                mount,
                role_id.expose(),
                secret_id.expose(),
            )
            .await
            .map_err(|e| map_client_error(settings, "the approle login", e))?;
            (
                SecretString::new(auth.client_token),
                Duration::from_secs(auth.lease_duration),
                auth.renewable,
            )
        }
        Auth::Jwt {
            mount,
            role,
            jwt_file,
        } => {
            let jwt = read_secret_file("JWT", jwt_file)?;
            let auth =
                vaultrs::auth::oidc::login(&anonymous, mount, jwt.expose(), Some(role.clone()))
                    .await
                    .map_err(|e| map_client_error(settings, "the jwt login", e))?;
            (
                SecretString::new(auth.client_token),
                Duration::from_secs(auth.lease_duration),
                auth.renewable,
            )
        }
    };
    let client = client_for(settings, token.expose())?;
    Ok(Session::new(client, token, ttl, renewable, generation))
}

/// A vaultrs error as ours: an error answer, Vault unreachable, or an
/// answer that did not parse.
fn map_client_error(settings: &VaultSettings, operation: &str, e: ClientError) -> SecretsError {
    match e {
        ClientError::APIError { code, errors } => api_error(operation, code, errors),
        ClientError::RestClientError {
            source: source @ rustify::errors::ClientError::RequestError { .. },
        } => SecretsError::Unreachable {
            address: settings.address.to_string(),
            reason: chain(&source),
        },
        other => SecretsError::Response {
            operation: operation.to_owned(),
            reason: chain(&other),
        },
    }
}

/// `auth/token/lookup-self`: the token's remaining TTL and whether it is
/// renewable (direct: vaultrs' response type does not fit OpenBao's).
async fn lookup_self(
    settings: &VaultSettings,
    client: &VaultClient,
) -> Result<(Duration, bool), SecretsError> {
    let url = format!(
        "{}/v1/auth/token/lookup-self",
        settings.address.as_str().trim_end_matches('/')
    );
    let mut request = client
        .http
        .http
        .get(url)
        .header("X-Vault-Request", "true")
        .header(
            "X-Vault-Token",
            token_header(&SecretString::from(client.middle.token.as_str()))?,
        );
    if let Some(namespace) = &settings.namespace {
        request = request.header("X-Vault-Namespace", namespace);
    }
    let unreachable = |e: reqwest::Error| SecretsError::Unreachable {
        address: settings.address.to_string(),
        reason: chain(&e),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let body = Zeroizing::new(response.bytes().await.map_err(unreachable)?.to_vec());
    if status != 200 {
        return Err(api_error("look up the token", status, Vec::new()));
    }
    let v: Value = parse(&body, "look up the token")?;
    Ok((
        Duration::from_secs(v["data"]["ttl"].as_u64().unwrap_or(0)),
        v["data"]["renewable"].as_bool().unwrap_or(false),
    ))
}

/// Keeps the token alive: renews it at about two thirds of its TTL; logs in
/// again when it cannot be renewed, is near its max TTL, or was refused.
///
/// Holds the client weakly: when every [`Vault`] handle is gone, it stops.
async fn token_task(weak: Weak<Inner>) {
    let Some((mut shutdown, check, mut backoff)) = weak.upgrade().map(|inner| {
        (
            inner.shutdown.subscribe(),
            Arc::clone(&inner.check_token),
            Backoff::new(inner.settings.retry_min, inner.settings.retry_max),
        )
    }) else {
        return;
    };
    let mut retry_in: Option<Duration> = None;
    loop {
        let Some(session) = weak.upgrade().map(|inner| inner.session.load_full()) else {
            return;
        };
        let timing = session.timing();
        let delay = match retry_in.take() {
            Some(delay) => delay,
            None if session.generation == 0 => Duration::ZERO,
            None if timing.ttl.is_zero() => Duration::from_secs(3600),
            None => jittered(timing.ttl, 0.6, 0.7).saturating_sub(timing.since.elapsed()),
        };
        let checked = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = check.notified() => true,
            _ = shutdown.changed() => return,
        };
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let outcome = if checked {
            check_token(&inner, &session).await
        } else {
            refresh_token(&inner, &session).await
        };
        match outcome {
            Ok(()) => backoff.reset(),
            Err(e) => {
                inner.token_watch.fail(&e);
                let wait = backoff.fail();
                tracing::warn!(error = %e, retry_in = ?wait, "Vault token renewal failed");
                retry_in = Some(wait);
            }
        }
    }
}

/// After a denied request: is the token still good? If not, log in again.
async fn check_token(inner: &Inner, session: &Session) -> Result<(), SecretsError> {
    match lookup_self(&inner.settings, &session.client).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_denied() || matches!(e, SecretsError::Api { .. }) => {
            inner.relogin(session.generation).await
        }
        Err(e) => Err(e),
    }
}

/// Renews the token, or logs in again when renewal cannot help.
async fn refresh_token(inner: &Inner, session: &Session) -> Result<(), SecretsError> {
    let timing = session.timing();
    let left = timing.ttl.saturating_sub(timing.since.elapsed());
    if !timing.renewable || left.is_zero() {
        return inner.relogin(session.generation).await;
    }
    let increment = format!("{}s", session.login_ttl.as_secs());
    let renewed = inner
        .vaultrs("renew the token", session, |c| {
            vaultrs::token::renew_self(c, Some(&increment))
        })
        .await;
    match renewed {
        Ok(auth) => {
            let ttl = Duration::from_secs(auth.lease_duration);
            // Less than a third of what the login gave: the max TTL is near;
            // log in again now rather than let it run out.
            if ttl < session.login_ttl / 3 {
                return inner.relogin(session.generation).await;
            }
            *lock(&session.timing) = Timing {
                ttl,
                renewable: auth.renewable,
                since: Instant::now(),
            };
            inner.token_watch.extend(session.expires_at());
            tracing::debug!(ttl = ?ttl, "renewed the Vault token");
            Ok(())
        }
        Err(e) if e.is_denied() || matches!(e, SecretsError::Api { .. }) => {
            inner.relogin(session.generation).await
        }
        Err(e) => Err(e),
    }
}

/// One watched value's background work.
pub(crate) trait Refresh: Send + 'static {
    /// Does one round (issue, renew, poll); returns how long to wait before
    /// the next.
    fn step(
        &mut self,
        inner: &Arc<Inner>,
    ) -> impl Future<Output = Result<Duration, SecretsError>> + Send;

    /// Records a failed round.
    fn failed(&mut self, error: &SecretsError);

    /// What this keeps fresh, for logs (e.g. `KV secret secret/app/db`).
    fn name(&self) -> String;
}

/// Runs `task` until shutdown, retrying failures with backoff and jitter.
/// Holds the client weakly: when every [`Vault`] handle is gone, it stops.
async fn run_task(weak: Weak<Inner>, mut task: impl Refresh) {
    let Some((mut shutdown, mut backoff)) = weak.upgrade().map(|inner| {
        (
            inner.shutdown.subscribe(),
            Backoff::new(inner.settings.retry_min, inner.settings.retry_max),
        )
    }) else {
        return;
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let delay = match task.step(&inner).await {
            Ok(delay) => {
                backoff.reset();
                delay
            }
            Err(e) => {
                if e.is_denied() {
                    inner.token_suspect();
                }
                task.failed(&e);
                let delay = backoff.fail();
                tracing::warn!(
                    what = %task.name(),
                    error = %e,
                    retry_in = ?delay,
                    "could not refresh from Vault; serving what is cached until it expires"
                );
                delay
            }
        };
        drop(inner);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
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
