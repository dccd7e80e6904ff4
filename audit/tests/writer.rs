//! The writer on real files: durability, rotation, checkpoints, resume,
//! and what the verifier makes of its output.

mod common;

use std::time::Duration;

use maskgate_audit::{CommitError, Options, SigningKey, Writer, verify_paths, verify_paths_with};

#[test]
fn a_clean_log_verifies_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let public = common::write_log(common::config(dir.path()), 60);
    let files = maskgate_audit::expand(&[dir.path().to_owned()]).unwrap();
    assert!(files.len() >= 3, "rotation by size: {files:?}");
    let report = verify_paths(&[dir.path().to_owned()], &public).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.records, 60);
    assert!(report.checkpoints >= 12);
    let last = std::fs::read_to_string(files.last().unwrap()).unwrap();
    let last = last.lines().last().unwrap();
    assert!(
        last.contains("\"t\":\"ckpt\"") && last.contains("\"final\":true"),
        "{last}"
    );
    // Another key does not verify it.
    let (_, other) = SigningKey::generate().unwrap();
    let report = verify_paths(&[dir.path().to_owned()], &other.public_key()).unwrap();
    assert!(!report.is_ok());
}

#[test]
fn a_restarted_instance_continues_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (der, key) = SigningKey::generate().unwrap();
    let public = key.public_key();
    for round in 0..2 {
        let key = SigningKey::from_pkcs8(&der).unwrap();
        let writer = Writer::start(common::config(dir.path()), key).unwrap();
        let runtime = common::runtime();
        runtime.block_on(async {
            for i in 0..7 {
                writer
                    .append(&common::record(round * 100 + i))
                    .await
                    .unwrap();
            }
        });
        writer.shutdown().unwrap();
    }
    let report = verify_paths(&[dir.path().to_owned()], &public).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.records, 14);
}

#[test]
fn time_based_rotation_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.rotate_size = u64::MAX;
    config.checkpoint_every = 1_000_000;
    config.rotate_interval = Duration::from_millis(150);
    config.checkpoint_interval = Duration::from_millis(50);
    let (writer, public) = common::start(config);
    let runtime = common::runtime();
    runtime.block_on(async {
        for i in 0..4 {
            writer.append(&common::record(i)).await.unwrap();
            std::thread::sleep(Duration::from_millis(120));
        }
    });
    writer.shutdown().unwrap();
    let files = maskgate_audit::expand(&[dir.path().to_owned()]).unwrap();
    assert!(files.len() >= 2, "{files:?}");
    let text: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(text.contains("\"reason\":\"interval\""), "{text}");
    assert!(verify_paths(&files, &public).unwrap().is_ok());
}

#[test]
fn not_failing_closed_commits_resolve_at_once_and_shutdown_stops_appends() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.fail_closed = false;
    let (writer, public) = common::start(config);
    let runtime = common::runtime();
    runtime.block_on(async {
        for i in 0..20 {
            writer.append(&common::record(i)).await.unwrap();
        }
    });
    let written = writer.shutdown().unwrap();
    assert_eq!(written.records, 20);
    assert!(!writer.is_available());
    let late = runtime.block_on(writer.append(&common::record(99)));
    assert_eq!(late, Err(CommitError::Stopped));
    assert!(
        verify_paths(&[dir.path().to_owned()], &public)
            .unwrap()
            .is_ok()
    );
}

#[test]
fn bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.instance = "../etc".to_owned();
    let (_, key) = SigningKey::generate().unwrap();
    assert!(Writer::start(config, key).is_err());
}

#[test]
fn a_live_log_verifies_up_to_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, public) = common::start(common::config(dir.path()));
    let runtime = common::runtime();
    runtime.block_on(async {
        for i in 0..7 {
            writer.append(&common::record(i)).await.unwrap();
        }
    });
    let paths = [dir.path().to_owned()];
    // Not finished: no final checkpoint yet.
    let report = verify_paths(&paths, &public).unwrap();
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(report.problems[0].message.contains("final checkpoint"));
    // As a live log: fine, with two records after the last checkpoint.
    let report = verify_paths_with(&paths, &public, Options::live()).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.unsigned_tail["gw-test"], 2);
    writer.shutdown().unwrap();
    let report = verify_paths_with(&paths, &public, Options::live()).unwrap();
    assert!(report.is_ok() && report.unsigned_tail.is_empty());
}
