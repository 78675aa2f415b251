//! The SQLite side of [`twofold_core::store::oidc`].

use super::Sqlite;
use super::columns::ByName;
use twofold_core::store::StoreError;
use twofold_core::store::oidc::*;

fn login_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OidcLoginRow> {
    let mut col = ByName::new(r);
    Ok(OidcLoginRow {
        state_hash: col.get("state_hash")?,
        org_id: col.get("org_id")?,
        org_slug: col.get("org_slug")?,
        provider: col.get("provider")?,
        nonce: col.get("nonce")?,
        pkce_verifier: col.get("pkce_verifier")?,
        binding_hash: col.get("binding_hash")?,
        purpose: col.get("purpose")?,
        session_id: col.get("session_id")?,
        user_id: col.get("user_id")?,
        app_redirect: col.get("app_redirect")?,
        app_state: col.get("app_state")?,
        app_challenge: col.get("app_challenge")?,
        return_to: col.get("return_to")?,
        created_at: col.get("created_at")?,
        expires_at: col.get("expires_at")?,
    })
}

fn handoff_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OidcHandoffRow> {
    let mut col = ByName::new(r);
    Ok(OidcHandoffRow {
        code_hash: col.get("code_hash")?,
        user_id: col.get("user_id")?,
        purpose: col.get("purpose")?,
        session_id: col.get("session_id")?,
        provider: col.get("provider")?,
        amr: col.get("amr")?,
        aal: col.get("aal")?,
        app_challenge: col.get("app_challenge")?,
        expires_at: col.get("expires_at")?,
    })
}

fn identity_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FederatedIdentityRow> {
    let mut col = ByName::new(r);
    Ok(FederatedIdentityRow {
        org_id: col.get("org_id")?,
        issuer: col.get("issuer")?,
        subject: col.get("subject")?,
        user_id: col.get("user_id")?,
        provider: col.get("provider")?,
        created_at: col.get("created_at")?,
        last_used_at: col.get("last_used_at")?,
    })
}

#[async_trait::async_trait]
impl OidcStore for Sqlite {
    async fn put_oidc_provider(&self, p: &OidcProviderRow) -> Result<(), StoreError> {
        let p = p.clone();
        self.write(move |c| {
            c.prepare_cached(UPSERT)?.execute(rusqlite::params![
                p.org_id,
                p.name,
                p.issuer,
                p.client_id,
                p.secret_key_id,
                p.client_secret_sealed,
                p.scopes,
                p.allowed_email_domains,
                p.username_claim,
                p.create_users,
                p.link_by_email,
                p.created_at,
                p.updated_at,
                p.updated_by
            ])?;
            Ok(())
        })
        .await
    }

    async fn oidc_providers_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<OidcProviderRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SELECT_OF_ORG)?
                .query_map([org_id], |r| {
                    let mut col = ByName::new(r);
                    Ok(OidcProviderRow {
                        org_id: col.get("org_id")?,
                        name: col.get("name")?,
                        issuer: col.get("issuer")?,
                        client_id: col.get("client_id")?,
                        secret_key_id: col.get("secret_key_id")?,
                        client_secret_sealed: col.get("client_secret_sealed")?,
                        scopes: col.get("scopes")?,
                        allowed_email_domains: col.get("allowed_email_domains")?,
                        username_claim: col.get("username_claim")?,
                        create_users: col.get("create_users")?,
                        link_by_email: col.get("link_by_email")?,
                        created_at: col.get("created_at")?,
                        updated_at: col.get("updated_at")?,
                        updated_by: col.get("updated_by")?,
                    })
                })?
                .collect()
        })
    }

    async fn insert_oidc_login(&self, l: &OidcLoginRow) -> Result<(), StoreError> {
        let l = l.clone();
        self.write(move |c| {
            c.prepare_cached(INSERT_LOGIN)?.execute(rusqlite::params![
                l.state_hash,
                l.org_id,
                l.org_slug,
                l.provider,
                l.nonce,
                l.pkce_verifier,
                l.binding_hash,
                l.purpose,
                l.session_id,
                l.user_id,
                l.app_redirect,
                l.app_state,
                l.app_challenge,
                l.return_to,
                l.created_at,
                l.expires_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn take_oidc_login(&self, state_hash: &[u8]) -> Result<Option<OidcLoginRow>, StoreError> {
        let hash = state_hash.to_vec();
        self.write(move |c| {
            let mut q = c.prepare_cached(TAKE_LOGIN)?;
            let mut rows = q.query([hash])?;
            Ok(rows.next()?.map(login_row).transpose()?)
        })
        .await
    }

    async fn insert_oidc_handoff(&self, h: &OidcHandoffRow) -> Result<(), StoreError> {
        let h = h.clone();
        self.write(move |c| {
            c.prepare_cached(INSERT_HANDOFF)?
                .execute(rusqlite::params![
                    h.code_hash,
                    h.user_id,
                    h.purpose,
                    h.session_id,
                    h.provider,
                    h.amr,
                    h.aal,
                    h.app_challenge,
                    h.expires_at
                ])?;
            Ok(())
        })
        .await
    }

    async fn take_oidc_handoff(
        &self,
        code_hash: &[u8],
    ) -> Result<Option<OidcHandoffRow>, StoreError> {
        let hash = code_hash.to_vec();
        self.write(move |c| {
            let mut q = c.prepare_cached(TAKE_HANDOFF)?;
            let mut rows = q.query([hash])?;
            Ok(rows.next()?.map(handoff_row).transpose()?)
        })
        .await
    }

    async fn insert_federated_identity(&self, i: &FederatedIdentityRow) -> Result<(), StoreError> {
        let i = i.clone();
        let res = self
            .write(move |c| {
                c.prepare_cached(INSERT_IDENTITY)?
                    .execute(rusqlite::params![
                        i.org_id,
                        i.issuer,
                        i.subject,
                        i.user_id,
                        i.provider,
                        i.created_at,
                        i.last_used_at
                    ])?;
                Ok(())
            })
            .await;
        res.map_err(|e| e.unique_as("federated identity"))
    }

    async fn federated_identity(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedIdentityRow>, StoreError> {
        self.read(|c| {
            let mut q = c.prepare_cached(SELECT_IDENTITY)?;
            let mut rows = q.query([org_id, issuer, subject])?;
            rows.next()?.map(identity_row).transpose()
        })
    }

    async fn touch_federated_identity(
        &self,
        i: &FederatedIdentityRow,
        now: i64,
    ) -> Result<(), StoreError> {
        let i = i.clone();
        self.write(move |c| {
            c.prepare_cached(TOUCH_IDENTITY)?
                .execute(rusqlite::params![now, i.org_id, i.issuer, i.subject])?;
            Ok(())
        })
        .await
    }

    async fn federated_identities_of_org(
        &self,
        org_id: &str,
    ) -> Result<Vec<FederatedIdentityRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(SELECT_IDENTITIES_OF_ORG)?
                .query_map([org_id], identity_row)?
                .collect()
        })
    }
}
