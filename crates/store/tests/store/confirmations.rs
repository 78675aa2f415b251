//! `ConfirmationsStore` and its `Store` helpers: mailed codes, one per user and purpose,
//! each changed only while it is still the code that was read.

use twofold_core::store::{ConfirmationRow, Store};

use crate::fixtures::*;

const PURPOSE: &str = "disable_mfa";

conformance! {
    async fn a_code_reads_back_as_stored(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let c = ConfirmationRow {
            user_id: alice.id.clone(),
            purpose: PURPOSE.into(),
            salt: hash("salt"),
            code_hash: hash("code"),
            expires_at: T0 + 5 * MIN,
            attempts_left: 4,
            created_at: T0 - SEC,
            bound_to: Some("flow-7".into()),
        };
        assert!(store.put_confirmation(&c, T0).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(c.clone())
        );

        let unbound = ConfirmationRow {
            purpose: "email_login".into(),
            bound_to: None,
            ..c
        };
        assert!(store.put_confirmation(&unbound, T0).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, "email_login").await.unwrap(),
            Some(unbound)
        );
    }

    async fn a_missing_code_is_none(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .put_confirmation(&confirmation(&alice.id, PURPOSE, "1"), T0)
            .await
            .unwrap();
        assert!(
            store
                .confirmation(&alice.id, "other")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .confirmation(&bob.id, PURPOSE)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_new_code_replaces_one_made_up_to_the_time_given(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let first = confirmation(&alice.id, PURPOSE, "111111");
        store.put_confirmation(&first, T0).await.unwrap();

        // The stored one was made at T0: a request that read nothing newer replaces it.
        let second = ConfirmationRow {
            created_at: T0 + 30 * SEC,
            expires_at: T0 + 330 * SEC,
            attempts_left: 5,
            bound_to: None,
            ..confirmation(&alice.id, PURPOSE, "222222")
        };
        assert!(store.put_confirmation(&second, T0).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(second.clone())
        );

        // One that read the first code only must not replace the second.
        let late = ConfirmationRow {
            created_at: T0 + 31 * SEC,
            ..confirmation(&alice.id, PURPOSE, "333333")
        };
        assert!(
            !store
                .put_confirmation(&late, T0 + 30 * SEC - 1)
                .await
                .unwrap()
        );
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(second)
        );
        assert!(store.put_confirmation(&late, T0 + 30 * SEC).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(late)
        );
    }

    async fn codes_of_other_purposes_and_users_are_apart(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let a = confirmation(&alice.id, PURPOSE, "a");
        let a2 = confirmation(&alice.id, "email_login", "a2");
        let b = confirmation(&bob.id, PURPOSE, "b");
        for c in [&a, &a2, &b] {
            assert!(store.put_confirmation(c, T0).await.unwrap());
        }
        assert!(store.consume_confirmation(&a).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, "email_login").await.unwrap(),
            Some(a2)
        );
        assert_eq!(store.confirmation(&bob.id, PURPOSE).await.unwrap(), Some(b));
    }

    async fn a_code_is_consumed_once_and_only_while_it_is_the_one_read(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let c = confirmation(&alice.id, PURPOSE, "123456");
        store.put_confirmation(&c, T0).await.unwrap();

        let other_code = confirmation(&alice.id, PURPOSE, "654321");
        assert!(!store.consume_confirmation(&other_code).await.unwrap());
        assert!(
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .is_some()
        );

        assert!(store.consume_confirmation(&c).await.unwrap());
        assert!(!store.consume_confirmation(&c).await.unwrap());
        assert!(
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_wrong_attempt_is_counted_until_none_are_left(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let c = ConfirmationRow {
            attempts_left: 2,
            ..confirmation(&alice.id, PURPOSE, "123456")
        };
        store.put_confirmation(&c, T0).await.unwrap();
        let left = || async {
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .unwrap()
                .attempts_left
        };

        assert!(store.spend_confirmation_attempt(&c).await.unwrap());
        assert_eq!(left().await, 1);
        // A replaced code's attempts are not the ones read.
        let other_code = confirmation(&alice.id, PURPOSE, "000000");
        assert!(!store.spend_confirmation_attempt(&other_code).await.unwrap());
        assert_eq!(left().await, 1);
        assert!(store.spend_confirmation_attempt(&c).await.unwrap());
        assert_eq!(left().await, 0);
        assert!(!store.spend_confirmation_attempt(&c).await.unwrap());
        assert_eq!(left().await, 0);
    }

    async fn an_expired_code_is_dropped_unless_a_new_one_replaced_it(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let old = confirmation(&alice.id, PURPOSE, "111111");
        store.put_confirmation(&old, T0).await.unwrap();
        let new = ConfirmationRow {
            created_at: T0 + MIN,
            ..confirmation(&alice.id, PURPOSE, "222222")
        };
        store.put_confirmation(&new, T0).await.unwrap();

        assert!(!store.drop_confirmation(&old).await.unwrap());
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(new.clone())
        );
        assert!(store.drop_confirmation(&new).await.unwrap());
        assert!(!store.drop_confirmation(&new).await.unwrap());
        assert!(
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_live_code_is_rebound_to_what_it_is_now_for(store: Store) {
        let (_, alice) = given_alice(&store).await;
        assert!(
            !store
                .rebind_confirmation(&alice.id, PURPOSE, "flow-2")
                .await
                .unwrap()
        );

        let c = confirmation(&alice.id, PURPOSE, "123456");
        store.put_confirmation(&c, T0).await.unwrap();
        let other = confirmation(&alice.id, "email_login", "999999");
        store.put_confirmation(&other, T0).await.unwrap();

        assert!(
            store
                .rebind_confirmation(&alice.id, PURPOSE, "flow-2")
                .await
                .unwrap()
        );
        assert_eq!(
            store.confirmation(&alice.id, PURPOSE).await.unwrap(),
            Some(ConfirmationRow {
                bound_to: Some("flow-2".into()),
                ..c
            })
        );
        assert_eq!(
            store.confirmation(&alice.id, "email_login").await.unwrap(),
            Some(other)
        );
    }

    async fn a_code_consumed_by_many_at_once_is_consumed_once(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let c = confirmation(&alice.id, PURPOSE, "123456");
        store.put_confirmation(&c, T0).await.unwrap();
        let won = at_once(8, |_| {
            let (store, c) = (store.clone(), c.clone());
            async move { store.consume_confirmation(&c).await.unwrap() }
        })
        .await;
        assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
    }

    async fn of_many_new_codes_asked_for_at_once_one_is_stored(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .put_confirmation(&confirmation(&alice.id, PURPOSE, "000000"), T0)
            .await
            .unwrap();
        // Each read the code made at T0 and makes its own a moment later.
        let won = at_once(8, |i| {
            let store = store.clone();
            let row = ConfirmationRow {
                created_at: T0 + 30 * SEC,
                ..confirmation(&alice.id, PURPOSE, &format!("{i}{i}{i}"))
            };
            async move { store.put_confirmation(&row, T0).await.unwrap() }
        })
        .await;
        assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
        let winner = won.iter().position(|&w| w).unwrap();
        let stored = store
            .confirmation(&alice.id, PURPOSE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.code_hash,
            hash(&format!("code-{winner}{winner}{winner}"))
        );
    }
}
