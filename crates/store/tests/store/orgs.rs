//! `OrgsStore`: organisations, their slugs and their dummy hash for unknown usernames.

use twofold_core::store::{OrgRow, Store, StoreError};

use crate::fixtures::*;

conformance! {
    async fn an_org_reads_back_as_inserted(store: Store) {
        let o = OrgRow {
            id: "org-1".into(),
            slug: "acme".into(),
            name: "Acme Widgets".into(),
            created_at: T0,
            miss_hash: None,
        };
        store.insert_org(&o).await.unwrap();
        assert_rows_eq!(store.org_by_slug("acme").await.unwrap(), Some(o));
    }

    async fn an_unknown_slug_is_none(store: Store) {
        given_org(&store, "acme").await;
        assert!(store.org_by_slug("acme2").await.unwrap().is_none());
        assert!(store.org_by_slug("ACME").await.unwrap().is_none());
    }

    async fn a_taken_slug_is_refused_by_constraint_name(store: Store) {
        let first = given_org(&store, "acme").await;
        let again = OrgRow {
            id: "org-other".into(),
            name: "Another Acme".into(),
            ..org("acme")
        };
        let err = store.insert_org(&again).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate("orgs_slug_key")),
            "{err:?}"
        );
        assert_rows_eq!(store.org_by_slug("acme").await.unwrap(), Some(first));
    }

    async fn an_insert_does_not_write_the_miss_hash(store: Store) {
        let o = OrgRow {
            miss_hash: Some("$2b$12$ignored".into()),
            ..org("acme")
        };
        store.insert_org(&o).await.unwrap();
        let read = store.org_by_slug("acme").await.unwrap().unwrap();
        assert_eq!(read.miss_hash, None);
        assert!(store.orgs_with_miss_hash().await.unwrap().is_empty());
    }

    async fn a_miss_hash_is_set_listed_and_cleared(store: Store) {
        let acme = given_org(&store, "acme").await;
        given_org(&store, "globex").await;
        assert!(store.orgs_with_miss_hash().await.unwrap().is_empty());

        store
            .set_org_miss_hash(&acme.id, Some("$2b$12$dummy"))
            .await
            .unwrap();
        assert_eq!(
            store.orgs_with_miss_hash().await.unwrap(),
            [(acme.id.clone(), "$2b$12$dummy".to_owned())]
        );
        let read = store.org_by_slug("acme").await.unwrap().unwrap();
        assert_eq!(read.miss_hash.as_deref(), Some("$2b$12$dummy"));
        let other = store.org_by_slug("globex").await.unwrap().unwrap();
        assert_eq!(other.miss_hash, None);

        store
            .set_org_miss_hash(&acme.id, Some("$scrypt$newer"))
            .await
            .unwrap();
        assert_eq!(
            store.orgs_with_miss_hash().await.unwrap(),
            [(acme.id.clone(), "$scrypt$newer".to_owned())]
        );

        store.set_org_miss_hash(&acme.id, None).await.unwrap();
        assert!(store.orgs_with_miss_hash().await.unwrap().is_empty());
        assert_eq!(
            store.org_by_slug("acme").await.unwrap().unwrap().miss_hash,
            None
        );
    }

    async fn an_org_holds_other_hashes_only_while_a_user_has_one(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        let current = "$argon2id$";
        assert!(
            !store
                .org_holds_other_hashes(&acme.id, current)
                .await
                .unwrap()
        );

        given_user(&store, &acme, "alice").await;
        let federated = twofold_core::store::UserRow {
            federated: true,
            password_hash: None,
            ..user(&acme, "fred")
        };
        store.insert_user(&federated).await.unwrap();
        let imported_elsewhere = twofold_core::store::UserRow {
            password_hash: Some("$2b$12$abcdefghijklmnopqrstuv".into()),
            ..user(&globex, "bob")
        };
        store.insert_user(&imported_elsewhere).await.unwrap();
        // Our own hashes, no hash at all, and another organisation's imported one.
        assert!(
            !store
                .org_holds_other_hashes(&acme.id, current)
                .await
                .unwrap()
        );
        assert!(
            store
                .org_holds_other_hashes(&globex.id, current)
                .await
                .unwrap()
        );

        let imported = twofold_core::store::UserRow {
            password_hash: Some("$2b$12$zyxwvutsrqponmlkjihgfe".into()),
            ..user(&acme, "carol")
        };
        store.insert_user(&imported).await.unwrap();
        assert!(
            store
                .org_holds_other_hashes(&acme.id, current)
                .await
                .unwrap()
        );

        // Once replaced by one of ours, it no longer counts.
        assert!(
            store
                .replace_password_hash(
                    &imported.id,
                    "$2b$12$zyxwvutsrqponmlkjihgfe",
                    &argon2_hash("c")
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .org_holds_other_hashes(&acme.id, current)
                .await
                .unwrap()
        );
        // The prefix is compared whole: a longer "current" prefix makes ours differ too.
        assert!(
            store
                .org_holds_other_hashes(&acme.id, "$argon2id$v=19$m=65536")
                .await
                .unwrap()
        );
    }
}
