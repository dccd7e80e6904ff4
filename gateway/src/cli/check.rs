//! `maskgate check`: validate a configuration and summarize it.

use std::{fmt::Write as _, path::Path, process::ExitCode};

use maskgate_config::{Access, Authn, Config, ConfigError, Diagnostic, HttpVersion, RateLimit};

pub(super) fn run(path: &Path) -> ExitCode {
    let (config, mut problems) = match Config::load_with_problems(path) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    // What only the masking crate can judge: selectors, class patterns,
    // the keyring. Compiled even when the configuration broke its own
    // rules, so that one run reports every problem, each at its place in
    // the file; one about a key the configuration's checks reported
    // already (or a key above or below it) is not said twice.
    if let Err(compiled) = crate::protect::Protection::from_config(&config, None) {
        let compiled = ConfigError::invalid_in(path, &compiled);
        let fresh: Vec<Diagnostic> = compiled
            .diagnostics()
            .iter()
            .filter(|d| {
                !problems
                    .iter()
                    .any(|p| same_place(&p.key_path, &d.key_path))
            })
            .cloned()
            .collect();
        problems.extend(fresh);
    }
    if !problems.is_empty() {
        eprintln!("{}", ConfigError::invalid(problems));
        return ExitCode::FAILURE;
    }
    print!("{}", summary(path, &config));
    if config.audit.is_none() {
        eprintln!(
            "warning: no [audit] section: requests will leave no audit record (see README: [audit])"
        );
    }
    ExitCode::SUCCESS
}

/// Whether two key paths are the same key, or one lies below the other
/// (`policy` and `policy[1].actions.email`); the whole file's (empty) is
/// no key's.
fn same_place(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !short.is_empty()
        && long.starts_with(short)
        && matches!(long.as_bytes().get(short.len()), None | Some(b'.' | b'['))
}

/// A few lines a reviewer can compare with what they meant to configure.
fn summary(path: &Path, config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: configuration is valid", path.display());
    for listener in &config.server.listeners {
        let _ = writeln!(
            out,
            "  listener {} {} ({})",
            listener.address,
            if listener.tls.is_some() {
                "https"
            } else {
                "http"
            },
            versions(&listener.http_versions),
        );
    }
    if config.admin.enabled {
        let _ = writeln!(out, "  admin    {}", config.admin.address);
    } else {
        let _ = writeln!(out, "  admin    disabled");
    }
    let _ = writeln!(out, "  authn    {}", describe_authn(config.authn.as_ref()));
    match &config.audit {
        Some(audit) => {
            let _ = writeln!(
                out,
                "  audit    {} ({}, checkpoint every {} records or {})",
                audit.path.display(),
                if audit.fail_closed {
                    "fail closed"
                } else {
                    "fail open"
                },
                audit.checkpoint_every,
                audit.checkpoint_interval
            );
        }
        None => {
            let _ = writeln!(out, "  audit    none");
        }
    }
    if let Some(version) = &config.source_sha256 {
        // What audit records carry as `policy_version`: `sha256sum` of the
        // file gives the same digits.
        let _ = writeln!(out, "  policy version {version}");
    }
    let limits = &config.rate_limits;
    let quotas: Vec<String> = [
        ("per principal", &limits.per_principal),
        ("per product", &limits.per_product),
        ("per principal and product", &limits.per_principal_product),
    ]
    .into_iter()
    .filter_map(|(scope, limit)| Some(format!("{scope} {}", describe_quota(limit.as_ref()?))))
    .collect();
    if !quotas.is_empty() {
        let _ = writeln!(out, "  quotas   {}", quotas.join(", "));
    }
    let _ = writeln!(out, "  products ({}):", config.products.len());
    for product in &config.products {
        let route = match &product.route.host {
            Some(host) => format!("{host}{}", product.route.path_prefix),
            None => product.route.path_prefix.clone(),
        };
        let _ = writeln!(
            out,
            "    {:<20} {} -> {} ({})",
            product.name,
            route,
            product.upstream.url,
            versions(&product.upstream.http_versions),
        );
        if let Some(access) = &product.access {
            let _ = writeln!(out, "      access {}", describe_access(access));
        }
        if let Some(limit) = &product.rate_limit {
            let _ = writeln!(out, "      quota  {}", describe_quota(limit));
        }
    }
    out
}

fn describe_authn(authn: Option<&Authn>) -> String {
    let Some(authn) = authn else {
        return "none: plain proxy, no authentication".to_owned();
    };
    let mut parts = Vec::new();
    if !authn.jwt.is_empty() {
        parts.push(format!("jwt ({})", count(authn.jwt.len(), "issuer")));
    }
    if !authn.api_keys.is_empty() {
        parts.push(format!(
            "api_key ({}, header {})",
            count(authn.api_keys.len(), "key"),
            authn.api_key_header
        ));
    }
    if authn.mtls.is_some() {
        parts.push("mtls".to_owned());
    }
    parts.join(", ")
}

/// `1 key`, `2 keys`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn describe_access(access: &Access) -> String {
    let roles = if access.allow_any_role {
        "any role".to_owned()
    } else {
        format!("roles {}", access.roles.join(", "))
    };
    let purposes = match (access.purposes.is_empty(), access.require_purpose) {
        (true, _) => "no purpose".to_owned(),
        (false, required) => format!(
            "purposes {}{}",
            access.purposes.join(", "),
            if required { " (required)" } else { "" }
        ),
    };
    format!("{roles}; methods {}; {purposes}", access.methods.join(", "))
}

fn describe_quota(limit: &RateLimit) -> String {
    format!("{} (burst {})", limit.rate, limit.burst())
}

fn versions(versions: &[HttpVersion]) -> String {
    versions
        .iter()
        .map(|v| match v {
            HttpVersion::Http1 => "http1",
            HttpVersion::Http2 => "http2",
            _ => "?",
        })
        .collect::<Vec<_>>()
        .join("+")
}
