//! `OneTimeStore`: using up a matched recovery or mailed code together with what its
//! acceptance writes (a claim, or a finished sign-in), all or nothing.

use twofold_core::store::{
    AuditRow, Finish, OneTimeAccept, OneTimeCode, OneTimeOutcome, OrgRow, Reservation, SessionRow,
    Store, UserRow,
};

use crate::fixtures::*;

const PURPOSE: &str = "email_login";
const NOW: i64 = T0 + MIN;

fn never_lock(_: i64) -> Option<i64> {
    None
}

/// Counts `n` failed attempts for `user_id`.
async fn fail(store: &Store, user_id: &str, n: usize) {
    for _ in 0..n {
        store
            .reserve_mfa_attempt(user_id, T0, Box::new(never_lock))
            .await
            .unwrap();
    }
}

/// The number the user's next attempt would get.
async fn next_attempt(store: &Store, user_id: &str) -> i64 {
    match store
        .reserve_mfa_attempt(user_id, NOW, Box::new(never_lock))
        .await
        .unwrap()
    {
        Reservation::Granted { attempt } => attempt,
        locked => panic!("{locked:?}"),
    }
}

fn recovery_code(id: &str) -> OneTimeCode {
    OneTimeCode::Recovery { id: id.to_owned() }
}

fn mailed(code: &str, bound_to: &str) -> OneTimeCode {
    OneTimeCode::Mailed {
        purpose: PURPOSE.to_owned(),
        code_hash: hash(&format!("code-{code}")),
        bound_to: bound_to.to_owned(),
        factor_id: "mail".to_owned(),
    }
}

fn claim(code: OneTimeCode, user: &UserRow, audit: Vec<AuditRow>) -> OneTimeAccept {
    OneTimeAccept {
        code,
        user_id: user.id.clone(),
        now: NOW,
        finish: Finish::Claim {
            user_id: user.id.clone(),
        },
        audit,
    }
}

/// The session a sign-in opens.
fn signed_in(user: &UserRow) -> SessionRow {
    SessionRow {
        aal: 2,
        amr: "pwd mfa".into(),
        factor_id: None,
        created_at: NOW,
        expires_at: NOW + DAY,
        mfa_at: Some(NOW),
        ..session("new-session", &user.id)
    }
}

fn sign_in(
    code: OneTimeCode,
    user: &UserRow,
    flow_hash: &[u8],
    audit: Vec<AuditRow>,
) -> OneTimeAccept {
    OneTimeAccept {
        code,
        user_id: user.id.clone(),
        now: NOW,
        finish: Finish::SignIn {
            flow: flow_hash.to_vec(),
            session: Box::new(signed_in(user)),
        },
        audit,
    }
}

