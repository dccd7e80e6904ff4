//! The token verifier never panics, whatever the bytes, and a token it
//! accepts verifies again, from its cache, to the same principal.
//!
//! Two issuers with static keys (no JWKS, no network): ES256 (the public key
//! `seeds/jwt_verify.py` signed the seed corpus with) and an HMAC secret; a
//! fixed `now` at which the valid seeds are valid.
#![no_main]

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use libfuzzer_sys::fuzz_target;
use maskgate_authn::{ClaimPath, IssuerConfig, KeySource, StaticKey, Verifier, VerifierConfig};

// Must match seeds/jwt_verify.py.
const NOW: u64 = 1_700_000_000;
const ES256_JWK: &str = include_str!("../seeds/jwt_verify_es256.jwk");
const HMAC_SECRET: &str = "maskgate fuzz jwt_verify HS256 secret, not a real one";

fn setup() -> &'static (Verifier, tokio::runtime::Runtime, SystemTime) {
    static SETUP: OnceLock<(Verifier, tokio::runtime::Runtime, SystemTime)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let audiences = vec!["maskgate".to_owned()];
        let mut es = IssuerConfig::new(
            "https://idp.example",
            audiences.clone(),
            KeySource::Static(vec![StaticKey::Jwk(ES256_JWK.to_owned())]),
        );
        es.roles_claim = ClaimPath::parse("realm_access.roles");
        es.purpose_claim = Some(ClaimPath::parse("purpose"));
        es.attribute_claims = vec![ClaimPath::parse("tenant"), ClaimPath::parse("realm_access")];
        let mut hmac = IssuerConfig::new(
            "https://hmac.example",
            audiences,
            KeySource::Hmac(HMAC_SECRET.into()),
        );
        hmac.max_token_bytes = 1024;
        let verifier = Verifier::new(VerifierConfig::new(vec![es, hmac]), None).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        (verifier, runtime, UNIX_EPOCH + Duration::from_secs(NOW))
    })
}

fuzz_target!(|data: &[u8]| {
    let (verifier, runtime, now) = setup();
    let token = String::from_utf8_lossy(data);
    if let Ok(principal) = runtime.block_on(verifier.verify(&token, *now)) {
        let again = runtime.block_on(verifier.verify(&token, *now));
        assert_eq!(again.as_ref(), Ok(&principal));
    }
});
