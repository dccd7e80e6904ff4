//! `[authn]`, client certificates, `[product.access]` and the quotas: parsed
//! with their defaults, and every rule refused with its key path.

use std::path::Path;

use super::{MINIMAL, ORIGIN, at, error_lines, only_diagnostic, parse, write_tls_files};
use crate::{
    AuthMethod, ByteSize, ClientAuth, Config, Duration, JwtAlgorithm, Rate, RateLimit,
    SubjectSource,
};

/// A hash in the right form (of no key in particular).
fn hash(byte: &str) -> String {
    format!("sha256:{}", byte.repeat(32))
}

/// A plaintext listener, an `[authn]` with one API key, and one product
/// whose access rules are `access` (the inside of an inline table).
fn with_api_key(access: &str) -> String {
    format!(
        r#"
[[server.listener]]
address = "127.0.0.1:8080"
plaintext = true

[[authn.api_key]]
id = "consumer-1"
hash = "{}"
roles = ["analyst"]

[[product]]
name = "customers"
route = {{ path_prefix = "/customers" }}
upstream = {{ url = "http://127.0.0.1:9000" }}
access = {{ {access} }}
"#,
        hash("ab")
    )
}

#[test]
fn authn_and_access_parse_with_defaults() {
    let config = parse(&with_api_key("roles = [\"analyst\"]")).unwrap_or_else(|e| panic!("{e}"));
    let authn = config.authn.as_ref().unwrap();
    assert_eq!(authn.api_key_header, "x-api-key");
    assert_eq!(authn.token_cache_size, 10_000);
    assert!(authn.jwt.is_empty());
    assert_eq!(authn.mtls, None);
    assert_eq!(authn.methods(), [AuthMethod::ApiKey]);

    let key = &authn.api_keys[0];
    assert_eq!(
        key.subject(),
        "consumer-1",
        "the subject defaults to the id"
    );
    assert_eq!(key.roles, ["analyst"]);
    assert_eq!(key.sha256(), Some([0xab; 32]));

    let access = config.products[0].access.as_ref().unwrap();
    assert_eq!(access.roles, ["analyst"]);
    assert!(!access.allow_any_role);
    assert_eq!(access.methods, ["GET", "HEAD"]);
    assert!(access.purposes.is_empty());
    assert!(!access.require_purpose);
    assert_eq!(access.auth_methods, None);

    assert_eq!(config.rate_limits.max_tracked_keys, 100_000);
    assert_eq!(config.rate_limits.per_principal, None);
    assert_eq!(config.products[0].rate_limit(&config.rate_limits), None);
}

#[test]
fn without_authn_the_gateway_is_a_plain_proxy() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.authn, None);
    assert_eq!(config.products[0].access, None);
}

#[test]
fn with_authn_every_product_states_who_may_call_it() {
    let text =
        with_api_key("roles = [\"analyst\"]").replace("access = { roles = [\"analyst\"] }\n", "");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "product[0]");
    assert_eq!(diagnostic.location(), at(11, 1));
    assert!(
        diagnostic
            .message()
            .contains("every product states who may call it"),
        "{diagnostic}"
    );
}

#[test]
fn access_rules_need_authn() {
    let text = format!("{MINIMAL}access = {{ roles = [\"analyst\"] }}\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "product[0].access");
    assert_eq!(diagnostic.location(), at(10, 1));
    assert!(
        diagnostic.message().contains("needs an [authn] section"),
        "{diagnostic}"
    );

    let text = format!(
        "[rate_limits]\nper_principal = {{ rate = \"10/s\" }}\nper_principal_product = {{ rate = \"1/s\" }}\nper_product = {{ rate = \"100/s\" }}\n{MINIMAL}"
    );
    let lines = error_lines(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!(
            "{ORIGIN}:2:1: rate_limits.per_principal: needs an [authn] section"
        )),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{ORIGIN}:3:1: rate_limits.per_principal_product: needs an [authn] section"
        )),
        "{lines:#?}"
    );
}

