//! The secrets sections: `[vault]`, `[product.credentials]`,
//! `[product.upstream.client_certificate]`, `[masking.transit]`, and the KV
//! field reference other sections use to take a key from Vault instead of
//! the file.
//!
//! These are the file's shapes only; the gateway turns them into the
//! `secrets` crate's settings.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;
use url::Url;

use crate::{
    locate::{join, join_index},
    model::Config,
    units::Duration,
    validate::Problem,
};

/// `[vault]`: where Vault / OpenBao is and how the gateway logs in.
///
/// ```toml
/// [vault]
/// address = "https://vault.internal:8200"
/// ca_file = "tls/vault-ca.pem"      # optional; relative to this file
/// namespace = "data-mesh"           # optional
/// timeout = "10s"
/// [vault.auth]
/// method = "approle"
/// role_id_file = "/run/secrets/role-id"
/// secret_id_file = "/run/secrets/secret-id"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Vault {
    /// `http://` or `https://` base address, without `/v1`.
    #[serde(deserialize_with = "deserialize_url")]
    pub address: Url,
    /// PEM bundle of the CA certificates Vault's certificate must chain to,
    /// instead of the system roots. Only with `https`. Relative to the
    /// configuration file's directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Namespace (Vault Enterprise, OpenBao), sent as `X-Vault-Namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Timeout of one request to Vault. More than 0. Default 10s.
    #[serde(default = "Vault::default_timeout")]
    pub timeout: Duration,
    /// How often KV secrets and the transit key registry are checked for a
    /// new version. At least 100ms. Default 30s.
    #[serde(default = "Vault::default_poll_interval")]
    pub poll_interval: Duration,
    /// How long a KV secret keeps being served while Vault is unreachable
    /// (KV values have no lease). More than `poll_interval`. Default 1h.
    #[serde(default = "Vault::default_kv_max_stale")]
    pub kv_max_stale: Duration,
    /// `[vault.auth]`: how the gateway logs in.
    pub auth: VaultAuth,
}

impl Vault {
    fn default_timeout() -> Duration {
        Duration::from_secs(10)
    }
    fn default_poll_interval() -> Duration {
        Duration::from_secs(30)
    }
    fn default_kv_max_stale() -> Duration {
        Duration::from_secs(3600)
    }
}

/// `[vault.auth]`: the login method, by `method`. Every file is read again
/// at each login (relative paths are relative to the configuration file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum VaultAuth {
    /// `method = "token"`: a token in `token_file` (e.g. written by Vault
    /// Agent).
    Token {
        /// File holding the token.
        token_file: PathBuf,
    },
    /// `method = "approle"`.
    #[serde(rename = "approle")]
    AppRole {
        /// Mount of the AppRole auth method. Default `approle`.
        #[serde(default = "default_approle_mount")]
        mount: String,
        /// File holding the role id.
        role_id_file: PathBuf,
        /// File holding the secret id.
        secret_id_file: PathBuf,
    },
    /// `method = "jwt"`.
    Jwt {
        /// Mount of the JWT auth method. Default `jwt`.
        #[serde(default = "default_jwt_mount")]
        mount: String,
        /// The role to log in as.
        role: String,
        /// File holding the JWT (e.g. a projected service-account token).
        jwt_file: PathBuf,
    },
}

fn default_approle_mount() -> String {
    "approle".into()
}
fn default_jwt_mount() -> String {
    "jwt".into()
}
fn default_kv_mount() -> String {
    "secret".into()
}
fn default_database_mount() -> String {
    "database".into()
}
fn default_pki_mount() -> String {
    "pki".into()
}
fn default_transit_mount() -> String {
    "transit".into()
}

/// `[product.credentials]`: what the gateway adds to every request it
/// forwards to this product, from Vault, by `source`. Needs `[vault]`.
///
/// ```toml
/// [product.credentials]
/// source = "kv"
/// path = "app/customers-api"
/// inject = { header = "Authorization", value = "Bearer {{token}}" }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Credentials {
    /// `source = "kv"`: a KV v2 secret, picked up again when its version
    /// changes. Placeholders name the secret's fields.
    Kv {
        /// Mount of the KV v2 engine. Default `secret`.
        #[serde(default = "default_kv_mount")]
        mount: String,
        /// Path of the secret in it (no leading `/`).
        path: String,
        /// How it goes into the request.
        inject: Inject,
    },
    /// `source = "database"`: a dynamic credential from the database
    /// secrets engine, renewed and replaced in the background.
    /// Placeholders: `{{username}}` and `{{password}}`.
    Database {
        /// Mount of the database engine. Default `database`.
        #[serde(default = "default_database_mount")]
        mount: String,
        /// The engine's role.
        role: String,
        /// How it goes into the request.
        inject: Inject,
    },
}

