//! `KeysStore`: the encryption keys that have sealed secrets in the database.

use twofold_core::store::Store;

use crate::fixtures::*;

conformance! {
    async fn a_key_is_registered_once_with_its_first_check_value(store: Store) {
        assert!(store.secret_key_ids().await.unwrap().is_empty());
        let check = b"\x00sealed check\xff".to_vec();
        assert_eq!(
            store.register_secret_key("k1", &check, T0).await.unwrap(),
            check
        );
        // A later start with another check value (a different key under the same id) is
        // told the one on record.
        assert_eq!(
            store
                .register_secret_key("k1", b"another", T0 + DAY)
                .await
                .unwrap(),
            check
        );
        assert_eq!(store.secret_key_ids().await.unwrap(), ["k1"]);
    }

    async fn key_ids_come_sorted(store: Store) {
        for id in ["k3", "k1", "k2"] {
            store
                .register_secret_key(id, id.as_bytes(), T0)
                .await
                .unwrap();
        }
        assert_eq!(store.secret_key_ids().await.unwrap(), ["k1", "k2", "k3"]);
        assert_eq!(
            store.register_secret_key("k2", b"x", T0).await.unwrap(),
            b"k2"
        );
    }
}
