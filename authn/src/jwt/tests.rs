//! Verifier tests: tokens signed at test time with ring, keys generated at
//! test time (RSA with the `openssl` command line, which ring cannot do; EC and
//! Ed25519 with ring), JWKS served by a counting fake fetcher.

use std::{
    future::Future,
    pin::Pin,
    process::Command,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use ring::{
    rand::{SecureRandom, SystemRandom},
    signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair},
};
use serde_json::{Value, json};

use super::*;
use crate::{
    AuthError, FetchError, JwksError, Secret, SetupError,
    encoding::{b64url_encode, hex_encode},
};

const ISS: &str = "https://idp.example";
const AUD: &str = "maskgate";
const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn now() -> SystemTime {
    at(T0)
}

// ---------------------------------------------------------------- keys

/// One 2048-bit RSA key per test binary, made by `openssl genpkey` (PKCS#8).
fn rsa_pkcs8() -> &'static [u8] {
    use rustls_pki_types::{PrivatePkcs8KeyDer, pem::PemObject};
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        // The PEM output of `genpkey` is PKCS#8 (its DER output is PKCS#1).
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
                "the tests generate RSA keys with the `openssl` command, which must be installed",
            );
        assert!(out.status.success(), "openssl genpkey failed: {out:?}");
        PrivatePkcs8KeyDer::from_pem_slice(&out.stdout)
            .expect("openssl genpkey writes a PKCS#8 PEM")
            .secret_pkcs8_der()
            .to_vec()
    })
}

/// The public key PEM of a key made by `openssl genpkey ARGS`.
fn openssl_public_pem(args: &[&str]) -> String {
    use std::{io::Write, process::Stdio};
    let private = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl genpkey");
    assert!(private.status.success(), "{private:?}");
    let mut pkey = Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl pkey");
    pkey.stdin
        .take()
        .unwrap()
        .write_all(&private.stdout)
        .unwrap();
    let public = pkey.wait_with_output().unwrap();
    assert!(public.status.success(), "{public:?}");
    String::from_utf8(public.stdout).unwrap()
}

fn rsa() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(rsa_pkcs8()).unwrap()
}

fn ec(alg: &'static signature::EcdsaSigningAlgorithm) -> (EcdsaKeyPair, Vec<u8>) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    (kp, pkcs8.as_ref().to_vec())
}

fn ed() -> (Ed25519KeyPair, Vec<u8>) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    (kp, pkcs8.as_ref().to_vec())
}

/// The SubjectPublicKeyInfo PEM of a PKCS#8 private key (through rcgen).
fn public_pem(pkcs8: &[u8]) -> String {
    rcgen::KeyPair::try_from(pkcs8).unwrap().public_key_pem()
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

impl Signer {
    fn sign(&self, alg: Algorithm, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(kp) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_SHA384,
                    Algorithm::Ps512 => &signature::RSA_PSS_SHA512,
                    other => panic!("not an RSA algorithm: {other}"),
                };
                let mut sig = vec![0; kp.public().modulus_len()];
                kp.sign(padding, &rng, msg, &mut sig).unwrap();
                sig
            }
            Signer::Ec(kp) => kp.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Signer::Ed(kp) => kp.sign(msg).as_ref().to_vec(),
            Signer::Hmac(secret) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
                ring::hmac::sign(&key, msg).as_ref().to_vec()
            }
        }
    }

    /// The public JWK (no `alg` unless given).
    fn jwk(&self, kid: &str, alg: Option<Algorithm>) -> Value {
        let mut jwk = match self {
            Signer::Rsa(kp) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
                json!({"kty": "RSA", "n": b64url_encode(&c.n), "e": b64url_encode(&c.e)})
            }
            Signer::Ec(kp) => {
                let point = kp.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC", "crv": crv,
                    "x": b64url_encode(&point[1..1 + len]),
                    "y": b64url_encode(&point[1 + len..]),
                })
            }
            Signer::Ed(kp) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(kp.public_key().as_ref())})
            }
            Signer::Hmac(_) => panic!("no public JWK for an HMAC secret"),
        };
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        if let Some(alg) = alg {
            jwk["alg"] = json!(alg.as_str());
        }
        jwk
    }
}

// ---------------------------------------------------------------- tokens

fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "exp": T0 + 300,
        "iat": T0,
        "roles": ["analyst"],
    })
}

fn encode(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    )
}

/// A token with this header and claims, signed by `signer` with `alg`.
fn signed(signer: &Signer, alg: Algorithm, header: Value, claims: &Value) -> String {
    let input = encode(&header, claims);
    let sig = signer.sign(alg, input.as_bytes());
    format!("{input}.{}", b64url_encode(&sig))
}

/// A token with header `{"alg": alg, "kid": kid}`.
fn token(signer: &Signer, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": alg.as_str(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    signed(signer, alg, header, claims)
}

fn issuer(keys: KeySource) -> IssuerConfig {
    IssuerConfig::new(ISS, vec![AUD.to_owned()], keys)
}

fn verifier(issuers: Vec<IssuerConfig>) -> Verifier {
    Verifier::new(VerifierConfig::new(issuers), None).unwrap()
}

fn static_jwk(signer: &Signer, kid: &str, alg: Option<Algorithm>) -> KeySource {
    KeySource::Static(vec![StaticKey::Jwk(signer.jwk(kid, alg).to_string())])
}

// ---------------------------------------------------------------- algorithms

#[tokio::test]
async fn every_rsa_algorithm_verifies_with_a_jwk_that_names_it() {
    let signer = Signer::Rsa(rsa());
    for alg in [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
    ] {
        let v = verifier(vec![issuer(static_jwk(&signer, "k1", Some(alg)))]);
        let t = token(&signer, alg, Some("k1"), &claims());
        let p = v
            .verify(&t, now())
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(p.subject, "alice");
        assert_eq!(p.roles, ["analyst"]);
        assert_eq!(p.method, crate::AuthMethod::Jwt);
        assert_eq!(p.issuer.as_deref(), Some(ISS));
        assert_eq!(p.expires_at, Some(at(T0 + 300)));
    }
}

