//! The web pages, driven in headless Chromium as a person would use them (`browser.rs`),
//! and their defences checked over plain HTTP where a browser would hide the attack.
//! Codes come from Python's standard library (an implementation independent of ours), at
//! the time of the server's injected clock.

use std::process::Command;

use twofold_server::domain::users::Role;

use crate::browser::{Browser, read_qr};
use crate::email::{Inbox, SIGN_IN};
use crate::harness::{Engine, PASSWORD, TestServer, require_mfa};

/// The TOTP code (SHA-1, 6 digits, 30 s) of base32 `secret` at `unix_secs`, computed by
/// Python's standard library.
pub(crate) fn independent_code(secret: &str, unix_secs: u64) -> String {
    let script = "import base64,hmac,struct,sys\n\
        s=base64.b32decode(sys.argv[1]+'='*(-len(sys.argv[1])%8))\n\
        h=hmac.new(s,struct.pack('>Q',int(sys.argv[2])//30),'sha1').digest()\n\
        o=h[-1]&15\n\
        print('%06d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%10**6))";
    let out = Command::new("python3")
        .args(["-c", script, secret, &unix_secs.to_string()])
        .output()
        .expect("python3 is needed to compute codes independently");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn sqlite() -> TestServer {
    TestServer::start(Engine::Sqlite).await
}

/// An organisation whose owner requires MFA, with `grace` days to set it up, and alice,
/// who has no factor yet; answers the organisation.
async fn org_requiring_mfa(srv: &TestServer, grace: Option<u32>) -> String {
    let (org, _) = srv.user(Role::Member).await;
    let (admin, _) = srv.admin_with_app(&org, "boss", Role::Owner).await;
    admin
        .set_mfa_policy(&org, &require_mfa(false, grace))
        .await
        .unwrap();
    org
}

/// Signs in on the password page.
pub(crate) async fn password_step(
    b: &Browser,
    srv: &TestServer,
    org: &str,
    username: &str,
    password: &str,
) {
    b.goto(&format!("{}/login", srv.url)).await;
    b.fill("#org", org).await;
    b.fill("#username", username).await;
    b.fill("#password", password).await;
    b.submit("form[action='/login'] button[type=submit]").await;
}

#[tokio::test]
async fn a_person_without_a_second_factor_signs_in_and_sees_their_security_page() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    b.goto(&format!("{}/login", srv.url)).await;
    b.look("login").await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert_eq!(b.text("h1").await, "Security");
    assert!(b.text("main").await.contains("password alone"));
    b.look("security-no-factor").await;
    // Signing out ends the session: the page sends the browser back to sign in.
    b.submit("header nav button[type=submit]").await;
    assert_eq!(b.url().await, format!("{}/login", srv.url));
    b.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(b.url().await, format!("{}/login", srv.url));
    b.close().await;
}

#[tokio::test]
async fn a_wrong_password_is_said_beside_the_field_and_what_was_typed_stays() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, &user, "not the password").await;
    assert_eq!(
        b.attribute("#login-error", "data-code").await.as_deref(),
        Some("invalid_credentials")
    );
    assert_eq!(
        b.text("#login-error").await,
        "Wrong organisation, username or password."
    );
    assert_eq!(
        b.attribute("#password", "aria-describedby")
            .await
            .as_deref(),
        Some("login-error")
    );
    assert_eq!(
        b.script("return document.querySelector('#org').value")
            .await,
        org
    );
    assert_eq!(
        b.script("return document.querySelector('#username').value")
            .await,
        user
    );
    assert_eq!(
        b.script("return document.querySelector('#password').value")
            .await,
        ""
    );
    b.look("login-wrong-password").await;
    b.close().await;
}

