//! `/orgs/{org}/…`: an organisation's owners and admins run it. Members get 403
//! `forbidden`; another organisation, existing or not, is 404 `not_found`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use twofold_proto::{
    AuditEvent, ConfirmationRequired, MfaPolicy, MfaPolicyChanged, NewOrgUser, OrgSettings,
    OrgUser, Problem, SetMfaPolicy, SetOrgSettings, SetRole,
};

use super::wire;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Elevated, OrgSlug, OrgUserPath, Session};
use twofold_core::clock::Timestamp;
use twofold_core::domain::audit;
use twofold_core::domain::policy::{self, PolicyOutcome};
use twofold_core::domain::settings;

crate::fails!(ListUsersFails {
    Unauthenticated,
    Forbidden: "the caller is a member, not an owner or admin",
    NotFound: "not the caller's organisation",
});

/// The organisation's users with their MFA status, by username.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/users", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "Every user of the organisation, by username", body = Vec<OrgUser>),
        ListUsersFails,
    ))]
pub async fn list_users(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
) -> Result<axum::Json<Vec<OrgUser>>, ApiError> {
    let users = st.twofold.org_users(&caller, &org).await?;
    Ok(axum::Json(users.into_iter().map(wire::org_user).collect()))
}

crate::fails!(CreateUserFails {
    InvalidRequest: "malformed request",
    Unauthenticated,
    Forbidden: "a member, or an admin creating an owner",
    StepUpRequired,
    EnrollmentRequired,
    InsufficientScope,
    NotFound: "not the caller's organisation",
    Conflict: "the username is taken",
    Overloaded: "too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds",
});

/// Create a user in the organisation. Only an owner may create an owner.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/users", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"), super::ElevatedHeader),
    request_body = NewOrgUser,
    responses(
        (status = 201, description = "The new user", body = OrgUser),
        CreateUserFails,
    ))]
pub async fn create_user(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
    Elevated(elevated): Elevated,
    Body(req): Body<NewOrgUser>,
) -> Result<(StatusCode, axum::Json<OrgUser>), ApiError> {
    let user = st
        .twofold
        .create_org_user(&caller, &org, wire::new_org_user(req), elevated.as_deref())
        .await?;
    tracing::info!(event = "user.created", actor = %caller.user_id(), user_id = %user.id);
    Ok((StatusCode::CREATED, axum::Json(wire::org_user(user))))
}

fn wire_event(e: audit::AuditEvent) -> AuditEvent {
    AuditEvent {
        id: e.id,
        at: e.at.to_rfc3339(),
        event: e.event,
        actor_id: e.actor_id,
        subject_id: e.subject_id,
        ip: e.ip,
        user_agent: e.user_agent,
        details: e.details,
    }
}

fn wire_policy(p: policy::MfaPolicy) -> MfaPolicy {
    MfaPolicy {
        required: p.required,
        updated_at: p.updated_at.map(Timestamp::to_rfc3339),
        updated_by: p.updated_by,
        grace_period_days: p.grace_period_days,
    }
}

fn set_policy(req: SetMfaPolicy) -> policy::SetMfaPolicy {
    policy::SetMfaPolicy {
        required: req.required,
        invalidate_sessions: req.invalidate_sessions,
        grace_period_days: req.grace_period_days,
        confirmation_code: req.confirmation_code,
    }
}

fn wire_settings(s: settings::OrgSettings) -> OrgSettings {
    OrgSettings {
        allow_qr_redisplay: s.allow_qr_redisplay,
        remember_devices: s.remember_devices,
        confirm_first_app_by_email: s.confirm_first_app_by_email,
        max_authenticator_apps: s.max_authenticator_apps,
        updated_at: s.updated_at.map(Timestamp::to_rfc3339),
        updated_by: s.updated_by,
    }
}

/// `?limit=&before=` of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditPage {
    /// How many events, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// An event's id: answer the events older than it (the next page).
    before: Option<String>,
    /// A user's id: only the events they did or that concern them.
    user: Option<String>,
    /// An event's name (`mfa.reset`) or area (`mfa`): only those events.
    event: Option<String>,
}

