//! Helpers shared by the secrets integration tests: captured logs and
//! waiting for background work.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::{
    future::Future,
    io::Write,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

/// Everything every test of this binary logged, at TRACE level, from every
/// crate (vaultrs, reqwest and hyper included).
fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(Arc::clone(&logs));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing logs (call first in every test).
pub fn capture_logs() {
    buffer();
}

/// The captured logs so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap()).into_owned()
}

/// The files a [`Lab`](maskgate_secrets::testing::Lab) writes for the
/// logins: the credentials the test hands the client, not what it wrote.
const LOGIN_FILES: [&str; 4] = ["vault-token", "role-id", "secret-id", "jwt"];

/// Fails if any of `secrets` appears in the captured logs or in any file
/// under `dirs` (but the login files).
pub fn assert_not_leaked(secrets: &[String], dirs: &[&std::path::Path]) {
    let logs = logs();
    assert!(logs.len() > 1000, "the logs were not captured: {logs}");
    for secret in secrets {
        assert!(secret.len() >= 8, "too short to scan for: {secret:?}");
        assert!(
            !logs.contains(secret.as_str()),
            "a secret value is in the logs"
        );
    }
    for dir in dirs {
        for file in walk(dir) {
            if file
                .file_name()
                .is_some_and(|name| LOGIN_FILES.iter().any(|l| name == *l))
            {
                continue;
            }
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for secret in secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret value is in {}",
                    file.display()
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after
/// `timeout` saying `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A sync `check` for [`eventually`].
pub async fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    eventually(timeout, what, || std::future::ready(check())).await
}
