//! Rotating the secret key while servers run (README, "Rotating the secret key"): the
//! rolling procedure on two `twofold serve` processes sharing PostgreSQL, with sign-ins on
//! both at every step (codes from the independent generator), `secret-key rotate` while
//! they serve, `retire`, and the old key refused afterwards; the same on SQLite with the
//! key files of the data directory; and each way the commands refuse.

use std::path::Path;

use serde_json::{Value, json};
use twofold_proto::{ErrorCode, LoginResponse, TotpEnrollment};

use super::generate_key;
use crate::postgres::{PASSWORD, Schema, is_authenticated, postgres_url, start_server};
use crate::support::{
    Api, Finished, Server, TempDir, create_org, create_org_and_user, create_user, mailed_code, run,
    serve_cmd, totp_codes, twofold,
};

/// The accepted window, in steps either side, given to every server here: each person
/// signs in many times within a few minutes, and each sign-in needs a later step than the
/// last (replays are refused), so the test walks through the steps of a wide window.
const WINDOW: &str = "10";

/// A user with an authenticator app, and the step offset of their next code.
struct Person {
    username: String,
    factor_id: String,
    secret: String,
    next: i64,
}

impl Person {
    /// The next code: always a later step than the last, from one reading of the clock.
    fn code(&mut self) -> String {
        assert!(
            self.next <= 10,
            "{} ran out of codes in the window",
            self.username
        );
        let code = totp_codes(&self.secret, &[self.next]).remove(0).code;
        self.next += 1;
        code
    }
}

/// Password and a fresh code on `api`: the sign-in must succeed. Answers the session.
async fn signs_in(api: &Api, p: &mut Person) -> String {
    let flow = api.start_flow("acme", &p.username, PASSWORD).await;
    let code = p.code();
    let a = api.mfa(&flow, &code).await;
    assert!(
        is_authenticated(&a),
        "{} could not sign in: {a:?}",
        p.username
    );
    match a.json() {
        LoginResponse::Authenticated { session_token, .. } => session_token,
        other => panic!("{other:?}"),
    }
}

/// Everyone signs in on every server.
async fn all_sign_in(servers: &[&Server], people: &mut [&mut Person]) {
    for server in servers {
        for p in people.iter_mut() {
            signs_in(&server.api(), p).await;
        }
    }
}

/// Enrols `username`'s authenticator app: the confirmation code is asked of `mailer` (and
/// read from its outbox, in `mailer_data`), the app added and activated on `other`. With
/// the two servers making different keys current, this checks that a code mailed under
/// one key is accepted by a server whose current key is the other.
async fn enrol(mailer: &Server, mailer_data: &TempDir, other: &Server, username: &str) -> Person {
    let (ask, confirm) = (mailer.api(), other.api());
    let session = ask.login_password_only("acme", username, PASSWORD).await;
    let body = json!({"name": "Phone"});
    let a = ask
        .send(
            reqwest::Method::POST,
            "/me/factors/totp",
            Some(&session),
            Some(body),
        )
        .await;
    assert_eq!(a.status, reqwest::StatusCode::ACCEPTED, "{a:?}");
    let code = mailed(&mailer_data.join("outbox"), username).await;
    let body = json!({"name": "Phone", "confirmation_code": code});
    let a = confirm
        .send(
            reqwest::Method::POST,
            "/me/factors/totp",
            Some(&session),
            Some(body),
        )
        .await;
    assert_eq!(a.status, reqwest::StatusCode::CREATED, "{a:?}");
    let e: TotpEnrollment = a.json();
    // Activated at the back of the window, leaving the rest for sign-ins.
    let mut p = Person {
        username: username.to_owned(),
        factor_id: e.id.clone(),
        secret: e.secret,
        next: -9,
    };
    let a = confirm.activate(&session, &e.id, &p.code()).await;
    assert!(a.status.is_success(), "{a:?}");
    p
}

