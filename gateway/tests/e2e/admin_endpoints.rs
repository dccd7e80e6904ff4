//! The admin listener: health, readiness, Prometheus metrics, and its own
//! JSON errors.

use crate::support;

use support::{PLAINTEXT_GATEWAY, TestGateway, Upstream, body, client, product};

/// `/healthz` answers 200 while the process serves.
#[tokio::test]
async fn healthz_is_200() {
    let gateway = TestGateway::start(PLAINTEXT_GATEWAY).await;

    let reply = client::send(&client::h1(), client::get(&gateway.admin_url("/healthz"))).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok\n");
}

/// `/readyz` answers 200 once the gateway is bound and running.
#[tokio::test]
async fn readyz_is_200_once_running() {
    let gateway = TestGateway::start(PLAINTEXT_GATEWAY).await;

    let reply = client::send(&client::h1(), client::get(&gateway.admin_url("/readyz"))).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ready\n");
}

/// `/metrics` counts answered requests by product and status, and upstream
/// failures by product and kind.
#[tokio::test]
async fn metrics_count_requests_and_upstream_errors() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}",
        product("customers", "/customers", &upstream.url()),
        product(
            "broken",
            "/broken",
            &format!("http://{}", support::closed_port())
        ),
    ))
    .await;
    let client = client::h1();

    for _ in 0..2 {
        let ok = client::send(&client, client::get(&gateway.url("/customers/1"))).await;
        assert_eq!(ok.status, 200);
    }
    let bad = client::send(&client, client::get(&gateway.url("/broken"))).await;
    assert_eq!(bad.status, 502);
    let unrouted = client::send(&client, client::get(&gateway.url("/nowhere"))).await;
    assert_eq!(unrouted.status, 404);

    let metrics = client::send(&client, client::get(&gateway.admin_url("/metrics"))).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        metrics.headers
    );
    let text = metrics.text();
    for line in [
        r#"maskgate_requests_total{product="customers",status="200"} 2"#,
        r#"maskgate_requests_total{product="broken",status="502"} 1"#,
        r#"maskgate_requests_total{product="-",status="404"} 1"#,
        r#"maskgate_upstream_errors_total{product="broken",kind="upstream_unavailable"} 1"#,
        r#"maskgate_request_duration_seconds_count{product="customers"} 2"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"maskgate_connections_total{listener="public"} "#)),
        "connections are counted per listener:\n{text}"
    );
    assert!(
        !text.contains(r#"maskgate_upstream_errors_total{product="customers""#),
        "no upstream errors for a healthy product:\n{text}"
    );
}

/// An unknown admin path is a 404 in the JSON error shape; other methods
/// than GET are a 405 naming the allowed ones.
#[tokio::test]
async fn unknown_admin_path_is_404_json_and_post_is_405() {
    let gateway = TestGateway::start(PLAINTEXT_GATEWAY).await;
    let client = client::h1();

    let unknown = client::send(&client, client::get(&gateway.admin_url("/admin/secrets"))).await;
    let post = client::send(
        &client,
        http::Request::post(gateway.admin_url("/readyz"))
            .body(body::empty())
            .expect("a valid request"),
    )
    .await;

    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("content-type"), Some("application/json"));
    let json = unknown.json();
    assert_eq!(json["error"]["status"], 404);
    assert_eq!(json["error"]["code"], "not_found");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(post.json()["error"]["code"], "method_not_allowed");
}
