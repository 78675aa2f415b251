//! `--output json` for scripts: every command's result is one JSON document on stdout,
//! and a failure one JSON line on stderr with a stable `code`, with the same exit status
//! as for people. Secrets come from stdin, never argv.

use serde_json::Value;

use super::signin::with_app;
use super::{Desk, PASSWORD, totp};
use crate::support::Finished;

fn json_of(out: &Finished) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"))
}

/// The error a failed command printed, checked to be one JSON line on stderr.
fn error_of(out: &Finished, exit: i32) -> Value {
    assert_eq!(out.code(), Some(exit), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    v["error"].clone()
}

#[test]
fn every_command_answers_json_and_fails_with_a_stable_code() {
    let desk = Desk::start();
    desk.user("root", "admin");
    desk.user("bob", "member");
    let secret = with_app(&desk, "root");
    let j = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        desk.script(&all, None)
    };

    // A wrong code from a script ends the command with the server's code.
    let login = |code: &str| {
        let args = "login --org acme --username root --password-stdin --code-stdin --output json";
        let args: Vec<&str> = args.split(' ').collect();
        desk.script(&args, Some(&format!("{PASSWORD}\n{code}\n")))
    };
    assert_eq!(error_of(&login("000000"), 1)["code"], "invalid_code");
    let out = login(&totp(&secret, 0));
    let login = json_of(&out);
    assert_eq!(
        (login["org"].as_str(), login["username"].as_str()),
        (Some("acme"), Some("root"))
    );

    assert_eq!(json_of(&j(&["whoami"]))["session"]["aal"], 2);
    assert_eq!(json_of(&j(&["mfa", "list"]))[0]["type"], "totp");
    assert!(json_of(&j(&["sessions"]))[0]["current"].as_bool().unwrap());
    assert!(json_of(&j(&["sessions", "list"])).is_array());
    assert!(json_of(&j(&["devices"])).is_array());
    assert_eq!(json_of(&j(&["recovery-codes", "status"]))["remaining"], 0);
    assert_eq!(
        json_of(&j(&["recovery-codes", "new"]))["codes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        json_of(&j(&["mfa", "prefer", "Test phone"]))["preferred"],
        true
    );
    assert_eq!(json_of(&j(&["org", "mfa", "status"]))["required"], false);
    let users = json_of(&j(&["org", "users"]));
    let mfa = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["mfa"]
            .clone()
    };
    assert_eq!(
        (mfa("root"), mfa("bob")),
        ("enrolled".into(), "not_enrolled".into())
    );
    assert!(
        json_of(&j(&["org", "audit", "--limit", "3"]))
            .as_array()
            .unwrap()
            .len()
            <= 3
    );
    assert_eq!(json_of(&j(&["org", "unlock", "bob"]))["unlocked"], "bob");
    let enabled = json_of(&j(&["org", "mfa", "enable", "--keep-sessions"]));
    assert_eq!(enabled["policy"]["required"], true);

    // Failures: the server's code, or the CLI's own.
    assert_eq!(
        error_of(&j(&["mfa", "remove", "nothing-of-that-name"]), 1)["code"],
        "not_found"
    );
    assert_eq!(
        error_of(&j(&["org", "reset-mfa", "nobody"]), 1)["code"],
        "not_found"
    );
    assert_eq!(
        error_of(&j(&["org", "reset-mfa", "root"]), 1)["code"],
        "forbidden"
    );
    let wrong_server = desk.script(&["whoami", "--server", "ftp://x", "--output", "json"], None);
    assert_eq!(error_of(&wrong_server, 2)["code"], "usage");
    let out = j(&["--data-dir", "/tmp", "whoami"]);
    assert_eq!(error_of(&out, 2)["code"], "usage");
    // A command line clap refuses is one JSON line too.
    let out = j(&["mfa", "frobnicate"]);
    assert_eq!(error_of(&out, 2)["code"], "usage");

    let out = json_of(&j(&["sessions", "end", "--others"]));
    assert_eq!(out["ended"], "others");
    let out = json_of(&j(&["logout"]));
    assert_eq!(out["signed_out"], true);
    // Signed out, and no terminal to ask for a password.
    assert_eq!(error_of(&j(&["whoami"]), 1)["code"], "unauthenticated");
    // A password alone does not say who to sign in as: `twofold login` does.
    let out = desk.script(
        &["whoami", "--password-stdin", "--output", "json"],
        Some(&format!("{PASSWORD}\n")),
    );
    let error = error_of(&out, 1);
    assert_eq!(error["code"], "unauthenticated");
    assert!(
        error["message"].as_str().unwrap().contains("twofold login"),
        "{error}"
    );

    // The database commands too.
    let created = json_of(&desk.script(
        &[
            "--data-dir",
            &desk.data.arg(),
            "org",
            "create",
            "beta",
            "--output",
            "json",
        ],
        None,
    ));
    assert_eq!(created["id"].as_str().unwrap().len(), 36);
    let key = json_of(&desk.script(&["secret-key", "generate", "--output", "json"], None));
    assert!(key["key"].is_string());
    let listed = json_of(&desk.script(
        &[
            "--data-dir",
            &desk.data.arg(),
            "user",
            "list",
            "--org",
            "acme",
            "--output",
            "json",
        ],
        None,
    ));
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[test]
fn shell_completions_and_help_with_examples() {
    let desk = Desk::start();
    for shell in ["bash", "zsh", "fish"] {
        let out = desk.script(&["completions", shell], None);
        assert!(
            out.status.success() && out.stdout.contains("add-app"),
            "{shell}: {out:?}"
        );
    }
    let help = desk.script(&["--help"], None);
    assert!(
        help.stdout
            .contains("Commands that talk to a Twofold server"),
        "{help:?}"
    );
    assert!(
        help.stdout
            .contains("Commands that open the database directly"),
        "{help:?}"
    );
    let help = desk.script(&["mfa", "add-app", "--help"], None);
    assert!(
        help.stdout.contains("Example: twofold mfa add-app"),
        "{help:?}"
    );
    assert!(
        help.stdout.contains("--server") && !help.stdout.contains("--data-dir"),
        "{help:?}"
    );
    let help = desk.script(&["user", "list", "--help"], None);
    assert!(
        help.stdout.contains("--data-dir") && !help.stdout.contains("--server"),
        "{help:?}"
    );
}
