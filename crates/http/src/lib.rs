//! The HTTP edge: routing, authentication extractors, problem+json errors. Handlers parse
//! requests, call the domain and shape answers; they hold no SQL and no rules.

pub mod api;
pub mod client_ip;
pub mod error;
pub mod extract;
mod parse_errors;
pub mod serve;
pub mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use twofold_core::config::HttpLimits;
use twofold_core::domain::Twofold;
use twofold_core::domain::audit::{Origin, with_origin};

use self::client_ip::ClientIp;
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
pub fn router(twofold: Twofold, limits: &HttpLimits) -> Router {
    let state = AppState {
        twofold,
        limits: Arc::new(limits.clone()),
        throttle: Arc::new(FailureThrottle::new(limits)),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .merge(api::routes(&state))
        .fallback(error::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            extract::BODY_LIMIT_BYTES,
        ))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::map_response(no_store))
        .layer(from_fn_with_state(state.clone(), request_timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panicked,
        ))
        .layer(from_fn_with_state(state.clone(), origin))
        .layer(axum::middleware::from_fn(observe))
        .with_state(state)
}

/// The header that names a request, on every answer: quote it when reporting a problem,
/// and find every log line of that request by it.
pub const REQUEST_ID: &str = "x-request-id";

/// Request id `id` as the value of [`REQUEST_ID`] (a hyphenated UUID, always a valid
/// header value; `None` would only mean a bug, and then the header is left out).
pub(crate) fn request_id_value(id: uuid::Uuid) -> Option<HeaderValue> {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes()).ok()
}

/// Gives each request an id of its own (never one the client sent: a client must not be
/// able to write into another request's log lines), runs it inside a span that puts the
/// id on every log line it causes, logs how it was answered (method, route, status,
/// latency: at error level for a 5xx, debug otherwise), and returns the id as
/// `X-Request-Id`.
async fn observe(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = uuid::Uuid::now_v7();
    // The route as declared (`/api/v1/me/factors/{id}`), not the path: no ids in the logs.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    // Only the id is in the span, formatted once, on every log line the request causes;
    // the method and route go on the line that says how it was answered.
    let span = tracing::info_span!("request", id = %id);
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let route = route.as_ref().map_or("-", |r| r.as_str());
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(%method, route, status, latency_ms = ms, "answered");
        } else {
            tracing::debug!(%method, route, status, latency_ms = ms, "answered");
        }
    });
    if let Some(v) = request_id_value(id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// Ends a request that takes longer than `request_timeout` (a body dripped a byte at a
/// time, say) with 408.
async fn request_timeout(State(st): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(st.limits.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => error::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            twofold_proto::ErrorCode::RequestTimeout,
            "the request took too long; send it again, faster",
        )
        .into_response(),
    }
}

/// Makes the client's address (through the trusted proxies, if any: `client_ip`) and
/// user agent the origin of the events the request records (see `domain::audit`).
async fn origin(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = client_ip::peer(&req)
        .map(|peer| client_ip::resolve(peer, req.headers(), &st.limits.trusted_proxies));
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let ip = client.map(|ip| ip.to_string());
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
