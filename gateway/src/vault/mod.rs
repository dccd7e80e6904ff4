//! What the gateway takes from Vault / OpenBao, and how it uses it.
//!
//! The `secrets` crate logs in and keeps every credential, certificate and
//! data key fresh in the background; this module turns the configuration
//! into its settings ([`settings`]), connects at start-up ([`connect`]) and
//! gives the request path what it reads from memory: each product's
//! upstream credentials ([`UpstreamCredentials`], injected as headers), its
//! client certificate (`proxy::upstream`), and the transit data keys as the
//! masking crate's key provider ([`TransitKeys`]). Anything not available
//! any more (a lease that ended while Vault was unreachable) makes the
//! product answer 503: fail closed.

mod credentials;
mod keys;
mod metrics;

use std::{sync::Arc, time::Duration};

use maskgate_config::{Config, VaultAuth};
use maskgate_secrets::{Auth, ClientCertificate, Vault, VaultSettings, Watched};

pub(crate) use self::{
    credentials::UpstreamCredentials, keys::TransitKeys, metrics::VaultCollector,
};

/// How long start-up waits for each credential, certificate and keyring
/// before serving anyway (the product answers 503 until it arrives).
const FIRST_FETCH_WAIT: Duration = Duration::from_secs(10);

/// The client's settings from `[vault]`.
pub(crate) fn settings(vault: &maskgate_config::Vault) -> VaultSettings {
    let auth = match &vault.auth {
        VaultAuth::Token { token_file } => Auth::Token {
            file: token_file.clone(),
        },
        VaultAuth::AppRole {
            mount,
            role_id_file,
            secret_id_file,
        } => Auth::AppRole {
            mount: mount.clone(),
            role_id_file: role_id_file.clone(),
            secret_id_file: secret_id_file.clone(),
        },
        VaultAuth::Jwt {
            mount,
            role,
            jwt_file,
        } => Auth::Jwt {
            mount: mount.clone(),
            role: role.clone(),
            jwt_file: jwt_file.clone(),
        },
        _ => unreachable!("every [vault.auth] method is translated"),
    };
    let mut settings = VaultSettings::new(vault.address.clone(), auth);
    settings.ca_file.clone_from(&vault.ca_file);
    settings.namespace.clone_from(&vault.namespace);
    settings.request_timeout = vault.timeout.get();
    settings.poll_interval = vault.poll_interval.get();
    settings.kv_max_stale = vault.kv_max_stale.get();
    settings
}

/// Logs in to Vault when the configuration has a `[vault]` section, and
/// starts fetching everything the configuration asks of it; waits (up to
/// [`FIRST_FETCH_WAIT`] each) for the first values so that the gateway
/// does not start answering 503. Must run on the long-lived runtime: the
/// background renewals live on it.
pub(crate) async fn connect(config: &Config) -> Result<Option<Vault>, String> {
    let Some(section) = &config.vault else {
        return Ok(None);
    };
    let vault = Vault::connect(settings(section))
        .await
        .map_err(|e| format!("cannot log in to Vault: {e}"))?;
    let secrets = ProductSecrets::for_config(config, Some(&vault))?;
    for product in secrets.iter().flatten() {
        if let Some(credentials) = &product.credentials
            && let Err(why) = credentials.ready(FIRST_FETCH_WAIT).await
        {
            tracing::warn!(product = %product.name, "starting without upstream credentials: {why}");
        }
        if let Some(certificate) = &product.client_certificate
            && let Err(why) = certificate.ready(FIRST_FETCH_WAIT).await
        {
            tracing::warn!(product = %product.name, "starting without a client certificate: {why}");
        }
    }
    let api_key_hashes = config
        .authn
        .iter()
        .flat_map(|authn| &authn.api_keys)
        .filter_map(|key| key.hash_from.as_ref());
    for from in api_key_hashes {
        if let Err(why) = vault
            .kv_secret(&from.mount, &from.path)
            .ready(FIRST_FETCH_WAIT)
            .await
        {
            tracing::warn!("starting without API key hashes from Vault: {why}");
        }
    }
    if let Some(keys) = TransitKeys::for_config(config, Some(&vault))?
        && let Err(why) = keys.ready(FIRST_FETCH_WAIT).await
    {
        tracing::warn!("starting without transit data keys: {why}");
    }
    Ok(Some(vault))
}

/// What one product takes from Vault.
#[derive(Debug)]
pub(crate) struct ProductSecrets {
    name: Arc<str>,
    /// Added to every request forwarded to it.
    pub(crate) credentials: Option<Arc<UpstreamCredentials>>,
    /// Presented to its `https` upstream.
    pub(crate) client_certificate: Option<Watched<ClientCertificate>>,
}

impl ProductSecrets {
    /// Each product's secrets, in configuration order (`None` for a product
    /// that takes nothing from Vault). Asking the client again for a value
    /// it already watches returns the same one, so a reload neither fetches
    /// again nor loses a lease.
    pub(crate) fn for_config(
        config: &Config,
        vault: Option<&Vault>,
    ) -> Result<Vec<Option<Self>>, String> {
        config
            .products
            .iter()
            .map(|product| {
                let cert = product.upstream.client_certificate.as_ref();
                if product.credentials.is_none() && cert.is_none() {
                    return Ok(None);
                }
                let vault = vault.ok_or_else(|| {
                    format!(
                        "product {}: takes secrets from Vault, but the gateway was started without [vault] (adding it needs a restart)",
                        product.name
                    )
                })?;
                let credentials = product
                    .credentials
                    .as_ref()
                    .map(|c| UpstreamCredentials::new(c, vault).map(Arc::new))
                    .transpose()
                    .map_err(|e| format!("product {}: credentials: {e}", product.name))?;
                let client_certificate = cert.map(|cert| match cert {
                    maskgate_config::ClientCertificate::Pki {
                        mount,
                        role,
                        common_name,
                        ttl,
                    } => vault.pki_certificate(mount, role, common_name, ttl.get()),
                    _ => unreachable!("every client certificate source is translated"),
                });
                Ok(Some(Self {
                    name: Arc::from(product.name.as_str()),
                    credentials,
                    client_certificate,
                }))
            })
            .collect()
    }
}
