//! `maskgate demo` as a child process, on ephemeral ports, ready once it
//! has written `demo.json`.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use maskgate::demo::DemoInfo;
use tempfile::TempDir;

use super::{child, within};

/// A running `maskgate demo`; killed if still running when dropped.
pub struct DemoProcess {
    child: Child,
    dir: TempDir,
    /// What the demo wrote to `demo.json`.
    pub info: DemoInfo,
}

impl DemoProcess {
    /// Starts `maskgate demo` with `extra` arguments, every listener on a
    /// free loopback port, and waits for `demo.json`.
    pub async fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let demo_dir = dir.path().join("demo");
        let mut child = Command::new(env!("CARGO_BIN_EXE_maskgate"))
            .arg("demo")
            .arg("--dir")
            .arg(&demo_dir)
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout.log")).expect("create stdout.log"))
            .stderr(File::create(dir.path().join("stderr.log")).expect("create stderr.log"))
            .spawn()
            .expect("start maskgate demo");
        let info_path = demo_dir.join("demo.json");
        let info = within("demo.json to appear", async {
            loop {
                if let Ok(bytes) = std::fs::read(&info_path) {
                    return serde_json::from_slice(&bytes).expect("demo.json is a DemoInfo");
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let stderr = read(&dir.path().join("stderr.log"));
                    panic!("maskgate demo exited with {status}:\n{stderr}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Self { child, dir, info }
    }

    /// The directory the demo writes its files into.
    pub fn demo_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    /// What the demo printed on stdout so far.
    pub fn stdout(&self) -> String {
        read(&self.dir.path().join("stdout.log"))
    }

    /// What the demo logged on stderr so far.
    pub fn stderr(&self) -> String {
        read(&self.dir.path().join("stderr.log"))
    }

    /// Presses Ctrl-C.
    pub fn interrupt(&self) {
        child::signal(self.child.id(), "INT");
    }

    /// Waits for the process to exit.
    pub async fn exited(&mut self) -> ExitStatus {
        child::exited(&mut self.child).await
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
