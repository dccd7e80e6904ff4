//! Data keys from Transit, shared between instances through the KV
//! registry, surviving a transit key rotation; against a real OpenBao.

mod support;

use std::time::Duration;

use maskgate_secrets::{
    KeyPurpose, KeyUnavailable, TransitKeyring, TransitKeyringSettings, Vault, testing::Lab,
};
use support::{assert_not_leaked, capture_logs, wait_for};

const READY: Duration = Duration::from_secs(10);

fn settings() -> TransitKeyringSettings {
    TransitKeyringSettings::new("transit", "fields", "secret", "maskgate/keyring")
}

/// AES-256-GCM with ring, standing in for the masking crate's envelopes.
fn seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut data = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([7; 12]),
        Aad::empty(),
        &mut data,
    )
    .unwrap();
    data
}

fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut data = sealed.to_vec();
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key([7; 12]),
            Aad::empty(),
            &mut data,
        )
        .ok()?;
    Some(plain.to_vec())
}

async fn keyring(lab: &Lab) -> (Vault, TransitKeyring) {
    let vault = Vault::connect(lab.settings(&lab.bao.address(), lab.approle_auth()))
        .await
        .unwrap();
    let keyring = vault.transit_keyring(settings());
    keyring.ready(READY).await.unwrap();
    (vault, keyring)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_keys_are_shared_between_instances_and_survive_rotation() {
    capture_logs();
    let lab = Lab::start();
    let (vault_a, a) = keyring(&lab).await;

    // One key per purpose, never the same bytes twice.
    let encrypt = a.key(KeyPurpose::Encrypt, None).unwrap();
    let hmac = a.key(KeyPurpose::Hmac, None).unwrap();
    let fpe = a.key(KeyPurpose::Fpe, None).unwrap();
    assert_ne!(encrypt.bytes(), hmac.bytes());
    assert_ne!(encrypt.bytes(), fpe.bytes());
    assert_ne!(hmac.bytes(), fpe.bytes());
    for key in [&encrypt, &hmac, &fpe] {
        assert!(
            key.id().starts_with("t1-") && key.id().len() == 11,
            "{}",
            key.id()
        );
        assert_eq!(key.transit_version(), 1);
    }
    assert!(matches!(
        a.key(KeyPurpose::Hmac, Some(encrypt.id())),
        Err(KeyUnavailable::WrongPurpose { .. })
    ));
    assert!(matches!(
        a.key(KeyPurpose::Encrypt, Some("t9-00000000")),
        Err(KeyUnavailable::NotFound { .. })
    ));
    assert!(!format!("{a:?} {encrypt:?}").contains(&format!("{:?}", encrypt.bytes())));
    let sealed = seal(encrypt.bytes(), b"4111 1111 1111 1111");
    let sealed_id = encrypt.id().to_owned();

    // A second instance (its own login) gets the same keys from the
    // registry: it decrypts what the first encrypted.
    let (vault_b, b) = keyring(&lab).await;
    assert_eq!(b.ids(), a.ids());
    for purpose in KeyPurpose::ALL {
        assert_eq!(b.active_id(purpose), a.active_id(purpose));
    }
    let b_key = b.key(KeyPurpose::Encrypt, Some(&sealed_id)).unwrap();
    assert_eq!(
        open(b_key.bytes(), &sealed).unwrap(),
        b"4111 1111 1111 1111"
    );

    // Rotating the transit key: new data keys, made by one instance,
    // picked up by the other; the old ones still resolve on both.
    lab.rotate_transit_key();
    a.refresh().await.unwrap();
    let new_encrypt = a.key(KeyPurpose::Encrypt, None).unwrap();
    assert!(new_encrypt.id().starts_with("t2-"), "{}", new_encrypt.id());
    assert_ne!(new_encrypt.bytes(), encrypt.bytes());
    wait_for(
        Duration::from_secs(5),
        "the second instance to see t2",
        || (b.active_id(KeyPurpose::Encrypt).as_deref() == Some(new_encrypt.id())).then_some(()),
    )
    .await;
    assert_eq!(b.ids().len(), 6);
    for ring in [&a, &b] {
        let old = ring.key(KeyPurpose::Encrypt, Some(&sealed_id)).unwrap();
        assert_eq!(open(old.bytes(), &sealed).unwrap(), b"4111 1111 1111 1111");
    }
    let resealed = seal(new_encrypt.bytes(), b"DE89 3704");
    let b_new = b.key(KeyPurpose::Encrypt, Some(new_encrypt.id())).unwrap();
    assert_eq!(open(b_new.bytes(), &resealed).unwrap(), b"DE89 3704");

    // A third instance started after the rotation: every key, t2 active.
    let (vault_c, c) = keyring(&lab).await;
    assert_eq!(c.ids(), a.ids());
    assert_eq!(c.active_id(KeyPurpose::Hmac), a.active_id(KeyPurpose::Hmac));

    let secrets: Vec<String> = a
        .ids()
        .iter()
        .map(|(id, purpose)| {
            use base64::Engine as _;
            let key = a.key(*purpose, Some(id)).unwrap();
            base64::engine::general_purpose::STANDARD.encode(key.bytes())
        })
        .collect();
    for vault in [vault_a, vault_b, vault_c] {
        vault.shutdown().await;
    }
    assert_not_leaked(&secrets, &[&lab.dir()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_agree_on_one_key_per_purpose() {
    capture_logs();
    let lab = Lab::start();
    let settings_a = lab.settings(&lab.bao.address(), lab.approle_auth());
    let settings_b = lab.settings(&lab.bao.address(), lab.jwt_auth());
    let (a, b) = tokio::join!(Vault::connect(settings_a), Vault::connect(settings_b));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (ka, kb) = (a.transit_keyring(settings()), b.transit_keyring(settings()));
    let (ra, rb) = tokio::join!(ka.ready(READY), kb.ready(READY));
    ra.unwrap();
    rb.unwrap();
    // Whoever lost the check-and-set race dropped its keys and took the
    // winner's.
    wait_for(Duration::from_secs(5), "both to agree", || {
        (ka.ids() == kb.ids()
            && KeyPurpose::ALL
                .iter()
                .all(|p| ka.active_id(*p) == kb.active_id(*p)))
        .then_some(())
    })
    .await;
    assert_eq!(ka.ids().len(), 3, "{:?}", ka.ids());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_transit_no_longer_decrypts_are_skipped_not_fatal() {
    capture_logs();
    let lab = Lab::start();
    let (vault_a, a) = keyring(&lab).await;
    let old = a.active_id(KeyPurpose::Encrypt).unwrap();
    lab.rotate_transit_key();
    a.refresh().await.unwrap();
    // Version 1 may no longer be decrypted: a new instance loads the rest.
    lab.bao.api(
        "POST",
        "transit/keys/fields/config",
        Some(serde_json::json!({"min_decryption_version": 2})),
    );
    let (vault_b, b) = keyring(&lab).await;
    assert_eq!(
        b.active_id(KeyPurpose::Encrypt),
        a.active_id(KeyPurpose::Encrypt)
    );
    assert!(matches!(
        b.key(KeyPurpose::Encrypt, Some(&old)),
        Err(KeyUnavailable::NotFound { .. })
    ));
    b.refresh().await.unwrap();
    vault_a.shutdown().await;
    vault_b.shutdown().await;
}
