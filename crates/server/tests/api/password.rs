//! Changing one's password: the current one is needed; the user's other sessions end and
//! their remembered devices are forgotten; the user is mailed; a wrong current password or
//! a bad new one changes nothing.

use twofold_proto::{ErrorCode, LoginResponse, Method, MfaRequest};
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, both_engines, token};

const NEW: &str = "a brand new passphrase";

both_engines! {
    async fn a_password_change_ends_other_sessions_and_forgets_devices(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let done = srv.client.mfa(&MfaRequest {
            flow_token: flow,
            method: Method::Totp,
            code: u.code(&srv, 0),
            remember_device: Some(true),
            credential: None,
        }).await.unwrap();
        let LoginResponse::Authenticated { device_token: Some(device), .. } = &done else { panic!("{done:?}") };
        let strong = srv.client.with_token(token(&done));
        srv.advance(30);
        strong.change_password(PASSWORD, NEW).await.unwrap();
        // This session stays; the other one (from before enrolment) is over.
        strong.me().await.unwrap();
        let e = u.session.me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        // The old password no longer works; the new one does, and the device is forgotten.
        let e = srv.client.login(&u.org, &u.username, PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
        let r = srv.client.login_on_device(&u.org, &u.username, NEW, Some(device)).await.unwrap();
        assert!(matches!(r, LoginResponse::MfaRequired { .. }), "{r:?}");
        assert!(strong.devices().await.unwrap().is_empty());
        assert_eq!(srv.mails_to("alice@example.com", "Your password was changed").await.len(), 1);
        let events = srv.twofold.store().audit_events(
            &srv.twofold.store().user_by_login(&u.org, &u.username).await.unwrap().unwrap().org_id, None, 10,
        ).await.unwrap();
        let changed = events.iter().find(|e| e.event == "password.changed").unwrap();
        assert!(changed.details.contains("\"devices_forgotten\":1"), "{}", changed.details);
    }

    async fn a_wrong_current_password_or_a_short_new_one_changes_nothing(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let other = srv.session(&org, &user).await;
        let e = s.change_password("not my password", NEW).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(401), Some(ErrorCode::InvalidCredentials)), "{e}");
        let e = s.change_password(PASSWORD, "short").await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(400), Some(ErrorCode::InvalidRequest)), "{e}");
        // Nothing changed: the old password signs in and the other session lives.
        srv.session(&org, &user).await;
        other.me().await.unwrap();
        assert!(srv.mails_to("alice@example.com", "Your password was changed").await.is_empty());
        let e = srv.client.change_password(PASSWORD, NEW).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
    }

    async fn a_password_change_ends_sign_ins_in_progress(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let strong = srv.session_of(&u).await;
        strong.change_password(PASSWORD, NEW).await.unwrap();
        srv.advance(30);
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
    }

    async fn wrong_current_passwords_count_towards_the_lockout(srv: TestServer) {
        let u = srv.enrolled().await;
        let s = srv.session_of(&u).await;
        for _ in 0..5 {
            let e = s.change_password("not my password", NEW).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
        }
        // Locked: not even the right one is checked, and the user was told.
        let e = s.change_password(PASSWORD, NEW).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        assert_eq!(srv.mails_to("alice@example.com", "failed your second sign-in step").await.len(), 1);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        // After the lock, the right password works and leaves no count behind.
        srv.advance(61);
        s.change_password(PASSWORD, NEW).await.unwrap();
        for _ in 0..4 {
            srv.submit(&flow, "000000").await.ok();
        }
        let flow = match srv.client.login(&u.org, &u.username, NEW).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("{other:?}"),
        };
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
    }
}
