//! `rewrite-count`: runs one case of the rewrite bench a given number of
//! times, for an instruction counter (`benches/rewrite-instructions.sh` runs
//! it under `valgrind --tool=callgrind`, whose counts do not depend on what
//! else the machine is doing).
//!
//! The documents, the plan and the baseline are the criterion bench's own
//! (`maskgate_benches::rewrite_fixture`), checked the same way before the
//! runs. With `--runs 0` it does everything but the runs, so the counter can
//! subtract that setup from a run with `--runs N`.

use std::hint::black_box;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use maskgate_benches::rewrite_fixture::{
    At, RULES, Untouched, bench_policy, check_outputs, document, rewrite, serde_value,
};
use maskgate_masking::{Action, FieldPolicy, Unclassified};

/// Command line of `rewrite-count`.
#[derive(Debug, Parser)]
#[command(about = "Runs one case of the rewrite bench N times (for callgrind)")]
struct Args {
    /// What to run: the bench's case of that name.
    #[arg(long, value_enum)]
    case: Case,
    /// The document's target size in bytes (the bench's sizes: 1000,
    /// 100000, 100000000).
    #[arg(long, default_value_t = 100_000)]
    bytes: usize,
    /// How many times to run it.
    #[arg(long, default_value_t = 1000)]
    runs: usize,
}

/// The bench's cases (`rewriter/...` and `serde_json_value/10-paths`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Case {
    /// `rewriter/10-paths`
    Paths,
    /// `rewriter/untouched`
    Untouched,
    /// `rewriter/10-paths+detect`
    Detect,
    /// `serde_json_value/10-paths`
    Serde,
}

fn main() {
    let args = Args::parse();
    let policy = bench_policy(Unclassified::Pass);
    let detect = bench_policy(Unclassified::Detect);
    let untouched: Arc<dyn FieldPolicy> = Arc::new(Untouched);
    let rules: Vec<(At, Action)> = RULES.iter().map(|(at, act)| (*at, act.action())).collect();
    let (doc, records) = document(args.bytes);
    check_outputs(&doc, &policy, &detect, &rules);
    let mut out = Vec::with_capacity(doc.len() + (doc.len() >> 2) + 4096);
    for _ in 0..args.runs {
        match args.case {
            Case::Paths => rewrite(&policy, black_box(&doc), &mut out),
            Case::Untouched => rewrite(&untouched, black_box(&doc), &mut out),
            Case::Detect => rewrite(&detect, black_box(&doc), &mut out),
            Case::Serde => serde_value(black_box(&doc), &rules, &mut out),
        }
    }
    println!("document {} bytes, {records} records", doc.len());
}
