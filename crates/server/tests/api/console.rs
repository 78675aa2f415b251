//! The admin console, driven in headless Chromium against the real server: the MFA toggle
//! and its dialogs, the Users table and a user's page, the audit log, API keys and
//! invitations; members and other organisations refused. Codes come from the injected
//! clock; every page passes the accessibility check (`Browser::look`).

use twofold_otp::Totp;
use twofold_server::domain::users::Role;

use crate::browser::Browser;
use crate::harness::{PASSWORD, TestServer, require_mfa};
use crate::pages::password_step;

async fn sqlite() -> TestServer {
    TestServer::start(crate::harness::Engine::Sqlite).await
}

/// A wide browser signed in as `username` of `org`, who has the app `totp`: the password,
/// then the app's code (a step later than any code used so far).
async fn signed_in(srv: &TestServer, org: &str, username: &str, totp: &Totp) -> Browser {
    srv.advance(60);
    let b = Browser::open(1280).await;
    password_step(&b, srv, org, username, PASSWORD).await;
    b.fill("#code", &totp.generate_at(srv.now_secs())).await;
    b.submit("form[action='/login/code'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{}/account/security", srv.url));
    b
}

/// An organisation with its owner `boss` (with an app, signed in a browser) and alice, a
/// member without a factor.
async fn org_with_owner(srv: &TestServer) -> (String, Totp, Browser) {
    let (org, _) = srv.user(Role::Member).await;
    let (_, totp) = srv.admin_with_app(&org, "boss", Role::Owner).await;
    let b = signed_in(srv, &org, "boss", &totp).await;
    (org, totp, b)
}

/// Whether `org` requires MFA, as stored.
async fn required(srv: &TestServer, org: &str) -> bool {
    let store = srv.twofold.store();
    let id = store.org_by_slug(org).await.unwrap().unwrap().id;
    store
        .mfa_policy(&id)
        .await
        .unwrap()
        .is_some_and(|p| p.required)
}

#[tokio::test]
async fn cancel_changes_nothing_and_invalidate_sessions_signs_everyone_out() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    // Alice signed in elsewhere before the change.
    let alice = Browser::open(1024).await;
    password_step(&alice, &srv, &org, "alice", PASSWORD).await;
    // The header leads an owner to the console; it opens on Users.
    b.submit("header nav a[href$='/users']").await;
    assert_eq!(b.url().await, format!("{}/orgs/{org}/users", srv.url));
    b.goto(&format!("{}/orgs/{org}/mfa", srv.url)).await;
    assert_eq!(
        b.attribute("#mfa-toggle", "aria-checked").await.as_deref(),
        Some("false")
    );
    b.look("console-mfa-disabled").await;
    b.submit("#mfa-toggle").await;
    assert!(b.has("[role=dialog]").await);
    let buttons = b
        .all("[role=dialog] .buttons button, [role=dialog] .buttons a")
        .await;
    assert_eq!(buttons.len(), 3);
    assert_eq!(b.text("#invalidate").await, "YES, INVALIDATE SESSIONS");
    assert_eq!(b.text("#keep").await, "NO, KEEP SESSIONS");
    assert_eq!(b.text("#cancel").await, "CANCEL");
    b.look("console-mfa-enable-dialog").await;
    b.submit("#cancel").await;
    assert!(!b.has("[role=dialog]").await);
    assert!(!required(&srv, &org).await);
    // YES: every session of the organisation ends, the admin's own too.
    b.submit("#mfa-toggle").await;
    b.submit("#invalidate").await;
    assert_eq!(b.url().await, format!("{}/login?ended=1", srv.url));
    assert!(b.text("#notice").await.contains("every session"));
    alice.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(alice.url().await, format!("{}/login", srv.url));
    assert!(required(&srv, &org).await);
    b.close().await;
    alice.close().await;
}

