//! The writer on a filesystem that really fills up (a tiny tmpfs; needs
//! root): commits fail and the writer says it is unavailable; records are
//! buffered up to the bound, the rest counted; once space is back the
//! writer resumes by itself, writes the buffer, and a signed gap line says
//! how many were lost — which the verifier reports.

mod common;

use std::{io::Write, process::Command, time::Duration};

use maskgate_audit::{CommitError, verify_paths};

struct Tmpfs(tempfile::TempDir);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_buffers_counts_losses_and_recovers() {
    let mount = Tmpfs(tempfile::tempdir().unwrap());
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(mount.0.path())
        .status()
        .expect("run mount");
    assert!(status.success(), "cannot mount a tmpfs (needs root)");
    let log = mount.0.path().join("log");
    let mut config = common::config(&log);
    config.rotate_size = u64::MAX;
    config.checkpoint_every = 1000;
    config.max_buffered = 5;
    let (writer, public) = common::start(config);
    let runtime = common::runtime();

    let mut n = 0;
    runtime.block_on(writer.append(&common::record(n))).unwrap();
    n += 1;
    // Fill the filesystem.
    let filler = mount.0.path().join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    while file.write_all(&[0u8; 4096]).is_ok() {}
    drop(file);
    // Records still fit in the file's last page for a while; then a
    // commit fails.
    let mut durable = 1;
    loop {
        let result = runtime.block_on(writer.append(&common::record(n)));
        n += 1;
        match result {
            Ok(()) => durable += 1,
            Err(error) => {
                assert_eq!(error, CommitError::Unavailable);
                break;
            }
        }
        assert!(n < 1000, "the disk never filled");
    }
    assert!(!writer.is_available());
    // During the outage: the failed record is buffered; 4 more fit, the
    // rest are lost.
    let outcomes: Vec<_> = (0..20)
        .map(|_| {
            let commit = writer.append(&common::record(n));
            n += 1;
            runtime.block_on(commit)
        })
        .collect();
    let lost = outcomes
        .iter()
        .filter(|o| **o == Err(CommitError::Lost))
        .count();
    assert_eq!(lost, 16, "{outcomes:?}");
    assert!(outcomes.iter().all(Result::is_err));

    std::fs::remove_file(filler).unwrap();
    for _ in 0..300 {
        if writer.is_available() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(writer.is_available(), "the writer did not resume by itself");
    runtime.block_on(writer.append(&common::record(n))).unwrap();
    writer.shutdown().unwrap();

    let report = verify_paths(&[log], &public).unwrap();
    assert_eq!(report.records, durable + 5 + 1);
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(
        report.problems[0]
            .message
            .starts_with("16 record(s) were lost"),
        "{}",
        report.problems[0]
    );
}