impl Credentials {
    /// How the credential goes into the request.
    pub fn inject(&self) -> &Inject {
        match self {
            Credentials::Kv { inject, .. } | Credentials::Database { inject, .. } => inject,
        }
    }
}

/// `inject`: exactly one of `header` with `value`, `basic`, or `headers`.
/// Values are templates: `{{name}}` placeholders are filled in from the
/// credential.
///
/// ```toml
/// inject = { header = "Authorization", value = "Bearer {{token}}" }
/// inject = { basic = { username = "{{username}}", password = "{{password}}" } }
/// inject = { headers = { "X-Db-User" = "{{username}}", "X-Db-Password" = "{{password}}" } }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Inject {
    /// One header's name; with `value`.
    #[serde(default)]
    pub header: Option<String>,
    /// That header's value (a template).
    #[serde(default)]
    pub value: Option<String>,
    /// `Authorization: Basic ...` from a username and a password template.
    #[serde(default)]
    pub basic: Option<BasicInject>,
    /// Several headers, name to value template.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Inject {
    /// Every header this sets, name and value template (for `basic`:
    /// `Authorization` and the two templates are in [`Inject::basic`]).
    pub fn header_templates(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        if let (Some(name), Some(value)) = (&self.header, &self.value) {
            out.push((name, value));
        }
        out.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        out
    }

    /// Every template in it.
    pub fn templates(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .header_templates()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        if let Some(basic) = &self.basic {
            out.push(&basic.username);
            out.push(&basic.password);
        }
        out
    }
}

/// `basic = { username = "...", password = "..." }`: HTTP Basic
/// authentication to the upstream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BasicInject {
    /// Username template, e.g. `{{username}}`.
    pub username: String,
    /// Password template, e.g. `{{password}}`.
    pub password: String,
}

/// `[product.upstream.client_certificate]`: the certificate the gateway
/// presents to an `https` upstream that requires one, by `source`. Needs
/// `[vault]`.
///
/// ```toml
/// [product.upstream.client_certificate]
/// source = "pki"
/// role = "gw-client"
/// common_name = "maskgate.gateway.internal"
/// ttl = "1h"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum ClientCertificate {
    /// `source = "pki"`: issued by the PKI engine, re-issued at about two
    /// thirds of its lifetime.
    Pki {
        /// Mount of the PKI engine. Default `pki`.
        #[serde(default = "default_pki_mount")]
        mount: String,
        /// The PKI role that issues it.
        role: String,
        /// The certificate's common name.
        common_name: String,
        /// Its lifetime (at least 10s; the role's `max_ttl` caps it). Default
        /// 1h.
        #[serde(default = "default_certificate_ttl")]
        ttl: Duration,
    },
}

fn default_certificate_ttl() -> Duration {
    Duration::from_secs(3600)
}

/// `[masking.transit]`: data keys from Vault's Transit engine instead of a
/// local keyring file. Needs `[vault]`; not with `masking.keyring`.
///
/// ```toml
/// [masking.transit]
/// key = "maskgate"
/// registry = { path = "maskgate/keyring" }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Transit {
    /// Mount of the Transit engine. Default `transit`.
    #[serde(default = "default_transit_mount")]
    pub mount: String,
    /// The transit key that wraps the data keys.
    pub key: String,
    /// The KV v2 secret where the wrapped data keys are kept and shared by
    /// every gateway instance (the gateway writes it).
    pub registry: KvPath,
}

/// A KV v2 secret: `{ mount = "secret", path = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KvPath {
    /// Mount of the KV v2 engine. Default `secret`.
    #[serde(default = "default_kv_mount")]
    pub mount: String,
    /// Path of the secret in it (no leading `/`).
    pub path: String,
}

/// One field of a KV v2 secret: `{ mount = "secret", path = "...", field =
/// "..." }`. For keys that may come from Vault instead of the file (API key
/// hashes, audit signing keys): the section that takes one says so. Needs
/// `[vault]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KvField {
    /// Mount of the KV v2 engine. Default `secret`.
    #[serde(default = "default_kv_mount")]
    pub mount: String,
    /// Path of the secret in it (no leading `/`).
    pub path: String,
    /// The field of the secret.
    pub field: String,
}

/// Like `Url`'s own `Deserialize`, without quoting the text in the error.
fn deserialize_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    Url::parse(&text).map_err(|e| serde::de::Error::custom(format!("invalid URL: {e}")))
}

