//! Checks of who may call what: `[authn]`, the listeners' client
//! certificates, `[product.access]` and the quotas (`[rate_limits]`,
//! `[product.rate_limit]`).
//!
//! The sections depend on each other: without `[authn]` the gateway is a
//! plain proxy, so no product may have access rules and no quota may count
//! callers; with it, every product must say who may call it. Messages never
//! quote an API key hash or a file's content: what is configured there may
//! be a secret pasted in the wrong place.

use std::{collections::HashMap, path::Path};

use rustls_pki_types::pem::{PemObject, SectionKind};

use super::{Problems, check_certificates, describe_pem_error, positive_duration, read};
use crate::{
    locate::{join, join_index},
    model::{
        Access, ApiKey, AuthMethod, Authn, ClientAuth, Config, JwtAlgorithm, JwtIssuer, Mtls,
        Product, RateLimit, RateLimits,
    },
    units::{ByteSize, Duration},
};

/// Most entries in the verified-token cache.
const MAX_TOKEN_CACHE: usize = 1_000_000;
/// Most keys a keyed rate-limit scope may track.
const MAX_TRACKED_KEYS: usize = 10_000_000;
/// Most clock skew a token issuer may be granted.
const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// Least time between two JWKS fetches caused by unknown key ids.
const MIN_JWKS_COOLDOWN: Duration = Duration::from_secs(1);
/// Largest token size that may be configured: a token travels in a header.
const MAX_TOKEN_BYTES: ByteSize = super::MAX_HEADER_BYTES;
/// Shortest HS256 secret (RFC 7518 §3.2: at least the hash's size).
const MIN_HMAC_SECRET: usize = 32;
/// Longest purpose, role or API key id.
const MAX_NAME_LEN: usize = 128;
/// The methods a product may allow.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Headers that already mean something to HTTP or to the gateway: an API
/// key header must not be one of them.
const RESERVED_HEADERS: [&str; 18] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-type",
    "expect",
    "x-purpose",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
];

/// Checks `[authn]`, access rules and quotas, and how they fit together.
pub(super) fn check(config: &Config, problems: &mut Problems) {
    check_client_certificates(config, problems);
    if let Some(authn) = &config.authn {
        check_authn(authn, problems);
    }
    check_rate_limits(&config.rate_limits, config.authn.is_some(), problems);
    for (i, product) in config.products.iter().enumerate() {
        check_product(&join_index("product", i), product, config, problems);
    }
}

/// `tls.client_ca` and `tls.client_auth` of each listener, against
/// `[authn.mtls]`.
fn check_client_certificates(config: &Config, problems: &mut Problems) {
    let has_mtls = config.authn.as_ref().is_some_and(|a| a.mtls.is_some());
    let mut asks_for_certificates = false;
    for (i, listener) in config.server.listeners.iter().enumerate() {
        let Some(tls) = &listener.tls else { continue };
        let path = join(&join_index("server.listener", i), "tls");
        let mode = match tls.client_auth {
            ClientAuth::None => None,
            ClientAuth::Request => Some("request"),
            ClientAuth::Require => Some("require"),
        };
        match (mode, &tls.client_ca) {
            (None, Some(_)) => problems.push(
                join(&path, "client_ca"),
                "client_ca is set but client_auth is \"none\": set client_auth = \"request\" or \"require\", or remove client_ca",
            ),
            (Some(mode), None) => problems.push(
                join(&path, "client_auth"),
                format!(
                    "client_auth = \"{mode}\" needs client_ca: the CA that client certificates must chain to"
                ),
            ),
            _ => {}
        }
        if let Some(mode) = mode {
            asks_for_certificates = true;
            if !has_mtls {
                problems.push(
                    join(&path, "client_auth"),
                    format!(
                        "client_auth = \"{mode}\" needs an [authn.mtls] section: it says how a certificate becomes a caller"
                    ),
                );
            }
        }
        if let Some(ca) = &tls.client_ca {
            problems.check(
                join(&path, "client_ca"),
                check_certificates(ca, "client CA"),
            );
        }
    }
    if has_mtls && !asks_for_certificates {
        problems.push(
            "authn.mtls",
            "no listener asks for client certificates: set tls.client_auth = \"request\" or \"require\" (and tls.client_ca) on a TLS listener",
        );
    }
}

