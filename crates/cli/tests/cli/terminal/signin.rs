//! `twofold login` at a terminal: the prompts in order, the password unseen, wrong codes
//! said and asked again, a mailed code, the lockout's wait, an expired session, and
//! enrolment with a QR code drawn in the terminal.

use std::os::unix::fs::PermissionsExt;

use super::{Desk, PASSWORD, read_terminal_qr, secret_of, totp};

/// Gives `user` an active authenticator app through the API; answers its secret. The
/// activation takes the previous time step's code, leaving the current one for the test.
pub fn with_app(desk: &Desk, user: &str) -> String {
    let api = desk.server.api();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let session = api.login_password_only("acme", user, PASSWORD).await;
        let e = api.enroll_totp(&session).await;
        let a = api.activate(&session, &e.id, &totp(&e.secret, -1)).await;
        assert!(a.status.is_success(), "{a:?}");
        e.secret
    })
}

#[test]
fn login_asks_in_order_hides_the_password_and_takes_a_right_code_after_a_wrong_one() {
    let desk = Desk::start();
    desk.user("alice", "member");
    let secret = with_app(&desk, "alice");
    let mut t = desk.terminal(&["login"]);
    t.answer("Organisation: ", "acme");
    t.answer("Username: ", "alice");
    t.answer("Password: ", PASSWORD);
    let after_password = t.expect("This account has two-factor authentication enabled.");
    assert!(
        !after_password.contains(PASSWORD) && !t.seen.contains("correct horse"),
        "the password was echoed: {:?}",
        t.seen
    );
    t.answer("Code from your authenticator app: ", "000000");
    t.expect("That code is not right. Try again.");
    t.answer("Code from your authenticator app: ", &totp(&secret, 0));
    t.expect("Signed in to");
    let (status, screen) = t.finish();
    assert_eq!(status, 0, "{screen}");
    let order: Vec<usize> = ["Organisation: ", "Username: ", "Password: ", "Code from"]
        .iter()
        .map(|p| screen.find(p).unwrap())
        .collect();
    assert!(order.is_sorted(), "prompts out of order: {screen}");

    // The session is kept for the next commands, readable by alice alone, without the
    // password.
    let file = desk.sessions_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(
        kept.contains("\"username\": \"alice\"") && kept.contains("tfs_"),
        "{kept}"
    );
    assert!(
        !kept.contains(PASSWORD) && !kept.contains(&secret),
        "{kept}"
    );
    let who = desk.script(&["whoami"], None);
    assert!(who.status.success(), "{who:?}");
    assert!(
        who.stdout.contains("session: aal 2 (pwd, otp)"),
        "{}",
        who.stdout
    );
}

