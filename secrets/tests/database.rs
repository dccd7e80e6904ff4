//! Dynamic database credentials: issued, used, renewed, replaced before the
//! max TTL, revoked at shutdown; against a real OpenBao and PostgreSQL.

mod support;

use std::time::Duration;

use maskgate_secrets::{
    Template, Vault,
    testing::{Lab, LabOptions},
};
use support::{assert_not_leaked, capture_logs, wait_for};

/// A lab whose database role has these TTLs.
fn lab(default_ttl: u64, max_ttl: u64) -> Lab {
    let mut options = LabOptions::default();
    options.db_default_ttl = Duration::from_secs(default_ttl);
    options.db_max_ttl = Duration::from_secs(max_ttl);
    Lab::start_with(options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_is_issued_renewed_and_revoked_at_shutdown() {
    capture_logs();
    let lab = lab(4, 120);
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.approle_auth()))
        .await
        .unwrap();
    let watched = vault.database_credential("database", "app-ro");
    let credential = watched.ready(Duration::from_secs(10)).await.unwrap();
    let user = credential.username().expose().to_owned();
    let password = credential.password().expose().to_owned();
    assert!(lab.pg.can_login(&user, &password), "the credential works");
    assert!(credential.lease_id().starts_with("database/creds/app-ro/"));
    let debug = format!("{credential:?}");
    assert!(
        !debug.contains(&password) && !debug.contains(&user),
        "{debug}"
    );
    let basic = credential
        .render(&Template::parse("{{username}}:{{password}}").unwrap())
        .unwrap();
    assert_eq!(basic.expose(), format!("{user}:{password}"));

    // Renewed at about two thirds of 4 s: VALID UNTIL moves, the lease end
    // too, the credential stays the same.
    let first_valid_until = lab.pg.role_valid_until(&user).expect("the role exists");
    let first_end = watched.expires_at().unwrap();
    let moved = wait_for(Duration::from_secs(8), "VALID UNTIL to move", || {
        let now = lab.pg.role_valid_until(&user)?;
        (now != first_valid_until).then_some(now)
    })
    .await;
    assert!(
        moved > first_valid_until,
        "{moved} after {first_valid_until}"
    );
    assert!(watched.expires_at().unwrap() > first_end);
    assert_eq!(watched.generation(), 1);
    assert_eq!(watched.current().unwrap().lease_id(), credential.lease_id());
    // Well past the first TTL, it still works.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        lab.pg.can_login(&user, &password),
        "still valid after renewals"
    );
    let metrics = vault.metrics();
    let db = metrics
        .values
        .iter()
        .find(|v| v.kind == "database")
        .unwrap();
    assert!(db.available && db.seconds_left.unwrap() > 0.0, "{db:?}");
    assert_eq!(db.renewal_failures, 0);

    vault.shutdown().await;
    assert_eq!(
        lab.pg.role_valid_until(&user),
        None,
        "the role is dropped at shutdown"
    );
    assert!(!lab.pg.can_login(&user, &password));
    assert_not_leaked(&[user, password], &[&lab.dir()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_credential_is_issued_before_the_max_ttl() {
    capture_logs();
    let lab = lab(3, 7);
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.token_auth()))
        .await
        .unwrap();
    let watched = vault.database_credential("database", "app-ro");
    let first = watched.ready(Duration::from_secs(10)).await.unwrap();
    let max_end = first.issued_at() + Duration::from_secs(7);
    let mut changes = watched.subscribe();
    changes.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("a new credential before the max TTL")
        .unwrap();
    let second = watched.current().unwrap();
    assert_ne!(second.lease_id(), first.lease_id());
    assert_ne!(second.username().expose(), first.username().expose());
    assert!(
        std::time::SystemTime::now() < max_end,
        "replaced before the first one's max TTL"
    );
    // Both work during the overlap; the new one is what is served.
    assert!(
        lab.pg
            .can_login(second.username().expose(), second.password().expose())
    );
    assert!(
        lab.pg
            .can_login(first.username().expose(), first.password().expose())
    );
    assert_eq!(watched.generation(), 2);

    vault.shutdown().await;
    for credential in [&first, &second] {
        assert_eq!(
            lab.pg.role_valid_until(credential.username().expose()),
            None
        );
    }
}
