//! `twofold org …` at a terminal: an admin requires MFA, reads the users' MFA column,
//! resets and unlocks a user, reads the audit log, and turns MFA off with the code mailed
//! to them.

use super::signin::with_app;
use super::{Desk, PASSWORD, totp};

#[test]
fn an_admin_runs_the_organisation_from_the_terminal() {
    let desk = Desk::start();
    desk.user("root", "admin");
    desk.user("bob", "member");
    let root = with_app(&desk, "root");
    let bob = with_app(&desk, "bob");

    let mut t = desk.terminal(&["login", "--org", "acme", "--username", "root"]);
    t.answer("Password: ", PASSWORD);
    t.answer("Code from your authenticator app: ", &totp(&root, 0));
    t.expect("Signed in to");
    t.finish_ok();

    let out = desk.script(
        &[
            "org",
            "mfa",
            "enable",
            "--keep-sessions",
            "--grace-days",
            "3",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("MFA is now required in acme"),
        "{out:?}"
    );
    let status = desk.script(&["org", "mfa", "status"], None);
    assert!(
        status.stdout.contains("MFA is required in acme"),
        "{status:?}"
    );

    // bob locks himself out: five wrong codes.
    let api = desk.server.api();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..5 {
            let flow = api.start_flow("acme", "bob", PASSWORD).await;
            api.mfa(&flow, "000000").await;
        }
    });
    let users = desk.script(&["org", "users"], None);
    assert!(users.status.success(), "{users:?}");
    let lines: Vec<&str> = users.stdout.lines().collect();
    assert!(
        lines[0].contains("USERNAME") && lines[0].contains("MFA"),
        "{users:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("bob ") && l.contains("enrolled")),
        "{users:?}"
    );

    let out = desk.script(&["org", "unlock", "bob"], None);
    assert!(
        out.status.success() && out.stdout.contains("bob is unlocked"),
        "{out:?}"
    );
    let out = desk.script(&["org", "reset-mfa", "bob"], None);
    assert!(
        out.status.success() && out.stdout.contains("MFA of bob reset"),
        "{out:?}"
    );
    let users = desk.script(&["org", "users"], None);
    assert!(
        users
            .stdout
            .lines()
            .any(|l| l.starts_with("bob ") && l.contains("not enrolled")),
        "{users:?}"
    );
    let _ = bob;
    let audit = desk.script(&["org", "audit", "--user", "bob"], None);
    assert!(audit.status.success(), "{audit:?}");
    for event in ["mfa.reset", "mfa.unlocked", "mfa.locked"] {
        assert!(audit.stdout.contains(event), "{event}: {audit:?}");
    }
    assert!(
        audit.stdout.contains("root"),
        "actors by username: {audit:?}"
    );

    // Turning MFA off: the code mailed to root, a wrong one first.
    let mailed = desk.mail_count();
    let mut t = desk.terminal(&["org", "mfa", "disable"]);
    t.expect("To confirm, a code was mailed to your address");
    t.answer("Code from the email: ", "000000");
    t.expect("That code is not right");
    t.expect("Code from the email: ");
    t.type_line(&desk.code_mailed("root", "Your code to turn off MFA", mailed));
    t.expect("MFA is no longer required in acme.");
    t.finish_ok();
}

#[test]
fn enabling_with_invalidate_sessions_ends_the_admins_own_session_too() {
    let desk = Desk::start();
    desk.user("root", "admin");
    let root = with_app(&desk, "root");
    desk.sign_in("root", Some(&totp(&root, 0)));
    let out = desk.script(&["org", "mfa", "enable", "--invalidate-sessions"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("Yours too: sign in again"), "{out:?}");
    let who = desk.script(&["whoami"], None);
    assert_eq!(who.code(), Some(1), "{who:?}");
    assert!(who.one_error_line().contains("twofold login"), "{who:?}");
}