/// The code to add an authenticator app, once the server's outbox has it.
async fn mailed(outbox: &Path, username: &str) -> String {
    let to = format!("{username}@example.com");
    for _ in 0..250 {
        if let Some(code) = mailed_code(outbox, &to, "Your code to add an authenticator app") {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no code was mailed to {to}");
}

/// Waits for `server` to log `text` (its log is read as it comes, so a line written as a
/// request is answered may arrive just after the answer).
async fn logs(server: &Server, text: &str) {
    for _ in 0..250 {
        if server.log().contains(text) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "the server never logged {text:?}; its log:\n{}",
        server.log()
    );
}

/// A server on `schema` with `current` as its key and `previous` accepted beside it.
fn serve_pg(schema: &Schema, data: &TempDir, current: &str, previous: Option<&str>) -> Server {
    let mut env = vec![("TWOFOLD_TOTP_WINDOW", WINDOW)];
    if let Some(p) = previous {
        env.push(("TWOFOLD_SECRET_KEY_PREVIOUS", p));
    }
    start_server(schema, data, current, &env)
}

/// Stops `server` (it must exit cleanly) and starts it again with other keys.
fn restart(
    server: Server,
    schema: &Schema,
    data: &TempDir,
    current: &str,
    previous: Option<&str>,
) -> Server {
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    serve_pg(schema, data, current, previous)
}

/// `serve` with these keys must refuse to start: answers its one `twofold:` line.
fn refused_pg(schema: &Schema, current: &str, previous: Option<&str>) -> String {
    let data = TempDir::new();
    let mut cmd = serve_cmd(&data);
    cmd.env("TWOFOLD_DATABASE_URL", schema.url())
        .env("TWOFOLD_SECRET_KEY", current);
    if let Some(p) = previous {
        cmd.env("TWOFOLD_SECRET_KEY_PREVIOUS", p);
    }
    refusal(&run(&mut cmd, None))
}

/// The one `twofold:` line of a command that failed.
fn refusal(out: &Finished) -> String {
    assert_eq!(out.code(), Some(1), "{out:?}");
    let lines: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("twofold: "))
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    lines[0].to_owned()
}

/// `twofold --output json secret-key <args>` on `schema` with `env`.
fn key_command_pg(schema: &Schema, env: &[(&str, &str)], args: &[&str]) -> Finished {
    let scratch = TempDir::new();
    let mut cmd = twofold();
    cmd.args([
        "--data-dir",
        &scratch.arg(),
        "--database-url",
        &schema.url(),
    ])
    .args(["--output", "json", "secret-key"])
    .args(args)
    .envs(env.iter().copied());
    run(&mut cmd, None)
}

/// The JSON a successful command printed.
fn json_out(out: &Finished) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn id_of(key: &str) -> &str {
    key.split_once(':').unwrap().0
}

#[tokio::test]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn two_servers_on_postgres_rotate_the_key_without_a_failed_sign_in() {
    let schema = Schema::create(&postgres_url()).await;
    let scratch = TempDir::new();
    let (old, new) = (generate_key(&scratch), generate_key(&scratch));
    let (da, db, dc) = (TempDir::new(), TempDir::new(), TempDir::new());
    let mut a = serve_pg(&schema, &da, &old, None);
    let mut b = serve_pg(&schema, &db, &old, None);
    // A server left out of the procedure: it only ever has the old key.
    let forgotten = serve_pg(&schema, &dc, &old, None);
    let cli = [
        "--data-dir",
        &scratch.arg(),
        "--database-url",
        &schema.url(),
    ];
    create_org(&cli, &[], "acme");
    for name in ["alice", "bob", "carol"] {
        create_user(&cli, &[], "acme", name, PASSWORD);
    }
    let mut alice = enrol(&a, &da, &a, "alice").await;
    let mut bob = enrol(&b, &db, &b, "bob").await;
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut bob]).await;

    // 1. Every server learns the new key as a previous one, the old one still current,
    // one restart at a time: the other server serves meanwhile.
    a = restart(a, &schema, &da, &old, Some(&new));
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut bob]).await;
    b = restart(b, &schema, &db, &old, Some(&new));
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut bob]).await;

    // 2. The new key becomes current, one server at a time. While A seals with the new
    // key and B still with the old one, each opens what the other sealed, and a code B
    // mailed (under the old key) is accepted by A.
    a = restart(a, &schema, &da, &new, Some(&old));
    let mut carol = enrol(&b, &db, &a, "carol").await;
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut carol]).await;

    // The forgotten server cannot open what the new key sealed: a clear error in its log,
    // a plain 500 to the caller, nothing changed (carol still signs in elsewhere).
    let flow = forgotten.api().start_flow("acme", "carol", PASSWORD).await;
    let code = carol.code();
    forgotten
        .api()
        .mfa(&flow, &code)
        .await
        .expect_problem(500, ErrorCode::Internal);
    logs(
        &forgotten,
        &format!(
            "sealed under key {}, which this server was not given",
            id_of(&new)
        ),
    )
    .await;
    signs_in(&a.api(), &mut carol).await;
    let (status, log) = forgotten.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    // Restarted as it is, it refuses to start, naming the key it lacks.
    let line = refused_pg(&schema, &old, None);
    assert!(line.contains(id_of(&new)), "{line}");
    assert!(line.contains("TWOFOLD_SECRET_KEY_PREVIOUS"), "{line}");

    b = restart(b, &schema, &db, &new, Some(&old));
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut bob, &mut carol]).await;

    // The old key cannot be retired while alice's and bob's secrets are sealed under it.
    let keys = [
        ("TWOFOLD_SECRET_KEY", new.as_str()),
        ("TWOFOLD_SECRET_KEY_PREVIOUS", old.as_str()),
    ];
    let out = key_command_pg(&schema, &[], &["retire", id_of(&old)]);
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(out.code(), Some(1), "{out:?}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("still seals 2 TOTP secrets"), "{message}");
    assert!(message.contains("secret-key rotate"), "{message}");

    // 3. Re-seal everything under the new key while both servers serve sign-ins.
    let rotation = {
        let (schema_url, keys) = (schema.url(), keys.map(|(k, v)| (k, v.to_owned())));
        tokio::task::spawn_blocking(move || {
            let scratch = TempDir::new();
            let mut cmd = twofold();
            cmd.args(["--data-dir", &scratch.arg(), "--database-url", &schema_url])
                .args(["--output", "json", "secret-key", "rotate"])
                .envs(keys.iter().map(|(k, v)| (*k, v.as_str())));
            run(&mut cmd, None)
        })
    };
    all_sign_in(&[&a, &b], &mut [&mut alice, &mut bob]).await;
    let done = json_out(&rotation.await.unwrap());
    assert_eq!(done["key_id"], id_of(&new));
    assert_eq!(done["factor_secrets"], 2, "{done}");
    assert_eq!(done["next_secrets"], 0, "{done}");
    assert_eq!(done["oidc_client_secrets"], 0, "{done}");
    assert_eq!(done["remaining"], json!([]), "{done}");
    assert_eq!(done["unreadable"], json!([]), "{done}");
    // Nothing is left to do a second time.
    let again = json_out(&key_command_pg(&schema, &keys, &["rotate"]));
    assert_eq!(again["factor_secrets"], 0, "{again}");

    // 4. Retire the old key; the servers, which still list it, keep working.
    let retired = json_out(&key_command_pg(&schema, &[], &["retire", id_of(&old)]));
    assert_eq!(retired, json!({"retired": id_of(&old)}));
    all_sign_in(&[&a, &b], &mut [&mut carol, &mut alice]).await;
    // The old key is refused: alone, and as the current key beside the new one.
    let line = refused_pg(&schema, &old, None);
    assert!(line.contains(id_of(&new)), "{line}");
    let line = refused_pg(&schema, &old, Some(&new));
    assert!(
        line.contains(&format!("secret key {} was retired", id_of(&old))),
        "{line}"
    );
    let out = key_command_pg(&schema, &[], &["retire", id_of(&old)]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("already retired"), "{out:?}");

    // 5. The previous key leaves the configuration. A server restarted before its
    // configuration was changed starts, warning that the key is ignored.
    a = restart(a, &schema, &da, &new, Some(&old));
    logs(
        &a,
        &format!("the previous secret key {} was retired", id_of(&old)),
    )
    .await;
    b = restart(b, &schema, &db, &new, None);
    all_sign_in(&[&a, &b], &mut [&mut bob, &mut carol]).await;
    for server in [a, b] {
        let (status, log) = server.terminate();
        assert!(status.success(), "{status:?}\n{log}");
    }
}

