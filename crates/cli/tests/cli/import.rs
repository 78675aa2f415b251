//! `twofold user import`: users arrive with their old password hashes (from other
//! implementations) and their existing authenticator entries, and sign in with both; a bad
//! file changes nothing and names its bad lines.

use std::path::Path;

use twofold_otp::{KeyUri, Totp};
use twofold_proto::{ErrorCode, LoginResponse};

use crate::support::{
    Finished, Server, TempDir, base32_decode, contains, create_org, files_under, run, serve_cmd,
    totp_codes, twofold,
};

const PW: &str = "correct horse battery";
/// Made by other implementations for "correct horse battery": Python's `bcrypt`,
/// `argon2-cffi` (Argon2i) and `hashlib.scrypt`.
const BCRYPT: &str = "$2b$05$A3vI8njO2x2.idj5VIuLuOd.yZKNLC7XR.tG0PCH5AKe/vVEh0U4u";
const ARGON2I: &str = "$argon2i$v=19$m=1024,t=2,p=2$Iw/XQ4briLJQwjT9ZJvtgA$RTWNuyTcopVfCC4PAGfndLCo9KDn02/yy05NlQ+mBeg";
const SCRYPT: &str =
    "$scrypt$ln=10,r=8,p=1$dHdvZm9sZC1pbXBvcnQtcw$TcAxVXVwXlplsW8uHODuN81ywMFR8sz/kdjJJFbDSbY";
/// Default parameters: codes come from the Python generator.
const SECRET_A: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// SHA-256, 8 digits, 60 s: codes come from our own (RFC-vector-tested) otp crate.
const URI_B: &str = "otpauth://totp/OldIdP:bob%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBV&issuer=OldIdP&algorithm=SHA256&digits=8&period=60";

fn org_create(dir: &TempDir, slug: &str) {
    create_org(&["--data-dir", &dir.arg()], &[], slug);
}

fn import(dir: &TempDir, org: &str, file: &Path, extra: &[&str]) -> Finished {
    let path = file.display().to_string();
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg(), "user", "import", "--org", org])
        .args(extra)
        .arg(&path);
    run(&mut cmd, None)
}

fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn db(dir: &TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("twofold.db")).unwrap()
}

