//! The gateway with its secrets from a real OpenBao dev server and a real
//! PostgreSQL (started by `maskgate_secrets::testing`): upstream credentials
//! from KV and the database engine, a PKI client certificate for mTLS to
//! the upstream, transit data keys for stored-encrypted fields, and what
//! happens when OpenBao becomes unreachable.

use crate::support;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use base64::Engine as _;
use maskgate_secrets::{
    Auth,
    testing::{Lab, LabOptions, Relay},
};
use serde_json::json;
use support::{
    PLAINTEXT_GATEWAY, StoringUpstream, TestCa, TestGateway, Upstream, assert_gateway_error, body,
    client, product,
};

/// The `[vault]` section for a gateway logging in to `address` with the
/// lab's token (a file), polling every 200 ms.
fn vault_section(lab: &Lab, address: &url::Url) -> String {
    let Auth::Token { file } = lab.token_auth() else {
        unreachable!("token_auth gives a token login")
    };
    format!(
        r#"
[vault]
address = "{address}"
poll_interval = "200ms"
timeout = "2s"
[vault.auth]
method = "token"
token_file = "{}"
"#,
        file.display()
    )
}

/// Polls `check` every 100 ms until it holds, for up to `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends GET `path` through `gateway` and returns the `Authorization` header
/// the upstream received with it.
async fn authorization_seen(gateway: &TestGateway, upstream: &Upstream, path: &str) -> String {
    let reply = client::send(&client::h1(), client::get(&gateway.url(path))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = upstream
        .requests()
        .pop()
        .expect("the upstream saw the request");
    seen.header("authorization")
        .expect("the gateway added the credential")
        .to_owned()
}

fn bao_socket(lab: &Lab) -> SocketAddr {
    lab.bao
        .address()
        .socket_addrs(|| None)
        .expect("a loopback address")[0]
}

/// A KV v2 secret becomes the upstream's bearer token; a new version
/// written to OpenBao is used without a restart; a client's own
/// `Authorization` never reaches the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_credential_is_injected_and_a_new_version_is_picked_up() {
    let lab = Lab::start();
    lab.kv_put("app/orders-api", json!({"token": "kv-token-one-5f1c"}));
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{vault}{product}
[product.credentials]
source = "kv"
path = "app/orders-api"
inject = {{ header = "Authorization", value = "Bearer {{{{token}}}}" }}
"#,
        vault = vault_section(&lab, &lab.bao.address()),
        product = product("orders", "/orders", &upstream.url()),
    ))
    .await;

    assert_eq!(
        authorization_seen(&gateway, &upstream, "/orders/1").await,
        "Bearer kv-token-one-5f1c"
    );
    let mut spoofed = client::get(&gateway.url("/orders/1"));
    spoofed
        .headers_mut()
        .insert("authorization", "Bearer from-the-client".parse().unwrap());
    assert_eq!(client::send(&client::h1(), spoofed).await.status, 200);
    assert_eq!(
        upstream.requests().pop().unwrap().header("authorization"),
        Some("Bearer kv-token-one-5f1c")
    );

    lab.kv_put("app/orders-api", json!({"token": "kv-token-two-9e2d"}));
    eventually("the new KV version", Duration::from_secs(10), async || {
        authorization_seen(&gateway, &upstream, "/orders/2").await == "Bearer kv-token-two-9e2d"
    })
    .await;
}

/// A dynamic PostgreSQL credential goes upstream as basic auth; it works
/// in PostgreSQL, its lease is renewed (`VALID UNTIL` moves), and the role
/// is gone once the gateway has shut down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_credential_is_injected_renewed_and_revoked_at_shutdown() {
    let lab = Lab::start();
    let upstream = Upstream::ok().await;
    let audit = support::audit::AuditDir::new();
    let mut gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{vault}{audit}{product}
