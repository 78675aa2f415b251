//! The signed-in user's own account: `login` (with a password, or `--sso` through the
//! organisation's identity provider), `logout`, `whoami`, `sessions`, `devices` and
//! `recovery-codes`.

use serde_json::json;

use super::context::Ctx;
use super::session_file::Saved;
use crate::args::{DevicesCommand, RecoveryCommand, SessionsCommand};
use crate::failure::{Failure, from_client};
use crate::output::{self, or_dash};

pub async fn login(
    ctx: &mut Ctx,
    org: Option<String>,
    username: Option<String>,
) -> Result<(), Failure> {
    let saved = ctx.sign_in(org, username).await?.clone();
    signed_in(ctx, &saved)
}

/// `twofold login --sso PROVIDER`: the same session and output as a password sign-in.
pub async fn login_sso(
    ctx: &mut Ctx,
    org: Option<String>,
    provider: String,
) -> Result<(), Failure> {
    let saved = ctx.sign_in_sso(org, &provider).await?.clone();
    signed_in(ctx, &saved)
}

fn signed_in(ctx: &Ctx, saved: &Saved) -> Result<(), Failure> {
    let server = ctx.server().to_owned();
    let result = json!({
        "server": server, "org": saved.org, "username": saved.username,
        "expires_at": saved.expires_at,
    });
    output::print(ctx.out, &result, |_| {
        println!(
            "Signed in to {} as {} (org {}) until {}.",
            server, saved.username, saved.org, saved.expires_at
        );
    })
}

pub async fn logout(ctx: &mut Ctx) -> Result<(), Failure> {
    let was = ctx.saved().is_some();
    if was {
        match ctx.client().logout().await {
            // An expired session is as good as ended.
            Err(e) if e.code() != Some(twofold_proto::ErrorCode::Unauthenticated) => {
                return Err(from_client(e));
            }
            _ => {}
        }
        ctx.forget()?;
    }
    let server = ctx.server().to_owned();
    output::print(
        ctx.out,
        &json!({ "server": server, "signed_out": was }),
        |_| {
            if was {
                println!("Signed out of {server}.");
            } else {
                println!("You were not signed in to {server}.");
            }
        },
    )
}

pub async fn whoami(ctx: &mut Ctx) -> Result<(), Failure> {
    let me = ctx.call(async |c| c.me().await).await?;
    output::print(ctx.out, &me, |me| {
        println!(
            "{} <{}>, {} of {}",
            me.username,
            me.email,
            role_text(me.role),
            me.org
        );
        println!(
            "session: aal {} ({}), until {}",
            me.session.aal,
            me.session.amr.join(", "),
            me.session.expires_at
        );
        if me.federated {
            println!("second factor: handled by your organisation's identity provider");
        } else {
            println!("second factors: {} active", me.mfa.factors);
        }
    })
}

pub fn role_text(role: twofold_proto::Role) -> &'static str {
    match role {
        twofold_proto::Role::Owner => "owner",
        twofold_proto::Role::Admin => "admin",
        twofold_proto::Role::Member => "member",
    }
}

pub async fn sessions(ctx: &mut Ctx, cmd: Option<SessionsCommand>) -> Result<(), Failure> {
    match cmd.unwrap_or(SessionsCommand::List) {
        SessionsCommand::List => {
            let list = ctx.call(async |c| c.sessions().await).await?;
            output::print(ctx.out, &list, |list| {
                let rows: Vec<[String; 6]> = list
                    .iter()
                    .map(|s| {
                        [
                            s.id.clone(),
                            if s.current { "yes" } else { "" }.to_owned(),
                            s.amr.join("+"),
                            s.created_at.clone(),
                            or_dash(s.ip.as_deref()),
                            or_dash(s.user_agent.as_deref()),
                        ]
                    })
                    .collect();
                output::table(
                    ["ID", "CURRENT", "SIGNED IN WITH", "SINCE", "IP", "CLIENT"],
                    &rows,
                );
            })
        }
        SessionsCommand::End { id: Some(id), .. } => {
            ctx.call(async |c| c.end_session(&id).await).await?;
            output::print(ctx.out, &json!({ "ended": id }), |_| {
                println!("Session {id} ended.");
            })
        }
        SessionsCommand::End { id: None, .. } => {
            ctx.call(async |c| c.end_other_sessions().await).await?;
            output::print(ctx.out, &json!({ "ended": "others" }), |_| {
                println!("Every other session ended.");
            })
        }
    }
}

pub async fn devices(ctx: &mut Ctx, cmd: Option<DevicesCommand>) -> Result<(), Failure> {
    match cmd.unwrap_or(DevicesCommand::List) {
        DevicesCommand::List => {
            let list = ctx.call(async |c| c.devices().await).await?;
            output::print(ctx.out, &list, |list| {
                if list.is_empty() {
                    println!("No remembered devices.");
                    return;
                }
                let rows: Vec<[String; 5]> = list
                    .iter()
                    .map(|d| {
                        [
                            d.id.clone(),
                            d.created_at.clone(),
                            or_dash(d.last_used_at.as_deref()),
                            d.expires_at.clone(),
                            or_dash(d.user_agent.as_deref()),
                        ]
                    })
                    .collect();
                output::table(["ID", "REMEMBERED", "LAST USED", "UNTIL", "CLIENT"], &rows);
            })
        }
        DevicesCommand::Forget { id } => {
            ctx.call(async |c| c.forget_device(&id).await).await?;
            output::print(ctx.out, &json!({ "forgotten": id }), |_| {
                println!("Device {id} forgotten: its next sign-in asks for a second factor.");
            })
        }
    }
}

pub async fn recovery_codes(ctx: &mut Ctx, cmd: RecoveryCommand) -> Result<(), Failure> {
    match cmd {
        RecoveryCommand::New => {
            let codes = ctx
                .call(async |c| c.regenerate_recovery_codes().await)
                .await?;
            output::print(ctx.out, &codes, |codes| {
                println!("Your new recovery codes (the old ones no longer work):\n");
                for pair in codes.codes.chunks(2) {
                    println!("    {}", pair.join("    "));
                }
                println!(
                    "\nEach works once, in place of a code from your app. Keep them somewhere \
                     safe, away from your phone: they are not shown again."
                );
            })
        }
        RecoveryCommand::Status => {
            let status = ctx.call(async |c| c.recovery_codes_status().await).await?;
            output::print(ctx.out, &status, |s| {
                println!("{} unused recovery code(s) left.", s.remaining);
                if s.remaining <= 3 {
                    println!("Make a new set with `twofold recovery-codes new`.");
                }
            })
        }
    }
}
