//! `/auth`: the password step, the second step, enrolling a first factor when the
//! organisation requires one, logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use twofold_proto::{
    ActivateInFlowRequest, ConfirmationRequired, EmailCodeSent, EmailEnrollment,
    EnrollInFlowRequest, LoginRequest, LoginResponse, MfaRequest, PasskeyOptionsRequest, Problem,
    SendEmailCodeRequest, TotpEnrollment, WebauthnOptions,
};
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, FactorId, FlowBearer, Session};
use twofold_core::domain::confirm::RESEND_AFTER_SECS;
use twofold_core::domain::email::CodeSent;
use twofold_core::domain::sessions::NewSession;
use twofold_core::domain::signin::LoginOutcome;

crate::fails!(LoginFails {
    InvalidRequest: "malformed request",
    InvalidCredentials: "wrong organisation, username or password",
    Throttled: "too many failed attempts from this address lately, or (the password step) too many wrong passwords for this account; wait `retry_after` seconds",
    Overloaded: "too many sign-ins are being checked at once; try again in `retry_after` seconds",
});

/// Sign in with a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = LoginResponse),
        LoginFails,
    ))]
pub async fn login(
    State(st): State<AppState>,
    Body(req): Body<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let outcome = st
        .twofold
        .login(
            &req.org,
            &req.username,
            Zeroizing::new(req.password),
            req.device_token.as_deref(),
        )
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
        LoginOutcome::Authenticated {
            session,
            enrollment_days_left,
        } => LoginResponse::Authenticated {
            session_token: session.token,
            expires_at: session.expires_at.to_rfc3339(),
            enrollment_days_left,
            recovery_codes_remaining: None,
            warning: None,
            device_token: None,
        },
        LoginOutcome::EnrollmentRequired {
            flow_token,
            expires_at,
        } => LoginResponse::EnrollmentRequired {
            flow_token,
            expires_at: expires_at.to_rfc3339(),
        },
        LoginOutcome::MfaRequired {
            flow_token,
            methods,
            preferred,
            code_sent_to,
            expires_at,
        } => LoginResponse::MfaRequired {
            flow_token,
            methods: methods.into_iter().map(super::wire::method).collect(),
            preferred: super::wire::method(preferred),
            code_sent_to,
            expires_at: expires_at.to_rfc3339(),
        },
    }))
}

crate::fails!(MfaFails {
    InvalidRequest: "malformed request or code",
    MethodNotAvailable: "`email` without an email factor",
    ConfirmationExpired: "no live mailed code (ask for a new one)",
    InvalidCode,
    CodeReused,
    PasskeyRefused,
    ChallengeExpired: "no passkey request of this sign-in is waiting (ask for new options)",
    PasskeyCloned,
    FlowExpired,
    Locked: "the second step is locked for `retry_after` seconds",
    Throttled: "too many failed attempts from this address lately",
    Overloaded: "too many passwords or recovery codes are being checked at once; try again in `retry_after` seconds",
});

/// Finish a sign-in with a second factor.
#[utoipa::path(post, path = "/api/v1/auth/mfa", tag = "auth",
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Signed in at aal 2", body = LoginResponse),
        MfaFails,
    ))]
pub async fn mfa(
    State(st): State<AppState>,
    Body(req): Body<MfaRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let presented = super::wire::presented(req.method, &req.code, req.credential.as_ref())?;
    let method = super::wire::method_from(req.method);
    let res = st
        .twofold
        .complete_mfa(
            &req.flow_token,
            method,
            &presented,
            req.remember_device.unwrap_or(false),
        )
        .await;
    match &res {
        // The method as the audit log and the web pages' lines spell it (`recovery_code`).
        Ok(_) => tracing::info!(event = "signin.succeeded", method = method.as_str()),
        Err(e) => tracing::info!(event = "mfa.failed", method = method.as_str(), reason = %e),
    }
    let done = res?;
    Ok(axum::Json(LoginResponse::Authenticated {
        session_token: done.session.token,
        expires_at: done.session.expires_at.to_rfc3339(),
        enrollment_days_left: None,
        recovery_codes_remaining: done.recovery_codes_remaining,
        warning: done
            .recovery_codes_remaining
            .and_then(twofold_core::domain::recovery::few_left_warning),
        device_token: done.device_token,
    }))
}

/// The answer to a mailed code.
pub(super) fn code_sent(sent: CodeSent) -> EmailCodeSent {
    EmailCodeSent {
        sent_to: sent.sent_to,
        expires_at: sent.expires_at.to_rfc3339(),
        resend_after: RESEND_AFTER_SECS,
    }
}

crate::fails!(SendEmailCodeFails {
    InvalidRequest: "malformed request",
    MethodNotAvailable: "the user has no active email factor",
    FlowExpired,
    TooSoon: "a code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)",
});

/// Mail a code for this sign-in to the user's email factor: to choose email for this
/// sign-in, or to get a new code.
#[utoipa::path(post, path = "/api/v1/auth/mfa/email/send", tag = "auth",
    operation_id = "send_sign_in_email_code",
    request_body = SendEmailCodeRequest,
    responses(
        (status = 200, description = "A code was mailed: valid 5 minutes, once, 5 tries; finish with `POST /auth/mfa` `{method: \"email\"}`", body = EmailCodeSent),
        SendEmailCodeFails,
    ))]
pub async fn send_email_code(
    State(st): State<AppState>,
    Body(req): Body<SendEmailCodeRequest>,
) -> Result<axum::Json<EmailCodeSent>, ApiError> {
    let sent = st.twofold.send_sign_in_code(&req.flow_token).await?;
    Ok(axum::Json(code_sent(sent)))
}