#[tokio::test]
async fn a_code_from_the_app_finishes_the_sign_in_and_remember_me_skips_it_in_that_browser_only() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/login/code", srv.url));
    assert_eq!(b.text("h1").await, "Two-step verification");
    assert_eq!(
        b.attribute("#code", "autocomplete").await.as_deref(),
        Some("one-time-code")
    );
    assert_eq!(
        b.attribute("#code", "inputmode").await.as_deref(),
        Some("numeric")
    );
    // No recovery codes and no email factor: no other way is offered.
    assert!(!b.has("a[href='/login/code?method=recovery_code']").await);
    assert!(!b.has("form[action='/login/code/email']").await);
    b.look("code-app").await;
    b.fill("#code", &independent_code(&u.secret, srv.now_secs()))
        .await;
    b.click("#remember").await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    let table = b.text("table").await;
    assert!(
        table.contains("Phone") && table.contains("Preferred"),
        "{table}"
    );
    assert!(table.contains("Authenticator app"), "{table}");
    b.look("security-one-app").await;

    // Signed out, the same browser skips the second step next time...
    b.submit("header nav button[type=submit]").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    // ...and another browser still asks for it.
    let other = Browser::open(1024).await;
    password_step(&other, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(other.url().await, format!("{}/login/code", srv.url));
    other.close().await;

    // The security page lists the remembered browser; forgotten, it asks again.
    let remembered = b.all("form[action$='/forget']").await;
    assert_eq!(remembered.len(), 1);
    b.submit("form[action$='/forget'] button").await;
    assert!(!b.has("form[action$='/forget']").await);
    b.submit("header nav button[type=submit]").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/login/code", srv.url));
    b.close().await;
}

#[tokio::test]
async fn wrong_drifted_and_reused_codes_are_said_in_words_beside_the_field() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    let now = srv.now_secs();
    let right = independent_code(&u.secret, now);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };

    b.fill("#code", wrong).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    assert_eq!(
        b.attribute("#code", "aria-describedby").await.as_deref(),
        Some("code-error")
    );

    // A phone two minutes ahead: its code is refused like any wrong one (a guess must
    // learn nothing), with advice about the clock...
    b.fill("#code", &independent_code(&u.secret, now + 120))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    let said = b.text("#code-error").await;
    assert!(said.contains("set its clock automatically"), "{said}");
    b.look("code-wrong").await;
    // ...and its next code, 30 s later at the same offset, proves the drift and signs in.
    srv.advance(30);
    b.fill("#code", &independent_code(&u.secret, now + 150))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));

    // The drifted code just used, on a new sign-in in another browser: used.
    let other = Browser::open(1024).await;
    password_step(&other, &srv, &u.org, &u.username, PASSWORD).await;
    other
        .fill("#code", &independent_code(&u.secret, now + 150))
        .await;
    other
        .submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        other.attribute("#code-error", "data-code").await.as_deref(),
        Some("code_reused")
    );
    other.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_locked_second_step_says_when_to_try_again() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    let right = independent_code(&u.secret, srv.now_secs());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        b.fill("#code", wrong).await;
        b.submit("form[action='/login/code'] button[type=submit]")
            .await;
    }
    b.fill("#code", &right).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("too_many_attempts")
    );
    let said = b.text("#code-error").await;
    assert_eq!(said, "Too many wrong codes. You can try again in 1 minute.");
    b.look("code-locked").await;
    b.close().await;
}

#[tokio::test]
async fn the_session_cookie_is_out_of_reach_of_scripts() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    let seen = b.script("return document.cookie").await;
    assert_eq!(seen, "", "a script read cookies: {seen}");
    let cookies = b.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"] == "twofold-session")
        .expect("no session cookie");
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Lax");
    assert!(cookies.iter().all(|c| c["httpOnly"] == true), "{cookies:?}");
    b.close().await;
}

#[tokio::test]
async fn a_mailed_code_finishes_the_sign_in_and_a_new_one_waits_30_seconds() {
    let (sink, srv) = crate::email::server(Engine::Sqlite, |_| {}).await;
    let mut inbox = Inbox::new(&srv, &sink);
    let (org, _, _) = crate::email::with_email(&srv, &mut inbox).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, "alice", PASSWORD).await;
    // Email is her preferred (only) factor: the code went at once, and the page says where.
    assert_eq!(
        b.text("#code-prompt").await,
        "We emailed a code to al***@example.com. It works once, for 5 minutes."
    );
    let first = inbox.code(SIGN_IN).await;
    b.look("code-email").await;
    // Another right away: refused, and the first one still works.
    b.submit("form[action='/login/code/email'] button").await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("rate_limited")
    );
    assert!(b.text("#code-error").await.contains("it still works"));
    // 30 seconds later a new one goes, and replaces the first.
    srv.advance(30);
    b.submit("form[action='/login/code/email'] button").await;
    let second = inbox.code(SIGN_IN).await;
    b.fill("#code", &first).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    b.fill("#code", &second).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(b.text("table").await.contains("Email codes"));
    b.close().await;
}