#[tokio::test]
async fn rsa_key_without_alg_follows_the_issuer_list_default_rs256() {
    let signer = Signer::Rsa(rsa());
    let v = verifier(vec![issuer(static_jwk(&signer, "k1", None))]);
    let rs256 = token(&signer, Algorithm::Rs256, Some("k1"), &claims());
    assert!(v.verify(&rs256, now()).await.is_ok());
    let ps256 = token(&signer, Algorithm::Ps256, Some("k1"), &claims());
    assert_eq!(
        v.verify(&ps256, now()).await,
        Err(AuthError::AlgorithmMismatch)
    );

    let mut both = issuer(static_jwk(&signer, "k1", None));
    both.algorithms = vec![Algorithm::Ps256, Algorithm::Rs512, Algorithm::Es256];
    let v = verifier(vec![both]);
    assert!(v.verify(&ps256, now()).await.is_ok());
    let rs512 = token(&signer, Algorithm::Rs512, Some("k1"), &claims());
    assert!(v.verify(&rs512, now()).await.is_ok());
    assert_eq!(
        v.verify(&rs256, now()).await,
        Err(AuthError::AlgorithmMismatch)
    );
}

#[tokio::test]
async fn ecdsa_and_eddsa_verify() {
    let (p256, _) = ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let (p384, _) = ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING);
    let (ed, _) = ed();
    for (signer, alg) in [
        (Signer::Ec(p256), Algorithm::Es256),
        (Signer::Ec(p384), Algorithm::Es384),
        (Signer::Ed(ed), Algorithm::EdDsa),
    ] {
        let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
        let t = token(&signer, alg, Some("k"), &claims());
        assert!(v.verify(&t, now()).await.is_ok(), "{alg}");
        // The same key under its explicit `alg` too.
        let v = verifier(vec![issuer(static_jwk(&signer, "k", Some(alg)))]);
        assert!(v.verify(&t, now()).await.is_ok(), "{alg}");
    }
}

#[tokio::test]
async fn hs256_verifies_with_a_configured_secret() {
    let secret = vec![7u8; 32];
    let signer = Signer::Hmac(secret.clone());
    let v = verifier(vec![issuer(KeySource::Hmac(Secret::new(secret)))]);
    let t = token(&signer, Algorithm::Hs256, None, &claims());
    assert!(v.verify(&t, now()).await.is_ok());
    let t = token(&signer, Algorithm::Hs256, Some("any"), &claims());
    assert!(v.verify(&t, now()).await.is_ok());
    let wrong = Signer::Hmac(vec![8u8; 32]);
    let t = token(&wrong, Algorithm::Hs256, None, &claims());
    assert_eq!(v.verify(&t, now()).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn pem_public_keys_verify() {
    let rsa_signer = Signer::Rsa(rsa());
    let (p256, p256_pkcs8) = ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let (p384, p384_pkcs8) = ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING);
    let (edk, ed_pkcs8) = ed();
    let cases = [
        (
            rsa_signer,
            public_pem(rsa_pkcs8()),
            Algorithm::Ps384,
            Some(Algorithm::Ps384),
        ),
        (
            Signer::Ec(p256),
            public_pem(&p256_pkcs8),
            Algorithm::Es256,
            None,
        ),
        (
            Signer::Ec(p384),
            public_pem(&p384_pkcs8),
            Algorithm::Es384,
            None,
        ),
        (
            Signer::Ed(edk),
            public_pem(&ed_pkcs8),
            Algorithm::EdDsa,
            None,
        ),
    ];
    for (signer, pem, alg, key_alg) in cases {
        let keys = KeySource::Static(vec![StaticKey::Pem {
            kid: Some("pem".into()),
            pem,
            algorithm: key_alg,
        }]);
        let v = verifier(vec![issuer(keys)]);
        let t = token(&signer, alg, Some("pem"), &claims());
        assert!(v.verify(&t, now()).await.is_ok(), "{alg}");
    }
}

#[test]
fn unsupported_pem_keys_are_refused_at_load() {
    let p521 = openssl_public_pem(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]);
    let rsa1024 = openssl_public_pem(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]);
    for pem in [p521, rsa1024, "not a pem".to_owned()] {
        let keys = KeySource::Static(vec![StaticKey::Pem {
            kid: None,
            pem,
            algorithm: None,
        }]);
        assert!(matches!(
            Verifier::new(VerifierConfig::new(vec![issuer(keys)]), None),
            Err(SetupError::InvalidKey { index: 0, .. })
        ));
    }
}

// ---------------------------------------------------------------- attacks

