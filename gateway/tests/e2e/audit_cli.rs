//! The auditors' tools on a real log made by a real gateway: `maskgate
//! audit verify` (clean, then tampered), `query` with filters and formats,
//! `hash`, and `report`, whose page is rendered by a real headless
//! Chromium: its charts are drawn and their figures match the log.

use crate::support;

use std::{collections::BTreeMap, path::Path, process::Command};

use http::Response;
use serde_json::Value;
use support::{
    PLAINTEXT_GATEWAY, TestGateway, Upstream,
    audit::{self, AuditDir, Callers, POLICIES, customers_product},
    body, client,
};

const DOC: &str = r#"{"items":[{"email":"jane@example.com","card_number":"4111 1111 1111 1111"}]}"#;

/// A log with allowed (masked and revealed), refused and not-found
/// requests from three callers, closed by shutdown.
async fn make_log() -> (AuditDir, String) {
    let upstream = Upstream::start(|_| async {
        let mut response = Response::new(body::full(DOC));
        response
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        response
    })
    .await;
    let callers = Callers::new();
    let audit = AuditDir::new();
    let mut gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}{authn}{customers}
[[product]]
name = "orders"
route = {{ path_prefix = "/orders" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["fraud"] }}

{POLICIES}{section}"#,
        url = upstream.url(),
        authn = callers.authn,
        customers = customers_product(&upstream.url()),
        section = audit.section("hmac_fields = [\"subject\"]"),
    ))
    .await;
    let http = client::h1();
    let call = |path: &str, key: Option<&str>, purpose: Option<&str>| {
        audit::request(&gateway.url(path), None, key, purpose)
    };
    let support = callers.support.as_str();
    let fraud = callers.fraud.as_str();
    for (path, key, purpose, status) in [
        ("/customers", Some(support), None, 200),
        ("/customers", Some(support), None, 200),
        ("/customers", Some(fraud), Some("fraud-investigation"), 200),
        ("/orders", Some(fraud), None, 200),
        ("/orders", Some(support), None, 403),
        ("/customers", None, None, 401),
        ("/nowhere", Some(support), None, 404),
    ] {
        let reply = client::send(&http, call(path, key, purpose)).await;
        assert_eq!(reply.status, status, "{path}");
    }
    gateway.begin_shutdown();
    gateway.stopped().await;
    (audit, "fraud".to_owned())
}

