//! `twofold backup` and `twofold restore`: a consistent copy while a server signs people
//! in, and a restore after which every code accepted before it stays refused (the fence of
//! `twofold_core::domain::backup`), with the server's clock moved past the fence instead of
//! waiting for it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use twofold_proto::{ErrorCode, LoginResponse};

use crate::secret_key::generate_key;
use crate::support::{
    Api, Finished, Server, TempDir, concurrently, create_org_and_user, run, serve_cmd, totp_codes,
    totp_codes_at, twofold,
};

const PASSWORD: &str = "correct horse battery staple";
/// Every process of these tests accepts ±3 steps, so a code stays good for minutes however
/// slowly the machine runs them. The fence then reaches 10 + 3 steps ahead.
const WINDOW: &str = "3";

/// `twofold --data-dir DIR ARGS…` with the test's key and window.
fn cmd(dir: &TempDir, key: &str, args: &[&str]) -> Command {
    let mut c = twofold();
    c.args(["--data-dir", &dir.arg()])
        .args(args)
        .env("TWOFOLD_SECRET_KEY", key)
        .env("TWOFOLD_TOTP_WINDOW", WINDOW);
    c
}

fn serve(dir: &TempDir, key: &str, clock_offset_secs: u64) -> Server {
    let mut c = serve_cmd(dir);
    c.env("TWOFOLD_SECRET_KEY", key)
        .env("TWOFOLD_TOTP_WINDOW", WINDOW)
        .env(
            "TWOFOLD_TEST_CLOCK_OFFSET_SECS",
            clock_offset_secs.to_string(),
        );
    Server::start(c)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The second step of a sign-in with `code`.
async fn sign_in(api: &Api, code: &str) -> crate::support::Answer {
    let flow = api.start_flow("acme", "alice", PASSWORD).await;
    api.mfa(&flow, code).await
}

fn signed_in(answer: &crate::support::Answer) {
    match answer.json::<LoginResponse>() {
        LoginResponse::Authenticated { .. } => {}
        other => panic!("expected a session, got {other:?}"),
    }
}

fn json_out(f: &Finished) -> Value {
    assert!(f.status.success(), "{f:?}");
    serde_json::from_str(&f.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// alice of acme, with an authenticator app activated by the code of step P: answers the
/// app's secret and P.
async fn alice_with_an_app(dir: &TempDir, key: &str, server: &Server) -> (String, u64) {
    let env = [("TWOFOLD_SECRET_KEY", key)];
    create_org_and_user(&["--data-dir", &dir.arg()], &env, "acme", "alice", PASSWORD);
    let api = server.api();
    let session = api.login_password_only("acme", "alice", PASSWORD).await;
    let app = api.enroll_totp(&session).await;
    let codes = totp_codes(&app.secret, &[0]);
    let activated = api.activate(&session, &app.id, &codes[0].code).await;
    assert!(activated.status.is_success(), "{activated:?}");
    (app.secret, codes[0].step)
}

#[tokio::test]
async fn after_a_restore_codes_accepted_before_it_are_refused_and_later_ones_sign_in() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let key_id = key.split_once(':').unwrap().0.to_owned();
    let server = serve(&dir, &key, 0);
    let (secret, p) = alice_with_an_app(&dir, &key, &server).await;
    let api = server.api();
    // Steps P+1 and P+2, read from one clock reading: inside the ±3 window for minutes.
    let steps = totp_codes(&secret, &[1, 2]);
    let (before, after) = (&steps[0], &steps[1]);
    assert_eq!(
        before.step,
        p + 1,
        "the clock moved on between two readings"
    );

    // A sign-in before the backup, the backup while the server runs, a sign-in after it.
    let early = sign_in(&api, &before.code).await;
    signed_in(&early);
    let early = early.body["session_token"].as_str().unwrap().to_owned();
    let file = dir.join("twofold-backup.db");
    let backed_up = run(
        &mut cmd(
            &dir,
            &key,
            &["--output", "json", "backup", &file.display().to_string()],
        ),
        None,
    );
    let backed_up = json_out(&backed_up);
    assert_eq!(backed_up["secret_key_ids"], serde_json::json!([key_id]));
    assert_eq!(mode(&file), 0o600, "the copy must be private");
    signed_in(&sign_in(&api, &after.code).await);
    // Signed out after the backup: the copy still holds that session.
    api.logout(&early).await;
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");

    // The copy forgets the second sign-in's step; the restore's fence does not.
    let restored = run(
        &mut cmd(&dir, &key, &["restore", &file.display().to_string()]),
        None,
    );
    assert!(restored.status.success(), "{restored:?}");
    assert!(restored.stdout.contains(&key_id), "{restored:?}");
    assert!(
        restored.stdout.contains("accepted again from"),
        "{restored:?}"
    );
    assert!(file.exists(), "a restore only reads the backup");
    assert_eq!(mode(&dir.join("twofold.db")), 0o600);

    let server = serve(&dir, &key, 0);
    let api = server.api();
    // The code accepted after the backup is a replay, and so is any other code now (the
    // current step's: never used, but below the fence).
    sign_in(&api, &after.code)
        .await
        .expect_problem(401, ErrorCode::CodeReused);
    let fresh = totp_codes(&secret, &[0]);
    sign_in(&api, &fresh[0].code)
        .await
        .expect_problem(401, ErrorCode::CodeReused);
    // The session signed out of after the backup does not come back: a restore ends them
    // all.
    api.send(reqwest::Method::GET, "/me", Some(&early), None)
        .await
        .expect_problem(401, ErrorCode::Unauthenticated);
    server.terminate();

    // Fifteen minutes later (past the fence of 13 steps), the app enrolled before the
    // backup signs alice in with a code of that time.
    let later = 15 * 60;
    let server = serve(&dir, &key, later);
    let api = server.api();
    let code = totp_codes_at(&secret, now_secs() + later, &[0]);
    signed_in(&sign_in(&api, &code[0].code).await);
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

#[tokio::test]
async fn a_backup_taken_while_a_server_signs_people_in_is_consistent_and_restores() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let server = serve(&dir, &key, 0);
    let env = [("TWOFOLD_SECRET_KEY", key.as_str())];
    create_org_and_user(&["--data-dir", &dir.arg()], &env, "acme", "bob", PASSWORD);
    let api = server.api();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Sign-ins (each a session row and a user row written) from four clients at once.
    let clients: Vec<_> = (0..4).map(|_| (api.clone(), stop.clone())).collect();
    let traffic = concurrently(clients.into_iter().map(|(api, stop)| async move {
        let mut n = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            api.login_password_only("acme", "bob", PASSWORD).await;
            n += 1;
        }
        n
    }));
    let traffic = tokio::spawn(traffic);
    let copies: Vec<_> = (0..3).map(|i| dir.join(format!("copy-{i}.db"))).collect();
    for copy in &copies {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut c = cmd(&dir, &key, &["backup", &copy.display().to_string()]);
        let out = tokio::task::spawn_blocking(move || run(&mut c, None))
            .await
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let signed_in: u32 = traffic.await.unwrap().iter().sum();
    assert!(signed_in > 0);
    server.terminate();

    for copy in &copies {
        assert_eq!(mode(copy), 0o600);
        let db =
            rusqlite::Connection::open_with_flags(copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let verdict: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(verdict, "ok", "{}", copy.display());
        let users: i64 = db
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 1);
    }

    // The last copy, restored into a new data directory, serves bob.
    let other = TempDir::new();
    let restored = run(
        &mut cmd(&other, &key, &["restore", &copies[2].display().to_string()]),
        None,
    );
    assert!(restored.status.success(), "{restored:?}");
    let server = serve(&other, &key, 0);
    server
        .api()
        .login_password_only("acme", "bob", PASSWORD)
        .await;
    server.terminate();
}

#[test]
fn backup_never_replaces_a_file() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let existing = dir.join("precious.db");
    std::fs::write(&existing, "an older backup").unwrap();
    let out = run(
        &mut cmd(&dir, &key, &["backup", &existing.display().to_string()]),
        None,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.one_error_line().contains("already exists"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "an older backup"
    );
}

#[test]
fn backup_and_restore_of_postgresql_point_at_its_own_tools() {
    let dir = TempDir::new();
    let file = dir.join("copy.db");
    let file_arg = file.display().to_string();
    // Nothing listens there: the answer comes before any connection.
    let url = "postgres://twofold@127.0.0.1:1/twofold";
    let mut backup = twofold();
    backup.args(["--database-url", url, "backup", &file_arg]);
    let out = run(&mut backup, None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.one_error_line().contains("pg_dump"), "{out:?}");
    assert!(!file.exists());

    std::fs::write(&file, "not used").unwrap();
    let mut restore = twofold();
    restore.args(["--database-url", url, "restore", &file_arg]);
    let out = run(&mut restore, None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.contains("pg_restore") && line.contains("--in-place"),
        "{out:?}"
    );
}

#[tokio::test]
async fn restore_refuses_while_a_server_uses_the_database() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let server = serve(&dir, &key, 0);
    let env = [("TWOFOLD_SECRET_KEY", key.as_str())];
    create_org_and_user(&["--data-dir", &dir.arg()], &env, "acme", "carol", PASSWORD);
    let file = dir.join("copy.db");
    let backup = run(
        &mut cmd(&dir, &key, &["backup", &file.display().to_string()]),
        None,
    );
    assert!(backup.status.success(), "{backup:?}");

    let out = run(
        &mut cmd(&dir, &key, &["restore", &file.display().to_string()]),
        None,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.one_error_line().contains("in use"), "{out:?}");
    // The server goes on with its database.
    server
        .api()
        .login_password_only("acme", "carol", PASSWORD)
        .await;
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn restore_refuses_what_is_not_a_twofold_backup_and_leaves_the_database() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let env = [("TWOFOLD_SECRET_KEY", key.as_str())];
    create_org_and_user(&["--data-dir", &dir.arg()], &env, "acme", "dave", PASSWORD);
    let before = std::fs::read(dir.join("twofold.db")).unwrap();

    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words").unwrap();
    let other_sqlite = dir.join("other.db");
    rusqlite::Connection::open(&other_sqlite)
        .unwrap()
        .execute_batch("CREATE TABLE t (v); INSERT INTO t VALUES (1);")
        .unwrap();
    let missing = dir.join("missing.db");
    for (file, says) in [
        (&text, "not a Twofold backup"),
        (&other_sqlite, "not a Twofold database"),
        (&missing, "missing.db"),
    ] {
        let out = run(
            &mut cmd(&dir, &key, &["restore", &file.display().to_string()]),
            None,
        );
        assert_eq!(out.code(), Some(1), "{out:?}");
        assert!(out.one_error_line().contains(says), "{says}: {out:?}");
    }
    assert_eq!(std::fs::read(dir.join("twofold.db")).unwrap(), before);
    assert!(!dir.join("twofold.db.restoring").exists());
    assert!(!missing.exists(), "a restore never creates its source");
}

#[tokio::test]
async fn restore_in_place_fences_a_database_put_back_by_hand() {
    let dir = TempDir::new();
    let key = generate_key(&dir);
    let server = serve(&dir, &key, 0);
    let (secret, p) = alice_with_an_app(&dir, &key, &server).await;
    let api = server.api();
    let file = dir.join("copy.db");
    let backup = run(
        &mut cmd(&dir, &key, &["backup", &file.display().to_string()]),
        None,
    );
    assert!(backup.status.success(), "{backup:?}");
    let code = totp_codes(&secret, &[1]);
    assert_eq!(
        code[0].step,
        p + 1,
        "the clock moved on between two readings"
    );
    signed_in(&sign_in(&api, &code[0].code).await);
    server.terminate();

    // The operator copies the file back themselves (as pg_restore would), then fences.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("twofold.db{suffix}")));
    }
    std::fs::copy(&file, dir.join("twofold.db")).unwrap();
    let fenced = run(
        &mut cmd(&dir, &key, &["--output", "json", "restore", "--in-place"]),
        None,
    );
    let fenced = json_out(&fenced);
    assert_eq!(fenced["apps_fenced"], 1, "{fenced}");

    let server = serve(&dir, &key, 0);
    sign_in(&server.api(), &code[0].code)
        .await
        .expect_problem(401, ErrorCode::CodeReused);
    server.terminate();
}

