//! `PasswordThrottleStore` and its `Store` helper: consecutive wrong passwords per
//! organisation and username as typed, and the wait they set.

use std::sync::{Arc, Mutex};

use twofold_core::store::Store;

use crate::fixtures::*;

/// No wait below three failures; from the third, a wait of `n` minutes after [`T0`].
fn wait_from_third(n: i64) -> Option<i64> {
    (n >= 3).then_some(T0 + n * MIN)
}

async fn fail(store: &Store, slug: &str, username: &str, now: i64) -> i64 {
    store
        .count_password_failure(slug, username, now, Box::new(wait_from_third))
        .await
        .unwrap()
}

conformance! {
    async fn failures_are_counted_and_set_the_wait_given_for_the_count(store: Store) {
        assert_eq!(
            store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap(),
            None
        );

        let seen = Arc::new(Mutex::new(Vec::new()));
        for want in 1..=4 {
            let seen = seen.clone();
            let n = store
                .count_password_failure(
                    "acme",
                    "alice",
                    T0 + want * SEC,
                    Box::new(move |n| {
                        seen.lock().unwrap().push(n);
                        wait_from_third(n)
                    }),
                )
                .await
                .unwrap();
            assert_eq!(n, want);
            let until = store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap();
            assert_eq!(until, wait_from_third(want));
        }
        assert_eq!(*seen.lock().unwrap(), [1, 2, 3, 4]);
    }

    async fn a_count_without_a_wait_keeps_the_wait_already_set(store: Store) {
        for _ in 0..3 {
            fail(&store, "acme", "alice", T0).await;
        }
        assert_eq!(
            store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap(),
            Some(T0 + 3 * MIN)
        );
        let n = store
            .count_password_failure("acme", "alice", T0 + SEC, Box::new(|_| None))
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert_eq!(
            store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap(),
            Some(T0 + 3 * MIN)
        );
    }

    async fn each_org_and_username_as_typed_counts_apart(store: Store) {
        for _ in 0..3 {
            fail(&store, "acme", "alice", T0).await;
        }
        assert_eq!(fail(&store, "acme", "Alice", T0).await, 1);
        assert_eq!(fail(&store, "globex", "alice", T0).await, 1);
        assert_eq!(fail(&store, "acme", "bob", T0).await, 1);
        assert_eq!(
            store
                .password_throttled_until("acme", "Alice")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap(),
            Some(T0 + 3 * MIN)
        );
    }

    async fn the_right_password_clears_the_count_and_the_wait(store: Store) {
        for _ in 0..3 {
            fail(&store, "acme", "alice", T0).await;
        }
        fail(&store, "acme", "bob", T0).await;
        store
            .clear_password_failures("acme", "alice")
            .await
            .unwrap();
        assert_eq!(
            store
                .password_throttled_until("acme", "alice")
                .await
                .unwrap(),
            None
        );
        assert_eq!(fail(&store, "acme", "alice", T0).await, 1);
        assert_eq!(fail(&store, "acme", "bob", T0).await, 2);
        store
            .clear_password_failures("acme", "nobody")
            .await
            .unwrap();
    }

    async fn a_purge_forgets_failures_counted_before_the_time_whose_wait_is_over(store: Store) {
        let before = T0 + HOUR;
        // Counted before, no wait: forgotten.
        fail(&store, "acme", "idle", T0).await;
        // Counted before, wait over before: forgotten.
        for _ in 0..3 {
            fail(&store, "acme", "waited", T0).await;
        }
        // Counted before, still waiting at `before`: kept.
        for _ in 0..3 {
            store
                .count_password_failure("acme", "waiting", T0, Box::new(|_| Some(T0 + 2 * HOUR)))
                .await
                .unwrap();
        }
        // Counted at `before`: kept.
        fail(&store, "acme", "recent", before).await;

        assert_eq!(store.purge_password_failures(before).await.unwrap(), 2);
        assert_eq!(fail(&store, "acme", "idle", before).await, 1);
        assert_eq!(fail(&store, "acme", "waited", before).await, 1);
        assert_eq!(
            store
                .password_throttled_until("acme", "waiting")
                .await
                .unwrap(),
            Some(T0 + 2 * HOUR)
        );
        assert_eq!(fail(&store, "acme", "recent", before).await, 2);
        assert_eq!(store.purge_password_failures(before).await.unwrap(), 0);
    }

    async fn failures_counted_at_once_get_one_count_each(store: Store) {
        let mut counts = at_once(8, |_| {
            let store = store.clone();
            async move {
                store
                    .count_password_failure("acme", "alice", T0, Box::new(|_| None))
                    .await
                    .unwrap()
            }
        })
        .await;
        counts.sort_unstable();
        assert_eq!(counts, [1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
