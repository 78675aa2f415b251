//! Federated sign-in against a real OpenID Connect provider (`idp`): a federated user
//! comes in without a TOTP step; every tampered, replayed, wrongly signed, expired or
//! misaddressed answer is refused with a clear error and creates nothing; who may come in
//! (bound identities, just-in-time users, email domains, other organisations); the
//! provider rotating its key; an application's loopback sign-in and a federated step-up.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use twofold_client::{Client, ClientError};
use twofold_proto::{ErrorCode, OidcStepUpRequest, OidcTokenResponse, PutOidcProvider};
use twofold_server::domain::users::{NewUser, Role};
use twofold_server::{Clock, SystemClock};

use crate::harness::{PASSWORD, TestServer, both_engines};
use crate::idp::{self, Idp};

const SECRET: &str = "twofold-client-secret";

/// A browser for Twofold's pages: keeps the site's cookies, follows nothing by itself.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// One answer as a browser sees it.
struct Seen {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Seen {
    /// The problem code a failure page shows (`data-code`).
    fn shows_code(&self, code: &str) -> bool {
        self.body.contains(&format!("data-code=\"{code}\""))
    }
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn get(&mut self, url: &str) -> Seen {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let res = self
            .http
            .get(url)
            .header("cookie", cookie.join("; "))
            .send()
            .await
            .unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Seen {
            status: res.status(),
            location: res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            body: res.text().await.unwrap(),
        }
    }

    fn session(&self) -> Option<&String> {
        self.cookies.get("twofold-session")
    }
}

/// A server and a provider that knows it, an organisation whose owner (alice, a password
/// user with an app) configured the provider as `okta`, and a federated user `fiona`
/// created by an admin, known to the provider.
pub(crate) struct Fed {
    pub(crate) srv: TestServer,
    pub(crate) idp: Idp,
    pub(crate) org: String,
    /// alice, the owner: her session passed her app just now.
    pub(crate) owner: Client,
    pub(crate) owner_app: twofold_otp::Totp,
}

pub(crate) async fn setup(srv: TestServer) -> Fed {
    // The provider signs with the wall clock: the server's clock starts there too.
    srv.clock.set(SystemClock.now());
    let idp = idp::start().await;
    let (org, _) = srv.user(Role::Owner).await;
    let (owner, owner_app) = srv.with_app(&org, "alice").await;
    idp.add_client(
        "twofold",
        SECRET,
        &format!("{}/auth/oidc/callback", srv.url),
    )
    .await;
    owner
        .put_oidc_provider(&org, "okta", &provider(&idp))
        .await
        .unwrap();
    federated_user(&srv, &org, "fiona").await;
    idp.add_account("sub-fiona", claims("fiona")).await;
    Fed {
        srv,
        idp,
        org,
        owner,
        owner_app,
    }
}

pub(crate) fn provider(idp: &Idp) -> PutOidcProvider {
    PutOidcProvider {
        issuer: idp.issuer.clone(),
        client_id: "twofold".into(),
        client_secret: Some(SECRET.into()),
        ..PutOidcProvider::default()
    }
}

pub(crate) fn claims(username: &str) -> Value {
    json!({
        "preferred_username": username,
        "email": format!("{username}@example.com"),
        "email_verified": true,
    })
}

pub(crate) async fn federated_user(srv: &TestServer, org: &str, username: &str) -> String {
    federated_user_as(srv, org, username, Role::Member).await
}

pub(crate) async fn federated_user_as(
    srv: &TestServer,
    org: &str,
    username: &str,
    role: Role,
) -> String {
    srv.twofold
        .create_user(NewUser {
            org: org.into(),
            username: username.into(),
            email: format!("{username}@example.com"),
            role,
            federated: true,
            password: None,
        })
        .await
        .unwrap()
}

impl Fed {
    fn start_url(&self) -> String {
        format!("{}/auth/oidc/{}/okta/start", self.srv.url, self.org)
    }

    /// Starts a sign-in in `b`: answers the provider's authorization URL.
    async fn start(&self, b: &mut Browser) -> String {
        let seen = b.get(&self.start_url()).await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{}", seen.body);
        let to = seen.location.unwrap();
        assert!(to.starts_with(&self.idp.issuer), "{to}");
        to
    }

