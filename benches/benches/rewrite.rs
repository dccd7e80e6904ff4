//! Throughput of the streaming JSON rewriter (`maskgate-masking`), beside
//! `serde_json::Value` doing the same job on the same documents in the same
//! run.
//!
//! Three synthetic customer documents (`{"items":[...],...}`, records of 16
//! fields: name, e-mail, phone, card number, IBAN, national id, birth date,
//! a nested address, tags, amounts, a nested last login with an IP address,
//! free-text notes with escapes and non-ASCII) of about 1 KB, 100 KB and
//! 100 MB, each generated once, deterministically. For each size:
//!
//! - `rewriter/10-paths/SIZE`: a `Rewriter` with a policy of 10 selectors
//!   (`RULES`: 6 redacted, 4 masked, through `Action::apply`) fed the
//!   document in 64 KiB chunks, then finished.
//! - `rewriter/untouched/SIZE`: the same with a policy that answers
//!   `Outside` at the root: every byte passes through unchanged (validated,
//!   copied).
//! - `rewriter/10-paths+detect/SIZE`: the same plan with the product's
//!   default for unclassified fields, `detect`: every other string value is
//!   scanned by the built-in detectors (a finding would be redacted). Not a
//!   goal of its own: what the default costs.
//! - `serde_json_value/10-paths/SIZE`: `serde_json::from_slice::<Value>`,
//!   the same 10 rules applied by walking the tree, serialization, and the
//!   drop of the tree.
//!
//! Throughput is the input document's size in bytes (decimal units, MB/s
//! and GB/s, as the goals are stated). Before measuring, the outputs are
//! checked: the rewriter's and serde_json's parse to the same `Value`, and
//! the untouched output equals the input byte for byte.
//!
//! `cargo bench -p maskgate-benches --bench rewrite`; figures and the machine
//! they came from are in `benches/README.md`.

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use maskgate_benches::rewrite_fixture::{
    At, RULES, Untouched, bench_policy, check_outputs, document, rewrite, serde_value,
};
use maskgate_masking::{Action, FieldPolicy, Unclassified};

/// The documents: criterion's label and the target size in bytes (the
/// document is the largest whole number of records that fits, at least one).
const SIZES: [(&str, usize); 3] = [("1KB", 1_000), ("100KB", 100_000), ("100MB", 100_000_000)];

fn rewrite_bench(c: &mut Criterion) {
    let policy = bench_policy(Unclassified::Pass);
    let detect = bench_policy(Unclassified::Detect);
    let untouched: Arc<dyn FieldPolicy> = Arc::new(Untouched);
    let rules: Vec<(At, Action)> = RULES.iter().map(|(at, act)| (*at, act.action())).collect();

    for (label, target) in SIZES {
        let (doc, records) = document(target);
        eprintln!("document {label}: {} bytes, {records} records", doc.len());
        check_outputs(&doc, &policy, &detect, &rules);
        let mut out = Vec::with_capacity(doc.len() + (doc.len() >> 2) + 4096);
        let large = doc.len() > 10 << 20;

        for name in ["rewriter", "serde_json_value"] {
            let mut group = c.benchmark_group(name);
            group.throughput(Throughput::BytesDecimal(doc.len() as u64));
            if large {
                // One iteration takes a quarter of a second to over a second
                // on 2 shared cores: ten samples of a fixed iteration count
                // (about one iteration each for the slowest), so that the
                // whole bench stays under 3 minutes.
                group
                    .sample_size(10)
                    .sampling_mode(SamplingMode::Flat)
                    .warm_up_time(Duration::from_secs(2))
                    .measurement_time(Duration::from_secs(if name == "rewriter" {
                        12
                    } else {
                        15
                    }));
            }
            if name == "rewriter" {
                group.bench_function(format!("10-paths/{label}"), |b| {
                    b.iter(|| rewrite(&policy, black_box(&doc), &mut out));
                });
                group.bench_function(format!("untouched/{label}"), |b| {
                    b.iter(|| rewrite(&untouched, black_box(&doc), &mut out));
                });
                group.bench_function(format!("10-paths+detect/{label}"), |b| {
                    b.iter(|| rewrite(&detect, black_box(&doc), &mut out));
                });
            } else {
                group.bench_function(format!("10-paths/{label}"), |b| {
                    b.iter(|| serde_value(black_box(&doc), &rules, &mut out));
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, rewrite_bench);
criterion_main!(benches);