crate::fails!(PasskeyOptionsFails {
    InvalidRequest: "malformed request",
    MethodNotAvailable: "the user has no usable passkey, or Twofold's public URL has no host name",
    FlowExpired,
    Locked: "the second step is locked for `retry_after` seconds",
});

/// A passkey request for this sign-in: pass the options to `navigator.credentials.get()`
/// and send its answer to `POST /auth/mfa` (`method: webauthn`, `credential`) within 5
/// minutes. A new request replaces this sign-in's last one.
#[utoipa::path(post, path = "/api/v1/auth/mfa/webauthn/options", tag = "auth",
    operation_id = "sign_in_passkey_options",
    request_body = PasskeyOptionsRequest,
    responses(
        (status = 200, description = "The options for `navigator.credentials.get()`", body = WebauthnOptions),
        PasskeyOptionsFails,
    ))]
pub async fn passkey_options(
    State(st): State<AppState>,
    Body(req): Body<PasskeyOptionsRequest>,
) -> Result<axum::Json<WebauthnOptions>, ApiError> {
    let options = st.twofold.passkey_sign_in_options(&req.flow_token).await?;
    Ok(axum::Json(super::wire::webauthn_options(options)))
}

fn authenticated(s: NewSession) -> LoginResponse {
    LoginResponse::Authenticated {
        session_token: s.token,
        expires_at: s.expires_at.to_rfc3339(),
        enrollment_days_left: None,
        recovery_codes_remaining: None,
        warning: None,
        device_token: None,
    }
}

crate::fails!(EnrollTotpFails {
    InvalidRequest: "malformed request",
    WrongConfirmation: "a wrong or used confirmation code",
    ConfirmationExpired: "it expired or used up its 5 tries",
    FlowExpired: "not a live enrolment flow",
    TooSoon: "a confirmation code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)",
    Throttled: "too many failed attempts from this address lately",
});

/// Start enrolling an authenticator app inside a sign-in that requires one.
#[utoipa::path(post, path = "/api/v1/auth/enroll/totp", tag = "auth",
    operation_id = "enroll_totp_in_flow",
    request_body = EnrollInFlowRequest,
    responses(
        (status = 201, description = "A pending factor; activate it with a code from the app", body = TotpEnrollment),
        (status = 202, description = "Unless the organisation turned it off: a 6-digit code valid 5 minutes was mailed to the user's address; repeat the request with it as `confirmation_code`", body = ConfirmationRequired),
        EnrollTotpFails,
    ))]
pub async fn enroll_totp(
    State(st): State<AppState>,
    Body(req): Body<EnrollInFlowRequest>,
) -> Result<Response, ApiError> {
    let outcome = st
        .twofold
        .enroll_in_flow(
            &req.flow_token,
            req.name.as_deref(),
            req.confirmation_code.as_deref(),
        )
        .await?;
    super::factors::added(outcome)
}

#[utoipa::path(post, path = "/api/v1/auth/enroll/email", tag = "auth",
    operation_id = "enroll_email_in_flow",
    request_body = EnrollInFlowRequest,
    responses(
        (status = 201, description = "A pending email factor; activate it with the mailed code (`POST /auth/enroll/activate`)", body = EmailEnrollment),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`flow_expired`: not a live enrolment flow", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: a code was mailed less than 30 s ago; wait `retry_after` seconds (that code still works)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
    ))]
pub async fn enroll_email(
    State(st): State<AppState>,
    Body(req): Body<EnrollInFlowRequest>,
) -> Result<(StatusCode, axum::Json<EmailEnrollment>), ApiError> {
    let (id, sent) = st
        .twofold
        .enroll_email_in_flow(&req.flow_token, req.name.as_deref())
        .await?;
    Ok(super::factors::email_created(id, sent))
}

crate::fails!(EnrollQrPngFails {
    InvalidRequest: "a flow token in the URL (it goes in `Authorization: Bearer`)",
    FlowExpired: "no live enrolment flow's token as `Authorization: Bearer`",
    NotFound,
    Conflict: "the factor is not pending",
});

/// `?flow_token=` of the enrolment QR code.
#[utoipa::path(get, path = "/api/v1/auth/enroll/{id}/qr.png", tag = "auth",
    security(("flow" = [])),
    params(("id" = String, Path, description = "The pending factor's id")),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png"),
        EnrollQrPngFails,
    ))]
pub async fn enroll_qr_png(
    State(st): State<AppState>,
    FactorId(id): FactorId,
    FlowBearer(flow_token): FlowBearer,
) -> Result<impl IntoResponse, ApiError> {
    let uri = st.twofold.enrollment_uri(&flow_token, &id).await?;
    super::factors::png(&uri)
}

#[utoipa::path(post, path = "/api/v1/auth/enroll/activate", tag = "auth",
    request_body = ActivateInFlowRequest,
    responses(
        (status = 200, description = "Enrolled and signed in at aal 2", body = LoginResponse),
        (status = 400, description = "Malformed request or code; `code_expired`: the mailed code expired or used up its 5 tries (ask for a new one)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code` or `flow_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such pending factor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already active", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many failed attempts from this address lately; wait `retry_after` seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait, as `retry_after`"))),
    ))]
pub async fn enroll_activate(
    State(st): State<AppState>,
    Body(req): Body<ActivateInFlowRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let s = st
        .twofold
        .activate_in_flow(&req.flow_token, &req.id, &req.code)
        .await?;
    Ok(axum::Json(authenticated(s)))
}

crate::fails!(LogoutFails { Unauthenticated });

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("session" = [])),
    responses(
        (status = 204, description = "The session has ended"),
        LogoutFails,
    ))]
pub async fn logout(
    State(st): State<AppState>,
    Session(caller): Session,
) -> Result<StatusCode, ApiError> {
    st.twofold.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