/// A fresh schema with one server sealing under `old`, and alice of acme enrolled with
/// an app; `new` is a second key, not used yet.
struct AliceOnOneServer {
    schema: Schema,
    scratch: TempDir,
    old: String,
    new: String,
    data: TempDir,
    server: Server,
    alice: Person,
}

async fn alice_on_one_server() -> AliceOnOneServer {
    let schema = Schema::create(&postgres_url()).await;
    let scratch = TempDir::new();
    let (old, new) = (generate_key(&scratch), generate_key(&scratch));
    let data = TempDir::new();
    let server = serve_pg(&schema, &data, &old, None);
    let args = admin_args(&scratch, &schema);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    create_org_and_user(&args, &[], "acme", "alice", PASSWORD);
    let alice = enrol(&server, &data, &server, "alice").await;
    AliceOnOneServer {
        schema,
        scratch,
        old,
        new,
        data,
        server,
        alice,
    }
}

/// The admin commands' arguments for the schema, with a data directory of their own.
fn admin_args(scratch: &TempDir, schema: &Schema) -> [String; 4] {
    [
        "--data-dir".into(),
        scratch.arg(),
        "--database-url".into(),
        schema.url(),
    ]
}

#[tokio::test]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn rotate_refuses_keys_that_cannot_open_the_database_and_changes_nothing() {
    let AliceOnOneServer {
        schema,
        scratch,
        old,
        new,
        data,
        server,
        mut alice,
    } = alice_on_one_server().await;

    // The new key alone: the old one, which sealed alice's secret, is missing.
    let out = key_command_pg(&schema, &[("TWOFOLD_SECRET_KEY", &new)], &["rotate"]);
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(out.code(), Some(1), "{out:?}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("sealed with key {}", id_of(&old))),
        "{message}"
    );

    // A "previous" key with the old key's id but other bytes.
    let forged = format!(
        "{}:{}",
        id_of(&old),
        generate_key(&scratch).split_once(':').unwrap().1
    );
    let out = key_command_pg(
        &schema,
        &[
            ("TWOFOLD_SECRET_KEY", &new),
            ("TWOFOLD_SECRET_KEY_PREVIOUS", &forged),
        ],
        &["rotate"],
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "previous secret key {} does not match",
            id_of(&old)
        )),
        "{out:?}"
    );

    // Neither registered the new key: the old-key server restarts and signs alice in.
    let server = restart(server, &schema, &data, &old, None);
    signs_in(&server.api(), &mut alice).await;

    // A damaged secret is reported by name, left as it is, and the command fails.
    let factor_id = {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&schema.url()).await.unwrap();
        let id: String = sqlx::query_scalar(
            "UPDATE factors SET secret_sealed = '\\x00'::bytea || secret_sealed RETURNING id",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        id
    };
    let keys = [
        ("TWOFOLD_SECRET_KEY", new.as_str()),
        ("TWOFOLD_SECRET_KEY_PREVIOUS", old.as_str()),
    ];
    let out = key_command_pg(&schema, &keys, &["rotate"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["unreadable"],
        json!([format!("factor {factor_id}")]),
        "{report}"
    );
    assert_eq!(report["remaining"][0]["key_id"], id_of(&old), "{report}");
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "unreadable", "{error}");
    // So the old key stays in use and cannot be retired.
    let out = key_command_pg(&schema, &[], &["retire", id_of(&old)]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("still seals 1 TOTP secret:"), "{out:?}");
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}

