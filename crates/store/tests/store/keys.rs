//! `KeysStore`: the encryption keys that have sealed secrets in the database, retiring
//! them, and finding and replacing the values a key rotation re-seals.

use twofold_core::store::keys::{
    KeyUses, Retirement, SealedFactorSecret, SealedOidcSecret, SecretKeyRow, SecretSlot,
};
use twofold_core::store::{FactorRow, OidcProviderRow, Store};

use crate::fixtures::*;

/// The key a rotation moves to.
const NEW_KEY: &str = "key-2025";

async fn given_new_key(store: &Store) {
    store
        .register_secret_key(NEW_KEY, b"check-new", T0)
        .await
        .unwrap();
}

fn provider(org_id: &str, name: &str, key_id: &str) -> OidcProviderRow {
    OidcProviderRow {
        org_id: org_id.into(),
        name: name.into(),
        issuer: format!("https://{name}.example.com"),
        client_id: format!("client-{name}"),
        secret_key_id: key_id.into(),
        client_secret_sealed: hash(&format!("client-secret-{name}")),
        scopes: "email".into(),
        allowed_email_domains: String::new(),
        username_claim: "preferred_username".into(),
        create_users: false,
        link_by_email: false,
        created_at: T0,
        updated_at: T0,
        updated_by: None,
    }
}

/// The factor's secrets as the rotation reads them: (slot, key, bytes) of each.
async fn secrets_of(
    store: &Store,
    user_id: &str,
    id: &str,
) -> [(Option<String>, Option<Vec<u8>>); 2] {
    let f = store.factor_of_user(user_id, id).await.unwrap().unwrap();
    [
        (f.secret_key_id, f.secret_sealed),
        (f.next_secret_key_id, f.next_secret_sealed),
    ]
}

/// An authenticator app whose secret is sealed under `key_id`.
fn totp_under(id: &str, user_id: &str, key_id: &str) -> FactorRow {
    FactorRow {
        secret_key_id: Some(key_id.into()),
        ..totp(id, user_id)
    }
}

fn sealed(id: &str, slot: SecretSlot, key_id: &str, bytes: &[u8]) -> SealedFactorSecret {
    SealedFactorSecret {
        factor_id: id.into(),
        slot,
        key_id: key_id.into(),
        sealed: bytes.to_vec(),
    }
}

