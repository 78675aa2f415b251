//! A user's first authenticator app (seed 000, step 2): a code mailed to their registered
//! address comes first, so a stolen password alone cannot enrol the thief's phone; in the
//! account and in the enrolment a sign-in requires alike; an organisation may turn it off.
//! And a password alone never adds two: of two first factors activated at once, from two
//! sessions or two enrolment flows, exactly one is.

use twofold_client::{Client, TotpStart};
use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, FactorStatus, LoginResponse, SetOrgSettings};
use twofold_server::domain::users::Role;

use crate::harness::{
    FIRST_APP_MAIL, PASSWORD, TestServer, both_engines, each_engine, require_mfa, token,
};

const EMAIL_SET_UP: &str = "Your code to set up sign-in codes by email";

fn totp_of(secret: &str) -> Totp {
    Totp::new(Secret::from_base32(secret).unwrap(), TotpParams::default()).unwrap()
}

fn other_than(code: &str) -> String {
    if code == "000000" {
        "111111".into()
    } else {
        "000000".into()
    }
}

/// Signs `user` of `org` in, expecting `enrollment_required`; answers the flow.
async fn must_enrol(srv: &TestServer, org: &str, user: &str) -> String {
    match srv.client.login(org, user, PASSWORD).await.unwrap() {
        LoginResponse::EnrollmentRequired { flow_token, .. } => flow_token,
        other => panic!("expected enrollment_required, got {other:?}"),
    }
}

