//! Responses rewritten per caller through the real gateway: each role sees
//! its view, no classified value leaves in the clear (whatever the
//! chunking), and anything that cannot be protected is blocked.

use crate::support;

use bytes::Bytes;
use http::Response;
use support::{
    PLAINTEXT_GATEWAY, TestGateway, Upstream, assert_gateway_error,
    audit::{Callers, POLICIES, customers_product},
    body,
    body::TestBody,
    client,
};

const CARD: &str = "4111 1111 1111 1111";
const EMAIL: &str = "jane.doe@example.com";
const DOC: &str = r#"{"items":[{"id":7,"name":"Jane Doe","email":"jane.doe@example.com","card_number":"4111 1111 1111 1111","notes":"call bob@corp.example about it"}],"total":1}"#;

/// A gateway in front of `upstream` with API keys for a support agent and
/// a fraud analyst, the customers classification and a policy.
async fn gateway(upstream: &Upstream) -> (TestGateway, String, String) {
    gateway_with(upstream, "").await
}

/// [`gateway`] with `product_lines` (TOML) added to the product's table.
async fn gateway_with(upstream: &Upstream, product_lines: &str) -> (TestGateway, String, String) {
    let callers = Callers::new();
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}{}{product_lines}{POLICIES}",
        callers.authn,
        customers_product(&upstream.url())
    ))
    .await;
    (gateway, callers.support, callers.fraud)
}

/// What the support agent gets of `/customers` through a gateway in front
/// of `upstream` ([`gateway_with`] `product_lines`), and the gateway's
/// count of bodies it could not protect afterwards ([`masking_failures`]).
async fn support_reply(upstream: &Upstream, product_lines: &str) -> (client::Reply, String) {
    let (gateway, support, _) = gateway_with(upstream, product_lines).await;
    let reply = client::send(
        &client::h1(),
        call(&gateway.url("/customers"), &support, None),
    )
    .await;
    (reply, masking_failures(&gateway).await)
}

/// The `maskgate_masking_failures_total` lines of the gateway's metrics.
async fn masking_failures(gateway: &TestGateway) -> String {
    metric_lines(gateway, "maskgate_masking_failures_total").await
}

