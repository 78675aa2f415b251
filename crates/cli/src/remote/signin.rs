//! `twofold login`, and signing in again when a session has expired: the organisation and
//! username (asked for if missing), the password (hidden), then the second step the
//! server asks for (seed 002: "This account has two-factor authentication enabled. Your
//! one-time password (sent to your email):"), or enrolling an authenticator app when the
//! organisation requires one and the user has none.

use twofold_client::{Client, TotpStart};
use twofold_proto::{LoginResponse, Method};

use super::qr;
use super::second_factor::{self, Choices};
use super::session_file::Saved;
use super::term::Term;
use crate::failure::{Failure, from_client};

/// What to sign in as: given on the command line, else asked for (offering the last
/// session's answers).
pub struct Who<'a> {
    pub org: Option<String>,
    pub username: Option<String>,
    pub last: Option<&'a Saved>,
}

/// Signs in and answers the session to keep.
pub async fn sign_in(term: &mut Term, client: &Client, who: Who<'_>) -> Result<Saved, Failure> {
    let last = who.last;
    let org = match who.org {
        Some(o) => o,
        None => term.ask("Organisation", last.map(|s| s.org.as_str()))?,
    };
    let username = match who.username {
        Some(u) => u,
        None => term.ask("Username", last.map(|s| s.username.as_str()))?,
    };
    let password = term.password("Password")?;
    let answer = client
        .login(&org, &username, &password)
        .await
        .map_err(|e| use_identity_provider(e, &org))?;
    drop(password);
    let answer = match answer {
        LoginResponse::MfaRequired {
            flow_token,
            methods,
            preferred,
            code_sent_to,
            ..
        } => {
            term.say("This account has two-factor authentication enabled.");
            let choices = Choices {
                methods,
                current: preferred,
                sent_to: code_sent_to,
            };
            let flow = flow_token.as_str();
            second_factor::ask(
                term,
                choices,
                async |method, code| {
                    client
                        .mfa(&twofold_proto::MfaRequest {
                            flow_token: flow.to_owned(),
                            method,
                            code: code.to_owned(),
                            remember_device: None,
                            credential: None,
                        })
                        .await
                },
                async || client.send_sign_in_email_code(flow).await,
            )
            .await?
        }
        LoginResponse::EnrollmentRequired { flow_token, .. } => {
            enrol(term, client, &flow_token).await?
        }
        done @ LoginResponse::Authenticated { .. } => done,
    };
    let LoginResponse::Authenticated {
        session_token,
        expires_at,
        enrollment_days_left,
        warning,
        ..
    } = answer
    else {
        return Err(Failure::new(
            "failed",
            "the server did not finish the sign-in",
        ));
    };
    if let Some(w) = warning {
        term.say(&w);
    }
    if let Some(days) = enrollment_days_left {
        term.say(&format!(
            "Your organisation requires a second factor: add one within {days} day(s) with \
             `twofold mfa add-app`."
        ));
    }
    Ok(Saved {
        org,
        username,
        session_token,
        expires_at,
        provider: None,
    })
}

/// Enrols an authenticator app inside a sign-in the organisation holds until there is one.
async fn enrol(term: &mut Term, client: &Client, flow: &str) -> Result<LoginResponse, Failure> {
    term.say(
        "Your organisation requires a second factor and you have none yet: set up an \
         authenticator app now.",
    );
    let enrollment = match client
        .start_totp_in_flow(flow, None, None)
        .await
        .map_err(from_client)?
    {
        TotpStart::Enrolled(e) => e,
        TotpStart::ConfirmationRequired(_) => {
            term.say("To make sure it is you, a code was mailed to your address.");
            second_factor::until_accepted(term, "Code from the email: ", async |code| {
                client
                    .start_totp_in_flow(flow, None, Some(code))
                    .await?
                    .into_enrolled()
            })
            .await?
        }
    };
    show_uri(term, &enrollment.uri)?;
    second_factor::until_accepted(term, "Code from the app: ", async |code| {
        client.activate_in_flow(flow, &enrollment.id, code).await
    })
    .await
    .inspect(|_| {
        term.say(
            "Authenticator app added. Keep recovery codes for the day it is lost: \
             `twofold recovery-codes new`.",
        );
    })
}

/// The QR code in the terminal, and the key grouped for typing.
pub fn show_uri(term: &Term, uri: &str) -> Result<(), Failure> {
    term.say("Scan this QR code with your authenticator app:");
    term.say(&qr::render(uri)?);
    if let Some(key) = qr::grouped_secret(uri) {
        term.say(&format!("Or type this key into the app: {key}"));
    }
    Ok(())
}

/// The method of a factor type, for asking a code of it.
pub fn method_of(t: twofold_proto::FactorType) -> Method {
    match t {
        twofold_proto::FactorType::Totp => Method::Totp,
        twofold_proto::FactorType::Email => Method::Email,
        twofold_proto::FactorType::Webauthn => Method::Webauthn,
    }
}

/// A password sign-in refused because the account signs in through an identity provider
/// (`use_identity_provider`): the failure says how to sign in instead.
fn use_identity_provider(e: twofold_client::ClientError, org: &str) -> Failure {
    let providers = match e.problem() {
        Some(p) if p.code == twofold_proto::ErrorCode::UseIdentityProvider => {
            p.providers.clone().unwrap_or_default()
        }
        _ => return from_client(e),
    };
    let mut f = from_client(e);
    if let Some((first, others)) = providers.split_first() {
        let mut how = format!("`twofold login --sso {first} --org {org}`");
        for other in others {
            how.push_str(&format!(" or `twofold login --sso {other} --org {org}`"));
        }
        // The server answers alike for a wrong password: say both.
        f.message = format!(
            "wrong username or password, or this account signs in through {org}'s identity \
             provider: then run {how}"
        );
    }
    f
}