#[tokio::test]
async fn a_recovery_code_may_finish_a_sign_in_instead_of_the_app() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let codes = srv
        .strong_session(&u)
        .await
        .regenerate_recovery_codes()
        .await
        .unwrap()
        .codes;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    b.click("a[href='/login/code?method=recovery_code']").await;
    assert_eq!(b.text("label[for=code]").await, "Recovery code");
    b.look("code-recovery").await;
    b.fill("#code", &codes[3]).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    // Used once: the same code on another sign-in is refused.
    let other = Browser::open(1024).await;
    password_step(&other, &srv, &u.org, &u.username, PASSWORD).await;
    other
        .goto(&format!("{}/login/code?method=recovery_code", srv.url))
        .await;
    other.fill("#code", &codes[3]).await;
    other
        .submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        other.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    other.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_person_who_must_enrol_scans_the_qr_code_from_the_screen_and_gets_recovery_codes() {
    let srv = sqlite().await;
    let org = org_requiring_mfa(&srv, None).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, "alice", PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/login/enroll", srv.url));
    assert_eq!(b.text("h1").await, "Set up two-step sign-in");
    b.look("enroll-choose").await;

    // Seed 000's order: a code mailed to the registered address first...
    b.submit("form[action='/login/enroll/app'] button").await;
    b.look("enroll-confirm").await;
    let mailed = srv
        .mailed_code("alice@example.com", "Your code to add an authenticator app")
        .await;
    b.fill("#confirmation", &mailed).await;
    b.submit("form[action='/login/enroll/app'] button").await;

    // ...then the QR code, read from the screen's pixels...
    let shot = b.screenshot(None).await;
    b.look("enroll-qr").await;
    let uri = read_qr(&shot);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap()
        .to_owned();
    // ...or typed from the key that "Can't scan the QR code?" reveals, grouped by four.
    assert!(
        !b.script("return document.querySelector('#secret').checkVisibility()")
            .await
            .as_bool()
            .unwrap()
    );
    b.click("details.key summary").await;
    assert_eq!(b.text("#secret").await.replace(' ', ""), secret);
    b.look("enroll-key").await;

    // A wrong code keeps the QR code on the page and says why.
    let right = independent_code(&secret, srv.now_secs());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("#code", wrong).await;
    b.submit("form[action='/login/enroll/activate'] button")
        .await;
    assert_eq!(
        b.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    assert_eq!(read_qr(&b.screenshot(None).await), uri);

    b.fill("#code", &right).await;
    b.submit("form[action='/login/enroll/activate'] button")
        .await;
    assert_eq!(
        b.url().await,
        format!("{}/account/recovery-codes?first=1", srv.url)
    );
    assert_eq!(b.text("#left").await, "You have no unused recovery codes.");
    b.look("recovery-offer").await;
    b.submit("form[action='/account/recovery-codes'] button")
        .await;
    let codes = b.all("#codes li").await;
    assert_eq!(codes.len(), 10);
    // The Copy button (the pages' one script) shows where a clipboard is, and copies.
    b.click("button[data-copy=codes]").await;
    let said = b.text("button[data-copy=codes]").await;
    assert!(
        said == "Copied" || said.starts_with("Could not copy"),
        "{said}"
    );
    // The download is made in the browser: the codes never travel in a URL.
    assert_eq!(
        b.attribute("a[download]", "download").await.as_deref(),
        Some("twofold-recovery-codes.txt")
    );
    let href = b.attribute("a[download]", "href").await.unwrap_or_default();
    assert!(href.starts_with("blob:"), "{href}");
    // (The page's CSP lets no script fetch even a blob: the file holds the list's text.)
    let text = b.attribute("#codes", "data-text").await.unwrap_or_default();
    assert_eq!(text.lines().count(), 10);
    b.look("recovery-codes").await;
    b.goto(&format!("{}/account/security", srv.url)).await;
    assert!(b.text("table").await.contains("Authenticator app"));
    b.close().await;
}

#[tokio::test]
async fn pages_fit_a_phone_screen_360_pixels_wide() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(360).await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    b.goto(&format!("{}/login", srv.url)).await;
    assert_eq!(b.script("return window.innerWidth").await, 360);
    assert_eq!(
        b.script(fits).await,
        true,
        "the sign-in page scrolls sideways"
    );
    b.look("phone-login").await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert_eq!(b.script(fits).await, true, "the code page scrolls sideways");
    b.look("phone-code").await;
    b.fill("#code", &independent_code(&u.secret, srv.now_secs()))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        b.script(fits).await,
        true,
        "the security page scrolls sideways"
    );
    b.look("phone-security").await;
    b.close().await;
}

