//! Graceful shutdown: in-flight requests finish, nothing new is accepted,
//! readiness drops while draining, and the grace period is a hard limit.
//! In-process through `Gateway::run`'s shutdown future, and with the real
//! binary on SIGTERM.

use crate::support;

use http::StatusCode;
use support::{
    ChildGateway, PLAINTEXT_GATEWAY, Reply, TestGateway, Upstream, body, client, product,
};
use tokio::{sync::watch, task::JoinHandle};

/// The body the slow upstream answers with once released: large enough to
/// span many frames.
const SLOW_BODY_LEN: usize = 256 * 1024;

/// An upstream whose answers wait until the test opens the gate.
struct GatedUpstream {
    upstream: Upstream,
    gate: watch::Sender<bool>,
}

impl GatedUpstream {
    async fn start() -> Self {
        let (gate, opened) = watch::channel(false);
        let upstream = Upstream::start(move |_| {
            let mut opened = opened.clone();
            async move {
                let _ = opened.wait_for(|open| *open).await;
                http::Response::new(body::full(vec![b'z'; SLOW_BODY_LEN]))
            }
        })
        .await;
        Self { upstream, gate }
    }

    fn open(&self) {
        self.gate.send_replace(true);
    }
}

/// Sends a GET for `url` in the background; the result is the reply or the
/// error, as text.
fn in_background(url: String) -> JoinHandle<Result<Reply, String>> {
    tokio::spawn(async move {
        client::try_send(&client::h1(), client::get(&url))
            .await
            .map_err(|e| format!("{e:?}"))
    })
}

/// Polls `url` until it answers `status`.
async fn wait_for_status(url: &str, status: StatusCode) {
    let client = client::h1();
    support::within("the admin status changing", async {
        loop {
            let reply = client::send(&client, client::get(url)).await;
            if reply.status == status {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Waits until a TCP connection to `addr` is refused.
async fn wait_until_refused(addr: std::net::SocketAddr) {
    support::within("the listener closing", async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A gateway draining with one request in flight.
struct Draining {
    gateway: TestGateway,
    slow: GatedUpstream,
    /// The request: arrived at the upstream, unanswered until `slow` opens.
    in_flight: JoinHandle<Result<Reply, String>>,
}

/// Starts a gateway with `shutdown_grace` in front of a gated upstream,
/// puts one request in flight, and begins shutdown.
async fn draining(shutdown_grace: &str) -> Draining {
    let slow = GatedUpstream::start().await;
    let mut gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.timeouts]
shutdown_grace = "{shutdown_grace}"
{}"#,
        product("slow", "/slow", &slow.upstream.url())
    ))
    .await;
    let in_flight = in_background(gateway.url("/slow"));
    slow.upstream.wait_for_requests(1).await;
    gateway.begin_shutdown();
    Draining {
        gateway,
        slow,
        in_flight,
    }
}

/// A request in flight when shutdown begins completes with 200 and its
/// whole body; then `run` returns.
#[tokio::test]
async fn in_flight_request_completes_during_shutdown() {
    let Draining {
        mut gateway,
        slow,
        in_flight,
    } = draining("30s").await;
    wait_until_refused(gateway.addr()).await;

    slow.open();
    let reply = support::within("the in-flight request", in_flight)
        .await
        .expect("the client task does not panic")
        .expect("the in-flight request completes");

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), SLOW_BODY_LEN);
    gateway.stopped().await;
}

/// While draining, `/readyz` answers 503 (so load balancers move away)
/// and new connections are refused, while `/healthz` still answers 200.
#[tokio::test]
async fn draining_gateway_is_not_ready_and_refuses_connections() {
    let Draining {
        mut gateway,
        slow,
        in_flight,
    } = draining("30s").await;

    wait_for_status(
        &gateway.admin_url("/readyz"),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    wait_until_refused(gateway.addr()).await;
    let health = client::send(&client::h1(), client::get(&gateway.admin_url("/healthz"))).await;
    assert_eq!(health.status, 200);
    assert!(!in_flight.is_finished(), "the request is still in flight");

    slow.open();
    let reply = support::within("the in-flight request", in_flight)
        .await
        .expect("the client task does not panic");
    assert_eq!(reply.expect("the request completes").status, 200);
    gateway.stopped().await;
}

/// A request still in flight when `shutdown_grace` is over is cut: its
/// connection is closed, the client gets an error, and `run` returns.
#[tokio::test]
async fn request_in_flight_past_the_grace_period_is_cut() {
    let Draining {
        mut gateway,
        slow: _slow,
        in_flight,
    } = draining("300ms").await;

    gateway.stopped().await;
    let result = support::within("the cut request", in_flight)
        .await
        .expect("the client task does not panic");

    assert!(result.is_err(), "the request was not cut: {result:?}");
}

/// The real binary on SIGTERM: stops being ready and accepting, lets the
/// in-flight request finish with its whole body, and exits successfully.
#[tokio::test]
async fn sigterm_drains_the_real_binary() {
    let slow = GatedUpstream::start().await;
    let mut child = ChildGateway::start(&format!(
        r#"
[server.timeouts]
shutdown_grace = "30s"
{}"#,
        product("slow", "/slow", &slow.upstream.url())
    ))
    .await;
    let in_flight = in_background(child.url("/slow"));
    slow.upstream.wait_for_requests(1).await;

    child.terminate();
    wait_for_status(&child.admin_url("/readyz"), StatusCode::SERVICE_UNAVAILABLE).await;
    wait_until_refused(child.addr()).await;
    assert!(!in_flight.is_finished(), "the request is still in flight");
    slow.open();
    let reply = support::within("the in-flight request", in_flight)
        .await
        .expect("the client task does not panic")
        .unwrap_or_else(|e| panic!("the in-flight request failed: {e}\n{}", child.logs()));

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), SLOW_BODY_LEN);
    let status = child.exited().await;
    assert!(status.success(), "exit status {status}\n{}", child.logs());
}
