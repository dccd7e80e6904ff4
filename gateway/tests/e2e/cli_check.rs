//! `maskgate check` and `--help`, run as the real binary.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn maskgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maskgate"))
        .args(args)
        .output()
        .expect("the maskgate binary runs")
}

fn check(config: &Path) -> Output {
    maskgate(&["check", "--config", config.to_str().unwrap()])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of `examples/maskgate.toml` in a temporary directory, with the
/// certificate files it names generated beside it.
fn example_with_certificates(dir: &Path) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maskgate.toml");
    let config = dir.join("maskgate.toml");
    std::fs::copy(example, &config).unwrap();
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(tls.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(tls.join("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(tls.join("internal-ca.pem"), cert.pem()).unwrap();
    config
}

/// The shipped example is valid, and the summary shows what it configures.
#[test]
fn the_example_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_with_certificates(dir.path());
    let output = check(&config);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(
        stdout.contains("0.0.0.0:8443 https (http1+http2)"),
        "{stdout}"
    );
    assert!(stdout.contains("products (2)"), "{stdout}");
    assert!(
        stdout.contains("authn    jwt (1 issuer), api_key (1 key, header x-api-key)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "access roles support, analyst; methods GET, HEAD; purposes support-case, fraud-investigation (required)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("quota  50/s (burst 100)"), "{stdout}");
    assert!(
        stdout.contains("/customers -> https://customers.internal.example:8443/"),
        "{stdout}"
    );
    // The policy version audit records carry: the file's SHA-256, as
    // `sha256sum` computes it.
    let digest = ring::digest::digest(&ring::digest::SHA256, &std::fs::read(&config).unwrap());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        stdout.contains(&format!("policy version sha256:{hex}")),
        "{stdout}"
    );
}

/// A misspelled key fails with exit status 1, naming file, line, column and
/// key path.
#[test]
fn a_misspelled_key_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("typo.toml");
    std::fs::write(
        &config,
        "[server]\n[[server.listener]]\naddress = \"127.0.0.1:8080\"\nplaintext = true\n\n\
         [[product]]\nname = \"customers\"\nroute = { path_prefix = \"/customers\" }\n\
         uptream = { url = \"http://127.0.0.1:9000\" }\n",
    )
    .unwrap();
    let output = check(&config);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let expected = format!(
        "{}:9:1: product[0].uptream: unknown field `uptream`",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// Every validation problem is reported, not just the first.
#[test]
fn every_problem_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[server]\n[[server.listener]]\naddress = \"127.0.0.1:8080\"\n\n\
         [[product]]\nname = \"a\"\nroute = { path_prefix = \"/a\" }\nupstream = { url = \"ftp://x\" }\n\n\
         [[product]]\nname = \"a\"\nroute = { path_prefix = \"/a\" }\nupstream = { url = \"http://127.0.0.1:1\" }\n",
    )
    .unwrap();
    let output = check(&config);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    for key in [
        "server.listener[0]",
        "product[0].upstream.url",
        "product[1].name",
        "product[1].route",
    ] {
        assert!(stderr.contains(key), "missing {key} in:\n{stderr}");
    }
    assert!(stderr.lines().count() >= 4, "{stderr}");
}

/// A missing file is named in the error.
#[test]
fn a_missing_file_is_named() {
    let output = check(Path::new("/nonexistent/maskgate.toml"));
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("/nonexistent/maskgate.toml"));
}

