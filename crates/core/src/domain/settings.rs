//! An organisation's MFA options besides the requirement: owners and admins read and
//! change them; every change is audited.

use serde_json::json;

use crate::clock::Timestamp;
use crate::store::OrgSettingsRow;

use super::audit::Event;
use super::sessions::Caller;
use super::{Result, Twofold};

/// An organisation's MFA options besides the requirement.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgSettings {
    /// An app's QR code may be shown again after enrolment.
    pub allow_qr_redisplay: bool,
    /// Users may have a browser remembered to skip the second step.
    pub remember_devices: bool,
    /// A user's first authenticator app needs a code mailed to them.
    pub confirm_first_app_by_email: bool,
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
}

fn to_api(row: Option<&OrgSettingsRow>) -> OrgSettings {
    OrgSettings {
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
        Ok(to_api(self.store.org_settings(&org.id).await?.as_ref()))
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
        let confirm_first_app_by_email = match req.confirm_first_app_by_email {
            Some(v) => v,
            None => {
                to_api(self.store.org_settings(&org.id).await?.as_ref()).confirm_first_app_by_email
            }
        };
        let row = OrgSettingsRow {
            org_id: org.id.clone(),
            allow_qr_redisplay: req.allow_qr_redisplay,
            remember_devices: req.remember_devices,
            confirm_first_app_by_email,
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
                "devices_forgotten": forgotten,
            }),
        })
        .await;
        Ok(to_api(Some(&row)))
    }
}
