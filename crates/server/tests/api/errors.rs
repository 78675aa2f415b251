//! Bad input gets a clear RFC 9457 problem document with a stable code, and loses nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{TestServer, both_engines};

async fn post_raw(
    srv: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, String, Value) {
    let mut rb = reqwest::Client::new()
        .post(format!("{}{path}", srv.url))
        .body(body.to_owned());
    if let Some(ct) = content_type {
        rb = rb.header("content-type", ct);
    }
    let res = rb.send().await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

fn assert_problem(status: StatusCode, ct: &str, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(body["status"], want_status);
    assert_eq!(body["code"], want_code);
    for k in ["type", "title", "detail"] {
        assert!(body[k].is_string(), "missing {k}: {body}");
    }
}

both_engines! {
    async fn unknown_fields_are_refused_by_name(srv: TestServer) {
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"),
            r#"{"org":"a","username":"b","password":"c","remember":true}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
        assert!(b["detail"].as_str().unwrap().contains("unknown field `remember`"), "{b}");
    }

    async fn malformed_json_is_invalid_request(srv: TestServer) {
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"), "{not json").await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"), r#"{"org":1}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/mfa", Some("application/json"),
            r#"{"flow_token":"x","method":"sms","code":"123456"}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
    }

    async fn missing_content_type_is_invalid_request(srv: TestServer) {
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", None, r#"{"org":"a","username":"b","password":"c"}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
    }

    async fn unknown_route_and_wrong_method_are_problems(srv: TestServer) {
        let (s, ct, b) = post_raw(&srv, "/api/v1/nothing-here", None, "").await;
        assert_problem(s, &ct, &b, 404, "not_found");
        let res = reqwest::get(format!("{}/api/v1/auth/login", srv.url)).await.unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    async fn answers_are_never_cached(srv: TestServer) {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", srv.url))
            .json(&serde_json::json!({"org":"x","username":"y","password":"z"}))
            .send().await.unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store");
    }

    async fn healthz_answers_ok(srv: TestServer) {
        let res = reqwest::get(format!("{}/healthz", srv.url)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "ok");
    }
}
