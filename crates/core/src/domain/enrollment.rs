//! Enrolling a first factor inside a sign-in, when the organisation requires one: the
//! enrolment flow token (from `login`) can start an enrolment (an authenticator app, or
//! email), show an app's QR code and activate it — which signs the user in at aal 2 —
//! and nothing else. A user who must enrol can always reach enrolment, and has no session
//! until they have.

use serde_json::json;

use crate::crypto::token::{self, TokenKind};
use crate::mail::messages;
use crate::mail::messages::CodeUse;
use crate::store::{FLOW_ENROLL, FactorKind, FlowRow, UserRow};

use super::email::CodeSent;
use super::factors::AddApp;
use super::input::{OtpCode, email_factor_name, factor_name};
use super::sessions::NewSession;
use super::{DomainError, Result, Twofold};

impl Twofold {
    /// The user of live enrolment flow `flow_token`. Only while the user has no active
    /// factor: once one is active (from another enrolment flow started alongside), the
    /// password alone must not add a second one, so such a flow is over.
    async fn enrolling_user(&self, flow_token: &str) -> Result<(FlowRow, UserRow)> {
        let hash =
            token::lookup_hash(TokenKind::Flow, flow_token).ok_or(DomainError::FlowExpired)?;
        let (flow, user) = self.live_flow(&hash, FLOW_ENROLL).await?;
        if self.store.count_active_factors(&user.id).await? > 0 {
            return Err(DomainError::FlowExpired);
        }
        Ok((flow, user))
    }

    /// Starts enrolling an authenticator app in enrolment flow `flow_token`: first a code
    /// is mailed to the user's address (unless the organisation turned that off), which
    /// comes back as `confirmation_code`.
    pub async fn enroll_in_flow(
        &self,
        flow_token: &str,
        name: Option<&str>,
        confirmation_code: Option<&str>,
    ) -> Result<AddApp> {
        let name = factor_name(name)?;
        let (flow, user) = self.enrolling_user(flow_token).await?;
        if let Some(expires_at) = self
            .confirm_first_app(&user, confirmation_code, &flow.id, CodeUse::AddApp)
            .await?
        {
            return Ok(AddApp::ConfirmationRequired { expires_at });
        }
        Ok(AddApp::Enrolled(self.new_pending_totp(&user, name).await?))
    }

    /// Starts enrolling email in enrolment flow `flow_token`: a code is mailed to the
    /// user's address; answers the pending factor's id.
    pub async fn enroll_email_in_flow(
        &self,
        flow_token: &str,
        name: Option<&str>,
    ) -> Result<(String, CodeSent)> {
        let name = email_factor_name(name)?;
        let (_, user) = self.enrolling_user(flow_token).await?;
        self.new_pending_email(&user, name).await
    }

    /// The QR code's URI of the pending factor `id` of enrolment flow `flow_token`.
    pub async fn enrollment_uri(&self, flow_token: &str, id: &str) -> Result<String> {
        let (_, user) = self.enrolling_user(flow_token).await?;
        self.pending_uri_of(&user, id).await
    }

    /// Activates the pending factor `id` with `code` (from the app, or mailed), ends the
    /// flow and signs the user in at aal 2.
    pub async fn activate_in_flow(
        &self,
        flow_token: &str,
        id: &str,
        code: &str,
    ) -> Result<NewSession> {
        let code = OtpCode::parse(code)?;
        let (flow, user) = self.enrolling_user(flow_token).await?;
        let hash = flow.token_hash;
        let f = self
            .store
            .factor_of_user(&user.id, id)
            .await?
            .ok_or(DomainError::NotFound("factor"))?;
        // Only while the user has none: a factor activated meanwhile (by another
        // enrolment flow of theirs) ends this one.
        if !self.activate_pending(&user, &f, &code, true, false).await? {
            return Err(DomainError::FlowExpired);
        }
        let amr: &[&str] = match f.kind {
            FactorKind::Email => &super::email::AMR,
            FactorKind::Totp => &["pwd", "otp"],
            // Never pending, so never activated here (activate_pending refused it).
            FactorKind::Webauthn => &super::passkeys::AMR,
        };
        // The factor is active now whatever happens next; of two requests finishing this
        // flow, one gets the session and the other signs in again like anybody with a
        // factor.
        if !self.store.end_flow(&hash).await? {
            return Err(DomainError::FlowExpired);
        }
        self.first_factor_activated(&user, "").await?;
        let (mut row, session) = self.new_session(&user.id, amr, 2)?;
        row.factor_id = Some(f.id.clone());
        self.store.insert_session(&row).await?;
        self.store.record_login(&user.id, row.created_at).await?;
        let enrolled = json!({"factor_id": f.id, "name": f.name, "at_sign_in": true});
        self.record_by(&user, "factor.enrolled", enrolled).await;
        let signed_in = json!({"amr": amr, "factor_id": f.id});
        self.record_by(&user, "signin.succeeded", signed_in).await;
        self.mailer
            .send(&messages::factor_added(&user.email, &f.name), self.now());
        Ok(session)
    }
}
