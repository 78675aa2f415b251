//! `RecoveryStore`: a user's set of recovery codes, replaced whole (using one up is in
//! `one_time`).

use twofold_core::store::{RecoveryRow, Store};

use crate::fixtures::*;

conformance! {
    async fn a_set_of_codes_reads_back_unused_by_id(store: Store) {
        let (_, alice) = given_alice(&store).await;
        assert!(
            store
                .unused_recovery_codes(&alice.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.count_unused_recovery_codes(&alice.id).await.unwrap(),
            0
        );

        let rows: Vec<RecoveryRow> = ["r3", "r1", "r2"]
            .into_iter()
            .map(|id| recovery(id, &alice.id))
            .collect();
        store.replace_recovery_codes(&alice.id, rows).await.unwrap();
        assert_eq!(
            store.unused_recovery_codes(&alice.id).await.unwrap(),
            [
                ("r1".to_owned(), argon2_hash("r1")),
                ("r2".to_owned(), argon2_hash("r2")),
                ("r3".to_owned(), argon2_hash("r3")),
            ]
        );
        assert_eq!(
            store.count_unused_recovery_codes(&alice.id).await.unwrap(),
            3
        );
    }

    async fn a_new_set_replaces_the_old_one_of_that_user_only(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let (a, b) = (&alice.id, &bob.id);
        store
            .replace_recovery_codes(a, vec![recovery("a1", a), recovery("a2", a)])
            .await
            .unwrap();
        store
            .replace_recovery_codes(b, vec![recovery("b1", b)])
            .await
            .unwrap();

        store
            .replace_recovery_codes(a, vec![recovery("a3", a)])
            .await
            .unwrap();
        let ids: Vec<String> = store
            .unused_recovery_codes(a)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["a3"]);
        assert_eq!(store.count_unused_recovery_codes(b).await.unwrap(), 1);

        store.replace_recovery_codes(a, Vec::new()).await.unwrap();
        assert_eq!(store.count_unused_recovery_codes(a).await.unwrap(), 0);
        assert_eq!(store.count_unused_recovery_codes(b).await.unwrap(), 1);
    }

    async fn a_set_that_fails_to_write_leaves_the_old_one(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let a = &alice.id;
        store
            .replace_recovery_codes(a, vec![recovery("a1", a)])
            .await
            .unwrap();
        // The second row repeats an id: the whole replacement is undone.
        let bad = vec![recovery("a2", a), recovery("a2", a)];
        assert_duplicate(store.replace_recovery_codes(a, bad).await);
        assert_eq!(
            store.unused_recovery_codes(a).await.unwrap(),
            [("a1".to_owned(), argon2_hash("a1"))]
        );
    }
}
