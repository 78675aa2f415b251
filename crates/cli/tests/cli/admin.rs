//! The offline admin commands (`org create`, `user create`): what they print, how they
//! fail, where they find the database, and that they work beside a running server.

use crate::support::{Server, TempDir, assert_uuid, create_org_and_user, run, serve_cmd, twofold};

/// `twofold --data-dir DIR <args>`.
fn admin(dir: &TempDir, args: &[&str]) -> std::process::Command {
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg()]).args(args);
    cmd
}

#[test]
fn org_create_prints_the_org_id_and_user_create_prints_the_user_id() {
    let dir = TempDir::new();
    let out = run(
        &mut admin(&dir, &["org", "create", "acme", "--name", "Acme Corp"]),
        None,
    );
    let org_id = out.one_stdout_line();
    assert_uuid(org_id);
    assert_eq!(out.stderr, "");

    let mut cmd = admin(
        &dir,
        &["user", "create", "--org", "acme", "--username", "alice"],
    );
    cmd.args([
        "--email",
        "alice@example.com",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    let out = run(&mut cmd, Some("correct horse battery staple\n"));
    let user_id = out.one_stdout_line();
    assert_uuid(user_id);
    assert_ne!(org_id, user_id);

    // A federated user has no password; the flag is accepted without one.
    let mut cmd = admin(
        &dir,
        &["user", "create", "--org", "acme", "--username", "bob"],
    );
    cmd.args(["--email", "bob@example.com", "--federated"]);
    assert_uuid(run(&mut cmd, None).one_stdout_line());
}

#[test]
fn creating_an_org_that_exists_exits_1_with_one_line() {
    let dir = TempDir::new();
    assert_uuid(run(&mut admin(&dir, &["org", "create", "acme"]), None).one_stdout_line());
    let out = run(&mut admin(&dir, &["org", "create", "acme"]), None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    let line = out.one_error_line();
    assert!(line.contains("\"acme\" already exists"), "{line}");
}

#[test]
fn creating_a_user_that_exists_exits_1_with_one_line() {
    let dir = TempDir::new();
    assert_uuid(run(&mut admin(&dir, &["org", "create", "acme"]), None).one_stdout_line());
    let create = || {
        let mut cmd = admin(
            &dir,
            &["user", "create", "--org", "acme", "--username", "alice"],
        );
        cmd.args(["--email", "alice@example.com"]);
        run(&mut cmd, None)
    };
    assert_uuid(create().one_stdout_line());
    let out = create();
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.one_error_line().contains("already exists"), "{out:?}");
}

#[test]
fn creating_a_user_in_an_unknown_org_exits_1_with_one_line() {
    let dir = TempDir::new();
    let mut cmd = admin(
        &dir,
        &["user", "create", "--org", "nosuch", "--username", "alice"],
    );
    cmd.args(["--email", "alice@example.com", "--password-stdin"]);
    let out = run(&mut cmd, Some("correct horse battery staple\n"));
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.one_error_line(), "twofold: organisation not found");
}

#[test]
fn org_slug_that_breaks_the_rules_exits_1_with_one_line() {
    let dir = TempDir::new();
    let out = run(&mut admin(&dir, &["org", "create", "Bad_Slug"]), None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.contains("invalid organisation slug \"Bad_Slug\""),
        "{line}"
    );
}

#[test]
fn password_stdin_with_nothing_on_stdin_exits_1() {
    let dir = TempDir::new();
    assert_uuid(run(&mut admin(&dir, &["org", "create", "acme"]), None).one_stdout_line());
    let mut cmd = admin(
        &dir,
        &["user", "create", "--org", "acme", "--username", "alice"],
    );
    cmd.args(["--email", "alice@example.com", "--password-stdin"]);
    let out = run(&mut cmd, Some(""));
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(
        out.one_error_line(),
        "twofold: --password-stdin: no password on standard input"
    );
}

#[test]
fn unknown_role_is_refused_before_the_database_is_touched() {
    let dir = TempDir::new();
    let data = dir.join("data");
    let mut cmd = twofold();
    cmd.args(["--data-dir", &data.display().to_string()])
        .args(["user", "create", "--org", "acme", "--username", "alice"])
        .args(["--email", "alice@example.com", "--role", "superuser"]);
    let out = run(&mut cmd, None);
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.contains("superuser"), "{}", out.stderr);
    // Rejected while parsing the command line: no data directory was created.
    assert!(!data.exists());
}

#[test]
fn admin_commands_find_the_database_through_data_dir_flag_and_twofold_data_dir() {
    let cwd = TempDir::new();
    let a = TempDir::new();
    let b = TempDir::new();

    // Through the environment only.
    let mut cmd = twofold();
    cmd.current_dir(cwd.path())
        .env("TWOFOLD_DATA_DIR", a.path())
        .args(["org", "create", "acme"]);
    assert_uuid(run(&mut cmd, None).one_stdout_line());
    assert!(a.join("twofold.db").is_file());
    assert!(!cwd.join("twofold-data").exists());

    // The flag reaches the same database: the org is already there.
    let mut cmd = twofold();
    cmd.current_dir(cwd.path())
        .args(["--data-dir", &a.arg(), "org", "create", "acme"]);
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.one_error_line().contains("already exists"));

    // The flag beats the environment: B is a different, empty database.
    let mut cmd = twofold();
    cmd.current_dir(cwd.path())
        .env("TWOFOLD_DATA_DIR", a.path())
        .args(["--data-dir", &b.arg(), "org", "create", "acme"]);
    assert_uuid(run(&mut cmd, None).one_stdout_line());
    assert!(b.join("twofold.db").is_file());
    assert!(!cwd.join("twofold-data").exists());
}

#[tokio::test]
async fn admin_commands_work_while_a_server_runs_on_the_same_sqlite_database() {
    let dir = TempDir::new();
    let server = Server::start(serve_cmd(&dir));

    // Created after the server opened the database, by another process.
    let password = "correct horse battery staple";
    let user_id = create_org_and_user(&["--data-dir", &dir.arg()], &[], "acme", "alice", password);

    let api = server.api();
    let session = api.login_password_only("acme", "alice", password).await;
    let me = api.me(&session).await;
    assert_eq!(me.id, user_id);
    assert_eq!(me.org, "acme");
    assert_eq!(me.username, "alice");
    assert_eq!(me.email, "alice@example.com");
    assert_eq!(me.session.aal, 1);
    assert_eq!(me.session.amr, vec!["pwd".to_owned()]);
    assert!(!me.mfa.enrolled);

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}