#[tokio::test]
async fn tampered_payload_is_refused() {
    let signer = Signer::Rsa(rsa());
    let v = verifier(vec![issuer(static_jwk(&signer, "k1", None))]);
    let t = token(&signer, Algorithm::Rs256, Some("k1"), &claims());
    let mut escalated = claims();
    escalated["roles"] = json!(["admin"]);
    let parts: Vec<&str> = t.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url_encode(escalated.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(v.verify(&forged, now()).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn stripped_or_truncated_signature_is_refused() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    let t = token(&signer, Algorithm::EdDsa, Some("k"), &claims());
    let (input, sig) = t.rsplit_once('.').unwrap();
    assert_eq!(
        v.verify(&format!("{input}."), now()).await,
        Err(AuthError::BadSignature)
    );
    let mut short = crate::encoding::b64url_decode(sig.as_bytes()).unwrap();
    short.truncate(short.len() - 1);
    assert_eq!(
        v.verify(&format!("{input}.{}", b64url_encode(&short)), now())
            .await,
        Err(AuthError::BadSignature)
    );
    assert!(matches!(
        v.verify(input, now()).await,
        Err(AuthError::Malformed { .. })
    ));
}

#[tokio::test]
async fn alg_none_in_any_capitalization_is_refused() {
    let signer = Signer::Rsa(rsa());
    let v = verifier(vec![issuer(static_jwk(&signer, "k1", None))]);
    for none in ["none", "None", "NONE", "nOnE"] {
        let input = encode(&json!({"alg": none, "kid": "k1"}), &claims());
        for sig in ["", "e30"] {
            assert_eq!(
                v.verify(&format!("{input}.{sig}"), now()).await,
                Err(AuthError::UnsupportedAlgorithm),
                "{none}"
            );
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let kp = rsa();
    let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
    let pem = public_pem(rsa_pkcs8());
    let pkcs1_der = kp.public().as_ref().to_vec();
    let rsa_signer = Signer::Rsa(kp);
    let jwk = rsa_signer.jwk("k1", None);
    let v = verifier(vec![issuer(KeySource::Static(vec![StaticKey::Jwk(
        jwk.to_string(),
    )]))]);
    // The secrets an attacker would try: the PEM text, the DER, the JWK text,
    // the raw modulus.
    for secret in [
        pem.into_bytes(),
        pkcs1_der,
        jwk.to_string().into_bytes(),
        public.n.clone(),
    ] {
        let forged = token(
            &Signer::Hmac(secret),
            Algorithm::Hs256,
            Some("k1"),
            &claims(),
        );
        assert_eq!(
            v.verify(&forged, now()).await,
            Err(AuthError::AlgorithmMismatch)
        );
    }
}

#[tokio::test]
async fn a_token_alg_other_than_the_keys_is_refused() {
    let (p256, _) = ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let signer = Signer::Ec(p256);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    // Claim ES384 on a P-256 key (signature made the P-256 way).
    let input = encode(&json!({"alg": "ES384", "kid": "k"}), &claims());
    let sig = signer.sign(Algorithm::Es256, input.as_bytes());
    let t = format!("{input}.{}", b64url_encode(&sig));
    assert_eq!(v.verify(&t, now()).await, Err(AuthError::AlgorithmMismatch));
    let input = encode(&json!({"alg": "RS256", "kid": "k"}), &claims());
    let t = format!("{input}.{}", b64url_encode(&sig));
    assert_eq!(v.verify(&t, now()).await, Err(AuthError::AlgorithmMismatch));
}

#[tokio::test]
async fn key_bearing_and_critical_headers_are_refused_even_when_signed() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    let jwk = signer.jwk("k", None);
    for (field, value) in [
        ("jku", json!("http://127.0.0.1:1/jwks.json")),
        ("x5u", json!("http://127.0.0.1:1/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("jwk", jwk),
        ("crit", json!(["exp"])),
    ] {
        let mut header = json!({"alg": "EdDSA", "kid": "k"});
        header[field] = value;
        let t = signed(&signer, Algorithm::EdDsa, header, &claims());
        assert!(
            matches!(v.verify(&t, now()).await, Err(AuthError::UntrustedHeader { field: f }) if f == field),
            "{field}"
        );
    }
}

#[tokio::test]
async fn kid_injection_is_just_an_unknown_key() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    for kid in ["../../../../dev/null", "' OR '1'='1", "k\0", "K", ""] {
        let t = token(&signer, Algorithm::EdDsa, Some(kid), &claims());
        let err = v.verify(&t, now()).await.unwrap_err();
        assert_eq!(err, AuthError::UnknownKey, "{kid:?}");
        if kid.len() > 1 {
            assert!(!err.to_string().contains(kid));
        }
    }
}

#[tokio::test]
async fn claims_are_checked() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    let cases = [
        (json!({"exp": T0 - 61}), AuthError::Expired),
        (json!({"nbf": T0 + 120}), AuthError::NotYetValid),
        (json!({"iat": T0 + 120}), AuthError::IssuedInFuture),
        (json!({"aud": "someone-else"}), AuthError::WrongAudience),
        (
            json!({"iss": "https://evil.example"}),
            AuthError::UnknownIssuer,
        ),
        (json!({"iss": 7}), AuthError::UnknownIssuer),
    ];
    for (patch, expected) in cases {
        let mut c = claims();
        for (k, val) in patch.as_object().unwrap() {
            c[k] = val.clone();
        }
        let t = token(&signer, Algorithm::EdDsa, Some("k"), &c);
        assert_eq!(v.verify(&t, now()).await, Err(expected), "{patch}");
    }
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let t = token(&signer, Algorithm::EdDsa, Some("k"), &no_exp);
    assert_eq!(
        v.verify(&t, now()).await,
        Err(AuthError::MissingClaim {
            claim: "exp".into()
        })
    );
}

#[tokio::test]
async fn claim_mapping_is_configurable() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let mut cfg = issuer(static_jwk(&signer, "k", None));
    cfg.subject_claim = ClaimPath::parse("preferred_username");
    cfg.roles_claim = ClaimPath::parse("realm_access.roles");
    cfg.purpose_claim = Some(ClaimPath::parse("purpose"));
    cfg.attribute_claims = vec![ClaimPath::literal("https://example.com/tenant")];
    let v = verifier(vec![cfg]);
    let mut c = claims();
    c["preferred_username"] = json!("alice.smith");
    c["realm_access"] = json!({"roles": ["fraud", "support"]});
    c["purpose"] = json!("fraud-investigation");
    c["https://example.com/tenant"] = json!("acme");
    let p = v
        .verify(&token(&signer, Algorithm::EdDsa, Some("k"), &c), now())
        .await
        .unwrap();
    assert_eq!(p.subject, "alice.smith");
    assert_eq!(p.roles, ["fraud", "support"]);
    assert_eq!(p.purpose.as_deref(), Some("fraud-investigation"));
    assert_eq!(p.attributes["https://example.com/tenant"], "acme");
}

#[tokio::test]
async fn oversized_and_garbage_tokens_are_refused_without_panicking() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    let huge = "a".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
    assert_eq!(
        v.verify(&huge, now()).await,
        Err(AuthError::TooLarge {
            limit: DEFAULT_MAX_TOKEN_BYTES
        })
    );
    let mut c = claims();
    c["pad"] = json!("x".repeat(DEFAULT_MAX_TOKEN_BYTES));
    let big = token(&signer, Algorithm::EdDsa, Some("k"), &c);
    assert!(matches!(
        v.verify(&big, now()).await,
        Err(AuthError::TooLarge { .. })
    ));
    assert_eq!(v.verify("", now()).await, Err(AuthError::Missing));

    // A per-issuer limit smaller than the default.
    let mut small = issuer(static_jwk(&signer, "k", None));
    small.max_token_bytes = 64;
    let v_small = verifier(vec![small]);
    let t = token(&signer, Algorithm::EdDsa, Some("k"), &claims());
    assert_eq!(
        v_small.verify(&t, now()).await,
        Err(AuthError::TooLarge { limit: 64 })
    );

    // Mutations of a valid token: any error is fine, a panic is not, and no
    // mutation verifies.
    let rng = SystemRandom::new();
    let bytes = t.as_bytes();
    let alphabet = b"ABCxyz019-_.=+/ \0\xff{}\"";
    for i in 0..2_000 {
        let mut r = [0u8; 4];
        rng.fill(&mut r).unwrap();
        let mut m = bytes.to_vec();
        let pos = usize::from(u16::from_le_bytes([r[0], r[1]])) % m.len();
        match i % 3 {
            0 => m[pos] = alphabet[usize::from(r[2]) % alphabet.len()],
            1 => {
                m.truncate(pos);
            }
            _ => m.insert(pos, alphabet[usize::from(r[3]) % alphabet.len()]),
        }
        let s = String::from_utf8_lossy(&m);
        if s != t {
            assert!(v.verify(&s, now()).await.is_err(), "{s}");
        }
    }
    for garbage in ["...", "..", "a.b.c", "e30.e30.e30", "\u{0}", "ey.ey.ey"] {
        assert!(v.verify(garbage, now()).await.is_err());
    }
}

#[tokio::test]
async fn errors_do_not_echo_token_contents() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let v = verifier(vec![issuer(static_jwk(&signer, "k", None))]);
    let mut c = claims();
    c["sub"] = json!("SECRET-SUBJECT");
    c["aud"] = json!("SECRET-AUDIENCE");
    let t = token(&signer, Algorithm::EdDsa, Some("SECRET-KID"), &c);
    let err = v.verify(&t, now()).await.unwrap_err();
    let t2 = token(&signer, Algorithm::EdDsa, Some("k"), &c);
    let err2 = v.verify(&t2, now()).await.unwrap_err();
    for e in [err, err2] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains(&t[..20]), "{text}");
    }
}

