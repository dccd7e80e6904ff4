//! Credential verification per second (`maskgate-authn`): JWT bearer tokens
//! per algorithm, cold and cached, and API keys.
//!
//! - `jwt_verify/ALG/cold`: [`Verifier::verify`] with the token cache
//!   disabled, so every call does the whole work: length check, SHA-256 of
//!   the token, base64url and JSON of header and payload, key selection, the
//!   signature, the claims and the [`Principal`](maskgate_authn::Principal).
//! - `jwt_verify/ALG/cached`: the same token through a verifier whose cache
//!   already holds it (what a client re-using its token costs): SHA-256 of the
//!   token, one shard lock, a clone of the cached principal.
//! - `api_key_verify/*`: [`ApiKeys::verify`] for a valid key, a wrong secret
//!   and an unknown id (the last two must cost the same as the first).
//!
//! Every verifier has one issuer with one static key (a JWK, or an HMAC
//! secret for HS256): no JWKS, no network. Keys are generated when the bench
//! starts: RSA (2048 bits) with the `openssl` command line, which ring cannot
//! do, EC and Ed25519 with ring. Tokens are signed here with ring; this
//! signer is bench tooling and has no place in the authn crate.
//!
//! The verifier is async (a JWKS issuer may have to fetch); a static-key
//! issuer never waits, so the bench drives it on a current-thread tokio
//! runtime, one `block_on` around each timing loop.
//!
//! `cargo bench -p maskgate-benches --bench jwt_verify`; figures and the
//! machine they came from are in `benches/README.md`.

use std::{
    process::Command,
    time::{Duration, UNIX_EPOCH},
};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maskgate_authn::{
    Algorithm, ApiKeyEntry, ApiKeys, IssuerConfig, KeySource, Secret, StaticKey, TokenCacheConfig,
    Verifier, VerifierConfig,
};
use ring::{
    rand::{SecureRandom as _, SystemRandom},
    signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair},
};
use serde_json::json;

const ISS: &str = "https://idp.example";
const AUD: &str = "maskgate";
/// The verification time: fixed, so that the tokens stay valid and cached
/// entries never expire however long the bench runs.
const NOW: u64 = 1_700_000_000;

/// The algorithms measured: one of each key type, and PSS beside PKCS#1 v1.5
/// (the 384/512 variants of RSA only change the hash).
const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::Es256,
    Algorithm::Es384,
    Algorithm::EdDsa,
    Algorithm::Hs256,
];

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- signer

/// A private key and the algorithm it signs with.
enum Signer {
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

impl Signer {
    fn generate(alg: Algorithm, rsa_pkcs8: &[u8]) -> Self {
        let rng = SystemRandom::new();
        let ec = |curve: &'static signature::EcdsaSigningAlgorithm| {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve, &rng).expect("EC key generation");
            Signer::Ec(EcdsaKeyPair::from_pkcs8(curve, pkcs8.as_ref(), &rng).expect("EC key"))
        };
        let rsa = |encoding| {
            Signer::Rsa(
                RsaKeyPair::from_pkcs8(rsa_pkcs8).expect("openssl wrote an RSA PKCS#8 key"),
                encoding,
            )
        };
        match alg {
            Algorithm::Rs256 => rsa(&signature::RSA_PKCS1_SHA256),
            Algorithm::Ps256 => rsa(&signature::RSA_PSS_SHA256),
            Algorithm::Es256 => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Algorithm::Es384 => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            Algorithm::EdDsa => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key generation");
                Signer::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key"))
            }
            Algorithm::Hs256 => {
                let mut secret = vec![0; 32];
                rng.fill(&mut secret).expect("random HMAC secret");
                Signer::Hmac(secret)
            }
            other => panic!("{other} is not benchmarked"),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(kp, encoding) => {
                let mut sig = vec![0; kp.public().modulus_len()];
                kp.sign(*encoding, &rng, message, &mut sig)
                    .expect("RSA signing");
                sig
            }
            Signer::Ec(kp) => kp
                .sign(&rng, message)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Signer::Ed(kp) => kp.sign(message).as_ref().to_vec(),
            Signer::Hmac(secret) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
                ring::hmac::sign(&key, message).as_ref().to_vec()
            }
        }
    }

    /// The verifier's side: a public JWK naming `kid` and `alg`, or the
    /// shared secret.
    fn key_source(&self, kid: &str, alg: Algorithm) -> KeySource {
        let mut jwk = match self {
            Signer::Rsa(kp, _) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
                json!({"kty": "RSA", "n": b64url(&c.n), "e": b64url(&c.e)})
            }
            Signer::Ec(kp) => {
                // Uncompressed point: 0x04 || x || y.
                let point = kp.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC", "crv": crv,
                    "x": b64url(&point[1..1 + len]), "y": b64url(&point[1 + len..]),
                })
            }
            Signer::Ed(kp) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(kp.public_key().as_ref())})
            }
            Signer::Hmac(secret) => return KeySource::Hmac(Secret::new(secret.clone())),
        };
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        KeySource::Static(vec![StaticKey::Jwk(jwk.to_string())])
    }

    /// A token as an identity provider would issue it: `kid` in the header
    /// (not for HS256, whose one secret has none), the usual claims.
    fn token(&self, kid: &str, alg: Algorithm) -> String {
        let mut header = json!({"alg": alg.as_str(), "typ": "JWT"});
        if !matches!(self, Signer::Hmac(_)) {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": ISS,
            "aud": AUD,
            "sub": "alice@example.com",
            "iat": NOW - 60,
            "exp": NOW + 3600,
            "roles": ["analyst", "support"],
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&signature))
    }
}

