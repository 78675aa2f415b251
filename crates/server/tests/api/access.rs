//! Who may call the `/orgs/{org}/…` endpoints, checked on every one of them: owners and
//! admins of that organisation; members get 403 `forbidden`; another organisation, or a
//! user of another organisation, is 404 `not_found` whether it exists or not; no session
//! is 401. A refused call changes nothing.

use reqwest::Method;
use serde_json::{Value, json};
use twofold_server::domain::users::Role;

use crate::harness::{TestServer, both_engines, token};

/// Every organisation endpoint: method, path under `/api/v1` (with `{org}` and `{id}`),
/// and a body that would be accepted from an admin.
fn endpoints() -> Vec<(Method, &'static str, Option<Value>)> {
    let new_user = json!({"username": "zed", "email": "zed@example.com", "role": "member", "password": "a long enough password"});
    vec![
        (Method::GET, "/orgs/{org}/users", None),
        (Method::POST, "/orgs/{org}/users", Some(new_user)),
        (Method::GET, "/orgs/{org}/mfa-policy", None),
        (
            Method::PUT,
            "/orgs/{org}/mfa-policy",
            Some(json!({"required": true, "invalidate_sessions": false})),
        ),
        (
            Method::PUT,
            "/orgs/{org}/mfa-policy",
            Some(json!({"required": false})),
        ),
        (Method::POST, "/orgs/{org}/users/{id}/mfa/reset", None),
        (Method::POST, "/orgs/{org}/users/{id}/unlock", None),
        (Method::GET, "/orgs/{org}/audit-events", None),
    ]
}

/// Calls every endpoint for `org` and user `id` with `bearer`; answers (status, code).
async fn call_all(
    srv: &TestServer,
    bearer: Option<&str>,
    org: &str,
    id: &str,
) -> Vec<(String, u16, Value)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for (method, path, body) in endpoints() {
        let path = path.replace("{org}", org).replace("{id}", id);
        let mut req = http.request(method.clone(), format!("{}/api/v1{path}", srv.url));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        out.push((format!("{method} {path}"), status, body["code"].clone()));
    }
    out
}

async fn bearer(srv: &TestServer, org: &str, user: &str) -> String {
    token(
        &srv.client
            .login(org, user, crate::harness::PASSWORD)
            .await
            .unwrap(),
    )
}

both_engines! {
    async fn members_are_forbidden_on_every_organisation_endpoint(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let bob = srv.user_in(&org, "bob", Role::Member).await;
        let member = bearer(&srv, &org, "bob").await;
        for (what, status, code) in call_all(&srv, Some(&member), &org, &bob).await {
            assert_eq!((status, code.as_str()), (403, Some("forbidden")), "{what}");
        }
        // Nothing changed: no user made, no policy, bob's sessions alive.
        let a = srv.session(&org, &admin).await;
        assert_eq!(a.org_users(&org).await.unwrap().len(), 2);
        assert!(!a.mfa_policy(&org).await.unwrap().required);
        srv.client.with_token(member).me().await.unwrap();
    }

    async fn another_organisation_is_not_found_on_every_endpoint(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let (other, other_admin) = srv.user(Role::Admin).await;
        let theirs = srv.user_in(&other, "carol", Role::Member).await;
        let ours = srv.user_in(&org, "dave", Role::Member).await;
        let a = bearer(&srv, &org, &admin).await;
        // Their organisation, existing or not.
        for (slug, id) in [(other.as_str(), theirs.as_str()), ("no-such-org", ours.as_str())] {
            for (what, status, code) in call_all(&srv, Some(&a), slug, id).await {
                assert_eq!((status, code.as_str()), (404, Some("not_found")), "{what}");
            }
        }
        let http = reqwest::Client::new();
        for action in ["mfa/reset", "unlock"] {
            let res = http
                .post(format!("{}/api/v1/orgs/{org}/users/{theirs}/{action}", srv.url))
                .bearer_auth(&a)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "{action} on another organisation's user");
        }
        // A member of the other organisation is not found either, not forbidden.
        let carol = bearer(&srv, &other, "carol").await;
        for (what, status, _) in call_all(&srv, Some(&carol), &org, &ours).await {
            assert_eq!(status, 404, "{what}");
        }
        // The other organisation is untouched.
        let o = srv.session(&other, &other_admin).await;
        assert_eq!(o.org_users(&other).await.unwrap().len(), 2);
        assert!(!o.mfa_policy(&other).await.unwrap().required);
    }

    async fn without_a_session_every_endpoint_is_unauthenticated(srv: TestServer) {
        let (org, _) = srv.user(Role::Admin).await;
        let bob = srv.user_in(&org, "bob", Role::Member).await;
        for bearer in [None, Some("not-a-token")] {
            for (what, status, code) in call_all(&srv, bearer, &org, &bob).await {
                assert_eq!((status, code.as_str()), (401, Some("unauthenticated")), "{what}");
            }
        }
    }
}
