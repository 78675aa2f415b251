//! `twofold mfa`: the signed-in user's second factors. Adding an app draws its QR code in
//! the terminal and asks for its first code; removing a factor asks for a code from it (a
//! passkey, which needs a browser, is listed, renamed and removed here but never used: its
//! removal asks for another second factor instead); other guarded changes ask for a second
//! factor again when the session's is not fresh.

use serde_json::json;
use twofold_client::TotpStart;
use twofold_proto::{Factor, FactorStatus, FactorType};

use super::context::Ctx;
use super::signin::show_uri;
use crate::args::MfaCommand;
use crate::failure::{Failure, from_client};
use crate::output::{self, or_dash};

pub async fn run(ctx: &mut Ctx, cmd: MfaCommand) -> Result<(), Failure> {
    match cmd {
        MfaCommand::List => list(ctx).await,
        MfaCommand::AddApp { name, preferred } => add_app(ctx, name.as_deref(), preferred).await,
        MfaCommand::AddEmail { name, preferred } => {
            add_email(ctx, name.as_deref(), preferred).await
        }
        MfaCommand::Remove(r) => remove(ctx, &r.factor).await,
        MfaCommand::Rename { factor, new_name } => {
            let f = find(ctx, &factor.factor).await?;
            let renamed = ctx
                .call(async |c| c.rename_factor(&f.id, &new_name).await)
                .await?;
            output::print(ctx.out, &renamed, |r| {
                println!("{} is now named {}.", f.name, r.name);
            })
        }
        MfaCommand::Prefer(r) => {
            let f = find(ctx, &r.factor).await?;
            let f = ctx.call(async |c| c.prefer_factor(&f.id).await).await?;
            print_factor(ctx, &f, "is now your preferred factor")
        }
        MfaCommand::ShowQr(r) => {
            let f = find(ctx, &r.factor).await?;
            let uri = ctx.call(async |c| c.factor_uri(&f.id).await).await?;
            match ctx.out {
                crate::args::Output::Json => output::print(ctx.out, &uri, |_| {}),
                crate::args::Output::Text => show_uri(&ctx.term, &uri.uri),
            }
        }
        MfaCommand::Regenerate(r) => {
            let f = find(ctx, &r.factor).await?;
            let e = ctx.call(async |c| c.regenerate_factor(&f.id).await).await?;
            ctx.term.say(&format!(
                "A new secret for {}: the old one works until the new one is confirmed.",
                f.name
            ));
            show_uri(&ctx.term, &e.uri)?;
            let client = ctx.client();
            let f = ctx
                .until_accepted("Code from the app: ", async |code| {
                    client.activate_factor(&e.id, code).await
                })
                .await?;
            print_factor(ctx, &f, "now uses its new secret")
        }
    }
}

async fn list(ctx: &mut Ctx) -> Result<(), Failure> {
    let factors = ctx.call(async |c| c.factors().await).await?;
    output::print(ctx.out, &factors, |factors| {
        if factors.is_empty() {
            println!("No second factors yet: add one with `twofold mfa add-app`.");
            return;
        }
        let rows: Vec<[String; 6]> = factors
            .iter()
            .map(|f| {
                [
                    f.id.clone(),
                    f.name.clone(),
                    type_text(f).to_owned(),
                    match f.status {
                        FactorStatus::Active => "active",
                        FactorStatus::Pending => "pending",
                    }
                    .to_owned(),
                    if f.preferred { "yes" } else { "" }.to_owned(),
                    or_dash(f.last_used_at.as_deref()),
                ]
            })
            .collect();
        output::table(
            ["ID", "NAME", "TYPE", "STATUS", "PREFERRED", "LAST USED"],
            &rows,
        );
    })
}

fn type_text(f: &Factor) -> String {
    match (&f.factor_type, &f.email) {
        (FactorType::Totp, _) => "app".to_owned(),
        (FactorType::Email, Some(a)) => format!("email ({a})"),
        (FactorType::Email, None) => "email".to_owned(),
        (FactorType::Webauthn, _) => match f.passkey.as_ref().map(|p| p.authenticator.as_str()) {
            Some(kind @ ("security_key" | "platform" | "hybrid")) => {
                format!("passkey ({})", kind.replace('_', " "))
            }
            _ => "passkey".to_owned(),
        },
    }
}

