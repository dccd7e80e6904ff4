//! The audit log: how many records per second the writer makes durable
//! (group commit, failing closed: each record's commit awaited), and how
//! fast the verifier checks a log of a million records.
//!
//! ```sh
//! cargo bench -p maskgate-benches --bench audit
//! ```

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use maskgate_audit::{
    Decision, FieldTreatment, Principal, PublicKey, Record, SigningKey, Writer, WriterConfig,
    verify_paths,
};

/// A record of typical size (about 700 bytes on disk): a caller with two
/// roles, a product, a path with an HMAC'd query value, three fields.
fn record(n: u64) -> Record {
    let mut r = Record::new(
        "2026-11-25T09:00:00.123456Z".to_owned(),
        format!("{:032x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        "bench-gw-1".to_owned(),
        "GET".to_owned(),
        "/customers?limit=hmac-sha256:5d41402abc4b2a76b9719d911017c592ae1b9a6f4e1c0a1b2c3d4e5f60718293".to_owned(),
    );
    r.principal = Some(Principal::new(
        format!("user-{}", n % 1000),
        "jwt".to_owned(),
        vec!["support".to_owned(), "emea".to_owned()],
    ));
    r.purpose = Some("support-case".to_owned());
    r.product = Some("customers".to_owned());
    r.route = Some("/customers".to_owned());
    r.client = Some("10.1.2.3".to_owned());
    r.decision = Decision::Allowed;
    r.upstream_status = Some(200);
    r.status = 200;
    for (class, action) in [
        ("email", "mask"),
        ("card_number", "mask"),
        ("iban", "redact"),
    ] {
        r.fields.push(FieldTreatment::new(
            format!("$.items.*.{class}"),
            class.to_owned(),
            action.to_owned(),
            "replaced".to_owned(),
            20,
        ));
    }
    r.bytes_out = 5321;
    r.latency_us = 2100;
    r.policy = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned();
    r
}

fn config(dir: &std::path::Path, fail_closed: bool) -> WriterConfig {
    let mut config = WriterConfig::new(dir, "bench-gw-1");
    config.fail_closed = fail_closed;
    config
}

/// Appends `n` records at once (as `n` concurrent requests would) and
/// awaits every commit.
fn write_batch(writer: &Writer, runtime: &tokio::runtime::Runtime, n: u64) {
    let commits: Vec<_> = (0..n).map(|i| writer.append(&record(i))).collect();
    runtime.block_on(async {
        for commit in commits {
            commit.await.expect("durable");
        }
    });
}

fn writer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("audit_write");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    const N: u64 = 20_000;
    group.throughput(Throughput::Elements(N));
    for fail_closed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = SigningKey::generate().unwrap();
        let writer = Writer::start(config(dir.path(), fail_closed), key).unwrap();
        let name = if fail_closed {
            "fail_closed"
        } else {
            "fail_open"
        };
        group.bench_function(BenchmarkId::new(name, N), |b| {
            b.iter(|| write_batch(&writer, &runtime, N));
        });
        writer.shutdown().unwrap();
    }
    // One caller at a time: the latency a request pays for durability.
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = SigningKey::generate().unwrap();
    let writer = Writer::start(config(dir.path(), true), key).unwrap();
    group.bench_function("one_commit_latency", |b| {
        b.iter(|| write_batch(&writer, &runtime, 1));
    });
    writer.shutdown().unwrap();
    group.finish();
}

fn verify(c: &mut Criterion) {
    const RECORDS: u64 = 1_000_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = SigningKey::generate().unwrap();
    let public: PublicKey = key.public_key();
    // Failing closed, so that each batch is durable before the next: the
    // writer's buffer bound is never reached.
    let writer = Writer::start(config(dir.path(), true), key).unwrap();
    for _ in 0..RECORDS / 50_000 {
        write_batch(&writer, &runtime, 50_000);
    }
    writer.shutdown().unwrap();
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    eprintln!("verify: {RECORDS} records, {} MiB", bytes >> 20);
    let mut group = c.benchmark_group("audit_verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("1M_records", |b| {
        b.iter(|| {
            let report = verify_paths(&[dir.path().to_owned()], &public).unwrap();
            assert!(
                report.is_ok(),
                "{:?}",
                &report.problems[..report.problems.len().min(5)]
            );
            assert_eq!(report.records, RECORDS);
        });
    });
    group.finish();
}

criterion_group!(benches, writer, verify);
criterion_main!(benches);
