//! A tiny ES256 token signer for tests (ring), its public key as a JWK and
//! as a PEM file, and the claims the tests start from.
//!
//! Test tooling only: the attack suite's tokens are forged by third-party
//! libraries instead (`tests/forge/`), so that this signer cannot hide a
//! bug in the verifier.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    rand::{SecureRandom, SystemRandom},
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use serde_json::{Value, json};

/// The issuer (`iss`) the JWT tests configure.
pub const ISSUER: &str = "https://idp.test.invalid";
/// The audience (`aud`) the JWT tests configure.
pub const AUDIENCE: &str = "maskgate";

/// An ES256 (P-256) signing key with a key id.
pub struct Es256Key {
    key: EcdsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl Es256Key {
    /// A fresh key pair named `kid`.
    pub fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("load the generated key");
        Self {
            key,
            kid: kid.to_owned(),
            rng,
        }
    }

    /// The public key as a JWK (`kty` EC, `crv` P-256, with `kid`, `alg`
    /// and `use`).
    pub fn jwk(&self) -> Value {
        // An uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
        let point = self.key.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// The public key as a `BEGIN PUBLIC KEY` PEM (SubjectPublicKeyInfo),
    /// for `public_keys`.
    pub fn public_pem(&self) -> String {
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING }:
        // the fixed DER prefix of every P-256 SubjectPublicKeyInfo.
        const PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(self.key.public_key().as_ref());
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    /// A token with these claims, its header naming this key's id.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// A token with these claims, signed by this key but naming `kid`.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": "ES256", "typ": "JWT", "kid": kid}), claims)
    }

    /// A token with this exact header and these claims.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, input.as_bytes())
            .expect("sign the token");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// A JWKS document holding these keys' public halves.
pub fn jwks(keys: &[&Es256Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// Claims of a token valid for ten minutes from [`ISSUER`] for
/// [`AUDIENCE`], with subject `sub` and `roles`; change fields with
/// [`with`].
pub fn claims(sub: &str, roles: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

/// `claims` with `changes` (an object) merged over it; a `null` value
/// removes the claim.
pub fn with(mut claims: Value, changes: Value) -> Value {
    let object = claims.as_object_mut().expect("claims are an object");
    for (name, value) in changes.as_object().expect("changes are an object") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    claims
}

/// A random key id no JWKS holds: 16 random bytes, base64url.
pub fn random_kid(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}
