//! Passkeys on the web pages, in headless Chromium with a virtual authenticator (the W3C
//! WebAuthn WebDriver extension stands in for the device): adding one on the security page
//! (after confirming it is them, or with the code mailed before a first factor), signing
//! in with it, confirming a guarded change with it, renaming and deleting it. What the
//! pages show is checked against what the API says.
//!
//! The server is reached as `http://localhost:<port>`, its public URL and so the relying
//! party: a browser takes no IP address as one.

use twofold_client::Client;
use twofold_proto::{Factor, FactorType};
use twofold_server::domain::users::Role;

use crate::browser::Browser;
use crate::harness::{Engine, PASSWORD, TestServer};
use crate::pages::password_step;

async fn localhost() -> TestServer {
    TestServer::start_on_localhost(Engine::Sqlite).await
}

/// The user's passkeys, as `GET /api/v1/me/factors` lists them.
async fn passkeys(session: &Client) -> Vec<Factor> {
    session
        .factors()
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.factor_type == FactorType::Webauthn)
        .collect()
}

#[tokio::test]
async fn a_person_adds_a_passkey_signs_in_with_it_confirms_a_change_with_it_renames_and_deletes_it()
{
    let srv = localhost().await;
    assert!(srv.url.starts_with("http://localhost:"), "{}", srv.url);
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    let device = b.add_virtual_authenticator("internal").await;
    // Signed in with the app; ten minutes later that is no longer a fresh second factor.
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    b.fill("#code", &u.code(&srv, 0)).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    srv.advance(11 * 60);

    // Add a passkey: first confirm it is them (the app's code, or a passkey: none yet).
    b.fill("#passkey-name", "Laptop").await;
    b.click("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    b.wait_for("#step-up-code").await;
    assert_eq!(b.text("h1").await, "Add a passkey");
    assert!(
        !b.has("#step-up-passkey").await,
        "no passkey to confirm with yet"
    );
    b.look("passkey-add-confirm").await;
    b.fill("#step-up-code", &u.code(&srv, 0)).await;
    b.submit("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    assert_eq!(
        b.url().await,
        format!("{}/account/security?added=passkey", srv.url)
    );
    assert!(b.text("#added").await.contains("Passkey added"));
    let row = b.text("tbody tr:nth-child(2)").await;
    assert!(
        row.contains("Laptop") && row.contains("Passkey") && row.contains("built into a device"),
        "{row}"
    );
    let listed = passkeys(&u.session).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let key = &listed[0];
    assert_eq!(key.name, "Laptop");
    let details = key.passkey.as_ref().unwrap();
    assert_eq!(details.authenticator, "platform");
    assert!(!details.possibly_cloned);
    assert_eq!(b.virtual_credentials(&device).await.len(), 1);
    b.look("passkeys").await;

    // Preferred: asked first at the next sign-in.
    b.submit(&format!(
        "form[action='/account/factors/{}/preferred'] button",
        key.id
    ))
    .await;
    assert!(passkeys(&u.session).await[0].preferred);

    // Signed out, they sign in with the password and the passkey.
    b.submit("header nav button[type=submit]").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/login/code", srv.url));
    assert!(b.has("#passkey-form").await, "the passkey first");
    assert!(!b.has("#code").await);
    assert!(
        b.text(".others")
            .await
            .contains("Use your authenticator app"),
        "another way offered"
    );
    b.look("passkey-sign-in").await;
    b.submit("#use-passkey").await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(passkeys(&u.session).await[0].last_used_at.is_some());

    // Ten minutes on, new recovery codes need a fresh second factor: the passkey serves.
    srv.advance(11 * 60);
    b.goto(&format!("{}/account/recovery-codes", srv.url)).await;
    b.submit("form[action='/account/recovery-codes'] button[type=submit]")
        .await;
    assert!(b.has("#step-up-code").await, "the app's code may serve too");
    assert!(
        b.script("return !document.querySelector('#step-up-passkey').hidden")
            .await
            == true,
        "the script shows Use a passkey"
    );
    b.look("passkey-confirm").await;
    b.submit("#step-up-passkey").await;
    assert_eq!(b.text("h1").await, "Your recovery codes");
    assert_eq!(b.all("#codes li").await.len(), 10);

    // Renamed.
    b.goto(&format!("{}/account/security", srv.url)).await;
    b.submit(&format!("a[href='/account/factors/{}/rename']", key.id))
        .await;
    assert_eq!(b.text("h1").await, "Rename");
    b.look("passkey-rename").await;
    b.fill("#name", "Work laptop").await;
    b.submit("main button[type=submit]").await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(b.text("tbody").await.contains("Work laptop"));
    assert_eq!(passkeys(&u.session).await[0].name, "Work laptop");

    // Deleted, ten minutes on: confirmed with the passkey itself.
    srv.advance(11 * 60);
    b.submit(&format!("a[href='/account/factors/{}/delete']", key.id))
        .await;
    assert_eq!(b.text("h1").await, "Delete a second factor");
    assert!(b.text("main").await.contains("Work laptop"));
    b.submit("main form button[type=submit]").await;
    assert!(
        b.has("#step-up-passkey").await,
        "asked to confirm it is them"
    );
    assert_eq!(passkeys(&u.session).await.len(), 1, "not deleted yet");
    b.look("passkey-delete-confirm").await;
    b.submit("#step-up-passkey").await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(!b.text("tbody").await.contains("Work laptop"));
    assert!(passkeys(&u.session).await.is_empty());
    let removed = srv.mails_to("alice@example.com", "removed").await;
    assert!(!removed.is_empty(), "the user is mailed");
    // The device still holds it, for nothing now.
    assert_eq!(b.virtual_credentials(&device).await.len(), 1);
    b.remove_virtual_authenticator(&device).await;
    b.close().await;
}

#[tokio::test]
async fn a_person_without_a_factor_adds_a_passkey_with_the_mailed_code_and_it_alone_then_signs_in()
{
    let srv = localhost().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    b.add_virtual_authenticator("usb").await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    b.click("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    // A code mailed to their address first, as before a first app.
    b.wait_for("#confirmation").await;
    let code = srv
        .mailed_code("alice@example.com", "Your code to add a passkey")
        .await;
    b.fill("#confirmation", "000000").await;
    b.click("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    b.wait_for("#confirm-error").await;
    b.fill("#confirmation", &code).await;
    b.submit("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    assert_eq!(
        b.url().await,
        format!("{}/account/security?added=passkey", srv.url)
    );
    assert!(b.text("tbody").await.contains("security key"));
    // Their only factor: the sign-in asks for the passkey, and nothing to type.
    b.submit("header nav button[type=submit]").await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    assert!(b.has("#passkey-form").await);
    // An answer no request is waiting for is refused beside the button, like a wrong code.
    b.script(
        "const f = document.getElementById('passkey-form'); \
         const i = document.createElement('input'); i.type = 'hidden'; i.name = 'credential'; \
         i.value = JSON.stringify({id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: \
           {clientDataJSON: 'AAAA', authenticatorData: 'AAAA', signature: 'AAAA', userHandle: null}}); \
         f.append(i); window.__twofold_before_submit = true; f.submit(); return null",
    )
    .await;
    b.wait_for("#code-error").await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("challenge_expired")
    );
    b.look("passkey-sign-in-refused").await;
    b.submit("#use-passkey").await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    // Ten minutes on, a guarded change asks for the passkey alone: no code to type.
    srv.advance(11 * 60);
    b.goto(&format!("{}/account/recovery-codes", srv.url)).await;
    b.submit("form[action='/account/recovery-codes'] button[type=submit]")
        .await;
    assert!(!b.has("#step-up-code").await, "nothing to type");
    assert!(b.text("#fresh-hint").await.contains("passkey"));
    b.look("passkey-confirm-only").await;
    b.submit("#step-up-passkey").await;
    assert_eq!(b.all("#codes li").await.len(), 10);
    b.close().await;
}

/// Replaces form `css` with a copy of itself that the page's script does not handle, as
/// a browser without JavaScript would post it.
async fn without_script(b: &Browser, css: &str) {
    b.script(&format!(
        "const f = document.querySelector(\"{css}\"); f.replaceWith(f.cloneNode(true)); \
         return null"
    ))
    .await;
}

#[tokio::test]
async fn without_javascript_the_passkey_buttons_lead_to_pages_that_say_so() {
    let srv = localhost().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    b.add_virtual_authenticator("usb").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    b.fill("#code", &u.code(&srv, 0)).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    // Add a passkey, posted as a plain form: the page says what is missing, nothing added.
    without_script(&b, "form[data-passkey=register]").await;
    b.submit("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    assert_eq!(
        b.url().await,
        format!("{}/account/factors/passkey", srv.url)
    );
    assert!(b.text("#passkey-error").await.contains("needs JavaScript"));
    assert!(passkeys(&u.session).await.is_empty());
    b.look("passkey-no-script").await;
    // With the script, it is added.
    b.goto(&format!("{}/account/security", srv.url)).await;
    b.submit("form[action='/account/factors/passkey'] button[type=submit]")
        .await;
    assert_eq!(passkeys(&u.session).await.len(), 1);
    // At the next sign-in, Use a passkey without the script: said beside it like a wrong
    // code, and the app still works.
    b.submit("header nav button[type=submit]").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert!(b.has("#code").await, "the app stays preferred");
    without_script(&b, ".others form[data-passkey=sign-in]").await;
    b.submit("#use-passkey").await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_request")
    );
    assert!(b.text("#code-error").await.contains("needs JavaScript"));
    srv.advance(30);
    b.goto(&format!("{}/login/code?method=totp", srv.url)).await;
    b.fill("#code", &u.code(&srv, 0)).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    b.close().await;
}
