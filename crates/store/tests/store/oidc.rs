//! `OidcStore`: an organisation's OpenID Connect providers, by name, replaced whole (but
//! for when each was made), removed by name, never another organisation's; the sign-ins
//! under way and the hand-offs, each taken once; the bound identities.

use twofold_core::store::{
    FederatedIdentityRow, OidcHandoffRow, OidcLoginRow, OidcProviderRow, Store, StoreError,
};

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
        link_by_email: false,
        created_at: at,
        updated_at: at,
        updated_by: Some("admin-1".into()),
    }
}

fn login(org_id: &str, state: u8) -> OidcLoginRow {
    OidcLoginRow {
        state_hash: vec![state; 32],
        org_id: org_id.into(),
        org_slug: "acme".into(),
        provider: "okta".into(),
        nonce: "n-1".into(),
        pkce_verifier: "v-1".into(),
        binding_hash: vec![7; 32],
        purpose: "signin".into(),
        session_id: None,
        user_id: None,
        app_redirect: Some("http://127.0.0.1:4000/cb".into()),
        app_state: Some("s".into()),
        app_challenge: Some("c".into()),
        return_to: None,
        created_at: T0,
        expires_at: T0 + 10 * MIN,
    }
}

fn identity(org_id: &str, subject: &str, user_id: &str) -> FederatedIdentityRow {
    FederatedIdentityRow {
        org_id: org_id.into(),
        issuer: "https://okta.example.com".into(),
        subject: subject.into(),
        user_id: user_id.into(),
        provider: "okta".into(),
        created_at: T0,
        last_used_at: None,
    }
}

conformance! {
    async fn a_sign_in_under_way_is_taken_once(store: Store) {
        let acme = given_org(&store, "acme").await;
        let first = login(&acme.id, 1);
        store.insert_oidc_login(&first).await.unwrap();
        store.insert_oidc_login(&login(&acme.id, 2)).await.unwrap();
        assert_eq!(store.take_oidc_login(&[9; 32]).await.unwrap(), None);
        assert_eq!(store.take_oidc_login(&[1; 32]).await.unwrap(), Some(first));
        assert_eq!(store.take_oidc_login(&[1; 32]).await.unwrap(), None, "once");
        assert!(store.take_oidc_login(&[2; 32]).await.unwrap().is_some());
        // Of many callbacks with one state, one gets it.
        store.insert_oidc_login(&login(&acme.id, 3)).await.unwrap();
        let got = at_once(8, |_| {
            let store = store.clone();
            async move { store.take_oidc_login(&[3; 32]).await }
        })
        .await;
        assert_eq!(got.into_iter().filter(|g| matches!(g, Ok(Some(_)))).count(), 1);
    }

    async fn a_hand_off_is_taken_once(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let h = OidcHandoffRow {
            code_hash: vec![5; 32],
            user_id: alice.id.clone(),
            purpose: "signin".into(),
            session_id: None,
            provider: "okta".into(),
            amr: "fed pwd otp".into(),
            aal: 2,
            app_challenge: "challenge".into(),
            expires_at: T0 + MIN,
        };
        store.insert_oidc_handoff(&h).await.unwrap();
        assert_eq!(store.take_oidc_handoff(&[5; 32]).await.unwrap(), Some(h));
        assert_eq!(store.take_oidc_handoff(&[5; 32]).await.unwrap(), None);
    }

    async fn an_identity_is_bound_once_and_found_by_issuer_and_subject(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let globex = given_org(&store, "globex").await;
        let i = identity(&acme.id, "sub-a", &alice.id);
        store.insert_federated_identity(&i).await.unwrap();
        assert_eq!(
            store.federated_identity(&acme.id, &i.issuer, "sub-a").await.unwrap(),
            Some(i.clone())
        );
        assert_eq!(store.federated_identity(&globex.id, &i.issuer, "sub-a").await.unwrap(), None);
        assert_eq!(store.federated_identity(&acme.id, "https://other", "sub-a").await.unwrap(), None);
        // The same identity for another user, or a second one of the issuer for alice.
        assert!(matches!(
            store.insert_federated_identity(&identity(&acme.id, "sub-a", &bob.id)).await,
            Err(StoreError::Duplicate("federated identity"))
        ));
        assert!(matches!(
            store.insert_federated_identity(&identity(&acme.id, "sub-b", &alice.id)).await,
            Err(StoreError::Duplicate("federated identity"))
        ));
        store.insert_federated_identity(&identity(&acme.id, "sub-b", &bob.id)).await.unwrap();
        store.touch_federated_identity(&i, T0 + HOUR).await.unwrap();
        let all = store.federated_identities_of_org(&acme.id).await.unwrap();
        assert_eq!(all.len(), 2);
        let a = all.iter().find(|r| r.user_id == alice.id).unwrap();
        assert_eq!(a.last_used_at, Some(T0 + HOUR));
    }

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
