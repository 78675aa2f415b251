//! Requiring MFA: enabling ends or keeps sessions; users without a factor enrol inside the
//! sign-in (after the grace period, if any); federated users are never asked.

use twofold_client::Client;
use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, LoginResponse, NewOrgUser, Role as WireRole, SetMfaPolicy};
use twofold_server::domain::users::Role;

use twofold_server::Timestamp;

use crate::harness::{PASSWORD, START, TestServer, both_engines, token};
use crate::mailbox::Received;

use crate::harness::{disable_mfa as disable, require_mfa as require};

/// The newest message in the server's outbox and the 6-digit code in it.
async fn last_mail(srv: &TestServer) -> (Received, String) {
    let mail = srv.outbox().await.pop().expect("no mail in the outbox");
    let code = mail.code();
    (mail, code)
}

/// Another 6-digit code than `code`.
fn other_than(code: &str) -> String {
    if code == "000000" {
        "111111".into()
    } else {
        "000000".into()
    }
}

/// An organisation with an admin (alice, with an authenticator app, in a session that
/// passed it just now: admin actions need that) and a member (bob, password-only);
/// answers the org, a session of each and alice's app.
async fn org_with_admin_and_member(srv: &TestServer) -> (String, Client, Client, Totp) {
    let (org, admin) = srv.user(Role::Admin).await;
    srv.user_in(&org, "bob", Role::Member).await;
    let (a, totp) = srv.with_app(&org, &admin).await;
    let b = srv.session(&org, "bob").await;
    (org, a, b, totp)
}

/// Signs in expecting `enrollment_required`; answers the flow token.
async fn must_enrol(srv: &TestServer, org: &str, user: &str) -> String {
    match srv.client.login(org, user, PASSWORD).await.unwrap() {
        LoginResponse::EnrollmentRequired { flow_token, .. } => flow_token,
        other => panic!("expected enrollment_required, got {other:?}"),
    }
}

