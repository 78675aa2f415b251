//! Running an organisation (`/orgs/{org}/…`, owners and admins only): its users and
//! whether each has a second factor.

use serde::{Deserialize, Serialize};

use crate::Role;

/// `POST /api/v1/orgs/{org}/users`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "username": "bob", "email": "bob@example.com", "role": "member",
    "password": "correct horse battery staple"
})))]
#[serde(deny_unknown_fields)]
pub struct NewOrgUser {
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub email: String,
    pub role: Role,
    /// 8 to 1024 characters. Without one (and not federated), the user is mailed an
    /// invitation: a code, valid 7 days, with which they choose their own password on the
    /// `/welcome` page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub password: Option<String>,
    /// Signs in through the organisation's identity provider: no password here, and never
    /// asked for a second factor here. Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<bool>,
}

/// A user's second-factor status, as an admin sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MfaStatus {
    /// At least one active second factor.
    Enrolled,
    NotEnrolled,
    /// A federated user: their identity provider handles MFA.
    NotApplicable,
}

/// A user of the organisation (`GET /api/v1/orgs/{org}/users`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub federated: bool,
    pub mfa: MfaStatus,
    /// RFC 3339, UTC; `null` if the user never signed in.
    pub last_login_at: Option<String>,
    /// The identity providers they signed in through (or linked), by name; empty for
    /// a federated user who has not signed in yet.
    #[serde(default)]
    pub providers: Vec<String>,
}

/// A security event (`GET /api/v1/orgs/{org}/audit-events`, newest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Pass it as `before` to get the events older than this one.
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `signin.succeeded`, `signin.failed`, `mfa.failed`, `mfa.locked`, `factor.enrolled`,
    /// `factor.removed`, `user.created`, …
    pub event: String,
    /// The user who did it; `null` when nobody was signed in (a sign-in attempt).
    pub actor_id: Option<String>,
    /// The user it concerns.
    pub subject_id: Option<String>,
    /// The client's address as the server saw it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// More about the event (a JSON object; its members depend on `event`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// `GET /api/v1/orgs/{org}/mfa-policy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaPolicy {
    /// Every user without a second factor (federated users aside) must enrol one.
    pub required: bool,
    /// RFC 3339, UTC; `null` if never changed.
    pub updated_at: Option<String>,
    /// The id of the admin who changed it last.
    pub updated_by: Option<String>,
    /// Days after `updated_at` during which users may still sign in without a factor.
    pub grace_period_days: u32,
}

/// `PUT /api/v1/orgs/{org}/mfa-policy`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "required": true, "invalidate_sessions": true, "grace_period_days": 7
})))]
#[serde(deny_unknown_fields)]
pub struct SetMfaPolicy {
    pub required: bool,
    /// When enabling: end every session of the organisation now (`true`, everyone signs
    /// in again and meets the requirement) or let them run until they expire (`false`).
    /// Required when `required` is `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidate_sessions: Option<bool>,
    /// When enabling: 0 to 30 days during which users may still sign in without a factor
    /// (default 0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 30))]
    pub grace_period_days: Option<u32>,
    /// When turning MFA off: the 6-digit code mailed to the admin by the same request
    /// without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\u0000]*$"))]
    pub confirmation_code: Option<String>,
}

/// The answer (202) to `PUT /api/v1/orgs/{org}/mfa-policy` `{required:false}` without a
/// code: a code was mailed to the caller; repeat the request with it before `expires_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmationRequired {
    /// Always `confirmation_required`.
    pub status: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// The answer to `PUT /api/v1/orgs/{org}/mfa-policy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaPolicyChanged {
    pub policy: MfaPolicy,
    /// How many sessions were ended.
    pub sessions_ended: u64,
}

/// An optional whole number that may be written `22` or `22.0`: JSON Schema's "integer"
/// admits both, and a client that writes numbers as floats must not be refused for it.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(u) = n.as_u64() {
        return u32::try_from(u)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{n} is too large")));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            // Whole and in range, so the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(f as u32))
        }
        _ => Err(D::Error::custom(format!(
            "expected a whole number from 0, got {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn grace_days_may_be_written_as_a_float_if_whole() {
        let parse = |json: &str| serde_json::from_str::<SetMfaPolicy>(json);
        let days = |json: &str| parse(json).unwrap().grace_period_days;
        assert_eq!(
            days(r#"{"required":true,"grace_period_days":22}"#),
            Some(22)
        );
        assert_eq!(
            days(r#"{"required":true,"grace_period_days":22.0}"#),
            Some(22)
        );
        assert_eq!(days(r#"{"required":true,"grace_period_days":null}"#), None);
        assert_eq!(days(r#"{"required":true}"#), None);
        assert!(parse(r#"{"required":true,"grace_period_days":2.5}"#).is_err());
        assert!(parse(r#"{"required":true,"grace_period_days":-1}"#).is_err());
    }
}

/// `GET /api/v1/orgs/{org}/settings`: the organisation's MFA options besides the
/// requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgSettings {
    /// Users may see an active authenticator's QR code again (behind a fresh second
    /// factor, audited and mailed). Default `true`.
    pub allow_qr_redisplay: bool,
    /// Users may have a device remembered (`remember_device`). Default `true`; turning
    /// it off forgets every remembered device of the organisation.
    pub remember_devices: bool,
    /// A user without a second factor gets a code mailed to their registered address
    /// before they can add their first authenticator app, so a stolen password alone
    /// cannot enrol the thief's phone. Default `true`.
    pub confirm_first_app_by_email: bool,
    /// The most authenticator apps a user may have: 1 to the server's `max_totp_factors`
    /// (its default).
    pub max_authenticator_apps: u32,
    /// RFC 3339, UTC; `null` while the defaults hold.
    pub updated_at: Option<String>,
    /// The admin who changed them last.
    pub updated_by: Option<String>,
}

/// `PUT /api/v1/orgs/{org}/settings`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetOrgSettings {
    pub allow_qr_redisplay: bool,
    pub remember_devices: bool,
    /// Absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_first_app_by_email: Option<bool>,
    /// 1 to the server's `max_totp_factors` (at most 20; more than the server allows is
    /// 409 `conflict`). Absent: unchanged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20))]
    pub max_authenticator_apps: Option<u32>,
}

/// `PUT /api/v1/orgs/{org}/users/{id}/role`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: Role,
}
