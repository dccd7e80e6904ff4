//! The audit log under real failures: a full filesystem (a tiny tmpfs,
//! really filled) makes the gateway refuse with 503 and forward nothing,
//! and service resumes by itself once space is back, with the outage's
//! records written; SIGTERM to the real binary ends the log with its final
//! checkpoint, records of in-flight requests included.

use crate::support;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use http::Response;
use support::{
    ChildGateway, PLAINTEXT_GATEWAY, TestGateway, Upstream,
    audit::{AuditDir, records_in, with_id},
    body, client, product,
};

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "cannot mount a tmpfs (this test needs root): {status}"
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        loop {
            match file.write_all(&block) {
                Ok(()) => {}
                Err(error) => {
                    assert_eq!(error.raw_os_error(), Some(28), "ENOSPC expected: {error}");
                    break;
                }
            }
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_requests_and_service_resumes_by_itself() {
    let tmpfs = Tmpfs::mount("256k");
    let upstream = Upstream::start(|_| async {
        let mut response = Response::new(body::full("{\"secret\":\"UPSTREAM-DATA\"}"));
        response
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        response
    })
    .await;
    let audit = AuditDir::new();
    let log = tmpfs.path().join("log");
    let mut gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}",
        product("data", "/data", &upstream.url()),
        audit.section_at(&log, "")
    ))
    .await;
    let http = client::h1();
    let get = |id: &str| {
        let mut request = client::get(&gateway.url("/data"));
        request
            .headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        request
    };

    let reply = client::send(&http, get("before")).await;
    assert_eq!(reply.status, 200);

    // The disk fills up: requests are refused, nothing reaches the
    // upstream or the client.
    let filler = tmpfs.fill();
    let mut outage_ids = Vec::new();
    let mut refused = None;
    for i in 0..50 {
        let id = format!("outage-{i}");
        let arrived = upstream.requests().len();
        let result = client::try_send(&http, get(&id)).await;
        outage_ids.push(id);
        match result {
            // A request under way when the write failed: its transfer is
            // broken, never complete-looking.
            Err(_) => {}
            Ok(reply) if reply.status == 503 => {
                let id = support::assert_gateway_error(&reply, 503, "audit_unavailable");
                assert!(!reply.text().contains("UPSTREAM-DATA"));
                assert_eq!(upstream.requests().len(), arrived, "nothing forwarded");
                refused = Some(id);
                break;
            }
            // Written into space the file still had.
            Ok(reply) => assert_eq!(reply.status, 200, "{:?}", reply.body),
        }
    }
    assert!(refused.is_some(), "the full disk was never noticed");
    // A load balancer is told to look elsewhere meanwhile.
    let ready = client::send(&http, client::get(&gateway.admin_url("/readyz"))).await;
    assert_eq!(ready.status, 503);
    let metrics = client::send(&http, client::get(&gateway.admin_url("/metrics"))).await;
    assert!(
        metrics.text().contains("maskgate_audit_available 0"),
        "{}",
        metrics.text()
    );
    for i in 0..3 {
        let id = format!("refused-{i}");
        let reply = client::send(&http, get(&id)).await;
        support::assert_gateway_error(&reply, 503, "audit_unavailable");
        outage_ids.push(id);
    }

    // Space comes back: service resumes without anyone's help.
    std::fs::remove_file(filler).unwrap();
    let mut resumed = false;
    for i in 0..100 {
        let id = format!("after-{i}");
        let reply = client::send(&http, get(&id)).await;
        outage_ids.push(id);
        if reply.status == 200 {
            resumed = true;
            assert!(reply.text().contains("UPSTREAM-DATA"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed, "service did not resume once the disk had space");
    let ready = client::send(&http, client::get(&gateway.admin_url("/readyz"))).await;
    assert_eq!(ready.status, 200);
    let metrics = client::send(&http, client::get(&gateway.admin_url("/metrics"))).await;
    let text = metrics.text();
    assert!(text.contains("maskgate_audit_available 1"), "{text}");
    assert!(
        text.contains("maskgate_audit_records_written_total "),
        "{text}"
    );

    // Every request of the outage, the refusals included, has its one
    // record; the log verifies.
    gateway.begin_shutdown();
    gateway.stopped().await;
    let records = records_in(&log);
    assert_eq!(with_id(&records, "before").len(), 1);
    for id in &outage_ids {
        assert_eq!(with_id(&records, id).len(), 1, "record of {id}");
    }
    let refusals = records
        .iter()
        .filter(|r| r["reason"] == "audit_unavailable")
        .count();
    assert!(refusals >= 4, "{refusals}");
    let key = maskgate_audit::PublicKey::load(&audit.public_key()).unwrap();
    let report = maskgate_audit::verify_paths(&[log], &key).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
}

#[tokio::test]
async fn sigterm_ends_the_log_with_its_final_checkpoint() {
    let upstream = Upstream::start(|seen| async move {
        if seen.uri.path() == "/data/slow" {
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        Response::new(body::full("ok"))
    })
    .await;
    let audit = AuditDir::new();
    let mut child = ChildGateway::start(&format!(
        "{}{}",
        product("data", "/data", &upstream.url()),
        audit.section("checkpoint_every = 1000\ncheckpoint_interval = \"1h\"")
    ))
    .await;
    let http = client::h1();
    for _ in 0..5 {
        assert_eq!(
            client::send(&http, client::get(&child.url("/data")))
                .await
                .status,
            200
        );
    }
    // One request in flight when the signal comes: it is drained, and its
    // record written before the final checkpoint.
    let slow = tokio::spawn({
        let http = http.clone();
        let url = child.url("/data/slow");
        async move { client::send(&http, client::get(&url)).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    child.terminate();
    assert_eq!(slow.await.unwrap().status, 200);
    assert!(child.exited().await.success());

    let lines = audit.lines();
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["t"], "ckpt", "{last}");
    assert_eq!(last["final"], true, "{last}");
    assert_eq!(last["reason"], "shutdown", "{last}");
    assert_eq!(audit.records().len(), 6);
    let key = maskgate_audit::PublicKey::load(&audit.public_key()).unwrap();
    let report = maskgate_audit::verify_paths(&[audit.log()], &key).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.records, 6);
}

/// Failing open (`fail_closed = false`), a full disk does not stop service:
/// responses are delivered, and the records wait in the buffer until the
/// disk has space again.
#[tokio::test]
async fn failing_open_a_full_disk_does_not_stop_service() {
    let tmpfs = Tmpfs::mount("256k");
    let upstream = Upstream::ok().await;
    let audit = AuditDir::new();
    let log = tmpfs.path().join("log");
    let mut gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}",
        product("data", "/data", &upstream.url()),
        audit.section_at(&log, "fail_closed = false")
    ))
    .await;
    let http = client::h1();
    let filler = tmpfs.fill();
    for _ in 0..40 {
        let reply = client::send(&http, client::get(&gateway.url("/data"))).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "ok");
    }
    std::fs::remove_file(filler).unwrap();
    gateway.begin_shutdown();
    gateway.stopped().await;
    assert_eq!(records_in(&log).len(), 40);
    let key = maskgate_audit::PublicKey::load(&audit.public_key()).unwrap();
    assert!(maskgate_audit::verify_paths(&[log], &key).unwrap().is_ok());
}

/// Each record names the configuration in force: a reload changes the
/// policy version of the records after it.
#[tokio::test]
async fn records_name_the_policy_version_in_force() {
    let upstream = Upstream::ok().await;
    let audit = AuditDir::new();
    let text = |prefix: &str| {
        format!(
            "{PLAINTEXT_GATEWAY}{}{}",
            product("data", prefix, &upstream.url()),
            audit.section("")
        )
    };
    let gateway = TestGateway::start(&text("/data")).await;
    let http = client::h1();
    assert_eq!(
        client::send(&http, client::get(&gateway.url("/data")))
            .await
            .status,
        200
    );
    gateway
        .reloader()
        .reload(&support::gateway::config(&text("/data2")))
        .unwrap();
    assert_eq!(
        client::send(&http, client::get(&gateway.url("/data2")))
            .await
            .status,
        200
    );
    let records = audit.records();
    assert_eq!(records.len(), 2);
    let (before, after) = (&records[0]["policy"], &records[1]["policy"]);
    assert!(before.as_str().unwrap().starts_with("sha256:"));
    assert_ne!(before, after);
}