#[test]
fn authn_must_configure_a_method() {
    let text = with_api_key("roles = [\"a\"]").replace(
        &format!(
            "[[authn.api_key]]\nid = \"consumer-1\"\nhash = \"{}\"\nroles = [\"analyst\"]\n",
            hash("ab")
        ),
        "[authn]\napi_key_header = \"X-Key\"\n",
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "authn");
    assert!(
        diagnostic
            .message()
            .contains("configures no way to authenticate"),
        "{diagnostic}"
    );
}

#[test]
fn api_key_problems_are_reported_without_quoting_keys() {
    let text = with_api_key("roles = [\"analyst\"]").replace(
        "[[authn.api_key]]",
        &format!(
            "[authn]\napi_key_header = \"Authorization\"\ntoken_cache_size = 2000000\n\n\
             [[authn.api_key]]\nid = \"consumer-1\"\nhash = \"{}\"\n\n\
             [[authn.api_key]]\nid = \"bad id\"\nhash = \"hunter2-my-raw-key\"\nsubject = \"\"\nroles = [\"a\", \"a\", \"two words\"]\n\n\
             [[authn.api_key]]",
            hash("ab")
        ),
    );
    let lines = error_lines(&text);
    let expected = [
        "7:1: authn.api_key_header: \"authorization\" already has a meaning",
        "8:1: authn.token_cache_size: must be at most 1000000",
        "15:1: authn.api_key[1].id: \"bad id\" is not a key id",
        "16:1: authn.api_key[1].hash: is not a key hash: store \"sha256:\"",
        "17:1: authn.api_key[1].subject: must not be empty",
        "18:15: authn.api_key[1].roles[1]: \"a\" is listed twice",
        "18:20: authn.api_key[1].roles[2]: \"two words\" is not a role name",
        "21:1: authn.api_key[2].id: \"consumer-1\" is already the id of authn.api_key[0]",
        "22:1: authn.api_key[2].hash: is the same key as authn.api_key[0]",
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, expected) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(&format!("{ORIGIN}:{expected}")),
            "{line}\nexpected: {expected}\nall: {lines:#?}"
        );
    }
    assert!(!lines.concat().contains("hunter2"), "{lines:#?}");
}

#[test]
fn api_key_header_and_hash_are_stored_lowercase() {
    let text = with_api_key("roles = [\"analyst\"]")
        .replace(
            "[[authn.api_key]]",
            "[authn]\napi_key_header = \"X-Consumer-Key\"\n\n[[authn.api_key]]",
        )
        .replace(&hash("ab"), &hash("AB"));
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let authn = config.authn.unwrap();
    assert_eq!(authn.api_key_header, "x-consumer-key");
    assert_eq!(authn.api_keys[0].hash.as_deref(), Some(hash("ab").as_str()));
}

