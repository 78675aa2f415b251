//! Brute-force protection: the per-user second-factor lockout and its back-off.

use twofold_proto::ErrorCode;

use crate::harness::{Enrolled, TestServer, both_engines};

fn wrong(srv: &TestServer, u: &Enrolled) -> &'static str {
    // A code that is wrong for every step of the window.
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| (-1..=1).all(|s| u.code(srv, s) != *c))
        .unwrap()
}

async fn fail(srv: &TestServer, u: &Enrolled, flow: &str) -> ErrorCode {
    srv.submit(flow, wrong(srv, u))
        .await
        .unwrap_err()
        .code()
        .unwrap()
}

both_engines! {
    async fn fifth_wrong_code_locks_even_a_correct_code_out(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            assert_eq!(fail(&srv, &u, &flow).await, ErrorCode::InvalidCode);
        }
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!(p.code, ErrorCode::TooManyAttempts);
        assert_eq!(p.status, 429);
        assert_eq!(p.retry_after, Some(60));
    }

    async fn retry_after_header_matches_the_problem(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            fail(&srv, &u, &flow).await;
        }
        srv.advance(20);
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/mfa", srv.url))
            .json(&serde_json::json!({"flow_token": flow, "method": "totp", "code": "123456"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "40");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["retry_after"], 40);
    }

    async fn lock_ends_and_each_further_failure_doubles_it(srv: TestServer) {
        let u = srv.enrolled().await;
        for _ in 0..5 {
            let flow = srv.flow(&u).await;
            fail(&srv, &u, &flow).await;
        }
        srv.advance(60);
        let flow = srv.flow(&u).await;
        assert_eq!(fail(&srv, &u, &flow).await, ErrorCode::InvalidCode);
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.problem().unwrap().retry_after, Some(120));
        srv.advance(120);
        assert_eq!(fail(&srv, &u, &flow).await, ErrorCode::InvalidCode);
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.problem().unwrap().retry_after, Some(240));
        // After the lock a correct code gets in and the count starts again.
        srv.advance(240);
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        srv.advance(30);
        let flow = srv.flow(&u).await;
        for _ in 0..4 {
            assert_eq!(fail(&srv, &u, &flow).await, ErrorCode::InvalidCode);
        }
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
    }

    async fn success_resets_the_count(srv: TestServer) {
        let u = srv.enrolled().await;
        for _ in 0..3 {
            let flow = srv.flow(&u).await;
            for _ in 0..4 {
                assert_eq!(fail(&srv, &u, &flow).await, ErrorCode::InvalidCode);
            }
            srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
            srv.advance(30);
        }
    }

    async fn replayed_codes_count_as_failures(srv: TestServer) {
        let u = srv.enrolled().await;
        let code = u.code(&srv, 0);
        srv.submit(&srv.flow(&u).await, &code).await.unwrap();
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            assert_eq!(srv.submit(&flow, &code).await.unwrap_err().code(), Some(ErrorCode::CodeReused));
        }
        let e = srv.submit(&flow, &u.code(&srv, 1)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts));
    }

    async fn lock_holds_across_new_flows_and_a_restart(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            fail(&srv, &u, &flow).await;
        }
        let again = srv.sibling().await;
        srv.stop().await;
        let flow = again.flow(&u).await;
        let e = again.submit(&flow, &u.code(&again, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts));
    }

    async fn lock_is_per_user(srv: TestServer) {
        let a = srv.enrolled().await;
        let b = srv.enrolled().await;
        let flow = srv.flow(&a).await;
        for _ in 0..5 {
            fail(&srv, &a, &flow).await;
        }
        srv.submit(&srv.flow(&b).await, &b.code(&srv, 0)).await.unwrap();
    }

    async fn concurrent_wrong_codes_cannot_exceed_the_budget(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let bad = wrong(&srv, &u);
        let tries = (0..30).map(|_| srv.submit(&flow, bad));
        let results = futures_util::future::join_all(tries).await;
        let evaluated = results.iter().filter(|r| r.as_ref().unwrap_err().code() == Some(ErrorCode::InvalidCode)).count();
        let refused = results.iter().filter(|r| r.as_ref().unwrap_err().code() == Some(ErrorCode::TooManyAttempts)).count();
        assert_eq!(evaluated, 5, "exactly the budget is evaluated");
        assert_eq!(refused, 25);
    }
}
