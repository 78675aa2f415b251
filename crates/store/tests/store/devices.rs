//! `DevicesStore` and its `Store` helpers: remembered devices, their cap and revocation.

use twofold_core::store::{DeviceRow, Store};

use crate::fixtures::*;

async fn device_ids(store: &Store, user_id: &str) -> Vec<String> {
    let live = store.devices_of_user(user_id, T0).await.unwrap();
    live.into_iter().map(|d| d.id).collect()
}

conformance! {
    async fn a_device_reads_back_as_inserted(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let d = DeviceRow {
            id: "d-1".into(),
            token_hash: hash("device-token"),
            user_id: alice.id.clone(),
            created_at: T0 - DAY,
            expires_at: T0 + 29 * DAY,
            last_used_at: Some(T0 - HOUR),
            ip: Some("198.51.100.20".into()),
            user_agent: Some("Safari/18".into()),
        };
        store.insert_device(&d, 5).await.unwrap();
        assert_rows_eq!(
            store.device_by_token(&d.token_hash, T0).await.unwrap(),
            Some(&d)
        );
        assert_rows_eq!(store.devices_of_user(&alice.id, T0).await.unwrap(), [&d]);

        let bare = DeviceRow {
            last_used_at: None,
            ip: None,
            user_agent: None,
            ..device("d-2", &alice.id, T0)
        };
        store.insert_device(&bare, 5).await.unwrap();
        assert_rows_eq!(
            store.device_by_token(&bare.token_hash, T0).await.unwrap(),
            Some(&bare)
        );
    }

    async fn a_device_is_found_by_its_token_only_while_it_lives(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let d = device("d", &alice.id, T0);
        store.insert_device(&d, 5).await.unwrap();
        assert!(
            store
                .device_by_token(&hash("other"), T0)
                .await
                .unwrap()
                .is_none()
        );
        let at = |now| store.device_by_token(&d.token_hash, now);
        assert!(at(d.expires_at - 1).await.unwrap().is_some());
        assert!(at(d.expires_at).await.unwrap().is_none());
        assert!(at(d.expires_at + 1).await.unwrap().is_none());
    }

    async fn devices_of_a_user_are_the_live_ones_newest_first(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let a = &alice.id;
        store
            .insert_device(&device("old", a, T0 - 3 * DAY), 10)
            .await
            .unwrap();
        store
            .insert_device(&device("new", a, T0 - DAY), 10)
            .await
            .unwrap();
        store
            .insert_device(&device("mid-a", a, T0 - 2 * DAY), 10)
            .await
            .unwrap();
        store
            .insert_device(&device("mid-b", a, T0 - 2 * DAY), 10)
            .await
            .unwrap();
        let expired = DeviceRow {
            expires_at: T0,
            ..device("expired", a, T0 - 30 * DAY)
        };
        store.insert_device(&expired, 10).await.unwrap();
        store
            .insert_device(&device("bobs", &bob.id, T0), 10)
            .await
            .unwrap();

        assert_eq!(
            device_ids(&store, a).await,
            ["new", "mid-b", "mid-a", "old"]
        );
        let earlier = store.devices_of_user(a, T0 - 1).await.unwrap();
        assert_eq!(earlier.last().unwrap().id, "expired");
        assert!(
            store
                .devices_of_user("nobody", T0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn remembering_a_device_over_the_cap_forgets_the_oldest(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let a = &alice.id;
        store
            .insert_device(&device("bobs", &bob.id, T0 - 9 * DAY), 2)
            .await
            .unwrap();
        store
            .insert_device(&device("first", a, T0 - 3 * DAY), 2)
            .await
            .unwrap();
        store
            .insert_device(&device("second", a, T0 - 2 * DAY), 2)
            .await
            .unwrap();
        assert_eq!(device_ids(&store, a).await, ["second", "first"]);

        store
            .insert_device(&device("third", a, T0 - DAY), 2)
            .await
            .unwrap();
        assert_eq!(device_ids(&store, a).await, ["third", "second"]);
        let first = device("first", a, T0 - 3 * DAY);
        assert!(
            store
                .device_by_token(&first.token_hash, T0)
                .await
                .unwrap()
                .is_none()
        );
        // Another user's devices are not counted against the cap.
        assert_eq!(device_ids(&store, &bob.id).await, ["bobs"]);

        // A lower cap trims down to it; ties on the time go by id.
        store
            .insert_device(&device("fourth-b", a, T0), 3)
            .await
            .unwrap();
        store
            .insert_device(&device("fourth-a", a, T0), 1)
            .await
            .unwrap();
        assert_eq!(device_ids(&store, a).await, ["fourth-b"]);
    }

    async fn using_a_device_records_when(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let d = device("d", &alice.id, T0 - DAY);
        store.insert_device(&d, 5).await.unwrap();
        store.touch_device("d", T0 + MIN).await.unwrap();
        assert_rows_eq!(
            store.device_by_token(&d.token_hash, T0).await.unwrap(),
            Some(DeviceRow {
                last_used_at: Some(T0 + MIN),
                ..d
            })
        );
        store.touch_device("unknown", T0).await.unwrap();
    }

    async fn a_device_is_forgotten_by_its_user_all_of_theirs_or_the_orgs(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let globex = given_org(&store, "globex").await;
        let gina = given_user(&store, &globex, "gina").await;
        let (a, b, g) = (&alice.id, &bob.id, &gina.id);
        for (id, user) in [("a1", a), ("a2", a), ("a3", a), ("b1", b), ("g1", g)] {
            store
                .insert_device(&device(id, user, T0), 10)
                .await
                .unwrap();
        }

        assert!(!store.delete_device(b, "a1").await.unwrap());
        assert!(store.delete_device(a, "a1").await.unwrap());
        assert!(!store.delete_device(a, "a1").await.unwrap());
        assert_eq!(device_ids(&store, a).await, ["a3", "a2"]);

        assert_eq!(store.delete_devices_of_user(a).await.unwrap(), 2);
        assert_eq!(store.delete_devices_of_user(a).await.unwrap(), 0);
        assert_eq!(device_ids(&store, b).await, ["b1"]);

        store.insert_device(&device("a4", a, T0), 10).await.unwrap();
        assert_eq!(store.delete_devices_of_org(&acme.id).await.unwrap(), 2);
        assert!(device_ids(&store, a).await.is_empty());
        assert!(device_ids(&store, b).await.is_empty());
        assert_eq!(device_ids(&store, g).await, ["g1"]);
    }
}
