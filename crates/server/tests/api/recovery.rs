//! Recovery codes: ten, shown once, made only from a session that passed a second factor
//! recently; each signs in once, in any case and with or without its hyphen; a new set
//! replaces the old; wrong ones count towards the lockout; stored only as Argon2id hashes.

use twofold_proto::{ErrorCode, LoginResponse, Method, MfaRequest};
use twofold_server::domain::users::Role;

use crate::harness::{Enrolled, TestServer, both_engines, token};

async fn with_recovery(
    srv: &TestServer,
    flow: &str,
    code: &str,
) -> twofold_client::Result<LoginResponse> {
    srv.client
        .mfa(&MfaRequest {
            flow_token: flow.into(),
            method: Method::RecoveryCode,
            code: code.into(),
            remember_device: None,
            credential: None,
        })
        .await
}

/// An enrolled user and a fresh set of their codes.
async fn user_with_codes(srv: &TestServer) -> (Enrolled, Vec<String>) {
    let u = srv.enrolled().await;
    let codes = srv
        .strong_session(&u)
        .await
        .regenerate_recovery_codes()
        .await
        .unwrap()
        .codes;
    srv.advance(30);
    (u, codes)
}

async fn user_id(srv: &TestServer, u: &Enrolled) -> String {
    srv.twofold
        .store()
        .user_by_login(&u.org, &u.username)
        .await
        .unwrap()
        .unwrap()
        .id
}

