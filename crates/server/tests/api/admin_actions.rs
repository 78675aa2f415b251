//! An admin resets a user's MFA (a lost phone) or clears their lock; the user is told by
//! mail, and so are they when a factor is added or removed or their second step locks.

use twofold_proto::{ErrorCode, LoginResponse, MfaStatus};
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, both_engines, require_mfa, token};

both_engines! {
    async fn a_reset_removes_the_factors_ends_the_sessions_and_tells_the_user(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        admin.set_mfa_policy(&u.org, &require_mfa(false, None)).await.unwrap();
        assert_eq!(srv.mails_to("alice@example.com", "A second factor was added").await.len(), 1);
        let user_id = u.session.me().await.unwrap().id;

        admin.reset_user_mfa(&u.org, &user_id).await.unwrap();
        let e = u.session.me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        let users = admin.org_users(&u.org).await.unwrap();
        let listed = users.iter().find(|x| x.id == user_id).unwrap();
        assert_eq!(listed.mfa, MfaStatus::NotEnrolled);
        assert_eq!(srv.mails_to("alice@example.com", "reset").await.len(), 1);
        // MFA is required: the next sign-in enrols again.
        assert!(matches!(
            srv.client.login(&u.org, &u.username, PASSWORD).await.unwrap(),
            LoginResponse::EnrollmentRequired { .. }
        ));
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        let reset = events.iter().find(|e| e.event == "mfa.reset").unwrap();
        assert_eq!(reset.subject_id.as_deref(), Some(user_id.as_str()));
        assert_eq!(reset.details["factors_removed"], 1);
    }

    async fn an_unlock_lets_a_locked_user_in_again_and_the_lock_was_mailed(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        let flow = srv.lock_out(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        let notice = srv.mails_to("alice@example.com", "failed your second sign-in step").await;
        assert_eq!(notice.len(), 1);
        assert!(notice[0].text.contains("from 127.0.0.1"), "{:?}", notice[0]);

        let id = u.session.me().await.unwrap().id;
        admin.unlock_user(&u.org, &id).await.unwrap();
        let flow = srv.flow(&u).await;
        let done = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        srv.client.with_token(token(&done)).me().await.unwrap();
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        assert!(events.iter().any(|e| e.event == "mfa.unlocked"));
    }

    async fn removing_a_factor_is_mailed(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let s = srv.client.with_token(token(&srv.submit(&flow, &u.code(&srv, 0)).await.unwrap()));
        srv.advance(30);
        s.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap();
        assert_eq!(srv.mails_to("alice@example.com", "A second factor was removed").await.len(), 1);
    }

    async fn only_the_right_admins_may_reset_or_unlock(srv: TestServer) {
        let (org, owner) = srv.user(Role::Owner).await;
        srv.user_in(&org, "bob", Role::Member).await;
        let (owner_s, _) = srv.with_app(&org, &owner).await;
        let owner_id = owner_s.me().await.unwrap().id;
        let admin = srv.admin_in(&org, "root").await;
        let member = srv.session(&org, "bob").await;
        let bob_id = member.me().await.unwrap().id;

        let e = member.unlock_user(&org, &bob_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = admin.reset_user_mfa(&org, &owner_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = admin.reset_user_mfa(&org, "no-such-user").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        let (other, _) = srv.user(Role::Member).await;
        let stranger = srv.admin_in(&other, "root").await;
        let e = stranger.reset_user_mfa(&other, &bob_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        // The owner may reset anyone, an admin a member.
        owner_s.reset_user_mfa(&org, &bob_id).await.unwrap();
        admin.unlock_user(&org, &bob_id).await.unwrap();
        assert!(srv.mails_to("bob@example.com", "reset").await.len() == 1);
    }

    async fn an_admin_cannot_reset_or_unlock_themselves(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let (admin, app) = srv.admin_with_app(&org, "root", Role::Admin).await;
        let root_id = admin.me().await.unwrap().id;
        // Even with a fresh second factor: their own factors change under /me/factors,
        // with a code from one of them.
        let e = admin.reset_user_mfa(&org, &root_id).await.unwrap_err();
        assert_eq!((e.problem().unwrap().status, e.code()), (403, Some(ErrorCode::Forbidden)), "{e}");
        let e = admin.unlock_user(&org, &root_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        // Nothing changed: the app still signs them in.
        srv.advance(60);
        let flow = match srv.client.login(&org, "root", PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("expected mfa_required, got {other:?}"),
        };
        srv.submit(&flow, &app.generate_at(srv.now_secs())).await.unwrap();
        let events = admin.audit_events(&org, None, None).await.unwrap();
        assert!(!events.iter().any(|e| e.event == "mfa.reset" || e.event == "mfa.unlocked"));
    }

    async fn admin_actions_need_a_fresh_second_factor(srv: TestServer) {
        // An enrolled admin in a password-only session (opened before her app, say).
        let (org, _) = srv.user(Role::Member).await;
        srv.user_in(&org, "bob", Role::Member).await;
        srv.user_in(&org, "root", Role::Admin).await;
        let stale = srv.session(&org, "root").await;
        let (fresh, app) = srv.with_app(&org, "root").await;
        let bob_id = fresh.org_users(&org).await.unwrap().into_iter().find(|u| u.username == "bob").unwrap().id;
        let step_up_required = |e: twofold_client::ClientError| {
            assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(403), Some(ErrorCode::StepUpRequired)), "{e}");
        };
        // (Her first factor ended that session; a new password-only one stands in for a
        // session opened before MFA, or with a remembered device.)
        assert_eq!(stale.me().await.unwrap_err().code(), Some(ErrorCode::Unauthenticated));
        srv.advance(60);
        let flow = match srv.client.login(&org, "root", PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("expected mfa_required, got {other:?}"),
        };
        let done = srv.client.mfa(&twofold_proto::MfaRequest {
            flow_token: flow,
            method: twofold_proto::Method::Totp,
            code: app.generate_at(srv.now_secs()),
            remember_device: Some(true),
            credential: None,
        }).await.unwrap();
        let device = match done {
            LoginResponse::Authenticated { device_token: Some(d), .. } => d,
            other => panic!("expected a device token, got {other:?}"),
        };
        let on_device = match srv.client.login_on_device(&org, "root", PASSWORD, Some(&device)).await.unwrap() {
            LoginResponse::Authenticated { session_token, .. } => srv.client.with_token(session_token),
            other => panic!("expected authenticated, got {other:?}"),
        };
        assert_eq!(on_device.me().await.unwrap().session.amr, ["pwd", "device"]);
        // And a session that passed its factor more than 10 minutes ago.
        srv.advance(601);
        for s in [&on_device, &fresh] {
            step_up_required(s.reset_user_mfa(&org, &bob_id).await.unwrap_err());
            step_up_required(s.unlock_user(&org, &bob_id).await.unwrap_err());
            step_up_required(s.create_api_key(&org, "key").await.unwrap_err());
            step_up_required(s.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap_err());
            step_up_required(s.set_org_settings(&org, &twofold_proto::SetOrgSettings {
                allow_qr_redisplay: true, remember_devices: true, confirm_first_app_by_email: Some(false),
                max_authenticator_apps: None,
            }).await.unwrap_err());
            step_up_required(s.create_org_user(&org, &twofold_proto::NewOrgUser {
                username: "mallory".into(), email: "m@example.com".into(),
                role: twofold_proto::Role::Admin, password: Some(PASSWORD.into()), federated: None,
            }).await.unwrap_err());
        }
        // Nothing happened.
        assert!(!fresh.mfa_policy(&org).await.unwrap().required);
        assert!(fresh.api_keys(&org).await.unwrap().is_empty());
        assert_eq!(fresh.org_users(&org).await.unwrap().len(), 3);
        // A code passed in the session itself makes it fresh again (POST /me/session/mfa).
        let info = on_device.pass_second_factor(twofold_proto::Method::Totp, &app.generate_at(srv.now_secs())).await.unwrap();
        assert_eq!((info.aal, info.amr.clone()), (2, vec!["pwd".to_owned(), "device".to_owned(), "otp".to_owned()]));
        on_device.create_api_key(&org, "key").await.unwrap();
        on_device.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
        on_device.reset_user_mfa(&org, &bob_id).await.unwrap();
    }

    async fn an_admin_without_a_factor_must_enrol_before_requiring_mfa(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        srv.user_in(&org, "bob", Role::Member).await;
        let a = srv.session(&org, &admin).await;
        let e = a.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!((p.status, p.code), (403, ErrorCode::EnrollmentRequired), "{e}");
        assert!(p.detail.contains("/me/factors/totp") && p.detail.contains("/me/session/mfa"), "{}", p.detail);
        assert!(!srv.admin_in(&org, "root").await.mfa_policy(&org).await.unwrap().required);
        // What the answer says: enrol, pass the factor in this session, then require MFA.
        let e = srv.first_app(&a, None, "alice@example.com").await;
        let totp = twofold_otp::Totp::new(twofold_otp::Secret::from_base32(&e.secret).unwrap(), Default::default()).unwrap();
        a.activate_factor(&e.id, &totp.generate_at(srv.now_secs())).await.unwrap();
        // Activating is not passing: this session is still password-only.
        let e2 = a.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap_err();
        assert_eq!(e2.code(), Some(ErrorCode::StepUpRequired), "{e2}");
        srv.advance(30);
        a.pass_second_factor(twofold_proto::Method::Totp, &totp.generate_at(srv.now_secs())).await.unwrap();
        assert!(a.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap().policy.required);
    }

    async fn a_reset_clears_the_lock_so_the_user_can_enrol_and_sign_in_again(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        admin.set_mfa_policy(&u.org, &require_mfa(false, None)).await.unwrap();
        let id = u.session.me().await.unwrap().id;
        srv.lock_out(&u).await;
        admin.reset_user_mfa(&u.org, &id).await.unwrap();
        // At once, with no wait for the lock: enrol, then sign in with the new app.
        let s = srv.session_after_enrolment(&u.org, &u.username).await;
        assert_eq!(s.me().await.unwrap().session.aal, 2);
        let factors = s.factors().await.unwrap();
        assert_eq!(factors.len(), 1);
        assert_ne!(factors[0].id, u.factor_id);
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        let reset = events.iter().find(|e| e.event == "mfa.reset").unwrap();
        let root_id = admin.me().await.unwrap().id;
        assert_eq!(reset.actor_id.as_deref(), Some(root_id.as_str()));
    }
}
