//! Every failure leaves as an RFC 9457 problem document with a stable `code`. Internal
//! errors are logged here with their detail and answered with a generic one: never SQL
//! text or a backtrace.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use twofold_proto::{ErrorCode, PROBLEM_JSON, Problem};

use twofold_core::domain::DomainError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    retry_after: Option<u64>,
    clock_skew_seconds: Option<i64>,
    scope: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
            clock_skew_seconds: None,
            scope: None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, detail)
    }

    /// 429 `rate_limited`, with `Retry-After`.
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                detail,
            )
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        let (status, code) = match &e {
            D::InvalidInput(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            D::InvalidCredentials => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials),
            D::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            D::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            D::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            D::AlreadyExists(_) | D::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            D::InvalidCode | D::ClockSkew { .. } => {
                (StatusCode::UNAUTHORIZED, ErrorCode::InvalidCode)
            }
            D::CodeReused => (StatusCode::UNAUTHORIZED, ErrorCode::CodeReused),
            D::WrongConfirmation => (StatusCode::BAD_REQUEST, ErrorCode::InvalidCode),
            D::ConfirmationExpired => (StatusCode::BAD_REQUEST, ErrorCode::CodeExpired),
            D::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyAttempts),
            D::TooSoon { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            D::FlowExpired => (StatusCode::UNAUTHORIZED, ErrorCode::FlowExpired),
            D::StepUpRequired => (StatusCode::FORBIDDEN, ErrorCode::StepUpRequired),
            D::EnrollmentRequired => (StatusCode::FORBIDDEN, ErrorCode::EnrollmentRequired),
            D::InsufficientScope { .. } => (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope),
            D::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            D::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Overloaded),
            D::LastFactor => (StatusCode::CONFLICT, ErrorCode::LastFactor),
            D::MethodNotAvailable(_) => (StatusCode::BAD_REQUEST, ErrorCode::MethodNotAvailable),
            D::Store(_) | D::Crypto(_) | D::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "the server could not complete the request",
                );
            }
        };
        let retry_after = match e {
            D::Locked { retry_after }
            | D::TooSoon { retry_after }
            | D::Throttled { retry_after }
            | D::Overloaded { retry_after } => Some(retry_after),
            _ => None,
        };
        let scope = match &e {
            D::InsufficientScope { scope } => Some(scope.clone()),
            _ => None,
        };
        let clock_skew_seconds = match e {
            D::ClockSkew { seconds } => Some(seconds),
            _ => None,
        };
        Self {
            status,
            code,
            detail: e.to_string(),
            retry_after,
            clock_skew_seconds,
            scope,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            type_uri: self.code.type_uri(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            retry_after: self.retry_after,
            clock_skew_seconds: self.clock_skew_seconds,
            scope: self.scope,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.code == ErrorCode::Unauthenticated {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // For the layers around the handlers (the per-address failure throttle).
        res.extensions_mut().insert(self.code);
        res
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such endpoint",
    )
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidRequest,
        "this endpoint does not accept that method",
    )
}

/// What a handler that panicked answers (its panic is logged, in the request's span).
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "the server could not complete the request",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_plain_500_problem() {
        let res = panicked(Box::new("boom: secret detail"));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
