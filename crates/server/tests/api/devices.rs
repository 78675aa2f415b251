//! "Remember this device": a device token skips the second step for its user only, for
//! 30 days, at aal 2 with amr [pwd, device] but never as a fresh second factor; listed and
//! forgotten by the user; forgotten by a factor removal, an MFA reset, the organisation
//! turning the option off; at most 10 per user.

use twofold_proto::{ErrorCode, LoginResponse, Method, MfaRequest, SetOrgSettings};

use crate::harness::{Enrolled, PASSWORD, TestServer, both_engines, token};

/// Signs `u` in with a code and `remember_device`; answers the device token.
async fn remembered(srv: &TestServer, u: &Enrolled) -> String {
    let flow = srv.flow(u).await;
    let done = srv
        .client
        .mfa(&MfaRequest {
            flow_token: flow,
            method: Method::Totp,
            code: u.code(srv, 0),
            remember_device: Some(true),
            credential: None,
        })
        .await
        .unwrap();
    srv.advance(30);
    match done {
        LoginResponse::Authenticated {
            device_token: Some(t),
            ..
        } => t,
        other => panic!("expected a device token, got {other:?}"),
    }
}

async fn on_device(srv: &TestServer, u: &Enrolled, device: &str) -> LoginResponse {
    srv.client
        .login_on_device(&u.org, &u.username, PASSWORD, Some(device))
        .await
        .unwrap()
}

both_engines! {
    async fn a_remembered_device_skips_the_second_step(srv: TestServer) {
        let u = srv.enrolled().await;
        let device = remembered(&srv, &u).await;
        assert!(device.starts_with("tfd_"));
        let done = on_device(&srv, &u, &device).await;
        let s = srv.client.with_token(token(&done));
        let me = s.me().await.unwrap();
        assert_eq!((me.session.aal, me.session.amr.as_slice()), (2, ["pwd".to_owned(), "device".to_owned()].as_slice()));
        // Not a fresh second factor: guarded changes still need one.
        let e = s.enroll_totp(None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // The password is still needed, and the token is for this user only.
        let e = srv.client.login_on_device(&u.org, &u.username, "wrong password", Some(&device)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
        let other = srv.enrolled().await;
        assert!(matches!(on_device(&srv, &other, &device).await, LoginResponse::MfaRequired { .. }));
        // Listed, with its last use.
        let listed = s.devices().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some());
        // After 30 days it is gone.
        srv.advance(30 * 86_400);
        assert!(matches!(on_device(&srv, &u, &device).await, LoginResponse::MfaRequired { .. }));
    }

    async fn forgetting_a_device_or_removing_a_factor_ends_it(srv: TestServer) {
        let u = srv.enrolled().await;
        let a = remembered(&srv, &u).await;
        let b = remembered(&srv, &u).await;
        let listed = u.session.devices().await.unwrap();
        assert_eq!(listed.len(), 2);
        u.session.forget_device(&listed[0].id).await.unwrap();
        let e = u.session.forget_device(&listed[0].id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        assert!(matches!(on_device(&srv, &u, &b).await, LoginResponse::MfaRequired { .. }));
        assert!(matches!(on_device(&srv, &u, &a).await, LoginResponse::Authenticated { .. }));
        // Removing a factor forgets them all.
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        strong.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap();
        assert!(strong.devices().await.unwrap().is_empty());
    }

    async fn an_mfa_reset_and_the_organisation_turning_it_off_forget_devices(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        let device = remembered(&srv, &u).await;
        admin.set_org_settings(&u.org, &SetOrgSettings { allow_qr_redisplay: true, remember_devices: false, confirm_first_app_by_email: None, max_authenticator_apps: None }).await.unwrap();
        assert!(matches!(on_device(&srv, &u, &device).await, LoginResponse::MfaRequired { .. }));
        // While off, remember_device gives no token.
        let flow = srv.flow(&u).await;
        let done = srv.client.mfa(&MfaRequest { flow_token: flow, method: Method::Totp, code: u.code(&srv, 0), remember_device: Some(true), credential: None }).await.unwrap();
        assert!(matches!(done, LoginResponse::Authenticated { device_token: None, .. }), "{done:?}");
        srv.advance(30);
        admin.set_org_settings(&u.org, &SetOrgSettings { allow_qr_redisplay: true, remember_devices: true, confirm_first_app_by_email: None, max_authenticator_apps: None }).await.unwrap();
        let device = remembered(&srv, &u).await;
        let id = admin.org_users(&u.org).await.unwrap().into_iter().find(|x| x.username == u.username).unwrap().id;
        admin.reset_user_mfa(&u.org, &id).await.unwrap();
        assert!(srv.twofold.store().devices_of_user(&id, 0).await.unwrap().is_empty());
        let _ = device;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_devices_are_kept() {
    let srv = TestServer::start_with(crate::harness::Engine::Sqlite, |c| {
        c.security.max_remembered_devices = 2;
    })
    .await;
    let u = srv.enrolled().await;
    let first = remembered(&srv, &u).await;
    let second = remembered(&srv, &u).await;
    let third = remembered(&srv, &u).await;
    assert_eq!(u.session.devices().await.unwrap().len(), 2);
    assert!(matches!(
        on_device(&srv, &u, &first).await,
        LoginResponse::MfaRequired { .. }
    ));
    for d in [second, third] {
        assert!(matches!(
            on_device(&srv, &u, &d).await,
            LoginResponse::Authenticated { .. }
        ));
    }
}
