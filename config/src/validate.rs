//! Validation: the checks a configuration must pass beyond its schema.
//!
//! Every check runs, so one run reports every problem. Each problem names the
//! key path it is about; the loader turns that into a line and column with
//! [`locate`](crate::locate::locate). Files named by the configuration
//! (certificates, keys, CA bundles) are opened and checked for PEM content
//! here, so a bad path fails at start-up (and in `maskgate check`), not at the
//! first handshake.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

mod access;
mod masking;

use crate::{
    locate::{join, join_index},
    model::{Admin, Config, HttpVersion, Limits, Listener, Product, Route, Server, Upstream},
    units::{ByteSize, Duration},
};

/// Smallest accepted `max_header_bytes`: below it, ordinary requests (a
/// bearer JWT alone is often over 1KiB) would be refused.
pub(crate) const MIN_HEADER_BYTES: ByteSize = ByteSize::kib(1);
/// Largest accepted `max_header_bytes`: every connection may buffer this much
/// before its request is refused, so more lets a few clients hold a lot of
/// memory.
pub(crate) const MAX_HEADER_BYTES: ByteSize = ByteSize::mib(1);

/// One problem: the key path it is about, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) key_path: String,
    pub(crate) message: String,
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, key_path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key_path: key_path.into(),
            message: message.into(),
        });
    }

    fn check(&mut self, key_path: impl Into<String>, result: Result<(), String>) {
        if let Err(message) = result {
            self.push(key_path, message);
        }
    }
}

/// The most worker threads a gateway may run: far beyond any machine's
/// cores, low enough that a typo cannot exhaust threads.
const MAX_WORKERS: usize = 1024;

/// Every problem with `config`, in the order of its sections.
pub(crate) fn check(config: &Config) -> Vec<Problem> {
    let mut problems = Problems::default();
    check_server(&config.server, &mut problems);
    check_admin(&config.admin, &config.server.listeners, &mut problems);
    check_products(&config.products, &mut problems);
    access::check(config, &mut problems);
    masking::check(config, &mut problems);
    problems.0.extend(crate::secrets::check(config));
    if let Some(audit) = &config.audit {
        for (key_path, message) in crate::audit::check(audit) {
            problems.push(key_path, message);
        }
    }
    problems.0
}

fn check_server(server: &Server, problems: &mut Problems) {
    if server.listeners.is_empty() {
        problems.push(
            "server.listener",
            "no listener: add a [[server.listener]] table with an address",
        );
    }
    for (i, listener) in server.listeners.iter().enumerate() {
        let path = join_index("server.listener", i);
        check_listener(&path, listener, problems);
        let clash = server.listeners[..i]
            .iter()
            .enumerate()
            .find(|(_, earlier)| addresses_clash(earlier.address, listener.address));
        if let Some((j, earlier)) = clash {
            problems.push(
                join(&path, "address"),
                clash_message(
                    listener.address,
                    &format!("server.listener[{j}]"),
                    earlier.address,
                ),
            );
        }
    }

    if server
        .workers
        .is_some_and(|workers| !(1..=MAX_WORKERS).contains(&workers))
    {
        problems.push(
            "server.workers",
            format!("must be 1 to {MAX_WORKERS} (leave it out for one per CPU)"),
        );
    }

    if server
        .watch_config
        .is_some_and(|every| every < Duration::from_millis(100))
    {
        problems.push(
            "server.watch_config",
            "must be at least 100ms: the file is read each time",
        );
    }

    let limits_path = "server.limits";
    check_limits(limits_path, &server.limits, problems);

    let timeouts = &server.timeouts;
    for (key, value) in [
        ("header_read", timeouts.header_read),
        ("tls_handshake", timeouts.tls_handshake),
    ] {
        problems.check(join("server.timeouts", key), positive_duration(value));
    }
}

fn check_listener(path: &str, listener: &Listener, problems: &mut Problems) {
    if listener
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        problems.push(
            join(path, "name"),
            "must not be empty (leave it out to use the address)",
        );
    }
    match (&listener.tls, listener.plaintext) {
        (None, false) => problems.push(
            path,
            "set tls, or plaintext = true to serve plain HTTP explicitly",
        ),
        (Some(_), true) => problems.push(
            join(path, "plaintext"),
            "plaintext = true and tls are both set: remove one (a listener serves either TLS or plain HTTP)",
        ),
        _ => {}
    }
    if let Some(tls) = &listener.tls {
        let tls_path = join(path, "tls");
        problems.check(
            join(&tls_path, "cert"),
            check_certificates(&tls.cert, "certificate"),
        );
        problems.check(join(&tls_path, "key"), check_private_key(&tls.key));
    }
    check_http_versions(
        &join(path, "http_versions"),
        &listener.http_versions,
        problems,
    );
}