/// `--help` lists the subcommands, and each subcommand explains itself.
#[test]
fn help_explains_every_command() {
    let output = maskgate(&["--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    for word in ["serve", "check", "demo", "api-key", "--log-format"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    for (command, expect) in [
        (vec!["serve", "--help"], "--config"),
        (vec!["check", "--help"], "line, column and key path"),
        (vec!["demo", "--help"], "--listen"),
        (vec!["demo", "product", "--help"], "sample product"),
    ] {
        let output = maskgate(&command);
        assert!(output.status.success(), "{command:?}");
        let help = text(&output.stdout);
        assert!(
            help.contains(expect),
            "{command:?} help lacks {expect:?}:\n{help}"
        );
    }
}

/// `maskgate api-key new` prints a key and the config entry holding only
/// its hash; the two belong together, and `--key-file` keeps the key off
/// the terminal, readable by its owner only.
#[test]
fn api_key_new_prints_a_key_and_its_hash_entry() {
    let output = maskgate(&["api-key", "new", "--id", "billing", "--role", "analyst"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let mut lines = stdout.lines();
    let key = lines.next().unwrap();
    assert!(key.starts_with("mgk_billing_"), "{stdout}");
    let entry = lines.collect::<Vec<_>>().join("\n");
    let expected = format!("hash = \"{}\"", maskgate_authn::ApiKeys::hash(key));
    assert!(entry.contains(&expected), "{entry}");
    assert!(entry.contains("roles = [\"analyst\"]"), "{entry}");
    assert!(!entry.contains(key), "the entry must not hold the key");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("billing.key");
    let output = maskgate(&[
        "api-key",
        "new",
        "--id",
        "billing",
        "--key-file",
        file.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text(&output.stdout).contains(&stored),
        "the key was printed"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

/// The fields and policy of a product whose selectors and class pattern
/// the masking crate refuses (after [`masked_product`]'s head: the first
/// field's `path` is on line 12, the second's on 16, the pattern on 21).
const UNSTREAMABLE: &str = r#"
[[product.field]]
path = "$.items[?(@.vip)].email"
class = "email"

[[product.field]]
path = "$.items[*].phone.length()"
class = "phone"

[[class]]
name = "loyalty_id"
pattern = "LOY-[0-9"

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "redact" } }
"#;

/// A selector outside the streamable JSONPath subset is refused by `check`
/// at its line, with what is unsupported; never silently ignored.
#[test]
fn an_unstreamable_selector_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = masked_product(dir.path(), UNSTREAMABLE);
    let output = check(&config);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    // Every problem at once, each at its line.
    for (line, key) in [
        (12, "product[0].field[0].path"),
        (16, "product[0].field[1].path"),
        (21, "class[0].pattern"),
    ] {
        let expected = format!("{}:{line}:1: {key}:", config.display());
        assert!(stderr.contains(&expected), "{expected} not in {stderr}");
    }
    assert!(stderr.contains("$.items[?(@.vip)].email"), "{stderr}");

    // The same file with streamable selectors and a pattern that compiles
    // is valid.
    let text_ok = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[?(@.vip)]", "[*]")
        .replace(".length()", "")
        .replace("LOY-[0-9\"", "LOY-[0-9]{8}\"");
    std::fs::write(&config, text_ok).unwrap();
    let output = check(&config);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// One run of `check` reports the configuration's own problems and what
/// the masking crate finds (selectors, patterns) together, in file order,
/// and a problem both find is said once.
#[test]
fn check_reports_every_problem_of_both_stages_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Beside the masking crate's problems, two of the configuration's own:
    // an unknown class, and no default rule.
    let config = masked_product(
        dir.path(),
        &UNSTREAMABLE
            .replace(r#"class = "phone""#, r#"class = "shoe_size""#)
            .replace("default = true", r#"roles = ["x"]"#),
    );
    let output = check(&config);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let found: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&format!("{}:", config.display())))
        .collect();
    let expected = [
        "12:1: product[0].field[0].path: selector",
        "16:1: product[0].field[1].path: selector",
        "17:1: product[0].field[1].class: unknown class \"shoe_size\"",
        "21:1: class[0].pattern:",
        // Once, though the masking crate refuses that policy too (as
        // `policy`).
        "23:1: policy[0]: the last rule must be the default",
    ];
    assert_eq!(found.len(), expected.len(), "{stderr}");
    for (line, start) in found.iter().zip(expected) {
        assert!(line.starts_with(start), "{start:?} expected, got {line:?}");
    }

    // A keyring that cannot be read is reported with the selectors, not
    // instead of them (and without a "needs a key" for every action).
    let config = masked_product(
        dir.path(),
        &format!(
            "{}\n[masking]\nkeyring = \"no-such-keyring.json\"\n",
            UNSTREAMABLE
                .replace(".length()", "")
                .replace("LOY-[0-9\"", "LOY-[0-9]{8}\"")
                .replace(r#"action = "redact""#, r#"action = "hash""#)
        ),
    );
    let stderr = text(&check(&config).stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains(":12:1: product[0].field[0].path: selector"),
        "{stderr}"
    );
    assert!(
        lines[1].contains(":29:1: masking.keyring: cannot read"),
        "{stderr}"
    );
}

/// `maskgate explain` shows the rule a caller gets, each field's action,
/// and the sample as that caller would see it.
#[test]
fn explain_shows_the_rule_the_actions_and_the_rewritten_sample() {
    let dir = tempfile::tempdir().unwrap();
    let config = masked_product(
        dir.path(),
        r#"
[[product.field]]
path = "$..email"
class = "email"

[[product.field]]
path = "$..card_number"
class = "card_number"

[[policy]]
name = "support"
roles = ["support"]
actions = { email = { action = "mask", preset = "email" } }

[[policy]]
name = "everyone"
default = true
actions = { "*" = { action = "redact" } }
"#,
    );
    let sample = dir.path().join("sample.json");
    std::fs::write(
        &sample,
        r#"{"email":"jane@example.com","card_number":"4111 1111 1111 1111","notes":"or bob@corp.example"}"#,
    )
    .unwrap();
    let args = |role: &str| {
        vec![
            "explain".to_owned(),
            "--config".into(),
            config.display().to_string(),
            "--product".into(),
            "customers".into(),
            "--role".into(),
            role.into(),
            "--sample".into(),
            sample.display().to_string(),
        ]
    };
    let run = |role: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_maskgate"))
            .args(args(role))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let support = run("support");
    assert!(support.contains("rule \"support\""), "{support}");
    assert!(
        support.contains(r#""email":"j***@example.com""#),
        "{support}"
    );
    assert!(support.contains(r#""card_number":null"#), "{support}");
    assert!(!support.contains("4111"), "{support}");
    // Unclassified fields are `detect`ed by default: what a value found in
    // free text becomes, class by class, under the caller's rule.
    assert!(support.contains("unclassified fields: detect"), "{support}");
    let found = |class: &str, action: &str| {
        support.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words == ["found", "in", "text", class, "->", action]
        })
    };
    assert!(found("email", "mask"), "{support}");
    assert!(found("card_number", "redact"), "{support}");
    // And what the sample's notes held: one email, masked.
    assert!(
        support.contains(r#""notes":"or b**@corp.example""#),
        "{support}"
    );
    assert!(
        support.lines().any(|line| line.split_whitespace().eq([
            "found",
            "in",
            "text",
            "email",
            "->",
            "mask",
            "x1",
            "(replaced)"
        ])),
        "{support}"
    );
    // The support rule names no card_number nor "*": the default rule's
    // action applies, and explain says where it comes from.
    assert!(
        support.lines().any(|line| line.contains("$..card_number")
            && line.ends_with("-> redact (from rule \"everyone\")")),
        "{support}"
    );
    let other = run("analyst");
    assert!(other.contains("rule \"everyone\""), "{other}");
    assert!(other.contains(r#""email":null"#), "{other}");
}

/// `maskgate explain --plan` prints each action with its parameters (and
/// rewrites no sample); a `deny` product's dropped unclassified values are
/// counted under their own line; an NDJSON sample is read record by record.
#[test]
fn explain_prints_the_plan_and_takes_deny_and_ndjson_samples() {
    let dir = tempfile::tempdir().unwrap();
    let config = masked_product(
        dir.path(),
        r#"
[product.masking]
unclassified = "deny"

[[product.field]]
path = "$.email"
class = "email"

[[product.field]]
path = "$.id"
class = "customer_id"

[[class]]
name = "customer_id"

[[policy]]
name = "everyone"
default = true
actions = { email = { action = "mask", preset = "email" }, customer_id = { action = "pass" }, "*" = { action = "redact" } }
"#,
    );
    let sample = dir.path().join("sample.ndjson");
    std::fs::write(
        &sample,
        "{\"id\":\"7\",\"email\":\"jane@example.com\",\"notes\":\"hers\",\"meta\":{\"crm\":\"x1\"}}\n{\"id\":\"8\",\"email\":\"bob@example.com\",\"notes\":\"his\",\"meta\":{\"crm\":\"x2\"}}\n",
    )
    .unwrap();
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "--config",
            config.to_str().unwrap(),
            "--product",
            "customers",
            "--sample",
            sample.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = maskgate(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let run = explain(&[]);
    assert!(
        run.lines().any(|line| line.contains("unclassified (deny)")
            && line.ends_with("drop x2 (container dropped)")),
        "{run}"
    );
    assert!(
        run.lines().any(|line| line.contains("unclassified (deny)")
            && line.ends_with("drop x2 (dropped)")),
        "{run}"
    );
    assert!(
        run.contains("{\"id\":\"7\",\"email\":\"j***@example.com\"}\n{\"id\":\"8\",\"email\":\"b**@example.com\"}"),
        "{run}"
    );
    assert!(
        !run.contains("hers") && !run.contains("his\"") && !run.contains("x1"),
        "{run}"
    );

    let plan = explain(&["--plan"]);
    assert!(plan.contains("Mask(Preset { preset: Email"), "{plan}");
    assert!(plan.contains("unclassified fields: deny"), "{plan}");
    assert!(!plan.contains("rewritten sample"), "{plan}");
}

/// A key the configuration needs and the keyring file lacks is an error
/// of `check`, at the line that needs it, not a 502 on every response.
#[test]
fn check_refuses_a_key_the_keyring_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring.json");
    let mut ring = maskgate_masking::LocalKeyring::empty();
    ring.rotate(maskgate_masking::KeyPurpose::Encrypt).unwrap();
    ring.save(&keyring).unwrap();
    let rest = |store_key: &str, card: &str| {
        format!(
            r#"
[[product.field]]
path = "$..card_number"
class = "card_number"
store = "tokenized"
store_key = "{store_key}"

[[policy]]
name = "everyone"
default = true
actions = {{ card_number = {{ action = "{card}" }}, "*" = {{ action = "redact" }} }}

[masking]
keyring = "{}"
"#,
            keyring.display()
        )
    };
    let config = masked_product(dir.path(), &rest("fpe-1", "pass"));
    let output = check(&config);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let expected = format!("{}:15:1: product[0].field[0].store_key:", config.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("needs the fpe key fpe-1"), "{stderr}");

    // With the FPE key in the keyring, a rule that hashes still needs an
    // HMAC key.
    ring.rotate(maskgate_masking::KeyPurpose::Fpe).unwrap();
    ring.save(&keyring).unwrap();
    let config = masked_product(dir.path(), &rest("fpe-1", "hash"));
    let stderr = text(&check(&config).stderr);
    assert!(
        stderr.contains("policy[0].actions.card_number:"),
        "{stderr}"
    );
    assert!(stderr.contains("needs an hmac key"), "{stderr}");

    ring.rotate(maskgate_masking::KeyPurpose::Hmac).unwrap();
    ring.save(&keyring).unwrap();
    let output = check(&config);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// `masked.toml` in `dir`: a plaintext listener and a product `customers`,
/// followed by `rest` (its fields and the policies).
fn masked_product(dir: &Path, rest: &str) -> PathBuf {
    let config = dir.join("masked.toml");
    let head = r#"[server]
[[server.listener]]
address = "127.0.0.1:0"
plaintext = true

[[product]]
name = "customers"
route = { path_prefix = "/customers" }
upstream = { url = "http://127.0.0.1:9" }
"#;
    std::fs::write(&config, format!("{head}{rest}")).unwrap();
    config
}
