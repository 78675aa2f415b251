//! Second factors of the signed-in user (`/me/factors`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FactorType {
    /// An authenticator app (RFC 6238).
    Totp,
    /// Codes mailed to an address.
    Email,
    /// A passkey (WebAuthn): a security key or a platform authenticator.
    Webauthn,
}

/// A factor is `pending` from enrolment until a code from it is accepted, then `active`.
/// Only active factors are asked for at sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FactorStatus {
    Pending,
    Active,
}

/// One factor as listed by `GET /me/factors`. Never carries the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Factor {
    pub id: String,
    #[serde(rename = "type")]
    pub factor_type: FactorType,
    pub name: String,
    pub status: FactorStatus,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; `null` until the factor first completes a sign-in.
    pub last_used_at: Option<String>,
    /// The factor asked for first at sign-in (`PUT /me/factors/{id}/preferred`).
    pub preferred: bool,
    /// An email factor's address, where its codes go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// What is known of a passkey's authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyDetails>,
}

/// A passkey's authenticator, as far as it told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyDetails {
    /// `security_key` (USB, NFC, Bluetooth), `platform` (built into the device), `hybrid`
    /// (a phone nearby) or `unknown`, from the transports it reported.
    pub authenticator: String,
    /// The credential may be synchronised between the user's devices (a synced passkey).
    pub backup_eligible: bool,
    /// Its signature counter went backwards once, as a copy's would: it is refused until
    /// removed.
    pub possibly_cloned: bool,
}

/// `POST /api/v1/me/factors/webauthn/begin`: start registering a passkey.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "name": "YubiKey" })))]
#[serde(deny_unknown_fields)]
pub struct BeginPasskeyRequest {
    /// A label, as for `POST /me/factors/totp`. Defaults to "Passkey".
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub name: Option<String>,
    /// For a user without an active factor, as for `POST /me/factors/totp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6}$"))]
    pub confirmation_code: Option<String>,
}

/// WebAuthn options, in the JSON form `navigator.credentials.create()` or `.get()` take
/// once their binary members (base64url text here) are decoded — the form
/// `PublicKeyCredential.parseCreationOptionsFromJSON()` and
/// `parseRequestOptionsFromJSON()` read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebauthnOptions {
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: serde_json::Value,
}

/// `POST /api/v1/me/factors/webauthn/finish`: the authenticator's answer to the options
/// `…/begin` gave, within 5 minutes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishPasskeyRequest {
    /// The `PublicKeyCredential` `navigator.credentials.create()` answered, in its JSON
    /// form (`credential.toJSON()`: `id`, `rawId`, `type`, `response` with
    /// `clientDataJSON` and `attestationObject` as base64url).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// `PATCH /api/v1/me/factors/{id}`: rename a factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "name": "Blue YubiKey" })))]
#[serde(deny_unknown_fields)]
pub struct RenameFactorRequest {
    /// 1-64 printable characters (surrounding spaces are dropped).
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

/// `POST /api/v1/me/factors/totp`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "name": "Work phone" })))]
#[serde(deny_unknown_fields)]
pub struct EnrollTotpRequest {
    /// A label for the user's own list, e.g. "Work phone": 1-64 printable characters
    /// (surrounding spaces are dropped). Defaults to "Authenticator app".
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub name: Option<String>,
    /// For a user without an active factor (whose organisation asks for it, the
    /// default): the 6-digit code mailed to their address by the same request sent
    /// without it, which answered 202 `confirmation_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6}$"))]
    pub confirmation_code: Option<String>,
}

/// A pending TOTP factor: the only answer that ever carries the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    pub id: String,
    /// Base32 (RFC 4648, no padding), for typing into an app that cannot scan.
    pub secret: String,
    /// The `otpauth://totp/…` Key URI that the QR code encodes.
    pub uri: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// `GET /api/v1/me/factors/{id}/uri`: what the factor's QR code encodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactorUri {
    /// The `otpauth://totp/…` Key URI (it holds the secret).
    pub uri: String,
}

/// `POST /api/v1/me/factors/email`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollEmailRequest {
    /// A label, as for `POST /me/factors/totp`. Defaults to "Email".
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub name: Option<String>,
}

/// A pending email factor: a code was mailed to the user's address; activate the factor
/// with it (`POST /me/factors/{id}/activate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailEnrollment {
    pub id: String,
    /// The address the code went to, partly hidden.
    pub sent_to: String,
    /// RFC 3339, UTC: the code works until then (5 minutes).
    pub expires_at: String,
    /// Seconds before another code may be asked for.
    pub resend_after: u64,
}

/// `POST /api/v1/me/factors/{id}/activate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "code": "123456" })))]
#[serde(deny_unknown_fields)]
pub struct ActivateFactorRequest {
    /// The code the app shows now, or the code mailed for an email factor: 6 to 8
    /// digits; spaces are ignored ("123 456").
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6,8}$"))]
    pub code: String,
    /// Make it the preferred factor too (seed 002's "set this as preferred").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<bool>,
}

/// `DELETE /api/v1/me/factors/{id}`: a current code from the factor being removed
/// (required for an active factor unless an elevated token is sent; a pending one may be
/// removed without). For an email factor, a code from `POST /auth/step-up/email/send`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "code": "123 456" })))]
#[serde(deny_unknown_fields)]
pub struct DeleteFactorRequest {
    /// 6 to 8 digits; spaces are ignored ("123 456").
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^ *([0-9] *){6,8}$"))]
    pub code: Option<String>,
}

/// `POST /api/v1/me/recovery-codes`: a new set, shown this once. Each works once, in
/// place of a code from an authenticator app; the previous set no longer works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "codes": ["7k3mq-x9d2f", "a0b1c-d2e3f", "…"]
})))]
pub struct RecoveryCodes {
    /// Ten codes, `xxxxx-xxxxx` (Crockford Base32, 50 random bits each).
    pub codes: Vec<String>,
}

/// `GET /api/v1/me/recovery-codes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesStatus {
    /// Unused codes left (0 when none were ever made).
    pub remaining: u32,
}
