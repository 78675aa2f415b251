//! The OpenAPI document is served and describes every API route, every answer it can give
//! (problem documents for errors), and links that tools can follow.

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
    // Every operation has an id of its own (tools and links name operations by it).
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "duplicate operationIds: {ids:?}");
    assert_eq!(
        paths,
        [
            "DELETE /api/v1/me/devices/{id}",
            "DELETE /api/v1/me/factors/{id}",
            "DELETE /api/v1/me/sessions",
            "DELETE /api/v1/me/sessions/{id}",
            "DELETE /api/v1/orgs/{org}/api-keys/{id}",
            "DELETE /api/v1/orgs/{org}/oidc-providers/{name}",
            "GET /api/v1/auth/enroll/{id}/qr.png",
            "GET /api/v1/me",
            "GET /api/v1/me/devices",
            "GET /api/v1/me/factors",
            "GET /api/v1/me/factors/{id}/qr.png",
            "GET /api/v1/me/factors/{id}/uri",
            "GET /api/v1/me/recovery-codes",
            "GET /api/v1/me/sessions",
            "GET /api/v1/orgs/{org}/api-keys",
            "GET /api/v1/orgs/{org}/audit-events",
            "GET /api/v1/orgs/{org}/mfa-policy",
            "GET /api/v1/orgs/{org}/oidc-providers",
            "GET /api/v1/orgs/{org}/settings",
            "GET /api/v1/orgs/{org}/users",
            "PATCH /api/v1/me/factors/{id}",
            "POST /api/v1/auth/enroll/activate",
            "POST /api/v1/auth/enroll/email",
            "POST /api/v1/auth/enroll/totp",
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/logout",
            "POST /api/v1/auth/mfa",
            "POST /api/v1/auth/mfa/email/send",
            "POST /api/v1/auth/mfa/webauthn/options",
            "POST /api/v1/auth/oidc/token",
            "POST /api/v1/auth/step-up",
            "POST /api/v1/auth/step-up/email/send",
            "POST /api/v1/auth/step-up/oidc",
            "POST /api/v1/auth/step-up/webauthn/options",
            "POST /api/v1/me/factors/email",
            "POST /api/v1/me/factors/totp",
            "POST /api/v1/me/factors/webauthn/begin",
            "POST /api/v1/me/factors/webauthn/finish",
            "POST /api/v1/me/factors/{id}/activate",
            "POST /api/v1/me/factors/{id}/regenerate",
            "POST /api/v1/me/recovery-codes",
            "POST /api/v1/me/session/mfa",
            "POST /api/v1/orgs/{org}/api-keys",
            "POST /api/v1/orgs/{org}/users",
            "POST /api/v1/orgs/{org}/users/{id}/invitation",
            "POST /api/v1/orgs/{org}/users/{id}/mfa/reset",
            "POST /api/v1/orgs/{org}/users/{id}/unlock",
            "POST /api/v1/tokens/introspect",
            "PUT /api/v1/me/factors/{id}/preferred",
            "PUT /api/v1/me/password",
            "PUT /api/v1/orgs/{org}/mfa-policy",
            "PUT /api/v1/orgs/{org}/oidc-providers/{name}",
            "PUT /api/v1/orgs/{org}/settings",
            "PUT /api/v1/orgs/{org}/users/{id}/role",
        ]
    );
    // Every documented route answers something other than "no such route".
    let http = reqwest::Client::new();
    for p in &paths {
        let (m, path) = p.split_once(' ').unwrap();
        let url = format!(
            "{}{}",
            srv.url,
            path.replace("{id}", "x")
                .replace("{org}", "x")
                .replace("{name}", "x")
        );
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

#[tokio::test]
async fn openapi_document_describes_every_answer() {
    let srv = TestServer::start(Engine::Sqlite).await;
    let doc = srv.client.openapi().await.unwrap();
    let mut operation_ids = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            operation_ids.push(op["operationId"].as_str().unwrap().to_owned());
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            // Every authenticated operation can answer 401, every body can be malformed.
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{at}: no 401");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{at}: no 400");
            }
            for (status, res) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = res["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{at} {status}"
                    );
                    assert_eq!(
                        content["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{at} {status}"
                    );
                }
                if status == "429" {
                    assert!(
                        res["headers"]["Retry-After"].is_object(),
                        "{at}: 429 without Retry-After"
                    );
                }
                // Links use OpenAPI's names and point at operations that exist.
                for (name, link) in res["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{at} {status} {name}: {link}"));
                    assert!(
                        operation_ids.iter().any(|id| id == target),
                        "{at} {status} {name}: {target}"
                    );
                    assert!(
                        link.get("operation_id").is_none(),
                        "{at} {status} {name}: {link}"
                    );
                }
            }
        }
    }
    // Enrolment links to the operations on the new factor.
    let links = &doc["paths"]["/api/v1/me/factors/totp"]["post"]["responses"]["201"]["links"];
    for name in ["activate", "qr_png", "delete"] {
        assert_eq!(
            links[name]["parameters"]["id"], "$response.body#/id",
            "{name}"
        );
    }
}
