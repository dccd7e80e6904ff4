//! The demo's full run: files, the sample product, the gateway, and what to
//! try.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use maskgate_config::Config;
use serde::Serialize;
use tokio::net::TcpListener;

use super::{
    DemoArgs, SampleProduct,
    idp::{self, DEMO_ROLES, DemoIdp},
    vault::DemoVault,
};
use crate::server::Gateway;

/// `DIR/demo.json`: where everything is, for people and for scripts. It is
/// written once every listener is bound, so its presence means "ready".
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DemoInfo {
    /// The gateway's base URL, as consumers call it.
    pub gateway: String,
    /// The admin listener's base URL.
    pub admin: String,
    /// The sample product's base URL, unprotected: to compare with what
    /// the gateway returns.
    pub upstream: String,
    /// The CA certificate to trust for `gateway` when it is HTTPS.
    pub ca_cert: Option<PathBuf>,
    /// The gateway configuration the demo runs.
    pub config: PathBuf,
    /// The data products reachable through the gateway.
    pub products: Vec<DemoProduct>,
    /// The demo identity provider's JWKS URL (HTTPS, trusted through
    /// `DIR/tls/ca.pem`).
    pub jwks: String,
    /// A token file per demo role.
    pub tokens: BTreeMap<String, PathBuf>,
    /// A key file per API-key consumer.
    pub api_keys: BTreeMap<String, PathBuf>,
    /// With `--vault`: the OpenBao dev server and its root token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<super::VaultInfo>,
    /// The audit log's directory: one record per request.
    pub audit_log: PathBuf,
    /// The public key that verifies the audit log's checkpoints.
    pub audit_public_key: PathBuf,
}

/// One product in [`DemoInfo`].
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DemoProduct {
    /// The product's name.
    pub name: String,
    /// Its URL through the gateway.
    pub url: String,
}

