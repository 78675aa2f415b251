//! Every operation of the route list that declares a credential (a session, a flow token,
//! an API key) answers 401 without one and with a made-up one, and changes nothing; every operation that declares none is one of the few meant to be
//! called by anyone. The list comes from the OpenAPI document, which is made from the same
//! route list as the router: a route added tomorrow is checked without touching this file.

use reqwest::Method;
use serde_json::Value;

use crate::harness::both_engines;

/// The operations anyone may call: they take a password, a sign-in's flow token in the
/// body (checked by the operation itself: `flow_expired`), or a federated sign-in's
/// one-time code and PKCE verifier.
const PUBLIC: [&str; 8] = [
    "POST /api/v1/auth/oidc/token",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/mfa",
    "POST /api/v1/auth/mfa/email/send",
    "POST /api/v1/auth/mfa/webauthn/options",
    "POST /api/v1/auth/enroll/totp",
    "POST /api/v1/auth/enroll/email",
    "POST /api/v1/auth/enroll/activate",
];

/// Every operation: (`METHOD /path`, the credentials it declares).
fn operations(doc: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let schemes = op["security"]
                .as_array()
                .map(|reqs| {
                    reqs.iter()
                        .flat_map(|r| r.as_object().unwrap().keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            out.push((format!("{} {path}", method.to_uppercase()), schemes));
        }
    }
    out
}

both_engines! {
    async fn every_route_that_declares_a_credential_refuses_a_request_without_one(srv: TestServer) {
        let (org, admin) = srv.user(twofold_server::domain::users::Role::Admin).await;
        let store = srv.twofold.store();
        let org_id = store.user_by_login(&org, &admin).await.unwrap().unwrap().org_id;
        let events = store.audit_events(&org_id, None, 500).await.unwrap();
        let operations = operations(&srv.client.openapi().await.unwrap());
        assert!(operations.len() >= 40, "{operations:?}");
        let http = reqwest::Client::new();
        for (operation, schemes) in &operations {
            if schemes.is_empty() {
                assert!(PUBLIC.contains(&operation.as_str()), "{operation} declares no credential");
                continue;
            }
            let (method, path) = operation.split_once(' ').unwrap();
            let url = format!("{}{}", srv.url, path.replace("{org}", &org).replace("{id}", "x"));
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            // A session or an API key is `unauthenticated`; an enrolment flow's token that
            // is not one is `flow_expired`, as everywhere a flow is asked for.
            let expected = if schemes == &["flow"] { "flow_expired" } else { "unauthenticated" };
            for bearer in [None, Some("tfs_made_up_token"), Some("not-a-token")] {
                let mut req = http.request(method.clone(), &url);
                if let Some(b) = bearer {
                    req = req.bearer_auth(b);
                }
                if method == Method::POST || method == Method::PUT {
                    req = req.json(&serde_json::json!({}));
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    (status, body["code"].as_str()),
                    (401, Some(expected)),
                    "{operation} ({schemes:?}) with {bearer:?}: {body}"
                );
            }
        }
        // Nothing happened: not one event more in the organisation's log.
        assert_eq!(store.audit_events(&org_id, None, 500).await.unwrap(), events);
    }
}
