//! The real `maskgate` binary as a child process: `maskgate serve` with a
//! configuration written to a temporary directory, ready once its admin
//! `/readyz` answers 200.

use std::{
    fs::File,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use tempfile::TempDir;

use super::{client, within};

/// A `maskgate serve` process; killed if still running when dropped.
pub struct ChildGateway {
    child: Child,
    dir: TempDir,
    listen: SocketAddr,
    admin: SocketAddr,
}

impl ChildGateway {
    /// Starts `maskgate serve` with one plaintext listener, an admin
    /// listener, and `rest` (products, `[server.*]` tables) appended, and
    /// waits until it is ready.
    ///
    /// A child cannot report the ports it bound, so free ports are picked
    /// here; should another process take one first, the child fails to
    /// bind and the start is retried with new ports.
    pub async fn start(rest: &str) -> Self {
        Self::start_logging(rest, None).await
    }

    /// Like [`start`](Self::start), with `RUST_LOG` set to `filter` (e.g.
    /// `"debug"`) when given.
    pub async fn start_logging(rest: &str, filter: Option<&str>) -> Self {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(rest, filter).await {
                Ok(child) => return child,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("maskgate did not start:\n{}", failures.join("\n---\n"));
    }

    async fn try_start(rest: &str, filter: Option<&str>) -> Result<Self, String> {
        let listen = super::closed_port();
        let admin = super::closed_port();
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let config = dir.path().join("maskgate.toml");
        let text = config_text(listen, admin, rest);
        std::fs::write(&config, text).expect("write the configuration");
        let stderr = File::create(dir.path().join("stderr.log")).expect("create the log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_maskgate"));
        if let Some(filter) = filter {
            command.env("RUST_LOG", filter);
        }
        let child = command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn maskgate");
        let mut this = Self {
            child,
            dir,
            listen,
            admin,
        };
        this.wait_ready().await?;
        Ok(this)
    }

    /// Polls `/readyz` until it answers 200; fails if the process exits.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = client::h1();
        let url = self.admin_url("/readyz");
        within("maskgate becoming ready", async {
            loop {
                if let Some(status) = self.child.try_wait().expect("query the child") {
                    return Err(format!("maskgate exited with {status}:\n{}", self.logs()));
                }
                if let Ok(reply) = client::try_send(&client, client::get(&url)).await
                    && reply.status == 200
                {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.listen
    }

    /// `http://ADDR{path}` on the listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }

    /// `http://ADMIN{path}` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// What the process wrote to stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The directory holding its configuration and log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }

    /// The process's peak resident set size so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status of the running child");
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .expect("a VmHWM line");
        let kib: u64 = line
            .trim_start_matches("VmHWM:")
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .expect("VmHWM in kB");
        kib * 1024
    }

    /// Rewrites the configuration file with `rest` in place of the one it
    /// started with (the listeners stay).
    pub fn rewrite_config(&self, rest: &str) {
        std::fs::write(
            self.dir.path().join("maskgate.toml"),
            config_text(self.listen, self.admin, rest),
        )
        .expect("rewrite the configuration");
    }

    /// Sends SIGHUP: reload the configuration.
    pub fn hangup(&self) {
        signal(self.pid(), "HUP");
    }

    /// Sends SIGTERM, as a service manager would.
    pub fn terminate(&self) {
        signal(self.pid(), "TERM");
    }

    /// Waits for the process to exit.
    pub async fn exited(&mut self) -> ExitStatus {
        exited(&mut self.child).await
    }
}

/// The configuration of a child gateway: one plaintext listener, an admin
/// listener, and `rest`.
fn config_text(listen: SocketAddr, admin: SocketAddr, rest: &str) -> String {
    format!(
        r#"
[[server.listener]]
name = "public"
address = "{listen}"
plaintext = true

[admin]
address = "{admin}"
{rest}"#
    )
}

/// Sends `signal` (`"TERM"`, `"INT"`) to `pid` with kill(1): no extra crate.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits (within the hang guard) for `child` to exit.
pub async fn exited(child: &mut Child) -> ExitStatus {
    within("maskgate exiting", async {
        loop {
            if let Some(status) = child.try_wait().expect("query the child") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

impl Drop for ChildGateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
