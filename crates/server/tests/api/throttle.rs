//! Guessing is slowed: each address may fail a burst of sign-ins or codes and then waits
//! (429 `rate_limited` with `Retry-After`), while one that signs in correctly never does;
//! `X-Forwarded-For` counts only from a trusted proxy; and each account's wrong passwords
//! slow further guesses at it from anywhere, without ever locking its user out. The
//! clients' addresses come through a trusted proxy (`X-Forwarded-For`), as from the
//! internet; the clock is the injected one.

use twofold_proto::{ErrorCode, LoginResponse, Method, MfaRequest};
use twofold_server::Config;
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, TestServer, both_engines_with, token};

/// Five failures in a burst, one back every 10 s; the loopback proxy trusted.
fn small_burst(c: &mut Config) {
    c.http.ip_failure_burst = 5;
    c.http.ip_failures_per_minute = 6;
    c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

/// A big burst (the per-account throttle is what is tested), the proxy trusted.
fn per_account(c: &mut Config) {
    c.http.ip_failure_burst = 10_000;
    c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

/// No proxy trusted: `X-Forwarded-For` is whatever the client says.
fn untrusted(c: &mut Config) {
    c.http.ip_failure_burst = 5;
    c.http.ip_failures_per_minute = 6;
}

/// `POST /auth/login` from `ip` (as the trusted proxy says), and its status, problem code
/// and `Retry-After`.
async fn login_from(
    srv: &TestServer,
    ip: &str,
    org: &str,
    user: &str,
    password: &str,
) -> (u16, Option<ErrorCode>, Option<String>, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", srv.url))
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({"org": org, "username": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = res.json().await.unwrap();
    let code = serde_json::from_value(body["code"].clone()).ok();
    (status, code, retry, body)
}

both_engines_with! { small_burst;
    async fn an_address_that_keeps_failing_waits_and_others_do_not(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        for i in 0..5 {
            let (status, code, ..) = login_from(&srv, "203.0.113.1", &org, &user, &format!("wrong {i}")).await;
            assert_eq!((status, code), (401, Some(ErrorCode::InvalidCredentials)));
        }
        // The sixth waits, even with the right password: nothing is checked.
        let (status, code, retry, body) = login_from(&srv, "203.0.113.1", &org, &user, PASSWORD).await;
        assert_eq!((status, code, retry.as_deref()), (429, Some(ErrorCode::RateLimited), Some("10")), "{body}");
        assert_eq!(body["retry_after"], 10);
        // Another address is not affected.
        let (status, ..) = login_from(&srv, "203.0.113.2", &org, &user, PASSWORD).await;
        assert_eq!(status, 200);
        // One attempt comes back every 10 s.
        srv.advance(10);
        let (status, ..) = login_from(&srv, "203.0.113.1", &org, &user, PASSWORD).await;
        assert_eq!(status, 200);
        let (status, ..) = login_from(&srv, "203.0.113.1", &org, &user, "wrong again").await;
        assert_eq!(status, 401);
        let (status, ..) = login_from(&srv, "203.0.113.1", &org, &user, PASSWORD).await;
        assert_eq!(status, 429);
        // The log has the address the proxy named.
        let admin = srv.admin_in(&org, "root").await;
        let events = admin.audit_events(&org, None, None).await.unwrap();
        let failed = events.iter().find(|e| e.event == "signin.failed").unwrap();
        assert_eq!(failed.ip.as_deref(), Some("203.0.113.1"));
    }

    async fn an_office_that_signs_in_correctly_is_never_slowed(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        for _ in 0..30 {
            let (status, ..) = login_from(&srv, "198.51.100.20", &org, &user, PASSWORD).await;
            assert_eq!(status, 200);
        }
    }

    async fn wrong_codes_count_too(srv: TestServer) {
        // Two users, so that no one's own lockout (5 wrong codes) comes first.
        let a = srv.enrolled().await;
        let b = srv.enrolled().await;
        let wrong = |u: &crate::harness::Enrolled| if u.code(&srv, 0) == "000000" { "111111".to_owned() } else { "000000".to_owned() };
        let http = reqwest::Client::new();
        let submit = |flow: String, code: String| {
            let http = http.clone();
            let url = format!("{}/api/v1/auth/mfa", srv.url);
            async move {
                http.post(url)
                    .header("x-forwarded-for", "203.0.113.9")
                    .json(&MfaRequest { flow_token: flow, method: Method::Totp, code, remember_device: None, credential: None })
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (fa, fb) = (srv.flow(&a).await, srv.flow(&b).await);
        for (flow, u) in [(&fa, &a), (&fa, &a), (&fa, &a), (&fb, &b), (&fb, &b)] {
            assert_eq!(submit(flow.clone(), wrong(u)).await, 401);
        }
        assert_eq!(submit(fb.clone(), b.code(&srv, 0)).await, 429);
        // The users themselves, elsewhere, are not locked.
        srv.submit(&fb, &b.code(&srv, 0)).await.unwrap();
    }
}

both_engines_with! { untrusted;
    async fn forwarded_for_from_an_untrusted_peer_is_ignored(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        // A new made-up address each time does not get a new allowance.
        for i in 0..5 {
            let (status, ..) = login_from(&srv, &format!("192.0.2.{i}"), &org, &user, "wrong").await;
            assert_eq!(status, 401);
        }
        let (status, code, ..) = login_from(&srv, "192.0.2.99", &org, &user, PASSWORD).await;
        assert_eq!((status, code), (429, Some(ErrorCode::RateLimited)));
        // And the log records the peer, not what the client claimed.
        srv.advance(60);
        let admin = srv.admin_in(&org, "root").await;
        let events = admin.audit_events(&org, None, None).await.unwrap();
        let failed = events.iter().find(|e| e.event == "signin.failed").unwrap();
        assert_eq!(failed.ip.as_deref(), Some("127.0.0.1"));
    }
}

both_engines_with! { per_account;
    async fn guesses_at_one_account_wait_after_ten_but_never_lock_its_user_out(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        // Alice signs in from home first: that address passes any wait later.
        let (status, ..) = login_from(&srv, "198.51.100.7", &org, &user, PASSWORD).await;
        assert_eq!(status, 200);
        // Ten wrong passwords from ten addresses, then an eleventh: each is checked.
        for i in 0..11 {
            let (status, ..) = login_from(&srv, &format!("203.0.113.{i}"), &org, &user, "guess").await;
            assert_eq!(status, 401, "guess {i}");
        }
        // Now a guess for this account waits a second, from any other address, right or
        // wrong: nothing is checked.
        let (status, code, retry, _) = login_from(&srv, "203.0.113.50", &org, &user, PASSWORD).await;
        assert_eq!((status, code, retry.as_deref()), (429, Some(ErrorCode::RateLimited), Some("1")));
        // Alice from home is not held up, and her right password clears the count.
        let (status, ..) = login_from(&srv, "198.51.100.7", &org, &user, PASSWORD).await;
        assert_eq!(status, 200);
        let (status, ..) = login_from(&srv, "203.0.113.51", &org, &user, "guess").await;
        assert_eq!(status, 401);
    }

    async fn the_wait_doubles_to_a_minute_and_says_nothing_about_who_exists(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        for (name, exists) in [(user.as_str(), true), ("nobody", false)] {
            let mut waits = Vec::new();
            for i in 0..20 {
                let (status, _, retry, _) = login_from(&srv, &format!("203.0.113.{i}"), &org, name, "guess").await;
                match status {
                    401 => {}
                    429 => {
                        let secs: u64 = retry.unwrap().parse().unwrap();
                        waits.push(secs);
                        srv.advance(secs);
                        let (status, ..) = login_from(&srv, &format!("203.0.113.{i}"), &org, name, "guess").await;
                        assert_eq!(status, 401);
                    }
                    other => panic!("{other}"),
                }
            }
            assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60], "{name} (exists: {exists})");
        }
    }

    async fn a_remembered_device_passes_the_wait(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let done = srv.client.mfa(&MfaRequest {
            flow_token: flow,
            method: Method::Totp,
            code: u.code(&srv, 0),
            remember_device: Some(true),
            credential: None,
        }).await.unwrap();
        let device = match done {
            LoginResponse::Authenticated { device_token: Some(d), .. } => d,
            other => panic!("{other:?}"),
        };
        for i in 0..12 {
            login_from(&srv, &format!("203.0.113.{i}"), &u.org, &u.username, "guess").await;
        }
        let (status, ..) = login_from(&srv, "203.0.113.99", &u.org, &u.username, PASSWORD).await;
        assert_eq!(status, 429);
        // From a new address (not where she last signed in), with the device's token.
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", srv.url))
            .header("x-forwarded-for", "203.0.113.99")
            .json(&serde_json::json!({"org": u.org, "username": u.username, "password": PASSWORD, "device_token": device}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let r: LoginResponse = res.json().await.unwrap();
        srv.client.with_token(token(&r)).me().await.unwrap();
    }
}
