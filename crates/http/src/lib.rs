//! The HTTP edge: routing, authentication extractors, problem+json errors. Handlers parse
//! requests, call the domain and shape answers; they hold no SQL and no rules.

pub mod api;
pub mod client_ip;
mod edge;
pub mod error;
pub mod extract;
pub mod ops;
mod parse_errors;
pub mod serve;
pub mod throttle;
pub mod web;

use std::sync::Arc;

use axum::Router;

use twofold_core::config::HttpLimits;
use twofold_core::domain::Twofold;

pub use self::edge::REQUEST_ID;
pub(crate) use self::edge::{new_request_id, request_id_value};
use self::throttle::FailureThrottle;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub twofold: Twofold,
    pub limits: Arc<HttpLimits>,
    /// Failed attempts per client address (`throttle`).
    pub throttle: Arc<FailureThrottle>,
}

/// The whole application, ready to serve or to call with `tower::ServiceExt::oneshot`.
/// `metrics_token`: `/metrics` is served for `Authorization: Bearer <it>` (none: not on
/// this listener).
pub fn router(twofold: Twofold, limits: &HttpLimits, metrics_token: Option<Arc<str>>) -> Router {
    let metrics = twofold.metrics().clone();
    let state = AppState {
        twofold,
        limits: Arc::new(limits.clone()),
        throttle: Arc::new(FailureThrottle::new(limits)),
    };
    Router::new()
        .merge(ops::routes(metrics_token))
        .merge(api::routes(&state))
        .merge(web::routes(&state))
        .fallback(error::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            extract::BODY_LIMIT_BYTES,
        ))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(edge::Edge {
            limits: state.limits.clone(),
            metrics,
        })
        .with_state(state)
}
