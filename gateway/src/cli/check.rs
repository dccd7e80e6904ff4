//! `maskgate check`: validate a configuration and summarize it.

use std::{fmt::Write as _, path::Path, process::ExitCode};

use maskgate_config::{Config, HttpVersion};

pub(super) fn run(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            print!("{}", summary(path, &config));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
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
    }
    out
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