#[tokio::test]
async fn keep_sessions_lets_sessions_from_before_run_on() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    let alice = Browser::open(1024).await;
    password_step(&alice, &srv, &org, "alice", PASSWORD).await;
    b.goto(&format!("{}/orgs/{org}/mfa?dialog=enable", srv.url))
        .await;
    b.fill("#dialog-grace", "3").await;
    b.submit("#keep").await;
    assert_eq!(
        b.url().await,
        format!("{}/orgs/{org}/mfa?done=enabled&ended=0", srv.url)
    );
    assert!(
        b.text("#notice")
            .await
            .contains("Sessions already open go on")
    );
    assert_eq!(
        b.attribute("#mfa-toggle", "aria-checked").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.script("return document.querySelector('#grace').value")
            .await,
        "3"
    );
    b.look("console-mfa-enabled").await;
    alice.goto(&format!("{}/account/security", srv.url)).await;
    assert_eq!(alice.url().await, format!("{}/account/security", srv.url));
    // She has three days left to set up a factor, and is told so.
    assert!(alice.text("#grace").await.contains("3 days"));
    // The options are saved on the same page.
    b.fill("#max-apps", "2").await;
    b.click("input[name=remember]").await;
    b.submit("form[action$='/mfa/options'] button").await;
    assert!(b.text("#notice").await.contains("options are saved"));
    assert_eq!(
        b.script("return document.querySelector('#max-apps').value")
            .await,
        "2"
    );
    assert_eq!(
        b.script("return document.querySelector('input[name=remember]').checked")
            .await,
        false
    );
    b.close().await;
    alice.close().await;
}

#[tokio::test]
async fn an_admin_without_a_factor_is_led_to_enrol_before_mfa_is_required() {
    let srv = sqlite().await;
    let (org, _) = srv.user(Role::Member).await;
    srv.user_in(&org, "boss", Role::Admin).await;
    let b = Browser::open(1280).await;
    password_step(&b, &srv, &org, "boss", PASSWORD).await;
    b.goto(&format!("{}/orgs/{org}/mfa?dialog=enable", srv.url))
        .await;
    b.submit("#keep").await;
    assert_eq!(
        b.attribute("#enroll-first", "data-code").await.as_deref(),
        Some("enrollment_required")
    );
    assert!(!required(&srv, &org).await);
    b.look("console-mfa-enroll-first").await;
    b.submit("form[action='/account/factors/app'] button").await;
    // A first app needs the code mailed to the registered address (seed 000).
    let mailed = srv
        .mailed_code("boss@example.com", "Your code to add an authenticator app")
        .await;
    b.fill("#confirmation", &mailed).await;
    b.submit("form[action='/account/factors/app'] button").await;
    let secret = b
        .script("return document.querySelector('#secret code').textContent")
        .await
        .as_str()
        .unwrap()
        .replace(' ', "");
    let code = crate::pages::independent_code(&secret, srv.now_secs());
    b.fill("#code", &code).await;
    b.submit("form[action='/account/factors/activate'] button")
        .await;
    // Back at the dialog, saying the app is set; MFA is still not on until they choose.
    let at = b.url().await;
    assert!(
        at.starts_with(&format!(
            "{}/orgs/{org}/mfa?dialog=enable&enrolled=1",
            srv.url
        )),
        "{at}: {}",
        b.text("main").await
    );
    assert!(
        b.text("[role=dialog]")
            .await
            .contains("authenticator app is set up")
    );
    assert!(!required(&srv, &org).await);
    b.submit("#keep").await;
    // The code that set the app up does not confirm a change to everyone's sign-in (a
    // session is upgraded only by signing in or confirming): the app's next code does.
    assert!(b.has("#step-up-code").await);
    srv.advance(30);
    b.fill(
        "#step-up-code",
        &crate::pages::independent_code(&secret, srv.now_secs()),
    )
    .await;
    b.submit("form[action$='/mfa/enable'] button[type=submit]")
        .await;
    assert!(b.text("#notice").await.contains("MFA is now required"));
    assert!(required(&srv, &org).await);
    b.close().await;
}

