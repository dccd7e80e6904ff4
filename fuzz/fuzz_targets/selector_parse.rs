//! The selector parser never panics; what it accepts prints back to a
//! selector that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maskgate_masking::Selector;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        let printed = selector.to_string();
        let again = Selector::parse(&printed).expect("a printed selector parses");
        assert_eq!(again.to_string(), printed);
    }
});