#[test]
fn a_person_slow_at_the_prompt_is_not_failed_by_a_connection_the_server_closed() {
    // The server closes idle connections after 1 s here; the person takes 2 s to type.
    let desk = Desk::start_with_env(&[("TWOFOLD_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    desk.user("alice", "member");
    let secret = with_app(&desk, "alice");
    let mut t = desk.terminal(&["login", "--org", "acme", "--username", "alice"]);
    t.answer("Password: ", PASSWORD);
    t.expect("Code from your authenticator app: ");
    std::thread::sleep(std::time::Duration::from_secs(2));
    t.type_line(&totp(&secret, 0));
    t.expect("Signed in to");
    t.finish_ok();
}

#[test]
fn an_email_code_is_read_from_the_smtp_server() {
    let desk = Desk::with_smtp();
    desk.user("alice", "member");
    // No factor yet: the password alone signs in.
    desk.sign_in("alice", None);
    let mut t = desk.terminal(&["mfa", "add-email", "--name", "Mail"]);
    t.expect("Your one-time code (sent to al***@example.com): ");
    let code = desk.code_mailed("alice", "Your code to set up sign-in codes by email", 0);
    t.type_line(&code);
    t.expect("Mail is added.");
    t.finish_ok();

    let mailed = desk.mail_count();
    let mut t = desk.terminal(&["login", "--org", "acme", "--username", "alice"]);
    t.answer("Password: ", PASSWORD);
    t.expect("This account has two-factor authentication enabled.");
    // The code went out with the password step, and the prompt says where.
    t.expect("Your one-time code (sent to al***@example.com): ");
    let code = desk.code_mailed("alice", "Your sign-in code", mailed);
    t.type_line(&code);
    t.expect("Signed in to");
    t.finish_ok();
}

#[test]
fn a_locked_user_is_told_when_to_try_again() {
    let desk = Desk::start();
    desk.user("alice", "member");
    with_app(&desk, "alice");
    let mut t = desk.terminal(&["login", "--org", "acme", "--username", "alice"]);
    t.answer("Password: ", PASSWORD);
    let mut tries = 0;
    loop {
        let prompt = "Code from your authenticator app: ";
        let (before, seen) = t
            .session
            .exp_any(vec![
                rexpect::ReadUntil::String(prompt.into()),
                rexpect::ReadUntil::String("Try again in".into()),
            ])
            .unwrap();
        t.seen.push_str(&before);
        t.seen.push_str(&seen);
        if seen == "Try again in" {
            break;
        }
        tries += 1;
        assert!(tries <= 6, "never locked: {}", t.seen);
        t.type_line("000000");
    }
    let (status, screen) = t.finish();
    assert_eq!(status, 1, "{screen}");
    let last = screen.lines().last().unwrap();
    assert!(
        last.contains("twofold: Too many wrong codes") && last.contains("Try again in 60 seconds."),
        "{screen}"
    );
}

#[test]
fn an_expired_session_asks_to_sign_in_again_and_the_command_carries_on() {
    let desk = Desk::start();
    desk.user("alice", "member");
    desk.sign_in("alice", None);
    let db = rusqlite::Connection::open(desk.data.join("twofold.db")).unwrap();
    assert_eq!(
        db.execute("UPDATE sessions SET expires_at = 0", [])
            .unwrap(),
        1
    );

    let mut t = desk.terminal(&["mfa", "list"]);
    t.expect("Your session has expired: sign in again.");
    t.answer("Password: ", PASSWORD);
    t.expect("No second factors yet");
    let (status, screen) = t.finish();
    assert_eq!(status, 0, "{screen}");
    assert!(
        !screen.contains("Username"),
        "the username is kept: {screen}"
    );

    // Without a terminal to ask, the command fails and says what to do.
    db.execute("UPDATE sessions SET expires_at = 0", [])
        .unwrap();
    let out = desk.script(&["mfa", "list"], None);
    assert_eq!(out.code(), Some(1));
    assert!(out.one_error_line().contains("twofold login"), "{out:?}");
}

#[test]
fn sign_in_enrols_an_app_with_a_qr_code_drawn_in_the_terminal() {
    let desk = Desk::start();
    desk.user("root", "admin");
    desk.user("bob", "member");
    let secret = with_app(&desk, "root");
    desk.sign_in("root", Some(&totp(&secret, 0)));
    let out = desk.script(&["org", "mfa", "enable", "--keep-sessions"], None);
    assert!(out.status.success(), "{out:?}");

    let mailed = desk.mail_count();
    let mut t = desk.terminal(&["login", "--org", "acme", "--username", "bob"]);
    t.answer("Password: ", PASSWORD);
    t.expect("requires a second factor");
    t.expect("Code from the email: ");
    let code = desk.code_mailed("bob", "Your code to add an authenticator app", mailed);
    t.type_line(&code);
    let screen = t.expect("Or type this key into the app: ");
    let uri = read_terminal_qr(&screen);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let bob_secret = secret_of(&uri);
    let typed_key = t.expect("\n");
    assert_eq!(typed_key.trim().replace(' ', ""), bob_secret);
    t.answer("Code from the app: ", &totp(&bob_secret, 0));
    t.expect("Authenticator app added.");
    t.expect("Signed in to");
    t.finish_ok();
}