/// Makes the relative paths of `[vault]` relative to `base`.
pub(crate) fn resolve(vault: &mut Vault, base: &std::path::Path) {
    let mut paths: Vec<&mut PathBuf> = vault.ca_file.iter_mut().collect();
    match &mut vault.auth {
        VaultAuth::Token { token_file } => paths.push(token_file),
        VaultAuth::AppRole {
            role_id_file,
            secret_id_file,
            ..
        } => {
            paths.push(role_id_file);
            paths.push(secret_id_file);
        }
        VaultAuth::Jwt { jwt_file, .. } => paths.push(jwt_file),
    }
    for path in paths {
        if path.is_relative() {
            *path = base.join(&*path);
        }
    }
}

/// The checks of the secrets sections.
pub(crate) fn check(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |key_path: String, message: String| problems.push(Problem { key_path, message });
    if let Some(vault) = &config.vault {
        check_vault(vault, &mut push);
    }
    let no_vault = "needs a [vault] section: credentials and keys come from Vault";
    for (i, product) in config.products.iter().enumerate() {
        let product_path = join_index("product", i);
        if let Some(credentials) = &product.credentials {
            let path = join(&product_path, "credentials");
            if config.vault.is_none() {
                push(path.clone(), no_vault.into());
            }
            check_credentials(&path, credentials, &mut push);
        }
        if let Some(cert) = &product.upstream.client_certificate {
            let path = join(&product_path, "upstream.client_certificate");
            if config.vault.is_none() {
                push(path.clone(), no_vault.into());
            }
            if product.upstream.url.scheme() != "https" {
                push(
                    path.clone(),
                    "a client certificate needs an https upstream url".into(),
                );
            }
            let ClientCertificate::Pki {
                mount,
                role,
                common_name,
                ttl,
            } = cert;
            check_name(&join(&path, "mount"), mount, &mut push);
            check_name(&join(&path, "role"), role, &mut push);
            if common_name.trim().is_empty() {
                push(join(&path, "common_name"), "must not be empty".into());
            }
            if *ttl < Duration::from_secs(10) {
                push(join(&path, "ttl"), "must be at least 10s".into());
            }
        }
    }
    if let Some(transit) = &config.masking.transit {
        if config.vault.is_none() {
            push("masking.transit".into(), no_vault.into());
        }
        if config.masking.keyring.is_some() {
            push(
                "masking.transit".into(),
                "give either masking.keyring or masking.transit, not both".into(),
            );
        }
        check_name("masking.transit.mount", &transit.mount, &mut push);
        check_name("masking.transit.key", &transit.key, &mut push);
        check_name(
            "masking.transit.registry.mount",
            &transit.registry.mount,
            &mut push,
        );
        check_path(
            "masking.transit.registry.path",
            &transit.registry.path,
            &mut push,
        );
    }
    for (i, key) in config
        .authn
        .iter()
        .flat_map(|a| a.api_keys.iter())
        .enumerate()
    {
        if let Some(field) = &key.hash_from {
            let path = join(&join_index("authn.api_key", i), "hash_from");
            if config.vault.is_none() {
                push(path.clone(), no_vault.into());
            }
            check_kv_field(&path, field, &mut push);
        }
    }
    problems
}

/// Checks a `{ mount, path, field }` reference at `key_path`.
pub(crate) fn check_kv_field(
    key_path: &str,
    field: &KvField,
    push: &mut impl FnMut(String, String),
) {
    check_name(&join(key_path, "mount"), &field.mount, push);
    check_path(&join(key_path, "path"), &field.path, push);
    if field.field.is_empty() {
        push(join(key_path, "field"), "must not be empty".into());
    }
}

fn check_vault(vault: &Vault, push: &mut impl FnMut(String, String)) {
    if !matches!(vault.address.scheme(), "http" | "https") {
        push(
            "vault.address".into(),
            "must be an http:// or https:// URL".into(),
        );
    }
    if vault.address.query().is_some() || !vault.address.username().is_empty() {
        push(
            "vault.address".into(),
            "no query and no user:password@ in the address".into(),
        );
    }
    if let Some(ca) = &vault.ca_file {
        if vault.address.scheme() != "https" {
            push(
                "vault.ca_file".into(),
                "only with an https:// address".into(),
            );
        }
        if let Err(message) = crate::validate::check_certificates(ca, "CA") {
            push("vault.ca_file".into(), message);
        }
    }
    if vault
        .namespace
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        push(
            "vault.namespace".into(),
            "must not be empty (leave it out)".into(),
        );
    }
    if vault.timeout.get().is_zero() {
        push("vault.timeout".into(), "must be more than 0".into());
    }
    if vault.poll_interval < Duration::from_millis(100) {
        push(
            "vault.poll_interval".into(),
            "must be at least 100ms".into(),
        );
    }
    if vault.kv_max_stale <= vault.poll_interval {
        push(
            "vault.kv_max_stale".into(),
            "must be longer than vault.poll_interval".into(),
        );
    }
    match &vault.auth {
        VaultAuth::Token { .. } => {}
        VaultAuth::AppRole { mount, .. } => check_name("vault.auth.mount", mount, push),
        VaultAuth::Jwt { mount, role, .. } => {
            check_name("vault.auth.mount", mount, push);
            check_name("vault.auth.role", role, push);
        }
    }
}