// ---------------------------------------------------------------- key loading

#[test]
fn small_rsa_keys_private_keys_and_symmetric_jwks_are_refused_at_load() {
    // A 1024-bit modulus (it does not have to be a real key to be refused).
    let mut n = vec![0xc5u8; 128];
    n[127] |= 1;
    let small = json!({"kty": "RSA", "kid": "small", "n": b64url_encode(&n), "e": "AQAB"});
    let mut private = Signer::Ed(ed().0).jwk("p", None);
    private["d"] = json!(b64url_encode(&[1u8; 32]));
    let oct = json!({"kty": "oct", "k": b64url_encode(&[1u8; 32])});
    let enc = {
        let mut j = Signer::Ed(ed().0).jwk("e", None);
        j["use"] = json!("enc");
        j
    };
    let mismatched = Signer::Ed(ed().0).jwk("m", Some(Algorithm::Es256));
    for jwk in [small, private, oct, enc, mismatched] {
        let keys = KeySource::Static(vec![StaticKey::Jwk(jwk.to_string())]);
        let err = Verifier::new(VerifierConfig::new(vec![issuer(keys)]), None).unwrap_err();
        assert!(matches!(err, SetupError::InvalidKey { .. }), "{jwk}: {err}");
        // The reason never holds key material.
        assert!(!err.to_string().contains("AQAB"));
    }
}

#[test]
fn issuer_configuration_is_checked() {
    let secret = || KeySource::Hmac(Secret::new(vec![1u8; 32]));
    let build = |issuers| Verifier::new(VerifierConfig::new(issuers), None);
    assert!(matches!(
        build(vec![issuer(secret()), issuer(secret())]),
        Err(SetupError::DuplicateIssuer { .. })
    ));
    let mut no_aud = issuer(secret());
    no_aud.audiences.clear();
    assert!(matches!(
        build(vec![no_aud]),
        Err(SetupError::InvalidIssuer { .. })
    ));
    assert!(matches!(
        build(vec![issuer(KeySource::Hmac(Secret::new(vec![1u8; 16])))]),
        Err(SetupError::InvalidKey { .. })
    ));
    let mut hmac_not_allowed = issuer(secret());
    hmac_not_allowed.algorithms = vec![Algorithm::Rs256];
    assert!(build(vec![hmac_not_allowed]).is_err());
    assert!(matches!(
        build(vec![issuer(KeySource::Jwks(JwksConfig::new(
            "https://idp/jwks"
        )))]),
        Err(SetupError::MissingFetcher { .. })
    ));
    let mut bad_path = issuer(secret());
    bad_path.roles_claim = ClaimPath::parse("realm_access..roles");
    assert!(matches!(
        build(vec![bad_path]),
        Err(SetupError::InvalidIssuer { .. })
    ));
    assert!(matches!(
        build(vec![issuer(KeySource::Static(Vec::new()))]),
        Err(SetupError::InvalidIssuer { .. })
    ));
}

