//! `/me/devices`: the devices where the user skips the second step, to see and forget.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_core::clock::Timestamp;
use twofold_core::domain::devices::RememberedDevice;
use twofold_proto::Device;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{DeviceId, Session};

fn wire(d: RememberedDevice) -> Device {
    Device {
        id: d.id,
        created_at: d.created_at.to_rfc3339(),
        expires_at: d.expires_at.to_rfc3339(),
        last_used_at: d.last_used_at.map(Timestamp::to_rfc3339),
        ip: d.ip,
        user_agent: d.user_agent,
    }
}

crate::fails!(ListFails { Unauthenticated });

/// The user's remembered devices, newest first.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "sessions",
    operation_id = "list_devices",
    security(("session" = [])),
    responses(
        (status = 200, description = "Remembered devices, newest first", body = Vec<Device>),
        ListFails,
    ))]
pub async fn list(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Vec<Device>>, ApiError> {
    let devices = st.twofold.list_devices(&caller).await?;
    Ok(axum::Json(devices.into_iter().map(wire).collect()))
}

crate::fails!(ForgetFails {
    Unauthenticated,
    NotFound: "no such device of this user",
});

/// Forget a remembered device: its next sign-in asks for the second step again.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", tag = "sessions",
    operation_id = "forget_device",
    security(("session" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Forgotten"),
        ForgetFails,
    ))]
pub async fn forget(
    State(st): State<AppState>,
    Session(caller): Session,
    DeviceId(id): DeviceId,
) -> Result<StatusCode, ApiError> {
    st.twofold.forget_device(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
