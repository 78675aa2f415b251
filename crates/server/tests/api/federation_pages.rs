//! Federated sign-in in headless Chromium, as a person does it: "Sign in with okta" on the
//! sign-in page, the provider's own sign-in form, and back signed in; linking a password
//! account from the Security page; the console's Identity providers page; a federated
//! owner confirming it is them at the provider before a guarded change.

use serde_json::json;
use twofold_proto::PutOidcProvider;
use twofold_server::domain::users::Role;

use crate::browser::Browser;
use crate::federation::{Fed, claims, federated_user_as, provider, setup};
use crate::harness::{Engine, PASSWORD, TestServer};
use crate::pages::password_step;

async fn fed() -> Fed {
    setup(TestServer::start(Engine::Sqlite).await).await
}

/// Signs `sub` in on the provider's own page, where the browser is now.
async fn at_provider(b: &Browser, sub: &str) {
    b.fill("#sub", sub).await;
    b.submit("button[type=submit]").await;
}

#[tokio::test]
async fn a_federated_person_signs_in_with_the_provider_button_and_sees_no_code_step() {
    let f = fed().await;
    let b = Browser::open(1024).await;
    b.goto(&format!("{}/login?org={}", f.srv.url, f.org)).await;
    assert_eq!(
        b.attribute("#org", "value").await.as_deref(),
        Some(f.org.as_str())
    );
    assert_eq!(b.text(".providers a").await, "Sign in with okta");
    b.look("login-with-provider").await;
    b.submit(".providers a").await;
    assert!(b.url().await.starts_with(&f.idp.issuer), "at the provider");
    at_provider(&b, "sub-fiona").await;
    assert_eq!(b.url().await, format!("{}/account/security", f.srv.url));
    let said = b.text("#federated").await;
    assert!(said.contains("identity provider (okta)"), "{said}");
    assert!(
        !b.has("form[action='/account/factors/app']").await,
        "nothing to set up"
    );
    b.look("security-federated").await;
}

#[tokio::test]
async fn a_password_user_links_the_provider_with_their_password_and_code_then_signs_in_with_it() {
    let f = fed().await;
    let linking = PutOidcProvider {
        client_secret: None,
        link_by_email: Some(true),
        ..provider(&f.idp)
    };
    f.owner
        .put_oidc_provider(&f.org, "okta", &linking)
        .await
        .unwrap();
    f.idp.add_account("sub-alice", claims("alice")).await;
    f.idp
        .add_account(
            "sub-mallory",
            json!({"preferred_username": "mallory", "email": "mallory@example.com", "email_verified": true}),
        )
        .await;
    // Alice signs in with her password and app (two steps on from the codes used).
    f.srv.advance(60);
    let b = Browser::open(1024).await;
    password_step(&b, &f.srv, &f.org, "alice", PASSWORD).await;
    b.fill("#code", &f.owner_app.generate_at(f.srv.now_secs()))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", f.srv.url));
    b.look("security-link-offered").await;
    // Someone else's account at the provider does not link to hers.
    b.submit("form[action='/account/link/okta'] button").await;
    at_provider(&b, "sub-mallory").await;
    assert!(b.text(".error").await.contains("same verified email"));
    assert!(b.has("[data-code='federated_user_refused']").await);
    // Her own does.
    b.goto(&format!("{}/account/security", f.srv.url)).await;
    b.submit("form[action='/account/link/okta'] button").await;
    assert!(b.url().await.starts_with(&f.idp.issuer));
    at_provider(&b, "sub-alice").await;
    assert_eq!(b.url().await, format!("{}/account/security", f.srv.url));
    assert!(b.text("#linked").await.contains("okta"));
    assert!(!b.has("form[action='/account/link/okta']").await);
    // Signed out, she comes back through the provider, with no code asked.
    b.submit("header nav button[type=submit]").await;
    b.goto(&format!("{}/login?org={}", f.srv.url, f.org)).await;
    b.submit(".providers a").await;
    // The provider remembers her: no form this time.
    assert_eq!(b.url().await, format!("{}/account/security", f.srv.url));
    assert!(b.text("main").await.contains("Authenticator app"));
    let linked = f.events("oidc.identity_bound").await;
    assert!(
        linked.iter().any(|e| e["details"]["purpose"] == "link"),
        "{linked:?}"
    );
}

