//! Accepting connections, with the limits a server on the open internet needs (axum's
//! `serve` has none of them):
//!
//! - **Header-read and idle timeout.** A request's headers must arrive within
//!   `header_read_timeout` of the connection's start or of the previous answer, else the
//!   connection is closed: a client that sends half a request and goes quiet (Slowloris),
//!   or keeps an idle connection open, holds it for seconds, not for ever.
//! - **Request timeout** (`request_timeout`, in `http::mod`): a body dripped a byte at a
//!   time, or anything else that takes longer, ends with 408.
//! - **A cap on connections** (`max_connections`), so they can never use up the process's
//!   open files. Past it, a few connections more are let in to answer `/healthz` (and 503
//!   to anything else), so a load balancer still sees the server alive and a flood shows up
//!   as refusals, not as a dead server; past those, new connections are closed at once.
//! - hyper's own answers to unreadable requests become problem documents
//!   (`parse_errors`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use super::parse_errors::ProblemAnswers;
use twofold_core::config::HttpLimits;

/// Connections let in past the cap, for health checks only.
const HEALTH_RESERVE: usize = 32;
/// How long health-only connections may take over their request.
const HEALTH_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a request's head hyper buffers (its default is about 400 KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a stopping server waits for connections still answering.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (for at most 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let regular = Arc::new(Semaphore::new(limits.max_connections));
    let health = Arc::new(Semaphore::new(HEALTH_RESERVE));
    let graceful = GracefulShutdown::new();
    let header_timeout = limits.header_read_timeout;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or the peer gave up before we took it: the
                    // listener itself is fine. A short pause lets descriptors come back.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (permit, health_only) = match Arc::clone(&regular).try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => match Arc::clone(&health).try_acquire_owned() {
                Ok(p) => (p, true),
                Err(_) => {
                    drop(stream);
                    continue;
                }
            },
        };
        if health_only {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection cap reached"
            );
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            serve_connection(
                stream,
                peer,
                app,
                health_only,
                header_timeout,
                watcher,
                permit,
            )
            .await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("stopping with connections still open");
    }
    Ok(())
}

/// One connection: HTTP/1.1 with the header-read timeout; `health_only` connections (past
/// the cap) answer `/healthz` and nothing else, once.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    health_only: bool,
    header_timeout: Duration,
    watcher: hyper_util::server::graceful::Watcher,
    _permit: OwnedSemaphorePermit,
) {
    let io = TokioIo::new(ProblemAnswers::new(stream));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD_BYTES)
        .header_read_timeout(if health_only {
            HEALTH_HEADER_TIMEOUT
        } else {
            header_timeout
        })
        .keep_alive(!health_only);
    let result = if health_only {
        let service = hyper::service::service_fn(health_or_busy);
        watcher.watch(builder.serve_connection(io, service)).await
    } else {
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        watcher.watch(builder.serve_connection(io, service)).await
    };
    if let Err(e) = result {
        // A client that went away or timed out: routine, not worth more than debug.
        tracing::debug!(error = %e, %peer, "connection ended");
    }
}

/// What a connection past the cap gets: `/healthz` answers as usual; anything else 503.
async fn health_or_busy(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if req.uri().path() == "/healthz" {
        let mut res = Response::new(Body::from("ok"));
        if let Some(id) = super::request_id_value(super::new_request_id()) {
            res.headers_mut().insert(super::REQUEST_ID, id);
        }
        return Ok(res);
    }
    let problem = twofold_proto::Problem {
        type_uri: twofold_proto::ErrorCode::Overloaded.type_uri(),
        title: "Service Unavailable".into(),
        status: 503,
        detail: "the server has as many connections as it takes; try again shortly".into(),
        code: twofold_proto::ErrorCode::Overloaded,
        retry_after: Some(1),
        clock_skew_seconds: None,
        scope: None,
        providers: None,
    };
    let mut res = Response::new(Body::from(serde_json::to_vec(&problem).unwrap_or_default()));
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(twofold_proto::PROBLEM_JSON),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(id) = super::request_id_value(super::new_request_id()) {
        h.insert(super::REQUEST_ID, id);
    }
    Ok(res)
}