#[test]
fn jwt_issuers_parse_with_defaults_and_resolve_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = write_tls_files(dir.path());
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("idp.pub.pem"), key.public_key_pem()).unwrap();
    std::fs::write(dir.path().join("hmac.secret"), "s".repeat(40)).unwrap();
    let text = format!(
        r#"
[[server.listener]]
address = "127.0.0.1:8080"
plaintext = true

[[authn.jwt]]
issuer = "https://idp.example.com"
audiences = ["maskgate"]
jwks_url = "https://idp.example.com/jwks.json"
jwks_ca = {cert:?}

[[authn.jwt]]
issuer = "static"
audiences = ["maskgate", "reports"]
public_keys = ["idp.pub.pem"]
algorithms = ["ES256", "EdDSA"]
roles_claim = "realm_access.roles"
purpose_claim = "purpose"
attribute_claims = ["department", "org.unit"]
leeway = "5m"
max_token_bytes = "16KiB"

[[authn.jwt]]
issuer = "internal"
audiences = ["maskgate"]
hmac_secret_file = "hmac.secret"

[[product]]
name = "customers"
route = {{ path_prefix = "/customers" }}
upstream = {{ url = "http://127.0.0.1:9000" }}
access = {{ allow_any_role = true, auth_methods = ["jwt"] }}
"#
    );
    let origin = dir.path().join("gw.toml");
    let config = Config::from_str(&text, &origin).unwrap_or_else(|e| panic!("{e}"));
    let authn = config.authn.unwrap();
    let [jwks, static_keys, hmac] = authn.jwt.as_slice() else {
        panic!("three issuers expected");
    };
    assert_eq!(
        jwks.jwks_url.as_ref().map(|u| u.as_str()),
        Some("https://idp.example.com/jwks.json")
    );
    assert_eq!(jwks.jwks_refresh, Duration::from_secs(300));
    assert_eq!(jwks.jwks_cooldown, Duration::from_secs(30));
    assert_eq!(jwks.jwks_max_stale, Duration::from_secs(3600));
    assert_eq!(jwks.leeway, Duration::from_secs(60));
    assert_eq!(jwks.subject_claim, "sub");
    assert_eq!(jwks.roles_claim, "roles");
    assert_eq!(jwks.purpose_claim, None);
    assert_eq!(jwks.max_token_bytes, ByteSize::kib(8));
    assert_eq!(jwks.algorithms, None);
    let asymmetric = jwks.accepted_algorithms();
    assert_eq!(asymmetric.len(), 9);
    assert!(!asymmetric.contains(&JwtAlgorithm::Hs256));

    assert_eq!(
        static_keys.public_keys.as_deref(),
        Some([dir.path().join("idp.pub.pem")].as_slice())
    );
    assert_eq!(
        static_keys.accepted_algorithms(),
        [JwtAlgorithm::Es256, JwtAlgorithm::EdDsa]
    );
    assert_eq!(static_keys.roles_claim, "realm_access.roles");
    assert_eq!(static_keys.purpose_claim.as_deref(), Some("purpose"));
    assert_eq!(static_keys.max_token_bytes, ByteSize::kib(16));

    assert_eq!(
        hmac.hmac_secret_file.as_deref(),
        Some(dir.path().join("hmac.secret").as_path())
    );
    assert_eq!(hmac.accepted_algorithms(), [JwtAlgorithm::Hs256]);
}

#[test]
fn alg_none_is_refused_in_any_case() {
    for none in ["none", "None", "NONE", "nOnE"] {
        let text = format!(
            "{MINIMAL}\n[[authn.jwt]]\nissuer = \"i\"\naudiences = [\"a\"]\njwks_url = \"https://i\"\nalgorithms = [\"RS256\", \"{none}\"]\n"
        );
        let diagnostic = only_diagnostic(&text);
        assert_eq!(
            diagnostic.key_path(),
            "authn.jwt[0].algorithms[1]",
            "{none}"
        );
        assert_eq!(diagnostic.location(), at(15, 24));
        assert!(
            diagnostic.message().contains("is never accepted"),
            "{diagnostic}"
        );
    }
    let text = format!(
        "{MINIMAL}\n[[authn.jwt]]\nissuer = \"i\"\naudiences = [\"a\"]\njwks_url = \"https://i\"\nalgorithms = [\"rs256\"]\n"
    );
    let diagnostic = only_diagnostic(&text);
    assert!(
        diagnostic
            .message()
            .contains("case-sensitive, write \"RS256\""),
        "{diagnostic}"
    );
}

#[test]
fn jwt_issuer_problems_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("short.secret"), "short").unwrap();
    let text = r#"
[[server.listener]]
address = "127.0.0.1:8080"
plaintext = true

[[authn.jwt]]
issuer = "a"
audiences = []

[[authn.jwt]]
issuer = "a"
audiences = [""]
jwks_url = "http://idp.example.com/jwks"
public_keys = []
algorithms = ["HS256", "RS256", "RS256"]
jwks_cooldown = "100ms"
jwks_max_stale = "5m"
leeway = "10m"
roles_claim = "realm_access..roles"
attribute_claims = ["x", "x"]
max_token_bytes = "2MiB"

