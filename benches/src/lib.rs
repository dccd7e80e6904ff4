//! Benchmarks of maskgate: see `benches/README.md`.

pub mod rewrite_fixture;
