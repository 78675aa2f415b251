//! The layer every request passes first and every answer last: a request id, the span its
//! log lines share, the origin its audit events record, a time limit, a 500 for a handler
//! that panicked, and the headers every answer carries.
//!
//! One hand-written `tower` service instead of a stack of `axum::middleware::from_fn`
//! layers and `tower-http`'s catch-panic: each of those boxed the request's future and
//! cloned the next service, and on the code-check hot path that stack cost about 5 % of
//! the server's CPU per request (docs/PERFORMANCE.md). Here a request costs one box.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tower::{Layer, Service};
use tracing::Instrument;
use uuid::Uuid;

use twofold_core::config::HttpLimits;
use twofold_core::domain::audit::{Origin, with_origin};
use twofold_core::metrics::{Metrics, RequestLabels};

use crate::client_ip::{self, ClientIp};
use crate::error;

/// The header that names a request, on every answer: quote it when reporting a problem,
/// and find every log line of that request by it.
pub const REQUEST_ID: &str = "x-request-id";

/// A new request id: a UUIDv7, so ids sort by arrival, whose other 74 bits are this
/// process's random start plus a counter. Unique without asking the system's random
/// source on every request; never one the client sent (a client must not be able to
/// write into another request's log lines).
pub(crate) fn new_request_id() -> Uuid {
    static START: OnceLock<u128> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| Uuid::new_v4().as_u128());
    let bits = start.wrapping_add(u128::from(COUNT.fetch_add(1, Ordering::Relaxed)));
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    // The low 80 bits, most significant first: ids of one millisecond sort by the counter.
    let mut tail = [0u8; 10];
    tail.copy_from_slice(&bits.to_be_bytes()[6..]);
    uuid::Builder::from_unix_timestamp_millis(ms, &tail).into_uuid()
}

/// Request id `id` as the value of [`REQUEST_ID`] (a hyphenated UUID, always a valid
/// header value; `None` would only mean a bug, and then the header is left out).
pub(crate) fn request_id_value(id: Uuid) -> Option<HeaderValue> {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes()).ok()
}

/// The layer (applied to every route and the fallbacks).
#[derive(Clone)]
pub(crate) struct Edge {
    pub(crate) limits: Arc<HttpLimits>,
    pub(crate) metrics: Arc<Metrics>,
}

impl<S> Layer<S> for Edge {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EdgeService {
            inner,
            limits: self.limits.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct EdgeService<S> {
    inner: S,
    limits: Arc<HttpLimits>,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request> for EdgeService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = new_request_id();
        // Only the id is in the span, formatted once, on every log line the request
        // causes; the method and route go on the line that says how it was answered.
        // `request_id`: the name log pipelines look for (a top-level field in JSON lines).
        let span = tracing::info_span!("request", request_id = %id);
        // The route as declared (`/api/v1/me/factors/{id}`), not the path: no ids in logs.
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        let origin = origin(&mut req, &self.limits);
        let timeout = self.limits.request_timeout;
        let metrics = self.metrics.clone();
        let started = Instant::now();
        // `inner` was made ready by `poll_ready`, so it is called here rather than cloned
        // into the future; a panic while it builds its future is caught like one inside.
        let called =
            span.in_scope(|| std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))));
        Box::pin(async move {
            let answer = match called {
                Ok(fut) => {
                    let run = AssertUnwindSafe(tokio::time::timeout(timeout, fut)).catch_unwind();
                    match with_origin(origin, run).instrument(span.clone()).await {
                        Ok(Ok(Ok(res))) => res,
                        Ok(Ok(Err(never))) => match never {},
                        Ok(Err(_elapsed)) => timed_out(),
                        Err(panic) => span.in_scope(|| error::panicked(panic)),
                    }
                }
                Err(panic) => span.in_scope(|| error::panicked(panic)),
            };
            Ok(finish(
                answer,
                id,
                &span,
                &method,
                route.as_ref(),
                started,
                &metrics,
            ))
        })
    }
}

/// Makes the client's address (through the trusted proxies, if any: `client_ip`) and
/// user agent the origin of the events the request records (see `domain::audit`), and
/// leaves the address for the extractors that throttle by it.
fn origin(req: &mut Request, limits: &HttpLimits) -> Origin {
    let client = client_ip::peer(req)
        .map(|peer| client_ip::resolve(peer, req.headers(), &limits.trusted_proxies));
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        // Bounded: the log keeps it for every event.
        .map(|ua| ua.chars().take(512).collect());
    Origin {
        ip: client.map(|ip| ip.to_string()),
        user_agent,
    }
}

