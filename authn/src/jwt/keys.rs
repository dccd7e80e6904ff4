//! Verification keys: loaded from a JWK, a PEM public key or an HMAC secret,
//! each with the algorithms it is for fixed at load time.

use std::{fmt, time::SystemTime};

use ring::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use rustls_pki_types::{SubjectPublicKeyInfoDer, pem::PemObject};
use serde::Deserialize;
use serde_json::Value;
use x509_parser::{
    oid_registry::{
        OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
        OID_SIG_ED25519,
    },
    prelude::FromDer,
    public_key::PublicKey,
    x509::SubjectPublicKeyInfo,
};

use super::{Algorithm, jose::Header};
use crate::{AuthError, Secret, encoding::b64url_decode, encoding::sha256};

/// The smallest RSA modulus accepted, in bits.
const RSA_MIN_BITS: usize = 2048;
/// The largest RSA modulus ring verifies with, in bits.
const RSA_MAX_BITS: usize = 8192;
/// The shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size).
pub(crate) const HMAC_MIN_BYTES: usize = 32;

/// A key that can verify signatures, and the algorithms it verifies.
pub(crate) struct VerifyingKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    material: Material,
    /// Identifies the key (material, algorithms, kid) for the token cache.
    fingerprint: [u8; 32],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

enum Material {
    Rsa { n: Box<[u8]>, e: Box<[u8]> },
    Ec { curve: Curve, point: Box<[u8]> },
    Ed25519(Box<[u8]>),
    Hmac(ring::hmac::Key),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec {
                curve: Curve::P256, ..
            } => "EC P-256",
            Material::Ec {
                curve: Curve::P384, ..
            } => "EC P-384",
            Material::Ed25519(_) => "OKP Ed25519",
            Material::Hmac(_) => "HMAC [redacted]",
        };
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kind", &kind)
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

impl VerifyingKey {
    fn new(kid: Option<String>, algorithms: Vec<Algorithm>, material: Material, id: &[u8]) -> Self {
        let mut fp = Vec::with_capacity(id.len() + 64);
        fp.extend_from_slice(id);
        for a in &algorithms {
            fp.push(b'|');
            fp.extend_from_slice(a.as_str().as_bytes());
        }
        if let Some(kid) = &kid {
            fp.push(b'#');
            fp.extend_from_slice(kid.as_bytes());
        }
        Self {
            fingerprint: sha256(&fp),
            kid,
            algorithms,
            material,
        }
    }

    /// An HS256 key from a shared secret.
    pub(crate) fn hmac(secret: &Secret) -> Result<Self, String> {
        if secret.len() < HMAC_MIN_BYTES {
            return Err(format!(
                "an HMAC secret must be at least {HMAC_MIN_BYTES} bytes"
            ));
        }
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose());
        // The fingerprint of a secret is itself a keyed value: domain-separate
        // it, and keep it in memory only.
        let mut id = b"maskgate-authn hmac fingerprint ".to_vec();
        id.extend_from_slice(secret.expose());
        let k = Self::new(
            None,
            vec![Algorithm::Hs256],
            Material::Hmac(key),
            &sha256(&id),
        );
        zeroize::Zeroize::zeroize(&mut id);
        Ok(k)
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    pub(crate) fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Verifies `signature` over `message` with `alg`, which must be one of
    /// this key's algorithms.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AuthError> {
        if !self.algorithms.contains(&alg) {
            return Err(AuthError::AlgorithmMismatch);
        }
        let verified = match (&self.material, alg) {
            (Material::Rsa { n, e }, alg) => {
                let params: &signature::RsaParameters = match alg {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Algorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return Err(AuthError::AlgorithmMismatch),
                };
                RsaPublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                }
                .verify(params, message, signature)
            }
            (
                Material::Ec {
                    curve: Curve::P256,
                    point,
                },
                Algorithm::Es256,
            ) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature),
            (
                Material::Ec {
                    curve: Curve::P384,
                    point,
                },
                Algorithm::Es384,
            ) => UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point).verify(message, signature),
            (Material::Ed25519(public), Algorithm::EdDsa) => {
                UnparsedPublicKey::new(&ED25519, public).verify(message, signature)
            }
            (Material::Hmac(key), Algorithm::Hs256) => ring::hmac::verify(key, message, signature),
            _ => return Err(AuthError::AlgorithmMismatch),
        };
        verified.map_err(|_| AuthError::BadSignature)
    }
}

