//! `twofold mfa` and `recovery-codes` at a terminal: adding an app from the QR code the
//! terminal draws, a guarded change asking for a second factor inline, removing a factor
//! with a code from it.

use super::{Desk, read_terminal_qr, secret_of, totp};

#[test]
fn add_an_app_then_a_guarded_change_asks_for_a_code_inline_then_remove_it() {
    let desk = Desk::start();
    desk.user("alice", "member");
    // Signed in with the password alone (no factor yet): a session that never passed a
    // second factor.
    desk.sign_in("alice", None);

    let mut t = desk.terminal(&["mfa", "add-app", "--name", "Phone"]);
    t.expect("Code from the email: ");
    t.type_line(&desk.code_mailed("alice", "Your code to add an authenticator app", 0));
    let screen = t.expect("Or type this key into the app: ");
    let secret = secret_of(&read_terminal_qr(&screen));
    // A phone whose clock is two minutes slow: told so in plain words, then asked again.
    t.answer("Code from the app: ", &totp(&secret, -4));
    // (120 seconds, or 150 if a new time step began before the server saw it.)
    let said = t.expect(" seconds behind");
    assert!(
        said.ends_with("clock looks 120") || said.ends_with("clock looks 150"),
        "{said}"
    );
    t.answer("Code from the app: ", &totp(&secret, -1));
    t.expect("Phone is added.");
    t.finish_ok();

    let list = desk.script(&["mfa", "list"], None);
    assert!(
        list.stdout.contains("Phone") && list.stdout.contains("active"),
        "{list:?}"
    );

    // New recovery codes need a fresh second factor, which this session never passed:
    // asked for inline, then the command goes on.
    let mut t = desk.terminal(&["recovery-codes", "new"]);
    t.expect("This change needs your second factor again.");
    t.answer("Code from your authenticator app: ", &totp(&secret, 0));
    t.expect("Your new recovery codes");
    let (status, screen) = t.finish();
    assert_eq!(status, 0, "{screen}");
    let codes = screen
        .split_whitespace()
        .filter(|w| w.len() == 11 && w.as_bytes()[5] == b'-')
        .count();
    assert_eq!(codes, 10, "{screen}");

    // Removing the app takes a code from it.
    let mut t = desk.terminal(&["mfa", "remove", "Phone"]);
    t.answer("Code from Phone (the app you are removing): ", "000000");
    t.expect("That code is not right");
    t.answer(
        "Code from Phone (the app you are removing): ",
        &totp(&secret, 1),
    );
    t.expect("Phone is removed.");
    t.finish_ok();
    let list = desk.script(&["mfa", "list"], None);
    assert!(list.stdout.contains("No second factors yet"), "{list:?}");
}
