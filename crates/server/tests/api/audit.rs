//! The audit log: each security event is stored with time, actor, subject, address, user
//! agent and details; admins page through it newest first.

use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{AuditEvent, ErrorCode, NewOrgUser, Role as WireRole};
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, both_engines, token};

fn names(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

both_engines! {
    async fn every_security_event_is_recorded_newest_first(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        // Creating a user needs an admin who passed a second factor just now.
        let (a, _) = srv.with_app(&org, &admin).await;
        let admin_id = a.me().await.unwrap().id;
        let bob = a
            .create_org_user(&org, &NewOrgUser {
                username: "bob".into(),
                email: "bob@example.com".into(),
                role: WireRole::Member,
                password: Some(PASSWORD.into()),
                federated: None,
            })
            .await
            .unwrap();

        // A wrong password, from a client that says who it is.
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{}/api/v1/auth/login", srv.url))
            .header("user-agent", "audit-test/1.0")
            .json(&serde_json::json!({"org": org, "username": "bob", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // An unknown user of the organisation.
        let e = srv.client.login(&org, "nobody", PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");

        // Bob signs in, enrols, then fails the second step until locked.
        let s = srv.session(&org, "bob").await;
        let e = srv.first_app(&s, Some("Phone"), "bob@example.com").await;
        let totp = Totp::new(Secret::from_base32(&e.secret).unwrap(), TotpParams::default()).unwrap();
        s.activate_factor(&e.id, &totp.generate_at(srv.now_secs())).await.unwrap();
        srv.advance(30);
        let flow = match srv.client.login(&org, "bob", PASSWORD).await.unwrap() {
            twofold_proto::LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("{other:?}"),
        };
        let right = totp.generate_at(srv.now_secs());
        let wrong = if right == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let e = srv.submit(&flow, wrong).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        // After the lock, a new flow and the right code.
        srv.advance(61);
        let flow = match srv.client.login(&org, "bob", PASSWORD).await.unwrap() {
            twofold_proto::LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("{other:?}"),
        };
        let signed_in = srv.submit(&flow, &totp.generate_at(srv.now_secs())).await.unwrap();
        let aal2 = srv.client.with_token(token(&signed_in));
        srv.advance(30);
        aal2.delete_factor(&e.id, Some(&totp.generate_at(srv.now_secs()))).await.unwrap();

        let events = a.audit_events(&org, Some(500), None).await.unwrap();
        assert_eq!(
            names(&events),
            [
                "factor.removed",
                "signin.succeeded",
                "mfa.locked",
                "mfa.failed",
                "mfa.failed",
                "mfa.failed",
                "mfa.failed",
                "mfa.failed",
                "factor.enrolled",
                "signin.succeeded",
                "signin.failed",
                "signin.failed",
                "user.created",
                "session.upgraded",
                "factor.enrolled",
                "signin.succeeded",
                "user.created",
            ]
        );
        // The oldest: alice made by the operator, her sign-in, her app and the code that
        // raised her session, then bob made by her.
        let created = &events[12];
        assert_eq!(created.actor_id.as_deref(), Some(admin_id.as_str()));
        assert_eq!(created.subject_id.as_deref(), Some(bob.id.as_str()));
        assert_eq!(created.details["username"], "bob");
        assert_eq!(created.details["role"], "member");
        assert_eq!(events[16].actor_id, None, "the operator's command has no actor");
        assert_eq!(events[15].details["amr"], serde_json::json!(["pwd"]));
        assert_eq!(events[13].details["amr"], serde_json::json!(["pwd", "otp"]));
        assert_eq!(events[13].actor_id.as_deref(), Some(admin_id.as_str()));

        let unknown = &events[10];
        assert_eq!(unknown.subject_id, None);
        assert_eq!(unknown.details["username"], "nobody");
        let wrong_password = &events[11];
        assert_eq!(wrong_password.subject_id.as_deref(), Some(bob.id.as_str()));
        assert_eq!(wrong_password.actor_id, None);
        assert_eq!(wrong_password.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(wrong_password.user_agent.as_deref(), Some("audit-test/1.0"));
        assert_eq!(wrong_password.details["reason"], "invalid_credentials");

        assert_eq!(events[8].details["factor_id"], e.id.as_str());
        // Every kind of code records these in one shape (recovery.rs, email.rs).
        assert_eq!(events[7].details, serde_json::json!({"attempt": 1, "reason": "invalid_code", "method": "totp"}));
        assert_eq!(events[2].details, serde_json::json!({"attempt": 5, "locked_for_secs": 60}));
        assert_eq!(events[1].details, serde_json::json!({"amr": ["pwd", "otp"], "method": "totp", "factor_id": e.id}));
        assert_eq!(events[1].actor_id.as_deref(), Some(bob.id.as_str()));
        assert_eq!(events[3].actor_id, None, "who failed a code is not known");
        assert_eq!(events[0].subject_id.as_deref(), Some(bob.id.as_str()));
        // Times come from the server's clock, which the test moved.
        assert!(events[0].at > events[16].at, "{} vs {}", events[0].at, events[16].at);
    }

    async fn pages_follow_each_other_without_gaps_or_repeats(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let a = srv.session(&org, &admin).await;
        for i in 0..6 {
            let e = srv.client.login(&org, &format!("ghost{i}"), PASSWORD).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
        }
        let all = a.audit_events(&org, None, None).await.unwrap();
        assert_eq!(all.len(), 8, "{:?}", names(&all));
        let mut paged = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let page = a.audit_events(&org, Some(3), before.as_deref()).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            before = page.last().map(|e| e.id.clone());
            paged.extend(page);
        }
        assert_eq!(paged, all);
    }

    async fn bad_pages_and_the_wrong_callers_are_refused(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let a = srv.session(&org, &admin).await;
        for limit in [0, 501] {
            let e = a.audit_events(&org, Some(limit), None).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{limit}: {e}");
        }
        for before in ["no-such-event", "nul\0byte"] {
            let e = a.audit_events(&org, None, Some(before)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{before:?}: {e}");
        }
        let res = reqwest::Client::new()
            .get(format!("{}/api/v1/orgs/{org}/audit-events?limit=ten", srv.url))
            .bearer_auth(token(&srv.client.login(&org, &admin, PASSWORD).await.unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        srv.user_in(&org, "mallory", Role::Member).await;
        let member = srv.session(&org, "mallory").await;
        let e = member.audit_events(&org, None, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let (other, other_admin) = srv.user(Role::Admin).await;
        let e = srv.session(&other, &other_admin).await.audit_events(&org, None, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
    }
}
