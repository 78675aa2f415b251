//! Break-glass for operators, offline on the database while the server runs: list an
//! organisation's users with their MFA status and locks, unlock one, reset one's MFA, set
//! one's password — each audited as done by the operator, each failure one line and a
//! non-zero exit.

use twofold_proto::LoginResponse;

use crate::support::{
    Server, TempDir, create_org_and_user, create_user, run, serve_cmd, totp_codes, twofold,
};

const PASSWORD: &str = "correct horse battery staple";

fn cli(dir: &TempDir, args: &[&str]) -> std::process::Command {
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg()])
        .args(args)
        .env("USER", "ops-oncall");
    cmd
}

/// The audit events of the database in `dir`, oldest first: (event, details).
fn audit(dir: &TempDir) -> Vec<(String, serde_json::Value)> {
    let conn = rusqlite::Connection::open(dir.join("twofold.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT event, details FROM audit_events ORDER BY at, id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (e, d) = r.unwrap();
            (e, serde_json::from_str(&d).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_lists_unlocks_resets_and_sets_passwords_offline() {
    let dir = TempDir::new();
    let server = Server::start(serve_cmd(&dir));
    let args = ["--data-dir".to_owned(), dir.arg()];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    create_org_and_user(&args, &[], "acme", "alice", PASSWORD);
    create_user(&args, &[], "acme", "bob", PASSWORD);
    let api = server.api();

    // Alice enrols an app, then her second step is locked by wrong codes.
    let session = api.login_password_only("acme", "alice", PASSWORD).await;
    let e = api.enroll_totp(&session).await;
    let codes = totp_codes(&e.secret, &[0, 1]);
    assert_eq!(
        api.activate(&session, &e.id, &codes[0].code).await.status,
        200
    );
    let flow = api.start_flow("acme", "alice", PASSWORD).await;
    let wrong = if codes[1].code == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        api.mfa(&flow, wrong).await;
    }
    assert_eq!(api.mfa(&flow, &codes[1].code).await.status, 429);

    // The list, for people and for scripts.
    let out = run(&mut cli(&dir, &["user", "list", "--org", "acme"]), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("USERNAME") && lines[0].contains("LOCKED UNTIL"),
        "{}",
        out.stdout
    );
    assert!(
        lines[1].starts_with("alice") && lines[1].contains("enrolled") && !lines[1].ends_with('-'),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].starts_with("bob") && lines[2].contains("not enrolled") && lines[2].ends_with('-'),
        "{}",
        out.stdout
    );
    let out = run(
        &mut cli(&dir, &["user", "list", "--org", "acme", "--output", "json"]),
        None,
    );
    let users: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["mfa"], "enrolled");
    assert!(users[0]["locked_until"].is_string(), "{users}");
    assert!(users[1]["locked_until"].is_null(), "{users}");

    // Unlock: her code works again at once.
    let out = run(
        &mut cli(
            &dir,
            &["user", "unlock", "--org", "acme", "--username", "alice"],
        ),
        None,
    );
    assert_eq!(
        (out.code(), out.stdout.trim()),
        (Some(0), "unlocked alice"),
        "{out:?}"
    );
    let flow = api.start_flow("acme", "alice", PASSWORD).await;
    assert_eq!(api.mfa(&flow, &codes[1].code).await.status, 200);

    // Reset: her factors and sessions go, she is mailed, and her password alone signs in.
    let out = run(
        &mut cli(
            &dir,
            &["user", "reset-mfa", "--org", "acme", "--username", "alice"],
        ),
        None,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("1 factor(s) removed"), "{}", out.stdout);
    assert!(matches!(
        api.login("acme", "alice", PASSWORD).await,
        LoginResponse::Authenticated { .. }
    ));
    let mail = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .any(|m| m.contains("Subject: Your two-step sign-in was reset"));
    assert!(mail, "no reset notice in the outbox");

    // Set a password: read from stdin; bob's session ends; the old password stops working.
    let bob = api.login_password_only("acme", "bob", PASSWORD).await;
    let mut cmd = cli(
        &dir,
        &[
            "user",
            "set-password",
            "--org",
            "acme",
            "--username",
            "bob",
            "--password-stdin",
        ],
    );
    let out = run(&mut cmd, Some("a brand new passphrase\n"));
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("1 session(s) ended"), "{}", out.stdout);
    let gone = api
        .send(reqwest::Method::GET, "/me", Some(&bob), None)
        .await;
    assert_eq!(gone.status, 401);
    assert_eq!(api.login_answer("acme", "bob", PASSWORD).await.status, 401);
    api.login_password_only("acme", "bob", "a brand new passphrase")
        .await;

    // Each audited as the operator's, with no user as actor.
    let events = audit(&dir);
    for name in ["mfa.unlocked", "mfa.reset", "password.changed"] {
        let (_, details) = events
            .iter()
            .rev()
            .find(|(e, _)| e == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(details["via"], "cli", "{name}");
        assert_eq!(details["operator"], "ops-oncall", "{name}");
    }
    drop(server);
}

#[test]
fn break_glass_mistakes_are_one_line_and_change_nothing() {
    let dir = TempDir::new();
    let args = ["--data-dir".to_owned(), dir.arg()];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    create_org_and_user(&args, &[], "acme", "alice", PASSWORD);
    for (argv, stdin, want) in [
        (
            vec!["user", "reset-mfa", "--org", "acme", "--username", "nobody"],
            None,
            "user not found",
        ),
        (
            vec!["user", "unlock", "--org", "nowhere", "--username", "alice"],
            None,
            "organisation not found",
        ),
        (
            vec!["user", "list", "--org", "nowhere"],
            None,
            "organisation not found",
        ),
        (
            vec![
                "user",
                "set-password",
                "--org",
                "acme",
                "--username",
                "alice",
                "--password-stdin",
            ],
            Some("short\n"),
            "password must be 8 to 1024 characters",
        ),
    ] {
        let out = run(&mut cli(&dir, &argv), stdin);
        assert_eq!(out.code(), Some(1), "{argv:?}: {out:?}");
        assert!(out.one_error_line().contains(want), "{argv:?}: {out:?}");
        assert_eq!(out.stdout, "", "{argv:?}");
    }
    // A password is never an argument.
    let out = run(
        &mut cli(
            &dir,
            &[
                "user",
                "set-password",
                "--org",
                "acme",
                "--username",
                "alice",
            ],
        ),
        None,
    );
    assert_eq!(out.code(), Some(2), "{out:?}");
}
