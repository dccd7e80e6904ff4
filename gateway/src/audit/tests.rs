//! The audit layer without sockets: a record per request with what inner
//! layers left (leases HMAC'd), the end of the body withheld until the
//! record is durable, and a record for a body dropped half-way.

use std::{convert::Infallible, sync::Arc};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use maskgate_config::Audit as AuditConfig;
use serde_json::Value;
use tower::{Layer, ServiceExt, service_fn};

use super::{AuditFacts, AuditLayer, Auditor};
use crate::{
    body::{self, Body},
    error::GatewayError,
};

/// The layer with an auditor writing into `dir`.
async fn layer(dir: &std::path::Path) -> (AuditLayer, Arc<Auditor>) {
    let auditor = auditor(dir).await;
    let layer = AuditLayer::new(
        Some(auditor.clone()),
        Arc::from("sha256:00"),
        "127.0.0.1:5000".parse().unwrap(),
    );
    (layer, auditor)
}

async fn auditor(dir: &std::path::Path) -> Arc<Auditor> {
    let mut config = AuditConfig::new(
        dir.join("log"),
        dir.join("signing.pk8"),
        dir.join("hmac.key"),
    );
    config.create_keys = true;
    let keys = super::AuditKeys::load(&config, None).await.unwrap();
    Arc::new(Auditor::start(&config, keys).unwrap())
}

fn records(dir: &std::path::Path) -> Vec<Value> {
    maskgate_audit::read_records(&[dir.join("log")])
        .unwrap()
        .into_iter()
        .map(|l| serde_json::to_value(l.record).unwrap())
        .collect()
}

type Counted = super::body::CountingBody<Full<Bytes>>;

/// An inner service that reads the request body, uses a leased credential
/// and answers `hello`.
async fn leasing(request: Request<Counted>) -> Result<Response<Body>, Infallible> {
    let facts = request.extensions().get::<AuditFacts>().unwrap().clone();
    facts.update(|f| f.leases.push("database/creds/ro/LEASE-CANARY-1".to_owned()));
    let _ = request.into_body().collect().await;
    Ok(Response::new(body::full("hello")))
}

fn upload() -> Request<Full<Bytes>> {
    Request::new(Full::new(Bytes::from_static(b"abc")))
}

#[tokio::test]
async fn one_record_with_leases_hmacd_once_the_body_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, auditor) = layer(dir.path()).await;
    let response = layer
        .layer(service_fn(leasing))
        .oneshot(upload())
        .await
        .unwrap();
    // Failing closed, the length is withheld: the end comes with the record.
    assert!(response.headers().get("content-length").is_none());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"hello");
    let found = records(dir.path());
    assert_eq!(found.len(), 1, "durable before the body ended");
    let record = &found[0];
    assert_eq!(record["status"], 200);
    assert_eq!(record["bytes_out"], 5);
    assert_eq!(record["bytes_in"], 3);
    assert_eq!(record["outcome"], "complete");
    assert_eq!(record["decision"], "allowed");
    let lease = record["leases"][0].as_str().unwrap();
    assert!(lease.starts_with("hmac-sha256:"), "{lease}");
    auditor.shutdown();
    let text = std::fs::read_to_string(
        maskgate_audit::expand(&[dir.path().join("log")]).unwrap()[0].clone(),
    )
    .unwrap();
    assert!(!text.contains("LEASE-CANARY"));
}

#[tokio::test]
async fn refusals_and_abandoned_bodies_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, auditor) = layer(dir.path()).await;
    let refuse = service_fn(|_: Request<Counted>| async {
        Ok::<_, Infallible>(GatewayError::NoRoute.into_response(None))
    });
    let response = layer.layer(refuse).oneshot(upload()).await.unwrap();
    assert_eq!(response.status(), 404);
    drop(response.into_body().collect().await.unwrap());
    // A body the client never reads to its end.
    let response = layer
        .layer(service_fn(leasing))
        .oneshot(upload())
        .await
        .unwrap();
    drop(response);
    auditor.shutdown();
    let found = records(dir.path());
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["decision"], "refused");
    assert_eq!(found[0]["reason"], "no_route");
    assert_eq!(found[1]["outcome"], "client_gone");
}

/// The lease the proxy reports (a response extension) is recorded, HMAC'd.
#[tokio::test]
async fn the_lease_the_proxy_used_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, auditor) = layer(dir.path()).await;
    let leased = service_fn(|_: Request<Counted>| async {
        let mut response = Response::new(body::full("ok"));
        response.extensions_mut().insert(crate::proxy::LeaseUsed(
            "database/creds/ro/LEASE-CANARY-2".to_owned(),
        ));
        Ok::<_, Infallible>(response)
    });
    let response = layer.layer(leased).oneshot(upload()).await.unwrap();
    drop(response.into_body().collect().await.unwrap());
    auditor.shutdown();
    let found = records(dir.path());
    assert_eq!(found[0]["leases"].as_array().unwrap().len(), 1);
    assert!(
        found[0]["leases"][0]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    let text = std::fs::read_to_string(
        maskgate_audit::expand(&[dir.path().join("log")]).unwrap()[0].clone(),
    )
    .unwrap();
    assert!(!text.contains("LEASE-CANARY"));
}