fn check_authn(authn: &Authn, problems: &mut Problems) {
    if authn.methods().is_empty() {
        problems.push(
            "authn",
            "configures no way to authenticate: add [[authn.jwt]], [[authn.api_key]] or [authn.mtls] (or remove [authn] to run as a plain proxy)",
        );
    }
    problems.check(
        "authn.api_key_header",
        check_header_name(&authn.api_key_header),
    );
    if authn.token_cache_size > MAX_TOKEN_CACHE {
        problems.push(
            "authn.token_cache_size",
            format!("must be at most {MAX_TOKEN_CACHE} (0 turns the cache off)"),
        );
    }

    let mut issuers: HashMap<&str, usize> = HashMap::new();
    for (i, issuer) in authn.jwt.iter().enumerate() {
        let path = join_index("authn.jwt", i);
        check_jwt(&path, issuer, problems);
        if !issuer.issuer.is_empty()
            && let Some(j) = issuers.insert(&issuer.issuer, i)
        {
            issuers.insert(&issuer.issuer, j);
            problems.push(
                join(&path, "issuer"),
                format!(
                    "{:?} is already the issuer of authn.jwt[{j}]",
                    issuer.issuer
                ),
            );
        }
    }

    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut hashes: HashMap<String, usize> = HashMap::new();
    for (i, key) in authn.api_keys.iter().enumerate() {
        let path = join_index("authn.api_key", i);
        check_api_key(&path, key, problems);
        if let Some(j) = ids.insert(&key.id, i) {
            ids.insert(&key.id, j);
            problems.push(
                join(&path, "id"),
                format!("{:?} is already the id of authn.api_key[{j}]", key.id),
            );
        }
        if let Some(bytes) = key.sha256() {
            let hash = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
            if let Some(j) = hashes.insert(hash.clone(), i) {
                hashes.insert(hash, j);
                problems.push(
                    join(&path, "hash"),
                    format!(
                        "is the same key as authn.api_key[{j}]: one key must map to one caller"
                    ),
                );
            }
        }
    }

    if let Some(mtls) = &authn.mtls {
        check_mtls(mtls, problems);
    }
}

