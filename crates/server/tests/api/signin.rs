//! The password step, the second step, sessions and logout.

use twofold_proto::{ErrorCode, LoginResponse, Method};
use twofold_server::domain::users::{NewUser, Role};
use zeroize::Zeroizing;

use crate::harness::{PASSWORD, both_engines, token};

both_engines! {
    async fn user_without_factor_gets_an_aal1_session(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let me = srv.session(&org, &user).await.me().await.unwrap();
        assert_eq!(me.org, org);
        assert_eq!(me.username, "alice");
        assert_eq!(me.email, "alice@example.com");
        assert_eq!(me.role, twofold_proto::Role::Member);
        assert!(!me.federated);
        assert!(!me.mfa.enrolled);
        assert_eq!(me.mfa.factors, 0);
        assert_eq!(me.session.aal, 1);
        assert_eq!(me.session.amr, vec!["pwd"]);
    }

    async fn wrong_password_unknown_user_and_unknown_org_get_the_same_answer(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        srv.twofold
            .create_user(NewUser {
                org: org.clone(), username: "fed".into(), email: "fed@example.com".into(),
                role: Role::Member, federated: true, password: None,
            })
            .await
            .unwrap();
        let mut problems = Vec::new();
        for (o, u, p) in [
            (org.as_str(), user.as_str(), "wrong password!"),
            (org.as_str(), "nobody", PASSWORD),
            ("no-such-org", user.as_str(), PASSWORD),
            (org.as_str(), "fed", PASSWORD),
            (org.as_str(), "not a valid name!", PASSWORD),
        ] {
            let e = srv.client.login(o, u, p).await.unwrap_err();
            problems.push(e.problem().unwrap().clone());
        }
        assert_eq!(problems[0].code, ErrorCode::InvalidCredentials);
        assert_eq!(problems[0].status, 401);
        for p in &problems {
            assert_eq!(p, &problems[0], "every credential failure must look the same");
        }
    }

    async fn usernames_are_case_insensitive(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let r = srv.client.login(&org, "ALICE", PASSWORD).await.unwrap();
        assert!(matches!(r, LoginResponse::Authenticated { .. }));
    }

    async fn enrolled_user_needs_a_code_and_then_has_aal2(srv: TestServer) {
        let u = srv.enrolled().await;
        let r = srv.client.login(&u.org, &u.username, PASSWORD).await.unwrap();
        let LoginResponse::MfaRequired { flow_token, methods, preferred, code_sent_to, expires_at } = r else {
            panic!("expected mfa_required, got {r:?}");
        };
        assert_eq!(methods, vec![Method::Totp]);
        assert_eq!(preferred, Method::Totp);
        assert_eq!(code_sent_to, None);
        assert!(flow_token.starts_with("tff_"));
        assert!(expires_at.ends_with('Z'));
        let r = srv.submit(&flow_token, &u.code(&srv, 0)).await.unwrap();
        let me = srv.client.with_token(token(&r)).me().await.unwrap();
        assert_eq!(me.session.aal, 2);
        assert_eq!(me.session.amr, vec!["pwd", "otp"]);
        assert!(me.mfa.enrolled);
        assert_eq!(me.mfa.factors, 1);
        let factors = srv.client.with_token(token(&r)).factors().await.unwrap();
        assert!(factors[0].last_used_at.is_some());
    }

    async fn code_with_spaces_is_accepted(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let code = u.code(&srv, 0);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        srv.submit(&flow, &spaced).await.unwrap();
    }

    async fn wrong_code_is_invalid_code(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let good = u.code(&srv, 0);
        let wrong = if good == "000000" { "111111" } else { "000000" };
        let e = srv.submit(&flow, wrong).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode));
        assert_eq!(e.problem().unwrap().status, 401);
        // The flow survives a wrong code: the user may try again.
        srv.submit(&flow, &good).await.unwrap();
    }

    async fn malformed_code_is_invalid_request(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        for bad in ["12345", "abcdef", "123456789", ""] {
            let e = srv.submit(&flow, bad).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{bad:?}");
        }
    }

    async fn replayed_code_is_refused(srv: TestServer) {
        let u = srv.enrolled().await;
        let code = u.code(&srv, 0);
        srv.submit(&srv.flow(&u).await, &code).await.unwrap();
        let e = srv.submit(&srv.flow(&u).await, &code).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused));
        assert_eq!(e.problem().unwrap().status, 401);
    }

    async fn code_of_an_earlier_step_is_refused_after_a_later_one(srv: TestServer) {
        let u = srv.enrolled().await;
        let earlier = u.code(&srv, -1);
        srv.submit(&srv.flow(&u).await, &u.code(&srv, 0)).await.unwrap();
        let e = srv.submit(&srv.flow(&u).await, &earlier).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused));
    }

    async fn codes_one_step_either_side_are_accepted_two_are_not(srv: TestServer) {
        let u = srv.enrolled().await;
        // Step -1 from here would be the activation's own step: move past it.
        srv.advance(30);
        for steps in [-2, 2] {
            let e = srv.submit(&srv.flow(&u).await, &u.code(&srv, steps)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "offset {steps}");
        }
        srv.submit(&srv.flow(&u).await, &u.code(&srv, -1)).await.unwrap();
        srv.submit(&srv.flow(&u).await, &u.code(&srv, 1)).await.unwrap();
    }

    async fn flow_expires_after_five_minutes(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        srv.advance(299);
        let wrong = if u.code(&srv, 0) == "000000" { "111111" } else { "000000" };
        assert_eq!(srv.submit(&flow, wrong).await.unwrap_err().code(), Some(ErrorCode::InvalidCode));
        srv.advance(1);
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired));
        assert_eq!(e.problem().unwrap().status, 401);
    }

    async fn flow_completes_only_once(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        srv.advance(30);
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired));
    }

    async fn made_up_flow_token_is_flow_expired(srv: TestServer) {
        for t in ["tff_nope", "", "tfs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let e = srv.submit(t, "123456").await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{t:?}");
        }
    }

    async fn session_token_cannot_be_used_as_flow_token_or_vice_versa(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let e = srv.client.with_token(&flow).me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated));
    }

    async fn logout_ends_the_session(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        s.logout().await.unwrap();
        let e = s.me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated));
        assert_eq!(s.logout().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
    }

    async fn session_expires_after_its_lifetime(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        srv.advance(12 * 3600 - 1);
        s.me().await.unwrap();
        srv.advance(1);
        assert_eq!(s.me().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
    }

    async fn no_or_bad_bearer_token_is_unauthenticated(srv: TestServer) {
        let raw = reqwest::get(format!("{}/api/v1/me", srv.url)).await.unwrap();
        assert_eq!(raw.status(), 401);
        assert_eq!(raw.headers()["www-authenticate"], "Bearer");
        let e = srv.client.with_token("tfs_garbage").me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated));
    }

    async fn the_bearer_scheme_is_case_insensitive(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let t = crate::harness::token(&srv.client.login(&org, &user, PASSWORD).await.unwrap());
        for header in [format!("BEARER {t}"), format!("bearer {t}"), format!("Bearer   {t}")] {
            let res = reqwest::Client::new()
                .get(format!("{}/api/v1/me", srv.url))
                .header("authorization", &header)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{header}");
        }
        let res = reqwest::Client::new()
            .get(format!("{}/api/v1/me", srv.url))
            .header("authorization", format!("Basic {t}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn pending_factor_does_not_change_sign_in(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        srv.first_app(&s, None, "alice@example.com").await;
        let r = srv.client.login(&org, &user, PASSWORD).await.unwrap();
        assert!(matches!(r, LoginResponse::Authenticated { .. }));
    }
}

#[tokio::test]
async fn password_is_stored_as_argon2id_never_in_plaintext() {
    let srv = crate::harness::TestServer::start(crate::harness::Engine::Sqlite).await;
    let (org, _) = srv.user(Role::Member).await;
    let user = srv
        .twofold
        .store()
        .user_by_login(&org, "alice")
        .await
        .unwrap()
        .unwrap();
    let hash = user.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
    let _ = Zeroizing::new(hash);
}
