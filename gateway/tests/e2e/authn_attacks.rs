//! The JWT attack suite: tokens forged at test time by third-party JOSE
//! libraries (PyJWT, jwcrypto; `tests/forge/forge_tokens.py`), never by
//! maskgate's own code, sent through the gateway over real sockets.
//!
//! The trusted issuer signs RS256 with an RSA key `openssl` generates when
//! the test runs; the gateway knows its public key either as a PEM file or
//! from a JWKS served over HTTPS. Every attack (`alg: none` in every
//! capitalization, HS256 keyed with the RSA public key, stripped or
//! truncated signatures, a tampered payload, hostile `kid`s, keys the token
//! brings along in `jwk`, `jku`, `x5u`, `x5c`, bad claims, an oversized
//! token) must be refused; the gateway must go on serving, and the loopback
//! listener the `jku` and `x5u` point at must see no connection at all.

use crate::support;

use std::fmt::Write as _;

use serde_json::json;
use support::{
    JwksServer, PLAINTEXT_GATEWAY, RawUpstream, TestCa, TestGateway, Upstream,
    assert_gateway_error, client, forge, product,
};

const ISSUER: &str = "https://issuer.attack-suite.invalid";
const AUDIENCE: &str = "maskgate";
const KID: &str = "issuer-key-1";

/// How the gateway knows the trusted issuer's key.
enum IssuerKeys<'a> {
    /// `public_keys = [PEM file]`.
    Pem,
    /// `jwks_url` served by this server, trusting this CA.
    Jwks(&'a JwksServer, &'a TestCa),
}

/// What one request with a forged token came back with.
struct Outcome {
    name: String,
    token: String,
    result: Result<support::Reply, String>,
}

/// Runs the whole suite against a gateway whose issuer uses `keys`.
async fn attack_suite(key: &forge::RsaKey, keys: IssuerKeys<'_>) {
    // Before anything else: without the forge's venv the suite fails here,
    // saying how to create it.
    forge::venv_python();
    let upstream = Upstream::ok().await;
    // The listener `jku` and `x5u` point at: it counts connections and
    // answers nothing.
    let trap = RawUpstream::start(|_stream| async {}).await;
    let key_source = match &keys {
        IssuerKeys::Pem => format!("public_keys = [\"{}\"]", key.public_path().display()),
        IssuerKeys::Jwks(server, ca) => format!(
            "jwks_url = \"{}\"\njwks_ca = \"{}\"\njwks_cooldown = \"1h\"\njwks_refresh = \"1h\"\njwks_max_stale = \"2h\"",
            server.url(),
            ca.ca_path().display()
        ),
    };
    // Head limit at its maximum (1MiB; hyper's own ceiling is twice that),
    // so that even the oversized token is read whole and answered by the
    // gateway rather than cut off by the parser.
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.limits]
max_header_bytes = "1MiB"

[authn]

