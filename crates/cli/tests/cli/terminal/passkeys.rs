//! Passkeys at a terminal: `twofold mfa` lists, renames and removes them but never uses
//! one (a passkey needs a browser). Removing one asks for another second factor instead of
//! a code from it, and an account whose only second factor is a passkey is sent to the web
//! pages. The passkeys are registered through the API by a software authenticator
//! (`webauthn-authenticator-rs`'s soft passkey), answering for the server's public URL.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use super::{Desk, PASSWORD, totp};

/// The server's public URL: its host is the relying party, and the authenticator answers
/// for this origin (nobody connects to it; the tests reach the server at 127.0.0.1).
const ORIGIN: &str = "http://localhost:8080";

fn desk() -> Desk {
    Desk::start_with_env(&[("TWOFOLD_PUBLIC_URL", ORIGIN)])
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The session the command line keeps (signed in by [`Desk::sign_in`]).
fn kept_session(desk: &Desk) -> String {
    let kept: Value =
        serde_json::from_slice(&std::fs::read(desk.sessions_file()).unwrap()).unwrap();
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(m) => m
                .get("session_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(&kept).unwrap_or_else(|| panic!("no session kept: {kept}"))
}

/// `POST path` with `session` and, if given, an elevated token.
async fn post(
    desk: &Desk,
    path: &str,
    session: &str,
    elevated: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(desk.server.url(&format!("/api/v1{path}")))
        .bearer_auth(session)
        .json(&body);
    if let Some(t) = elevated {
        req = req.header("x-elevated-token", t);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

/// Registers a passkey `name` for `user` with `session` (and `elevated`, once the user has
/// a factor); for the user's first factor, with the code mailed first. Answers the factor.
async fn register_passkey(
    desk: &Desk,
    session: &str,
    elevated: Option<&str>,
    user: &str,
    name: &str,
) -> Value {
    let begin = "/me/factors/webauthn/begin";
    let mailed = desk.mail_count();
    let (mut status, mut options) =
        post(desk, begin, session, elevated, json!({ "name": name })).await;
    if status == StatusCode::ACCEPTED {
        let code = desk.code_mailed(user, "Your code to add a passkey", mailed);
        let body = json!({ "name": name, "confirmation_code": code });
        (status, options) = post(desk, begin, session, elevated, body).await;
    }
    assert_eq!(status, StatusCode::OK, "{options}");
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = WebauthnAuthenticator::new(SoftPasskey::new(true))
        .do_registration(Url::parse(ORIGIN).unwrap(), options)
        .unwrap();
    let finish = "/me/factors/webauthn/finish";
    let (status, factor) = post(
        desk,
        finish,
        session,
        elevated,
        json!({ "credential": credential }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{factor}");
    factor
}

#[test]
fn a_passkey_is_listed_renamed_and_removed_with_another_second_factor() {
    let desk = desk();
    desk.user("alice", "member");
    // The command line's session adds an app and, with an elevated token, a passkey
    // through the API: it passes no second factor itself (a user's first factor ends their
    // other password-only sessions, so these go through the session kept).
    desk.sign_in("alice", None);
    let session = kept_session(&desk);
    let (secret, passkey) = block_on(async {
        let api = desk.server.api();
        let app = api.enroll_totp(&session).await;
        let a = api
            .activate(&session, &app.id, &totp(&app.secret, -1))
            .await;
        assert!(a.status.is_success(), "{a:?}");
        let body =
            json!({"method": "totp", "code": totp(&app.secret, 0), "scopes": ["mfa:manage"]});
        let (status, e) = post(&desk, "/auth/step-up", &session, None, body).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        let elevated = e["elevated_token"].as_str().unwrap();
        let passkey = register_passkey(&desk, &session, Some(elevated), "alice", "YubiKey").await;
        (app.secret, passkey)
    });
    assert_eq!(passkey["type"], "webauthn", "{passkey}");

    let list = desk.script(&["mfa", "list"], None);
    assert!(list.status.success(), "{list:?}");
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains("YubiKey"))
        .unwrap_or_else(|| panic!("{list:?}"));
    assert!(row.contains("passkey") && row.contains("active"), "{row}");
    let listed: Value = serde_json::from_str(
        &desk
            .script(&["mfa", "list", "--output", "json"], None)
            .stdout,
    )
    .unwrap();
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == passkey["id"])
        .unwrap()
        .clone();
    assert_eq!(listed["passkey"]["possibly_cloned"], false, "{listed}");

    // Renamed by its name, then by its id for a script.
    let renamed = desk.script(&["mfa", "rename", "yubikey", "Blue key"], None);
    assert!(renamed.status.success(), "{renamed:?}");
    assert_eq!(renamed.stdout.trim(), "YubiKey is now named Blue key.");
    let id = passkey["id"].as_str().unwrap();
    let out = desk.script(
        &["mfa", "rename", id, "  Blue YubiKey ", "--output", "json"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let renamed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (&renamed["id"], &renamed["name"]),
        (&passkey["id"], &json!("Blue YubiKey"))
    );
    let bad = desk.script(&["mfa", "rename", id, " ", "--output", "json"], None);
    assert_eq!(bad.code(), Some(1), "{bad:?}");
    assert!(bad.stderr.contains("invalid_request"), "{bad:?}");
    let missing = desk.script(&["mfa", "rename", "Green key", "x"], None);
    assert!(
        !missing.status.success() && missing.stderr.contains("no factor \"Green key\""),
        "{missing:?}"
    );

    // A passkey answers no code here: removing it asks for the app's code (this session
    // never passed a second factor), then it goes.
    let mut t = desk.terminal(&["mfa", "remove", "Blue YubiKey"]);
    t.expect("This change needs your second factor again.");
    t.answer("Code from your authenticator app: ", &totp(&secret, 1));
    t.expect("Blue YubiKey is removed.");
    let (status, screen) = t.finish();
    assert_eq!(status, 0, "{screen}");
    assert!(!screen.contains("(the app you are removing)"), "{screen}");
    let left: Value = serde_json::from_str(
        &desk
            .script(&["mfa", "list", "--output", "json"], None)
            .stdout,
    )
    .unwrap();
    let types: Vec<&Value> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["type"])
        .collect();
    assert_eq!(types, [&json!("totp")], "{left}");
}

#[test]
fn an_account_whose_only_second_factor_is_a_passkey_is_sent_to_the_web_pages() {
    let desk = desk();
    desk.user("bob", "member");
    desk.sign_in("bob", None);
    let session = kept_session(&desk);
    block_on(register_passkey(&desk, &session, None, "bob", "Laptop"));

    let list = desk.script(&["mfa", "list"], None);
    assert!(list.stdout.contains("Laptop"), "{list:?}");

    // Removing it needs a fresh second factor, and the only one needs a browser.
    let out = desk.script(&["mfa", "remove", "Laptop"], None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("passkey, which needs a browser"),
        "{out:?}"
    );

    // Signing in likewise: one line saying where to go, no prompt for a code.
    let login = desk.script(
        &[
            "login",
            "--org",
            "acme",
            "--username",
            "bob",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.code(), Some(1), "{login:?}");
    assert!(
        login.stderr.contains("web pages") && !login.stderr.contains("Code from"),
        "{login:?}"
    );
    let login = desk.script(
        &[
            "login",
            "--org",
            "acme",
            "--username",
            "bob",
            "--password-stdin",
            "--output",
            "json",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.code(), Some(1), "{login:?}");
    let error: Value = serde_json::from_str(login.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "method_not_available", "{login:?}");
    // The passkey is still there.
    let list = desk.script(&["mfa", "list", "--output", "json"], None);
    assert!(list.stdout.contains("webauthn"), "{list:?}");
}