fn check_credentials(path: &str, credentials: &Credentials, push: &mut impl FnMut(String, String)) {
    let allowed: Option<&[&str]> = match credentials {
        Credentials::Kv {
            mount,
            path: kv_path,
            ..
        } => {
            check_name(&join(path, "mount"), mount, push);
            check_path(&join(path, "path"), kv_path, push);
            None
        }
        Credentials::Database { mount, role, .. } => {
            check_name(&join(path, "mount"), mount, push);
            check_name(&join(path, "role"), role, push);
            Some(&["username", "password"])
        }
    };
    let inject = credentials.inject();
    let inject_path = join(path, "inject");
    let single = match (&inject.header, &inject.value) {
        (Some(_), Some(_)) => 1,
        (None, None) => 0,
        _ => {
            push(
                inject_path.clone(),
                "`header` and `value` go together".into(),
            );
            1
        }
    };
    let kinds =
        single + usize::from(inject.basic.is_some()) + usize::from(!inject.headers.is_empty());
    if kinds != 1 {
        push(
            inject_path.clone(),
            "give exactly one of `header` with `value`, `basic`, or `headers`".into(),
        );
    }
    for (name, _) in inject.header_templates() {
        if !is_header_name(name) {
            push(
                inject_path.clone(),
                format!("`{}` is not a valid header name", name.escape_debug()),
            );
        } else if matches!(
            name.to_ascii_lowercase().as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection" | "x-purpose"
        ) {
            push(
                inject_path.clone(),
                format!("the gateway does not let a credential set `{name}`"),
            );
        }
    }
    for template in inject.templates() {
        match placeholders(template) {
            Err(message) => push(inject_path.clone(), message),
            Ok(names) if names.is_empty() => push(
                inject_path.clone(),
                format!(
                    "`{}` has no placeholder: the credential would not be used",
                    template.escape_debug()
                ),
            ),
            Ok(names) => {
                for name in names {
                    if let Some(allowed) = allowed
                        && !allowed.contains(&name.as_str())
                    {
                        push(
                            inject_path.clone(),
                            format!(
                                "unknown placeholder `{{{{{name}}}}}` (expected {})",
                                allowed
                                    .iter()
                                    .map(|a| format!("`{{{{{a}}}}}`"))
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The placeholder names of a `{{name}}` template (the same rules as the
/// secrets crate's `Template`).
fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if rest[..open].contains("}}") {
            return Err("`}}` without `{{` in a template".into());
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "`{{` without `}}` in a template".to_string())?;
        let name = after[..close].trim();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return Err(format!(
                "placeholder `{{{{{}}}}}` must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
                name.escape_debug()
            ));
        }
        names.push(name.to_owned());
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("`}}` without `{{` in a template".into());
    }
    Ok(names)
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A mount, role or key name: not empty, no `/` at either end, no spaces.
fn check_name(key_path: &str, name: &str, push: &mut impl FnMut(String, String)) {
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains('/') {
        push(
            key_path.into(),
            "must be a name: not empty, no `/` and no whitespace".into(),
        );
    }
}

/// A KV path: not empty, no leading or trailing `/`, no empty, `.` or `..`
/// segment.
fn check_path(key_path: &str, path: &str, push: &mut impl FnMut(String, String)) {
    let ok = !path.is_empty()
        && !path.contains(char::is_whitespace)
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if !ok {
        push(
            key_path.into(),
            "must be a path like `app/db`: no leading or trailing `/`, no empty, `.` or `..` segment"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn template_placeholders() {
        assert_eq!(placeholders("Bearer {{ token }}").unwrap(), ["token"]);
        assert!(placeholders("{{a").is_err());
        assert!(placeholders("a}}").is_err());
        assert!(placeholders("{{a b}}").is_err());
        assert!(placeholders("plain").unwrap().is_empty());
    }
}
