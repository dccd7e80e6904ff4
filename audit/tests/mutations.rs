//! 10,000 random mutations of a rotated, multi-file log — bit flips, line
//! deletions, insertions, swaps, tail truncations, splices between files —
//! each must be detected; the clean log must pass. Seeded, so a failure
//! reproduces.

mod common;

use std::path::PathBuf;

use maskgate_audit::{PublicKey, verify_files};

/// xorshift64*: a small seeded generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

type Files = Vec<(PathBuf, Vec<u8>)>;

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.concat()
}

/// Applies one random mutation; its description.
fn mutate(files: &mut Files, rng: &mut Rng) -> String {
    let kind = rng.below(7);
    let f = rng.below(files.len());
    match kind {
        0 => {
            let bytes = &mut files[f].1;
            let at = rng.below(bytes.len());
            let bit = rng.below(8);
            bytes[at] ^= 1 << bit;
            format!("flip bit {bit} of byte {at} in file {f}")
        }
        1 => {
            let mut l = lines(&files[f].1);
            let at = rng.below(l.len());
            l.remove(at);
            files[f].1 = join(&l);
            format!("delete line {at} of file {f}")
        }
        2 => {
            // Insert a copy of any line (of any file) anywhere.
            let g = rng.below(files.len());
            let source = lines(&files[g].1);
            let line = source[rng.below(source.len())].clone();
            let mut l = lines(&files[f].1);
            let at = rng.below(l.len() + 1);
            l.insert(at, line);
            files[f].1 = join(&l);
            format!("insert a line of file {g} at line {at} of file {f}")
        }
        3 => {
            let mut l = lines(&files[f].1);
            let a = rng.below(l.len());
            let mut b = rng.below(l.len());
            if a == b {
                b = (a + 1) % l.len();
            }
            l.swap(a, b);
            files[f].1 = join(&l);
            format!("swap lines {a} and {b} of file {f}")
        }
        4 => {
            // Truncate the tail of the last file: at a byte, or whole lines.
            let last = files.len() - 1;
            let bytes = &mut files[last].1;
            if rng.below(2) == 0 {
                let at = rng.below(bytes.len());
                bytes.truncate(at);
                format!("truncate the last file at byte {at}")
            } else {
                let mut l = lines(bytes);
                let n = 1 + rng.below(l.len().min(5));
                l.truncate(l.len() - n);
                *bytes = join(&l);
                format!("drop the last {n} lines of the last file")
            }
        }
        5 => {
            // Splice: move a run of lines from one file into another.
            let mut g = rng.below(files.len());
            if g == f {
                g = (f + 1) % files.len();
            }
            let mut from = lines(&files[f].1);
            let at = rng.below(from.len());
            let n = 1 + rng.below((from.len() - at).min(3));
            let run: Vec<Vec<u8>> = from.drain(at..at + n).collect();
            let mut to = lines(&files[g].1);
            let to_at = rng.below(to.len() + 1);
            for (i, line) in run.into_iter().enumerate() {
                to.insert(to_at + i, line);
            }
            files[f].1 = join(&from);
            files[g].1 = join(&to);
            format!("move {n} lines from file {f} line {at} to file {g} line {to_at}")
        }
        _ => {
            // A whole file removed (any of them).
            files.remove(f);
            format!("remove file {f}")
        }
    }
}

#[test]
fn every_random_mutation_is_detected_and_clean_logs_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.rotate_size = 3000;
    config.checkpoint_every = 10;
    let public: PublicKey = common::write_log(config, 24);
    let paths = maskgate_audit::expand(&[dir.path().to_owned()]).unwrap();
    assert!(paths.len() >= 3, "{paths:?}");
    let clean: Files = paths
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    let report = verify_files(clean.clone(), &public);
    assert!(report.is_ok(), "clean log: {:#?}", report.problems);
    // File order given does not matter.
    let mut reversed = clean.clone();
    reversed.reverse();
    assert!(verify_files(reversed, &public).is_ok());

    let mut rng = Rng(0x5eed_a0d1_7000_0001);
    for round in 0..10_000 {
        let mut files = clean.clone();
        let what = mutate(&mut files, &mut rng);
        if files.iter().map(|f| &f.1).eq(clean.iter().map(|f| &f.1)) {
            panic!("round {round}: mutation {what} changed nothing");
        }
        let report = verify_files(files, &public);
        assert!(!report.is_ok(), "round {round}: not detected: {what}");
    }
}
