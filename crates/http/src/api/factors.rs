//! `/me/factors`: enrol, activate, list and remove the user's own second factors.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use twofold_proto::{
    ActivateFactorRequest, BeginPasskeyRequest, ConfirmationRequired, DeleteFactorRequest,
    EmailEnrollment, EnrollEmailRequest, EnrollTotpRequest, Factor, FactorStatus, FactorType,
    FactorUri, FinishPasskeyRequest, PasskeyDetails, Problem, RenameFactorRequest, TotpEnrollment,
    WebauthnOptions,
};

use twofold_core::domain::email::CodeSent;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Elevated, FactorId, OptionalBody, Session};
use twofold_core::clock::Timestamp;
use twofold_core::domain::factors::{self, AddApp, Enrollment, FactorKind, FactorState};
use twofold_core::domain::passkeys::AddPasskeyStart;

/// A factor as the API shows it.
pub(super) fn wire(f: factors::Factor) -> Factor {
    let kind = f.kind();
    Factor {
        id: f.id.to_string(),
        factor_type: match kind {
            FactorKind::Totp => FactorType::Totp,
            FactorKind::Email => FactorType::Email,
            FactorKind::Webauthn => FactorType::Webauthn,
        },
        name: f.name,
        status: match f.state {
            FactorState::Active => FactorStatus::Active,
            FactorState::Pending => FactorStatus::Pending,
        },
        created_at: f.created_at.to_rfc3339(),
        last_used_at: f.last_used_at.map(Timestamp::to_rfc3339),
        preferred: f.preferred,
        email: match &f.details {
            factors::FactorDetails::Email { address } => Some(address.clone()),
            _ => None,
        },
        passkey: match f.details {
            factors::FactorDetails::Passkey {
                authenticator,
                backup_eligible,
                possibly_cloned,
            } => Some(PasskeyDetails {
                authenticator,
                backup_eligible,
                possibly_cloned,
            }),
            _ => None,
        },
    }
}

fn qr_failed(e: twofold_core::qr::QrError) -> ApiError {
    ApiError::from(twofold_core::domain::DomainError::Internal(e.to_string()))
}

/// The 201 answer to a new pending factor, with its QR code as SVG (shared with the
/// enrolment inside a sign-in).
pub(super) fn created(e: Enrollment) -> Result<(StatusCode, axum::Json<TotpEnrollment>), ApiError> {
    let qr_svg = twofold_core::qr::svg(&e.uri).map_err(qr_failed)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TotpEnrollment {
            id: e.id,
            secret: e.secret_base32,
            uri: e.uri,
            qr_svg,
        }),
    ))
}

/// A QR code as a PNG answer.
/// 201 with the new app's secret, or 202 when a code was mailed first.
pub(super) fn added(outcome: AddApp) -> Result<Response, ApiError> {
    Ok(match outcome {
        AddApp::Enrolled(e) => created(e)?.into_response(),
        AddApp::ConfirmationRequired { expires_at } => {
            super::wire::confirmation_required(expires_at)
        }
    })
}

pub(super) fn png(uri: &str) -> Result<impl IntoResponse + use<>, ApiError> {
    let png = twofold_core::qr::png(uri).map_err(qr_failed)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}

crate::fails!(ListFails { Unauthenticated });

/// The user's factors, pending and active. Never includes secrets.
#[utoipa::path(get, path = "/api/v1/me/factors", tag = "factors",
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's factors, oldest first", body = Vec<Factor>,
            links(
                ("activate" = (operation_id = "activate", parameters(("id" = "$response.body#/0/id")))),
                ("qr_png" = (operation_id = "qr_png", parameters(("id" = "$response.body#/0/id")))),
                ("delete" = (operation_id = "delete", parameters(("id" = "$response.body#/0/id")))),
            )),
        ListFails,
    ))]