    /// Signs `sub` in at the provider from a sign-in started in `b`: answers the
    /// callback URL the provider sends the browser to.
    async fn at_provider(&self, b: &mut Browser, sub: &str) -> String {
        let authorize = self.start(b).await;
        let callback = self.idp.sign_in(&authorize, sub).await;
        assert!(
            callback.starts_with(&format!("{}/auth/oidc/callback?", self.srv.url)),
            "{callback}"
        );
        callback
    }

    /// The whole trip: what the callback answers.
    async fn sign_in(&self, b: &mut Browser, sub: &str) -> Seen {
        let callback = self.at_provider(b, sub).await;
        b.get(&callback).await
    }

    pub(crate) async fn events(&self, name: &str) -> Vec<Value> {
        let filter = twofold_client::AuditFilter {
            event: Some(name),
            ..Default::default()
        };
        self.owner
            .audit_events_where(&self.org, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| json!({"subject": e.subject_id, "details": e.details}))
            .collect()
    }

    /// Signs `sub` in and expects a refusal page with `code`; checks no session came of
    /// it and the refusal was audited with the provider and `reason`.
    async fn refused(&self, b: &mut Browser, sub: &str, status: u16, code: &str, reason: &str) {
        let seen = self.sign_in(b, sub).await;
        assert_eq!(seen.status.as_u16(), status, "{}", seen.body);
        assert!(seen.shows_code(code), "{}", seen.body);
        assert!(b.session().is_none(), "no session after a refusal");
        let failed = self.events("signin.failed").await;
        assert!(
            failed
                .iter()
                .any(|e| e["details"]["provider"] == "okta" && e["details"]["reason"] == reason),
            "{failed:?}"
        );
    }
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn problem(e: ClientError) -> twofold_proto::Problem {
    match e {
        ClientError::Api(p) => *p,
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge =
        data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

both_engines! {
    async fn a_federated_user_signs_in_through_the_provider_without_a_totp_step(srv: TestServer) {
        let f = setup(srv).await;
        let mut b = Browser::new();
        let seen = f.sign_in(&mut b, "sub-fiona").await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{}", seen.body);
        assert_eq!(seen.location.as_deref(), Some("/account/security"));
        let token = b.session().expect("a session cookie").clone();
        let me = f.srv.client.with_token(token).me().await.unwrap();
        assert_eq!(me.username, "fiona");
        assert!(me.federated);
        assert_eq!(me.session.amr, vec!["fed", "pwd", "otp"], "the provider's methods");
        assert_eq!(me.session.aal, 2, "the provider passed a second factor");
        // The request the provider saw: code flow, PKCE S256, state and nonce.
        let asked = f.idp.last_auth_request().await;
        assert_eq!(asked["response_type"], "code");
        assert_eq!(asked["code_challenge_method"], "S256");
        assert!(asked["state"].as_str().unwrap().starts_with("tfo_"));
        assert!(asked["nonce"].as_str().unwrap().len() >= 43);
        assert_eq!(asked["scope"], "openid profile email");
        assert_eq!(
            asked["redirect_uri"].as_str().unwrap(),
            format!("{}/auth/oidc/callback", f.srv.url)
        );
        let users = f.owner.org_users(&f.org).await.unwrap();
        let listed = users.iter().find(|u| u.username == "fiona").unwrap();
        assert_eq!(listed.providers, vec!["okta"]);
        assert_eq!(listed.mfa, twofold_proto::MfaStatus::NotApplicable);
        let ok = f.events("signin.succeeded").await;
        assert!(ok.iter().any(|e| e["details"]["provider"] == "okta"), "{ok:?}");
        // The identity is bound: the next sign-in finds fiona by the provider's subject,
        // whatever the username claim says by then.
        f.idp
            .add_account("sub-fiona", json!({"preferred_username": "someone-else"}))
            .await;
        let mut again = Browser::new();
        let seen = f.sign_in(&mut again, "sub-fiona").await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{}", seen.body);
        let me = f.srv.client.with_token(again.session().unwrap().clone()).me().await.unwrap();
        assert_eq!(me.username, "fiona");
    }

    async fn a_replayed_callback_or_code_is_refused(srv: TestServer) {
        let f = setup(srv).await;
        let mut b = Browser::new();
        let callback = f.at_provider(&mut b, "sub-fiona").await;
        assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
        let first = b.session().unwrap().clone();
        // The same callback again: its state was used.
        let mut other = Browser::new();
        other.cookies = b.cookies.clone();
        other.cookies.remove("twofold-session");
        let seen = other.get(&callback).await;
        assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{}", seen.body);
        assert!(seen.shows_code("flow_expired"), "{}", seen.body);
        assert!(other.session().is_none());
        // The code again, with a fresh state of this browser: the provider refuses it.
        let mut c = Browser::new();
        let fresh = f.at_provider(&mut c, "sub-fiona").await;
        let old_code = param(&callback, "code").unwrap();
        let seen = c.get(&replace_param(&fresh, "code", &old_code)).await;
        assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{}", seen.body);
        assert!(seen.shows_code("federation_failed"), "{}", seen.body);
        assert!(c.session().is_none());
        let failed = f.events("signin.failed").await;
        assert!(failed.iter().any(|e| e["details"]["reason"] == "code_refused"), "{failed:?}");
        // The first session is untouched.
        f.srv.client.with_token(first).me().await.unwrap();
    }

    async fn the_provider_rotating_its_signing_key_mid_test_still_works(srv: TestServer) {
        let f = setup(srv).await;
        let mut b = Browser::new();
        assert_eq!(f.sign_in(&mut b, "sub-fiona").await.status, StatusCode::SEE_OTHER);
        f.idp.rotate_keys().await;
        // The kept key set lacks the new key: it is fetched again (at most every 10 s).
        f.srv.advance(11);
        let mut again = Browser::new();
        let seen = f.sign_in(&mut again, "sub-fiona").await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{}", seen.body);
        assert!(again.session().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_state_or_another_browser_is_refused_and_creates_nothing() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let mut b = Browser::new();
    let callback = f.at_provider(&mut b, "sub-fiona").await;
    let state = param(&callback, "state").unwrap();
    let mut tampered = state.clone();
    tampered.pop();
    tampered.push(if state.ends_with('A') { 'B' } else { 'A' });
    let seen = b.get(&replace_param(&callback, "state", &tampered)).await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{}", seen.body);
    assert!(seen.shows_code("flow_expired"), "{}", seen.body);
    assert!(b.session().is_none());
    // The untampered callback in a browser without the binding cookie (a victim lured to
    // an attacker's callback): refused, and the state is spent.
    let mut victim = Browser::new();
    let seen = victim.get(&callback).await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{}", seen.body);
    assert!(seen.shows_code("federation_failed"), "{}", seen.body);
    assert!(victim.session().is_none());
    let failed = f.events("signin.failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["details"]["reason"] == "browser_mismatch"),
        "{failed:?}"
    );
    assert!(b.get(&callback).await.shows_code("flow_expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_with_a_wrong_nonce_audience_issuer_expiry_or_signature_are_refused() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    for mode in ["nonce", "audience", "issuer", "expired", "foreign_key"] {
        f.idp.tamper(mode).await;
        let mut b = Browser::new();
        f.refused(
            &mut b,
            "sub-fiona",
            401,
            "federation_failed",
            "id_token_refused",
        )
        .await;
    }
    let failed = f.events("signin.failed").await;
    let said: Vec<&str> = failed
        .iter()
        .filter_map(|e| e["details"]["detail"].as_str())
        .collect();
    for word in ["nonce", "audience", "issuer", "Expired", "Signature"] {
        assert!(said.iter().any(|d| d.contains(word)), "{word}: {said:?}");
    }
    // Nothing was bound: fiona's first good sign-in binds her now.
    let mut b = Browser::new();
    assert_eq!(
        f.sign_in(&mut b, "sub-fiona").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(f.events("oidc.identity_bound").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_come_in_unknown_password_and_other_organisations_users() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    // Unknown here, with just-in-time creation off.
    f.idp.add_account("sub-gil", claims("gil")).await;
    let mut b = Browser::new();
    f.refused(
        &mut b,
        "sub-gil",
        403,
        "federated_user_refused",
        "unknown_user",
    )
    .await;
    // A federated user of another organisation.
    let (other, _) = f.srv.user(Role::Owner).await;
    federated_user(&f.srv, &other, "bob").await;
    f.idp.add_account("sub-bob", claims("bob")).await;
    f.refused(
        &mut b,
        "sub-bob",
        403,
        "federated_user_refused",
        "unknown_user",
    )
    .await;
    // A password user of this organisation is not taken over by a provider account
    // that claims the name.
    f.idp.add_account("sub-fake-alice", claims("alice")).await;
    f.refused(
        &mut b,
        "sub-fake-alice",
        403,
        "federated_user_refused",
        "password_user",
    )
    .await;
    let users = f.owner.org_users(&f.org).await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, vec!["alice", "fiona"], "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn just_in_time_users_are_created_only_where_allowed_and_in_allowed_domains() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let jit = PutOidcProvider {
        client_secret: None,
        create_users: Some(true),
        allowed_email_domains: Some(vec!["example.com".into()]),
        ..provider(&f.idp)
    };
    f.owner
        .put_oidc_provider(&f.org, "okta", &jit)
        .await
        .unwrap();
    f.idp.add_account("sub-hal", claims("hal")).await;
    let mut b = Browser::new();
    assert_eq!(
        f.sign_in(&mut b, "sub-hal").await.status,
        StatusCode::SEE_OTHER
    );
    let mut b = Browser::new();
    let users = f.owner.org_users(&f.org).await.unwrap();
    let hal = users
        .iter()
        .find(|u| u.username == "hal")
        .expect("hal was created");
    assert!(hal.federated);
    assert_eq!(hal.role, twofold_proto::Role::Member);
    assert_eq!(f.events("oidc.user_created").await.len(), 1);
    // Another domain, or an address the provider did not verify.
    f.idp
        .add_account(
            "sub-ivy",
            json!({"preferred_username": "ivy", "email": "ivy@elsewhere.org", "email_verified": true}),
        )
        .await;
    f.refused(
        &mut b,
        "sub-ivy",
        403,
        "federated_user_refused",
        "email_domain",
    )
    .await;
    f.idp
        .add_account(
            "sub-jo",
            json!({"preferred_username": "jo", "email": "jo@example.com", "email_verified": false}),
        )
        .await;
    f.refused(
        &mut b,
        "sub-jo",
        403,
        "federated_user_refused",
        "email_domain",
    )
    .await;
    let users = f.owner.org_users(&f.org).await.unwrap();
    assert!(
        !users
            .iter()
            .any(|u| u.username == "ivy" || u.username == "jo")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_password_sign_in_in_an_organisation_with_a_provider_names_it() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    for name in ["fiona", "nobody"] {
        let p = problem(
            f.srv
                .client
                .login(&f.org, name, PASSWORD)
                .await
                .unwrap_err(),
        );
        assert_eq!(p.code, ErrorCode::UseIdentityProvider, "{name}");
        assert_eq!(p.status, 401);
        assert_eq!(p.providers, Some(vec!["okta".to_owned()]));
    }
    // Their MFA is the provider's: there is nothing to reset here.
    let fiona = f.owner.org_users(&f.org).await.unwrap();
    let fiona = fiona.iter().find(|u| u.username == "fiona").unwrap();
    let p = problem(f.owner.reset_user_mfa(&f.org, &fiona.id).await.unwrap_err());
    assert_eq!(p.code, ErrorCode::Conflict, "{}", p.detail);
    assert!(p.detail.contains("identity provider"), "{}", p.detail);
    // A password user's wrong password is answered alike: the answer tells no name from
    // another.
    let p = problem(
        f.srv
            .client
            .login(&f.org, "alice", "wrong")
            .await
            .unwrap_err(),
    );
    assert_eq!(p.code, ErrorCode::UseIdentityProvider);
    assert!(
        p.detail.contains("wrong username or password"),
        "{}",
        p.detail
    );
    // Without a provider, a federated user cannot sign in here at all, and is told so as
    // any wrong password is.
    let (bare, _) = f.srv.user(Role::Owner).await;
    federated_user(&f.srv, &bare, "kim").await;
    let p = problem(
        f.srv
            .client
            .login(&bare, "kim", PASSWORD)
            .await
            .unwrap_err(),
    );
    assert_eq!(p.code, ErrorCode::InvalidCredentials);
    // The sign-in page offers the provider for the organisation.
    let mut b = Browser::new();
    let page = b.get(&format!("{}/login?org={}", f.srv.url, f.org)).await;
    assert!(
        page.body
            .contains(&format!("href=\"/auth/oidc/{}/okta/start\"", f.org)),
        "{}",
        page.body
    );
    assert!(page.body.contains("Sign in with okta"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_configured_by_owners_with_a_fresh_second_factor_and_never_show_the_secret() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let listed = f.owner.oidc_providers(&f.org).await.unwrap();
    assert_eq!(listed.len(), 1);
    let p = &listed[0];
    assert_eq!(p.name, "okta");
    assert_eq!(p.scopes, vec!["profile", "email"]);
    assert_eq!(p.username_claim, "preferred_username");
    assert!(!p.create_users && !p.link_by_email);
    assert_eq!(p.redirect_uri, format!("{}/auth/oidc/callback", f.srv.url));
    let raw = serde_json::to_string(&listed).unwrap();
    assert!(!raw.contains(SECRET), "{raw}");
    // Stored sealed: the database file does not hold it either.
    let rows = f
        .srv
        .twofold
        .store()
        .oidc_providers_of_org(&org_id(&f).await)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&rows[0].client_secret_sealed).contains(SECRET));

    // An admin may look, not change; a member may not look.
    let admin = f.srv.admin_in(&f.org, "adam").await;
    admin.oidc_providers(&f.org).await.unwrap();
    let e = problem(
        admin
            .put_oidc_provider(&f.org, "okta", &provider(&f.idp))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, ErrorCode::Forbidden);
    f.srv.user_in(&f.org, "mo", Role::Member).await;
    let member = f.srv.session(&f.org, "mo").await;
    let e = problem(member.oidc_providers(&f.org).await.unwrap_err());
    assert_eq!(e.code, ErrorCode::Forbidden);
    // The owner, 11 minutes later: a fresh second factor first.
    f.srv.advance(11 * 60);
    let e = problem(
        f.owner
            .put_oidc_provider(&f.org, "okta", &provider(&f.idp))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, ErrorCode::StepUpRequired);
    let e = problem(
        f.owner
            .delete_oidc_provider(&f.org, "okta")
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, ErrorCode::StepUpRequired);
    assert_eq!(f.owner.oidc_providers(&f.org).await.unwrap().len(), 1);
}

async fn org_id(f: &Fed) -> String {
    f.srv
        .twofold
        .store()
        .org_by_slug(&f.org)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_provider_settings_are_refused_and_change_nothing() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let bad = [
        (
            "okta",
            PutOidcProvider {
                issuer: "http://login.example.com".into(),
                ..provider(&f.idp)
            },
        ),
        (
            "okta",
            PutOidcProvider {
                issuer: "not a url".into(),
                ..provider(&f.idp)
            },
        ),
        (
            "okta",
            PutOidcProvider {
                scopes: Some(vec!["a b".into()]),
                ..provider(&f.idp)
            },
        ),
        (
            "okta",
            PutOidcProvider {
                allowed_email_domains: Some(vec!["nodot".into()]),
                ..provider(&f.idp)
            },
        ),
        ("Bad Name", provider(&f.idp)),
        (
            "entra",
            PutOidcProvider {
                client_secret: None,
                ..provider(&f.idp)
            },
        ),
    ];
    for (name, p) in bad {
        let e = problem(
            f.owner
                .put_oidc_provider(&f.org, name, &p)
                .await
                .unwrap_err(),
        );
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{name}: {}", e.detail);
    }
    let listed = f.owner.oidc_providers(&f.org).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].issuer, f.idp.issuer);
    // Replaced without a secret: the stored one is kept, and sign-ins still work.
    let renamed = PutOidcProvider {
        client_secret: None,
        scopes: Some(vec!["email".into(), "openid".into(), "profile".into()]),
        ..provider(&f.idp)
    };
    f.owner
        .put_oidc_provider(&f.org, "okta", &renamed)
        .await
        .unwrap();
    let mut b = Browser::new();
    assert_eq!(
        f.sign_in(&mut b, "sub-fiona").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(f.events("oidc.provider_saved").await.len(), 2);
    // Removed: its sign-in page is gone, and fiona's password attempt no longer names it.
    f.owner.delete_oidc_provider(&f.org, "okta").await.unwrap();
    assert_eq!(b.get(&f.start_url()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.events("oidc.provider_removed").await.len(), 1);
    let p = problem(
        f.srv
            .client
            .login(&f.org, "fiona", PASSWORD)
            .await
            .unwrap_err(),
    );
    assert_eq!(p.code, ErrorCode::InvalidCredentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_signs_in_through_a_loopback_redirect_and_steps_up_at_the_provider() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let app = "http://127.0.0.1:53682/callback";
    let (verifier, challenge) = pkce();
    let start = format!(
        "{}?redirect_uri={}&state=app-state-1&code_challenge={challenge}",
        f.start_url(),
        percent(app)
    );
    let mut b = Browser::new();
    let authorize = b.get(&start).await.location.unwrap();
    let callback = f.idp.sign_in(&authorize, "sub-fiona").await;
    let back = b.get(&callback).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    let to_app = back.location.unwrap();
    assert!(to_app.starts_with(app), "{to_app}");
    assert_eq!(param(&to_app, "state").as_deref(), Some("app-state-1"));
    assert!(
        b.session().is_none(),
        "the browser is not signed in: the application is"
    );
    let code = param(&to_app, "code").unwrap();
    // The wrong verifier spends the code.
    let e = refused_exchange(&f, &code, &pkce().0).await;
    assert_eq!(e.code, ErrorCode::FederationFailed);
    let e = refused_exchange(&f, &code, &verifier).await;
    assert_eq!(e.code, ErrorCode::FlowExpired);

    // Again, exchanged right this time.
    let (verifier, challenge) = pkce();
    let start = format!(
        "{}?redirect_uri={}&state=s2&code_challenge={challenge}",
        f.start_url(),
        percent(app)
    );
    let mut b = Browser::new();
    let authorize = b.get(&start).await.location.unwrap();
    let mut idp_browser = f.idp.browser();
    let at_idp = idp_browser.sign_in(&authorize, "sub-fiona").await;
    let to_app = b.get(&at_idp).await.location.unwrap();
    let code = param(&to_app, "code").unwrap();
    let OidcTokenResponse::Authenticated {
        session_token,
        amr,
        aal,
        ..
    } = f
        .srv
        .client
        .exchange_oidc_code(&code, &verifier)
        .await
        .unwrap()
    else {
        panic!("expected a session");
    };
    assert_eq!(
        (amr, aal),
        (vec!["fed".to_owned(), "pwd".into(), "otp".into()], 2)
    );
    let fiona = f.srv.client.with_token(session_token);
    assert_eq!(fiona.me().await.unwrap().username, "fiona");
    // Used once only.
    let e = refused_exchange(&f, &code, &verifier).await;
    assert_eq!(e.code, ErrorCode::FlowExpired);

    // A step-up: the provider is asked to authenticate again, and an elevated token comes
    // back for this session.
    let (verifier, challenge) = pkce();
    let req = OidcStepUpRequest {
        redirect_uri: app.into(),
        state: "s3".into(),
        code_challenge: challenge,
    };
    let started = fiona.start_oidc_step_up(&req).await.unwrap();
    assert_eq!(
        param(&started.authorize_url, "prompt").as_deref(),
        Some("login")
    );
    assert_eq!(
        param(&started.authorize_url, "max_age").as_deref(),
        Some("0")
    );
    // The same browser, signed in at the provider: asked to sign in again all the same.
    let to_app = idp_browser
        .sign_in(&started.authorize_url, "sub-fiona")
        .await;
    assert!(
        idp_browser.showed_login_form(),
        "prompt=login and max_age=0"
    );
    let to_app = Browser::new().get(&to_app).await.location.unwrap();
    assert!(to_app.starts_with(app), "{to_app}");
    let code = param(&to_app, "code").unwrap();
    let OidcTokenResponse::Elevated {
        elevated_token,
        scopes,
        ..
    } = f
        .srv
        .client
        .exchange_oidc_code(&code, &verifier)
        .await
        .unwrap()
    else {
        panic!("expected an elevated token");
    };
    assert_eq!(scopes, vec!["mfa:manage"]);
    let steps = f.events("mfa.step_up").await;
    assert!(
        steps.iter().any(|e| e["details"]["provider"] == "okta"),
        "{steps:?}"
    );
    drop(elevated_token);

    // Not a loopback address: refused before anything starts.
    let start = format!(
        "{}?redirect_uri={}&state=x&code_challenge={}",
        f.start_url(),
        percent("https://evil.example.com/cb"),
        pkce().1
    );
    let seen = Browser::new().get(&start).await;
    assert_eq!(seen.status, StatusCode::BAD_REQUEST);
    assert!(seen.shows_code("invalid_request"), "{}", seen.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_owner_steps_up_at_the_provider_for_a_guarded_change() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    federated_user_as(&f.srv, &f.org, "olga", Role::Owner).await;
    // Her provider sign-ins are a password only: her session is aal 1.
    f.idp
        .add_account_signing_in_with("sub-olga", claims("olga"), &["pwd"])
        .await;
    let mut b = Browser::new();
    f.sign_in(&mut b, "sub-olga").await;
    let olga = f.srv.client.with_token(b.session().unwrap().clone());
    let me = olga.me().await.unwrap();
    assert_eq!(
        (me.session.aal, me.session.amr),
        (1, vec!["fed".to_owned(), "pwd".into()])
    );
    // A guarded change needs a step-up, which she passes at the provider.
    let e = problem(olga.delete_oidc_provider(&f.org, "okta").await.unwrap_err());
    assert_eq!(e.code, ErrorCode::StepUpRequired);
    // Someone else signing in at the provider does not step up olga's session.
    let (_, to_app) = step_up_at_provider(&f, &olga, "sub-fiona").await;
    assert_eq!(
        param(&to_app, "error").as_deref(),
        Some("access_denied"),
        "{to_app}"
    );
    assert!(param(&to_app, "code").is_none());
    assert!(
        param(&to_app, "error_description")
            .unwrap()
            .contains("someone else")
    );
    let failed = f.events("mfa.step_up_failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["details"]["reason"] == "other_identity"),
        "{failed:?}"
    );
    // Olga herself, with a password alone at the provider: not a second factor.
    let (_, to_app) = step_up_at_provider(&f, &olga, "sub-olga").await;
    assert_eq!(
        param(&to_app, "error").as_deref(),
        Some("access_denied"),
        "{to_app}"
    );
    assert!(
        param(&to_app, "error_description")
            .unwrap()
            .contains("did not report a second factor"),
        "{to_app}"
    );
    // Once her provider asks for a second factor too, she steps up.
    f.idp
        .add_account_signing_in_with("sub-olga", claims("olga"), &["pwd", "otp"])
        .await;
    let (verifier, to_app) = step_up_at_provider(&f, &olga, "sub-olga").await;
    let code = param(&to_app, "code").unwrap();
    let OidcTokenResponse::Elevated { elevated_token, .. } = f
        .srv
        .client
        .exchange_oidc_code(&code, &verifier)
        .await
        .unwrap()
    else {
        panic!("expected an elevated token");
    };
    olga.with_elevated(elevated_token)
        .delete_oidc_provider(&f.org, "okta")
        .await
        .unwrap();
}

/// A step-up started over the API by `who` for an application on `[::1]`, with `sub`
/// signing in at the provider: the PKCE verifier and where the browser was sent back.
async fn step_up_at_provider(f: &Fed, who: &Client, sub: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let started = who
        .start_oidc_step_up(&OidcStepUpRequest {
            redirect_uri: "http://[::1]:41000/cb".into(),
            state: "s".into(),
            code_challenge: challenge,
        })
        .await
        .unwrap();
    let at_idp = f.idp.sign_in(&started.authorize_url, sub).await;
    let to_app = Browser::new().get(&at_idp).await.location.unwrap();
    assert!(to_app.starts_with("http://[::1]:41000/cb?"), "{to_app}");
    (verifier, to_app)
}

/// The problem exchanging `code` with `verifier` is refused with.
async fn refused_exchange(f: &Fed, code: &str, verifier: &str) -> twofold_proto::Problem {
    let e = f.srv.client.exchange_oidc_code(code, verifier).await;
    problem(e.unwrap_err())
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_bound_at_one_provider_is_not_taken_over_by_a_name_claimed_at_another() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let mut b = Browser::new();
    assert_eq!(
        f.sign_in(&mut b, "sub-fiona").await.status,
        StatusCode::SEE_OTHER
    );
    // A second provider of the organisation, where anyone may call themselves fiona.
    let other = idp::start().await;
    other
        .add_client(
            "twofold",
            SECRET,
            &format!("{}/auth/oidc/callback", f.srv.url),
        )
        .await;
    f.owner
        .put_oidc_provider(&f.org, "other", &provider(&other))
        .await
        .unwrap();
    other.add_account("sub-impostor", claims("fiona")).await;
    let start = format!("{}/auth/oidc/{}/other/start", f.srv.url, f.org);
    let mut b = Browser::new();
    let authorize = b.get(&start).await.location.unwrap();
    let callback = other.sign_in(&authorize, "sub-impostor").await;
    let seen = b.get(&callback).await;
    assert_eq!(seen.status, StatusCode::FORBIDDEN, "{}", seen.body);
    assert!(seen.shows_code("federated_user_refused"), "{}", seen.body);
    assert!(b.session().is_none());
    let failed = f.events("signin.failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["details"]["provider"] == "other"
                && e["details"]["reason"] == "already_bound"),
        "{failed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_password_user_needs_a_second_factor_at_the_provider_and_steps_up_here() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    // alice (a password user with an app) linked to her account at the provider, which
    // asks her for a password only.
    let store = f.srv.twofold.store();
    let alice = store.user_by_login(&f.org, "alice").await.unwrap().unwrap();
    store
        .insert_federated_identity(&twofold_server::store::FederatedIdentityRow {
            org_id: alice.org_id.clone(),
            issuer: f.idp.issuer.clone(),
            subject: "sub-alice".into(),
            user_id: alice.id.clone(),
            provider: "okta".into(),
            created_at: 0,
            last_used_at: None,
        })
        .await
        .unwrap();
    f.idp
        .add_account_signing_in_with("sub-alice", claims("alice"), &["pwd"])
        .await;
    // Her app here is her second factor: a password at the provider does not stand in.
    let mut b = Browser::new();
    f.refused(
        &mut b,
        "sub-alice",
        403,
        "federated_user_refused",
        "no_second_factor",
    )
    .await;
    // With one there, she comes in.
    f.idp
        .add_account_signing_in_with("sub-alice", claims("alice"), &["pwd", "otp"])
        .await;
    let mut b = Browser::new();
    assert_eq!(
        f.sign_in(&mut b, "sub-alice").await.status,
        StatusCode::SEE_OTHER
    );
    // Her step-ups are her own factor's, never the provider's.
    let e = problem(
        f.owner
            .start_oidc_step_up(&OidcStepUpRequest {
                redirect_uri: "http://127.0.0.1:41000/cb".into(),
                state: String::new(),
                code_challenge: pkce().1,
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, ErrorCode::MethodNotAvailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_changed_during_a_sign_in_and_a_moved_secret_are_refused() {
    let f = setup(TestServer::start(crate::harness::Engine::Sqlite).await).await;
    let mut b = Browser::new();
    let callback = f.at_provider(&mut b, "sub-fiona").await;
    // The owner changes the provider while the person is at it.
    f.srv.advance(1);
    let changed = PutOidcProvider {
        client_secret: None,
        create_users: Some(true),
        ..provider(&f.idp)
    };
    f.owner
        .put_oidc_provider(&f.org, "okta", &changed)
        .await
        .unwrap();
    let seen = b.get(&callback).await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{}", seen.body);
    assert!(seen.shows_code("federation_failed"), "{}", seen.body);
    let failed = f.events("signin.failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["details"]["reason"] == "provider_changed"),
        "{failed:?}"
    );
    // The stored secret never follows the provider to another issuer or client id.
    for moved in [
        PutOidcProvider {
            client_secret: None,
            issuer: format!("{}/", f.idp.issuer),
            ..provider(&f.idp)
        },
        PutOidcProvider {
            client_secret: None,
            client_id: "another-client".into(),
            ..provider(&f.idp)
        },
    ] {
        let e = problem(
            f.owner
                .put_oidc_provider(&f.org, "okta", &moved)
                .await
                .unwrap_err(),
        );
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{}", e.detail);
        assert!(e.detail.contains("needs its client secret"), "{}", e.detail);
    }
    // Only loopback IP addresses take an application's redirect (not `localhost`).
    let start = format!(
        "{}?redirect_uri={}&state=x&code_challenge={}",
        f.start_url(),
        percent("http://localhost:53682/cb"),
        pkce().1
    );
    assert_eq!(
        Browser::new().get(&start).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// Wrong passwords in an organisation with a provider are answered `use_identity_provider`:
/// they count against the address all the same.
fn few_failures(c: &mut twofold_server::Config) {
    c.http.ip_failure_burst = 3;
    c.http.ip_failures_per_minute = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_password_sign_ins_answered_use_identity_provider_still_count_against_the_address() {
    let f = setup(TestServer::start_with(crate::harness::Engine::Sqlite, few_failures).await).await;
    let mut codes = Vec::new();
    for name in ["nobody", "fiona", "alice", "someone"] {
        let p = problem(f.srv.client.login(&f.org, name, "wrong").await.unwrap_err());
        codes.push(p.code);
    }
    assert_eq!(
        codes,
        vec![
            ErrorCode::UseIdentityProvider,
            ErrorCode::UseIdentityProvider,
            ErrorCode::UseIdentityProvider,
            ErrorCode::RateLimited
        ]
    );
}