[product.credentials]
source = "database"
role = "app-ro"
inject = {{ basic = {{ username = "{{{{username}}}}", password = "{{{{password}}}}" }} }}
"#,
        vault = vault_section(&lab, &lab.bao.address()),
        audit = audit.section(""),
        product = product("ledger", "/ledger", &upstream.url()),
    ))
    .await;

    let header = authorization_seen(&gateway, &upstream, "/ledger").await;
    let encoded = header.strip_prefix("Basic ").expect("basic auth");
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    let (user, password) = decoded.split_once(':').expect("user:password");
    assert!(lab.pg.can_login(user, password), "the credential works");
    let first = lab
        .pg
        .role_valid_until(user)
        .expect("the role exists while the gateway runs");

    // The lab's role lives 6 s; the gateway renews at about 4 s.
    eventually("a lease renewal", Duration::from_secs(15), async || {
        lab.pg
            .role_valid_until(user)
            .is_some_and(|now| now != first)
    })
    .await;
    // Renewal keeps the credential: the upstream still gets the same one.
    assert_eq!(
        authorization_seen(&gateway, &upstream, "/ledger").await,
        header
    );

    gateway.begin_shutdown();
    gateway.stopped().await;
    assert_eq!(
        lab.pg.role_valid_until(user),
        None,
        "the lease is revoked at shutdown"
    );
    assert!(!lab.pg.can_login(user, password));

    // Each forwarded request's audit record names the lease it used,
    // HMAC'd; the credential itself is in no line.
    let records = audit.records();
    assert!(!records.is_empty());
    for record in &records {
        let leases = record["leases"].as_array().expect("a leases list");
        assert_eq!(leases.len(), 1, "{record}");
        assert!(
            leases[0].as_str().unwrap().starts_with("hmac-sha256:"),
            "{record}"
        );
    }
    for line in audit.lines() {
        assert!(!line.contains(password) && !line.contains(user), "{line}");
    }
}

/// An upstream that requires a client certificate from OpenBao's PKI CA:
/// the gateway presents one issued for it, and keeps working when it is
/// re-issued, presenting the new one on new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pki_client_certificate_for_mtls_survives_a_reissue() {
    let lab = Lab::start();
    let server_ca = TestCa::new("upstream CA");
    let mut client_roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(lab.pki_ca_pem().as_bytes()) {
        client_roots.add(cert.expect("a PEM certificate")).unwrap();
    }
    let upstream = Upstream::start_tls(
        server_ca
            .issue("upstream")
            .server_config_requiring_clients(client_roots),
        |_| async { http::Response::new(body::full("ok")) },
    )
    .await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{vault}
[[product]]
name = "secure"
route = {{ path_prefix = "/secure" }}
[product.upstream]
url = "{url}"
ca = "{ca}"
# No idle connections kept: every request shows which certificate a new
# connection presents.
pool_max_idle = 0

[product.upstream.client_certificate]
source = "pki"
role = "gw-client"
common_name = "maskgate.gateway.test"
ttl = "15s"
"#,
        vault = vault_section(&lab, &lab.bao.address()),
        url = upstream.url(),
        ca = server_ca.ca_path().display(),
    ))
    .await;

    let presented = async || {
        let reply = client::send(&client::h1(), client::get(&gateway.url("/secure"))).await;
        assert_eq!(reply.status, 200, "mTLS to the upstream: {}", reply.text());
        upstream
            .requests()
            .pop()
            .unwrap()
            .peer_certificate
            .expect("the gateway presented a client certificate")
    };
    let first = presented().await;
    // Re-issued at about two thirds of 15 s.
    eventually(
        "a re-issued certificate",
        Duration::from_secs(30),
        async || presented().await != first,
    )
    .await;
    // And it keeps working on the new one.
    let second = presented().await;
    assert_ne!(second, first);
}

