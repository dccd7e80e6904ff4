//! A product's upstream credentials: a KV secret or a dynamic database
//! credential, rendered through the configured header templates into every
//! request forwarded to the product.

use std::time::Duration;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use maskgate_config::{Credentials, Inject};
use maskgate_secrets::{
    DbCredential, KvSecret, SecretString, Template, TemplateError, Unavailable, Vault, Watched,
};

/// Where the credential comes from.
#[derive(Debug)]
enum Source {
    Kv(Watched<KvSecret>),
    Database(Watched<DbCredential>),
}

/// What the credential becomes: headers, each a template.
#[derive(Debug)]
enum Injection {
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        username: Template,
        password: Template,
    },
    /// Headers named in the configuration.
    Headers(Vec<(HeaderName, Template)>),
}

/// A product's upstream credentials, read from memory per request.
#[derive(Debug)]
pub(crate) struct UpstreamCredentials {
    source: Source,
    injection: Injection,
}

/// Why no credential could be added: the product answers 503 with this.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialsError {
    /// The credential's lease ended and Vault could not renew it.
    #[error("{0}")]
    Unavailable(#[from] Unavailable),
    /// The secret lacks a field a template names (a KV secret edited
    /// without it), or the result is not a valid header value.
    #[error("the upstream credential does not fit its template: {0}")]
    Template(String),
}

impl UpstreamCredentials {
    /// Starts watching the credential (or joins the client's watch of it)
    /// and compiles the templates.
    pub(crate) fn new(config: &Credentials, vault: &Vault) -> Result<Self, String> {
        let source = match config {
            Credentials::Kv { mount, path, .. } => Source::Kv(vault.kv_secret(mount, path)),
            Credentials::Database { mount, role, .. } => {
                Source::Database(vault.database_credential(mount, role))
            }
            _ => unreachable!("every credentials source is translated"),
        };
        Ok(Self {
            source,
            injection: injection(config.inject()).map_err(|e| e.to_string())?,
        })
    }

    /// Waits for the first credential (start-up only).
    pub(crate) async fn ready(&self, timeout: Duration) -> Result<(), Unavailable> {
        match &self.source {
            Source::Kv(kv) => kv.ready(timeout).await.map(drop),
            Source::Database(db) => db.ready(timeout).await.map(drop),
        }
    }

    /// Sets the credential's headers on a request going upstream, replacing
    /// any the client sent under the same names. Returns the lease id used,
    /// if the credential has one (for the audit record).
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
    ) -> Result<Option<String>, CredentialsError> {
        match &self.source {
            Source::Kv(kv) => {
                let secret = kv.current()?;
                self.inject(headers, |t| secret.render(t))?;
                Ok(None)
            }
            Source::Database(db) => {
                let credential = db.current()?;
                self.inject(headers, |t| credential.render(t))?;
                Ok(Some(credential.lease_id().to_owned()))
            }
        }
    }

    fn inject(
        &self,
        headers: &mut HeaderMap,
        render: impl Fn(&Template) -> Result<SecretString, TemplateError>,
    ) -> Result<(), CredentialsError> {
        let template_error = |e: TemplateError| CredentialsError::Template(e.to_string());
        match &self.injection {
            Injection::Basic { username, password } => {
                let username = render(username).map_err(template_error)?;
                let password = render(password).map_err(template_error)?;
                let mut pair = zeroize::Zeroizing::new(String::with_capacity(
                    username.len() + 1 + password.len(),
                ));
                pair.push_str(username.expose());
                pair.push(':');
                pair.push_str(password.expose());
                let value = zeroize::Zeroizing::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
                ));
                headers.insert(header::AUTHORIZATION, sensitive(&value)?);
            }
            Injection::Headers(list) => {
                for (name, template) in list {
                    let value = render(template).map_err(template_error)?;
                    headers.insert(name.clone(), sensitive(value.expose())?);
                }
            }
        }
        Ok(())
    }
}

/// A header value marked sensitive (HTTP/2 never indexes it in HPACK).
fn sensitive(value: &str) -> Result<HeaderValue, CredentialsError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        CredentialsError::Template("the rendered value is not a valid header value".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn injection(inject: &Inject) -> Result<Injection, TemplateError> {
    if let Some(basic) = &inject.basic {
        return Ok(Injection::Basic {
            username: Template::parse(&basic.username)?,
            password: Template::parse(&basic.password)?,
        });
    }
    let headers = inject
        .header_templates()
        .into_iter()
        .map(|(name, value)| {
            let name =
                HeaderName::try_from(name).expect("the configuration validates header names");
            Ok((name, Template::parse(value)?))
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    Ok(Injection::Headers(headers))
}