/// An issuer's keys, as loaded at one time.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerifyingKey>,
    /// When these keys were fetched (static keys: when they were loaded).
    pub(crate) fetched_at: SystemTime,
}

impl KeySet {
    /// The key for this token header.
    ///
    /// With a `kid`, the keys with that `kid`; without one, or when no key has
    /// it, the issuer's only key if it has exactly one and that key has no
    /// `kid` of its own (a token without `kid` may also use a lone key that has
    /// one). Among several keys with the same `kid`, the one whose algorithms
    /// include the header's `alg`.
    pub(crate) fn select(&self, header: &Header) -> Result<&VerifyingKey, AuthError> {
        let lone = match self.keys.as_slice() {
            [only] => Some(only),
            _ => None,
        };
        let mut found_kid = false;
        if let Some(kid) = &header.kid {
            for key in self.keys.iter().filter(|k| k.kid() == Some(kid.as_str())) {
                found_kid = true;
                if key.algorithms().contains(&header.alg) {
                    return Ok(key);
                }
            }
            if found_kid {
                return Err(AuthError::AlgorithmMismatch);
            }
            return match lone {
                Some(key) if key.kid().is_none() => Ok(key),
                _ => Err(AuthError::UnknownKey),
            };
        }
        lone.ok_or(AuthError::UnknownKey)
    }

    /// Whether a key with this fingerprint is in the set.
    pub(crate) fn contains(&self, fingerprint: &[u8; 32]) -> bool {
        self.keys.iter().any(|k| k.fingerprint() == fingerprint)
    }
}

/// Where a key comes from: a few rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Configured,
    Jwks,
}

/// The JWK members this crate reads (RFC 7517 §4, RFC 7518 §6).
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    /// Private key material (RSA, EC, OKP): present means refuse.
    #[serde(default)]
    d: Option<Value>,
}

