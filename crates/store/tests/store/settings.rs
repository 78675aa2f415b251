//! `SettingsStore`: an organisation's MFA options (no row: the defaults).

use twofold_core::store::{OrgSettingsRow, Store};

use crate::fixtures::*;

conformance! {
    async fn an_org_without_settings_has_none(store: Store) {
        let acme = given_org(&store, "acme").await;
        assert_eq!(store.org_settings(&acme.id).await.unwrap(), None);
        assert_eq!(store.org_settings("no-such-org").await.unwrap(), None);
    }

    async fn settings_read_back_as_stored_and_are_replaced_whole(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        let first = OrgSettingsRow {
            org_id: acme.id.clone(),
            allow_qr_redisplay: true,
            remember_devices: false,
            confirm_first_app_by_email: true, max_authenticator_apps: None,
            updated_at: T0,
            updated_by: Some("admin-1".into()),
        };
        store.put_org_settings(&first).await.unwrap();
        assert_eq!(store.org_settings(&acme.id).await.unwrap(), Some(first));
        assert_eq!(store.org_settings(&globex.id).await.unwrap(), None);

        let second = OrgSettingsRow {
            org_id: acme.id.clone(),
            allow_qr_redisplay: false,
            remember_devices: true,
            confirm_first_app_by_email: false, max_authenticator_apps: None,
            updated_at: T0 + HOUR,
            updated_by: None,
        };
        store.put_org_settings(&second).await.unwrap();
        assert_eq!(store.org_settings(&acme.id).await.unwrap(), Some(second));
    }
}
