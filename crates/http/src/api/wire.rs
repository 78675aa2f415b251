//! The domain's answers as the API's JSON types (`twofold-proto`), for the types more than
//! one resource answers with. The domain knows nothing of the wire; this is where the two
//! meet (times become RFC 3339 text, enums the API's names).

use twofold_core::clock::Timestamp;
use twofold_core::domain::Method;
use twofold_core::domain::org_admin::{self, MfaStatus};
use twofold_core::domain::sessions;
use twofold_core::domain::step_up::{self, TokenType};
use twofold_core::domain::users::Role;
use twofold_proto as wire;

pub(crate) fn role(r: Role) -> wire::Role {
    match r {
        Role::Owner => wire::Role::Owner,
        Role::Admin => wire::Role::Admin,
        Role::Member => wire::Role::Member,
    }
}

pub(crate) fn role_from(r: wire::Role) -> Role {
    match r {
        wire::Role::Owner => Role::Owner,
        wire::Role::Admin => Role::Admin,
        wire::Role::Member => Role::Member,
    }
}

pub(crate) fn session_info(s: sessions::SessionInfo) -> wire::SessionInfo {
    wire::SessionInfo {
        aal: s.aal,
        amr: s.amr,
        expires_at: s.expires_at.to_rfc3339(),
    }
}

pub(crate) fn me(m: sessions::Me) -> wire::Me {
    wire::Me {
        id: m.id,
        org: m.org,
        username: m.username,
        email: m.email,
        role: role(m.role),
        federated: m.federated,
        mfa: wire::MfaSummary {
            enrolled: m.mfa.enrolled,
            factors: m.mfa.factors,
        },
        session: session_info(m.session),
    }
}

pub(crate) fn session_summary(s: sessions::SessionSummary) -> wire::SessionSummary {
    wire::SessionSummary {
        id: s.id,
        current: s.current,
        aal: s.aal,
        amr: s.amr,
        created_at: s.created_at.to_rfc3339(),
        expires_at: s.expires_at.to_rfc3339(),
        ip: s.ip,
        user_agent: s.user_agent,
    }
}

pub(crate) fn org_user(u: org_admin::OrgUser) -> wire::OrgUser {
    wire::OrgUser {
        id: u.id,
        username: u.username,
        email: u.email,
        role: role(u.role),
        federated: u.federated,
        mfa: match u.mfa {
            MfaStatus::Enrolled => wire::MfaStatus::Enrolled,
            MfaStatus::NotEnrolled => wire::MfaStatus::NotEnrolled,
            MfaStatus::NotApplicable => wire::MfaStatus::NotApplicable,
        },
        last_login_at: u.last_login_at.map(Timestamp::to_rfc3339),
        providers: u.providers,
    }
}

pub(crate) fn new_org_user(u: wire::NewOrgUser) -> org_admin::NewOrgUser {
    org_admin::NewOrgUser {
        username: u.username,
        email: u.email,
        role: role_from(u.role),
        password: u.password,
        federated: u.federated,
        welcome_url: None,
    }
}

pub(crate) fn method(m: Method) -> wire::Method {
    match m {
        Method::Totp => wire::Method::Totp,
        Method::RecoveryCode => wire::Method::RecoveryCode,
        Method::Email => wire::Method::Email,
        Method::Webauthn => wire::Method::Webauthn,
    }
}

pub(crate) fn method_from(m: wire::Method) -> Method {
    match m {
        wire::Method::Totp => Method::Totp,
        wire::Method::RecoveryCode => Method::RecoveryCode,
        wire::Method::Email => Method::Email,
        wire::Method::Webauthn => Method::Webauthn,
    }
}

/// What a second factor's request presents for `method`: the code as typed, or for a
/// passkey its answer's JSON text (the domain parses it). Each method wants its own.
pub(crate) fn presented(
    method: wire::Method,
    code: &str,
    credential: Option<&serde_json::Value>,
) -> Result<String, crate::error::ApiError> {
    use crate::error::ApiError;
    match (method, credential) {
        (wire::Method::Webauthn, Some(c)) if code.is_empty() => Ok(c.to_string()),
        (wire::Method::Webauthn, _) => Err(ApiError::bad_request(
            "a passkey's answer goes in `credential` (and no `code`)",
        )),
        (_, Some(_)) => Err(ApiError::bad_request(
            "`credential` is only for `webauthn`; send the code in `code`",
        )),
        (_, None) if code.is_empty() => Err(ApiError::bad_request("`code` is required")),
        (_, None) => Ok(code.to_owned()),
    }
}

pub(crate) fn elevated_token(t: step_up::ElevatedToken) -> wire::ElevatedToken {
    wire::ElevatedToken {
        elevated_token: t.token,
        scopes: t.scopes,
        expires_at: t.expires_at.to_rfc3339(),
    }
}

/// RFC 7662's answer: times in seconds since the epoch.
pub(crate) fn introspection(i: step_up::Introspection) -> wire::Introspection {
    let step_up::Introspection::Active(t) = i else {
        return wire::Introspection::default();
    };
    let secs = |t: Timestamp| t.as_millis() / 1000;
    wire::Introspection {
        active: true,
        token_type: Some(
            match t.kind {
                TokenType::Session => "session",
                TokenType::Elevated => "elevated",
            }
            .into(),
        ),
        sub: Some(t.user_id),
        org: Some(t.org),
        username: Some(t.username),
        scope: t.scope,
        exp: Some(secs(t.expires_at)),
        iat: Some(secs(t.issued_at)),
        amr: Some(t.amr),
        aal: Some(t.aal),
    }
}

/// WebAuthn options as the domain made them (`{"publicKey": {…}}`).
pub(crate) fn webauthn_options(mut options: serde_json::Value) -> wire::WebauthnOptions {
    wire::WebauthnOptions {
        public_key: options
            .get_mut("publicKey")
            .map(serde_json::Value::take)
            .unwrap_or_default(),
    }
}

/// 202 `{"status":"confirmation_required","expires_at"}`: a code was mailed; the same
/// request again with it goes on.
pub(crate) fn confirmation_required(
    expires_at: twofold_core::clock::Timestamp,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::ACCEPTED,
        axum::Json(wire::ConfirmationRequired {
            status: "confirmation_required".into(),
            expires_at: expires_at.to_rfc3339(),
        }),
    )
        .into_response()
}