/// Fields stored encrypted with transit data keys: encrypted on the way
/// in, opened on the way out; after the transit key is rotated new writes
/// use a new data key while the old envelope still opens; and a second
/// gateway instance opens what the first one wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_data_keys_survive_rotation_and_are_shared_between_instances() {
    let lab = Lab::start();
    let upstream = StoringUpstream::start().await;
    let config = format!(
        r#"{PLAINTEXT_GATEWAY}{vault}{product}
[masking.transit]
key = "fields"
registry = {{ path = "maskgate/keyring" }}
"#,
        vault = vault_section(&lab, &lab.bao.address()),
        product = support::upstream::stored_card_product(&upstream.url(), "store = \"encrypted\""),
    );
    let first = TestGateway::start(&config).await;
    let http = client::h1();
    let write = async |gateway: &TestGateway, card: &str| {
        let mut request = http::Request::post(gateway.url("/accounts"))
            .body(body::full(format!(
                r#"{{"owner":"Jane","card_number":"{card}"}}"#
            )))
            .unwrap();
        request
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        let reply = client::send(&http, request).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let stored = upstream.stored();
        assert!(!stored.contains(card), "stored in clear: {stored}");
        let envelope: serde_json::Value = serde_json::from_str(&stored).unwrap();
        envelope["card_number"].as_str().unwrap().to_owned()
    };
    let read = async |gateway: &TestGateway| {
        let reply = client::send(&http, client::get(&gateway.url("/accounts"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["card_number"].as_str().unwrap().to_owned()
    };
    let key_id = |envelope: &str| envelope.split(':').nth(1).unwrap().to_owned();

    let old = write(&first, "4111 1111 1111 1111").await;
    assert!(old.starts_with("mg1:"), "{old}");
    assert_eq!(read(&first).await, "**** **** **** 1111");

    lab.rotate_transit_key();
    eventually(
        "a data key under the new transit version",
        Duration::from_secs(10),
        async || key_id(&write(&first, "5500 0000 0000 0004").await) != key_id(&old),
    )
    .await;
    assert_eq!(read(&first).await, "**** **** **** 0004");
    upstream.store(&format!(r#"{{"owner":"Jane","card_number":"{old}"}}"#));
    assert_eq!(
        read(&first).await,
        "**** **** **** 1111",
        "the old envelope still opens"
    );

    let second = TestGateway::start(&config).await;
    assert_eq!(read(&second).await, "**** **** **** 1111");
    write(&second, "6011 0000 0000 0012").await;
    assert_eq!(
        read(&first).await,
        "**** **** **** 0012",
        "the first opens what the second wrote"
    );
}

/// OpenBao unreachable: the credential in memory keeps serving until its
/// lease ends, then the product answers 503 saying why; once OpenBao is
/// reachable again, service resumes without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_outage_serves_from_cache_until_the_lease_ends_then_fails_closed_and_recovers() {
    let lab = Lab::start_with(LabOptions::default());
    let relay = Relay::start(bao_socket(&lab));
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{vault}{product}
[product.credentials]
source = "database"
role = "app-ro"
inject = {{ header = "X-Db-User", value = "{{{{username}}}}" }}
"#,
        vault = vault_section(&lab, &relay.address()),
        product = product("ledger", "/ledger", &upstream.url()),
    ))
    .await;
    let http = client::h1();
    let status = async || {
        client::send(&http, client::get(&gateway.url("/ledger")))
            .await
            .status
    };
    assert_eq!(status().await, 200);

    relay.down();
    let down_at = Instant::now();
    // Still served from memory right after the outage began.
    assert_eq!(status().await, 200);
    eventually("the lease to end", Duration::from_secs(20), async || {
        status().await == 503
    })
    .await;
    assert!(
        down_at.elapsed() >= Duration::from_secs(1),
        "the cached credential served for a while"
    );
    let reply = client::send(&http, client::get(&gateway.url("/ledger"))).await;
    assert_gateway_error(&reply, 503, "secrets_unavailable");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("ledger") && message.contains("expired"),
        "the message says which product and why: {message}"
    );

    relay.up();
    eventually("recovery", Duration::from_secs(30), async || {
        status().await == 200
    })
    .await;
}