/// A request that took longer than `request_timeout` (a body dripped a byte at a time,
/// say) ends with 408.
fn timed_out() -> Response {
    error::ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        twofold_proto::ErrorCode::RequestTimeout,
        "the request took too long; send it again, faster",
    )
    .into_response()
}

/// Logs how the request was answered (at error level for a 5xx, debug otherwise) and adds
/// the headers every answer carries: the request id, and `no-store`, since answers carry
/// tokens, secrets and personal data that no cache may keep (RFC 9111).
fn finish(
    mut res: Response,
    id: Uuid,
    span: &tracing::Span,
    method: &axum::http::Method,
    route: Option<&MatchedPath>,
    started: Instant,
    metrics: &Metrics,
) -> Response {
    let status = res.status().as_u16();
    let route = route.map_or("-", |r| r.as_str());
    let took = started.elapsed();
    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status,
        })
        .observe(took.as_secs_f64());
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(%method, route, status, latency_ms = ms, "answered");
        } else {
            tracing::debug!(%method, route, status, latency_ms = ms, "answered");
        }
    });
    let headers = res.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if let Some(v) = request_id_value(id) {
        headers.insert(REQUEST_ID, v);
    }
    res
}

/// The method as a metric label: the ones the routes use, `other` for the rest, so a
/// client inventing methods cannot grow the metrics without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn request_ids_are_distinct_version_7_uuids() {
        let ids: Vec<Uuid> = (0..10_000).map(|_| new_request_id()).collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "an id repeated");
    }

    /// `inner` behind the edge, with a 30 s request timeout.
    async fn answer<S>(inner: S) -> (StatusCode, axum::http::HeaderMap, serde_json::Value)
    where
        S: Service<Request, Response = Response, Error = Infallible>,
        S::Future: Send + 'static,
    {
        let limits = HttpLimits {
            request_timeout: Duration::from_secs(30),
            ..HttpLimits::default()
        };
        let edge = Edge {
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::new(
                &twofold_core::metrics::StoreMetrics::sqlite(),
                twofold_core::metrics::latency_histogram(),
            )),
        };
        let res = edge
            .layer(inner)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (parts.status, parts.headers, json)
    }

    fn assert_problem(got: &(StatusCode, axum::http::HeaderMap, serde_json::Value), code: &str) {
        let (status, headers, body) = got;
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status.as_u16());
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let id = headers[REQUEST_ID].to_str().unwrap();
        assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 7);
    }

    #[tokio::test]
    async fn a_handler_that_panics_while_running_is_answered_500() {
        let inner = tower::service_fn(|_req: Request| async move {
            if true {
                panic!("boom");
            }
            Ok::<Response, Infallible>(Response::new(Body::empty()))
        });
        let got = answer(inner).await;
        assert_eq!(got.0, StatusCode::INTERNAL_SERVER_ERROR);
        assert_problem(&got, "internal");
    }

    #[tokio::test]
    async fn a_service_that_panics_while_called_is_answered_500() {
        let inner = tower::service_fn(
            |_req: Request| -> std::future::Ready<Result<Response, Infallible>> {
                panic!("boom before any future")
            },
        );
        let got = answer(inner).await;
        assert_eq!(got.0, StatusCode::INTERNAL_SERVER_ERROR);
        assert_problem(&got, "internal");
    }

    // Paused time: tokio's clock jumps to the timeout as soon as nothing else can run.
    #[tokio::test(start_paused = true)]
    async fn a_request_past_the_time_limit_is_answered_408() {
        let inner = tower::service_fn(|_req: Request| async move {
            tokio::time::sleep(Duration::from_secs(31)).await;
            Ok::<Response, Infallible>(Response::new(Body::empty()))
        });
        let got = answer(inner).await;
        assert_eq!(got.0, StatusCode::REQUEST_TIMEOUT);
        assert_problem(&got, "request_timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_within_the_time_limit_keeps_its_answer_and_gains_the_headers() {
        let inner = tower::service_fn(|_req: Request| async move {
            tokio::time::sleep(Duration::from_secs(29)).await;
            let mut res = Response::new(Body::from("{}"));
            *res.status_mut() = StatusCode::CREATED;
            Ok::<Response, Infallible>(res)
        });
        let (status, headers, body) = answer(inner).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body, serde_json::json!({}));
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(headers.contains_key(REQUEST_ID));
    }
}
