//! Vault unreachable: cached credentials keep serving until their lease
//! ends, then fail closed with the reason; Vault back: recovery without a
//! restart. And nothing Vault issued ever reaches the logs.

mod support;

use std::time::{Duration, SystemTime};

use maskgate_secrets::{
    KeyPurpose, TransitKeyringSettings, Vault,
    testing::{Lab, LabOptions, Relay},
};
use serde_json::json;
use support::{assert_not_leaked, capture_logs, wait_for};

const READY: Duration = Duration::from_secs(10);

fn lab() -> Lab {
    let mut options = LabOptions::default();
    options.db_default_ttl = Duration::from_secs(4);
    options.db_max_ttl = Duration::from_secs(300);
    Lab::start_with(options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbao_killed_serves_from_cache_until_the_lease_ends_then_fails_closed() {
    capture_logs();
    let mut lab = lab();
    lab.kv_put("app/api", json!({"token": "cached-kv-token-42"}));
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.token_auth()))
        .await
        .unwrap();
    let kv = vault.kv_secret("secret", "app/api");
    let db = vault.database_credential("database", "app-ro");
    kv.ready(READY).await.unwrap();
    let credential = db.ready(READY).await.unwrap();

    lab.bao.kill();
    let killed_at = SystemTime::now();
    assert!(vault.health().await.unwrap_err().is_unreachable());
    // Still served from memory while the lease lasts.
    let lease_end = db.expires_at().unwrap();
    assert!(lease_end > killed_at);
    assert_eq!(
        db.current().unwrap().lease_id(),
        credential.lease_id(),
        "the cached credential is served"
    );
    assert!(kv.current().is_ok());

    // Renewals fail meanwhile; once the lease has ended: unavailable, and
    // the reason says what and why, with no secret in it.
    let err = wait_for(Duration::from_secs(8), "the lease to end", || {
        db.current().err()
    })
    .await;
    assert!(SystemTime::now() >= lease_end);
    let reason = err.reason();
    assert!(
        reason.contains("database credential database/app-ro expired at"),
        "{reason}"
    );
    assert!(reason.contains("is unreachable"), "{reason}");
    assert!(!reason.contains(credential.password().expose()), "{reason}");
    let metrics = vault.metrics();
    let db_metrics = metrics
        .values
        .iter()
        .find(|v| v.kind == "database")
        .unwrap();
    assert!(
        !db_metrics.available && db_metrics.renewal_failures > 0,
        "{db_metrics:?}"
    );
    assert_eq!(db_metrics.seconds_left, Some(0.0));
    assert!(metrics.request_failures > 0);

    // KV values have no lease: they are served kv_max_stale (3 s here)
    // after Vault last confirmed them.
    let err = wait_for(Duration::from_secs(5), "the KV value to go stale", || {
        kv.current().err()
    })
    .await;
    assert!(
        err.reason().contains("KV secret secret/app/api expired at"),
        "{err}"
    );
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_back_recovers_without_restart_and_no_issued_secret_is_logged() {
    capture_logs();
    let lab = lab();
    let relay = Relay::start(lab.bao.socket_addr());
    lab.kv_put("app/api", json!({"token": "kv-token-before-outage"}));
    let approle = lab.approle_auth();
    let secret_id = match &approle {
        maskgate_secrets::Auth::AppRole { secret_id_file, .. } => {
            std::fs::read_to_string(secret_id_file).unwrap()
        }
        _ => unreachable!(),
    };
    let vault = Vault::connect(lab.settings(&relay.address(), approle))
        .await
        .unwrap();
    let kv = vault.kv_secret("secret", "app/api");
    let db = vault.database_credential("database", "app-ro");
    let keyring = vault.transit_keyring(TransitKeyringSettings::new(
        "transit",
        "fields",
        "secret",
        "maskgate/keyring",
    ));
    kv.ready(READY).await.unwrap();
    let before = db.ready(READY).await.unwrap();
    keyring.ready(READY).await.unwrap();
    let data_key = keyring.key(KeyPurpose::Encrypt, None).unwrap();

    relay.down();
    let err = wait_for(Duration::from_secs(8), "the lease to end", || {
        db.current().err()
    })
    .await;
    assert!(err.reason().contains("unreachable"), "{err}");
    // Keys already in memory keep working: they have no lease.
    assert_eq!(
        keyring
            .key(KeyPurpose::Encrypt, Some(data_key.id()))
            .unwrap()
            .bytes(),
        data_key.bytes()
    );
    // Meanwhile the KV secret changed.
    lab.kv_put("app/api", json!({"token": "kv-token-after-outage"}));

    relay.up();
    let after = wait_for(Duration::from_secs(10), "a new credential", || {
        db.current().ok()
    })
    .await;
    assert_ne!(after.lease_id(), before.lease_id());
    assert!(
        lab.pg
            .can_login(after.username().expose(), after.password().expose())
    );
    wait_for(Duration::from_secs(5), "the new KV version", || {
        let v = kv.current().ok()?;
        (v.field("token")?.expose() == "kv-token-after-outage").then_some(())
    })
    .await;
    assert!(vault.health().await.unwrap().is_ok());
    let metrics = vault.metrics();
    assert!(metrics.values.iter().all(|v| v.available), "{metrics:?}");

    vault.shutdown().await;
    let mut issued = vec![
        "kv-token-before-outage".to_owned(),
        "kv-token-after-outage".to_owned(),
        secret_id.trim().to_owned(),
        {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(data_key.bytes())
        },
    ];
    for credential in [&before, &after] {
        issued.push(credential.username().expose().to_owned());
        issued.push(credential.password().expose().to_owned());
    }
    assert_not_leaked(&issued, &[&lab.dir()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_started_while_vault_is_down_logs_in_when_it_is_back() {
    capture_logs();
    let lab = lab();
    lab.kv_put("app/api", json!({"token": "kv-token-late-login"}));
    let relay = Relay::start(lab.bao.socket_addr());
    relay.down();
    let vault = Vault::start(lab.settings(&relay.address(), lab.jwt_auth())).unwrap();
    let kv = vault.kv_secret("secret", "app/api");
    let err = wait_for(Duration::from_secs(5), "a failed login", || {
        kv.current()
            .err()
            .filter(|e| e.reason().contains("unreachable"))
    })
    .await;
    assert!(err.reason().contains("not logged in to Vault yet"), "{err}");
    assert_eq!(vault.metrics().logins, 0);
    assert!(vault.health().await.is_err());

    relay.up();
    let value = wait_for(Duration::from_secs(10), "the login and the value", || {
        kv.current().ok()
    })
    .await;
    assert_eq!(
        value.field("token").unwrap().expose(),
        "kv-token-late-login"
    );
    assert_eq!(vault.metrics().logins, 1);
    vault.shutdown().await;
}
