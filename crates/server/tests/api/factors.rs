//! Enrolling, activating, listing and removing authenticator apps; the secret at rest.

use twofold_otp::{KeyUri, Secret};
use twofold_proto::{ErrorCode, FactorStatus, FactorType, LoginResponse};
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, TestServer, both_engines};

both_engines! {
    async fn enrolment_gives_a_pending_factor_with_secret_uri_and_qr_codes(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, Some("Work phone"), "alice@example.com").await;
        let secret = Secret::from_base32(&e.secret).unwrap();
        assert_eq!(secret.as_bytes().len(), 20, "160-bit secret");
        let uri = KeyUri::parse(&e.uri).unwrap();
        assert_eq!(uri.issuer.as_deref(), Some("Twofold"));
        assert_eq!(uri.account, "alice@example.com");
        assert_eq!(uri.secret.as_bytes(), secret.as_bytes());
        assert_eq!((uri.params.digits, uri.params.period), (6, 30));
        assert_eq!(uri.params.algorithm.to_string(), "SHA1");
        assert!(e.qr_svg.contains("<svg"));
        let png = s.factor_qr_png(&e.id).await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(s.factor_uri(&e.id).await.unwrap().uri, e.uri, "the URI the QR code shows");
        let list = s.factors().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, e.id);
        assert_eq!(list[0].name, "Work phone");
        assert_eq!(list[0].factor_type, FactorType::Totp);
        assert_eq!(list[0].status, FactorStatus::Pending);
        assert_eq!(list[0].last_used_at, None);
    }

    async fn enrolment_without_a_body_uses_the_default_name(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        srv.no_first_app_mail(&org).await;
        let s = srv.session(&org, &user).await;
        let token = login_token(&srv, &org, &user).await;
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/me/factors/totp", srv.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        assert_eq!(s.factors().await.unwrap()[0].name, "Authenticator app");
    }

    async fn a_new_enrolment_replaces_an_unfinished_one(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let first = srv.first_app(&s, None, "alice@example.com").await;
        // A new code may be mailed 30 s after the last.
        srv.advance(30);
        let second = srv.first_app(&s, None, "alice@example.com").await;
        let list = s.factors().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, second.id);
        assert_eq!(s.factor_qr_png(&first.id).await.unwrap_err().code(), Some(ErrorCode::NotFound));
    }

    async fn activation_needs_a_current_code_from_the_factor(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, None, "alice@example.com").await;
        let totp = twofold_otp::Totp::new(Secret::from_base32(&e.secret).unwrap(), Default::default()).unwrap();
        let good = totp.generate_at(srv.now_secs());
        let bad = if good == "000000" { "111111" } else { "000000" };
        assert_eq!(s.activate_factor(&e.id, bad).await.unwrap_err().code(), Some(ErrorCode::InvalidCode));
        assert_eq!(s.activate_factor(&e.id, "12").await.unwrap_err().code(), Some(ErrorCode::InvalidRequest));
        let f = s.activate_factor(&e.id, &good).await.unwrap();
        assert_eq!(f.status, FactorStatus::Active);
        let again = s.activate_factor(&e.id, &good).await.unwrap_err();
        assert_eq!(again.code(), Some(ErrorCode::Conflict));
        assert_eq!(again.problem().unwrap().status, 409);
    }

    async fn the_activation_code_counts_as_used(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, None, "alice@example.com").await;
        let totp = twofold_otp::Totp::new(Secret::from_base32(&e.secret).unwrap(), Default::default()).unwrap();
        let code = totp.generate_at(srv.now_secs());
        s.activate_factor(&e.id, &code).await.unwrap();
        let LoginResponse::MfaRequired { flow_token, .. } = srv.client.login(&org, &user, PASSWORD).await.unwrap() else {
            panic!("expected mfa_required");
        };
        assert_eq!(srv.submit(&flow_token, &code).await.unwrap_err().code(), Some(ErrorCode::CodeReused));
    }

    async fn an_active_factors_qr_code_needs_a_fresh_second_factor(srv: TestServer) {
        let u = srv.enrolled().await;
        let e = u.session.factor_qr_png(&u.factor_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired));
        let e = u.session.factor_uri(&u.factor_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired));
    }

    async fn another_users_factor_is_not_found(srv: TestServer) {
        let a = srv.enrolled().await;
        let b = srv.enrolled().await;
        let code = a.code(&srv, 0);
        for e in [
            b.session.factor_qr_png(&a.factor_id).await.unwrap_err(),
            b.session.factor_uri(&a.factor_id).await.unwrap_err(),
            b.session.activate_factor(&a.factor_id, &code).await.unwrap_err(),
            b.session.delete_factor(&a.factor_id, Some(&code)).await.unwrap_err(),
            b.session.delete_factor("no-such-id", Some(&code)).await.unwrap_err(),
        ] {
            assert_eq!(e.code(), Some(ErrorCode::NotFound));
            assert_eq!(e.problem().unwrap().status, 404);
        }
        assert_eq!(a.session.factors().await.unwrap().len(), 1);
    }

    async fn removing_an_active_factor_needs_a_current_code_from_it(srv: TestServer) {
        let u = srv.enrolled().await;
        let s = &u.session;
        let e = s.delete_factor(&u.factor_id, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest));
        let good = u.code(&srv, 0);
        let bad = if good == "000000" { "111111" } else { "000000" };
        assert_eq!(s.delete_factor(&u.factor_id, Some(bad)).await.unwrap_err().code(), Some(ErrorCode::InvalidCode));
        assert_eq!(s.factors().await.unwrap().len(), 1);
        s.delete_factor(&u.factor_id, Some(&good)).await.unwrap();
        assert!(s.factors().await.unwrap().is_empty());
        // Without a factor the password alone signs in again.
        let r = srv.client.login(&u.org, &u.username, PASSWORD).await.unwrap();
        assert!(matches!(r, LoginResponse::Authenticated { .. }));
    }

    async fn removing_with_a_used_code_is_refused(srv: TestServer) {
        let u = srv.enrolled().await;
        let code = u.code(&srv, 0);
        srv.submit(&srv.flow(&u).await, &code).await.unwrap();
        let e = u.session.delete_factor(&u.factor_id, Some(&code)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused));
    }

    async fn wrong_codes_when_removing_count_towards_the_lockout(srv: TestServer) {
        let u = srv.enrolled().await;
        let good = u.code(&srv, 0);
        let bad = if good == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let e = u.session.delete_factor(&u.factor_id, Some(bad)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = u.session.delete_factor(&u.factor_id, Some(&good)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts));
        let flow = srv.flow(&u).await;
        assert_eq!(srv.submit(&flow, &good).await.unwrap_err().code(), Some(ErrorCode::TooManyAttempts));
    }

    async fn adding_a_factor_when_one_is_active_needs_a_session_that_passed_one(srv: TestServer) {
        let u = srv.enrolled().await;
        // The password-only session from before enrolment may not add an authenticator.
        let e = u.session.enroll_totp(Some("Attacker")).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired));
        assert_eq!(e.problem().unwrap().status, 403);
        let strong = srv.client.with_token(login_token_mfa(&srv, &u).await);
        let second = strong.enroll_totp(Some("Tablet")).await.unwrap();
        // Nor activate one that a stronger session started.
        let e = u.session.activate_factor(&second.id, "123456").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired));
        assert_eq!(strong.factors().await.unwrap().len(), 2);
    }

    async fn a_pending_factor_can_be_removed_without_a_code(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, None, "alice@example.com").await;
        s.delete_factor(&e.id, None).await.unwrap();
        assert!(s.factors().await.unwrap().is_empty());
    }

    async fn a_null_body_is_no_body(srv: TestServer) {
        // The document allows `null` where a body is optional; it means "no body".
        let (org, user) = srv.user(Role::Member).await;
        srv.no_first_app_mail(&org).await;
        let s = srv.session(&org, &user).await;
        let token = login_token(&srv, &org, &user).await;
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{}/api/v1/me/factors/totp", srv.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("null")
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        let list = s.factors().await.unwrap();
        assert_eq!(list[0].name, "Authenticator app");
        let res = http
            .delete(format!("{}/api/v1/me/factors/{}", srv.url, list[0].id))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("null")
            .send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert!(s.factors().await.unwrap().is_empty());
    }

    async fn a_malformed_code_is_refused_even_where_none_is_needed(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, None, "alice@example.com").await;
        for bad in ["", "12345", "abcdef", "123456789"] {
            let err = s.delete_factor(&e.id, Some(bad)).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{bad:?}");
            assert_eq!(err.problem().unwrap().status, 400);
        }
        assert_eq!(s.factors().await.unwrap().len(), 1, "the factor is still there");
        s.delete_factor(&e.id, Some("123 456")).await.unwrap();
        assert!(s.factors().await.unwrap().is_empty());
    }

    async fn factor_list_never_carries_a_secret(srv: TestServer) {
        let u = srv.enrolled().await;
        let token = login_token_mfa(&srv, &u).await;
        let body = reqwest::Client::new()
            .get(format!("{}/api/v1/me/factors", srv.url))
            .bearer_auth(token)
            .send().await.unwrap()
            .text().await.unwrap();
        assert!(!body.contains(&u.totp.secret().to_base32()), "{body}");
        assert!(!body.contains("secret"), "{body}");
    }

    async fn totp_secret_is_encrypted_at_rest(srv: TestServer) {
        let u = srv.enrolled().await;
        let b32 = u.totp.secret().to_base32();
        let raw = u.totp.secret().as_bytes().to_vec();
        // Every stored column of the factor, as the database returns it.
        let row = srv.twofold.store().factors_of_user(&srv.twofold.store().user_by_login(&u.org, &u.username).await.unwrap().unwrap().id).await.unwrap();
        let sealed = row[0].secret_sealed.as_deref().unwrap();
        assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
        assert!(!String::from_utf8_lossy(sealed).contains(&b32));
        assert!(sealed.len() >= 24 + raw.len() + 16, "nonce + ciphertext + tag");
        // And nowhere in the SQLite files (main database and write-ahead log).
        if let twofold_server::config::Database::Sqlite(path) = &srv.config.database {
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{}{suffix}", path.display());
                let Ok(bytes) = std::fs::read(&p) else { continue };
                assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()), "raw secret in {p}");
                let text = String::from_utf8_lossy(&bytes).to_uppercase();
                assert!(!text.contains(&b32), "base32 secret in {p}");
            }
        }
    }
}

async fn login_token(srv: &TestServer, org: &str, user: &str) -> String {
    crate::harness::token(&srv.client.login(org, user, PASSWORD).await.unwrap())
}

async fn login_token_mfa(srv: &TestServer, u: &crate::harness::Enrolled) -> String {
    let flow = srv.flow(u).await;
    crate::harness::token(&srv.submit(&flow, &u.code(srv, 0)).await.unwrap())
}