pub(super) async fn run(args: &DemoArgs) -> Result<(), String> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create demo directory {}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let config_path = dir.join("maskgate.toml");
    let info_path = dir.join("demo.json");
    // A demo.json from an earlier run must not be mistaken for this one.
    let _ = std::fs::remove_file(&info_path);

    let upstream = TcpListener::bind(args.upstream_listen).await.map_err(|e| {
        format!(
            "cannot listen on {} for the sample product: {e}",
            args.upstream_listen
        )
    })?;
    let upstream_addr = upstream.local_addr().map_err(|e| e.to_string())?;

    // One CA and localhost certificate serve the IdP always, and the
    // gateway with --tls.
    let demo_tls = super::tls::write_demo_certificates(&dir.join("tls"))?;
    let tls = args.tls.then(|| demo_tls.clone());
    let idp = DemoIdp::generate(&create_dir(&dir.join("idp"))?.join("signing-key.pem"))?;
    let idp = Arc::new(idp);
    let idp_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen for the demo IdP: {e}"))?;
    let jwks = format!(
        "https://{}{}",
        idp_listener.local_addr().map_err(|e| e.to_string())?,
        idp::JWKS_PATH
    );
    let tokens = mint_tokens(&idp, create_dir(&dir.join("tokens"))?, TOKEN_TTL)?;
    let vault = if args.vault {
        println!("starting OpenBao and PostgreSQL for --vault ...");
        Some(DemoVault::start().await?)
    } else {
        None
    };
    let api_keys_dir = dir.join("api-keys");
    create_dir(&api_keys_dir)?;
    let (api_key, api_key_hash) = maskgate_authn::ApiKeys::generate(API_KEY_ID)
        .map_err(|e| format!("cannot make the demo API key: {e}"))?;
    let api_key_path = api_keys_dir.join(format!("{API_KEY_ID}.key"));
    // Masking keys (pseudonyms for the analysts): a local keyring, made
    // once and kept, so pseudonyms stay stable across demo runs.
    let keyring = create_dir(&dir.join("keys"))?.join("keyring.json");
    if !keyring.exists() {
        maskgate_masking::LocalKeyring::generate(&keyring)
            .map_err(|e| format!("cannot make the demo keyring: {e}"))?;
    }
    idp::write_private(&api_key_path, api_key.expose())?;
    // The audit log and its keys (made on the first run, kept after).
    let audit = AuditFiles {
        log: dir.join("audit"),
        signing_key: dir.join("keys").join("audit-signing.pk8"),
        hmac_key: dir.join("keys").join("audit-hmac.key"),
        from_vault: vault.is_some(),
    };
    // With --vault the keys live in KV; only the public key is a file.
    if let Some(vault) = &vault {
        vault.put_audit_keys(&maskgate_audit::public_key_path(&audit.signing_key))?;
    }
    // The JWKS is served before the gateway starts, which fetches it at once.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let idp_server = tokio::spawn(idp::serve_jwks(
        idp,
        idp_listener,
        demo_tls.acceptor()?,
        stopped(stop_rx.clone()),
    ));

    // Bind first, then write the configuration with the bound addresses,
    // so that what is on disk is exactly what runs (even with port 0).
    let plan = ConfigPlan {
        listen: args.listen,
        admin: args.admin_listen,
        upstream: upstream_addr,
        tls: tls.clone(),
        jwks: jwks.clone(),
        ca: demo_tls.ca.clone(),
        api_key_hash,
        keyring,
        vault: vault.as_ref().map(DemoVault::vault_section),
        audit: audit.clone(),
    };
    let config = Config::from_str(&plan.render(), &config_path)
        .map_err(|e| format!("internal error: the demo configuration is invalid:\n{e}"))?;
    let gateway = Gateway::bind(&config).await.map_err(|e| e.to_string())?;
    let bound = ConfigPlan {
        listen: gateway.listen_addrs()[0],
        admin: gateway.admin_addr().unwrap_or(args.admin_listen),
        ..plan
    };
    std::fs::write(&config_path, bound.render())
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;

    let scheme = if bound.tls.is_some() { "https" } else { "http" };
    let gateway_url = format!("{scheme}://{}", bound.listen);
    let info = DemoInfo {
        gateway: gateway_url.clone(),
        admin: format!("http://{}", bound.admin),
        upstream: format!("http://{upstream_addr}"),
        ca_cert: bound.tls.as_ref().map(|t| t.ca.clone()),
        config: config_path.clone(),
        products: vec![DemoProduct {
            name: "customers".into(),
            url: format!("{gateway_url}/customers"),
        }],
        jwks,
        tokens,
        api_keys: BTreeMap::from([(API_KEY_ID.to_owned(), api_key_path)]),
        vault: vault.as_ref().map(DemoVault::info),
        audit_log: audit.log.clone(),
        audit_public_key: maskgate_audit::public_key_path(&audit.signing_key),
    };

    let mut sample = SampleProduct::new(args.customers, super::DEFAULT_SEED);
    if let Some(vault) = &vault {
        sample = sample.requiring_bearer(&vault.upstream_token);
    }
    let product = tokio::spawn(sample.serve(upstream, stopped(stop_rx.clone())));
    let gateway = tokio::spawn(gateway.run(stopped(stop_rx)));
    write_atomically(
        &info_path,
        &serde_json::to_vec_pretty(&info).expect("demo info serializes"),
    )?;
    print_welcome(&info, &dir);

    crate::cli::shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = gateway.await;
    let _ = product.await;
    let _ = idp_server.await;
    // OpenBao and PostgreSQL stop with it (after the gateway revoked its
    // leases).
    drop(vault);
    println!("demo stopped; its files stay in {}", dir.display());
    Ok(())
}

/// The demo's API-key consumer: a reporting service with the analyst role.
const API_KEY_ID: &str = "reporting";

