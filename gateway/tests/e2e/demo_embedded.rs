//! `maskgate demo`, the embedded default, end to end: the real binary, its
//! files, the sample product through the gateway, and a clean Ctrl-C.

use crate::support;

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
    let support = bearer(&info, "support");
    let through = client::send(
        &http,
        with_header(
            client::get(&format!("{customers}?limit=3")),
            "authorization",
            &support,
        ),
    )
    .await;
    let direct = client::send(
        &http,
        client::get(&format!("{}/customers?limit=3", info.upstream)),
    )
    .await;
    assert_eq!(through.status, 200);
    assert_eq!(through.header("content-type"), Some("application/json"));
    assert!(through.header("x-request-id").is_some());
    // The support view: masked, never the clear values of the product.
    let page = through.json();
    let clear = direct.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["total"], 1000);
    let support_text = through.text();
    for (i, item) in clear["items"].as_array().unwrap().iter().enumerate() {
        for field in ["email", "card_number", "iban", "national_id"] {
            let value = item[field].as_str().unwrap();
            assert!(!support_text.contains(value), "{field} leaked to support");
        }
        let masked = page["items"][i]["card_number"].as_str().unwrap();
        assert!(masked.starts_with("**** "), "{masked}");
        assert_eq!(
            &masked[masked.len() - 4..],
            &item["card_number"].as_str().unwrap()
                [item["card_number"].as_str().unwrap().len() - 4..]
        );
        assert_eq!(page["items"][i]["iban"], "[REDACTED]");
    }

    // The API-key consumer gets through too; no credentials, or a purpose
    // the product does not list, do not.
    let api_key = std::fs::read_to_string(&info.api_keys["reporting"]).unwrap();
    let one = client::send(
        &http,
        with_header(
            client::get(&format!("{customers}/42")),
            "x-api-key",
            &api_key,
        ),
    )
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["id"], 42);
    let anonymous = client::send(&http, client::get(&format!("{customers}/42"))).await;
    assert_gateway_error(&anonymous, 401, "unauthenticated");
    assert!(
        anonymous
            .header("www-authenticate")
            .unwrap()
            .contains("Bearer")
    );
    let marketing = client::send(
        &http,
        with_header(
            with_header(
                client::get(&format!("{customers}/1")),
                "authorization",
                &support,
            ),
            "x-purpose",
            "marketing",
        ),
    )
    .await;
    assert_gateway_error(&marketing, 403, "forbidden");
    // A token minted later by `maskgate demo token` is accepted as well.
    let minted = std::process::Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args(["demo", "token", "--role", "fraud", "--ttl", "2m", "--dir"])
        .arg(demo.demo_dir())
        .output()
        .unwrap();
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let fraud = format!(
        "Bearer {}",
        String::from_utf8(minted.stdout).unwrap().trim()
    );
    let investigated = client::send(
        &http,
        with_header(
            with_header(
                client::get(&format!("{customers}/3")),
                "authorization",
                &fraud,
            ),
            "x-purpose",
            "fraud-investigation",
        ),
    )
    .await;
    assert_eq!(investigated.status, 200);
    // The fraud investigator (with its purpose) sees the card in clear.
    let clear_three = client::send(
        &http,
        client::get(&format!("{}/customers/3", info.upstream)),
    )
    .await
    .json();
    assert_eq!(
        investigated.json()["card_number"],
        clear_three["card_number"]
    );

    // Free text is scanned: a note with an email never shows it to support.
    let export = client::send(
        &http,
        client::get(&format!("{}/customers?limit=200", info.upstream)),
    )
    .await
    .json();
    let noted = export["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["notes"].as_str().unwrap().contains('@'))
        .expect("some notes mention an email");
    let id = noted["id"].as_u64().unwrap();
    let seen = client::send(
        &http,
        with_header(
            client::get(&format!("{customers}/{id}")),
            "authorization",
            &support,
        ),
    )
    .await;
    let leaked: Vec<&str> = noted["notes"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .filter(|word| word.contains('@'))
        .collect();
    for word in leaked {
        let address = word.trim_matches(|c: char| !c.is_alphanumeric());
        assert!(
            !seen.text().contains(address),
            "{address} in {}",
            seen.text()
        );
    }

    // Notes that repeat a customer's street (with postal code and city) or
    // birth date: the demo's own patterns find them, so support, who gets
    // no street and only the birth year, sees neither in the notes, and the
    // analyst, who gets postal prefixes, not the postal code either.
    let analyst = bearer(&info, "analyst");
    let everyone = client::send(
        &http,
        client::get(&format!("{}/customers?limit=1000", info.upstream)),
    )
    .await
    .json();
    let (mut streets, mut births) = (0, 0);
    for (role, token) in [("support", &support), ("analyst", &analyst)] {
        let view = client::send(
            &http,
            with_header(
                client::get(&format!("{customers}?limit=1000")),
                "authorization",
                token,
            ),
        )
        .await
        .json();
        let items = view["items"].as_array().unwrap();
        for clear in everyone["items"].as_array().unwrap() {
            let notes = clear["notes"].as_str().unwrap();
            let address = &clear["address"];
            let mut hidden = vec![
                address["street"].as_str().unwrap(),
                clear["birth_date"].as_str().unwrap(),
            ];
            if role == "analyst" {
                hidden.push(address["postal_code"].as_str().unwrap());
            }
            let seen = items.iter().find(|item| item["id"] == clear["id"]).unwrap();
            for value in hidden.into_iter().filter(|v| notes.contains(v)) {
                streets += usize::from(value == address["street"]);
                births += usize::from(value == clear["birth_date"]);
                let shown = seen["notes"].as_str().unwrap();
                assert!(!shown.contains(value), "{role}: {value} in {shown:?}");
            }
        }
    }
    assert!(
        streets > 20 && births > 20,
        "the sample's notes repeat streets and birth dates ({streets}, {births})"
    );

    let nowhere = client::send(&http, client::get(&format!("{}/nowhere", info.gateway))).await;
    assert_gateway_error(&nowhere, 404, "no_route");

    let ready = client::send(&http, client::get(&format!("{}/readyz", info.admin))).await;
    assert_eq!(ready.status, 200);
    let metrics = client::send(&http, client::get(&format!("{}/metrics", info.admin))).await;
    assert!(
        metrics
            .text()
            .contains(r#"maskgate_requests_total{product="customers",status="200"} 6"#),
        "{}",
        metrics.text()
    );
    // What the demo's views did, by class and action: the printed hint
    // greps these.
    for series in [
        r#"maskgate_classified_values_total{product="customers",class="email",action="mask",outcome="replaced"}"#,
        r#"maskgate_classified_values_total{product="customers",class="email",action="hash",outcome="replaced"}"#,
        r#"maskgate_detected_values_total{product="customers",class="street_address",action="redact",outcome="replaced"}"#,
    ] {
        assert!(
            metrics.text().contains(series),
            "{series}: {}",
            metrics.text()
        );
    }

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
        printed.contains(&format!(
            "curl -s -H \"Authorization: Bearer $(cat {})\" '{customers}?limit=2'",
            info.tokens["support"].display()
        )),
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

    // The audit log: in the demo's directory, printed, one record per
    // request made through the gateway, complete and untouched.
    assert!(
        info.audit_log
            .starts_with(demo.demo_dir().canonicalize().unwrap())
    );
    let verify_command = format!(
        "maskgate audit verify {} --public-key {}",
        info.audit_log.display(),
        info.audit_public_key.display()
    );
    assert!(printed.contains(&verify_command), "{printed}");
    let maskgate = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_maskgate"))
            .args(args)
            .output()
            .unwrap()
    };
    let log = info.audit_log.to_str().unwrap();
    let verified = maskgate(&[
        "audit",
        "verify",
        log,
        "--public-key",
        info.audit_public_key.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{out}");
    assert!(out.contains(" 9 record(s)"), "{out}");
    let reveals = maskgate(&[
        "audit",
        "query",
        log,
        "--class",
        "card_number",
        "--action",
        "reveal",
        "--format",
        "json",
    ]);
    let reveals = String::from_utf8_lossy(&reveals.stdout);
    assert_eq!(reveals.lines().count(), 1, "{reveals}");
    assert!(
        reveals.contains("\"purpose\":\"fraud-investigation\""),
        "{reveals}"
    );
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
    let support = bearer(&info, "support");
    let reply = client::send(
        &https,
        with_header(
            client::get(&format!("{}/customers/7", info.gateway)),
            "authorization",
            &support,
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    assert_eq!(reply.json()["id"], 7);
    let listing = client::send(
        &https,
        with_header(
            client::get(&format!("{}/customers", info.gateway)),
            "authorization",
            &support,
        ),
    )
    .await;
    assert_eq!(listing.json()["total"], 10);

    demo.interrupt();
    assert!(demo.exited().await.success());
}

/// `Bearer <the demo token of role>`.
fn bearer(info: &maskgate::demo::DemoInfo, role: &str) -> String {
    let token = std::fs::read_to_string(&info.tokens[role]).expect("the demo wrote the token");
    format!("Bearer {}", token.trim())
}

fn with_header(
    mut request: http::Request<support::TestBody>,
    name: &'static str,
    value: &str,
) -> http::Request<support::TestBody> {
    request
        .headers_mut()
        .insert(name, http::HeaderValue::from_str(value.trim()).unwrap());
    request
}
