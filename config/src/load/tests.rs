use std::path::{Path, PathBuf};

use super::*;
use crate::{ByteSize, Duration, HttpVersion, LimitOverrides, TlsVersion};

mod access;
mod audit;
mod masking;
mod secrets;

const ORIGIN: &str = "/etc/maskgate/gw.toml";

/// One plaintext listener and one product: the smallest useful file.
const MINIMAL: &str = r#"
[[server.listener]]
address = "127.0.0.1:8080"
plaintext = true

[[product]]
name = "customers"
route = { path_prefix = "/customers" }
upstream = { url = "http://127.0.0.1:9000" }
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str(text, Path::new(ORIGIN))
}

/// The displayed lines of the error `text` gives.
fn error_lines(text: &str) -> Vec<String> {
    let error = parse(text).expect_err("the config should be refused");
    error.to_string().lines().map(str::to_owned).collect()
}

/// The one diagnostic of a config with exactly one problem.
fn only_diagnostic(text: &str) -> Diagnostic {
    let error = parse(text).expect_err("the config should be refused");
    match error.diagnostics() {
        [only] => only.clone(),
        many => panic!("expected one diagnostic, got {many:#?}"),
    }
}

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

/// A self-signed certificate and its key, written as PEM files in `dir`.
fn write_tls_files(dir: &Path) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("generate a test certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[test]
fn minimal_config_parses_with_defaults() {
    let config = parse(MINIMAL).unwrap();

    let [listener] = config.server.listeners.as_slice() else {
        panic!("one listener expected");
    };
    assert_eq!(listener.address, "127.0.0.1:8080".parse().unwrap());
    assert!(listener.plaintext);
    assert_eq!(listener.tls, None);
    assert_eq!(listener.name, None);
    assert_eq!(
        listener.http_versions,
        [HttpVersion::Http1, HttpVersion::Http2]
    );

    let limits = &config.server.limits;
    assert_eq!(limits.max_request_body, ByteSize::mib(10));
    assert_eq!(limits.max_header_bytes, ByteSize::kib(64));
    assert_eq!(limits.max_headers, 100);

    let timeouts = &config.server.timeouts;
    assert_eq!(timeouts.header_read, Duration::from_secs(10));
    assert_eq!(timeouts.tls_handshake, Duration::from_secs(10));
    assert_eq!(timeouts.shutdown_grace, Duration::from_secs(30));

    assert!(config.admin.enabled);
    assert_eq!(config.admin.address, "127.0.0.1:9901".parse().unwrap());

    let [product] = config.products.as_slice() else {
        panic!("one product expected");
    };
    assert_eq!(product.name, "customers");
    assert_eq!(product.route.path_prefix, "/customers");
    assert_eq!(product.route.host, None);
    assert!(!product.route.strip_prefix);
    let upstream = &product.upstream;
    assert_eq!(upstream.url.as_str(), "http://127.0.0.1:9000/");
    assert_eq!(upstream.ca, None);
    assert_eq!(upstream.http_versions, [HttpVersion::Http1]);
    assert_eq!(upstream.connect_timeout, Duration::from_secs(5));
    assert_eq!(upstream.response_timeout, Duration::from_secs(30));
    assert_eq!(upstream.pool_idle_timeout, Duration::from_secs(90));
    assert_eq!(upstream.pool_max_idle, 64);
    assert_eq!(product.limits, LimitOverrides::default());

    assert_eq!(config.validate().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn full_config_parses() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_tls_files(dir.path());
    let text = format!(
        r#"
[server]
[[server.listener]]
name = "public"
address = "0.0.0.0:8443"
tls = {{ cert = {cert:?}, key = {key:?}, min_version = "1.3" }}
http_versions = ["http2"]

[server.limits]
max_request_body = "1MiB"
max_header_bytes = "16KiB"
max_headers = 50

[server.timeouts]
header_read = "2m"
tls_handshake = "3s"
shutdown_grace = "0s"

[admin]
address = "127.0.0.1:9000"

[[product]]
name = "orders.v2"
route = {{ path_prefix = "/", host = "Orders.Example.COM", strip_prefix = true }}
upstream = {{ url = "https://orders.internal:8443/api", ca = {cert:?}, http_versions = ["http1", "http2"], connect_timeout = "500ms", pool_max_idle = 0 }}
limits = {{ max_request_body = "100KiB" }}
"#
    );
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let listener = &config.server.listeners[0];
    let tls = listener.tls.as_ref().unwrap();
    assert_eq!(tls.min_version, TlsVersion::Tls13);
    assert_eq!(tls.cert, cert);
    assert_eq!(listener.name.as_deref(), Some("public"));
    assert_eq!(
        config.server.timeouts.shutdown_grace,
        Duration::from_secs(0)
    );
    assert_eq!(config.server.timeouts.header_read, Duration::from_secs(120));
    let product = &config.products[0];
    assert_eq!(product.route.host.as_deref(), Some("orders.example.com"));
    assert_eq!(product.upstream.connect_timeout, Duration::from_millis(500));
    assert_eq!(
        product.max_request_body(&config.server.limits),
        ByteSize::kib(100)
    );
}

#[test]
fn max_request_body_falls_back_to_the_server_limit() {
    let config = parse(MINIMAL).unwrap();
    let product = &config.products[0];
    assert_eq!(
        product.max_request_body(&config.server.limits),
        ByteSize::mib(10)
    );
}

#[test]
fn misspelled_key_names_line_key_path_and_expected_keys() {
    let text = MINIMAL.replace(
        "upstream = { url = \"http://127.0.0.1:9000\" }",
        "uptream = { url = \"http://127.0.0.1:9000\" }",
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.file(), Path::new(ORIGIN));
    assert_eq!(diagnostic.location(), at(9, 1));
    assert_eq!(diagnostic.key_path(), "product[0].uptream");
    let message = diagnostic.message();
    assert!(message.contains("unknown field `uptream`"), "{message}");
    assert!(message.contains("`upstream`"), "{message}");
    assert_eq!(
        diagnostic.to_string(),
        format!("{ORIGIN}:9:1: product[0].uptream: {message}")
    );
}

#[test]
fn misspelled_key_in_a_nested_table_names_its_path() {
    let text = format!("{MINIMAL}\n[server.limits]\nmax_header = 10\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(12, 1));
    assert_eq!(diagnostic.key_path(), "server.limits.max_header");
    assert!(diagnostic.message().contains("`max_headers`"));

    let text = MINIMAL.replace("plaintext = true", "plaintext = true\ntls.cret = \"x\"");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(5, 5));
    assert_eq!(diagnostic.key_path(), "server.listener[0].tls.cret");
}

#[test]
fn unknown_section_is_refused() {
    let text = format!("{MINIMAL}\n[telemetry]\naddress = \"http://x\"\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(11, 2));
    assert_eq!(diagnostic.key_path(), "telemetry");
    assert!(diagnostic.message().contains("unknown field `telemetry`"));
}

#[test]
fn bare_integer_duration_fails_with_the_expected_form() {
    let text = format!("{MINIMAL}\n[server.timeouts]\nheader_read = 30\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(12, 15));
    assert_eq!(diagnostic.key_path(), "server.timeouts.header_read");
    let message = diagnostic.message();
    assert!(
        message.contains("bare number (30) has no unit"),
        "{message}"
    );
    assert!(message.contains("\"30s\""), "{message}");
}

#[test]
fn bad_size_and_duration_strings_are_explained() {
    let text = format!("{MINIMAL}\n[server.limits]\nmax_request_body = \"10 parsecs\"\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.limits.max_request_body");
    assert!(
        diagnostic.message().contains("invalid size"),
        "{diagnostic}"
    );

    let text = MINIMAL.replace(
        "upstream = { url = \"http://127.0.0.1:9000\" }",
        "upstream = { url = \"http://127.0.0.1:9000\", connect_timeout = \"soon\" }",
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "product[0].upstream.connect_timeout");
    assert_eq!(diagnostic.location(), at(9, 63));
    assert!(
        diagnostic.message().contains("invalid duration"),
        "{diagnostic}"
    );
}

#[test]
fn wrong_types_and_values_name_the_key() {
    let text = MINIMAL.replace("plaintext = true", "plaintext = \"yes\"");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].plaintext");
    assert_eq!(diagnostic.location(), at(4, 13));

    let text = MINIMAL.replace("127.0.0.1:8080", "localhost:8080");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].address");

    let text = format!("{MINIMAL}http_versions = [\"http1\", \"http3\"]\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "product[0].http_versions");
    assert!(
        diagnostic.message().contains("unknown field"),
        "{diagnostic}"
    );

    let text = MINIMAL.replace(
        "plaintext = true",
        "plaintext = true\nhttp_versions = [\"http1\", \"http3\"]",
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].http_versions[1]");
    assert_eq!(diagnostic.location(), at(5, 27));
    assert!(diagnostic.message().contains("`http2`"), "{diagnostic}");
}

#[test]
fn missing_key_names_its_table() {
    let text = MINIMAL.replace("route = { path_prefix = \"/customers\" }\n", "");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "product[0]");
    assert_eq!(diagnostic.location(), at(6, 1));
    assert!(
        diagnostic.message().contains("missing field `route`"),
        "{diagnostic}"
    );

    // Missing at the top: about the whole file, not its first key.
    let diagnostic = only_diagnostic("[admin]\nenabled = false\n");
    assert_eq!(
        diagnostic.to_string(),
        format!("{ORIGIN}: missing field `server`")
    );
    let diagnostic = only_diagnostic("");
    assert_eq!(diagnostic.location(), None);
}

#[test]
fn syntax_error_is_located_with_its_key_path() {
    let text = MINIMAL.replace("plaintext = true", "plaintext = tru");
    let diagnostic = only_diagnostic(&text);
    assert!(matches!(parse(&text), Err(ConfigError::Parse { .. })));
    assert_eq!(diagnostic.location(), at(4, 13));
    assert_eq!(diagnostic.key_path(), "server.listener[0].plaintext");

    let text = MINIMAL.replace("plaintext = true", "plaintext true");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(4, 11));
    assert_eq!(diagnostic.key_path(), "server.listener[0].plaintext");
    assert!(
        diagnostic.message().contains("expected `=`"),
        "{diagnostic}"
    );

    // Unterminated string: reported at the end of its line.
    let text = MINIMAL.replace("\"customers\"", "\"customers");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(7, 18));
    assert_eq!(diagnostic.key_path(), "product[0].name");

    // Unclosed header: the header's path, not the keys after it.
    let text = MINIMAL.replace("[[product]]", "[[product]");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.location(), at(6, 11));
    assert_eq!(diagnostic.key_path(), "product[0]");
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    let (cert, key) = write_tls_files(&dir.path().join("tls"));
    let absolute_ca = cert.clone();
    let text = format!(
        r#"
[[server.listener]]
address = "127.0.0.1:8443"
tls = {{ cert = "tls/cert.pem", key = "tls/key.pem" }}

[[product]]
name = "a"
route = {{ path_prefix = "/a" }}
upstream = {{ url = "https://a.internal", ca = "./tls/cert.pem" }}

[[product]]
name = "b"
route = {{ path_prefix = "/b" }}
upstream = {{ url = "https://b.internal", ca = {absolute_ca:?} }}
"#
    );
    let origin = dir.path().join("gw.toml");
    std::fs::write(&origin, &text).unwrap();

    let config = Config::load(&origin).unwrap_or_else(|e| panic!("{e}"));
    let tls = config.server.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.cert, cert);
    assert_eq!(tls.key, key);
    assert_eq!(
        config.products[0].upstream.ca.as_deref(),
        Some(dir.path().join("./tls/cert.pem").as_path())
    );
    assert_eq!(
        config.products[1].upstream.ca.as_deref(),
        Some(absolute_ca.as_path())
    );

    // From elsewhere, the same relative paths point at nothing: the check
    // names the resolved path.
    let elsewhere = Path::new("/nonexistent/gw.toml");
    let error = Config::from_str(&text, elsewhere).unwrap_err();
    let lines = error.to_string();
    assert!(
        lines.contains("/nonexistent/gw.toml:4:9: server.listener[0].tls.cert: cannot read certificate file /nonexistent/tls/cert.pem"),
        "{lines}"
    );

    // A bare file name: paths stay relative to the working directory.
    let error = Config::from_str(&text, Path::new("gw.toml")).unwrap_err();
    assert!(error.to_string().contains("file tls/cert.pem:"), "{error}");
}

