//! Bearer tokens verified against a JWKS the gateway fetches over HTTPS, on
//! real sockets: a JWKS server on loopback with a certificate from a test CA
//! (the issuer's `jwks_ca`), counting its connections, switching key sets
//! and going down on command; an upstream recording what reaches it.
//!
//! Covered: a valid token reaches the product without its credentials; a
//! rotated key is picked up without restart; a storm of unknown `kid`s makes
//! at most one fetch; a key server that stays down means last good keys,
//! then 503 (not 401), then recovery, and one down at start-up means 503
//! until it is up; bad claims are refused with a Bearer challenge; roles,
//! methods and purposes decide access; API keys.

use crate::support;

use std::{collections::BTreeMap, time::Duration};

use futures_util::{StreamExt, stream};
use http::{Method, Request};
use maskgate_authn::ApiKeys;
use ring::rand::SystemRandom;
use serde_json::json;
use support::{
    Es256Key, JwksServer, PLAINTEXT_GATEWAY, Reply, TestBody, TestCa, TestGateway, Upstream,
    assert_gateway_error, client, jwt, product, within,
};

/// The identity provider of one test: its CA, its signing key and the JWKS
/// server publishing it.
struct Idp {
    ca: TestCa,
    key: Es256Key,
    server: JwksServer,
}

impl Idp {
    async fn start() -> Self {
        let ca = TestCa::new("identity provider CA");
        let key = Es256Key::generate("key-2024");
        let server = JwksServer::start(&ca, &jwt::jwks(&[&key])).await;
        Self { ca, key, server }
    }

    /// `[authn]` with this issuer; `timing` sets `jwks_refresh`,
    /// `jwks_cooldown` and `jwks_max_stale` (TOML lines); `rest` follows
    /// (API keys, products).
    fn gateway_config(&self, timing: &str, rest: &str) -> String {
        format!(
            r#"{PLAINTEXT_GATEWAY}
[authn]

[[authn.jwt]]
issuer = "{}"
audiences = ["{}"]
jwks_url = "{}"
jwks_ca = "{}"
{timing}
{rest}"#,
            jwt::ISSUER,
            jwt::AUDIENCE,
            self.server.url(),
            self.ca.ca_path().display(),
        )
    }
}

/// A product `customers` for the `analyst` role (purposes `support` and
/// `fraud-investigation`), and `payments` for `fraud`, both at `upstream`.
fn products(upstream: &Upstream) -> String {
    format!(
        "{}access = {{ roles = [\"analyst\"], purposes = [\"support\", \"fraud-investigation\"] }}\n{}access = {{ roles = [\"fraud\"] }}\n",
        product("customers", "/customers", &upstream.url()),
        product("payments", "/payments", &upstream.url()),
    )
}

/// `method url` with `Authorization: Bearer token` and further headers.
fn bearer_request(
    method: Method,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> Request<TestBody> {
    let mut request = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(support::body::empty())
        .expect("a valid request")
}

fn bearer(url: &str, token: &str) -> Request<TestBody> {
    bearer_request(Method::GET, url, token, &[])
}

/// Checks a 401 for a refused token: the gateway's JSON error, a Bearer
/// challenge, a message containing `says`, and nothing of the token.
fn assert_refused_token(reply: &Reply, token: &str, says: &str) {
    assert_gateway_error(reply, 401, "unauthenticated");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"maskgate\""),
        "a Bearer challenge: {challenge:?}"
    );
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains(says), "{message:?} should say {says:?}");
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!reply.text().contains(part), "the error echoes the token");
    }
}