conformance! {
    async fn a_key_is_registered_once_with_its_first_check_value(store: Store) {
        assert!(store.secret_key_ids().await.unwrap().is_empty());
        let check = b"\x00sealed check\xff".to_vec();
        assert_eq!(
            store.register_secret_key("k1", &check, T0).await.unwrap(),
            Some(check.clone())
        );
        // A later start with another check value (a different key under the same id) is
        // told the one on record.
        assert_eq!(
            store
                .register_secret_key("k1", b"another", T0 + DAY)
                .await
                .unwrap(),
            Some(check.clone())
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), ["k1"]);
        assert_eq!(
            store.secret_keys().await.unwrap(),
            [SecretKeyRow { id: "k1".into(), check_value: check, created_at: T0 }]
        );
    }

    async fn key_ids_come_sorted(store: Store) {
        for id in ["k3", "k1", "k2"] {
            store
                .register_secret_key(id, id.as_bytes(), T0)
                .await
                .unwrap();
        }
        assert_eq!(store.secret_key_ids().await.unwrap(), ["k1", "k2", "k3"]);
        assert_eq!(
            store.register_secret_key("k2", b"x", T0).await.unwrap(),
            Some(b"k2".to_vec())
        );
        let all = store.secret_keys().await.unwrap();
        assert_eq!(all.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["k1", "k2", "k3"]);
        assert_eq!(all[2].check_value, b"k3");
    }

    async fn a_retired_key_is_gone_remembered_and_never_registered_again(store: Store) {
        given_key(&store).await;
        given_new_key(&store).await;
        assert_eq!(store.secret_key_retired_at(KEY_ID).await.unwrap(), None);
        assert_eq!(
            store.retire_secret_key(KEY_ID, T0 + HOUR).await.unwrap(),
            Retirement::Retired
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), [NEW_KEY]);
        assert_eq!(
            store.secret_key_retired_at(KEY_ID).await.unwrap(),
            Some(T0 + HOUR)
        );
        // A server still given it as its current key is told it is gone.
        assert_eq!(
            store
                .register_secret_key(KEY_ID, b"check-value", T0 + DAY)
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), [NEW_KEY]);
        assert_eq!(
            store.retire_secret_key(KEY_ID, T0 + DAY).await.unwrap(),
            Retirement::AlreadyRetired { at: T0 + HOUR }
        );
        // Nothing can be sealed under it any more: the sealed columns' foreign keys refuse.
        let (acme, alice) = given_alice(&store).await;
        assert_refused(store.insert_factor(&totp("late", &alice.id)).await);
        assert_refused(
            store
                .put_oidc_provider(&provider(&acme.id, "okta", KEY_ID))
                .await,
        );
    }

    async fn the_newest_key_is_not_retired_even_when_it_seals_nothing_yet(store: Store) {
        // A rotation's new key, registered after the old one, before anything was sealed
        // under it: the servers seal with it from now on.
        given_key(&store).await;
        store
            .register_secret_key("knew", b"check-value-new", T0)
            .await
            .unwrap();
        assert_eq!(
            store.retire_secret_key("knew", T0).await.unwrap(),
            Retirement::Newest
        );
        assert_eq!(
            store.retire_secret_key(KEY_ID, T0).await.unwrap(),
            Retirement::Retired
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), ["knew"]);
    }

    async fn an_unknown_key_or_the_only_key_is_not_retired(store: Store) {
        assert_eq!(
            store.retire_secret_key("nope", T0).await.unwrap(),
            Retirement::Unknown
        );
        given_key(&store).await;
        assert_eq!(
            store.retire_secret_key(KEY_ID, T0).await.unwrap(),
            Retirement::Newest
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), [KEY_ID]);
        assert_eq!(store.secret_key_retired_at(KEY_ID).await.unwrap(), None);
    }

    async fn a_key_in_use_is_not_retired_and_each_use_counts(store: Store) {
        given_key(&store).await;
        given_new_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        store.insert_factor(&totp("app", &alice.id)).await.unwrap();
        store.insert_factor(&email_factor("mail", &alice.id)).await.unwrap();
        let moving = totp_under("moving", &alice.id, NEW_KEY);
        store.insert_factor(&moving).await.unwrap();
        assert!(store.set_next_secret("moving", KEY_ID, b"next").await.unwrap());
        store
            .put_oidc_provider(&provider(&acme.id, "okta", KEY_ID))
            .await
            .unwrap();
        let uses = KeyUses { factor_secrets: 1, next_secrets: 1, oidc_client_secrets: 1 };
        assert_eq!(store.secret_key_uses(KEY_ID).await.unwrap(), uses);
        assert_eq!(
            store.secret_key_uses(NEW_KEY).await.unwrap(),
            KeyUses { factor_secrets: 1, ..KeyUses::default() }
        );
        assert_eq!(
            store.retire_secret_key(KEY_ID, T0).await.unwrap(),
            Retirement::InUse(uses)
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), [KEY_ID, NEW_KEY]);
        assert_eq!(store.secret_key_retired_at(KEY_ID).await.unwrap(), None);
    }

    async fn secrets_under_other_keys_come_in_pages_in_id_order(store: Store) {
        given_key(&store).await;
        given_new_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        for id in ["f3", "f1", "f2"] {
            store.insert_factor(&totp(id, &alice.id)).await.unwrap();
        }
        store.insert_factor(&totp_under("f0", &alice.id, NEW_KEY)).await.unwrap();
        store.insert_factor(&email_factor("f4", &alice.id)).await.unwrap();
        let page = store
            .factor_secrets_not_under(SecretSlot::Current, NEW_KEY, "", 2)
            .await
            .unwrap();
        assert_eq!(
            page,
            [
                sealed("f1", SecretSlot::Current, KEY_ID, &hash("sealed-f1")),
                sealed("f2", SecretSlot::Current, KEY_ID, &hash("sealed-f2")),
            ]
        );
        let rest = store
            .factor_secrets_not_under(SecretSlot::Current, NEW_KEY, "f2", 2)
            .await
            .unwrap();
        assert_eq!(rest, [sealed("f3", SecretSlot::Current, KEY_ID, &hash("sealed-f3"))]);
        // Under the other key's name, only f0 is.
        let other = store
            .factor_secrets_not_under(SecretSlot::Current, KEY_ID, "", 10)
            .await
            .unwrap();
        assert_eq!(other, [sealed("f0", SecretSlot::Current, NEW_KEY, &hash("sealed-f0"))]);

        assert!(store
            .factor_secrets_not_under(SecretSlot::Next, NEW_KEY, "", 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store.set_next_secret("f2", KEY_ID, b"\x00next\xff").await.unwrap());
        assert!(store.set_next_secret("f3", NEW_KEY, b"next-3").await.unwrap());
        assert_eq!(
            store
                .factor_secrets_not_under(SecretSlot::Next, NEW_KEY, "", 10)
                .await
                .unwrap(),
            [sealed("f2", SecretSlot::Next, KEY_ID, b"\x00next\xff")]
        );
    }

    async fn a_reseal_replaces_only_the_value_that_was_read(store: Store) {
        given_key(&store).await;
        given_new_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        store.insert_factor(&totp("app", &alice.id)).await.unwrap();
        assert!(store.set_next_secret("app", KEY_ID, b"next-old").await.unwrap());
        let read = sealed("app", SecretSlot::Current, KEY_ID, &hash("sealed-app"));
        assert!(store.reseal_factor_secret(&read, NEW_KEY, b"\x00re-sealed\xff").await.unwrap());
        assert_eq!(
            secrets_of(&store, &alice.id, "app").await,
            [
                (Some(NEW_KEY.into()), Some(b"\x00re-sealed\xff".to_vec())),
                (Some(KEY_ID.into()), Some(b"next-old".to_vec())),
            ]
        );
        // The same value again: it is no longer there, nothing changes.
        assert!(!store.reseal_factor_secret(&read, NEW_KEY, b"twice").await.unwrap());

        // A server replaced the waiting secret after it was read (same key, new bytes):
        // the older one re-sealed must not overwrite it.
        let next_read = sealed("app", SecretSlot::Next, KEY_ID, b"next-old");
        assert!(store.set_next_secret("app", KEY_ID, b"next-newer").await.unwrap());
        assert!(!store.reseal_factor_secret(&next_read, NEW_KEY, b"stale").await.unwrap());
        assert_eq!(
            secrets_of(&store, &alice.id, "app").await[1],
            (Some(KEY_ID.into()), Some(b"next-newer".to_vec()))
        );
        let next_read = sealed("app", SecretSlot::Next, KEY_ID, b"next-newer");
        assert!(store.reseal_factor_secret(&next_read, NEW_KEY, b"next-re").await.unwrap());
        assert_eq!(
            secrets_of(&store, &alice.id, "app").await,
            [
                (Some(NEW_KEY.into()), Some(b"\x00re-sealed\xff".to_vec())),
                (Some(NEW_KEY.into()), Some(b"next-re".to_vec())),
            ]
        );
        assert_eq!(store.secret_key_uses(KEY_ID).await.unwrap(), KeyUses::default());
    }

    async fn client_secrets_under_other_keys_are_paged_and_resealed_while_unchanged(
        store: Store,
    ) {
        given_key(&store).await;
        given_new_key(&store).await;
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        for (org, name, key) in [
            (&globex, "okta", KEY_ID),
            (&acme, "okta", KEY_ID),
            (&acme, "entra", KEY_ID),
            (&acme, "google", NEW_KEY),
        ] {
            store.put_oidc_provider(&provider(&org.id, name, key)).await.unwrap();
        }
        let read = |org: &str, name: &str| SealedOidcSecret {
            org_id: org.into(),
            name: name.into(),
            issuer: format!("https://{name}.example.com"),
            client_id: format!("client-{name}"),
            key_id: KEY_ID.into(),
            sealed: hash(&format!("client-secret-{name}")),
        };
        let page = store.oidc_secrets_not_under(NEW_KEY, ("", ""), 2).await.unwrap();
        assert_eq!(page, [read(&acme.id, "entra"), read(&acme.id, "okta")]);
        let rest = store
            .oidc_secrets_not_under(NEW_KEY, (&acme.id, "okta"), 2)
            .await
            .unwrap();
        assert_eq!(rest, [read(&globex.id, "okta")]);

        // Changed meanwhile (a new client id, the same sealed bytes): not replaced.
        let mut moved = provider(&acme.id, "entra", KEY_ID);
        moved.client_id = "client-other".into();
        store.put_oidc_provider(&moved).await.unwrap();
        assert!(!store
            .reseal_oidc_secret(&read(&acme.id, "entra"), NEW_KEY, b"re")
            .await
            .unwrap());
        assert!(store
            .reseal_oidc_secret(&read(&acme.id, "okta"), NEW_KEY, b"\x00re\xff")
            .await
            .unwrap());
        let okta = store.oidc_providers_of_org(&acme.id).await.unwrap();
        let okta = okta.iter().find(|p| p.name == "okta").unwrap();
        assert_eq!(
            (okta.secret_key_id.as_str(), okta.client_secret_sealed.as_slice()),
            (NEW_KEY, &b"\x00re\xff"[..])
        );
        assert_eq!(
            store.secret_key_uses(KEY_ID).await.unwrap(),
            KeyUses { oidc_client_secrets: 2, ..KeyUses::default() }
        );
    }
}