/// Signs `u` in with their app in browser `b`, landing on the security page.
async fn signed_in_with_app(b: &Browser, srv: &TestServer, u: &crate::harness::Enrolled) {
    password_step(b, srv, &u.org, &u.username, PASSWORD).await;
    b.fill("#code", &independent_code(&u.secret, srv.now_secs()))
        .await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
}

#[tokio::test]
async fn the_security_page_prefers_a_factor_and_deletes_one_with_a_code_from_it() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let strong = srv.strong_session(&u).await;
    let email = strong.enroll_email(None).await.unwrap();
    let code = srv
        .mailed_code(
            "alice@example.com",
            "Your code to set up sign-in codes by email",
        )
        .await;
    strong.activate_factor(&email.id, &code).await.unwrap();
    srv.advance(30);

    let b = Browser::open(1024).await;
    signed_in_with_app(&b, &srv, &u).await;
    b.look("security-two-factors").await;
    // Just signed in with a code: the change goes through at once.
    b.submit(&format!(
        "form[action='/account/factors/{}/preferred'] button",
        email.id
    ))
    .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    let rows = b.text("table").await;
    let email_row = rows
        .lines()
        .find(|l| l.contains("Email"))
        .unwrap_or_default();
    assert!(email_row.contains("Preferred"), "{rows}");

    // Eleven minutes on, the same change asks for a code inline and then goes on.
    srv.advance(11 * 60);
    b.submit(&format!(
        "form[action='/account/factors/{}/preferred'] button",
        u.factor_id
    ))
    .await;
    assert_eq!(b.text("legend").await, "Confirm it's you");
    b.look("confirm-inline").await;
    b.fill(
        "#step-up-code",
        &independent_code(&u.secret, srv.now_secs()),
    )
    .await;
    b.submit(&format!(
        "form[action='/account/factors/{}/preferred'] button[type=submit]",
        u.factor_id
    ))
    .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    let rows = b.text("table").await;
    let phone_row = rows
        .lines()
        .find(|l| l.contains("Phone"))
        .unwrap_or_default();
    assert!(phone_row.contains("Preferred"), "{rows}");

    // Deleting the email factor takes a code mailed to it; a wrong one is said beside the
    // field and deletes nothing.
    b.click(&format!("a[href='/account/factors/{}/delete']", email.id))
        .await;
    assert!(b.text("#delete-hint").await.contains("al***@example.com"));
    b.look("delete-email").await;
    let mailed = srv
        .mailed_code("alice@example.com", "Your code to confirm a change")
        .await;
    let wrong = if mailed == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("#code", wrong).await;
    b.submit("form[action$='/delete'] button").await;
    assert_eq!(
        b.attribute("#delete-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    b.fill("#code", &mailed).await;
    b.submit("form[action$='/delete'] button").await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(!b.text("table").await.contains("Email codes"));
    b.close().await;
}

#[tokio::test]
async fn sign_out_everywhere_else_ends_the_other_browsers_sessions() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let here = Browser::open(1024).await;
    let there = Browser::open(1024).await;
    password_step(&there, &srv, &org, &user, PASSWORD).await;
    password_step(&here, &srv, &org, &user, PASSWORD).await;
    let listed = here.all("ul.sessions li").await;
    assert_eq!(listed.len(), 2);
    assert!(here.text("ul.sessions").await.contains("This browser"));
    here.submit("form[action='/account/sessions/others'] button")
        .await;
    assert_eq!(here.all("ul.sessions li").await.len(), 1);
    there.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(there.url().await, format!("{}/login", srv.url));
    here.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(here.url().await, format!("{}/account/security", srv.url));
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn remember_me_is_offered_only_where_the_organisation_allows_it() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &u.org, &u.username, PASSWORD).await;
    assert!(b.has("#remember").await);
    let org_id = srv
        .twofold
        .store()
        .user_by_login(&u.org, &u.username)
        .await
        .unwrap()
        .unwrap()
        .org_id;
    srv.twofold
        .store()
        .put_org_settings(&twofold_server::store::OrgSettingsRow {
            org_id,
            allow_qr_redisplay: true,
            remember_devices: false,
            confirm_first_app_by_email: false,
            max_authenticator_apps: None,
            updated_at: srv.twofold.now().as_millis(),
            updated_by: None,
        })
        .await
        .unwrap();
    b.goto(&format!("{}/login/code", srv.url)).await;
    assert!(!b.has("#remember").await);
    b.close().await;
}

