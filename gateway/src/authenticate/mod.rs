//! Authentication in the request path: credentials to a [`CallerInfo`].
//!
//! Translates `[authn]` into the `maskgate-authn` verifiers (JWT issuers,
//! API keys, client-certificate identities) and runs them as a tower layer
//! after routing:
//!
//! - an `Authorization: Bearer` token or an API key in the configured
//!   header is verified; both at once are refused (one caller, one
//!   credential);
//! - with neither, a verified client certificate of the connection
//!   identifies the caller, if `[authn.mtls]` is configured;
//! - with no credential at all the request goes on without a caller, and
//!   the access layer answers 401 with the product's challenge;
//! - invalid credentials are answered here: 401, or 503 when a key server
//!   has been unreachable for longer than its keys may be trusted.
//!
//! The credentials themselves never leave this layer: they are not logged,
//! not echoed, and the proxy strips them before forwarding.

mod api_keys;
mod jwks;

use std::{
    collections::BTreeMap,
    future::Future,
    path::PathBuf,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::SystemTime,
};

use http::{HeaderName, HeaderValue, Request, Response, header};
use maskgate_authn::{
    AuthError, ClaimPath, IssuerConfig, JwksConfig, KeySource, MtlsConfig, MtlsIdentities,
    Principal, Secret, StaticKey, SubjectSource, TokenCacheConfig, Verifier, VerifierConfig,
};
use maskgate_config::{AuthMethod, Authn, JwtIssuer};
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use tower::{Layer, Service};

use self::{api_keys::ApiKeySet, jwks::HttpsJwksFetcher};
use crate::{
    body::Body, caller::CallerInfo, error::GatewayError, request_id::RequestId,
    route::RoutedProduct,
};

/// The verifiers `[authn]` configures, shared by every worker.
pub(crate) struct Authentication {
    jwt: Option<Verifier>,
    /// Each JWKS issuer's `jwks_url` and `jwks_ca`, to tell after a reload
    /// whose key set may be taken over.
    jwks_sources: BTreeMap<String, (String, Option<PathBuf>)>,
    api_keys: Option<ApiKeySet>,
    api_key_header: HeaderName,
    mtls: Option<MtlsIdentities>,
}

impl std::fmt::Debug for Authentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authentication")
            .field("jwt", &self.jwt.is_some())
            .field("api_keys", &self.api_keys.as_ref().map(ApiKeySet::len))
            .field("mtls", &self.mtls.is_some())
            .finish()
    }
}

impl Authentication {
    /// Builds the verifiers; the error is a sentence for the operator.
    /// Reads the key files `[authn]` names.
    pub(crate) fn from_config(
        authn: &Authn,
        provider: &Arc<CryptoProvider>,
        vault: Option<&maskgate_secrets::Vault>,
    ) -> Result<Self, String> {
        let jwt = if authn.jwt.is_empty() {
            None
        } else {
            let issuers = authn
                .jwt
                .iter()
                .map(issuer_config)
                .collect::<Result<Vec<_>, _>>()?;
            let fetcher = HttpsJwksFetcher::new(
                authn
                    .jwt
                    .iter()
                    .filter_map(|i| Some((i.jwks_url.as_ref()?.as_str(), i.jwks_ca.as_deref()))),
                provider,
            )
            .map_err(|e| format!("JWKS client: {e}"))?;
            let mut config = VerifierConfig::new(issuers);
            config.token_cache =
                TokenCacheConfig::new(authn.token_cache_size, TokenCacheConfig::default().max_ttl);
            Some(
                Verifier::new(config, Some(Arc::new(fetcher)))
                    .map_err(|e| format!("JWT issuers: {e}"))?,
            )
        };
        let api_keys = if authn.api_keys.is_empty() {
            None
        } else {
            Some(ApiKeySet::new(&authn.api_keys, vault)?)
        };
        let mtls = match &authn.mtls {
            Some(mtls) => Some(
                MtlsIdentities::new(mtls_config(mtls))
                    .map_err(|e| format!("client certificates: {e}"))?,
            ),
            None => None,
        };
        let jwks_sources = authn
            .jwt
            .iter()
            .filter_map(|i| {
                let url = i.jwks_url.as_ref()?.as_str().to_owned();
                Some((i.issuer.clone(), (url, i.jwks_ca.clone())))
            })
            .collect();
        Ok(Self {
            jwt,
            jwks_sources,
            api_keys,
            api_key_header: HeaderName::from_bytes(authn.api_key_header.as_bytes())
                .map_err(|_| "api_key_header is not a header name".to_owned())?,
            mtls,
        })
    }

