//! `PasskeysStore`: a passkey is added with its credential in one step with the checks (the
//! first factor only when asked, at most so many, a credential id once across accounts);
//! a ceremony is taken once, only live and only for its session or flow; the counter only
//! goes up through the acceptance, and a passkey marked as cloned takes no more.

use twofold_core::store::code_check::Finish;
use twofold_core::store::{
    AddPasskey, CeremonyRow, FactorKind, FactorRow, FactorState, OneTimeAccept, OneTimeCode,
    OneTimeOutcome, PasskeyRow, Store,
};

use crate::fixtures::*;

fn passkey_factor(id: &str, user_id: &str) -> FactorRow {
    FactorRow {
        kind: FactorKind::Webauthn,
        name: format!("Key {id}"),
        status: FactorState::Active,
        address: None,
        digits: 0,
        period: 0,
        ..email_factor(id, user_id)
    }
}

fn credential(factor_id: &str, user_id: &str, credential_id: u8) -> PasskeyRow {
    PasskeyRow {
        factor_id: factor_id.into(),
        user_id: user_id.into(),
        credential_id: vec![credential_id; 32],
        credential: "{\"cred\":{}}".into(),
        sign_count: 0,
        authenticator: "security_key".into(),
        backup_eligible: false,
        cloned_at: None,
    }
}

fn ceremony(user_id: &str, bound_to: &str, state: &str) -> CeremonyRow {
    CeremonyRow {
        id: format!("c-{state}"),
        user_id: user_id.into(),
        purpose: "sign_in".into(),
        bound_to: bound_to.into(),
        name: None,
        state: state.into(),
        created_at: T0,
        expires_at: T0 + 5 * MIN,
    }
}

/// Accepts passkey `factor_id`'s answer with counter `count`, as a plain claim.
async fn accept(store: &Store, user_id: &str, factor_id: &str, count: i64) -> OneTimeOutcome {
    store
        .accept_one_time_code(OneTimeAccept {
            code: OneTimeCode::Passkey {
                factor_id: factor_id.into(),
                sign_count: count,
            },
            user_id: user_id.into(),
            now: T0 + count,
            finish: Finish::Claim {
                user_id: user_id.into(),
            },
            audit: Vec::new(),
        })
        .await
        .unwrap()
}

conformance! {
    async fn a_passkey_is_added_with_its_checks(store: Store) {
        let (acme, alice) = given_alice(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        let k1 = passkey_factor("k1", &alice.id);
        // The first factor, while she has none.
        assert_eq!(store.add_passkey(&k1, &credential("k1", &alice.id, 1), true, 2).await.unwrap(), AddPasskey::Added);
        let k2 = passkey_factor("k2", &alice.id);
        assert_eq!(store.add_passkey(&k2, &credential("k2", &alice.id, 2), true, 2).await.unwrap(), AddPasskey::NotFirst);
        // Not past the most allowed.
        assert_eq!(store.add_passkey(&k2, &credential("k2", &alice.id, 2), false, 1).await.unwrap(), AddPasskey::TooMany { active: 1 });
        // A credential id once, whoever registers it; nothing is left of a refused one.
        let b1 = passkey_factor("b1", &bob.id);
        assert_eq!(store.add_passkey(&b1, &credential("b1", &bob.id, 1), false, 2).await.unwrap(), AddPasskey::Registered);
        assert!(store.factors_of_user(&bob.id).await.unwrap().is_empty());
        assert_eq!(store.add_passkey(&k2, &credential("k2", &alice.id, 2), false, 2).await.unwrap(), AddPasskey::Added);
        let listed = store.passkeys_of_user(&alice.id).await.unwrap();
        assert_eq!(listed.iter().map(|p| p.factor_id.as_str()).collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(listed[0].authenticator, "security_key");
        // Deleting the factor deletes its credential.
        assert!(store.delete_factor("k1").await.unwrap());
        assert_eq!(store.passkeys_of_user(&alice.id).await.unwrap().len(), 1);
    }

    async fn a_ceremony_is_taken_once_live_and_for_its_flow(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store.put_ceremony(&ceremony(&alice.id, "flow-1", "a")).await.unwrap();
        // A new one for the same flow replaces it.
        store.put_ceremony(&ceremony(&alice.id, "flow-1", "b")).await.unwrap();
        assert!(store.take_ceremony("sign_in", "flow-2", T0).await.unwrap().is_none());
        assert!(store.take_ceremony("session", "flow-1", T0).await.unwrap().is_none());
        let got = store.take_ceremony("sign_in", "flow-1", T0).await.unwrap().unwrap();
        assert_eq!(got.state, "b");
        assert!(store.take_ceremony("sign_in", "flow-1", T0).await.unwrap().is_none(), "once");
        // Not after it expired.
        store.put_ceremony(&ceremony(&alice.id, "flow-3", "c")).await.unwrap();
        assert!(store.take_ceremony("sign_in", "flow-3", T0 + 5 * MIN).await.unwrap().is_none());
        // Of many answers at once, one takes it.
        store.put_ceremony(&ceremony(&alice.id, "flow-4", "d")).await.unwrap();
        let got = at_once(8, |_| {
            let store = store.clone();
            async move { store.take_ceremony("sign_in", "flow-4", T0).await }
        })
        .await;
        assert_eq!(got.into_iter().filter(|g| matches!(g, Ok(Some(_)))).count(), 1);
    }

    async fn the_counter_only_goes_up_and_a_clone_takes_no_more(store: Store) {
        let (_, alice) = given_alice(&store).await;
        store.add_passkey(&passkey_factor("k1", &alice.id), &credential("k1", &alice.id, 1), false, 10).await.unwrap();
        assert_eq!(accept(&store, &alice.id, "k1", 3).await, OneTimeOutcome::Accepted);
        assert_eq!(accept(&store, &alice.id, "k1", 3).await, OneTimeOutcome::CodeUsed, "not again");
        assert_eq!(accept(&store, &alice.id, "k1", 2).await, OneTimeOutcome::CodeUsed, "not back");
        assert_eq!(accept(&store, &alice.id, "k1", 4).await, OneTimeOutcome::Accepted);
        let p = &store.passkeys_of_user(&alice.id).await.unwrap()[0];
        assert_eq!(p.sign_count, 4);
        let f = &store.factors_of_user(&alice.id).await.unwrap()[0];
        assert_eq!(f.last_used_at, Some(T0 + 4));
        // Marked once; then even a higher counter is refused.
        assert!(store.mark_passkey_cloned("k1", T0 + HOUR).await.unwrap());
        assert!(!store.mark_passkey_cloned("k1", T0 + 2 * HOUR).await.unwrap());
        assert_eq!(accept(&store, &alice.id, "k1", 9).await, OneTimeOutcome::CodeUsed);
        assert_eq!(store.passkeys_of_user(&alice.id).await.unwrap()[0].cloned_at, Some(T0 + HOUR));
        // An authenticator that keeps no counter (0 each time) is accepted each time.
        store.add_passkey(&passkey_factor("k2", &alice.id), &credential("k2", &alice.id, 2), false, 10).await.unwrap();
        assert_eq!(accept(&store, &alice.id, "k2", 0).await, OneTimeOutcome::Accepted);
        assert_eq!(accept(&store, &alice.id, "k2", 0).await, OneTimeOutcome::Accepted);
    }
}