[[authn.jwt]]
issuer = "{ISSUER}"
audiences = ["{AUDIENCE}"]
{key_source}
{}access = {{ roles = ["analyst", "admin", "fraud"] }}
"#,
        product("customers", "/customers", &upstream.url()),
    ))
    .await;

    let forged = tokio::task::spawn_blocking({
        let spec = json!({
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "kid": KID,
            "private_key_pem": key.private_pem,
            "public_key_pem": key.public_pem,
            "claims": { "roles": ["analyst"] },
            "listener_url": format!("https://{}", trap.addr()),
        });
        move || forge::forge(&spec)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert!(
        forged.attacks.len() >= 20,
        "the forge made the attacks: {:?}",
        forged.attacks.keys()
    );

    let client = client::h1();
    let url = gateway.url("/customers/1");
    let bearer = |token: &str| {
        http::Request::get(&url)
            .header("authorization", format!("Bearer {token}"))
            .body(support::body::empty())
            .expect("a valid request")
    };

    // The control: the properly signed token passes.
    let reply = client::send(&client, bearer(&forged.valid)).await;
    assert_eq!(reply.status, 200, "the valid token: {:?}", reply.body);

    let mut outcomes = Vec::new();
    for (name, token) in &forged.attacks {
        let result = client::try_send(&client, bearer(token))
            .await
            .map_err(|e| format!("{e:?}"));
        outcomes.push(Outcome {
            name: name.clone(),
            token: token.clone(),
            result,
        });
    }
    let table = outcomes.iter().fold(String::new(), |mut table, o| {
        let status = match &o.result {
            Ok(reply) => reply.status.as_u16().to_string(),
            Err(error) => format!("no response: {error}"),
        };
        let _ = writeln!(table, "  {:<32} {status}", o.name);
        table
    });
    println!("attack -> status\n{table}");

    for outcome in &outcomes {
        let reply = outcome
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: no response ({e})\n{table}", outcome.name));
        if outcome.name == "oversized" {
            // Refused for its size, by the head limit or the verifier: a
            // client error, never a success or a crash.
            assert!(
                reply.status.is_client_error(),
                "oversized: {}\n{table}",
                reply.status
            );
            continue;
        }
        // 401 exactly: a 403 would mean the forged token authenticated a
        // caller whose roles happened not to be allowed.
        assert_eq!(
            reply.status, 401,
            "{}: {:?}\n{table}",
            outcome.name, reply.body
        );
        assert_gateway_error(reply, 401, "unauthenticated");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer")),
            "{}: a Bearer challenge: {:?}",
            outcome.name,
            reply.headers
        );
        // The refusal says what is wrong, never what was sent.
        for part in outcome.token.split('.').filter(|p| p.len() >= 8) {
            assert!(
                !reply.text().contains(part),
                "{}: the error echoes the token",
                outcome.name
            );
        }
    }

    // The gateway is still serving, and still accepts the real thing.
    let reply = client::send(&client::h1(), bearer(&forged.valid)).await;
    assert_eq!(
        reply.status, 200,
        "the valid token after the attacks: {:?}",
        reply.body
    );
    // Only the two valid requests reached the product, without credentials.
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2, "only the valid token's requests: {seen:#?}");
    assert!(
        seen.iter().all(|s| s.header("authorization").is_none()),
        "credentials are not forwarded"
    );

    // No fetch of a key a token pointed at: connect to the trap ourselves
    // and wait for that connection, so any connection made before it has
    // been counted too; ours must be the only one.
    let _probe = tokio::net::TcpStream::connect(trap.addr())
        .await
        .expect("connect to the trap");
    trap.wait_for_accepted(1).await;
    assert_eq!(
        trap.accepted(),
        1,
        "the jku/x5u listener was contacted by the gateway"
    );

    if let IssuerKeys::Jwks(server, _) = keys {
        // The key set was fetched (the valid token needed it), and tokens
        // naming unknown keys made at most one more fetch (cooldown 1h).
        let connections = server.connections();
        assert!(
            (1..=2).contains(&connections),
            "JWKS connections: {connections}"
        );
    }
}

/// The issuer's key configured as a PEM file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused_by_an_issuer_with_a_static_key() {
    let key = tokio::task::spawn_blocking(forge::RsaKey::generate)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    attack_suite(&key, IssuerKeys::Pem).await;
}

/// The issuer's key served in a JWKS over HTTPS: tokens that name unknown
/// keys may make the gateway fetch the JWKS again (once per cooldown), but
/// never any URL a token names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused_by_an_issuer_with_a_jwks() {
    let key = tokio::task::spawn_blocking(forge::RsaKey::generate)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let ca = TestCa::new("identity provider CA");
    let server = JwksServer::start(&ca, &json!({ "keys": [key.jwk(KID)] })).await;
    attack_suite(&key, IssuerKeys::Jwks(&server, &ca)).await;
}