#[tokio::test]
async fn an_app_is_added_from_the_security_page_in_seed_000s_order() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    b.fill("#app-name", "Work phone").await;
    b.submit("form[action='/account/factors/app'] button").await;
    // A first app: the code mailed to the registered address comes first...
    assert!(
        b.text("#confirm-hint")
            .await
            .contains("We emailed a verification code")
    );
    let mailed = srv
        .mailed_code("alice@example.com", "Your code to add an authenticator app")
        .await;
    b.fill("#confirmation", &mailed).await;
    b.submit("form[action='/account/factors/app'] button").await;
    // ...then the QR code, read off the screen, and the app's code, and Add.
    let uri = read_qr(&b.screenshot(None).await);
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap()
        .to_owned();
    b.look("add-app-qr").await;
    assert_eq!(
        b.text("form[action='/account/factors/activate'] button")
            .await,
        "Add"
    );
    b.fill("#code", &independent_code(&secret, srv.now_secs()))
        .await;
    b.submit("form[action='/account/factors/activate'] button")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    let table = b.text("table").await;
    assert!(
        table.contains("Work phone") && table.contains("Preferred"),
        "{table}"
    );

    // Email codes next. This session never passed a second factor, so the page first asks
    // for a code from the new app (the next one: the last was used to add it), then goes on.
    srv.advance(30);
    b.submit("form[action='/account/factors/email'] button")
        .await;
    assert_eq!(b.text("legend").await, "Confirm it's you");
    b.fill("#step-up-code", &independent_code(&secret, srv.now_secs()))
        .await;
    b.submit("form[action='/account/factors/email'] button[type=submit]")
        .await;
    assert!(b.text("#code-hint").await.contains("al***@example.com"));
    let mailed = srv
        .mailed_code(
            "alice@example.com",
            "Your code to set up sign-in codes by email",
        )
        .await;
    b.fill("#code", &mailed).await;
    b.submit("form[action='/account/factors/activate'] button")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(b.text("table").await.contains("Email codes"));
    assert!(!b.has("form[action='/account/factors/email']").await);
    b.close().await;
}