crate::fails!(AuditEventsFails {
    InvalidRequest: "a bad `limit`, an unknown `before` or a malformed `event`",
    Unauthenticated,
    Forbidden: "the caller is a member",
    NotFound: "not the caller's organisation",
});

/// The organisation's security events, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-events", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"), AuditPage),
    responses(
        (status = 200, description = "Up to `limit` events, newest first; pass the last one's id as `before` for the next page", body = Vec<AuditEvent>),
        AuditEventsFails,
    ))]
pub async fn audit_events(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
    page: Result<Query<AuditPage>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Vec<AuditEvent>>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let events = st
        .twofold
        .audit_events(
            &caller,
            &org,
            audit::AuditQuery {
                limit: page.limit,
                before: page.before.as_deref(),
                user_id: page.user.as_deref(),
                event: page.event.as_deref(),
            },
        )
        .await?;
    Ok(axum::Json(events.into_iter().map(wire_event).collect()))
}

crate::fails!(GetPolicyFails {
    Unauthenticated,
    Forbidden: "the caller is a member",
    NotFound: "not the caller's organisation",
});

/// The organisation's MFA policy.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/mfa-policy", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "The policy", body = MfaPolicy),
        GetPolicyFails,
    ))]
pub async fn get_policy(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
) -> Result<axum::Json<MfaPolicy>, ApiError> {
    Ok(axum::Json(wire_policy(
        st.twofold.mfa_policy(&caller, &org).await?,
    )))
}

crate::fails!(PutPolicyFails {
    ..crate::error::ORG_ADMIN,
    InvalidRequest: "malformed, no `invalidate_sessions` choice, or a grace period over 30 days",
    WrongConfirmation: "a wrong or used confirmation code",
    ConfirmationExpired,
    Conflict: "turning off MFA that is not required",
    TooSoon: "a code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)",
    Throttled: "too many failed attempts from this address lately",
});

/// Require MFA of every (non-federated) user, ending every session or keeping them; or
/// stop requiring it, with a code mailed to the caller.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/mfa-policy", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"), super::ElevatedHeader),
    request_body = SetMfaPolicy,
    responses(
        (status = 200, description = "Changed; the answer says how many sessions ended", body = MfaPolicyChanged),
        (status = 202, description = "`required: false` without a code: a 6-digit code valid 5 minutes was mailed to the caller; repeat the request with `confirmation_code`", body = ConfirmationRequired),
        PutPolicyFails,
    ))]
pub async fn put_policy(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
    Elevated(elevated): Elevated,
    Body(req): Body<SetMfaPolicy>,
) -> Result<Response, ApiError> {
    let outcome = st
        .twofold
        .set_mfa_policy(&caller, &org, set_policy(req), elevated.as_deref())
        .await?;
    Ok(match outcome {
        PolicyOutcome::Changed(changed) => axum::Json(MfaPolicyChanged {
            policy: wire_policy(changed.policy),
            sessions_ended: changed.sessions_ended,
        })
        .into_response(),
        PolicyOutcome::ConfirmationRequired { expires_at } => {
            super::wire::confirmation_required(expires_at)
        }
    })
}