fn check_admin(admin: &Admin, listeners: &[Listener], problems: &mut Problems) {
    if !admin.enabled {
        return;
    }
    let clash = listeners
        .iter()
        .enumerate()
        .find(|(_, listener)| addresses_clash(listener.address, admin.address));
    if let Some((i, listener)) = clash {
        problems.push(
            "admin.address",
            clash_message(
                admin.address,
                &format!("server.listener[{i}]"),
                listener.address,
            ),
        );
    }
}

/// Whether two listening addresses cannot both be bound: the same port
/// (other than 0, which picks a free one) on the same address, or on an
/// address that covers the other (`0.0.0.0` covers every IPv4 address; `[::]`
/// every address, as Linux binds it dual-stack by default).
fn addresses_clash(a: SocketAddr, b: SocketAddr) -> bool {
    fn covers(wildcard: IpAddr, other: IpAddr) -> bool {
        wildcard.is_unspecified() && (wildcard.is_ipv6() || other.is_ipv4())
    }
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || covers(a.ip(), b.ip()) || covers(b.ip(), a.ip()))
}

fn clash_message(address: SocketAddr, other_path: &str, other: SocketAddr) -> String {
    if address == other {
        format!("{address} is already the address of {other_path}")
    } else {
        format!(
            "{address} clashes with {other_path} ({other}): the same port, and one of them binds every address"
        )
    }
}

fn check_http_versions(path: &str, versions: &[HttpVersion], problems: &mut Problems) {
    if versions.is_empty() {
        problems.push(path, "must name at least one of \"http1\", \"http2\"");
    }
    for (i, version) in versions.iter().enumerate() {
        if versions[..i].contains(version) {
            let name = match version {
                HttpVersion::Http1 => "http1",
                HttpVersion::Http2 => "http2",
            };
            problems.push(join_index(path, i), format!("\"{name}\" is listed twice"));
        }
    }
}

fn check_limits(path: &str, limits: &Limits, problems: &mut Problems) {
    problems.check(
        join(path, "max_request_body"),
        positive_size(limits.max_request_body),
    );
    if limits.max_headers == 0 {
        problems.push(
            join(path, "max_headers"),
            "must be at least 1: every request has a Host header",
        );
    }
    let header_bytes = limits.max_header_bytes;
    if header_bytes < MIN_HEADER_BYTES {
        problems.push(
            join(path, "max_header_bytes"),
            format!(
                "{header_bytes} is too small: at least {MIN_HEADER_BYTES}, or ordinary requests are refused (a bearer token alone is often over 1KiB)"
            ),
        );
    } else if header_bytes > MAX_HEADER_BYTES {
        problems.push(
            join(path, "max_header_bytes"),
            format!(
                "{header_bytes} is too large: at most {MAX_HEADER_BYTES}, as every connection may buffer this much before its request is refused"
            ),
        );
    }
}

fn check_products(products: &[Product], problems: &mut Problems) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut routes: HashMap<(Option<&str>, &str), usize> = HashMap::new();
    for (i, product) in products.iter().enumerate() {
        let path = join_index("product", i);

        let name_path = join(&path, "name");
        match check_product_name(&product.name) {
            Err(message) => problems.push(name_path, message),
            Ok(()) => {
                if let Some(j) = names.insert(&product.name, i) {
                    names.insert(&product.name, j);
                    problems.push(
                        name_path,
                        format!("\"{}\" is already the name of product[{j}]", product.name),
                    );
                }
            }
        }

        let route = &product.route;
        let route_path = join(&path, "route");
        check_route(&route_path, route, problems);
        let key = (route.host.as_deref(), route.path_prefix.as_str());
        if let Some(j) = routes.insert(key, i) {
            routes.insert(key, j);
            problems.push(
                &route_path,
                format!(
                    "products \"{}\" (product[{j}]) and \"{}\" have the same route ({}): give one a different host or path_prefix",
                    products[j].name,
                    product.name,
                    describe_route(route),
                ),
            );
        }

        check_upstream(&join(&path, "upstream"), &product.upstream, problems);

        if let Some(size) = product.limits.max_request_body {
            problems.check(
                join(&join(&path, "limits"), "max_request_body"),
                positive_size(size),
            );
        }
    }
}

fn describe_route(route: &Route) -> String {
    match &route.host {
        Some(host) => format!("host {host}, path_prefix {}", route.path_prefix),
        None => format!("any host, path_prefix {}", route.path_prefix),
    }
}

