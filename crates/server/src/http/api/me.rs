//! `/me`: the signed-in user and their session.

use axum::extract::State;
use twofold_proto::{Me, Problem};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Session;

/// Who is signed in, their MFA state, and how strongly this session was authenticated.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    security(("session" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(st.twofold.me(&caller).await?))
}