/// Loads a JWK. `allowed` is the issuer's algorithm allow-list (empty: each
/// key's own). The error is a reason fit for a log or a configuration error:
/// it never contains key material.
pub(crate) fn from_jwk(
    value: &Value,
    allowed: &[Algorithm],
    origin: Origin,
) -> Result<VerifyingKey, String> {
    let jwk = Jwk::deserialize(value).map_err(|_| "not a valid JWK".to_owned())?;
    if let Some(use_) = &jwk.use_
        && use_ != "sig"
    {
        return Err("not a signature key (`use` is not `sig`)".into());
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Err("not a verification key (`key_ops` lacks `verify`)".into());
    }
    if jwk.d.is_some() {
        return Err("the JWK holds private key material; give the public key only".into());
    }
    let jwk_alg = match &jwk.alg {
        None => None,
        Some(name) => Some(
            Algorithm::from_jose(name)
                .ok_or_else(|| "the JWK's `alg` is not a supported algorithm".to_owned())?,
        ),
    };
    let b64 = |field: &Option<String>, name: &str| -> Result<Vec<u8>, String> {
        let text = field
            .as_deref()
            .ok_or_else(|| format!("the JWK lacks `{name}`"))?;
        b64url_decode(text.as_bytes()).ok_or_else(|| format!("the JWK's `{name}` is not base64url"))
    };
    match jwk.kty.as_str() {
        "RSA" => rsa_key(
            jwk.kid,
            &b64(&jwk.n, "n")?,
            &b64(&jwk.e, "e")?,
            jwk_alg,
            allowed,
        ),
        "EC" => {
            let curve = match jwk.crv.as_deref() {
                Some("P-256") => Curve::P256,
                Some("P-384") => Curve::P384,
                _ => return Err("unsupported EC curve (P-256 and P-384 are)".into()),
            };
            let (x, y) = (b64(&jwk.x, "x")?, b64(&jwk.y, "y")?);
            let len = curve_len(curve);
            if x.len() != len || y.len() != len {
                return Err("the EC coordinates have the wrong length".into());
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_key(jwk.kid, curve, point, jwk_alg, allowed)
        }
        "OKP" => {
            if jwk.crv.as_deref() != Some("Ed25519") {
                return Err("unsupported OKP curve (Ed25519 is)".into());
            }
            ed25519_key(jwk.kid, b64(&jwk.x, "x")?, jwk_alg, allowed)
        }
        "oct" => Err(match origin {
            Origin::Jwks => "symmetric keys are not accepted from a JWKS".into(),
            Origin::Configured => {
                "symmetric keys are configured as an HMAC secret, not a JWK".into()
            }
        }),
        _ => Err("unsupported key type (RSA, EC and OKP are)".into()),
    }
}

/// Loads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
pub(crate) fn from_pem(
    kid: Option<String>,
    pem: &str,
    alg: Option<Algorithm>,
    allowed: &[Algorithm],
) -> Result<VerifyingKey, String> {
    let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "not a PEM `PUBLIC KEY`".to_owned())?;
    let (rest, spki) = SubjectPublicKeyInfo::from_der(der.as_ref())
        .map_err(|_| "not a valid SubjectPublicKeyInfo".to_owned())?;
    if !rest.is_empty() {
        return Err("trailing data after the SubjectPublicKeyInfo".into());
    }
    let oid = &spki.algorithm.algorithm;
    if *oid == OID_PKCS1_RSAENCRYPTION {
        let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
            return Err("not a valid RSA public key".into());
        };
        rsa_key(kid, rsa.modulus, rsa.exponent, alg, allowed)
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        let curve = match curve_oid {
            Some(c) if c == OID_EC_P256 => Curve::P256,
            Some(c) if c == OID_NIST_EC_P384 => Curve::P384,
            _ => return Err("unsupported EC curve (P-256 and P-384 are)".into()),
        };
        let point = spki.subject_public_key.data.to_vec();
        if point.len() != 1 + 2 * curve_len(curve) || point[0] != 0x04 {
            return Err("the EC point is not an uncompressed point of its curve".into());
        }
        ec_key(kid, curve, point, alg, allowed)
    } else if *oid == OID_SIG_ED25519 {
        ed25519_key(kid, spki.subject_public_key.data.to_vec(), alg, allowed)
    } else {
        Err("unsupported key type (RSA, EC P-256 / P-384 and Ed25519 are)".into())
    }
}

fn curve_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
    }
}