fn maskgate(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args(args)
        .output()
        .expect("run maskgate");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn verify_query_hash_and_report_on_a_real_log() {
    let (audit, fraud_subject) = make_log().await;
    let log = audit.log();
    let public_key = audit.public_key();

    // verify: OK on the clean log.
    let (code, out, err) = maskgate(&["audit", "verify", s(&log), "--public-key", s(&public_key)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("OK: 1 file(s), 7 record(s)"), "{out}");

    // verify: a modified record is pointed at, exit 1.
    let tampered = tempfile::tempdir().unwrap();
    let file = std::fs::read_dir(&log)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let copy = tampered.path().join(file.file_name().unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&copy, text.replacen("\"status\":403", "\"status\":200", 1)).unwrap();
    let (code, out, _) = maskgate(&["audit", "verify", s(&copy), "--public-key", s(&public_key)]);
    assert_eq!(code, 1, "{out}");
    let bad_line = text
        .lines()
        .position(|l| l.contains("\"status\":403"))
        .unwrap()
        + 2;
    assert!(
        out.contains(&format!(
            "{}:{bad_line}: does not follow the previous line",
            copy.display()
        )),
        "{out}"
    );
    assert!(out.contains("FAILED: 1 problem(s)"), "{out}");
    // A missing key file cannot be verified with: exit 2.
    let (code, _, err) = maskgate(&["audit", "verify", s(&log), "--public-key", "/nonexistent"]);
    assert_eq!(code, 2, "{err}");

    // query: refused attempts, as JSON lines.
    let (code, out, err) = maskgate(&[
        "audit",
        "query",
        s(&log),
        "--decision",
        "refused",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let refused: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(refused.len(), 3, "{out}");
    assert!(refused.iter().all(|r| r["decision"] == "refused"));

    // query: who saw card numbers in the clear, found by subject through
    // its HMAC, as CSV.
    let hmac_key = audit.keys().join("hmac.key");
    let (code, out, err) = maskgate(&[
        "audit",
        "query",
        s(&log),
        "--class",
        "card_number",
        "--action",
        "reveal",
        "--subject",
        &fraud_subject,
        "--hmac-key",
        s(&hmac_key),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].starts_with("time,decision,status,subject"));
    assert!(rows[1].contains("card_number=reveal/keptx1"), "{out}");
    // Without the key, the HMAC'd subject does not match its clear name.
    let (_, out, _) = maskgate(&[
        "audit",
        "query",
        s(&log),
        "--subject",
        &fraud_subject,
        "--format",
        "json",
    ]);
    assert_eq!(out.lines().count(), 0, "{out}");
    // The table, with a time filter that excludes everything.
    let (code, out, _) = maskgate(&["audit", "query", s(&log), "--until", "2000-01-01T00:00:00Z"]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 records)"), "{out}");
    let (code, _, err) = maskgate(&["audit", "query", s(&log), "--since", "yesterday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("RFC 3339"), "{err}");

    // hash: what the log holds for a subject.
    let (code, out, _) = maskgate(&["audit", "hash", &fraud_subject, "--hmac-key", s(&hmac_key)]);
    assert_eq!(code, 0);
    let records = audit.records();
    assert!(
        records
            .iter()
            .any(|r| r["principal"]["subject"] == out.trim()),
        "{out}"
    );

    // report: rendered by a real browser.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let (code, out, err) = maskgate(&[
        "audit",
        "report",
        s(&log),
        "--public-key",
        s(&public_key),
        "--out",
        s(&page),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to load (the SVG namespace is a name, not a
    // fetch).
    for reference in [
        " src=",
        "href=",
        "url(",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(reference), "the page references {reference}");
    }
    let dom = render_in_chromium(&page, dir.path());
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "the page's script ran"
    );
    assert!(dom.contains("Verification: OK"));
    assert!(dom.contains("id=\"n-records\">7<"), "{dom}");
    assert!(dom.contains("id=\"n-refused\">3<"));
    assert!(dom.contains("id=\"n-reveals\">1<"));

    // The charts' bars add up to the log's figures, per product and role.
    let roles_at = dom.find("id=\"chart-roles\"").expect("the roles chart");
    let (products_part, roles_part) = dom.split_at(roles_at);
    let mut expected_products: BTreeMap<String, u64> = BTreeMap::new();
    let mut expected_roles: BTreeMap<String, u64> = BTreeMap::new();
    for record in &records {
        let product = record["product"].as_str().unwrap_or("(none)").to_owned();
        *expected_products.entry(product).or_default() += 1;
        match record["principal"]["roles"].as_array() {
            Some(roles) => {
                for role in roles {
                    *expected_roles
                        .entry(role.as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
            }
            None => *expected_roles.entry("(anonymous)".to_owned()).or_default() += 1,
        }
    }
    assert_eq!(bar_totals(products_part), expected_products, "{dom}");
    assert_eq!(bar_totals(roles_part), expected_roles);
    for (product, total) in &expected_products {
        assert!(
            products_part.contains(&format!("data-series=\"{product}\" data-total=\"{total}\"")),
            "legend of {product}"
        );
    }
}

/// Loads `page` in headless Chromium and returns the DOM after its scripts
/// ran. Chromium is a test dependency (scripts/test installs it).
fn render_in_chromium(page: &Path, scratch: &Path) -> String {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "this test needs Debian's chromium (scripts/test installs it: apt-get install chromium)"
    );
    let profile = scratch.join("chromium-profile");
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The sum of `data-count` of the `rect.bar` elements in `dom`, per
/// `data-series`.
fn bar_totals(dom: &str) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for rect in dom.split("<rect ").skip(1) {
        let tag = &rect[..rect.find('>').unwrap()];
        if !tag.contains("class=\"bar\"") {
            continue;
        }
        let attr = |name: &str| {
            let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            tag[at..at + tag[at..].find('"').unwrap()].to_owned()
        };
        *totals.entry(attr("data-series")).or_default() +=
            attr("data-count").parse::<u64>().unwrap();
    }
    totals
}

/// `maskgate check` summarizes `[audit]`, warns when there is none, and
/// locates a bad audit setting.
#[test]
fn check_reports_the_audit_section() {
    let audit = AuditDir::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("maskgate.toml");
    let base = format!(
        "{PLAINTEXT_GATEWAY}{}",
        support::product("p", "/p", "http://127.0.0.1:9")
    );
    let check = |text: &str| {
        std::fs::write(&config, text).unwrap();
        maskgate(&["check", "--config", s(&config)])
    };
    let (code, out, err) = check(&format!("{base}{}", audit.section("")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  audit    ") && out.contains("fail closed"),
        "{out}"
    );
    assert!(!err.contains("warning"), "{err}");
    let (code, _, err) = check(&base);
    assert_eq!(code, 0);
    assert!(err.contains("warning: no [audit] section"), "{err}");
    let (code, _, err) = check(&format!(
        "{base}{}",
        audit.section("checkpoint_interval = \"1ms\"")
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains("audit.checkpoint_interval: must be at least 100ms"),
        "{err}"
    );
}

/// Each audit command explains itself.
#[test]
fn audit_help_explains_each_command() {
    let (code, out, _) = maskgate(&["audit", "--help"]);
    assert_eq!(code, 0);
    for command in ["verify", "query", "report", "hash", "keygen"] {
        assert!(out.contains(command), "{out}");
    }
    for (command, expect) in [
        ("verify", "FILE:LINE"),
        ("query", "RFC 3339"),
        ("report", "--out"),
        ("hash", "--hmac-key"),
    ] {
        let (code, out, _) = maskgate(&["audit", command, "--help"]);
        assert_eq!(code, 0);
        assert!(
            out.contains(expect),
            "audit {command} --help lacks {expect}:\n{out}"
        );
    }
}

/// A log still being written verifies with `--live` (its unsigned tail
/// counted), not without; once the gateway stops, it verifies as is.
#[tokio::test]
async fn verify_live_while_the_gateway_runs() {
    let upstream = Upstream::ok().await;
    let audit = AuditDir::new();
    let mut gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}",
        support::product("p", "/p", &upstream.url()),
        audit.section("checkpoint_every = 2")
    ))
    .await;
    let http = client::h1();
    for _ in 0..3 {
        assert_eq!(
            client::send(&http, client::get(&gateway.url("/p")))
                .await
                .status,
            200
        );
    }
    let log = audit.log();
    let key = audit.public_key();
    let (code, out, _) = maskgate(&["audit", "verify", s(&log), "--public-key", s(&key)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("does not end with the final checkpoint"),
        "{out}"
    );
    let (code, out, _) = maskgate(&[
        "audit",
        "verify",
        s(&log),
        "--public-key",
        s(&key),
        "--live",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 line(s) after it not signed yet"), "{out}");
    gateway.begin_shutdown();
    gateway.stopped().await;
    let (code, out, _) = maskgate(&["audit", "verify", s(&log), "--public-key", s(&key)]);
    assert_eq!(code, 0, "{out}");
}
