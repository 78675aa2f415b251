//! `ImportStore`: many users at once, each with the authenticator it brings, all or none.

use std::collections::HashSet;

use twofold_core::store::{FactorRow, ImportedUser, Store, StoreError, UserRow};

use crate::fixtures::*;

fn imported(user: UserRow, factor: Option<FactorRow>) -> ImportedUser {
    ImportedUser { user, factor }
}

async fn usernames(store: &Store, org_id: &str) -> Vec<String> {
    let mut names: Vec<String> = store
        .usernames_in_org(org_id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    names.sort();
    names
}

conformance! {
    async fn the_usernames_of_an_org_are_listed(store: Store) {
        let (acme, _) = given_alice(&store).await;
        let globex = given_org(&store, "globex").await;
        given_user(&store, &acme, "bob").await;
        given_user(&store, &globex, "gina").await;
        let want: HashSet<String> = ["alice", "bob"].map(String::from).into();
        assert_eq!(store.usernames_in_org(&acme.id).await.unwrap(), want);
        assert!(
            store
                .usernames_in_org("no-such-org")
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn imported_users_and_their_factors_read_back_as_given(store: Store) {
        given_key(&store).await;
        let acme = given_org(&store, "acme").await;
        let with_app = UserRow {
            role: "admin".into(),
            ..user(&acme, "ivan")
        };
        let app = totp("ivan-app", &with_app.id);
        let without = UserRow {
            password_hash: Some("$2b$12$importedimportedimporte".into()),
            ..user(&acme, "jane")
        };
        let batch = [
            imported(with_app.clone(), Some(app.clone())),
            imported(without.clone(), None),
        ];
        store.insert_imported_users(&batch).await.unwrap();

        assert_rows_eq!(
            store.user_by_id(&with_app.id).await.unwrap(),
            Some(&with_app)
        );
        assert_rows_eq!(store.user_by_id(&without.id).await.unwrap(), Some(&without));
        assert_rows_eq!(store.factors_of_user(&with_app.id).await.unwrap(), [&app]);
        assert!(store.factors_of_user(&without.id).await.unwrap().is_empty());

        store.insert_imported_users(&[]).await.unwrap();
        assert_eq!(usernames(&store, &acme.id).await, ["ivan", "jane"]);
    }

    async fn a_taken_username_fails_its_row_and_the_whole_batch(store: Store) {
        let (acme, _) = given_alice(&store).await;
        let batch = [
            imported(user(&acme, "ivan"), None),
            imported(
                UserRow {
                    id: "new-alice".into(),
                    ..user(&acme, "alice")
                },
                None,
            ),
            imported(user(&acme, "jane"), None),
        ];
        let (row, err) = store.insert_imported_users(&batch).await.unwrap_err();
        assert_eq!(row, 1);
        assert!(
            matches!(err, StoreError::Duplicate("users_org_username_key")),
            "{err:?}"
        );
        assert_eq!(usernames(&store, &acme.id).await, ["alice"]);
    }

    async fn a_username_twice_in_a_batch_fails_at_its_second_row(store: Store) {
        let acme = given_org(&store, "acme").await;
        let batch = [
            imported(user(&acme, "ivan"), None),
            imported(user(&acme, "jane"), None),
            imported(
                UserRow {
                    id: "ivan-2".into(),
                    ..user(&acme, "ivan")
                },
                None,
            ),
        ];
        let (row, err) = store.insert_imported_users(&batch).await.unwrap_err();
        assert_eq!(row, 2);
        assert!(
            matches!(err, StoreError::Duplicate("users_org_username_key")),
            "{err:?}"
        );
        assert!(usernames(&store, &acme.id).await.is_empty());
    }

    async fn a_factor_that_cannot_be_written_fails_its_row_and_the_whole_batch(store: Store) {
        // No key registered: a sealed secret naming one is refused.
        let acme = given_org(&store, "acme").await;
        let ivan = user(&acme, "ivan");
        let jane = user(&acme, "jane");
        let batch = [
            imported(ivan.clone(), None),
            imported(jane.clone(), Some(totp("jane-app", &jane.id))),
        ];
        let (row, err) = store.insert_imported_users(&batch).await.unwrap_err();
        assert_eq!(row, 1);
        assert!(!matches!(err, StoreError::Duplicate(_)), "{err:?}");
        assert!(usernames(&store, &acme.id).await.is_empty());
        assert!(store.factors_of_user(&jane.id).await.unwrap().is_empty());
    }
}
