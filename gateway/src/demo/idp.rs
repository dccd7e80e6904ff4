//! The demo's identity provider: an ES256 signing key, a JWKS served over
//! HTTPS on loopback, and short-lived tokens for the demo roles.
//!
//! A real deployment points `[[authn.jwt]]` at its own IdP; this one exists
//! so that `maskgate demo` shows authentication working with nothing to
//! install. Its signing key is written into the demo directory (demo only!)
//! so that `maskgate demo token` can mint fresh tokens later.

use std::{
    convert::Infallible,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The issuer (`iss`) of demo tokens.
pub(crate) const ISSUER: &str = "https://idp.maskgate-demo.invalid";
/// The audience (`aud`) of demo tokens.
pub(crate) const AUDIENCE: &str = "maskgate";
/// Where the JWKS is served.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A demo role: who holds it, for the tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoRole {
    /// The role name, as policies use it.
    pub(crate) role: &'static str,
    /// The subject of its tokens.
    pub(crate) subject: &'static str,
}

/// The roles `maskgate demo` mints tokens for.
pub(crate) const DEMO_ROLES: [DemoRole; 3] = [
    DemoRole {
        role: "support",
        subject: "sam.support@corp.example",
    },
    DemoRole {
        role: "analyst",
        subject: "ana.analyst@corp.example",
    },
    DemoRole {
        role: "fraud",
        subject: "fred.fraud@corp.example",
    },
];

/// The demo role names, for the command line.
pub(crate) fn role_names() -> [&'static str; 3] {
    DEMO_ROLES.map(|r| r.role)
}

/// The demo IdP's signing key.
pub(crate) struct DemoIdp {
    key: EcdsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for DemoIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoIdp")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DemoIdp {
    /// A new key pair, written as PKCS#8 PEM to `key_file` (mode 0600).
    pub(crate) fn generate(key_file: &Path) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot generate the demo IdP key".to_owned())?;
        let pem = pem_encode("PRIVATE KEY", pkcs8.as_ref());
        write_private(key_file, pem.as_bytes())?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// The key pair `generate` wrote to `key_file`.
    pub(crate) fn load(key_file: &Path) -> Result<Self, String> {
        let der = match PrivateKeyDer::from_pem_file(key_file) {
            Ok(PrivateKeyDer::Pkcs8(der)) => der,
            Ok(_) => return Err(format!("{} is not a PKCS#8 key", key_file.display())),
            Err(e) => {
                return Err(format!(
                    "cannot read the demo IdP key {} ({e}); run `maskgate demo` first",
                    key_file.display()
                ));
            }
        };
        Self::from_pkcs8(PrivatePkcs8KeyDer::secret_pkcs8_der(&der))
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| "the demo IdP key is not a P-256 key".to_owned())?;
        // The key id: a thumbprint-like digest of the public key.
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Ok(Self { key, kid, rng })
    }

    /// The JWKS document holding the public key.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        // An uncompressed P-256 point: 0x04 || x (32) || y (32).
        let point = self.key.public_key().as_ref();
        json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]})
    }

    /// A signed token for `role`, valid for `ttl` from now.
    pub(crate) fn mint(&self, role: &DemoRole, ttl: Duration) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the clock is before 1970".to_owned())?
            .as_secs();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let claims = json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": role.subject,
            "roles": [role.role],
            "iat": now,
            "nbf": now,
            "exp": now + ttl.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| "signing failed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// Serves the JWKS over TLS on `listener` until `shutdown` resolves.
pub(crate) async fn serve_jwks(
    idp: Arc<DemoIdp>,
    listener: TcpListener,
    tls: TlsAcceptor,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let body = bytes::Bytes::from(idp.jwks().to_string());
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let tls = tls.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request: http::Request<_>| {
                let response = if request.uri().path() == JWKS_PATH {
                    let mut response = Response::new(Full::new(body.clone()));
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    response
                } else {
                    let mut response = Response::new(Full::new(bytes::Bytes::new()));
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    response
                };
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// Writes a file only its owner can read.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    #[test]
    fn minted_tokens_verify_against_the_published_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("idp.key");
        let idp = DemoIdp::generate(&key_file).unwrap();
        let token = idp.mint(&DEMO_ROLES[2], Duration::from_secs(600)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);

        let jwk = &idp.jwks()["keys"][0];
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies");

        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["roles"], json!(["fraud"]));
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            600
        );

        // The key written to disk mints tokens under the same key id.
        let reloaded = DemoIdp::load(&key_file).unwrap();
        assert_eq!(reloaded.kid, idp.kid);
        let mode = std::fs::metadata(&key_file).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
