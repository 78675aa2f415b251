//! `/me/recovery-codes`: make a new set (shown once), and see how many are left.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::{Problem, RecoveryCodes, RecoveryCodesStatus};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Elevated, Session};

crate::fails!(RegenerateFails {
    Unauthenticated,
    StepUpRequired,
    InsufficientScope,
    Conflict: "the user has no active factor for the codes to stand in for",
    Overloaded: "too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds",
});

/// Make ten new recovery codes, replacing any earlier set. Needs a session that passed a
/// second factor in the last 10 minutes. The codes are shown this once.
#[utoipa::path(post, path = "/api/v1/me/recovery-codes", tag = "recovery codes",
    operation_id = "regenerate_recovery_codes",
    security(("session" = [])),
    params(super::ElevatedHeader),
    responses(
        (status = 201, description = "The new set; the old one no longer works", body = RecoveryCodes),
        RegenerateFails,
    ))]
pub async fn regenerate(
    State(st): State<AppState>,
    Session(caller): Session,
    Elevated(elevated): Elevated,
) -> Result<(StatusCode, axum::Json<RecoveryCodes>), ApiError> {
    let codes = st
        .twofold
        .regenerate_recovery_codes(&caller, elevated.as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(RecoveryCodes { codes })))
}

/// How many unused recovery codes the user has.
#[utoipa::path(get, path = "/api/v1/me/recovery-codes", tag = "recovery codes",
    operation_id = "recovery_codes_status",
    security(("session" = [])),
    responses(
        (status = 200, body = RecoveryCodesStatus),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<RecoveryCodesStatus>, ApiError> {
    let remaining = st.twofold.recovery_codes_remaining(&caller).await?;
    Ok(axum::Json(RecoveryCodesStatus { remaining }))
}
