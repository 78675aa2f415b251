//! `OidcStore`: an organisation's OpenID Connect providers, by name, replaced whole (but
//! for when each was made), removed by name, never another organisation's.

use twofold_core::store::{OidcProviderRow, Store};

use crate::fixtures::*;

fn provider(org_id: &str, name: &str, at: i64) -> OidcProviderRow {
    OidcProviderRow {
        org_id: org_id.into(),
        name: name.into(),
        issuer: format!("https://{name}.example.com"),
        client_id: "twofold".into(),
        secret_key_id: KEY_ID.into(),
        client_secret_sealed: vec![1, 2, 3, 0, 255],
        scopes: "email profile".into(),
        allowed_email_domains: "acme.com".into(),
        username_claim: "preferred_username".into(),
        create_users: false,
        created_at: at,
        updated_at: at,
        updated_by: Some("admin-1".into()),
    }
}

conformance! {
    async fn providers_read_back_by_name_and_only_in_their_organisation(store: Store) {
        given_key(&store).await;
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        assert_eq!(store.oidc_providers_of_org(&acme.id).await.unwrap(), vec![]);
        let okta = provider(&acme.id, "okta", T0);
        let entra = provider(&acme.id, "entra", T0 + SEC);
        store.put_oidc_provider(&okta).await.unwrap();
        store.put_oidc_provider(&entra).await.unwrap();
        store.put_oidc_provider(&provider(&globex.id, "okta", T0)).await.unwrap();
        assert_eq!(
            store.oidc_providers_of_org(&acme.id).await.unwrap(),
            vec![entra, okta],
            "by name"
        );
        assert_eq!(store.oidc_providers_of_org(&globex.id).await.unwrap().len(), 1);
    }

    async fn a_provider_put_again_is_replaced_but_keeps_when_it_was_made(store: Store) {
        given_key(&store).await;
        let acme = given_org(&store, "acme").await;
        store.put_oidc_provider(&provider(&acme.id, "okta", T0)).await.unwrap();
        let changed = OidcProviderRow {
            issuer: "https://login.acme.com".into(),
            client_secret_sealed: vec![9; 40],
            create_users: true,
            allowed_email_domains: String::new(),
            updated_by: None,
            ..provider(&acme.id, "okta", T0 + HOUR)
        };
        store.put_oidc_provider(&changed).await.unwrap();
        let stored = store.oidc_providers_of_org(&acme.id).await.unwrap();
        assert_eq!(stored, vec![OidcProviderRow { created_at: T0, ..changed }]);
    }

    async fn a_provider_is_removed_by_name_in_its_organisation_only(store: Store) {
        given_key(&store).await;
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        store.put_oidc_provider(&provider(&acme.id, "okta", T0)).await.unwrap();
        store.put_oidc_provider(&provider(&globex.id, "okta", T0)).await.unwrap();
        assert!(!store.delete_oidc_provider(&acme.id, "entra").await.unwrap());
        assert!(store.delete_oidc_provider(&acme.id, "okta").await.unwrap());
        assert!(!store.delete_oidc_provider(&acme.id, "okta").await.unwrap());
        assert_eq!(store.oidc_providers_of_org(&acme.id).await.unwrap(), vec![]);
        assert_eq!(store.oidc_providers_of_org(&globex.id).await.unwrap().len(), 1);
    }

    async fn a_provider_needs_a_known_key_and_organisation(store: Store) {
        let acme = given_org(&store, "acme").await;
        // No secret key registered: the sealed secret would name an unknown key.
        assert_refused(store.put_oidc_provider(&provider(&acme.id, "okta", T0)).await);
        given_key(&store).await;
        assert_refused(store.put_oidc_provider(&provider("no-such-org", "okta", T0)).await);
    }
}