#[tokio::test]
async fn disabling_takes_the_mailed_code_and_a_wrong_expired_or_closed_one_changes_nothing() {
    let srv = sqlite().await;
    let (org, totp, b) = org_with_owner(&srv).await;
    b.goto(&format!("{}/orgs/{org}/mfa?dialog=enable", srv.url))
        .await;
    b.submit("#keep").await;
    // The toggle mails a code and opens the dialog.
    b.submit("#mfa-toggle").await;
    assert!(b.text("#dialog-hint").await.contains("valid for 5 minutes"));
    b.look("console-mfa-disable-dialog").await;
    let first = srv
        .mailed_code("boss@example.com", "Your code to turn off MFA")
        .await;
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("#disable-code", wrong).await;
    b.submit("#disable-confirm").await;
    assert_eq!(
        b.attribute("#disable-error", "data-code").await.as_deref(),
        Some("invalid_code")
    );
    assert!(b.has("[role=dialog]").await);
    assert!(required(&srv, &org).await);
    // Closing the dialog: that code no longer works.
    b.submit("#close").await;
    assert!(!b.has("[role=dialog]").await);
    assert!(b.text("#notice").await.contains("no longer works"));
    b.submit("#mfa-toggle").await;
    let second = srv
        .mailed_code("boss@example.com", "Your code to turn off MFA")
        .await;
    if first != second {
        b.fill("#disable-code", &first).await;
        b.submit("#disable-confirm").await;
        assert_eq!(
            b.attribute("#disable-error", "data-code").await.as_deref(),
            Some("invalid_code")
        );
        assert!(required(&srv, &org).await);
    }
    // Five minutes later the code has expired: the dialog closes, starting again.
    srv.advance(301);
    b.fill("#disable-code", &second).await;
    // The session's second factor is no longer fresh either: the page asks for it first.
    b.submit("#disable-confirm").await;
    if b.has("#step-up-code").await {
        b.fill("#step-up-code", &totp.generate_at(srv.now_secs()))
            .await;
        b.submit("form[action$='/mfa/disable'] button[type=submit]")
            .await;
    }
    assert_eq!(
        b.attribute("#mfa-error", "data-code").await.as_deref(),
        Some("code_expired")
    );
    assert!(!b.has("[role=dialog]").await);
    assert!(required(&srv, &org).await);
    // Starting again, the right code in time turns it off.
    srv.advance(31);
    b.submit("#mfa-toggle").await;
    let third = srv
        .mailed_code("boss@example.com", "Your code to turn off MFA")
        .await;
    b.fill("#disable-code", &third).await;
    b.submit("#disable-confirm").await;
    assert!(b.text("#notice").await.contains("no longer required"));
    assert_eq!(
        b.attribute("#mfa-toggle", "aria-checked").await.as_deref(),
        Some("false")
    );
    assert!(!required(&srv, &org).await);
    b.close().await;
}

#[tokio::test]
async fn the_users_table_shows_the_mfa_column_change_as_a_user_enrols_and_searches_and_pages() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    for i in 0..55 {
        srv.user_in(&org, &format!("user{i:02}"), Role::Member)
            .await;
    }
    srv.user_in(&org, "sso-sam", Role::Member).await;
    srv.twofold
        .store()
        .exec_text(
            "UPDATE users SET federated = TRUE, password_hash = NULL WHERE username = $1",
            &["sso-sam"],
        )
        .await
        .unwrap();
    b.goto(&format!("{}/orgs/{org}/users", srv.url)).await;
    assert_eq!(b.text("#count").await, "58 users");
    assert_eq!(b.all("#users tbody tr").await.len(), 50);
    assert!(!b.has("#prev").await);
    b.look("console-users").await;
    b.submit("#next").await;
    assert_eq!(b.all("#users tbody tr").await.len(), 8);
    assert!(b.has("#prev").await);
    assert!(!b.has("#next").await);
    b.submit("#prev").await;
    assert_eq!(b.all("#users tbody tr").await.len(), 50);
    // Search by part of a name, in any case.
    b.fill("#q", "ALI").await;
    b.submit("form.search button").await;
    assert_eq!(b.all("#users tbody tr").await.len(), 1);
    assert_eq!(b.text("#users tbody td[data-mfa]").await, "Not Enrolled");
    // Alice enrols; the column says so.
    srv.with_app(&org, "alice").await;
    b.goto(&format!("{}/orgs/{org}/users?q=alice", srv.url))
        .await;
    assert_eq!(b.text("#users tbody td[data-mfa]").await, "Enrolled");
    b.goto(&format!("{}/orgs/{org}/users?q=sso", srv.url)).await;
    assert_eq!(b.text("#users tbody td[data-mfa]").await, "SSO");
    b.close().await;
}

