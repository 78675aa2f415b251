//! `Engine` and `Store` themselves: opening (and opening again), health checks, the
//! text-bound statement runner, purging what expired, and closing.

use twofold_core::store::{ConfirmationRow, DeviceRow, FlowRow, SessionRow, Store, StoreError};

use twofold_core::config::Database;

use crate::TestDb;
use crate::fixtures::*;

conformance! {
    async fn the_store_names_its_engine(db: &TestDb) {
        let want = match &db.database {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        };
        assert_eq!(db.store.name(), want);
    }

    async fn a_fresh_store_answers_its_health_checks(store: Store) {
        store.ping().await.unwrap();
        assert_eq!(store.integrity_check().await.unwrap(), "ok");
    }

    async fn a_database_opened_again_keeps_its_rows(db: &TestDb) {
        let (acme, alice) = given_alice(&db.store).await;
        // Migrations already applied are recognised, not run again.
        let again = db.reopen().await;
        assert_rows_eq!(again.user_by_id(&alice.id).await.unwrap(), Some(&alice));
        assert_rows_eq!(again.org_by_slug(&acme.slug).await.unwrap(), Some(&acme));
        // Both handles see each other's writes.
        given_user(&again, &acme, "bob").await;
        assert!(
            db.store
                .user_by_login("acme", "bob")
                .await
                .unwrap()
                .is_some()
        );
        again.close().await;
    }

    async fn a_text_statement_answers_the_rows_it_changed(store: Store) {
        given_org(&store, "acme").await;
        given_org(&store, "globex").await;
        let rename = "UPDATE orgs SET name = $1 WHERE slug = $2";
        assert_eq!(
            store
                .exec_text(rename, &["Acme & Sons", "acme"])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .exec_text(rename, &["Nobody", "initech"])
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store.org_by_slug("acme").await.unwrap().unwrap().name,
            "Acme & Sons"
        );
        assert_eq!(
            store
                .exec_text("UPDATE orgs SET created_at = created_at + 1", &[])
                .await
                .unwrap(),
            2
        );
        assert_refused(
            store
                .exec_text("UPDATE no_such_table SET x = $1", &["1"])
                .await,
        );
    }

    async fn a_purge_deletes_flows_sessions_and_codes_expired_at_the_time_given(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let now = T0 + HOUR;
        let a = &alice.id;
        let mut expired = 0;
        // One of each expiring just before, at, and just after `now`.
        for (tag, expires_at) in [("before", now - 1), ("at", now), ("after", now + 1)] {
            store
                .insert_flow(&FlowRow {
                    expires_at,
                    ..flow(tag, a)
                })
                .await
                .unwrap();
            store
                .insert_session(&SessionRow {
                    expires_at,
                    ..session(tag, a)
                })
                .await
                .unwrap();
            store
                .put_confirmation(
                    &ConfirmationRow {
                        expires_at,
                        ..confirmation(a, tag, tag)
                    },
                    T0,
                )
                .await
                .unwrap();
            if expires_at <= now {
                expired += 3;
            }
        }
        store
            .put_confirmation(
                &ConfirmationRow {
                    expires_at: now,
                    ..confirmation(&bob.id, "x", "b")
                },
                T0,
            )
            .await
            .unwrap();
        // Remembered devices are not purged here (they are read as expired instead).
        let old_device = DeviceRow {
            expires_at: now - 1,
            ..device("d", a, T0 - 30 * DAY)
        };
        store.insert_device(&old_device, 5).await.unwrap();

        assert_eq!(store.purge_expired_rows(now).await.unwrap(), expired + 1);

        for tag in ["before", "at"] {
            assert!(
                store
                    .flow_by_token(&flow(tag, a).token_hash)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(store.confirmation(a, tag).await.unwrap().is_none());
        }
        assert!(
            store
                .flow_by_token(&flow("after", a).token_hash)
                .await
                .unwrap()
                .is_some()
        );
        assert!(store.confirmation(a, "after").await.unwrap().is_some());
        assert!(store.confirmation(&bob.id, "x").await.unwrap().is_none());
        let left: Vec<String> = store
            .sessions_of_user(a, T0)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, ["after"]);
        assert!(
            store
                .device_by_token(&old_device.token_hash, T0)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.purge_expired_rows(now).await.unwrap(), 0);
    }

    async fn the_store_purge_also_forgets_password_failures_idle_for_a_day(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let now = T0 + 2 * DAY;
        store
            .insert_session(&SessionRow {
                expires_at: now,
                ..session("s", &alice.id)
            })
            .await
            .unwrap();
        let count = |username: &'static str, at: i64| {
            store.count_password_failure("acme", username, at, Box::new(|_| None))
        };
        count("stale", now - DAY - 1).await.unwrap();
        count("day-old", now - DAY).await.unwrap();

        assert_eq!(store.purge_expired(now).await.unwrap(), 2);
        assert_eq!(count("stale", now).await.unwrap(), 1);
        assert_eq!(count("day-old", now).await.unwrap(), 2);
    }

    async fn a_closed_store_takes_no_more_writes(store: Store) {
        given_org(&store, "acme").await;
        store.close().await;
        assert!(matches!(
            store.insert_org(&org("globex")).await,
            Err(StoreError::Closed)
        ));
        assert!(matches!(
            store.record_login("acme-nobody", T0).await,
            Err(StoreError::Closed)
        ));
    }

    // SQLite opens a new reader connection for a read after `close`; PostgreSQL's pool
    // refuses it.
    async fn a_closed_store_takes_no_more_reads(store: Store) {
        given_org(&store, "acme").await;
        store.close().await;
        assert!(matches!(
            store.org_by_slug("acme").await,
            Err(StoreError::Closed)
        ));
    }

    // Both answer `Closed` (sqlx's own error for it is PoolClosed).
    async fn a_closed_store_says_it_is_closed(store: Store) {
        store.close().await;
        let err = store.insert_org(&org("acme")).await.unwrap_err();
        assert!(matches!(err, StoreError::Closed), "{err:?}");
    }
}