pub async fn list(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<axum::Json<Vec<Factor>>, ApiError> {
    let factors = st.twofold.list_factors(&caller).await?;
    Ok(axum::Json(factors.into_iter().map(wire).collect()))
}

crate::fails!(EnrollTotpFails {
    InvalidRequest: "malformed request",
    WrongConfirmation: "a wrong or used confirmation code",
    ConfirmationExpired: "it expired or used up its 5 tries",
    Unauthenticated,
    StepUpRequired: "the user has an active factor, and this session passed none in the last 10 minutes nor sent a valid elevated token",
    InsufficientScope,
    Conflict: "the user has the most authenticator apps allowed",
    TooSoon: "a confirmation code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)",
    Throttled: "too many failed attempts from this address lately",
});

/// Start enrolling an authenticator app: a pending factor with its secret and QR code.
#[utoipa::path(post, path = "/api/v1/me/factors/totp", tag = "factors",
    security(("session" = [])),
    params(super::ElevatedHeader),
    request_body(content = Option<EnrollTotpRequest>, description = "Optional; `{}` or no body uses the default name"),
    responses(
        (status = 201, description = "A pending factor; activate it with a code from the app", body = TotpEnrollment,
            links(
                ("activate" = (operation_id = "activate", parameters(("id" = "$response.body#/id")),
                    description = "Activate the new factor with a code from the app")),
                ("qr_png" = (operation_id = "qr_png", parameters(("id" = "$response.body#/id")),
                    description = "The new factor's QR code")),
                ("delete" = (operation_id = "delete", parameters(("id" = "$response.body#/id")),
                    description = "Abandon the enrolment")),
            )),
        (status = 202, description = "The user has no active factor (and the organisation asks for it, the default): a 6-digit code valid 5 minutes was mailed to their address; repeat the request with it as `confirmation_code`", body = ConfirmationRequired),
        EnrollTotpFails,
    ))]
pub async fn enroll_totp(
    State(st): State<AppState>,
    Session(caller): Session,
    Elevated(elevated): Elevated,
    OptionalBody(req): OptionalBody<EnrollTotpRequest>,
) -> Result<Response, ApiError> {
    let req = req.unwrap_or_default();
    let outcome = st
        .twofold
        .enroll_totp(
            &caller,
            req.name.as_deref(),
            req.confirmation_code.as_deref(),
            elevated.as_deref(),
        )
        .await?;
    if let AddApp::Enrolled(e) = &outcome {
        tracing::info!(event = "factor.enrollment_started", user_id = %caller.user_id(), factor_id = %e.id);
    }
    added(outcome)
}

#[utoipa::path(post, path = "/api/v1/me/factors/email", tag = "factors",
    operation_id = "enroll_email",
    security(("session" = [])),
    params(super::ElevatedHeader),
    request_body(content = Option<EnrollEmailRequest>, description = "Optional; `{}` or no body uses the default name"),
    responses(
        (status = 201, description = "A pending email factor; activate it with the mailed code", body = EmailEnrollment,
            links(
                ("activate" = (operation_id = "activate", parameters(("id" = "$response.body#/id")),
                    description = "Activate the new factor with the mailed code")),
                ("delete" = (operation_id = "delete", parameters(("id" = "$response.body#/id")),
                    description = "Abandon the enrolment")),
            )),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step_up_required`: the user has an active factor, and this session passed none in the last 10 minutes nor sent a valid elevated token; `insufficient_scope`: the elevated token lacks `mfa:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: email is already an active factor of the user's", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: a code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
    ))]
pub async fn enroll_email(
    State(st): State<AppState>,
    Session(caller): Session,
    Elevated(elevated): Elevated,
    OptionalBody(req): OptionalBody<EnrollEmailRequest>,
) -> Result<(StatusCode, axum::Json<EmailEnrollment>), ApiError> {
    let req = req.unwrap_or_default();
    let (id, sent) = st
        .twofold
        .enroll_email(&caller, req.name.as_deref(), elevated.as_deref())
        .await?;
    tracing::info!(event = "factor.enrollment_started", user_id = %caller.user_id(), factor_id = %id);
    Ok(email_created(id, sent))
}

