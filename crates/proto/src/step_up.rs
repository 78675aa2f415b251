//! Step-up (`POST /auth/step-up`), token introspection for applications (RFC 7662,
//! `POST /tokens/introspect`) and the organisation API keys they authenticate with.

use serde::{Deserialize, Serialize};

use crate::Method;

/// `POST /api/v1/auth/step-up`: pass a second factor again, with a session, for an
/// elevated token.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "method": "totp", "code": "123456", "scopes": ["mfa:manage"], "single_use": true
})))]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    pub method: Method,
    /// As for `POST /auth/mfa` (not for `webauthn`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[ 0-9A-Za-z-]{6,32}$"))]
    pub code: String,
    /// For `webauthn`: the answer to `POST /auth/step-up/webauthn/options`'s request, as
    /// for `POST /auth/mfa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub credential: Option<serde_json::Value>,
    /// What the token is for: 1 to 10 scopes of 1-64 letters, digits and `:._-`. Twofold's
    /// own guarded changes (factors, recovery codes) take `mfa:manage`; applications name
    /// their own (`wallet:export`).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<ScopeName>, min_items = 1, max_items = 10)
    )]
    pub scopes: Vec<String>,
    /// Good for one use only (one guarded change, or one introspection).
    #[serde(default)]
    pub single_use: Option<bool>,
}

/// `POST /api/v1/me/session/mfa`: pass a second factor with the current session, which is
/// raised to aal 2 (seed 004's `authenticateTotpMfaDevice`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "method": "totp", "code": "123456" })))]
#[serde(deny_unknown_fields)]
pub struct PassSecondFactor {
    pub method: Method,
    /// As for `POST /auth/mfa`; an email code comes from `POST /auth/step-up/email/send`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[ 0-9A-Za-z-]{6,32}$"))]
    pub code: String,
    /// For `webauthn`: the answer to `POST /auth/step-up/webauthn/options`'s request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub credential: Option<serde_json::Value>,
}

/// A scope's text, for the OpenAPI document only: 1-64 letters, digits and `:._-`.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9:._-]{1,64}$")]
pub struct ScopeName(pub String);

/// The answer of `POST /auth/step-up`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElevatedToken {
    /// Send it as `X-Elevated-Token` with the same session, or give it to an application
    /// that introspects it.
    pub elevated_token: String,
    pub scopes: Vec<String>,
    /// RFC 3339, UTC: 5 minutes from now.
    pub expires_at: String,
}

/// `POST /api/v1/tokens/introspect` (RFC 7662 §2.1, as JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    /// A session token or an elevated token.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub token: String,
}

/// RFC 7662 §2.2. An unknown, expired, spent or other organisation's token is just
/// `{"active": false}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Introspection {
    pub active: bool,
    /// `session` or `elevated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The user's organisation (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Space-separated scopes (elevated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// RFC 8176 method references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// 1 after a password only, 2 after a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal: Option<u8>,
}

/// `POST /api/v1/orgs/{org}/api-keys`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for: 1-64 printable characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub name: String,
}

/// A new API key: the only answer that carries `key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    pub id: String,
    pub name: String,
    /// `Authorization: Bearer <key>` for `POST /tokens/introspect`. Shown this once.
    pub key: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// An API key as listed; never the key itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; `null` until first used.
    pub last_used_at: Option<String>,
}
