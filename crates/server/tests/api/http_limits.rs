//! The HTTP server's own limits, over real sockets: thousands of slow connections
//! (Slowloris) while real requests keep answering; headers, idle keep-alive connections
//! and whole requests that take too long; the connection cap with its room for health
//! checks; and answers to unreadable requests as problem documents.
//!
//! These wait for the server's real timers (a second or two): the timeouts are the
//! network's, not a rule's, so there is no clock to move.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use twofold_proto::ErrorCode;
use twofold_server::Config;
use twofold_server::domain::users::Role;

use crate::harness::{Engine, TestServer, token};

/// How long a test waits for an answer before it fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

fn addr(srv: &TestServer) -> String {
    srv.url.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes the connection (or `PATIENCE` runs out); answers what came.
async fn read_to_close(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(PATIENCE, s.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) => None,
    }
}

/// The status and body of a raw HTTP/1.1 answer.
fn split_answer(raw: &str) -> (u16, String, serde_json::Value) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head[9..12].parse().unwrap();
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, head.to_ascii_lowercase(), json)
}

fn quick_timeouts(c: &mut Config) {
    c.http.header_read_timeout = Duration::from_secs(1);
    c.http.request_timeout = Duration::from_secs(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_slow_connections_do_not_stop_real_requests() {
    // The attacker's connections come through a proxy the server trusts, from addresses of
    // their own (as they would in life); the real requests come from the proxy's.
    let srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let u = srv.enrolled().await;
    let (org, user) = srv.user(Role::Member).await;
    let target = addr(&srv);
    // Half a request's headers, then silence; and bodies dripped a byte at a time.
    const HALF_OPEN: usize = 2_000;
    const DRIPPING: usize = 200;
    let mut held = Vec::with_capacity(HALF_OPEN + DRIPPING);
    for _ in 0..HALF_OPEN {
        let mut s = TcpStream::connect(&target).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    for i in 0..DRIPPING {
        let mut s = TcpStream::connect(&target).await.unwrap();
        let head = format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nx-forwarded-for: 203.0.113.{}\r\n\
             content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{",
            i % 250
        );
        s.write_all(head.as_bytes()).await.unwrap();
        held.push(s);
    }
    // Real requests are answered all the same: health, a password sign-in, a code.
    let answered = async {
        srv.client.health().await.unwrap();
        srv.session(&org, &user).await.me().await.unwrap();
        let done = srv
            .submit(&srv.flow(&u).await, &u.code(&srv, 0))
            .await
            .unwrap();
        srv.client.with_token(token(&done)).me().await.unwrap();
    };
    tokio::time::timeout(PATIENCE, answered)
        .await
        .expect("real requests waited behind the slow connections");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_too_slow_and_idle_connections_are_closed() {
    let srv = TestServer::start_with(Engine::Sqlite, quick_timeouts).await;
    let target = addr(&srv);
    // Half a request, then nothing: closed after the header-read timeout, unanswered.
    let mut slow = TcpStream::connect(&target).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut slow)
        .await
        .expect("the slow connection stayed open");
    assert!(got.is_empty(), "{got:?}");
    // Connected and silent: the same.
    let mut silent = TcpStream::connect(&target).await.unwrap();
    assert!(
        read_to_close(&mut silent).await.is_some(),
        "the silent connection stayed open"
    );
    // A keep-alive connection left idle after its answer: closed too.
    let mut idle = TcpStream::connect(&target).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut idle)
        .await
        .expect("the idle connection stayed open");
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_dripped_slowly_ends_with_408() {
    let srv = TestServer::start_with(Engine::Sqlite, quick_timeouts).await;
    let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
    s.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    // A byte every half second: the whole request takes longer than its 2 s.
    let (mut r, mut w) = s.into_split();
    let drip = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if w.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, r.read_to_end(&mut answer)).await;
    drip.abort();
    let raw = String::from_utf8_lossy(&answer);
    let (status, head, body) = split_answer(&raw);
    assert_eq!(status, 408, "{raw}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{raw}"
    );
    assert_eq!(body["code"], "request_timeout", "{raw}");
}

fn small_cap(c: &mut Config) {
    c.http.max_connections = 20;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_health_checks_still_answer() {
    let srv = TestServer::start_with(Engine::Sqlite, small_cap).await;
    let target = addr(&srv);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(&target).await.unwrap());
    }
    // Once the server has taken them all, anything but a health check is told to come
    // back (until then a probe may still find a free slot: try again).
    let probe = |path: &'static str| {
        let target = target.clone();
        async move {
            let mut s = TcpStream::connect(&target).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            read_to_close(&mut s).await.unwrap()
        }
    };
    let raw = tokio::time::timeout(PATIENCE, async {
        loop {
            let raw = probe("/api/v1/me").await;
            if raw.starts_with("HTTP/1.1 503") {
                break raw;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the cap was never reached");
    let (_, head, body) = split_answer(&raw);
    assert!(head.contains("retry-after: 1"), "{raw}");
    assert!(head.contains("x-request-id: "), "{raw}");
    assert_eq!(body["code"], "overloaded", "{raw}");
    // Health still answers.
    let raw = probe("/healthz").await;
    assert!(raw.starts_with("HTTP/1.1 200 OK"), "{raw}");
    // Once connections close, requests are served again.
    drop(held);
    tokio::time::timeout(PATIENCE, async {
        loop {
            if srv
                .client
                .me()
                .await
                .is_err_and(|e| e.code() == Some(ErrorCode::Unauthenticated))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the server did not take requests again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_requests_get_problem_documents() {
    let srv = TestServer::start(Engine::Sqlite).await;
    let target = addr(&srv);
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..200)
            .map(|i| format!("x-h{i}: {}\r\n", "v".repeat(400)))
            .collect::<String>()
    );
    for (request, want) in [
        ("NOT HTTP AT ALL\r\n\r\n".to_owned(), [400, 400]),
        (long_url, [414, 431]),
        (many_headers, [431, 431]),
    ] {
        let mut s = TcpStream::connect(&target).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let raw = read_to_close(&mut s).await.unwrap();
        let (status, head, body) = split_answer(&raw);
        assert!(
            want.contains(&status),
            "{want:?}: {}",
            &raw[..raw.len().min(300)]
        );
        assert!(
            head.contains("content-type: application/problem+json"),
            "{raw}"
        );
        assert_eq!(body["status"], status, "{raw}");
        assert_eq!(body["code"], "invalid_request", "{raw}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{raw}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_large_is_413() {
    let srv = TestServer::start(Engine::Sqlite).await;
    let (org, user) = srv.user(Role::Member).await;
    // A 10 MB body, of which the first 200 KB are sent (the server answers without reading
    // more; a client sending all of it would find the connection closed under it).
    let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
    let body_len = 10 * 1024 * 1024;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
         content-length: {body_len}\r\n\r\n{{\"org\":\"{org}\",\"username\":\"{user}\",\"password\":\""
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(&vec![b'x'; 200 * 1024]).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(PATIENCE, s.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8_lossy(&answer[..n]).into_owned();
    let (status, head, body) = split_answer(&raw);
    assert_eq!(status, 413, "{raw}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{raw}"
    );
    assert_eq!(body["code"], "payload_too_large", "{raw}");
    // The server is fine, and nothing was counted against the account.
    srv.session(&org, &user).await.me().await.unwrap();
}
