//! `[vault]`, `[product.credentials]`, `[product.upstream.client_certificate]`
//! and `[masking.transit]`.

use super::*;
use crate::{Credentials, VaultAuth};

const VAULT: &str = r#"
[vault]
address = "https://vault.internal:8200"
namespace = "mesh"
timeout = "5s"
[vault.auth]
method = "approle"
role_id_file = "secrets/role-id"
secret_id_file = "/run/secret-id"
"#;

#[test]
fn vault_and_credentials_parse_and_resolve() {
    let text = format!(
        r#"{MINIMAL}
credentials = {{ source = "database", role = "app-ro", inject = {{ basic = {{ username = "{{{{username}}}}", password = "{{{{password}}}}" }} }} }}

[[product]]
name = "orders"
route = {{ path_prefix = "/orders" }}
upstream = {{ url = "https://orders.internal", client_certificate = {{ source = "pki", role = "gw-client", common_name = "gw.gateway.test", ttl = "10m" }} }}
credentials = {{ source = "kv", path = "app/orders", inject = {{ header = "Authorization", value = "Bearer {{{{token}}}}" }} }}

[masking.transit]
key = "fields"
registry = {{ path = "maskgate/keyring" }}
{VAULT}"#
    );
    let config = parse(&text).unwrap();
    let vault = config.vault.as_ref().unwrap();
    assert_eq!(vault.address.as_str(), "https://vault.internal:8200/");
    assert_eq!(vault.ca_file, None);
    assert_eq!(vault.timeout, Duration::from_secs(5));
    assert_eq!(vault.poll_interval, Duration::from_secs(30));
    match &vault.auth {
        VaultAuth::AppRole {
            mount,
            role_id_file,
            secret_id_file,
        } => {
            assert_eq!(mount, "approle");
            assert_eq!(role_id_file, Path::new("/etc/maskgate/secrets/role-id"));
            assert_eq!(secret_id_file, Path::new("/run/secret-id"));
        }
        other => panic!("{other:?}"),
    }
    match &config.products[0].credentials {
        Some(Credentials::Database {
            mount,
            role,
            inject,
        }) => {
            assert_eq!((mount.as_str(), role.as_str()), ("database", "app-ro"));
            assert_eq!(inject.basic.as_ref().unwrap().username, "{{username}}");
        }
        other => panic!("{other:?}"),
    }
    let orders = &config.products[1];
    assert_eq!(
        orders
            .credentials
            .as_ref()
            .unwrap()
            .inject()
            .header_templates(),
        [("Authorization", "Bearer {{token}}")]
    );
    assert!(orders.upstream.client_certificate.is_some());
    let transit = config.masking.transit.as_ref().unwrap();
    assert_eq!(
        (transit.mount.as_str(), transit.registry.mount.as_str()),
        ("transit", "secret")
    );
}