fn check_jwt(path: &str, issuer: &JwtIssuer, problems: &mut Problems) {
    if issuer.issuer.is_empty() {
        problems.push(join(path, "issuer"), "must not be empty");
    }
    if issuer.audiences.is_empty() {
        problems.push(
            join(path, "audiences"),
            "list at least one audience: a token must be meant for maskgate",
        );
    }
    for (k, audience) in issuer.audiences.iter().enumerate() {
        if audience.is_empty() {
            problems.push(join_index(&join(path, "audiences"), k), "must not be empty");
        }
    }

    let sources: Vec<&str> = [
        ("jwks_url", issuer.jwks_url.is_some()),
        ("public_keys", issuer.public_keys.is_some()),
        ("hmac_secret_file", issuer.hmac_secret_file.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    match sources.as_slice() {
        [] => problems.push(
            path,
            "has no keys: set one of jwks_url, public_keys or hmac_secret_file",
        ),
        [_] => {}
        [first, rest @ ..] => problems.push(
            join(path, rest[0]),
            format!(
                "{first} and {} are both set: an issuer has exactly one key source",
                rest.join(" and ")
            ),
        ),
    }

    if let Some(url) = &issuer.jwks_url {
        let url_path = join(path, "jwks_url");
        if url.scheme() != "https" {
            problems.push(
                &url_path,
                "must be https: keys fetched over plain HTTP could be replaced on the way",
            );
        }
        if url.host_str().is_none_or(str::is_empty) {
            problems.push(&url_path, "has no host");
        }
        if !url.username().is_empty() || url.password().is_some() {
            problems.push(&url_path, "must not contain credentials (user:password@)");
        }
    }
    if let Some(ca) = &issuer.jwks_ca {
        let ca_path = join(path, "jwks_ca");
        if issuer.jwks_url.is_some() {
            problems.check(ca_path, check_certificates(ca, "CA"));
        } else {
            problems.push(ca_path, "jwks_ca is only for jwks_url");
        }
    }
    if let Some(files) = &issuer.public_keys {
        let keys_path = join(path, "public_keys");
        if files.is_empty() {
            problems.push(&keys_path, "list at least one PEM public key file");
        }
        for (k, file) in files.iter().enumerate() {
            problems.check(join_index(&keys_path, k), check_public_key(file));
        }
    }
    if let Some(file) = &issuer.hmac_secret_file {
        problems.check(join(path, "hmac_secret_file"), check_hmac_secret(file));
    }

    if let Some(algorithms) = &issuer.algorithms {
        let algorithms_path = join(path, "algorithms");
        if algorithms.is_empty() {
            problems.push(
                &algorithms_path,
                "list at least one algorithm (leave it out for the default)",
            );
        }
        let hmac = issuer.hmac_secret_file.is_some();
        for (k, algorithm) in algorithms.iter().enumerate() {
            let at = join_index(&algorithms_path, k);
            if algorithms[..k].contains(algorithm) {
                problems.push(at, format!("\"{algorithm}\" is listed twice"));
            } else if algorithm.is_symmetric() && !hmac {
                problems.push(
                    at,
                    "\"HS256\" needs hmac_secret_file: accepting it with public keys would let a token signed with the public key as an HMAC secret pass",
                );
            } else if !algorithm.is_symmetric() && hmac {
                problems.push(
                    at,
                    format!(
                        "\"{algorithm}\" needs a public key: with hmac_secret_file only \"{}\" applies",
                        JwtAlgorithm::Hs256
                    ),
                );
            }
        }
    }

    problems.check(
        join(path, "jwks_refresh"),
        positive_duration(issuer.jwks_refresh),
    );
    if issuer.jwks_cooldown < MIN_JWKS_COOLDOWN {
        problems.push(
            join(path, "jwks_cooldown"),
            format!(
                "must be at least {MIN_JWKS_COOLDOWN}: it is what keeps a flood of unknown key ids from becoming a flood of JWKS fetches"
            ),
        );
    }
    if issuer.jwks_max_stale <= issuer.jwks_refresh {
        problems.push(
            join(path, "jwks_max_stale"),
            format!(
                "{} must be longer than jwks_refresh ({}), or the keys expire before they are next refreshed",
                issuer.jwks_max_stale, issuer.jwks_refresh
            ),
        );
    }
    if issuer.leeway > MAX_LEEWAY {
        problems.push(
            join(path, "leeway"),
            format!(
                "{} is too long: at most {MAX_LEEWAY}, or expired tokens stay usable",
                issuer.leeway
            ),
        );
    }

    problems.check(
        join(path, "subject_claim"),
        check_claim_path(&issuer.subject_claim),
    );
    problems.check(
        join(path, "roles_claim"),
        check_claim_path(&issuer.roles_claim),
    );
    if let Some(claim) = &issuer.purpose_claim {
        problems.check(join(path, "purpose_claim"), check_claim_path(claim));
    }
    let attributes_path = join(path, "attribute_claims");
    for (k, claim) in issuer.attribute_claims.iter().enumerate() {
        let at = join_index(&attributes_path, k);
        if issuer.attribute_claims[..k].contains(claim) {
            problems.push(at, format!("{claim:?} is listed twice"));
        } else {
            problems.check(at, check_claim_path(claim));
        }
    }

    let size = issuer.max_token_bytes;
    if size.bytes() == 0 || size > MAX_TOKEN_BYTES {
        problems.push(
            join(path, "max_token_bytes"),
            format!(
                "must be more than 0B and at most {MAX_TOKEN_BYTES} (a token travels in a request header)"
            ),
        );
    }
}

fn check_api_key(path: &str, key: &ApiKey, problems: &mut Problems) {
    problems.check(join(path, "id"), check_key_id(&key.id));
    match (&key.hash, &key.hash_from) {
        (Some(hash), None) => problems.check(join(path, "hash"), check_key_hash(hash)),
        (None, Some(_)) => {}
        _ => problems.push(
            path.to_owned(),
            "give exactly one of `hash` and `hash_from` (the hash from Vault)",
        ),
    }
    if key.subject.as_deref().is_some_and(str::is_empty) {
        problems.push(
            join(path, "subject"),
            "must not be empty (leave it out to use the id)",
        );
    }
    check_roles(&join(path, "roles"), &key.roles, problems);
}

fn check_mtls(mtls: &Mtls, problems: &mut Problems) {
    check_roles("authn.mtls.default_roles", &mtls.default_roles, problems);
    let mut subjects: HashMap<&str, usize> = HashMap::new();
    for (i, client) in mtls.clients.iter().enumerate() {
        let path = join_index("authn.mtls.client", i);
        if client.subject.is_empty() {
            problems.push(join(&path, "subject"), "must not be empty");
        } else if let Some(j) = subjects.insert(&client.subject, i) {
            subjects.insert(&client.subject, j);
            problems.push(
                join(&path, "subject"),
                format!(
                    "{:?} is already the subject of authn.mtls.client[{j}]",
                    client.subject
                ),
            );
        }
        if client.roles.is_empty() {
            problems.push(
                join(&path, "roles"),
                "list at least one role (default_roles apply to every client anyway)",
            );
        }
        check_roles(&join(&path, "roles"), &client.roles, problems);
    }
}

fn check_rate_limits(limits: &RateLimits, has_authn: bool, problems: &mut Problems) {
    for (key, limit, counts_callers) in [
        ("per_principal", &limits.per_principal, true),
        ("per_product", &limits.per_product, false),
        ("per_principal_product", &limits.per_principal_product, true),
    ] {
        let Some(limit) = limit else { continue };
        let path = join("rate_limits", key);
        check_rate_limit(&path, limit, problems);
        if counts_callers && !has_authn {
            problems.push(
                path,
                "needs an [authn] section: without authentication there is no caller to count (per_product limits products as a whole)",
            );
        }
    }
    if !(1..=MAX_TRACKED_KEYS).contains(&limits.max_tracked_keys) {
        problems.push(
            "rate_limits.max_tracked_keys",
            format!("must be 1 to {MAX_TRACKED_KEYS}"),
        );
    }
}

fn check_rate_limit(path: &str, limit: &RateLimit, problems: &mut Problems) {
    if limit.burst == Some(0) {
        problems.push(
            join(path, "burst"),
            "must be at least 1 (leave it out for the rate per second)",
        );
    }
}

fn check_product(path: &str, product: &Product, config: &Config, problems: &mut Problems) {
    if let Some(limit) = &product.rate_limit {
        check_rate_limit(&join(path, "rate_limit"), limit, problems);
    }
    let access_path = join(path, "access");
    match (&config.authn, &product.access) {
        (None, None) => {}
        (Some(_), None) => problems.push(
            path,
            "has no [product.access]: with an [authn] section, every product states who may call it (roles, methods, purposes)",
        ),
        (None, Some(_)) => problems.push(
            access_path,
            "needs an [authn] section: without one no caller is authenticated, so every request would be refused (remove [product.access] to run as a plain proxy)",
        ),
        (Some(authn), Some(access)) => check_access(&access_path, access, authn, problems),
    }
}

fn check_access(path: &str, access: &Access, authn: &Authn, problems: &mut Problems) {
    match (access.roles.is_empty(), access.allow_any_role) {
        (true, false) => problems.push(
            join(path, "roles"),
            "list the roles that may call this product, or set allow_any_role = true",
        ),
        (false, true) => problems.push(
            join(path, "allow_any_role"),
            "allow_any_role = true and roles are both set: remove one",
        ),
        _ => {}
    }
    check_roles(&join(path, "roles"), &access.roles, problems);

    let methods_path = join(path, "methods");
    if access.methods.is_empty() {
        problems.push(
            &methods_path,
            "list at least one method, e.g. [\"GET\", \"HEAD\"]",
        );
    }
    for (k, method) in access.methods.iter().enumerate() {
        let at = join_index(&methods_path, k);
        if access.methods[..k].contains(method) {
            problems.push(at, format!("{method:?} is listed twice"));
        } else {
            problems.check(at, check_method(method));
        }
    }

    let purposes_path = join(path, "purposes");
    for (k, purpose) in access.purposes.iter().enumerate() {
        let at = join_index(&purposes_path, k);
        if access.purposes[..k].contains(purpose) {
            problems.push(at, format!("{purpose:?} is listed twice"));
        } else {
            problems.check(at, check_purpose(purpose));
        }
    }
    if access.require_purpose && access.purposes.is_empty() {
        problems.push(
            join(path, "require_purpose"),
            "require_purpose = true but no purposes are listed: no request could pass",
        );
    }

    if let Some(methods) = &access.auth_methods {
        let auth_path = join(path, "auth_methods");
        if methods.is_empty() {
            problems.push(
                &auth_path,
                "list at least one of \"jwt\", \"api_key\", \"mtls\" (leave it out to accept every configured method)",
            );
        }
        let configured = authn.methods();
        for (k, method) in methods.iter().enumerate() {
            let at = join_index(&auth_path, k);
            if methods[..k].contains(method) {
                problems.push(at, format!("\"{method}\" is listed twice"));
            } else if !configured.contains(method) {
                let section = match method {
                    AuthMethod::Jwt => "[[authn.jwt]]",
                    AuthMethod::ApiKey => "[[authn.api_key]]",
                    AuthMethod::Mtls => "[authn.mtls]",
                };
                problems.push(
                    at,
                    format!("\"{method}\" is not configured: add {section}, or remove it here"),
                );
            }
        }
    }
}

/// Role names: as an identity provider writes them (`support`,
/// `realm:admin`, `/team/analysts`), so anything visible without spaces.
fn check_roles(path: &str, roles: &[String], problems: &mut Problems) {
    for (k, role) in roles.iter().enumerate() {
        let at = join_index(path, k);
        if roles[..k].contains(role) {
            problems.push(at, format!("{role:?} is listed twice"));
        } else if role.is_empty() {
            problems.push(at, "must not be empty");
        } else if role.len() > MAX_NAME_LEN
            || role.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            problems.push(
                at,
                format!(
                    "{role:?} is not a role name: at most {MAX_NAME_LEN} characters, no spaces or control characters"
                ),
            );
        }
    }
}

/// A purpose as the `X-Purpose` header carries it.
fn check_purpose(purpose: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if purpose.is_empty() || purpose.len() > MAX_NAME_LEN || !purpose.chars().all(allowed) {
        return Err(format!(
            "{purpose:?} is not a purpose: 1 to {MAX_NAME_LEN} ASCII letters, digits, '.', '_', ':' and '-' (as the X-Purpose header carries it)"
        ));
    }
    Ok(())
}

fn check_method(method: &str) -> Result<(), String> {
    if METHODS.contains(&method) {
        return Ok(());
    }
    let upper = method.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Err(format!(
            "{method:?}: methods are case-sensitive, write {upper:?}"
        ));
    }
    if matches!(upper.as_str(), "CONNECT" | "TRACE") {
        return Err(format!("{method:?} is never proxied"));
    }
    Err(format!(
        "unknown method {method:?}: one of {}",
        METHODS.join(", ")
    ))
}