/// How long the tokens written at start-up are valid.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Writes `DIR/ROLE.jwt` for each demo role; the files by role.
fn mint_tokens(
    idp: &DemoIdp,
    dir: &Path,
    ttl: Duration,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut tokens = BTreeMap::new();
    for role in &DEMO_ROLES {
        let path = dir.join(format!("{}.jwt", role.role));
        idp::write_private(&path, idp.mint(role, ttl)?.as_bytes())?;
        tokens.insert(role.role.to_owned(), path);
    }
    Ok(tokens)
}

fn create_dir(dir: &Path) -> Result<&Path, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Resolves once `stop` turns true.
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// What the demo configuration is made of.
#[derive(Debug, Clone)]
struct ConfigPlan {
    listen: SocketAddr,
    admin: SocketAddr,
    upstream: SocketAddr,
    tls: Option<super::tls::DemoTls>,
    /// The demo IdP's JWKS URL, and the CA its certificate is from.
    jwks: String,
    ca: PathBuf,
    /// `sha256:HEX` of the demo API key.
    api_key_hash: String,
    /// The masking keyring (for pseudonyms).
    keyring: PathBuf,
    /// With `--vault`: the `[vault]` section (then the product's token and
    /// the masking keys come from OpenBao too).
    vault: Option<String>,
    /// Where the audit log and its keys go.
    audit: AuditFiles,
}

/// The demo's audit log and keys.
#[derive(Debug, Clone)]
struct AuditFiles {
    log: PathBuf,
    signing_key: PathBuf,
    hmac_key: PathBuf,
    /// The keys come from OpenBao's KV (`--vault`), not these files.
    from_vault: bool,
}

