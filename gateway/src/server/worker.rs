//! Workers: the gateway's threads, one per CPU by default.
//!
//! Each worker is an OS thread running a single-threaded tokio runtime with
//! its own listening sockets and its own upstream connection pools (its own
//! [`Proxy`]). A connection, its requests and their upstream connections
//! stay on the thread that accepted them, so a proxied request costs no
//! cross-thread wake-ups: the thread-per-core model of nginx and pingora.
//! Measured against one multi-threaded runtime on the load benchmark, this
//! is what lets throughput keep up with nginx (see `benches/README.md`).

use std::{sync::Arc, time::Duration};

use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{oneshot, watch};

use super::listener::{Listener, Serving};

/// One worker's share of the gateway, ready to run on its own thread.
pub(super) struct Worker {
    pub(super) index: usize,
    pub(super) listeners: Vec<Listener>,
    pub(super) serving: Arc<Serving>,
}

/// A worker thread that has been started but waits for [`WorkerHandle::start`].
pub(super) struct WorkerHandle {
    start: oneshot::Sender<watch::Receiver<bool>>,
    done: oneshot::Receiver<()>,
}

impl WorkerHandle {
    /// Lets the worker serve; it accepts until `stop` fires (or its sender
    /// is dropped). The returned receiver resolves when the thread is done.
    pub(super) fn start(self, stop: watch::Receiver<bool>) -> oneshot::Receiver<()> {
        let _ = self.start.send(stop);
        self.done
    }
}

impl Worker {
    /// Starts the worker's thread and runtime, parked until told to serve:
    /// everything that can fail happens here, at bind time. Once serving
    /// and stopped, it drains for up to `grace`; whatever is still open
    /// then is closed when its runtime ends. Dropping the handle unstarted
    /// ends the thread.
    pub(super) fn spawn(self, grace: Duration) -> std::io::Result<WorkerHandle> {
        let (start_tx, start_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("maskgate-worker-{}", self.index))
            .spawn(move || {
                runtime.block_on(async move {
                    if let Ok(stop) = start_rx.await {
                        self.serve(stop, grace).await;
                    }
                });
                // Dropping the runtime drops every connection task left
                // after the grace period: the cut.
                drop(runtime);
                let _ = done_tx.send(());
            })?;
        Ok(WorkerHandle {
            start: start_tx,
            done: done_rx,
        })
    }

    async fn serve(self, stop: watch::Receiver<bool>, grace: Duration) {
        let graceful = Arc::new(GracefulShutdown::new());
        let mut accepting = tokio::task::JoinSet::new();
        for listener in self.listeners {
            accepting.spawn(listener.run(self.serving.clone(), graceful.clone(), stop.clone()));
        }
        while accepting.join_next().await.is_some() {}
        // The accept loops are gone, and with them every other reference.
        let graceful = Arc::into_inner(graceful).expect("accept loops have ended");
        match tokio::time::timeout(grace, graceful.shutdown()).await {
            Ok(()) => tracing::debug!(worker = self.index, "connections drained"),
            Err(_) => tracing::warn!(
                worker = self.index,
                "shutdown grace period over: closing remaining connections"
            ),
        }
    }
}
