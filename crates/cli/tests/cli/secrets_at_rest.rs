//! The TOTP secret leaves the server once, in the enrolment answer: it must not reach the
//! log, even at the most verbose level, nor the database files (it is stored encrypted).

use twofold_proto::LoginResponse;

use crate::support::{
    Server, TempDir, base32_decode, contains, create_org_and_user, files_under, serve_cmd,
    totp_codes,
};

#[tokio::test]
async fn totp_secret_and_password_appear_neither_in_trace_logs_nor_in_the_database_files() {
    let dir = TempDir::new();
    let mut cmd = serve_cmd(&dir);
    cmd.env("TWOFOLD_LOG", "trace");
    let server = Server::start(cmd);
    let password = "correct horse battery staple";
    create_org_and_user(&["--data-dir", &dir.arg()], &[], "acme", "alice", password);
    let api = server.api();

    let session = api.login_password_only("acme", "alice", password).await;
    let enrollment = api.enroll_totp(&session).await;
    let codes = totp_codes(&enrollment.secret, &[0, 1]);
    let _: twofold_proto::Factor = api
        .activate(&session, &enrollment.id, &codes[0].code)
        .await
        .json();
    // A second-factor sign-in decrypts the secret again on the server.
    let flow = api.start_flow("acme", "alice", password).await;
    let done: LoginResponse = api.mfa(&flow, &codes[1].code).await.json();
    assert!(matches!(done, LoginResponse::Authenticated { .. }));

    let secret = enrollment.secret.clone();
    let raw = base32_decode(&secret);
    assert_eq!(raw.len(), 20, "a 160-bit secret");
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("base32 secret", secret.as_bytes().to_vec()),
        (
            "lower-case base32 secret",
            secret.to_lowercase().into_bytes(),
        ),
        ("raw secret bytes", raw),
        ("password", password.as_bytes().to_vec()),
    ];

    // While the server runs, the newest writes may still sit in the -wal file.
    let check_files = |when: &str| {
        let files = files_under(dir.path());
        assert!(
            files.iter().any(|(p, _)| p.ends_with("twofold.db")),
            "{files:?}"
        );
        for (path, bytes) in &files {
            for (what, needle) in &needles {
                assert!(
                    !contains(bytes, needle),
                    "{what} found in {} ({when})",
                    path.display()
                );
            }
        }
    };
    check_files("while serving");

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}");
    check_files("after shutdown");

    // The log really is verbose (else this test would prove nothing)...
    assert!(log.contains(" DEBUG ") || log.contains(" TRACE "), "{log}");
    assert!(log.contains("factor.enrolled"), "{log}");
    // ...and holds none of it.
    for (what, needle) in &needles {
        assert!(!contains(log.as_bytes(), needle), "{what} found in the log");
    }
}

/// Other local users can read nothing of Twofold's: the data directory is 0700, and the
/// database, its WAL and shared-memory files, the key and the mail in the outbox (which
/// holds codes in plain text) are 0600; files an older release left readable, and the
/// data directory itself, are tightened at the next start.
#[tokio::test]
async fn the_data_directory_and_its_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = TempDir::new();
    let password = "correct horse battery staple";
    create_org_and_user(&["--data-dir", &dir.arg()], &[], "acme", "alice", password);
    let server = Server::start(serve_cmd(&dir));
    let api = server.api();
    let session = api.login_password_only("acme", "alice", password).await;
    api.enroll_totp(&session).await;
    let expect_private = |when: &str| {
        assert_eq!(mode(dir.path()), 0o700, "data directory ({when})");
        assert_eq!(mode(&dir.join("outbox")), 0o700, "outbox ({when})");
        let files = files_under(dir.path());
        for name in [
            "twofold.db",
            "twofold.db-wal",
            "twofold.db-shm",
            "secret.key",
        ] {
            assert!(
                files.iter().any(|(p, _)| p.ends_with(name)),
                "{name} missing: {files:?}"
            );
        }
        assert!(
            files
                .iter()
                .any(|(p, _)| p.extension().is_some_and(|e| e == "eml"))
        );
        for (path, _) in &files {
            assert_eq!(mode(path), 0o600, "{} ({when})", path.display());
        }
    };
    expect_private("fresh");
    let (status, _) = server.terminate();
    assert!(status.success());
    // As an older release left them.
    let loosen = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    loosen(dir.path(), 0o755);
    loosen(&dir.join("outbox"), 0o755);
    for (path, _) in files_under(dir.path()) {
        loosen(&path, 0o644);
    }
    let server = Server::start(serve_cmd(&dir));
    server
        .api()
        .login_password_only("acme", "alice", password)
        .await;
    expect_private("after a restart");
    drop(server);
}
