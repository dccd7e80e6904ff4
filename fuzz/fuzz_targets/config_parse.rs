//! The configuration parser and validator never panic, whatever the bytes,
//! and every error they report is located in the file when it can be.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = maskgate_config::Config::from_str(text, std::path::Path::new("fuzz.toml"));
    }
});