#[tokio::test]
async fn reset_mfa_makes_the_user_enrol_again_and_unlock_lifts_a_lock_both_audited() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    let (_, bob_app) = srv.admin_with_app(&org, "bob", Role::Member).await;
    let admin = srv.admin_in(&org, "helper").await;
    admin
        .set_mfa_policy(&org, &require_mfa(false, None))
        .await
        .unwrap();
    // Bob's second step is locked by wrong codes.
    srv.advance(60);
    let flow = match srv.client.login(&org, "bob", PASSWORD).await.unwrap() {
        twofold_proto::LoginResponse::MfaRequired { flow_token, .. } => flow_token,
        other => panic!("{other:?}"),
    };
    for _ in 0..5 {
        let _ = srv.submit(&flow, "000000").await;
    }
    b.goto(&format!("{}/orgs/{org}/users?q=bob", srv.url)).await;
    assert!(b.text("#users tbody").await.contains("Locked until"));
    b.submit("#users tbody a").await;
    let bob_page = b.url().await;
    assert!(b.text("#status").await.contains("Locked"));
    assert!(b.text("#factors").await.contains("Authenticator app"));
    b.look("console-user").await;
    b.submit("#unlock").await;
    assert!(b.text("#notice").await.contains("Unlocked"));
    assert_eq!(b.text("#status").await, "Active");
    let code = bob_app.generate_at(srv.now_secs() + 30);
    srv.advance(30);
    srv.submit(&flow, &code).await.unwrap();
    // Reset MFA, behind a page that says what it does.
    b.goto(&bob_page).await;
    b.submit("#reset").await;
    assert!(b.text("#what").await.contains("Resetting"));
    assert!(b.text("main").await.contains("signs them out everywhere"));
    b.look("console-reset").await;
    b.submit("#confirm-reset").await;
    assert!(b.text("#notice").await.contains("MFA was reset"));
    assert_eq!(b.text("#mfa").await, "Not Enrolled");
    // Bob's next sign-in asks him to enrol.
    let bob = Browser::open(1024).await;
    password_step(&bob, &srv, &org, "bob", PASSWORD).await;
    assert!(
        bob.url()
            .await
            .starts_with(&format!("{}/login/enroll", srv.url))
    );
    bob.close().await;
    // The audit log shows both, filtered by user and by area.
    b.goto(&format!("{}/orgs/{org}/audit?user=bob&event=mfa", srv.url))
        .await;
    let events = b.text("#events").await;
    assert!(events.contains("mfa.reset"), "{events}");
    assert!(events.contains("mfa.unlocked"), "{events}");
    assert!(events.contains("mfa.locked"), "{events}");
    assert!(!events.contains("signin.succeeded"), "{events}");
    b.look("console-audit").await;
    b.close().await;
}

#[tokio::test]
async fn an_admin_cannot_reset_their_own_mfa_or_an_owners_here() {
    let srv = sqlite().await;
    let (org, _) = srv.user(Role::Member).await;
    let (_, totp) = srv.admin_with_app(&org, "adele", Role::Admin).await;
    srv.user_in(&org, "olga", Role::Owner).await;
    let b = signed_in(&srv, &org, "adele", &totp).await;
    b.goto(&format!("{}/orgs/{org}/users?q=adele", srv.url))
        .await;
    b.submit("#users tbody a").await;
    assert!(b.text("#self-note").await.contains("This is you"));
    assert!(!b.has("#reset").await);
    b.goto(&format!("{}/orgs/{org}/users?q=olga", srv.url))
        .await;
    b.submit("#users tbody a").await;
    assert!(b.has("#owner-note").await);
    // Posting the form anyway is refused by the same rule as the API.
    let id = b.url().await.rsplit('/').next().unwrap().to_owned();
    b.goto(&format!("{}/orgs/{org}/users/{id}/reset", srv.url))
        .await;
    assert!(!b.has("#confirm-reset").await);
    b.close().await;
}