#[test]
fn load_names_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let error = Config::load(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    let [diagnostic] = error.diagnostics() else {
        panic!("one diagnostic expected");
    };
    assert_eq!(diagnostic.file(), missing);
    assert_eq!(diagnostic.location(), None);
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: cannot read the configuration file: ",
            missing.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("No such file"), "{shown}");
}

#[test]
fn every_validation_problem_is_reported_in_file_order() {
    let text = r#"
[[server.listener]]
address = "127.0.0.1:8080"

[server.limits]
max_headers = 0

[[product]]
name = "a b"
route = { path_prefix = "/a/" }
upstream = { url = "ftp://a.internal" }
"#;
    let error = parse(text).unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    let lines: Vec<String> = error.to_string().lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            format!(
                "{ORIGIN}:2:1: server.listener[0]: set tls, or plaintext = true to serve plain HTTP explicitly"
            ),
            format!(
                "{ORIGIN}:6:1: server.limits.max_headers: must be at least 1: every request has a Host header"
            ),
            format!(
                "{ORIGIN}:9:1: product[0].name: \"a b\" may contain only ASCII letters, digits, '_', '.' and '-' (it appears in logs, metrics and audit records)"
            ),
            format!(
                "{ORIGIN}:10:11: product[0].route.path_prefix: \"/a/\" must not end with '/' (only the root \"/\" does): prefixes match whole segments, so \"/customers\" already matches \"/customers/42\""
            ),
            format!(
                "{ORIGIN}:11:14: product[0].upstream.url: scheme \"ftp\" is not supported: use http or https"
            ),
        ]
    );
}

