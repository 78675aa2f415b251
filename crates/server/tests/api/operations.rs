//! The operator's endpoints: `/readyz` and each of its checks, and the Prometheus metrics
//! behind a token on the main listener or on a listener of their own.

use std::time::Duration;

use serde_json::Value;
use twofold_proto::ErrorCode;
use twofold_server::config::{Config, SmtpConfig, SmtpSecurity};
use twofold_server::mail::Mail;

use crate::harness::{TestServer, both_engines, both_engines_with};

const TOKEN: &str = "2b7e151628aed2a6abf7158809cf4f3c-metrics";

/// Mail goes to a relay that takes the connection and never says a word: a message
/// waits for its first attempt's answer for the whole test. One for the whole process.
fn silent_relay(c: &mut Config) {
    with_metrics_token(c);
    static RELAY: std::sync::OnceLock<std::net::TcpListener> = std::sync::OnceLock::new();
    let relay = RELAY.get_or_init(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    c.mail.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port: relay.local_addr().unwrap().port(),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        ca_pem: None,
        timeout: Duration::from_secs(600),
    });
}

fn with_metrics_token(c: &mut Config) {
    c.metrics.token = Some(TOKEN.to_owned().into());
}

/// `/readyz`'s status and body; `detailed`: as the metrics token's holder.
async fn readyz(srv: &TestServer, detailed: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/readyz", srv.url));
    if detailed {
        req = req.bearer_auth(TOKEN);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// The metrics as the main listener serves them to the token's holder.
async fn scrape(srv: &TestServer) -> String {
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", srv.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    res.text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Runs `sql` as written on `srv`'s database (no binds).
async fn exec(srv: &TestServer, sql: &'static str) {
    srv.twofold.store().exec_text(sql, &[]).await.unwrap();
}

fn on_postgres(srv: &TestServer) -> bool {
    srv.twofold.engine_name() == "postgres"
}

both_engines_with! {
    with_metrics_token;

    async fn readyz_is_ready_when_every_check_passes(srv: TestServer) {
        for detailed in [false, true] {
            let (status, body) = readyz(&srv, detailed).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body,
                serde_json::json!({"status": "ready", "checks": {
                    "database": "ok", "migrations": "ok", "secret_key": "ok", "mail_queue": "ok"
                }})
            );
        }
    }

    async fn readyz_refuses_a_database_this_release_has_not_migrated(srv: TestServer) {
        // As if the last migration had not run.
        if on_postgres(&srv) {
            exec(&srv, "DELETE FROM _sqlx_migrations \
                        WHERE version = (SELECT max(version) FROM _sqlx_migrations)").await;
        } else {
            exec(&srv, "DELETE FROM _twofold_migrations \
                        WHERE version = (SELECT max(version) FROM _twofold_migrations)").await;
        }
        // Anyone sees that it fails; only the operator sees why.
        let (status, body) = readyz(&srv, false).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["checks"]["migrations"], "failing");
        assert_eq!(body["checks"]["database"], "ok");
        let (status, body) = readyz(&srv, true).await;
        assert_eq!(status, 503, "{body}");
        let why = body["checks"]["migrations"].as_str().unwrap();
        assert!(why.contains("restart it to migrate"), "{why}");
        // Alive all the same: an orchestrator must not restart it for this.
        let alive = reqwest::get(format!("{}/healthz", srv.url)).await.unwrap();
        assert_eq!(alive.status(), 200);
    }

    async fn readyz_stays_ready_while_a_newer_release_has_migrated_further(srv: TestServer) {
        // A rolling upgrade: the first new server migrated; the old ones go on serving.
        if on_postgres(&srv) {
            exec(&srv, "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                        execution_time) VALUES (99990001, 'from the future', true, '\\x00', 0)").await;
        } else {
            exec(&srv, "INSERT INTO _twofold_migrations (version, name, checksum) \
                        VALUES (9999, '9999_from_the_future', x'00')").await;
        }
        let (status, body) = readyz(&srv, false).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["checks"]["migrations"], "ok");
        let (_, body) = readyz(&srv, true).await;
        let note = body["checks"]["migrations"].as_str().unwrap();
        assert!(note.contains("newer release"), "{note}");
    }

    async fn readyz_refuses_while_the_database_holds_a_key_this_server_lacks(srv: TestServer) {
        // Another server was given a new key and sealed with it.
        if on_postgres(&srv) {
            exec(&srv, "INSERT INTO secret_keys (id, check_value, created_at) \
                        VALUES ('knewer', '\\x00', 0)").await;
        } else {
            exec(&srv, "INSERT INTO secret_keys (id, check_value, created_at) \
                        VALUES ('knewer', x'00', 0)").await;
        }
        let (status, body) = readyz(&srv, false).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["checks"]["secret_key"], "failing");
        let (_, body) = readyz(&srv, true).await;
        let why = body["checks"]["secret_key"].as_str().unwrap();
        assert!(why.contains("knewer"), "{why}");
    }
}

both_engines! {
    async fn metrics_are_not_served_on_the_main_listener_without_a_token(srv: TestServer) {
        let res = reqwest::get(format!("{}/metrics", srv.url)).await.unwrap();
        assert_eq!(res.status(), 404);
        assert!(srv.metrics_url.is_none());
    }
}

