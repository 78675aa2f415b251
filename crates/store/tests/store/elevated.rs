//! `ElevatedStore` and its `Store` helper: step-up tokens (spent once, gone with their
//! session) and organisation API keys.

use twofold_core::store::{ApiKeyRow, ElevatedRow, Store};

use crate::fixtures::*;

async fn key_ids(store: &Store, org_id: &str) -> Vec<String> {
    let keys = store.api_keys_of_org(org_id).await.unwrap();
    keys.into_iter().map(|k| k.id).collect()
}

conformance! {
    async fn an_elevated_token_reads_back_as_inserted(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s", &alice.id))
            .await
            .unwrap();
        let e = ElevatedRow {
            id: "e-1".into(),
            token_hash: hash("elevated-token"),
            user_id: alice.id.clone(),
            session_id: "s".into(),
            scopes: "factors:write".into(),
            amr: "pwd otp".into(),
            single_use: true,
            created_at: T0 - MIN,
            expires_at: T0 + 4 * MIN,
            used_at: None,
        };
        store.insert_elevated(&e).await.unwrap();
        assert_rows_eq!(
            store.elevated_by_token(&e.token_hash).await.unwrap(),
            Some(&e)
        );

        let reusable = ElevatedRow {
            single_use: false,
            used_at: Some(T0 - 30 * SEC),
            ..elevated("e-2", &alice.id, "s")
        };
        store.insert_elevated(&reusable).await.unwrap();
        assert_rows_eq!(
            store.elevated_by_token(&reusable.token_hash).await.unwrap(),
            Some(&reusable)
        );
    }

    async fn an_elevated_token_is_found_live_or_not_and_only_by_its_hash(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s", &alice.id))
            .await
            .unwrap();
        let expired = ElevatedRow {
            created_at: T0 - HOUR,
            expires_at: T0 - 55 * MIN,
            ..elevated("e", &alice.id, "s")
        };
        store.insert_elevated(&expired).await.unwrap();
        assert_rows_eq!(
            store.elevated_by_token(&expired.token_hash).await.unwrap(),
            Some(&expired)
        );
        assert!(
            store
                .elevated_by_token(&hash("unknown"))
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn an_elevated_token_needs_its_session(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let e = elevated("e", &alice.id, "no-such-session");
        assert_refused(store.insert_elevated(&e).await);
        assert!(
            store
                .elevated_by_token(&e.token_hash)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_single_use_token_is_spent_once(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s", &alice.id))
            .await
            .unwrap();
        let e = elevated("e", &alice.id, "s");
        store.insert_elevated(&e).await.unwrap();

        assert!(store.spend_elevated("e", T0 + SEC).await.unwrap());
        assert!(!store.spend_elevated("e", T0 + 2 * SEC).await.unwrap());
        assert_rows_eq!(
            store.elevated_by_token(&e.token_hash).await.unwrap(),
            Some(ElevatedRow {
                used_at: Some(T0 + SEC),
                ..e
            })
        );
        assert!(!store.spend_elevated("unknown", T0).await.unwrap());
    }

    async fn a_reusable_token_is_never_spent(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s", &alice.id))
            .await
            .unwrap();
        let e = ElevatedRow {
            single_use: false,
            ..elevated("e", &alice.id, "s")
        };
        store.insert_elevated(&e).await.unwrap();
        assert!(!store.spend_elevated("e", T0 + SEC).await.unwrap());
        assert_rows_eq!(
            store.elevated_by_token(&e.token_hash).await.unwrap(),
            Some(&e)
        );
    }

    async fn elevated_tokens_end_with_their_session(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s1", &alice.id))
            .await
            .unwrap();
        store
            .insert_session(&session("s2", &alice.id))
            .await
            .unwrap();
        let e1 = elevated("e1", &alice.id, "s1");
        let e2 = elevated("e2", &alice.id, "s2");
        store.insert_elevated(&e1).await.unwrap();
        store.insert_elevated(&e2).await.unwrap();

        store.delete_session("s1").await.unwrap();
        assert!(
            store
                .elevated_by_token(&e1.token_hash)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .elevated_by_token(&e2.token_hash)
                .await
                .unwrap()
                .is_some()
        );

        // Also when a password change ends the session.
        store
            .change_password(&alice.id, None, &argon2_hash("new"), "")
            .await
            .unwrap();
        assert!(
            store
                .elevated_by_token(&e2.token_hash)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn an_api_key_reads_back_as_inserted(store: Store) {
        let acme = given_org(&store, "acme").await;
        let k = ApiKeyRow {
            id: "k-1".into(),
            org_id: acme.id.clone(),
            name: "CI pipeline".into(),
            key_hash: hash("api-key-secret"),
            created_by: Some("admin-7".into()),
            created_at: T0 - DAY,
            last_used_at: Some(T0 - HOUR),
        };
        store.insert_api_key(&k).await.unwrap();
        assert_rows_eq!(store.api_key_by_hash(&k.key_hash).await.unwrap(), Some(&k));
        assert_rows_eq!(store.api_keys_of_org(&acme.id).await.unwrap(), [&k]);

        let bare = ApiKeyRow {
            created_by: None,
            last_used_at: None,
            ..api_key("k-2", &acme.id, T0)
        };
        store.insert_api_key(&bare).await.unwrap();
        assert_rows_eq!(
            store.api_key_by_hash(&bare.key_hash).await.unwrap(),
            Some(&bare)
        );
        assert!(
            store
                .api_key_by_hash(&hash("unknown"))
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_taken_key_hash_is_refused(store: Store) {
        let acme = given_org(&store, "acme").await;
        let k = api_key("k", &acme.id, T0);
        store.insert_api_key(&k).await.unwrap();
        let twin = ApiKeyRow {
            id: "twin".into(),
            ..k.clone()
        };
        assert_duplicate(store.insert_api_key(&twin).await);
        assert_eq!(key_ids(&store, &acme.id).await, ["k"]);
    }

    async fn keys_of_an_org_come_oldest_first(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        assert!(store.api_keys_of_org(&acme.id).await.unwrap().is_empty());
        for (id, at) in [
            ("new", T0),
            ("old", T0 - 2 * DAY),
            ("mid-b", T0 - DAY),
            ("mid-a", T0 - DAY),
        ] {
            store
                .insert_api_key(&api_key(id, &acme.id, at))
                .await
                .unwrap();
        }
        store
            .insert_api_key(&api_key("theirs", &globex.id, T0))
            .await
            .unwrap();
        assert_eq!(
            key_ids(&store, &acme.id).await,
            ["old", "mid-a", "mid-b", "new"]
        );
        assert_eq!(key_ids(&store, &globex.id).await, ["theirs"]);
    }

    async fn using_a_key_records_when(store: Store) {
        let acme = given_org(&store, "acme").await;
        let k = api_key("k", &acme.id, T0 - DAY);
        store.insert_api_key(&k).await.unwrap();
        store.touch_api_key("k", T0 + MIN).await.unwrap();
        assert_rows_eq!(
            store.api_key_by_hash(&k.key_hash).await.unwrap(),
            Some(ApiKeyRow {
                last_used_at: Some(T0 + MIN),
                ..k
            })
        );
        store.touch_api_key("unknown", T0).await.unwrap();
    }

    async fn a_key_is_revoked_only_by_its_own_org(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        let k = api_key("k", &acme.id, T0);
        store.insert_api_key(&k).await.unwrap();
        store
            .insert_api_key(&api_key("k2", &acme.id, T0))
            .await
            .unwrap();

        assert!(!store.delete_api_key(&globex.id, "k").await.unwrap());
        assert!(store.api_key_by_hash(&k.key_hash).await.unwrap().is_some());
        assert!(store.delete_api_key(&acme.id, "k").await.unwrap());
        assert!(!store.delete_api_key(&acme.id, "k").await.unwrap());
        assert!(store.api_key_by_hash(&k.key_hash).await.unwrap().is_none());
        assert_eq!(key_ids(&store, &acme.id).await, ["k2"]);
    }

    async fn a_token_presented_by_many_at_once_is_spent_once(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s", &alice.id))
            .await
            .unwrap();
        store
            .insert_elevated(&elevated("e", &alice.id, "s"))
            .await
            .unwrap();
        let won = at_once(8, |i| {
            let store = store.clone();
            async move { store.spend_elevated("e", T0 + i as i64).await.unwrap() }
        })
        .await;
        assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
    }
}