#[test]
fn listeners_are_required() {
    let lines = error_lines("[server]\nlistener = []\n");
    assert_eq!(
        lines,
        [format!(
            "{ORIGIN}:2:1: server.listener: no listener: add a [[server.listener]] table with an address"
        )]
    );
}

#[test]
fn listener_needs_exactly_one_of_tls_and_plaintext() {
    let text = MINIMAL.replace("plaintext = true\n", "");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0]");
    assert_eq!(diagnostic.location(), at(2, 1));
    assert_eq!(
        diagnostic.message(),
        "set tls, or plaintext = true to serve plain HTTP explicitly"
    );

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_tls_files(dir.path());
    let text = MINIMAL.replace(
        "plaintext = true",
        &format!("plaintext = true\ntls = {{ cert = {cert:?}, key = {key:?} }}"),
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].plaintext");
    assert_eq!(diagnostic.location(), at(4, 1));
    assert!(diagnostic.message().contains("both set"), "{diagnostic}");
}

#[test]
fn listener_addresses_must_not_clash() {
    let text = format!(
        "{MINIMAL}\n[[server.listener]]\naddress = \"127.0.0.1:8080\"\nplaintext = true\n\
         [[server.listener]]\naddress = \"0.0.0.0:8080\"\nplaintext = true\n\
         [[server.listener]]\naddress = \"127.0.0.1:0\"\nplaintext = true\n\
         [[server.listener]]\naddress = \"127.0.0.1:0\"\nplaintext = true\n"
    );
    let lines = error_lines(&text);
    assert_eq!(
        lines,
        [
            format!(
                "{ORIGIN}:12:1: server.listener[1].address: 127.0.0.1:8080 is already the address of server.listener[0]"
            ),
            format!(
                "{ORIGIN}:15:1: server.listener[2].address: 0.0.0.0:8080 clashes with server.listener[0] (127.0.0.1:8080): the same port, and one of them binds every address"
            ),
        ]
    );
}