fn check_product_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !name.chars().all(allowed) {
        return Err(format!(
            "{name:?} may contain only ASCII letters, digits, '_', '.' and '-' (it appears in logs, metrics and audit records)"
        ));
    }
    Ok(())
}

fn check_route(path: &str, route: &Route, problems: &mut Problems) {
    problems.check(
        join(path, "path_prefix"),
        check_path_prefix(&route.path_prefix),
    );
    if let Some(host) = &route.host {
        problems.check(join(path, "host"), check_host(host));
    }
}

fn check_path_prefix(prefix: &str) -> Result<(), String> {
    if !prefix.starts_with('/') {
        return Err(format!("{prefix:?} must start with '/'"));
    }
    if prefix.contains(['?', '#']) {
        return Err(format!(
            "{prefix:?} must not contain '?' or '#': routes match the path only"
        ));
    }
    if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{prefix:?} must not contain spaces or control characters"
        ));
    }
    if prefix.contains("//") {
        return Err(format!("{prefix:?} must not contain '//'"));
    }
    if prefix
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(format!("{prefix:?} must not contain '.' or '..' segments"));
    }
    if prefix.len() > 1 && prefix.ends_with('/') {
        return Err(format!(
            "{prefix:?} must not end with '/' (only the root \"/\" does): prefixes match whole segments, so \"/customers\" already matches \"/customers/42\""
        ));
    }
    Ok(())
}

