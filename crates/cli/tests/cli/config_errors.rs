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
fn database_url_flag_of_an_unsupported_engine_exits_2_naming_the_flag() {
    let dir = TempDir::new();
    let mut cmd = twofold();
    cmd.args(["--data-dir", &dir.arg(), "--database-url", "mysql://x"])
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    let line = out.one_error_line();
    assert!(
        line.starts_with("twofold: invalid --database-url \"mysql://x\": "),
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
fn malformed_secret_key_stops_the_server_at_startup_with_one_line_naming_the_key() {
    let dir = TempDir::new();
    let mut cmd = serve_cmd(&dir);
    cmd.env("TWOFOLD_SECRET_KEY", "garbage");
    let out = run(&mut cmd, None);
    // The key is parsed when the service opens, after the configuration was accepted, so
    // this is reported as a failed start (1), not as bad configuration (2).
    assert_eq!(out.code(), Some(1), "{out:?}");
    let line = out.one_error_line();
    assert!(line.starts_with("twofold: secret key: "), "{line}");
    assert!(line.contains("twofold secret-key generate"), "{line}");
    assert!(!dir.join("twofold.db").exists());
}

#[test]
fn secret_key_with_a_bad_key_part_is_refused_without_echoing_the_key() {
    let dir = TempDir::new();
    let mut cmd = serve_cmd(&dir);
    // Valid id, key part not base64url: the message must say so without repeating the
    // key material into a log.
    let material = "NotBase64!!Material";
    cmd.env("TWOFOLD_SECRET_KEY", format!("k1:{material}"));
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let line = out.one_error_line();
    assert!(line.contains("secret key"), "{line}");
    assert!(!line.contains(material), "{line}");
}
