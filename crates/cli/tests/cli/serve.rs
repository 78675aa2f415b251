//! `twofold serve` with nothing but a port: the defaults an operator gets on first start.

use crate::support::{Server, TempDir, serve_cmd, twofold};

#[tokio::test]
async fn serve_with_no_arguments_uses_twofold_data_in_the_working_directory() {
    let cwd = TempDir::new();
    let mut cmd = twofold();
    // `--listen` only so parallel tests do not fight over the default port 8080.
    cmd.current_dir(cwd.path())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd);

    let url = format!("http://{}", server.addr);
    assert!(server.addr.ip().is_loopback());
    assert_ne!(server.addr.port(), 0);
    assert!(
        server
            .log()
            .contains(&format!("Twofold is listening on {url}")),
        "{}",
        server.log()
    );

    let res = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");

    let data = cwd.join("twofold-data");
    assert!(data.join("twofold.db").is_file());
    let key = data.join("secret.key");
    assert!(key.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "secret.key mode {mode:o}");
    }

    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "exit {status:?} after SIGTERM; log:\n{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn sigint_stops_the_server_gracefully_with_exit_0() {
    let dir = TempDir::new();
    let server = Server::start(serve_cmd(&dir));
    let (status, log) = server.signal("-INT");
    assert!(
        status.success(),
        "exit {status:?} after SIGINT; log:\n{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[tokio::test]
async fn serve_takes_its_settings_from_twofold_toml_and_the_environment() {
    let cwd = TempDir::new();
    let data = TempDir::new();
    // The file sets the issuer (visible in the enrolment URI) and a listen address the
    // environment then overrides: environment beats file.
    std::fs::write(
        data.join("twofold.toml"),
        "issuer = \"Acme Corp\"\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let env = [
        ("TWOFOLD_DATA_DIR", data.arg()),
        ("TWOFOLD_LISTEN", "127.0.0.1:0".to_owned()),
    ];
    let mut cmd = twofold();
    cmd.current_dir(cwd.path())
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k, v)));
    let server = Server::start(cmd);
    assert_ne!(server.addr.port(), 1);
    assert!(data.join("twofold.db").is_file());
    assert!(!cwd.join("twofold-data").exists());

    let password = "correct horse battery staple";
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::support::create_org_and_user(&[], &env, "acme", "alice", password);
    let api = server.api();
    let session = api.login_password_only("acme", "alice", password).await;
    let enrollment = api.enroll_totp(&session).await;
    assert!(
        enrollment
            .uri
            .starts_with("otpauth://totp/Acme%20Corp:alice%40example.com?"),
        "{}",
        enrollment.uri
    );
    assert!(
        enrollment.uri.contains("&issuer=Acme%20Corp&"),
        "{}",
        enrollment.uri
    );

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}

#[test]
fn serve_with_a_secret_key_file_keeps_no_key_in_the_data_directory() {
    let dir = TempDir::new();
    let data = TempDir::new();
    let key_file = dir.join("twofold.key");
    // A trailing newline, as `twofold secret-key generate > file` leaves it.
    let key = crate::secret_key::generate_key(&dir);
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let mut cmd = serve_cmd(&data);
    cmd.env("TWOFOLD_SECRET_KEY_FILE", &key_file);
    let server = Server::start(cmd);
    assert!(data.join("twofold.db").is_file());
    assert!(!data.join("secret.key").exists());
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}
