//! The HTTP edge: routing, authentication extractors, problem+json errors. Handlers parse
//! requests, call the domain and shape answers; they hold no SQL and no rules.

pub mod api;
pub mod error;
pub mod extract;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

use crate::domain::Twofold;

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
        .with_state(AppState { twofold })
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
