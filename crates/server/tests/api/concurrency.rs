//! Replay protection and the lockout under concurrency, round after round; replay
//! protection across restarts and across server instances; the password hasher under a
//! flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use twofold_proto::{ErrorCode, LoginResponse};
use twofold_server::Config;
use twofold_server::domain::users::Role;

use crate::harness::{Engine, PASSWORD, TestServer, both_engines, both_engines_with};

/// Keeps the lockout out of replay races, so every loser is judged by the replay rule: with
/// the default threshold of 5 the losers' failures would lock the user, and later losers
/// would be turned away as locked before their code was looked at. Flows last an hour, so
/// flows started before the first round outlive the clock moved by every round.
fn replay_rule_only(config: &mut Config) {
    config.security.lockout_threshold = 100;
    config.security.flow_ttl = Duration::from_secs(3600);
}

both_engines_with! { replay_rule_only;
    async fn same_code_sent_concurrently_is_accepted_once_per_step(srv: TestServer) {
        const ROUNDS: usize = 10;
        const AT_ONCE: usize = 16;
        let u = srv.enrolled().await;
        // Each request finishes a flow of its own, so only the replay rule can refuse it.
        // A refused code leaves its flow open: each round only the winner's is replaced.
        let mut flows = Vec::new();
        for _ in 0..AT_ONCE {
            flows.push(srv.flow(&u).await);
        }
        for round in 0..ROUNDS {
            let code = u.code(&srv, 0);
            let results = futures_util::future::join_all(flows.iter().map(|f| srv.submit(f, &code))).await;
            let winners: Vec<usize> = (0..AT_ONCE).filter(|&i| results[i].is_ok()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            for r in results.iter().filter(|r| r.is_err()) {
                let e = r.as_ref().unwrap_err();
                assert_eq!(e.code(), Some(ErrorCode::CodeReused), "round {round}: {r:?}");
            }
            flows[winners[0]] = srv.flow(&u).await;
            // The next round is the next time step.
            srv.advance(30);
        }
    }
}

both_engines! {
    async fn concurrent_wrong_codes_over_many_flows_are_evaluated_five_times_per_user(srv: TestServer) {
        const ROUNDS: usize = 3;
        const AT_ONCE: usize = 30;
        const FLOWS: usize = 6;
        for round in 0..ROUNDS {
            // A fresh user each round, default lockout: 5 failures lock.
            let u = srv.enrolled().await;
            let bad = ["000000", "111111", "222222", "333333"]
                .into_iter()
                .find(|c| (-1..=1).all(|s| u.code(&srv, s) != *c))
                .unwrap();
            // The budget is the user's, not the flow's: spread the burst over several.
            let mut flows = Vec::new();
            for _ in 0..FLOWS {
                flows.push(srv.flow(&u).await);
            }
            let tries = (0..AT_ONCE).map(|i| srv.submit(&flows[i % FLOWS], bad));
            let results = futures_util::future::join_all(tries).await;
            let mut evaluated = 0;
            let mut locked = 0;
            for r in &results {
                let p = r.as_ref().unwrap_err().problem().unwrap();
                match (p.status, p.code) {
                    (401, ErrorCode::InvalidCode) => evaluated += 1,
                    (429, ErrorCode::TooManyAttempts) => locked += 1,
                    _ => panic!("round {round}: {r:?}"),
                }
            }
            assert_eq!(evaluated, 5, "round {round}: exactly the budget is evaluated");
            assert_eq!(locked, AT_ONCE - 5, "round {round}");
            // Even the right code is refused now, on every flow.
            for f in &flows {
                let e = srv.submit(f, &u.code(&srv, 0)).await.unwrap_err();
                assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "round {round}");
            }
        }
    }

    async fn one_flow_finished_concurrently_gives_one_session(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        // Two different valid codes (current and next step) race on the same flow.
        let (now, next) = (u.code(&srv, 0), u.code(&srv, 1));
        let (a, b) = tokio::join!(srv.submit(&flow, &now), srv.submit(&flow, &next));
        assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
        // The loser found the flow finished.
        let loser = if a.is_ok() { b } else { a };
        assert_eq!(loser.unwrap_err().code(), Some(ErrorCode::FlowExpired));
    }

    async fn one_flow_submitted_twice_at_once_loses_as_flow_expired_and_is_not_counted(srv: TestServer) {
        for trial in 0..5 {
            let u = srv.enrolled().await;
            let flow = srv.flow(&u).await;
            let code = u.code(&srv, 0);
            let (a, b) = tokio::join!(srv.submit(&flow, &code), srv.submit(&flow, &code));
            assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "trial {trial}: {a:?} {b:?}");
            let loser = if a.is_ok() { b } else { a };
            // The same on both engines: the flow is over, and that try was not a guess.
            assert_eq!(loser.unwrap_err().code(), Some(ErrorCode::FlowExpired), "trial {trial}");
            // Four wrong codes now leave the user one try: the loser was not counted.
            srv.advance(30);
            let flow = srv.flow(&u).await;
            let wrong = if u.code(&srv, 0) == "000000" { "111111" } else { "000000" };
            for _ in 0..4 {
                assert_eq!(srv.submit(&flow, wrong).await.unwrap_err().code(), Some(ErrorCode::InvalidCode));
            }
            srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        }
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
    // Room in the queue for the whole flood (the next test has less).
    let srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.security.password_hash_concurrency = 1;
        c.security.password_hash_queue = 64;
    })
    .await;
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
            .to_string()
            .into(),
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
    config.secret_key = Some(format!("{id}:{}", other.split(':').nth(1).unwrap()).into());
    let msg = twofold_server::Application::build(&config, Arc::new(srv.clock.clone()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("does not match"), "{msg}");
}

/// Past the hashing queue's bound a sign-in is refused at once, 503 `overloaded` with
/// `Retry-After`, instead of queueing without end; the rest are served, and so are health
/// and code checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_the_hashing_queue_is_refused_with_retry_after() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.security.password_hash_concurrency = 1;
        c.security.password_hash_queue = 4;
    })
    .await;
    let u = srv.enrolled().await;
    let (org, user) = srv.user(Role::Member).await;
    let http = reqwest::Client::new();
    let login = |http: reqwest::Client, url: String, org: String, user: String| async move {
        http.post(format!("{url}/api/v1/auth/login"))
            .json(&serde_json::json!({"org": org, "username": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    };
    let answers = futures_util::future::join_all(
        (0..64).map(|_| login(http.clone(), srv.url.clone(), org.clone(), user.clone())),
    )
    .await;
    let mut served = 0;
    let mut refused = 0;
    for res in answers {
        match res.status().as_u16() {
            200 => served += 1,
            503 => {
                refused += 1;
                assert_eq!(res.headers()["retry-after"], "1");
                assert_eq!(res.headers()["content-type"], "application/problem+json");
                let p: twofold_proto::Problem = res.json().await.unwrap();
                assert_eq!((p.code, p.retry_after), (ErrorCode::Overloaded, Some(1)));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(served >= 4, "{served} served");
    assert!(refused > 0, "the flood all queued");
    srv.client.health().await.unwrap();
    srv.submit(&srv.flow(&u).await, &u.code(&srv, 0))
        .await
        .unwrap();
}