/// A header name (RFC 9110 token) that has no other meaning.
fn check_header_name(name: &str) -> Result<(), String> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(tchar) {
        return Err(format!(
            "{name:?} is not a header name (letters, digits and - . _ etc., no spaces or ':')"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_HEADERS.contains(&lower.as_str()) {
        return Err(format!(
            "{name:?} already has a meaning in HTTP or maskgate: choose another header, e.g. \"x-api-key\""
        ));
    }
    Ok(())
}

fn check_key_id(id: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
    if id.is_empty() || id.len() > MAX_NAME_LEN || !id.chars().all(allowed) {
        return Err(format!(
            "{id:?} is not a key id: 1 to {MAX_NAME_LEN} ASCII letters, digits and '-' (it appears in logs and audit records)"
        ));
    }
    Ok(())
}

/// `sha256:` and 64 hex digits. Never quoted: a value that is not a hash
/// may be the key itself.
fn check_key_hash(hash: &str) -> Result<(), String> {
    let how = "store \"sha256:\" followed by the 64 hex digits of the key's SHA-256 (e.g. from `printf %s \"$KEY\" | sha256sum`), never the key itself";
    let is_hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let prefix = "sha256:";
    match hash.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(prefix) => {
            if is_hex64(&hash[prefix.len()..]) {
                Ok(())
            } else {
                Err(format!(
                    "\"sha256:\" must be followed by exactly 64 hex digits; {how}"
                ))
            }
        }
        _ if is_hex64(hash) => Err("add the \"sha256:\" prefix to the hex digits".into()),
        _ => Err(format!("is not a key hash: {how}")),
    }
}

/// A claim path: names separated by `.` (`realm_access.roles`).
fn check_claim_path(claim: &str) -> Result<(), String> {
    let bad = |c: char| c.is_whitespace() || c.is_control();
    if claim.is_empty() || claim.split('.').any(|s| s.is_empty() || s.contains(bad)) {
        return Err(format!(
            "{claim:?} is not a claim path: claim names separated by '.', e.g. \"realm_access.roles\""
        ));
    }
    Ok(())
}

/// The file holds exactly one PEM public key, and no private key.
fn check_public_key(path: &Path) -> Result<(), String> {
    let bytes = read(path, "public key")?;
    let mut public_keys = 0;
    let mut certificates = 0;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
        match item {
            Ok((SectionKind::PublicKey, _)) => public_keys += 1,
            Ok((SectionKind::Certificate, _)) => certificates += 1,
            Ok((
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey,
                _,
            )) => {
                return Err(format!(
                    "public key file {} holds a private key: give the issuer's public key only (e.g. `openssl pkey -pubout`), and keep the private key off this machine",
                    path.display()
                ));
            }
            Ok(_) => {}
            Err(error) => {
                return Err(format!(
                    "public key file {} is not valid PEM: {}",
                    path.display(),
                    describe_pem_error(&error)
                ));
            }
        }
    }
    match (public_keys, certificates) {
        (1, _) => Ok(()),
        (0, 0) => Err(format!(
            "public key file {} holds no PEM public key (-----BEGIN PUBLIC KEY-----)",
            path.display()
        )),
        (0, _) => Err(format!(
            "public key file {} holds a certificate, not a public key: extract it with `openssl x509 -pubkey -noout`",
            path.display()
        )),
        (n, _) => Err(format!(
            "public key file {} holds {n} public keys: put one per file",
            path.display()
        )),
    }
}

