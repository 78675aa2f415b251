//! Replay protection under concurrency, across restarts and across server instances; the
//! password hasher under a flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use twofold_proto::{ErrorCode, LoginResponse};
use twofold_server::domain::users::Role;

use crate::harness::{Engine, PASSWORD, TestServer, both_engines};

both_engines! {
    async fn same_code_sent_concurrently_is_accepted_once(srv: TestServer) {
        let u = srv.enrolled().await;
        let code = u.code(&srv, 0);
        let mut flows = Vec::new();
        for _ in 0..12 {
            flows.push(srv.flow(&u).await);
        }
        let results = futures_util::future::join_all(flows.iter().map(|f| srv.submit(f, &code))).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{results:?}");
        // The others are replays; being failed attempts, those past the lockout budget
        // are refused before they are even evaluated.
        for r in results.iter().filter(|r| r.is_err()) {
            let code = r.as_ref().unwrap_err().code();
            assert!(matches!(code, Some(ErrorCode::CodeReused | ErrorCode::TooManyAttempts)), "{r:?}");
        }
    }

    async fn one_flow_finished_concurrently_gives_one_session(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        // Two different valid codes (current and next step) race on the same flow.
        let (now, next) = (u.code(&srv, 0), u.code(&srv, 1));
        let (a, b) = tokio::join!(srv.submit(&flow, &now), srv.submit(&flow, &next));
        assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
    }

    async fn two_instances_on_one_database_accept_a_code_once(srv: TestServer) {
        let other = srv.sibling().await;
        let u = srv.enrolled().await;
        for round in 0..3 {
            let code = u.code(&srv, 0);
            let (fa, fb) = (srv.flow(&u).await, other.flow(&u).await);
            let (a, b) = tokio::join!(srv.submit(&fa, &code), other.submit(&fb, &code));
            let ok = [&a, &b].iter().filter(|r| r.is_ok()).count();
            assert_eq!(ok, 1, "round {round}: {a:?} {b:?}");
            let loser = if a.is_ok() { b } else { a };
            assert_eq!(loser.unwrap_err().code(), Some(ErrorCode::CodeReused));
            srv.advance(30);
        }
    }

    async fn replay_protection_survives_a_restart(srv: TestServer) {
        let u = srv.enrolled().await;
        let code = u.code(&srv, 0);
        srv.submit(&srv.flow(&u).await, &code).await.unwrap();
        let again = srv.sibling().await;
        srv.stop().await;
        let e = again.submit(&again.flow(&u).await, &code).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused));
    }

    async fn sessions_and_flows_survive_a_restart(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let again = srv.sibling().await;
        srv.stop().await;
        let r = again.submit(&flow, &u.code(&again, 0)).await.unwrap();
        assert!(matches!(r, LoginResponse::Authenticated { .. }));
        again.client.with_token(crate::harness::token(&r)).me().await.unwrap();
    }
}

/// With one hashing slot, a burst of password logins queues on the hasher; health checks
/// and code checks must not queue behind it. Asserted by order of completion, not time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_flood_does_not_stall_health_or_code_checks() {
    let srv =
        TestServer::start_with(Engine::Sqlite, |c| c.security.password_hash_concurrency = 1).await;
    let u = srv.enrolled().await;
    let flow = srv.flow(&u).await;
    let (org, user) = srv.user(Role::Member).await;
    const LOGINS: usize = 24;
    let done = Arc::new(AtomicUsize::new(0));
    let mut logins = Vec::new();
    for _ in 0..LOGINS {
        let (client, org, user, done) =
            (srv.client.clone(), org.clone(), user.clone(), done.clone());
        logins.push(tokio::spawn(async move {
            client.login(&org, &user, PASSWORD).await.unwrap();
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    // Let the flood reach the server before probing.
    while done.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    srv.client.health().await.unwrap();
    let health_done_after = done.load(Ordering::SeqCst);
    srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
    let mfa_done_after = done.load(Ordering::SeqCst);
    for l in logins {
        l.await.unwrap();
    }
    assert!(
        health_done_after < LOGINS,
        "healthz waited for all {LOGINS} password hashes"
    );
    assert!(
        mfa_done_after < LOGINS,
        "the code check waited for all {LOGINS} password hashes"
    );
}

/// A server given another secret key refuses to start on a database whose secrets it
/// cannot open, instead of failing every sign-in later.
#[tokio::test]
async fn a_server_with_the_wrong_secret_key_refuses_to_start() {
    let srv = TestServer::start(Engine::Sqlite).await;
    srv.enrolled().await;
    let mut config = srv.config.clone();
    config.secret_key = Some(
        twofold_server::crypto::secret_box::SecretKey::generate_text()
            .unwrap()
            .to_string(),
    );
    let err = twofold_server::Application::build(&config, Arc::new(srv.clock.clone()))
        .await
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("sealed with key") && msg.contains("TWOFOLD_SECRET_KEY"),
        "{msg}"
    );
    // The same id with other key bytes is caught by the recorded check value.
    let key_file = std::fs::read_to_string(srv.config.data_dir.join("secret.key")).unwrap();
    let id = key_file.split(':').next().unwrap();
    let other = twofold_server::crypto::secret_box::SecretKey::generate_text().unwrap();
    config.secret_key = Some(format!("{id}:{}", other.split(':').nth(1).unwrap()));
    let msg = twofold_server::Application::build(&config, Arc::new(srv.clock.clone()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("does not match"), "{msg}");
}
