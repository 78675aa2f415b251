//! PostgreSQL rows into the store's row types, each field read by its column's name.

use sqlx::Row;
use sqlx::postgres::PgRow;

use twofold_core::store::*;

/// A row type read from a PostgreSQL row.
pub(crate) trait FromPg: Sized {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error>;
}

/// Column `name`, the stored name of one of `T`'s values.
fn parsed<T>(r: &PgRow, name: &str) -> Result<T, sqlx::Error>
where
    T: TryFrom<String, Error = UnknownValue>,
{
    let text: String = r.try_get(name)?;
    T::try_from(text).map_err(|e| sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: Box::new(e),
    })
}

impl FromPg for AuditRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(AuditRow {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            at: r.try_get("at")?,
            event: r.try_get("event")?,
            actor_id: r.try_get("actor_id")?,
            subject_id: r.try_get("subject_id")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
            details: r.try_get("details")?,
        })
    }
}

impl FromPg for ConfirmationRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(ConfirmationRow {
            user_id: r.try_get("user_id")?,
            purpose: r.try_get("purpose")?,
            salt: r.try_get("salt")?,
            code_hash: r.try_get("code_hash")?,
            expires_at: r.try_get("expires_at")?,
            attempts_left: r.try_get("attempts_left")?,
            created_at: r.try_get("created_at")?,
            bound_to: r.try_get("bound_to")?,
        })
    }
}

impl FromPg for DeviceRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(DeviceRow {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            user_id: r.try_get("user_id")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    }
}

impl FromPg for ElevatedRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(ElevatedRow {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            user_id: r.try_get("user_id")?,
            session_id: r.try_get("session_id")?,
            scopes: r.try_get("scopes")?,
            amr: r.try_get("amr")?,
            single_use: r.try_get("single_use")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        })
    }
}

impl FromPg for ApiKeyRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(ApiKeyRow {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            name: r.try_get("name")?,
            key_hash: r.try_get("key_hash")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
        })
    }
}

impl FromPg for FactorRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(FactorRow {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            kind: parsed(&r, "kind")?,
            name: r.try_get("name")?,
            status: parsed(&r, "status")?,
            secret_key_id: r.try_get("secret_key_id")?,
            secret_sealed: r.try_get("secret_sealed")?,
            algorithm: r.try_get("algorithm")?,
            digits: r.try_get("digits")?,
            period: r.try_get("period")?,
            last_used_step: r.try_get("last_used_step")?,
            created_at: r.try_get("created_at")?,
            activated_at: r.try_get("activated_at")?,
            last_used_at: r.try_get("last_used_at")?,
            preferred: r.try_get("preferred")?,
            drift_steps: r.try_get("drift_steps")?,
            next_secret_key_id: r.try_get("next_secret_key_id")?,
            next_secret_sealed: r.try_get("next_secret_sealed")?,
            address: r.try_get("address")?,
            resync_step: r.try_get("resync_step")?,
            resync_at: r.try_get("resync_at")?,
        })
    }
}

impl FromPg for TotpFactor {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(TotpFactor {
            id: r.try_get("id")?,
            secret_key_id: r.try_get("secret_key_id")?,
            secret_sealed: r.try_get("secret_sealed")?,
            algorithm: r.try_get("algorithm")?,
            digits: r.try_get("digits")?,
            period: r.try_get("period")?,
            drift_steps: r.try_get("drift_steps")?,
            resync_step: r.try_get("resync_step")?,
            resync_at: r.try_get("resync_at")?,
        })
    }
}

impl FromPg for FlowRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(FlowRow {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            user_id: r.try_get("user_id")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            purpose: r.try_get("purpose")?,
        })
    }
}

impl FromPg for OrgRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(OrgRow {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
            miss_hash: r.try_get("miss_hash")?,
        })
    }
}

impl FromPg for PolicyRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(PolicyRow {
            org_id: r.try_get("org_id")?,
            required: r.try_get("required")?,
            grace_period_days: r.try_get("grace_period_days")?,
            updated_at: r.try_get("updated_at")?,
            updated_by: r.try_get("updated_by")?,
        })
    }
}

