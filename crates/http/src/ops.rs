//! The operator's endpoints: liveness (`/healthz`), readiness (`/readyz`) and the
//! Prometheus metrics (`/metrics`), on the main listener behind a token or on a listener
//! of their own.
//!
//! `/healthz` says only that the process answers, so an orchestrator restarts it when it
//! hangs; `/readyz` says whether it can serve sign-ins now, so a load balancer sends
//! traffic elsewhere while it cannot (the database is down, the schema is another
//! release's, a key is missing, mail is stuck) without restarting it.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use twofold_core::domain::Twofold;
use twofold_proto::ErrorCode;

use crate::AppState;
use crate::error::ApiError;

/// The routes on the main listener: `/metrics` only when a token guards it.
pub(crate) fn routes(metrics_token: Option<Arc<str>>) -> Router<AppState> {
    let holder = metrics_token.clone();
    let router = Router::new().route("/healthz", get(healthz)).route(
        "/readyz",
        get(
            move |State(s): State<AppState>, headers: HeaderMap| async move {
                let detailed = holder
                    .as_deref()
                    .is_some_and(|token| bearer_matches(&headers, token));
                readyz(&s.twofold, detailed).await
            },
        ),
    );
    match metrics_token {
        Some(token) => router.route(
            "/metrics",
            get(
                move |State(s): State<AppState>, headers: HeaderMap| async move {
                    if bearer_matches(&headers, &token) {
                        metrics_answer(&s.twofold)
                    } else {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            ErrorCode::Unauthenticated,
                            "the metrics need Authorization: Bearer <TWOFOLD_METRICS_TOKEN>",
                        )
                        .into_response()
                    }
                },
            ),
        ),
        None => router,
    }
}

/// The metrics listener's whole application: `/metrics` and `/readyz` with its details,
/// and 404 for anything else.
pub fn metrics_router(twofold: Twofold) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(t): State<Twofold>| async move { metrics_answer(&t) }),
        )
        .route(
            "/readyz",
            get(|State(t): State<Twofold>| async move { readyz(&t, true).await }),
        )
        .with_state(twofold)
}

/// Liveness: answers without touching the database or the password hasher, so it stays
/// fast while either is busy.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: 200 when every check passes, else 503; the body names each check as `ok`
/// or `failing`. Why one fails (or what is worth noting) is told where only the operator
/// looks: `detailed` (the metrics listener, or the metrics token's holder) and the log.
async fn readyz(twofold: &Twofold, detailed: bool) -> Response {
    let readiness = twofold.readiness().await;
    let checks: serde_json::Map<String, serde_json::Value> = readiness
        .checks
        .iter()
        .map(|c| {
            if let Some(problem) = &c.problem {
                tracing::warn!(check = c.name, problem = %problem, "not ready");
            }
            let value = match (&c.problem, &c.note) {
                (Some(why), _) if detailed => why.as_str(),
                (Some(_), _) => "failing",
                (None, Some(note)) if detailed => note.as_str(),
                (None, _) => "ok",
            };
            (c.name.to_owned(), serde_json::Value::from(value))
        })
        .collect();
    let (status, word) = if readiness.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let body = serde_json::json!({ "status": word, "checks": checks });
    (status, axum::Json(body)).into_response()
}

fn metrics_answer(twofold: &Twofold) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(twofold_core::metrics::CONTENT_TYPE),
        )],
        twofold.render_metrics(),
    )
        .into_response()
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in constant
/// time.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())))
}
