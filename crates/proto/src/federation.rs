//! Federated sign-in on the wire: an organisation's OpenID Connect providers, and what an
//! application exchanges its one-time code for.

use serde::{Deserialize, Serialize};

/// `PUT /api/v1/orgs/{org}/oidc-providers/{name}`: the provider, replaced whole.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutOidcProvider {
    /// The provider's issuer: `https://…` (plain `http` only on a loopback host), exactly
    /// as its ID tokens' `iss` says. Its `/.well-known/openid-configuration` is read.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 512))]
    pub issuer: String,
    /// The client id registered at the provider.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub client_id: String,
    /// The client secret (kept sealed, never shown again). Needed for a new provider;
    /// left out, the stored one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub client_secret: Option<String>,
    /// Asked for besides `openid` (default `["profile", "email"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The ID token claim that holds the username here (default `preferred_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_claim: Option<String>,
    /// Only people with a verified email address at one of these domains may sign in
    /// (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<Vec<String>>,
    /// Create unknown users at their first sign-in, as members (default false: an admin
    /// creates federated users first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_users: Option<bool>,
    /// Let a password user link this provider to their account from their Security page,
    /// with their password and second factor and the same verified email (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_by_email: Option<bool>,
}

/// A provider as its organisation's admins see it (never the client secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub allowed_email_domains: Vec<String>,
    pub create_users: bool,
    pub link_by_email: bool,
    /// The redirect URI to register at the provider: `<public url>/auth/oidc/callback`.
    pub redirect_uri: String,
    /// Where people start signing in with it.
    pub sign_in_url: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// `POST /api/v1/auth/oidc/token`: an application's one-time code from its loopback
/// redirect, and the PKCE verifier of the `code_challenge` it started with.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OidcTokenRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9_-]+$")
    )]
    pub code: String,
    /// RFC 7636 §4.1: 43-128 unreserved characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 43, max_length = 128, pattern = r"^[A-Za-z0-9._~-]+$")
    )]
    pub code_verifier: String,
}

/// What a one-time code was exchanged for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OidcTokenResponse {
    /// A federated sign-in: the session.
    Authenticated {
        session_token: String,
        /// RFC 3339, UTC.
        expires_at: String,
        /// `fed`, then the identity provider's methods.
        amr: Vec<String>,
        /// 2 when the provider's methods include a second factor.
        aal: u8,
    },
    /// A federated step-up: an elevated token (scope `mfa:manage`) for the session that
    /// started it, sent as `X-Elevated-Token`.
    Elevated {
        elevated_token: String,
        scopes: Vec<String>,
        /// RFC 3339, UTC.
        expires_at: String,
    },
}

/// `POST /api/v1/auth/step-up/oidc`: re-authentication at the identity provider, for an
/// application waiting on a loopback address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OidcStepUpRequest {
    /// `http://127.0.0.1:<port>/…` (or `[::1]`, `localhost`): where the browser is sent
    /// back with `code` and `state` (or `error`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 512))]
    pub redirect_uri: String,
    /// Handed back unchanged.
    #[cfg_attr(feature = "openapi", schema(max_length = 512))]
    pub state: String,
    /// The S256 PKCE challenge of the verifier the exchange will send.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]+$")
    )]
    pub code_challenge: String,
}

/// Where to send the person's browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcRedirect {
    pub authorize_url: String,
    /// RFC 3339, UTC: the re-authentication must be done by then.
    pub expires_at: String,
}
