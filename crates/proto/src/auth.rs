//! Signing in: the password step (`POST /auth/login`) and the second step (`POST /auth/mfa`).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/login`. Like every text in a request, no field may hold a NUL
/// character.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "org": "acme", "username": "alice", "password": "correct horse battery staple"
})))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The organisation's slug.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub org: String,
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub password: String,
    /// A `device_token` from an earlier `POST /auth/mfa` with `remember_device`: this
    /// user skips the second step on that device until it expires or is revoked. An
    /// unknown or expired one is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub device_token: Option<String>,
}

/// A second-factor method a sign-in flow can be completed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// One of the user's one-use recovery codes (`xxxxx-xxxxx`).
    RecoveryCode,
    /// A 6-digit code mailed to the address of the user's email factor (`POST
    /// /auth/mfa/email/send`; mailed at once when email is the preferred method).
    Email,
    /// A passkey's answer (WebAuthn): the options come from `POST
    /// /auth/mfa/webauthn/options` (or `/auth/step-up/webauthn/options`), the answer goes
    /// in `credential`.
    Webauthn,
}

/// The answer of `POST /auth/login` and `POST /auth/mfa`, told apart by `status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginResponse {
    /// Signed in: use `session_token` as a bearer token until `expires_at`.
    Authenticated {
        session_token: String,
        /// RFC 3339, UTC.
        expires_at: String,
        /// Present when the organisation requires a second factor and this user has none
        /// yet but is in the grace period: the days left to enrol one (`POST
        /// /me/factors/totp`). After that, signing in leads only to enrolment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enrollment_days_left: Option<u32>,
        /// After a sign-in with a recovery code: how many unused codes are left. Make a
        /// new set (`POST /me/recovery-codes`) before they run out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovery_codes_remaining: Option<u32>,
        /// Something the user should act on, to show them: after a recovery code, that
        /// few (3 or fewer) are left.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
        /// After `remember_device`: send it as `device_token` with later sign-ins on this
        /// device (shown this once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_token: Option<String>,
    },
    /// The password was right, but the organisation requires a second factor and the user
    /// has none: enrol one with `flow_token` (`POST /auth/enroll/totp` or `POST
    /// /auth/enroll/email`, then `POST /auth/enroll/activate`) before `expires_at`. The
    /// token is good for nothing else.
    EnrollmentRequired {
        flow_token: String,
        /// RFC 3339, UTC.
        expires_at: String,
    },
    /// The password was right; finish with `POST /auth/mfa` and one of `methods` before
    /// `expires_at`.
    MfaRequired {
        flow_token: String,
        /// Every method this user can finish with.
        methods: Vec<Method>,
        /// The method of the user's preferred factor; any other in `methods` may be
        /// chosen for this sign-in.
        preferred: Method,
        /// When `preferred` is `email`: where the code was mailed (the address, partly
        /// hidden), so the user knows where to look. A code mailed in the last 30 s is
        /// not mailed again; it still works.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_sent_to: Option<String>,
        /// RFC 3339, UTC.
        expires_at: String,
    },
}

/// `POST /api/v1/auth/mfa`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "flow_token": "tff_q2mB0kX7yWc3nR8vJd5sLh1tZp9uAe4fGi6oKb2xMwE",
    "method": "totp",
    "code": "123456"
})))]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    /// The `flow_token` from `POST /auth/login`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub flow_token: String,
    pub method: Method,
    /// For `totp`, the code the app shows now: 6 to 8 digits. For `recovery_code`, one of
    /// the user's recovery codes (`xxxxx-xxxxx`, any case). For `email`, the 6 digits
    /// mailed. Spaces are ignored. Required for every method but `webauthn`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[ 0-9A-Za-z-]{6,32}$"))]
    pub code: String,
    /// For `webauthn`: the `PublicKeyCredential` `navigator.credentials.get()` answered,
    /// in its JSON form (`credential.toJSON()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub credential: Option<serde_json::Value>,
    /// Remember this device: the answer adds a `device_token` that skips the second step
    /// here for 30 days (unless the organisation turned the option off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_device: Option<bool>,
}

/// `POST /api/v1/auth/enroll/totp` or `/auth/enroll/email`: start enrolling inside a
/// sign-in that requires it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollInFlowRequest {
    /// The `flow_token` of an `enrollment_required` answer.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub flow_token: String,
    /// A label, as for `POST /me/factors/totp`: 1-64 printable characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub name: Option<String>,
    /// `/auth/enroll/totp` only, where the organisation asks for it (the default): the
    /// 6-digit code mailed to the user's address by the same request sent without it,
    /// which answered 202 `confirmation_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6}$"))]
    pub confirmation_code: Option<String>,
}

/// `POST /api/v1/auth/enroll/activate`: finish enrolling, and so signing in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivateInFlowRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub flow_token: String,
    /// The pending factor's id from `POST /auth/enroll/totp` or `POST /auth/enroll/email`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub id: String,
    /// The code the app shows now, or the code mailed for email.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6,8}$"))]
    pub code: String,
}

/// `POST /api/v1/auth/mfa/email/send`: mail a code for this sign-in to the user's email
/// factor (to choose email for this sign-in, or to get a new code).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendEmailCodeRequest {
    /// The `flow_token` of an `mfa_required` answer.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub flow_token: String,
}

/// `POST /api/v1/auth/mfa/webauthn/options`: a passkey request for this sign-in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasskeyOptionsRequest {
    /// The `flow_token` of an `mfa_required` answer.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub flow_token: String,
}

/// A code was mailed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "sent_to": "al***@example.com", "expires_at": "2026-12-02T17:05:00Z", "resend_after": 30
})))]
pub struct EmailCodeSent {
    /// The address it went to, partly hidden.
    pub sent_to: String,
    /// RFC 3339, UTC: the code works until then (5 minutes), once, with 5 tries.
    pub expires_at: String,
    /// Seconds before another code may be asked for.
    pub resend_after: u64,
}