impl ConfigPlan {
    /// The configuration file, commented for a reader who opens it to learn.
    fn render(&self) -> String {
        let listener = match &self.tls {
            Some(tls) => format!(
                "address = \"{}\"\n\n[server.listener.tls]\ncert = {}\nkey = {}\n",
                self.listen,
                toml_string(&tls.cert),
                toml_string(&tls.key),
            ),
            None => format!(
                "address = \"{}\"\n# Plain HTTP on loopback for the demo; production listeners use [server.listener.tls].\nplaintext = true\n",
                self.listen
            ),
        };
        format!(
            r#"# maskgate configuration written by `maskgate demo`.
# Edit it and run it yourself:
#   maskgate demo product --listen {upstream}   # the sample product alone
#   maskgate serve --config THIS_FILE
# Reference: README.md, section "Configuration".

[server]

[[server.listener]]
name = "public"
{listener}
[server.limits]
max_request_body = "10MiB"
max_header_bytes = "64KiB"
max_headers = 100

[server.timeouts]
header_read = "10s"
shutdown_grace = "10s"

[admin]
address = "{admin}"

# Who may call: bearer tokens from the demo identity provider, and one
# API-key consumer. Requests without credentials get 401.
[authn]
api_key_header = "x-api-key"

[[authn.jwt]]
issuer = "{issuer}"
audiences = ["{audience}"]
jwks_url = "{jwks}"
jwks_ca = {ca}
roles_claim = "roles"

[[authn.api_key]]
id = "{api_key_id}"
# Only the key's hash is configured; the key is in api-keys/{api_key_id}.key.
hash = "{api_key_hash}"
subject = "reporting-service"
roles = ["analyst"]

# Quotas per caller; over them, 429 with Retry-After.
[rate_limits]
per_principal = {{ rate = "50/s", burst = 100 }}

# The sample data product: synthetic customers with PII-shaped fields.
[[product]]
name = "customers"

[product.route]
path_prefix = "/customers"

[product.upstream]
url = "http://{upstream}"
connect_timeout = "2s"
response_timeout = "10s"

[product.access]
roles = ["support", "analyst", "fraud"]
methods = ["GET", "HEAD", "POST"]
# Purpose limitation: a caller may declare one of these (X-Purpose).
purposes = ["customer-support", "analytics", "fraud-investigation"]
{credentials}
# Classification, owned by the product's team: which fields hold which
# class of data. `..` finds them in the list and in single records alike.
[[product.field]]
path = "$..name"
class = "person_name"

[[product.field]]
path = "$..email"
class = "email"

[[product.field]]
path = "$..phone"
class = "phone"

[[product.field]]
path = "$..card_number"
class = "card_number"

[[product.field]]
path = "$..iban"
class = "iban"

[[product.field]]
path = "$..national_id"
class = "national_id"

[[product.field]]
path = "$..birth_date"
class = "birth_date"

[[product.field]]
path = "$..address.street"
class = "street_address"

[[product.field]]
path = "$..address.postal_code"
class = "postal_code"

# Everything else (notes!) is scanned for PII that nobody classified.
[product.masking]
unclassified = "detect"

# A class of the product's own, with a pattern that finds it in free text:
# a street (number first or last, as each country writes it), with its
# postal code and city when they follow.
[[class]]
name = "street_address"
pattern = '\b(?:[0-9]{{1,4}} (?:(?:rue|avenue|boulevard|allée)(?: de la| des| du| de)? \p{{Lu}}\p{{Ll}}+(?: \p{{Lu}}\p{{Ll}}+)?|(?:\p{{Lu}}\p{{Ll}}+ )+(?:Street|Road|Lane|Avenue|Drive))|(?:\p{{Lu}}\p{{Ll}}+(?:straße|weg|straat|gracht|laan)|(?:Calle|Plaza|Paseo)(?: de| del)? \p{{Lu}}\p{{Ll}}+) [0-9]{{1,4}})(?:, (?:[0-9]{{4,5}}|[0-9]{{4}} [A-Z]{{2}}|[A-Z]{{1,2}}[0-9]{{1,2}} [0-9][A-Z]{{2}}) \p{{Lu}}\p{{Ll}}+(?: \p{{Lu}}\p{{Ll}}+)?)?'

# A built-in class given a pattern: a date is a birth date where the text
# says so. Only the `value` group is the finding; "Born" stays.
[[class]]
name = "birth_date"
pattern = '\b(?:[Bb]orn|[Dd]ate of birth:?|DOB:?) (?P<value>(?:19|20)[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}})\b'

# The policy, owned by the security team: for each role (and purpose),
# what each class becomes. The first matching rule wins.
[[policy]]
name = "fraud-investigation"
roles = ["fraud"]
purposes = ["fraud-investigation"]
actions = {{ national_id = {{ action = "mask", keep_last = 4 }}, "*" = {{ action = "reveal" }} }}

[[policy]]
name = "support"
roles = ["support"]
actions = {{ person_name = {{ action = "pass" }}, email = {{ action = "mask", preset = "email" }}, phone = {{ action = "mask", preset = "phone" }}, card_number = {{ action = "mask", preset = "card" }}, birth_date = {{ action = "generalize", to = "year" }}, postal_code = {{ action = "pass" }} }}

[[policy]]
name = "analytics"
roles = ["analyst"]
actions = {{ person_name = {{ action = "hash" }}, email = {{ action = "hash" }}, birth_date = {{ action = "generalize", to = "age_band", width = 10 }}, postal_code = {{ action = "generalize", to = "prefix", keep = 2 }}, "*" = {{ action = "drop" }} }}

[[policy]]
name = "default"
default = true
actions = {{ "*" = {{ action = "redact", with = "[REDACTED]" }} }}

# The audit log: one record per request (who, which product and purpose,
# the decision, which fields got which treatment; never a value), chained
# and signed. `maskgate audit verify|query|report` read it. A response ends
# only once its record is on disk (fail_closed).
[audit]
path = {audit_log}
{audit_keys}
{masking_keys}{vault}"#,
            upstream = self.upstream,
            admin = self.admin,
            issuer = idp::ISSUER,
            audience = idp::AUDIENCE,
            jwks = self.jwks,
            ca = toml_string(&self.ca),
            api_key_id = API_KEY_ID,
            api_key_hash = self.api_key_hash,
            credentials = if self.vault.is_some() {
                DemoVault::product_credentials()
            } else {
                String::new()
            },
            masking_keys = if self.vault.is_some() {
                DemoVault::masking_keys().to_owned()
            } else {
                format!("[masking]\nkeyring = {}\n", toml_string(&self.keyring))
            },
            vault = self.vault.as_deref().unwrap_or_default(),
            audit_log = toml_string(&self.audit.log),
            audit_keys = if self.audit.from_vault {
                DemoVault::audit_key_lines()
            } else {
                format!(
                    "signing_key = {}\nhmac_key = {}\ncreate_keys = true\n",
                    toml_string(&self.audit.signing_key),
                    toml_string(&self.audit.hmac_key),
                )
            },
        )
    }
}