#[tokio::test]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn rotate_fails_while_a_server_still_seals_with_the_old_key_and_a_second_run_finishes() {
    let AliceOnOneServer {
        schema,
        scratch,
        old,
        new,
        data,
        server,
        mut alice,
    } = alice_on_one_server().await;
    let cli = admin_args(&scratch, &schema);
    let mut cmd = twofold();
    cmd.args(cli)
        .args([
            "oidc",
            "set",
            "acme",
            "okta",
            "--issuer",
            "http://127.0.0.1:9",
        ])
        .args(["--client-id", "twofold", "--client-secret-stdin"])
        .env("TWOFOLD_SECRET_KEY", &old);
    let out = run(&mut cmd, Some("client-secret\n"));
    assert!(out.status.success(), "{out:?}");

    // As if a server that still makes the old key current wrote while `rotate` ran: once
    // rotate re-seals the identity provider's secret (the last column it goes through), a
    // trigger gives alice a waiting secret sealed under the old key (her own old secret,
    // so it is one that opens).
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&schema.url()).await.unwrap();
        for sql in [
            "CREATE TABLE stash AS SELECT id, secret_key_id, secret_sealed FROM factors",
            "CREATE FUNCTION late_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             UPDATE factors f SET next_secret_key_id = s.secret_key_id, \
             next_secret_sealed = s.secret_sealed FROM stash s WHERE f.id = s.id; \
             DELETE FROM stash; RETURN NULL; END $$",
            "CREATE TRIGGER late AFTER UPDATE ON oidc_providers FOR EACH ROW \
             EXECUTE FUNCTION late_write()",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let keys = [
        ("TWOFOLD_SECRET_KEY", new.as_str()),
        ("TWOFOLD_SECRET_KEY_PREVIOUS", old.as_str()),
    ];
    let out = key_command_pg(&schema, &keys, &["rotate"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["factor_secrets"], 1, "{report}");
    assert_eq!(report["oidc_client_secrets"], 1, "{report}");
    assert_eq!(
        report["remaining"],
        json!([{"key_id": id_of(&old), "factor_secrets": 0, "next_secrets": 1,
                "oidc_client_secrets": 0}]),
        "{report}"
    );
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "keys_in_use", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "1 secret(s) are still sealed under key {}",
            id_of(&old)
        )),
        "{message}"
    );
    let out = key_command_pg(&schema, &[], &["retire", id_of(&old)]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("still seals 1 TOTP secret waiting for its first code:"),
        "{out:?}"
    );

    // Run again, it finishes; then the old key retires and alice still signs in.
    let done = json_out(&key_command_pg(&schema, &keys, &["rotate"]));
    assert_eq!(done["next_secrets"], 1, "{done}");
    assert_eq!(done["remaining"], json!([]), "{done}");
    json_out(&key_command_pg(&schema, &[], &["retire", id_of(&old)]));
    let server = restart(server, &schema, &data, &new, None);
    signs_in(&server.api(), &mut alice).await;
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}