#[test]
fn admin_address_must_not_clash_with_a_listener() {
    let text = format!("{MINIMAL}\n[admin]\naddress = \"127.0.0.1:8080\"\n");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "admin.address");
    assert_eq!(diagnostic.location(), at(12, 1));
    assert_eq!(
        diagnostic.message(),
        "127.0.0.1:8080 is already the address of server.listener[0]"
    );

    // A disabled admin listener binds nothing.
    let text = format!("{MINIMAL}\n[admin]\naddress = \"127.0.0.1:8080\"\nenabled = false\n");
    assert!(parse(&text).is_ok());

    // The default admin address, taken by a listener: nothing on the path
    // is written in the file, so there is no location.
    let text = MINIMAL.replace("127.0.0.1:8080", "127.0.0.1:9901");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "admin.address");
    assert_eq!(diagnostic.location(), None);
    assert_eq!(
        diagnostic.to_string(),
        format!(
            "{ORIGIN}: admin.address: 127.0.0.1:9901 is already the address of server.listener[0]"
        )
    );
}

#[test]
fn http_versions_must_be_a_non_empty_set() {
    let text = MINIMAL.replace("plaintext = true", "plaintext = true\nhttp_versions = []");
    let diagnostic = only_diagnostic(&text);
    assert_eq!(diagnostic.key_path(), "server.listener[0].http_versions");
    assert_eq!(diagnostic.location(), at(5, 1));
    assert!(
        diagnostic.message().contains("at least one"),
        "{diagnostic}"
    );

    let text = MINIMAL.replace(
        "url = \"http://127.0.0.1:9000\"",
        "url = \"http://127.0.0.1:9000\", http_versions = [\"http2\", \"http1\", \"http2\"]",
    );
    let diagnostic = only_diagnostic(&text);
    assert_eq!(
        diagnostic.key_path(),
        "product[0].upstream.http_versions[2]"
    );
    assert_eq!(diagnostic.message(), "\"http2\" is listed twice");
    assert_eq!(diagnostic.location(), at(9, 80));
}

