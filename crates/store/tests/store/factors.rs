//! `FactorsStore` and its `Store` helpers: authenticator apps and email factors, their
//! activation, preference and regenerated secrets.

use twofold_core::store::{
    Activate, Activation, FactorRow, FactorState, NewPending, Store, StoreError,
};

use crate::fixtures::*;

/// A second encryption key, for regenerated secrets.
const NEXT_KEY: &str = "key-2025";

fn activate(id: &str, user_id: &str) -> Activate {
    Activate {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        step: Some(60_000_123),
        now: T0 + MIN,
        only_if_first: false,
        preferred: false,
    }
}

async fn factor(store: &Store, user_id: &str, id: &str) -> FactorRow {
    store.factor_of_user(user_id, id).await.unwrap().unwrap()
}

async fn factor_ids(store: &Store, user_id: &str) -> Vec<String> {
    let all = store.factors_of_user(user_id).await.unwrap();
    all.into_iter().map(|f| f.id).collect()
}

async fn preferred(store: &Store, user_id: &str) -> Vec<String> {
    let all = store.factors_of_user(user_id).await.unwrap();
    all.into_iter()
        .filter(|f| f.preferred)
        .map(|f| f.id)
        .collect()
}

conformance! {
    async fn an_authenticator_app_reads_back_as_inserted(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let f = totp("app-1", &alice.id);
        store.insert_factor(&f).await.unwrap();
        assert_rows_eq!(
            store.factor_of_user(&alice.id, "app-1").await.unwrap(),
            Some(&f)
        );
        assert_rows_eq!(store.factors_of_user(&alice.id).await.unwrap(), [&f]);

        let p = pending_totp("app-2", &alice.id);
        store.insert_factor(&p).await.unwrap();
        assert_rows_eq!(
            store.factor_of_user(&alice.id, "app-2").await.unwrap(),
            Some(&p)
        );
    }

    async fn an_email_factor_reads_back_as_inserted(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let f = email_factor("mail-1", &alice.id);
        store.insert_factor(&f).await.unwrap();
        assert_rows_eq!(
            store.factor_of_user(&alice.id, "mail-1").await.unwrap(),
            Some(&f)
        );
    }

    async fn a_factor_is_found_only_with_its_own_user(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .insert_factor(&totp("app-1", &alice.id))
            .await
            .unwrap();
        assert!(
            store
                .factor_of_user(&bob.id, "app-1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .factor_of_user(&alice.id, "app-2")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.factors_of_user(&bob.id).await.unwrap().is_empty());
        assert!(store.factors_of_user("nobody").await.unwrap().is_empty());
    }

    async fn factors_of_a_user_come_oldest_first(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let at = |id: &str, created_at| FactorRow {
            created_at,
            ..totp(id, &alice.id)
        };
        store.insert_factor(&at("a", T0 - 5 * DAY)).await.unwrap();
        store.insert_factor(&at("c", T0 - 10 * DAY)).await.unwrap();
        store.insert_factor(&at("b", T0 - 10 * DAY)).await.unwrap();
        store.insert_factor(&at("d", T0 - 20 * DAY)).await.unwrap();
        assert_eq!(factor_ids(&store, &alice.id).await, ["d", "b", "c", "a"]);
    }

    async fn a_second_email_factor_is_refused_by_constraint_name(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .insert_factor(&email_factor("mail-1", &alice.id))
            .await
            .unwrap();
        let err = store
            .insert_factor(&email_factor("mail-2", &alice.id))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate("factors_one_email_key")),
            "{err:?}"
        );
        // A pending one counts too.
        let pending = FactorRow {
            status: FactorState::Pending,
            activated_at: None,
            ..email_factor("mail-3", &alice.id)
        };
        let err = store.insert_factor(&pending).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate("factors_one_email_key")),
            "{err:?}"
        );
        assert_eq!(factor_ids(&store, &alice.id).await, ["mail-1"]);

        // Another user's email, and any number of apps, are fine.
        store
            .insert_factor(&email_factor("mail-b", &bob.id))
            .await
            .unwrap();
        store
            .insert_factor(&totp("app-1", &alice.id))
            .await
            .unwrap();
        store
            .insert_factor(&totp("app-2", &alice.id))
            .await
            .unwrap();
        assert_eq!(store.factors_of_user(&alice.id).await.unwrap().len(), 3);
    }

    async fn only_active_factors_are_counted(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        assert_eq!(store.count_active_factors(&alice.id).await.unwrap(), 0);
        store
            .insert_factor(&pending_totp("p", &alice.id))
            .await
            .unwrap();
        assert_eq!(store.count_active_factors(&alice.id).await.unwrap(), 0);
        store.insert_factor(&totp("a", &alice.id)).await.unwrap();
        store
            .insert_factor(&email_factor("m", &alice.id))
            .await
            .unwrap();
        assert_eq!(store.count_active_factors(&alice.id).await.unwrap(), 2);
        assert_eq!(store.count_active_factors("nobody").await.unwrap(), 0);
    }

    async fn a_new_pending_app_replaces_the_unfinished_one_below_the_limit(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        let pending_mail = FactorRow {
            status: FactorState::Pending,
            activated_at: None,
            ..email_factor("mail", a)
        };
        store.insert_factor(&pending_mail).await.unwrap();
        store.insert_factor(&pending_totp("p1", a)).await.unwrap();

        let p2 = pending_totp("p2", a);
        assert_eq!(
            store.replace_pending_totp(&p2, 2).await.unwrap(),
            NewPending::Inserted
        );
        // The unfinished app went; a pending email factor is not an app.
        assert_eq!(factor_ids(&store, a).await, ["p2", "mail"]);
        assert_rows_eq!(store.factor_of_user(a, "p2").await.unwrap(), Some(&p2));

        // One active app: still room for another.
        store.insert_factor(&totp("active-1", a)).await.unwrap();
        let p3 = pending_totp("p3", a);
        assert_eq!(
            store.replace_pending_totp(&p3, 2).await.unwrap(),
            NewPending::Inserted
        );
        assert_eq!(factor_ids(&store, a).await, ["active-1", "p3", "mail"]);

        // Two active apps (an active email factor does not count): the limit.
        store.insert_factor(&totp("active-2", a)).await.unwrap();
        let mail = Activate {
            step: None,
            ..activate("mail", a)
        };
        assert_eq!(
            store.activate_factor(&mail).await.unwrap(),
            Activation::Activated
        );
        let p4 = pending_totp("p4", a);
        assert_eq!(
            store.replace_pending_totp(&p4, 2).await.unwrap(),
            NewPending::TooMany { active: 2 }
        );
        assert_eq!(
            factor_ids(&store, a).await,
            ["active-1", "active-2", "p3", "mail"]
        );
        assert_eq!(
            store.replace_pending_totp(&p4, 0).await.unwrap(),
            NewPending::TooMany { active: 2 }
        );
        assert_eq!(
            store.replace_pending_totp(&p4, 3).await.unwrap(),
            NewPending::Inserted
        );
        assert_eq!(
            factor_ids(&store, a).await,
            ["active-1", "active-2", "p4", "mail"]
        );
    }

    async fn activation_writes_the_time_and_step_once(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        let p = pending_totp("p", a);
        store.insert_factor(&p).await.unwrap();

        let act = Activate {
            step: Some(60_000_001),
            ..activate("p", a)
        };
        assert_eq!(
            store.activate_factor(&act).await.unwrap(),
            Activation::Activated
        );
        assert_rows_eq!(
            store.factor_of_user(a, "p").await.unwrap(),
            Some(FactorRow {
                status: FactorState::Active,
                activated_at: Some(T0 + MIN),
                last_used_at: Some(T0 + MIN),
                last_used_step: Some(60_000_001),
                ..p
            })
        );

        let again = Activate {
            step: Some(60_000_002),
            now: T0 + HOUR,
            ..activate("p", a)
        };
        assert_eq!(
            store.activate_factor(&again).await.unwrap(),
            Activation::NotPending
        );
        let read = factor(&store, a, "p").await;
        assert_eq!(read.activated_at, Some(T0 + MIN));
        assert_eq!(read.last_used_step, Some(60_000_001));

        assert_eq!(
            store
                .activate_factor(&activate("nothing", a))
                .await
                .unwrap(),
            Activation::NotPending
        );
    }

    async fn an_email_factor_activates_without_a_step(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let pending = FactorRow {
            status: FactorState::Pending,
            activated_at: None,
            ..email_factor("mail", &alice.id)
        };
        store.insert_factor(&pending).await.unwrap();
        let act = Activate {
            step: None,
            ..activate("mail", &alice.id)
        };
        assert_eq!(
            store.activate_factor(&act).await.unwrap(),
            Activation::Activated
        );
        let read = factor(&store, &alice.id, "mail").await;
        assert_eq!(read.status, FactorState::Active);
        assert_eq!(read.last_used_step, None);
        assert_eq!(read.activated_at, Some(T0 + MIN));
    }

    async fn another_users_pending_factor_is_not_activated(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .insert_factor(&pending_totp("p", &alice.id))
            .await
            .unwrap();
        assert_eq!(
            store
                .activate_factor(&activate("p", &bob.id))
                .await
                .unwrap(),
            Activation::NotPending
        );
        assert_eq!(factor(&store, &alice.id, "p").await.status, FactorState::Pending);
    }

    async fn a_first_only_activation_is_refused_once_the_user_has_an_active_factor(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        store
            .insert_factor(&pending_totp("first", a))
            .await
            .unwrap();
        store
            .insert_factor(&pending_totp("second", a))
            .await
            .unwrap();
        let first_only = |id: &str| Activate {
            only_if_first: true,
            ..activate(id, a)
        };

        assert_eq!(
            store.activate_factor(&first_only("first")).await.unwrap(),
            Activation::Activated
        );
        assert_eq!(
            store.activate_factor(&first_only("second")).await.unwrap(),
            Activation::NotFirst
        );
        let second = factor(&store, a, "second").await;
        assert_eq!(
            (second.status.as_str(), second.activated_at),
            ("pending", None)
        );

        // Without the condition it activates.
        assert_eq!(
            store.activate_factor(&activate("second", a)).await.unwrap(),
            Activation::Activated
        );
    }

    async fn activating_as_preferred_makes_it_the_only_preferred_one(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let (a, b) = (&alice.id, &bob.id);
        for id in ["one", "two", "three"] {
            store.insert_factor(&pending_totp(id, a)).await.unwrap();
        }
        store.insert_factor(&pending_totp("bobs", b)).await.unwrap();
        let preferring = |id: &str, user: &str| Activate {
            preferred: true,
            ..activate(id, user)
        };

        store.activate_factor(&preferring("bobs", b)).await.unwrap();
        store.activate_factor(&preferring("one", a)).await.unwrap();
        assert_eq!(preferred(&store, a).await, ["one"]);
        store.activate_factor(&activate("two", a)).await.unwrap();
        assert_eq!(preferred(&store, a).await, ["one"]);
        store
            .activate_factor(&preferring("three", a))
            .await
            .unwrap();
        assert_eq!(preferred(&store, a).await, ["three"]);
        assert_eq!(preferred(&store, b).await, ["bobs"]);

        // A refused activation changes no preference.
        let refused = Activate {
            only_if_first: true,
            ..preferring("one", a)
        };
        assert_eq!(
            store.activate_factor(&refused).await.unwrap(),
            Activation::NotFirst
        );
        assert_eq!(preferred(&store, a).await, ["three"]);
    }

    async fn only_an_active_factor_of_the_user_can_be_preferred(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let (a, b) = (&alice.id, &bob.id);
        store.insert_factor(&totp("app", a)).await.unwrap();
        store.insert_factor(&email_factor("mail", a)).await.unwrap();
        store
            .insert_factor(&pending_totp("pending", a))
            .await
            .unwrap();
        store.insert_factor(&totp("bobs", b)).await.unwrap();

        assert!(store.set_preferred_factor(a, "app").await.unwrap());
        assert_eq!(preferred(&store, a).await, ["app"]);
        assert!(store.set_preferred_factor(a, "mail").await.unwrap());
        assert_eq!(preferred(&store, a).await, ["mail"]);

        assert!(!store.set_preferred_factor(a, "pending").await.unwrap());
        assert!(!store.set_preferred_factor(a, "bobs").await.unwrap());
        assert!(!store.set_preferred_factor(a, "nothing").await.unwrap());
        assert_eq!(preferred(&store, a).await, ["mail"]);
        assert!(preferred(&store, b).await.is_empty());

        assert!(store.set_preferred_factor(b, "bobs").await.unwrap());
        assert_eq!(preferred(&store, b).await, ["bobs"]);
        assert_eq!(preferred(&store, a).await, ["mail"]);
    }

    async fn a_regenerated_secret_waits_beside_the_current_one_until_promoted(store: Store) {
        given_key(&store).await;
        store
            .register_secret_key(NEXT_KEY, b"check-2", T0)
            .await
            .unwrap();
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        let app = totp("app", a);
        store.insert_factor(&app).await.unwrap();
        store
            .insert_factor(&pending_totp("pending", a))
            .await
            .unwrap();

        assert!(
            !store
                .set_next_secret("pending", NEXT_KEY, b"next-p")
                .await
                .unwrap()
        );
        assert_eq!(factor(&store, a, "pending").await.next_secret_sealed, None);
        assert!(
            !store
                .set_next_secret("nothing", NEXT_KEY, b"next")
                .await
                .unwrap()
        );
        assert!(!store.promote_next_secret("app", 5, T0).await.unwrap());

        assert!(
            store
                .set_next_secret("app", KEY_ID, b"first-try")
                .await
                .unwrap()
        );
        assert!(
            store
                .set_next_secret("app", NEXT_KEY, b"\x00second\xff")
                .await
                .unwrap()
        );
        assert_rows_eq!(
            factor(&store, a, "app").await,
            FactorRow {
                next_secret_key_id: Some(NEXT_KEY.into()),
                next_secret_sealed: Some(b"\x00second\xff".to_vec()),
                ..app.clone()
            }
        );

        // A resynchronisation in progress and a learnt drift, as a code check leaves them.
        let changed = store
            .exec_text(
                "UPDATE factors SET drift_steps = CAST($1 AS BIGINT), \
                 resync_step = CAST($2 AS BIGINT), resync_at = CAST($3 AS BIGINT) WHERE id = $4",
                &["-2", "59999990", "1799999990000", "app"],
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let resyncing = factor(&store, a, "app").await;
        assert_eq!(
            (
                resyncing.drift_steps,
                resyncing.resync_step,
                resyncing.resync_at
            ),
            (-2, Some(59_999_990), Some(1_799_999_990_000))
        );

        assert!(
            store
                .promote_next_secret("app", 60_000_777, T0 + MIN)
                .await
                .unwrap()
        );
        assert_rows_eq!(
            factor(&store, a, "app").await,
            FactorRow {
                secret_key_id: Some(NEXT_KEY.into()),
                secret_sealed: Some(b"\x00second\xff".to_vec()),
                last_used_step: Some(60_000_777),
                last_used_at: Some(T0 + MIN),
                drift_steps: 0,
                resync_step: None,
                resync_at: None,
                ..app
            }
        );
        assert!(
            !store
                .promote_next_secret("app", 60_000_778, T0 + HOUR)
                .await
                .unwrap()
        );
        assert_eq!(
            factor(&store, a, "app").await.last_used_step,
            Some(60_000_777)
        );
    }

    async fn a_pending_delete_spares_an_active_factor(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        store
            .insert_factor(&pending_totp("pending", a))
            .await
            .unwrap();
        store.insert_factor(&totp("active", a)).await.unwrap();

        assert!(!store.delete_pending_factor("active").await.unwrap());
        assert!(store.delete_pending_factor("pending").await.unwrap());
        assert!(!store.delete_pending_factor("pending").await.unwrap());
        assert_eq!(factor_ids(&store, a).await, ["active"]);

        assert!(store.delete_factor("active").await.unwrap());
        assert!(!store.delete_factor("active").await.unwrap());
        assert!(store.factors_of_user(a).await.unwrap().is_empty());
    }

    async fn of_first_factors_activated_at_once_only_one_is(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        for i in 0..6 {
            store
                .insert_factor(&pending_totp(&format!("p{i}"), &alice.id))
                .await
                .unwrap();
        }
        let got = at_once(6, |i| {
            let store = store.clone();
            let act = Activate {
                only_if_first: true,
                ..activate(&format!("p{i}"), &alice.id)
            };
            async move { store.activate_factor(&act).await.unwrap() }
        })
        .await;
        let activated = got.iter().filter(|a| **a == Activation::Activated).count();
        let refused = got.iter().filter(|a| **a == Activation::NotFirst).count();
        assert_eq!((activated, refused), (1, 5), "{got:?}");
        assert_eq!(store.count_active_factors(&alice.id).await.unwrap(), 1);
    }

    async fn of_pending_apps_added_at_once_one_stays(store: Store) {
        given_key(&store).await;
        let (_, alice) = given_alice(&store).await;
        let got = at_once(6, |i| {
            let store = store.clone();
            let f = pending_totp(&format!("p{i}"), &alice.id);
            async move { store.replace_pending_totp(&f, 1).await.unwrap() }
        })
        .await;
        assert!(got.iter().all(|g| *g == NewPending::Inserted), "{got:?}");
        assert_eq!(store.factors_of_user(&alice.id).await.unwrap().len(), 1);
    }
}
