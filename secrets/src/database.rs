//! Dynamic database credentials with a lease.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use crate::{
    client::{Inner, Refresh, lock, parse},
    error::SecretsError,
    secret::SecretString,
    time::jittered,
    watched::Watched,
};

/// A username and password issued by the database secrets engine, with the
/// lease that keeps them alive.
///
/// The lease end is [`Watched::expires_at`](crate::Watched::expires_at):
/// renewal moves it without changing the credential. `Debug` shows the lease
/// id only.
pub struct DbCredential {
    pub(crate) username: SecretString,
    pub(crate) password: SecretString,
    pub(crate) lease_id: String,
    pub(crate) issued_at: SystemTime,
}

impl DbCredential {
    /// The database user name Vault created.
    pub fn username(&self) -> &SecretString {
        &self.username
    }

    /// Its password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The lease id (not a secret: it names the lease, e.g. for the audit
    /// record; renewing or revoking it needs a token with that capability).
    pub fn lease_id(&self) -> &str {
        &self.lease_id
    }

    /// When Vault issued it.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }
}

impl fmt::Debug for DbCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbCredential")
            .field("lease_id", &self.lease_id)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

impl DbCredential {
    /// Fills in `template`: `{{username}}` and `{{password}}`.
    pub fn render(
        &self,
        template: &crate::Template,
    ) -> Result<crate::SecretString, crate::TemplateError> {
        template.render(|name| match name {
            "username" => Some(&self.username),
            "password" => Some(&self.password),
            _ => None,
        })
    }
}

/// Keeps a [`DbCredential`] alive: renews its lease, issues a new one before
/// the max TTL or after a new login.
pub(crate) struct DbTask {
    mount: String,
    role: String,
    watched: Watched<DbCredential>,
    lease: Option<Lease>,
}

struct Lease {
    id: String,
    /// The TTL the credential was issued with: what each renewal asks for.
    ttl: Duration,
    /// The login whose token owns the lease (it dies with that token).
    login_generation: u64,
    end: SystemTime,
    /// Replace the credential at the next round (max TTL near, renewal
    /// refused).
    replace: bool,
}

impl DbTask {
    pub(crate) fn new(mount: &str, role: &str, watched: Watched<DbCredential>) -> Self {
        DbTask {
            mount: mount.to_owned(),
            role: role.to_owned(),
            watched,
            lease: None,
        }
    }

    async fn issue(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let operation = format!("read {}/creds/{}", self.mount, self.role);
        let generation = inner.session.load().generation;
        let body = inner
            .raw(
                reqwest::Method::GET,
                &format!("{}/creds/{}", self.mount, self.role),
                None,
                &operation,
            )
            .await?;
        let answer: CredsAnswer = parse(&body, &operation)?;
        let ttl = Duration::from_secs(answer.lease_duration);
        let issued_at = SystemTime::now();
        let end = issued_at + ttl;
        lock(&inner.leases).insert(answer.lease_id.clone(), end);
        tracing::info!(
            lease_id = %answer.lease_id,
            ttl = ?ttl,
            "database credential issued"
        );
        self.watched.publish(
            DbCredential {
                username: SecretString::new(answer.data.username),
                password: SecretString::new(answer.data.password),
                lease_id: answer.lease_id.clone(),
                issued_at,
            },
            Some(end),
        );
        self.lease = Some(Lease {
            id: answer.lease_id,
            ttl,
            login_generation: generation,
            end,
            replace: !answer.renewable,
        });
        Ok(jittered(ttl, 0.6, 0.7))
    }

    async fn renew(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let Some(lease) = &mut self.lease else {
            return Ok(Duration::ZERO);
        };
        let body = serde_json::json!({
            "lease_id": lease.id,
            "increment": lease.ttl.as_secs(),
        });
        let renewed = inner
            .raw(
                reqwest::Method::PUT,
                "sys/leases/renew",
                Some(&body),
                "renew a database lease",
            )
            .await;
        let body = match renewed {
            Ok(body) => body,
            // The lease is gone or cannot be renewed: a new credential now.
            Err(SecretsError::Api { status: 400, .. }) => {
                lease.replace = true;
                return Ok(Duration::ZERO);
            }
            Err(e) => return Err(e),
        };
        let answer: RenewAnswer = parse(&body, "renew a database lease")?;
        let granted = Duration::from_secs(answer.lease_duration);
        lease.end = SystemTime::now() + granted;
        lock(&inner.leases).insert(lease.id.clone(), lease.end);
        self.watched.extend(Some(lease.end));
        // Less than asked: the max TTL caps it, and this lease ends in
        // `granted`. Issue the next credential now, while this one still
        // works for all of that time (renewals come at two thirds of the
        // TTL, so at least about a third of it is left).
        if granted < lease.ttl.mul_f64(0.9) || !answer.renewable {
            lease.replace = true;
            tracing::info!(lease_id = %lease.id, left = ?granted, "database lease near its max TTL; replacing it");
            return Ok(Duration::ZERO);
        }
        tracing::debug!(lease_id = %lease.id, ttl = ?granted, "database lease renewed");
        Ok(jittered(granted, 0.6, 0.7))
    }
}

impl Refresh for DbTask {
    async fn step(&mut self, inner: &Arc<Inner>) -> Result<Duration, SecretsError> {
        let generation = inner.session.load().generation;
        let now = SystemTime::now();
        let renewable = self.lease.as_ref().is_some_and(|lease| {
            !lease.replace && lease.login_generation == generation && lease.end > now
        });
        if renewable {
            self.renew(inner).await
        } else {
            self.issue(inner).await
        }
    }

    fn failed(&mut self, error: &SecretsError) {
        self.watched.fail(error);
    }

    fn name(&self) -> String {
        self.watched.name().to_owned()
    }
}

#[derive(serde::Deserialize)]
struct CredsAnswer {
    lease_id: String,
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
    data: CredsData,
}

#[derive(serde::Deserialize)]
struct CredsData {
    username: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct RenewAnswer {
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}