#[tokio::test]
async fn the_eye_icon_shows_the_app_again_and_regenerate_moves_it_to_a_new_secret() {
    let srv = sqlite().await;
    let u = srv.enrolled().await;
    let b = Browser::open(1024).await;
    signed_in_with_app(&b, &srv, &u).await;
    let secret_of = |uri: &str| {
        uri.split(['?', '&'])
            .find_map(|p| p.strip_prefix("secret="))
            .unwrap()
            .to_owned()
    };
    // Just signed in with a code: the QR code shows at once, the same secret as the app's.
    b.submit(&format!(
        "form[action='/account/factors/{}/qr'] button",
        u.factor_id
    ))
    .await;
    assert_eq!(secret_of(&read_qr(&b.screenshot(None).await)), u.secret);
    b.look("show-qr").await;

    // Regenerate, eleven minutes on: a code from the app first, then the new secret.
    srv.advance(11 * 60);
    b.goto(&format!("{}/account/security", srv.url)).await;
    b.submit(&format!(
        "form[action='/account/factors/{}/regenerate'] button",
        u.factor_id
    ))
    .await;
    b.fill(
        "#step-up-code",
        &independent_code(&u.secret, srv.now_secs()),
    )
    .await;
    b.submit(&format!(
        "form[action='/account/factors/{}/regenerate'] button[type=submit]",
        u.factor_id
    ))
    .await;
    let new_secret = secret_of(&read_qr(&b.screenshot(None).await));
    assert_ne!(new_secret, u.secret);
    b.look("regenerate").await;
    srv.advance(30);
    b.fill("#code", &independent_code(&new_secret, srv.now_secs()))
        .await;
    b.submit("form[action='/account/factors/activate'] button")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));

    // From now on the new secret's codes sign in, the old one's do not.
    srv.advance(30);
    let other = Browser::open(1024).await;
    password_step(&other, &srv, &u.org, &u.username, PASSWORD).await;
    other
        .fill("#code", &independent_code(&u.secret, srv.now_secs()))
        .await;
    other
        .submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(
        other.attribute("#code-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    other
        .fill("#code", &independent_code(&new_secret, srv.now_secs()))
        .await;
    other
        .submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(other.url().await, format!("{}/account/security", srv.url));
    other.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_password_is_changed_with_the_current_one_and_other_sessions_end() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let there = Browser::open(1024).await;
    password_step(&there, &srv, &org, &user, PASSWORD).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, &user, PASSWORD).await;
    b.click("a[href='/account/password']").await;
    b.look("password").await;
    let new = "a brand new passphrase";
    let change = async |current: &str, again: &str| {
        b.fill("#current", current).await;
        b.fill("#new", new).await;
        b.fill("#again", again).await;
        b.submit("form[action='/account/password'] button").await;
    };
    change("not my password", new).await;
    assert_eq!(
        b.attribute("#password-error", "data-code").await.as_deref(),
        Some("invalid_credentials")
    );
    change(PASSWORD, "a brand new passphrasf").await;
    assert_eq!(b.text("#new-error").await, "The two new passwords differ.");
    change(PASSWORD, new).await;
    assert_eq!(b.text("h1").await, "Password changed");
    b.look("password-changed").await;
    // The other browser's session ended; the new password signs in.
    there.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(there.url().await, format!("{}/login", srv.url));
    password_step(&there, &srv, &org, &user, new).await;
    assert_eq!(there.url().await, format!("{}/account/security", srv.url));
    there.close().await;
    b.close().await;
}

#[tokio::test]
async fn the_security_page_says_how_many_days_are_left_to_set_up_a_factor() {
    let srv = sqlite().await;
    let org = org_requiring_mfa(&srv, Some(7)).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, "alice", PASSWORD).await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    assert!(b.text("#grace").await.contains("within 7 days"));
    b.look("security-grace").await;
    b.close().await;
}

#[tokio::test]
async fn a_person_who_must_enrol_may_choose_codes_by_email() {
    let (sink, srv) = crate::email::server(Engine::Sqlite, |_| {}).await;
    let mut inbox = Inbox::new(&srv, &sink);
    let org = org_requiring_mfa(&srv, None).await;
    let b = Browser::open(1024).await;
    password_step(&b, &srv, &org, "alice", PASSWORD).await;
    b.submit("form[action='/login/enroll/email'] button").await;
    assert!(b.text("#code-hint").await.contains("al***@example.com"));
    b.look("enroll-email").await;
    let code = inbox
        .code("Your code to set up sign-in codes by email")
        .await;
    b.fill("#code", &code).await;
    b.submit("form[action='/login/enroll/activate'] button")
        .await;
    assert_eq!(
        b.url().await,
        format!("{}/account/recovery-codes?first=1", srv.url)
    );
    b.goto(&format!("{}/account/security", srv.url)).await;
    assert!(b.text("table").await.contains("Email codes"));
    b.close().await;
}