/// A file of `docs/deploy/`.
fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_deployment_files_use_flags_and_settings_the_binary_has() {
    let unit = deploy_file("twofold.service");
    let dockerfile = deploy_file("Dockerfile");

    // ExecStart's flags: those before `serve` are the binary's, those after are serve's.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let at = args
        .iter()
        .position(|a| *a == "serve")
        .expect("it runs serve");
    let help = |sub: &[&str]| {
        let mut c = twofold();
        c.args(sub).arg("--help");
        let out = run(&mut c, None);
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let (top, serve) = (help(&[]), help(&["serve"]));
    for (flags, text) in [(&args[..at], &top), (&args[at + 1..], &serve)] {
        for flag in flags.iter().filter(|a| a.starts_with("--")) {
            assert!(text.contains(flag), "{flag} is not a flag of `{exec}`");
        }
    }

    // Every TWOFOLD_* variable they set is a setting: an unknown one stops any command
    // that reads the configuration, naming it.
    let mut vars: Vec<(String, String)> = Vec::new();
    for text in [&unit, &dockerfile] {
        for word in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            let word = word.trim_start_matches("Environment=");
            if let Some((name, value)) = word.split_once('=')
                && name.starts_with("TWOFOLD_")
            {
                vars.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "TWOFOLD_SECRET_KEY_FILE",
        "TWOFOLD_DATA_DIR",
        "TWOFOLD_LISTEN",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not found in {names:?}"
        );
    }
    let dir = TempDir::new();
    for (name, value) in &vars {
        let mut c = twofold();
        c.args(["--data-dir", &dir.arg(), "user", "list", "--org", "acme"])
            .env(name, value);
        let out = run(&mut c, None);
        assert!(
            !out.stderr.contains("unknown environment variable"),
            "{name}: {out:?}"
        );
    }
    // And the image's health check asks the liveness endpoint.
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/healthz"));
}