#[test]
fn tls_files_must_exist_and_hold_pem() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_tls_files(dir.path());
    let origin = dir.path().join("gw.toml");
    let config = |cert: &str, key: &str| {
        format!(
            "[[server.listener]]\naddress = \"127.0.0.1:8443\"\ntls = {{ cert = \"{cert}\", key = \"{key}\" }}\n"
        )
    };

    assert!(Config::from_str(&config("cert.pem", "key.pem"), &origin).is_ok());

    // Swapped: the key file holds no certificate, the cert file no key.
    let error = Config::from_str(&config("key.pem", "cert.pem"), &origin).unwrap_err();
    let lines: Vec<String> = error.to_string().lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            format!(
                "{}:3:9: server.listener[0].tls.cert: certificate file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                origin.display(),
                key.display()
            ),
            format!(
                "{}:3:27: server.listener[0].tls.key: key file {} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
                origin.display(),
                cert.display()
            ),
        ]
    );

    let error = Config::from_str(&config("nope.pem", "key.pem"), &origin).unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error}");
    };
    assert_eq!(diagnostic.key_path(), "server.listener[0].tls.cert");
    assert!(
        diagnostic.message().starts_with(&format!(
            "cannot read certificate file {}: ",
            dir.path().join("nope.pem").display()
        )),
        "{diagnostic}"
    );
}

#[test]
fn product_names_must_be_valid_and_unique() {
    let text = format!(
        "{MINIMAL}\n[[product]]\nname = \"customers\"\nroute = {{ path_prefix = \"/other\" }}\nupstream = {{ url = \"http://b\" }}\n\
         [[product]]\nname = \"\"\nroute = {{ path_prefix = \"/third\" }}\nupstream = {{ url = \"http://c\" }}\n"
    );
    let lines = error_lines(&text);
    assert_eq!(
        lines,
        [
            format!(
                "{ORIGIN}:12:1: product[1].name: \"customers\" is already the name of product[0]"
            ),
            format!("{ORIGIN}:16:1: product[2].name: must not be empty"),
        ]
    );
}

#[test]
fn route_problems_are_reported() {
    let product = |name: &str, route: &str| {
        format!(
            "\n[[product]]\nname = \"{name}\"\nroute = {{ {route} }}\nupstream = {{ url = \"http://u\" }}\n"
        )
    };
    let text = [
        MINIMAL.to_owned(),
        product("p1", "path_prefix = \"customers\""),
        product("p2", "path_prefix = \"/a?b=1\""),
        product("p3", "path_prefix = \"/a//b\""),
        product("p4", "path_prefix = \"/x\", host = \"api.example.com:443\""),
        product("p5", "path_prefix = \"/y\", host = \"bad_host\""),
    ]
    .concat();
    let error = parse(&text).unwrap_err();
    let keys: Vec<&str> = error.diagnostics().iter().map(|d| d.key_path()).collect();
    assert_eq!(
        keys,
        [
            "product[1].route.path_prefix",
            "product[2].route.path_prefix",
            "product[3].route.path_prefix",
            "product[4].route.host",
            "product[5].route.host",
        ]
    );
    let messages: Vec<&str> = error.diagnostics().iter().map(|d| d.message()).collect();
    assert!(messages[0].contains("must start with '/'"));
    assert!(messages[1].contains("'?' or '#'"));
    assert!(messages[2].contains("'//'"));
    assert!(messages[3].contains("must not have a port"));
    assert!(messages[4].contains("not a valid DNS name"));
}