/// One 2048-bit RSA key, PKCS#8 DER, made by `openssl genpkey`.
fn rsa_pkcs8() -> Vec<u8> {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect(
            "this bench generates its RSA key with the `openssl` command, which must be installed",
        );
    assert!(out.status.success(), "openssl genpkey failed: {out:?}");
    // `genpkey` writes PKCS#8 as PEM (`BEGIN PRIVATE KEY`).
    let pem = String::from_utf8(out.stdout).expect("PEM is ASCII");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

fn verifier(keys: KeySource, cache: TokenCacheConfig) -> Verifier {
    let mut config = VerifierConfig::new(vec![IssuerConfig::new(ISS, vec![AUD.into()], keys)]);
    config.token_cache = cache;
    Verifier::new(config, None).expect("a valid verifier configuration")
}

// ---------------------------------------------------------------- benches

fn jwt_verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime");
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let rsa = rsa_pkcs8();

    for alg in ALGORITHMS {
        let signer = Signer::generate(alg, &rsa);
        let kid = format!("bench-{}", alg.as_str().to_ascii_lowercase());
        let token = signer.token(&kid, alg);
        let cold = verifier(
            signer.key_source(&kid, alg),
            TokenCacheConfig::new(0, Duration::ZERO),
        );
        let cached = verifier(signer.key_source(&kid, alg), TokenCacheConfig::default());
        // Measure successes only: a bench of the error path would look fast.
        // The first call on `cached` also fills its cache.
        for v in [&cold, &cached] {
            let principal = rt
                .block_on(v.verify(&token, now))
                .unwrap_or_else(|e| panic!("{alg} token refused: {e}"));
            assert_eq!(principal.subject, "alice@example.com");
        }

        let mut group = c.benchmark_group(format!("jwt_verify/{alg}"));
        group.throughput(Throughput::Elements(1));
        for (name, v) in [("cold", &cold), ("cached", &cached)] {
            let token = token.as_str();
            group.bench_function(name, |b| {
                b.to_async(&rt).iter(move || v.verify(token, now));
            });
        }
        group.finish();
    }
}

fn api_key_verify(c: &mut Criterion) {
    let (key, hash) = ApiKeys::generate("reporting").expect("a valid id");
    let keys = ApiKeys::new([ApiKeyEntry::new(
        "reporting",
        ApiKeys::parse_hash(&hash).expect("a hash from generate"),
        "reporting-service",
        vec!["analyst".into()],
    )])
    .expect("a valid entry");
    let valid = key.expose_str().expect("API keys are text").to_owned();
    // Same length as the valid key, so every case hashes the same amount.
    let wrong_secret = format!("{}A", &valid[..valid.len() - 1]);
    let wrong_secret = if wrong_secret == valid {
        format!("{}B", &valid[..valid.len() - 1])
    } else {
        wrong_secret
    };
    let unknown_id = valid.replacen("reporting", "reportinx", 1);
    assert!(keys.verify(&valid).is_ok());
    assert!(keys.verify(&wrong_secret).is_err());
    assert!(keys.verify(&unknown_id).is_err());

    let mut group = c.benchmark_group("api_key_verify");
    group.throughput(Throughput::Elements(1));
    for (name, presented) in [
        ("valid", &valid),
        ("wrong_secret", &wrong_secret),
        ("unknown_id", &unknown_id),
    ] {
        group.bench_function(name, |b| b.iter(|| keys.verify(presented)));
    }
    group.finish();
}

criterion_group!(benches, jwt_verify, api_key_verify);
criterion_main!(benches);