[[authn.jwt]]
issuer = "c"
audiences = ["m"]
jwks_ca = "ca.pem"
hmac_secret_file = "short.secret"
algorithms = ["RS256"]
"#;
    let origin = dir.path().join("gw.toml");
    let error = Config::from_str(text, &origin).unwrap_err();
    let lines: Vec<String> = error.to_string().lines().map(str::to_owned).collect();
    let expected = [
        "6:1: authn.jwt[0]: has no keys: set one of jwks_url, public_keys or hmac_secret_file",
        "8:1: authn.jwt[0].audiences: list at least one audience",
        "11:1: authn.jwt[1].issuer: \"a\" is already the issuer of authn.jwt[0]",
        "12:14: authn.jwt[1].audiences[0]: must not be empty",
        "13:1: authn.jwt[1].jwks_url: must be https",
        "14:1: authn.jwt[1].public_keys: jwks_url and public_keys are both set",
        "14:1: authn.jwt[1].public_keys: list at least one PEM public key file",
        "15:15: authn.jwt[1].algorithms[0]: \"HS256\" needs hmac_secret_file",
        "15:33: authn.jwt[1].algorithms[2]: \"RS256\" is listed twice",
        "16:1: authn.jwt[1].jwks_cooldown: must be at least 1s",
        "17:1: authn.jwt[1].jwks_max_stale: 5m must be longer than jwks_refresh (5m)",
        "18:1: authn.jwt[1].leeway: 10m is too long: at most 5m",
        "19:1: authn.jwt[1].roles_claim: \"realm_access..roles\" is not a claim path",
        "20:26: authn.jwt[1].attribute_claims[1]: \"x\" is listed twice",
        "21:1: authn.jwt[1].max_token_bytes: must be more than 0B and at most 1.0 MiB",
        "26:1: authn.jwt[2].jwks_ca: jwks_ca is only for jwks_url",
        "27:1: authn.jwt[2].hmac_secret_file: HMAC secret file",
        "28:15: authn.jwt[2].algorithms[0]: \"RS256\" needs a public key: with hmac_secret_file only \"HS256\" applies",
    ];
    for (line, expected) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(&format!("{}:{expected}", origin.display())),
            "{line}\nexpected: {expected}\nall: {lines:#?}"
        );
    }
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    assert!(lines[16].contains("holds 5 bytes"), "{}", lines[16]);
}

#[test]
fn mtls_and_client_certificates_need_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_tls_files(dir.path());
    let listener = |extra: &str| {
        format!(
            "[[server.listener]]\naddress = \"127.0.0.1:8443\"\ntls = {{ cert = {cert:?}, key = {key:?}{extra} }}\n"
        )
    };
    let product = "\n[[product]]\nname = \"p\"\nroute = { path_prefix = \"/p\" }\nupstream = { url = \"http://u\" }\naccess = { roles = [\"r\"] }\n";
    let mtls = "\n[authn.mtls]\nsubject_from = \"cn\"\ndefault_roles = [\"service\"]\n\n[[authn.mtls.client]]\nsubject = \"billing\"\nroles = [\"r\"]\n";

    // Together, they parse.
    let text = format!(
        "{}{mtls}{product}",
        listener(&format!(
            ", client_ca = {cert:?}, client_auth = \"require\""
        ))
    );
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let tls = config.server.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.client_auth, ClientAuth::Require);
    assert_eq!(tls.client_ca.as_deref(), Some(cert.as_path()));
    let mtls_config = config.authn.unwrap().mtls.unwrap();
    assert_eq!(mtls_config.subject_from, SubjectSource::Cn);
    assert_eq!(mtls_config.default_roles, ["service"]);
    assert_eq!(mtls_config.clients[0].subject, "billing");

    // client_auth without a CA, and without [authn.mtls].
    let api_key = format!(
        "\n[[authn.api_key]]\nid = \"k\"\nhash = \"{}\"\n",
        hash("cd")
    );
    let text = format!(
        "{}{api_key}{product}",
        listener(", client_auth = \"request\"")
    );
    let lines = error_lines(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains(
            "server.listener[0].tls.client_auth: client_auth = \"request\" needs client_ca"
        ),
        "{lines:#?}"
    );
    assert!(lines[1].contains("server.listener[0].tls.client_auth: client_auth = \"request\" needs an [authn.mtls] section"), "{lines:#?}");

    // A CA nobody asks for.
    let text = format!(
        "{}{api_key}{product}",
        listener(&format!(", client_ca = {cert:?}"))
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].tls.client_ca");
    assert!(
        diagnostic.message().contains("client_auth is \"none\""),
        "{diagnostic}"
    );

    // [authn.mtls] with no listener asking for certificates, a client
    // without roles, a CA file that is not one.
    let text = format!(
        "{}{}{product}",
        listener(""),
        mtls.replace("roles = [\"r\"]", "roles = []")
    );
    let lines = error_lines(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("authn.mtls: no listener asks for client certificates"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("authn.mtls.client[0].roles: list at least one role"),
        "{lines:#?}"
    );

    let text = format!(
        "{}{mtls}{product}",
        listener(&format!(", client_ca = {key:?}, client_auth = \"require\""))
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].tls.client_ca");
    assert!(
        diagnostic.message().contains("client CA file"),
        "{diagnostic}"
    );
}