/// The 201 answer to a new pending email factor (shared with the enrolment inside a
/// sign-in).
pub(super) fn email_created(
    id: String,
    sent: CodeSent,
) -> (StatusCode, axum::Json<EmailEnrollment>) {
    let sent = super::auth::code_sent(sent);
    (
        StatusCode::CREATED,
        axum::Json(EmailEnrollment {
            id,
            sent_to: sent.sent_to,
            expires_at: sent.expires_at,
            resend_after: sent.resend_after,
        }),
    )
}

crate::fails!(BeginPasskeyFails {
    InvalidRequest: "malformed request",
    WrongConfirmation: "a wrong or used confirmation code",
    ConfirmationExpired: "it expired or used up its 5 tries",
    Unauthenticated,
    StepUpRequired: "the user has an active factor, and this session passed none in the last 10 minutes nor sent a valid elevated token",
    InsufficientScope,
    Conflict: "the user has the most passkeys allowed (10)",
    MethodNotAvailable: "Twofold's public URL has no host name (a browser takes none but a name as the relying party)",
    TooSoon: "a confirmation code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)",
    Throttled: "too many failed attempts from this address lately",
});

/// Start registering a passkey: the options to pass to `navigator.credentials.create()`
/// (user verification preferred, the user's passkeys excluded). Guarded like any new
/// factor. Finish within 5 minutes with `POST /me/factors/webauthn/finish`.
#[utoipa::path(post, path = "/api/v1/me/factors/webauthn/begin", tag = "factors",
    operation_id = "begin_passkey",
    security(("session" = [])),
    params(super::ElevatedHeader),
    request_body(content = Option<BeginPasskeyRequest>, description = "Optional; `{}` or no body uses the default name"),
    responses(
        (status = 200, description = "The options for `navigator.credentials.create()`", body = WebauthnOptions),
        (status = 202, description = "The user has no active factor (and the organisation asks for it, the default): a 6-digit code valid 5 minutes was mailed to their address; repeat the request with it as `confirmation_code`", body = ConfirmationRequired),
        BeginPasskeyFails,
    ))]
pub async fn begin_passkey(
    State(st): State<AppState>,
    Session(caller): Session,
    Elevated(elevated): Elevated,
    OptionalBody(req): OptionalBody<BeginPasskeyRequest>,
) -> Result<Response, ApiError> {
    let req = req.unwrap_or_default();
    let started = st
        .twofold
        .begin_passkey_registration(
            &caller,
            req.name.as_deref(),
            req.confirmation_code.as_deref(),
            elevated.as_deref(),
        )
        .await?;
    Ok(match started {
        AddPasskeyStart::Options(options) => {
            axum::Json(super::wire::webauthn_options(options)).into_response()
        }
        AddPasskeyStart::ConfirmationRequired { expires_at } => {
            super::wire::confirmation_required(expires_at)
        }
    })
}

crate::fails!(FinishPasskeyFails {
    InvalidRequest: "malformed request, or `credential` is not a WebAuthn registration",
    Unauthenticated,
    PasskeyRefused: "the answer failed a check (origin, relying party, challenge, signature)",
    ChallengeExpired: "no registration of this session is waiting (begin again)",
    StepUpRequired: "the user has an active factor (perhaps since the registration began), and this session passed none in the last 10 minutes nor sent a valid elevated token",
    InsufficientScope,
    Conflict: "the passkey is registered already, or the user has the most allowed",
    MethodNotAvailable: "Twofold's public URL has no host name",
    Throttled: "too many failed attempts from this address lately",
});