#[tokio::test]
async fn key_selection_by_kid_and_lone_keys() {
    let a = Signer::Ed(ed().0);
    let b = Signer::Ed(ed().0);
    let two = KeySource::Static(vec![
        StaticKey::Jwk(a.jwk("a", None).to_string()),
        StaticKey::Jwk(b.jwk("b", None).to_string()),
    ]);
    let v = verifier(vec![issuer(two)]);
    assert!(
        v.verify(&token(&a, Algorithm::EdDsa, Some("a"), &claims()), now())
            .await
            .is_ok()
    );
    assert!(
        v.verify(&token(&b, Algorithm::EdDsa, Some("b"), &claims()), now())
            .await
            .is_ok()
    );
    // b's token claiming a's kid: a's key, a bad signature.
    assert_eq!(
        v.verify(&token(&b, Algorithm::EdDsa, Some("a"), &claims()), now())
            .await,
        Err(AuthError::BadSignature)
    );
    // No kid and two keys: which one is unknown.
    assert_eq!(
        v.verify(&token(&a, Algorithm::EdDsa, None, &claims()), now())
            .await,
        Err(AuthError::UnknownKey)
    );
    // No kid and one key: that key.
    let v = verifier(vec![issuer(static_jwk(&a, "a", None))]);
    assert!(
        v.verify(&token(&a, Algorithm::EdDsa, None, &claims()), now())
            .await
            .is_ok()
    );
    // A kid and one key that has none: that key.
    let (kp, pkcs8) = ed();
    let lone = Signer::Ed(kp);
    let v = verifier(vec![issuer(KeySource::Static(vec![StaticKey::Pem {
        kid: None,
        pem: public_pem(&pkcs8),
        algorithm: None,
    }]))]);
    let t = token(&lone, Algorithm::EdDsa, Some("whatever"), &claims());
    assert!(v.verify(&t, now()).await.is_ok());
}

#[tokio::test]
async fn several_issuers_are_told_apart_by_iss() {
    let a = Signer::Ed(ed().0);
    let b = Signer::Ed(ed().0);
    let other = IssuerConfig::new(
        "https://other.example",
        vec![AUD.into()],
        static_jwk(&b, "k", None),
    );
    let v = verifier(vec![issuer(static_jwk(&a, "k", None)), other]);
    assert_eq!(
        v.issuers().collect::<Vec<_>>(),
        [ISS, "https://other.example"]
    );
    assert!(
        v.verify(&token(&a, Algorithm::EdDsa, Some("k"), &claims()), now())
            .await
            .is_ok()
    );
    let mut c = claims();
    c["iss"] = json!("https://other.example");
    assert!(
        v.verify(&token(&b, Algorithm::EdDsa, Some("k"), &c), now())
            .await
            .is_ok()
    );
    // a's key does not verify for the other issuer.
    assert_eq!(
        v.verify(&token(&a, Algorithm::EdDsa, Some("k"), &c), now())
            .await,
        Err(AuthError::BadSignature)
    );
}

// ---------------------------------------------------------------- token cache

#[tokio::test]
async fn verified_tokens_are_cached_until_exp_at_most() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let mut cfg = issuer(static_jwk(&signer, "k", None));
    cfg.leeway = Duration::ZERO;
    let mut config = VerifierConfig::new(vec![cfg]);
    config.token_cache = TokenCacheConfig::new(100, Duration::from_secs(3_600));
    let v = Verifier::new(config, None).unwrap();
    let mut c = claims();
    c["exp"] = json!(T0 + 10);
    let t = token(&signer, Algorithm::EdDsa, Some("k"), &c);
    assert!(v.verify(&t, now()).await.is_ok());
    assert_eq!(v.cached_tokens(), 1);
    let hits = v.inner_cache_hits();
    assert!(v.verify(&t, at(T0 + 9)).await.is_ok());
    assert_eq!(v.inner_cache_hits(), hits + 1);
    // At exp the cache does not answer, and the full check refuses.
    assert_eq!(v.verify(&t, at(T0 + 10)).await, Err(AuthError::Expired));
    assert_eq!(v.inner_cache_hits(), hits + 1);
    // Failed verifications are not cached.
    let bad = format!("{}x", &t[..t.len() - 1]);
    let _ = v.verify(&bad, now()).await;
    assert_eq!(v.cached_tokens(), 0);
}

#[tokio::test]
async fn the_cache_is_bounded_and_can_be_disabled() {
    let (kp, _) = ed();
    let signer = Signer::Ed(kp);
    let mut config = VerifierConfig::new(vec![issuer(static_jwk(&signer, "k", None))]);
    config.token_cache = TokenCacheConfig::new(32, Duration::from_secs(60));
    let v = Verifier::new(config, None).unwrap();
    for i in 0..200 {
        let mut c = claims();
        c["jti"] = json!(i);
        v.verify(&token(&signer, Algorithm::EdDsa, Some("k"), &c), now())
            .await
            .unwrap();
    }
    assert!(v.cached_tokens() <= 32);

    let mut config = VerifierConfig::new(vec![issuer(static_jwk(&signer, "k", None))]);
    config.token_cache = TokenCacheConfig::new(0, Duration::from_secs(60));
    let v = Verifier::new(config, None).unwrap();
    let t = token(&signer, Algorithm::EdDsa, Some("k"), &claims());
    assert!(v.verify(&t, now()).await.is_ok());
    assert!(v.verify(&t, now()).await.is_ok());
    assert_eq!(v.cached_tokens(), 0);
}

