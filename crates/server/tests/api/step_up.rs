//! Step-up: a fresh second factor for an elevated token (5 minutes, scopes, bound to its
//! session, optionally single-use), which stands in for a recent second factor in the
//! guarded changes and for a code when removing a factor; applications introspect
//! sessions and elevated tokens with an organisation API key.

use twofold_proto::{ErrorCode, Method, StepUpRequest};
use twofold_server::domain::users::Role;

use crate::harness::{Enrolled, TestServer, both_engines};

fn req(method: Method, code: &str, scopes: &[&str], single_use: bool) -> StepUpRequest {
    StepUpRequest {
        method,
        code: code.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        single_use: Some(single_use),
        credential: None,
    }
}

/// An elevated token for `u`'s password-only session, with a code of this step.
async fn elevated(srv: &TestServer, u: &Enrolled, scopes: &[&str], single_use: bool) -> String {
    u.session
        .step_up(&req(Method::Totp, &u.code(srv, 0), scopes, single_use))
        .await
        .unwrap()
        .elevated_token
}

both_engines! {
    async fn a_step_up_answers_an_elevated_token_for_five_minutes(srv: TestServer) {
        let u = srv.enrolled().await;
        let t = u.session.step_up(&req(Method::Totp, &u.code(&srv, 0), &["mfa:manage", "wallet:export", "mfa:manage"], false)).await.unwrap();
        assert!(t.elevated_token.starts_with("tfe_"));
        assert_eq!(t.scopes, ["mfa:manage", "wallet:export"]);
        let want = twofold_server::Timestamp::from_millis(crate::harness::START + 30_000 + 300_000);
        assert_eq!(t.expires_at, want.to_rfc3339());
        // The code is a second factor like any: replaying it is refused.
        let e = u.session.step_up(&req(Method::Totp, &u.code(&srv, 0), &["x"], false)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused), "{e}");
        // The session itself is unchanged.
        assert_eq!(u.session.me().await.unwrap().session.aal, 1);
    }

    async fn bad_step_ups_are_refused(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let e = srv.session(&org, &user).await.step_up(&req(Method::Totp, "123456", &["x"], false)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        let u = srv.enrolled().await;
        for scopes in [&[][..], &["has space"][..], &["x"; 11][..]] {
            let e = u.session.step_up(&req(Method::Totp, &u.code(&srv, 0), scopes, false)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{scopes:?}: {e}");
        }
        let e = srv.client.step_up(&req(Method::Totp, &u.code(&srv, 0), &["x"], false)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        // Wrong codes count towards the lockout.
        let wrong = if u.code(&srv, 0) == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let e = u.session.step_up(&req(Method::Totp, wrong, &["x"], false)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = u.session.step_up(&req(Method::Totp, &u.code(&srv, 0), &["x"], false)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
    }

    async fn an_elevated_token_stands_in_for_a_recent_second_factor(srv: TestServer) {
        let u = srv.enrolled().await;
        // A password-only session may not add a second factor...
        let e = u.session.enroll_totp(Some("Tablet")).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // ...but may with an elevated token for mfa:manage,
        let t = elevated(&srv, &u, &["mfa:manage"], false).await;
        u.session.with_elevated(&t).enroll_totp(Some("Tablet")).await.unwrap();
        u.session.with_elevated(&t).enroll_totp(Some("Tablet")).await.unwrap();
        // until it expires.
        srv.advance(301);
        let e = u.session.with_elevated(&t).enroll_totp(Some("Tablet")).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
    }

    async fn an_elevated_token_works_only_for_its_scope_its_session_and_once_if_single_use(srv: TestServer) {
        let u = srv.enrolled().await;
        // A live token of this session without the scope: told which one it needs.
        let other_scope = elevated(&srv, &u, &["wallet:export"], false).await;
        let e = u.session.with_elevated(&other_scope).enroll_totp(None).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!((p.status, p.code, p.scope.as_deref()), (403, ErrorCode::InsufficientScope, Some("mfa:manage")), "{e}");
        assert!(p.detail.contains("mfa:manage"), "{e}");
        // Another session of the same user cannot use it.
        srv.advance(30);
        let t = elevated(&srv, &u, &["mfa:manage"], true).await;
        let other_session = srv.session_of(&u).await;
        let e = other_session.with_elevated(&t).enroll_totp(None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // Single use: the first change spends it.
        u.session.with_elevated(&t).enroll_totp(None).await.unwrap();
        let e = u.session.with_elevated(&t).enroll_totp(None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        let e = u.session.with_elevated("tfe_garbage").enroll_totp(None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
    }

    async fn an_elevated_token_removes_a_factor_in_place_of_its_code(srv: TestServer) {
        let u = srv.enrolled().await;
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        let t = strong.step_up(&req(Method::Totp, &u.code(&srv, 0), &["mfa:manage"], true)).await.unwrap().elevated_token;
        strong.with_elevated(&t).delete_factor(&u.factor_id, None).await.unwrap();
        assert!(strong.factors().await.unwrap().is_empty());
        assert_eq!(strong.me().await.unwrap().session.aal, 1);
        assert_eq!(srv.mails_to("alice@example.com", "A second factor was removed").await.len(), 1);
    }

    async fn a_recovery_code_steps_up_too(srv: TestServer) {
        let u = srv.enrolled().await;
        let codes = srv.strong_session(&u).await.regenerate_recovery_codes().await.unwrap().codes;
        let t = u.session.step_up(&req(Method::RecoveryCode, &codes[0], &["mfa:manage"], false)).await.unwrap();
        u.session.with_elevated(&t.elevated_token).enroll_totp(None).await.unwrap();
        assert_eq!(u.session.recovery_codes_status().await.unwrap().remaining, 9);
        let e = u.session.step_up(&req(Method::RecoveryCode, &codes[0], &["x"], false)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
    }

    async fn applications_introspect_sessions_and_elevated_tokens_with_an_api_key(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        let created = admin.create_api_key(&u.org, "Wallet service").await.unwrap();
        assert!(created.key.starts_with("tfk_"));
        let listed = admin.api_keys(&u.org).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].id.as_str(), listed[0].name.as_str()), (created.id.as_str(), "Wallet service"));
        assert!(!serde_json::to_string(&listed).unwrap().contains(&created.key));
        let app = srv.client.with_token(&created.key);

        let user_id = u.session.me().await.unwrap().id;
        // A session.
        srv.user_in(&u.org, "carol", Role::Member).await;
        let session_token = crate::harness::token(&srv.client.login(&u.org, "carol", crate::harness::PASSWORD).await.unwrap());
        let i = app.introspect(&session_token).await.unwrap();
        assert!(i.active);
        assert_eq!(i.token_type.as_deref(), Some("session"));
        assert_eq!(i.org.as_deref(), Some(u.org.as_str()));
        assert_eq!((i.aal, i.amr.as_deref()), (Some(1), Some(&["pwd".to_owned()][..])));
        // A single-use elevated token: active once.
        srv.advance(30);
        let t = elevated(&srv, &u, &["wallet:export"], true).await;
        let i = app.introspect(&t).await.unwrap();
        assert!(i.active, "{i:?}");
        assert_eq!(i.token_type.as_deref(), Some("elevated"));
        assert_eq!(i.sub.as_deref(), Some(user_id.as_str()));
        assert_eq!(i.scope.as_deref(), Some("wallet:export"));
        assert_eq!(i.aal, Some(2));
        assert_eq!(i.amr.as_deref(), Some(&["pwd".to_owned(), "otp".to_owned()][..]));
        assert_eq!(i.exp, Some(srv.now_secs() as i64 + 300));
        assert!(!app.introspect(&t).await.unwrap().active);
        // A reusable one stays active until it expires.
        srv.advance(30);
        let t = elevated(&srv, &u, &["wallet:export"], false).await;
        assert!(app.introspect(&t).await.unwrap().active);
        assert!(app.introspect(&t).await.unwrap().active);
        srv.advance(301);
        assert!(!app.introspect(&t).await.unwrap().active);
        // Nonsense, and another organisation's tokens, are inactive.
        assert_eq!(app.introspect("not a token").await.unwrap(), twofold_proto::Introspection::default());
        let (other_org, other_user) = srv.user(Role::Member).await;
        let theirs = crate::harness::token(&srv.client.login(&other_org, &other_user, crate::harness::PASSWORD).await.unwrap());
        assert!(!app.introspect(&theirs).await.unwrap().active);
        // Only an API key may ask; a revoked one may not.
        let e = srv.client.with_token(&session_token).introspect(&session_token).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        admin.revoke_api_key(&u.org, &created.id).await.unwrap();
        let e = app.introspect(&session_token).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        let e = admin.revoke_api_key(&u.org, &created.id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        for name in ["api_key.created", "api_key.revoked", "mfa.step_up"] {
            assert!(events.iter().any(|e| e.event == name), "{name}");
        }
    }

    async fn a_code_raises_the_current_session_to_aal2(srv: TestServer) {
        let u = srv.enrolled().await;
        // The session from before her app: password only.
        assert_eq!(u.session.me().await.unwrap().session.aal, 1);
        let e = u.session.enroll_totp(Some("Tablet")).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        let code = u.code(&srv, 0);
        let info = u.session.pass_second_factor(Method::Totp, &code).await.unwrap();
        assert_eq!((info.aal, info.amr), (2, vec!["pwd".to_owned(), "otp".to_owned()]));
        let me = u.session.me().await.unwrap();
        assert_eq!((me.session.aal, me.session.amr), (2, vec!["pwd".to_owned(), "otp".to_owned()]));
        // It counts as a second factor passed just now.
        u.session.enroll_totp(Some("Tablet")).await.unwrap();
        // Replay-proof: the same code again is refused, here and at sign-in.
        let e = u.session.pass_second_factor(Method::Totp, &code).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused), "{e}");
        let e = srv.submit(&srv.flow(&u).await, &code).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused), "{e}");
        // Counted: wrong codes lock the user like at sign-in.
        let wrong = if u.code(&srv, 0) == "000000" { "111111" } else { "000000" };
        for _ in 0..3 {
            let e = u.session.pass_second_factor(Method::Totp, wrong).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = u.session.pass_second_factor(Method::Totp, &u.code(&srv, 1)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        // Audited.
        let admin = srv.admin_in(&u.org, "root").await;
        let user_id = u.session.me().await.unwrap().id;
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        let up = events.iter().find(|e| e.event == "session.upgraded" && e.subject_id.as_deref() == Some(&user_id)).unwrap();
        assert_eq!(up.details["method"], "totp");
        assert_eq!(up.details["factor_id"], u.factor_id.as_str());
    }

    async fn members_cannot_manage_api_keys(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = s.create_api_key(&org, "mine").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = s.api_keys(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
    }
}
