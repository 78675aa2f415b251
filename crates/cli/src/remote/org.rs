//! `twofold org …` (all but `org create`): an owner or admin runs their organisation over
//! the API — the MFA requirement, the users with their MFA status, a reset or an unlock,
//! the audit log. The organisation is the signed-in user's own.

use serde_json::json;
use twofold_client::AuditFilter;
use twofold_proto::{MfaStatus, OrgUser, SetMfaPolicy};

use super::account::role_text;
use super::context::Ctx;
use crate::args::{OrgCommand, OrgMfaCommand, Output};
use crate::failure::Failure;
use crate::output::{self, or_dash};

pub async fn run(cmd: OrgCommand, out: Output) -> Result<(), Failure> {
    match cmd {
        OrgCommand::Create { .. } => Err(Failure::usage("`org create` opens the database")),
        OrgCommand::Mfa(m) => {
            let ctx = &mut Ctx::new(&m.remote, out)?;
            match m.command {
                OrgMfaCommand::Status => status(ctx).await,
                OrgMfaCommand::Enable {
                    invalidate_sessions,
                    grace_days,
                    ..
                } => enable(ctx, invalidate_sessions, grace_days).await,
                OrgMfaCommand::Disable => disable(ctx).await,
            }
        }
        OrgCommand::Users(r) => users(&mut Ctx::new(&r.remote, out)?).await,
        OrgCommand::ResetMfa(u) => {
            let ctx = &mut Ctx::new(&u.remote, out)?;
            let (org, user) = user_named(ctx, &u.user).await?;
            ctx.call(async |c| c.reset_user_mfa(&org, &user.id).await)
                .await?;
            output::print(
                ctx.out,
                &json!({ "reset": user.username, "id": user.id }),
                |_| {
                    println!(
                        "MFA of {} reset: their factors are removed and their sessions ended; they \
                     are mailed and enrol again at their next sign-in.",
                        user.username
                    );
                },
            )
        }
        OrgCommand::Unlock(u) => {
            let ctx = &mut Ctx::new(&u.remote, out)?;
            let (org, user) = user_named(ctx, &u.user).await?;
            ctx.call(async |c| c.unlock_user(&org, &user.id).await)
                .await?;
            output::print(
                ctx.out,
                &json!({ "unlocked": user.username, "id": user.id }),
                |_| {
                    println!("{} is unlocked.", user.username);
                },
            )
        }
        OrgCommand::Audit {
            limit,
            user,
            event,
            remote,
        } => audit(&mut Ctx::new(&remote, out)?, limit, user, event.as_deref()).await,
    }
}

/// The signed-in user's organisation (signing in first if need be).
async fn own_org(ctx: &mut Ctx) -> Result<String, Failure> {
    if ctx.saved().is_none() {
        ctx.call(async |c| c.me().await).await?;
    }
    ctx.saved()
        .map(|s| s.org.clone())
        .ok_or_else(|| Failure::new("unauthenticated", "not signed in: run `twofold login`"))
}

async fn all_users(ctx: &mut Ctx) -> Result<(String, Vec<OrgUser>), Failure> {
    let org = own_org(ctx).await?;
    let users = ctx.call(async |c| c.org_users(&org).await).await?;
    Ok((org, users))
}

async fn user_named(ctx: &mut Ctx, username: &str) -> Result<(String, OrgUser), Failure> {
    let (org, users) = all_users(ctx).await?;
    let user = users
        .into_iter()
        .find(|u| u.username == username)
        .ok_or_else(|| {
            Failure::new(
                "not_found",
                format!("{org} has no user {username:?}: `twofold org users` lists them"),
            )
        })?;
    Ok((org, user))
}

async fn status(ctx: &mut Ctx) -> Result<(), Failure> {
    let org = own_org(ctx).await?;
    let policy = ctx.call(async |c| c.mfa_policy(&org).await).await?;
    output::print(ctx.out, &policy, |p| {
        if p.required {
            println!("MFA is required in {org}.");
            if p.grace_period_days > 0 {
                println!(
                    "Users without a factor may still sign in for {} day(s) after the change.",
                    p.grace_period_days
                );
            }
        } else {
            println!("MFA is not required in {org}.");
        }
        if let Some(at) = &p.updated_at {
            println!("Changed {at} by {}.", or_dash(p.updated_by.as_deref()));
        }
    })
}

