//! Routing: which product a request reaches, and the path and query the
//! upstream receives.

use crate::support;

use support::{
    PLAINTEXT_GATEWAY, TestGateway, Upstream, assert_gateway_error, body, client, product,
};

/// The longest matching prefix wins: `/customers/vip/..` goes to the VIP
/// product even though `/customers` matches too, and everything else under
/// `/customers` to the customers product.
#[tokio::test]
async fn longest_prefix_wins_across_products() {
    let customers = Upstream::ok().await;
    let vip = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}",
        product("customers", "/customers", &customers.url()),
        product("vip", "/customers/vip", &vip.url()),
    ))
    .await;
    let client = client::h1();

    for path in [
        "/customers",
        "/customers/42",
        "/customers/vipX",
        "/customers/vip/7",
    ] {
        let reply = client::send(&client, client::get(&gateway.url(path))).await;
        assert_eq!(reply.status, 200, "{path}");
    }

    let to_customers: Vec<String> = customers
        .requests()
        .iter()
        .map(|s| s.path_and_query().to_owned())
        .collect();
    let to_vip: Vec<String> = vip
        .requests()
        .iter()
        .map(|s| s.path_and_query().to_owned())
        .collect();
    assert_eq!(
        to_customers,
        ["/customers", "/customers/42", "/customers/vipX"]
    );
    assert_eq!(to_vip, ["/customers/vip/7"]);
}

/// Prefixes match whole path segments: `/customersX` is not under
/// `/customers`, and with no catch-all route it is a 404 in the gateway's
/// JSON error shape, with `no_route` and a request id.
#[tokio::test]
async fn prefix_matches_on_segment_boundaries_only() {
    let customers = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("customers", "/customers", &customers.url()),
    ))
    .await;
    let client = client::h1();

    for path in ["/customersX", "/customer", "/", "/other/customers"] {
        let reply = client::send(&client, client::get(&gateway.url(path))).await;
        let id = assert_gateway_error(&reply, 404, "no_route");
        assert!(!id.is_empty(), "{path}");
    }
    assert!(
        customers.requests().is_empty(),
        "nothing reached the upstream"
    );
}

/// A route bound to a host wins over an unbound one with the same prefix
/// for that host (any case, any port), and only for that host.
#[tokio::test]
async fn host_bound_route_wins_for_its_host() {
    let bound = Upstream::ok().await;
    let any = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "bound"
route = {{ path_prefix = "/api", host = "data.example.com" }}
upstream = {{ url = "{}" }}
{}"#,
        bound.url(),
        product("any", "/api", &any.url()),
    ))
    .await;
    let client = client::h1();

    let with_host = |host: &'static str| {
        http::Request::get(gateway.url("/api/x"))
            .header("host", host)
            .body(body::empty())
            .expect("a valid request")
    };
    for host in ["data.example.com", "DATA.Example.COM:8443"] {
        let reply = client::send(&client, with_host(host)).await;
        assert_eq!(reply.status, 200);
    }
    let reply = client::send(&client, with_host("other.example.com")).await;
    assert_eq!(reply.status, 200);
    let reply = client::send(&client, client::get(&gateway.url("/api/y"))).await;
    assert_eq!(reply.status, 200);

    assert_eq!(bound.requests().len(), 2);
    let to_any: Vec<String> = any
        .requests()
        .iter()
        .map(|s| s.path_and_query().to_owned())
        .collect();
    assert_eq!(to_any, ["/api/x", "/api/y"]);
}

/// With `strip_prefix`, the upstream receives the path after the prefix,
/// always rooted; without it, the full path.
#[tokio::test]
async fn strip_prefix_removes_the_route_prefix() {
    let stripped = Upstream::ok().await;
    let kept = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "orders"
route = {{ path_prefix = "/orders", strip_prefix = true }}
upstream = {{ url = "{}" }}
{}"#,
        stripped.url(),
        product("invoices", "/invoices", &kept.url()),
    ))
    .await;
    let client = client::h1();

    for path in [
        "/orders/42",
        "/orders",
        "/orders/",
        "/orders/a/b",
        "/invoices/9",
    ] {
        let reply = client::send(&client, client::get(&gateway.url(path))).await;
        assert_eq!(reply.status, 200, "{path}");
    }

    let paths: Vec<String> = stripped
        .requests()
        .iter()
        .map(|s| s.path_and_query().to_owned())
        .collect();
    assert_eq!(paths, ["/42", "/", "/", "/a/b"]);
    assert_eq!(kept.only_request().path_and_query(), "/invoices/9");
}

/// A path in the upstream URL is prepended to the forwarded path, with
/// exactly one `/` at the joint, with and without `strip_prefix`.
#[tokio::test]
async fn upstream_base_path_is_joined() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[[product]]
name = "inventory"
route = {{ path_prefix = "/inventory", strip_prefix = true }}
upstream = {{ url = "{base}/api/v1/" }}

[[product]]
name = "stock"
route = {{ path_prefix = "/stock" }}
upstream = {{ url = "{base}/api/v2" }}
"#,
        base = upstream.url(),
    ))
    .await;
    let client = client::h1();

    for path in ["/inventory/items/3", "/inventory", "/stock/items"] {
        let reply = client::send(&client, client::get(&gateway.url(path))).await;
        assert_eq!(reply.status, 200, "{path}");
    }

    let paths: Vec<String> = upstream
        .requests()
        .iter()
        .map(|s| s.path_and_query().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["/api/v1/items/3", "/api/v1/", "/api/v2/stock/items"]
    );
}

/// The query string reaches the upstream byte for byte, percent-encoding
/// and repeated keys included.
#[tokio::test]
async fn query_string_is_preserved() {
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("customers", "/customers", &upstream.url()),
    ))
    .await;
    let query = "fields=name,email&q=a%20b%26c&tag=x&tag=y&empty=";

    let reply = client::send(
        &client::h1(),
        client::get(&gateway.url(&format!("/customers/42?{query}"))),
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        upstream.only_request().path_and_query(),
        format!("/customers/42?{query}")
    );
}

/// The 404 body is exactly the documented error object: status, code,
/// message and request id, and nothing else; the client's well-formed
/// request id is echoed.
#[tokio::test]
async fn not_found_body_has_the_documented_shape() {
    let gateway = TestGateway::start(PLAINTEXT_GATEWAY).await;

    let request = http::Request::get(gateway.url("/nowhere"))
        .header("x-request-id", "trace-404")
        .body(body::empty())
        .expect("a valid request");
    let reply = client::send(&client::h1(), request).await;

    let id = assert_gateway_error(&reply, 404, "no_route");
    assert_eq!(id, "trace-404");
    let error = reply.json()["error"].clone();
    let mut keys: Vec<&str> = error
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "request_id", "status"]);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}