/// Finish registering a passkey with the authenticator's answer: the passkey is an
/// active factor at once (its registration authenticated it). The user is mailed.
#[utoipa::path(post, path = "/api/v1/me/factors/webauthn/finish", tag = "factors",
    operation_id = "finish_passkey",
    security(("session" = [])),
    params(super::ElevatedHeader),
    request_body = FinishPasskeyRequest,
    responses(
        (status = 201, description = "The new passkey, active", body = Factor),
        FinishPasskeyFails,
    ))]
pub async fn finish_passkey(
    State(st): State<AppState>,
    Session(caller): Session,
    Elevated(elevated): Elevated,
    Body(req): Body<FinishPasskeyRequest>,
) -> Result<(StatusCode, axum::Json<Factor>), ApiError> {
    let f = st
        .twofold
        .finish_passkey_registration(&caller, &req.credential, elevated.as_deref())
        .await?;
    tracing::info!(event = "factor.enrolled", user_id = %caller.user_id(), factor_id = %f.id);
    Ok((StatusCode::CREATED, axum::Json(wire(f))))
}

crate::fails!(RenameFails {
    InvalidRequest: "malformed request or name",
    Unauthenticated,
    NotFound,
});

/// Rename one of the user's factors (any kind). Audited (`factor.renamed`).
#[utoipa::path(patch, path = "/api/v1/me/factors/{id}", tag = "factors",
    operation_id = "rename_factor",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id")),
    request_body = RenameFactorRequest,
    responses(
        (status = 200, description = "The factor, renamed", body = Factor),
        RenameFails,
    ))]
pub async fn rename(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Body(req): Body<RenameFactorRequest>,
) -> Result<axum::Json<Factor>, ApiError> {
    let f = st.twofold.rename_factor(&caller, &id, &req.name).await?;
    Ok(axum::Json(wire(f)))
}

crate::fails!(ActivateFails {
    InvalidRequest: "malformed request or code",
    ConfirmationExpired: "an email factor's code expired or used up its 5 tries (ask for a new one)",
    InvalidCode,
    Unauthenticated,
    StepUpRequired: "the user has an active factor, and this session passed none in the last 10 minutes nor sent a valid elevated token",
    InsufficientScope,
    NotFound,
    Conflict: "already active",
    Throttled: "too many failed attempts from this address lately; wait `retry_after` seconds",
});

/// Activate a pending factor with a current code from the authenticator app, or with the
/// code mailed for an email factor.
#[utoipa::path(post, path = "/api/v1/me/factors/{id}/activate", tag = "factors",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    request_body = ActivateFactorRequest,
    responses(
        (status = 200, description = "The factor, now active", body = Factor),
        ActivateFails,
    ))]
pub async fn activate(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
    Body(req): Body<ActivateFactorRequest>,
) -> Result<axum::Json<Factor>, ApiError> {
    let preferred = req.preferred.unwrap_or(false);
    let f = st
        .twofold
        .activate_factor(&caller, &id, &req.code, preferred, elevated.as_deref())
        .await?;
    tracing::info!(event = "factor.enrolled", user_id = %caller.user_id(), factor_id = %f.id);
    Ok(axum::Json(wire(f)))
}

/// Remove a factor; an active one needs a current code from itself or an elevated token
/// (a passkey, which answers no code: an elevated token, or a session that passed a second
/// factor in the last 10 minutes).
#[utoipa::path(delete, path = "/api/v1/me/factors/{id}", tag = "factors",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    request_body(content = Option<DeleteFactorRequest>, description = "Required for an active factor"),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Missing or malformed code; `code_expired`: an email factor's step-up code expired or was used (ask for a new one)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code`, `code_reused` or `unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step_up_required`: the elevated token is not valid for this session; `insufficient_scope`: it lacks `mfa:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the second step is locked for `retry_after` seconds; `rate_limited`: too many failed attempts from this address lately.", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the lock ends, as `retry_after`"))),
    ))]