/// A host as a `Host` header names it, without port: a DNS name, an IPv4
/// address, or an IPv6 address in brackets. Lowercase (the loader lowercases
/// what the file says).
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("must not be empty (leave host out to match any host)".into());
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
            Some(Ok(_)) if host == host.to_ascii_lowercase() => Ok(()),
            Some(Ok(_)) => Err(format!("{host:?} must be lowercase")),
            _ => match inner.split_once("]:") {
                Some((_, _)) => Err(format!(
                    "{host:?} must not have a port: a route matches its host on any port"
                )),
                None => Err(format!("{host:?} is not a valid IPv6 address")),
            },
        };
    }
    if host.parse::<Ipv6Addr>().is_ok() {
        return Err(format!(
            "{host:?}: write an IPv6 address in brackets, as a Host header does: \"[{host}]\""
        ));
    }
    if let Some((name, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
        && !name.contains(':')
    {
        return Err(format!(
            "{host:?} must not have a port: a route matches its host on any port"
        ));
    }
    if !is_dns_name(host) {
        return Err(format!(
            "{host:?} is not a valid DNS name or IP address (letters, digits and '-' in dot-separated labels)"
        ));
    }
    if host != host.to_ascii_lowercase() {
        return Err(format!("{host:?} must be lowercase"));
    }
    Ok(())
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn check_upstream(path: &str, upstream: &Upstream, problems: &mut Problems) {
    let url = &upstream.url;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => {
            problems.push(
                join(path, "url"),
                format!("scheme \"{other}\" is not supported: use http or https"),
            );
            false
        }
    };
    if url.host_str().is_none_or(str::is_empty) {
        problems.push(join(path, "url"), "has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the URL holds a credential.
        problems.push(
            join(path, "url"),
            "must not contain credentials (user:password@): upstream credentials come from the secrets store, never the config file",
        );
    }
    if url.query().is_some() {
        problems.push(join(path, "url"), "must not have a query ('?...')");
    }
    if url.fragment().is_some() {
        problems.push(join(path, "url"), "must not have a fragment ('#...')");
    }

    if let Some(ca) = &upstream.ca {
        let ca_path = join(path, "ca");
        if https {
            problems.check(ca_path, check_certificates(ca, "CA"));
        } else if matches!(url.scheme(), "http") {
            problems.push(
                ca_path,
                "ca is only for an https upstream; this url is http",
            );
        }
    }

    check_http_versions(
        &join(path, "http_versions"),
        &upstream.http_versions,
        problems,
    );
    for (key, value) in [
        ("connect_timeout", upstream.connect_timeout),
        ("response_timeout", upstream.response_timeout),
        ("pool_idle_timeout", upstream.pool_idle_timeout),
    ] {
        problems.check(join(path, key), positive_duration(value));
    }
}

fn positive_duration(value: Duration) -> Result<(), String> {
    if value.get().is_zero() {
        return Err("must be more than 0s".into());
    }
    Ok(())
}

fn positive_size(value: ByteSize) -> Result<(), String> {
    if value.bytes() == 0 {
        return Err("must be more than 0B".into());
    }
    Ok(())
}

/// The file exists, is readable, and holds at least one PEM certificate.
/// `what` says what it is for in the message ("certificate", "CA").
pub(crate) fn check_certificates(path: &Path, what: &str) -> Result<(), String> {
    let bytes = read(path, what)?;
    let mut found = false;
    for item in CertificateDer::pem_slice_iter(&bytes) {
        match item {
            Ok(_) => found = true,
            Err(error) => {
                return Err(format!(
                    "{what} file {} is not valid PEM: {}",
                    path.display(),
                    describe_pem_error(&error)
                ));
            }
        }
    }
    if !found {
        return Err(format!(
            "{what} file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(())
}

/// The file exists, is readable, and holds a PEM private key.
fn check_private_key(path: &Path) -> Result<(), String> {
    let bytes = read(path, "key")?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(_) => Ok(()),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(format!(
            "key file {} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
            path.display()
        )),
        Err(error) => Err(format!(
            "key file {} is not valid PEM: {}",
            path.display(),
            describe_pem_error(&error)
        )),
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} file {}: {e}", path.display()))
}

/// What is wrong with a PEM file, without quoting any of its content (it
/// may be a private key).
fn describe_pem_error(error: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error;
    match error {
        Error::MissingSectionEnd { .. } => "a section has no -----END line",
        Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed",
        Error::Base64Decode(_) => "a section is not valid base64",
        Error::SectionTooLarge => "a section is too large",
        _ => "it cannot be read as PEM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefixes() {
        for good in ["/", "/customers", "/a/b-c/d_e.f", "/v1/%7Euser"] {
            assert_eq!(check_path_prefix(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("customers", "start with '/'"),
            ("", "start with '/'"),
            ("/a?b", "'?' or '#'"),
            ("/a#b", "'?' or '#'"),
            ("/a b", "spaces"),
            ("/a//b", "'//'"),
            ("/a/../b", "'..' segments"),
            ("/a/.", "'..' segments"),
            ("/customers/", "must not end with '/'"),
        ] {
            let message = check_path_prefix(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn hosts() {
        for good in [
            "api.example.com",
            "localhost",
            "a-b.c1",
            "10.0.0.1",
            "[::1]",
            "[fe80::1]",
        ] {
            assert_eq!(check_host(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("api.example.com:8443", "port"),
            ("10.0.0.1:80", "port"),
            ("[::1]:443", "port"),
            ("::1", "in brackets"),
            ("[zz::1]", "IPv6"),
            ("-a.example.com", "DNS name"),
            ("a..b", "DNS name"),
            ("a_b.example.com", "DNS name"),
            ("*.example.com", "DNS name"),
            ("example.com.", "DNS name"),
            ("http://example.com", "DNS name"),
            ("API.example.com", "lowercase"),
            ("[FE80::1]", "lowercase"),
        ] {
            let message = check_host(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
        let long_label = "a".repeat(64);
        assert!(check_host(&format!("{long_label}.com")).is_err());
    }

    #[test]
    fn product_names() {
        for good in ["customers", "orders.v2", "a_b-c", "X1"] {
            assert_eq!(check_product_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a/b", "é", "a:b"] {
            assert!(check_product_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn address_clashes() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.1:80")));
        assert!(addresses_clash(addr("0.0.0.0:80"), addr("127.0.0.1:80")));
        assert!(addresses_clash(addr("127.0.0.1:80"), addr("0.0.0.0:80")));
        assert!(addresses_clash(addr("[::]:80"), addr("127.0.0.1:80")));
        assert!(addresses_clash(addr("[::1]:80"), addr("[::]:80")));
        assert!(!addresses_clash(addr("0.0.0.0:80"), addr("[::1]:80")));
        assert!(!addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.2:80")));
        assert!(!addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.1:81")));
        // Port 0 picks a free port each time: never a clash (tests bind it).
        assert!(!addresses_clash(addr("127.0.0.1:0"), addr("127.0.0.1:0")));
    }

    #[test]
    fn pem_checks_name_the_file_and_never_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let message = check_certificates(&missing, "certificate").unwrap_err();
        assert!(
            message.contains("cannot read certificate file"),
            "{message}"
        );
        assert!(message.contains("missing.pem"), "{message}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem at all").unwrap();
        let message = check_certificates(&empty, "CA").unwrap_err();
        assert!(message.contains("holds no PEM certificate"), "{message}");
        let message = check_private_key(&empty).unwrap_err();
        assert!(message.contains("holds no PEM private key"), "{message}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n",
        )
        .unwrap();
        let message = check_private_key(&broken).unwrap_err();
        assert!(message.contains("no -----END line"), "{message}");
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }
}