both_engines! {
    async fn ten_distinct_codes_are_shown_once_and_counted(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for c in &codes {
            let (a, b) = c.split_once('-').unwrap();
            assert!(a.len() == 5 && b.len() == 5, "{c}");
            assert!(c.chars().all(|ch| ch == '-' || ch.is_ascii_digit() || ch.is_ascii_lowercase()), "{c}");
        }
        assert_eq!(u.session.recovery_codes_status().await.unwrap().remaining, 10);
        assert_eq!(srv.mails_to("alice@example.com", "New recovery codes").await.len(), 1);
        // Stored only as slow salted hashes.
        let stored = srv.twofold.store().unused_recovery_codes(&user_id(&srv, &u).await).await.unwrap();
        assert_eq!(stored.len(), 10);
        for (_, hash) in &stored {
            assert!(hash.starts_with("$argon2id$"), "{hash}");
            assert!(codes.iter().all(|c| !hash.contains(c.as_str())));
        }
        let (_, a) = &stored[0];
        let (_, b) = &stored[1];
        assert_ne!(a.split('$').nth(4), b.split('$').nth(4), "each hash has its own salt");
    }

    async fn making_codes_needs_an_active_factor_and_a_recent_second_factor(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let e = srv.session(&org, &user).await.regenerate_recovery_codes().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        let u = srv.enrolled().await;
        // A password-only session.
        let e = u.session.regenerate_recovery_codes().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // A second factor passed more than 10 minutes ago.
        let strong = srv.strong_session(&u).await;
        srv.advance(601);
        let e = strong.regenerate_recovery_codes().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        assert_eq!(strong.recovery_codes_status().await.unwrap().remaining, 0);
    }

    async fn a_recovery_code_signs_in_once(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        let flow = match srv.client.login(&u.org, &u.username, crate::harness::PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, methods, .. } => {
                assert_eq!(methods, [Method::Totp, Method::RecoveryCode]);
                flow_token
            }
            other => panic!("{other:?}"),
        };
        // As typed from paper: upper case, no hyphen.
        let typed = codes[3].replace('-', "").to_uppercase();
        let done = with_recovery(&srv, &flow, &typed).await.unwrap();
        let LoginResponse::Authenticated { recovery_codes_remaining, .. } = &done else { panic!("{done:?}") };
        assert_eq!(*recovery_codes_remaining, Some(9));
        let s = srv.client.with_token(token(&done));
        let me = s.me().await.unwrap();
        assert_eq!(me.session.aal, 2);
        assert_eq!(me.session.amr, ["pwd", "otp", "recovery_code"]);
        // The same code again, on a new sign-in, is refused.
        let flow = srv.flow(&u).await;
        let e = with_recovery(&srv, &flow, &codes[3]).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(401), Some(ErrorCode::InvalidCode)), "{e}");
        assert_eq!(s.recovery_codes_status().await.unwrap().remaining, 9);
        let used = srv.mails_to("alice@example.com", "A recovery code was used").await;
        assert_eq!(used.len(), 1);
        assert!(used[0].text.contains("9 recovery codes left"), "{:?}", used[0]);
        let org_id = srv.twofold.store().user_by_login(&u.org, &u.username).await.unwrap().unwrap().org_id;
        let events = srv.twofold.store().audit_events(&org_id, None, 50).await.unwrap();
        // The same events, in the same shape, as any other kind of code records.
        let details = |name: &str| -> serde_json::Value {
            let e = events.iter().find(|e| e.event == name).unwrap_or_else(|| panic!("no {name}"));
            serde_json::from_str(&e.details).unwrap()
        };
        assert_eq!(details("signin.succeeded"), serde_json::json!({"amr": ["pwd", "otp", "recovery_code"], "method": "recovery_code"}));
        assert_eq!(details("mfa.failed"), serde_json::json!({"attempt": 1, "reason": "invalid_code", "method": "recovery_code"}));
    }

    async fn the_answer_warns_when_few_codes_are_left(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        let warning = |r: &LoginResponse| match r {
            LoginResponse::Authenticated { recovery_codes_remaining, warning, .. } => (*recovery_codes_remaining, warning.clone()),
            other => panic!("{other:?}"),
        };
        for code in &codes[..6] {
            let flow = srv.flow(&u).await;
            let done = with_recovery(&srv, &flow, code).await.unwrap();
            assert_eq!(warning(&done).1, None);
        }
        let flow = srv.flow(&u).await;
        let (left, said) = warning(&with_recovery(&srv, &flow, &codes[6]).await.unwrap());
        assert_eq!(left, Some(3));
        assert!(said.as_deref().is_some_and(|w| w.contains("Only 3 recovery codes are left")), "{said:?}");
        let mails = srv.mails_to("alice@example.com", "A recovery code was used").await;
        assert!(mails.iter().any(|m| m.text.contains("Only 3 recovery codes are left")), "{mails:?}");
        // A TOTP sign-in carries no warning.
        let flow = srv.flow(&u).await;
        assert_eq!(warning(&srv.submit(&flow, &u.code(&srv, 0)).await.unwrap()), (None, None));
    }

    async fn a_new_set_replaces_the_old_one(srv: TestServer) {
        let (u, old) = user_with_codes(&srv).await;
        let new = srv.strong_session(&u).await.regenerate_recovery_codes().await.unwrap().codes;
        srv.advance(30);
        let flow = srv.flow(&u).await;
        let e = with_recovery(&srv, &flow, &old[0]).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        with_recovery(&srv, &flow, &new[0]).await.unwrap();
    }

    async fn wrong_recovery_codes_count_towards_the_lockout(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            let e = with_recovery(&srv, &flow, "aaaaa-bbbbb").await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = with_recovery(&srv, &flow, &codes[0]).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        // The lock covers every method, and the notice was mailed.
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        assert_eq!(srv.mails_to("alice@example.com", "failed your second sign-in step").await.len(), 1);
        // The code was never evaluated, so it still works after the lock.
        srv.advance(61);
        let flow = srv.flow(&u).await;
        with_recovery(&srv, &flow, &codes[0]).await.unwrap();
    }

    async fn a_malformed_recovery_code_is_a_bad_request_and_not_counted(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        let flow = srv.flow(&u).await;
        for bad in ["123", "aaaaa-bbbbb-c", "uuuuu-uuuuu"] {
            let e = with_recovery(&srv, &flow, bad).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{bad}: {e}");
        }
        // Four wrong ones after them do not lock: the malformed ones were not counted.
        for _ in 0..4 {
            let e = with_recovery(&srv, &flow, "aaaaa-bbbbb").await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        with_recovery(&srv, &flow, &codes[0]).await.unwrap();
    }

    async fn one_code_used_twice_at_once_signs_in_once(srv: TestServer) {
        let (u, codes) = user_with_codes(&srv).await;
        let flows = [srv.flow(&u).await, srv.flow(&u).await, srv.flow(&u).await];
        let answers = futures_util::future::join_all(flows.iter().map(|f| with_recovery(&srv, f, &codes[0]))).await;
        let ok = answers.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{answers:?}");
        // Each loser found the code used: a wrong code, counted.
        for lost in answers.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(lost.code(), Some(ErrorCode::InvalidCode), "{lost}");
        }
        assert_eq!(u.session.recovery_codes_status().await.unwrap().remaining, 9);
    }

    async fn an_mfa_reset_removes_the_codes(srv: TestServer) {
        let (u, _) = user_with_codes(&srv).await;
        let admin = srv.admin_in(&u.org, "root").await;
        let id = user_id(&srv, &u).await;
        admin.reset_user_mfa(&u.org, &id).await.unwrap();
        assert!(srv.twofold.store().unused_recovery_codes(&id).await.unwrap().is_empty());
    }
}
