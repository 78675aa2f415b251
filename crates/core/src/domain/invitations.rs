//! Invitations: a user an admin creates without a password is mailed a code to choose
//! their own with, on the `/welcome` page. The admin never chooses, sees or sends the
//! password. The code is 80 random bits, valid 7 days, single use, 5 attempts; like a
//! mailed code only its keyed hash is stored (`confirm`), as a confirmation code of
//! purpose `invitation`.

use serde_json::json;
use zeroize::Zeroizing;

use crate::mail::messages;
use crate::store::{ConfirmationRow, UserRow};

use super::confirm::{ATTEMPTS, Compared, random_bytes};
use super::org_admin::Actor;
use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// How long an invitation is valid.
pub const INVITATION_DAYS: u64 = 7;
const PURPOSE: &str = "invitation";
/// Crockford's base 32: no I, L, O or U, so a code read aloud or off paper cannot be
/// mistaken (a typed O is read as 0, an I or L as 1).
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 16 characters from 32 (80 bits), grouped by four: `7KQ2-…`.
fn invitation_code() -> Result<String> {
    let bytes = random_bytes::<10>()?;
    // 80 bits as sixteen 5-bit groups.
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let mut out = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let idx = ((bits >> (75 - 5 * i)) & 31) as usize;
        out.push(char::from(SYMBOLS[idx]));
    }
    Ok(out)
}

/// A typed code as it was made: upper case, without spaces or dashes, O as 0, I and L
/// as 1.
fn normalised(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// A first password chosen with an invitation.
pub struct Acceptance<'a> {
    pub org: &'a str,
    pub username: &'a str,
    pub code: &'a str,
    pub password: Zeroizing<String>,
}

impl Twofold {
    /// Mails `user` a new invitation, replacing any earlier one.
    pub(crate) async fn invite(&self, user: &UserRow, welcome: Option<&str>) -> Result<()> {
        let code = invitation_code()?;
        let salt = random_bytes::<16>()?.to_vec();
        let now = self.now();
        let ttl = std::time::Duration::from_secs(INVITATION_DAYS * 24 * 3600);
        self.store
            .put_confirmation(
                &ConfirmationRow {
                    user_id: user.id.clone(),
                    purpose: PURPOSE.to_owned(),
                    code_hash: self.code_mac(&salt, &normalised(&code))?,
                    salt,
                    expires_at: now.plus(ttl).as_millis(),
                    attempts_left: ATTEMPTS,
                    created_at: now.as_millis(),
                    bound_to: None,
                },
                // A new invitation always replaces the last.
                i64::MAX,
            )
            .await?;
        self.mailer.send(
            &messages::invitation(
                &user.email,
                &user.org_slug,
                &user.username,
                &code,
                welcome,
                INVITATION_DAYS,
            ),
            now,
        );
        Ok(())
    }

    /// Mails user `id` a new invitation (the last one expired or was lost): for a user who
    /// has not chosen a password yet, by an owner or admin with a fresh second factor.
    pub async fn reinvite_user(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        welcome: Option<&str>,
        elevated: Option<&str>,
    ) -> Result<()> {
        let user = self
            .org_member_for_admin(caller, slug, id, elevated)
            .await?;
        if user.federated || user.password_hash.is_some() {
            return Err(DomainError::Conflict(
                "this user already has a password (or signs in through their identity \
                 provider): there is nothing to invite them to"
                    .into(),
            ));
        }
        self.invite(&user, welcome).await?;
        self.record_by_actor(&user, "user.invited", Actor::Admin(&caller.user), json!({}))
            .await;
        Ok(())
    }

    /// Sets an invited user's first password with their invitation code. A wrong code, an
    /// unknown user and a user with no invitation get the same answer
    /// (`wrong_confirmation`); an expired or used-up code `confirmation_expired`.
    pub async fn accept_invitation(&self, a: Acceptance<'_>) -> Result<()> {
        super::users::check_length(&a.password, "password")?;
        let user = self
            .store
            .user_by_login(a.org.trim(), a.username.trim())
            .await?
            .filter(|u| !u.federated)
            .ok_or(DomainError::WrongConfirmation)?;
        let code = normalised(a.code);
        if code.len() != 16 || !code.bytes().all(|b| SYMBOLS.contains(&b)) {
            return Err(DomainError::WrongConfirmation);
        }
        let row = match self
            .compare_confirmation(&user.id, PURPOSE, &code, None)
            .await?
        {
            Compared::Right(row) => row,
            Compared::Wrong => return Err(DomainError::WrongConfirmation),
            Compared::Expired => return Err(DomainError::ConfirmationExpired),
        };
        let hash = self.passwords.hash(a.password).await?;
        if !self.store.consume_confirmation(&row).await? {
            return Err(DomainError::WrongConfirmation);
        }
        self.store
            .change_password(&user.id, None, &hash, "")
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        self.record_by(&user, "user.invitation_accepted", json!({}))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn codes_are_sixteen_unambiguous_symbols_in_fours() {
        let codes: std::collections::HashSet<String> =
            (0..100).map(|_| invitation_code().unwrap()).collect();
        assert_eq!(codes.len(), 100);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert_eq!(c.matches('-').count(), 3, "{c}");
            assert!(normalised(c).bytes().all(|b| SYMBOLS.contains(&b)), "{c}");
        }
        assert_eq!(normalised("ab2c-3def 4ghj o-il"), "AB2C3DEF4GHJ011");
    }
}