fn print_factor(ctx: &Ctx, f: &Factor, what: &str) -> Result<(), Failure> {
    output::print(ctx.out, f, |f| println!("{} {what}.", f.name))
}

/// A factor by id, or by name when no id matches (names need not be unique: then the id
/// is asked for).
async fn find(ctx: &mut Ctx, wanted: &str) -> Result<Factor, Failure> {
    let factors = ctx.call(async |c| c.factors().await).await?;
    if let Some(f) = factors.iter().find(|f| f.id == wanted) {
        return Ok(f.clone());
    }
    let named: Vec<&Factor> = factors
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(wanted))
        .collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::new(
            "not_found",
            format!("you have no factor {wanted:?}: `twofold mfa list` shows them"),
        )),
        _ => Err(Failure::new(
            "ambiguous",
            format!("several factors are named {wanted:?}: give its id (`twofold mfa list`)"),
        )),
    }
}

async fn add_app(ctx: &mut Ctx, name: Option<&str>, preferred: bool) -> Result<(), Failure> {
    let start = ctx.call(async |c| c.start_totp(name, None).await).await?;
    let client = ctx.client();
    let e = match start {
        TotpStart::Enrolled(e) => e,
        TotpStart::ConfirmationRequired(_) => {
            ctx.term.say(
                "Your first authenticator app: to make sure it is you, a code was mailed to \
                 your address.",
            );
            ctx.until_accepted("Code from the email: ", async |code| {
                client.start_totp(name, Some(code)).await?.into_enrolled()
            })
            .await?
        }
    };
    show_uri(&ctx.term, &e.uri)?;
    activate(ctx, &e.id, "Code from the app: ", preferred).await
}

async fn add_email(ctx: &mut Ctx, name: Option<&str>, preferred: bool) -> Result<(), Failure> {
    let e = ctx.call(async |c| c.enroll_email(name).await).await?;
    let prompt = format!("Your one-time code (sent to {}): ", e.sent_to);
    activate(ctx, &e.id, &prompt, preferred).await
}

/// Asks for codes until the pending factor `id` takes one. A factor left pending by a
/// command that gave up is removed, as the person would expect (a pending factor needs no
/// code to go); what failed is what gets reported.
async fn activate(ctx: &mut Ctx, id: &str, prompt: &str, preferred: bool) -> Result<(), Failure> {
    let client = ctx.client();
    let activated = ctx
        .until_accepted(prompt, async |code| {
            client
                .activate_factor_as(id, code, preferred.then_some(true))
                .await
        })
        .await;
    if activated.is_err() {
        let _ = client.delete_factor(id, None).await;
    }
    print_factor(ctx, &activated?, "is added")
}

async fn remove(ctx: &mut Ctx, wanted: &str) -> Result<(), Failure> {
    let f = find(ctx, wanted).await?;
    let client = ctx.client();
    match (&f.status, &f.factor_type) {
        // An unfinished enrolment goes without a code.
        (FactorStatus::Pending, _) => client
            .delete_factor(&f.id, None)
            .await
            .map_err(from_client)?,
        // A passkey answers no code here: a fresh second factor of another kind (asked
        // for when the server wants one) stands in.
        (_, FactorType::Webauthn) => {
            let id = f.id.clone();
            ctx.call(async |c| c.delete_factor(&id, None).await).await?;
        }
        (_, FactorType::Totp | FactorType::Email) => {
            let prompt = if f.factor_type == FactorType::Email {
                let sent = client
                    .send_step_up_email_code()
                    .await
                    .map_err(from_client)?;
                format!("Your one-time code (sent to {}): ", sent.sent_to)
            } else {
                format!("Code from {} (the app you are removing): ", f.name)
            };
            ctx.until_accepted(&prompt, async |code| {
                client.delete_factor(&f.id, Some(code)).await
            })
            .await?;
        }
    }
    output::print(ctx.out, &json!({ "removed": f.id, "name": f.name }), |_| {
        println!("{} is removed.", f.name);
    })
}
