//! Loading: text to a typed, resolved, validated [`Config`].
//!
//! [`Config::from_str`] is the core: parse (unknown keys refused), resolve
//! relative file paths against the directory of the file, normalise hosts to
//! lowercase, then validate. [`Config::load`] reads the file and calls it.
//! Every error is located: file, line, column and key path.

use std::path::{Path, PathBuf};

use crate::{
    error::{ConfigError, Diagnostic, Location},
    locate::{locate, path_at},
    model::Config,
    validate::check,
};

/// The text of the configuration file at `path`.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        diagnostics: vec![Diagnostic::new(
            path,
            None,
            "",
            format!("cannot read the configuration file: {error}"),
        )],
        error,
    })
}

impl Config {
    /// Parses, resolves and validates the configuration in `text`.
    ///
    /// `origin` is the file the text came from: diagnostics name it, and the
    /// relative paths in the file (`server.listener[].tls.cert`, `.key` and
    /// `.client_ca`, `product[].upstream.ca`, `vault.ca_file` and the
    /// `vault.auth` files, `audit`'s `path`, `signing_key` and `hmac_key`,
    /// and `authn.jwt[]`'s `jwks_ca`, `public_keys` and `hmac_secret_file`)
    /// are resolved against
    /// its directory, so the configuration means the same whatever the
    /// working directory.
    ///
    /// A parse error stops at the first problem; validation reports every
    /// problem, sorted by where it is in the file.
    pub fn from_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let (config, diagnostics) = Self::from_str_with_problems(text, origin)?;
        if diagnostics.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::invalid(diagnostics))
        }
    }

    /// [`Config::from_str`], except that a configuration that parses comes
    /// back with its validation problems (empty when it is valid) instead
    /// of an error: for a tool that checks more than the configuration's
    /// own rules and reports every problem of both in one run (`maskgate
    /// check`). A configuration that came with problems must not be used.
    pub fn from_str_with_problems(
        text: &str,
        origin: &Path,
    ) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|error| ConfigError::Parse {
            diagnostics: vec![parse_diagnostic(text, origin, &error)],
        })?;
        config.resolve(origin.parent().unwrap_or(Path::new("")));
        config.source_sha256 = Some(sha256_hex(text.as_bytes()));

        let diagnostics = check(&config)
            .into_iter()
            .map(|problem| {
                Diagnostic::new(
                    origin,
                    locate(text, &problem.key_path),
                    problem.key_path,
                    problem.message,
                )
            })
            .collect();
        Ok((config, diagnostics))
    }

    /// Reads the configuration file at `path`, then [`Config::from_str`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::from_str(&read(path)?, path)
    }

    /// Reads the configuration file at `path`, then
    /// [`Config::from_str_with_problems`].
    pub fn load_with_problems(path: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
        Self::from_str_with_problems(&read(path)?, path)
    }

    /// Runs the validation of [`Config::from_str`] again, on a configuration
    /// built or changed in code (by tests, for instance), and returns every
    /// problem found.
    ///
    /// Without the text, diagnostics have no file and no location, only the
    /// key path. Relative file paths are used as they are (relative to the
    /// working directory), and hosts must already be lowercase.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let diagnostics: Vec<Diagnostic> = check(self)
            .into_iter()
            .map(|problem| Diagnostic::new("", None, problem.key_path, problem.message))
            .collect();
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { diagnostics })
        }
    }

    /// Makes relative file paths relative to `base` (the directory of the
    /// file); hosts, the API key header and API key hashes lowercase.
    fn resolve(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        for listener in &mut self.server.listeners {
            if let Some(tls) = &mut listener.tls {
                resolve(&mut tls.cert);
                resolve(&mut tls.key);
                if let Some(ca) = &mut tls.client_ca {
                    resolve(ca);
                }
            }
        }
        if let Some(authn) = &mut self.authn {
            authn.api_key_header.make_ascii_lowercase();
            for issuer in &mut authn.jwt {
                for path in issuer
                    .jwks_ca
                    .iter_mut()
                    .chain(issuer.hmac_secret_file.iter_mut())
                    .chain(issuer.public_keys.iter_mut().flatten())
                {
                    resolve(path);
                }
            }
            for key in &mut authn.api_keys {
                if let Some(hash) = &mut key.hash {
                    hash.make_ascii_lowercase();
                }
            }
        }
        if let Some(keyring) = &mut self.masking.keyring {
            resolve(keyring);
        }
        if let Some(vault) = &mut self.vault {
            crate::secrets::resolve(vault, base);
        }
        if let Some(audit) = &mut self.audit {
            audit.resolve(base);
        }
        for product in &mut self.products {
            if let Some(ca) = &mut product.upstream.ca {
                resolve(ca);
            }
            if let Some(host) = &mut product.route.host {
                host.make_ascii_lowercase();
            }
        }
    }
}

/// A located diagnostic for a syntax or schema error from toml.
fn parse_diagnostic(text: &str, origin: &Path, error: &toml::de::Error) -> Diagnostic {
    let (location, key_path) = match error.span() {
        // toml gives the root table the empty span at 0: an error about the
        // whole file (a missing `[server]`) is not at its first key.
        Some(span) if span != (0..0) => (
            Some(Location::of_offset(text, span.start)),
            path_at(text, span.start),
        ),
        _ => (None, String::new()),
    };
    Diagnostic::new(origin, location, key_path, error.message().trim_end())
}

#[cfg(test)]
mod tests;

/// `sha256:` and the lowercase hex of the SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
