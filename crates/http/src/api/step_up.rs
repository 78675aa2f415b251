//! Step-up and what applications use: `POST /auth/step-up` (a fresh second factor for an
//! elevated token), `POST /tokens/introspect` (RFC 7662, with an organisation API key)
//! and `/orgs/{org}/api-keys` (owners and admins make and revoke those keys).

use axum::extract::State;
use axum::http::StatusCode;
use twofold_proto::{
    ApiKey, ApiKeyCreated, ElevatedToken, EmailCodeSent, IntrospectRequest, Introspection,
    NewApiKey, Problem, StepUpRequest,
};

use twofold_core::clock::Timestamp;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{App, Body, Elevated, OrgKeyPath, OrgSlug, Session};

crate::fails!(StepUpFails {
    InvalidRequest: "malformed request, code or scopes",
    MethodNotAvailable: "`email` without an email factor",
    ConfirmationExpired: "no live mailed code (ask for a new one)",
    InvalidCode,
    CodeReused,
    PasskeyRefused,
    ChallengeExpired: "no passkey request of this session is waiting (ask for new options)",
    PasskeyCloned,
    Unauthenticated,
    Conflict: "the user has no active factor",
    Locked: "the second step is locked for `retry_after` seconds",
    Throttled: "too many failed attempts from this address lately",
    Overloaded: "too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds",
});

/// Pass a second factor again for an elevated token: 5 minutes, the given scopes, bound
/// to this session.
#[utoipa::path(post, path = "/api/v1/auth/step-up", tag = "step-up",
    security(("session" = [])),
    request_body = StepUpRequest,
    responses(
        (status = 200, description = "The elevated token", body = ElevatedToken),
        StepUpFails,
    ))]
pub async fn step_up(
    State(st): State<AppState>,
    Session(caller): Session,
    Body(req): Body<StepUpRequest>,
) -> Result<axum::Json<ElevatedToken>, ApiError> {
    let single_use = req.single_use.unwrap_or(false);
    let presented = super::wire::presented(req.method, &req.code, req.credential.as_ref())?;
    let t = st
        .twofold
        .step_up(
            &caller,
            super::wire::method_from(req.method),
            &presented,
            &req.scopes,
            single_use,
        )
        .await?;
    Ok(axum::Json(super::wire::elevated_token(t)))
}

crate::fails!(PasskeyOptionsFails {
    Unauthenticated,
    MethodNotAvailable: "the user has no usable passkey, or Twofold's public URL has no host name",
    Locked: "the second step is locked for `retry_after` seconds",
});

/// A passkey request for this session: pass the options to `navigator.credentials.get()`
/// and send its answer within 5 minutes to `POST /auth/step-up` or `POST /me/session/mfa`
/// (`method: webauthn`, `credential`). A new request replaces this session's last one.
#[utoipa::path(post, path = "/api/v1/auth/step-up/webauthn/options", tag = "step-up",
    operation_id = "step_up_passkey_options",
    security(("session" = [])),
    responses(
        (status = 200, description = "The options for `navigator.credentials.get()`", body = twofold_proto::WebauthnOptions),
        PasskeyOptionsFails,
    ))]
pub async fn passkey_options(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<twofold_proto::WebauthnOptions>, ApiError> {
    let options = st.twofold.passkey_session_options(&caller).await?;
    Ok(axum::Json(super::wire::webauthn_options(options)))
}

/// Mail a code to the user's email factor, for `POST /auth/step-up` with `method: email`
/// or for removing the email factor (`DELETE /me/factors/{id}` with `{code}`).
#[utoipa::path(post, path = "/api/v1/auth/step-up/email/send", tag = "step-up",
    operation_id = "send_step_up_email_code",
    security(("session" = [])),
    responses(
        (status = 200, description = "A code was mailed: valid 5 minutes, once, 5 tries", body = EmailCodeSent),
        (status = 400, description = "`method_not_available`: the user has no active email factor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: a code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
    ))]
pub async fn send_email_code(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<EmailCodeSent>, ApiError> {
    let sent = st.twofold.send_step_up_code(&caller).await?;
    Ok(axum::Json(super::auth::code_sent(sent)))
}

crate::fails!(IntrospectFails {
    InvalidRequest: "malformed request",
    Unauthenticated: "no valid API key",
});

/// Is this session or elevated token active, and whose is it (RFC 7662)? For
/// applications, with their organisation's API key as the bearer token. Tokens of other
/// organisations' users are inactive.
#[utoipa::path(post, path = "/api/v1/tokens/introspect", tag = "step-up",
    security(("api_key" = [])),
    request_body = IntrospectRequest,
    responses(
        (status = 200, description = "`{active: false}`, or the token's details", body = Introspection),
        IntrospectFails,
    ))]
pub async fn introspect(
    State(st): State<AppState>,
    App(org_id): App,
    Body(req): Body<IntrospectRequest>,
) -> Result<axum::Json<Introspection>, ApiError> {
    let found = st.twofold.introspect(&org_id, &req.token).await?;
    Ok(axum::Json(super::wire::introspection(found)))
}

crate::fails!(CreateKeyFails {
    ..crate::error::ORG_ADMIN,
    InvalidRequest: "malformed request",
});

/// Make an API key for an application; the key is shown this once.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/api-keys", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"), super::ElevatedHeader),
    request_body = NewApiKey,
    responses(
        (status = 201, description = "The new key", body = ApiKeyCreated),
        CreateKeyFails,
    ))]
pub async fn create_key(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
    Elevated(elevated): Elevated,
    Body(req): Body<NewApiKey>,
) -> Result<(StatusCode, axum::Json<ApiKeyCreated>), ApiError> {
    let key = st
        .twofold
        .create_api_key(&caller, &org, &req.name, elevated.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ApiKeyCreated {
            id: key.id,
            name: key.name,
            key: key.key,
            created_at: key.created_at.to_rfc3339(),
        }),
    ))
}

/// The organisation's API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/api-keys", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "The keys, oldest first", body = Vec<ApiKey>),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is a member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: not the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_keys(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
) -> Result<axum::Json<Vec<ApiKey>>, ApiError> {
    let keys = st.twofold.list_api_keys(&caller, &org).await?;
    Ok(axum::Json(
        keys.into_iter()
            .map(|k| ApiKey {
                id: k.id,
                name: k.name,
                created_at: k.created_at.to_rfc3339(),
                last_used_at: k.last_used_at.map(Timestamp::to_rfc3339),
            })
            .collect(),
    ))
}

crate::fails!(RevokeKeyFails {
    Unauthenticated,
    Forbidden: "the caller is a member",
    NotFound: "no such key in the caller's organisation",
});

/// Revoke an API key; applications using it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/api-keys/{id}", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        RevokeKeyFails,
    ))]
pub async fn revoke_key(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgKeyPath(org, id): OrgKeyPath,
) -> Result<StatusCode, ApiError> {
    st.twofold.revoke_api_key(&caller, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
