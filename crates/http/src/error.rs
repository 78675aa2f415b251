//! Every failure leaves as an RFC 9457 problem document with a stable `code`. Internal
//! errors are logged here with their detail and answered with a generic one: never SQL
//! text or a backtrace.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use twofold_proto::{ErrorCode, PROBLEM_JSON, Problem};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

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
    providers: Option<Vec<String>>,
}

impl ApiError {
    /// The answer's status, stable code and words (the web pages show the same failure
    /// the API would answer).
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub(crate) fn clock_skew_seconds(&self) -> Option<i64> {
        self.clock_skew_seconds
    }

    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
            clock_skew_seconds: None,
            scope: None,
            providers: None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        let (status, code) = Fail::InvalidRequest.answer();
        Self::new(status, code, detail)
    }

    /// 429 `rate_limited`, with `Retry-After`.
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Self {
        let (status, code) = Fail::Throttled.answer();
        Self {
            retry_after: Some(retry_after),
            ..Self::new(status, code, detail)
        }
    }
}

/// Every way a request can fail (the server's own failures aside), each answered with one
/// status and one code. The answers ([`From<DomainError>`]) and the OpenAPI document
/// ([`documented`]) both take them from [`Fail::answer`], so the document cannot name a
/// status the server does not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    /// A malformed request, or one the rules refuse as such.
    InvalidRequest,
    InvalidCredentials,
    Unauthenticated,
    NotFound,
    Forbidden,
    Conflict,
    /// A wrong second-factor code (clock drift included).
    InvalidCode,
    CodeReused,
    /// A wrong mailed confirmation code (the request is refused, not the sign-in).
    WrongConfirmation,
    ConfirmationExpired,
    /// The second step is locked.
    Locked,
    /// A new mailed code asked for within 30 s of the last.
    TooSoon,
    FlowExpired,
    StepUpRequired,
    EnrollmentRequired,
    InsufficientScope,
    /// Too many failures from this address or for this account.
    Throttled,
    Overloaded,
    LastFactor,
    MethodNotAvailable,
    UseIdentityProvider,
    FederationFailed,
    FederatedUserRefused,
    ProviderUnavailable,
    PasskeyRefused,
    ChallengeExpired,
    PasskeyCloned,
}

