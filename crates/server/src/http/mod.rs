//! The HTTP edge: routing, authentication extractors, problem+json errors. Handlers parse
//! requests, call the domain and shape answers; they hold no SQL and no rules.

pub mod api;
pub mod error;
pub mod extract;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;

use crate::domain::Twofold;
use crate::domain::audit::{Origin, with_origin};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub twofold: Twofold,
}

/// The whole application, ready to serve or to call with `tower::ServiceExt::oneshot`.
pub fn router(twofold: Twofold) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::map_response(no_store))
        .layer(axum::middleware::from_fn(origin))
        .with_state(AppState { twofold })
}

/// Makes the client's address and user agent the origin of the events the request
/// records (see `domain::audit`). The address is the peer's: a proxy in front would need
/// a trusted forwarding header, which is not configured.
async fn origin(req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        // Bounded: the log keeps it for every event.
        .map(|ua| ua.chars().take(512).collect());
    with_origin(Origin { ip, user_agent }, next.run(req)).await
}

/// Liveness: answers without touching the database or the password hasher, so it stays
/// fast while either is busy.
async fn healthz() -> &'static str {
    "ok"
}

/// Answers carry tokens, secrets and personal data: no cache may keep them (RFC 9111).
async fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
