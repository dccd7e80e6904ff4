//! `maskgate demo`, the embedded default, end to end: the real binary, its
//! files, the sample product through the gateway, and a clean Ctrl-C.

mod support;

use support::{DemoProcess, assert_gateway_error, client};

/// The demo serves the customers product through the gateway exactly as
/// the product serves it, writes a configuration that `check` accepts,
/// prints what to try, and stops cleanly on Ctrl-C.
#[tokio::test]
async fn demo_serves_customers_through_the_gateway() {
    let mut demo = DemoProcess::start(&[]).await;
    let info = demo.info.clone();
    assert!(info.gateway.starts_with("http://127.0.0.1:"), "{info:?}");
    assert!(info.ca_cert.is_none());
    assert_eq!(info.products.len(), 1);
    assert_eq!(info.products[0].name, "customers");
    let customers = &info.products[0].url;
    assert_eq!(customers, &format!("{}/customers", info.gateway));

    let http = client::h1();
    let through = client::send(&http, client::get(&format!("{customers}?limit=3"))).await;
    let direct = client::send(
        &http,
        client::get(&format!("{}/customers?limit=3", info.upstream)),
    )
    .await;
    assert_eq!(through.status, 200);
    assert_eq!(through.header("content-type"), Some("application/json"));
    assert!(through.header("x-request-id").is_some());
    assert_eq!(through.body, direct.body, "the gateway changed the body");
    let page = through.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["total"], 1000);
    for field in ["email", "card_number", "iban", "national_id", "notes"] {
        assert!(page["items"][0].get(field).is_some(), "no {field}");
    }

    let one = client::send(&http, client::get(&format!("{customers}/42"))).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["id"], 42);

    let nowhere = client::send(&http, client::get(&format!("{}/nowhere", info.gateway))).await;
    assert_gateway_error(&nowhere, 404, "no_route");

    let ready = client::send(&http, client::get(&format!("{}/readyz", info.admin))).await;
    assert_eq!(ready.status, 200);
    let metrics = client::send(&http, client::get(&format!("{}/metrics", info.admin))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_requests_total{product="customers",status="200"} 2"#),
        "{}",
        metrics.text()
    );

    // The written configuration is the one running, and it is valid.
    assert_eq!(
        info.config,
        demo.demo_dir()
            .canonicalize()
            .unwrap()
            .join("maskgate.toml")
    );
    let written = std::fs::read_to_string(&info.config).unwrap();
    let upstream_addr = info.upstream.trim_start_matches("http://");
    assert!(
        written.contains(&format!("url = \"http://{upstream_addr}\"")),
        "{written}"
    );
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args(["check", "--config"])
        .arg(&info.config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let printed = demo.stdout();
    assert!(
        printed.contains(&format!("curl -s '{customers}?limit=2'")),
        "{printed}"
    );

    demo.interrupt();
    let status = demo.exited().await;
    assert!(
        status.success(),
        "demo exited with {status}:\n{}",
        demo.stderr()
    );
    assert!(demo.stdout().contains("demo stopped"));
    let after = client::try_send(&http, client::get(&format!("{customers}/1"))).await;
    assert!(after.is_err(), "the gateway still answers after Ctrl-C");
}

/// With `--tls`, the demo serves HTTPS (h2 by ALPN) with a certificate
/// made for the run, trusted through the `ca_cert` it reports.
#[tokio::test]
async fn demo_with_tls_serves_https() {
    let mut demo = DemoProcess::start(&["--tls", "--customers", "10"]).await;
    let info = demo.info.clone();
    assert!(info.gateway.starts_with("https://127.0.0.1:"), "{info:?}");
    let ca = info.ca_cert.clone().expect("a CA certificate with --tls");
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        <rustls_pki_types::CertificateDer<'_> as rustls_pki_types::pem::PemObject>::pem_file_iter(
            &ca,
        )
        .unwrap()
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let https = client::tls_trusting(roots);
    let reply = client::send(
        &https,
        client::get(&format!("{}/customers/7", info.gateway)),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    assert_eq!(reply.json()["id"], 7);
    let listing = client::send(&https, client::get(&format!("{}/customers", info.gateway))).await;
    assert_eq!(listing.json()["total"], 10);

    demo.interrupt();
    assert!(demo.exited().await.success());
}