async fn audit_ids(store: &Store, org: &OrgRow) -> Vec<String> {
    let rows = store.audit_events(&org.id, None, 100).await.unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

async fn unused_ids(store: &Store, user_id: &str) -> Vec<String> {
    let rows = store.unused_recovery_codes(user_id).await.unwrap();
    rows.into_iter().map(|(id, _)| id).collect()
}

/// Alice with recovery codes `r1`, `r2`, an email factor `mail` and a mailed code
/// `123456` bound to `flow-f`.
async fn given_codes(store: &Store) -> (OrgRow, UserRow) {
    let (acme, alice) = given_alice(store).await;
    let a = &alice.id;
    store
        .replace_recovery_codes(a, vec![recovery("r1", a), recovery("r2", a)])
        .await
        .unwrap();
    store.insert_factor(&email_factor("mail", a)).await.unwrap();
    let code = twofold_core::store::ConfirmationRow {
        bound_to: Some("flow-f".into()),
        ..confirmation(a, PURPOSE, "123456")
    };
    assert!(store.put_confirmation(&code, T0).await.unwrap());
    (acme, alice)
}

conformance! {
    async fn a_recovery_code_is_used_once_and_its_claim_clears_the_failures(store: Store) {
        let (acme, alice) = given_codes(&store).await;
        fail(&store, &alice.id, 2).await;

        let first = claim(
            recovery_code("r1"),
            &alice,
            vec![audit("ev-1", &acme.id, NOW)],
        );
        assert_eq!(
            store.accept_one_time_code(first).await.unwrap(),
            OneTimeOutcome::Accepted
        );
        assert_eq!(unused_ids(&store, &alice.id).await, ["r2"]);
        assert_eq!(
            store.count_unused_recovery_codes(&alice.id).await.unwrap(),
            1
        );
        assert_eq!(
            store.audit_events(&acme.id, None, 10).await.unwrap(),
            [audit("ev-1", &acme.id, NOW)]
        );
        assert_eq!(next_attempt(&store, &alice.id).await, 1);

        fail(&store, &alice.id, 1).await;
        let again = claim(
            recovery_code("r1"),
            &alice,
            vec![audit("ev-2", &acme.id, NOW)],
        );
        assert_eq!(
            store.accept_one_time_code(again).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
        assert_eq!(audit_ids(&store, &acme).await, ["ev-1"]);
        assert_eq!(unused_ids(&store, &alice.id).await, ["r2"]);
        // Nothing of the claim was written: the failures stand.
        assert_eq!(next_attempt(&store, &alice.id).await, 3);
    }

    async fn another_users_recovery_code_is_not_used(store: Store) {
        let (acme, alice) = given_codes(&store).await;
        let bob = given_user(&store, &acme, "bob").await;
        store
            .replace_recovery_codes(&bob.id, vec![recovery("b1", &bob.id)])
            .await
            .unwrap();
        let theirs = claim(recovery_code("b1"), &alice, vec![]);
        assert_eq!(
            store.accept_one_time_code(theirs).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
        assert_eq!(unused_ids(&store, &bob.id).await, ["b1"]);
        let unknown = claim(recovery_code("r9"), &alice, vec![]);
        assert_eq!(
            store.accept_one_time_code(unknown).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
        assert_eq!(unused_ids(&store, &alice.id).await, ["r1", "r2"]);
    }

    async fn a_mailed_code_is_used_once_while_it_is_the_one_for_what_it_was_mailed_for(
        store: Store,
    ) {
        let (acme, alice) = given_codes(&store).await;
        let a = &alice.id;
        let stored = store.confirmation(a, PURPOSE).await.unwrap();

        let replaced = claim(mailed("654321", "flow-f"), &alice, vec![]);
        assert_eq!(
            store.accept_one_time_code(replaced).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
        let elsewhere = claim(mailed("123456", "flow-g"), &alice, vec![]);
        assert_eq!(
            store.accept_one_time_code(elsewhere).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
        assert_eq!(store.confirmation(a, PURPOSE).await.unwrap(), stored);
        let mail = store.factor_of_user(a, "mail").await.unwrap().unwrap();
        assert_eq!(mail.last_used_at, None);

        let right = claim(
            mailed("123456", "flow-f"),
            &alice,
            vec![audit("ev", &acme.id, NOW)],
        );
        assert_eq!(
            store.accept_one_time_code(right).await.unwrap(),
            OneTimeOutcome::Accepted
        );
        assert!(store.confirmation(a, PURPOSE).await.unwrap().is_none());
        let mail = store.factor_of_user(a, "mail").await.unwrap().unwrap();
        assert_eq!(mail.last_used_at, Some(NOW));
        assert_eq!(audit_ids(&store, &acme).await, ["ev"]);

        let again = claim(mailed("123456", "flow-f"), &alice, vec![]);
        assert_eq!(
            store.accept_one_time_code(again).await.unwrap(),
            OneTimeOutcome::CodeUsed
        );
    }

    async fn a_sign_in_with_a_recovery_code_ends_the_flow_and_opens_the_session(store: Store) {
        let (acme, alice) = given_codes(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();
        fail(&store, &alice.id, 2).await;

        let accept = sign_in(
            recovery_code("r2"),
            &alice,
            &f.token_hash,
            vec![audit("signed-in", &acme.id, NOW)],
        );
        assert_eq!(
            store.accept_one_time_code(accept).await.unwrap(),
            OneTimeOutcome::Accepted
        );

        assert!(store.flow_by_token(&f.token_hash).await.unwrap().is_none());
        let opened = signed_in(&alice);
        assert_rows_eq!(
            store
                .session_by_token(&opened.token_hash, NOW)
                .await
                .unwrap(),
            Some(&opened)
        );
        let read = store.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(read.last_login_at, Some(NOW));
        assert_eq!(unused_ids(&store, &alice.id).await, ["r1"]);
        assert_eq!(audit_ids(&store, &acme).await, ["signed-in"]);
        assert_eq!(next_attempt(&store, &alice.id).await, 1);
    }

    async fn a_sign_in_with_a_mailed_code_ends_the_flow_and_opens_the_session(store: Store) {
        let (_, alice) = given_codes(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();

        let accept = sign_in(mailed("123456", "flow-f"), &alice, &f.token_hash, vec![]);
        assert_eq!(
            store.accept_one_time_code(accept).await.unwrap(),
            OneTimeOutcome::Accepted
        );
        assert!(store.flow_by_token(&f.token_hash).await.unwrap().is_none());
        let opened = signed_in(&alice);
        assert!(
            store
                .session_by_token(&opened.token_hash, NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .is_none()
        );
        let mail = store
            .factor_of_user(&alice.id, "mail")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mail.last_used_at, Some(NOW));
    }

    async fn a_sign_in_whose_flow_is_gone_uses_nothing_up(store: Store) {
        let (acme, alice) = given_codes(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();
        assert!(store.end_flow(&f.token_hash).await.unwrap());
        fail(&store, &alice.id, 2).await;

        for code in [recovery_code("r1"), mailed("123456", "flow-f")] {
            let accept = sign_in(
                code,
                &alice,
                &f.token_hash,
                vec![audit("ev", &acme.id, NOW)],
            );
            assert_eq!(
                store.accept_one_time_code(accept).await.unwrap(),
                OneTimeOutcome::FlowGone
            );
        }
        assert_eq!(unused_ids(&store, &alice.id).await, ["r1", "r2"]);
        assert!(
            store
                .confirmation(&alice.id, PURPOSE)
                .await
                .unwrap()
                .is_some()
        );
        let mail = store
            .factor_of_user(&alice.id, "mail")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mail.last_used_at, None);
        let opened = signed_in(&alice);
        assert!(
            store
                .session_by_token(&opened.token_hash, NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(audit_ids(&store, &acme).await.is_empty());
        let read = store.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(read.last_login_at, None);
        assert_eq!(next_attempt(&store, &alice.id).await, 3);
    }

    // SQLite looks at the flow first and answers `FlowGone`; PostgreSQL uses the code up first
    // and answers `CodeUsed`. The domain counts a failed second-factor attempt (and audits
    // `mfa.failed`) only for `CodeUsed`, so the twin of a successful request is a failure on
    // PostgreSQL and an expired flow on SQLite.
    async fn a_sign_in_whose_flow_and_code_are_both_gone_says_the_flow_is_gone(store: Store) {
        let (_, alice) = given_codes(&store).await;
        let f = flow("f", &alice.id);
        store.insert_flow(&f).await.unwrap();
        let first = sign_in(recovery_code("r1"), &alice, &f.token_hash, vec![]);
        assert_eq!(
            store.accept_one_time_code(first).await.unwrap(),
            OneTimeOutcome::Accepted
        );

        // A twin request with the same code for the same flow, a moment later.
        let twin = sign_in(recovery_code("r1"), &alice, &f.token_hash, vec![]);
        assert_eq!(
            store.accept_one_time_code(twin).await.unwrap(),
            OneTimeOutcome::FlowGone
        );
    }

    async fn a_recovery_code_presented_by_many_at_once_is_accepted_once(store: Store) {
        let (acme, alice) = given_codes(&store).await;
        let outcomes = at_once(6, |i| {
            let (store, alice) = (store.clone(), alice.clone());
            let row = audit(&format!("ev-{i}"), &acme.id, NOW);
            async move {
                let accept = claim(recovery_code("r1"), &alice, vec![row]);
                store.accept_one_time_code(accept).await.unwrap()
            }
        })
        .await;
        let accepted = outcomes
            .iter()
            .filter(|o| **o == OneTimeOutcome::Accepted)
            .count();
        let used = outcomes
            .iter()
            .filter(|o| **o == OneTimeOutcome::CodeUsed)
            .count();
        assert_eq!((accepted, used), (1, 5), "{outcomes:?}");
        assert_eq!(audit_ids(&store, &acme).await.len(), 1);
        assert_eq!(unused_ids(&store, &alice.id).await, ["r2"]);
    }
}