#[test]
fn token_and_jwt_auth_parse() {
    for (auth, method) in [
        (
            r#"method = "token"
token_file = "t""#,
            "token",
        ),
        (
            r#"method = "jwt"
role = "gw"
jwt_file = "/var/run/jwt""#,
            "jwt",
        ),
    ] {
        let text = format!(
            "{MINIMAL}\n[vault]\naddress = \"http://127.0.0.1:8200\"\n[vault.auth]\n{auth}\n"
        );
        let config = parse(&text).unwrap_or_else(|e| panic!("{method}: {e}"));
        let got = match config.vault.unwrap().auth {
            VaultAuth::Token { token_file } => {
                assert_eq!(token_file, Path::new("/etc/maskgate/t"));
                "token"
            }
            VaultAuth::Jwt { mount, .. } => {
                assert_eq!(mount, "jwt");
                "jwt"
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(got, method);
    }
}

#[test]
fn vault_references_need_a_vault_section() {
    let text = format!(
        r#"{MINIMAL}credentials = {{ source = "kv", path = "app/x", inject = {{ header = "X-Key", value = "{{{{key}}}}" }} }}
"#
    );
    let d = only_diagnostic(&text);
    assert_eq!(d.key_path, "product[0].credentials");
    assert!(
        d.message.contains("needs a [vault] section"),
        "{}",
        d.message
    );
    assert_eq!(d.location, at(10, 1));
}

#[test]
fn bad_templates_and_inject_shapes_are_refused() {
    let cases = [
        (
            r#"{ source = "database", role = "r", inject = { header = "X-U", value = "{{user}}" } }"#,
            "unknown placeholder `{{user}}` (expected `{{username}}` or `{{password}}`)",
        ),
        (
            r#"{ source = "kv", path = "a", inject = { header = "X-U", value = "{{token" } }"#,
            "`{{` without `}}`",
        ),
        (
            r#"{ source = "kv", path = "a", inject = { header = "X-U" } }"#,
            "`header` and `value` go together",
        ),
        (
            r#"{ source = "kv", path = "a", inject = { } }"#,
            "exactly one of",
        ),
        (
            r#"{ source = "kv", path = "/a", inject = { header = "X-U", value = "{{t}}" } }"#,
            "must be a path",
        ),
        (
            r#"{ source = "kv", path = "a", inject = { header = "Host", value = "{{t}}" } }"#,
            "does not let a credential set `Host`",
        ),
        (
            r#"{ source = "kv", path = "a", inject = { header = "X-U", value = "fixed" } }"#,
            "has no placeholder",
        ),
    ];
    for (credentials, message) in cases {
        let text = format!("{MINIMAL}credentials = {credentials}\n{VAULT}");
        let error = parse(&text).expect_err(credentials).to_string();
        assert!(error.contains(message), "{credentials}: {error}");
        assert!(error.contains("product[0].credentials"), "{error}");
    }
}

#[test]
fn misspelled_vault_keys_are_refused() {
    let text = format!(
        "{MINIMAL}{}",
        VAULT.replace("secret_id_file", "secret_file")
    );
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("unknown field `secret_file`"), "{error}");
    let text = format!("{MINIMAL}{}", VAULT.replace("approle", "ldap"));
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("ldap"), "{error}");
}

#[test]
fn transit_and_keyring_are_exclusive_and_certificates_need_https() {
    let text = format!(
        r#"{MINIMAL}
[[product]]
name = "orders"
route = {{ path_prefix = "/orders" }}
[product.upstream]
url = "http://orders.internal"
[product.upstream.client_certificate]
source = "pki"
role = "gw-client"
common_name = "gw"

[masking]
keyring = "keyring.json"
transit = {{ key = "fields", registry = {{ path = "maskgate/keyring" }} }}
{VAULT}"#
    );
    let lines = error_lines(&text);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("client certificate needs an https upstream")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("not both")), "{lines:#?}");
}

#[test]
fn transit_keys_serve_the_actions_that_need_keys() {
    let policy = r#"
[[policy]]
name = "default"
default = true
actions = { "*" = { action = "hash" } }
"#;
    let with_transit = format!(
        "{MINIMAL}{policy}\n[masking.transit]\nkey = \"fields\"\nregistry = {{ path = \"maskgate/keyring\" }}\n{VAULT}"
    );
    parse(&with_transit).unwrap();
    let without = format!("{MINIMAL}{policy}");
    let error = parse(&without).unwrap_err().to_string();
    assert!(error.contains("or [masking.transit]"), "{error}");
}

#[test]
fn the_vault_ca_file_must_hold_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = write_tls_files(dir.path());
    let with_ca = |path: &Path| {
        format!(
            "{MINIMAL}{}",
            VAULT.replace(
                "namespace",
                &format!("ca_file = \"{}\"\nnamespace", path.display())
            )
        )
    };
    let config = parse(&with_ca(&cert)).unwrap();
    assert_eq!(
        config.vault.unwrap().ca_file.as_deref(),
        Some(cert.as_path())
    );
    let d = only_diagnostic(&with_ca(&dir.path().join("missing.pem")));
    assert_eq!(d.key_path, "vault.ca_file");
    assert!(d.message.contains("missing.pem"), "{}", d.message);
}
