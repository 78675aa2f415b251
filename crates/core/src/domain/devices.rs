//! "Remember this device": after a second step with `remember_device`, a device token
//! (256 random bits, stored hashed) lets that user skip the second step on that device
//! for 30 days (configurable), at aal 2 with `amr: ["pwd", "device"]` — but never counts
//! as a *fresh* second factor for guarded changes. At most 10 per user (the oldest go).
//! Revoked by the user, an MFA reset, a factor removal, and the organisation turning the
//! option off.

use serde_json::json;

use crate::clock::Timestamp;
use crate::crypto::token::{self, TokenKind};
use crate::store::{DeviceRow, UserRow};

use super::audit::Event;
use super::sessions::{Caller, NewSession};
use super::{DomainError, Result, Twofold};

/// A browser where the user skips the second step until `expires_at`.
#[derive(Clone, Debug)]
pub struct RememberedDevice {
    pub id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it last let the user skip a second step.
    pub last_used_at: Option<Timestamp>,
    /// Where it was remembered from.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Twofold {
    /// Whether `user`'s organisation lets devices be remembered.
    pub(crate) async fn devices_allowed(&self, user: &UserRow) -> Result<bool> {
        Ok(self
            .store
            .org_settings(&user.org_id)
            .await?
            .is_none_or(|s| s.remember_devices))
    }

    /// Remembers the current device for `user_id` if their organisation allows it;
    /// answers the token to hand out.
    pub(crate) async fn remember_device(&self, user_id: &str) -> Result<Option<String>> {
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Ok(None);
        };
        if !self.devices_allowed(&user).await? {
            return Ok(None);
        }
        let now = self.now();
        let tok = token::mint(TokenKind::Device)?;
        let origin = super::audit::current_origin();
        let row = DeviceRow {
            id: Self::new_id(),
            token_hash: tok.hash,
            user_id: user.id.clone(),
            created_at: now.as_millis(),
            expires_at: now.plus(self.security.remember_device_ttl).as_millis(),
            last_used_at: None,
            ip: origin.ip,
            user_agent: origin.user_agent,
        };
        let cap = i64::from(self.security.max_remembered_devices);
        self.store.insert_device(&row, cap).await?;
        self.record_by(&user, "device.remembered", json!({"device_id": row.id}))
            .await;
        Ok(Some(tok.text))
    }

    /// A session for `user` without a second step, if `presented` is a live device token
    /// of theirs and their organisation still allows it; `None` otherwise.
    pub(crate) async fn sign_in_with_device(
        &self,
        user: &UserRow,
        presented: &str,
    ) -> Result<Option<NewSession>> {
        let Some(hash) = token::lookup_hash(TokenKind::Device, presented) else {
            return Ok(None);
        };
        let now = self.now().as_millis();
        let Some(device) = self
            .store
            .device_by_token(&hash, now)
            .await?
            .filter(|d| d.user_id == user.id)
        else {
            return Ok(None);
        };
        if !self.devices_allowed(user).await? {
            return Ok(None);
        }
        let amr = ["pwd", "device"];
        let (mut row, session) = self.new_session(&user.id, &amr, 2)?;
        // Something the user has, but not a second factor passed just now.
        row.mfa_at = None;
        self.store.insert_session(&row).await?;
        self.store.record_login(&user.id, now).await?;
        self.store.touch_device(&device.id, now).await?;
        self.record(Event {
            org_id: &user.org_id,
            event: "signin.succeeded",
            actor_id: Some(&user.id),
            subject_id: Some(&user.id),
            details: json!({"amr": amr, "device_id": device.id}),
        })
        .await;
        Ok(Some(session))
    }

    pub async fn list_devices(&self, caller: &Caller) -> Result<Vec<RememberedDevice>> {
        let rows = self
            .store
            .devices_of_user(&caller.user.id, self.now().as_millis())
            .await?;
        Ok(rows
            .into_iter()
            .map(|d| RememberedDevice {
                id: d.id,
                created_at: Timestamp::from_millis(d.created_at),
                expires_at: Timestamp::from_millis(d.expires_at),
                last_used_at: d.last_used_at.map(Timestamp::from_millis),
                ip: d.ip,
                user_agent: d.user_agent,
            })
            .collect())
    }

    pub async fn forget_device(&self, caller: &Caller, id: &str) -> Result<()> {
        if !self.store.delete_device(&caller.user.id, id).await? {
            return Err(DomainError::NotFound("device"));
        }
        self.record_by(&caller.user, "device.forgotten", json!({"device_id": id}))
            .await;
        Ok(())
    }
}