#[tokio::test]
async fn an_owner_adds_and_removes_a_provider_on_the_console() {
    let f = fed().await;
    // The owner's browser session, with her app passed just now.
    f.srv.advance(60);
    let b = Browser::open(1280).await;
    password_step(&b, &f.srv, &f.org, "alice", PASSWORD).await;
    b.fill("#code", &f.owner_app.generate_at(f.srv.now_secs()))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    b.goto(&format!("{}/orgs/{}/identity-providers", f.srv.url, f.org))
        .await;
    assert_eq!(b.text("h1").await, "Identity providers");
    assert_eq!(
        b.text("#redirect-uri").await,
        format!("{}/auth/oidc/callback", f.srv.url)
    );
    b.fill("#p-name", "entra").await;
    b.fill(
        "#p-issuer",
        "https://login.microsoftonline.example/tenant/v2.0",
    )
    .await;
    b.fill("#p-client-id", "twofold-app").await;
    b.fill("#p-secret", "entra-secret-value").await;
    b.fill("#p-domains", "example.com").await;
    b.click("input[name=create_users]").await;
    b.submit("form.provider button[type=submit]").await;
    assert_eq!(b.all("#providers tbody tr").await.len(), 2);
    let row = b.text("#providers tbody tr:first-child").await;
    assert!(
        row.contains("entra") && row.contains("Created at first sign-in"),
        "{row}"
    );
    assert!(!b.text("main").await.contains("entra-secret-value"));
    b.look("console-identity-providers").await;
    // A bad issuer is refused beside the form, what was typed kept.
    b.fill("#p-name", "bad").await;
    b.fill("#p-issuer", "http://login.example.com").await;
    b.fill("#p-client-id", "x").await;
    b.fill("#p-secret", "y").await;
    b.submit("form.provider button[type=submit]").await;
    assert!(b.text("#provider-error").await.contains("https"));
    assert_eq!(
        b.attribute("#p-name", "value").await.as_deref(),
        Some("bad")
    );
    b.submit("form[action$='/identity-providers/entra/remove'] button")
        .await;
    assert_eq!(b.all("#providers tbody tr").await.len(), 1);
}

#[tokio::test]
async fn a_federated_owner_confirms_at_the_provider_before_a_guarded_change() {
    let f = fed().await;
    federated_user_as(&f.srv, &f.org, "olga", Role::Owner).await;
    // Her provider reports a password only: her session has no fresh second factor.
    f.idp
        .add_account_signing_in_with("sub-olga", claims("olga"), &["pwd"])
        .await;
    let b = Browser::open(1280).await;
    b.goto(&format!("{}/login?org={}", f.srv.url, f.org)).await;
    b.submit(".providers a").await;
    at_provider(&b, "sub-olga").await;
    let console = format!("{}/orgs/{}/identity-providers", f.srv.url, f.org);
    b.goto(&console).await;
    b.submit("form[action$='/identity-providers/okta/remove'] button")
        .await;
    // Asked to confirm at the provider, not for a code.
    assert!(b.text("#fresh-hint").await.contains("okta"));
    assert!(!b.has("#step-up-code").await);
    b.look("console-confirm-at-provider").await;
    // Her provider asks for a second factor when she signs in again: that confirms it.
    f.idp
        .add_account_signing_in_with("sub-olga", claims("olga"), &["pwd", "otp"])
        .await;
    b.submit("#step-up-provider").await;
    assert!(b.url().await.starts_with(&f.idp.issuer));
    assert!(b.has("#sub").await, "asked to sign in again (prompt=login)");
    at_provider(&b, "sub-olga").await;
    assert_eq!(b.url().await, console);
    b.submit("form[action$='/identity-providers/okta/remove'] button")
        .await;
    assert!(b.has("#no-providers").await);
    let steps = f.events("mfa.step_up").await;
    assert!(
        steps.iter().any(|e| e["details"]["provider"] == "okta"),
        "{steps:?}"
    );
}