impl FromPg for SessionRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(SessionRow {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            user_id: r.try_get("user_id")?,
            aal: r.try_get("aal")?,
            amr: r.try_get("amr")?,
            factor_id: r.try_get("factor_id")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            mfa_at: r.try_get("mfa_at")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    }
}

impl FromPg for OrgSettingsRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(OrgSettingsRow {
            org_id: r.try_get("org_id")?,
            allow_qr_redisplay: r.try_get("allow_qr_redisplay")?,
            remember_devices: r.try_get("remember_devices")?,
            confirm_first_app_by_email: r.try_get("confirm_first_app_by_email")?,
            max_authenticator_apps: r.try_get("max_authenticator_apps")?,
            updated_at: r.try_get("updated_at")?,
            updated_by: r.try_get("updated_by")?,
        })
    }
}

impl FromPg for OidcProviderRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(OidcProviderRow {
            org_id: r.try_get("org_id")?,
            name: r.try_get("name")?,
            issuer: r.try_get("issuer")?,
            client_id: r.try_get("client_id")?,
            secret_key_id: r.try_get("secret_key_id")?,
            client_secret_sealed: r.try_get("client_secret_sealed")?,
            scopes: r.try_get("scopes")?,
            allowed_email_domains: r.try_get("allowed_email_domains")?,
            username_claim: r.try_get("username_claim")?,
            create_users: r.try_get("create_users")?,
            link_by_email: r.try_get("link_by_email")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            updated_by: r.try_get("updated_by")?,
        })
    }
}

impl FromPg for OidcLoginRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(OidcLoginRow {
            state_hash: r.try_get("state_hash")?,
            org_id: r.try_get("org_id")?,
            org_slug: r.try_get("org_slug")?,
            provider: r.try_get("provider")?,
            nonce: r.try_get("nonce")?,
            pkce_verifier: r.try_get("pkce_verifier")?,
            binding_hash: r.try_get("binding_hash")?,
            purpose: r.try_get("purpose")?,
            session_id: r.try_get("session_id")?,
            user_id: r.try_get("user_id")?,
            app_redirect: r.try_get("app_redirect")?,
            app_state: r.try_get("app_state")?,
            app_challenge: r.try_get("app_challenge")?,
            return_to: r.try_get("return_to")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }
}

impl FromPg for OidcHandoffRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(OidcHandoffRow {
            code_hash: r.try_get("code_hash")?,
            user_id: r.try_get("user_id")?,
            purpose: r.try_get("purpose")?,
            session_id: r.try_get("session_id")?,
            provider: r.try_get("provider")?,
            amr: r.try_get("amr")?,
            aal: r.try_get("aal")?,
            app_challenge: r.try_get("app_challenge")?,
            expires_at: r.try_get("expires_at")?,
        })
    }
}

impl FromPg for FederatedIdentityRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(FederatedIdentityRow {
            org_id: r.try_get("org_id")?,
            issuer: r.try_get("issuer")?,
            subject: r.try_get("subject")?,
            user_id: r.try_get("user_id")?,
            provider: r.try_get("provider")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
        })
    }
}

impl FromPg for UserRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(UserRow {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            org_slug: r.try_get("org_slug")?,
            username: r.try_get("username")?,
            email: r.try_get("email")?,
            role: r.try_get("role")?,
            federated: r.try_get("federated")?,
            password_hash: r.try_get("password_hash")?,
            created_at: r.try_get("created_at")?,
            last_login_at: r.try_get("last_login_at")?,
            last_login_ip: r.try_get("last_login_ip")?,
        })
    }
}

impl FromPg for PasskeyRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(PasskeyRow {
            factor_id: r.try_get("factor_id")?,
            user_id: r.try_get("user_id")?,
            credential_id: r.try_get("credential_id")?,
            credential: r.try_get("credential")?,
            sign_count: r.try_get("sign_count")?,
            authenticator: r.try_get("authenticator")?,
            backup_eligible: r.try_get("backup_eligible")?,
            cloned_at: r.try_get("cloned_at")?,
        })
    }
}

impl FromPg for CeremonyRow {
    fn from_pg(r: PgRow) -> Result<Self, sqlx::Error> {
        Ok(CeremonyRow {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            purpose: r.try_get("purpose")?,
            bound_to: r.try_get("bound_to")?,
            name: r.try_get("name")?,
            state: r.try_get("state")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }
}
