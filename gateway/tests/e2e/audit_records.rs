//! Exactly one audit record per request, whatever became of it: allowed,
//! 401, 403, 404, 413, 429, 431, 502, 504, a masking failure before and after the
//! response head; each with what an auditor needs (who, what, decision and
//! reason, statuses, field treatments) and nothing it must not hold (the
//! canary test). The log verifies after shutdown.

use crate::support;

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use support::{
    Es256Key, PLAINTEXT_GATEWAY, TestGateway, Upstream,
    audit::{self, AuditDir, Callers, POLICIES, customers_product, with_id},
    body::{self, TestBody},
    client, closed_port, jwt,
};

const DOC: &str = r#"{"items":[{"id":7,"email":"jane.doe@example.com","card_number":"4111 1111 1111 1111","notes":"see CANARY-NOTE-5f1e, mail canary.5f1e@corp.example"}],"total":1}"#;

/// The upstream every product shares: the path says how it answers.
async fn upstream() -> Upstream {
    Upstream::start(|seen| async move {
        match seen.uri.path() {
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                body::json(body::full(DOC))
            }
            "/broken" => body::json(body::full("{\"items\":[{\"email\": nope")),
            "/broken/later" => {
                // A valid start, then garbage: fails after the head is sent.
                let start = format!(
                    "{{\"items\":[{}",
                    r#"{"email":"a@b.example"},"#.repeat(2000)
                );
                body::json(body::chunks(vec![
                    Bytes::from(start),
                    Bytes::from_static(b"{\"email\": !!}"),
                ]))
            }
            _ => body::json(body::full(DOC)),
        }
    })
    .await
}

/// A request and what its record must say: request id, url, API key,
/// purpose, status, decision, reason.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Option<&'a str>,
    u16,
    &'a str,
    Option<&'a str>,
);

struct Setup {
    gateway: TestGateway,
    audit: AuditDir,
    support: String,
    fraud: String,
}

async fn setup(upstream: &Upstream, audit_extra: &str, more_authn: &str) -> Setup {
    let callers = Callers::new();
    let audit = AuditDir::new();
    let url = upstream.url();
    let down = format!("http://{}", closed_port());
    let gateway = TestGateway::start(&format!(
        r#"{PLAINTEXT_GATEWAY}
[server.limits]
max_headers = 40
{authn}{more_authn}{customers}
[[product]]
name = "fraudonly"
route = {{ path_prefix = "/fraudonly" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["fraud"] }}

[[product]]
name = "limited"
route = {{ path_prefix = "/limited" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["support"] }}
rate_limit = {{ rate = "1/h", burst = 1 }}

[[product]]
name = "down"
route = {{ path_prefix = "/down" }}
upstream = {{ url = "{down}" }}
access = {{ roles = ["support"], methods = ["GET", "POST"] }}
limits = {{ max_request_body = "64B" }}

[[product]]
name = "slow"
route = {{ path_prefix = "/slow" }}
upstream = {{ url = "{url}", response_timeout = "300ms" }}
access = {{ roles = ["support"] }}

[[product]]
name = "broken"
route = {{ path_prefix = "/broken" }}
upstream = {{ url = "{url}" }}
access = {{ roles = ["support"] }}
[[product.field]]
path = "$.items[*].email"
class = "email"

{POLICIES}{section}"#,
        authn = callers.authn,
        customers = customers_product(&url),
        section = audit.section(audit_extra),
    ))
    .await;
    Setup {
        gateway,
        audit,
        support: callers.support,
        fraud: callers.fraud,
    }
}

fn request(
    url: &str,
    id: &str,
    key: Option<&str>,
    purpose: Option<&str>,
) -> http::Request<TestBody> {
    audit::request(url, Some(id), key, purpose)
}

/// The one record of request `id` (waiting a little for records written
/// after the response, e.g. of aborted ones).
async fn only_record(audit: &AuditDir, id: &str) -> Value {
    for _ in 0..100 {
        let records = audit.records();
        let found = with_id(&records, id);
        match found.len() {
            0 => tokio::time::sleep(Duration::from_millis(20)).await,
            1 => return found[0].clone(),
            n => panic!("{n} records for request {id}: {found:#?}"),
        }
    }
    panic!("no record for request {id}");
}

