//! Slowloris against the real `twofold serve`: thousands of connections that send half a
//! request's headers and then nothing, more than the server process has file descriptors
//! for. Without a connection cap and a header-read timeout, the server runs out of
//! descriptors, stops accepting, and `/healthz` and sign-ins time out for as long as the
//! attacker holds on; with them, the extra connections are closed at once, the held ones
//! after the timeout, and real requests keep being answered throughout.
//!
//! The server runs with a lowered open-files limit (`ulimit -n`) so that "more than it
//! has" is a few thousand connections, not tens of thousands.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Server, TempDir, create_org_and_user, twofold};

const PASSWORD: &str = "correct horse battery staple";
/// The server's open-files limit, and the connections the attacker opens: more.
const SERVER_FILES: usize = 1024;
const ATTACK: usize = 3000;
/// How long real requests may keep failing before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_half_open_connections_do_not_stop_health_checks_or_sign_ins() {
    let dir = TempDir::new();
    create_org_and_user(&["--data-dir", &dir.arg()], &[], "acme", "alice", PASSWORD);
    // `twofold serve` under `ulimit -n`, with a short header-read timeout.
    let mut cmd = std::process::Command::new("bash");
    cmd.args([
        "-c",
        &format!("ulimit -n {SERVER_FILES} && exec \"$@\""),
        "bash",
    ]);
    let inner = twofold();
    cmd.arg(inner.get_program());
    cmd.args(["--data-dir", &dir.arg(), "serve", "--listen", "127.0.0.1:0"]);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TWOFOLD_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("TWOFOLD_HEADER_READ_TIMEOUT_SECONDS", "2");
    let server = Server::start(cmd);
    let target = server.addr;

    // The attack: half a request each, held open by this process for the whole test.
    let mut held = Vec::with_capacity(ATTACK);
    let mut timeouts = 0;
    for _ in 0..ATTACK {
        // A server that stopped accepting leaves connections in the kernel's queue: give
        // up on them after a while (a busy machine may be slow to accept, hence not at
        // the first).
        let connect = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(target));
        let mut s = match connect.await {
            Ok(Ok(s)) => s,
            Ok(Err(_)) => continue,
            Err(_) if timeouts < 2 => {
                timeouts += 1;
                continue;
            }
            // The queue stays full: the server has stopped taking connections.
            Err(_) => break,
        };
        timeouts = 0;
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        held.push(s);
    }
    assert!(
        held.len() > SERVER_FILES,
        "only {} connections opened",
        held.len()
    );
    eprintln!("{} connections held", held.len());

    // Real requests, each with a short timeout of its own, until both kinds have been
    // answered.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .unwrap();
    let started = Instant::now();
    let (mut health_ok, mut login_ok) = (false, false);
    while !(health_ok && login_ok) {
        assert!(
            started.elapsed() < PATIENCE,
            "real requests were not answered under the attack (health {health_ok}, sign-in \
             {login_ok}); server log:\n{}",
            server.log()
        );
        if !health_ok {
            health_ok = http
                .get(server.url("/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
        }
        if !login_ok {
            login_ok = http
                .post(server.url("/api/v1/auth/login"))
                .json(
                    &serde_json::json!({"org": "acme", "username": "alice", "password": PASSWORD}),
                )
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");
}
