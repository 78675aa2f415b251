//! The user's own sessions: listed with the current one marked, ended one by one or all
//! but this one; a first factor ends the other password-only sessions; removing a factor
//! drops the sessions it raised to aal 1; changing factors needs a second factor passed in
//! the last 10 minutes.

use twofold_proto::ErrorCode;
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, TestServer, both_engines, token};

/// A password-only session opened with this `User-Agent`.
async fn session_as(
    srv: &TestServer,
    org: &str,
    user: &str,
    agent: &str,
) -> twofold_client::Client {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", srv.url))
        .header("user-agent", agent)
        .json(&serde_json::json!({"org": org, "username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    srv.client
        .with_token(body["session_token"].as_str().unwrap())
}

both_engines! {
    async fn sessions_are_listed_newest_first_with_the_current_one_marked(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let laptop = session_as(&srv, &org, &user, "laptop/1.0").await;
        srv.advance(5);
        let phone = session_as(&srv, &org, &user, "phone/2.0").await;
        let listed = laptop.sessions().await.unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(listed[0].user_agent.as_deref(), Some("phone/2.0"));
        assert_eq!(listed[1].user_agent.as_deref(), Some("laptop/1.0"));
        assert!(!listed[0].current && listed[1].current);
        assert_eq!(listed[1].ip.as_deref(), Some("127.0.0.1"));
        assert_eq!((listed[1].aal, listed[1].amr.as_slice()), (1, ["pwd".to_owned()].as_slice()));
        // Someone else's sessions are not among them.
        let (other_org, other) = srv.user(Role::Member).await;
        srv.session(&other_org, &other).await;
        assert_eq!(phone.sessions().await.unwrap().len(), 2);
    }

    async fn ending_a_session_signs_it_out_and_only_the_users_own_can_be_ended(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let a = srv.session(&org, &user).await;
        let b = srv.session(&org, &user).await;
        let b_id = b.sessions().await.unwrap().into_iter().find(|s| s.current).unwrap().id;
        a.end_session(&b_id).await.unwrap();
        let e = b.me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        let e = a.end_session(&b_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        // Another user's session is not found, and keeps running.
        let (other_org, other) = srv.user(Role::Member).await;
        let theirs = srv.session(&other_org, &other).await;
        let their_id = theirs.sessions().await.unwrap()[0].id.clone();
        let e = a.end_session(&their_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        theirs.me().await.unwrap();
        // Ending the current session is a logout.
        let a_id = a.sessions().await.unwrap()[0].id.clone();
        a.end_session(&a_id).await.unwrap();
        assert_eq!(a.me().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
    }

    async fn ending_all_others_keeps_only_this_one(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let others = [srv.session(&org, &user).await, srv.session(&org, &user).await];
        let this = srv.session(&org, &user).await;
        this.end_other_sessions().await.unwrap();
        for s in &others {
            assert_eq!(s.me().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
        }
        let left = this.sessions().await.unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].current);
    }

    async fn a_first_factor_ends_the_other_password_only_sessions(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let other = srv.session(&org, &user).await;
        // srv.enrolled() would make a new user: enrol this one by hand.
        let this = srv.session(&org, &user).await;
        let e = srv.first_app(&this, Some("Phone"), "alice@example.com").await;
        let totp = twofold_otp::Totp::new(
            twofold_otp::Secret::from_base32(&e.secret).unwrap(),
            twofold_otp::TotpParams::default(),
        )
        .unwrap();
        this.activate_factor(&e.id, &totp.generate_at(srv.now_secs())).await.unwrap();
        assert_eq!(other.me().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
        // The session that enrolled goes on, as it was.
        let me = this.me().await.unwrap();
        assert_eq!((me.session.aal, me.mfa.factors), (1, 1));
        // A second factor ends nothing: an aal-2 session adds it.
        srv.advance(30);
        let flow = match srv.client.login(&org, &user, PASSWORD).await.unwrap() {
            twofold_proto::LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("{other:?}"),
        };
        let strong = srv.client.with_token(token(&srv.submit(&flow, &totp.generate_at(srv.now_secs())).await.unwrap()));
        let second = strong.enroll_totp(Some("Tablet")).await.unwrap();
        let t2 = twofold_otp::Totp::new(
            twofold_otp::Secret::from_base32(&second.secret).unwrap(),
            twofold_otp::TotpParams::default(),
        )
        .unwrap();
        strong.activate_factor(&second.id, &t2.generate_at(srv.now_secs())).await.unwrap();
        this.me().await.unwrap();
    }

    async fn removing_a_factor_drops_the_sessions_it_raised_to_aal_1(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let strong = srv.client.with_token(token(&srv.submit(&flow, &u.code(&srv, 0)).await.unwrap()));
        assert_eq!(strong.me().await.unwrap().session.aal, 2);
        srv.advance(30);
        strong.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap();
        let me = strong.me().await.unwrap();
        assert_eq!((me.session.aal, me.session.amr.as_slice()), (1, ["pwd".to_owned()].as_slice()));
        let listed = strong.sessions().await.unwrap();
        assert!(listed.iter().all(|s| s.aal == 1), "{listed:?}");
    }

    async fn changing_factors_needs_a_second_factor_passed_in_the_last_ten_minutes(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let strong = srv.client.with_token(token(&srv.submit(&flow, &u.code(&srv, 0)).await.unwrap()));
        srv.advance(600);
        strong.enroll_totp(Some("Within ten minutes")).await.unwrap();
        srv.advance(1);
        let e = strong.enroll_totp(Some("Too late")).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(403), Some(ErrorCode::StepUpRequired)), "{e}");
    }
}