#[tokio::test]
async fn a_member_is_refused_and_another_organisations_admin_finds_nothing() {
    let srv = sqlite().await;
    let (org, _totp, owner) = org_with_owner(&srv).await;
    owner.close().await;
    let alice = Browser::open(1024).await;
    password_step(&alice, &srv, &org, "alice", PASSWORD).await;
    assert!(!alice.has("header nav a[href$='/users']").await);
    for page in ["users", "mfa", "audit", "api-keys"] {
        alice.goto(&format!("{}/orgs/{org}/{page}", srv.url)).await;
        assert_eq!(
            alice.attribute("p.error", "data-code").await.as_deref(),
            Some("forbidden"),
            "{page}"
        );
    }
    alice.look("console-forbidden").await;
    alice.close().await;
    let (other, _) = srv.user(Role::Member).await;
    let (_, other_app) = srv.admin_with_app(&other, "eve", Role::Owner).await;
    let eve = signed_in(&srv, &other, "eve", &other_app).await;
    for page in ["users", "mfa", "audit", "api-keys", "users/new"] {
        eve.goto(&format!("{}/orgs/{org}/{page}", srv.url)).await;
        assert_eq!(
            eve.attribute("p.error", "data-code").await.as_deref(),
            Some("not_found"),
            "{page}"
        );
    }
    eve.close().await;
    // Over HTTP too: the status codes, and a form posted without this site's token.
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/orgs/{org}/users", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "without a session: the sign-in page");
    let res = http
        .post(format!("{}/orgs/{org}/mfa/enable", srv.url))
        .form(&[("sessions", "invalidate")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!required(&srv, &org).await);
}

#[tokio::test]
async fn a_created_user_chooses_their_password_with_the_mailed_invitation() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    b.goto(&format!("{}/orgs/{org}/users", srv.url)).await;
    b.submit("#create").await;
    b.look("console-create-user").await;
    b.fill("#username", "carol").await;
    b.fill("#email", "carol@example.com").await;
    b.submit("form[action$='/users'] button[type=submit]").await;
    assert!(b.text("#notice").await.contains("carol was created"));
    let mails = srv.mails_to("carol@example.com", "You are invited").await;
    let text = &mails.last().unwrap().text;
    assert!(text.contains(&format!("{}/welcome", srv.url)), "{text}");
    let code = text.split("Invitation code: ").nth(1).unwrap()[..19].to_owned();
    // The table says she is invited.
    b.goto(&format!("{}/orgs/{org}/users?q=carol", srv.url))
        .await;
    assert!(b.text("#users tbody").await.contains("Invited"));
    let carol = Browser::open(1024).await;
    carol.goto(&format!("{}/login", srv.url)).await;
    carol.submit("a[href='/welcome']").await;
    carol.look("welcome").await;
    carol.fill("#org", &org).await;
    carol.fill("#username", "carol").await;
    carol.fill("#code", "AAAA-BBBB-CCCC-DDDD").await;
    carol.fill("#new", "a brand new passphrase").await;
    carol.fill("#again", "a brand new passphrase").await;
    carol.submit("form[action='/welcome'] button").await;
    assert_eq!(
        carol
            .attribute("#welcome-error", "data-code")
            .await
            .as_deref(),
        Some("invalid_code")
    );
    carol.fill("#code", &code.to_lowercase()).await;
    carol.fill("#new", "a brand new passphrase").await;
    carol.fill("#again", "a brand new passphrase").await;
    carol.submit("form[action='/welcome'] button").await;
    assert_eq!(carol.text("h1").await, "Your password is set");
    password_step(&carol, &srv, &org, "carol", "a brand new passphrase").await;
    assert_eq!(carol.url().await, format!("{}/account/security", srv.url));
    carol.close().await;
    // The code worked once.
    let again = srv
        .twofold
        .accept_invitation(twofold_server::domain::invitations::Acceptance {
            org: &org,
            username: "carol",
            code: &code,
            password: zeroize::Zeroizing::new("another passphrase".into()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            twofold_server::domain::DomainError::WrongConfirmation
        ),
        "{again:?}"
    );
    b.close().await;
}

#[tokio::test]
async fn an_api_key_is_shown_once_listed_with_its_use_and_revoked() {
    let srv = sqlite().await;
    let (org, _totp, b) = org_with_owner(&srv).await;
    b.goto(&format!("{}/orgs/{org}/api-keys", srv.url)).await;
    b.fill("#key-name", "intranet").await;
    b.submit("form[action$='/api-keys'] button").await;
    let key = b.text("#new-key").await;
    assert!(key.len() > 30);
    b.look("console-api-key-created").await;
    assert!(b.text("#keys").await.contains("intranet"));
    // It works for introspection; the list then shows its use.
    let introspect = || {
        reqwest::Client::new()
            .post(format!("{}/api/v1/tokens/introspect", srv.url))
            .bearer_auth(&key)
            .json(&serde_json::json!({"token": "nothing"}))
            .send()
    };
    assert_eq!(introspect().await.unwrap().status(), 200);
    b.goto(&format!("{}/orgs/{org}/api-keys", srv.url)).await;
    assert!(!b.has("#new-key").await, "shown once");
    assert!(
        !b.text("#keys tbody td[data-label='Last used']")
            .await
            .contains("Never")
    );
    b.submit("#keys form button").await;
    assert!(b.has("#no-keys").await);
    assert_eq!(introspect().await.unwrap().status(), 401);
    // The audit log exports what happened, as CSV and as JSON lines.
    b.goto(&format!("{}/orgs/{org}/audit?event=api_key", srv.url))
        .await;
    assert!(b.text("#events").await.contains("api_key.revoked"));
    let cookie = b
        .cookies()
        .await
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let get = |format: &str| {
        reqwest::Client::new()
            .get(format!(
                "{}/orgs/{org}/audit/export?event=api_key&format={format}",
                srv.url
            ))
            .header("cookie", &cookie)
            .send()
    };
    let csv = get("csv").await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("id,at,event,actor_id,subject_id,ip,user_agent,details\r\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let jsonl = get("jsonl").await.unwrap().text().await.unwrap();
    let events: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "api_key.revoked");
    assert_eq!(events[1]["event"], "api_key.created");
    assert!(!jsonl.contains(&key), "the key is never in the log");
    b.close().await;
}
