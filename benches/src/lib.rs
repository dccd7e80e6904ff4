//! Benchmarks of maskgate: see `benches/README.md`.
