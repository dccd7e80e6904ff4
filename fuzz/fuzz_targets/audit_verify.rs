//! The audit log verifier never panics, whatever the bytes, and never
//! calls a log clean unless it is: each input is one or more log files
//! (separated by NUL bytes, which a log never holds), verified with the
//! public key of the seed corpus (made by maskgate's writer; the private key
//! was discarded), so seeds verify and the fuzzer mutates from there. Also
//! the access-record and public-key parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The public key of the logs in corpus/audit_verify.
const PUBLIC_KEY: &str = "ed25519:fa332d75149857e232ebd918dab4cebe0c7fb9519a853c1f8fbb2087d86e194d";

fuzz_target!(|data: &[u8]| {
    let key = maskgate_audit::PublicKey::parse(PUBLIC_KEY).expect("the corpus key parses");
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = data
        .split(|&b| b == 0)
        .enumerate()
        .map(|(i, bytes)| (format!("f{i}.jsonl").into(), bytes.to_vec()))
        .collect();
    let report = maskgate_audit::verify_files(files, &key);
    if report.is_ok() {
        // A clean log ends with a valid final checkpoint.
        assert!(!report.last_signed.is_empty());
    }
    for line in data.split(|&b| b == b'\n').take(4) {
        let _ = serde_json::from_slice::<maskgate_audit::Record>(line);
        if let Ok(text) = std::str::from_utf8(line) {
            let _ = maskgate_audit::PublicKey::parse(text);
        }
    }
});
