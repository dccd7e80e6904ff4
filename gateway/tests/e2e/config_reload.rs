//! Reloading the configuration while the gateway serves: a valid one
//! applies to new requests (on open connections too), an invalid one is
//! refused and the running one stays; SIGHUP does it for `maskgate serve`.

use crate::support;

use http::Response;
use maskgate::ReloadError;
use support::{
    ChildGateway, PLAINTEXT_GATEWAY, TestGateway, Upstream, assert_gateway_error, body, client,
    gateway::config, product,
};

/// An upstream that answers with its own name.
async fn named(name: &'static str) -> Upstream {
    Upstream::start(move |_| async move { Response::new(body::full(name)) }).await
}

/// A reload re-routes a product for the next request on the same
/// connection, and an API key removed by a reload stops working.
#[tokio::test]
async fn a_reload_applies_to_the_next_request() {
    let (a, b) = (named("a").await, named("b").await);
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("p", "/p", &a.url())
    ))
    .await;
    let http = client::h1();
    let before = client::send(&http, client::get(&gateway.url("/p/x"))).await;
    assert_eq!(before.text(), "a");

    let needs_restart = gateway
        .reloader()
        .reload(&config(&format!(
            "{PLAINTEXT_GATEWAY}{}",
            product("p", "/p", &b.url())
        )))
        .expect("a valid configuration reloads");
    assert!(needs_restart.is_empty(), "{needs_restart:?}");
    // The pooled client connection to the gateway stays open: the same
    // connection now reaches the new upstream.
    let after = client::send(&http, client::get(&gateway.url("/p/x"))).await;
    assert_eq!(after.text(), "b");

    // A product the new configuration drops is gone.
    gateway
        .reloader()
        .reload(&config(&format!(
            "{PLAINTEXT_GATEWAY}{}",
            product("q", "/q", &b.url())
        )))
        .unwrap();
    let gone = client::send(&http, client::get(&gateway.url("/p/x"))).await;
    assert_gateway_error(&gone, 404, "no_route");

    let metrics = client::send(&http, client::get(&gateway.admin_url("/metrics"))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_config_reloads_total{result="applied"} 2"#),
        "{}",
        metrics.text()
    );
}

/// Revoking an API key is a configuration change picked up on reload.
#[tokio::test]
async fn a_revoked_api_key_stops_working_after_reload() {
    let upstream = Upstream::ok().await;
    let (key, hash) = maskgate_authn::ApiKeys::generate("billing").unwrap();
    let key = key.expose_str().unwrap().to_owned();
    let with_keys = |keys: &str| {
        format!(
            r#"{PLAINTEXT_GATEWAY}
[authn]
{keys}
[[authn.api_key]]
id = "other"
hash = "sha256:{zeros}"
roles = ["analyst"]

[[product]]
name = "p"
route = {{ path_prefix = "/p" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["analyst"] }}
"#,
            zeros = "0".repeat(64),
            url = upstream.url(),
        )
    };
    let billing =
        format!("[[authn.api_key]]\nid = \"billing\"\nhash = \"{hash}\"\nroles = [\"analyst\"]\n");
    let gateway = TestGateway::start(&with_keys(&billing)).await;
    let http = client::h1();
    let call = || {
        let mut request = client::get(&gateway.url("/p/1"));
        request
            .headers_mut()
            .insert("x-api-key", key.parse().unwrap());
        request
    };
    assert_eq!(client::send(&http, call()).await.status, 200);

    gateway.reloader().reload(&config(&with_keys(""))).unwrap();
    let revoked = client::send(&http, call()).await;
    assert_gateway_error(&revoked, 401, "unauthenticated");
}

/// An invalid file is refused with its errors, and the running
/// configuration keeps serving.
#[tokio::test]
async fn an_invalid_configuration_is_refused_and_the_old_one_stays() {
    let upstream = named("a").await;
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}",
        product("p", "/p", &upstream.url())
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "[server]\n[[server.listener]]\naddress = \"127.0.0.1:0\"\nplantext = true\n",
    )
    .unwrap();

    let error = gateway.reloader().reload_file(&file).unwrap_err();
    let ReloadError::Invalid(invalid) = &error else {
        panic!("expected an invalid configuration, got {error}");
    };
    assert!(invalid.to_string().contains("plantext"), "{invalid}");

    let http = client::h1();
    let still = client::send(&http, client::get(&gateway.url("/p/x"))).await;
    assert_eq!(still.text(), "a");
    let metrics = client::send(&http, client::get(&gateway.admin_url("/metrics"))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_config_reloads_total{result="invalid"} 1"#)
    );
}

