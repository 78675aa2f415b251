//! `LockoutStore`: reserving second-factor attempts against the per-user lock.

use twofold_core::store::{Reservation, Store, StoreError};

use crate::fixtures::*;

/// No lock for two attempts; the third locks for a minute after `now`, the fourth for two.
fn lock_after(now: i64) -> Box<dyn Fn(i64) -> Option<i64> + Send + Sync> {
    Box::new(move |n| (n >= 3).then_some(now + (n - 2) * MIN))
}

conformance! {
    async fn attempts_are_counted_until_one_sets_the_lock(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        assert_eq!(store.mfa_locked_until(a, T0).await.unwrap(), None);
        for attempt in 1..=2 {
            assert_eq!(
                store
                    .reserve_mfa_attempt(a, T0, lock_after(T0))
                    .await
                    .unwrap(),
                Reservation::Granted { attempt }
            );
            assert_eq!(store.mfa_locked_until(a, T0).await.unwrap(), None);
        }
        // The third is still evaluated: it sets the lock should it fail.
        assert_eq!(
            store
                .reserve_mfa_attempt(a, T0, lock_after(T0))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 3 }
        );
        assert_eq!(store.mfa_locked_until(a, T0).await.unwrap(), Some(T0 + MIN));
        for now in [T0, T0 + MIN - 1] {
            assert_eq!(
                store
                    .reserve_mfa_attempt(a, now, lock_after(now))
                    .await
                    .unwrap(),
                Reservation::Locked { until: T0 + MIN }
            );
        }
    }

    async fn a_lock_ends_at_its_time_and_the_count_goes_on(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        for _ in 0..3 {
            store
                .reserve_mfa_attempt(a, T0, lock_after(T0))
                .await
                .unwrap();
        }
        let until = T0 + MIN;
        assert_eq!(
            store.mfa_locked_until(a, until - 1).await.unwrap(),
            Some(until)
        );
        assert_eq!(store.mfa_locked_until(a, until).await.unwrap(), None);
        assert_eq!(store.mfa_locked_until(a, until + HOUR).await.unwrap(), None);

        // Refused attempts during the lock were not counted.
        store
            .reserve_mfa_attempt(a, T0 + SEC, lock_after(T0 + SEC))
            .await
            .unwrap();
        assert_eq!(
            store
                .reserve_mfa_attempt(a, until, lock_after(until))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 4 }
        );
        assert_eq!(
            store.mfa_locked_until(a, until).await.unwrap(),
            Some(until + 2 * MIN)
        );
        assert_eq!(
            store
                .reserve_mfa_attempt(a, until + MIN, lock_after(until))
                .await
                .unwrap(),
            Reservation::Locked {
                until: until + 2 * MIN
            }
        );
    }

    async fn an_expired_lock_stays_when_the_next_attempt_sets_none(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        for _ in 0..3 {
            store
                .reserve_mfa_attempt(a, T0, lock_after(T0))
                .await
                .unwrap();
        }
        let later = T0 + HOUR;
        assert_eq!(
            store
                .reserve_mfa_attempt(a, later, Box::new(|_| None))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 4 }
        );
        assert_eq!(store.mfa_locked_until(a, later).await.unwrap(), None);
        assert_eq!(store.mfa_locked_until(a, T0).await.unwrap(), Some(T0 + MIN));
    }

    async fn each_user_has_their_own_count(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        for _ in 0..3 {
            store
                .reserve_mfa_attempt(&alice.id, T0, lock_after(T0))
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .reserve_mfa_attempt(&bob.id, T0, lock_after(T0))
                .await
                .unwrap(),
            Reservation::Granted { attempt: 1 }
        );
        assert_eq!(store.mfa_locked_until(&bob.id, T0).await.unwrap(), None);
    }

    async fn the_lock_of_an_unknown_user_is_an_error(store: Store) {
        given_alice(&store).await;
        assert!(matches!(
            store.mfa_locked_until("nobody", T0).await,
            Err(StoreError::Missing("user"))
        ));
        assert!(matches!(
            store
                .reserve_mfa_attempt("nobody", T0, lock_after(T0))
                .await,
            Err(StoreError::Missing("user"))
        ));
    }

    // PostgreSQL answers `Missing("user")` (as the code check does on both engines), SQLite
    // `Sqlite(QueryReturnedNoRows)`.
    async fn reserving_for_an_unknown_user_says_the_user_is_missing(store: Store) {
        given_alice(&store).await;
        let err = store
            .reserve_mfa_attempt("nobody", T0, lock_after(T0))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Missing("user")), "{err:?}");
    }

    async fn attempts_reserved_at_once_get_one_number_each_up_to_the_lock(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let got = at_once(10, |_| {
            let (store, id) = (store.clone(), alice.id.clone());
            async move {
                store
                    .reserve_mfa_attempt(&id, T0, lock_after(T0))
                    .await
                    .unwrap()
            }
        })
        .await;
        let mut granted: Vec<i64> = got
            .iter()
            .filter_map(|r| match r {
                Reservation::Granted { attempt } => Some(*attempt),
                Reservation::Locked { .. } => None,
            })
            .collect();
        granted.sort_unstable();
        // The third sets the lock: every later one finds it.
        assert_eq!(granted, [1, 2, 3], "{got:?}");
        let locked = got
            .iter()
            .filter(|r| **r == Reservation::Locked { until: T0 + MIN });
        assert_eq!(locked.count(), 7, "{got:?}");
    }
}