// ---------------------------------------------------------------- JWKS

/// A JWKS "server": counts fetches, can be slow, can fail, can hang.
struct FakeFetcher {
    body: Mutex<Result<Vec<u8>, String>>,
    calls: AtomicUsize,
    delay: Duration,
    hang: bool,
}

impl FakeFetcher {
    fn new(jwks: &Value) -> Arc<Self> {
        Self::with(jwks, Duration::ZERO, false)
    }

    fn with(jwks: &Value, delay: Duration, hang: bool) -> Arc<Self> {
        Arc::new(Self {
            body: Mutex::new(Ok(jwks.to_string().into_bytes())),
            calls: AtomicUsize::new(0),
            delay,
            hang,
        })
    }

    fn serve(&self, jwks: &Value) {
        *self.body.lock().unwrap() = Ok(jwks.to_string().into_bytes());
    }

    fn fail(&self) {
        *self.body.lock().unwrap() = Err("connection refused".into());
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl JwksFetcher for FakeFetcher {
    fn fetch(
        &self,
        url: &str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + '_>> {
        assert_eq!(url, "https://idp.example/jwks");
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                std::future::pending::<()>().await;
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.body.lock().unwrap().clone().map_err(FetchError::new)
        })
    }
}

fn jwks_of(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

fn jwks_verifier(fetcher: &Arc<FakeFetcher>, tune: impl FnOnce(&mut JwksConfig)) -> Verifier {
    let mut jwks = JwksConfig::new("https://idp.example/jwks");
    tune(&mut jwks);
    let fetcher: Arc<dyn JwksFetcher> = fetcher.clone();
    Verifier::new(
        VerifierConfig::new(vec![issuer(KeySource::Jwks(jwks))]),
        Some(fetcher),
    )
    .unwrap()
}

fn random_kid() -> String {
    let mut r = [0u8; 8];
    SystemRandom::new().fill(&mut r).unwrap();
    hex_encode(&r)
}

#[tokio::test]
async fn jwks_is_fetched_on_first_use_and_then_served_from_cache() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::new(&jwks_of(&[signer.jwk("k1", None)]));
    let v = jwks_verifier(&fetcher, |_| {});
    assert_eq!(fetcher.calls(), 0);
    for i in 0..10 {
        let mut c = claims();
        c["jti"] = json!(i);
        v.verify(&token(&signer, Algorithm::EdDsa, Some("k1"), &c), now())
            .await
            .unwrap();
    }
    assert_eq!(fetcher.calls(), 1);
    let status = &v.jwks_status(now())[0];
    assert_eq!(status.keys, 1);
    assert!(status.usable);
    assert_eq!(status.fetched_at, Some(now()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_storm_causes_one_fetch_per_cooldown() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::with(
        &jwks_of(&[signer.jwk("k1", None)]),
        Duration::from_millis(50),
        false,
    );
    let v = jwks_verifier(&fetcher, |j| {
        j.unknown_kid_cooldown = Duration::from_secs(30)
    });
    // Warm: one fetch.
    v.verify(
        &token(&signer, Algorithm::EdDsa, Some("k1"), &claims()),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(fetcher.calls(), 1);

    // 30 s later: 1,000 concurrent requests with random kids share one fetch.
    let later = at(T0 + 30);
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let v = v.clone();
        let t = token(&signer, Algorithm::EdDsa, Some(&random_kid()), &claims());
        tasks.push(tokio::spawn(async move { v.verify(&t, later).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(fetcher.calls(), 2);

    // 10,000 more within the same cooldown: no fetch at all.
    for i in 0..10_000 {
        let t = format!(
            "{}.{}.AAAA",
            b64url_encode(
                json!({"alg": "EdDSA", "kid": random_kid()})
                    .to_string()
                    .as_bytes()
            ),
            b64url_encode(claims().to_string().as_bytes()),
        );
        let when = at(T0 + 30 + (i % 29));
        assert_eq!(v.verify(&t, when).await, Err(AuthError::UnknownKey));
    }
    assert_eq!(fetcher.calls(), 2);

    // The next cooldown allows exactly one more.
    for _ in 0..100 {
        let t = token(&signer, Algorithm::EdDsa, Some(&random_kid()), &claims());
        assert_eq!(v.verify(&t, at(T0 + 60)).await, Err(AuthError::UnknownKey));
    }
    assert_eq!(fetcher.calls(), 3);
    // Known kids kept working throughout.
    let t = token(&signer, Algorithm::EdDsa, Some("k1"), &claims());
    assert!(v.verify(&t, at(T0 + 61)).await.is_ok());
}

#[tokio::test]
async fn rotated_keys_are_picked_up_on_unknown_kid() {
    let old = Signer::Ed(ed().0);
    let new = Signer::Rsa(rsa());
    let fetcher = FakeFetcher::new(&jwks_of(&[old.jwk("old", None)]));
    let v = jwks_verifier(&fetcher, |_| {});
    let old_token = token(&old, Algorithm::EdDsa, Some("old"), &claims());
    assert!(v.verify(&old_token, now()).await.is_ok());

    // The IdP rotates: the new key is published, the old one withdrawn.
    fetcher.serve(&jwks_of(&[new.jwk("new", Some(Algorithm::Rs256))]));
    let new_token = token(&new, Algorithm::Rs256, Some("new"), &claims());
    // Within the cooldown of the first fetch, no new fetch.
    assert_eq!(
        v.verify(&new_token, at(T0 + 5)).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(fetcher.calls(), 1);
    // After it, the unknown kid triggers the fetch and the new key verifies.
    assert!(v.verify(&new_token, at(T0 + 31)).await.is_ok());
    assert_eq!(fetcher.calls(), 2);
    // The withdrawn key's token is refused even though it was cached.
    assert_eq!(
        v.verify(&old_token, at(T0 + 32)).await,
        Err(AuthError::UnknownKey)
    );
}

#[tokio::test]
async fn stale_keys_serve_until_max_stale_then_key_server_unavailable() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::new(&jwks_of(&[signer.jwk("k1", None)]));
    let v = jwks_verifier(&fetcher, |j| {
        j.refresh_every = Duration::from_secs(300);
        j.max_stale = Duration::from_secs(3_600);
    });
    let fresh = |t: u64| {
        let mut c = claims();
        c["iat"] = json!(t);
        c["exp"] = json!(t + 300);
        token(&signer, Algorithm::EdDsa, Some("k1"), &c)
    };
    assert!(v.verify(&fresh(T0), now()).await.is_ok());

    fetcher.fail();
    // Scheduled refreshes fail; the old keys keep serving.
    let outcomes = v.refresh_due(at(T0 + 300)).await;
    assert_eq!(outcomes.len(), 1);
    assert!(matches!(outcomes[0].result, Err(JwksError::Fetch(_))));
    assert!(v.refresh_due(at(T0 + 310)).await.is_empty(), "cooldown");
    assert!(v.verify(&fresh(T0 + 3_000), at(T0 + 3_000)).await.is_ok());
    assert!(v.verify(&fresh(T0 + 3_600), at(T0 + 3_600)).await.is_ok());
    let status = &v.jwks_status(at(T0 + 3_600))[0];
    assert!(status.usable);
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );

    // Past max_stale: 503, not 401, and the error names the issuer.
    let err = v
        .verify(&fresh(T0 + 3_601), at(T0 + 3_601))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AuthError::KeyServerUnavailable {
            issuer: ISS.to_owned()
        }
    );
    assert!(err.is_unavailable());
    assert!(!v.jwks_status(at(T0 + 3_601))[0].usable);

    // The key server comes back: the next demand fetch (after the cooldown)
    // restores service.
    fetcher.serve(&jwks_of(&[signer.jwk("k1", None)]));
    assert!(v.verify(&fresh(T0 + 3_700), at(T0 + 3_700)).await.is_ok());
}

#[tokio::test]
async fn a_replacing_verifier_adopts_the_last_good_keys_with_their_age() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::new(&jwks_of(&[signer.jwk("k1", None)]));
    let tune = |j: &mut JwksConfig| {
        j.refresh_every = Duration::from_secs(300);
        j.max_stale = Duration::from_secs(3_600);
    };
    let old = jwks_verifier(&fetcher, tune);
    let fresh = |t: u64| {
        let mut c = claims();
        c["iat"] = json!(t);
        c["exp"] = json!(t + 300);
        token(&signer, Algorithm::EdDsa, Some("k1"), &c)
    };
    assert!(old.verify(&fresh(T0), now()).await.is_ok());
    assert_eq!(fetcher.calls(), 1);

    // A reload while the key server is down: the new verifier serves the
    // keys the old one fetched, without a fetch, until they are too old.
    fetcher.fail();
    let new = jwks_verifier(&fetcher, tune);
    assert!(new.adopt_key_set(&old, ISS));
    assert!(!new.adopt_key_set(&old, "https://unknown.example"));
    assert!(new.verify(&fresh(T0 + 60), at(T0 + 60)).await.is_ok());
    assert!(new.refresh_due(at(T0 + 60)).await.is_empty(), "not due");
    assert_eq!(fetcher.calls(), 1);
    assert_eq!(new.jwks_status(at(T0 + 60))[0].fetched_at, Some(now()));
    let err = new
        .verify(&fresh(T0 + 3_601), at(T0 + 3_601))
        .await
        .unwrap_err();
    assert!(err.is_unavailable());

    // Another URL: nothing to adopt; the new verifier fetches its own.
    let elsewhere = {
        let mut jwks = JwksConfig::new("https://idp.example/other-jwks");
        tune(&mut jwks);
        let fetcher: Arc<dyn JwksFetcher> = fetcher.clone();
        Verifier::new(
            VerifierConfig::new(vec![issuer(KeySource::Jwks(jwks))]),
            Some(fetcher),
        )
        .unwrap()
    };
    assert!(!elsewhere.adopt_key_set(&old, ISS));
    assert!(elsewhere.jwks_status(now())[0].fetched_at.is_none());
}

#[tokio::test]
async fn no_key_set_ever_is_key_server_unavailable() {
    let fetcher = FakeFetcher::new(&json!({}));
    fetcher.fail();
    let v = jwks_verifier(&fetcher, |_| {});
    let signer = Signer::Ed(ed().0);
    let t = token(&signer, Algorithm::EdDsa, Some("k1"), &claims());
    assert!(v.verify(&t, now()).await.unwrap_err().is_unavailable());
    // Within the cooldown: still unavailable, and no second fetch.
    assert!(v.verify(&t, at(T0 + 1)).await.unwrap_err().is_unavailable());
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn scheduled_refresh_follows_refresh_every() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::new(&jwks_of(&[signer.jwk("k1", None)]));
    let v = jwks_verifier(&fetcher, |j| j.refresh_every = Duration::from_secs(300));
    // Nothing yet: due at once.
    let outcomes = v.refresh_due(now()).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].result.as_ref().unwrap(), &1);
    assert!(v.refresh_due(at(T0 + 299)).await.is_empty());
    assert_eq!(v.refresh_due(at(T0 + 300)).await.len(), 1);
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test]
async fn jwks_parsing_skips_unusable_keys_but_needs_one() {
    let good = Signer::Ed(ed().0);
    let mut enc = Signer::Ed(ed().0).jwk("enc", None);
    enc["use"] = json!("enc");
    let mut n = vec![0xc5u8; 128];
    n[127] |= 1;
    let unusable = [
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
        json!({"kty": "XYZ", "kid": "future"}),
        json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
        json!({"kty": "RSA", "kid": "small", "n": b64url_encode(&n), "e": "AQAB"}),
        json!("not even an object"),
        enc,
    ];
    let mut keys = unusable.to_vec();
    keys.push(good.jwk("good", None));
    let fetcher = FakeFetcher::new(&jwks_of(&keys));
    let v = jwks_verifier(&fetcher, |_| {});
    assert_eq!(v.refresh_due(now()).await[0].result.as_ref().unwrap(), &1);
    assert!(
        v.verify(
            &token(&good, Algorithm::EdDsa, Some("good"), &claims()),
            now()
        )
        .await
        .is_ok()
    );

    let fetcher = FakeFetcher::new(&jwks_of(&unusable));
    let v = jwks_verifier(&fetcher, |_| {});
    assert!(matches!(
        v.refresh_due(now()).await[0].result,
        Err(JwksError::NoUsableKey { ignored: 6 })
    ));
    for bad in [json!([]), json!({"keys": {}}), json!({"nokeys": []})] {
        let fetcher = FakeFetcher::new(&bad);
        let v = jwks_verifier(&fetcher, |_| {});
        assert!(matches!(
            v.refresh_due(now()).await[0].result,
            Err(JwksError::Malformed)
        ));
    }
    let fetcher = FakeFetcher::new(&jwks_of(&[good.jwk("good", None)]));
    let v = jwks_verifier(&fetcher, |j| j.max_bytes = 10);
    assert!(matches!(
        v.refresh_due(now()).await[0].result,
        Err(JwksError::TooLarge { limit: 10 })
    ));
}

#[tokio::test]
async fn a_hanging_key_server_times_out() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::with(&jwks_of(&[signer.jwk("k1", None)]), Duration::ZERO, true);
    let v = jwks_verifier(&fetcher, |j| j.fetch_timeout = Duration::from_millis(50));
    let outcomes = v.refresh_due(now()).await;
    assert!(matches!(outcomes[0].result, Err(JwksError::Timeout)));
    let t = token(&signer, Algorithm::EdDsa, Some("k1"), &claims());
    assert!(
        v.verify(&t, at(T0 + 31))
            .await
            .unwrap_err()
            .is_unavailable()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_does_not_cancel_the_shared_fetch() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::with(
        &jwks_of(&[signer.jwk("k1", None)]),
        Duration::from_millis(100),
        false,
    );
    let v = jwks_verifier(&fetcher, |_| {});
    let t = token(&signer, Algorithm::EdDsa, Some("k1"), &claims());
    let first = {
        let (v, t) = (v.clone(), t.clone());
        tokio::spawn(async move { v.verify(&t, now()).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.abort();
    // A second request waits for the same fetch instead of starting one.
    assert!(v.verify(&t, at(T0 + 1)).await.is_ok());
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn the_refresher_fetches_at_start_and_stops_with_the_verifier() {
    let signer = Signer::Ed(ed().0);
    let fetcher = FakeFetcher::new(&jwks_of(&[signer.jwk("k1", None)]));
    let v = jwks_verifier(&fetcher, |_| {});
    let handle = v.spawn_refresher(&tokio::runtime::Handle::current());
    for _ in 0..100 {
        if fetcher.calls() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fetcher.calls(), 1);
    assert!(v.jwks_status(SystemTime::now())[0].usable);
    drop(v);
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("the refresher ends once the verifier is gone")
        .unwrap();

    // Without JWKS issuers there is nothing to do.
    let v = verifier(vec![issuer(KeySource::Hmac(Secret::new(vec![1u8; 32])))]);
    v.spawn_refresher(&tokio::runtime::Handle::current())
        .await
        .unwrap();
}

#[test]
fn jwks_issuers_never_accept_hs256() {
    let fetcher: Arc<dyn JwksFetcher> = FakeFetcher::new(&json!({}));
    let mut cfg = issuer(KeySource::Jwks(JwksConfig::new("https://idp.example/jwks")));
    cfg.algorithms = vec![Algorithm::Hs256, Algorithm::Rs256];
    assert!(matches!(
        Verifier::new(VerifierConfig::new(vec![cfg]), Some(fetcher)),
        Err(SetupError::InvalidIssuer { .. })
    ));
}

// ---------------------------------------------------------------- properties

#[test]
fn verifier_and_its_future_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let v = verifier(vec![issuer(KeySource::Hmac(Secret::new(vec![1u8; 32])))]);
    assert_send_sync(&v);
    let fut = v.verify("a.b.c", now());
    assert_send(&fut);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn hmac_verifier() -> Verifier {
        verifier(vec![issuer(KeySource::Hmac(Secret::new(vec![3u8; 32])))])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Arbitrary text: an error, never a panic.
        #[test]
        fn arbitrary_text_is_refused(s in any::<String>()) {
            let v = hmac_verifier();
            prop_assert!(block_on(v.verify(&s, now())).is_err());
        }

        /// Three base64url parts of arbitrary JSON-ish bytes: an error, never
        /// a panic.
        #[test]
        fn arbitrary_parts_are_refused(
            header in prop_oneof![
                Just(br#"{"alg":"HS256"}"#.to_vec()),
                Just(br#"{"alg":"none"}"#.to_vec()),
                proptest::collection::vec(any::<u8>(), 0..64),
            ],
            payload in prop_oneof![
                Just(claims().to_string().into_bytes()),
                Just(br#"{"iss":"https://idp.example","exp":1e999}"#.to_vec()),
                proptest::collection::vec(any::<u8>(), 0..128),
            ],
            signature in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let v = hmac_verifier();
            let t = format!(
                "{}.{}.{}",
                b64url_encode(&header),
                b64url_encode(&payload),
                b64url_encode(&signature)
            );
            prop_assert!(block_on(v.verify(&t, now())).is_err());
        }
    }
}