/// A valid token reaches the product; the upstream sees the request but
/// not the `Authorization` header. The JWKS was fetched over HTTPS from the
/// server the test CA vouches for.
#[tokio::test]
async fn a_valid_token_reaches_the_product_without_its_credentials() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config("", &products(&upstream))).await;
    let client = client::h1();

    let token = idp
        .key
        .sign(&jwt::claims("ana.analyst@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&gateway.url("/customers/42"), &token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.text(), "ok");

    let seen = upstream.only_request();
    assert_eq!(seen.path_and_query(), "/customers/42");
    assert_eq!(seen.header("authorization"), None, "{:#?}", seen.headers);
    assert!(idp.server.fetches() >= 1, "the JWKS was fetched");

    // The same token again (now from the token cache) is still accepted.
    let reply = client::send(&client, bearer(&gateway.url("/customers/43"), &token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// The issuer rotates: its JWKS now holds only a new key with a new `kid`.
/// A token signed by the new key is accepted without restarting the
/// gateway (at the latest once the unknown-`kid` cooldown has passed);
/// the old key's token, accepted and cached before, is refused now; and a
/// further new-key token needs no further fetch.
#[tokio::test]
async fn a_rotated_key_is_accepted_without_restart() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config(
        "jwks_refresh = \"1h\"\njwks_cooldown = \"1s\"\njwks_max_stale = \"2h\"",
        &products(&upstream),
    ))
    .await;
    let client = client::h1();
    let url = gateway.url("/customers/1");

    let old_token = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &old_token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let before = idp.server.connections();

    let new_key = Es256Key::generate("key-2025");
    idp.server.set_jwks(&jwt::jwks(&[&new_key]));
    let new_token = new_key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let mut refusals = 0;
    within("the new key being accepted", async {
        loop {
            let reply = client::send(&client, bearer(&url, &new_token)).await;
            if reply.status == 200 {
                break;
            }
            // Within the cooldown of the last fetch, the kid is unknown.
            assert_refused_token(&reply, &new_token, "not valid");
            refusals += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let after = idp.server.connections();
    assert!(
        after > before,
        "the rotation was picked up by a fetch ({before} -> {after}, {refusals} refusals first)"
    );

    let reply = client::send(&client, bearer(&url, &old_token)).await;
    assert_refused_token(&reply, &old_token, "not valid");

    let another = new_key.sign(&jwt::claims("bob@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &another)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        idp.server.connections(),
        after,
        "a known kid needs no fetch"
    );
}

/// 10,000 tokens naming random `kid`s, 64 at a time over one HTTP/2
/// connection: every one is refused with 401, and the JWKS server sees at
/// most one fetch for the whole storm (cooldown 1h). The gateway serves
/// valid tokens before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_storm_makes_at_most_one_fetch() {
    const STORM: usize = 10_000;
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config(
        "jwks_refresh = \"1h\"\njwks_cooldown = \"1h\"\njwks_max_stale = \"2h\"",
        &products(&upstream),
    ))
    .await;
    let client = client::h2c();
    let url = gateway.url("/customers/1");

    let valid = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &valid)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let before = idp.server.connections();

    let rng = SystemRandom::new();
    let claims = jwt::claims("mallory@attacker.example", &["analyst"]);
    let outcomes: Vec<(u16, String)> = stream::iter(0..STORM)
        .map(|_| {
            let token = idp.key.sign_as(&jwt::random_kid(&rng), &claims);
            let (client, request) = (client.clone(), bearer(&url, &token));
            async move {
                let reply = client::send(&client, request).await;
                let code = reply.json()["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (reply.status.as_u16(), code)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut tally: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for outcome in outcomes {
        *tally.entry(outcome).or_default() += 1;
    }
    assert_eq!(
        tally,
        BTreeMap::from([((401, "unauthenticated".to_owned()), STORM)]),
        "every token with an unknown kid is refused"
    );

    let during = idp.server.connections() - before;
    assert!(
        during <= 1,
        "{during} JWKS fetches during the storm (at most one per cooldown)"
    );
    let reply = client::send(&client, bearer(&url, &valid)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream.requests().len(), 2, "only the valid requests");
}

/// The JWKS endpoint goes down (connections closed before TLS). The last
/// good keys keep serving, cached and new tokens alike, while they are
/// younger than `jwks_max_stale`; then requests fail closed with 503
/// `key_server_unavailable` saying the key server is unreachable, never
/// 401 (the tokens are fine). Once the endpoint is back, tokens are
/// accepted again without restart.
#[tokio::test]
async fn a_key_server_that_is_down_serves_last_good_keys_then_503_then_recovers() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config(
        "jwks_refresh = \"1s\"\njwks_cooldown = \"1s\"\njwks_max_stale = \"2s\"",
        &products(&upstream),
    ))
    .await;
    let client = client::h1();
    let url = gateway.url("/customers/1");
    let token = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // Just after a scheduled refresh, the key server goes down.
    let fetched = idp.server.fetches();
    idp.server.wait_for_fetches(fetched + 1).await;
    idp.server.go_down();
    let down_since = idp.server.connections();

    // The last good keys serve: the cached token, and one never seen.
    let reply = client::send(&client, bearer(&url, &token)).await;
    assert_eq!(
        reply.status, 200,
        "last good keys, cached token: {:?}",
        reply.body
    );
    let fresh = idp.key.sign(&jwt::claims("bob@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &fresh)).await;
    assert_eq!(
        reply.status, 200,
        "last good keys, new token: {:?}",
        reply.body
    );

    // Beyond max_stale: 503, not 401.
    let unavailable = within("the keys going stale", async {
        loop {
            let reply = client::send(&client, bearer(&url, &token)).await;
            match reply.status.as_u16() {
                200 => tokio::time::sleep(Duration::from_millis(100)).await,
                503 => return reply,
                other => panic!("while the keys age: {other} {:?}", reply.body),
            }
        }
    })
    .await;
    assert_gateway_error(&unavailable, 503, "key_server_unavailable");
    let message = unavailable.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("key server") && message.contains("unreachable"),
        "{message}"
    );
    assert_eq!(unavailable.header("www-authenticate"), None);
    let another = idp
        .key
        .sign(&jwt::claims("carol@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &another)).await;
    assert_gateway_error(&reply, 503, "key_server_unavailable");
    assert!(
        idp.server.connections() > down_since,
        "the gateway kept trying the key server"
    );

    // Back up: accepted again, without restart.
    idp.server.come_back();
    within("recovery", async {
        loop {
            let reply = client::send(&client, bearer(&url, &token)).await;
            match reply.status.as_u16() {
                200 => break,
                503 => tokio::time::sleep(Duration::from_millis(100)).await,
                other => panic!("while the key server comes back: {other} {:?}", reply.body),
            }
        }
    })
    .await;
    let reply = client::send(&client, bearer(&url, &another)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// A key server that is down when the gateway starts: there are no last
/// good keys, so tokens get 503 at once (fail closed, not 401); once it is
/// up, the next fetch (after the cooldown) brings the keys.
#[tokio::test]
async fn a_key_server_down_at_start_means_503_until_it_is_up() {
    let idp = Idp::start().await;
    idp.server.go_down();
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config(
        "jwks_refresh = \"1h\"\njwks_cooldown = \"1s\"\njwks_max_stale = \"2h\"",
        &products(&upstream),
    ))
    .await;
    let client = client::h1();
    let url = gateway.url("/customers/1");
    let token = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));

    let reply = client::send(&client, bearer(&url, &token)).await;
    assert_gateway_error(&reply, 503, "key_server_unavailable");
    assert!(idp.server.connections() >= 1, "the gateway tried");
    assert_eq!(idp.server.fetches(), 0);

    idp.server.come_back();
    within("the first key set", async {
        loop {
            let reply = client::send(&client, bearer(&url, &token)).await;
            match reply.status.as_u16() {
                200 => break,
                503 => tokio::time::sleep(Duration::from_millis(100)).await,
                other => panic!("while the key server comes up: {other} {:?}", reply.body),
            }
        }
    })
    .await;
    assert_eq!(upstream.requests().len(), 1);
}

/// Properly signed tokens whose claims must be refused: expired, not yet
/// valid, issued in the future, for another audience, from another issuer,
/// without `exp`, and too large. Each is a 401 with a Bearer challenge and
/// a message that says what is wrong without echoing the token; the
/// controls (expired within the leeway, an audience list naming the
/// gateway) pass.
#[tokio::test]
async fn tokens_with_bad_claims_are_refused_with_a_bearer_challenge() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config("", &products(&upstream))).await;
    let client = client::h1();
    let url = gateway.url("/customers/1");
    let now = jwt::now();
    let base = jwt::claims("ana@corp.example", &["analyst"]);

    let refused = [
        (
            "expired",
            json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
            "expired",
        ),
        (
            "not yet valid",
            json!({"nbf": now + 3600, "exp": now + 7200}),
            "not valid yet",
        ),
        (
            "issued in the future",
            json!({"iat": now + 3600, "exp": now + 7200}),
            "not valid yet",
        ),
        (
            "for another audience",
            json!({"aud": "another-service"}),
            "not meant for this gateway",
        ),
        (
            "from another issuer",
            json!({"iss": "https://evil.example"}),
            "not valid",
        ),
        ("without exp", json!({"exp": null}), "not valid"),
        (
            "too large",
            json!({"padding": "A".repeat(9 * 1024)}),
            "too large",
        ),
    ];
    for (what, changes, says) in refused {
        let token = idp.key.sign(&jwt::with(base.clone(), changes));
        let reply = client::send(&client, bearer(&url, &token)).await;
        assert_eq!(reply.status, 401, "a token {what}: {:?}", reply.body);
        assert_refused_token(&reply, &token, says);
    }
    assert!(upstream.requests().is_empty(), "{:#?}", upstream.requests());

    let accepted = [
        ("expired within the leeway", json!({"exp": now - 10})),
        (
            "with an audience list naming the gateway",
            json!({"aud": ["another-service", jwt::AUDIENCE]}),
        ),
    ];
    for (what, changes) in accepted {
        let token = idp.key.sign(&jwt::with(base.clone(), changes));
        let reply = client::send(&client, bearer(&url, &token)).await;
        assert_eq!(reply.status, 200, "a token {what}: {:?}", reply.body);
    }
}

/// Access after authentication: a role the product does not allow, a
/// method it does not allow, a purpose it does not list, or a token without
/// roles: 403 saying which rule refused (never echoing the purpose sent);
/// a listed purpose: 200.
#[tokio::test]
async fn roles_methods_and_purposes_decide_access() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&idp.gateway_config("", &products(&upstream))).await;
    let client = client::h1();
    let analyst = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let customers = gateway.url("/customers/7");

    let reply = client::send(&client, bearer(&gateway.url("/payments/1"), &analyst)).await;
    assert_gateway_error(&reply, 403, "forbidden");
    assert!(reply.text().contains("roles"), "{}", reply.text());

    let nobody = idp.key.sign(&jwt::claims("nobody@corp.example", &[]));
    let reply = client::send(&client, bearer(&customers, &nobody)).await;
    assert_gateway_error(&reply, 403, "forbidden");

    let reply = client::send(
        &client,
        bearer_request(Method::DELETE, &customers, &analyst, &[]),
    )
    .await;
    assert_gateway_error(&reply, 403, "forbidden");
    assert!(reply.text().contains("method"), "{}", reply.text());

    let reply = client::send(
        &client,
        bearer_request(
            Method::GET,
            &customers,
            &analyst,
            &[("x-purpose", "marketing-campaign")],
        ),
    )
    .await;
    assert_gateway_error(&reply, 403, "forbidden");
    assert!(reply.text().contains("purpose"), "{}", reply.text());
    assert!(!reply.text().contains("marketing"), "{}", reply.text());
    assert!(upstream.requests().is_empty(), "{:#?}", upstream.requests());

    let reply = client::send(
        &client,
        bearer_request(
            Method::GET,
            &customers,
            &analyst,
            &[("x-purpose", "support")],
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = client::send(&client, bearer(&customers, &analyst)).await;
    assert_eq!(reply.status, 200, "no purpose declared: {:?}", reply.body);
    assert_eq!(upstream.requests().len(), 2);
}

/// API keys next to JWTs: the configured key authenticates (200) and is
/// not forwarded; an unknown key is 401 with the product's challenges; a
/// key and a token at once are refused; a product that accepts only
/// tokens refuses a key-authenticated caller with 403.
#[tokio::test]
async fn api_keys_authenticate_and_are_never_forwarded() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let (key, hash) = ApiKeys::generate("reporting").expect("generate an API key");
    let key = key.expose_str().expect("a text key").to_owned();
    let (unknown_key, _) = ApiKeys::generate("reporting").expect("generate an API key");
    let unknown_key = unknown_key.expose_str().expect("a text key").to_owned();
    let gateway = TestGateway::start(&idp.gateway_config(
        "",
        &format!(
            "\n[[authn.api_key]]\nid = \"reporting\"\nhash = \"{hash}\"\nsubject = \"reporting-service\"\nroles = [\"analyst\"]\n{}{}access = {{ roles = [\"analyst\"], auth_methods = [\"jwt\"] }}\n",
            products(&upstream),
            product("tokens-only", "/tokens-only", &upstream.url()),
        ),
    ))
    .await;
    let client = client::h1();
    let with_key = |path: &str, key: &str| {
        Request::get(gateway.url(path))
            .header("x-api-key", key)
            .body(support::body::empty())
            .expect("a valid request")
    };

    let reply = client::send(&client, with_key("/customers/1", &key)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let seen = upstream.only_request();
    assert_eq!(seen.header("x-api-key"), None, "{:#?}", seen.headers);
    assert_eq!(seen.header("authorization"), None);

    let reply = client::send(&client, with_key("/customers/1", &unknown_key)).await;
    assert_gateway_error(&reply, 401, "unauthenticated");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="maskgate", ApiKey realm="maskgate", header="x-api-key""#)
    );
    assert!(
        reply.text().contains("API key is not valid"),
        "{}",
        reply.text()
    );
    assert!(
        !reply.text().contains(&unknown_key),
        "the key is not echoed"
    );

    let token = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let mut both = with_key("/customers/1", &key);
    both.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    let reply = client::send(&client, both).await;
    assert_gateway_error(&reply, 401, "unauthenticated");

    let reply = client::send(&client, with_key("/tokens-only/1", &key)).await;
    assert_gateway_error(&reply, 403, "forbidden");
    let reply = client::send(&client, bearer(&gateway.url("/tokens-only/1"), &token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream.requests().len(), 2);
}

/// A configuration reload builds a new verifier; for an issuer whose
/// `jwks_url` and `jwks_ca` did not change it takes over the last good
/// keys, so a reload while the key server is down does not fail every
/// token (and a reload makes no fetch of its own). An issuer whose JWKS
/// source changed starts afresh: 503 until its new source answers.
#[tokio::test]
async fn a_reload_during_a_key_server_outage_keeps_the_last_good_keys() {
    let idp = Idp::start().await;
    let upstream = Upstream::ok().await;
    let timing = "jwks_refresh = \"1h\"\njwks_cooldown = \"1s\"\njwks_max_stale = \"2h\"";
    let toml = idp.gateway_config(timing, &products(&upstream));
    let gateway = TestGateway::start(&toml).await;
    let client = client::h1();
    let url = gateway.url("/customers/1");
    let token = idp.key.sign(&jwt::claims("ana@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let connections = idp.server.connections();

    idp.server.go_down();
    // A change elsewhere in the configuration: one more product.
    let changed = format!(
        "{toml}{}access = {{ roles = [\"analyst\"] }}\n",
        product("orders", "/orders", &upstream.url())
    );
    gateway
        .reloader()
        .reload(&support::gateway::config(&changed))
        .expect("the reload applies");
    let reply = client::send(&client, bearer(&gateway.url("/orders/1"), &token)).await;
    assert_eq!(
        reply.status, 200,
        "the new configuration serves: {:?}",
        reply.body
    );
    let fresh = idp.key.sign(&jwt::claims("bob@corp.example", &["analyst"]));
    let reply = client::send(&client, bearer(&url, &fresh)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        idp.server.connections(),
        connections,
        "the reload made no fetch"
    );

    // The issuer's JWKS URL changes (same server, another query): its keys
    // are not taken over, and the new source is down.
    let moved = changed.replace(
        &format!("jwks_url = \"{}\"", idp.server.url()),
        &format!("jwks_url = \"{}?v=2\"", idp.server.url()),
    );
    assert_ne!(moved, changed);
    gateway
        .reloader()
        .reload(&support::gateway::config(&moved))
        .expect("the reload applies");
    let reply = client::send(&client, bearer(&url, &token)).await;
    assert_gateway_error(&reply, 503, "key_server_unavailable");

    idp.server.come_back();
    within("the moved JWKS being fetched", async {
        loop {
            let reply = client::send(&client, bearer(&url, &token)).await;
            match reply.status.as_u16() {
                200 => break,
                503 => tokio::time::sleep(Duration::from_millis(100)).await,
                other => panic!("while the key server comes back: {other} {:?}", reply.body),
            }
        }
    })
    .await;
}