/// `twofold --data-dir <data> [--output json] secret-key <args>`, the keys from the data
/// directory's files.
fn key_command(data: &TempDir, json: bool, args: &[&str]) -> Finished {
    let mut cmd = twofold();
    cmd.args(["--data-dir", &data.arg()]);
    if json {
        cmd.args(["--output", "json"]);
    }
    cmd.arg("secret-key").args(args);
    run(&mut cmd, None)
}

/// A SQLite server on `data` (its keys in the data directory's files).
fn serve_sqlite(data: &TempDir) -> Server {
    let mut cmd = serve_cmd(data);
    cmd.env("TWOFOLD_TOTP_WINDOW", WINDOW);
    Server::start(cmd)
}

#[tokio::test]
async fn one_server_on_sqlite_rotates_the_key_files_of_its_data_directory() {
    let data = TempDir::new();
    let mut server = serve_sqlite(&data);
    create_org(&["--data-dir", &data.arg()], &[], "acme");
    create_user(&["--data-dir", &data.arg()], &[], "acme", "alice", PASSWORD);
    let mut alice = enrol(&server, &data, &server, "alice").await;
    let old = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let old_id = id_of(old.trim()).to_owned();
    // Alice is moving her app to a new phone (a second secret waits for its first code),
    // and the organisation has an identity provider: all three kinds of sealed value.
    let session = signs_in(&server.api(), &mut alice).await;
    let path = format!("/me/factors/{}/regenerate", alice.factor_id);
    let a = server
        .api()
        .send(reqwest::Method::POST, &path, Some(&session), None)
        .await;
    assert_eq!(a.status, reqwest::StatusCode::CREATED, "{a:?}");
    let moving: TotpEnrollment = a.json();
    let mut cmd = twofold();
    cmd.args(["--data-dir", &data.arg(), "oidc", "set", "acme", "okta"])
        .args(["--issuer", "http://127.0.0.1:9", "--client-id", "twofold"])
        .arg("--client-secret-stdin");
    let out = run(&mut cmd, Some("client-secret\n"));
    assert!(out.status.success(), "{out:?}");

    // The only key cannot be retired, nor one this database never had.
    let line = refusal(&key_command(&data, false, &["retire", &old_id]));
    assert!(
        line.contains("is the newest key of this database"),
        "{line}"
    );
    let line = refusal(&key_command(&data, false, &["retire", "k-nope"]));
    assert!(
        line.contains(&format!("has no secret key k-nope (it has: {old_id})")),
        "{line}"
    );

    // The old key moves to secret.key.previous, a new one takes secret.key's place.
    let new = generate_key(&data);
    std::fs::rename(data.join("secret.key"), data.join("secret.key.previous")).unwrap();
    std::fs::write(data.join("secret.key"), format!("{new}\n")).unwrap();
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    server = serve_sqlite(&data);
    signs_in(&server.api(), &mut alice).await;

    // Retiring before the rotation is refused; the rotation runs while the server serves.
    let line = refusal(&key_command(&data, false, &["retire", &old_id]));
    assert!(
        line.contains(
            "still seals 1 TOTP secret, 1 TOTP secret waiting for its first code and 1 \
             identity provider's client secret: run `twofold secret-key rotate`"
        ),
        "{line}"
    );
    let out = key_command(&data, false, &["rotate"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "re-sealed under key {}: 1 TOTP secret(s), 1 waiting secret(s), 1 identity \
             provider client secret(s)",
            id_of(&new)
        )),
        "{out:?}"
    );
    signs_in(&server.api(), &mut alice).await;
    let retired = json_out(&key_command(&data, true, &["retire", &old_id]));
    assert_eq!(retired, json!({"retired": old_id}));
    signs_in(&server.api(), &mut alice).await;
    // The new phone's secret, re-sealed, opens: alice finishes the move with its code.
    alice.secret = moving.secret;
    alice.next = -9;
    let code = alice.code();
    let a = server
        .api()
        .activate(&session, &alice.factor_id, &code)
        .await;
    assert!(a.status.is_success(), "{a:?}");
    signs_in(&server.api(), &mut alice).await;

    // The previous file goes; the server restarts with the new key alone.
    std::fs::remove_file(data.join("secret.key.previous")).unwrap();
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    server = serve_sqlite(&data);
    signs_in(&server.api(), &mut alice).await;
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");

    // The old key as secret.key again is refused: the database needs the new one.
    std::fs::write(data.join("secret.key"), &old).unwrap();
    let mut cmd = serve_cmd(&data);
    let line = refusal(&run(&mut cmd, None));
    assert!(line.contains(id_of(&new)), "{line}");
}

#[test]
fn rotate_without_a_key_is_a_usage_error_and_makes_none() {
    let data = TempDir::new();
    let out = key_command(&data, false, &["rotate"]);
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.contains("secret-key rotate needs the new key"),
        "{line}"
    );
    assert!(!data.join("secret.key").exists());
}
