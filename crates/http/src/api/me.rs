//! `/me`: the signed-in user and their session; changing their password.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::{ChangePassword, Me, PassSecondFactor, Problem, SessionInfo};
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Session};

crate::fails!(MeFails { Unauthenticated });

/// Who is signed in, their MFA state, and how strongly this session was authenticated.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    security(("session" = [])),
    responses(
        (status = 200, body = Me),
        MeFails,
    ))]
pub async fn me(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(super::wire::me(st.twofold.me(&caller).await?)))
}

crate::fails!(ChangePasswordFails {
    InvalidRequest: "malformed request, or a new password of the wrong length",
    InvalidCredentials: "the current password is wrong",
    Unauthenticated,
    Conflict: "a federated user has no password here, or it was changed meanwhile",
    Locked: "wrong passwords or codes locked the user's second step for `retry_after` seconds",
    Throttled: "too many failed attempts from this address lately",
    Overloaded: "too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds",
});

/// Change the password. The user's other sessions and sign-ins in progress end and their
/// remembered devices are forgotten; this session stays. The user is mailed.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me",
    operation_id = "change_password",
    security(("session" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        ChangePasswordFails,
    ))]
pub async fn change_password(
    State(st): State<AppState>,
    Session(caller): Session,
    Body(req): Body<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    st.twofold
        .change_password(
            &caller,
            Zeroizing::new(req.current_password),
            Zeroizing::new(req.new_password),
        )
        .await?;
    tracing::info!(event = "password.changed", user_id = %caller.user_id());
    Ok(StatusCode::NO_CONTENT)
}

/// Pass a second factor with this session (seed 004's `authenticateTotpMfaDevice`): the
/// session is raised to aal 2 and counts as having passed one now (for 10 minutes of
/// guarded changes). Checked like a sign-in's code: counted towards the lockout,
/// replay-proof, audited (`session.upgraded`).
#[utoipa::path(post, path = "/api/v1/me/session/mfa", tag = "me",
    operation_id = "pass_second_factor",
    security(("session" = [])),
    request_body = PassSecondFactor,
    responses(
        (status = 200, description = "The session, now at aal 2", body = SessionInfo),
        (status = 400, description = "Malformed request or code; `method_not_available`: the user has no factor of that kind; `code_expired`: the mailed code expired", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code`, `code_reused`, `passkey_refused`, `challenge_expired`, `passkey_cloned` or `unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the user has no active factor", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the second step is locked for `retry_after` seconds; `rate_limited`: too many failures from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
        (status = 503, description = "`overloaded`: too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
    ))]
pub async fn pass_second_factor(
    State(st): State<AppState>,
    Session(caller): Session,
    Body(req): Body<PassSecondFactor>,
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let presented = super::wire::presented(req.method, &req.code, req.credential.as_ref())?;
    let method = super::wire::method_from(req.method);
    let session = st
        .twofold
        .pass_second_factor_in_session(&caller, method, &presented)
        .await?;
    tracing::info!(event = "session.upgraded", user_id = %caller.user_id(), method = method.as_str());
    Ok(axum::Json(super::wire::session_info(session)))
}