pub async fn delete(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
    OptionalBody(req): OptionalBody<DeleteFactorRequest>,
) -> Result<StatusCode, ApiError> {
    let code = req.and_then(|r| r.code);
    st.twofold
        .delete_factor(&caller, &id, code.as_deref(), elevated.as_deref())
        .await?;
    tracing::info!(event = "factor.removed", user_id = %caller.user_id(), factor_id = %id);
    Ok(StatusCode::NO_CONTENT)
}

crate::fails!(PreferFails {
    Unauthenticated,
    StepUpRequired,
    InsufficientScope,
    NotFound,
    Conflict: "the factor is not active",
});

/// Make an active factor the preferred one: asked for first at sign-in (an email
/// factor's code is then mailed at once). The user is mailed.
#[utoipa::path(put, path = "/api/v1/me/factors/{id}/preferred", tag = "factors",
    operation_id = "prefer",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    responses(
        (status = 200, description = "The factor, now preferred", body = Factor),
        PreferFails,
    ))]
pub async fn prefer(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
) -> Result<axum::Json<Factor>, ApiError> {
    let f = st
        .twofold
        .prefer_factor(&caller, &id, elevated.as_deref())
        .await?;
    Ok(axum::Json(wire(f)))
}

crate::fails!(QrPngFails {
    Unauthenticated,
    Forbidden: "the organisation does not show active factors' QR codes again",
    StepUpRequired: "an active factor, and this session passed no second factor in the last 10 minutes nor sent a valid elevated token",
    InsufficientScope,
    NotFound,
    Conflict: "an email factor has no QR code",
});

/// A factor's QR code, as a PNG image: a pending one's freely; an active one's again
/// (to add it to another device) only if the organisation allows it, behind a fresh
/// second factor, audited and mailed to the user.
#[utoipa::path(get, path = "/api/v1/me/factors/{id}/qr.png", tag = "factors",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png"),
        QrPngFails,
    ))]
pub async fn qr_png(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
) -> Result<impl IntoResponse, ApiError> {
    let uri = st
        .twofold
        .factor_qr_uri(&caller, &id, elevated.as_deref())
        .await?;
    png(&uri)
}

/// A factor's Key URI as JSON, for clients that draw the QR code themselves (the `twofold`
/// CLI draws it in the terminal). The same rules as the PNG: a pending factor's freely, an
/// active one's only if the organisation allows it, behind a fresh second factor, audited
/// and mailed to the user.
#[utoipa::path(get, path = "/api/v1/me/factors/{id}/uri", tag = "factors",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    responses(
        (status = 200, description = "The `otpauth://` Key URI", body = FactorUri),
        QrPngFails,
    ))]
pub async fn uri(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
) -> Result<axum::Json<FactorUri>, ApiError> {
    let uri = st
        .twofold
        .factor_qr_uri(&caller, &id, elevated.as_deref())
        .await?;
    Ok(axum::Json(FactorUri { uri }))
}

crate::fails!(RegenerateFails {
    Unauthenticated,
    StepUpRequired,
    InsufficientScope,
    NotFound,
    Conflict: "the factor is not active",
});

/// Move an active factor to a new secret (a new or lost device): answers the new secret
/// and QR code; activate it with a code from the new setup (`POST …/activate`). The old
/// secret keeps working until then.
#[utoipa::path(post, path = "/api/v1/me/factors/{id}/regenerate", tag = "factors",
    operation_id = "regenerate",
    security(("session" = [])),
    params(("id" = String, Path, description = "The factor's id"), super::ElevatedHeader),
    responses(
        (status = 201, description = "The new secret, waiting for a code from it", body = TotpEnrollment),
        RegenerateFails,
    ))]
pub async fn regenerate(
    State(st): State<AppState>,
    Session(caller): Session,
    FactorId(id): FactorId,
    Elevated(elevated): Elevated,
) -> Result<(StatusCode, axum::Json<TotpEnrollment>), ApiError> {
    let e = st
        .twofold
        .regenerate_factor(&caller, &id, elevated.as_deref())
        .await?;
    created(e)
}
