//! `FlowsStore`: sign-in flows between the password and the second factor.

use twofold_core::store::{FLOW_ENROLL, FLOW_MFA, FlowRow, Store};

use crate::fixtures::*;

conformance! {
    async fn a_flow_reads_back_as_inserted_for_either_purpose(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let mfa = FlowRow {
            id: "flow-1".into(),
            token_hash: hash("flow-token-1"),
            user_id: alice.id.clone(),
            created_at: T0 - MIN,
            expires_at: T0 + 9 * MIN,
            purpose: FLOW_MFA.into(),
        };
        let enroll = FlowRow {
            id: "flow-2".into(),
            token_hash: hash("flow-token-2"),
            purpose: FLOW_ENROLL.into(),
            ..mfa.clone()
        };
        store.insert_flow(&mfa).await.unwrap();
        store.insert_flow(&enroll).await.unwrap();
        assert_rows_eq!(
            store.flow_by_token(&mfa.token_hash).await.unwrap(),
            Some(&mfa)
        );
        assert_rows_eq!(
            store.flow_by_token(&enroll.token_hash).await.unwrap(),
            Some(&enroll)
        );
    }

    async fn an_unknown_purpose_is_refused(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let odd = FlowRow {
            purpose: "reset".into(),
            ..flow("f", &alice.id)
        };
        assert_refused(store.insert_flow(&odd).await);
        assert!(
            store
                .flow_by_token(&odd.token_hash)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn an_expired_flow_is_still_found_by_its_token(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let expired = FlowRow {
            created_at: T0 - HOUR,
            expires_at: T0 - 50 * MIN,
            ..flow("f", &alice.id)
        };
        store.insert_flow(&expired).await.unwrap();
        assert_rows_eq!(
            store.flow_by_token(&expired.token_hash).await.unwrap(),
            Some(&expired)
        );
        assert!(
            store
                .flow_by_token(&hash("unknown"))
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn a_taken_flow_token_is_refused(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();
        let twin = FlowRow {
            id: "twin".into(),
            purpose: FLOW_ENROLL.into(),
            ..f.clone()
        };
        assert_duplicate(store.insert_flow(&twin).await);
        assert_rows_eq!(store.flow_by_token(&f.token_hash).await.unwrap(), Some(&f));
    }

    async fn a_flow_ends_once(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let f = flow("f", &alice.id);
        let other = flow("other", &alice.id);
        store.insert_flow(&f).await.unwrap();
        store.insert_flow(&other).await.unwrap();
        assert!(store.end_flow(&f.token_hash).await.unwrap());
        assert!(!store.end_flow(&f.token_hash).await.unwrap());
        assert!(store.flow_by_token(&f.token_hash).await.unwrap().is_none());
        assert!(
            store
                .flow_by_token(&other.token_hash)
                .await
                .unwrap()
                .is_some()
        );
        assert!(!store.end_flow(&hash("unknown")).await.unwrap());
    }

    async fn a_flow_ended_by_many_at_once_ends_for_one(store: Store) {
        let (_, alice) = given_alice(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();
        let won = at_once(8, |_| {
            let (store, hash) = (store.clone(), f.token_hash.clone());
            async move { store.end_flow(&hash).await.unwrap() }
        })
        .await;
        assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
    }
}
