//! Errors on the wire: RFC 9457 problem details with our stable machine-readable `code`.

use serde::{Deserialize, Serialize};

/// Stable error codes. Clients match on these, never on `title` or `detail`, so a code is
/// never renamed or reused for another meaning once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or parameters are malformed or fail validation.
    InvalidRequest,
    /// Wrong organisation, username or password (deliberately indistinguishable).
    InvalidCredentials,
    /// No valid session token was presented.
    Unauthenticated,
    /// The caller is authenticated but may not do this.
    Forbidden,
    /// No such resource (or not one the caller may know about).
    NotFound,
    /// The second-factor code is wrong.
    InvalidCode,
    /// The code's time step was already accepted for this factor (replay).
    CodeReused,
    /// A mailed confirmation code is past its lifetime (or used up its attempts): ask for
    /// a new one.
    CodeExpired,
    /// Too many failed second-factor attempts: locked for `retry_after` seconds.
    TooManyAttempts,
    /// The sign-in flow is unknown, finished or older than its lifetime.
    FlowExpired,
    /// The resource is in a state that does not allow this (e.g. activating an active factor).
    Conflict,
    /// The requested sign-in method is not available for this user.
    MethodNotAvailable,
    /// The action needs a session that recently passed a second factor.
    StepUpRequired,
    /// Removing the user's last active factor while their organisation requires one:
    /// regenerate it instead (`POST /me/factors/{id}/regenerate`).
    LastFactor,
    /// Asked again too soon (a new mailed code within 30 s of the last), or too many
    /// failures from this address or for this account: try again in `retry_after` seconds.
    RateLimited,
    /// The action needs a second factor and the caller has none: enrol one first
    /// (`POST /me/factors/totp` or `/me/factors/email`), pass it, then try again.
    EnrollmentRequired,
    /// The elevated token is valid but lacks the scope the action needs (named in
    /// `scope`): step up again asking for it.
    InsufficientScope,
    /// The request body is larger than this endpoint accepts.
    PayloadTooLarge,
    /// The request took longer than the server allows (a body sent too slowly, say).
    RequestTimeout,
    /// The server is too busy to take this request now: try again in `retry_after`
    /// seconds.
    Overloaded,
    /// A failed password sign-in in an organisation that has an identity provider (named
    /// in `providers`): the account signs in there, or the username or password is wrong;
    /// the three are answered alike.
    UseIdentityProvider,
    /// A sign-in through an identity provider failed a check: the browser that started
    /// it, the provider's code, or its ID token (signature, issuer, audience, expiry,
    /// nonce).
    FederationFailed,
    /// The identity provider signed someone in whom the organisation's rules keep out
    /// (unknown with just-in-time creation off, an email domain not allowed, …).
    FederatedUserRefused,
    /// The identity provider could not be reached or used: try again later.
    ProviderUnavailable,
    /// A passkey's answer failed a check (origin, relying party, signature, a credential
    /// that is not one of the user's): ask for new options and try again.
    PasskeyRefused,
    /// No passkey request was waiting for this answer: it was never asked, is older than
    /// 5 minutes, or was answered already (a replay). Ask for new options.
    ChallengeExpired,
    /// The passkey's signature counter went backwards, as a copy's would: it is refused
    /// from now on (remove it and register the device again).
    PasskeyCloned,
    /// Something failed on the server; the details are in its log, not here.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::InvalidCode => "invalid_code",
            Self::CodeReused => "code_reused",
            Self::CodeExpired => "code_expired",
            Self::TooManyAttempts => "too_many_attempts",
            Self::FlowExpired => "flow_expired",
            Self::Conflict => "conflict",
            Self::MethodNotAvailable => "method_not_available",
            Self::StepUpRequired => "step_up_required",
            Self::LastFactor => "last_factor",
            Self::RateLimited => "rate_limited",
            Self::EnrollmentRequired => "enrollment_required",
            Self::InsufficientScope => "insufficient_scope",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::Overloaded => "overloaded",
            Self::UseIdentityProvider => "use_identity_provider",
            Self::FederationFailed => "federation_failed",
            Self::FederatedUserRefused => "federated_user_refused",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::PasskeyRefused => "passkey_refused",
            Self::ChallengeExpired => "challenge_expired",
            Self::PasskeyCloned => "passkey_cloned",
            Self::Internal => "internal",
        }
    }

    /// The `type` URI of the problem document (RFC 9457 §3.1.1).
    pub fn type_uri(self) -> String {
        format!(
            "https://twofold.dev/problems/{}",
            self.as_str().replace('_', "-")
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem document, with our `code` and the extension members the API
/// conventions allow where they help the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    /// Seconds until the caller may try again (on 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// On `invalid_code`: the code would have been right about this many seconds away
    /// (negative: in the past), so the device's clock looks off by that much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<i64>,
    /// On `insufficient_scope`: the scope the elevated token needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// On `use_identity_provider`: the organisation's providers, by name (each starts at
    /// `/auth/oidc/{org}/{name}/start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<Vec<String>>,
}
