//! `/auth`: the password step, the second step, logout.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::{LoginRequest, LoginResponse, MfaRequest, Problem};
use zeroize::Zeroizing;

use crate::domain::signin::LoginOutcome;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Session};

/// Sign in with a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = LoginResponse),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`: wrong organisation, username or password", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(st): State<AppState>,
    Body(req): Body<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let outcome = st
        .twofold
        .login(&req.org, &req.username, Zeroizing::new(req.password))
        .await;
    match &outcome {
        Ok(_) => {
            tracing::info!(event = "signin.password_verified", org = %req.org, username = %req.username)
        }
        Err(e) => {
            tracing::info!(event = "signin.failed", org = %req.org, username = %req.username, reason = %e)
        }
    }
    Ok(axum::Json(match outcome? {
        LoginOutcome::Authenticated(s) => LoginResponse::Authenticated {
            session_token: s.token,
            expires_at: s.expires_at.to_rfc3339(),
        },
        LoginOutcome::MfaRequired {
            flow_token,
            methods,
            expires_at,
        } => LoginResponse::MfaRequired {
            flow_token,
            methods,
            expires_at: expires_at.to_rfc3339(),
        },
    }))
}

/// Finish a sign-in with a second factor.
#[utoipa::path(post, path = "/api/v1/auth/mfa", tag = "auth",
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Signed in at aal 2", body = LoginResponse),
        (status = 400, description = "Malformed request or code", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code`, `code_reused` or `flow_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the second step is locked for `retry_after` seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the lock ends, as `retry_after`"))),
    ))]
pub async fn mfa(
    State(st): State<AppState>,
    Body(req): Body<MfaRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let res = st
        .twofold
        .complete_mfa(&req.flow_token, req.method, &req.code)
        .await;
    match &res {
        Ok(_) => tracing::info!(event = "signin.succeeded", method = ?req.method),
        Err(e) => tracing::info!(event = "mfa.failed", method = ?req.method, reason = %e),
    }
    let s = res?;
    Ok(axum::Json(LoginResponse::Authenticated {
        session_token: s.token,
        expires_at: s.expires_at.to_rfc3339(),
    }))
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("session" = [])),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<StatusCode, ApiError> {
    st.twofold.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