async fn enable(ctx: &mut Ctx, invalidate: bool, grace_days: Option<u32>) -> Result<(), Failure> {
    let org = own_org(ctx).await?;
    let req = SetMfaPolicy {
        required: true,
        invalidate_sessions: Some(invalidate),
        grace_period_days: grace_days,
        confirmation_code: None,
    };
    let changed = ctx
        .call(async |c| c.set_mfa_policy(&org, &req).await)
        .await?;
    if invalidate {
        // Ours was among them.
        ctx.forget()?;
    }
    output::print(ctx.out, &changed, |c| {
        println!(
            "MFA is now required in {org}. {} session(s) ended.",
            c.sessions_ended
        );
        if invalidate {
            println!("Yours too: sign in again with `twofold login`.");
        }
    })
}

async fn disable(ctx: &mut Ctx) -> Result<(), Failure> {
    let org = own_org(ctx).await?;
    let sent = ctx
        .call(async |c| c.request_mfa_disable(&org).await)
        .await?;
    ctx.term.say(&format!(
        "To confirm, a code was mailed to your address (valid until {}).",
        sent.expires_at
    ));
    let client = ctx.client();
    let changed = ctx
        .until_accepted("Code from the email: ", async |code| {
            let req = SetMfaPolicy {
                required: false,
                invalidate_sessions: None,
                grace_period_days: None,
                confirmation_code: Some(code.to_owned()),
            };
            client.set_mfa_policy(&org, &req).await
        })
        .await?;
    output::print(ctx.out, &changed, |_| {
        println!("MFA is no longer required in {org}.");
    })
}

fn mfa_text(m: MfaStatus) -> &'static str {
    match m {
        MfaStatus::Enrolled => "enrolled",
        MfaStatus::NotEnrolled => "not enrolled",
        MfaStatus::NotApplicable => "sso",
    }
}

async fn users(ctx: &mut Ctx) -> Result<(), Failure> {
    let (_, users) = all_users(ctx).await?;
    output::print(ctx.out, &users, |users| {
        let rows: Vec<[String; 5]> = users
            .iter()
            .map(|u| {
                [
                    u.username.clone(),
                    u.email.clone(),
                    role_text(u.role).to_owned(),
                    output::with_providers(mfa_text(u.mfa), &u.providers),
                    or_dash(u.last_login_at.as_deref()),
                ]
            })
            .collect();
        output::table(["USERNAME", "EMAIL", "ROLE", "MFA", "LAST SIGN-IN"], &rows);
    })
}

async fn audit(
    ctx: &mut Ctx,
    limit: u32,
    user: Option<String>,
    event: Option<&str>,
) -> Result<(), Failure> {
    let (org, users) = all_users(ctx).await?;
    let user_id = match &user {
        Some(name) => Some(
            users
                .iter()
                .find(|u| &u.username == name)
                .map(|u| u.id.clone())
                .ok_or_else(|| Failure::new("not_found", format!("{org} has no user {name:?}")))?,
        ),
        None => None,
    };
    let filter = AuditFilter {
        limit: Some(limit),
        before: None,
        user: user_id.as_deref(),
        event,
    };
    let events = ctx
        .call(async |c| c.audit_events_where(&org, &filter).await)
        .await?;
    let name = |id: &Option<String>| match id {
        None => "-".to_owned(),
        Some(id) => users
            .iter()
            .find(|u| &u.id == id)
            .map_or_else(|| id.clone(), |u| u.username.clone()),
    };
    output::print(ctx.out, &events, |events| {
        let rows: Vec<[String; 6]> = events
            .iter()
            .map(|e| {
                [
                    e.at.clone(),
                    e.event.clone(),
                    name(&e.actor_id),
                    name(&e.subject_id),
                    or_dash(e.ip.as_deref()),
                    match &e.details {
                        serde_json::Value::Object(m) if m.is_empty() => String::new(),
                        d => d.to_string(),
                    },
                ]
            })
            .collect();
        output::table(["AT", "EVENT", "ACTOR", "SUBJECT", "IP", "DETAILS"], &rows);
    })
}