impl Fail {
    /// The status and code this failure is answered with.
    pub const fn answer(self) -> (StatusCode, ErrorCode) {
        use Fail as F;
        match self {
            F::InvalidRequest => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            F::InvalidCredentials => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials),
            F::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            F::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            F::Forbidden => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            F::Conflict => (StatusCode::CONFLICT, ErrorCode::Conflict),
            F::InvalidCode => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidCode),
            F::CodeReused => (StatusCode::UNAUTHORIZED, ErrorCode::CodeReused),
            F::WrongConfirmation => (StatusCode::BAD_REQUEST, ErrorCode::InvalidCode),
            F::ConfirmationExpired => (StatusCode::BAD_REQUEST, ErrorCode::CodeExpired),
            F::Locked => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyAttempts),
            F::TooSoon | F::Throttled => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            F::FlowExpired => (StatusCode::UNAUTHORIZED, ErrorCode::FlowExpired),
            F::StepUpRequired => (StatusCode::FORBIDDEN, ErrorCode::StepUpRequired),
            F::EnrollmentRequired => (StatusCode::FORBIDDEN, ErrorCode::EnrollmentRequired),
            F::InsufficientScope => (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope),
            F::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Overloaded),
            F::LastFactor => (StatusCode::CONFLICT, ErrorCode::LastFactor),
            F::MethodNotAvailable => (StatusCode::BAD_REQUEST, ErrorCode::MethodNotAvailable),
            F::UseIdentityProvider => (StatusCode::UNAUTHORIZED, ErrorCode::UseIdentityProvider),
            F::FederationFailed => (StatusCode::UNAUTHORIZED, ErrorCode::FederationFailed),
            F::FederatedUserRefused => (StatusCode::FORBIDDEN, ErrorCode::FederatedUserRefused),
            F::ProviderUnavailable => (StatusCode::BAD_GATEWAY, ErrorCode::ProviderUnavailable),
            F::PasskeyRefused => (StatusCode::UNAUTHORIZED, ErrorCode::PasskeyRefused),
            F::ChallengeExpired => (StatusCode::UNAUTHORIZED, ErrorCode::ChallengeExpired),
            F::PasskeyCloned => (StatusCode::UNAUTHORIZED, ErrorCode::PasskeyCloned),
        }
    }

    /// Whether the answer says when to try again (`Retry-After`, `retry_after`).
    pub const fn waits(self) -> bool {
        matches!(
            self,
            Fail::Locked | Fail::TooSoon | Fail::Throttled | Fail::Overloaded
        )
    }

    /// What the document says of it where an operation adds nothing.
    const fn usual_note(self) -> &'static str {
        match self {
            Fail::StepUpRequired => {
                "this session passed no second factor in the last 10 minutes nor sent a valid \
                 elevated token"
            }
            Fail::InsufficientScope => "the elevated token lacks `mfa:manage`",
            Fail::EnrollmentRequired => "the caller has no second factor (enrol one first)",
            _ => "",
        }
    }

    /// `e`'s failure; `None` for the server's own (a 500).
    pub fn of(e: &DomainError) -> Option<Fail> {
        use DomainError as D;
        Some(match e {
            D::InvalidInput(_) => Fail::InvalidRequest,
            D::InvalidCredentials => Fail::InvalidCredentials,
            D::Unauthenticated => Fail::Unauthenticated,
            D::NotFound(_) => Fail::NotFound,
            D::Forbidden(_) => Fail::Forbidden,
            D::AlreadyExists(_) | D::Conflict(_) => Fail::Conflict,
            D::InvalidCode | D::ClockSkew { .. } => Fail::InvalidCode,
            D::CodeReused => Fail::CodeReused,
            D::WrongConfirmation => Fail::WrongConfirmation,
            D::ConfirmationExpired => Fail::ConfirmationExpired,
            D::Locked { .. } => Fail::Locked,
            D::TooSoon { .. } => Fail::TooSoon,
            D::FlowExpired => Fail::FlowExpired,
            D::StepUpRequired => Fail::StepUpRequired,
            D::EnrollmentRequired => Fail::EnrollmentRequired,
            D::InsufficientScope { .. } => Fail::InsufficientScope,
            D::Throttled { .. } => Fail::Throttled,
            D::Overloaded { .. } => Fail::Overloaded,
            D::LastFactor => Fail::LastFactor,
            D::MethodNotAvailable(_) => Fail::MethodNotAvailable,
            D::UseIdentityProvider { .. } => Fail::UseIdentityProvider,
            D::FederationFailed(_) => Fail::FederationFailed,
            D::FederatedUserRefused(_) => Fail::FederatedUserRefused,
            D::ProviderUnavailable(_) => Fail::ProviderUnavailable,
            D::PasskeyRefused(_) => Fail::PasskeyRefused,
            D::PasskeyChallengeGone => Fail::ChallengeExpired,
            D::PasskeyCloned => Fail::PasskeyCloned,
            D::Store(_) | D::Crypto(_) | D::Internal(_) => return None,
        })
    }
}

/// The error answers of one operation, for its `#[utoipa::path(responses(…))]`: each
/// failure it can give with what it means there (or what it usually means), grouped by the status [`Fail::answer`]
/// gives it, each a problem document, with `Retry-After` where the failure waits.
pub fn documented(fails: &[(Fail, &str)]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let mut by_status: BTreeMap<u16, Vec<(Fail, &str)>> = BTreeMap::new();
    for &(fail, note) in fails {
        by_status
            .entry(fail.answer().0.as_u16())
            .or_default()
            .push((fail, note));
    }
    by_status
        .into_iter()
        .map(|(status, fails)| {
            let description: Vec<String> = fails
                .iter()
                .map(|(fail, note)| match (fail.answer().1.as_str(), *note) {
                    (code, "") if fail.usual_note().is_empty() => format!("`{code}`"),
                    (code, "") => format!("`{code}`: {}", fail.usual_note()),
                    (code, note) => format!("`{code}`: {note}"),
                })
                .collect();
            let problem = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build();
            let mut answer = ResponseBuilder::new()
                .description(description.join("; "))
                .content(PROBLEM_JSON, problem);
            if fails.iter().any(|(fail, _)| fail.waits()) {
                let seconds = ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0));
                answer = answer.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(seconds)
                        .description(Some("Seconds to wait, as `retry_after`"))
                        .build(),
                );
            }
            (status.to_string(), RefOr::T(answer.build()))
        })
        .collect()
}