/// `maskgate serve` reloads its file on SIGHUP, and refuses a broken one
/// without stopping.
#[tokio::test]
async fn sighup_reloads_the_real_binary() {
    let (a, b) = (named("a").await, named("b").await);
    let mut child = ChildGateway::start(&product("p", "/p", &a.url())).await;
    let http = client::h1();
    assert_eq!(
        client::send(&http, client::get(&child.url("/p/x")))
            .await
            .text(),
        "a"
    );

    child.rewrite_config(&product("p", "/p", &b.url()));
    child.hangup();
    support::within("the reload to apply", async {
        loop {
            let reply = client::send(&http, client::get(&child.url("/p/x"))).await;
            if reply.text() == "b" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;

    child.rewrite_config("[[product]]\nname = \"p\"\nroute = { path_prefix = \"/p\" }\n");
    child.hangup();
    support::within("the refusal to be logged", async {
        while !child.logs().contains("configuration reload refused") {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        client::send(&http, client::get(&child.url("/p/x")))
            .await
            .text(),
        "b",
        "the running configuration stays"
    );
    child.terminate();
    assert!(child.exited().await.success());
}

/// With `server.watch_config`, `maskgate serve` reloads its file when the
/// content changes, without a signal.
#[tokio::test]
async fn a_watched_file_reloads_on_change() {
    let (a, b) = (named("a").await, named("b").await);
    let watched = |url: &str| {
        format!(
            "[server]\nwatch_config = \"100ms\"\n{}",
            product("p", "/p", url)
        )
    };
    let child = ChildGateway::start(&watched(&a.url())).await;
    let http = client::h1();
    assert_eq!(
        client::send(&http, client::get(&child.url("/p/x")))
            .await
            .text(),
        "a"
    );
    child.rewrite_config(&watched(&b.url()));
    support::within("the watched file to reload", async {
        loop {
            if client::send(&http, client::get(&child.url("/p/x")))
                .await
                .text()
                == "b"
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A policy change applies on SIGHUP like any other; a masking
/// configuration that does not compile (two selectors outside the
/// streamable subset) is refused as invalid, every problem at its line, and
/// the running policy keeps protecting.
#[tokio::test]
async fn a_policy_reloads_and_a_broken_one_is_refused_at_its_lines() {
    let upstream = Upstream::start(|_| async {
        let mut response = Response::new(body::full(
            r#"{"email":"jane@example.com","card":"4111 1111 1111 1111"}"#,
        ));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    })
    .await;
    let masked = |email_selector: &str, card_selector: &str, email_action: &str| {
        format!(
            r#"{}
[[product.field]]
path = "{email_selector}"
class = "email"

[[product.field]]
path = "{card_selector}"
class = "card_number"

[product.masking]
unclassified = "pass"

[[policy]]
name = "everyone"
default = true
actions = {{ email = {email_action}, "*" = {{ action = "redact" }} }}
"#,
            product("p", "/p", &upstream.url())
        )
    };
    let mut child = ChildGateway::start(&masked(
        "$.email",
        "$.card",
        r#"{ action = "mask", preset = "email" }"#,
    ))
    .await;
    let http = client::h1();
    let fetch = || async {
        client::send(&http, client::get(&child.url("/p/x")))
            .await
            .text()
            .to_string()
    };
    assert_eq!(fetch().await, r#"{"email":"j***@example.com","card":null}"#);

    child.rewrite_config(&masked("$.email", "$.card", r#"{ action = "drop" }"#));
    child.hangup();
    support::within("the new policy to apply", async {
        while fetch().await != r#"{"card":null}"# {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;

    child.rewrite_config(&masked(
        "$.email[?(@.x)]",
        "$.card.length()",
        r#"{ action = "pass" }"#,
    ));
    child.hangup();
    support::within("the refusal to be logged", async {
        while !child.logs().contains("configuration reload refused") {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let logs = child.logs();
    let config = child.dir().join("maskgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let line_of = |needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    for (selector, field) in [("$.email[?(@.x)]", 0), ("$.card.length()", 1)] {
        let at = format!(
            "{}:{}:1: product[0].field[{field}].path",
            config.display(),
            line_of(selector)
        );
        assert!(logs.contains(&at), "{at} not in:\n{logs}");
    }
    assert_eq!(
        fetch().await,
        r#"{"card":null}"#,
        "the running policy stays"
    );
    let metrics = client::send(&http, client::get(&child.admin_url("/metrics"))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_config_reloads_total{result="invalid"} 1"#),
        "{}",
        metrics.text()
    );
    child.terminate();
    assert!(child.exited().await.success());
}
