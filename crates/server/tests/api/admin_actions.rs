//! An admin resets a user's MFA (a lost phone) or clears their lock; the user is told by
//! mail, and so are they when a factor is added or removed or their second step locks.

use twofold_proto::{ErrorCode, LoginResponse, MfaStatus};
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, both_engines, require_mfa, token};

both_engines! {
    async fn a_reset_removes_the_factors_ends_the_sessions_and_tells_the_user(srv: TestServer) {
        let u = srv.enrolled().await;
        srv.user_in(&u.org, "root", Role::Admin).await;
        let admin = srv.session(&u.org, "root").await;
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
        srv.user_in(&u.org, "root", Role::Admin).await;
        let admin = srv.session(&u.org, "root").await;
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
        srv.user_in(&org, "root", Role::Admin).await;
        srv.user_in(&org, "bob", Role::Member).await;
        let owner_s = srv.session(&org, &owner).await;
        let owner_id = owner_s.me().await.unwrap().id;
        let admin = srv.session(&org, "root").await;
        let member = srv.session(&org, "bob").await;
        let bob_id = member.me().await.unwrap().id;

        let e = member.unlock_user(&org, &bob_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = admin.reset_user_mfa(&org, &owner_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = admin.reset_user_mfa(&org, "no-such-user").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        let (other, other_admin) = srv.user(Role::Admin).await;
        let stranger = srv.session(&other, &other_admin).await;
        let e = stranger.reset_user_mfa(&other, &bob_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        // The owner may reset anyone, an admin a member.
        owner_s.reset_user_mfa(&org, &bob_id).await.unwrap();
        admin.unlock_user(&org, &bob_id).await.unwrap();
        assert!(srv.mails_to("bob@example.com", "reset").await.len() == 1);
    }

    async fn a_reset_clears_the_lock_so_the_user_can_enrol_and_sign_in_again(srv: TestServer) {
        let u = srv.enrolled().await;
        srv.user_in(&u.org, "root", Role::Admin).await;
        let admin = srv.session(&u.org, "root").await;
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