    /// After a reload: takes over from `previous` the JWKS key sets of the
    /// issuers whose `jwks_url` and `jwks_ca` did not change, so that their
    /// last good keys keep serving (a reload during a key server outage
    /// must not fail every token) and the reload causes no fetch. Call
    /// before [`spawn_refresher`](Self::spawn_refresher).
    pub(crate) fn adopt_key_sets(&self, previous: &Authentication) {
        let (Some(jwt), Some(old)) = (&self.jwt, &previous.jwt) else {
            return;
        };
        for (issuer, source) in &self.jwks_sources {
            if previous.jwks_sources.get(issuer) == Some(source) {
                jwt.adopt_key_set(old, issuer);
            }
        }
    }

    /// Starts refreshing JWKS key sets in the background on `runtime`.
    pub(crate) fn spawn_refresher(&self, runtime: &tokio::runtime::Handle) {
        if let Some(jwt) = &self.jwt {
            jwt.spawn_refresher(runtime);
        }
    }

    /// The caller a verified client certificate identifies, decided once
    /// per connection. `None` when mTLS is not configured or the client
    /// sent no certificate.
    pub(crate) fn identify_certificate(
        &self,
        certificate: Option<&CertificateDer<'_>>,
    ) -> Option<Result<CallerInfo, AuthError>> {
        let (mtls, certificate) = (self.mtls.as_ref()?, certificate?);
        Some(
            mtls.identify(certificate)
                .map(|p| caller(&p, AuthMethod::Mtls)),
        )
    }

    /// The caller the request's credentials identify: `Ok(None)` when it
    /// carries none.
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        certificate: Option<&Result<CallerInfo, AuthError>>,
    ) -> Result<Option<CallerInfo>, AuthFailure> {
        let bearer = headers.get(header::AUTHORIZATION);
        let api_key = headers.get(&self.api_key_header);
        match (bearer, api_key) {
            (Some(_), Some(_)) => Err(AuthFailure::Refused(
                "send one credential: a bearer token or an API key, not both",
            )),
            (Some(value), None) => {
                let Some(jwt) = &self.jwt else {
                    return Err(AuthFailure::Refused("bearer tokens are not accepted here"));
                };
                let token = bearer_token(value).ok_or(AuthFailure::Refused(
                    "the Authorization header must be `Bearer <token>`",
                ))?;
                let principal = jwt.verify(token, SystemTime::now()).await?;
                Ok(Some(caller(&principal, AuthMethod::Jwt)))
            }
            (None, Some(value)) => {
                let Some(keys) = &self.api_keys else {
                    return Err(AuthFailure::Refused("API keys are not accepted here"));
                };
                let key = value
                    .to_str()
                    .map_err(|_| AuthFailure::Refused("the API key is not valid"))?;
                Ok(Some(caller(&keys.verify(key)?, AuthMethod::ApiKey)))
            }
            (None, None) => match certificate {
                Some(Ok(caller)) => Ok(Some(caller.clone())),
                Some(Err(error)) => Err(AuthFailure::Invalid(error.clone())),
                None => Ok(None),
            },
        }
    }
}