/// Reset a user's MFA (a lost phone): removes all their second factors, ends their
/// sessions, clears any lock and mails them a notice.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/{id}/mfa/reset", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("id" = String, Path, description = "The user's id"), super::ElevatedHeader),
    responses(
        (status = 204, description = "Reset; the user enrols again at their next sign-in if MFA is required"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a member, or an admin acting on an owner or on themselves; `step_up_required`: this session passed no second factor in the last 10 minutes nor sent a valid elevated token; `enrollment_required`: the caller has no second factor; `insufficient_scope`: the elevated token lacks `mfa:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such user in the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_mfa(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgUserPath(org, id): OrgUserPath,
    Elevated(elevated): Elevated,
) -> Result<StatusCode, ApiError> {
    st.twofold
        .reset_user_mfa(&caller, &org, &id, elevated.as_deref())
        .await?;
    tracing::info!(event = "mfa.reset", actor = %caller.user_id(), user_id = %id);
    Ok(StatusCode::NO_CONTENT)
}

crate::fails!(UnlockFails {
    Unauthenticated,
    Forbidden: "a member, or an admin acting on an owner or on themselves",
    StepUpRequired,
    EnrollmentRequired: "the caller has no second factor",
    InsufficientScope,
    NotFound: "no such user in the caller's organisation",
});

/// Clear a user's second-factor lock.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/{id}/unlock", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("id" = String, Path, description = "The user's id"), super::ElevatedHeader),
    responses(
        (status = 204, description = "Unlocked (also when there was no lock)"),
        UnlockFails,
    ))]
pub async fn unlock(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgUserPath(org, id): OrgUserPath,
    Elevated(elevated): Elevated,
) -> Result<StatusCode, ApiError> {
    st.twofold
        .unlock_user(&caller, &org, &id, elevated.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's MFA options besides the requirement.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/settings", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, body = OrgSettings),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is a member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: not the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_settings(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
) -> Result<axum::Json<OrgSettings>, ApiError> {
    Ok(axum::Json(wire_settings(
        st.twofold.org_settings(&caller, &org).await?,
    )))
}

crate::fails!(PutSettingsFails {
    ..crate::error::ORG_ADMIN,
    InvalidRequest: "malformed request",
    Conflict: "`max_authenticator_apps` is more than the server's `max_totp_factors`",
});

/// Change the organisation's MFA options.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/settings", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"), super::ElevatedHeader),
    request_body = SetOrgSettings,
    responses(
        (status = 200, body = OrgSettings),
        PutSettingsFails,
    ))]
pub async fn put_settings(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
    Elevated(elevated): Elevated,
    Body(req): Body<SetOrgSettings>,
) -> Result<axum::Json<OrgSettings>, ApiError> {
    let req = settings::SetOrgSettings {
        allow_qr_redisplay: req.allow_qr_redisplay,
        remember_devices: req.remember_devices,
        confirm_first_app_by_email: req.confirm_first_app_by_email,
        max_authenticator_apps: req.max_authenticator_apps,
    };
    Ok(axum::Json(wire_settings(
        st.twofold
            .set_org_settings(&caller, &org, req, elevated.as_deref())
            .await?,
    )))
}

crate::fails!(SetRoleFails {
    InvalidRequest: "malformed request",
    Unauthenticated,
    Forbidden: "a member; an admin making an owner or acting on an owner; anyone acting on themselves",
    StepUpRequired,
    EnrollmentRequired: "the caller has no second factor",
    InsufficientScope,
    NotFound: "no such user in the caller's organisation",
});

/// Change a user's role. Only an owner makes an owner or changes an owner's role; nobody
/// changes their own.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/users/{id}/role", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("id" = String, Path, description = "The user's id"), super::ElevatedHeader),
    request_body = SetRole,
    responses(
        (status = 200, description = "The user with their new role", body = OrgUser),
        SetRoleFails,
    ))]
pub async fn set_role(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgUserPath(org, id): OrgUserPath,
    Elevated(elevated): Elevated,
    Body(req): Body<SetRole>,
) -> Result<axum::Json<OrgUser>, ApiError> {
    let user = st
        .twofold
        .set_user_role(
            &caller,
            &org,
            &id,
            wire::role_from(req.role),
            elevated.as_deref(),
        )
        .await?;
    Ok(axum::Json(wire::org_user(user)))
}

crate::fails!(ReinviteFails {
    Unauthenticated,
    Forbidden: "a member, or an admin acting on an owner or on themselves",
    StepUpRequired,
    EnrollmentRequired: "the caller has no second factor",
    InsufficientScope,
    NotFound: "no such user in the caller's organisation",
    Conflict: "the user already has a password, or is federated",
});

/// Mail a user who has not chosen a password yet a new invitation (the last one expired
/// or was lost); the earlier code stops working.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/{id}/invitation", tag = "orgs",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("id" = String, Path, description = "The user's id"), super::ElevatedHeader),
    responses(
        (status = 204, description = "Mailed"),
        ReinviteFails,
    ))]
pub async fn reinvite(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgUserPath(org, id): OrgUserPath,
    Elevated(elevated): Elevated,
) -> Result<StatusCode, ApiError> {
    st.twofold
        .reinvite_user(&caller, &org, &id, None, elevated.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
