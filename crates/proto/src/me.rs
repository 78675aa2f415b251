//! The signed-in user (`GET /me`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    /// The organisation's slug.
    pub org: String,
    pub username: String,
    pub email: String,
    pub role: Role,
    /// Signs in through the organisation's identity provider; exempt from TOTP here.
    pub federated: bool,
    pub mfa: MfaSummary,
    pub session: SessionInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaSummary {
    /// At least one active second factor.
    pub enrolled: bool,
    /// How many active second factors the user has.
    pub factors: u32,
}

/// The session the request was made with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Authenticator assurance level: 1 after a password only, 2 after a second factor.
    pub aal: u8,
    /// Authentication methods references (RFC 8176): `pwd`, `otp`.
    pub amr: Vec<String>,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// One of the user's live sessions, as listed by `GET /me/sessions`. Never carries the
/// token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    pub id: String,
    /// The session this request was made with.
    pub current: bool,
    /// 1 after a password only, 2 after a second factor.
    pub aal: u8,
    /// Authentication methods references (RFC 8176): `pwd`, `otp`.
    pub amr: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The client's address when the session was opened, as the server saw it.
    pub ip: Option<String>,
    /// The client's `User-Agent` when the session was opened.
    pub user_agent: Option<String>,
}

/// A remembered device, as listed by `GET /me/devices`. Never carries the token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// RFC 3339, UTC; `null` until first used to skip a second step.
    pub last_used_at: Option<String>,
    /// Where it was remembered from.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// `PUT /api/v1/me/password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password now.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub current_password: String,
    /// 8 to 1024 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 8, max_length = 1024, pattern = r"^[^\u0000]*$")
    )]
    pub new_password: String,
}
