//! `SessionsStore` and its `Store` helpers: sessions, their strength, and ending them.

use twofold_core::store::{SessionRow, Store};

use crate::fixtures::*;

async fn session_ids(store: &Store, user_id: &str) -> Vec<String> {
    let live = store.sessions_of_user(user_id, T0).await.unwrap();
    live.into_iter().map(|s| s.id).collect()
}

/// A session raised to aal 2 by factor `factor_id`.
fn strong(id: &str, user_id: &str, factor_id: &str) -> SessionRow {
    SessionRow {
        aal: 2,
        amr: "pwd otp".into(),
        factor_id: Some(factor_id.into()),
        mfa_at: Some(T0 - MIN),
        ..session(id, user_id)
    }
}

conformance! {
    async fn a_session_reads_back_as_inserted(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let s = SessionRow {
            id: "s-1".into(),
            token_hash: hash("token-1"),
            user_id: alice.id.clone(),
            aal: 2,
            amr: "pwd otp".into(),
            factor_id: Some("factor-9".into()),
            created_at: T0 - HOUR,
            expires_at: T0 + DAY,
            mfa_at: Some(T0 - 30 * MIN),
            ip: Some("2001:db8::7".into()),
            user_agent: Some("Firefox/140".into()),
        };
        store.insert_session(&s).await.unwrap();
        assert_rows_eq!(
            store.session_by_token(&s.token_hash, T0).await.unwrap(),
            Some(&s)
        );
        assert_rows_eq!(store.sessions_of_user(&alice.id, T0).await.unwrap(), [&s]);

        let bare = SessionRow {
            ip: None,
            user_agent: None,
            ..session("s-2", &alice.id)
        };
        store.insert_session(&bare).await.unwrap();
        assert_rows_eq!(
            store.session_by_token(&bare.token_hash, T0).await.unwrap(),
            Some(&bare)
        );
    }

    async fn a_session_is_found_by_its_token_only_while_it_lives(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let s = session("s", &alice.id);
        store.insert_session(&s).await.unwrap();
        assert!(
            store
                .session_by_token(&hash("other"), T0)
                .await
                .unwrap()
                .is_none()
        );
        let at = |now| store.session_by_token(&s.token_hash, now);
        assert!(at(s.expires_at - 1).await.unwrap().is_some());
        assert!(at(s.expires_at).await.unwrap().is_none());
        assert!(at(s.expires_at + 1).await.unwrap().is_none());
    }

    async fn a_taken_session_token_is_refused(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let s = session("s", &alice.id);
        store.insert_session(&s).await.unwrap();
        let twin = SessionRow {
            id: "twin".into(),
            ..s.clone()
        };
        assert_duplicate(store.insert_session(&twin).await);
        assert_eq!(session_ids(&store, &alice.id).await, ["s"]);
    }

    async fn sessions_of_a_user_are_the_live_ones_newest_first(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let at = |id: &str, created_at, expires_at| SessionRow {
            created_at,
            expires_at,
            ..session(id, &alice.id)
        };
        store
            .insert_session(&at("old", T0 - 3 * HOUR, T0 + HOUR))
            .await
            .unwrap();
        store
            .insert_session(&at("new", T0 - HOUR, T0 + HOUR))
            .await
            .unwrap();
        store
            .insert_session(&at("mid-a", T0 - 2 * HOUR, T0 + HOUR))
            .await
            .unwrap();
        store
            .insert_session(&at("mid-b", T0 - 2 * HOUR, T0 + HOUR))
            .await
            .unwrap();
        store
            .insert_session(&at("expired", T0 - 4 * HOUR, T0))
            .await
            .unwrap();
        store
            .insert_session(&session("bobs", &bob.id))
            .await
            .unwrap();

        assert_eq!(
            session_ids(&store, &alice.id).await,
            ["new", "mid-b", "mid-a", "old"]
        );
        let earlier = store.sessions_of_user(&alice.id, T0 - 1).await.unwrap();
        assert_eq!(earlier.len(), 5);
        assert_eq!(earlier[4].id, "expired");
        assert!(
            store
                .sessions_of_user("nobody", T0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn raising_a_session_records_how_and_when(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let s = session("s", &alice.id);
        store.insert_session(&s).await.unwrap();

        assert!(
            store
                .raise_session("s", "pwd otp", Some("app-1"), T0 + MIN)
                .await
                .unwrap()
        );
        let want = SessionRow {
            aal: 2,
            amr: "pwd otp".into(),
            factor_id: Some("app-1".into()),
            mfa_at: Some(T0 + MIN),
            ..s
        };
        assert_rows_eq!(
            store.session_by_token(&want.token_hash, T0).await.unwrap(),
            Some(&want)
        );

        // Again, by a method with no factor (a remembered device, say).
        assert!(
            store
                .raise_session("s", "pwd mfa", None, T0 + HOUR)
                .await
                .unwrap()
        );
        let read = store
            .session_by_token(&want.token_hash, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (read.aal, read.amr.as_str(), read.factor_id, read.mfa_at),
            (2, "pwd mfa", None, Some(T0 + HOUR))
        );

        assert!(
            !store
                .raise_session("gone", "pwd otp", None, T0)
                .await
                .unwrap()
        );
    }

    async fn a_session_is_ended_by_id_or_as_its_own_user(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        for id in ["s1", "s2", "s3"] {
            store.insert_session(&session(id, &alice.id)).await.unwrap();
        }
        store.delete_session("s1").await.unwrap();
        store.delete_session("s1").await.unwrap();
        assert_eq!(session_ids(&store, &alice.id).await, ["s3", "s2"]);

        assert!(!store.delete_own_session(&bob.id, "s2").await.unwrap());
        assert!(store.delete_own_session(&alice.id, "s2").await.unwrap());
        assert!(!store.delete_own_session(&alice.id, "s2").await.unwrap());
        assert_eq!(session_ids(&store, &alice.id).await, ["s3"]);
    }

    async fn ending_the_other_sessions_keeps_the_one_given(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        for id in ["keep", "x", "y"] {
            store.insert_session(&session(id, &alice.id)).await.unwrap();
        }
        store
            .insert_session(&session("bobs", &bob.id))
            .await
            .unwrap();

        assert_eq!(
            store
                .delete_other_sessions(&alice.id, "keep")
                .await
                .unwrap(),
            2
        );
        assert_eq!(session_ids(&store, &alice.id).await, ["keep"]);
        assert_eq!(session_ids(&store, &bob.id).await, ["bobs"]);
        assert_eq!(
            store
                .delete_other_sessions(&alice.id, "keep")
                .await
                .unwrap(),
            0
        );
        assert_eq!(store.delete_other_sessions(&alice.id, "").await.unwrap(), 1);
        assert!(session_ids(&store, &alice.id).await.is_empty());
    }

    async fn ending_the_other_password_only_sessions_spares_strong_ones(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .insert_session(&session("keep", &alice.id))
            .await
            .unwrap();
        store
            .insert_session(&session("weak", &alice.id))
            .await
            .unwrap();
        store
            .insert_session(&strong("strong", &alice.id, "app"))
            .await
            .unwrap();
        store
            .insert_session(&session("bobs", &bob.id))
            .await
            .unwrap();

        assert_eq!(
            store
                .delete_other_aal1_sessions(&alice.id, "keep")
                .await
                .unwrap(),
            1
        );
        let mut left = session_ids(&store, &alice.id).await;
        left.sort();
        assert_eq!(left, ["keep", "strong"]);
        // "" keeps none of them.
        assert_eq!(
            store
                .delete_other_aal1_sessions(&alice.id, "")
                .await
                .unwrap(),
            1
        );
        assert_eq!(session_ids(&store, &alice.id).await, ["strong"]);
        assert_eq!(session_ids(&store, &bob.id).await, ["bobs"]);
    }

    async fn removing_a_factor_lowers_the_sessions_it_raised(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let raised = strong("raised", &alice.id, "app");
        store.insert_session(&raised).await.unwrap();
        store
            .insert_session(&strong("other-factor", &alice.id, "mail"))
            .await
            .unwrap();
        store
            .insert_session(&strong("bobs", &bob.id, "bobs-app"))
            .await
            .unwrap();

        assert_eq!(store.lower_sessions_of_factor(&alice.id, "app").await.unwrap(), 1);
        assert_rows_eq!(
            store
                .session_by_token(&raised.token_hash, T0)
                .await
                .unwrap(),
            Some(SessionRow {
                aal: 1,
                amr: "pwd".into(),
                factor_id: None,
                mfa_at: None,
                ..raised
            })
        );
        let other = store
            .session_by_token(&session("other-factor", "").token_hash, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((other.aal, other.factor_id.as_deref()), (2, Some("mail")));
        assert_eq!(store.lower_sessions_of_factor(&alice.id, "app").await.unwrap(), 0);
        assert_eq!(store.lower_sessions_of_factor(&alice.id, "nothing").await.unwrap(), 0);
    }
}