#[test]
fn access_rule_problems_are_reported() {
    let cases = [
        (
            "roles = []",
            "product[0].access.roles",
            "list the roles that may call this product",
        ),
        (
            "roles = [\"a\"], allow_any_role = true",
            "product[0].access.allow_any_role",
            "both set",
        ),
        (
            "roles = [\"a\"], methods = [\"GET\", \"post\"]",
            "product[0].access.methods[1]",
            "case-sensitive, write \"POST\"",
        ),
        (
            "roles = [\"a\"], methods = []",
            "product[0].access.methods",
            "at least one method",
        ),
        (
            "roles = [\"a\"], purposes = [\"support case\"]",
            "product[0].access.purposes[0]",
            "is not a purpose",
        ),
        (
            "roles = [\"a\"], require_purpose = true",
            "product[0].access.require_purpose",
            "no request could pass",
        ),
        (
            "roles = [\"a\"], auth_methods = [\"mtls\"]",
            "product[0].access.auth_methods[0]",
            "\"mtls\" is not configured: add [authn.mtls]",
        ),
        (
            "roles = [\"a\"], auth_methods = []",
            "product[0].access.auth_methods",
            "at least one of",
        ),
    ];
    for (access, key_path, says) in cases {
        let diagnostic = only_diagnostic(&with_api_key(access));
        assert_eq!(diagnostic.key_path(), key_path, "{access}");
        assert!(
            diagnostic.message().contains(says),
            "{access}: {diagnostic}"
        );
    }

    let config = parse(&with_api_key(
        "allow_any_role = true, methods = [\"GET\", \"POST\"], purposes = [\"support-case\", \"fraud\"], require_purpose = true, auth_methods = [\"api_key\"]",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let access = config.products[0].access.as_ref().unwrap();
    assert!(access.allow_any_role);
    assert_eq!(access.methods, ["GET", "POST"]);
    assert_eq!(access.purposes, ["support-case", "fraud"]);
    assert!(access.require_purpose);
    assert_eq!(
        access.auth_methods.as_deref(),
        Some([AuthMethod::ApiKey].as_slice())
    );
}

#[test]
fn rate_limits_parse_and_products_override_per_product() {
    let text = format!(
        "[rate_limits]\nper_principal = {{ rate = \"100/s\", burst = 200 }}\nper_product = {{ rate = \"600/m\" }}\n\
         per_principal_product = {{ rate = \"30/m\" }}\nmax_tracked_keys = 5000\n{}\
         rate_limit = {{ rate = \"1000/h\", burst = 5 }}\n\n[[product]]\nname = \"orders\"\n\
         route = {{ path_prefix = \"/orders\" }}\nupstream = {{ url = \"http://u\" }}\naccess = {{ roles = [\"a\"] }}\n",
        with_api_key("roles = [\"a\"]")
    );
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let limits = &config.rate_limits;
    let per_principal = limits.per_principal.unwrap();
    assert_eq!(per_principal.rate, Rate::per_second(100).unwrap());
    assert_eq!(per_principal.burst(), 200);
    let per_product = limits.per_product.unwrap();
    assert_eq!(per_product.burst(), 10, "600/m is 10/s");
    assert_eq!(limits.per_principal_product.unwrap().burst(), 1);
    assert_eq!(limits.max_tracked_keys, 5000);

    let customers = config.products[0].rate_limit(limits).unwrap();
    assert_eq!(customers.rate, Rate::per_hour(1000).unwrap());
    assert_eq!(customers.burst(), 5);
    assert_eq!(config.products[1].rate_limit(limits), Some(&per_product));
    assert_eq!(RateLimit::new(Rate::per_minute(90).unwrap()).burst(), 2);
}

#[test]
fn rate_limit_problems_are_reported() {
    let text = format!("{MINIMAL}\n[rate_limits]\nper_product = {{ rate = \"0/s\" }}\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "rate_limits.per_product.rate");
    assert!(diagnostic.message().contains("more than 0"), "{diagnostic}");

    let text = format!("{MINIMAL}\n[rate_limits]\nper_product = {{ rate = 100 }}\n");
    let diagnostic = only_diagnostic(&text);
    assert!(
        diagnostic
            .message()
            .contains("bare number (100) has no unit"),
        "{diagnostic}"
    );

    let text = format!(
        "{MINIMAL}rate_limit = {{ rate = \"1/s\", burst = 0 }}\n\n[rate_limits]\nmax_tracked_keys = 0\n"
    );
    let lines = error_lines(&text);
    assert_eq!(
        lines,
        [
            format!(
                "{ORIGIN}:10:30: product[0].rate_limit.burst: must be at least 1 (leave it out for the rate per second)"
            ),
            format!("{ORIGIN}:13:1: rate_limits.max_tracked_keys: must be 1 to 10000000"),
        ]
    );
}

#[test]
fn validate_checks_access_changed_in_code() {
    let mut config = parse(&with_api_key("roles = [\"analyst\"]")).unwrap();
    assert!(config.validate().is_ok());
    config.authn = None;
    let error = config.validate().unwrap_err();
    assert_eq!(
        error.to_string(),
        "product[0].access: needs an [authn] section: without one no caller is authenticated, so every request would be refused (remove [product.access] to run as a plain proxy)"
    );
    assert!(Path::new(ORIGIN).is_absolute());
}

#[test]
fn an_api_key_hash_comes_from_the_file_or_from_vault_not_both() {
    let from_vault = with_api_key("roles = [\"analyst\"]").replace(
        &format!("hash = \"{}\"", hash("ab")),
        "hash_from = { path = \"app/api-keys\", field = \"consumer-1\" }",
    );
    let lines = error_lines(&from_vault);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("authn.api_key[0].hash_from: needs a [vault] section")),
        "{lines:#?}"
    );
    let both = with_api_key("roles = [\"analyst\"]").replace(
        "roles = [\"analyst\"]\n\n[[product]]",
        "roles = [\"analyst\"]\nhash_from = { path = \"app/k\", field = \"f\" }\n\n[[product]]",
    );
    let lines = error_lines(&both);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("authn.api_key[0]: give exactly one of `hash` and `hash_from`")),
        "{lines:#?}"
    );
    let vault = "\n[vault]\naddress = \"http://127.0.0.1:8200\"\n[vault.auth]\nmethod = \"token\"\ntoken_file = \"token\"\n";
    let config = parse(&format!("{from_vault}{vault}")).unwrap_or_else(|e| panic!("{e}"));
    let key = &config.authn.unwrap().api_keys[0];
    assert_eq!(key.sha256(), None);
    assert_eq!(key.hash_from.as_ref().unwrap().field, "consumer-1");
}