#[tokio::test]
async fn every_kind_of_request_leaves_exactly_one_record() {
    let upstream = upstream().await;
    let Setup {
        mut gateway,
        audit,
        support,
        fraud,
    } = setup(&upstream, "", "").await;
    let http = client::h1();
    let g = |path: &str| gateway.url(path);

    // (request id, url, key, purpose, status, decision, reason)
    let cases: Vec<Case<'_>> = vec![
        (
            "allowed",
            g("/customers?limit=2"),
            Some(&support),
            None,
            200,
            "allowed",
            None,
        ),
        (
            "revealed",
            g("/customers"),
            Some(&fraud),
            Some("fraud-investigation"),
            200,
            "allowed",
            None,
        ),
        (
            "no-key",
            g("/customers"),
            None,
            None,
            401,
            "refused",
            Some("unauthenticated"),
        ),
        (
            "bad-key",
            g("/customers"),
            Some("mgk_notakey"),
            None,
            401,
            "refused",
            Some("unauthenticated"),
        ),
        (
            "wrong-role",
            g("/fraudonly"),
            Some(&support),
            None,
            403,
            "refused",
            Some("forbidden:role_not_allowed"),
        ),
        (
            "bad-purpose",
            g("/customers"),
            Some(&fraud),
            Some("marketing"),
            403,
            "refused",
            Some("forbidden:purpose_not_allowed"),
        ),
        (
            "first",
            g("/limited"),
            Some(&support),
            None,
            200,
            "allowed",
            None,
        ),
        (
            "over-quota",
            g("/limited"),
            Some(&support),
            None,
            429,
            "refused",
            Some("rate_limited:product"),
        ),
        (
            "nowhere",
            g("/nowhere"),
            Some(&support),
            None,
            404,
            "refused",
            Some("no_route"),
        ),
        (
            "down",
            g("/down"),
            Some(&support),
            None,
            502,
            "failed",
            Some("upstream_unavailable"),
        ),
        (
            "slow",
            g("/slow"),
            Some(&support),
            None,
            504,
            "failed",
            Some("upstream_timeout"),
        ),
        (
            "broken",
            g("/broken"),
            Some(&support),
            None,
            502,
            "failed",
            Some("masking_failed"),
        ),
    ];
    for (id, url, key, purpose, status, decision, reason) in &cases {
        let reply = client::send(&http, request(url, id, *key, *purpose)).await;
        assert_eq!(reply.status.as_u16(), *status, "{id}: {:?}", reply.body);
        // Failing closed, the response ended only once its record was
        // durable: it is in the file now.
        let records = audit.records();
        let found = with_id(&records, id);
        assert_eq!(found.len(), 1, "{id}: {found:#?}");
        let record = found[0];
        assert_eq!(record["status"], *status, "{id}: {record}");
        assert_eq!(record["decision"], *decision, "{id}: {record}");
        assert_eq!(record["reason"].as_str(), *reason, "{id}: {record}");
        assert_eq!(record["v"], 1);
        assert_eq!(record["method"], "GET");
        assert!(record["policy"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(record["client"], "127.0.0.1");
    }

    // Over HTTP/2 the same: the end of the stream waits for the record.
    let reply = client::send(
        &client::h2c(),
        request(&g("/customers"), "over-h2", Some(&support), None),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    let records = audit.records();
    assert_eq!(with_id(&records, "over-h2").len(), 1);

    // Refused by the limits, before or after authentication: 431, 413.
    let mut crowded = request(&g("/customers"), "crowded", Some(&support), None);
    for i in 0..50 {
        crowded.headers_mut().insert(
            format!("x-filler-{i}").parse::<http::HeaderName>().unwrap(),
            "1".parse().unwrap(),
        );
    }
    let mut upload = request(&g("/down"), "upload", Some(&support), None);
    *upload.method_mut() = http::Method::POST;
    *upload.body_mut() = body::full(vec![b'x'; 1000]);
    upload
        .headers_mut()
        .insert("content-length", "1000".parse().unwrap());
    for (id, request, status, reason) in [
        ("crowded", crowded, 431, "too_many_headers"),
        ("upload", upload, 413, "body_too_large"),
    ] {
        let reply = client::send(&http, request).await;
        assert_eq!(reply.status.as_u16(), status, "{id}");
        let record = only_record(&audit, id).await;
        assert_eq!(record["decision"], "refused", "{record}");
        assert_eq!(record["reason"], reason, "{record}");
        assert_eq!(record["status"], status, "{record}");
    }

    // Masking failing after the head: the transfer breaks, and the record
    // says why.
    let broken_later = client::try_send(
        &http,
        request(&g("/broken/later"), "broken-later", Some(&support), None),
    )
    .await;
    assert!(
        broken_later.is_err(),
        "the client must see a broken transfer: {:?}",
        broken_later.map(|r| (r.status, r.body.len()))
    );
    let record = only_record(&audit, "broken-later").await;
    assert_eq!(record["decision"], "failed", "{record}");
    assert_eq!(record["reason"], "masking_failed", "{record}");
    assert_eq!(record["outcome"], "aborted", "{record}");

    // What the allowed records say.
    let records = audit.records();
    let allowed = with_id(&records, "allowed")[0];
    assert_eq!(allowed["product"], "customers");
    assert_eq!(allowed["route"], "/customers");
    assert_eq!(allowed["principal"]["subject"], "support");
    assert_eq!(allowed["principal"]["auth_method"], "api_key");
    assert_eq!(
        allowed["principal"]["roles"],
        serde_json::json!(["support"])
    );
    assert_eq!(allowed["upstream_status"], 200);
    assert_eq!(allowed["outcome"], "complete");
    let path = allowed["path"].as_str().unwrap();
    assert!(path.starts_with("/customers?limit=hmac-sha256:"), "{path}");
    assert!(allowed["bytes_out"].as_u64().unwrap() > 0);
    let fields = allowed["fields"].as_array().unwrap();
    assert!(
        fields.iter().any(|f| f["class"] == "email"
            && f["action"] == "mask"
            && f["path"] == "$.items.*.email"
            && f["count"] == 1),
        "{fields:?}"
    );
    // The email the detectors found in the notes, with what it got.
    let found = |record: &Value, action: &str, treatment: &str| {
        record["fields"].as_array().unwrap().iter().any(|f| {
            f["path"] == "(found in text)"
                && f["class"] == "email"
                && f["action"] == action
                && f["treatment"] == treatment
                && f["count"] == 1
        })
    };
    assert!(found(allowed, "mask", "replaced"), "{allowed}");
    let revealed = with_id(&records, "revealed")[0];
    assert_eq!(revealed["purpose"], "fraud-investigation");
    assert!(
        revealed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["class"] == "card_number" && f["action"] == "reveal"),
        "{revealed}"
    );
    assert!(found(revealed, "reveal", "kept"), "{revealed}");
    let refused = with_id(&records, "wrong-role")[0];
    assert_eq!(refused["product"], "fraudonly");
    assert_eq!(refused["principal"]["subject"], "support");
    assert_eq!(refused["upstream_status"], Value::Null);

    // Exactly one record per request, none other.
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), cases.len() + 4, "{ids:?}");

    // The log, closed by shutdown, verifies.
    gateway.begin_shutdown();
    gateway.stopped().await;
    let key = maskgate_audit::PublicKey::load(&audit.public_key()).unwrap();
    let report = maskgate_audit::verify_paths(&[audit.log()], &key).unwrap();
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.records, cases.len() as u64 + 4);
}

