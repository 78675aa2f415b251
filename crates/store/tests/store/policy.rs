//! `PolicyStore`: an organisation's MFA requirement (no row: not required), and ending its
//! sessions together with a change.

use twofold_core::store::{PolicyRow, Store};

use crate::fixtures::*;

fn policy(org_id: &str, required: bool) -> PolicyRow {
    PolicyRow {
        org_id: org_id.to_owned(),
        required,
        grace_period_days: 14,
        updated_at: T0,
        updated_by: Some("admin-1".to_owned()),
    }
}

conformance! {
    async fn an_org_without_a_policy_has_none(store: Store) {
        let acme = given_org(&store, "acme").await;
        assert_eq!(store.mfa_policy(&acme.id).await.unwrap(), None);
    }

    async fn a_policy_reads_back_as_stored_and_is_replaced_whole(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        let first = policy(&acme.id, true);
        assert_eq!(store.set_mfa_policy(&first, false).await.unwrap(), 0);
        assert_eq!(store.mfa_policy(&acme.id).await.unwrap(), Some(first));
        assert_eq!(store.mfa_policy(&globex.id).await.unwrap(), None);

        let second = PolicyRow {
            org_id: acme.id.clone(),
            required: false,
            grace_period_days: 3,
            updated_at: T0 + DAY,
            updated_by: None,
        };
        store.set_mfa_policy(&second, false).await.unwrap();
        assert_eq!(store.mfa_policy(&acme.id).await.unwrap(), Some(second));
    }

    async fn a_policy_change_ends_the_orgs_sessions_only_when_asked(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let globex = given_org(&store, "globex").await;
        let gina = given_user(&store, &globex, "gina").await;
        for (id, user) in [
            ("a1", &alice.id),
            ("a2", &alice.id),
            ("b1", &bob.id),
            ("g1", &gina.id),
        ] {
            store.insert_session(&session(id, user)).await.unwrap();
        }

        assert_eq!(
            store
                .set_mfa_policy(&policy(&acme.id, true), false)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store.sessions_of_user(&alice.id, T0).await.unwrap().len(),
            2
        );

        assert_eq!(
            store
                .set_mfa_policy(&policy(&acme.id, true), true)
                .await
                .unwrap(),
            3
        );
        assert!(
            store
                .sessions_of_user(&alice.id, T0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .sessions_of_user(&bob.id, T0)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.sessions_of_user(&gina.id, T0).await.unwrap().len(), 1);
        assert_eq!(
            store.mfa_policy(&acme.id).await.unwrap(),
            Some(policy(&acme.id, true))
        );
    }
}
