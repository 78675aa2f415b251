//! The hand-off to an application: a finished federated sign-in (or step-up) waits under
//! a one-time code, sent to the application's loopback address, until the application
//! exchanges it with the PKCE verifier of the challenge it started with. Tokens never
//! travel in URLs.

use sha2::{Digest, Sha256};

use crate::crypto::token::{self, TokenKind};
use crate::store::{OidcHandoffRow, UserRow};

use super::super::sessions::amr_list;
use super::super::step_up::MANAGE_SCOPE;
use super::super::{DomainError, Result, Twofold};
use super::sign_in::{Callback, Exchanged, Finished, Purpose, with_query};

/// How long an application has to exchange its one-time code.
const HANDOFF_TTL_MS: i64 = 60 * 1000;

/// The browser's way back to the application, with its one-time `code`.
pub(super) fn to_app(cb: &Callback, redirect: &str, code: &str) -> Finished {
    Finished::ToApp {
        redirect: with_query(
            redirect,
            &[
                ("code", code),
                ("state", cb.login.app_state.as_deref().unwrap_or("")),
            ],
        ),
    }
}

impl Twofold {
    pub(super) async fn hand_off(
        &self,
        user: &UserRow,
        cb: &Callback,
        amr: &[String],
        aal: u8,
        challenge: &str,
        session_id: Option<&str>,
    ) -> Result<String> {
        let code = token::mint(TokenKind::OidcHandoff)?;
        self.store
            .insert_oidc_handoff(&OidcHandoffRow {
                code_hash: code.hash,
                user_id: user.id.clone(),
                purpose: cb.purpose.as_str().to_owned(),
                session_id: session_id.map(str::to_owned),
                provider: cb.provider.name.clone(),
                amr: amr.join(" "),
                aal: i64::from(aal),
                app_challenge: challenge.to_owned(),
                expires_at: self.now().as_millis() + HANDOFF_TTL_MS,
            })
            .await?;
        Ok(code.text)
    }

    /// User `user_id`'s live session `id`.
    pub(super) async fn live_session(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<crate::store::SessionRow>> {
        Ok(self
            .store
            .sessions_of_user(user_id, self.now().as_millis())
            .await?
            .into_iter()
            .find(|s| s.id == id))
    }

    /// An application's one-time `code` and the PKCE `verifier` it started with: the
    /// session (a sign-in) or the elevated token (a step-up) the callback handed off.
    pub async fn exchange_federated(&self, code: &str, verifier: &str) -> Result<Exchanged> {
        let refused = || DomainError::FlowExpired;
        let hash = token::lookup_hash(TokenKind::OidcHandoff, code).ok_or_else(refused)?;
        let h = self
            .store
            .take_oidc_handoff(&hash)
            .await?
            .filter(|h| h.expires_at > self.now().as_millis())
            .ok_or_else(refused)?;
        let challenge = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(challenge.as_bytes(), h.app_challenge.as_bytes()).into();
        if !matches || !(43..=128).contains(&verifier.len()) {
            return Err(DomainError::FederationFailed(
                "code_verifier does not match the code_challenge the sign-in started with".into(),
            ));
        }
        let user = self
            .store
            .user_by_id(&h.user_id)
            .await?
            .ok_or_else(refused)?;
        let amr = amr_list(&h.amr);
        let aal = u8::try_from(h.aal).unwrap_or(1);
        match Purpose::parse(&h.purpose) {
            Some(Purpose::SignIn) => {
                let methods: Vec<&str> = amr.iter().map(String::as_str).collect();
                let session = self.start_session_at(&user, &methods, aal).await?;
                Ok(Exchanged::SignedIn { session, amr, aal })
            }
            Some(Purpose::StepUp) => {
                let session_id = h.session_id.as_deref().ok_or_else(refused)?;
                let session = self
                    .live_session(&user.id, session_id)
                    .await?
                    .ok_or(DomainError::Unauthenticated)?;
                let elevated = self
                    .mint_elevated(&session, vec![MANAGE_SCOPE.to_owned()], &h.amr, false)
                    .await?;
                Ok(Exchanged::SteppedUp(elevated))
            }
            _ => Err(refused()),
        }
    }
}