/// Unique values planted in the response (classified and free text), the
/// API keys, a bearer token and query values appear in no line of the log.
#[tokio::test]
async fn no_secret_or_payload_value_reaches_the_log() {
    let upstream = upstream().await;
    // A JWT issuer, and a valid token carrying a canary claim.
    let signer = Es256Key::generate("k1");
    let keys = tempfile::tempdir().unwrap();
    let pem = keys.path().join("idp.pem");
    std::fs::write(&pem, signer.public_pem()).unwrap();
    let jwt_issuer = format!(
        "[[authn.jwt]]\nissuer = \"{}\"\naudiences = [\"{}\"]\npublic_keys = [\"{}\"]\n",
        jwt::ISSUER,
        jwt::AUDIENCE,
        pem.display()
    );
    let token = signer.sign(&jwt::with(
        jwt::claims("CANARY-SUBJECT-91c2", &["fraud"]),
        serde_json::json!({"note": "CANARY-CLAIM-0b7e"}),
    ));
    let Setup {
        mut gateway,
        audit,
        support,
        fraud,
    } = setup(
        &upstream,
        "hmac_fields = [\"subject\", \"client_address\"]",
        &jwt_issuer,
    )
    .await;
    let http = client::h1();
    let query = "email=CANARY-QUERY-7d3a%40x.example&x=CANARY-Q2";
    for (id, key, purpose) in [
        ("c1", Some(support.as_str()), None),
        ("c2", Some(fraud.as_str()), Some("fraud-investigation")),
        ("c3", Some("mgk_CANARY-KEY-41aa"), None),
    ] {
        let reply = client::send(
            &http,
            request(
                &gateway.url(&format!("/customers?{query}")),
                id,
                key,
                purpose,
            ),
        )
        .await;
        assert!(reply.status == 200 || reply.status == 401, "{id}");
    }
    let mut bearer = request(&gateway.url("/customers"), "c4", None, None);
    bearer.headers_mut().insert(
        "authorization",
        "Bearer CANARY-TOKEN-eyJhbGciOiJub25lIn0.e30.c2ln"
            .parse()
            .unwrap(),
    );
    assert_eq!(client::send(&http, bearer).await.status, 401);
    let mut valid = request(
        &gateway.url("/customers"),
        "c5",
        None,
        Some("fraud-investigation"),
    );
    valid
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let reply = client::send(&http, valid).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().contains("jane.doe@example.com"),
        "revealed to fraud"
    );
    gateway.begin_shutdown();
    gateway.stopped().await;

    let lines = audit.lines();
    assert!(lines.len() >= 6);
    let text = lines.join("\n");
    for canary in [
        "CANARY",
        "jane.doe@example.com",
        "5f1e@corp",
        "4111 1111 1111 1111",
        "j*******@example.com",
        support.as_str(),
        fraud.as_str(),
        "eyJhbGciOiJub25lIn0",
        token.as_str(),
        token.split('.').nth(2).unwrap(),
        "127.0.0.1",
    ] {
        assert!(!text.contains(canary), "{canary:?} found in the audit log");
    }
    // The subject is HMAC'd as configured, and `audit hash` finds it.
    let records = audit.records();
    let c2 = with_id(&records, "c2")[0];
    let subject = c2["principal"]["subject"].as_str().unwrap();
    let key =
        maskgate_audit::load_or_create_hmac_key(&audit.keys().join("hmac.key"), false).unwrap();
    let hasher = maskgate_audit::IdentifierHasher::new(&key).unwrap();
    assert_eq!(subject, hasher.hash("fraud"));
}