#[test]
fn identical_routes_are_refused_and_nested_ones_are_fine() {
    let product = |name: &str, route: &str| {
        format!(
            "\n[[product]]\nname = \"{name}\"\nroute = {{ {route} }}\nupstream = {{ url = \"http://u\" }}\n"
        )
    };
    // Nested prefixes, the root, and the same prefix on another host: fine.
    let fine = [
        MINIMAL.to_owned(),
        product("nested", "path_prefix = \"/customers/vip\""),
        product("root", "path_prefix = \"/\""),
        product(
            "hosted",
            "path_prefix = \"/customers\", host = \"api.example.com\"",
        ),
    ]
    .concat();
    assert!(parse(&fine).is_ok(), "{:?}", parse(&fine).err());

    // Hosts compare case-insensitively.
    let clash = [
        fine,
        product(
            "again",
            "path_prefix = \"/customers\", host = \"API.Example.com\"",
        ),
        product("twice", "path_prefix = \"/customers\""),
    ]
    .concat();
    let lines = error_lines(&clash);
    assert_eq!(
        lines,
        [
            format!(
                "{ORIGIN}:28:1: product[4].route: products \"hosted\" (product[3]) and \"again\" have the same route (host api.example.com, path_prefix /customers): give one a different host or path_prefix"
            ),
            format!(
                "{ORIGIN}:33:1: product[5].route: products \"customers\" (product[0]) and \"twice\" have the same route (any host, path_prefix /customers): give one a different host or path_prefix"
            ),
        ]
    );
}

#[test]
fn upstream_url_problems_are_reported() {
    let with_url = |url: &str| MINIMAL.replace("http://127.0.0.1:9000", url);
    for (url, says) in [
        ("unix:/run/app.sock", "scheme \"unix\" is not supported"),
        ("http://a.internal/?x=1", "must not have a query"),
        ("http://a.internal/#top", "must not have a fragment"),
        (
            "https://user:hunter2@a.internal/",
            "must not contain credentials",
        ),
        ("https://token@a.internal/", "must not contain credentials"),
    ] {
        let text = with_url(url);
        let error = parse(&text).unwrap_err();
        let diagnostic = &error.diagnostics()[0];
        assert_eq!(diagnostic.key_path(), "product[0].upstream.url", "{url}");
        assert_eq!(diagnostic.location(), at(9, 14), "{url}");
        assert!(diagnostic.message().contains(says), "{url}: {diagnostic}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    // A URL with no host at all does not parse: the message says so, and
    // does not quote the URL (it may hold a credential).
    let diagnostic = only_diagnostic(&with_url("http://"));
    assert_eq!(diagnostic.key_path(), "product[0].upstream.url");
    assert_eq!(diagnostic.message(), "invalid URL: empty host");
    let diagnostic = only_diagnostic(&with_url("http://user:hunter2@"));
    assert!(!diagnostic.to_string().contains("hunter2"), "{diagnostic}");
}

#[test]
fn upstream_ca_needs_https_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_tls_files(dir.path());
    let origin = dir.path().join("gw.toml");
    let with = |url: &str, ca: &Path| {
        MINIMAL.replace(
            "url = \"http://127.0.0.1:9000\"",
            &format!("url = \"{url}\", ca = {ca:?}"),
        )
    };

    let good = with("https://a.internal", &cert);
    assert!(Config::from_str(&good, &origin).is_ok());

    let error = Config::from_str(&with("http://a.internal", &cert), &origin).unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error}");
    };
    assert_eq!(diagnostic.key_path(), "product[0].upstream.ca");
    assert_eq!(
        diagnostic.message(),
        "ca is only for an https upstream; this url is http"
    );

    let error = Config::from_str(&with("https://a.internal", &key), &origin).unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error}");
    };
    assert_eq!(diagnostic.key_path(), "product[0].upstream.ca");
    assert!(
        diagnostic.message().contains("holds no PEM certificate"),
        "{diagnostic}"
    );
}

