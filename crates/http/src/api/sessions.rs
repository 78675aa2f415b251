//! `/me/sessions`: the user's own sessions, to see where they are signed in and end any.

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::SessionSummary;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Session, SessionId};

crate::fails!(ListFails { Unauthenticated });

/// The user's live sessions, newest first; `current` marks the one making this request.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "sessions",
    operation_id = "list_sessions",
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's live sessions, newest first", body = Vec<SessionSummary>),
        ListFails,
    ))]
pub async fn list(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Vec<SessionSummary>>, ApiError> {
    let sessions = st.twofold.list_sessions(&caller).await?;
    Ok(axum::Json(
        sessions
            .into_iter()
            .map(super::wire::session_summary)
            .collect(),
    ))
}

crate::fails!(EndFails {
    Unauthenticated,
    NotFound: "no such session of this user",
});

/// End one of the user's sessions (the current one too: that is a logout).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "sessions",
    operation_id = "end_session",
    security(("session" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 204, description = "The session has ended"),
        EndFails,
    ))]
pub async fn end(
    State(st): State<AppState>,
    Session(caller): Session,
    SessionId(id): SessionId,
) -> Result<StatusCode, ApiError> {
    st.twofold.end_session(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

crate::fails!(EndOthersFails { Unauthenticated });

/// End every session of the user's but this one ("sign out everywhere else").
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "sessions",
    operation_id = "end_other_sessions",
    security(("session" = [])),
    responses(
        (status = 204, description = "Every other session has ended"),
        EndOthersFails,
    ))]
pub async fn end_others(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<StatusCode, ApiError> {
    st.twofold.end_other_sessions(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
