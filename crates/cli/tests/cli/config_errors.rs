//! A misconfigured server must stop before doing anything, with exit code 2 and one line
//! that names the setting, so an operator (or a service manager's log) sees what to fix.

use crate::support::{Finished, TempDir, run, serve_cmd, twofold};

/// `serve` in a fresh data directory with one environment variable set.
fn serve_with_env(dir: &TempDir, key: &str, value: &str) -> Finished {
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg(), "serve"])
        .env(key, value);
    run(&mut cmd, None)
}

#[test]
fn listen_address_from_the_environment_that_does_not_parse_exits_2_naming_twofold_listen() {
    let dir = TempDir::new();
    let out = serve_with_env(&dir, "TWOFOLD_LISTEN", "nowhere");
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert_eq!(
        out.one_error_line(),
        "twofold: invalid TWOFOLD_LISTEN \"nowhere\": expected an address like 127.0.0.1:8080"
    );
}

#[test]
fn a_misspelt_twofold_variable_exits_2_naming_it_before_anything_is_created() {
    let dir = TempDir::new();
    let out = serve_with_env(&dir, "TWOFOLD_LOCKOUT_TRESHOLD", "3");
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert_eq!(
        out.one_error_line(),
        "twofold: unknown environment variable TWOFOLD_LOCKOUT_TRESHOLD (did you mean \
         TWOFOLD_LOCKOUT_THRESHOLD?): it is not a Twofold setting"
    );
    assert!(!dir.join("twofold.db").exists());
}

#[test]
fn database_url_flag_of_an_unsupported_engine_exits_2_naming_the_flag() {
    let dir = TempDir::new();
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg(), "--database-url", "mysql://x"])
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.starts_with("twofold: invalid --database-url: "),
        "{line}"
    );
    // Nothing was opened or created: the configuration is checked first.
    assert!(!dir.join("twofold.db").exists());
}

#[test]
fn unknown_key_in_twofold_toml_exits_2_naming_the_key_and_the_file() {
    let dir = TempDir::new();
    let file = dir.join("twofold.toml");
    std::fs::write(
        &file,
        "issuer = \"Acme\"\nlisten_address = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = run(&mut serve_cmd(&dir), None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(line.contains("listen_address"), "{line}");
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert!(line.contains("line 2"), "{line}");
}

#[test]
fn malformed_secret_key_exits_2_naming_twofold_secret_key() {
    let dir = TempDir::new();
    let out = serve_with_env(&dir, "TWOFOLD_SECRET_KEY", "garbage");
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.starts_with("twofold: invalid TWOFOLD_SECRET_KEY: "),
        "{line}"
    );
    assert!(line.contains("twofold secret-key generate"), "{line}");
    assert!(!line.contains("garbage"), "{line}");
    assert!(!dir.join("twofold.db").exists());
}

#[test]
fn secret_key_with_a_bad_key_part_is_refused_without_echoing_the_key() {
    let dir = TempDir::new();
    // Valid id, key part not base64url: the message must say so without repeating the
    // key material into a log.
    let material = "NotBase64!!Material";
    let out = serve_with_env(&dir, "TWOFOLD_SECRET_KEY", &format!("k1:{material}"));
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.starts_with("twofold: invalid TWOFOLD_SECRET_KEY: "),
        "{line}"
    );
    assert!(!line.contains(material), "{line}");
}

#[test]
fn secret_key_file_that_cannot_be_read_exits_2_naming_the_file() {
    let dir = TempDir::new();
    let missing = dir.join("no-such.key");
    let out = serve_with_env(
        &dir,
        "TWOFOLD_SECRET_KEY_FILE",
        &missing.display().to_string(),
    );
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(line.contains("TWOFOLD_SECRET_KEY_FILE"), "{line}");
    assert!(line.contains(&missing.display().to_string()), "{line}");
}

#[test]
fn secret_key_and_secret_key_file_together_exit_2() {
    let dir = TempDir::new();
    let file = dir.join("secret.txt");
    std::fs::write(&file, "unused").unwrap();
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg(), "serve"])
        .env("TWOFOLD_SECRET_KEY", "unused")
        .env("TWOFOLD_SECRET_KEY_FILE", &file);
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert_eq!(
        out.one_error_line(),
        "twofold: set only one of TWOFOLD_SECRET_KEY and TWOFOLD_SECRET_KEY_FILE"
    );
}

#[test]
fn a_public_url_with_a_path_exits_2_naming_the_flag() {
    let dir = TempDir::new();
    let mut cmd = twofold();
    cmd.args([
        "--data-dir",
        &dir.arg(),
        "serve",
        "--public-url",
        "https://mfa.example.com/x",
    ]);
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert_eq!(
        out.one_error_line(),
        "twofold: invalid --public-url \"https://mfa.example.com/x\": give the origin only: no \
         path, query or fragment"
    );
}

#[test]
fn the_public_url_is_logged_at_start_given_or_from_the_bound_address() {
    let dir = TempDir::new();
    let mut cmd = serve_cmd(&dir);
    cmd.args(["--public-url", "https://mfa.example.com"]);
    let server = crate::support::Server::start(cmd);
    assert!(
        server.log().contains("public_url=https://mfa.example.com"),
        "{}",
        server.log()
    );
    drop(server);
    let server = crate::support::Server::start(serve_cmd(&dir));
    let bound = format!("public_url=http://{}", server.addr);
    assert!(server.log().contains(&bound), "{}", server.log());
}