/// What an organisation admin's guarded action (`/orgs/{org}/…` behind a fresh second
/// factor) can fail with before it starts: `fails!(X { ..ORG_ADMIN, … })`.
pub const ORG_ADMIN: &[(Fail, &str)] = &[
    (Fail::Unauthenticated, ""),
    (Fail::Forbidden, "the caller is a member"),
    (Fail::StepUpRequired, ""),
    (Fail::EnrollmentRequired, ""),
    (Fail::InsufficientScope, ""),
    (Fail::NotFound, "not the caller's organisation"),
];

/// Declares `$name`, the error answers of one operation (see [`documented`]): a group of
/// failures (`..ORG_ADMIN`), then each [`Fail`] it can give, with what it means for this
/// operation.
#[macro_export]
macro_rules! fails {
    ($name:ident { $(..$group:path,)? $($fail:ident $(: $note:literal)?),* $(,)? }) => {
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                let fails: Vec<($crate::error::Fail, &str)> = [
                    $($group,)?
                    &[$(($crate::error::Fail::$fail, $crate::fails!(@note $($note)?))),*][..],
                ]
                .concat();
                $crate::error::documented(&fails)
            }
        }
    };
    (@note) => { "" };
    (@note $note:literal) => { $note };
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        let Some(fail) = Fail::of(&e) else {
            tracing::error!(error = %e, "request failed");
            return Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the server could not complete the request",
            );
        };
        let (status, code) = fail.answer();
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
        let providers = match &e {
            D::UseIdentityProvider { providers } => Some(providers.clone()),
            _ => None,
        };
        Self {
            status,
            code,
            detail: e.to_string(),
            retry_after,
            clock_skew_seconds,
            scope,
            providers,
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
            providers: self.providers,
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

    #[test]
    fn a_domain_error_is_answered_as_its_failure_is_documented() {
        let cases = [
            (DomainError::WrongConfirmation, Fail::WrongConfirmation),
            (DomainError::InvalidCode, Fail::InvalidCode),
            (DomainError::ClockSkew { seconds: 60 }, Fail::InvalidCode),
            (DomainError::Locked { retry_after: 9 }, Fail::Locked),
            (DomainError::Conflict("x".into()), Fail::Conflict),
            (DomainError::AlreadyExists("x".into()), Fail::Conflict),
        ];
        for (e, fail) in cases {
            let err = ApiError::from(e);
            assert_eq!((err.status, err.code), fail.answer(), "{fail:?}");
            assert_eq!(err.retry_after.is_some(), fail.waits(), "{fail:?}");
        }
        assert!(Fail::of(&DomainError::Internal("x".into())).is_none());
    }

    #[test]
    fn failures_are_documented_one_answer_per_status_with_every_code() {
        let doc = documented(&[
            (Fail::InvalidRequest, "malformed"),
            (Fail::WrongConfirmation, ""),
            (Fail::Unauthenticated, ""),
            (Fail::TooSoon, "mailed less than 30 s ago"),
            (Fail::Throttled, ""),
        ]);
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["400", "401", "429"]);
        let json = |status: &str| serde_json::to_value(&doc[status]).unwrap_or_default();
        assert_eq!(
            json("400")["description"],
            "`invalid_request`: malformed; `invalid_code`"
        );
        assert_eq!(
            json("400")["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert!(json("400")["headers"].is_null());
        assert_eq!(
            json("429")["description"],
            "`rate_limited`: mailed less than 30 s ago; `rate_limited`"
        );
        assert_eq!(
            json("429")["headers"]["Retry-After"]["schema"]["type"],
            "integer"
        );
    }
}