both_engines! {
    async fn a_first_app_waits_for_a_code_mailed_to_the_registered_address(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let pending = match s.start_totp(Some("Phone"), None).await.unwrap() {
            TotpStart::ConfirmationRequired(c) => c,
            other => panic!("expected confirmation_required, got {other:?}"),
        };
        assert_eq!(pending.status, "confirmation_required");
        // Nothing was made yet, and the code went to her address.
        assert!(s.factors().await.unwrap().is_empty());
        let code = srv.mailed_code("alice@example.com", FIRST_APP_MAIL).await;
        // Not another code within 30 s.
        let e = s.start_totp(Some("Phone"), None).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!((p.status, p.code), (429, ErrorCode::RateLimited), "{e}");
        assert!(p.retry_after.is_some(), "{e}");
        // A wrong code adds nothing.
        let e = s.start_totp(Some("Phone"), Some(&other_than(&code))).await.unwrap_err();
        assert_eq!((e.problem().unwrap().status, e.code()), (400, Some(ErrorCode::InvalidCode)), "{e}");
        assert!(s.factors().await.unwrap().is_empty());
        // The right one does, once.
        let e = match s.start_totp(Some("Phone"), Some(&code)).await.unwrap() {
            TotpStart::Enrolled(e) => e,
            other => panic!("expected the pending factor, got {other:?}"),
        };
        assert_eq!(s.factors().await.unwrap()[0].id, e.id);
        let again = s.start_totp(Some("Phone"), Some(&code)).await.unwrap_err();
        assert_eq!(again.code(), Some(ErrorCode::InvalidCode), "{again}");
        s.activate_factor(&e.id, &totp_of(&e.secret).generate_at(srv.now_secs())).await.unwrap();
    }

    async fn a_code_mailed_for_one_session_does_not_work_in_another(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let mine = srv.session(&org, &user).await;
        let theirs = srv.session(&org, &user).await;
        mine.start_totp(None, None).await.unwrap();
        let code = srv.mailed_code("alice@example.com", FIRST_APP_MAIL).await;
        let e = theirs.start_totp(None, Some(&code)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // It was not spent by the other session's try.
        assert!(matches!(mine.start_totp(None, Some(&code)).await.unwrap(), TotpStart::Enrolled(_)));
    }

    async fn inside_an_enrolment_the_code_comes_first_too(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let admin = srv.admin_in(&org, "root").await;
        admin.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
        let flow = must_enrol(&srv, &org, "alice").await;
        assert!(matches!(
            srv.client.start_totp_in_flow(&flow, None, None).await.unwrap(),
            TotpStart::ConfirmationRequired(_)
        ));
        let code = srv.mailed_code("alice@example.com", FIRST_APP_MAIL).await;
        let e = srv.client.start_totp_in_flow(&flow, None, Some(&other_than(&code))).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        let e = match srv.client.start_totp_in_flow(&flow, None, Some(&code)).await.unwrap() {
            TotpStart::Enrolled(e) => e,
            other => panic!("expected the pending factor, got {other:?}"),
        };
        let done = srv
            .client
            .activate_in_flow(&flow, &e.id, &totp_of(&e.secret).generate_at(srv.now_secs()))
            .await
            .unwrap();
        assert_eq!(srv.client.with_token(token(&done)).me().await.unwrap().session.aal, 2);
    }

    async fn an_organisation_may_turn_the_code_off_and_a_second_app_never_needs_it(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let admin = srv.admin_in(&org, "root").await;
        assert!(admin.org_settings(&org).await.unwrap().confirm_first_app_by_email);
        let off = SetOrgSettings { allow_qr_redisplay: true, remember_devices: true, confirm_first_app_by_email: Some(false), max_authenticator_apps: None };
        let settings = admin.set_org_settings(&org, &off).await.unwrap();
        assert!(!settings.confirm_first_app_by_email);
        let s = srv.session(&org, &user).await;
        let e = s.enroll_totp(Some("Phone")).await.unwrap();
        let totp = totp_of(&e.secret);
        s.activate_factor(&e.id, &totp.generate_at(srv.now_secs())).await.unwrap();
        assert!(srv.mails_to("alice@example.com", FIRST_APP_MAIL).await.is_empty());
        // Left unchanged by a later change that does not name it.
        let later = SetOrgSettings { allow_qr_redisplay: false, remember_devices: true, confirm_first_app_by_email: None, max_authenticator_apps: None };
        assert!(!admin.set_org_settings(&org, &later).await.unwrap().confirm_first_app_by_email);
        // A second app takes a fresh second factor, never a mailed code.
        srv.advance(30);
        let flow = match srv.client.login(&org, &user, PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("{other:?}"),
        };
        let strong = srv.client.with_token(token(&srv.submit(&flow, &totp.generate_at(srv.now_secs())).await.unwrap()));
        assert!(matches!(strong.start_totp(None, None).await.unwrap(), TotpStart::Enrolled(_)));
    }
}

/// Two sessions of a user without a factor (her own and, say, a thief's with her
/// password) with a pending app and a pending email factor, both activated at once.
async fn two_first_factors_at_once(
    srv: &TestServer,
) -> (String, Vec<twofold_client::Result<twofold_proto::Factor>>) {
    let (org, user) = srv.user(Role::Member).await;
    let one: Client = srv.session(&org, &user).await;
    let user_id = one.me().await.unwrap().id;
    let two = srv.session(&org, &user).await;
    let app = srv.first_app(&one, None, "alice@example.com").await;
    let email = two.enroll_email(None).await.unwrap();
    let email_code = srv.mailed_code("alice@example.com", EMAIL_SET_UP).await;
    let app_code = totp_of(&app.secret).generate_at(srv.now_secs());
    let (a, b) = tokio::join!(
        one.activate_factor(&app.id, &app_code),
        two.activate_factor(&email.id, &email_code),
    );
    (user_id, vec![a, b])
}

each_engine! {
    async fn of_two_first_factors_activated_at_once_one_is(engine: Engine) {
        let srv = TestServer::start(engine).await;
        for trial in 0..10 {
            let (user_id, answers) = two_first_factors_at_once(&srv).await;
            let won = answers.iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "trial {trial}: {answers:?}");
            // The loser needs a fresh second factor now, or its session (password-only) was
            // already ended by the winner's first factor.
            let lost = answers.iter().find_map(|r| r.as_ref().err()).unwrap();
            assert!(
                matches!(lost.code(), Some(ErrorCode::StepUpRequired | ErrorCode::Unauthenticated)),
                "trial {trial}: {lost}"
            );
            let active = srv.twofold.store().count_active_factors(&user_id).await.unwrap();
            assert_eq!(active, 1, "trial {trial}");
            srv.advance(31);
        }
    }

    async fn of_two_enrolment_flows_finished_at_once_one_signs_in(engine: Engine) {
        let srv = TestServer::start(engine).await;
        for trial in 0..10 {
            let (org, user) = srv.user(Role::Member).await;
            srv.admin_in(&org, "root").await.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
            let (f1, f2) = (must_enrol(&srv, &org, &user).await, must_enrol(&srv, &org, &user).await);
            let app = srv.first_app_in_flow(&f1, "alice@example.com").await;
            let email = srv.client.enroll_email_in_flow(&f2, None).await.unwrap();
            let email_code = srv.mailed_code("alice@example.com", EMAIL_SET_UP).await;
            let app_code = totp_of(&app.secret).generate_at(srv.now_secs());
            let (a, b) = tokio::join!(
                srv.client.activate_in_flow(&f1, &app.id, &app_code),
                srv.client.activate_in_flow(&f2, &email.id, &email_code),
            );
            let answers = [a, b];
            assert_eq!(answers.iter().filter(|r| r.is_ok()).count(), 1, "trial {trial}: {answers:?}");
            let lost = answers.iter().find_map(|r| r.as_ref().err()).unwrap();
            assert_eq!(lost.code(), Some(ErrorCode::FlowExpired), "trial {trial}: {lost}");
            let s = srv.client.with_token(token(answers.iter().find_map(|r| r.as_ref().ok()).unwrap()));
            let factors = s.factors().await.unwrap();
            assert_eq!(factors.iter().filter(|f| f.status == FactorStatus::Active).count(), 1, "trial {trial}");
            srv.advance(31);
        }
    }
}