/// The file is readable and long enough for HS256. Its content is never
/// shown.
fn check_hmac_secret(path: &Path) -> Result<(), String> {
    let bytes = read(path, "HMAC secret")?;
    let secret = bytes.trim_ascii_end();
    if secret.len() < MIN_HMAC_SECRET {
        return Err(format!(
            "HMAC secret file {} holds {} bytes: an HS256 secret needs at least {MIN_HMAC_SECRET}",
            path.display(),
            secret.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hashes_are_checked_without_being_quoted() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(check_key_hash(&good), Ok(()));
        assert_eq!(check_key_hash(&good.to_uppercase()), Ok(()));
        for (bad, says) in [
            ("my-very-secret-api-key", "never the key itself"),
            ("sha256:abc", "exactly 64 hex digits"),
            (
                &format!("sha256:{}", "zz".repeat(32)),
                "exactly 64 hex digits",
            ),
            (&"ab".repeat(32), "add the \"sha256:\" prefix"),
            ("", "is not a key hash"),
        ] {
            let message = check_key_hash(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
            if !bad.is_empty() {
                assert!(!message.contains(bad), "quotes the value: {message}");
            }
        }
    }

    #[test]
    fn header_names() {
        for good in ["x-api-key", "X-Api-Key", "api_key"] {
            assert_eq!(check_header_name(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "not a header name"),
            ("x api key", "not a header name"),
            ("x-key:", "not a header name"),
            ("Authorization", "already has a meaning"),
            ("x-purpose", "already has a meaning"),
            ("cookie", "already has a meaning"),
        ] {
            let message = check_header_name(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn methods() {
        for good in METHODS {
            assert_eq!(check_method(good), Ok(()));
        }
        for (bad, says) in [
            ("get", "case-sensitive, write \"GET\""),
            ("TRACE", "never proxied"),
            ("CONNECT", "never proxied"),
            ("PROPFIND", "unknown method"),
        ] {
            let message = check_method(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn purposes_key_ids_and_claim_paths() {
        for good in ["support-case", "fraud.investigation", "gdpr:art15", "a_1"] {
            assert_eq!(check_purpose(good), Ok(()), "{good}");
        }
        for bad in ["", "two words", "é", &"p".repeat(129)] {
            assert!(check_purpose(bad).is_err(), "{bad}");
        }
        for good in ["consumer-1", "A9"] {
            assert_eq!(check_key_id(good), Ok(()), "{good}");
        }
        for bad in ["", "a_b", "a.b", "a b"] {
            assert!(check_key_id(bad).is_err(), "{bad}");
        }
        for good in ["sub", "realm_access.roles", "https://example.com/roles"] {
            assert_eq!(check_claim_path(good), Ok(()), "{good}");
        }
        for bad in ["", ".roles", "a..b", "roles.", "a b"] {
            assert!(check_claim_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_key_files_hold_one_public_key_and_nothing_secret() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };

        let public = write("public.pem", &key.public_key_pem());
        assert_eq!(check_public_key(&public), Ok(()));

        let private = write("private.pem", &key.serialize_pem());
        let message = check_public_key(&private).unwrap_err();
        assert!(message.contains("holds a private key"), "{message}");
        assert!(!message.contains("BEGIN"), "{message}");

        let cert = rcgen::CertificateParams::new(vec!["idp".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let certificate = write("cert.pem", &cert.pem());
        let message = check_public_key(&certificate).unwrap_err();
        assert!(message.contains("openssl x509 -pubkey"), "{message}");

        let two = write(
            "two.pem",
            &format!("{}{}", key.public_key_pem(), key.public_key_pem()),
        );
        let message = check_public_key(&two).unwrap_err();
        assert!(message.contains("2 public keys"), "{message}");

        let nothing = write("nothing.pem", "hello");
        let message = check_public_key(&nothing).unwrap_err();
        assert!(message.contains("holds no PEM public key"), "{message}");
    }

    #[test]
    fn hmac_secrets_need_32_bytes_and_are_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "tiny-secret-value\n").unwrap();
        let message = check_hmac_secret(&short).unwrap_err();
        assert!(message.contains("holds 17 bytes"), "{message}");
        assert!(!message.contains("tiny-secret-value"), "{message}");

        let long = dir.path().join("long");
        std::fs::write(&long, "k".repeat(32)).unwrap();
        assert_eq!(check_hmac_secret(&long), Ok(()));

        let missing = dir.path().join("missing");
        let message = check_hmac_secret(&missing).unwrap_err();
        assert!(
            message.contains("cannot read HMAC secret file"),
            "{message}"
        );
    }
}
