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

    async fn nul_characters_in_text_are_invalid_request(srv: TestServer) {
        // PostgreSQL cannot hold a NUL in text: this was a 500 there.
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"),
            r#"{"org":"ac\u0000me","username":"alice","password":"correct horse battery staple"}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
        assert!(b["detail"].as_str().unwrap().contains("NUL"), "{b}");
        // An escaped backslash followed by "u0000" is just text.
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"),
            r#"{"org":"ac\\u0000me","username":"alice","password":"correct horse battery staple"}"#).await;
        assert_problem(s, &ct, &b, 401, "invalid_credentials");
    }

    async fn a_json_array_is_not_a_request_body(srv: TestServer) {
        // serde reads a struct from an array of its fields' values; the API takes objects.
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("application/json"),
            r#"["acme","alice","correct horse battery staple"]"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
        let (org, user) = srv.user(twofold_server::domain::users::Role::Member).await;
        let token = crate::harness::token(
            &srv.client.login(&org, &user, crate::harness::PASSWORD).await.unwrap());
        for body in ["[]", r#"["Work phone"]"#] {
            let res = reqwest::Client::new()
                .post(format!("{}/api/v1/me/factors/totp", srv.url))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send().await.unwrap();
            let status = res.status();
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            let b: Value = res.json().await.unwrap();
            assert_problem(status, &ct, &b, 400, "invalid_request");
        }
    }

    async fn json_media_types_with_parameters_or_suffix_are_json(srv: TestServer) {
        for ct in ["application/json; charset=utf-8", "application/problem+json"] {
            let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some(ct),
                r#"{"org":"acme","username":"alice","password":"wrong"}"#).await;
            assert_problem(s, &ct, &b, 401, "invalid_credentials");
        }
        let (s, ct, b) = post_raw(&srv, "/api/v1/auth/login", Some("text/plain"),
            r#"{"org":"acme","username":"alice","password":"wrong"}"#).await;
        assert_problem(s, &ct, &b, 400, "invalid_request");
    }

    async fn factor_ids_that_cannot_be_ids_are_not_found(srv: TestServer) {
        // Not UTF-8 once decoded (was a text/plain 400), or holding a NUL (was a 500 on
        // PostgreSQL): no factor has such an id.
        let (org, user) = srv.user(twofold_server::domain::users::Role::Member).await;
        let token = crate::harness::token(
            &srv.client.login(&org, &user, crate::harness::PASSWORD).await.unwrap());
        let http = reqwest::Client::new();
        for id in ["%FF", "a%00b"] {
            for (method, path) in [("GET", format!("{id}/qr.png")), ("DELETE", id.to_owned()),
                                   ("POST", format!("{id}/activate"))] {
                let res = http
                    .request(method.parse().unwrap(), format!("{}/api/v1/me/factors/{path}", srv.url))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"code": "123456"}))
                    .send().await.unwrap();
                let status = res.status();
                let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
                let body: Value = res.json().await.unwrap();
                assert_problem(status, &ct, &body, 404, "not_found");
            }
        }
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

    async fn bad_input_is_named_but_not_echoed_back_whole(srv: TestServer) {
        let (org, _) = srv.user(twofold_server::domain::users::Role::Member).await;
        let admin = srv.admin_in(&org, "root").await;
        let long = format!("{}!", "a".repeat(60_000));
        for (username, email) in [(long.as_str(), "x@example.com"), ("bob", long.as_str())] {
            let e = admin
                .create_org_user(&org, &twofold_proto::NewOrgUser {
                    username: username.into(),
                    email: email.into(),
                    role: twofold_proto::Role::Member,
                    password: None,
                    federated: None,
                })
                .await
                .unwrap_err();
            let p = e.problem().unwrap();
            assert_eq!(p.code, twofold_proto::ErrorCode::InvalidRequest);
            assert!(p.detail.len() < 300, "{} bytes", p.detail.len());
            assert!(p.detail.contains("60001 characters"), "{}", p.detail);
        }
    }

    async fn every_answer_carries_a_request_id_of_its_own(srv: TestServer) {
        let http = reqwest::Client::new();
        let mut seen = std::collections::HashSet::new();
        for (method, path) in [
            ("GET", "/healthz"),
            ("GET", "/api/v1/openapi.json"),
            ("GET", "/api/v1/me"),
            ("GET", "/no/such/route"),
            ("POST", "/api/v1/auth/login"),
        ] {
            let res = http
                .request(method.parse().unwrap(), format!("{}{path}", srv.url))
                // A client's own id is not taken over.
                .header("x-request-id", "mine")
                .send()
                .await
                .unwrap();
            let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
            assert_eq!(id.len(), 36, "{path}: {id}");
            assert!(seen.insert(id), "{path}");
        }
    }

    async fn healthz_answers_ok(srv: TestServer) {
        let res = reqwest::get(format!("{}/healthz", srv.url)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "ok");
    }
}
