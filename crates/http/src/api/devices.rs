//! `/me/devices`: the devices where the user skips the second step, to see and forget.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::{Device, Problem};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{DeviceId, Session};

/// The user's remembered devices, newest first.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "sessions",
    operation_id = "list_devices",
    security(("session" = [])),
    responses(
        (status = 200, description = "Remembered devices, newest first", body = Vec<Device>),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Vec<Device>>, ApiError> {
    Ok(axum::Json(st.twofold.list_devices(&caller).await?))
}

/// Forget a remembered device: its next sign-in asks for the second step again.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", tag = "sessions",
    operation_id = "forget_device",
    security(("session" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such device of this user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn forget(
    State(st): State<AppState>,
    Session(caller): Session,
    DeviceId(id): DeviceId,
) -> Result<StatusCode, ApiError> {
    st.twofold.forget_device(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