#[tokio::test]
async fn a_form_of_another_site_posted_in_a_browser_is_refused_in_words() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let b = Browser::open(1024).await;
    // The browser has the site's CSRF cookie (it saw the sign-in page) ...
    b.goto(&format!("{}/login", srv.url)).await;
    // ... and another site's page posts the sign-in form with the right password.
    let evil = format!(
        "data:text/html,<title>x</title><form method=post action='{}/login'>\
         <input name=org value={org}><input name=username value={user}>\
         <input name=password value='{PASSWORD}'><button>go</button></form>",
        srv.url
    );
    b.goto(&evil).await;
    b.submit("button").await;
    assert_eq!(b.text("h1").await, "Form refused");
    assert_eq!(
        b.attribute("[data-code]", "data-code").await.as_deref(),
        Some("csrf_refused")
    );
    b.look("form-refused").await;
    b.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(b.url().await, format!("{}/login", srv.url));
    b.close().await;
}

/// A plain HTTP client, redirects not followed, that keeps what it is told.
fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_and_changes_nothing() {
    let srv = sqlite().await;
    let (org, user) = srv.user(Role::Member).await;
    let http = raw();
    // The site's own page gives a CSRF token and its cookie.
    let page = http.get(format!("{}/login", srv.url)).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body = page.text().await.unwrap();
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("org", org.clone()),
            ("username", user.clone()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let attempts = [
        // Another site's form: it can make the browser send the cookie, not the token.
        (Some(cookie.as_str()), String::new(), None),
        (Some(cookie.as_str()), "0".repeat(64), None),
        // The token without its cookie.
        (None, token.clone(), None),
        // Both, but posted from another origin.
        (
            Some(cookie.as_str()),
            token.clone(),
            Some("https://evil.example"),
        ),
    ];
    for (cookie, csrf, origin) in attempts {
        let mut req = http.post(format!("{}/login", srv.url)).form(&form(&csrf));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{cookie:?} {csrf:?} {origin:?}");
        assert!(
            res.headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap().contains("session")),
            "a refused form signed in"
        );
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("data-code=\"csrf_refused\"")
        );
    }
    // Nothing was checked: no sign-in, failed or not, was recorded.
    let alice = srv
        .twofold
        .store()
        .user_by_login(&org, &user)
        .await
        .unwrap()
        .unwrap();
    let events = srv
        .twofold
        .store()
        .audit_events(&alice.org_id, None, 50)
        .await
        .unwrap();
    assert!(
        events.iter().all(|e| !e.event.starts_with("signin.")),
        "{events:?}"
    );
    // The same form from the site's own page signs in.
    let ok = http
        .post(format!("{}/login", srv.url))
        .header("cookie", &cookie)
        .header("origin", srv.url.as_str())
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/account/security");
}

#[tokio::test]
async fn every_page_forbids_framing_and_foreign_or_inline_scripts() {
    let srv = sqlite().await;
    let http = raw();
    for path in ["/login", "/account/security", "/login/code", "/"] {
        let res = http.get(format!("{}{path}", srv.url)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        // Scripts from this site's file only: never inline, never another site's.
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn a_framed_page_is_not_shown_even_to_its_own_site() {
    let srv = sqlite().await;
    let b = Browser::open(800).await;
    b.goto(&format!("{}/login", srv.url)).await;
    // A frame of the same origin: were it allowed, its document would be readable here.
    let shown = b
        .script_async(
            "const done = arguments[0]; const f = document.createElement('iframe'); \
             f.onload = () => { const d = f.contentDocument; \
               done(d && d.body ? d.body.innerText : 'blocked'); }; \
             f.src = '/login'; document.body.appendChild(f);",
        )
        .await;
    assert_eq!(shown, "blocked");
    b.close().await;
}