/// Strips leading zero bytes of a big-endian unsigned integer.
fn unsigned(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn rsa_key(
    kid: Option<String>,
    n: &[u8],
    e: &[u8],
    alg: Option<Algorithm>,
    allowed: &[Algorithm],
) -> Result<VerifyingKey, String> {
    let n = unsigned(n);
    let bits = match n.first() {
        Some(&first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if bits < RSA_MIN_BITS {
        return Err(format!(
            "the RSA modulus has {bits} bits; at least {RSA_MIN_BITS} are required"
        ));
    }
    if bits > RSA_MAX_BITS {
        return Err(format!(
            "the RSA modulus has {bits} bits; at most {RSA_MAX_BITS} are supported"
        ));
    }
    let e = unsigned(e);
    let exponent = (e.len() <= 8).then(|| e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)));
    // ring accepts odd exponents from 3 to 2^33 - 1.
    match exponent {
        Some(v) if v >= 3 && v % 2 == 1 && v < (1 << 33) => {}
        _ => return Err("the RSA public exponent is not usable".into()),
    }
    let algorithms = match alg {
        Some(a) if a.is_rsa() => vec![a],
        Some(_) => return Err("the key's `alg` is not an RSA algorithm".into()),
        None => {
            let listed: Vec<Algorithm> = allowed.iter().copied().filter(|a| a.is_rsa()).collect();
            if listed.is_empty() {
                vec![Algorithm::Rs256]
            } else {
                listed
            }
        }
    };
    let algorithms = restrict(algorithms, allowed)?;
    let mut id = b"RSA|".to_vec();
    id.extend_from_slice(n);
    id.push(b'|');
    id.extend_from_slice(e);
    Ok(VerifyingKey::new(
        kid,
        algorithms,
        Material::Rsa {
            n: n.into(),
            e: e.into(),
        },
        &id,
    ))
}

fn ec_key(
    kid: Option<String>,
    curve: Curve,
    point: Vec<u8>,
    alg: Option<Algorithm>,
    allowed: &[Algorithm],
) -> Result<VerifyingKey, String> {
    let implied = match curve {
        Curve::P256 => Algorithm::Es256,
        Curve::P384 => Algorithm::Es384,
    };
    if alg.is_some_and(|a| a != implied) {
        return Err(format!(
            "the key's `alg` does not fit its curve ({implied})"
        ));
    }
    let algorithms = restrict(vec![implied], allowed)?;
    let mut id = b"EC|".to_vec();
    id.extend_from_slice(&point);
    Ok(VerifyingKey::new(
        kid,
        algorithms,
        Material::Ec {
            curve,
            point: point.into(),
        },
        &id,
    ))
}

fn ed25519_key(
    kid: Option<String>,
    public: Vec<u8>,
    alg: Option<Algorithm>,
    allowed: &[Algorithm],
) -> Result<VerifyingKey, String> {
    if public.len() != signature::ED25519_PUBLIC_KEY_LEN {
        return Err("an Ed25519 public key is 32 bytes".into());
    }
    if alg.is_some_and(|a| a != Algorithm::EdDsa) {
        return Err("the key's `alg` does not fit an Ed25519 key (EdDSA)".into());
    }
    let algorithms = restrict(vec![Algorithm::EdDsa], allowed)?;
    let mut id = b"Ed25519|".to_vec();
    id.extend_from_slice(&public);
    Ok(VerifyingKey::new(
        kid,
        algorithms,
        Material::Ed25519(public.into()),
        &id,
    ))
}

/// Keeps the algorithms the issuer allows (all, when it lists none).
fn restrict(algorithms: Vec<Algorithm>, allowed: &[Algorithm]) -> Result<Vec<Algorithm>, String> {
    if allowed.is_empty() {
        return Ok(algorithms);
    }
    let kept: Vec<Algorithm> = algorithms
        .iter()
        .copied()
        .filter(|a| allowed.contains(a))
        .collect();
    if kept.is_empty() {
        let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
        return Err(format!(
            "the key is for {}, which the issuer's algorithms do not allow",
            names.join(", ")
        ));
    }
    Ok(kept)
}

/// Parses a JWKS document, keeping the keys this issuer can use. Returns the
/// keys and how many were ignored.
pub(crate) fn parse_jwks(
    bytes: &[u8],
    allowed: &[Algorithm],
) -> Result<(Vec<VerifyingKey>, usize), crate::JwksError> {
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<Value>,
    }
    let jwks: Jwks = serde_json::from_slice(bytes).map_err(|_| crate::JwksError::Malformed)?;
    let mut keys = Vec::new();
    let mut ignored = 0;
    for (index, value) in jwks.keys.iter().enumerate() {
        match from_jwk(value, allowed, Origin::Jwks) {
            Ok(key) => keys.push(key),
            Err(reason) => {
                ignored += 1;
                tracing::debug!(index, %reason, "JWKS key ignored");
            }
        }
    }
    if keys.is_empty() {
        return Err(crate::JwksError::NoUsableKey { ignored });
    }
    Ok((keys, ignored))
}