both_engines_with! {
    with_metrics_token;

    async fn metrics_need_the_token(srv: TestServer) {
        let http = reqwest::Client::new();
        for auth in [None, Some("Bearer wrong-token-of-the-right-sort-0123456789"), Some(TOKEN)] {
            let mut req = http.get(format!("{}/metrics", srv.url));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{auth:?}");
            let p: twofold_proto::Problem = res.json().await.unwrap();
            assert_eq!(p.code, ErrorCode::Unauthenticated);
        }
        scrape(&srv).await;
    }

    async fn metrics_count_sign_ins_codes_replays_lockouts_requests_and_the_store(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let code = u.code(&srv, 0);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        srv.submit(&flow, wrong).await.unwrap_err();
        srv.submit(&flow, &code).await.unwrap();
        // The same code again, in a new sign-in: a replay.
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &code).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CodeReused), "{e}");
        // Another user locks their second step.
        let other = srv.enrolled().await;
        srv.lock_out(&other).await;

        let text = scrape(&srv).await;
        let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}\n{text}"));
        let factors = |outcome: &str| {
            count(&format!(
                "twofold_second_factors_total{{purpose=\"sign_in\",method=\"totp\",outcome=\"{outcome}\"}}"
            ))
        };
        assert_eq!(factors("accepted"), 1.0);
        assert_eq!(factors("replayed"), 1.0);
        assert_eq!(factors("refused"), 6.0);
        assert_eq!(count("twofold_lockouts_total"), 1.0);
        assert_eq!(count("twofold_sign_ins_total{outcome=\"second_factor\"}"), 3.0);
        // Requests by route and status, with their latency.
        assert!(count("twofold_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/auth/mfa\",status=\"401\"}") >= 7.0);
        assert_eq!(count("twofold_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/auth/mfa\",status=\"200\"}"), 1.0);
        // The lock notice, at least, was queued.
        assert!(count("twofold_mail_queued_total") >= 1.0);
        assert!(text.contains("# TYPE twofold_password_hash_wait_seconds histogram"), "{text}");
        assert!(count("twofold_password_hash_wait_seconds_count") >= 3.0);
        if on_postgres(&srv) {
            assert!(count("twofold_postgres_pool_connections") >= 1.0);
        } else {
            assert!(count("twofold_sqlite_batch_jobs_count") >= 1.0);
            assert!(count("twofold_sqlite_commit_seconds_count") >= 1.0);
            // Checkpoints come when the writer idles or the log is long: maybe not yet.
            assert!(count("twofold_sqlite_checkpoint_seconds_count") >= 0.0);
            assert!(count("twofold_sqlite_writer_pause_seconds_count") >= 0.0);
        }
        assert!(text.ends_with("# EOF\n"));
    }
}

both_engines_with! {
    silent_relay;

    async fn readyz_refuses_a_mail_queue_that_stopped_moving(srv: TestServer) {
        srv.twofold.mailer().send(
            &Mail {
                to: "someone@example.com".into(),
                subject: "Your code".into(),
                text: "hello".into(),
                html: "<p>hello</p>".into(),
            },
            srv.twofold.now(),
        );
        // Waiting a while is normal: a relay may be slow or greylisting.
        srv.advance(60);
        let (status, body) = readyz(&srv, true).await;
        assert_eq!(status, 200, "{body}");
        // Longer than its retries could ever take: deliveries are not moving.
        srv.advance(3 * 3600);
        let (status, body) = readyz(&srv, true).await;
        assert_eq!(status, 503, "{body}");
        let why = body["checks"]["mail_queue"].as_str().unwrap();
        assert!(why.contains("oldest undelivered mail has waited"), "{why}");
        assert_eq!(body["checks"]["database"], "ok");
    }
}

both_engines_with! {
    with_metrics_token;

    async fn a_lockout_by_wrong_recovery_codes_is_counted_too(srv: TestServer) {
        let u = srv.enrolled().await;
        // Recovery codes exist (a wrong one is checked against them).
        srv.strong_session(&u).await.regenerate_recovery_codes().await.unwrap();
        srv.advance(30);
        let flow = srv.flow(&u).await;
        for _ in 0..5 {
            let e = srv
                .client
                .mfa(&twofold_proto::MfaRequest {
                    flow_token: flow.clone(),
                    method: twofold_proto::Method::RecoveryCode,
                    code: "aaaaa-bbbbb".into(),
                    remember_device: None,
                    credential: None,
                })
                .await
                .unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let text = scrape(&srv).await;
        assert_eq!(sample(&text, "twofold_lockouts_total"), Some(1.0), "{text}");
        assert_eq!(
            sample(&text, "twofold_second_factors_total{purpose=\"sign_in\",method=\"recovery_code\",outcome=\"refused\"}"),
            Some(5.0),
            "{text}"
        );
    }
}

mod metrics_on_their_own_listener {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let srv = TestServer::start_with(crate::harness::Engine::Sqlite, |c| {
            c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        })
        .await;
        let at = srv.metrics_url.clone().unwrap();
        assert_ne!(at, srv.url);
        let res = reqwest::get(format!("{at}/metrics")).await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(text.contains("twofold_lockouts_total 0"), "{text}");
        // Only the metrics there; and not on the main listener, which has no token.
        // Readiness with its details, for the operator's own network.
        let ready = reqwest::get(format!("{at}/readyz")).await.unwrap();
        assert_eq!(ready.status(), 200);
        let other = reqwest::get(format!("{at}/healthz")).await.unwrap();
        assert_eq!(other.status(), 404);
        let main = reqwest::get(format!("{}/metrics", srv.url)).await.unwrap();
        assert_eq!(main.status(), 404);
        srv.stop().await;
    }
}
