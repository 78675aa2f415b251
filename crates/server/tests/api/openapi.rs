//! The OpenAPI document is served and describes every API route.

use crate::harness::{Engine, TestServer};

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let srv = TestServer::start(Engine::Sqlite).await;
    let doc = srv.client.openapi().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut paths: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            paths.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    paths.sort();
    assert_eq!(
        paths,
        [
            "DELETE /api/v1/me/factors/{id}",
            "GET /api/v1/me",
            "GET /api/v1/me/factors",
            "GET /api/v1/me/factors/{id}/qr.png",
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/logout",
            "POST /api/v1/auth/mfa",
            "POST /api/v1/me/factors/totp",
            "POST /api/v1/me/factors/{id}/activate",
        ]
    );
    // Every documented route answers something other than "no such route".
    let http = reqwest::Client::new();
    for p in &paths {
        let (m, path) = p.split_once(' ').unwrap();
        let url = format!("{}{}", srv.url, path.replace("{id}", "x"));
        let res = http.request(m.parse().unwrap(), url).send().await.unwrap();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_ne!(body["detail"], "no such endpoint", "{p}");
    }
    // Error answers reference the problem schema with its stable codes.
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for c in [
        "invalid_code",
        "code_reused",
        "too_many_attempts",
        "flow_expired",
        "invalid_credentials",
    ] {
        assert!(
            codes.as_array().unwrap().iter().any(|v| v == c),
            "{c} missing from {codes}"
        );
    }
}
