//! `UsersStore` and its `Store` helpers: users, their passwords, and the changes that end
//! what a password or a reset must end.

use twofold_core::store::{Reservation, Store, StoreError, UserRow};

use crate::fixtures::*;

/// No lock until the fifth attempt, which locks for a minute from [`T0`].
fn lock_on_fifth(n: i64) -> Option<i64> {
    (n >= 5).then_some(T0 + MIN)
}

conformance! {
    async fn a_user_reads_back_as_inserted_by_id_and_by_login(store: Store) {
        let acme = given_org(&store, "acme").await;
        let u = UserRow {
            id: "u-1".into(),
            org_id: acme.id.clone(),
            // Joined in from the organisation on reads, whatever is given here.
            org_slug: "not-read".into(),
            username: "alice".into(),
            email: "alice@acme.example".into(),
            role: "admin".into(),
            federated: true,
            password_hash: Some(argon2_hash("alice")),
            created_at: T0,
            last_login_at: None,
            last_login_ip: None,
        };
        store.insert_user(&u).await.unwrap();
        let want = UserRow {
            org_slug: "acme".into(),
            ..u
        };
        assert_rows_eq!(store.user_by_id("u-1").await.unwrap(), Some(&want));
        assert_rows_eq!(
            store.user_by_login("acme", "alice").await.unwrap(),
            Some(&want)
        );
    }

    async fn a_user_without_a_password_reads_back_without_one(store: Store) {
        let acme = given_org(&store, "acme").await;
        let u = UserRow {
            password_hash: None,
            role: "owner".into(),
            ..user(&acme, "olga")
        };
        store.insert_user(&u).await.unwrap();
        assert_rows_eq!(store.user_by_id(&u.id).await.unwrap(), Some(&u));
    }

    async fn missing_users_are_none(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        given_org(&store, "globex").await;
        assert!(store.user_by_id("nobody").await.unwrap().is_none());
        assert!(
            store
                .user_by_login(&acme.slug, "bob")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .user_by_login("globex", &alice.username)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .user_by_login("initech", &alice.username)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .user_by_login(&acme.slug, "Alice")
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_taken_username_is_refused_by_constraint_name(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let again = UserRow {
            id: "another-id".into(),
            email: "other@acme.example".into(),
            ..user(&acme, "alice")
        };
        let err = store.insert_user(&again).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate("users_org_username_key")),
            "{err:?}"
        );
        assert_rows_eq!(
            store.user_by_login("acme", "alice").await.unwrap(),
            Some(&alice)
        );
        assert!(store.user_by_id("another-id").await.unwrap().is_none());

        // The same username in another organisation is another user.
        let globex = given_org(&store, "globex").await;
        let elsewhere = given_user(&store, &globex, "alice").await;
        assert_rows_eq!(
            store.user_by_login("globex", "alice").await.unwrap(),
            Some(&elsewhere)
        );
    }

    async fn users_of_an_org_come_by_username_with_their_active_factors(store: Store) {
        given_key(&store).await;
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        assert!(store.users_of_org(&acme.id).await.unwrap().is_empty());

        let carol = given_user(&store, &acme, "carol").await;
        let alice = given_user(&store, &acme, "alice").await;
        let bob = given_user(&store, &acme, "bob").await;
        given_user(&store, &globex, "aaron").await;
        store.insert_factor(&totp("a1", &alice.id)).await.unwrap();
        store
            .insert_factor(&email_factor("a2", &alice.id))
            .await
            .unwrap();
        store
            .insert_factor(&pending_totp("a3", &alice.id))
            .await
            .unwrap();
        store
            .insert_factor(&pending_totp("b1", &bob.id))
            .await
            .unwrap();
        store.insert_factor(&totp("c1", &carol.id)).await.unwrap();

        let got = store.users_of_org(&acme.id).await.unwrap();
        let summary: Vec<(&str, i64)> =
            got.iter().map(|(u, n)| (u.username.as_str(), *n)).collect();
        assert_eq!(summary, [("alice", 2), ("bob", 0), ("carol", 1)]);
        assert_rows_eq!(got[0].0, alice);
        assert_rows_eq!(got[1].0, bob);
        assert_rows_eq!(got[2].0, carol);
    }

    async fn a_login_is_recorded_with_its_time_and_address(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store.record_login(&alice.id, T0 + MIN).await.unwrap();
        store
            .set_last_login_ip(&alice.id, "192.0.2.44")
            .await
            .unwrap();
        let read = store.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(read.last_login_at, Some(T0 + MIN));
        assert_eq!(read.last_login_ip.as_deref(), Some("192.0.2.44"));

        store.record_login(&alice.id, T0 + HOUR).await.unwrap();
        store
            .set_last_login_ip(&alice.id, "2001:db8::1")
            .await
            .unwrap();
        // Setting the same address again changes nothing.
        store
            .set_last_login_ip(&alice.id, "2001:db8::1")
            .await
            .unwrap();
        let read = store.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(read.last_login_at, Some(T0 + HOUR));
        assert_eq!(read.last_login_ip.as_deref(), Some("2001:db8::1"));
        assert_rows_eq!(
            read,
            UserRow {
                last_login_at: Some(T0 + HOUR),
                last_login_ip: Some("2001:db8::1".into()),
                ..alice
            }
        );
    }

    async fn a_password_hash_is_replaced_only_while_the_old_one_is_stored(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let old = alice.password_hash.clone().unwrap();
        let (new, newer) = (argon2_hash("new"), argon2_hash("newer"));

        assert!(
            store
                .replace_password_hash(&alice.id, &old, &new)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .user_by_id(&alice.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            Some(new.clone())
        );
        // The old hash is stale now.
        assert!(
            !store
                .replace_password_hash(&alice.id, &old, &newer)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .user_by_id(&alice.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            Some(new.clone())
        );
        assert!(
            !store
                .replace_password_hash("nobody", &new, &newer)
                .await
                .unwrap()
        );

        // A user without a password has no hash to match.
        let fred = UserRow {
            password_hash: None,
            ..user(&acme, "fred")
        };
        store.insert_user(&fred).await.unwrap();
        assert!(
            !store
                .replace_password_hash(&fred.id, "", &newer)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .user_by_id(&fred.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            None
        );
    }

    async fn a_password_change_ends_everything_else_of_the_user_and_keeps_the_session_given(
        store: Store,
    ) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        for s in ["keep", "other1", "other2"] {
            store.insert_session(&session(s, &alice.id)).await.unwrap();
        }
        store
            .insert_device(&device("d1", &alice.id, T0), 10)
            .await
            .unwrap();
        store
            .insert_device(&device("d2", &alice.id, T0 + 1), 10)
            .await
            .unwrap();
        store.insert_flow(&flow("f1", &alice.id)).await.unwrap();
        store
            .insert_session(&session("bob-s", &bob.id))
            .await
            .unwrap();
        store
            .insert_device(&device("bob-d", &bob.id, T0), 10)
            .await
            .unwrap();
        store.insert_flow(&flow("bob-f", &bob.id)).await.unwrap();

        let old = alice.password_hash.clone().unwrap();
        let new = argon2_hash("changed");
        let ended = store
            .change_password(&alice.id, Some(&old), &new, "keep")
            .await
            .unwrap();
        assert_eq!(ended, Some((2, 2)));

        let read = store.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(read.password_hash, Some(new));
        let left: Vec<String> = store
            .sessions_of_user(&alice.id, T0)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, ["keep"]);
        assert!(
            store
                .devices_of_user(&alice.id, T0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .flow_by_token(&flow("f1", "").token_hash)
                .await
                .unwrap()
                .is_none()
        );

        // Bob's are untouched.
        assert_eq!(store.sessions_of_user(&bob.id, T0).await.unwrap().len(), 1);
        assert_eq!(store.devices_of_user(&bob.id, T0).await.unwrap().len(), 1);
        assert!(
            store
                .flow_by_token(&flow("bob-f", "").token_hash)
                .await
                .unwrap()
                .is_some()
        );
    }

    async fn a_password_change_from_a_stale_hash_writes_nothing(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store
            .insert_session(&session("s1", &alice.id))
            .await
            .unwrap();
        store
            .insert_session(&session("s2", &alice.id))
            .await
            .unwrap();
        store
            .insert_device(&device("d1", &alice.id, T0), 10)
            .await
            .unwrap();
        store.insert_flow(&flow("f1", &alice.id)).await.unwrap();

        let ended = store
            .change_password(&alice.id, Some("$argon2id$stale"), &argon2_hash("x"), "s1")
            .await
            .unwrap();
        assert_eq!(ended, None);
        assert_eq!(
            store
                .user_by_id(&alice.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            alice.password_hash
        );
        assert_eq!(
            store.sessions_of_user(&alice.id, T0).await.unwrap().len(),
            2
        );
        assert_eq!(store.devices_of_user(&alice.id, T0).await.unwrap().len(), 1);
        assert!(
            store
                .flow_by_token(&flow("f1", "").token_hash)
                .await
                .unwrap()
                .is_some()
        );

        assert_eq!(
            store
                .change_password("nobody", None, &argon2_hash("x"), "")
                .await
                .unwrap(),
            None
        );
    }

    async fn an_operator_reset_sets_the_password_whatever_it_was_and_can_keep_no_session(
        store: Store,
    ) {
        let acme = given_org(&store, "acme").await;
        let fred = UserRow {
            password_hash: None,
            ..user(&acme, "fred")
        };
        store.insert_user(&fred).await.unwrap();
        store
            .insert_session(&session("s1", &fred.id))
            .await
            .unwrap();
        store
            .insert_session(&session("s2", &fred.id))
            .await
            .unwrap();
        store
            .insert_device(&device("d1", &fred.id, T0), 10)
            .await
            .unwrap();

        let new = argon2_hash("reset");
        let ended = store
            .change_password(&fred.id, None, &new, "")
            .await
            .unwrap();
        assert_eq!(ended, Some((2, 1)));
        assert_eq!(
            store
                .user_by_id(&fred.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            Some(new)
        );
        assert!(
            store
                .sessions_of_user(&fred.id, T0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .devices_of_user(&fred.id, T0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn an_mfa_reset_removes_every_second_factor_thing_of_the_user_only(store: Store) {
        given_key(&store).await;
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        for u in [&alice, &bob] {
            let p = &u.id;
            store
                .insert_factor(&totp(&format!("{p}-app"), p))
                .await
                .unwrap();
            store
                .insert_factor(&email_factor(&format!("{p}-mail"), p))
                .await
                .unwrap();
            store
                .insert_factor(&pending_totp(&format!("{p}-pending"), p))
                .await
                .unwrap();
            store
                .replace_recovery_codes(p, vec![recovery(&format!("{p}-r1"), p)])
                .await
                .unwrap();
            store
                .insert_device(&device(&format!("{p}-d"), p, T0), 10)
                .await
                .unwrap();
            store
                .put_confirmation(&confirmation(p, "email_login", &format!("{p}-c")), T0)
                .await
                .unwrap();
            store
                .insert_session(&session(&format!("{p}-s1"), p))
                .await
                .unwrap();
            store
                .insert_session(&session(&format!("{p}-s2"), p))
                .await
                .unwrap();
            store
                .insert_flow(&flow(&format!("{p}-f"), p))
                .await
                .unwrap();
            for _ in 0..5 {
                store
                    .reserve_mfa_attempt(p, T0, Box::new(lock_on_fifth))
                    .await
                    .unwrap();
            }
            assert_eq!(store.mfa_locked_until(p, T0).await.unwrap(), Some(T0 + MIN));
        }

        assert_eq!(store.reset_mfa(&alice.id).await.unwrap(), (3, 2));

        let a = &alice.id;
        assert!(store.factors_of_user(a).await.unwrap().is_empty());
        assert_eq!(store.count_unused_recovery_codes(a).await.unwrap(), 0);
        assert!(store.devices_of_user(a, T0).await.unwrap().is_empty());
        assert!(
            store
                .confirmation(a, "email_login")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.sessions_of_user(a, T0).await.unwrap().is_empty());
        let f = flow(&format!("{a}-f"), a);
        assert!(store.flow_by_token(&f.token_hash).await.unwrap().is_none());
        assert_eq!(store.mfa_locked_until(a, T0).await.unwrap(), None);
        assert_eq!(
            store
                .reserve_mfa_attempt(a, T0, Box::new(lock_on_fifth))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 1 }
        );
        // The user and their password stay.
        assert_rows_eq!(store.user_by_id(a).await.unwrap(), Some(&alice));

        let b = &bob.id;
        assert_eq!(store.factors_of_user(b).await.unwrap().len(), 3);
        assert_eq!(store.count_unused_recovery_codes(b).await.unwrap(), 1);
        assert_eq!(store.devices_of_user(b, T0).await.unwrap().len(), 1);
        assert!(
            store
                .confirmation(b, "email_login")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.sessions_of_user(b, T0).await.unwrap().len(), 2);
        let f = flow(&format!("{b}-f"), b);
        assert!(store.flow_by_token(&f.token_hash).await.unwrap().is_some());
        assert_eq!(store.mfa_locked_until(b, T0).await.unwrap(), Some(T0 + MIN));

        // Nothing left to reset.
        assert_eq!(store.reset_mfa(&alice.id).await.unwrap(), (0, 0));
    }

    async fn unlocking_clears_failures_and_lock_and_says_whether_there_were_any(store: Store) {
        let (_, alice) = given_alice(&store).await;
        assert!(!store.unlock_mfa(&alice.id).await.unwrap());
        assert!(!store.unlock_mfa("nobody").await.unwrap());

        // A failure counted, no lock yet.
        store
            .reserve_mfa_attempt(&alice.id, T0, Box::new(lock_on_fifth))
            .await
            .unwrap();
        assert!(store.unlock_mfa(&alice.id).await.unwrap());
        assert!(!store.unlock_mfa(&alice.id).await.unwrap());
        assert_eq!(
            store
                .reserve_mfa_attempt(&alice.id, T0, Box::new(lock_on_fifth))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 1 }
        );

        // Locked.
        for _ in 0..4 {
            store
                .reserve_mfa_attempt(&alice.id, T0, Box::new(lock_on_fifth))
                .await
                .unwrap();
        }
        assert_eq!(
            store.mfa_locked_until(&alice.id, T0).await.unwrap(),
            Some(T0 + MIN)
        );
        assert!(store.unlock_mfa(&alice.id).await.unwrap());
        assert_eq!(store.mfa_locked_until(&alice.id, T0).await.unwrap(), None);
        assert_eq!(
            store
                .reserve_mfa_attempt(&alice.id, T0, Box::new(lock_on_fifth))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 1 }
        );
    }

    async fn users_are_searched_by_part_of_a_name_or_email_in_any_case_a_page_at_a_time(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        for name in ["alice", "bob", "carol", "dave", "erin", "50%_off"] {
            given_user(&store, &acme, name).await;
        }
        given_user(&store, &globex, "alice2").await;
        given_key(&store).await;
        store.insert_factor(&totp("f-carol", "acme-carol")).await.unwrap();
        let names = |page: &[twofold_core::store::ListedUser]| {
            page.iter().map(|u| u.user.username.clone()).collect::<Vec<_>>()
        };
        let search = |text: &str, from: &str, backwards: bool, limit: i64| twofold_core::store::UserSearch {
            text: text.into(),
            from: from.into(),
            backwards,
            limit,
        };
        // Everyone, by username, two at a time.
        let page = store.users_page(&acme.id, &search("", "", false, 2)).await.unwrap();
        assert_eq!(store.count_users(&acme.id, "", i64::MAX).await.unwrap(), 6);
        // The count stops at its cap.
        assert_eq!(store.count_users(&acme.id, "example", 4).await.unwrap(), 4);
        assert_eq!(names(&page), ["50%_off", "alice"]);
        let page = store.users_page(&acme.id, &search("", "alice", false, 2)).await.unwrap();
        assert_eq!(names(&page), ["bob", "carol"]);
        assert_eq!(page[1].active_factors, 1);
        assert_eq!(page[0].active_factors, 0);
        // The page before "carol", in order.
        let page = store.users_page(&acme.id, &search("", "carol", true, 2)).await.unwrap();
        assert_eq!(names(&page), ["alice", "bob"]);
        // Any case, in the username or the email; another organisation's users never.
        let page = store.users_page(&acme.id, &search("BO", "", false, 10)).await.unwrap();
        let total = store.count_users(&acme.id, "BO", 100).await.unwrap();
        assert_eq!((names(&page), total), (vec!["bob".to_owned()], 1));
        let page = store.users_page(&acme.id, &search("acme.EXAMPLE", "", false, 10)).await.unwrap();
        assert_eq!(page.len(), 6);
        let page = store.users_page(&acme.id, &search("ali", "", false, 10)).await.unwrap();
        assert_eq!(names(&page), ["alice"]);
        // LIKE's wildcards are plain characters here.
        let page = store.users_page(&acme.id, &search("%_", "", false, 10)).await.unwrap();
        let total = store.count_users(&acme.id, "%_", 100).await.unwrap();
        assert_eq!((names(&page), total), (vec!["50%_off".to_owned()], 1));
        let page = store.users_page(&acme.id, &search("_", "", false, 10)).await.unwrap();
        let total = store.count_users(&acme.id, "_", 100).await.unwrap();
        assert_eq!((page.len(), total), (1, 1));
    }

    async fn a_listed_user_carries_their_lock(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        for _ in 0..5 {
            store.reserve_mfa_attempt(&alice.id, T0, Box::new(lock_on_fifth)).await.unwrap();
        }
        let q = twofold_core::store::UserSearch { limit: 10, ..Default::default() };
        let page = store.users_page(&acme.id, &q).await.unwrap();
        assert_eq!(page[0].mfa_locked_until, Some(T0 + MIN));
    }

    async fn a_role_is_set_on_the_user_only(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        assert!(store.set_role(&alice.id, "admin").await.unwrap());
        assert_eq!(store.user_by_id(&alice.id).await.unwrap().unwrap().role, "admin");
        assert_eq!(store.user_by_id(&bob.id).await.unwrap().unwrap().role, "member");
        assert!(!store.set_role("nobody", "admin").await.unwrap());
    }
}
