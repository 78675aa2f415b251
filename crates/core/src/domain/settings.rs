//! An organisation's MFA options besides the requirement: owners and admins read and
//! change them; every change is audited.

use serde_json::json;

use crate::clock::Timestamp;
use crate::store::OrgSettingsRow;

use super::audit::Event;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// An organisation's MFA options besides the requirement.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgSettings {
    /// An app's QR code may be shown again after enrolment.
    pub allow_qr_redisplay: bool,
    /// Users may have a browser remembered to skip the second step.
    pub remember_devices: bool,
    /// A user's first authenticator app needs a code mailed to them.
    pub confirm_first_app_by_email: bool,
    /// The most authenticator apps a user may have.
    pub max_authenticator_apps: u32,
    /// When and by whom they were last set (`None`: never set).
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

/// New options, as asked for (`confirm_first_app_by_email` unsaid: unchanged).
#[derive(Clone, Debug)]
pub struct SetOrgSettings {
    pub allow_qr_redisplay: bool,
    pub remember_devices: bool,
    pub confirm_first_app_by_email: Option<bool>,
    /// 1 to the server's `max_totp_factors`; unsaid: unchanged.
    pub max_authenticator_apps: Option<u32>,
}

/// `row`'s options; `server_max`: the server's limit on authenticator apps.
fn to_api(row: Option<&OrgSettingsRow>, server_max: u32) -> OrgSettings {
    OrgSettings {
        max_authenticator_apps: row
            .and_then(|r| r.max_authenticator_apps)
            .and_then(|n| u32::try_from(n).ok())
            .map_or(server_max, |n| n.min(server_max)),
        allow_qr_redisplay: row.is_none_or(|r| r.allow_qr_redisplay),
        remember_devices: row.is_none_or(|r| r.remember_devices),
        confirm_first_app_by_email: row.is_none_or(|r| r.confirm_first_app_by_email),
        updated_at: row.map(|r| Timestamp::from_millis(r.updated_at)),
        updated_by: row.and_then(|r| r.updated_by.clone()),
    }
}

impl Twofold {
    pub async fn org_settings(&self, caller: &Caller, slug: &str) -> Result<OrgSettings> {
        let org = self.org_for_admin(caller, slug).await?;
        Ok(to_api(
            self.store.org_settings(&org.id).await?.as_ref(),
            self.security.max_totp_factors,
        ))
    }

    /// The most authenticator apps an organisation may allow (`max_totp_factors`).
    pub fn server_max_apps(&self) -> u32 {
        self.security.max_totp_factors
    }

    /// The most authenticator apps a user of organisation `org_id` may have.
    pub(crate) async fn max_apps_of(&self, org_id: &str) -> Result<u32> {
        Ok(to_api(
            self.store.org_settings(org_id).await?.as_ref(),
            self.security.max_totp_factors,
        )
        .max_authenticator_apps)
    }

    pub async fn set_org_settings(
        &self,
        caller: &Caller,
        slug: &str,
        req: SetOrgSettings,
        elevated: Option<&str>,
    ) -> Result<OrgSettings> {
        let org = self.org_for_admin(caller, slug).await?;
        // Turning an option on (QR codes shown again, remembered devices, no mailed code
        // before a first app) weakens everyone's protection.
        self.require_admin_second_factor(caller, elevated).await?;
        let server_max = self.security.max_totp_factors;
        let current = self.store.org_settings(&org.id).await?;
        let confirm_first_app_by_email = req
            .confirm_first_app_by_email
            .unwrap_or(to_api(current.as_ref(), server_max).confirm_first_app_by_email);
        let max_authenticator_apps = match req.max_authenticator_apps {
            Some(0) => {
                return Err(DomainError::InvalidInput(
                    "max_authenticator_apps must be at least 1".into(),
                ));
            }
            // Well formed, but more than this server is configured to allow.
            Some(n) if n > server_max => {
                return Err(DomainError::Conflict(format!(
                    "this server allows at most {server_max} authenticator apps per user \
                     (its max_totp_factors)"
                )));
            }
            Some(n) => Some(i64::from(n)),
            None => current.as_ref().and_then(|r| r.max_authenticator_apps),
        };
        let row = OrgSettingsRow {
            org_id: org.id.clone(),
            allow_qr_redisplay: req.allow_qr_redisplay,
            remember_devices: req.remember_devices,
            confirm_first_app_by_email,
            max_authenticator_apps,
            updated_at: self.now().as_millis(),
            updated_by: Some(caller.user.id.clone()),
        };
        self.store.put_org_settings(&row).await?;
        // Turning the option off forgets the devices already remembered.
        let forgotten = if req.remember_devices {
            0
        } else {
            self.store.delete_devices_of_org(&org.id).await?
        };
        self.record(Event {
            org_id: &org.id,
            event: "settings.changed",
            actor_id: Some(&caller.user.id),
            subject_id: None,
            details: json!({
                "allow_qr_redisplay": req.allow_qr_redisplay,
                "remember_devices": req.remember_devices,
                "confirm_first_app_by_email": confirm_first_app_by_email,
                "max_authenticator_apps": max_authenticator_apps,
                "devices_forgotten": forgotten,
            }),
        })
        .await;
        Ok(to_api(Some(&row), server_max))
    }
}