/// Every file under `dir`, recursively, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// The real binary, logging at debug level, with a KV token, a database
/// credential and a client certificate from OpenBao, scraped and stopped:
/// none of the secrets OpenBao issued (nor the gateway's own Vault token)
/// is in its log, its files or its metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_from_vault_appears_in_logs_files_or_metrics() {
    let lab = Lab::start();
    let kv_token = "kv-canary-7d3e9a41c5";
    lab.kv_put("app/reports", json!({"token": kv_token}));
    let upstream = Upstream::ok().await;
    let ledger = Upstream::ok().await;
    let Auth::Token { file: token_file } = lab.token_auth() else {
        unreachable!()
    };
    let gateway_token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    let mut gateway = support::ChildGateway::start_logging(
        &format!(
            r#"{vault}{reports}
[product.credentials]
source = "kv"
path = "app/reports"
inject = {{ header = "X-Api-Token", value = "{{{{token}}}}" }}
{ledger}
[product.credentials]
source = "database"
role = "app-ro"
inject = {{ headers = {{ "X-Db-User" = "{{{{username}}}}", "X-Db-Password" = "{{{{password}}}}" }} }}
"#,
            vault = vault_section(&lab, &lab.bao.address()),
            reports = product("reports", "/reports", &upstream.url()),
            ledger = product("ledger", "/ledger", &ledger.url()),
        ),
        Some("debug"),
    )
    .await;
    let http = client::h1();
    for path in ["/reports", "/ledger"] {
        let reply = client::send(&http, client::get(&gateway.url(path))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let seen = ledger.requests().pop().unwrap();
    let db_user = seen.header("x-db-user").unwrap().to_owned();
    let db_password = seen.header("x-db-password").unwrap().to_owned();
    assert_eq!(
        upstream.requests().pop().unwrap().header("x-api-token"),
        Some(kv_token)
    );
    let metrics = client::send(&http, client::get(&gateway.admin_url("/metrics")))
        .await
        .text()
        .to_owned();
    assert!(
        metrics.contains("maskgate_vault_lease_seconds_left"),
        "{metrics}"
    );
    gateway.terminate();
    assert!(gateway.exited().await.success());

    let secrets = [
        kv_token,
        db_user.as_str(),
        db_password.as_str(),
        gateway_token.as_str(),
    ];
    let mut places = files_under(gateway.dir());
    places.push(("/metrics".into(), metrics.into_bytes()));
    assert!(
        places
            .iter()
            .any(|(_, bytes)| bytes.windows(5).any(|w| w == b"DEBUG")),
        "the log was written at debug level"
    );
    for (path, bytes) in &places {
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret issued by OpenBao is in {}",
                path.display()
            );
        }
    }
}

/// An API key whose hash is kept in Vault (`hash_from`): accepted while the
/// secret holds its hash; a new hash written to the secret takes over
/// without a restart (the old key is refused from then on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_hashes_come_from_vault_and_follow_the_secret() {
    let lab = Lab::start();
    let (old_key, old_hash) = maskgate_authn::ApiKeys::generate("reporting").unwrap();
    let (new_key, new_hash) = maskgate_authn::ApiKeys::generate("reporting").unwrap();
    lab.kv_put("app/api-keys", json!({ "reporting": old_hash }));
    let upstream = Upstream::ok().await;
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{vault}
[authn]
[[authn.api_key]]
id = "reporting"
hash_from = {{ path = "app/api-keys", field = "reporting" }}
roles = ["analyst"]
{product}
access = {{ roles = ["analyst"] }}
"#,
        vault = vault_section(&lab, &lab.bao.address()),
        product = product("reports", "/reports", &upstream.url()),
    ))
    .await;
    let http = client::h1();
    let status_with = async |key: &str| {
        let mut request = client::get(&gateway.url("/reports"));
        request
            .headers_mut()
            .insert("x-api-key", key.parse().unwrap());
        client::send(&http, request).await.status
    };
    let old_key = old_key.expose_str().unwrap().to_owned();
    let new_key = new_key.expose_str().unwrap().to_owned();
    assert_eq!(status_with(&old_key).await, 200);
    assert_eq!(status_with(&new_key).await, 401);

    lab.kv_put("app/api-keys", json!({ "reporting": new_hash }));
    eventually("the new hash", Duration::from_secs(10), async || {
        status_with(&new_key).await == 200
    })
    .await;
    assert_eq!(status_with(&old_key).await, 401);
}