/// The lines of the gateway's metric `name`, with their labels, sorted.
async fn metric_lines(gateway: &TestGateway, name: &str) -> String {
    let metrics = client::send(&client::h1(), client::get(&gateway.admin_url("/metrics"))).await;
    let mut lines: Vec<&str> = metrics
        .text()
        .lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|l| l.starts_with('{')))
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// The support agent's masks of [`DOC`]'s email and card number are in
/// `text`.
fn assert_support_view(text: &str) {
    assert!(text.contains(r#""email":"j*******@example.com""#), "{text}");
    assert!(
        text.contains(r#""card_number":"**** **** **** 1111""#),
        "{text}"
    );
}

/// The fraud analyst, for its purpose, gets [`DOC`]'s card in the clear.
async fn assert_fraud_sees_the_card(gateway: &TestGateway, fraud: &str) {
    let purpose = Some("fraud-investigation");
    let revealed = client::send(
        &client::h1(),
        call(&gateway.url("/customers"), fraud, purpose),
    )
    .await;
    assert!(revealed.text().contains(CARD), "{}", revealed.text());
}

fn call(url: &str, key: &str, purpose: Option<&str>) -> http::Request<TestBody> {
    let mut request = client::get(url);
    request
        .headers_mut()
        .insert("x-api-key", key.parse().unwrap());
    if let Some(purpose) = purpose {
        request
            .headers_mut()
            .insert("x-purpose", purpose.parse().unwrap());
    }
    request
}

/// The support agent sees masked values, the fraud analyst (for its
/// purpose) the clear ones; unclassified free text is scanned; nothing
/// classified reaches the support agent in any form, even with the body
/// split inside the values.
#[tokio::test]
async fn each_role_sees_its_view_whatever_the_chunking() {
    let upstream = Upstream::start(|_| async {
        // Split inside the email, the card and an escape-free stretch.
        let parts = [&DOC[..47], &DOC[47..90], &DOC[90..91], &DOC[91..]]
            .map(|p| Bytes::copy_from_slice(p.as_bytes()));
        body::json(body::chunks(parts.to_vec()))
    })
    .await;
    let (gateway, support, fraud) = gateway(&upstream).await;
    let http = client::h1();

    let seen = client::send(&http, call(&gateway.url("/customers"), &support, None)).await;
    assert_eq!(seen.status, 200);
    let text = seen.text();
    assert_support_view(text);
    // Free text is scanned: the email found in it gets the email action.
    assert!(text.contains("call b**@corp.example about it"), "{text}");
    for secret in [EMAIL, CARD, "4111111111111111", "jane.doe", "bob@"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(seen.header("cache-control"), Some("private, no-store"));
    assert!(seen.header("content-length").is_none() || seen.body.len() == text.len());
    serde_json::from_str::<serde_json::Value>(text).expect("the output is JSON");

    assert_fraud_sees_the_card(&gateway, &fraud).await;
    // The rewriter asked the product for an encoding it can read.
    assert!(
        upstream
            .requests()
            .iter()
            .all(|r| r.header("accept-encoding") == Some("identity"))
    );
}

/// The metrics count what the rewriter did to each class, by the action
/// the caller's rule gives it, and what it found in unclassified text:
/// the counts of the responses sent, never a value.
#[tokio::test]
async fn the_metrics_count_values_by_class_action_and_outcome() {
    let upstream = Upstream::start(|_| async { body::json(body::full(DOC)) }).await;
    let (gateway, support, fraud) = gateway(&upstream).await;
    let http = client::h1();
    for _ in 0..2 {
        let seen = client::send(&http, call(&gateway.url("/customers"), &support, None)).await;
        assert_support_view(seen.text());
    }
    assert_fraud_sees_the_card(&gateway, &fraud).await;

    let classified = metric_lines(&gateway, "maskgate_classified_values_total").await;
    // Support masked one email and one card in each of its two responses;
    // fraud had them revealed, as they were.
    assert_eq!(
        classified,
        [
            r#"maskgate_classified_values_total{product="customers",class="card_number",action="mask",outcome="replaced"} 2"#,
            r#"maskgate_classified_values_total{product="customers",class="card_number",action="reveal",outcome="kept"} 1"#,
            r#"maskgate_classified_values_total{product="customers",class="email",action="mask",outcome="replaced"} 2"#,
            r#"maskgate_classified_values_total{product="customers",class="email",action="reveal",outcome="kept"} 1"#,
        ]
        .join("\n")
    );
    // Each response's name was scanned and kept, its notes held an email,
    // which got the email action (fraud's too: `reveal`).
    assert_eq!(
        metric_lines(&gateway, "maskgate_unclassified_values_total").await,
        [
            r#"maskgate_unclassified_values_total{product="customers",outcome="kept"} 3"#,
            r#"maskgate_unclassified_values_total{product="customers",outcome="replaced"} 3"#,
        ]
        .join("\n")
    );
    // The email in those notes: masked for support, revealed for fraud.
    assert_eq!(
        metric_lines(&gateway, "maskgate_detected_values_total").await,
        [
            r#"maskgate_detected_values_total{product="customers",class="email",action="mask",outcome="replaced"} 2"#,
            r#"maskgate_detected_values_total{product="customers",class="email",action="reveal",outcome="kept"} 1"#,
        ]
        .join("\n")
    );
    let text = client::send(&http, client::get(&gateway.admin_url("/metrics"))).await;
    for secret in [EMAIL, CARD, "j*******@example.com", "Jane", "bob@"] {
        assert!(!text.text().contains(secret), "{secret} in the metrics");
    }

    // A product that denies what it did not classify: its id, name, notes
    // and total are dropped, and counted so.
    let (denying, support, _) =
        gateway_with(&upstream, "[product.masking]\nunclassified = \"deny\"\n").await;
    let seen = client::send(&http, call(&denying.url("/customers"), &support, None)).await;
    assert!(!seen.text().contains("Jane"), "{}", seen.text());
    assert_eq!(
        metric_lines(&denying, "maskgate_unclassified_values_total").await,
        r#"maskgate_unclassified_values_total{product="customers",outcome="dropped"} 4"#
    );
}

/// The classified values written with JSON escapes and the body sent three
/// bytes at a time (so every escape and value is split): the support
/// agent's view holds none of them, in the clear or escaped, and its masks
/// are those of the decoded values.
#[tokio::test]
async fn escaped_values_in_tiny_chunks_do_not_leak() {
    let escaped = DOC
        .replace(EMAIL, r"jane.doe\u0040example.com")
        .replace(CARD, r"\u0034111 1111 1111 111\u0031");
    assert_ne!(escaped, DOC);
    let upstream = Upstream::start(move |_| {
        let parts: Vec<Bytes> = escaped
            .as_bytes()
            .chunks(3)
            .map(Bytes::copy_from_slice)
            .collect();
        async move { body::json(body::chunks(parts)) }
    })
    .await;
    let (seen, _) = support_reply(&upstream, "").await;
    assert_eq!(seen.status, 200);
    let text = seen.text();
    assert_support_view(text);
    for secret in [
        EMAIL,
        "jane.doe",
        r"jane.doe\u0040",
        CARD,
        "4111 1111",
        r"\u0034111",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

/// What cannot be protected is blocked: a non-JSON body, a compressed one,
/// invalid JSON at the start (502 before anything is sent).
#[tokio::test]
async fn unprotectable_responses_are_blocked() {
    for (case, expected) in [
        ("text", "unprotectable_response"),
        ("gzip", "unprotectable_response"),
        ("deflate", "unprotectable_response"),
        ("br", "unprotectable_response"),
        ("invalid", "masking_failed"),
    ] {
        let upstream = Upstream::start(move |_| async move {
            match case {
                "text" => {
                    let mut response = Response::new(body::full(DOC));
                    response
                        .headers_mut()
                        .insert("content-type", "text/plain".parse().unwrap());
                    response
                }
                "gzip" | "deflate" | "br" => {
                    let mut response = body::json(body::full(DOC));
                    response
                        .headers_mut()
                        .insert("content-encoding", case.parse().unwrap());
                    response
                }
                _ => body::json(body::full(
                    r#"{"items":[{"email":"jane.doe@example.com",}]}"#,
                )),
            }
        })
        .await;
        let (reply, failures) = support_reply(&upstream, "").await;
        let message = assert_gateway_error(&reply, 502, expected);
        assert!(!reply.text().contains("jane.doe"), "{case}: {message}");
        assert_eq!(
            failures,
            r#"maskgate_masking_failures_total{product="customers",body="response",outcome="blocked"} 1"#,
            "{case}"
        );
    }
}

/// Every JSON media type is rewritten (NDJSON record by record, any
/// `+json` type, with parameters); a type the product allows passes as it
/// is, and a non-JSON type it does not allow is still blocked.
#[tokio::test]
async fn json_types_are_rewritten_and_allowed_types_pass() {
    let ndjson = format!("{DOC}\n{DOC}\n");
    let csv = "id,email\n7,jane.doe@example.com\n".to_owned();
    for (content_type, sent, masked_records) in [
        ("application/x-ndjson", ndjson, Some(2)),
        (
            "application/vnd.api+json; charset=utf-8",
            DOC.to_owned(),
            Some(1),
        ),
        ("application/problem+json", DOC.to_owned(), Some(1)),
        ("text/csv", csv.clone(), None),
        ("text/plain", csv, None),
    ] {
        let body_sent = sent.clone();
        let upstream = Upstream::start(move |_| {
            let body_sent = body_sent.clone();
            async move {
                let mut response = Response::new(body::full(body_sent));
                response
                    .headers_mut()
                    .insert("content-type", content_type.parse().unwrap());
                response
            }
        })
        .await;
        let (reply, _) = support_reply(
            &upstream,
            "[product.masking]\nallow_content_types = [\"text/csv\"]\n",
        )
        .await;
        match (masked_records, content_type) {
            (Some(records), _) => {
                assert_eq!(reply.status, 200, "{content_type}: {}", reply.text());
                let text = reply.text();
                assert_eq!(
                    text.matches(r#""email":"j*******@example.com""#).count(),
                    records,
                    "{content_type}: {text}"
                );
                assert!(
                    !text.contains(EMAIL) && !text.contains(CARD),
                    "{content_type}: {text}"
                );
                assert_eq!(text.lines().count(), records, "{content_type}: {text}");
            }
            (None, "text/csv") => {
                assert_eq!(reply.status, 200, "{content_type}");
                assert_eq!(reply.text(), sent, "an allowed type passes as it is");
            }
            (None, _) => {
                assert_gateway_error(&reply, 502, "unprotectable_response");
                assert!(!reply.text().contains("jane.doe"), "{content_type}");
            }
        }
    }
}

/// A small body that the product sends whole, with its length, is
/// rewritten whole before the head: it goes out with its own exact length,
/// and invalid JSON anywhere in it (here at its very end, after valid
/// output) is a 502 rather than a broken transfer.
#[tokio::test]
async fn a_small_body_is_rewritten_whole_with_its_length() {
    let upstream = Upstream::start(|seen| async move {
        match seen.uri.path() {
            "/customers/bad" => body::json(body::full(r#"{"items":[{"email":"a@b.example"}]]"#)),
            _ => body::json(body::full(DOC)),
        }
    })
    .await;
    let (gateway, support, _) = gateway(&upstream).await;
    let http = client::h1();

    let seen = client::send(&http, call(&gateway.url("/customers"), &support, None)).await;
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string().as_str())
    );
    assert!(seen.header("transfer-encoding").is_none());
    assert!(
        seen.text().contains(r#""email":"j*******@example.com""#),
        "{}",
        seen.text()
    );

    let bad = client::send(&http, call(&gateway.url("/customers/bad"), &support, None)).await;
    assert_gateway_error(&bad, 502, "masking_failed");
    assert!(!bad.text().contains("a@b.example"), "{}", bad.text());

    // HEAD: no body to rewrite, and not the clear body's length either.
    let mut head = call(&gateway.url("/customers"), &support, None);
    *head.method_mut() = http::Method::HEAD;
    let headed = client::send(&http, head).await;
    assert_eq!(headed.status, 200);
    assert!(headed.body.is_empty());
    assert_ne!(
        headed.header("content-length"),
        Some(DOC.len().to_string().as_str())
    );
    assert_eq!(headed.header("cache-control"), Some("private, no-store"));
}

/// Invalid JSON after the first chunk has gone out: the transfer breaks,
/// the client never gets a body that looks complete.
#[tokio::test]
async fn a_failure_mid_stream_breaks_the_transfer() {
    let upstream = Upstream::start(|_| async {
        let good = r#"{"items":[{"id":1,"note":"fine"},"#.to_owned() + &" ".repeat(70_000);
        let parts = vec![Bytes::from(good), Bytes::from_static(b"{\"email\":]}")];
        body::json(body::chunks(parts))
    })
    .await;
    let (gateway, support, _) = gateway(&upstream).await;
    let outcome = client::try_send(
        &client::h1(),
        call(&gateway.url("/customers"), &support, None),
    )
    .await;
    assert!(
        outcome.is_err(),
        "a broken body must not arrive as complete: {outcome:?}"
    );
    assert_eq!(
        masking_failures(&gateway).await,
        r#"maskgate_masking_failures_total{product="customers",body="response",outcome="aborted"} 1"#
    );
}

/// A gateway in front of a storing product whose card number is stored as
/// `store` says (TOML lines), with a fresh keyring (in the returned
/// directory).
async fn storing_gateway(
    store: &str,
) -> (support::StoringUpstream, TestGateway, tempfile::TempDir) {
    let upstream = support::StoringUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring.json");
    maskgate_masking::LocalKeyring::generate(&keyring).unwrap();
    let gateway = TestGateway::start(&format!(
        "{PLAINTEXT_GATEWAY}{}\n[masking]\nkeyring = \"{}\"\n",
        support::upstream::stored_card_product(&upstream.url(), store),
        keyring.display(),
    ))
    .await;
    (upstream, gateway, dir)
}

/// A product that stores a field encrypted: writes reach it with the field
/// encrypted (never in clear), reads open it again for the caller's action,
/// and a write that is not JSON is refused.
#[tokio::test]
async fn stored_fields_are_encrypted_on_the_way_in() {
    let (upstream, gateway, _keys) = storing_gateway("store = \"encrypted\"").await;
    let http = client::h1();
    let post = |body: &'static str, content_type: &str| {
        let mut request = http::Request::post(gateway.url("/accounts"))
            .body(body::full(body))
            .unwrap();
        request
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
        request
    };
    let written = client::send(
        &http,
        post(
            r#"{"owner":"Jane","card_number":"4111 1111 1111 1111"}"#,
            "application/json",
        ),
    )
    .await;
    assert_eq!(written.status, 200);
    let at_rest = upstream.stored();
    assert!(
        !at_rest.contains("4111"),
        "the product stored the card in clear: {at_rest}"
    );
    assert!(at_rest.contains("\"card_number\":\"mg1:"), "{at_rest}");
    assert!(at_rest.contains("\"owner\":\"Jane\""), "{at_rest}");
    // What the product answers is opened and masked for the caller.
    assert!(
        written
            .text()
            .contains(r#""card_number":"**** **** **** 1111""#),
        "{}",
        written.text()
    );

    let refused = client::send(&http, post("card=4111111111111111", "text/plain")).await;
    assert_gateway_error(&refused, 400, "bad_request_body");
    let invalid = client::send(
        &http,
        post(r#"{"card_number":"4111",}"#, "application/json"),
    )
    .await;
    assert_gateway_error(&invalid, 400, "bad_request_body");
    // A JSON Patch addresses values by pointer, out of the selectors'
    // sight: refused, never passed on in the clear.
    let patch = client::send(
        &http,
        post(
            r#"[{"op":"replace","path":"/card_number","value":"4111 1111 1111 1111"}]"#,
            "application/json-patch+json",
        ),
    )
    .await;
    assert_gateway_error(&patch, 400, "bad_request_body");
    assert!(!upstream.stored().contains("4111"), "{}", upstream.stored());
    // Only the invalid JSON reached the rewriter (the other two were
    // refused by their type).
    assert_eq!(
        masking_failures(&gateway).await,
        r#"maskgate_masking_failures_total{product="accounts",body="request",outcome="refused"} 1"#
    );
}

/// `store = "tokenized"`: what the product stores is an FF1 token of the
/// card's shape (digits where the card has digits, so the domain's own
/// checks still pass), whether it was written by POST, PUT or PATCH; what
/// it serves back is detokenized before the caller's action, so the card
/// mask shows the real last four digits.
#[tokio::test]
async fn stored_fields_can_be_tokenized_on_the_way_in() {
    let (upstream, gateway, _keys) =
        storing_gateway("store = \"tokenized\"\nstore_key = \"fpe-1\"").await;
    let http = client::h1();
    let writes = [
        (http::Method::POST, "4111 1111 1111 1111"),
        (http::Method::PUT, "5500 0000 0000 0004"),
        (http::Method::PATCH, "4012-8888-8888-1881"),
    ];
    for (method, card) in writes {
        let request = http::Request::builder()
            .method(method.clone())
            .uri(gateway.url("/accounts"))
            .header("content-type", "application/json")
            .body(body::full(format!(
                r#"{{"owner":"Jane","card_number":"{card}"}}"#
            )))
            .unwrap();
        let written = client::send(&http, request).await;
        assert_eq!(written.status, 200, "{method}: {}", written.text());
        let at_rest: serde_json::Value = serde_json::from_str(&upstream.stored()).unwrap();
        let token = at_rest["card_number"].as_str().expect("a string token");
        assert_ne!(
            token, card,
            "{method}: the product stored the card in clear"
        );
        assert_eq!(token.len(), card.len(), "{method}: {token}");
        assert!(
            token
                .chars()
                .zip(card.chars())
                .all(|(t, c)| t.is_ascii_digit() == c.is_ascii_digit()
                    && (t.is_ascii_digit() || t == c)),
            "{method}: the token {token} does not keep the shape of the card"
        );
        assert_eq!(at_rest["owner"], "Jane");
        let last4 = &card[card.len() - 4..];
        let separator = &card[4..5];
        let masked = format!("****{separator}****{separator}****{separator}{last4}");
        assert!(
            written
                .text()
                .contains(&format!(r#""card_number":"{masked}""#)),
            "{method}: {}",
            written.text()
        );
    }
}