/// A path as a TOML basic string.
pub(super) fn toml_string(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).expect("strings serialize")
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn print_welcome(info: &DemoInfo, dir: &Path) {
    let curl = match &info.ca_cert {
        Some(ca) => format!("curl -s --cacert {}", ca.display()),
        None => "curl -s".to_owned(),
    };
    let customers = &info.products[0].url;
    let token = |role: &str| {
        info.tokens
            .get(role)
            .map_or_else(String::new, |p| p.display().to_string())
    };
    let api_key = info
        .api_keys
        .get(API_KEY_ID)
        .map_or_else(String::new, |p| p.display().to_string());
    println!(
        r#"
maskgate demo is running.

  gateway   {gateway}
  admin     {admin}
  product   customers, served unprotected at {upstream}
  files     {dir} (maskgate.toml, demo.json, tokens/, api-keys/, audit/)

Callers need credentials. Tokens for the roles support, analyst and fraud
are in {dir}/tokens (valid 1h; `maskgate demo token --role ROLE` mints
more), and the API key of a reporting service is in {dir}/api-keys.

Try:
  {curl} -H "Authorization: Bearer $(cat {support})" '{customers}?limit=2'
  {curl} -H "Authorization: Bearer $(cat {fraud})" -H 'X-Purpose: fraud-investigation' {customers}/42
  {curl} -H "x-api-key: $(cat {api_key})" {customers}/7
  {curl} -i {customers}/1                       # 401: no credentials
  {curl} -i -H "Authorization: Bearer $(cat {support})" -H 'X-Purpose: marketing' {customers}/1   # 403: purpose not allowed
  curl -s {admin}/metrics | grep -E '^maskgate_(requests|classified_values|detected_values)'   # what was masked, by class and action

Compare with the product itself: curl -s '{upstream}/customers?limit=2'{vault}

Every request leaves one record in the audit log, {audit}. Auditors:
  maskgate audit query {audit} --class card_number --action reveal
  maskgate audit query {audit} --decision refused --format json
  maskgate audit report {audit} --public-key {public_key} --live --out {dir}/audit-report.html
  maskgate audit verify {audit} --public-key {public_key} --live   # while it runs
  maskgate audit verify {audit} --public-key {public_key}          # once stopped: ends with the final checkpoint
Press Ctrl-C to stop."#,
        gateway = info.gateway,
        admin = info.admin,
        upstream = info.upstream,
        dir = dir.display(),
        support = token("support"),
        fraud = token("fraud"),
        vault = info
            .vault
            .as_ref()
            .map_or_else(String::new, |vault| format!(
                r#"
(with --vault it answers 401: only the gateway holds its token)

Secrets come from OpenBao at {address} (dev server; root token in demo.json):
the product's bearer token from KV secret/app/customers-api, masking keys
from the transit key `fields`. Look around:
  BAO_ADDR={address} BAO_TOKEN={token} bao kv get -mount=secret maskgate/keyring
  curl -s {admin}/metrics | grep maskgate_vault_"#,
                address = vault.address,
                token = vault.token,
                admin = info.admin,
            )),
        audit = info.audit_log.display(),
        public_key = info.audit_public_key.display(),
    );
}