#[test]
fn durations_and_sizes_must_be_positive() {
    let text = format!(
        "{}\n[server.timeouts]\nheader_read = \"0s\"\ntls_handshake = \"0s\"\nshutdown_grace = \"0s\"\n\
         [server.limits]\nmax_request_body = \"0B\"\n",
        MINIMAL.replace(
            "url = \"http://127.0.0.1:9000\"",
            "url = \"http://127.0.0.1:9000\", connect_timeout = \"0s\", response_timeout = \"0s\", pool_idle_timeout = \"0s\" }\nlimits = { max_request_body = \"0KiB\"",
        )
    );
    let error = parse(&text).unwrap_err();
    let keys: Vec<&str> = error.diagnostics().iter().map(|d| d.key_path()).collect();
    assert_eq!(
        keys,
        [
            "product[0].upstream.connect_timeout",
            "product[0].upstream.response_timeout",
            "product[0].upstream.pool_idle_timeout",
            "product[0].limits.max_request_body",
            "server.timeouts.header_read",
            "server.timeouts.tls_handshake",
            "server.limits.max_request_body",
        ]
    );
    for diagnostic in error.diagnostics() {
        assert!(diagnostic.location().is_some(), "{diagnostic}");
        assert!(
            diagnostic.message().starts_with("must be more than 0"),
            "{diagnostic}"
        );
    }
}

#[test]
fn header_limits_have_bounds() {
    let with = |limits: &str| format!("{MINIMAL}\n[server.limits]\n{limits}\n");

    let diagnostic = only_diagnostic(&with("max_header_bytes = \"512B\""));
    assert_eq!(diagnostic.key_path(), "server.limits.max_header_bytes");
    assert!(
        diagnostic
            .message()
            .contains("512 B is too small: at least 1.0 KiB"),
        "{diagnostic}"
    );

    let diagnostic = only_diagnostic(&with("max_header_bytes = \"2MiB\""));
    assert!(
        diagnostic
            .message()
            .contains("2.0 MiB is too large: at most 1.0 MiB"),
        "{diagnostic}"
    );

    for fine in ["1KiB", "1MiB", "64KiB"] {
        let text = with(&format!("max_header_bytes = \"{fine}\""));
        assert!(parse(&text).is_ok(), "{fine}");
    }

    let diagnostic = only_diagnostic(&with("max_headers = 0"));
    assert_eq!(diagnostic.key_path(), "server.limits.max_headers");
}

#[test]
fn validate_checks_a_config_changed_in_code() {
    let mut config = parse(MINIMAL).unwrap();
    assert!(config.validate().is_ok());

    config.server.listeners[0].plaintext = false;
    config.products[0].route.host = Some("API.example.com".to_owned());
    config.server.limits.max_headers = 0;
    let error = config.validate().unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    for diagnostic in error.diagnostics() {
        assert_eq!(diagnostic.file(), Path::new(""));
        assert_eq!(diagnostic.location(), None);
    }
    assert_eq!(
        error.to_string(),
        "server.listener[0]: set tls, or plaintext = true to serve plain HTTP explicitly\n\
         server.limits.max_headers: must be at least 1: every request has a Host header\n\
         product[0].route.host: \"API.example.com\" must be lowercase"
    );
}

#[test]
fn workers_default_to_one_per_cpu_and_are_bounded() {
    assert_eq!(parse(MINIMAL).unwrap().server.workers, None);
    let four = format!("[server]\nworkers = 4\n{MINIMAL}");
    assert_eq!(parse(&four).unwrap().server.workers, Some(4));
    for bad in ["0", "1025"] {
        let text = format!("[server]\nworkers = {bad}\n{MINIMAL}");
        let diagnostic = only_diagnostic(&text);
        assert_eq!(diagnostic.key_path(), "server.workers");
        assert!(diagnostic.message().contains("1 to 1024"), "{diagnostic}");
    }
}

#[test]
fn watch_config_is_off_by_default_and_not_too_eager() {
    assert_eq!(parse(MINIMAL).unwrap().server.watch_config, None);
    let every = format!("[server]\nwatch_config = \"2s\"\n{MINIMAL}");
    assert_eq!(
        parse(&every).unwrap().server.watch_config,
        Some(Duration::from_secs(2))
    );
    let eager = format!("[server]\nwatch_config = \"10ms\"\n{MINIMAL}");
    let diagnostic = only_diagnostic(&eager);
    assert_eq!(diagnostic.key_path(), "server.watch_config");
    assert!(
        diagnostic.message().contains("at least 100ms"),
        "{diagnostic}"
    );
}