both_engines! {
    async fn enabling_with_invalidate_sessions_ends_every_session(srv: TestServer) {
        let (org, a, b, alice_app) = org_with_admin_and_member(&srv).await;
        assert!(!a.mfa_policy(&org).await.unwrap().required);
        let changed = a.set_mfa_policy(&org, &require(true, None)).await.unwrap();
        assert_eq!(changed.sessions_ended, 2);
        assert!(changed.policy.required);
        for s in [&a, &b] {
            let e = s.me().await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        }
        // The admin signs in again with her app (she had to have one to require MFA).
        srv.advance(60);
        let flow = match srv.client.login(&org, "alice", PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("expected mfa_required, got {other:?}"),
        };
        let s = srv.client.with_token(token(&srv.submit(&flow, &alice_app.generate_at(srv.now_secs())).await.unwrap()));
        let admin_id = s.me().await.unwrap().id;
        let policy = s.mfa_policy(&org).await.unwrap();
        assert!(policy.required);
        assert_eq!(policy.grace_period_days, 0);
        assert_eq!(policy.updated_by.as_deref(), Some(admin_id.as_str()));
        // The log says who required MFA and that the sessions ended.
        let events = s.audit_events(&org, None, None).await.unwrap();
        let ended = events.iter().find(|e| e.event == "sessions.invalidated").unwrap();
        assert_eq!(ended.actor_id.as_deref(), Some(admin_id.as_str()));
        assert_eq!(ended.details["sessions_ended"], 2);
        let enabled = events.iter().find(|e| e.event == "policy.enabled").unwrap();
        assert_eq!(enabled.actor_id.as_deref(), Some(admin_id.as_str()));
        assert_eq!(enabled.details["invalidate_sessions"], true);
    }

    async fn enabling_without_invalidating_keeps_sessions_running(srv: TestServer) {
        let (org, a, b, _) = org_with_admin_and_member(&srv).await;
        let changed = a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        assert_eq!(changed.sessions_ended, 0);
        a.me().await.unwrap();
        b.me().await.unwrap();
        // A new sign-in meets the requirement.
        must_enrol(&srv, &org, "bob").await;
    }

    async fn a_user_who_must_enrol_can_reach_enrolment_and_nothing_else(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        let flow = must_enrol(&srv, &org, "bob").await;
        // The flow token is not a session, and not a second-step flow.
        let e = srv.client.with_token(flow.clone()).me().await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
        let e = srv.submit(&flow, "123456").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");

        let e = srv.first_app_in_flow(&flow, "bob@example.com").await;
        let png = srv.client.enrollment_qr_png(&flow, &e.id).await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // The flow token goes as a bearer token, never in the URL (proxies, history and
        // Referer keep URLs).
        let url = format!("{}/api/v1/auth/enroll/{}/qr.png", srv.url, e.id);
        let res = reqwest::get(format!("{url}?flow_token={flow}")).await.unwrap();
        assert_eq!(res.status(), 400);
        let p: twofold_proto::Problem = res.json().await.unwrap();
        assert_eq!(p.code, ErrorCode::InvalidRequest);
        assert!(p.detail.contains("Authorization"), "{}", p.detail);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
        let totp = Totp::new(Secret::from_base32(&e.secret).unwrap(), TotpParams::default()).unwrap();
        let wrong = if totp.generate_at(srv.now_secs()) == "000000" { "111111" } else { "000000" };
        let err = srv.client.activate_in_flow(&flow, &e.id, wrong).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        let done = srv
            .client
            .activate_in_flow(&flow, &e.id, &totp.generate_at(srv.now_secs()))
            .await
            .unwrap();
        let s = srv.client.with_token(token(&done));
        let me = s.me().await.unwrap();
        assert_eq!(me.session.aal, 2);
        assert_eq!(me.session.amr, ["pwd", "otp"]);
        assert!(me.mfa.enrolled);
        // The flow is spent.
        let err = srv.client.enroll_in_flow(&flow, None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::FlowExpired), "{err}");
        // From now on bob signs in with a code, like anybody with a factor.
        srv.advance(30);
        assert!(matches!(
            srv.client.login(&org, "bob", PASSWORD).await.unwrap(),
            LoginResponse::MfaRequired { .. }
        ));
        // The admin's list shows bob enrolled; the log has the enrolment at sign-in.
        let users = a.org_users(&org).await.unwrap();
        assert_eq!(users[1].mfa, twofold_proto::MfaStatus::Enrolled);
        let events = a.audit_events(&org, None, None).await.unwrap();
        assert!(events.iter().any(|e| e.event == "factor.enrolled" && e.details["at_sign_in"] == true));
        assert!(events.iter().any(|e| e.event == "policy.enabled"));
    }

    async fn the_grace_period_lets_users_in_and_counts_down(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, Some(3))).await.unwrap();
        let days_left = |r: LoginResponse| match r {
            LoginResponse::Authenticated { enrollment_days_left, .. } => enrollment_days_left,
            other => panic!("expected authenticated, got {other:?}"),
        };
        let first = srv.client.login(&org, "bob", PASSWORD).await.unwrap();
        assert_eq!(days_left(first), Some(3));
        srv.advance(2 * 86_400 + 60);
        let later = srv.client.login(&org, "bob", PASSWORD).await.unwrap();
        assert_eq!(days_left(later), Some(1));
        srv.advance(86_400);
        must_enrol(&srv, &org, "bob").await;
    }

    async fn federated_users_are_never_asked(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.create_org_user(&org, &NewOrgUser {
            username: "fred".into(),
            email: "fred@example.com".into(),
            role: WireRole::Member,
            password: None,
            federated: Some(true),
        })
        .await
        .unwrap();
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        let users = a.org_users(&org).await.unwrap();
        let fred = users.iter().find(|u| u.username == "fred").unwrap();
        assert_eq!(fred.mfa, twofold_proto::MfaStatus::NotApplicable);
        // Federated users sign in at their identity provider, never with a password here.
        let e = srv.client.login(&org, "fred", PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
    }

    async fn bad_policy_changes_are_refused(srv: TestServer) {
        let (org, a, b, _) = org_with_admin_and_member(&srv).await;
        let no_choice = SetMfaPolicy {
            required: true,
            invalidate_sessions: None,
            grace_period_days: None,
            confirmation_code: None,
        };
        let e = a.set_mfa_policy(&org, &no_choice).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let e = a.set_mfa_policy(&org, &require(false, Some(31))).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let e = b.set_mfa_policy(&org, &require(false, None)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = b.mfa_policy(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let (other, other_admin) = srv.user(Role::Admin).await;
        let o = srv.session(&other, &other_admin).await;
        let e = o.set_mfa_policy(&org, &require(true, None)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        // Nothing changed.
        assert!(!a.mfa_policy(&org).await.unwrap().required);
        b.me().await.unwrap();
    }

    async fn turning_mfa_off_needs_the_code_mailed_to_the_admin(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        // Nothing to turn off yet.
        let e = a.request_mfa_disable(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();

        let pending = a.request_mfa_disable(&org).await.unwrap();
        assert_eq!(pending.status, "confirmation_required");
        let (mail, code) = last_mail(&srv).await;
        assert_eq!(mail.to, "alice@example.com");
        assert!(mail.html.contains(&format!("Your code: {code}")), "{mail:?}");
        // Wrong, then right.
        let e = a.set_mfa_policy(&org, &disable(&other_than(&code))).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(400), Some(ErrorCode::InvalidCode)), "{e}");
        assert!(a.mfa_policy(&org).await.unwrap().required);
        let off = a.set_mfa_policy(&org, &disable(&code)).await.unwrap();
        assert!(!off.policy.required);
        // Bob signs in without a factor again.
        assert!(matches!(
            srv.client.login(&org, "bob", PASSWORD).await.unwrap(),
            LoginResponse::Authenticated { enrollment_days_left: None, .. }
        ));
        // The same code a second time (MFA required again meanwhile) is refused.
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        let e = a.set_mfa_policy(&org, &disable(&code)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        let events = a.audit_events(&org, None, None).await.unwrap();
        let names: Vec<&str> = events
            .iter()
            .map(|e| e.event.as_str())
            .filter(|e| e.starts_with("policy."))
            .collect();
        assert_eq!(&names[..4], ["policy.enabled", "policy.disabled", "policy.disable_requested", "policy.enabled"]);
    }

    async fn an_expired_code_is_refused_and_a_new_request_replaces_the_old_code(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        a.request_mfa_disable(&org).await.unwrap();
        let (_, old) = last_mail(&srv).await;
        srv.advance(301);
        let e = a.set_mfa_policy(&org, &disable(&old)).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(400), Some(ErrorCode::CodeExpired)), "{e}");

        a.request_mfa_disable(&org).await.unwrap();
        let (_, first) = last_mail(&srv).await;
        // Not another code within 30 s of the last.
        srv.advance(29);
        let e = a.request_mfa_disable(&org).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!((p.status, p.code, p.retry_after), (429, ErrorCode::RateLimited, Some(1)), "{e}");
        srv.advance(1);
        a.request_mfa_disable(&org).await.unwrap();
        let (_, second) = last_mail(&srv).await;
        if first != second {
            let e = a.set_mfa_policy(&org, &disable(&first)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        assert!(!a.set_mfa_policy(&org, &disable(&second)).await.unwrap().policy.required);
    }

    async fn five_wrong_codes_use_the_code_up(srv: TestServer) {
        let (org, a, b, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        a.request_mfa_disable(&org).await.unwrap();
        let (_, code) = last_mail(&srv).await;
        for _ in 0..5 {
            let e = a.set_mfa_policy(&org, &disable(&other_than(&code))).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = a.set_mfa_policy(&org, &disable(&code)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeExpired), "{e}");
        assert!(a.mfa_policy(&org).await.unwrap().required);
        // A member cannot ask for a code at all.
        let e = b.request_mfa_disable(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
    }

    async fn the_code_lives_exactly_five_minutes(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        let pending = a.request_mfa_disable(&org).await.unwrap();
        let want = Timestamp::from_millis(START).plus(std::time::Duration::from_secs(300));
        assert_eq!(pending.expires_at, want.to_rfc3339());
        let (_, code) = last_mail(&srv).await;
        srv.advance(299);
        assert!(!a.set_mfa_policy(&org, &disable(&code)).await.unwrap().policy.required);
        let events = a.audit_events(&org, None, None).await.unwrap();
        let admin_id = a.me().await.unwrap().id;
        for name in ["policy.disable_requested", "policy.disabled"] {
            let e = events.iter().find(|e| e.event == name).unwrap();
            assert_eq!(e.actor_id.as_deref(), Some(admin_id.as_str()), "{name}");
        }
    }

    async fn a_second_step_flow_cannot_enrol(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        // Whoever has only the password must not add an authenticator of their own.
        let e = srv.client.enroll_in_flow(&flow, Some("Mine")).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
        let e = srv.client.activate_in_flow(&flow, &u.factor_id, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
        assert_eq!(u.session.factors().await.unwrap().len(), 1);
    }

    async fn an_enrolment_flow_ends_once_another_one_enrolled_a_factor(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        // Two sign-ins that must enrol, started together (say, bob and someone who has
        // his password); bob finishes first.
        let other = must_enrol(&srv, &org, "bob").await;
        let started = srv.first_app_in_flow(&other, "bob@example.com").await;
        // (A new code may be mailed 30 s after the last.)
        srv.advance(30);
        srv.session_after_enrolment(&org, "bob").await;
        // The other flow can neither start nor finish an enrolment now.
        let e = srv.client.enroll_in_flow(&other, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
        let totp = Totp::new(Secret::from_base32(&started.secret).unwrap(), TotpParams::default()).unwrap();
        let e = srv
            .client
            .activate_in_flow(&other, &started.id, &totp.generate_at(srv.now_secs()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
        let users = a.org_users(&org).await.unwrap();
        assert_eq!(users[1].mfa, twofold_proto::MfaStatus::Enrolled);
    }

    async fn concurrent_wrong_codes_get_five_guesses_between_them(srv: TestServer) {
        let (org, a, _, _) = org_with_admin_and_member(&srv).await;
        a.set_mfa_policy(&org, &require(false, None)).await.unwrap();
        a.request_mfa_disable(&org).await.unwrap();
        let (_, code) = last_mail(&srv).await;
        let guesses: Vec<String> = (0..20)
            .map(|i| format!("{:06}", i))
            .filter(|g| *g != code)
            .take(16)
            .collect();
        let bodies: Vec<SetMfaPolicy> = guesses.iter().map(|g| disable(g)).collect();
        let answers =
            futures_util::future::join_all(bodies.iter().map(|b| a.set_mfa_policy(&org, b)))
                .await;
        let wrong = answers
            .iter()
            .filter(|r| r.as_ref().err().and_then(|e| e.code()) == Some(ErrorCode::InvalidCode))
            .count();
        assert!(wrong <= 5, "{wrong} guesses were checked");
        assert!(answers.iter().all(|r| matches!(
            r.as_ref().err().and_then(|e| e.code()),
            Some(ErrorCode::InvalidCode | ErrorCode::CodeExpired)
        )));
        // The budget is spent: the right code no longer works.
        let e = a.set_mfa_policy(&org, &disable(&code)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeExpired), "{e}");
        assert!(a.mfa_policy(&org).await.unwrap().required);
    }
}