/// Why credentials were not accepted.
enum AuthFailure {
    /// The verifier refused them (or could not check them).
    Invalid(AuthError),
    /// They are not of a form this gateway takes.
    Refused(&'static str),
}

impl From<AuthError> for AuthFailure {
    fn from(error: AuthError) -> Self {
        Self::Invalid(error)
    }
}

impl AuthFailure {
    fn into_error(self, challenge: HeaderValue) -> GatewayError {
        match self {
            Self::Invalid(error) if error.is_unavailable() => GatewayError::KeyServerUnavailable,
            Self::Invalid(error) => GatewayError::Unauthenticated {
                reason: reason(&error),
                challenge,
            },
            Self::Refused(reason) => GatewayError::Unauthenticated { reason, challenge },
        }
    }
}

/// What a client is told about refused credentials: enough to fix an
/// honest mistake, nothing about the token's content or our keys.
fn reason(error: &AuthError) -> &'static str {
    match error.code() {
        "expired" => "the token has expired",
        "not_yet_valid" | "issued_in_future" => "the token is not valid yet",
        "wrong_audience" => "the token is not meant for this gateway",
        "too_large" => "the credential is too large",
        "invalid_api_key" => "the API key is not valid",
        "unknown_client" => "the client certificate is not registered",
        _ => "the token is not valid",
    }
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn caller(principal: &Principal, method: AuthMethod) -> CallerInfo {
    CallerInfo::new(
        principal.subject.as_str(),
        principal.roles.clone(),
        method,
        principal.purpose.clone(),
    )
}

fn issuer_config(issuer: &JwtIssuer) -> Result<IssuerConfig, String> {
    let name = &issuer.issuer;
    let keys = if let Some(url) = &issuer.jwks_url {
        let mut jwks = JwksConfig::new(url.as_str());
        jwks.refresh_every = issuer.jwks_refresh.get();
        jwks.unknown_kid_cooldown = issuer.jwks_cooldown.get();
        jwks.max_stale = issuer.jwks_max_stale.get();
        KeySource::Jwks(jwks)
    } else if let Some(file) = &issuer.hmac_secret_file {
        let secret = std::fs::read(file)
            .map_err(|e| format!("issuer {name}: cannot read {}: {e}", file.display()))?;
        KeySource::Hmac(Secret::new(trim_line_end(secret)))
    } else {
        let mut keys = Vec::new();
        for file in issuer.public_keys.iter().flatten() {
            let pem = std::fs::read_to_string(file)
                .map_err(|e| format!("issuer {name}: cannot read {}: {e}", file.display()))?;
            keys.push(StaticKey::Pem {
                kid: None,
                pem,
                algorithm: None,
            });
        }
        KeySource::Static(keys)
    };
    let mut config = IssuerConfig::new(name.clone(), issuer.audiences.clone(), keys);
    config.algorithms = match &issuer.algorithms {
        Some(listed) => listed
            .iter()
            .map(|a| a.as_str().parse())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("issuer {name}: {e}"))?,
        None => Vec::new(),
    };
    config.leeway = issuer.leeway.get();
    config.subject_claim = ClaimPath::parse(&issuer.subject_claim);
    config.roles_claim = ClaimPath::parse(&issuer.roles_claim);
    config.purpose_claim = issuer.purpose_claim.as_deref().map(ClaimPath::parse);
    config.attribute_claims = issuer
        .attribute_claims
        .iter()
        .map(|c| ClaimPath::parse(c))
        .collect();
    config.max_token_bytes = usize::try_from(issuer.max_token_bytes.bytes()).unwrap_or(usize::MAX);
    Ok(config)
}

/// A secret file's content without the line end an editor adds.
fn trim_line_end(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}

fn mtls_config(mtls: &maskgate_config::Mtls) -> MtlsConfig {
    let source = match mtls.subject_from {
        maskgate_config::SubjectSource::SanDns => SubjectSource::DnsSan,
        maskgate_config::SubjectSource::Cn => SubjectSource::CommonName,
        _ => SubjectSource::UriSan,
    };
    let roles: BTreeMap<String, Vec<String>> = mtls
        .clients
        .iter()
        .map(|client| {
            let mut roles = mtls.default_roles.clone();
            roles.extend(client.roles.iter().cloned());
            (client.subject.clone(), roles)
        })
        .collect();
    let mut config = MtlsConfig::new(roles);
    config.sources = vec![source];
    config.default_roles = (!mtls.default_roles.is_empty()).then(|| mtls.default_roles.clone());
    config
}

/// Authenticates requests; see the module docs. One per connection: it
/// carries the connection's client-certificate identity.
#[derive(Clone)]
pub(crate) struct AuthenticateLayer {
    authentication: Option<Arc<Authentication>>,
    certificate: Option<Arc<Result<CallerInfo, AuthError>>>,
}

impl AuthenticateLayer {
    pub(crate) fn new(
        authentication: Option<Arc<Authentication>>,
        certificate: Option<Arc<Result<CallerInfo, AuthError>>>,
    ) -> Self {
        Self {
            authentication,
            certificate,
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthenticateLayer`] makes.
#[derive(Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    layer: AuthenticateLayer,
}

impl<S, ReqB> Service<Request<ReqB>> for Authenticate<S>
where
    S: Service<Request<ReqB>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    ReqB: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        // The clone that was made ready serves this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(authentication) = self.layer.authentication.clone() else {
            return Box::pin(inner.call(request));
        };
        let certificate = self.layer.certificate.clone();
        Box::pin(async move {
            let outcome = authentication
                .authenticate(request.headers(), certificate.as_deref())
                .await;
            match outcome {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Ok(None) => inner.call(request).await,
                Err(failure) => {
                    let challenge = request
                        .extensions()
                        .get::<RoutedProduct>()
                        .and_then(|p| p.0.access.as_ref())
                        .map_or_else(
                            || HeaderValue::from_static("Bearer realm=\"maskgate\""),
                            |access| access.challenge().clone(),
                        );
                    let id = request.extensions().get::<RequestId>().map(|id| &id.0);
                    Ok(failure.into_error(challenge).into_response(id))
                }
            }
        })
    }
}
