//! The gateway in-process: bound from TOML text, run on the test's runtime,
//! stopped through the shutdown future that [`maskgate::Gateway::run`] takes.

use std::{net::SocketAddr, path::Path};

use maskgate::{Gateway, Reloader};
use maskgate_config::Config;
use tokio::{sync::oneshot, task::JoinHandle};

use super::within;

/// Parses configuration text as the tests write it.
pub fn config(toml: &str) -> Config {
    Config::from_str(toml, Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("test configuration is invalid: {e}\n{toml}"))
}

/// A running in-process gateway.
pub struct TestGateway {
    listen: Vec<SocketAddr>,
    admin: Option<SocketAddr>,
    reloader: Reloader,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestGateway {
    /// Binds a gateway configured by `toml` and runs it in the background.
    pub async fn start(toml: &str) -> Self {
        let gateway = Gateway::bind(&config(toml))
            .await
            .unwrap_or_else(|e| panic!("the gateway cannot start: {e}"));
        let listen = gateway.listen_addrs().to_vec();
        let admin = gateway.admin_addr();
        let reloader = gateway.reloader();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.run(async {
            let _ = stopped.await;
        }));
        Self {
            listen,
            admin,
            reloader,
            stop: Some(stop),
            task,
        }
    }

    /// The first listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.listen[0]
    }

    /// `http://ADDR{path}` on the first listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// `http://ADMIN{path}` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        let admin = self.admin.expect("the admin listener is enabled");
        format!("http://{admin}{path}")
    }

    /// Its configuration reloader.
    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

    /// Resolves the gateway's shutdown future: it stops accepting and
    /// starts draining.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for [`Gateway::run`] to return.
    pub async fn stopped(&mut self) {
        within("the gateway's shutdown", &mut self.task)
            .await
            .expect("the gateway task does not panic");
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}
