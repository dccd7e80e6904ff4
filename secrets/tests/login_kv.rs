//! Logging in (token file, AppRole, JWT), keeping the token alive, and KV
//! secrets picked up again when they change; against a real OpenBao.

mod support;

use std::time::Duration;

use maskgate_secrets::{
    Auth, SecretsError, Template, Vault,
    testing::{Lab, LabOptions},
};
use serde_json::json;
use support::{assert_not_leaked, capture_logs, wait_for};

const READY: Duration = Duration::from_secs(10);

/// Settings that log in to a bare OpenBao with its root token (from a file
/// in `dir`).
fn root_settings(
    bao: &maskgate_secrets::testing::OpenBao,
    dir: &std::path::Path,
) -> maskgate_secrets::VaultSettings {
    let file = dir.join("token");
    std::fs::write(&file, bao.root_token()).unwrap();
    let mut settings = maskgate_secrets::VaultSettings::new(bao.address(), Auth::Token { file });
    settings.poll_interval = Duration::from_millis(200);
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_login_method_reads_a_kv_secret() {
    capture_logs();
    let lab = Lab::start();
    lab.kv_put("app/upstream", json!({"token": "kv-token-0123456789"}));
    for auth in [lab.token_auth(), lab.approle_auth(), lab.jwt_auth()] {
        let method = auth.method();
        let vault = Vault::connect(lab.settings(&lab.bao.address(), auth))
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        let health = vault.health().await.unwrap();
        assert!(health.is_ok(), "{health:?}");
        let secret = vault.kv_secret("secret", "app/upstream");
        let value = secret
            .ready(READY)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        let header = value
            .render(&Template::parse("Bearer {{token}}").unwrap())
            .unwrap();
        assert_eq!(header.expose(), "Bearer kv-token-0123456789");
        assert_eq!(value.version(), 1);
        assert!(!format!("{value:?}").contains("kv-token"), "{value:?}");
        let metrics = vault.metrics();
        assert_eq!(metrics.logins, 1);
        assert!(metrics.requests >= 2, "{metrics:?}");
        assert!(metrics.last_request_latency.is_some());
        vault.shutdown().await;
    }
    assert_not_leaked(
        &[
            "kv-token-0123456789".to_owned(),
            std::fs::read_to_string(lab.token_file()).unwrap(),
        ],
        &[],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_the_login_without_showing_them() {
    capture_logs();
    let lab = Lab::start();
    let file = lab.dir().join("bad-token");
    std::fs::write(&file, "hvs.not-a-real-token-123").unwrap();
    let err = Vault::connect(lab.settings(&lab.bao.address(), Auth::Token { file }))
        .await
        .unwrap_err();
    assert!(err.is_denied(), "{err}");
    assert!(!err.to_string().contains("not-a-real"), "{err}");

    let missing = lab.dir().join("missing");
    let err = Vault::connect(lab.settings(&lab.bao.address(), Auth::Token { file: missing }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SecretsError::File { what: "token", .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_renewed_then_replaced_by_a_fresh_login_near_its_max_ttl() {
    capture_logs();
    let mut options = LabOptions::default();
    options.token_ttl = Duration::from_secs(2);
    options.token_max_ttl = Duration::from_secs(5);
    let lab = Lab::start_with(options);
    lab.kv_put("app/x", json!({"v": "value-0000000001"}));
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.approle_auth()))
        .await
        .unwrap();
    let first_end = vault.metrics().token.seconds_left.unwrap();
    assert!(first_end <= 2.5, "{first_end}");
    // Renewed at about two thirds of 2 s: still one login, renewed.
    wait_for(Duration::from_secs(4), "a renewal", || {
        let m = vault.metrics();
        (m.logins == 1 && m.requests >= 2 && m.token.available).then_some(())
    })
    .await;
    wait_for(Duration::from_secs(4), "a renewal in the logs", || {
        support::logs()
            .contains("renewed the Vault token")
            .then_some(())
    })
    .await;
    // Past the 5 s max TTL only a new login keeps it going.
    wait_for(Duration::from_secs(12), "a fresh login", || {
        (vault.metrics().logins >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let secret = vault.kv_secret("secret", "app/x");
    let value = secret.ready(READY).await.unwrap();
    assert_eq!(value.field("v").unwrap().expose(), "value-0000000001");
    assert!(vault.metrics().token.available);
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_is_read_again_when_its_token_runs_out() {
    capture_logs();
    let lab = Lab::start();
    lab.kv_put("app/x", json!({"v": "value-0000000002"}));
    let short = lab.create_token(Duration::from_secs(2), Duration::from_secs(3));
    std::fs::write(lab.token_file(), &short).unwrap();
    let auth = Auth::Token {
        file: lab.token_file(),
    };
    let vault = Vault::connect(lab.settings(&lab.bao.address(), auth))
        .await
        .unwrap();
    // Whoever provisions the token (Vault Agent, an operator) writes the
    // next one before the first runs out.
    let next = lab.create_token(Duration::from_secs(60), Duration::from_secs(600));
    std::fs::write(lab.token_file(), &next).unwrap();
    wait_for(Duration::from_secs(10), "the new token", || {
        (vault.metrics().logins >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let secret = vault.kv_secret("secret", "app/x");
    assert!(secret.ready(READY).await.is_ok());
    vault.shutdown().await;
    assert_not_leaked(&[short, next], &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_kv_version_is_picked_up_without_restart() {
    capture_logs();
    let lab = Lab::start();
    lab.kv_put(
        "app/rotating",
        json!({"token": "first-secret-value", "n": 1}),
    );
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.token_auth()))
        .await
        .unwrap();
    let secret = vault.kv_secret("secret", "app/rotating");
    let same = vault.kv_secret("secret", "app/rotating");
    let first = secret.ready(READY).await.unwrap();
    assert_eq!(first.field("token").unwrap().expose(), "first-secret-value");
    assert_eq!(first.field("n").unwrap().expose(), "1");
    assert_eq!(secret.generation(), 1);
    let mut changes = secret.subscribe();

    lab.kv_put("app/rotating", json!({"token": "second-secret-value"}));
    tokio::time::timeout(Duration::from_secs(5), changes.changed())
        .await
        .expect("a change within a few polls")
        .unwrap();
    let second = same.current().unwrap();
    assert_eq!(second.version(), 2);
    assert_eq!(
        second.field("token").unwrap().expose(),
        "second-secret-value"
    );
    assert_eq!(same.generation(), 2);
    // The value in hand stays what it was.
    assert_eq!(first.field("token").unwrap().expose(), "first-secret-value");
    // Between versions, polls read only the metadata: no new generation.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(secret.generation(), 2);

    let missing = vault.kv_secret("secret", "app/none");
    let err = missing.ready(READY).await.unwrap_err();
    assert!(
        err.reason()
            .contains("KV secret secret/app/none is not available yet"),
        "{err}"
    );
    assert!(err.reason().contains("404"), "{err}");
    vault.shutdown().await;
    assert_not_leaked(
        &["first-secret-value".into(), "second-secret-value".into()],
        &[],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_vault_with_a_custom_ca() {
    capture_logs();
    let bao = maskgate_secrets::testing::OpenBao::start_tls();
    assert_eq!(bao.address().scheme(), "https");
    bao.api(
        "POST",
        "secret/data/app/tls",
        Some(json!({"data": {"token": "over-tls-0123456789"}})),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, bao.root_token()).unwrap();
    let mut settings =
        maskgate_secrets::VaultSettings::new(bao.address(), Auth::Token { file: file.clone() });
    settings.poll_interval = Duration::from_millis(200);

    // Without the CA, the certificate is not trusted: unreachable, said so.
    let err = Vault::connect(settings.clone()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");

    settings.ca_file = bao.ca_file().map(ToOwned::to_owned);
    let vault = Vault::connect(settings).await.unwrap();
    assert!(vault.health().await.unwrap().is_ok());
    let secret = vault.kv_secret("secret", "app/tls");
    let value = secret.ready(READY).await.unwrap();
    assert_eq!(
        value.field("token").unwrap().expose(),
        "over-tls-0123456789"
    );
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_is_sent_with_every_request() {
    capture_logs();
    let bao = maskgate_secrets::testing::OpenBao::start();
    bao.api("POST", "sys/namespaces/team1", Some(json!({})));
    bao.api(
        "POST",
        "team1/sys/mounts/kv",
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    );
    bao.api(
        "POST",
        "team1/kv/data/app/ns",
        Some(json!({"data": {"token": "in-namespace-0123456789"}})),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = root_settings(&bao, dir.path());
    settings.namespace = Some("team1".into());
    let vault = Vault::connect(settings).await.unwrap();
    let secret = vault.kv_secret("kv", "app/ns");
    let value = secret.ready(READY).await.unwrap();
    assert_eq!(
        value.field("token").unwrap().expose(),
        "in-namespace-0123456789"
    );
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_client_stops_its_background_work() {
    capture_logs();
    let lab = Lab::start();
    lab.kv_put("app/dropped", json!({"v": "value-0000000003"}));
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.token_auth()))
        .await
        .unwrap();
    let secret = vault.kv_secret("secret", "app/dropped");
    secret.ready(READY).await.unwrap();
    drop(vault);
    lab.kv_put("app/dropped", json!({"v": "value-0000000004"}));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // No task polls any more: the value stays the one it had.
    assert_eq!(secret.generation(), 1);
    assert!(secret.current().is_ok());
}

#[test]
fn the_services_are_installed_here() {
    maskgate_secrets::testing::check_installed().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_leads_to_a_fresh_login() {
    capture_logs();
    let lab = Lab::start();
    lab.kv_put("app/revoked", json!({"v": "value-before-revoke"}));
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.approle_auth()))
        .await
        .unwrap();
    let secret = vault.kv_secret("secret", "app/revoked");
    secret.ready(READY).await.unwrap();
    // Revoke every token with the gateway policy (the client's login).
    let accessors = lab.bao.api("LIST", "auth/token/accessors", None);
    for accessor in accessors["data"]["keys"].as_array().unwrap() {
        let info = lab.bao.api(
            "POST",
            "auth/token/lookup-accessor",
            Some(json!({"accessor": accessor})),
        );
        let policies = info["data"]["policies"].to_string();
        if policies.contains("gateway") {
            lab.bao.api(
                "POST",
                "auth/token/revoke-accessor",
                Some(json!({"accessor": accessor})),
            );
        }
    }
    lab.kv_put("app/revoked", json!({"v": "value-after-revoke"}));
    // The next poll is denied; the token is checked, found dead, and a
    // fresh login picks the new version up.
    wait_for(
        Duration::from_secs(10),
        "the new version after a fresh login",
        || {
            let v = secret.current().ok()?;
            (v.field("v")?.expose() == "value-after-revoke").then_some(())
        },
    )
    .await;
    assert_eq!(vault.metrics().logins, 2);
    vault.shutdown().await;
}
