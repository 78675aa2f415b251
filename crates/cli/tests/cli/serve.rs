//! `twofold serve` with nothing but a port: the defaults an operator gets on first start.

use crate::support::{Server, TempDir, twofold};

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
}
