//! `[audit]`: parsed with its defaults and paths resolved against the
//! file's directory; every rule refused with its key path.

use std::path::Path;

use super::{MINIMAL, ORIGIN, error_lines, parse};
use crate::HmacField;

fn with_audit(keys: &str) -> String {
    format!("{MINIMAL}\n[audit]\n{keys}")
}

#[test]
fn defaults_and_paths_relative_to_the_file() {
    let config = parse(&with_audit(
        "path = \"log\"\nsigning_key = \"k/s.pk8\"\nhmac_key = \"k/h.key\"\ncreate_keys = true\n",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let audit = config.audit.unwrap();
    let dir = Path::new(ORIGIN).parent().unwrap();
    assert_eq!(audit.path, dir.join("log"));
    assert_eq!(audit.signing_key, Some(dir.join("k/s.pk8")));
    assert!(audit.fail_closed);
    assert_eq!(
        audit.fsync_interval.get(),
        std::time::Duration::from_millis(2)
    );
    assert_eq!(audit.checkpoint_every, 1000);
    assert!(audit.hmacs(HmacField::Query));
    assert!(!audit.hmacs(HmacField::Subject));
    assert!(parse(MINIMAL).unwrap().audit.is_none());
}

#[test]
fn bad_values_are_located() {
    let lines = error_lines(&with_audit(
        "path = \"log\"\nsigning_key = \"s.pk8\"\nhmac_key = \"h.key\"\nfsync_interval = \"5s\"\ncheckpoint_every = 0\ninstance_id = \"a/b\"\nhmac_fields = [\"subject\"]\n",
    ));
    let text = lines.join("\n");
    for expected in [
        "gw.toml:15:1: audit.fsync_interval: must be 100us to 1s",
        "gw.toml:16:1: audit.checkpoint_every: must be 1 to 1000000",
        "gw.toml:17:1: audit.instance_id: must be 1 to 64",
        "gw.toml:13:1: audit.signing_key: /etc/maskgate/s.pk8 does not exist (set create_keys = true to create it)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let text = error_lines(&with_audit(
        "path = \"log\"\nsigning_key = \"s\"\nhmac_key = \"h\"\nhmac_fields = [\"email\"]\n",
    ))
    .join("\n");
    assert!(text.contains("audit.hmac_fields"), "{text}");
    let text = error_lines(&with_audit(
        "path = \"log\"\nsigning_key = \"s\"\nhmac_key = \"h\"\nfail_close = true\n",
    ))
    .join("\n");
    assert!(text.contains("unknown field `fail_close`"), "{text}");
}