async fn password_hash_of(dir: &TempDir, username: &str) -> String {
    db(dir)
        .query_row(
            "SELECT password_hash FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .unwrap()
}

async fn user_count(dir: &TempDir) -> i64 {
    db(dir)
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn imported_users_sign_in_with_old_hashes_and_old_authenticators() {
    let dir = TempDir::new();
    org_create(&dir, "acme");
    // The server runs while the import writes: an operator migrates a live system.
    let server = Server::start(serve_cmd(&dir));
    let csv = format!(
        "username,email,role,password_hash_or_password,totp_uri\n\
         Alice,alice@example.com,admin,{BCRYPT},otpauth://totp/Old:alice?secret={SECRET_A}&issuer=Old\n\
         bob,bob@example.com,,\"{ARGON2I}\",\"{URI_B}\"\n\
         carol,carol@example.com,member,\"{SCRYPT}\",\n\
         dave,dave@example.com,owner,{PW},\n\
         erin,erin@example.com,member,,\n"
    );
    // The file holds the secrets in the clear: keep it out of the data directory, whose
    // files are searched for them below.
    let elsewhere = TempDir::new();
    let file = write(&elsewhere, "users.csv", &csv);
    let out = import(&dir, "acme", &file, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout.trim(),
        "imported 5 users (2 with an authenticator) into acme"
    );
    let api = server.api();

    // alice: bcrypt hash + her existing authenticator (Python's codes).
    let flow = api.start_flow("acme", "alice", PW).await;
    let code = &totp_codes(SECRET_A, &[0])[0].code;
    let done: LoginResponse = api.mfa(&flow, code).await.json();
    assert!(
        matches!(done, LoginResponse::Authenticated { .. }),
        "{done:?}"
    );
    // The imported factor keeps replay protection: the same code again is refused.
    let flow = api.start_flow("acme", "alice", PW).await;
    api.mfa(&flow, code)
        .await
        .expect_problem(401, ErrorCode::CodeReused);
    // Her bcrypt hash was replaced by Argon2id at the first sign-in; it still works.
    let upgraded = password_hash_of(&dir, "alice").await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    api.start_flow("acme", "alice", PW).await;

    // bob: Argon2i hash + a SHA-256, 8-digit, 60 s authenticator.
    let uri = KeyUri::parse(URI_B).unwrap();
    let totp = Totp::new(uri.secret, uri.params).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let flow = api.start_flow("acme", "bob", PW).await;
    let code = totp.generate_at(now);
    assert_eq!(code.len(), 8);
    let done: LoginResponse = api.mfa(&flow, &code).await.json();
    assert!(
        matches!(done, LoginResponse::Authenticated { .. }),
        "{done:?}"
    );

    // carol (scrypt) and dave (plain password, hashed at import) have no second factor.
    for user in ["carol", "dave"] {
        let session = api.login_password_only("acme", user, PW).await;
        let me = api.me(&session).await;
        assert!(!me.mfa.enrolled);
    }
    assert!(
        password_hash_of(&dir, "dave")
            .await
            .starts_with("$argon2id$")
    );
    // erin has no password: she cannot sign in with one.
    api.login_answer("acme", "erin", PW)
        .await
        .expect_problem(401, ErrorCode::InvalidCredentials);
    // A wrong password for an imported hash is just wrong.
    api.login_answer("acme", "carol", "not the password")
        .await
        .expect_problem(401, ErrorCode::InvalidCredentials);

    // Roles came across; an empty role is a member.
    let roles: Vec<(String, String)> = db(&dir)
        .prepare("SELECT username, role FROM users ORDER BY username")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let roles: Vec<(&str, &str)> = roles
        .iter()
        .map(|(u, r)| (u.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("alice", "admin"),
            ("bob", "member"),
            ("carol", "member"),
            ("dave", "owner"),
            ("erin", "member")
        ]
    );
    drop(server);

    // The imported secrets are sealed like enrolled ones.
    for (path, bytes) in files_under(dir.path()) {
        for secret in [SECRET_A, "GEZDGNBVGY3TQOJQGEZDGNBV"] {
            assert!(!contains(&bytes, secret.as_bytes()), "{}", path.display());
            assert!(
                !contains(&bytes, &base32_decode(secret)),
                "{}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn bad_rows_are_named_by_line_and_nothing_is_imported() {
    let dir = TempDir::new();
    org_create(&dir, "acme");
    let csv = format!(
        "username,email,role,password_hash_or_password,totp_uri\n\
         alice,alice@example.com,member,{PW},\n\
         bob,not-an-email,member,{PW},\n\
         carol,carol@example.com,boss,{PW},\n\
         \"dave\nsmith\",dave@example.com,member,{PW},\n\
         ALICE,alice2@example.com,member,{PW},\n\
         frank,frank@example.com,member,$2b$05$short,\n\
         grace,grace@example.com,member,{PW},otpauth://totp/x?secret=ABC\n\
         heidi,heidi@example.com,member\n\
         ivan,ivan@example.com,member,short,\n\
         judy,judy@example.com,member,{ARGON2I},\n"
    );
    let file = write(&dir, "bad.csv", &csv);
    for extra in [&[][..], &["--dry-run"][..]] {
        let out = import(&dir, "acme", &file, extra);
        assert_eq!(out.code(), Some(1), "{out:?}");
        let lines = out.stderr_lines();
        let expected_starts = [
            "line 3: invalid email address",
            "line 4: invalid role",
            "line 5: invalid username",
            "line 7: username \"alice\" already appears on line 2",
            "line 8: malformed bcrypt hash",
            "line 9: invalid totp_uri",
            "line 10: expected 5 columns",
            "line 11: the password must be 8 to 1024 characters",
            "line 12: expected 5 columns (username,email,role,password_hash_or_password,totp_uri), \
             found 7; put fields that contain commas, such as Argon2 or scrypt hashes, in double quotes",
        ];
        assert_eq!(lines.len(), expected_starts.len() + 1, "{lines:#?}");
        for (line, start) in lines.iter().zip(expected_starts) {
            assert!(
                line.starts_with(start),
                "{line:?} should start with {start:?}"
            );
        }
        assert_eq!(
            lines.last().copied(),
            Some("twofold: 9 of 10 rows are invalid; nothing was imported")
        );
        assert_eq!(
            user_count(&dir).await,
            0,
            "the good rows were not kept either"
        );
    }
}

#[tokio::test]
async fn dry_run_checks_everything_and_writes_nothing() {
    let dir = TempDir::new();
    org_create(&dir, "acme");
    let file = write(
        &dir,
        "users.csv",
        &format!("alice,alice@example.com,member,{BCRYPT},otpauth://totp/x?secret={SECRET_A}\n"),
    );
    let out = import(&dir, "acme", &file, &["--dry-run"]);
    assert_eq!(
        out.one_stdout_line(),
        "1 valid row (1 with an authenticator); nothing was written (--dry-run)"
    );
    assert_eq!(user_count(&dir).await, 0);
    // No header line is needed; the real run then imports the same file.
    let out = import(&dir, "acme", &file, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(user_count(&dir).await, 1);
    // Importing it again clashes with the users now there, and changes nothing.
    let again = import(&dir, "acme", &file, &[]);
    assert_eq!(again.code(), Some(1));
    assert!(
        again
            .stderr
            .starts_with("line 1: user \"alice\" already exists in organisation \"acme\"\n"),
        "{again:?}"
    );
    assert_eq!(user_count(&dir).await, 1);
}

#[tokio::test]
async fn thousands_of_rows_import_in_batches_with_every_user_and_factor() {
    let dir = TempDir::new();
    org_create(&dir, "big");
    // More than two batches of 1,000, each row with an authenticator.
    let mut csv = String::from("username,email,role,password_hash_or_password,totp_uri\n");
    for i in 0..2_500 {
        csv.push_str(&format!(
            "user{i},user{i}@example.com,member,\"{ARGON2I}\",otpauth://totp/x?secret={SECRET_A}\n"
        ));
    }
    let file = write(&dir, "big.csv", &csv);
    let out = import(&dir, "big", &file, &[]);
    assert_eq!(
        out.one_stdout_line(),
        "imported 2500 users (2500 with an authenticator) into big"
    );
    // Not a terminal: no progress bar in the output.
    assert!(out.stderr.is_empty(), "{out:?}");
    let (users, factors): (i64, i64) = db(&dir)
        .query_row(
            "SELECT (SELECT COUNT(*) FROM users), \
             (SELECT COUNT(*) FROM factors WHERE status = 'active' AND activated_at IS NOT NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((users, factors), (2_500, 2_500));
}

#[tokio::test]
async fn import_errors_outside_rows_are_one_line() {
    let dir = TempDir::new();
    org_create(&dir, "acme");
    let missing = dir.join("nope.csv");
    let out = import(&dir, "acme", &missing, &[]);
    assert_eq!(out.code(), Some(1));
    assert!(out.one_error_line().contains("cannot read"), "{out:?}");

    let file = write(&dir, "users.csv", "alice,alice@example.com,member,,\n");
    let out = import(&dir, "nosuchorg", &file, &[]);
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.one_error_line(), "twofold: organisation not found");

    let empty = write(
        &dir,
        "empty.csv",
        "username,email,role,password_hash_or_password,totp_uri\n",
    );
    let out = import(&dir, "acme", &empty, &[]);
    assert_eq!(out.code(), Some(1));
    assert!(
        out.one_error_line().ends_with("no rows to import"),
        "{out:?}"
    );
}
