//! Helpers shared by the audit crate's tests.
#![allow(dead_code, unreachable_pub)] // each test file uses a part

use std::{path::Path, time::Duration};

use maskgate_audit::{
    Decision, FieldTreatment, Principal, Record, SigningKey, Writer, WriterConfig,
};

/// A record as the gateway would write it, numbered `n`.
pub fn record(n: u64) -> Record {
    let mut r = Record::new(
        format!("2026-11-25T09:{:02}:{:02}.000000Z", (n / 60) % 60, n % 60),
        format!("req-{n}"),
        "gw-test".to_owned(),
        "GET".to_owned(),
        format!("/customers/{n}"),
    );
    r.product = Some(
        if n.is_multiple_of(3) {
            "orders"
        } else {
            "customers"
        }
        .to_owned(),
    );
    r.principal = Some(Principal::new(
        format!("user-{}", n % 5),
        "jwt".to_owned(),
        vec![
            if n.is_multiple_of(2) {
                "support"
            } else {
                "fraud"
            }
            .to_owned(),
        ],
    ));
    r.status = if n.is_multiple_of(7) { 403 } else { 200 };
    if n.is_multiple_of(7) {
        r.decision = Decision::Refused;
        r.reason = Some("forbidden:role_not_allowed".to_owned());
    } else {
        r.fields.push(FieldTreatment::new(
            "$.email".to_owned(),
            "email".to_owned(),
            if n.is_multiple_of(2) {
                "mask"
            } else {
                "reveal"
            }
            .to_owned(),
            "kept".to_owned(),
            1,
        ));
    }
    r.policy = "sha256:00".to_owned();
    r
}

/// A config for tests: small files, frequent checkpoints.
pub fn config(dir: &Path) -> WriterConfig {
    let mut config = WriterConfig::new(dir, "gw-test");
    config.fsync_interval = Duration::from_millis(1);
    config.rotate_size = 4096;
    config.checkpoint_every = 5;
    config
}

/// A current-thread runtime to await commits on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A writer with a new key; its public key.
pub fn start(config: WriterConfig) -> (Writer, maskgate_audit::PublicKey) {
    let (_, key) = SigningKey::generate().unwrap();
    let public = key.public_key();
    (Writer::start(config, key).unwrap(), public)
}

/// Writes `n` records with `config` and shuts down; the public key.
pub fn write_log(config: WriterConfig, n: u64) -> maskgate_audit::PublicKey {
    let (writer, public) = start(config);
    let runtime = runtime();
    runtime.block_on(async {
        for i in 0..n {
            writer.append(&record(i)).await.unwrap();
        }
    });
    writer.shutdown().unwrap();
    public
}
